/* SPDX-License-Identifier: MIT */
/*
 * core/bridge.c - connects the plugin host (core/host.c) to the running
 * account: sends go to the session's outbox, timers to lws, mtop calls to the
 * session's signed client, and the session's events, state changes and send
 * results go to the plugins.
 */
#include "bridge.h"
#include "feed.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "mtop.h"
#include "util.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bridge {
	struct lws_context *ctx;
	session *sess;
	store *st;
	const config *cfg;
	host *h;
	lws_sorted_usec_list_t sul_timers;
	void (*on_publish)(void *ud, const char *plugin, const char *topic, const char *payload_json);
	void *pub_ud;
};

#define BRIDGE_TIMERS_RETRY_MS 100

/* A plugin's mtop call in flight: whom to tell. */
typedef struct {
	host_mtop_done done;
	void *ctx;
} mtop_wait;

/* A session_send_* result as an sk_rc: a full queue is SK_ERR_FULL, a
 * failed outbox insert SK_ERR_DB (never "queue full"). */
static int be_send_rc(int rc)
{
	switch (rc) {
	case 0: return SK_OK;
	case SESS_SEND_FULL: return SK_ERR_FULL;
	case SESS_SEND_INVAL: return SK_ERR_INVAL;
	case SESS_SEND_NOMEM: return SK_ERR_NOMEM;
	default: return SK_ERR_DB;
	}
}

/* sk_send_text: queues text in the session's outbox for plugin, with tag.
 * Returns an sk_rc (be_send_rc); uuid_out gets the send's uuid. */
static int be_send_text(void *ud, const char *plugin, const char *tag, const char *chat_id, const char *buyer_id,
			const char *text, char *uuid_out)
{
	bridge *b = ud;

	return be_send_rc(session_send_text(b->sess, plugin, tag, chat_id, buyer_id, text, uuid_out));
}

/* sk_send_image: queues an image (url, w x h) in the session's outbox for
 * plugin, with tag. Returns an sk_rc (be_send_rc); uuid_out gets the uuid. */
static int be_send_image(void *ud, const char *plugin, const char *tag, const char *chat_id, const char *buyer_id,
			 const char *url, int w, int h, char *uuid_out)
{
	bridge *b = ud;

	return be_send_rc(session_send_image(b->sess, plugin, tag, chat_id, buyer_id, url, w, h, uuid_out));
}

/* sk_send_status: the outbox's state of the send uuid (outbox_state) in
 * *state and, when detail is not NULL, its message id (sent) or reason
 * (refused) in *detail (malloc'd, NULL while pending). Returns SK_OK,
 * SK_ERR_NOTFOUND for no such send, SK_ERR_DB when the read failed. */
static int be_send_status(void *ud, const char *uuid, int *state, char **detail)
{
	bridge *b = ud;
	char *mid = NULL, *why = NULL;
	int rc = store_outbox_get(b->st, uuid, state, &mid, &why);

	if (rc)
		return rc > 0 ? SK_ERR_NOTFOUND : SK_ERR_DB;
	if (detail) {
		/* the message id of a sent message, the reason of a refused one */
		*detail = mid ? mid : why;
		if (mid)
			free(why);
	} else {
		free(mid);
		free(why);
	}
	return SK_OK;
}

/* The latest send of plugin with tag, from the outbox (durable: sends of
 * earlier runs too). */
static int be_send_find(void *ud, const char *plugin, const char *tag, char *uuid_out, int *state, char **detail)
{
	bridge *b = ud;
	int rc = store_outbox_find(b->st, plugin, tag, uuid_out, state, detail);

	if (rc)
		return rc > 0 ? SK_ERR_NOTFOUND : SK_ERR_DB;
	return SK_OK;
}

/* The lws timer of the plugins' timers: runs those due now inside a batch
 * (one commit). Returns nothing; without a batch it tries again in
 * BRIDGE_TIMERS_RETRY_MS. */
static void timers_cb(lws_sorted_usec_list_t *sul)
{
	bridge *b = lws_container_of(sul, bridge, sul_timers);

	/* what the timers write (a debounced answer: its log row, its image and
	 * text, a once rule spent) commits as one; without a batch (another
	 * process holds the write lock) they wait and try again */
	if (b->sess && session_batch_begin(b->sess) < 0) {
		lws_sul_schedule(b->ctx, 0, &b->sul_timers, timers_cb, BRIDGE_TIMERS_RETRY_MS * LWS_US_PER_MS);
		return;
	}
	host_run_timers(b->h);
}

/* Schedules timers_cb for the monotonic time mono_ms (now when it is past). */
static void be_wake_at(void *ud, int64_t mono_ms)
{
	bridge *b = ud;
	int64_t d = mono_ms - util_mono_us() / 1000;

	lws_sul_schedule(b->ctx, 0, &b->sul_timers, timers_cb, (lws_usec_t)(d > 0 ? d : 0) * LWS_US_PER_MS + 1);
}

/* Returns the wall clock in ms (util_now_ms). */
static int64_t be_now_ms(void *ud)
{
	(void)ud;
	return util_now_ms();
}

/* Returns the monotonic clock in ms. */
static int64_t be_mono_ms(void *ud)
{
	(void)ud;
	return util_mono_us() / 1000;
}

/* An mtop call finished: hands the result, the first ret string and the
 * data as JSON text ("" when none) to the plugin's callback, then frees
 * the wait record. */
static void mtop_done(void *ud, mtop_result res, const char *ret, const cJSON *data, const char *why)
{
	mtop_wait *w = ud;
	char *txt = data ? cJSON_PrintUnformatted(data) : NULL;

	if (why)
		log_debug("bridge", "plugin mtop call: %s", why);
	/* mtop_result equals sk_mtop_result (core/feed.c asserts it) */
	w->done(w->ctx, (int)res, ret ? ret : "", txt ? txt : "");
	free(txt);
	free(w);
}

/* Starts a plugin's mtop call of api with data_json on the session's signed
 * client; done runs once with the result (at once with SK_MTOP_TRANSPORT
 * when the call cannot start). */
static void be_mtop(void *ud, const char *api, const char *version, unsigned flags, const char *data_json,
		    host_mtop_done done, void *ctx)
{
	bridge *b = ud;
	mtop_wait *w = calloc(1, sizeof *w);

	if (!w || (w->done = done, w->ctx = ctx,
		   !mtop_start_ex(session_mtop(b->sess), api, version, flags & MTOP_SELLER, data_json, mtop_done, w))) {
		free(w);
		done(ctx, SK_MTOP_TRANSPORT, "", "");
	}
}

/* A plugin's HTTP POST (sk_http_post) on the core's client. */
typedef struct {
	http_req *req;
	host_http_done done;
	void *ctx;
} http_wait;

/* A plugin's HTTP POST finished: hands the status (SK_ERR_IO when there was
 * no answer) and the body ("" when none) to its callback, then frees the
 * wait record. */
static void http_done(void *ud, const http_resp *r)
{
	http_wait *w = ud;

	if (r->error)
		log_debug("bridge", "plugin HTTP POST: %s", r->error);
	w->done(w->ctx, r->error || r->status <= 0 ? SK_ERR_IO : r->status, r->body ? r->body : "");
	free(w);
}

/* sk_http_post: POSTs body (len bytes) with the extra headers to url on the
 * core's HTTP client; done runs once with the status and body. Returns the
 * handle for be_http_cancel, NULL when the request cannot start.
 * Webhooks always verify the certificate (tls_verify 1), whatever
 * platform.tls_verify says: that switch is for a test platform, and a
 * webhook carries the seller's secrets elsewhere. The trust store is the
 * client vhost's: the system's CAs plus platform.ca_file. The core's client
 * counts the timeout in whole seconds. */
static void *be_http_post(void *ud, const char *url, const char *headers, const char *body, size_t len,
			  int timeout_ms, host_http_done done, void *ctx)
{
	bridge *b = ud;
	mtop_ctx *m = session_mtop(b->sess);
	http_wait *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->done = done;
	w->ctx = ctx;
	w->req = http_post(m->ctx, m->vh, url, headers, body, len, (timeout_ms + 999) / 1000, 1, http_done, w);
	if (!w->req) {
		free(w);
		return NULL;
	}
	return w;
}

/* Cancels a plugin's HTTP POST (handle from be_http_post): its callback
 * never runs; frees the wait record. */
static void be_http_cancel(void *ud, void *handle)
{
	http_wait *w = handle;

	(void)ud;
	http_cancel(w->req);
	free(w);
}

/* A plugin's chat open (sk_chat_open, ABI 1.5): whom to tell. */
typedef struct {
	host_chat_done done;
	void *ctx;
} chat_wait_b;

/* The session's answer to a chat open: the rc as an sk_rc (SK_ERR_IO for
 * every failure), then the wait record freed. */
static void chat_done(void *ud, int rc, const char *cid)
{
	chat_wait_b *w = ud;

	w->done(w->ctx, rc == 0 ? SK_OK : SK_ERR_IO, rc == 0 ? cid : "");
	free(w);
}

/* sk_chat_open: /r/SingleChatConversation/create on the session's
 * connection. 0 with *handle, or SK_ERR_STATE (not connected) /
 * SK_ERR_NOMEM; done then never runs. */
static int be_chat_open(void *ud, const char *buyer, const char *item, host_chat_done done, void *ctx,
			void **handle)
{
	bridge *b = ud;
	chat_wait_b *w = calloc(1, sizeof *w);
	void *sh = NULL;
	int rc;

	if (!w)
		return SK_ERR_NOMEM;
	w->done = done;
	w->ctx = ctx;
	if ((rc = session_chat_open(b->sess, buyer, item, chat_done, w, &sh)) < 0) {
		free(w);
		return rc == SESS_CHAT_NOMEM ? SK_ERR_NOMEM : SK_ERR_STATE;
	}
	*handle = sh;
	return SK_OK;
}

/* Cancels a chat open (handle from be_chat_open): done never runs. */
static void be_chat_cancel(void *ud, void *handle)
{
	bridge *b = ud;

	free(session_chat_cancel(b->sess, handle));
}

/* Returns the session's state as an sk_state. */
static int be_session_state(void *ud)
{
	bridge *b = ud;

	/* sess_state equals sk_state (core/feed.c asserts it) */
	return (int)session_metrics(b->sess)->state;
}

/* Returns the session's metrics as JSON text (malloc'd), NULL on OOM. */
static char *be_metrics_json(void *ud)
{
	bridge *b = ud;

	return session_metrics_json(b->sess);
}

/* Passes a plugin's publication (plugin, topic, payload_json) to the
 * bridge_on_publish listener, if there is one (the live page). */
static void be_on_publish(void *ud, const char *plugin, const char *topic, const char *payload_json)
{
	bridge *b = ud;

	if (b->on_publish)
		b->on_publish(b->pub_ud, plugin, topic, payload_json);
}

/* Wakes the event loop (a worker finished: bridge_poll runs its completion). */
static void be_wake_loop(void *ud)
{
	bridge *b = ud;

	lws_cancel_service(b->ctx);
}

bridge *bridge_new(struct lws_context *ctx, session *sess, store *st, const config *cfg)
{
	bridge *b = calloc(1, sizeof *b);
	host_backend be;
	host_config hc;

	if (!b)
		return NULL;
	b->ctx = ctx;
	b->sess = sess;
	b->st = st;
	b->cfg = cfg;
	memset(&be, 0, sizeof be);
	be.ud = b;
	be.send_text = be_send_text;
	be.send_image = be_send_image;
	be.send_status = be_send_status;
	be.send_find = be_send_find;
	be.wake_at = be_wake_at;
	be.now_ms = be_now_ms;
	be.mono_ms = be_mono_ms;
	be.mtop = be_mtop;
	be.session_state = be_session_state;
	be.metrics_json = be_metrics_json;
	be.wake_loop = be_wake_loop;
	be.on_publish = be_on_publish;
	be.http_post = be_http_post;
	be.http_cancel = be_http_cancel;
	be.chat_open = be_chat_open;
	be.chat_cancel = be_chat_cancel;
	memset(&hc, 0, sizeof hc);
	hc.account_id = cfg->account_id;
	hc.own_user_id = cfg->unb;
	hc.own_user_id_ref = &cfg->unb;   /* a login may set it later */
	hc.rules_path = cfg->rules;
	hc.key_file = cfg->key_file;
	hc.plugin_sections = cfg->plugin_sections;
	hc.db = store_db(st);
	hc.worker_threads = 1;
	b->h = host_new(&hc, &be);
	if (!b->h) {
		free(b);
		return NULL;
	}
	return b;
}

int bridge_load(bridge *b, sbuf *errs)
{
	if (!b->cfg->n_plugins)
		return 0;
	return host_load(b->h, b->cfg->plugins_dir, b->cfg->plugins_load, errs);
}

/* Hands the core's event to the plugins, as the ABI's (core/feed.c); its
 * strings are borrowed from e for the dispatch. */
void bridge_event(bridge *b, const ev *e)
{
	sk_event x;
	char *raw = e->raw ? cJSON_PrintUnformatted(e->raw) : NULL;

	feed_sk_event(&x, e, raw);
	host_dispatch(b->h, &x);
	free(raw);
}

/* Dispatches SK_EV_SESSION: the session went from one state to another;
 * fail_kind and punish_url (may be NULL) say why it is FAILED. */
void bridge_state(bridge *b, sess_state from, sess_state to, const char *why, const char *fail_kind,
		  const char *punish_url)
{
	sk_event x;

	feed_sk_init(&x, SK_EV_SESSION);
	x.state = (int)to;
	x.prev_state = (int)from;
	x.reason = why ? why : "";
	x.fail_kind = fail_kind ? fail_kind : "";
	x.punish_url = punish_url ? punish_url : "";
	host_dispatch(b->h, &x);
}

/* Dispatches an SK_EV_PLUGIN event from "core" on topic, with payload "{}". */
static void bridge_core_topic(bridge *b, const char *topic)
{
	sk_event x;

	feed_sk_init(&x, SK_EV_PLUGIN);
	x.topic = topic;
	x.payload_json = "{}";
	x.from_plugin = "core";
	host_dispatch(b->h, &x);
}

void bridge_reload(bridge *b)
{
	bridge_core_topic(b, "core.reload");
}

void bridge_stopping(bridge *b)
{
	bridge_core_topic(b, "core.stopping");
}

void bridge_send_result(bridge *b, const char *uuid, int ok, const char *detail, const char *plugin,
			const char *tag)
{
	host_send_result(b->h, uuid, ok, detail, plugin, tag);
}

void bridge_run_due(bridge *b)
{
	host_run_timers(b->h);
}

void bridge_poll(bridge *b)
{
	host_work_poll(b->h);
}

void bridge_unload(bridge *b)
{
	host_work_drain(b->h);
	host_unload_all(b->h);
	lws_sul_cancel(&b->sul_timers);
}

host *bridge_host(bridge *b)
{
	return b ? b->h : NULL;
}

void bridge_on_publish(bridge *b, void (*fn)(void *ud, const char *plugin, const char *topic, const char *payload_json),
		       void *ud)
{
	b->on_publish = fn;
	b->pub_ud = ud;
}

void bridge_free(bridge *b)
{
	if (!b)
		return;
	host_free(b->h);
	free(b);
}
