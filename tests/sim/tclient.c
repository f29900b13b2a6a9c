/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/tclient.c - the blocking test client (see tclient.h).
 *
 * Every socket read and write goes through poll() with a deadline and uses
 * MSG_DONTWAIT, so the fd's own blocking mode never matters and a test can't hang
 * past its timeout. Received bytes collect in an rbuf that grows on demand up to
 * the cap; the WebSocket parser works on whatever is buffered and asks for more.
 */
#include "tclient.h"
#include "lwp.h"
#include "sign.h"
#include "util.h"


#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TC_MAX_BUF  ((size_t)TC_MAX_MSG + 65536)   /* a capped message plus headers */
#define TC_MAX_HEAD (1u << 20)                     /* HTTP header block */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Received bytes: [off, len) are unconsumed; p always has room for a NUL at p[len]. */
typedef struct {
	char *p;
	size_t off, len, cap;
} rbuf;

struct tc_ws {
	int fd;
	rbuf in;             /* bytes from the server not parsed yet */
	rbuf msg;            /* the message being reassembled */
	int msg_op;          /* its opcode, 0 when none is open */
	int pongs;
	int close_sent;
	int dead;            /* TC_EOF, TC_RST or TC_ERROR once final, else 0 */
	int dead_bad;        /* dead on a protocol violation */
	char err[128];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns the deadline for a timeout: -1 (never) when timeout_ms < 0. */
static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
}

/* Waits until fd has one of events (or an error/hangup) or the deadline passes.
 * Returns 1 ready, 0 timeout, -1 poll error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int rc, ms;

	for (;;) {
		if (deadline < 0) {
			ms = -1;
		} else {
			left = deadline - mono_ms();
			ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		rc = poll(&pfd, 1, ms);
		if (rc > 0)
			return 1;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Writes all n bytes before the deadline. Returns 0 or -1. */
static int send_all(int fd, const void *p, size_t n, int64_t deadline)
{
	const char *c = p;
	ssize_t k;

	while (n) {
		k = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			c += k;
			n -= (size_t)k;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) != 1)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Makes room for want more bytes after len (plus the NUL), compacting first.
 * Returns 0, or -1 when that would pass TC_MAX_BUF or memory is out. */
static int rb_reserve(rbuf *b, size_t want)
{
	size_t need, cap;
	char *p;

	if (b->cap - b->len >= want + 1 && b->p)
		return 0;
	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= want + 1)
			return 0;
	}
	if (want > TC_MAX_BUF || b->len + want > TC_MAX_BUF)
		return -1;
	need = b->len + want + 1;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Appends n bytes. Returns 0 or -1 (cap or memory). */
static int rb_add(rbuf *b, const void *p, size_t n)
{
	if (rb_reserve(b, n))
		return -1;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void rb_free(rbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Reads what the socket has into b, waiting until the deadline; need is how many more bytes
 * the caller is missing (room for them is made first, so big frames land in one buffer).
 * Returns TC_MSG when bytes arrived, TC_EOF, TC_RST, TC_TIMEOUT, or TC_ERROR (I/O error, cap). */
static int rb_read(int fd, rbuf *b, size_t need, int64_t deadline)
{
	ssize_t k;
	int rc;

	if (need == 0)
		need = 1;
	if (rb_reserve(b, need < 65536 ? 65536 : need) && rb_reserve(b, need))
		return TC_ERROR;
	for (;;) {
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc == 0)
			return TC_TIMEOUT;
		if (rc < 0)
			return TC_ERROR;
		k = recv(fd, b->p + b->len, b->cap - b->len - 1, MSG_DONTWAIT);
		if (k > 0) {
			b->len += (size_t)k;
			b->p[b->len] = '\0';
			return TC_MSG;
		}
		if (k == 0)
			return TC_EOF;
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			continue;
		return errno == ECONNRESET ? TC_RST : TC_ERROR;
	}
}

/* Connects to 127.0.0.1:port before the deadline. Returns a blocking fd with TCP_NODELAY, or -1. */
static int connect_until(int port, int64_t deadline)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, err = 0, one = 1, fl;
	socklen_t el = sizeof err;

	if (port <= 0 || port > 65535)
		return -1;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			goto fail;
		if (wait_fd(fd, POLLOUT, deadline) != 1)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)
			goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		goto fail;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
fail:
	close(fd);
	return -1;
}

int tc_tcp_connect(int port, int timeout_ms)
{
	return connect_until(port, deadline_of(timeout_ms));
}

int tc_tcp_wait(int fd, int timeout_ms)
{
	char buf[65536];
	size_t got = 0;
	ssize_t k;
	int rc;

	rc = wait_fd(fd, POLLIN, deadline_of(timeout_ms));
	if (rc == 0)
		return TC_TIMEOUT;
	if (rc < 0)
		return TC_ERROR;
	/* Discard what is there now (bounded, in case the peer streams). */
	while (got < (16u << 20)) {
		k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (k > 0) {
			got += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (got)
			return TC_MSG;
		if (k == 0)
			return TC_EOF;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return TC_TIMEOUT;   /* spurious wakeup: nothing after all */
		return errno == ECONNRESET ? TC_RST : TC_ERROR;
	}
	return TC_MSG;
}

/* Fills p with n random bytes (getrandom; rand() only if that is missing). */
static void rand_bytes(void *p, size_t n)
{
	unsigned char *c = p;
	ssize_t k;

	while (n) {
		k = getrandom(c, n, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			while (n--)
				*c++ = (unsigned char)rand();
			return;
		}
		c += k;
		n -= (size_t)k;
	}
}

/* ---- simulator process ---- */

int tc_sim_start(tc_sim *s, const char *const *extra_args)
{
	const char *dir = getenv("SK_BUILD");
	char path[4096], buf[4096], *nl, *hit;
	const char **argv;
	size_t n = 0, len = 0;
	int pfd[2], rc, port, ctl;
	pid_t parent = getpid(), pid;
	int64_t deadline;
	ssize_t k;

	s->pid = -1;
	s->port = s->ctl_port = 0;
	s->out_fd = -1;
	if (!dir || !*dir)
		dir = "build";
	if ((size_t)snprintf(path, sizeof path, "%s/shopkeep-sim", dir) >= sizeof path)
		return -1;
	while (extra_args && extra_args[n])
		n++;
	argv = calloc(n + 6, sizeof *argv);
	if (!argv)
		return -1;
	argv[0] = path;
	argv[1] = "--port";
	argv[2] = "0";
	argv[3] = "--ctl-port";
	argv[4] = "0";
	for (size_t i = 0; i < n; i++)
		argv[5 + i] = extra_args[i];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(argv);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(argv);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		/* Die with the test, so a crashed test leaves no simulator behind. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execv(path, (char *const *)argv);
		fprintf(stderr, "tc_sim_start: exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	free(argv);
	close(pfd[1]);
	/* Read stdout line by line until the ready line, EOF or the deadline. */
	deadline = mono_ms() + 10000;
	for (;;) {
		rc = wait_fd(pfd[0], POLLIN, deadline);
		if (rc != 1) {
			fprintf(stderr, "tc_sim_start: %s: no ready line within 10 s\n", path);
			break;
		}
		k = read(pfd[0], buf + len, sizeof buf - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "tc_sim_start: %s exited before its ready line\n", path);
			break;
		}
		len += (size_t)k;
		buf[len] = '\0';
		while ((nl = memchr(buf, '\n', len))) {
			*nl = '\0';
			hit = strstr(buf, "shopkeep-sim: ready");
			if (hit && sscanf(hit, "shopkeep-sim: ready port=%d ctl_port=%d", &port, &ctl) == 2) {
				s->pid = pid;
				s->port = port;
				s->ctl_port = ctl;
				s->out_fd = pfd[0];
				return 0;
			}
			fprintf(stderr, "sim stdout: %s\n", buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
			buf[len] = '\0';
		}
		if (len == sizeof buf - 1)
			len = 0;   /* an absurdly long line: drop it */
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	return -1;
}

int tc_sim_stop(tc_sim *s)
{
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	int64_t deadline;
	int st = 0, ret = -1;
	pid_t r;

	if (!s || s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	deadline = mono_ms() + 10000;
	for (;;) {
		r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (mono_ms() >= deadline) {
			fprintf(stderr, "tc_sim_stop: pid %d ignored SIGTERM for 10 s, killing\n", (int)s->pid);
			kill(s->pid, SIGKILL);
			while ((r = waitpid(s->pid, &st, 0)) < 0 && errno == EINTR)
				;
			if (r != s->pid)
				goto out;
			break;
		}
		nanosleep(&nap, NULL);
	}
	if (WIFEXITED(st))
		ret = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		ret = 128 + WTERMSIG(st);
out:
	if (s->out_fd >= 0)
		close(s->out_fd);
	s->out_fd = -1;
	s->pid = -1;
	return ret;
}

/* ---- HTTP ---- */

/* Returns the offset just past the "\r\n\r\n" that ends the header block at p, or 0 when not there yet. */
static size_t head_end(const char *p, size_t n)
{
	const char *e = memmem(p, n, "\r\n\r\n", 4);

	return e ? (size_t)(e - p) + 4 : 0;
}

/* Reads into b until a whole header block is buffered at b->off. Returns its length (with the
 * blank line), or 0 on EOF/error/timeout (*why gets the TC_ code). */
static size_t read_head(int fd, rbuf *b, int64_t deadline, int *why)
{
	size_t e;
	int rc;

	for (;;) {
		e = head_end(b->p ? b->p + b->off : "", b->len - b->off);
		if (e)
			return e;
		if (b->len - b->off > TC_MAX_HEAD) {
			*why = TC_ERROR;
			return 0;
		}
		rc = rb_read(fd, b, 1, deadline);
		if (rc != TC_MSG) {
			*why = rc;
			return 0;
		}
	}
}

/* Returns the status code of a status line "HTTP/1.x NNN ...", or -1. */
static int parse_status(const char *p)
{
	int st;

	if (strncmp(p, "HTTP/", 5) || sscanf(p, "HTTP/%*d.%*d %d", &st) != 1 || st < 100 || st > 999)
		return -1;
	return st;
}

char *tc_http_header(const tc_http_resp *r, const char *name, int nth)
{
	const char *line, *end, *v, *ve;
	size_t nl;

	if (!r || !r->head || !name || nth < 0)
		return NULL;
	nl = strlen(name);
	line = strstr(r->head, "\r\n");   /* skip the status line */
	while (line && line[2]) {
		line += 2;
		end = strstr(line, "\r\n");
		if (!end)
			end = line + strlen(line);
		if ((size_t)(end - line) > nl && line[nl] == ':' && !strncasecmp(line, name, nl) && nth-- == 0) {
			v = line + nl + 1;
			ve = end;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			return strndup(v, (size_t)(ve - v));
		}
		line = *end ? end : NULL;
	}
	return NULL;
}

/* Decodes a chunked body from b (at b->off), reading more as needed, into out.
 * Returns 0, or -1 on a malformed body, EOF, error or timeout. */
static int read_chunked(int fd, rbuf *b, rbuf *out, int64_t deadline)
{
	unsigned long long size;
	char *line, *eol, *endp;
	size_t avail;

	for (;;) {
		/* The size line. */
		while (!(eol = memmem(b->p + b->off, b->len - b->off, "\r\n", 2))) {
			if (b->len - b->off > 4096 || rb_read(fd, b, 1, deadline) != TC_MSG)
				return -1;
		}
		line = b->p + b->off;
		errno = 0;
		size = strtoull(line, &endp, 16);
		if (endp == line || errno || (*endp != ';' && *endp != ' ' && *endp != '\t' && endp != eol))
			return -1;
		b->off = (size_t)(eol + 2 - b->p);
		if (size == 0)
			break;
		if (size > TC_MAX_MSG || out->len + size > TC_MAX_MSG)
			return -1;
		/* The data and its CRLF. */
		while ((avail = b->len - b->off) < size + 2)
			if (rb_read(fd, b, size + 2 - avail, deadline) != TC_MSG)
				return -1;
		if (memcmp(b->p + b->off + size, "\r\n", 2))
			return -1;
		if (rb_add(out, b->p + b->off, size))
			return -1;
		b->off += size + 2;
	}
	/* Trailers, up to the blank line. */
	for (;;) {
		while (!(eol = memmem(b->p + b->off, b->len - b->off, "\r\n", 2))) {
			if (b->len - b->off > TC_MAX_HEAD || rb_read(fd, b, 1, deadline) != TC_MSG)
				return -1;
		}
		line = b->p + b->off;
		b->off = (size_t)(eol + 2 - b->p);
		if (eol == line)
			return 0;
	}
}

/* Reads the body of r (head already parsed) from b/fd into r->body. Returns 0 or -1. */
static int read_body(int fd, rbuf *b, const char *method, tc_http_resp *r, int64_t deadline)
{
	rbuf out = { 0 };
	char *te, *cl, *endp;
	unsigned long long n;
	int rc = -1, got;

	te = tc_http_header(r, "Transfer-Encoding", 0);
	cl = tc_http_header(r, "Content-Length", 0);
	if (!strcasecmp(method, "HEAD") || r->status == 204 || r->status == 304 || r->status < 200) {
		rc = rb_add(&out, "", 0);
	} else if (te && strcasestr(te, "chunked")) {
		rc = rb_add(&out, "", 0) || read_chunked(fd, b, &out, deadline) ? -1 : 0;
	} else if (cl) {
		errno = 0;
		n = strtoull(cl, &endp, 10);
		if (endp == cl || *endp || errno || n > TC_MAX_MSG)
			goto out;
		while (b->len - b->off < n)
			if (rb_read(fd, b, n - (b->len - b->off), deadline) != TC_MSG)
				goto out;
		rc = rb_add(&out, b->p + b->off, n);
	} else {
		/* No length: the body runs until the server closes. */
		while ((got = rb_read(fd, b, 1, deadline)) == TC_MSG)
			;
		if (got != TC_EOF)
			goto out;
		rc = rb_add(&out, b->p + b->off, b->len - b->off);
	}
out:
	free(te);
	free(cl);
	if (rc) {
		rb_free(&out);
		return -1;
	}
	r->body = out.p;
	r->body_len = out.len;
	return 0;
}

int tc_http(int port, const char *method, const char *path, const char *extra_headers,
            const char *body, size_t body_len, tc_http_resp *r, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	rbuf b = { 0 };
	char *req = NULL, clen[48] = "";
	size_t hl;
	int fd, why, st, n;

	memset(r, 0, sizeof *r);
	if (!method || !*method)
		method = "GET";
	if (!path || !*path)
		path = "/";
	if (body || !strcasecmp(method, "POST") || !strcasecmp(method, "PUT") || !strcasecmp(method, "PATCH"))
		snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", body ? body_len : 0);
	n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s%s\r\n",
	             method, path, port, clen, extra_headers ? extra_headers : "");
	if (n < 0)
		return -1;
	fd = connect_until(port, deadline);
	if (fd < 0)
		goto fail;
	if (send_all(fd, req, (size_t)n, deadline) || (body && send_all(fd, body, body_len, deadline)))
		goto fail;
	/* Skip interim 1xx answers (but not 101, which is final). */
	for (;;) {
		hl = read_head(fd, &b, deadline, &why);
		if (!hl)
			goto fail;
		st = parse_status(b.p + b.off);
		if (st < 0)
			goto fail;
		if (st >= 200 || st == 101)
			break;
		b.off += hl;
	}
	r->status = st;
	r->head = strndup(b.p + b.off, hl - 2);
	if (!r->head)
		goto fail;
	b.off += hl;
	if (read_body(fd, &b, method, r, deadline))
		goto fail;
	close(fd);
	free(req);
	rb_free(&b);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(req);
	rb_free(&b);
	tc_http_free(r);
	return -1;
}

void tc_http_free(tc_http_resp *r)
{
	if (!r)
		return;
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof *r);
}

cJSON *tc_ctl(int ctl_port, const char *method, const char *path, const char *json_body, int *status)
{
	tc_http_resp r;
	cJSON *j = NULL;

	if (status)
		*status = 0;
	if (tc_http(ctl_port, method, path, json_body ? "Content-Type: application/json\r\n" : NULL,
	            json_body, json_body ? strlen(json_body) : 0, &r, TC_IO_MS))
		return NULL;
	if (status)
		*status = r.status;
	if (r.body_len)
		j = cJSON_ParseWithLength(r.body, r.body_len);
	tc_http_free(&r);
	return j;
}

/* ---- WebSocket ---- */

/* Writes into out (at least 29 bytes) the Sec-WebSocket-Accept value for key. */
static void ws_accept_for(const char *key, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[128];
	int n;

	n = snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
	out[0] = '\0';
	if (n > 0 && (size_t)n < sizeof buf && EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL) == 1)
		EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

tc_ws *tc_ws_connect(int port, const char *path, const char *extra_headers, int timeout_ms, int *http_status)
{
	int64_t deadline = deadline_of(timeout_ms);
	unsigned char raw[16];
	char key[32], want[64], *req = NULL, *acc = NULL;
	tc_http_resp h = { 0 };
	tc_ws *w;
	size_t hl;
	int n, why;

	if (http_status)
		*http_status = 0;
	w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->fd = -1;
	rand_bytes(raw, sizeof raw);
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
	ws_accept_for(key, want);
	n = asprintf(&req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
	             path && *path ? path : "/", port, key, extra_headers ? extra_headers : "");
	if (n < 0) {
		req = NULL;
		goto fail;
	}
	w->fd = connect_until(port, deadline);
	if (w->fd < 0 || send_all(w->fd, req, (size_t)n, deadline))
		goto fail;
	hl = read_head(w->fd, &w->in, deadline, &why);
	if (!hl)
		goto fail;
	h.status = parse_status(w->in.p);
	if (h.status < 0)
		goto fail;
	if (http_status)
		*http_status = h.status;
	if (h.status != 101)
		goto fail;
	h.head = strndup(w->in.p, hl - 2);
	acc = tc_http_header(&h, "Sec-WebSocket-Accept", 0);
	if (!acc || strcmp(acc, want)) {
		fprintf(stderr, "tc_ws_connect: bad Sec-WebSocket-Accept \"%s\", want \"%s\"\n", acc ? acc : "", want);
		goto fail;
	}
	/* Whatever followed the header block is the first frame data. */
	w->in.off = hl;
	free(acc);
	free(h.head);
	free(req);
	return w;
fail:
	free(acc);
	free(h.head);
	free(req);
	if (w->fd >= 0)
		close(w->fd);
	rb_free(&w->in);
	free(w);
	return NULL;
}

int tc_ws_send_frame(tc_ws *w, int opcode, int fin, const void *p, size_t n)
{
	unsigned char *f, mask[4];
	const unsigned char *src = p;
	size_t hl = 2;
	int rc;

	if (!w || w->fd < 0)
		return -1;
	f = malloc(n + 14);
	if (!f)
		return -1;
	f[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x7f));
	if (n < 126) {
		f[1] = (unsigned char)(0x80 | n);
	} else if (n <= 0xffff) {
		f[1] = 0x80 | 126;
		f[2] = (unsigned char)(n >> 8);
		f[3] = (unsigned char)n;
		hl = 4;
	} else {
		f[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			f[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	rand_bytes(mask, sizeof mask);
	memcpy(f + hl, mask, 4);
	hl += 4;
	for (size_t i = 0; i < n; i++)
		f[hl + i] = src[i] ^ mask[i & 3];
	rc = send_all(w->fd, f, hl + n, deadline_of(TC_IO_MS));
	free(f);
	if ((opcode & 0x0f) == 8)
		w->close_sent = 1;
	return rc;
}

int tc_ws_send_text(tc_ws *w, const char *s, size_t n)
{
	return tc_ws_send_frame(w, 1, 1, s, n);
}

int tc_ws_send_ping(tc_ws *w)
{
	return tc_ws_send_frame(w, 9, 1, "tclient", 7);
}

/* Marks w dead on a protocol violation. Returns TC_ERROR. */
static int ws_bad(tc_ws *w, tc_frame *f, const char *why)
{
	snprintf(w->err, sizeof w->err, "%s", why);
	fprintf(stderr, "tc_ws_recv: protocol error: %s\n", why);
	w->dead = TC_ERROR;
	w->dead_bad = 1;
	f->bad_protocol = 1;
	return TC_ERROR;
}

/*
 * Parses one frame from w->in. Returns TC_MSG or TC_CLOSE with f filled, TC_ERROR on a
 * violation, 0 when *need more bytes must arrive first, or -1 when a frame was consumed
 * without completing anything (a fragment, PING, PONG) and parsing should go on.
 */
static int ws_parse(tc_ws *w, tc_frame *f, size_t *need)
{
	const unsigned char *p = (const unsigned char *)(w->in.p ? w->in.p + w->in.off : "");
	size_t avail = w->in.len - w->in.off, hl = 2;
	uint64_t len;
	int op, fin, code;
	char *reason;

	if (avail < 1) {
		*need = 2;
		return 0;
	}
	/* The first byte alone can already be wrong. */
	fin = p[0] >> 7;
	op = p[0] & 0x0f;
	if (p[0] & 0x70)
		return ws_bad(w, f, "RSV bit set without an extension");
	if ((op >= 3 && op <= 7) || op >= 0xb)
		return ws_bad(w, f, "reserved opcode");
	if (op >= 8 && !fin)
		return ws_bad(w, f, "fragmented control frame");
	if (avail < 2) {
		*need = 2 - avail;
		return 0;
	}
	if (p[1] & 0x80)
		return ws_bad(w, f, "masked frame from the server");
	len = p[1] & 0x7f;
	if (op >= 8 && len > 125)
		return ws_bad(w, f, "control frame longer than 125 bytes");
	if (len == 126)
		hl = 4;
	else if (len == 127)
		hl = 10;
	if (avail < hl) {
		*need = hl - avail;
		return 0;
	}
	if (len == 126) {
		len = (uint64_t)p[2] << 8 | p[3];
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		if (len >> 63)
			return ws_bad(w, f, "64-bit length with the top bit set");
	}
	if (len > TC_MAX_MSG || (op < 8 && w->msg.len + len > TC_MAX_MSG))
		return ws_bad(w, f, "message over the 64 MiB cap");
	if (avail < hl + len) {
		*need = hl + (size_t)len - avail;
		return 0;
	}
	p += hl;
	w->in.off += hl + (size_t)len;
	/* p stays valid until the next read: only rb_reserve moves the buffer. */
	switch (op) {
	case 0:
	case 1:
	case 2:
		if (op == 0 && !w->msg_op)
			return ws_bad(w, f, "continuation frame without a message");
		if (op != 0 && w->msg_op)
			return ws_bad(w, f, "new data frame inside a fragmented message");
		if (op)
			w->msg_op = op;
		if (rb_add(&w->msg, p, (size_t)len))
			return ws_bad(w, f, "out of memory");
		if (!fin)
			return -1;
		f->opcode = w->msg_op;
		f->data = w->msg.p;
		f->len = w->msg.len;
		memset(&w->msg, 0, sizeof w->msg);
		w->msg_op = 0;
		return TC_MSG;
	case 8:
		if (len == 1)
			return ws_bad(w, f, "close frame with a 1-byte payload");
		code = len >= 2 ? (p[0] << 8 | p[1]) : 1005;
		reason = len > 2 ? strndup((const char *)p + 2, (size_t)len - 2) : strdup("");
		if (!reason)
			return ws_bad(w, f, "out of memory");
		f->opcode = 8;
		f->close_code = code;
		f->data = reason;
		f->len = len > 2 ? (size_t)len - 2 : 0;
		if (!w->close_sent) {
			/* Echo the code (an empty close answers an empty one). */
			tc_ws_send_frame(w, 8, 1, p, len >= 2 ? 2 : 0);
			w->close_sent = 1;
		}
		return TC_CLOSE;
	case 9:
		if (!w->close_sent)
			tc_ws_send_frame(w, 10, 1, p, (size_t)len);
		return -1;
	default:
		w->pongs++;
		return -1;
	}
}

int tc_ws_recv(tc_ws *w, int timeout_ms, tc_frame *f)
{
	int64_t deadline = deadline_of(timeout_ms);
	size_t need = 0;
	int rc;

	memset(f, 0, sizeof *f);
	if (!w)
		return TC_ERROR;
	if (w->dead) {
		f->bad_protocol = w->dead_bad;
		return w->dead;
	}
	for (;;) {
		rc = ws_parse(w, f, &need);
		if (rc > 0)
			return rc;
		if (rc < 0)
			continue;
		if (w->in.off == w->in.len)
			w->in.off = w->in.len = 0;
		rc = rb_read(w->fd, &w->in, need, deadline);
		if (rc == TC_MSG)
			continue;
		if (rc == TC_TIMEOUT)
			return rc;
		if (rc == TC_ERROR)
			snprintf(w->err, sizeof w->err, "read: %s", strerror(errno));
		w->dead = rc;
		return rc;
	}
}

void tc_frame_free(tc_frame *f)
{
	if (!f)
		return;
	free(f->data);
	memset(f, 0, sizeof *f);
}

cJSON *tc_ws_recv_json(tc_ws *w, int timeout_ms)
{
	tc_frame f;
	cJSON *j = NULL;

	if (tc_ws_recv(w, timeout_ms, &f) == TC_MSG)
		j = cJSON_ParseWithLength(f.data, f.len);
	tc_frame_free(&f);
	return j;
}

int tc_ws_pongs(const tc_ws *w)
{
	return w ? w->pongs : 0;
}

int tc_ws_fd(const tc_ws *w)
{
	return w ? w->fd : -1;
}

const char *tc_ws_error(const tc_ws *w)
{
	return w ? w->err : "";
}

void tc_ws_close(tc_ws *w, int code)
{
	unsigned char c[2];
	char junk[65536];
	int64_t deadline;
	ssize_t k;

	if (!w)
		return;
	if (code > 0 && !w->dead) {
		if (!w->close_sent) {
			c[0] = (unsigned char)(code >> 8);
			c[1] = (unsigned char)code;
			tc_ws_send_frame(w, 8, 1, c, 2);
		}
		/* Discard until the server closes TCP, so it gets our FIN, not an RST for unread data. */
		deadline = mono_ms() + 1000;
		while (wait_fd(w->fd, POLLIN, deadline) == 1) {
			k = recv(w->fd, junk, sizeof junk, MSG_DONTWAIT);
			if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
				break;
		}
	} else {
		/* Drop what already arrived, for the same reason. */
		while ((k = recv(w->fd, junk, sizeof junk, MSG_DONTWAIT)) > 0 || (k < 0 && errno == EINTR))
			;
	}
	close(w->fd);
	rb_free(&w->in);
	rb_free(&w->msg);
	free(w);
}

cJSON *tc_jget(const cJSON *o, const char *path)
{
	char buf[256], *save = NULL, *tok;
	const cJSON *c = o;

	snprintf(buf, sizeof buf, "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && c; tok = strtok_r(NULL, ".", &save)) {
		if (cJSON_IsArray(c))
			c = cJSON_GetArrayItem(c, atoi(tok));
		else
			c = cJSON_GetObjectItemCaseSensitive(c, tok);
	}
	return (cJSON *)c;
}

const char *tc_jstr(const cJSON *o, const char *path)
{
	const cJSON *v = tc_jget(o, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double tc_jnum(const cJSON *o, const char *path)
{
	const cJSON *v = tc_jget(o, path);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

cJSON *tc_lwp_await(tc_ws *w, const char *mid, int ms, int ack_pushes)
{
	int64_t end = util_mono_us() + (int64_t)ms * 1000;

	while (util_mono_us() < end) {
		cJSON *f = tc_ws_recv_json(w, (int)((end - util_mono_us()) / 1000) + 1);
		const char *m = tc_jstr(f, "headers.mid");

		if (!f)
			return NULL;
		if (!tc_jstr(f, "lwp") && m && !strcmp(m, mid))
			return f;
		if (ack_pushes && tc_jstr(f, "lwp")) {
			char *a = lwp_ack(tc_jget(f, "headers"));

			if (a)
				tc_ws_send_text(w, a, strlen(a));
			free(a);
		}
		cJSON_Delete(f);
	}
	return NULL;
}

cJSON *tc_mtop(int port, const char *ck, const char *api, const char *data, const char *tk, int *status,
	       char **set_cookie)
{
	char token[64], t[32], sign[33], path[1024], hdr[1200];
	sbuf body = {0};
	tc_http_resp r;
	cJSON *env = NULL;

	cookie_h5_token(ck, token, sizeof token);
	snprintf(t, sizeof t, "%lld", (long long)util_now_ms());
	sign_mtop(tk ? tk : token, t, SIGN_MTOP_APPKEY, data, strlen(data), sign);
	snprintf(path, sizeof path,
		 "/h5/%s/1.0/?jsv=2.7.2&appKey=%s&t=%s&sign=%s&v=1.0&type=originaljson"
		 "&accountSite=xianyu&dataType=json&timeout=20000&api=%s&sessionOption=AutoLoginOnly",
		 api, SIGN_MTOP_APPKEY, t, sign, api);
	sbuf_adds(&body, "data=");
	util_urlencode(&body, data, strlen(data));
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
		 "Origin: https://www.goofish.com\r\n", ck);
	if (set_cookie)
		*set_cookie = NULL;
	if (tc_http(port, "POST", path, hdr, body.p, body.len, &r, 3000) == 0) {
		if (status)
			*status = r.status;
		env = cJSON_ParseWithLength(r.body, r.body_len);
		if (set_cookie)
			*set_cookie = tc_http_header(&r, "Set-Cookie", 0);
		tc_http_free(&r);
	}
	sbuf_free(&body);
	return env;
}
