/* SPDX-License-Identifier: MIT */
/*
 * tests/fakehost/fakehost.h - a recording host for plugin tests.
 *
 * It is the real core/host.c (dispatch order, ownership, cleanup, the SQLite
 * services) and the real core/loader.c (ABI checks) on top of a backend that
 * records instead of acting: sends are kept in order and finish only when the
 * test says so, log lines are kept, mtop calls and HTTP POSTs wait for a
 * scripted reply, the clock moves only with fh_advance (which fires the
 * timers that come due), and the database is an in-memory SQLite with the
 * core migrations.
 *
 *     fh *f = fh_new("{\"hello\":{}}", NULL);
 *     fh_load(f, "build/plugins/hello.so", NULL);
 *     fh_chat(f, "c1", "buyer1", "hello");
 *     is_int(fh_nsends(f), 1, "one reply");
 *     is_str(fh_send_at(f, 0)->text, "hello! (from the hello plugin)", "its text");
 *     fh_free(f);
 *
 * Everything runs on the caller's thread (the "loop"), except plugin work
 * functions, which run on the host's worker thread until fh_work_drain.
 * Recorded records are owned by the fake host and live until fh_free.
 */
#ifndef SK_FAKEHOST_H
#define SK_FAKEHOST_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"

#define FH_OWN_ID "2200000000001"
#define FH_ACCOUNT "test"
/* The clocks at fh_new. */
#define FH_START_NOW_MS 1700000000000LL
#define FH_START_MONO_MS 1000LL

typedef struct fh fh;
typedef struct store store;

/* One send a plugin made, in the order made. */
typedef struct {
	char uuid[40];           /* "fh-<n>", n from 1 */
	const char *plugin;
	const char *tag;         /* "" when none */
	const char *chat_id;
	const char *buyer_id;
	int image;               /* 0 text, 1 image */
	const char *text;        /* "" for an image */
	const char *url;         /* "" for a text */
	int w, h;
	int state;               /* 0 pending, 1 sent, 2 refused (after fh_complete_send) */
	const char *detail;      /* message id or reason once finished, "" while pending */
	int64_t mono_ms;         /* when it was made */
} fh_send;

/* One log line, of a plugin or of the host about a plugin. */
typedef struct {
	int level;               /* SK_LOG_* */
	const char *plugin;      /* "" when the host logged without one */
	const char *msg;
} fh_log;

/* One mtop call waiting for fh_mtop_reply (or already answered). */
typedef struct {
	const char *api;
	const char *data;
	int answered;
	const char *version;  /* "1.0" unless sk_mtop_ex said another */
	unsigned flags;       /* sk_mtop_ex's flags */
} fh_mtop;

/* One HTTP POST a plugin made (sk_http_post, ABI 1.3), in the order made. */
typedef struct {
	const char *url;
	const char *headers;     /* as the host hands them on: "Name: value\r\n" lines,
	                          * with its Content-Type and User-Agent */
	const char *body;        /* NUL-terminated copy of the body */
	size_t len;
	int timeout_ms;          /* 10000 when the plugin passed 0 */
	int answered;            /* fh_http_reply ran */
	int cancelled;           /* the host cancelled it (its plugin was unloaded) */
	int64_t mono_ms;         /* when it was made */
} fh_http;

/* One chat open a plugin made (sk_chat_open, ABI 1.5), in the order made. */
typedef struct {
	const char *buyer;
	const char *item;        /* "" when none */
	int answered;            /* fh_chat_reply ran */
	int cancelled;           /* the host cancelled it (its plugin was unloaded) */
	int64_t mono_ms;
} fh_chatopen;

/* Creates a fake host: sections_json is the plugins' config sections
 * ({"<plugin>": {...}}, NULL for none), rules_path the account's rules file
 * (NULL for none). Returns NULL (with the reason on stderr) on failure. */
fh *fh_new(const char *sections_json, const char *rules_path);
/* Unloads what is still loaded (answering pending mtop calls with
 * SK_MTOP_TRANSPORT first, as a process shutting down does) and frees all. */
void fh_free(fh *f);

/* The account key file sk_seal / sk_unseal use (in a temp folder of this
 * fh, removed by fh_free; made by the first seal). */
const char *fh_key_file(fh *f);
/* From now on the account has no key file (sk_seal: SK_ERR_CONFIG). */
void fh_no_key_file(fh *f);

/* The real host, its database and store (for direct assertions). */
host *fh_host(fh *f);
sqlite3 *fh_db(fh *f);
store *fh_store(fh *f);
/* The first column of sql's first row in fh_db: an integer (-1 when none
 * or the SQL fails: said on stderr), or text ("" then; a static buffer the
 * next call overwrites). For a test's direct assertions. */
int64_t fh_q_int(fh *f, const char *sql);
const char *fh_q_str(fh *f, const char *sql);

/* $SK_BUILD, or "build" when unset; fh_build_path writes "<that>/<rel>" to buf. */
const char *fh_build_dir(void);
const char *fh_build_path(char *buf, size_t n, const char *rel);

/* Loads one plugin file through host_load_file: 0, or -1 with the reason in
 * errs (may be NULL) and in fh_error. */
int fh_load(fh *f, const char *so_path, sbuf *errs);
/* Loads <dir>/<name>.so for each name in order through host_load; returns the
 * number started (-1 on a host error); problems go to errs and fh_error. */
int fh_load_names(fh *f, const char *dir, sbuf *errs, const char *const *names);
#define fh_load_dir(f, dir, errs, ...) fh_load_names((f), (dir), (errs), (const char *const[]){ __VA_ARGS__, NULL })
/* The errors of the last load, one per line without the last newline, "" when none. */
const char *fh_error(fh *f);
/* host_unload_all: every plugin's fini, registrations undone, free_ud called. */
void fh_unload(fh *f);

/* An event of the given type with every string "", size set, a message_id
 * unique to this fake host and created_ms from the manual clock: fill in what
 * matters and pass it to fh_dispatch. */
sk_event fh_event(fh *f, int type);
/* Dispatches a copy of e through host_dispatch: its strings are copied to the
 * heap and freed afterwards (NULL becomes ""), so a plugin that keeps a
 * borrowed pointer is caught by ASan. */
void fh_dispatch(fh *f, const sk_event *e);
/* A topic published by plugin from ("core" for the core's) with payload
 * (JSON text), dispatched as SK_EV_PLUGIN. */
void fh_topic(fh *f, const char *from, const char *topic, const char *payload_json);
/* A chat text from sender_id (own when it is FH_OWN_ID). */
void fh_chat(fh *f, const char *chat_id, const char *sender_id, const char *text);
/* An echo of one of our sends (own and echo set). */
void fh_echo(fh *f, const char *chat_id, const char *text);
/* A trade card from the buyer with an order id (may be NULL) and sk_trade. */
void fh_trade(fh *f, const char *chat_id, const char *buyer_id, const char *order_id, int trade);
/* An image from the sender. */
void fh_image(fh *f, const char *chat_id, const char *sender_id, const char *url);

/* Sends, in the order plugins made them. sk_send_status and sk_send_find
 * (the latest send of the plugin with the tag) answer from these records;
 * they live in this fake host only (not in its store's outbox), so sends of
 * an "earlier run" cannot be set up: a new fake host starts with none. */
size_t fh_nsends(fh *f);
const fh_send *fh_send_at(fh *f, size_t i);       /* NULL out of range */
const fh_send *fh_send_find(fh *f, const char *uuid);
/* Finishes a pending send through host_send_result: ok with detail as its
 * message id (NULL: one is made up), or refused with detail as the reason.
 * 0, or -1 when the uuid is unknown or already finished. */
int fh_complete_send(fh *f, const char *uuid, int ok, const char *detail);
/* The next sends fail in the backend with rc (a negative sk_rc), 0 to stop. */
void fh_fail_sends(fh *f, int rc);
/* Forgets every recorded send (pending ones still answer send_status NOTFOUND). */
void fh_clear_sends(fh *f);

/* The manual clock. fh_advance moves both clocks by ms and runs the host's
 * timers each time the time it asked to be woken at is reached, so a
 * repeating timer fires once per period crossed. fh_advance(f, 0) runs what
 * is due now. */
int64_t fh_now_ms(fh *f);
int64_t fh_mono_ms(fh *f);
void fh_advance(fh *f, int64_t ms);
/* The wake time the host asked for last, -1 when none. */
int64_t fh_wake_at(fh *f);

/* Log lines. fh_log_find counts the lines whose message contains sub. */
size_t fh_nlogs(fh *f);
const fh_log *fh_log_at(fh *f, size_t i);
size_t fh_log_find(fh *f, const char *sub);
void fh_clear_logs(fh *f);

/* mtop calls, in order. fh_mtop_reply answers call i (result a
 * sk_mtop_result, ret and data_json may be NULL): 0, or -1 when there is no
 * such call or it was answered. */
size_t fh_nmtop(fh *f);
const fh_mtop *fh_mtop_at(fh *f, size_t i);
int fh_mtop_reply(fh *f, size_t i, int result, const char *ret, const char *data_json);

/* HTTP POSTs, in order. fh_http_reply answers request i with an HTTP status,
 * or a negative sk_rc for "no answer" (SK_ERR_IO: refused, timeout...), and
 * body (NULL: ""): 0, or -1 when there is no such request or it was answered
 * or cancelled. fh_http_header copies the value of header name (any case) of
 * request i into out ("" and -1 when it has none). fh_fail_http(f, 1) makes
 * the backend refuse to start the next requests (sk_http_post then returns
 * SK_ERR_IO), 0 to stop. */
size_t fh_nhttp(fh *f);
const fh_http *fh_http_at(fh *f, size_t i);
int fh_http_reply(fh *f, size_t i, int status, const char *body);
int fh_http_header(fh *f, size_t i, const char *name, char *out, size_t n);
void fh_fail_http(fh *f, int on);

/* Chat opens, in order: recorded only while the fake session is
 * SK_STATE_CONNECTED (fh_set_state; otherwise sk_chat_open answers
 * SK_ERR_STATE). fh_chat_reply answers open i with rc (SK_OK and chat_id, or
 * a negative sk_rc): 0, or -1 when there is no such open or it was answered
 * or cancelled. */
size_t fh_nchats(fh *f);
const fh_chatopen *fh_chat_at(fh *f, size_t i);
int fh_chat_reply(fh *f, size_t i, int rc, const char *chat_id);

/* Worker queue: fh_work_drain waits for all queued work and runs the
 * completions (host_work_drain); fh_work_poll runs the completions of work
 * already finished. */
void fh_work_drain(fh *f);
void fh_work_poll(fh *f);

/* The session state plugins see; fh_set_state also dispatches SK_EV_SESSION
 * (prev_state the old one, reason "fakehost"). */
void fh_set_state(fh *f, int state);
/* fh_set_state with the event's fail_kind and punish_url (SK_ABI 1.4). */
void fh_set_state_kind(fh *f, int state, const char *fail_kind, const char *punish_url);

/* Runs a plugin's control command through the host (host_control). Returns
 * its rc; *out is its result data ("null" for none), or its error text when
 * it failed; valid until the next call. */
int fh_control(fh *f, const char *cmd, const char *data, const char **out);
/* fh_control with the answer parsed: a cJSON to cJSON_Delete, or NULL when
 * the command failed or answered no JSON; rc (may be NULL) gets its sk_rc,
 * raw (may be NULL) the answer or the error text ("" none). */
struct cJSON *fh_control_json(fh *f, const char *cmd, const char *data, int *rc, const char **raw);
/* sk_control_call (ABI 1.5) of a command run on f goes to peer, as to the
 * account's running process (host_control there, answered in the control
 * envelope); NULL (the default): nobody listens, SK_ERR_IO. */
void fh_control_peer(fh *f, fh *peer);

#endif
