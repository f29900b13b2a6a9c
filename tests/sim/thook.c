/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/thook.c - the webhook receiver of the tests (see thook.h): one
 * thread polls the listening socket, the connections and a pipe that wakes
 * it for thook_stop / thook_start / thook_free, which it carries out and
 * acknowledges. Requests are parsed when their headers and Content-Length
 * bytes of body are in; chunked bodies are not supported (the bot never
 * sends one).
 */
#include "thook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define THOOK_CONNS 32
#define THOOK_MAX_REQ (2u << 20)

enum { CMD_NONE, CMD_STOP, CMD_START, CMD_QUIT };

typedef struct {
	int fd;
	char *buf;
	size_t len, cap;
	int done;                /* recorded; waiting (answer 0) for thook_stop */
} thook_conn;

struct thook {
	int port;
	int lfd;                 /* -1 while stopped */
	int wake[2];
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int cmd, cmd_rc, cmd_seq, ack_seq;
	int answer;
	thook_req **reqs;
	int nreqs, capreqs;
	thook_conn conns[THOOK_CONNS];
};

/* A listening socket on 127.0.0.1:port (SO_REUSEADDR: the same port again
 * after a stop), or -1; *port gets the real port. */
static int thook_listen(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)*port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &n)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void thook_conn_close(thook_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

static char *thook_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Writes all of s to fd (blocking briefly on a full socket). */
static void thook_write(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, 100);
			continue;
		}
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Parses c's buffer when a whole request is in: records it, answers it.
 * Returns 1 when the connection is finished (close it), 0 to keep it. */
static int thook_try(thook *h, thook_conn *c)
{
	char *end = c->buf ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL, *line, *sp1, *sp2, *hl;
	size_t hlen, clen = 0;
	thook_req *r;
	int answer;

	if (!end)
		return c->len > THOOK_MAX_REQ;
	hlen = (size_t)(end - c->buf) + 4;
	line = c->buf;
	hl = memmem(line, hlen, "\r\n", 2);
	for (char *s = hl + 2; s < end;) {
		char *e = memmem(s, (size_t)(end + 2 - s), "\r\n", 2);

		if (!e)
			break;
		if (e - s > 15 && !strncasecmp(s, "content-length:", 15))
			clen = strtoul(s + 15, NULL, 10);
		s = e + 2;
	}
	if (c->len < hlen + clen)
		return 0;
	if (!(r = calloc(1, sizeof *r)))
		return 1;
	sp1 = memchr(line, ' ', (size_t)(hl - line));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(hl - sp1 - 1)) : NULL;
	r->method = thook_strndup(line, sp1 ? (size_t)(sp1 - line) : 0);
	r->path = sp2 ? thook_strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1)) : thook_strndup("", 0);
	r->headers = thook_strndup(hl + 2, (size_t)(end + 2 - (hl + 2)));
	r->body = thook_strndup(c->buf + hlen, clen);
	r->len = clen;
	pthread_mutex_lock(&h->mu);
	answer = h->answer;
	r->status = answer > 0 ? answer : 0;
	if (h->nreqs == h->capreqs) {
		int cap = h->capreqs ? h->capreqs * 2 : 16;
		thook_req **g = realloc(h->reqs, (size_t)cap * sizeof *g);

		if (g) {
			h->reqs = g;
			h->capreqs = cap;
		}
	}
	if (h->nreqs < h->capreqs)
		h->reqs[h->nreqs++] = r;
	else
		thook_req_free(r);
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	c->done = 1;
	if (answer > 0) {
		char resp[200];
		int n = snprintf(resp, sizeof resp, "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\nContent-Length: 2\r\n"
				 "Connection: close\r\n\r\nok", answer, answer < 300 ? "OK" : "Not OK",
				 answer >= 300 && answer < 400 ? "Location: /redirected\r\n" : "");

		thook_write(c->fd, resp, (size_t)n);
		return 1;
	}
	return answer < 0;
}

static void thook_read(thook *h, thook_conn *c)
{
	char buf[8192];
	ssize_t n = read(c->fd, buf, sizeof buf);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		thook_conn_close(c);
		return;
	}
	if (n < 0 || c->done)
		return;
	if (c->len + (size_t)n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16384;
		char *g;

		while (cap < c->len + (size_t)n + 1)
			cap *= 2;
		if (!(g = realloc(c->buf, cap))) {
			thook_conn_close(c);
			return;
		}
		c->buf = g;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, buf, (size_t)n);
	c->len += (size_t)n;
	if (thook_try(h, c))
		thook_conn_close(c);
}

/* Carries out a command from another thread (under h->mu). */
static int thook_cmd(thook *h, int cmd)
{
	switch (cmd) {
	case CMD_STOP:
	case CMD_QUIT:
		if (h->lfd >= 0)
			close(h->lfd);
		h->lfd = -1;
		for (int i = 0; i < THOOK_CONNS; i++)
			if (h->conns[i].fd >= 0)
				thook_conn_close(&h->conns[i]);
		return 0;
	case CMD_START:
		if (h->lfd < 0) {
			int port = h->port;

			h->lfd = thook_listen(&port);
		}
		return h->lfd >= 0 ? 0 : -1;
	}
	return 0;
}

static void *thook_main(void *arg)
{
	thook *h = arg;

	for (;;) {
		struct pollfd p[THOOK_CONNS + 2];
		int map[THOOK_CONNS + 2], n = 0, quit = 0;

		pthread_mutex_lock(&h->mu);
		if (h->cmd != CMD_NONE) {
			quit = h->cmd == CMD_QUIT;
			h->cmd_rc = thook_cmd(h, h->cmd);
			h->cmd = CMD_NONE;
			h->ack_seq = h->cmd_seq;
			pthread_cond_broadcast(&h->cv);
		}
		pthread_mutex_unlock(&h->mu);
		if (quit)
			return NULL;
		p[n] = (struct pollfd){ .fd = h->wake[0], .events = POLLIN };
		map[n++] = -2;
		if (h->lfd >= 0) {
			p[n] = (struct pollfd){ .fd = h->lfd, .events = POLLIN };
			map[n++] = -1;
		}
		for (int i = 0; i < THOOK_CONNS; i++)
			if (h->conns[i].fd >= 0) {
				p[n] = (struct pollfd){ .fd = h->conns[i].fd, .events = POLLIN };
				map[n++] = i;
			}
		if (poll(p, (nfds_t)n, 200) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			if (map[k] == -2) {
				char b[16];

				while (read(h->wake[0], b, sizeof b) > 0)
					;
			} else if (map[k] == -1) {
				int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;

				for (i = 0; fd >= 0 && i < THOOK_CONNS && h->conns[i].fd >= 0; i++)
					;
				if (fd >= 0 && i == THOOK_CONNS)
					close(fd);
				else if (fd >= 0)
					h->conns[i].fd = fd;
			} else if (h->conns[map[k]].fd >= 0) {
				thook_read(h, &h->conns[map[k]]);
			}
		}
	}
}

/* Hands cmd to the thread and waits for it to be done; its result. */
static int thook_send(thook *h, int cmd)
{
	int seq, rc;

	pthread_mutex_lock(&h->mu);
	h->cmd = cmd;
	seq = ++h->cmd_seq;
	if (write(h->wake[1], "x", 1) < 0) {
		/* the pipe is full: the thread is awake anyway */
	}
	while (h->ack_seq < seq)
		pthread_cond_wait(&h->cv, &h->mu);
	rc = h->cmd_rc;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

thook *thook_new(int port)
{
	thook *h = calloc(1, sizeof *h);

	if (!h)
		return NULL;
	for (int i = 0; i < THOOK_CONNS; i++)
		h->conns[i].fd = -1;
	h->answer = 200;
	h->port = port;
	if ((h->lfd = thook_listen(&h->port)) < 0) {
		free(h);
		return NULL;
	}
	if (pipe2(h->wake, O_NONBLOCK | O_CLOEXEC)) {
		close(h->lfd);
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->th, NULL, thook_main, h)) {
		close(h->lfd);
		close(h->wake[0]);
		close(h->wake[1]);
		free(h);
		return NULL;
	}
	return h;
}

int thook_port(const thook *h)
{
	return h->port;
}

void thook_stop(thook *h)
{
	thook_send(h, CMD_STOP);
}

int thook_start(thook *h)
{
	return thook_send(h, CMD_START);
}

void thook_answer(thook *h, int status)
{
	pthread_mutex_lock(&h->mu);
	h->answer = status;
	pthread_mutex_unlock(&h->mu);
}

int thook_count(thook *h)
{
	int n;

	pthread_mutex_lock(&h->mu);
	n = h->nreqs;
	pthread_mutex_unlock(&h->mu);
	return n;
}

int thook_wait(thook *h, int n, int timeout_ms)
{
	struct timespec dl;
	int ok;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->mu);
	while (h->nreqs < n && pthread_cond_timedwait(&h->cv, &h->mu, &dl) == 0)
		;
	ok = h->nreqs >= n;
	pthread_mutex_unlock(&h->mu);
	return ok;
}

thook_req *thook_get(thook *h, int i)
{
	thook_req *c = NULL, *r;

	pthread_mutex_lock(&h->mu);
	if (i >= 0 && i < h->nreqs && (c = calloc(1, sizeof *c))) {
		r = h->reqs[i];
		c->method = strdup(r->method ? r->method : "");
		c->path = strdup(r->path ? r->path : "");
		c->headers = strdup(r->headers ? r->headers : "");
		c->body = thook_strndup(r->body ? r->body : "", r->len);
		c->len = r->len;
		c->status = r->status;
	}
	pthread_mutex_unlock(&h->mu);
	return c;
}

void thook_req_free(thook_req *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->path);
	free(r->headers);
	free(r->body);
	free(r);
}

char *thook_header(const thook_req *r, const char *name)
{
	size_t nl = strlen(name);

	for (const char *s = r && r->headers ? r->headers : ""; *s;) {
		const char *e = strstr(s, "\r\n");
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len > nl && s[nl] == ':' && !strncasecmp(s, name, nl)) {
			const char *v = s + nl + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			return thook_strndup(v, len - (size_t)(v - s));
		}
		s += len + (e ? 2 : 0);
	}
	return NULL;
}

void thook_free(thook *h)
{
	if (!h)
		return;
	thook_send(h, CMD_QUIT);
	pthread_join(h->th, NULL);
	close(h->wake[0]);
	close(h->wake[1]);
	for (int i = 0; i < h->nreqs; i++)
		thook_req_free(h->reqs[i]);
	free(h->reqs);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}
