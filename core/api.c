/* SPDX-License-Identifier: MIT */
/*
 * core/api.c - the JSON API of the account's web page (core/api.h,
 * web/API.md).
 *
 * Every answer is a JSON object; every error is {"error": "..."} with the
 * status web/API.md lists. Nothing a request sends can make it fail other
 * than with an answer: bodies are parsed with length and checked for
 * trailing bytes, every member is type-checked, and strings going back out
 * are JSON-escaped by cJSON.
 */
#include "api.h"
#include "auth.h"
#include "commands.h"
#include "convo.h"
#include "feed.h"
#include "host.h"
#include "log.h"
#include "relogin.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API_CHATS 500        /* list_chats: at most this many a page */
#define API_MSGS 200         /* chat_messages: at most this many a page */
#define API_TEXT_MAX 4000
#define API_URL_MAX 1000

struct api_ctx {
	api_env env;
	api_stats st;
	int64_t started_ms;
};

void api_barrier(api_ctx *a)
{
	if (a)
		session_barrier(a->env.sess);
}

api_ctx *api_new(const api_env *env)
{
	api_ctx *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	a->env = *env;
	a->started_ms = util_now_ms();
	return a;
}

void api_set_auth(api_ctx *a, auth *au)
{
	a->env.au = au;
}

void api_free(api_ctx *a)
{
	free(a);
}

const api_stats *api_get_stats(const api_ctx *a)
{
	return &a->st;
}

/* ---- answers ------------------------------------------------------------ */

/* Sets r to status with j as its body (j is consumed). */
static void api_answer(api_resp *r, int status, cJSON *j)
{
	r->status = status;
	r->body = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!r->body) {
		r->status = 500;
		r->body = util_strndup("{\"error\":\"out of memory\"}", 25);
	}
}

static void api_error(api_resp *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An error answer {"error": "<fmt...>"}. */
static void api_error(api_resp *r, int status, const char *fmt, ...)
{
	char msg[512];
	cJSON *j = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(j, "error", msg);
	api_answer(r, status, j);
}

/* The HTTP status for a negative sk_rc of a control command. */
static int api_rc_status(int rc)
{
	switch (rc) {
	case SK_OK: return 200;
	case SK_ERR_INVAL: case SK_ERR_CONFIG: return 400;
	case SK_ERR_NOTFOUND: return 404;
	case SK_ERR_STATE: case SK_ERR_FULL: return 409;
	default: return 500;
	}
}

/* Parses exactly len bytes of JSON (no trailing bytes but blanks). NULL if not JSON. */
static cJSON *api_parse(const char *s, size_t len)
{
	const char *end = NULL;
	cJSON *j;

	if (!s || !len)
		return NULL;
	j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j)
		return NULL;
	while (end && end < s + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end != s + len) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* Whether the JSON text s (len bytes) holds a NUL byte or a string with the
 * escape \u0000: cJSON would cut that string at the NUL, so the API refuses it
 * rather than act on less than was sent. Escaped backslashes are skipped
 * ("\\u0000" is a backslash and "u0000"). */
static int api_has_nul(const char *s, size_t len)
{
	int in_str = 0;

	if (memchr(s, '\0', len))
		return 1;   /* a raw NUL byte: not JSON, and cut the same way */
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"') {
			in_str = !in_str;
		} else if (in_str && s[i] == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && i + 5 < len && !memcmp(s + i + 2, "0000", 4))
				return 1;
			i++;
		}
	}
	return 0;
}

#define API_NUL_ERROR "a JSON string in the request holds \\u0000 (a NUL character), which is not accepted"

/* A string member of o, or NULL when absent or not a string. */
static const char *api_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- sessions and cookies -------------------------------------------------- */

/* The value of cookie name in a Cookie header into out; 0, or -1 when absent.
 * Matches whole names only (docs/libraries.md §4: lws's own getter does not). */
static int api_cookie(const char *hdr, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	for (const char *p = hdr; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		if (!strncmp(p, name, nl) && p[nl] == '=') {
			const char *v = p + nl + 1;
			size_t vl = strcspn(v, ";");

			if (vl >= n)
				return -1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
		p += strcspn(p, ";");
	}
	return -1;
}

/* The session token of the Cookie header into tok; 0 or -1. */
static int api_token(const char *cookie, char *tok)
{
	return api_cookie(cookie, "sk_session", tok, AUTH_TOKEN_LEN + 1);
}

int api_logged_in(api_ctx *a, const char *cookie)
{
	char tok[AUTH_TOKEN_LEN + 1];

	return !api_token(cookie, tok) && auth_session(a->env.au, tok) != NULL;
}

int api_session_live(api_ctx *a, const char *cookie)
{
	char tok[AUTH_TOKEN_LEN + 1];

	return !api_token(cookie, tok) && auth_alive(a->env.au, tok);
}

void api_auth_sync(api_ctx *a)
{
	auth_sync(a->env.au);
}

/* ---- the control commands ---------------------------------------------------- */

/* One command's outcome: status, data (owned) or error text. */
typedef struct {
	int status;
	cJSON *data;
	char error[512];
} api_out;

static void api_fail(api_out *o, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void api_fail(api_out *o, int status, const char *fmt, ...)
{
	va_list ap;

	o->status = status;
	va_start(ap, fmt);
	vsnprintf(o->error, sizeof o->error, fmt, ap);
	va_end(ap);
}

/* A plugin command's data as JSON (parsed from its result text); NULL on failure. */
static cJSON *api_plugin_call(api_ctx *a, const char *cmd, const char *data, api_out *o)
{
	char *res = NULL, *err = NULL;
	int rc;
	cJSON *j = NULL;

	if (!a->env.plugins) {
		api_fail(o, 404, "unknown command '%s'", cmd);
		return NULL;
	}
	rc = host_control(a->env.plugins, cmd, data, &res, &err);
	if (rc == SK_ERR_NOTFOUND && err && !strcmp(err, "unknown command")) {
		api_fail(o, 404, "unknown command '%s'", cmd);
	} else if (rc < 0) {
		api_fail(o, api_rc_status(rc), "%s", err ? err : "failed");
	} else {
		j = res ? cJSON_Parse(res) : cJSON_CreateNull();
		if (!j)
			api_fail(o, 500, "out of memory");
	}
	free(res);
	free(err);
	return j;
}

/* The status's "rules": {state, problem, refused_by, summary}: state "ok",
 * "off" (no rules file), "broken" (the file is refused and no rules are in
 * force: no replies or deliveries - of the plugins in refused_by, or of all
 * when it is [] because the file is missing or not JSON) or "stale"
 * (refused, the rules of an earlier valid file stay in force); summary is
 * one line for a person. */
static void api_status_rules(api_ctx *a, cJSON *d)
{
	static const char *const names[] = { "off", "ok", "broken", "stale" };
	const char *problem = "", *who = "";
	int st = a->env.plugins ? host_rules_status(a->env.plugins, &problem, &who) : HOST_RULES_OFF;
	cJSON *r = cJSON_AddObjectToObject(d, "rules"), *by = cJSON_CreateArray();
	char sum[1200], name[64];

	if (st < HOST_RULES_OFF || st > HOST_RULES_STALE)
		st = HOST_RULES_OFF;
	for (const char *w = who; *w;) {
		size_t n = strcspn(w, ",");

		snprintf(name, sizeof name, "%.*s", (int)n, w);
		cJSON_AddItemToArray(by, cJSON_CreateString(name));
		w += n;
		w += strspn(w, ", ");
	}
	if (st == HOST_RULES_BROKEN && *who)
		snprintf(sum, sizeof sum, "broken — %s; no replies or deliveries by %s", problem, who);
	else if (st == HOST_RULES_BROKEN)
		snprintf(sum, sizeof sum, "broken — %s; no replies or deliveries", problem);
	else if (st == HOST_RULES_STALE)
		snprintf(sum, sizeof sum, "the file is refused%s%s — %s; the rules loaded before stay in force", *who ? " by " : "",
			 who, problem);
	else if (st == HOST_RULES_OK)
		snprintf(sum, sizeof sum, "OK (%s)", a->env.cfg->rules ? a->env.cfg->rules : "");
	else
		snprintf(sum, sizeof sum, "no rules file configured");
	cJSON_AddStringToObject(r, "state", names[st]);
	cJSON_AddStringToObject(r, "problem", problem);
	cJSON_AddItemToObject(r, "refused_by", by);
	cJSON_AddStringToObject(r, "summary", sum);
}

/* The status's "session" object (made if missing: the renewal fields join
 * it): fail_kind ("", login, risk, kicked, retries), the punish URL of a
 * risk answer, and while FAILED when it checks again (next_check_ms). */
static void api_status_session(api_ctx *a, cJSON *d)
{
	cJSON *o = cJSON_GetObjectItem(d, "session");

	if (!o)
		o = cJSON_AddObjectToObject(d, "session");
	if (!o)
		return;
	cJSON_AddStringToObject(o, "fail_kind", a->env.sess ? session_fail_kind(a->env.sess) : "");
	cJSON_AddStringToObject(o, "punish_url", a->env.sess ? session_punish_url(a->env.sess) : "");
	cJSON_AddNumberToObject(o, "next_check_ms", a->env.sess ? (double)session_next_check_ms(a->env.sess) : 0);
}

/* status (and GET /api/status): state, metrics, last error, plugins, rules. */
static void api_cmd_status(api_ctx *a, const cJSON *data, api_out *o)
{
	cJSON *d = cJSON_CreateObject(), *pl = cJSON_AddArrayToObject(d, "plugins");
	const sess_metrics *m = a->env.sess ? session_metrics(a->env.sess) : NULL;
	const char *const *names = a->env.plugins ? host_plugins(a->env.plugins) : NULL;

	(void)data;
	cJSON_AddStringToObject(d, "account", a->env.cfg->account_id ? a->env.cfg->account_id : "");
	cJSON_AddStringToObject(d, "unb", a->env.cfg->unb ? a->env.cfg->unb : "");
	cJSON_AddStringToObject(d, "state", m ? session_state_name(m->state) : "DISCONNECTED");
	cJSON_AddBoolToObject(d, "needs_relogin", a->env.sess && !strcmp(session_fail_kind(a->env.sess), "login"));
	cJSON_AddStringToObject(d, "last_error", m ? m->last_error : "no session");
	api_status_session(a, d);
	if (a->env.sess) {
		char *mj = session_metrics_json(a->env.sess);
		cJSON *mm = mj ? cJSON_Parse(mj) : NULL;

		free(mj);
		cJSON_AddItemToObject(d, "metrics", mm ? mm : cJSON_CreateObject());
		session_renew_status(a->env.sess, d);
	} else {
		cJSON_AddItemToObject(d, "metrics", cJSON_CreateObject());
	}
	for (size_t i = 0; names && names[i]; i++)
		cJSON_AddItemToArray(pl, cJSON_CreateString(names[i]));
	api_status_rules(a, d);
	cJSON_AddNumberToObject(d, "uptime_s", (double)((util_now_ms() - a->started_ms) / 1000));
	cJSON_AddNumberToObject(d, "pid", (double)getpid());
	/* the page's address as configured (web.listen), null when it is off */
	if (a->env.cfg->web_port && a->env.cfg->web_listen) {
		char url[96];

		snprintf(url, sizeof url, "http://%s/", a->env.cfg->web_listen);
		cJSON_AddStringToObject(d, "web_url", url);
	} else {
		cJSON_AddNullToObject(d, "web_url");
	}
	o->data = d;
}

/* Tells the plugins the seller wrote in a chat from the page: topic
 * "core.seller_reply" {"chat_id","buyer_id","via":"page"} from "core" (as
 * core.reload), so that autoreply pauses the chat as for a reply from the app. */
static void api_seller_reply(api_ctx *a, const char *cid, const char *buyer)
{
	cJSON *j;
	char *p;
	sk_event x;

	if (!a->env.plugins)
		return;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "chat_id", cid);
	cJSON_AddStringToObject(j, "buyer_id", buyer);
	cJSON_AddStringToObject(j, "via", "page");
	p = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!p) {
		log_warn("web", "control: core.seller_reply for chat %s not published (out of memory)", cid);
		return;
	}
	feed_sk_init(&x, SK_EV_PLUGIN);
	x.topic = "core.seller_reply";
	x.payload_json = p;
	x.from_plugin = "core";
	host_dispatch(a->env.plugins, &x);
	cJSON_free(p);
}

/* send's image: data.image_url (http(s)://, at most API_URL_MAX bytes) and
 * the optional data.width / data.height (1..10000, default 800). 0, or -1
 * with o failed (400). */
static int api_send_image_args(const cJSON *data, const char **url, int *w, int *h, api_out *o)
{
	const char *names[2] = { "width", "height" };
	int *dims[2] = { w, h };

	*url = api_str(data, "image_url");
	if (!*url || (strncmp(*url, "https://", 8) && strncmp(*url, "http://", 7)) || strlen(*url) > API_URL_MAX ||
	    strlen(*url) <= 8 || strpbrk(*url, " \t\r\n\"<>")) {
		api_fail(o, 400, "send: image_url must be an http:// or https:// address of at most %d bytes, "
			 "without blanks or quotes", API_URL_MAX);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, names[i]);

		*dims[i] = 800;
		if (!v)
			continue;
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 10000 ||
		    v->valuedouble != (double)(int)v->valuedouble) {
			api_fail(o, 400, "send: %s must be a whole number from 1 to 10000", names[i]);
			return -1;
		}
		*dims[i] = (int)v->valuedouble;
	}
	return 0;
}

/* send: queues data.text, or the image data.image_url (width, height), to
 * data.chat_id / data.buyer_id in the outbox as the seller's own reply from
 * the page (stored as sender seller_page), then publishes core.seller_reply;
 * data {"uuid"}, or a 400 (bad data), 409 (no session, backlog full) or 500. */
static void api_cmd_send(api_ctx *a, const cJSON *data, api_out *o)
{
	const char *cid = api_str(data, "chat_id"), *buyer = api_str(data, "buyer_id"), *text = api_str(data, "text");
	const char *url = NULL;
	char uuid[64];
	int w = 0, h = 0, rc;

	if (!cid || !*cid || strlen(cid) > 30 || !buyer || !*buyer || strlen(buyer) > 30 ||
	    (!text && !cJSON_GetObjectItemCaseSensitive(data, "image_url")) || (text && !*text)) {
		api_fail(o, 400, "send needs data {\"chat_id\", \"buyer_id\", \"text\"} or {\"chat_id\", \"buyer_id\", "
			 "\"image_url\"}: non-empty strings");
		return;
	}
	if (text && cJSON_GetObjectItemCaseSensitive(data, "image_url")) {
		api_fail(o, 400, "send: give text or image_url, not both");
		return;
	}
	if (text && strlen(text) > API_TEXT_MAX) {
		api_fail(o, 400, "send: the text is longer than %d bytes", API_TEXT_MAX);
		return;
	}
	if (!text && api_send_image_args(data, &url, &w, &h, o))
		return;
	if (!a->env.sess) {
		api_fail(o, 409, "send: no session");
		return;
	}
	rc = text ? session_send_text(a->env.sess, NULL, "control", cid, buyer, text, uuid)
		  : session_send_image(a->env.sess, NULL, "control", cid, buyer, url, w, h, uuid);
	switch (rc) {
	case 0:
		break;
	case SESS_SEND_FULL:
		api_fail(o, 409, "send: not queued (send.backlog_max sends are pending)");
		return;
	case SESS_SEND_INVAL:
		api_fail(o, 400, "send: not queued (bad chat or buyer id)");
		return;
	default:
		api_fail(o, 500, "send: not queued (the outbox insert failed: see the log)");
		return;
	}
	log_info("web", "control: %s queued to chat %s (%s)", text ? "a text" : "an image", cid, uuid);
	api_seller_reply(a, cid, buyer);
	o->data = cJSON_CreateObject();
	cJSON_AddStringToObject(o->data, "uuid", uuid);
}

/* The chats autoreply has paused now (its paused_chats command), as an object
 * chat_id -> {"paused_until_ms","reason","waiting"} (reason "" and waiting
 * false when the plugin does not say); an empty object when there is no such
 * command. */
static cJSON *api_paused(api_ctx *a)
{
	api_out po = { 0 };
	cJSON *d = a->env.plugins ? api_plugin_call(a, "paused_chats", "{}", &po) : NULL, *map = cJSON_CreateObject(), *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(d, "chats")) {
		const char *id = api_str(c, "chat_id"), *why = api_str(c, "reason");
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(c, "paused_until_ms");
		cJSON *e;

		if (!id || !cJSON_IsNumber(u) || cJSON_GetObjectItemCaseSensitive(map, id))
			continue;
		e = cJSON_AddObjectToObject(map, id);
		cJSON_AddNumberToObject(e, "paused_until_ms", u->valuedouble);
		cJSON_AddStringToObject(e, "reason", why ? why : "");
		cJSON_AddBoolToObject(e, "waiting", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "waiting")));
	}
	cJSON_Delete(d);
	return map;
}

/* A whole number member k of data from lo to hi into *v (left as it is when
 * absent): 0, or -1 with o failed (400, naming cmd). */
static int api_int_arg(const cJSON *data, const char *k, int64_t lo, int64_t hi, int64_t *v, const char *cmd,
		       api_out *o)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(data, k);

	if (!j)
		return 0;
	if (!cJSON_IsNumber(j) || j->valuedouble < (double)lo || j->valuedouble > (double)hi ||
	    j->valuedouble != (double)(int64_t)j->valuedouble) {
		api_fail(o, 400, "%s: %s must be a whole number from %lld to %lld", cmd, k, (long long)lo, (long long)hi);
		return -1;
	}
	*v = (int64_t)j->valuedouble;
	return 0;
}

/* data.chat_id of a chat command: a non-empty string of at most 30 bytes,
 * else NULL with o failed (400). */
static const char *api_chat_arg(const cJSON *data, const char *cmd, api_out *o)
{
	const char *cid = api_str(data, "chat_id");

	if (!cid || !*cid || strlen(cid) > 30) {
		api_fail(o, 400, "%s needs data {\"chat_id\"}: a non-empty string of at most 30 bytes", cmd);
		return NULL;
	}
	return cid;
}

/* Whether the conversation store runs; else o fails (409). */
static int api_cv(api_ctx *a, const char *cmd, api_out *o)
{
	if (a->env.cv)
		return 1;
	api_fail(o, 409, "%s: the conversation store is not running (see the log)", cmd);
	return 0;
}

/* Adds to chat c (a convo_chat object) its state from paused (api_paused):
 * "state" auto/paused/waiting, "paused", "paused_until_ms" when paused,
 * "pause_reason". */
static void api_chat_state(cJSON *c, const cJSON *paused)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(paused, api_str(c, "chat_id"));
	const char *why = p ? api_str(p, "reason") : "";
	int waiting = p && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "waiting"));

	cJSON_AddStringToObject(c, "state", waiting ? "waiting" : p ? "paused" : "auto");
	cJSON_AddBoolToObject(c, "paused", p != NULL);
	if (p)
		cJSON_AddNumberToObject(c, "paused_until_ms",
					cJSON_GetObjectItemCaseSensitive(p, "paused_until_ms")->valuedouble);
	cJSON_AddStringToObject(c, "pause_reason", why ? why : "");
}

/* Whether chat c (a convo_chat object) waits for the seller, by paused (api_paused). */
static int api_waiting(const cJSON *paused, const cJSON *c)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(paused, api_str(c, "chat_id"));

	return p && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "waiting"));
}

/* list_chats: the stored chats by last activity, at most data.limit (1..500,
 * default 50), older than data.before_ms when given (paging); the chats
 * waiting for the seller (a hand-over) first on the first page, and on that
 * page only. Each with its unread count and auto-reply state. */
static void api_cmd_list_chats(api_ctx *a, const cJSON *data, api_out *o)
{
	int64_t limit = 50, before = 0;
	cJSON *d, *arr, *rest, *paused, *p, *c;
	int nwait = 0, waiting = 0, n;

	if (api_int_arg(data, "limit", 1, API_CHATS, &limit, "list_chats", o) ||
	    api_int_arg(data, "before_ms", 1, INT64_C(1) << 53, &before, "list_chats", o) || !api_cv(a, "list_chats", o))
		return;
	paused = api_paused(a);
	d = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(d, "chats");
	cJSON_ArrayForEach(p, paused) {
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "waiting")))
			continue;
		waiting++;
		if (!before && nwait < limit && (c = convo_chat(a->env.cv, p->string))) {
			cJSON_AddItemToArray(arr, c);
			nwait++;
		}
	}
	/* newest first among the waiting, as the rest */
	for (int i = 0; i < nwait; i++)
		for (int j = nwait - 1; j > i; j--) {
			cJSON *x = cJSON_GetArrayItem(arr, j - 1), *y = cJSON_GetArrayItem(arr, j);

			if (cJSON_GetObjectItemCaseSensitive(y, "last_ms")->valuedouble >
			    cJSON_GetObjectItemCaseSensitive(x, "last_ms")->valuedouble) {
				cJSON_DetachItemViaPointer(arr, y);
				cJSON_InsertItemInArray(arr, j - 1, y);
			}
		}
	/* the rest, without the waiting ones (on the first page already) */
	rest = cJSON_CreateArray();
	if (convo_chats(a->env.cv, before, (int)limit + waiting, rest) < 0) {
		cJSON_Delete(rest);
		cJSON_Delete(paused);
		cJSON_Delete(d);
		api_fail(o, 500, "list_chats: state.db: the chats cannot be read (see the log)");
		return;
	}
	n = nwait;
	while ((c = cJSON_DetachItemFromArray(rest, 0))) {
		if (n >= limit || api_waiting(paused, c)) {
			cJSON_Delete(c);
		} else {
			cJSON_AddItemToArray(arr, c);
			n++;
		}
	}
	cJSON_Delete(rest);
	cJSON_ArrayForEach(c, arr)
		api_chat_state(c, paused);
	cJSON_Delete(paused);
	o->data = d;
}

/* Adds "label" to each message of msgs: what the plugin that sent it says
 * about it (its "<plugin>_sends" control command, called once per plugin of
 * the page with {"sends":[{"uuid","tag"}]} and answering {"labels":{uuid:
 * {...}}}), null when it has no such command or says nothing. */
static void api_labels(api_ctx *a, cJSON *msgs)
{
	cJSON *m, *done = cJSON_CreateObject();

	cJSON_ArrayForEach(m, msgs) {
		const char *pl = api_str(m, "plugin");
		cJSON *q, *sends, *m2, *ans;
		char cmd[80], *qs;
		api_out po = { 0 };

		if (!a->env.plugins || !pl || !*pl || strlen(pl) > 60 || cJSON_GetObjectItemCaseSensitive(done, pl))
			continue;
		cJSON_AddTrueToObject(done, pl);
		q = cJSON_CreateObject();
		sends = cJSON_AddArrayToObject(q, "sends");
		cJSON_ArrayForEach(m2, msgs) {
			cJSON *one;

			if (strcmp(api_str(m2, "plugin"), pl) || !*api_str(m2, "uuid"))
				continue;
			one = cJSON_CreateObject();
			cJSON_AddStringToObject(one, "uuid", api_str(m2, "uuid"));
			cJSON_AddStringToObject(one, "tag", api_str(m2, "tag"));
			cJSON_AddItemToArray(sends, one);
		}
		snprintf(cmd, sizeof cmd, "%s_sends", pl);
		qs = cJSON_PrintUnformatted(q);
		cJSON_Delete(q);
		ans = qs ? api_plugin_call(a, cmd, qs, &po) : NULL;
		cJSON_free(qs);
		if (ans) {
			const cJSON *labels = cJSON_GetObjectItemCaseSensitive(ans, "labels");

			cJSON_ArrayForEach(m2, msgs) {
				const cJSON *l;

				if (strcmp(api_str(m2, "plugin"), pl) || !*api_str(m2, "uuid"))
					continue;
				l = cJSON_GetObjectItemCaseSensitive(labels, api_str(m2, "uuid"));
				if (cJSON_IsObject(l))
					cJSON_AddItemToObject(m2, "label", cJSON_Duplicate(l, 1));
			}
		} else if (po.status != 404) {
			log_warn("web", "chat_messages: %s failed: %s", cmd, po.error);
		}
		cJSON_Delete(ans);
	}
	cJSON_ArrayForEach(m, msgs)
		if (!cJSON_GetObjectItemCaseSensitive(m, "label"))
			cJSON_AddNullToObject(m, "label");
	cJSON_Delete(done);
}

/* chat_messages: a page of one chat's stored messages, oldest first: the
 * newest data.limit (1..200, default 50) below data.before_id; "more" says
 * older ones exist. The bot's replies carry their plugin's label. */
static void api_cmd_chat_messages(api_ctx *a, const cJSON *data, api_out *o)
{
	const char *cid = api_chat_arg(data, "chat_messages", o);
	int64_t limit = 50, before = 0;
	cJSON *msgs;
	int more = 0;

	if (!cid || api_int_arg(data, "limit", 1, API_MSGS, &limit, "chat_messages", o) ||
	    api_int_arg(data, "before_id", 1, INT64_C(1) << 53, &before, "chat_messages", o) ||
	    !api_cv(a, "chat_messages", o))
		return;
	if (!(msgs = convo_messages(a->env.cv, cid, before, (int)limit, &more))) {
		api_fail(o, 500, "chat_messages: state.db: the messages cannot be read (see the log)");
		return;
	}
	api_labels(a, msgs);
	o->data = cJSON_CreateObject();
	cJSON_AddStringToObject(o->data, "chat_id", cid);
	cJSON_AddItemToObject(o->data, "messages", msgs);
	cJSON_AddBoolToObject(o->data, "more", more);
}

/* chat_read: the chat's messages are read (its unread count goes to 0);
 * 404 for a chat never stored. */
static void api_cmd_chat_read(api_ctx *a, const cJSON *data, api_out *o)
{
	const char *cid = api_chat_arg(data, "chat_read", o);
	int rc;

	if (!cid || !api_cv(a, "chat_read", o))
		return;
	if ((rc = convo_read(a->env.cv, cid, util_now_ms())) == 1) {
		api_fail(o, 404, "chat_read: no chat %s is stored", cid);
		return;
	}
	if (rc < 0) {
		api_fail(o, 500, "chat_read: state.db: not written (see the log)");
		return;
	}
	o->data = cJSON_CreateObject();
	cJSON_AddStringToObject(o->data, "chat_id", cid);
	cJSON_AddNumberToObject(o->data, "unread", 0);
}

/* chat_stats: per Beijing day (UTC+8) of the last data.days (1..31, default
 * 7), oldest first and today last, the buyers' messages, the bot's and the
 * seller's. */
static void api_cmd_chat_stats(api_ctx *a, const cJSON *data, api_out *o)
{
	int64_t days = 7;
	cJSON *arr;

	if (api_int_arg(data, "days", 1, 31, &days, "chat_stats", o) || !api_cv(a, "chat_stats", o))
		return;
	if (!(arr = convo_stats(a->env.cv, (int)days, util_now_ms()))) {
		api_fail(o, 500, "chat_stats: state.db: the messages cannot be read (see the log)");
		return;
	}
	o->data = cJSON_CreateObject();
	cJSON_AddItemToObject(o->data, "days", arr);
}

/* host_control_each's callback for help: appends {command, plugin, help}
 * to the array ud. */
static void api_cmd_help_one(const char *name, const char *plugin, const char *help, void *ud)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "command", name);
	cJSON_AddStringToObject(e, "plugin", plugin);
	cJSON_AddStringToObject(e, "help", help);
	cJSON_AddItemToArray(ud, e);
}

/* A fresh setup token for the page while no admin password is set (the
 * seller lost or outwaited the one logged at start). It is logged too. Only
 * the local socket can reach this in practice: without a password no page
 * session exists. */
static void api_cmd_setup_token(api_ctx *a, const cJSON *data, api_out *o)
{
	char tok[AUTH_TOKEN_LEN + 1];
	int valid_s = 0;

	(void)data;
	if (!a->env.au) {
		api_fail(o, 409, "setup_token: the web page is off (web.listen)");
		return;
	}
	if (auth_new_setup_token(a->env.au, tok, &valid_s)) {
		api_fail(o, 409, "setup_token: the admin password is set already (change it with shopkeep passwd)");
		return;
	}
	log_warn("web", "no admin password yet: a fresh setup token %s (valid for %d s)", tok, valid_s);
	o->data = cJSON_CreateObject();
	cJSON_AddStringToObject(o->data, "setup_token", tok);
	cJSON_AddNumberToObject(o->data, "valid_s", valid_s);
	sodium_memzero(tok, sizeof tok);
}

/* reload_rules: asks the process to reload the rules file, as SIGHUP does;
 * data {"reloaded": whether there was anything to ask}. */
static void api_cmd_reload_rules(api_ctx *a, const cJSON *data, api_out *o)
{
	(void)data;
	if (a->env.reload)
		a->env.reload(a->env.ud);
	o->data = cJSON_CreateObject();
	cJSON_AddBoolToObject(o->data, "reloaded", a->env.reload != NULL);
}

/* Whether new logins can be taken (a process with a session); else a 409. */
static int api_rl(api_ctx *a, api_out *o, const char *cmd)
{
	if (a->env.rl)
		return 1;
	api_fail(o, 409, "%s: no account session in this process", cmd);
	return 0;
}

/* login_qr_start: starts a QR login in this process (one running is
 * replaced); data as login_qr_state's (state NEW; svg and code_url are ""
 * until the passport service made the code, a second or so: poll
 * login_qr_state). */
static void api_cmd_login_qr_start(api_ctx *a, const cJSON *data, api_out *o)
{
	char err[400];

	(void)data;
	if (!api_rl(a, o, "login_qr_start"))
		return;
	if (relogin_qr_start(a->env.rl, err, sizeof err)) {
		api_fail(o, 409, "login_qr_start: %s", err);
		return;
	}
	o->data = relogin_qr_json(a->env.rl);
}

/* login_qr_state: {state, message_zh, message_en, svg, code_url, poll_ms,
 * verify_url (VERIFY), unb (DONE)}; state IDLE when none runs. */
static void api_cmd_login_qr_state(api_ctx *a, const cJSON *data, api_out *o)
{
	(void)data;
	if (api_rl(a, o, "login_qr_state"))
		o->data = relogin_qr_json(a->env.rl);
}

/* login_qr_cancel: stops the QR login; {"state":"IDLE"}. */
static void api_cmd_login_qr_cancel(api_ctx *a, const cJSON *data, api_out *o)
{
	(void)data;
	if (!api_rl(a, o, "login_qr_cancel"))
		return;
	relogin_qr_cancel(a->env.rl);
	o->data = cJSON_CreateObject();
	cJSON_AddStringToObject(o->data, "state", "IDLE");
}

/* The answer of a cookie taken: {unb, state} (the session's state now). */
static void api_cookie_taken(api_ctx *a, const char *unb, api_out *o)
{
	const sess_metrics *m = a->env.sess ? session_metrics(a->env.sess) : NULL;

	o->data = cJSON_CreateObject();
	cJSON_AddStringToObject(o->data, "unb", unb);
	cJSON_AddStringToObject(o->data, "state", m ? session_state_name(m->state) : "DISCONNECTED");
}

/* cookie_set {cookie}: the page's paste fallback. The cookie is checked
 * (unb, cookie2, _m_h5_tk, this account's unb), sealed and taken by the
 * session; a 400 says what is wrong with it (never quoting it). */
static void api_cmd_cookie_set(api_ctx *a, const cJSON *data, api_out *o)
{
	const char *cookie = api_str(data, "cookie");
	char unb[64], err[600];

	if (!api_rl(a, o, "cookie_set"))
		return;
	if (!cookie || !*cookie) {
		api_fail(o, 400, "cookie_set needs data {\"cookie\": \"<the whole cookie string>\"}");
		return;
	}
	if (relogin_take_cookie(a->env.rl, cookie, 1, unb, err, sizeof err)) {
		api_fail(o, 400, "cookie_set: %s", err);
		return;
	}
	api_cookie_taken(a, unb, o);
}

/* cookie_reload: the secret file's cookie again (written by shopkeep login). */
static void api_cmd_cookie_reload(api_ctx *a, const cJSON *data, api_out *o)
{
	char unb[64], err[900];

	(void)data;
	if (!api_rl(a, o, "cookie_reload"))
		return;
	if (relogin_reload(a->env.rl, unb, err, sizeof err)) {
		api_fail(o, 400, "cookie_reload: %s", err);
		return;
	}
	api_cookie_taken(a, unb, o);
}

static void api_cmd_help(api_ctx *a, const cJSON *data, api_out *o);

/* A control command of the core: its name, one line of help, its handler
 * (data is an object or NULL; the handler fills o). */
typedef struct {
	const char *name, *help;
	void (*fn)(api_ctx *a, const cJSON *data, api_out *o);
} api_command_row;

/* The core's control commands, one row each (core/commands.h). */
#define API_ROW(name, help) { #name, help, api_cmd_##name },
static const api_command_row api_commands[] = { CORE_CONTROL_COMMANDS(API_ROW) };
#undef API_ROW

/* help: the core's commands, then the plugins', each {command, plugin, help}. */
static void api_cmd_help(api_ctx *a, const cJSON *data, api_out *o)
{
	cJSON *d = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(d, "commands");

	(void)data;
	for (size_t i = 0; i < sizeof api_commands / sizeof api_commands[0]; i++)
		api_cmd_help_one(api_commands[i].name, "core", api_commands[i].help, arr);
	if (a->env.plugins)
		host_control_each(a->env.plugins, api_cmd_help_one, arr);
	o->data = d;
}

/* Runs one command with data (an object, or NULL for none): the core's from
 * api_commands, any other name a plugin's. */
static void api_command(api_ctx *a, const char *cmd, const cJSON *data, api_out *o)
{
	size_t i;

	o->status = 200;
	for (i = 0; i < sizeof api_commands / sizeof api_commands[0]; i++)
		if (!strcmp(cmd, api_commands[i].name))
			break;
	if (data && !cJSON_IsObject(data)) {
		api_fail(o, 400, "data must be a JSON object");
	} else if (i < sizeof api_commands / sizeof api_commands[0]) {
		api_commands[i].fn(a, data, o);
	} else {
		char *dj = data ? cJSON_PrintUnformatted(data) : NULL;

		o->data = api_plugin_call(a, cmd, dj ? dj : "{}", o);
		cJSON_free(dj);
	}
	if (!o->data && o->status == 200)
		api_fail(o, 500, "out of memory");
}

/* Parses a control envelope and runs it; the answer object (owned) and its status. */
static cJSON *api_control(api_ctx *a, const char *text, size_t len, int *status)
{
	cJSON *env = api_parse(text, len), *ans = cJSON_CreateObject();
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(env, "request_id");
	const char *cmd = api_str(env, "command");
	api_out o = { 0 };

	if (cJSON_IsString(rid) || cJSON_IsNumber(rid))
		cJSON_AddItemToObject(ans, "request_id", cJSON_Duplicate(rid, 0));
	else
		cJSON_AddNullToObject(ans, "request_id");
	if (text && api_has_nul(text, len))
		api_fail(&o, 400, API_NUL_ERROR);
	else if (!env || !cJSON_IsObject(env))
		api_fail(&o, 400, "the request is not a JSON object {\"request_id\", \"command\", \"data\"}");
	else if (!cmd || !*cmd)
		api_fail(&o, 400, "the request has no command");
	else if (strlen(cmd) > 64)
		api_fail(&o, 400, "the command name is too long");
	else
		api_command(a, cmd, cJSON_GetObjectItemCaseSensitive(env, "data"), &o);
	cJSON_AddBoolToObject(ans, "success", o.status == 200);
	if (o.status == 200) {
		cJSON_AddItemToObject(ans, "data", o.data);
		cJSON_AddNullToObject(ans, "error");
	} else {
		cJSON_Delete(o.data);
		cJSON_AddNullToObject(ans, "data");
		cJSON_AddStringToObject(ans, "error", o.error);
		log_info("web", "control %s: %s", cmd && strlen(cmd) <= 64 ? cmd : "?", o.error);
	}
	cJSON_Delete(env);   /* last: cmd points into it */
	*status = o.status;
	return ans;
}

char *api_control_text(api_ctx *a, const char *text, size_t len, int *status)
{
	cJSON *ans = api_control(a, text, len, status);
	char *s;

	cJSON_AddStringToObject(ans, "kind", "reply");
	s = cJSON_PrintUnformatted(ans);
	cJSON_Delete(ans);
	return s;
}

char *api_ws_control(api_ctx *a, const char *text, size_t len)
{
	int status;

	return api_control_text(a, text, len, &status);
}

/* ---- the rules file ------------------------------------------------------------- */

static void api_rules_get(api_ctx *a, api_resp *r)
{
	const char *path = a->env.cfg->rules;
	cJSON *j = cJSON_CreateObject(), *doc = NULL;
	FILE *f;

	if (!path) {
		cJSON_Delete(j);
		api_error(r, 404, "no rules file is configured (set \"rules\" in the account's config)");
		return;
	}
	cJSON_AddStringToObject(j, "path", path);
	if ((f = fopen(path, "rb"))) {
		sbuf b = { 0 };
		char buf[8192];
		size_t n;

		while ((n = fread(buf, 1, sizeof buf, f)) > 0 && b.len < 4 * API_MAX_BODY)
			sbuf_add(&b, buf, n);
		fclose(f);
		doc = b.oom ? NULL : api_parse(b.p, b.len);
		sbuf_free(&b);
		if (!cJSON_IsObject(doc)) {
			cJSON_Delete(doc);
			cJSON_Delete(j);
			api_error(r, 500, "the rules file is not a JSON object: fix it by hand (the bot keeps the rules it has)");
			return;
		}
	} else if (errno != ENOENT) {
		cJSON_Delete(j);
		api_error(r, 500, "the rules file cannot be read: %s", strerror(errno));
		return;
	}
	cJSON_AddItemToObject(j, "rules", doc ? doc : cJSON_CreateObject());
	api_answer(r, 200, j);
}

/* Writes text to path atomically: a new temp file in the same folder
 * (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600: a file or symlink planted at its
 * name is never written through, another name is tried), fsync, rename
 * over path, fsync the folder. 0 or -1 with errno. */
static int api_write_atomic(const char *path, const char *text)
{
	char tmp[4200], dir[4200];
	size_t n = strlen(text), off = 0;
	char *slash;
	int fd = -1, e;

	for (int i = 0; i < 16 && fd < 0; i++) {
		if (snprintf(tmp, sizeof tmp, "%s.tmp-%d-%08x", path, (int)getpid(), (unsigned)randombytes_random()) >=
		    (int)sizeof tmp) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return -1;
		if (fd < 0)
			log_warn("web", "%s exists already (planted?): not touched, another name is tried", tmp);
	}
	if (fd < 0)
		return -1;
	errno = 0;
	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < n || fsync(fd)) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) || rename(tmp, path)) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/'))) {
		*slash = '\0';
		if ((fd = open(*dir ? dir : "/", O_RDONLY)) >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
}

static void api_rules_put(api_ctx *a, const char *body, size_t len, api_resp *r)
{
	const char *path = a->env.cfg->rules;
	cJSON *doc = api_parse(body, len), *j, *errs;
	sbuf eb = { 0 };
	char *text;

	if (!path) {
		cJSON_Delete(doc);
		api_error(r, 404, "no rules file is configured (set \"rules\" in the account's config)");
		return;
	}
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		api_error(r, 400, "the rules must be a JSON object");
		return;
	}
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text) {
		api_error(r, 500, "out of memory");
		return;
	}
	if (a->env.plugins && host_rules_check(a->env.plugins, text, strlen(text), &eb)) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "error", "the rules were not saved: fix the problems listed");
		errs = cJSON_AddArrayToObject(j, "errors");
		for (char *l = eb.p, *e; l && *l; l = e) {
			e = l + strcspn(l, "\n");
			if (e > l) {
				char *one = util_strndup(l, (size_t)(e - l));

				cJSON_AddItemToArray(errs, cJSON_CreateString(one ? one : "?"));
				free(one);
			}
			if (*e)
				e++;
		}
		sbuf_free(&eb);
		cJSON_free(text);
		api_answer(r, 422, j);
		return;
	}
	sbuf_free(&eb);
	if (api_write_atomic(path, text)) {
		int e = errno;

		cJSON_free(text);
		log_err("web", "rules %s not saved: %s", path, strerror(e));
		api_error(r, 500, "the rules file could not be written: %s", strerror(e));
		return;
	}
	cJSON_free(text);
	log_info("web", "rules %s saved from the page; reloading", path);
	if (a->env.reload)
		a->env.reload(a->env.ud);
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "saved", 1);
	api_answer(r, 200, j);
}

/* ---- login ------------------------------------------------------------------------ */

static void api_session_info(api_ctx *a, const char *cookie, api_resp *r)
{
	char tok[AUTH_TOKEN_LEN + 1];
	const char *csrf = api_token(cookie, tok) ? NULL : auth_session(a->env.au, tok);
	cJSON *j = cJSON_CreateObject();

	cJSON_AddBoolToObject(j, "logged_in", csrf != NULL);
	cJSON_AddBoolToObject(j, "needs_setup", auth_needs_setup(a->env.au));
	if (csrf)
		cJSON_AddStringToObject(j, "csrf", csrf);
	cJSON_AddStringToObject(j, "account", a->env.cfg->account_id ? a->env.cfg->account_id : "");
	api_answer(r, 200, j);
}

static void api_login(api_ctx *a, const char *body, size_t len, api_resp *r)
{
	cJSON *b = api_parse(body, len), *j;
	const char *pw = api_str(b, "password"), *setup = api_str(b, "setup_token"), *why = "";
	char tok[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1];
	int retry = 0, rc;

	if (!cJSON_IsObject(b) || !pw) {
		cJSON_Delete(b);
		api_error(r, 400, "login needs {\"password\"} (and \"setup_token\" the first time)");
		return;
	}
	rc = auth_login(a->env.au, pw, setup, tok, csrf, &retry, &why);
	cJSON_Delete(b);
	if (rc != AUTH_OK) {
		a->st.logins_failed++;
		r->retry_after_s = retry;
		r->delay_ms = rc == AUTH_BAD ? auth_fail_delay_ms(a->env.au) : 0;
		if (r->delay_ms)
			log_warn("web", "login refused: %s (answered in %d ms)", why, r->delay_ms);
		else
			log_warn("web", "login refused: %s", why);
		api_error(r, rc == AUTH_BUSY ? 429 : rc == AUTH_INVAL ? 400 : rc == AUTH_BAD ? 401 : 500, "%s", why);
		return;
	}
	log_info("web", "login (%d sessions)", auth_nsessions(a->env.au));
	snprintf(r->set_cookie, sizeof r->set_cookie, "sk_session=%s; Path=/; HttpOnly; SameSite=Strict", tok);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "csrf", csrf);
	cJSON_AddStringToObject(j, "account", a->env.cfg->account_id ? a->env.cfg->account_id : "");
	api_answer(r, 200, j);
}

/* ---- the router -------------------------------------------------------------------- */

/* Answers one request, before the counters. */
static void api_route(api_ctx *a, const char *method, const char *path, const char *cookie, const char *csrf,
		      const char *body, size_t len, api_resp *r)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST"), put = !strcmp(method, "PUT");
	char tok[AUTH_TOKEN_LEN + 1];
	const char *q = strchr(path, '?');
	size_t plen = q ? (size_t)(q - path) : strlen(path);
	char p[128];

	if (plen >= sizeof p) {
		api_error(r, 404, "no such API path");
		return;
	}
	memcpy(p, path, plen);
	p[plen] = '\0';
	if (!strcmp(p, "/api/session")) {
		if (!get)
			api_error(r, 405, "GET only");
		else
			api_session_info(a, cookie, r);
		return;
	}
	if (!strcmp(p, "/api/login")) {
		if (!post)
			api_error(r, 405, "POST only");
		else
			api_login(a, body, len, r);
		return;
	}
	if (strcmp(p, "/api/logout") && strcmp(p, "/api/status") && strcmp(p, "/api/rules") &&
	    strcmp(p, "/api/control") && strcmp(p, "/api/events")) {
		api_error(r, 404, "no such API path");
		return;
	}
	if (api_token(cookie, tok) || !auth_session(a->env.au, tok)) {
		a->st.unauthorized++;
		api_error(r, 401, "not logged in (or the session expired): log in again");
		return;
	}
	if (!get && !auth_csrf_ok(a->env.au, tok, csrf)) {
		a->st.csrf_refused++;
		api_error(r, 403, "missing or wrong X-CSRF-Token header");
		return;
	}
	if (!strcmp(p, "/api/logout")) {
		if (!post) {
			api_error(r, 405, "POST only");
			return;
		}
		auth_logout(a->env.au, tok);
		snprintf(r->set_cookie, sizeof r->set_cookie, "sk_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
		api_answer(r, 200, cJSON_CreateObject());
	} else if (!strcmp(p, "/api/status")) {
		api_out o = { 0 };

		if (!get) {
			api_error(r, 405, "GET only");
			return;
		}
		api_cmd_status(a, NULL, &o);
		api_answer(r, 200, o.data);
	} else if (!strcmp(p, "/api/rules")) {
		if (get)
			api_rules_get(a, r);
		else if (put)
			api_rules_put(a, body, len, r);
		else
			api_error(r, 405, "GET or PUT only");
	} else if (!strcmp(p, "/api/control")) {
		int status;
		cJSON *ans;

		if (!post) {
			api_error(r, 405, "POST only");
			return;
		}
		ans = api_control(a, body, len, &status);
		api_answer(r, status, ans);
	} else {
		api_error(r, 400, "/api/events is a WebSocket: connect with an upgrade");
	}
}

void api_http(api_ctx *a, const char *method, const char *path, const char *cookie, const char *csrf,
	      const char *body, size_t len, api_resp *r)
{
	memset(r, 0, sizeof *r);
	a->st.requests++;
	if (len > API_MAX_BODY)
		api_error(r, 413, "the body is larger than %d bytes", API_MAX_BODY);
	else if (body && api_has_nul(body, len))
		api_error(r, 400, API_NUL_ERROR);
	else
		api_route(a, method ? method : "", path ? path : "", cookie, csrf, body, len, r);
	if (r->status < 400)
		a->st.ok++;
	else if (r->status < 500)
		a->st.client_errors++;
	else
		a->st.server_errors++;
}
