# SPDX-License-Identifier: GPL-2.0-or-later
# imperium: build, tests, demo and benchmarks. See README.md.

CC      ?= cc
BUILD   := build
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) $(HARDEN) -I. -MMD -MP
PKGS    := libnl-3.0 libnl-route-3.0 libcap openssl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

DEB_PKGS := gcc make pkg-config libev-dev libnl-3-dev libnl-route-3-dev libcap-dev libssl-dev \
	check iproute2 curl python3 procps util-linux uwsgi-core uwsgi-plugin-python3 \
	wrk nginx openssl openssh-client iperf3 passt

# The vassal's pure parts (config checks, policies, /proc readers) are in the
# library too: the emperor validates with them and the unit tests call them.
VSL_LIB   := vassal/config.c vassal/subspec.c vassal/wcfg.c vassal/cheaper.c vassal/procfs.c
LIB_SRC   := $(wildcard core/*.c) $(wildcard jail/*.c) $(wildcard router/*.c) $(wildcard tuntap/*.c) \
	     $(VSL_LIB)
EMP_SRC   := $(wildcard emperor/*.c)
VSL_SRC   := $(filter-out $(VSL_LIB),$(wildcard vassal/*.c))
UNIT_SRC  := $(wildcard tests/unit/check_*.c)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
EMP_OBJ   := $(EMP_SRC:%.c=$(BUILD)/obj/%.o)
VSL_OBJ   := $(VSL_SRC:%.c=$(BUILD)/obj/%.o)
LIB_SOBJ  := $(LIB_SRC:%.c=$(BUILD)/san/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_SBIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/san/tests/%)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all deps test unit unit-san san-progs integration fuzz-replay run bench clean format
all: $(BUILD)/emperor $(BUILD)/vassal $(BUILD)/hello

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libimperium.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/san/libimperium.a: $(LIB_SOBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/emperor: $(EMP_OBJ) $(BUILD)/libimperium.a
	$(CC) $(CFLAGS) -o $@ $(EMP_OBJ) $(BUILD)/libimperium.a $(PKG_LIBS)

$(BUILD)/vassal: $(VSL_OBJ) $(BUILD)/libimperium.a
	$(CC) $(CFLAGS) -o $@ $(VSL_OBJ) $(BUILD)/libimperium.a $(PKG_LIBS)

# The demo app: static, so a jail needs nothing bound in but the binary.
$(BUILD)/hello: vassal/demo/hello.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $<

# Unit tests link the library; check_emperor_* also link the emperor's
# objects (all but main.o).
EMP_LIBOBJ := $(filter-out $(BUILD)/obj/emperor/main.o,$(EMP_OBJ))
EMP_LIBSOBJ := $(patsubst $(BUILD)/obj/%,$(BUILD)/san/%,$(EMP_LIBOBJ))

$(BUILD)/tests/check_emperor_%: tests/unit/check_emperor_%.c $(BUILD)/libimperium.a $(EMP_LIBOBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(EMP_LIBOBJ) $(BUILD)/libimperium.a $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/san/tests/check_emperor_%: tests/unit/check_emperor_%.c $(BUILD)/san/libimperium.a $(EMP_LIBSOBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -o $@ $< $(EMP_LIBSOBJ) $(BUILD)/san/libimperium.a $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libimperium.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libimperium.a $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/san/tests/%: tests/unit/%.c $(BUILD)/san/libimperium.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -o $@ $< $(BUILD)/san/libimperium.a $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/san/libimperium.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -o $@ $< $(BUILD)/san/libimperium.a $(PKG_LIBS)

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Test-only LD_PRELOAD shim (see tests/integration/shim/).
$(BUILD)/no_tmpfile.so: tests/integration/shim/no_tmpfile.c
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< -ldl

# The emperor and the vassal under ASan+UBSan, beside the plain demo app and
# shim, in one directory the integration tests take as their build:
# `make san-progs; IMP_BUILD=build/san/bin tests/integration/t_X.sh` (the
# O_TMPFILE shim, an LD_PRELOAD, cannot load beside ASan).
SAN_BIN := $(BUILD)/san/bin
EMP_SOBJ := $(patsubst $(BUILD)/obj/%,$(BUILD)/san/%,$(EMP_OBJ))
VSL_SOBJ := $(patsubst $(BUILD)/obj/%,$(BUILD)/san/%,$(VSL_OBJ))

$(SAN_BIN)/emperor: $(EMP_SOBJ) $(BUILD)/san/libimperium.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $(EMP_SOBJ) $(BUILD)/san/libimperium.a $(PKG_LIBS)

$(SAN_BIN)/vassal: $(VSL_SOBJ) $(BUILD)/san/libimperium.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $(VSL_SOBJ) $(BUILD)/san/libimperium.a $(PKG_LIBS)

$(SAN_BIN)/%: $(BUILD)/%
	@mkdir -p $(dir $@)
	cp $< $@

san-progs: $(SAN_BIN)/emperor $(SAN_BIN)/vassal $(SAN_BIN)/hello $(SAN_BIN)/no_tmpfile.so

unit: $(UNIT_BIN) $(BUILD)/no_tmpfile.so
unit-san: $(EMP_LIBSOBJ) $(UNIT_SBIN)
fuzz-replay: $(FUZZ_BIN)

# The whole suite: unit tests, the same under ASan+UBSan, fuzz corpus
# replays, then the root-only integration tests, each in its own netns.
test: deps
	$(MAKE) all unit unit-san fuzz-replay
	tests/run.sh

# The demo vassals find the demo app through $(IMPERIUM_BUILD).
# The demo's HTTPS listener gets a self-signed certificate made once.
DEMO_TLS := demo-tls
run: deps all $(DEMO_TLS)/localhost.crt
	IMPERIUM_BUILD=$(CURDIR)/$(BUILD) $(BUILD)/emperor -c emperor.ini

$(DEMO_TLS)/localhost.crt:
	mkdir -p $(DEMO_TLS)
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
	  -addext subjectAltName=DNS:localhost,DNS:hello.localhost,DNS:world.localhost \
	  -keyout $(DEMO_TLS)/localhost.key -out $@ 2>/dev/null

bench: deps all
	tests/bench/run.sh

format:
	clang-format -i $(LIB_SRC) $(EMP_SRC) $(VSL_SRC) $(UNIT_SRC) $(FUZZ_SRC) */*.h

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
