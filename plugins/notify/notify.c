/* SPDX-License-Identifier: MIT */
/*
 * plugins/notify/notify.c - alerts for the seller: a JSON POST to a webhook
 * (sk_http_post, ABI 1.3) whenever something needs them.
 *
 * Events (kind: when; its dedup key):
 *   offline          the session has not been CONNECTED for offline_after_s
 *                    (a timer starts when it leaves CONNECTED and stops when
 *                    it comes back); once per outage; "offline"
 *   online           back online after an outage whose offline alert went
 *                    out (back_online); "online"
 *   relogin          the session is FAILED: a human must log in again (the
 *                    platform said the session expired, risk control, or
 *                    the retries ran out: the core's reason is in the text);
 *                    once per outage; "relogin"
 *   delivery_failed  orders.delivery_failed; "delivery_failed:<order_id>"
 *                    (left out when its reason is out_of_stock: and
 *                    out_of_stock alerts are on: that alert says it)
 *   out_of_stock     orders.out_of_stock; "out_of_stock:<card>"
 *   low_stock        orders.low_stock; "low_stock:<card>"
 *   keyword          a buyer's chat text (never our own) holding one of
 *                    words (ASCII letters in any case); "keyword:<chat_id>"
 *   test             the notify_test control command (never deduplicated)
 *   summary          the rate limit's summary, see below
 * Load notify before the plugins that answer (after dedup): a handler that
 * returns SK_STOP hides the message from the plugins after it. notify
 * itself always passes.
 *
 * The outbox. Every alert is a row of notify_alert, committed before it is
 * posted, with a stable id (24 hex digits) that the receiver gets both as
 * the body's "id" and as the header X-Shopkeep-Alert-Id (with
 * X-Shopkeep-Kind and X-Shopkeep-Attempt), so it can drop a repeat whose
 * answer was lost. The body is rendered once, when the alert is made: a
 * retry sends the same bytes. States:
 *     pending -> delivered        any 2xx
 *     pending -> pending          no answer, 408, 429, 5xx: tried again after
 *                                 retry_base_ms, doubling up to retry_max_s
 *     pending -> failed           any other status (4xx: the receiver refuses
 *                                 it, a retry would not help): logged
 *     suppressed                  made while the rate limit was reached
 *     pending -> expired          still undelivered expire_s after it was
 *                                 made (the receiver was down that long):
 *                                 logged, never posted - news of a day-old
 *                                 outage is noise
 * One alert is in flight at a time, oldest first; after a failure the whole
 * queue waits for the retry (the receiver is down for all of them). A
 * restart (even kill -9 mid-post) leaves the row pending: init posts the
 * oldest pending alert at once, under its own id.
 *
 * Dedup and rate limit. An alert whose key was seen within dedup_s (any
 * state) is dropped; the earlier row counts it in "repeats". At most
 * max_per_hour alerts are admitted per sliding hour (created_ms); the rest
 * are kept as suppressed, and when the window has room again one summary
 * alert ("count" of them, per kind in its text) goes out and names them
 * (their summary_id). A flapping session sends at most one offline and one
 * online alert per dedup_s, and none for outages shorter than
 * offline_after_s.
 *
 * Config ("notify" section):
 *   url              (required) http:// or https:// (certificates are always
 *                    verified); never logged
 *   header           one extra "Name: value" line, an auth token say; never
 *                    logged
 *   templates        {"<kind>": "<JSON text with {{placeholders}}>"}: the
 *                    body for that kind instead of the default one; every
 *                    value is JSON-escaped (write "{{text}}" inside quotes;
 *                    the numbers t, seconds, needed, available, threshold
 *                    and count may stand outside quotes when the kind has
 *                    them). Placeholders: id account kind key text t reason
 *                    seconds order_id card needed available threshold chat_id
 *                    buyer_id buyer_name item_id word message count. A body
 *                    that is not JSON after all (an empty number outside
 *                    quotes) goes out as the default body, with a warning.
 *   words            list, default ["人工"]; [] turns keyword alerts off
 *   offline_after_s  default 300      back_online   default true
 *   relogin, delivery_failed, out_of_stock, low_stock   default true
 *   dedup_s          default 600 (0: off)
 *   max_per_hour     default 30
 *   retry_base_ms    default 5000     retry_max_s   default 600
 *   expire_s         default 86400 (0: never)
 *   timeout_s        default 10       keep_days     default 30 (delivered,
 *                    failed, expired and summarized rows older than this are deleted)
 * The default body: {"id", "account", "kind", "key", "text", "t" (ms), and
 * each placeholder of the kind that has a value}. A bad value refuses the
 * start with a message naming the key. On "core.reload" (SIGHUP) the section
 * is read again; one with a bad value changes nothing. Alerts already made
 * keep their body.
 *
 * Control commands:
 *   notify_list {limit, state}  recent alerts, newest first (limit 1..1000,
 *                      default 50; state one of the states) -> {alerts: [{id,
 *                      kind, key, state, text, attempts, repeats,
 *                      last_status, last_error, summary_id, created_ms,
 *                      updated_ms}], pending, suppressed, dropped_repeats}
 *   notify_test {text}  queues a test alert -> {id, state}
 *   notify_retry {failed}  posts the pending alerts now (and, with failed
 *                      true, gives the failed ones another go) -> {pending}
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "plugin.h"
#include "common/skctl.h"

#define NT_HOUR_MS 3600000LL
#define NT_MESSAGE_MAX 500       /* bytes of a buyer's message quoted */
#define NT_FIELD_MAX 300         /* bytes of any other field */
#define NT_URL_MAX 2048
#define NT_WORD_MAX 100

/* nt_raise's flags */
#define NT_DEDUP 1               /* drop it when its key was seen within dedup_s */
#define NT_NOKICK 2              /* the caller commits a transaction first, then kicks */

enum { NT_OFFLINE, NT_ONLINE, NT_RELOGIN, NT_DELIVERY_FAILED, NT_OUT_OF_STOCK, NT_LOW_STOCK, NT_KEYWORD, NT_TEST,
       NT_SUMMARY, NT_NKINDS };
static const char *const nt_kinds[] = { "offline", "online", "relogin", "delivery_failed", "out_of_stock",
	"low_stock", "keyword", "test", "summary", NULL };

enum { V_ID, V_ACCOUNT, V_KIND, V_KEY, V_TEXT, V_T, V_REASON, V_SECONDS, V_ORDER_ID, V_CARD, V_NEEDED, V_AVAILABLE,
       V_THRESHOLD, V_CHAT_ID, V_BUYER_ID, V_BUYER_NAME, V_ITEM_ID, V_WORD, V_MESSAGE, V_COUNT, NT_NVARS };
static const char *const nt_vars[] = { "id", "account", "kind", "key", "text", "t", "reason", "seconds", "order_id",
	"card", "needed", "available", "threshold", "chat_id", "buyer_id", "buyer_name", "item_id", "word", "message",
	"count", NULL };
/* Placeholders holding a number: the default body writes them as numbers. */
static const int nt_numeric[NT_NVARS] = { [V_T] = 1, [V_SECONDS] = 1, [V_NEEDED] = 1, [V_AVAILABLE] = 1,
	[V_THRESHOLD] = 1, [V_COUNT] = 1 };

typedef struct {
	char *url, *header;
	char *tmpl[NT_NKINDS];      /* NULL: the default body */
	char **words;
	size_t nwords;
	int64_t offline_after_ms, dedup_ms, max_per_hour, retry_base_ms, retry_max_ms, timeout_ms, keep_ms;
	int64_t expire_ms;         /* expire_s: 0 never */
	int back_online, relogin, on_delivery_failed, on_out_of_stock, on_low_stock;
	/* the session */
	int outage;                 /* not CONNECTED since outage_mono */
	int64_t outage_mono;
	int offline_sent, relogin_sent;
	char reason[200];
	uint64_t offline_timer;
	/* the outbox */
	int64_t inflight;           /* the row being posted, 0 when none */
	int64_t pause_until;        /* wall ms: nothing is posted before (a retry's wait) */
	uint64_t queue_timer, window_timer;
	int64_t dropped;            /* repeats dropped in this run */
	unsigned long nid;
} nt_state;

/* An alert being made: its kind, key, text, and the placeholders' values
 * (NULL: none). */
typedef struct {
	int kind;
	char key[256];
	char text[1024];
	const char *v[NT_NVARS];
} nt_alert;

/* What a POST's callback needs (the row), freed by the host. */
typedef struct {
	int64_t row;
	char id[32];
} nt_req;

static const sk_config_key nt_keys[] = {
	{ .key = "url", .type = SK_CFG_STR, .required = 1, .help = "the webhook: http:// or https://" },
	{ .key = "header", .type = SK_CFG_STR, .help = "one extra \"Name: value\" header line (e.g. a token)" },
	{ .key = "templates", .type = SK_CFG_JSON, .help = "{kind: JSON body with {{placeholders}}}" },
	{ .key = "words", .type = SK_CFG_STR_LIST, .help = "a buyer text holding one of these alerts" },
	{ .key = "offline_after_s", .type = SK_CFG_INT, .help = "alert when offline this long (300)" },
	{ .key = "back_online", .type = SK_CFG_BOOL, .help = "alert when back after an offline alert (true)" },
	{ .key = "relogin", .type = SK_CFG_BOOL, .help = "alert when the seller must log in again (true)" },
	{ .key = "delivery_failed", .type = SK_CFG_BOOL, .help = "alert on orders.delivery_failed (true)" },
	{ .key = "out_of_stock", .type = SK_CFG_BOOL, .help = "alert on orders.out_of_stock (true)" },
	{ .key = "low_stock", .type = SK_CFG_BOOL, .help = "alert on orders.low_stock (true)" },
	{ .key = "dedup_s", .type = SK_CFG_INT, .help = "drop the same alert key within this (600, 0: off)" },
	{ .key = "max_per_hour", .type = SK_CFG_INT, .help = "alerts admitted per hour, the rest summarized (30)" },
	{ .key = "retry_base_ms", .type = SK_CFG_INT, .help = "first retry delay, doubling (5000)" },
	{ .key = "retry_max_s", .type = SK_CFG_INT, .help = "longest retry delay (600)" },
	{ .key = "timeout_s", .type = SK_CFG_INT, .help = "a POST without an answer this long failed (10)" },
	{ .key = "keep_days", .type = SK_CFG_INT, .help = "finished alerts are deleted after this (30)" },
	{ .key = "expire_s", .type = SK_CFG_INT, .help = "an alert undelivered this long is dropped (86400, 0: never)" },
	{ 0 }
};

static const char *const nt_migrations[] = {
	"CREATE TABLE notify_alert ("
	" id INTEGER PRIMARY KEY,"
	" alert_id TEXT NOT NULL UNIQUE,"
	" kind TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" text TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_ms INTEGER NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL,"
	" last_status INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT NOT NULL DEFAULT '',"
	" repeats INTEGER NOT NULL DEFAULT 0,"
	" summary_id TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX notify_alert_key ON notify_alert(key, created_ms);"
	"CREATE INDEX notify_alert_state ON notify_alert(state, id);",
	NULL
};

static void nt_kick(sk_plugin *p, nt_state *st);
static void nt_window_check(sk_plugin *p, nt_state *st);

/* ---- small helpers ------------------------------------------------------------ */

/* A growable text buffer; oom sticks. */
typedef struct {
	char *p;
	size_t len, cap;
	int oom;
} nt_buf;

static void nt_add(nt_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *q;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(q = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void nt_adds(nt_buf *b, const char *s)
{
	nt_add(b, s, strlen(s));
}

/* Appends s JSON-escaped, without the quotes: ", \ and every control
 * character (as \n, \t... or \u00XX); the rest is copied (UTF-8 as it is). */
static void nt_add_json(nt_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[8];

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			nt_add(b, e, 2);
		} else if (c == '\n') {
			nt_add(b, "\\n", 2);
		} else if (c == '\r') {
			nt_add(b, "\\r", 2);
		} else if (c == '\t') {
			nt_add(b, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(e, sizeof e, "\\u%04x", c);
			nt_add(b, e, 6);
		} else {
			nt_add(b, s, 1);
		}
	}
}

/* Copies at most max bytes of s to out (n bytes), cut at a UTF-8 character
 * boundary, with "…" when cut. */
static void nt_clip(char *out, size_t n, const char *s, size_t max)
{
	size_t len = strlen(s);

	if (max > n - 4)
		max = n - 4;
	if (len <= max) {
		memcpy(out, s, len + 1);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	memcpy(out, s, max);
	memcpy(out + max, "\xe2\x80\xa6", 4);
}

/* The index of the placeholder [s, s+n), spaces around it ignored, or -1. */
static int nt_var(const char *s, size_t n)
{
	while (n && *s == ' ')
		s++, n--;
	while (n && s[n - 1] == ' ')
		n--;
	for (int i = 0; nt_vars[i]; i++)
		if (strlen(nt_vars[i]) == n && !memcmp(nt_vars[i], s, n))
			return i;
	return -1;
}

/* Renders template t with vals (NULL counts as ""), each JSON-escaped. A
 * malloc'd string, or NULL without memory. t was checked by nt_tmpl_check. */
static char *nt_render(const char *t, const char *const *vals)
{
	nt_buf b = { 0 };
	const char *s = t, *o;

	while ((o = strstr(s, "{{"))) {
		const char *e = strstr(o + 2, "}}");
		int v = e ? nt_var(o + 2, (size_t)(e - o - 2)) : -1;

		if (v < 0) {
			/* not a placeholder (nt_tmpl_check refuses these): copied */
			nt_add(&b, s, (size_t)(o - s) + 2);
			s = o + 2;
			continue;
		}
		nt_add(&b, s, (size_t)(o - s));
		nt_add_json(&b, vals[v] ? vals[v] : "");
		s = e + 2;
	}
	nt_adds(&b, s);
	if (b.oom || !b.p) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Whether text is one JSON value and nothing else. */
static int nt_is_json(const char *text)
{
	cJSON *j = cJSON_ParseWithOpts(text, NULL, 1);

	cJSON_Delete(j);
	return j != NULL;
}

/* Checks a template: every {{...}} a known placeholder, and JSON once
 * rendered with sample values. 0, or -1 with the reason in why. */
static int nt_tmpl_check(const char *t, char *why, size_t n)
{
	const char *sample[NT_NVARS], *s = t, *o;
	char *r;
	int okj;

	while ((o = strstr(s, "{{"))) {
		const char *e = strstr(o + 2, "}}");
		size_t len;

		if (!e) {
			snprintf(why, n, "a {{ without its }}");
			return -1;
		}
		if (nt_var(o + 2, (size_t)(e - o - 2)) < 0) {
			len = (size_t)snprintf(why, n, "unknown placeholder {{%.*s}} (known:",
					       (int)(e - o - 2 > 40 ? 40 : e - o - 2), o + 2);
			for (int i = 0; nt_vars[i] && len < n; i++)
				len += (size_t)snprintf(why + len, n - len, " %s", nt_vars[i]);
			if (len < n)
				snprintf(why + len, n - len, ")");
			return -1;
		}
		s = e + 2;
	}
	for (int i = 0; i < NT_NVARS; i++)
		sample[i] = nt_numeric[i] ? "1" : "x";
	if (!(r = nt_render(t, sample))) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	okj = nt_is_json(r);
	free(r);
	if (!okj) {
		snprintf(why, n, "not JSON once the placeholders are filled in (put text placeholders inside quotes)");
		return -1;
	}
	return 0;
}

/* A new alert id: 24 hex digits from getrandom, or (should that fail) from
 * the clocks, the pid and a counter. */
static void nt_new_id(sk_plugin *p, nt_state *st, char out[32])
{
	unsigned char b[12];

	if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
		uint64_t x = (uint64_t)sk_now_ms(p) ^ ((uint64_t)sk_mono_ms(p) << 20) ^ ((uint64_t)getpid() << 40) ^
			     (uint64_t)++st->nid * 0x9e3779b97f4a7c15ull;

		for (size_t i = 0; i < sizeof b; i++) {
			x += 0x9e3779b97f4a7c15ull;
			x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
			x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
			b[i] = (unsigned char)(x >> 56);
		}
	}
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Row callbacks. */
static int nt_row_int(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n >= 1 && c[0].type == SK_INT)
		*(int64_t *)ud = c[0].i;
	return 1;
}

/* ---- config -------------------------------------------------------------------- */

/* Reads an integer key into *out (def when absent); checks min..max. 0 or -1 (logged). */
static int nt_int(sk_plugin *p, const char *key, int64_t def, int64_t min, int64_t max, int64_t *out)
{
	int64_t v = sk_config_int(p, key, def);

	if (v < min || v > max) {
		sk_log(p, SK_LOG_ERR, "notify.%s: must be a whole number from %lld to %lld", key, (long long)min,
		       (long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Checks the one header line: "Name: value", a token name that is not one
 * the plugin or the host writes, no control character. 0 or -1 (logged,
 * never with the value). */
static int nt_header_check(sk_plugin *p, const char *h)
{
	static const char *const taken[] = { "host", "content-length", "transfer-encoding", "connection",
		"x-shopkeep-alert-id", "x-shopkeep-kind", "x-shopkeep-attempt", NULL };
	const char *colon = strchr(h, ':');
	size_t n = colon ? (size_t)(colon - h) : 0;

	if (!n) {
		sk_log(p, SK_LOG_ERR, "notify.header: must be one \"Name: value\" line");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      strchr("!#$%&'*+-.^_`|~", h[i]))) {
			sk_log(p, SK_LOG_ERR, "notify.header: the name before ':' has a character not allowed in a "
			       "header name");
			return -1;
		}
	for (const char *s = colon + 1; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f) {
			sk_log(p, SK_LOG_ERR, "notify.header: the value has a control character (a line break?): "
			       "give exactly one line");
			return -1;
		}
	for (int i = 0; taken[i]; i++)
		if (strlen(taken[i]) == n && !strncasecmp(h, taken[i], n)) {
			sk_log(p, SK_LOG_ERR, "notify.header: %.*s is written by notify or the host itself", (int)n, h);
			return -1;
		}
	return 0;
}

/* Swaps the config members of a and b (the runtime state stays). */
static void nt_config_swap(nt_state *a, nt_state *b)
{
	nt_state t = *a;

	a->url = b->url, b->url = t.url;
	a->header = b->header, b->header = t.header;
	memcpy(a->tmpl, b->tmpl, sizeof a->tmpl), memcpy(b->tmpl, t.tmpl, sizeof b->tmpl);
	a->words = b->words, b->words = t.words;
	a->nwords = b->nwords, b->nwords = t.nwords;
	a->offline_after_ms = b->offline_after_ms, a->dedup_ms = b->dedup_ms, a->max_per_hour = b->max_per_hour;
	a->retry_base_ms = b->retry_base_ms, a->retry_max_ms = b->retry_max_ms, a->timeout_ms = b->timeout_ms;
	a->keep_ms = b->keep_ms, a->expire_ms = b->expire_ms, a->back_online = b->back_online, a->relogin = b->relogin;
	a->on_delivery_failed = b->on_delivery_failed, a->on_out_of_stock = b->on_out_of_stock;
	a->on_low_stock = b->on_low_stock;
}

static void nt_state_free(nt_state *st)
{
	if (!st)
		return;
	free(st->url);
	free(st->header);
	for (int i = 0; i < NT_NKINDS; i++)
		free(st->tmpl[i]);
	for (size_t i = 0; i < st->nwords; i++)
		free(st->words[i]);
	free(st->words);
	free(st);
}

/* Reads and checks the section into st. SK_OK, or SK_ERR_CONFIG with every
 * problem logged, or SK_ERR_NOMEM. */
static int nt_config(sk_plugin *p, nt_state *st)
{
	const char *url = sk_config_str(p, "url", ""), *hdr = sk_config_str(p, "header", NULL);
	const char *tj = sk_config_json(p, "templates");
	int bad = 0;
	int64_t v = 0;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		sk_log(p, SK_LOG_ERR, "notify.url: must start with http:// or https://");
		bad++;
	} else if (strlen(url) > NT_URL_MAX || strpbrk(url, " \t\r\n")) {
		sk_log(p, SK_LOG_ERR, "notify.url: longer than %d bytes, or has a space or a line break", NT_URL_MAX);
		bad++;
	}
	if (hdr && *hdr && nt_header_check(p, hdr))
		bad++;
	if (!(st->url = strdup(url)) || (hdr && *hdr && !(st->header = strdup(hdr))))
		return SK_ERR_NOMEM;
	if (tj) {
		cJSON *t = cJSON_Parse(tj), *e, *obj = cJSON_IsObject(t) ? t : NULL;

		if (!obj) {
			sk_log(p, SK_LOG_ERR, "notify.templates: must be an object {\"<kind>\": \"<JSON body>\"}");
			bad++;
		}
		cJSON_ArrayForEach(e, obj) {
			char why[400];
			int k;

			for (k = 0; nt_kinds[k] && strcmp(nt_kinds[k], e->string); k++)
				;
			if (!nt_kinds[k]) {
				size_t len = (size_t)snprintf(why, sizeof why, "no such kind (kinds:");

				for (int i = 0; nt_kinds[i] && len < sizeof why; i++)
					len += (size_t)snprintf(why + len, sizeof why - len, " %s", nt_kinds[i]);
				sk_log(p, SK_LOG_ERR, "notify.templates.%.60s: %s)", e->string, why);
				bad++;
			} else if (!cJSON_IsString(e)) {
				sk_log(p, SK_LOG_ERR, "notify.templates.%s: must be a string (a JSON body)", e->string);
				bad++;
			} else if (nt_tmpl_check(e->valuestring, why, sizeof why)) {
				sk_log(p, SK_LOG_ERR, "notify.templates.%s: %s", e->string, why);
				bad++;
			} else if (!st->tmpl[k] && !(st->tmpl[k] = strdup(e->valuestring))) {
				cJSON_Delete(t);
				return SK_ERR_NOMEM;
			}
		}
		cJSON_Delete(t);
	}
	if (!sk_config_json(p, "words")) {
		if (!(st->words = calloc(1, sizeof *st->words)) || !(st->words[0] = strdup("人工")))
			return SK_ERR_NOMEM;
		st->nwords = 1;
	} else {
		size_t n = sk_config_list_len(p, "words");

		if (n && !(st->words = calloc(n, sizeof *st->words)))
			return SK_ERR_NOMEM;
		for (size_t i = 0; i < n; i++) {
			const char *w = sk_config_list_str(p, "words", i);

			if (!w || !*w || strlen(w) > NT_WORD_MAX) {
				sk_log(p, SK_LOG_ERR, "notify.words[%zu]: must be a non-empty text of at most %d bytes", i,
				       NT_WORD_MAX);
				bad++;
				continue;
			}
			if (!(st->words[st->nwords] = strdup(w)))
				return SK_ERR_NOMEM;
			st->nwords++;
		}
	}
	bad += nt_int(p, "offline_after_s", 300, 1, 86400, &v) < 0;
	st->offline_after_ms = v * 1000;
	bad += nt_int(p, "dedup_s", 600, 0, 7 * 86400, &v) < 0;
	st->dedup_ms = v * 1000;
	bad += nt_int(p, "max_per_hour", 30, 1, 100000, &st->max_per_hour) < 0;
	bad += nt_int(p, "retry_base_ms", 5000, 100, 3600000, &st->retry_base_ms) < 0;
	bad += nt_int(p, "retry_max_s", 600, 1, 86400, &v) < 0;
	st->retry_max_ms = v * 1000;
	bad += nt_int(p, "timeout_s", 10, 1, 300, &v) < 0;
	st->timeout_ms = v * 1000;
	bad += nt_int(p, "keep_days", 30, 1, 3650, &v) < 0;
	st->keep_ms = v * 86400000;
	bad += nt_int(p, "expire_s", 86400, 0, 3650 * 86400LL, &v) < 0;
	st->expire_ms = v * 1000;
	st->back_online = sk_config_bool(p, "back_online", 1);
	st->relogin = sk_config_bool(p, "relogin", 1);
	st->on_delivery_failed = sk_config_bool(p, "delivery_failed", 1);
	st->on_out_of_stock = sk_config_bool(p, "out_of_stock", 1);
	st->on_low_stock = sk_config_bool(p, "low_stock", 1);
	return bad ? SK_ERR_CONFIG : SK_OK;
}

/* ---- making an alert ----------------------------------------------------------- */

/* The body of alert a (id, created at now): its kind's template, or the
 * default object. A malloc'd string, or NULL without memory. */
static char *nt_body(sk_plugin *p, nt_state *st, nt_alert *a)
{
	cJSON *o;
	char *s, *out;

	if (st->tmpl[a->kind]) {
		if ((s = nt_render(st->tmpl[a->kind], a->v)) && nt_is_json(s))
			return s;
		if (s)
			sk_log(p, SK_LOG_WARN, "notify.templates.%s: alert %s is not JSON with these values (a number "
			       "placeholder without a value?): sent with the default body", nt_kinds[a->kind], a->v[V_ID]);
		free(s);
	}
	if (!(o = cJSON_CreateObject()))
		return NULL;
	for (int i = 0; i < NT_NVARS; i++) {
		const char *v = a->v[i];

		if (!v || (!*v && i > V_TEXT))
			continue;
		if (nt_numeric[i] && v[strspn(v, "0123456789")] == '\0' && *v && strlen(v) < 16)
			cJSON_AddRawToObject(o, nt_vars[i], v);
		else
			cJSON_AddStringToObject(o, nt_vars[i], v);
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	out = s ? strdup(s) : NULL;
	cJSON_free(s);
	return out;
}

/* Admitted alerts (not suppressed) made in the last hour; -1 on a db error. */
static int64_t nt_admitted(sk_plugin *p, int64_t now)
{
	sk_value v = SK_VINT(now - NT_HOUR_MS);
	int64_t n = -1;

	if (sk_db_exec(p, "SELECT count(*) FROM notify_alert WHERE state <> 'suppressed' AND created_ms > ?", &v, 1,
		       nt_row_int, &n) < 0)
		return -1;
	return n;
}

/* Queues alert a: dropped with NT_DEDUP when its key was seen within
 * dedup_s (the earlier row counts the repeat), suppressed when the hour is
 * full, else pending, and posted when its turn comes (unless NT_NOKICK: a
 * caller inside a transaction kicks after its COMMIT, so that nothing is
 * posted before it is committed). Returns 0 queued, 1 dropped, 2
 * suppressed, or a negative sk_rc (logged). With id_out (32 bytes), the new
 * row's alert id. */
static int nt_raise(sk_plugin *p, nt_state *st, nt_alert *a, int flags, char *id_out)
{
	int64_t now = sk_now_ms(p), last = 0, admitted;
	char id[32], t[24], acct[128];
	const char *state;
	char *body;
	int rc;

	if ((flags & NT_DEDUP) && st->dedup_ms > 0) {
		sk_value v[2] = { SK_VTEXT(a->key), SK_VINT(now - st->dedup_ms) };

		if ((rc = sk_db_exec(p, "SELECT id FROM notify_alert WHERE key = ? AND created_ms > ? ORDER BY id DESC "
				     "LIMIT 1", v, 2, nt_row_int, &last)) < 0)
			goto dberr;
		if (last) {
			sk_value u[2] = { SK_VINT(now), SK_VINT(last) };

			sk_db_exec(p, "UPDATE notify_alert SET repeats = repeats + 1, updated_ms = ? WHERE id = ?", u, 2,
				   NULL, NULL);
			st->dropped++;
			sk_log(p, SK_LOG_INFO, "%s alert (%s) dropped: a repeat within dedup_s", nt_kinds[a->kind], a->key);
			return 1;
		}
	}
	/* a summary first, if the window has room for it again */
	if (a->kind != NT_SUMMARY)
		nt_window_check(p, st);
	nt_new_id(p, st, id);
	snprintf(t, sizeof t, "%lld", (long long)now);
	snprintf(acct, sizeof acct, "%s", sk_account_id(p));
	a->v[V_ID] = id;
	a->v[V_ACCOUNT] = acct;
	a->v[V_KIND] = nt_kinds[a->kind];
	a->v[V_KEY] = a->key;
	a->v[V_TEXT] = a->text;
	a->v[V_T] = t;
	if ((admitted = nt_admitted(p, now)) < 0) {
		rc = SK_ERR_DB;
		goto dberr;
	}
	state = admitted >= st->max_per_hour ? "suppressed" : "pending";
	if (!(body = nt_body(p, st, a)))
		return SK_ERR_NOMEM;
	{
		sk_value v[7] = { SK_VTEXT(id), SK_VTEXT(nt_kinds[a->kind]), SK_VTEXT(a->key), SK_VTEXT(a->text),
			SK_VTEXT(body), SK_VTEXT(state), SK_VINT(now) };

		rc = sk_db_exec(p, "INSERT INTO notify_alert (alert_id, kind, key, text, body, state, next_ms, created_ms, "
				"updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7)", v, 7, NULL, NULL);
	}
	free(body);
	if (rc < 0)
		goto dberr;
	if (id_out)
		snprintf(id_out, 32, "%s", id);
	if (*state == 's') {
		sk_log(p, SK_LOG_WARN, "alert %s (%s) held back: %lld alerts in the last hour (max_per_hour); a "
		       "summary follows when there is room", id, nt_kinds[a->kind], (long long)admitted);
		nt_window_check(p, st);
		return 2;
	}
	sk_log(p, SK_LOG_INFO, "alert %s (%s) queued: %s", id, nt_kinds[a->kind], a->text);
	if (!(flags & NT_NOKICK))
		nt_kick(p, st);
	return 0;
dberr:
	sk_log(p, SK_LOG_ERR, "%s alert (%s) lost: database error (%s)", nt_kinds[a->kind], a->key, sk_strerror(p, rc));
	return rc;
}

static void nt_alert_init(nt_alert *a, int kind)
{
	memset(a, 0, sizeof *a);
	a->kind = kind;
}

/* ---- the rate limit's window ---------------------------------------------------- */

static void nt_window_cb(sk_plugin *p, uint64_t id, void *ud)
{
	nt_state *st = p->ud;

	(void)id, (void)ud;
	st->window_timer = 0;
	nt_window_check(p, st);
}

/* (Re)arms the window timer to fire in delay ms. */
static void nt_window_arm(sk_plugin *p, nt_state *st, int64_t delay)
{
	if (st->window_timer)
		sk_timer_cancel(p, st->window_timer);
	st->window_timer = 0;
	if (sk_timer_add(p, (uint64_t)(delay > 0 ? delay : 0), 0, nt_window_cb, NULL, NULL, &st->window_timer) < 0)
		st->window_timer = 0;
}

typedef struct {
	nt_buf b;
	int64_t total;
} nt_kinds_acc;

static int nt_row_kind(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	nt_kinds_acc *k = ud;
	char part[80];

	(void)p;
	if (n < 2 || c[0].type != SK_TEXT || c[1].type != SK_INT)
		return 0;
	snprintf(part, sizeof part, "%s%lld %s", k->total ? ", " : "", (long long)c[1].i, c[0].s);
	nt_adds(&k->b, part);
	k->total += c[1].i;
	return 0;
}

/* Sends the summary of the suppressed alerts when the hour has room, else
 * arms the timer for when the oldest admitted alert leaves the window. */
static void nt_window_check(sk_plugin *p, nt_state *st)
{
	int64_t now = sk_now_ms(p), admitted, oldest = 0;
	nt_kinds_acc k = { { 0 }, 0 };
	char id[32], count[24];
	nt_alert a;

	if (sk_db_exec(p, "SELECT kind, count(*) FROM notify_alert WHERE state = 'suppressed' AND summary_id = '' "
		       "GROUP BY kind ORDER BY kind", NULL, 0, nt_row_kind, &k) < 0 || !k.total) {
		free(k.b.p);
		return;
	}
	if ((admitted = nt_admitted(p, now)) < 0) {
		free(k.b.p);
		return;
	}
	if (admitted >= st->max_per_hour) {
		sk_value v = SK_VINT(now - NT_HOUR_MS);

		sk_db_exec(p, "SELECT min(created_ms) FROM notify_alert WHERE state <> 'suppressed' AND created_ms > ?",
			   &v, 1, nt_row_int, &oldest);
		free(k.b.p);
		nt_window_arm(p, st, oldest + NT_HOUR_MS - now + 1);
		return;
	}
	nt_alert_init(&a, NT_SUMMARY);
	snprintf(a.key, sizeof a.key, "summary");
	snprintf(count, sizeof count, "%lld", (long long)k.total);
	snprintf(a.text, sizeof a.text, "%lld alerts were held back by the rate limit (max_per_hour %lld): %s",
		 (long long)k.total, (long long)st->max_per_hour, k.b.p ? k.b.p : "");
	a.v[V_COUNT] = count;
	free(k.b.p);
	if (sk_db_begin(p) < 0)
		return;
	if (nt_raise(p, st, &a, NT_NOKICK, id) == 0) {
		sk_value v[2] = { SK_VTEXT(id), SK_VINT(now) };

		sk_db_exec(p, "UPDATE notify_alert SET summary_id = ?, updated_ms = ? WHERE state = 'suppressed' AND "
			   "summary_id = ''", v, 2, NULL, NULL);
	}
	sk_db_commit(p);
	nt_kick(p, st);
}

/* ---- posting ------------------------------------------------------------------------ */

static void nt_queue_cb(sk_plugin *p, uint64_t id, void *ud)
{
	nt_state *st = p->ud;

	(void)id, (void)ud;
	st->queue_timer = 0;
	nt_kick(p, st);
}

/* The retry delay after attempts failed attempts. */
static int64_t nt_backoff(const nt_state *st, int64_t attempts)
{
	int64_t d = st->retry_base_ms;

	for (int64_t i = 1; i < attempts && d < st->retry_max_ms; i++)
		d *= 2;
	return d < st->retry_max_ms ? d : st->retry_max_ms;
}

/* Records the outcome of a POST of row r (its attempt already counted) and
 * moves the queue on. */
static void nt_on_http(sk_plugin *p, int status, const char *body, void *ud)
{
	nt_state *st = p->ud;
	nt_req *q = ud;
	int64_t now = sk_now_ms(p), attempts = 0;
	char err[160];

	(void)body;
	st->inflight = 0;
	{
		sk_value v = SK_VINT(q->row);

		sk_db_exec(p, "SELECT attempts FROM notify_alert WHERE id = ?", &v, 1, nt_row_int, &attempts);
	}
	if (status < 0)
		snprintf(err, sizeof err, "no answer (%s)", sk_strerror(p, status));
	else
		snprintf(err, sizeof err, "HTTP %d", status);
	if (status >= 200 && status <= 299) {
		sk_value v[4] = { SK_VINT(attempts), SK_VINT(status), SK_VINT(now), SK_VINT(q->row) };

		sk_db_exec(p, "UPDATE notify_alert SET state = 'delivered', attempts = ?, last_status = ?, last_error = '', "
			   "updated_ms = ? WHERE id = ?", v, 4, NULL, NULL);
		sk_log(p, SK_LOG_INFO, "alert %s delivered (HTTP %d, attempt %lld)", q->id, status, (long long)attempts);
		st->pause_until = 0;
	} else if (status < 0 || status == 408 || status == 429 || status >= 500) {
		int64_t d = nt_backoff(st, attempts);
		sk_value v[6] = { SK_VINT(attempts), SK_VINT(now + d), SK_VINT(status), SK_VTEXT(err), SK_VINT(now),
			SK_VINT(q->row) };

		sk_db_exec(p, "UPDATE notify_alert SET attempts = ?, next_ms = ?, last_status = ?, last_error = ?, "
			   "updated_ms = ? WHERE id = ? AND state = 'pending'", v, 6, NULL, NULL);
		sk_log(p, SK_LOG_WARN, "alert %s: the receiver gave %s; attempt %lld again in %lld ms", q->id, err,
		       (long long)attempts + 1, (long long)d);
		st->pause_until = now + d;
	} else {
		sk_value v[5] = { SK_VINT(attempts), SK_VINT(status), SK_VTEXT(err), SK_VINT(now), SK_VINT(q->row) };

		sk_db_exec(p, "UPDATE notify_alert SET state = 'failed', attempts = ?, last_status = ?, last_error = ?, "
			   "updated_ms = ? WHERE id = ?", v, 5, NULL, NULL);
		sk_log(p, SK_LOG_WARN, "alert %s given up: the receiver refused it with %s (not retried; check notify.url "
		       "and notify.header)", q->id, err);
	}
	nt_kick(p, st);
}

typedef struct {
	int64_t row, attempts, next_ms, created_ms;
	char id[32], kind[32];
	char *body;
} nt_head;

static int nt_row_head(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	nt_head *h = ud;

	(void)p;
	if (n < 7)
		return 1;
	h->row = c[0].i;
	snprintf(h->id, sizeof h->id, "%s", c[1].s ? c[1].s : "");
	snprintf(h->kind, sizeof h->kind, "%s", c[2].s ? c[2].s : "");
	h->body = strdup(c[3].s ? c[3].s : "");
	h->attempts = c[4].i;
	h->next_ms = c[5].i;
	h->created_ms = c[6].i;
	return 1;
}

/* Posts the oldest pending alert when nothing is in flight and its time has
 * come; else arms the queue timer for that time. */
static void nt_kick(sk_plugin *p, nt_state *st)
{
	nt_head h = { 0 };
	int64_t now = sk_now_ms(p), due;
	char headers[1200];
	nt_req *q;
	int rc;

	if (st->inflight)
		return;
	for (;;) {
		if (sk_db_exec(p, "SELECT id, alert_id, kind, body, attempts, next_ms, created_ms FROM notify_alert "
			       "WHERE state = 'pending' ORDER BY id LIMIT 1", NULL, 0, nt_row_head, &h) < 0 || !h.row) {
			free(h.body);
			return;
		}
		if (!st->expire_ms || now - h.created_ms <= st->expire_ms)
			break;
		{
			char why[80];
			sk_value v[3];

			/* SK_VTEXT takes the length: the text first */
			snprintf(why, sizeof why, "undelivered for %lld s: expired", (long long)(now - h.created_ms) / 1000);
			v[0] = SK_VTEXT(why);
			v[1] = SK_VINT(now);
			v[2] = SK_VINT(h.row);
			sk_log(p, SK_LOG_WARN, "alert %s (%s) dropped: %s after %lld attempt(s)", h.id, h.kind, why,
			       (long long)h.attempts);
			free(h.body);
			memset(&h, 0, sizeof h);
			if (sk_db_exec(p, "UPDATE notify_alert SET state = 'expired', last_error = ?, updated_ms = ? "
				       "WHERE id = ?", v, 3, NULL, NULL) < 0)
				return;
		}
	}
	due = h.next_ms > st->pause_until ? h.next_ms : st->pause_until;
	if (due > now) {
		if (st->queue_timer)
			sk_timer_cancel(p, st->queue_timer);
		if (sk_timer_add(p, (uint64_t)(due - now), 0, nt_queue_cb, NULL, NULL, &st->queue_timer) < 0)
			st->queue_timer = 0;
		free(h.body);
		return;
	}
	if (!h.body || !(q = calloc(1, sizeof *q))) {
		free(h.body);
		return;
	}
	q->row = h.row;
	snprintf(q->id, sizeof q->id, "%s", h.id);
	snprintf(headers, sizeof headers, "X-Shopkeep-Alert-Id: %s\nX-Shopkeep-Kind: %s\nX-Shopkeep-Attempt: %lld%s%s",
		 h.id, h.kind, (long long)h.attempts + 1, st->header ? "\n" : "", st->header ? st->header : "");
	/* counted before it goes out: an attempt cut short by a crash counts too */
	{
		sk_value v[2] = { SK_VINT(now), SK_VINT(h.row) };

		sk_db_exec(p, "UPDATE notify_alert SET attempts = attempts + 1, updated_ms = ? WHERE id = ?", v, 2, NULL,
			   NULL);
	}
	st->inflight = h.row;
	rc = sk_http_post(p, st->url, headers, h.body, strlen(h.body), (int)st->timeout_ms, nt_on_http, q, free);
	free(h.body);
	if (rc < 0) {
		/* not even started: counts as a failed attempt, so it waits */
		nt_req r = { .row = h.row };

		snprintf(r.id, sizeof r.id, "%s", h.id);
		st->inflight = 0;
		if (rc == SK_ERR_INVAL) {
			sk_value v[3] = { SK_VTEXT("the host refused the request"), SK_VINT(now), SK_VINT(h.row) };

			sk_db_exec(p, "UPDATE notify_alert SET state = 'failed', last_error = ?, updated_ms = ? WHERE id = ?",
				   v, 3, NULL, NULL);
			sk_log(p, SK_LOG_ERR, "alert %s given up: the host refused the request", h.id);
			nt_kick(p, st);
			return;
		}
		nt_on_http(p, rc, "", &r);
	}
}

/* ---- the session ------------------------------------------------------------------- */

static void nt_offline_cb(sk_plugin *p, uint64_t id, void *ud)
{
	nt_state *st = p->ud;
	char secs[24];
	nt_alert a;

	(void)id, (void)ud;
	st->offline_timer = 0;
	if (!st->outage || st->offline_sent)
		return;
	nt_alert_init(&a, NT_OFFLINE);
	snprintf(a.key, sizeof a.key, "offline");
	snprintf(secs, sizeof secs, "%lld", (long long)((sk_mono_ms(p) - st->outage_mono) / 1000));
	snprintf(a.text, sizeof a.text, "account %s has been offline for %s s%s%s", sk_account_id(p), secs,
		 st->reason[0] ? ": " : "", st->reason);
	a.v[V_REASON] = st->reason;
	a.v[V_SECONDS] = secs;
	st->offline_sent = nt_raise(p, st, &a, NT_DEDUP, NULL) == 0 || st->offline_sent;
}

/* The session left CONNECTED: the outage starts, and its timer. */
static void nt_outage_start(sk_plugin *p, nt_state *st)
{
	st->outage = 1;
	st->outage_mono = sk_mono_ms(p);
	st->offline_sent = st->relogin_sent = 0;
	if (st->offline_timer)
		sk_timer_cancel(p, st->offline_timer);
	st->offline_timer = 0;
	if (sk_timer_add(p, (uint64_t)st->offline_after_ms, 0, nt_offline_cb, NULL, NULL, &st->offline_timer) < 0)
		st->offline_timer = 0;
}

/* The outage ends (connected again, or the process stops): the timer goes,
 * and when connected after an offline alert, the online one. */
static void nt_outage_end(sk_plugin *p, nt_state *st, int connected)
{
	if (st->offline_timer)
		sk_timer_cancel(p, st->offline_timer);
	st->offline_timer = 0;
	if (connected && st->outage && st->offline_sent && st->back_online) {
		char secs[24];
		nt_alert a;

		nt_alert_init(&a, NT_ONLINE);
		snprintf(a.key, sizeof a.key, "online");
		snprintf(secs, sizeof secs, "%lld", (long long)((sk_mono_ms(p) - st->outage_mono) / 1000));
		snprintf(a.text, sizeof a.text, "account %s is back online after %s s", sk_account_id(p), secs);
		a.v[V_SECONDS] = secs;
		nt_raise(p, st, &a, NT_DEDUP, NULL);
	}
	st->outage = st->offline_sent = st->relogin_sent = 0;
}

static int nt_on_session(sk_plugin *p, const sk_event *e, void *ud)
{
	nt_state *st = p->ud;

	(void)ud;
	if (e->state == SK_STATE_CONNECTED) {
		nt_outage_end(p, st, 1);
		return SK_PASS;
	}
	if (e->state == SK_STATE_CLOSED) {
		nt_outage_end(p, st, 0);
		return SK_PASS;
	}
	/* why it is down, not "connecting" */
	if (*e->reason && e->state != SK_STATE_CONNECTING)
		nt_clip(st->reason, sizeof st->reason, e->reason, NT_FIELD_MAX);
	if (!st->outage)
		nt_outage_start(p, st);
	if (e->state == SK_STATE_FAILED && st->relogin && !st->relogin_sent) {
		nt_alert a;

		nt_alert_init(&a, NT_RELOGIN);
		snprintf(a.key, sizeof a.key, "relogin");
		snprintf(a.text, sizeof a.text, "account %s needs the seller: log in again (and update the cookie)%s%s",
			 sk_account_id(p), st->reason[0] ? ": " : "", st->reason);
		a.v[V_REASON] = st->reason;
		st->relogin_sent = 1;
		nt_raise(p, st, &a, NT_DEDUP, NULL);
	}
	return SK_PASS;
}

/* ---- chats and the orders plugin ------------------------------------------------------ */

/* "core.reload" (SIGHUP): the section is read again; one with a bad value
 * changes nothing (the log says why). An outage's timer keeps its old
 * offline_after_s. */
static int nt_on_reload(sk_plugin *p, const sk_event *e, void *ud)
{
	nt_state *st = p->ud, *fresh = calloc(1, sizeof *fresh);
	int rc;

	(void)e, (void)ud;
	if (!fresh)
		return SK_PASS;
	if ((rc = nt_config(p, fresh)) == SK_OK) {
		nt_config_swap(st, fresh);
		sk_log(p, SK_LOG_INFO, "config read again");
		nt_kick(p, st);
	} else {
		sk_log(p, SK_LOG_ERR, "the notify section read again has errors (%s): the old one stays in force",
		       sk_strerror(p, rc));
	}
	nt_state_free(fresh);
	return SK_PASS;
}

static int nt_on_chat(sk_plugin *p, const sk_event *e, void *ud)
{
	nt_state *st = p->ud;
	char msg[NT_MESSAGE_MAX + 8], chat[NT_FIELD_MAX + 8], name[NT_FIELD_MAX + 8], buyer[NT_FIELD_MAX + 8];
	char item[NT_FIELD_MAX + 8];
	const char *word = NULL;
	nt_alert a;

	(void)ud;
	if (e->own)
		return SK_PASS;
	for (size_t i = 0; i < st->nwords && !word; i++)
		if (strcasestr(e->text, st->words[i]))
			word = st->words[i];
	if (!word)
		return SK_PASS;
	nt_clip(msg, sizeof msg, e->text, NT_MESSAGE_MAX);
	nt_clip(chat, sizeof chat, e->chat_id, NT_FIELD_MAX);
	nt_clip(name, sizeof name, e->sender_name, NT_FIELD_MAX);
	nt_clip(buyer, sizeof buyer, e->sender_id, NT_FIELD_MAX);
	nt_clip(item, sizeof item, e->item_id, NT_FIELD_MAX);
	nt_alert_init(&a, NT_KEYWORD);
	snprintf(a.key, sizeof a.key, "keyword:%s", chat);
	snprintf(a.text, sizeof a.text, "buyer %s asks for \"%s\" in chat %s: %s", *name ? name : buyer, word, chat, msg);
	a.v[V_CHAT_ID] = chat;
	a.v[V_BUYER_ID] = buyer;
	a.v[V_BUYER_NAME] = name;
	a.v[V_ITEM_ID] = item;
	a.v[V_WORD] = word;
	a.v[V_MESSAGE] = msg;
	nt_raise(p, st, &a, NT_DEDUP, NULL);
	return SK_PASS;
}

/* A string field of o clipped into out ("" when absent); a number as digits. */
static const char *nt_field(const cJSON *o, const char *name, char *out, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = '\0';
	if (cJSON_IsString(v))
		nt_clip(out, n, v->valuestring, NT_FIELD_MAX);
	else if (cJSON_IsNumber(v))
		snprintf(out, n, "%.0f", v->valuedouble);
	return out;
}

static int nt_on_topic(sk_plugin *p, const sk_event *e, void *ud)
{
	nt_state *st = p->ud;
	char order[NT_FIELD_MAX + 8], card[NT_FIELD_MAX + 8], reason[NT_FIELD_MAX + 8], need[32], avail[32], thr[32];
	cJSON *o;
	nt_alert a;

	(void)ud;
	if (!strcmp(e->from_plugin, "core") && !strcmp(e->topic, "core.reload"))
		return nt_on_reload(p, e, ud);
	if (strcmp(e->from_plugin, "orders") || strncmp(e->topic, "orders.", 7))
		return SK_PASS;
	if (!(o = cJSON_Parse(e->payload_json)))
		return SK_PASS;
	nt_field(o, "order_id", order, sizeof order);
	nt_field(o, "card", card, sizeof card);
	nt_field(o, "reason", reason, sizeof reason);
	nt_field(o, "needed", need, sizeof need);
	nt_field(o, "available", avail, sizeof avail);
	nt_field(o, "low_stock", thr, sizeof thr);
	cJSON_Delete(o);
	if (!strcmp(e->topic, "orders.delivery_failed") && st->on_delivery_failed &&
	    !(st->on_out_of_stock && !strncmp(reason, "out_of_stock:", 13))) {
		nt_alert_init(&a, NT_DELIVERY_FAILED);
		snprintf(a.key, sizeof a.key, "delivery_failed:%s", order);
		snprintf(a.text, sizeof a.text, "order %s was not delivered: %s", order, reason);
	} else if (!strcmp(e->topic, "orders.out_of_stock") && st->on_out_of_stock) {
		nt_alert_init(&a, NT_OUT_OF_STOCK);
		snprintf(a.key, sizeof a.key, "out_of_stock:%s", card);
		snprintf(a.text, sizeof a.text, "card %s is out of stock: order %s needs %s, %s left", card, order, need,
			 avail);
	} else if (!strcmp(e->topic, "orders.low_stock") && st->on_low_stock) {
		nt_alert_init(&a, NT_LOW_STOCK);
		snprintf(a.key, sizeof a.key, "low_stock:%s", card);
		snprintf(a.text, sizeof a.text, "card %s is running low: %s codes left (low_stock %s)", card, avail, thr);
	} else {
		return SK_PASS;
	}
	a.v[V_ORDER_ID] = order;
	a.v[V_CARD] = card;
	a.v[V_REASON] = reason;
	a.v[V_NEEDED] = need;
	a.v[V_AVAILABLE] = avail;
	a.v[V_THRESHOLD] = thr;
	nt_raise(p, st, &a, NT_DEDUP, NULL);
	return SK_PASS;
}

/* ---- housekeeping ----------------------------------------------------------------------- */

/* Deletes finished rows older than keep_days (never pending ones, nor
 * suppressed ones no summary has named yet). */
static void nt_prune(sk_plugin *p, nt_state *st)
{
	sk_value v = SK_VINT(sk_now_ms(p) - st->keep_ms);

	sk_db_exec(p, "DELETE FROM notify_alert WHERE updated_ms < ? AND (state IN ('delivered', 'failed', 'expired') OR "
		   "(state = 'suppressed' AND summary_id <> ''))", &v, 1, NULL, NULL);
}

static void nt_hourly(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id, (void)ud;
	nt_prune(p, p->ud);
	nt_window_check(p, p->ud);
}

/* ---- control commands -------------------------------------------------------------------- */

static int nt_row_alert(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	static const char *const cols[] = { "id", "kind", "key", "state", "text", "attempts", "repeats", "last_status",
		"last_error", "summary_id", "created_ms", "updated_ms" };
	cJSON *arr = ud, *o = cJSON_CreateObject();

	(void)p;
	for (int i = 0; i < n && i < (int)(sizeof cols / sizeof cols[0]); i++) {
		if (c[i].type == SK_INT)
			cJSON_AddNumberToObject(o, cols[i], (double)c[i].i);
		else
			cJSON_AddStringToObject(o, cols[i], c[i].s ? c[i].s : "");
	}
	cJSON_AddItemToArray(arr, o);
	return 0;
}

static int64_t nt_count_state(sk_plugin *p, const char *state)
{
	sk_value v = SK_VTEXT(state);
	int64_t n = 0;

	sk_db_exec(p, "SELECT count(*) FROM notify_alert WHERE state = ?", &v, 1, nt_row_int, &n);
	return n;
}

/* notify_list {limit, state}: see the top of the file. */
static int nt_ctl_list(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	static const char *const states[] = { "pending", "delivered", "failed", "suppressed", "expired", NULL };
	nt_state *st = p->ud;
	cJSON *d = skctl_data(p, command, data_json), *out, *arr;
	const cJSON *s;
	const char *state = NULL;
	int64_t limit;
	int rc;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	if ((limit = skctl_count(p, command, d, "limit", 50, 1000)) < 0) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	s = cJSON_GetObjectItemCaseSensitive(d, "state");
	if (s && !cJSON_IsNull(s)) {
		for (int i = 0; states[i] && cJSON_IsString(s); i++)
			if (!strcmp(states[i], s->valuestring))
				state = states[i];
		if (!state) {
			cJSON_Delete(d);
			return skctl_fail(p, SK_ERR_INVAL, "%s: state must be one of pending, delivered, failed, suppressed, expired",
					  command);
		}
	}
	cJSON_Delete(d);
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, "alerts");
	{
		sk_value v[3] = { SK_VINT(state != NULL), SK_VTEXT(state ? state : ""), SK_VINT(limit) };

		rc = sk_db_exec(p, "SELECT alert_id, kind, key, state, text, attempts, repeats, last_status, last_error, "
				"summary_id, created_ms, updated_ms FROM notify_alert WHERE ?1 = 0 OR state = ?2 "
				"ORDER BY id DESC LIMIT ?3", v, 3, nt_row_alert, arr);
	}
	if (rc < 0) {
		cJSON_Delete(out);
		return skctl_fail(p, rc, "%s: database error (%s)", command, sk_strerror(p, rc));
	}
	cJSON_AddNumberToObject(out, "pending", (double)nt_count_state(p, "pending"));
	cJSON_AddNumberToObject(out, "suppressed", (double)nt_count_state(p, "suppressed"));
	cJSON_AddNumberToObject(out, "dropped_repeats", (double)st->dropped);
	return skctl_answer(p, out);
}

/* notify_test {text}: queues a test alert (never deduplicated). */
static int nt_ctl_test(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	nt_state *st = p->ud;
	cJSON *d = skctl_data(p, command, data_json), *out;
	const cJSON *t;
	char id[32] = "";
	nt_alert a;
	int rc;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	t = cJSON_GetObjectItemCaseSensitive(d, "text");
	if (t && !cJSON_IsNull(t) && (!cJSON_IsString(t) || strlen(t->valuestring) > NT_MESSAGE_MAX)) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: text must be a string of at most %d bytes", command,
				  NT_MESSAGE_MAX);
	}
	nt_alert_init(&a, NT_TEST);
	snprintf(a.key, sizeof a.key, "test");
	snprintf(a.text, sizeof a.text, "%s", cJSON_IsString(t) ? t->valuestring : "a test alert from shopkeep");
	cJSON_Delete(d);
	if ((rc = nt_raise(p, st, &a, 0, id)) < 0)
		return skctl_fail(p, rc, "%s: the alert could not be stored (%s)", command, sk_strerror(p, rc));
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", id);
	cJSON_AddStringToObject(out, "state", rc == 2 ? "suppressed" : "pending");
	return skctl_answer(p, out);
}

/* notify_retry {failed}: posts the pending alerts now; failed ones too with failed true. */
static int nt_ctl_retry(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	nt_state *st = p->ud;
	cJSON *d = skctl_data(p, command, data_json), *out;
	const cJSON *f;
	sk_value v = SK_VINT(sk_now_ms(p));

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	f = cJSON_GetObjectItemCaseSensitive(d, "failed");
	if (f && !cJSON_IsNull(f) && !cJSON_IsBool(f)) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: failed must be true or false", command);
	}
	if (cJSON_IsTrue(f))
		sk_db_exec(p, "UPDATE notify_alert SET state = 'pending', updated_ms = ? WHERE state = 'failed'", &v, 1,
			   NULL, NULL);
	cJSON_Delete(d);
	sk_db_exec(p, "UPDATE notify_alert SET next_ms = 0 WHERE state = 'pending'", NULL, 0, NULL, NULL);
	st->pause_until = 0;
	if (st->queue_timer)
		sk_timer_cancel(p, st->queue_timer);
	st->queue_timer = 0;
	nt_kick(p, st);
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "pending", (double)nt_count_state(p, "pending"));
	return skctl_answer(p, out);
}

/* ---- init and fini ------------------------------------------------------------------------ */

static int nt_init(sk_plugin *p)
{
	nt_state *st = calloc(1, sizeof *st);
	sk_filter own = { .flags = SK_F_SKIP_OWN };
	int state, rc;

	if (!st)
		return SK_ERR_NOMEM;
	if (!SK_HOST_HAS(p, http_post)) {
		sk_log(p, SK_LOG_ERR, "this host has no HTTP POST service (ABI 1.3): notify cannot run");
		free(st);
		return SK_ERR_UNSUPPORTED;
	}
	if ((rc = nt_config(p, st)) != SK_OK) {
		if (rc == SK_ERR_CONFIG)
			sk_log(p, SK_LOG_ERR, "not started: fix the notify section of the config");
		nt_state_free(st);
		return rc;
	}
	p->ud = st;
	rc = sk_subscribe(p, SK_MASK(SK_EV_SESSION), NULL, 0, nt_on_session, NULL, NULL, NULL);
	if (rc == SK_OK)
		rc = sk_subscribe(p, SK_MASK(SK_EV_CHAT_TEXT), &own, 0, nt_on_chat, NULL, NULL, NULL);
	if (rc == SK_OK)
		rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), NULL, 0, nt_on_topic, NULL, NULL, NULL);
	if (rc == SK_OK)
		rc = sk_timer_add(p, NT_HOUR_MS, NT_HOUR_MS, nt_hourly, NULL, NULL, NULL);
	if (rc != SK_OK) {
		p->ud = NULL;
		nt_state_free(st);
		return rc;
	}
	if (sk_control_add(p, "notify_list", "{limit, state}: recent alerts and their states", nt_ctl_list, NULL,
			   NULL) < 0 ||
	    sk_control_add(p, "notify_test", "{text}: queue a test alert", nt_ctl_test, NULL, NULL) < 0 ||
	    sk_control_add(p, "notify_retry", "{failed}: post the waiting alerts now", nt_ctl_retry, NULL, NULL) < 0)
		sk_log(p, SK_LOG_WARN, "a control command could not be added (its name is taken): notify runs without it");
	/* not connected yet (the process starts before the session): the outage counts from now */
	state = sk_session_state(p);
	if (state != SK_STATE_CONNECTED && state != SK_STATE_CLOSED)
		nt_outage_start(p, st);
	nt_prune(p, st);
	/* a restart retries what was pending at once */
	sk_db_exec(p, "UPDATE notify_alert SET next_ms = 0 WHERE state = 'pending'", NULL, 0, NULL, NULL);
	{
		int64_t n = nt_count_state(p, "pending");

		sk_log(p, SK_LOG_INFO, "alerts go to the configured webhook%s; %lld pending from an earlier run",
		       st->header ? " (with the configured header)" : "", (long long)n);
	}
	nt_window_check(p, st);
	nt_kick(p, st);
	return SK_OK;
}

static void nt_fini(sk_plugin *p)
{
	nt_state_free(p->ud);
	p->ud = NULL;
}

SK_PLUGIN(.name = "notify", .version = "1.0", .description = "alerts the seller through a webhook (JSON POST)",
	  .init = nt_init, .fini = nt_fini, .config_keys = nt_keys, .migrations = nt_migrations);
