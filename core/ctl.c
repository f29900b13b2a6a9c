/* SPDX-License-Identifier: MIT */
/*
 * core/ctl.c - the local control socket (core/ctl.h): the server on the lws
 * loop and the client of `shopkeep status` / `shopkeep ctl`.
 *
 * The server makes its listening socket itself instead of asking lws for a
 * unix-socket vhost (LWS_SERVER_OPTION_UNIX_SOCK): lws 4.1.6 unlinks whatever
 * is at the path before it binds, so a second process of the account would
 * silently take the socket of a live one, and it makes the file 0660. Here
 * a path where another process answers is refused, a stale socket file (a
 * process killed with SIGKILL leaves its file) is replaced, anything else
 * there is left alone, and the file is made 0600 (fchmod before bind). The
 * check, unlink and bind run under flock() on the socket's folder, so two
 * processes starting at once cannot both take the path.
 *
 * lws polls the listening fd as an adopted raw file: when it is readable,
 * ctl_accept accepts, checks the peer's credentials (SO_PEERCRED: our uid or
 * root) and adopts the connection as a raw socket. A connection sends
 * request lines (each at most CTL_MAX_LINE bytes) and gets one answer line
 * per request, from api_control_text; it is closed after CTL_IDLE_S without
 * a request. A line that is too long gets an error answer, then the
 * connection's write side is shut and the rest it sends is read and dropped
 * until it closes (so the peer sees the answer, not a reset); a request
 * that is not JSON gets the API's error answer and the connection goes on.
 * Both are counted and logged.
 */
#include "ctl.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_CONNS_MAX 8
#define CTL_IDLE_S 30
#define CTL_DRAIN_S 5
#define CTL_OUT_MAX (32 * 1024 * 1024)   /* answers queued to a peer that does not read them */
#define CTL_ANSWER_MAX (64 * 1024 * 1024)

#define CTL_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* One connection. */
typedef struct {
	sbuf in;                 /* the request line so far */
	sbuf out;                /* answer lines not written yet */
	int closing;             /* a line was too long: 1 answer, 2 then drain until closed */
	int open;                /* counted in nconns */
} ctl_conn;

struct ctl {
	struct lws_vhost *vh;
	api_ctx *a;              /* answers requests: the page's, or own */
	api_ctx *own;
	char path[CTL_PATH_MAX];
	dev_t dev;               /* the socket file made, to remove only that one */
	ino_t ino;
	int lfd;                 /* the listening socket (lws's once adopted) */
	int nconns;
	int64_t conns, requests, bad, too_long, refused;
	struct lws_protocols protocols[2];
};

/* An answer of the envelope that the API did not make: request_id null,
 * success false, the error why. Malloc'd, NULL on OOM. */
static char *ctl_error_json(const char *why)
{
	cJSON *j = cJSON_CreateObject();
	char *s;

	cJSON_AddNullToObject(j, "request_id");
	cJSON_AddBoolToObject(j, "success", 0);
	cJSON_AddNullToObject(j, "data");
	cJSON_AddStringToObject(j, "error", why);
	cJSON_AddStringToObject(j, "kind", "reply");
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

/* Queues one answer line (s, not taken) and asks to write. */
static void ctl_queue(struct lws *wsi, ctl_conn *cc, const char *s)
{
	sbuf_adds(&cc->out, s);
	sbuf_adds(&cc->out, "\n");
	lws_callback_on_writable(wsi);
}

/* Writes an error line to a connection that is not lws's (refused before
 * adoption), as far as the socket takes it at once, and closes it. */
static void ctl_refuse(int fd, const char *why)
{
	char *s = ctl_error_json(why);
	sbuf b = { 0 };

	sbuf_adds(&b, s ? s : "");
	sbuf_adds(&b, "\n");
	if (s && !b.oom)
		(void)!send(fd, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	sbuf_free(&b);
	free(s);
	close(fd);
}

/* Answers the complete request line in cc->in. */
static void ctl_line(ctl *c, struct lws *wsi, ctl_conn *cc)
{
	size_t n = cc->in.len;
	char *ans;
	int status = 500;

	while (n && (cc->in.p[n - 1] == '\r' || cc->in.p[n - 1] == ' ' || cc->in.p[n - 1] == '\t'))
		n--;
	if (!n) {
		sbuf_reset(&cc->in);
		return;          /* blank lines are not requests */
	}
	c->requests++;
	ans = api_control_text(c->a, cc->in.p, n, &status);
	if (status >= 400) {
		c->bad++;
		log_info("ctl", "a request was answered with an error (%d); %lld of %lld so far", status,
			 (long long)c->bad, (long long)c->requests);
	}
	if (ans) {
		ctl_queue(wsi, cc, ans);
		free(ans);
	} else {
		ctl_queue(wsi, cc, "{\"request_id\":null,\"success\":false,\"data\":null,\"error\":\"out of memory\","
			  "\"kind\":\"reply\"}");
	}
	sbuf_reset(&cc->in);
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, CTL_IDLE_S);
}

/* Bytes in from a connection: answers each complete line. Returns 0, or -1
 * to close it. */
static int ctl_rx(ctl *c, struct lws *wsi, ctl_conn *cc, const char *in, size_t len)
{
	size_t i = 0;

	if (cc->closing)
		return 0;        /* draining after a line too long */
	while (i < len) {
		const char *nl = memchr(in + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (in + i)) : len - i;

		if (cc->in.len + n > CTL_MAX_LINE) {
			char *e = ctl_error_json("the request is longer than 64 KiB (one JSON object per line); "
						 "the connection is closed");

			c->too_long++;
			log_warn("ctl", "a request longer than %d bytes: answered with an error, connection closed "
				 "(%lld so far)", CTL_MAX_LINE, (long long)c->too_long);
			if (e)
				ctl_queue(wsi, cc, e);
			free(e);
			sbuf_free(&cc->in);
			cc->closing = 1;
			return 0;
		}
		sbuf_add(&cc->in, in + i, n);
		i += n;
		if (!nl)
			break;
		i++;
		ctl_line(c, wsi, cc);
	}
	if (cc->in.oom || cc->out.oom) {
		log_warn("ctl", "out of memory: a connection is closed");
		return -1;
	}
	if (cc->out.len > CTL_OUT_MAX) {
		log_warn("ctl", "a peer does not read its answers (%zu bytes queued): closed", cc->out.len);
		return -1;
	}
	return 0;
}

/* The connection may write: its queued answers, in one lws_write (lws keeps
 * what the socket does not take at once and sends it first). Returns 0, or
 * -1 to close. */
static int ctl_writeable(ctl *c, struct lws *wsi, ctl_conn *cc)
{
	if (cc->out.len) {
		unsigned char *buf = malloc(LWS_PRE + cc->out.len);
		size_t n = cc->out.len;
		int w;

		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, cc->out.p, n);
		/* an answer of this loop turn follows its commit (session_barrier) */
		api_barrier(c->a);
		w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_RAW);
		free(buf);
		if (w < (int)n)
			return -1;
		sbuf_reset(&cc->out);
	}
	if (cc->closing == 1) {
		if (lws_partial_buffered(wsi)) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		/* The answer is out: end our side and drop what the peer still sends. */
		shutdown(lws_get_socket_fd(wsi), SHUT_WR);
		cc->closing = 2;
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, CTL_DRAIN_S);
	}
	return 0;
}

/* The listening socket is readable: accepts what waits, refuses peers of
 * another uid and connections over CTL_CONNS_MAX, hands the rest to lws. */
static void ctl_accept(ctl *c)
{
	for (int i = 0; i < 16; i++) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cr;
		socklen_t cl = sizeof cr;
		char why[200];
		lws_sock_file_fd_type u;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_warn("ctl", "accept on %s: %s", c->path, strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) || (cr.uid != geteuid() && cr.uid != 0)) {
			c->refused++;
			log_warn("ctl", "refused a connection from uid %d (pid %d): only uid %d and root may use the "
				 "control socket (%lld refused so far)", (int)cr.uid, (int)cr.pid, (int)geteuid(),
				 (long long)c->refused);
			snprintf(why, sizeof why, "refused: only uid %d (the account's) and root may use this socket",
				 (int)geteuid());
			ctl_refuse(fd, why);
			continue;
		}
		if (c->nconns >= CTL_CONNS_MAX) {
			log_warn("ctl", "refused a connection: %d are open already", CTL_CONNS_MAX);
			ctl_refuse(fd, "busy: too many control connections are open; try again");
			continue;
		}
		u.sockfd = fd;
		/* on failure lws has closed fd */
		if (!lws_adopt_descriptor_vhost(c->vh, LWS_ADOPT_SOCKET, u, "sk-ctl", NULL))
			log_warn("ctl", "a connection could not be taken (lws: out of memory or fds)");
	}
}

static int ctl_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	ctl *c = vh ? lws_get_vhost_user(vh) : NULL;
	ctl_conn *cc = user;

	if (!c)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		ctl_accept(c);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		c->lfd = -1;     /* lws closes it */
		return 0;
	case LWS_CALLBACK_RAW_ADOPT:
		if (!cc)
			return -1;
		cc->open = 1;
		c->nconns++;
		c->conns++;
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, CTL_IDLE_S);
		return 0;
	case LWS_CALLBACK_RAW_RX:
		return cc ? ctl_rx(c, wsi, cc, in, len) : -1;
	case LWS_CALLBACK_RAW_WRITEABLE:
		return cc ? ctl_writeable(c, wsi, cc) : -1;
	case LWS_CALLBACK_RAW_CLOSE:
		if (cc) {
			c->nconns -= cc->open;
			cc->open = 0;
			sbuf_free(&cc->in);
			sbuf_free(&cc->out);
		}
		return 0;
	default:
		return 0;
	}
}

/* Whether a process accepts connections on the socket at path: 1 yes, 0 no
 * (nothing there, or a stale socket), -1 cannot tell (errno). */
static int ctl_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r, e;

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* Non-blocking: a live process that does not accept (its backlog full) must not hang us. */
	r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	e = errno;
	close(fd);
	if (!r || e == EAGAIN)
		return 1;
	if (e == ECONNREFUSED || e == ENOENT)
		return 0;
	errno = e;
	return -1;
}

/* Makes c->lfd listen at c->path (see the top of the file). Returns 0, -1
 * when it cannot (logged), -2 when a live process holds the path (logged). */
static int ctl_listen(ctl *c, const char *account)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[CTL_PATH_MAX], *slash;
	struct stat st;
	int dfd, fd = -1, r = -1, alive;

	snprintf(dir, sizeof dir, "%s", c->path);
	if (!(slash = strrchr(dir, '/')))
		snprintf(dir, sizeof dir, ".");
	else
		slash[slash == dir] = '\0';   /* "/x.sock": the folder is "/" */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_err("ctl", "control.socket %s: its folder: %s", c->path, strerror(errno));
		return -1;
	}
	if (flock(dfd, LOCK_EX)) {
		log_err("ctl", "control.socket %s: cannot lock its folder: %s", c->path, strerror(errno));
		close(dfd);
		return -1;
	}
	if (!lstat(c->path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("ctl", "control.socket %s exists and is not a socket: left alone (remove it, or set "
				"control.socket to another path)", c->path);
			goto out;
		}
		if ((alive = ctl_alive(c->path)) > 0) {
			log_err("ctl", "another process answers on %s: account %s is running already; this one stops "
				"(stop the other first)", c->path, account);
			r = -2;
			goto out;
		}
		if (alive < 0) {
			log_err("ctl", "control.socket %s: cannot tell whether a process answers there: %s", c->path,
				strerror(errno));
			goto out;
		}
		if (unlink(c->path) && errno != ENOENT) {
			log_err("ctl", "control.socket %s: cannot remove the stale socket: %s", c->path, strerror(errno));
			goto out;
		}
		log_info("ctl", "replaced the stale control socket %s (left by a process that ended)", c->path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		log_err("ctl", "control.socket: socket: %s", strerror(errno));
		goto out;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	/* The file is made with the socket's mode less the umask (Linux): 0600
	 * from the start, without changing the umask, which is process-wide
	 * (the host's worker threads make files too). The chmod after is for
	 * certainty; the peer check in ctl_accept is the gate either way. */
	r = fchmod(fd, 0600) ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof sa);
	if (r || chmod(c->path, 0600) || listen(fd, 8) || lstat(c->path, &st)) {
		log_err("ctl", "control.socket %s: %s", c->path, strerror(errno));
		if (!r)
			unlink(c->path);
		close(fd);
		r = -1;
		goto out;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->lfd = fd;
	r = 0;
out:
	flock(dfd, LOCK_UN);
	close(dfd);
	return r;
}

/* Removes the socket file if it is still the one ctl_listen made. */
static void ctl_unlink(ctl *c)
{
	struct stat st;

	if (c->ino && !lstat(c->path, &st) && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	c->ino = 0;
}

int ctl_start(ctl **out, struct lws_context *ctx, api_ctx *a, const api_env *env)
{
	const config *cfg = env->cfg;
	struct lws_context_creation_info info;
	lws_sock_file_fd_type u;
	ctl *c;
	int r;

	*out = NULL;
	if (!cfg->ctl_socket) {
		log_info("ctl", "control.socket is off: shopkeep status cannot reach this process");
		return 0;
	}
	if (strlen(cfg->ctl_socket) >= CTL_PATH_MAX) {
		log_err("ctl", "control.socket %s is longer than a unix socket's path can be (%zu bytes)",
			cfg->ctl_socket, CTL_PATH_MAX - 1);
		return 0;
	}
	if (!(c = calloc(1, sizeof *c))) {
		log_err("ctl", "out of memory: no control socket");
		return 0;
	}
	c->lfd = -1;
	memcpy(c->path, cfg->ctl_socket, strlen(cfg->ctl_socket) + 1);
	if ((r = ctl_listen(c, cfg->account_id))) {
		free(c);
		return r == -2 ? -1 : 0;
	}
	if (!a && !(a = c->own = api_new(env)))
		goto fail;
	c->a = a;
	c->protocols[0] = (struct lws_protocols){ "sk-ctl", ctl_callback, sizeof(ctl_conn), 0, 0, NULL, 0 };
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.vhost_name = "ctl";
	info.protocols = c->protocols;
	info.user = c;
	if (!(c->vh = lws_create_vhost(ctx, &info)))
		goto fail;
	u.filefd = c->lfd;
	if (!lws_adopt_descriptor_vhost(c->vh, LWS_ADOPT_RAW_FILE_DESC, u, "sk-ctl", NULL)) {
		c->lfd = -1;     /* lws may have closed it: a leak is better than closing another fd */
		goto fail;
	}
	log_info("ctl", "the control socket is %s (shopkeep status --config FILE)", c->path);
	*out = c;
	return 0;
fail:
	log_err("ctl", "control.socket %s: cannot serve it (out of memory): no control socket", c->path);
	ctl_unlink(c);
	if (c->lfd >= 0)
		close(c->lfd);
	api_free(c->own);
	free(c);
	return 0;
}

void ctl_free(ctl *c)
{
	if (!c)
		return;
	ctl_unlink(c);
	if (c->lfd >= 0)
		close(c->lfd);   /* only if lws never closed it */
	if (c->requests || c->refused || c->too_long)
		log_info("ctl", "control socket: %lld connections, %lld requests (%lld answered with an error, %lld too "
			 "long), %lld peers refused", (long long)c->conns, (long long)c->requests, (long long)c->bad,
			 (long long)c->too_long, (long long)c->refused);
	api_free(c->own);
	free(c);
}

/* ---- the client ---------------------------------------------------------------------------- */

/* Waits until fd is ready for ev or the deadline (monotonic ms) passes.
 * Returns 1 ready, 0 timed out, -1 on an error. */
static int ctl_wait(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - util_mono_us() / 1000;
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Whether uid may own the control socket: see ctl_check_owner. */
static int ctl_owner_fine(uid_t uid, uid_t account_uid)
{
	return uid == 0 || uid == geteuid() || (account_uid != (uid_t)-1 && uid == account_uid);
}

int ctl_check_owner(const char *path, uid_t account_uid, char *err, size_t errlen)
{
	struct stat l, st;

	if (lstat(path, &l))
		return 0;
	if (!ctl_owner_fine(l.st_uid, account_uid)) {
		snprintf(err, errlen, "%s belongs to uid %d, not to you (uid %d), root or the account's user: not asked "
			 "(whoever made it would read the request and write the answer); remove it, or set "
			 "control.socket to a path in a folder only the account's user can write", path, (int)l.st_uid,
			 (int)geteuid());
		return -1;
	}
	if (S_ISLNK(l.st_mode) && !stat(path, &st) && !ctl_owner_fine(st.st_uid, account_uid)) {
		snprintf(err, errlen, "%s leads to a socket of uid %d, not yours (uid %d), root's or the account's "
			 "user's: not asked; remove it, or set control.socket to a path in a folder only the "
			 "account's user can write", path, (int)st.st_uid, (int)geteuid());
		return -1;
	}
	return 0;
}

int ctl_call(const char *path, const char *request, int timeout_ms, char **answer, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = util_mono_us() / 1000 + timeout_ms;
	struct ucred cr;
	socklen_t cl = sizeof cr;
	sbuf req = { 0 }, in = { 0 };
	size_t off = 0;
	int fd, rc = CTL_FAIL, w;
	char *nl;

	*answer = NULL;
	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "%s is longer than a unix socket's path can be", path);
		return CTL_FAIL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return CTL_FAIL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		int e = errno;

		if (e == ENOENT || e == ENOTDIR) {
			snprintf(err, errlen, "there is no control socket %s", path);
			rc = CTL_NOT_RUNNING;
		} else if (e == ECONNREFUSED) {
			snprintf(err, errlen, "nothing answers on %s (left by a process that ended)", path);
			rc = CTL_NOT_RUNNING;
		} else if (e == EACCES || e == EPERM) {
			snprintf(err, errlen, "%s: permission denied (only the account's user and root may use it)", path);
		} else if (e == EAGAIN) {
			snprintf(err, errlen, "%s: the process does not take connections now (too many waiting)", path);
		} else {
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		}
		close(fd);
		return rc;
	}
	/* Talk only to the account's user or root (the path may be in a shared folder). */
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) && geteuid() != 0 && cr.uid != geteuid() && cr.uid != 0) {
		snprintf(err, errlen, "%s is served by uid %d, not by you (uid %d) or root: not asked", path, (int)cr.uid,
			 (int)geteuid());
		close(fd);
		return CTL_FAIL;
	}
	sbuf_adds(&req, request);
	sbuf_adds(&req, "\n");
	if (req.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (off < req.len) {
		if ((w = ctl_wait(fd, POLLOUT, deadline)) <= 0) {
			if (w)
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
			else
				snprintf(err, errlen, "%s: the request was not taken within %d ms", path, timeout_ms);
			goto out;
		}
		ssize_t n = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "%s: sending the request: %s", path, strerror(errno));
			goto out;
		}
		if (n > 0)
			off += (size_t)n;
	}
	while (!(nl = in.len ? memchr(in.p, '\n', in.len) : NULL)) {
		char buf[65536];
		ssize_t n;

		if ((w = ctl_wait(fd, POLLIN, deadline)) <= 0) {
			if (w)
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
			else
				snprintf(err, errlen, "no answer on %s within %d ms", path, timeout_ms);
			goto out;
		}
		n = recv(fd, buf, sizeof buf, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: the process closed the connection without an answer%s%s", path,
				 n ? ": " : "", n ? strerror(errno) : "");
			goto out;
		}
		sbuf_add(&in, buf, (size_t)n);
		if (in.oom || in.len > CTL_ANSWER_MAX) {
			snprintf(err, errlen, "%s: the answer is too large", path);
			goto out;
		}
	}
	*nl = '\0';
	in.len = (size_t)(nl - in.p);
	*answer = sbuf_take(&in);
	rc = *answer ? CTL_OK : CTL_FAIL;
	if (rc)
		snprintf(err, errlen, "out of memory");
out:
	close(fd);
	sbuf_free(&req);
	sbuf_free(&in);
	return rc;
}
