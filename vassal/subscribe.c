/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * The subscription client: the vassal announces its sockets to routers with
 * uWSGI-compatible subscription packets. `domain` keys go to the emperor's
 * own subscription server through the connected datagram socket it hands
 * over (--subscribe-fd); `subscribe-to` and `subscribe2` keys go to any
 * router, over UDP (one unconnected socket per address family) or a unix
 * datagram socket (one unbound socket, sendto the path) -- except those
 * whose server is one of the emperor's own subscription servers
 * (--local-server), which take the --subscribe-fd socket too: a vassal in
 * its own network namespace could not reach them, and the router trusts
 * that socket for the keys of the vassal's file, so these go unsigned.
 * A target with DIGEST:KEYFILE is signed at every send, with a `unix`
 * stamp strictly above the last one it sent, by a key read before the
 * jail (main.c); the others are sent as prebuilt. Every packet is
 * built once at startup, as the tenant, once the jail is locked down: key
 * files are read then, and a packet that cannot be built fails the vassal.
 * Packets are sent once the app is ready, again after 1 s, then every
 * `subscribe-freq` seconds; an unsubscribe (modifier2 1 in the header) goes
 * out when the vassal stops, and on an in-place reload with
 * `unsubscribe-on-graceful-reload`. Sends never block and never fail the
 * vassal: a router that is down is logged once until it answers again.
 * Acks arriving on `subscription-notify-socket` are logged.
 */
#include "vassal/internal.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "core/addr.h"
#include "core/buf.h"
#include "core/ctl.h"
#include "core/log.h"
#include "vassal/vassal.h"

#define ACK_MAX 1024	   /* bytes of an ack that are logged */
#define ACKS_PER_WAKEUP 64 /* the loop is not starved by a flood of acks */

struct vsl_sub_server {
	struct addr addr;
	bool failing; /* an error was logged: quiet until a send works */
};

/* How one target's packets leave. */
struct route {
	struct vsl_sub_server *server; /* NULL: a domain */
	bool local;		       /* through --subscribe-fd: the emperor's own server */
	const struct sign_key *key;    /* signed: the key and digest; NULL: unsigned */
	const EVP_MD *md;
};

struct vsl_sub_target {
	const struct vsl_sub *spec;
	struct vsl_sub_server *server; /* NULL: the emperor's --subscribe-fd */
	bool local;		       /* a server's target sent through --subscribe-fd */
	const struct sign_key *sign;   /* borrowed from the vassal's keyring; NULL: unsigned */
	const EVP_MD *md;
	uint64_t last_unix; /* the `unix` of the last signed packet sent */
	uint8_t modifier1;
	char key[SUBPKT_KEY_MAX + 1];
	char *address;	/* announced, owned: with key and server, what a router keeps */
	struct buf pkt; /* the subscribe packet (unsigned); the unsubscribe differs in byte 3 */
	bool sent;	/* sent since the last start: owes an unsubscribe */
	bool checked;	/* `check` was looked at once */
	bool present;	/* `check` file at the last look */
};

/* ---- setup ---- */

/* Parse every subscription entry of the config, in file order. */
static int parse_specs(struct vsl_subs *s, const struct cfg *c, struct err **err)
{
	enum vsl_sub_kind kind;
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += vsl_sub_kind_of(c->entries[i].key, &kind);
	if (n == 0)
		return 0;
	s->specs = calloc(n, sizeof(*s->specs));
	if (s->specs == NULL)
		return err_set(err, ENOMEM, "subscriptions");
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_entry *e = &c->entries[i];
		if (!vsl_sub_kind_of(e->key, &kind))
			continue;
		if (vsl_sub_parse(kind, e->value, &s->specs[s->n_specs], err) < 0) {
			err_prefix(err, "%s:%u: %s", c->origin, e->line, e->key);
			return -1;
		}
		s->n_specs++;
	}
	s->servers = calloc(n, sizeof(*s->servers));
	if (s->servers == NULL)
		return err_set(err, ENOMEM, "subscriptions");
	return 0;
}

/* The text of each listening socket, as the routers will connect to it. */
static int socket_texts(unsigned n, char (*out)[ADDR_TEXT_MAX], struct err **err)
{
	for (unsigned i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (getsockname(CTL_FD_LISTEN0 + (int)i, (struct sockaddr *)&ss, &len) < 0)
			return err_set(err, errno, "listening socket %u: getsockname", i);
		addr_format((struct sockaddr *)&ss, len, out[i], ADDR_TEXT_MAX);
	}
	return 0;
}

/* The server of @spec, shared by every target naming the same text. */
static struct vsl_sub_server *server_of(struct vsl_subs *s, const struct vsl_sub *spec,
					struct err **err)
{
	for (size_t i = 0; i < s->n_servers; i++)
		if (strcmp(s->servers[i].addr.text, spec->server) == 0)
			return &s->servers[i];
	struct vsl_sub_server *srv = &s->servers[s->n_servers];
	if (addr_parse(spec->server, &srv->addr, err) < 0)
		return NULL;
	s->n_servers++;
	return srv;
}

/* The packet struct of @t (strings point into @t, its spec and @s). */
static void target_fill(const struct vsl_subs *s, const struct vsl_sub_target *t, struct subpkt *p)
{
	struct vsl_sub with_m1 = *t->spec;
	with_m1.modifier1 = t->modifier1;
	vsl_sub_fill(&with_m1, t->key, t->address, s->notify_path, p);
}

/* Add one announced key with its prebuilt packet. */
static int add_target(struct vsl_subs *s, const struct vsl_sub *spec, const char *key,
		      uint8_t modifier1, const char *address, const struct route *rt,
		      struct err **err)
{
	if (s->n_targets >= VSL_MAX_SUB_TARGETS)
		return err_set(err, 0, "more than %d subscription keys", VSL_MAX_SUB_TARGETS);
	struct vsl_sub_target *t = realloc(s->targets, (s->n_targets + 1) * sizeof(*t));
	if (t == NULL)
		return err_set(err, ENOMEM, "subscriptions");
	s->targets = t;
	t = &s->targets[s->n_targets];
	memset(t, 0, sizeof(*t));
	t->spec = spec;
	t->server = rt->server;
	t->local = rt->local;
	t->sign = rt->key;
	t->md = rt->md;
	t->modifier1 = modifier1;
	snprintf(t->key, sizeof(t->key), "%s", key); /* checked: at most SUBPKT_KEY_MAX */
	t->address = strdup(address);
	s->n_targets++; /* from here the packet buffer is freed with the others */
	if (t->address == NULL)
		return err_set(err, ENOMEM, "key '%s'", key);
	struct subpkt p;
	target_fill(s, t, &p);
	if (subpkt_build(&t->pkt, &p) < 0)
		return err_set(err, errno, "key '%s': building its packet", key);
	/* A signed one is stamped and signed at each send: try once that it
	 * signs and fits (the stamp is not kept). */
	uint64_t trial = 0;
	if (t->sign != NULL && vsl_sub_build_signed(&s->scratch, &p, &trial, (uint64_t)time(NULL),
						    t->sign, t->md, err) < 0) {
		err_prefix(err, "key '%s': signing its packet", key);
		return -1;
	}
	return 0;
}

/* Read a key file (a regular file, bounded) into a NUL-terminated buffer. */
static char *read_keyfile(const char *path, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_set(err, errno, "key file '%s'", path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, 0, "key file '%s': not a regular file", path);
		return NULL;
	}
	_cleanup_free_ char *data = malloc(VSL_SUB_KEYFILE_MAX + 1);
	if (data == NULL) {
		err_set(err, ENOMEM, "key file '%s'", path);
		return NULL;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, data + len, VSL_SUB_KEYFILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, errno, "key file '%s': read", path);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > VSL_SUB_KEYFILE_MAX) {
			err_set(err, EFBIG, "key file '%s': over %d bytes", path,
				VSL_SUB_KEYFILE_MAX);
			return NULL;
		}
	}
	if (memchr(data, '\0', len) != NULL) {
		err_set(err, 0, "key file '%s': holds a NUL byte", path);
		return NULL;
	}
	data[len] = '\0';
	return steal_ptr(&data);
}

/* `subscribe-to = SERVER:@FILE`: one target per `key[,modifier1]` line. */
static int add_keyfile(struct vsl_subs *s, const struct vsl_sub *spec, const char *address,
		       const struct route *rt, struct err **err)
{
	_cleanup_free_ char *data = read_keyfile(spec->key, err);
	if (data == NULL)
		return -1;
	size_t before = s->n_targets;
	unsigned lineno = 0;
	for (char *line = data, *next; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		const char *key;
		uint8_t m1;
		int r = vsl_sub_keyline(line, spec->modifier1, &key, &m1, err);
		if (r > 0)
			r = add_target(s, spec, key, m1, address, rt, err);
		if (r < 0) {
			err_prefix(err, "key file %s:%u", spec->key, lineno);
			return -1;
		}
	}
	if (s->n_targets == before)
		log_warn("subscription to %s: key file '%s' holds no key", spec->server, spec->key);
	else
		log_info("subscription: %zu key(s) of '%s' at %s to %s", s->n_targets - before,
			 spec->key, address, spec->server);
	return 0;
}

static bool loopback4(const struct sockaddr_in *a)
{
	return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
}

/* Whether a packet sent to @t reaches the server listening on @l: the same
 * address, or @l listens on every address and @t is a loopback one. */
static bool reaches(const struct addr *t, const struct addr *l)
{
	if (t->ss.ss_family != l->ss.ss_family)
		return false;
	if (t->ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&t->ss, *b = (const void *)&l->ss;
		return a->sin_port == b->sin_port &&
		       (a->sin_addr.s_addr == b->sin_addr.s_addr ||
			(b->sin_addr.s_addr == htonl(INADDR_ANY) && loopback4(a)));
	}
	if (t->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&t->ss, *b = (const void *)&l->ss;
		return a->sin6_port == b->sin6_port &&
		       (IN6_ARE_ADDR_EQUAL(&a->sin6_addr, &b->sin6_addr) ||
			(IN6_IS_ADDR_UNSPECIFIED(&b->sin6_addr) &&
			 IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)));
	}
	return t->len == l->len && memcmp(&t->ss, &l->ss, t->len) == 0;
}

/*
 * Whether @spec's packets go through --subscribe-fd: its server is one of
 * the emperor's, and the router will accept them there -- a literal key
 * (the emperor allows the keys of the file, not of key files) announcing
 * one of the vassal's own sockets.
 */
static bool goes_local(const struct vassal *v, const struct vsl_subs *s, const struct vsl_sub *spec,
		       const struct vsl_sub_server *srv, const char *address,
		       char (*texts)[ADDR_TEXT_MAX])
{
	if (s->domain_fd < 0 || spec->key_file)
		return false;
	bool ours = false;
	for (unsigned i = 0; i < v->n_listen && !ours; i++)
		ours = strcmp(address, texts[i]) == 0;
	for (size_t i = 0; i < v->n_local_servers && ours; i++)
		if (reaches(&srv->addr, &v->local_servers[i]))
			return true;
	return false;
}

/* The key and digest of a signed @spec, from the keys read before the jail. */
static int signer_of(const struct vassal *v, const struct vsl_sub *spec, struct route *rt,
		     struct err **err)
{
	if (spec->sign_key == NULL || rt->local)
		return 0;
	rt->md = sign_digest(spec->sign_digest, err);
	if (rt->md == NULL)
		return -1;
	rt->key = vsl_keyring_find(&v->keys, spec->sign_key);
	if (rt->key == NULL)
		return err_set(err, 0,
			       "sign key '%s' was not read at start (keys are read before the "
			       "jail): restart the vassal",
			       spec->sign_key);
	return 0;
}

/* The targets of one parsed entry. */
static int add_spec(const struct vassal *v, struct vsl_subs *s, const struct vsl_sub *spec,
		    char (*texts)[ADDR_TEXT_MAX], struct err **err)
{
	if (spec->address == NULL && spec->socket >= v->n_listen)
		return err_set(err, 0, "socket %u: the vassal has %u socket(s)", spec->socket,
			       v->n_listen);
	const char *address = spec->address != NULL ? spec->address : texts[spec->socket];
	struct route rt = {NULL, false, NULL, NULL};
	if (spec->kind == VSL_SUB_DOMAIN) {
		log_info("subscription: domain '%s' at %s through the emperor", spec->key, address);
		return add_target(s, spec, spec->key, spec->modifier1, address, &rt, err);
	}
	rt.server = server_of(s, spec, err);
	if (rt.server == NULL)
		return -1;
	rt.local = goes_local(v, s, spec, rt.server, address, texts);
	if (signer_of(v, spec, &rt, err) < 0)
		return -1;
	if (spec->key_file)
		return add_keyfile(s, spec, address, &rt, err);
	log_info("subscription: '%s' at %s to %s%s", spec->key, address, spec->server,
		 rt.local	  ? " (the emperor's own: through its socket, unsigned)"
		 : rt.key != NULL ? " (signed)"
				  : "");
	return add_target(s, spec, spec->key, spec->modifier1, address, &rt, err);
}

static int dgram_socket(int family, int *fd, struct err **err)
{
	if (*fd >= 0)
		return 0;
	*fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return err_set(err, errno, "subscription socket");
	return 0;
}

/* The sender a server's packets leave through. */
static int *sender_of(struct vsl_subs *s, const struct vsl_sub_server *srv)
{
	switch (srv->addr.ss.ss_family) {
	case AF_INET:
		return &s->udp4_fd;
	case AF_INET6:
		return &s->udp6_fd;
	default:
		return &s->unix_fd;
	}
}

static int open_senders(struct vsl_subs *s, struct err **err)
{
	for (size_t i = 0; i < s->n_servers; i++) {
		const struct vsl_sub_server *srv = &s->servers[i];
		if (dgram_socket(srv->addr.ss.ss_family, sender_of(s, srv), err) < 0)
			return -1;
	}
	return 0;
}

/* Bind `subscription-notify-socket`, replacing a leftover socket file. */
static int bind_notify(struct vsl_subs *s, struct err **err)
{
	struct addr a;
	struct stat st;
	const char *path = s->notify_path;
	if (addr_parse(path, &a, err) < 0)
		return -1;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) < 0)
		return err_set(err, errno, "removing the old socket %s", path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errno, "socket");
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
		int saved = errno;
		close(fd);
		return err_set(err, saved, "bind %s", path);
	}
	s->notify_fd = fd;
	return 0;
}

static void on_timer(EV_P_ ev_timer *w, int revents);
static void on_notify(EV_P_ ev_io *w, int revents);

/* Settings from the validated config. */
static int read_settings(struct vsl_subs *s, const struct cfg *c, struct err **err)
{
	uint64_t freq = VSL_SUBSCRIBE_FREQ_DEFAULT;
	const struct cfg_entry *e = cfg_get(c, "subscribe-freq");
	if (e != NULL &&
	    cfg_uint(c, e, VSL_SUBSCRIBE_FREQ_MIN, VSL_SUBSCRIBE_FREQ_MAX, &freq, err) < 0)
		return -1;
	s->freq = (unsigned)freq;
	e = cfg_get(c, "unsubscribe-on-graceful-reload");
	if (e != NULL && cfg_bool(c, e, &s->unsub_on_reload, err) < 0)
		return -1;
	e = cfg_get(c, "subscription-notify-socket");
	if (e != NULL && (s->notify_path = strdup(e->value)) == NULL)
		return err_set(err, ENOMEM, "subscription-notify-socket");
	return 0;
}

static int add_all(const struct vassal *v, struct vsl_subs *s, const struct cfg *c,
		   struct err **err)
{
	char texts[VSL_MAX_SOCKETS][ADDR_TEXT_MAX];
	size_t skipped = 0;
	if (socket_texts(v->n_listen, texts, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_specs; i++) {
		const struct vsl_sub *spec = &s->specs[i];
		if (spec->kind == VSL_SUB_DOMAIN && s->domain_fd < 0) {
			skipped++;
			continue;
		}
		if (add_spec(v, s, spec, texts, err) < 0) {
			err_prefix(err, "%s: %s '%s'", c->origin,
				   spec->kind == VSL_SUB_DOMAIN ? "domain" : "subscription to",
				   spec->kind == VSL_SUB_DOMAIN ? spec->key : spec->server);
			return -1;
		}
	}
	if (skipped > 0)
		log_warn("%zu domain(s) not announced: the emperor passed no --subscribe-fd",
			 skipped);
	return 0;
}

/* Everything of @c into @s (fresh), for vassal @v (its sockets, its keys,
 * the emperor's servers). The notify socket is bound unless
 * @take_notify_fd >= 0 is the one already bound to the same path. */
static int build(const struct vassal *v, struct vsl_subs *s, const struct cfg *c,
		 int take_notify_fd, struct err **err)
{
	ev_timer_init(&s->timer_w, on_timer, 1., 0.);
	ev_io_init(&s->notify_w, on_notify, -1, EV_READ);
	if (read_settings(s, c, err) < 0 || parse_specs(s, c, err) < 0)
		return -1;
	if (s->n_specs == 0)
		return 0;
	if (add_all(v, s, c, err) < 0 || open_senders(s, err) < 0)
		return -1;
	if (s->notify_path != NULL && take_notify_fd < 0 && bind_notify(s, err) < 0) {
		err_prefix(err, "%s: subscription-notify-socket", c->origin);
		return -1;
	}
	return 0;
}

int vsl_sub_setup(struct vassal *v, int domain_fd, struct err **err)
{
	struct vsl_subs *s = &v->subs;
	s->domain_fd = domain_fd;
	if (build(v, s, v->conf->cfg, -1, err) < 0)
		return -1;
	ev_io_set(&s->notify_w, s->notify_fd, EV_READ);
	return 0;
}

static void free_subs(struct vsl_subs *s);

static bool same_target(const struct vsl_sub_target *a, const struct vsl_sub_target *b)
{
	if ((a->server == NULL) != (b->server == NULL))
		return false;
	if (a->server != NULL && strcmp(a->server->addr.text, b->server->addr.text) != 0)
		return false;
	return strcmp(a->key, b->key) == 0 && strcmp(a->address, b->address) == 0;
}

static void send_one(struct vsl_subs *s, struct vsl_sub_target *t, bool unsubscribe);

int vsl_sub_replace(struct vassal *v, const struct cfg *c, struct err **err)
{
	struct vsl_subs *old = &v->subs;
	struct vsl_subs ns = VSL_SUBS_INIT;
	const struct cfg_entry *e = cfg_get(c, "subscription-notify-socket");
	bool same_notify = e != NULL && old->notify_fd >= 0 && old->notify_path != NULL &&
			   strcmp(e->value, old->notify_path) == 0;
	ns.domain_fd = old->domain_fd;
	if (build(v, &ns, c, same_notify ? old->notify_fd : -1, err) < 0) {
		ns.domain_fd = -1; /* still the old one's */
		free_subs(&ns);
		return -1;
	}
	/* What routers hold from us and the new config no longer announces;
	 * what it keeps goes on with the same `unix` counter. */
	size_t gone = 0;
	for (size_t i = 0; i < old->n_targets; i++) {
		struct vsl_sub_target *t = &old->targets[i];
		bool kept = false;
		for (size_t j = 0; j < ns.n_targets; j++) {
			if (!same_target(t, &ns.targets[j]))
				continue;
			kept = true;
			if (ns.targets[j].last_unix < t->last_unix)
				ns.targets[j].last_unix = t->last_unix;
		}
		if (t->sent && !kept) {
			send_one(old, t, true);
			gone++;
		}
	}
	if (gone > 0)
		log_info("unsubscribed %zu key(s) the new config no longer announces", gone);
	bool was_subscribed = old->subscribed;
	ev_timer_stop(v->loop, &old->timer_w);
	ev_io_stop(v->loop, &old->notify_w);
	if (same_notify)
		ns.notify_fd = steal_fd(&old->notify_fd);
	old->domain_fd = -1; /* moved to ns */
	free_subs(old);
	*old = ns;
	ev_io_set(&old->notify_w, old->notify_fd, EV_READ);
	if (was_subscribed)
		vsl_sub_start(v);
	else if (old->notify_fd >= 0)
		ev_io_start(v->loop, &old->notify_w);
	return 0;
}

/* ---- sending ---- */

/* Log a server's failure once, and its recovery. */
static void outcome(const char *what, bool *failing, int errnum)
{
	if (errnum != 0 && !*failing)
		log_warn("subscription to %s: %s (quiet until it works again)", what,
			 strerror(errnum));
	else if (errnum == 0 && *failing)
		log_info("subscription to %s works again", what);
	*failing = errnum != 0;
}

static void send_one(struct vsl_subs *s, struct vsl_sub_target *t, bool unsubscribe)
{
	char copy[SUBPKT_DGRAM_MAX];
	const char *data = t->pkt.data;
	size_t len = t->pkt.len;
	if (t->sign != NULL) {
		_cleanup_err_ struct err *err = NULL;
		struct subpkt p;
		target_fill(s, t, &p);
		p.unsubscribe = unsubscribe;
		if (vsl_sub_build_signed(&s->scratch, &p, &t->last_unix, (uint64_t)time(NULL),
					 t->sign, t->md, &err) < 0) {
			/* cannot happen: the same packet was signed at setup */
			log_warn("subscription '%s' to %s: %s", t->key, t->server->addr.text,
				 err_msg(err));
			return;
		}
		data = s->scratch.data;
		len = s->scratch.len;
	} else if (unsubscribe) {
		if (len > sizeof(copy))
			return; /* cannot happen: subpkt_build refuses bigger packets */
		memcpy(copy, data, len);
		copy[3] = 1; /* modifier2 of the header: unsubscribe */
		data = copy;
	}
	ssize_t n;
	if (t->server == NULL || t->local) {
		n = send(s->domain_fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		outcome("the emperor", &s->domain_failing, n < 0 ? errno : 0);
		return;
	}
	n = sendto(*sender_of(s, t->server), data, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (const struct sockaddr *)&t->server->addr.ss, t->server->addr.len);
	outcome(t->server->addr.text, &t->server->failing, n < 0 ? errno : 0);
}

/* `check=FILE`: send only while FILE exists; say so when that changes. */
static bool check_allows(struct vsl_sub_target *t)
{
	const char *file = t->spec->check;
	if (file == NULL)
		return true;
	struct stat st;
	bool present = stat(file, &st) == 0;
	if (!t->checked || present != t->present)
		log_info("subscription '%s': %s %s: %s", t->key, file,
			 present ? "exists" : "is missing", present ? "sending" : "not sending");
	t->checked = true;
	t->present = present;
	return present;
}

static void send_all(struct vsl_subs *s)
{
	for (size_t i = 0; i < s->n_targets; i++) {
		struct vsl_sub_target *t = &s->targets[i];
		if (!check_allows(t))
			continue;
		send_one(s, t, false);
		t->sent = true;
	}
}

static void on_timer(EV_P_ ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	send_all(container_of(w, struct vsl_subs, timer_w));
}

/* An ack from a router: one datagram of text, logged with control bytes
 * replaced. */
static void on_notify(EV_P_ ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct vsl_subs *s = container_of(w, struct vsl_subs, notify_w);
	char buf[ACK_MAX];
	for (int i = 0; i < ACKS_PER_WAKEUP; i++) {
		ssize_t n = recv(s->notify_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return; /* EAGAIN: drained; anything else comes back next time */
		size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf);
		for (size_t j = 0; j < len; j++)
			if ((unsigned char)buf[j] < 0x20 || buf[j] == 0x7f)
				buf[j] = '?';
		log_info("subscription ack: %.*s", (int)len, buf);
	}
}

void vsl_sub_start(struct vassal *v)
{
	struct vsl_subs *s = &v->subs;
	if (s->notify_fd >= 0 && !ev_is_active(&s->notify_w))
		ev_io_start(v->loop, &s->notify_w);
	if (s->n_targets == 0)
		return;
	send_all(s);
	s->subscribed = true;
	ev_timer_stop(v->loop, &s->timer_w);
	ev_timer_set(&s->timer_w, 1., (double)s->freq);
	ev_timer_start(v->loop, &s->timer_w);
}

void vsl_sub_stop(struct vassal *v, bool unsubscribe)
{
	struct vsl_subs *s = &v->subs;
	ev_timer_stop(v->loop, &s->timer_w);
	if (!unsubscribe || !s->subscribed)
		return;
	size_t n = 0;
	for (size_t i = 0; i < s->n_targets; i++) {
		struct vsl_sub_target *t = &s->targets[i];
		if (!t->sent)
			continue;
		send_one(s, t, true);
		t->sent = false;
		n++;
	}
	s->subscribed = false;
	log_info("unsubscribed %zu key(s)", n);
}

void vsl_sub_end(struct vassal *v)
{
	vsl_sub_stop(v, true);
	ev_io_stop(v->loop, &v->subs.notify_w);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(steal_fd(fd));
}

void vsl_sub_free(struct vassal *v)
{
	free_subs(&v->subs);
}

static void free_subs(struct vsl_subs *s)
{
	if (s->notify_fd >= 0)
		unlink(s->notify_path); /* best effort: the directory may not be ours */
	close_fd(&s->notify_fd);
	close_fd(&s->udp4_fd);
	close_fd(&s->udp6_fd);
	close_fd(&s->unix_fd);
	close_fd(&s->domain_fd);
	for (size_t i = 0; i < s->n_targets; i++) {
		buf_free(&s->targets[i].pkt);
		free(s->targets[i].address);
	}
	buf_free(&s->scratch);
	free(s->targets);
	for (size_t i = 0; i < s->n_specs; i++)
		vsl_sub_clear(&s->specs[i]);
	free(s->specs);
	free(s->servers);
	free(s->notify_path);
	s->notify_path = NULL;
	s->targets = NULL;
	s->specs = NULL;
	s->servers = NULL;
	s->n_targets = s->n_specs = s->n_servers = 0;
}
