/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_main.c - build/shopkeep-sim: the platform simulator process.
 *
 * Listens on 127.0.0.1 only. Prints one line on stdout when ready:
 *   shopkeep-sim: ready port=P ctl_port=C
 * Logs go to stderr. SIGINT/SIGTERM stop it (exit 0).
 */
#include "sim.h"
#include "codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *usage =
	"usage: shopkeep-sim [--port N] [--ctl-port N] [--scenario FILE] [--token-ttl-ms N]\n"
	"                    [--reg-reject-delay-ms N] [--no-record] [--no-pictures] [--verbose]\n"
	"  Emulates the Xianyu/Goofish IM platform on 127.0.0.1 for tests and the demo:\n"
	"  the mtop HTTP API under /h5/ and the LWP WebSocket at / on --port, the JSON\n"
	"  control API (tests/sim/README.md) on --ctl-port. Port 0 picks a free port.\n"
	"  --no-pictures: items have no made-up picture on the platform's image host\n"
	"  (one given by POST /item stays): a page showing them reaches nothing outside.\n";

/* Opens a non-blocking listening socket on 127.0.0.1:port; returns the fd and
 * writes the bound port, or -1. */
static int listen_on(int port, int *bound)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 256) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		fprintf(stderr, "shopkeep-sim: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

/* Accepts every pending connection of a listening socket. The platform port
 * applies the connection faults: refuse (RST at once) and black hole (accept,
 * never answer). Everything else is handed to lws. */
static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (lfd == S.plat_fd && S.refuse_n > 0) {
			struct linger l = {1, 0};

			S.refuse_n--;
			S.st.refused++;
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
			close(fd);
		} else if (lfd == S.plat_fd && S.blackhole_n > 0) {
			int *h = realloc(S.holes, (size_t)(S.nholes + 1) * sizeof *h);

			S.blackhole_n--;
			S.st.blackholed++;
			if (!h) {
				close(fd);
				continue;
			}
			S.holes = h;
			S.holes[S.nholes++] = fd;
		} else {
			/* One vhost serves both ports (lws would pick vhosts sharing a
			 * port by Host header); the opaque pointer says which port. */
			lws_adopt_desc_t ad = {
				.vh = S.vh, .type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP,
				.fd.sockfd = fd, .opaque = lfd == S.ctl_fd ? &S.ctl_fd : NULL,
			};
			int one = 1;

			/* lws sets no TCP_NODELAY on an adopted socket: without it
			 * a reply written right after a push waits for the bot's
			 * delayed ACK (40 ms; make bench found it). */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			if (!lws_adopt_descriptor_vhost_via_info(&ad))
				close(fd);
		}
	}
}

static int listen_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			   size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	if (reason == LWS_CALLBACK_RAW_RX_FILE)
		accept_all(lws_get_socket_fd(wsi));
	return 0;
}

/* Connections of the control port go to the control API, the others to the platform. */
static int sim_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			size_t len)
{
	if (lws_get_opaque_user_data(wsi) == &S.ctl_fd)
		return sim_ctl_callback(wsi, reason, user, in, len);
	return sim_http_callback(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{"lwp", sim_callback, sizeof(sim_pss), 0, 0, NULL, 0},
	{"sim-listen", listen_callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0}
};

static const struct lws_extension exts[] = {
	{"permessage-deflate", lws_extension_callback_pm_deflate, "permessage-deflate"},
	{NULL, NULL, NULL}
};

static void on_signal(int sig)
{
	(void)sig;
	S.interrupted = 1;
	if (S.ctx)
		lws_cancel_service(S.ctx);
}

static void log_emit(int level, const char *line)
{
	(void)level;
	fputs(line, stderr);
}

/* Reads a whole file into a malloc'd NUL-terminated buffer, NULL on error. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	sbuf b = {0};
	char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sbuf_add(&b, buf, n);
	fclose(f);
	return sbuf_take(&b);
}

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	lws_sock_file_fd_type fd;
	int port = 0, ctl_port = 0, i, level = LLL_ERR | LLL_WARN | LLL_USER;
	const char *scenario = NULL;

	if (sodium_init() < 0)
		return 1;
	/* permessage-deflate makes and frees a compressor per message; with the
	 * default threshold each free gave the heap back to the kernel and the next
	 * one faulted it in again (a third of the simulator's time in make bench). */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	S.reg_reject_delay_ms = 1000;
	S.token_ttl_ms = 86400000;
	S.redeliver_unacked = 1;
	S.kick_on_second_reg = 1;
	S.risk_token_window_ms = 60000;
	S.record = 1;
	S.consign_pushes_card = 1;
	S.next_im = 3416565274542ull;
	S.next_cid = 47983389096ull;
	S.next_buyer = 2200000100001ull;
	S.next_order = 2503688126356636370ull;
	S.next_mid = randombytes_random();
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(a, "--no-record")) {
			S.record = 0;
		} else if (!strcmp(a, "--no-pictures")) {
			S.no_pictures = 1;
		} else if (!strcmp(a, "--verbose")) {
			level |= LLL_NOTICE;
		} else if (!v) {
			fprintf(stderr, "shopkeep-sim: %s needs a value\n%s", a, usage);
			return 2;
		} else if (!strcmp(a, "--port")) {
			port = atoi(v), i++;
		} else if (!strcmp(a, "--ctl-port")) {
			ctl_port = atoi(v), i++;
		} else if (!strcmp(a, "--scenario")) {
			scenario = v, i++;
		} else if (!strcmp(a, "--token-ttl-ms")) {
			S.token_ttl_ms = atoll(v), i++;
		} else if (!strcmp(a, "--reg-reject-delay-ms")) {
			S.reg_reject_delay_ms = atoi(v), i++;
		} else {
			fprintf(stderr, "shopkeep-sim: unknown option %s\n%s", a, usage);
			return 2;
		}
	}
	lws_set_log_level(level, log_emit);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.fd_limit_per_thread = 1024;
	S.ctx = lws_create_context(&info);
	if (!S.ctx)
		return 1;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.vhost_name = "sim";
	info.protocols = protocols;
	info.extensions = exts;
	info.timeout_secs = 30;
	S.vh = lws_create_vhost(S.ctx, &info);
	S.plat_fd = listen_on(port, &S.port);
	S.ctl_fd = listen_on(ctl_port, &S.ctl_port);
	if (!S.vh || S.plat_fd < 0 || S.ctl_fd < 0)
		goto fail;
	fd.filefd = S.plat_fd;
	if (!lws_adopt_descriptor_vhost(S.vh, LWS_ADOPT_RAW_FILE_DESC, fd, "sim-listen", NULL))
		goto fail;
	fd.filefd = S.ctl_fd;
	if (!lws_adopt_descriptor_vhost(S.vh, LWS_ADOPT_RAW_FILE_DESC, fd, "sim-listen", NULL))
		goto fail;
	if (scenario) {
		char *txt = read_file(scenario), err[160];
		cJSON *j = txt ? cJSON_Parse(txt) : NULL;

		free(txt);
		if (!j || sim_scenario_load(j, err, sizeof err)) {
			fprintf(stderr, "shopkeep-sim: scenario %s: %s\n", scenario,
				j ? err : "cannot read or not JSON");
			goto fail;
		}
	}
	printf("shopkeep-sim: ready port=%d ctl_port=%d\n", S.port, S.ctl_port);
	fflush(stdout);
	while (!S.interrupted)
		if (lws_service(S.ctx, 0) < 0)
			break;
	lws_context_destroy(S.ctx);
	S.ctx = NULL;
	sim_free_all();
	return 0;
fail:
	lws_context_destroy(S.ctx);
	sim_free_all();
	return 1;
}
