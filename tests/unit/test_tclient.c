/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_tclient.c - the test client (tests/sim/tclient.c) against tiny
 * servers forked here on ephemeral loopback ports: an HTTP server, a hand-written
 * WebSocket server with one behaviour per path, a raw TCP server for
 * tc_tcp_wait, and shell scripts standing in for the simulator binary.
 */
#include "sim/tclient.h"
#include "tap.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIG_LEN (3u << 20)

/* ---- helpers shared by the fake servers ---- */

/* Returns a listening socket on 127.0.0.1 with an ephemeral port (in *port), or -1. */
static int listen_any(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Forks a server running serve(lfd) (at most 8 s); the parent drops lfd. Returns the pid. */
static pid_t spawn(void (*serve)(int), int lfd)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		alarm(8);
		serve(lfd);
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Accepts one connection with a 3 s receive timeout. Returns the fd or -1. */
static int accept_one(int lfd)
{
	struct timeval tv = { 3, 0 };
	int c = accept(lfd, NULL, NULL);

	if (c >= 0)
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return c;
}

/* Writes all of p. Returns 0 or -1. */
static int put(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t k;

	while (n) {
		k = send(fd, c, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int puts_fd(int fd, const char *s)
{
	return put(fd, s, strlen(s));
}

/* Reads exactly n bytes. Returns 0 or -1. */
static int get(int fd, void *p, size_t n)
{
	char *c = p;
	ssize_t k;

	while (n) {
		k = recv(fd, c, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Waits (up to ms) for the client to close, discarding what it sends. */
static void wait_eof(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char junk[4096];

	while (poll(&p, 1, ms) > 0 && recv(fd, junk, sizeof junk, 0) > 0)
		;
}

/* Reads a request (head + Content-Length body) into buf. Returns its length or -1. */
static int read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0, want = 0;
	char *e, *cl;
	ssize_t k;

	for (;;) {
		if (len == cap - 1)
			return -1;
		k = recv(fd, buf + len, cap - 1 - len, 0);
		if (k <= 0)
			return -1;
		len += (size_t)k;
		buf[len] = '\0';
		e = strstr(buf, "\r\n\r\n");
		if (!e)
			continue;
		if (!want) {
			cl = strcasestr(buf, "\r\nContent-Length:");
			want = (size_t)(e + 4 - buf) + (cl && cl < e ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (len >= want)
			return (int)len;
	}
}

/* Returns the value of header name in a request head (copied into out), or "" when absent. */
static const char *req_header(const char *req, const char *name, char *out, size_t cap)
{
	const char *h = req, *e;
	size_t nl = strlen(name), n;

	out[0] = '\0';
	while ((h = strstr(h, "\r\n")) && h[2] != '\r') {
		h += 2;
		if (!strncasecmp(h, name, nl) && h[nl] == ':') {
			h += nl + 1;
			while (*h == ' ')
				h++;
			e = strstr(h, "\r\n");
			n = (size_t)(e - h) < cap - 1 ? (size_t)(e - h) : cap - 1;
			memcpy(out, h, n);
			out[n] = '\0';
			break;
		}
	}
	return out;
}

/* ---- the HTTP server ---- */

static void http_serve(int lfd)
{
	static char req[65536], resp[70000];
	char path[256];
	int c, n;

	while ((c = accept_one(lfd)) >= 0) {
		n = read_request(c, req, sizeof req);
		if (n < 0 || sscanf(req, "%*s %255s", path) != 1) {
			close(c);
			continue;
		}
		if (!strcmp(path, "/cl")) {
			/* The connection stays open: the client must stop at Content-Length. */
			puts_fd(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: a\r\nx-TEST:   b  \r\n\r\nhello");
			wait_eof(c, 3000);
		} else if (!strcmp(path, "/chunked")) {
			puts_fd(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi");
			usleep(20000);
			puts_fd(c, "ki\r\n5;ext=1\r\npedia\r");
			usleep(20000);
			puts_fd(c, "\n0\r\nX-Trailer: t\r\n\r\n");
			wait_eof(c, 3000);
		} else if (!strcmp(path, "/close")) {
			puts_fd(c, "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\ngone ");
			usleep(20000);
			puts_fd(c, "away");
		} else if (!strcmp(path, "/echo")) {
			snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n);
			puts_fd(c, resp);
			put(c, req, (size_t)n);
			wait_eof(c, 3000);
		} else if (!strcmp(path, "/continue")) {
			puts_fd(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n");
			wait_eof(c, 3000);
		} else if (!strcmp(path, "/json")) {
			puts_fd(c, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
			           "{\"ok\":true,\"n\":3}");
			wait_eof(c, 3000);
		} else if (!strcmp(path, "/big")) {
			char *big = malloc(BIG_LEN);

			for (size_t i = 0; i < BIG_LEN; i++)
				big[i] = (char)('a' + i % 26);
			snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", BIG_LEN);
			puts_fd(c, resp);
			put(c, big, BIG_LEN);
			free(big);
			wait_eof(c, 3000);
		} else if (!strcmp(path, "/slow")) {
			wait_eof(c, 3000);
		}
		close(c);
	}
}

static void test_http(void)
{
	tc_http_resp r;
	char *v;
	int lfd, port, st, rc;
	pid_t pid;
	cJSON *j;

	lfd = listen_any(&port);
	pid = spawn(http_serve, lfd);

	rc = tc_http(port, "GET", "/cl", NULL, NULL, 0, &r, 2000);
	is_int(rc, 0, "http: Content-Length response read without waiting for close");
	is_int(r.status, 200, "http: status 200");
	is_str(r.body, "hello", "http: Content-Length body");
	is_int(r.body_len, 5, "http: body_len");
	v = tc_http_header(&r, "x-test", 0);
	is_str(v, "a", "http: header, case-insensitive");
	free(v);
	v = tc_http_header(&r, "X-Test", 1);
	is_str(v, "b", "http: second match, trimmed");
	free(v);
	ok(!tc_http_header(&r, "X-Test", 2), "http: no third match");
	ok(r.head && !strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) && !strstr(r.head, "\r\n\r\n"),
	   "http: head is status line + headers, no blank line");
	tc_http_free(&r);

	rc = tc_http(port, "GET", "/chunked", NULL, NULL, 0, &r, 2000);
	ok(rc == 0 && r.status == 200, "http: chunked response");
	is_str(r.body, "Wikipedia", "http: chunked body decoded across split reads");
	is_int(r.body_len, 9, "http: chunked body_len");
	tc_http_free(&r);

	rc = tc_http(port, "GET", "/close", NULL, NULL, 0, &r, 2000);
	ok(rc == 0 && r.status == 404, "http: close-delimited response, status 404");
	is_str(r.body, "gone away", "http: close-delimited body");
	tc_http_free(&r);

	rc = tc_http(port, "POST", "/echo", "X-Extra: 1\r\n", "abc", 3, &r, 2000);
	ok(rc == 0 && r.status == 200, "http: POST");
	ok(r.body && strstr(r.body, "POST /echo HTTP/1.1\r\n") && strstr(r.body, "\r\nX-Extra: 1\r\n") &&
	   strstr(r.body, "\r\nContent-Length: 3\r\n") && strstr(r.body, "\r\nConnection: close\r\n") &&
	   r.body_len > 3 && !strcmp(r.body + r.body_len - 7, "\r\n\r\nabc"),
	   "http: request line, extra headers, Content-Length and body went out");
	tc_http_free(&r);

	rc = tc_http(port, "GET", "/continue", NULL, NULL, 0, &r, 2000);
	ok(rc == 0 && r.status == 204 && r.body && r.body_len == 0, "http: 100 skipped, 204 has no body");
	v = tc_http_header(&r, "X-A", 0);
	is_str(v, "1", "http: headers of the final response");
	free(v);
	tc_http_free(&r);

	rc = tc_http(port, "GET", "/big", NULL, NULL, 0, &r, 3000);
	ok(rc == 0 && r.body_len == BIG_LEN && r.body[0] == 'a' && r.body[BIG_LEN - 1] == (char)('a' + (BIG_LEN - 1) % 26),
	   "http: 3 MiB body");
	tc_http_free(&r);

	rc = tc_http(port, "GET", "/slow", NULL, NULL, 0, &r, 150);
	ok(rc == -1 && !r.head && !r.body, "http: timeout gives -1 and an empty response");

	j = tc_ctl(port, "POST", "/json", "{\"x\":1}", &st);
	is_int(st, 201, "ctl: status");
	ok(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")) && cJSON_GetObjectItem(j, "n")->valueint == 3,
	   "ctl: body parsed as JSON");
	cJSON_Delete(j);

	reap(pid);
	rc = tc_http(port, "GET", "/cl", NULL, NULL, 0, &r, 500);
	is_int(rc, -1, "http: connection refused gives -1");
	j = tc_ctl(port, "GET", "/json", NULL, &st);
	ok(!j && st == 0, "ctl: NULL and status 0 when nobody listens");
}

/* ---- the WebSocket server ---- */

/* Sends one unmasked frame with the first byte b0. */
static void ws_put(int fd, int b0, const void *p, size_t n)
{
	unsigned char h[10];
	size_t hl = 2;

	h[0] = (unsigned char)b0;
	if (n < 126) {
		h[1] = (unsigned char)n;
	} else if (n <= 0xffff) {
		h[1] = 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	put(fd, h, hl);
	put(fd, p, n);
}

/* Reads one client frame (must be masked). Returns its opcode with *p (malloc'd, unmasked) and *n, or -1. */
static int ws_get(int fd, char **p, size_t *n)
{
	unsigned char h[14];
	uint64_t len;
	size_t hl = 2;

	*p = NULL;
	if (get(fd, h, 2) || !(h[1] & 0x80))
		return -1;
	len = h[1] & 0x7f;
	if (len == 126)
		hl = 4;
	else if (len == 127)
		hl = 10;
	if (get(fd, h + 2, hl - 2 + 4))
		return -1;
	if (len == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
	}
	*p = malloc(len + 1);
	if (get(fd, *p, len)) {
		free(*p);
		*p = NULL;
		return -1;
	}
	for (uint64_t i = 0; i < len; i++)
		(*p)[i] ^= h[hl + (i & 3)];
	(*p)[len] = '\0';
	*n = len;
	return h[0] & 0x0f;
}

/* After the handshake of /main or /plain: answers client frames until it closes. */
static void ws_loop(int c)
{
	char *p, out[64];
	size_t n;
	int op;

	while ((op = ws_get(c, &p, &n)) >= 0) {
		if (op == 10) {
			snprintf(out, sizeof out, "pong:%s", p);
			ws_put(c, 0x81, out, strlen(out));
		} else if (op == 9) {
			ws_put(c, 0x8a, p, n);
			ws_put(c, 0x81, "pinged", 6);
		} else if (op == 1 && !strcmp(p, "close-me")) {
			ws_put(c, 0x88, "\x0f\xa1" "bye", 5);
			free(p);
			/* A clean close only if the client echoed 4001; an RST otherwise. */
			if (ws_get(c, &p, &n) == 8 && n == 2 && !memcmp(p, "\x0f\xa1", 2)) {
				free(p);
				return;
			}
			free(p);
			setsockopt(c, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 }, sizeof(struct linger));
			return;
		} else if (op == 1) {
			ws_put(c, 0x81, p, n);
		} else if (op == 8) {
			ws_put(c, 0x88, p, n);
			free(p);
			return;
		}
		free(p);
	}
}

static void ws_serve(int lfd)
{
	static char req[65536];
	unsigned char md[EVP_MAX_MD_SIZE];
	char path[256], key[128], buf[256], acc[64], *p;
	unsigned int mdlen;
	size_t n;
	int c;

	while ((c = accept_one(lfd)) >= 0) {
		if (read_request(c, req, sizeof req) < 0 || sscanf(req, "GET %255s", path) != 1) {
			close(c);
			continue;
		}
		if (!strcmp(path, "/silent")) {
			close(c);
			continue;
		}
		if (!strcmp(path, "/deny")) {
			puts_fd(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
			wait_eof(c, 3000);
			close(c);
			continue;
		}
		req_header(req, "Sec-WebSocket-Key", key, sizeof key);
		snprintf(buf, sizeof buf, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
		EVP_Digest(buf, strlen(buf), md, &mdlen, EVP_sha1(), NULL);
		EVP_EncodeBlock((unsigned char *)acc, md, (int)mdlen);
		if (!strcmp(path, "/badaccept"))
			acc[0] = acc[0] == 'A' ? 'B' : 'A';
		snprintf(buf, sizeof buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		         "Connection: Upgrade\r\nsec-websocket-accept:  %s\r\n\r\n", acc);
		puts_fd(c, buf);
		if (!strcmp(path, "/main")) {
			char *big = malloc(BIG_LEN);

			/* "hello world" in three fragments with a PING inside, then a PING, 126- and 127-length frames. */
			ws_put(c, 0x01, "hel", 3);
			ws_put(c, 0x89, "p1", 2);
			ws_put(c, 0x00, "lo ", 3);
			ws_put(c, 0x80, "world", 5);
			ws_put(c, 0x89, "p2", 2);
			for (size_t i = 0; i < BIG_LEN; i++)
				big[i] = (char)(i * 7);
			ws_put(c, 0x82, big, 300);
			ws_put(c, 0x82, big, BIG_LEN);
			free(big);
			ws_loop(c);
		} else if (!strcmp(path, "/plain")) {
			ws_loop(c);
		} else if (!strcmp(path, "/badaccept")) {
			wait_eof(c, 3000);
		} else {
			/* The fault paths act after the client's first frame. */
			if (ws_get(c, &p, &n) < 0) {
				close(c);
				continue;
			}
			free(p);
			if (!strcmp(path, "/rst")) {
				setsockopt(c, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 }, sizeof(struct linger));
			} else if (!strcmp(path, "/badop")) {
				put(c, "\x8f", 1);
				wait_eof(c, 3000);
			} else if (!strcmp(path, "/masked")) {
				put(c, "\x81\x82\x01\x02\x03\x04" "ik", 8);
				wait_eof(c, 3000);
			} else if (!strcmp(path, "/close0")) {
				put(c, "\x88\x00", 2);
				if (ws_get(c, &p, &n) == 8 && n == 0)
					shutdown(c, SHUT_WR);
				free(p);
				wait_eof(c, 3000);
			}
			/* /fin: just close. */
		}
		close(c);
	}
}

/* Connects to path on the WS server; the test fails loudly when that doesn't work. */
static tc_ws *ws_open(int port, const char *path)
{
	int st = -1;
	tc_ws *w = tc_ws_connect(port, path, NULL, 2000, &st);

	if (!w)
		diag("connect %s failed, status %d", path, st);
	return w;
}

/* Checks the messages the server pushes on /main: fragments, 16- and 64-bit lengths, PINGs answered. */
static void test_ws_recv(tc_ws *w)
{
	tc_frame f;
	int rc, good;

	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_MSG && f.opcode == 1 && f.len == 11 && !strcmp(f.data, "hello world"),
	   "ws: fragmented text message reassembled around a PING");
	tc_frame_free(&f);
	rc = tc_ws_recv(w, 2000, &f);
	good = rc == TC_MSG && f.opcode == 2 && f.len == 300;
	for (size_t i = 0; good && i < 300; i++)
		good = f.data[i] == (char)(i * 7);
	ok(good, "ws: binary message with a 16-bit length");
	tc_frame_free(&f);
	rc = tc_ws_recv(w, 3000, &f);
	good = rc == TC_MSG && f.opcode == 2 && f.len == BIG_LEN;
	for (size_t i = 0; good && i < BIG_LEN; i += 4099)
		good = f.data[i] == (char)(i * 7);
	ok(good, "ws: 3 MiB binary message with a 64-bit length");
	tc_frame_free(&f);
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_MSG && !strcmp(f.data, "pong:p1"), "ws: PING inside the message was answered with its payload");
	tc_frame_free(&f);
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_MSG && !strcmp(f.data, "pong:p2"), "ws: standalone PING was answered");
	tc_frame_free(&f);
}

/* Checks our masked sends echoed (7 bytes, 16- and 64-bit lengths), recv_json, our PING and a timeout. */
static void test_ws_send(tc_ws *w)
{
	static char big[100000];
	tc_frame f;
	cJSON *j;
	int rc;

	is_int(tc_ws_send_text(w, "echo me", 7), 0, "ws: send text");
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_MSG && !strcmp(f.data, "echo me"), "ws: masked text frame understood by the server");
	tc_frame_free(&f);
	memset(big, 'x', 1000);
	big[999] = 'y';
	tc_ws_send_text(w, big, 1000);
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_MSG && f.len == 1000 && !memcmp(f.data, big, 1000), "ws: 1000-byte text (16-bit length) echoed");
	tc_frame_free(&f);
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('A' + i % 23);
	tc_ws_send_text(w, big, sizeof big);
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_MSG && f.len == sizeof big && !memcmp(f.data, big, sizeof big),
	   "ws: 100000-byte text (64-bit length) echoed");
	tc_frame_free(&f);
	tc_ws_send_text(w, "{\"a\":1}", 7);
	j = tc_ws_recv_json(w, 2000);
	ok(j && cJSON_GetObjectItem(j, "a") && cJSON_GetObjectItem(j, "a")->valueint == 1, "ws: recv_json");
	cJSON_Delete(j);

	is_int(tc_ws_pongs(w), 0, "ws: no PONG yet");
	is_int(tc_ws_send_ping(w), 0, "ws: send PING");
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_MSG && !strcmp(f.data, "pinged"), "ws: server got the PING");
	tc_frame_free(&f);
	is_int(tc_ws_pongs(w), 1, "ws: PONG recorded");
	rc = tc_ws_recv(w, 50, &f);
	is_int(rc, TC_TIMEOUT, "ws: timeout when nothing comes");
}

/* Checks the ways a connection ends: our close, FIN, RST, bad opcode, masked frame, empty close. */
static void test_ws_ends(int port)
{
	tc_frame f;
	tc_ws *w;
	int rc;
	int64_t t0;

	/* Our own close: the server answers and closes, so tc_ws_close returns early. */
	w = ws_open(port, "/plain");
	tc_ws_send_text(w, "hi", 2);
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_MSG && !strcmp(f.data, "hi"), "ws: /plain echo");
	tc_frame_free(&f);
	t0 = now_ms();
	tc_ws_close(w, 1000);
	ok(now_ms() - t0 < 800, "ws: tc_ws_close(1000) ends when the server closes");

	w = ws_open(port, "/fin");
	rc = tc_ws_recv(w, 50, &f);
	is_int(rc, TC_TIMEOUT, "ws: /fin: timeout first");
	tc_ws_send_text(w, "go", 2);
	rc = tc_ws_recv(w, 2000, &f);
	is_int(rc, TC_EOF, "ws: FIN without close frame is TC_EOF");
	rc = tc_ws_recv(w, 0, &f);
	is_int(rc, TC_EOF, "ws: TC_EOF is final");
	tc_ws_close(w, 1000);

	w = ws_open(port, "/rst");
	tc_ws_send_text(w, "go", 2);
	rc = tc_ws_recv(w, 2000, &f);
	is_int(rc, TC_RST, "ws: RST is TC_RST");
	tc_ws_close(w, 0);

	w = ws_open(port, "/badop");
	tc_ws_send_text(w, "go", 2);
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_ERROR && f.bad_protocol == 1, "ws: reserved opcode byte 0x8f is TC_ERROR, bad_protocol");
	ok(strstr(tc_ws_error(w), "opcode") != NULL, "ws: error says why (%s)", tc_ws_error(w));
	tc_ws_close(w, 1000);

	w = ws_open(port, "/masked");
	tc_ws_send_text(w, "go", 2);
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_ERROR && f.bad_protocol == 1, "ws: masked server frame is TC_ERROR, bad_protocol");
	tc_ws_close(w, 0);

	w = ws_open(port, "/close0");
	tc_ws_send_text(w, "go", 2);
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_CLOSE && f.close_code == 1005 && f.len == 0, "ws: empty close frame gives 1005");
	tc_frame_free(&f);
	rc = tc_ws_recv(w, 2000, &f);
	is_int(rc, TC_EOF, "ws: server closed after our empty close answer");
	tc_ws_close(w, 1000);
}

/* Checks refused, wrongly accepted and unanswered upgrades give NULL and the status. */
static void test_ws_refused(int port)
{
	tc_ws *w;
	int st;

	st = -1;
	w = tc_ws_connect(port, "/deny", NULL, 2000, &st);
	ok(!w && st == 403, "ws: refused upgrade gives NULL and the status");
	st = -1;
	w = tc_ws_connect(port, "/badaccept", NULL, 2000, &st);
	ok(!w && st == 101, "ws: wrong Sec-WebSocket-Accept gives NULL, status 101");
	st = -1;
	w = tc_ws_connect(port, "/silent", NULL, 2000, &st);
	ok(!w && st == 0, "ws: no answer gives NULL, status 0");
	tc_ws_close(NULL, 1000);
}

/* Checks the WebSocket client against the scripted server, step by step. */
static void test_ws(void)
{
	tc_frame f;
	tc_ws *w;
	int lfd, port, st, rc;
	pid_t pid;

	lfd = listen_any(&port);
	pid = spawn(ws_serve, lfd);

	w = tc_ws_connect(port, "/main", "X-Extra: 1\r\n", 2000, &st);
	ok(w != NULL, "ws: handshake, accept key verified");
	test_ws_recv(w);
	test_ws_send(w);

	tc_ws_send_text(w, "close-me", 8);
	rc = tc_ws_recv(w, 2000, &f);
	ok(rc == TC_CLOSE && f.close_code == 4001 && f.data && !strcmp(f.data, "bye"), "ws: close frame, code 4001 and reason");
	tc_frame_free(&f);
	rc = tc_ws_recv(w, 2000, &f);
	is_int(rc, TC_EOF, "ws: server closed TCP after our close echoed 4001");
	tc_ws_close(w, 1000);

	test_ws_ends(port);
	test_ws_refused(port);

	reap(pid);
}

/* ---- tc_tcp_wait ---- */

static void tcp_serve(int lfd)
{
	char cmd;
	int c;

	while ((c = accept_one(lfd)) >= 0) {
		if (get(c, &cmd, 1) == 0) {
			if (cmd == 'd') {
				puts_fd(c, "data");
				wait_eof(c, 3000);
			} else if (cmd == 'r') {
				setsockopt(c, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 }, sizeof(struct linger));
			} else if (cmd == 's') {
				wait_eof(c, 3000);
			}
		}
		close(c);
	}
}

/* Connects, sends cmd, and returns the fd. */
static int tcp_cmd(int port, char cmd)
{
	int fd = tc_tcp_connect(port, 1000);

	if (fd >= 0)
		send(fd, &cmd, 1, MSG_NOSIGNAL);
	return fd;
}

static void test_tcp(void)
{
	int lfd, port, fd;
	pid_t pid;

	lfd = listen_any(&port);
	pid = spawn(tcp_serve, lfd);

	fd = tcp_cmd(port, 'd');
	ok(fd >= 0, "tcp: connect");
	is_int(tc_tcp_wait(fd, 2000), TC_MSG, "tcp: bytes arrived");
	is_int(tc_tcp_wait(fd, 50), TC_TIMEOUT, "tcp: they were discarded, then nothing");
	close(fd);
	fd = tcp_cmd(port, 'f');
	is_int(tc_tcp_wait(fd, 2000), TC_EOF, "tcp: FIN");
	close(fd);
	fd = tcp_cmd(port, 'r');
	is_int(tc_tcp_wait(fd, 2000), TC_RST, "tcp: RST");
	close(fd);
	fd = tcp_cmd(port, 's');
	is_int(tc_tcp_wait(fd, 100), TC_TIMEOUT, "tcp: silence");
	close(fd);

	reap(pid);
	is_int(tc_tcp_connect(port, 500), -1, "tcp: refused connect gives -1");
}

/* ---- tc_sim_start / tc_sim_stop against scripts ---- */

/* Writes dir/shopkeep-sim with body, executable. Returns 0 or -1. */
static int write_sim(const char *dir, const char *body)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof path, "%s/shopkeep-sim", dir);
	fp = fopen(path, "w");
	if (!fp)
		return -1;
	fprintf(fp, "#!/bin/sh\n%s", body);
	fclose(fp);
	return chmod(path, 0755);
}

static void test_sim(void)
{
	static const char *const extra[] = { "--scenario", "x y", NULL };
	char dir[] = "/tmp/tclient.XXXXXX", path[256], args[256] = "";
	tc_sim s;
	FILE *fp;
	int rc;

	if (!mkdtemp(dir)) {
		ok(0, "sim: mkdtemp");
		return;
	}
	setenv("SK_BUILD", dir, 1);

	/* The trap comes before the ready line: a SIGTERM right after it must
	 * find the trap set (the other order failed once on a loaded machine). */
	write_sim(dir, "trap 'exit 7' TERM\n"
	               "echo \"$@\" > \"$(dirname \"$0\")/args\"\n"
	               "echo noise\n"
	               "echo 'shopkeep-sim: ready port=4321 ctl_port=4322'\n"
	               "while :; do sleep 0.02; done\n");
	rc = tc_sim_start(&s, extra);
	ok(rc == 0 && s.pid > 0 && s.port == 4321 && s.ctl_port == 4322, "sim: ready line parsed");
	snprintf(path, sizeof path, "%s/args", dir);
	fp = fopen(path, "r");
	if (fp) {
		if (!fgets(args, sizeof args, fp))
			args[0] = '\0';
		fclose(fp);
	}
	is_str(args, "--port 0 --ctl-port 0 --scenario x y\n", "sim: arguments");
	is_int(tc_sim_stop(&s), 7, "sim: stop returns the exit status");
	is_int(tc_sim_stop(&s), -1, "sim: stopping twice gives -1");

	write_sim(dir, "echo 'shopkeep-sim: ready port=1 ctl_port=2'\nexec sleep 5\n");
	rc = tc_sim_start(&s, NULL);
	ok(rc == 0, "sim: start without extra args");
	is_int(tc_sim_stop(&s), 128 + SIGTERM, "sim: killed by SIGTERM gives 128+15");

	write_sim(dir, "echo starting; exit 3\n");
	rc = tc_sim_start(&s, NULL);
	ok(rc == -1 && s.pid == -1, "sim: exit before the ready line gives -1");

	unlink(path);
	snprintf(path, sizeof path, "%s/shopkeep-sim", dir);
	unlink(path);
	rmdir(dir);
	rc = tc_sim_start(&s, NULL);
	is_int(rc, -1, "sim: missing binary gives -1");
	unsetenv("SK_BUILD");
}

int main(void)
{
	int64_t t0 = now_ms();

	signal(SIGPIPE, SIG_IGN);
	test_http();
	test_ws();
	test_tcp();
	test_sim();
	diag("took %lld ms", (long long)(now_ms() - t0));
	return tap_done();
}
