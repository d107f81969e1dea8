. "$(dirname "$0")/lib.sh"
PEERS="$ROOT/tests/integration/peers"
trap 'kill_bg; cleanup' EXIT
emperor_ini "http = 127.0.0.1:18100" "subscription-server = 127.0.0.1:18126"
start_emperor
python3 /tmp/rawnode.py &
bg_start python3 $PEERS/subpkt.py 127.0.0.1:18126 http.test 127.0.0.1:18141 --proto http --every 1 --count 100
sleep 1
head -c 8000000 /dev/urandom > $T/f
curl -sS --max-time 5 -H "Host: http.test" --data-binary @$T/f http://127.0.0.1:18100/echo 
wait
