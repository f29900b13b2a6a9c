/* SPDX-License-Identifier: MIT */
/*
 * tests/fakehost/fakehost.c - the recording backend under the real host
 * (see fakehost.h). Records are allocated one by one and never moved, so the
 * pointers fh_*_at return stay valid until fh_free; their strings live in a
 * pool freed with the fake host.
 */
#include "fakehost.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "feed.h"
#include "store.h"

/* A growable array of pointers. */
typedef struct {
	void **v;
	size_t n, cap;
} fh_vec;

typedef struct {
	fh_mtop pub;
	host_mtop_done done;
	void *ctx;
} fh_mtop_rec;

typedef struct {
	fh_http pub;
	host_http_done done;
	void *ctx;
} fh_http_rec;

typedef struct {
	fh_chatopen pub;
	host_chat_done done;
	void *ctx;
} fh_chat_rec;

struct fh {
	store *st;
	host *h;
	cJSON *sections;
	char *rules_path;
	host_config cfg;
	char keydir[64], keyfile[96];   /* the account's key file (sk_seal), made on first use */
	int unloaded;
	int64_t now, mono, wake;
	int state;
	int send_rc;
	int http_fail;
	unsigned long nsent, nmsg, nmid;
	size_t send_base, log_base;
	fh_vec sends, logs, mtops, https, chats, pool;
	sbuf err;
	int work_pending;           /* set by wake_loop from a worker thread */
	fh *ctl_peer;               /* sk_control_call's running process (fh_control_peer) */
};

/* Test code: running out of memory ends the test loudly. */
static void *fh_xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		fprintf(stderr, "fakehost: out of memory\n");
		abort();
	}
	return p;
}

static void fh_vec_push(fh_vec *v, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void **nv = realloc(v->v, cap * sizeof *nv);

		if (!nv) {
			fprintf(stderr, "fakehost: out of memory\n");
			abort();
		}
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = p;
}

/* Frees every element, then the array. */
static void fh_vec_free(fh_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	memset(v, 0, sizeof *v);
}

/* Returns a copy of s (NULL: "") owned by the fake host until fh_free. */
static const char *fh_keep(fh *f, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *c = fh_xmalloc(n + 1);

	if (n)
		memcpy(c, s, n);
	fh_vec_push(&f->pool, c);
	return c;
}

/* Returns a pooled printf-formatted string. */
static const char *fh_keepf(fh *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *fh_keepf(fh *f, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return fh_keep(f, buf);
}

static fh_send *fh_find(fh *f, const char *uuid)
{
	for (size_t i = 0; uuid && i < f->sends.n; i++) {
		fh_send *s = f->sends.v[i];

		if (!strcmp(s->uuid, uuid))
			return s;
	}
	return NULL;
}

/* ---- the backend ------------------------------------------------------------ */

/* Records a send of either kind; 0 with uuid_out set, or the rc of fh_fail_sends. */
static int fh_record_send(fh *f, const char *plugin, const char *tag, const char *chat_id,
			  const char *buyer_id, int image, const char *text, const char *url, int w, int h,
			  char *uuid_out)
{
	fh_send *s;

	if (f->send_rc)
		return f->send_rc;
	s = fh_xmalloc(sizeof *s);
	snprintf(s->uuid, sizeof s->uuid, "fh-%lu", ++f->nsent);
	s->plugin = fh_keep(f, plugin);
	s->tag = fh_keep(f, tag);
	s->chat_id = fh_keep(f, chat_id);
	s->buyer_id = fh_keep(f, buyer_id);
	s->image = image;
	s->text = fh_keep(f, text);
	s->url = fh_keep(f, url);
	s->w = w;
	s->h = h;
	s->detail = "";
	s->mono_ms = f->mono;
	fh_vec_push(&f->sends, s);
	if (uuid_out)
		memcpy(uuid_out, s->uuid, sizeof s->uuid);
	return 0;
}

static int be_send_text(void *ud, const char *plugin, const char *tag, const char *chat_id, const char *buyer_id,
			const char *text, char *uuid_out)
{
	return fh_record_send(ud, plugin, tag, chat_id, buyer_id, 0, text, NULL, 0, 0, uuid_out);
}

static int be_send_image(void *ud, const char *plugin, const char *tag, const char *chat_id,
			 const char *buyer_id, const char *url, int w, int h, char *uuid_out)
{
	return fh_record_send(ud, plugin, tag, chat_id, buyer_id, 1, NULL, url, w, h, uuid_out);
}

/* Answers from the record: 0 with the state and a malloc'd detail (NULL while pending). */
static int be_send_status(void *ud, const char *uuid, int *state, char **detail)
{
	fh_send *s = fh_find(ud, uuid);

	if (detail)
		*detail = NULL;
	if (!s)
		return SK_ERR_NOTFOUND;
	if (state)
		*state = s->state;
	if (detail && s->state != 0 && !(*detail = strdup(s->detail)))
		return SK_ERR_NOMEM;
	return 0;
}

/* The latest recorded send of plugin with tag (fh_clear_sends hides nothing
 * from it: the real outbox forgets nothing either): 0 with its uuid, state
 * and a malloc'd detail (NULL while pending), or SK_ERR_NOTFOUND. */
static int be_send_find(void *ud, const char *plugin, const char *tag, char *uuid_out, int *state, char **detail)
{
	fh *f = ud;

	if (detail)
		*detail = NULL;
	for (size_t i = f->sends.n; i-- > 0;) {
		fh_send *s = f->sends.v[i];

		if (strcmp(s->plugin, plugin) || strcmp(s->tag, tag))
			continue;
		if (detail && s->state != 0 && !(*detail = strdup(s->detail)))
			return SK_ERR_NOMEM;
		if (uuid_out)
			memcpy(uuid_out, s->uuid, sizeof s->uuid);
		if (state)
			*state = s->state;
		return 0;
	}
	return SK_ERR_NOTFOUND;
}

static void be_wake_at(void *ud, int64_t mono_ms)
{
	((fh *)ud)->wake = mono_ms;
}

static int64_t be_now_ms(void *ud)
{
	return ((fh *)ud)->now;
}

static int64_t be_mono_ms(void *ud)
{
	return ((fh *)ud)->mono;
}

static void be_mtop(void *ud, const char *api, const char *version, unsigned flags, const char *data_json,
		    host_mtop_done done, void *ctx)
{
	fh *f = ud;
	fh_mtop_rec *m = fh_xmalloc(sizeof *m);

	m->pub.api = fh_keep(f, api);
	m->pub.version = fh_keep(f, version);
	m->pub.flags = flags;
	m->pub.data = fh_keep(f, data_json);
	m->done = done;
	m->ctx = ctx;
	fh_vec_push(&f->mtops, m);
}

/* Records the request; it waits for fh_http_reply. NULL under fh_fail_http. */
static void *be_http_post(void *ud, const char *url, const char *headers, const char *body, size_t len,
			  int timeout_ms, host_http_done done, void *ctx)
{
	fh *f = ud;
	fh_http_rec *r;
	char *b;

	if (f->http_fail)
		return NULL;
	r = fh_xmalloc(sizeof *r);
	b = fh_xmalloc(len + 1);
	memcpy(b, body, len);
	fh_vec_push(&f->pool, b);
	r->pub.url = fh_keep(f, url);
	r->pub.headers = fh_keep(f, headers);
	r->pub.body = b;
	r->pub.len = len;
	r->pub.timeout_ms = timeout_ms;
	r->pub.mono_ms = f->mono;
	r->done = done;
	r->ctx = ctx;
	fh_vec_push(&f->https, r);
	return r;
}

static void be_http_cancel(void *ud, void *handle)
{
	(void)ud;
	((fh_http_rec *)handle)->pub.cancelled = 1;
}

/* Records a chat open; it waits for fh_chat_reply. SK_ERR_STATE unless the
 * fake session is CONNECTED (as the real one). */
static int be_chat_open(void *ud, const char *buyer, const char *item, host_chat_done done, void *ctx,
			void **handle)
{
	fh *f = ud;
	fh_chat_rec *r;

	if (f->state != SK_STATE_CONNECTED)
		return SK_ERR_STATE;
	r = fh_xmalloc(sizeof *r);
	r->pub.buyer = fh_keep(f, buyer);
	r->pub.item = fh_keep(f, item);
	r->pub.mono_ms = f->mono;
	r->done = done;
	r->ctx = ctx;
	fh_vec_push(&f->chats, r);
	*handle = r;
	return SK_OK;
}

static void be_chat_cancel(void *ud, void *handle)
{
	(void)ud;
	((fh_chat_rec *)handle)->pub.cancelled = 1;
}

static int be_session_state(void *ud)
{
	return ((fh *)ud)->state;
}

static char *be_metrics_json(void *ud)
{
	fh *f = ud;
	char buf[128];

	snprintf(buf, sizeof buf, "{\"fakehost\":true,\"sends\":%zu,\"mono_ms\":%lld}", f->sends.n,
		 (long long)f->mono);
	return strdup(buf);
}

/* Called from a worker thread: only a flag, read on the loop. */
static void be_wake_loop(void *ud)
{
	__atomic_store_n(&((fh *)ud)->work_pending, 1, __ATOMIC_RELEASE);
}

/* Records the line, and echoes it to stderr (the test runner keeps stderr
 * apart from the TAP stream and shows it when a test fails). */
static void be_log(void *ud, int level, const char *plugin, const char *msg)
{
	static const char *const names[] = { "ERR", "WARN", "INFO", "DEBUG" };
	fh *f = ud;
	fh_log *l = fh_xmalloc(sizeof *l);

	l->level = level;
	l->plugin = fh_keep(f, plugin);
	l->msg = fh_keep(f, msg);
	fh_vec_push(&f->logs, l);
	fprintf(stderr, "fakehost: %s %s: %s\n", level >= 0 && level <= 3 ? names[level] : "?",
		plugin && *plugin ? plugin : "-", msg ? msg : "");
}

/* sk_control_call of a command run on this fake host (ABI 1.5): the request
 * runs on the peer's host (host_control), answered in the envelope of
 * core/api.c ({request_id, success, data, error}); no peer: nobody listens
 * (SK_ERR_IO). */
static int be_control_call(void *ud, const char *request, int timeout_ms, char **answer, char *err, size_t errlen)
{
	fh *f = ud;
	cJSON *rq = cJSON_Parse(request), *a;
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(rq, "command");
	char *res = NULL, *e = NULL, *data;
	int rc;

	(void)timeout_ms;
	if (!f->ctl_peer) {
		cJSON_Delete(rq);
		snprintf(err, errlen, "no socket file (the fake host has no running peer)");
		return SK_ERR_IO;
	}
	data = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(rq, "data"));
	rc = host_control(fh_host(f->ctl_peer), cJSON_IsString(cmd) ? cmd->valuestring : "", data, &res, &e);
	free(data);
	a = cJSON_CreateObject();
	cJSON_AddItemToObject(a, "request_id", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rq, "request_id"), 1));
	cJSON_AddBoolToObject(a, "success", rc >= 0);
	cJSON_AddItemToObject(a, "data", rc >= 0 && res ? cJSON_Parse(res) : cJSON_CreateNull());
	if (rc < 0)
		cJSON_AddStringToObject(a, "error", e ? e : "error");
	else
		cJSON_AddNullToObject(a, "error");
	*answer = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	cJSON_Delete(rq);
	free(res);
	free(e);
	return SK_OK;
}

void fh_control_peer(fh *f, fh *peer)
{
	f->ctl_peer = peer;
}

/* ---- life cycle ------------------------------------------------------------ */

fh *fh_new(const char *sections_json, const char *rules_path)
{
	char err[256] = "";
	fh *f = fh_xmalloc(sizeof *f);
	host_backend be = {
		.ud = f,
		.send_text = be_send_text,
		.send_image = be_send_image,
		.send_status = be_send_status,
		.send_find = be_send_find,
		.wake_at = be_wake_at,
		.now_ms = be_now_ms,
		.mono_ms = be_mono_ms,
		.mtop = be_mtop,
		.http_post = be_http_post,
		.http_cancel = be_http_cancel,
		.chat_open = be_chat_open,
		.chat_cancel = be_chat_cancel,
		.session_state = be_session_state,
		.metrics_json = be_metrics_json,
		.wake_loop = be_wake_loop,
		.log = be_log,
		.control_call = be_control_call,
	};

	f->now = FH_START_NOW_MS;
	f->mono = FH_START_MONO_MS;
	f->wake = -1;
	f->state = SK_STATE_CONNECTED;
	f->sections = sections_json ? cJSON_Parse(sections_json) : cJSON_CreateObject();
	if (!f->sections || !cJSON_IsObject(f->sections)) {
		fprintf(stderr, "fakehost: sections are not a JSON object: %s\n", sections_json);
		goto fail;
	}
	if (rules_path && !(f->rules_path = strdup(rules_path)))
		goto fail;
	if (!(f->st = store_open(":memory:", err, sizeof err))) {
		fprintf(stderr, "fakehost: store_open: %s\n", err);
		goto fail;
	}
	snprintf(f->keydir, sizeof f->keydir, "/tmp/fh-key-XXXXXX");
	if (!mkdtemp(f->keydir)) {
		fprintf(stderr, "fakehost: mkdtemp: %s\n", strerror(errno));
		f->keydir[0] = 0;
		goto fail;
	}
	snprintf(f->keyfile, sizeof f->keyfile, "%s/account.key", f->keydir);
	f->cfg = (host_config){
		.key_file = f->keyfile,
		.account_id = FH_ACCOUNT,
		.own_user_id = FH_OWN_ID,
		.rules_path = f->rules_path,
		.plugin_sections = f->sections,
		.db = store_db(f->st),
		.worker_threads = 1,
	};
	if (!(f->h = host_new(&f->cfg, &be))) {
		fprintf(stderr, "fakehost: host_new failed\n");
		goto fail;
	}
	return f;
fail:
	fh_free(f);
	return NULL;
}

/* Answers every unanswered mtop call as a failed transport. */
static void fh_mtop_abort(fh *f)
{
	for (size_t i = 0; i < f->mtops.n; i++)
		if (!((fh_mtop_rec *)f->mtops.v[i])->pub.answered)
			fh_mtop_reply(f, i, SK_MTOP_TRANSPORT, "", "");
}

void fh_free(fh *f)
{
	if (!f)
		return;
	if (f->h) {
		fh_mtop_abort(f);
		fh_unload(f);
		host_free(f->h);
	}
	store_close(f->st);
	if (f->keydir[0]) {
		unlink(f->keyfile);
		rmdir(f->keydir);
	}
	cJSON_Delete(f->sections);
	free(f->rules_path);
	fh_vec_free(&f->sends);
	fh_vec_free(&f->logs);
	fh_vec_free(&f->mtops);
	fh_vec_free(&f->https);
	fh_vec_free(&f->chats);
	fh_vec_free(&f->pool);
	sbuf_free(&f->err);
	free(f);
}

const char *fh_key_file(fh *f)
{
	return f->keyfile;
}

void fh_no_key_file(fh *f)
{
	if (f->keydir[0]) {
		unlink(f->keyfile);
		rmdir(f->keydir);
	}
	f->keydir[0] = f->keyfile[0] = 0;
}

host *fh_host(fh *f)
{
	return f->h;
}

sqlite3 *fh_db(fh *f)
{
	return store_db(f->st);
}

int64_t fh_q_int(fh *f, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_prepare_v2(fh_db(f), sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "# sql: %s: %s\n", sql, sqlite3_errmsg(fh_db(f)));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

const char *fh_q_str(fh *f, const char *sql)
{
	static char buf[1024];
	sqlite3_stmt *st;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(fh_db(f), sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "# sql: %s: %s\n", sql, sqlite3_errmsg(fh_db(f)));
		return buf;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

store *fh_store(fh *f)
{
	return f->st;
}

const char *fh_build_dir(void)
{
	const char *b = getenv("SK_BUILD");

	return b && *b ? b : "build";
}

const char *fh_build_path(char *buf, size_t n, const char *rel)
{
	snprintf(buf, n, "%s/%s", fh_build_dir(), rel);
	return buf;
}

/* Copies the host's errors to the caller's buffer and to fh_error. */
static void fh_take_errors(fh *f, sbuf *mine, sbuf *errs)
{
	sbuf_reset(&f->err);
	if (mine->len) {
		if (errs)
			sbuf_add(errs, mine->p, mine->len);
		while (mine->len && mine->p[mine->len - 1] == '\n')
			mine->len--;
		sbuf_add(&f->err, mine->p, mine->len);
	}
	sbuf_free(mine);
}

int fh_load(fh *f, const char *so_path, sbuf *errs)
{
	sbuf mine = { 0 };
	int rc = host_load_file(f->h, so_path, &mine);

	f->unloaded = 0;   /* loaded again after fh_unload: the next fh_unload unloads it */
	fh_take_errors(f, &mine, errs);
	return rc;
}

int fh_load_names(fh *f, const char *dir, sbuf *errs, const char *const *names)
{
	sbuf mine = { 0 };
	int rc = host_load(f->h, dir, (char *const *)names, &mine);

	f->unloaded = 0;
	fh_take_errors(f, &mine, errs);
	return rc;
}

const char *fh_error(fh *f)
{
	return f->err.p ? f->err.p : "";
}

void fh_unload(fh *f)
{
	if (f->unloaded)
		return;
	f->unloaded = 1;
	host_unload_all(f->h);
}

/* ---- events ----------------------------------------------------------------- */

/* fh_dispatch copies every string member of sk_event (core/feed.h's list). */

sk_event fh_event(fh *f, int type)
{
	sk_event e = { .size = sizeof(sk_event), .type = type };

	for (size_t i = 0; i < FEED_SK_NSTRINGS; i++)
		*(const char **)((char *)&e + feed_sk_strings[i]) = "";
	e.message_id = fh_keepf(f, "fh-msg-%lu", ++f->nmsg);
	e.created_ms = f->now;
	return e;
}

void fh_dispatch(fh *f, const sk_event *e)
{
	sk_event c = *e;
	char *copies[FEED_SK_NSTRINGS];

	if (!c.size)
		c.size = sizeof c;
	for (size_t i = 0; i < FEED_SK_NSTRINGS; i++) {
		const char **field = (const char **)((char *)&c + feed_sk_strings[i]);
		const char *s = *field ? *field : "";

		copies[i] = fh_xmalloc(strlen(s) + 1);
		strcpy(copies[i], s);
		*field = copies[i];
	}
	host_dispatch(f->h, &c);
	for (size_t i = 0; i < FEED_SK_NSTRINGS; i++)
		free(copies[i]);
}

void fh_chat(fh *f, const char *chat_id, const char *sender_id, const char *text)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.chat_id = chat_id;
	e.sender_id = sender_id;
	e.text = text;
	e.own = sender_id && !strcmp(sender_id, FH_OWN_ID);
	fh_dispatch(f, &e);
}

void fh_echo(fh *f, const char *chat_id, const char *text)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.chat_id = chat_id;
	e.sender_id = FH_OWN_ID;
	e.text = text;
	e.own = 1;
	e.echo = 1;
	fh_dispatch(f, &e);
}

void fh_trade(fh *f, const char *chat_id, const char *buyer_id, const char *order_id, int trade)
{
	sk_event e = fh_event(f, SK_EV_TRADE);

	e.chat_id = chat_id;
	e.sender_id = buyer_id;
	e.order_id = order_id;
	e.trade = trade;
	fh_dispatch(f, &e);
}

void fh_image(fh *f, const char *chat_id, const char *sender_id, const char *url)
{
	sk_event e = fh_event(f, SK_EV_CHAT_IMAGE);

	e.chat_id = chat_id;
	e.sender_id = sender_id;
	e.image_url = url;
	e.text = "[图片]";
	e.own = sender_id && !strcmp(sender_id, FH_OWN_ID);
	fh_dispatch(f, &e);
}

void fh_set_state(fh *f, int state)
{
	fh_set_state_kind(f, state, "", "");
}

void fh_set_state_kind(fh *f, int state, const char *fail_kind, const char *punish_url)
{
	sk_event e = fh_event(f, SK_EV_SESSION);

	e.prev_state = f->state;
	e.state = state;
	e.reason = "fakehost";
	e.fail_kind = fail_kind;
	e.punish_url = punish_url;
	f->state = state;
	fh_dispatch(f, &e);
}

/* ---- sends ------------------------------------------------------------------ */

size_t fh_nsends(fh *f)
{
	return f->sends.n - f->send_base;
}

const fh_send *fh_send_at(fh *f, size_t i)
{
	return i < fh_nsends(f) ? f->sends.v[f->send_base + i] : NULL;
}

const fh_send *fh_send_find(fh *f, const char *uuid)
{
	return fh_find(f, uuid);
}

int fh_complete_send(fh *f, const char *uuid, int ok, const char *detail)
{
	fh_send *s = fh_find(f, uuid);

	if (!s || s->state != 0)
		return -1;
	s->state = ok ? 1 : 2;
	if (detail)
		s->detail = fh_keep(f, detail);
	else
		s->detail = ok ? fh_keepf(f, "fh-mid-%lu", ++f->nmid) : fh_keep(f, "refused by the fake host");
	host_send_result(f->h, s->uuid, ok, s->detail, s->plugin, s->tag);
	return 0;
}

void fh_fail_sends(fh *f, int rc)
{
	f->send_rc = rc;
}

void fh_clear_sends(fh *f)
{
	f->send_base = f->sends.n;
}

/* ---- the clock ---------------------------------------------------------------- */

int64_t fh_now_ms(fh *f)
{
	return f->now;
}

int64_t fh_mono_ms(fh *f)
{
	return f->mono;
}

int64_t fh_wake_at(fh *f)
{
	return f->wake;
}

/* Moves both clocks to mono time t (never backwards). */
static void fh_clock_to(fh *f, int64_t t)
{
	if (t > f->mono) {
		f->now += t - f->mono;
		f->mono = t;
	}
}

void fh_advance(fh *f, int64_t ms)
{
	int64_t target = f->mono + (ms > 0 ? ms : 0);
	int spins = 0;

	/* Step from wake time to wake time: the host asks for its next one while
	 * running timers. A host that keeps asking for a past time would loop
	 * forever; give up after many runs at one instant. */
	while (f->wake >= 0 && f->wake <= target) {
		if (f->wake > f->mono)
			spins = 0;
		else if (++spins > 10000) {
			fprintf(stderr, "fakehost: the host keeps asking to be woken at %lld\n", (long long)f->wake);
			break;
		}
		fh_clock_to(f, f->wake);
		f->wake = -1;
		host_run_timers(f->h);
	}
	fh_clock_to(f, target);
}

/* ---- logs ----------------------------------------------------------------------- */

size_t fh_nlogs(fh *f)
{
	return f->logs.n - f->log_base;
}

const fh_log *fh_log_at(fh *f, size_t i)
{
	return i < fh_nlogs(f) ? f->logs.v[f->log_base + i] : NULL;
}

size_t fh_log_find(fh *f, const char *sub)
{
	size_t n = 0;

	for (size_t i = f->log_base; i < f->logs.n; i++)
		if (strstr(((fh_log *)f->logs.v[i])->msg, sub ? sub : ""))
			n++;
	return n;
}

void fh_clear_logs(fh *f)
{
	f->log_base = f->logs.n;
}

/* ---- mtop ----------------------------------------------------------------------- */

size_t fh_nmtop(fh *f)
{
	return f->mtops.n;
}

const fh_mtop *fh_mtop_at(fh *f, size_t i)
{
	return i < f->mtops.n ? &((fh_mtop_rec *)f->mtops.v[i])->pub : NULL;
}

int fh_mtop_reply(fh *f, size_t i, int result, const char *ret, const char *data_json)
{
	fh_mtop_rec *m = i < f->mtops.n ? f->mtops.v[i] : NULL;

	if (!m || m->pub.answered)
		return -1;
	m->pub.answered = 1;
	m->done(m->ctx, result, ret ? ret : "", data_json ? data_json : "");
	return 0;
}

/* ---- HTTP ----------------------------------------------------------------------- */

size_t fh_nhttp(fh *f)
{
	return f->https.n;
}

const fh_http *fh_http_at(fh *f, size_t i)
{
	return i < f->https.n ? &((fh_http_rec *)f->https.v[i])->pub : NULL;
}

int fh_http_reply(fh *f, size_t i, int status, const char *body)
{
	fh_http_rec *r = i < f->https.n ? f->https.v[i] : NULL;

	if (!r || r->pub.answered || r->pub.cancelled)
		return -1;
	r->pub.answered = 1;
	r->done(r->ctx, status, body ? body : "");
	return 0;
}

int fh_http_header(fh *f, size_t i, const char *name, char *out, size_t n)
{
	const fh_http *r = fh_http_at(f, i);
	size_t nl = strlen(name);

	if (n)
		*out = '\0';
	for (const char *s = r ? r->headers : ""; *s;) {
		const char *e = strstr(s, "\r\n");
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len > nl && s[nl] == ':' && !strncasecmp(s, name, nl)) {
			const char *v = s + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(out, n, "%.*s", (int)(len - (size_t)(v - s)), v);
			return 0;
		}
		s += len + (e ? 2 : 0);
	}
	return -1;
}

void fh_fail_http(fh *f, int on)
{
	f->http_fail = on;
}

/* ---- chats ------------------------------------------------------------------------ */

size_t fh_nchats(fh *f)
{
	return f->chats.n;
}

const fh_chatopen *fh_chat_at(fh *f, size_t i)
{
	return i < f->chats.n ? &((fh_chat_rec *)f->chats.v[i])->pub : NULL;
}

int fh_chat_reply(fh *f, size_t i, int rc, const char *chat_id)
{
	fh_chat_rec *r = i < f->chats.n ? f->chats.v[i] : NULL;

	if (!r || r->pub.answered || r->pub.cancelled)
		return -1;
	r->pub.answered = 1;
	r->done(r->ctx, rc, rc == SK_OK && chat_id ? chat_id : "");
	return 0;
}

/* ---- work ------------------------------------------------------------------------- */

void fh_work_drain(fh *f)
{
	host_work_drain(f->h);
	__atomic_store_n(&f->work_pending, 0, __ATOMIC_RELEASE);
}

void fh_work_poll(fh *f)
{
	__atomic_store_n(&f->work_pending, 0, __ATOMIC_RELEASE);
	host_work_poll(f->h);
}

cJSON *fh_control_json(fh *f, const char *cmd, const char *data, int *rc, const char **raw)
{
	const char *out = NULL;
	int r = fh_control(f, cmd, data, &out);

	if (rc)
		*rc = r;
	if (raw)
		*raw = out ? out : "";
	return r == 0 && out ? cJSON_Parse(out) : NULL;
}

void fh_topic(fh *f, const char *from, const char *topic, const char *payload_json)
{
	sk_event e = fh_event(f, SK_EV_PLUGIN);

	e.topic = topic;
	e.payload_json = payload_json;
	e.from_plugin = from;
	fh_dispatch(f, &e);
}

int fh_control(fh *f, const char *cmd, const char *data, const char **out)
{
	static char buf[65536];
	char *res = NULL, *err = NULL;
	int rc = host_control(fh_host(f), cmd, data, &res, &err);

	snprintf(buf, sizeof buf, "%s", rc < 0 ? (err ? err : "(no error text)") : res ? res : "null");
	free(res);
	free(err);
	*out = buf;
	return rc;
}
