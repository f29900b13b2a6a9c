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
 *                    platform said the session expired, or the retries ran
 *                    out: the core's reason is in the text); once per
 *                    outage; "relogin"
 *   risk             the session is FAILED by the platform's risk control
 *                    (event fail_kind "risk", ABI 1.4): a human passes the
 *                    check at punish_url; once per outage; "risk"
 *   kicked           the session is FAILED because another client keeps
 *                    taking the connection (fail_kind "kicked"); once per
 *                    outage; "kicked"
 *                    (a core older than 1.4 gives no kind: relogin)
 *   delivery_failed  orders.delivery_failed; "delivery_failed:<order_id>"
 *                    (left out when its reason is out_of_stock: and
 *                    out_of_stock alerts are on: that alert says it)
 *   out_of_stock     orders.out_of_stock; "out_of_stock:<card>"
 *   low_stock        orders.low_stock; "low_stock:<card>"
 *   keyword          a buyer's chat text (never our own) holding one of
 *                    words (ASCII letters in any case); "keyword:<chat_id>"
 *   handover         autoreply.handover {chat_id, buyer_id, buyer_name,
 *                    item_id, text, word}: a buyer asked for a human and
 *                    autoreply paused the chat; "handover:<chat_id>"
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
 *   url              http:// or https:// (certificates are always
 *                    verified); never logged. Without one (nor one set on
 *                    the page) alerts are kept pending, last_error "no
 *                    webhook set", and posted once a url is set
 *   header           one extra "Name: value" line, an auth token say; never
 *                    logged
 *   templates        {"<kind>": "<JSON text with {{placeholders}}>"}: the
 *                    body for that kind instead of the default one; every
 *                    value is JSON-escaped (write "{{text}}" inside quotes;
 *                    the numbers t, seconds, needed, available, threshold
 *                    and count may stand outside quotes when the kind has
 *                    them). Placeholders: id account kind key text t reason
 *                    seconds order_id card needed available threshold chat_id
 *                    buyer_id buyer_name item_id word message count punish_url. A body
 *                    that is not JSON after all (an empty number outside
 *                    quotes) goes out as the default body, with a warning.
 *   words            list, default [] (no keyword alerts: the hand-over
 *                    kind alerts on autoreply's hand-over words)
 *   offline_after_s  default 300      back_online   default true
 *   offline, relogin, risk, kicked, delivery_failed, out_of_stock,
 *   low_stock, keyword, handover      default true (that kind's alerts)
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
 * keep their body. What the page set (notify_configure) is applied over the
 * section: url, header, templates (per kind; "" there is the default body),
 * the kinds' switches, words.
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
 *   notify_settings {}  the settings in force, secrets masked -> {url,
 *                      url_set, header, header_set, templates, kinds, words,
 *                      source: {url, header, templates, kinds, words: "page"
 *                      | "config" | "none"}} (notify_page.c)
 *   notify_configure {url, header, templates, kinds, words}  the page's
 *                      settings (omitted: unchanged; "" clears the page's
 *                      value, the config's is in force again), checked as
 *                      the config is, saved in table notify_page, applied at
 *                      once -> as notify_settings
 * Files. notify.c: this manual, keys, schema, making an alert, the session,
 * chats and the orders plugin's topics, housekeeping, init and the
 * descriptor; notify_config.c: the config section; notify_page.c: the
 * settings made on the page and the masking; notify_post.c: the rate
 * limit's window and posting; notify_ctl.c: the control commands;
 * notify_int.h: what they share.
 *
 * Names (STYLE.md's plugin convention, amended for a plugin of several
 * files): a function or table used by one file only is static and prefixed
 * nt_; one another file calls is declared in notify_int.h, prefixed notify_,
 * and hidden (the header's visibility pragma), so the .so still exports only
 * sk_plugin_entry. The shared types and macros keep nt_ / NT_ (and V_).
 */

#include "notify_int.h"

/* The kinds' names, indexed by NT_OFFLINE...: the alert's "kind" and its config template key. */
const char *const notify_kinds[] = { "offline", "online", "relogin", "delivery_failed", "out_of_stock",
	"low_stock", "keyword", "test", "summary", "risk", "kicked", "handover", NULL };

static const char *const nt_vars[] = { "id", "account", "kind", "key", "text", "t", "reason", "seconds", "order_id",
	"card", "needed", "available", "threshold", "chat_id", "buyer_id", "buyer_name", "item_id", "word", "message",
	"count", "punish_url", NULL };
/* Placeholders holding a number: the default body writes them as numbers. */
static const int nt_numeric[NT_NVARS] = { [V_T] = 1, [V_SECONDS] = 1, [V_NEEDED] = 1, [V_AVAILABLE] = 1,
	[V_THRESHOLD] = 1, [V_COUNT] = 1 };

static const sk_config_key nt_keys[] = {
	{ .key = "url", .type = SK_CFG_STR, .help = "the webhook: http:// or https:// (none: alerts wait, pending)" },
	{ .key = "header", .type = SK_CFG_STR, .help = "one extra \"Name: value\" header line (e.g. a token)" },
	{ .key = "templates", .type = SK_CFG_JSON, .help = "{kind: JSON body with {{placeholders}}}" },
	{ .key = "words", .type = SK_CFG_STR_LIST, .help = "a buyer text holding one of these alerts" },
	{ .key = "offline_after_s", .type = SK_CFG_INT, .help = "alert when offline this long (300)" },
	{ .key = "back_online", .type = SK_CFG_BOOL, .help = "alert when back after an offline alert (true)" },
	{ .key = "relogin", .type = SK_CFG_BOOL, .help = "alert when the seller must log in again (true)" },
	{ .key = "risk", .type = SK_CFG_BOOL, .help = "alert when the platform's risk control stops the account (true)" },
	{ .key = "kicked", .type = SK_CFG_BOOL, .help = "alert when another client keeps taking the connection (true)" },
	{ .key = "delivery_failed", .type = SK_CFG_BOOL, .help = "alert on orders.delivery_failed (true)" },
	{ .key = "out_of_stock", .type = SK_CFG_BOOL, .help = "alert on orders.out_of_stock (true)" },
	{ .key = "low_stock", .type = SK_CFG_BOOL, .help = "alert on orders.low_stock (true)" },
	{ .key = "offline", .type = SK_CFG_BOOL, .help = "alert when offline for offline_after_s (true)" },
	{ .key = "keyword", .type = SK_CFG_BOOL, .help = "alert on a buyer text holding one of words (true)" },
	{ .key = "handover", .type = SK_CFG_BOOL, .help = "alert on autoreply.handover: a buyer asks for a human (true)" },
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
	/* the settings made on the page (notify_configure), over the config file's */
	"CREATE TABLE notify_page (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_ms INTEGER NOT NULL);",
	NULL
};

/* ---- small helpers ------------------------------------------------------------ */

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

/* Appends the NUL-terminated s to b. */
void notify_adds(nt_buf *b, const char *s)
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
 * malloc'd string, or NULL without memory. t was checked by notify_tmpl_check. */
static char *nt_render(const char *t, const char *const *vals)
{
	nt_buf b = { 0 };
	const char *s = t, *o;

	while ((o = strstr(s, "{{"))) {
		const char *e = strstr(o + 2, "}}");
		int v = e ? nt_var(o + 2, (size_t)(e - o - 2)) : -1;

		if (v < 0) {
			/* not a placeholder (notify_tmpl_check refuses these): copied */
			nt_add(&b, s, (size_t)(o - s) + 2);
			s = o + 2;
			continue;
		}
		nt_add(&b, s, (size_t)(o - s));
		nt_add_json(&b, vals[v] ? vals[v] : "");
		s = e + 2;
	}
	notify_adds(&b, s);
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
int notify_tmpl_check(const char *t, char *why, size_t n)
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
int notify_row_int(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n >= 1 && c[0].type == SK_INT)
		*(int64_t *)ud = c[0].i;
	return 1;
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
			       "placeholder without a value?): sent with the default body", notify_kinds[a->kind], a->v[V_ID]);
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
int64_t notify_admitted(sk_plugin *p, int64_t now)
{
	sk_value v = SK_VINT(now - NT_HOUR_MS);
	int64_t n = -1;

	if (sk_db_exec(p, "SELECT count(*) FROM notify_alert WHERE state <> 'suppressed' AND created_ms > ?", &v, 1,
		       notify_row_int, &n) < 0)
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
int notify_raise(sk_plugin *p, nt_state *st, nt_alert *a, int flags, char *id_out)
{
	int64_t now = sk_now_ms(p), last = 0, admitted;
	char id[32], t[24], acct[128];
	const char *state;
	char *body;
	int rc;

	if ((flags & NT_DEDUP) && st->dedup_ms > 0) {
		sk_value v[2] = { SK_VTEXT(a->key), SK_VINT(now - st->dedup_ms) };

		if ((rc = sk_db_exec(p, "SELECT id FROM notify_alert WHERE key = ? AND created_ms > ? ORDER BY id DESC "
				     "LIMIT 1", v, 2, notify_row_int, &last)) < 0)
			goto dberr;
		if (last) {
			sk_value u[2] = { SK_VINT(now), SK_VINT(last) };

			sk_db_exec(p, "UPDATE notify_alert SET repeats = repeats + 1, updated_ms = ? WHERE id = ?", u, 2,
				   NULL, NULL);
			st->dropped++;
			sk_log(p, SK_LOG_INFO, "%s alert (%s) dropped: a repeat within dedup_s", notify_kinds[a->kind], a->key);
			return 1;
		}
	}
	/* a summary first, if the window has room for it again */
	if (a->kind != NT_SUMMARY)
		notify_window_check(p, st);
	nt_new_id(p, st, id);
	snprintf(t, sizeof t, "%lld", (long long)now);
	snprintf(acct, sizeof acct, "%s", sk_account_id(p));
	a->v[V_ID] = id;
	a->v[V_ACCOUNT] = acct;
	a->v[V_KIND] = notify_kinds[a->kind];
	a->v[V_KEY] = a->key;
	a->v[V_TEXT] = a->text;
	a->v[V_T] = t;
	if ((admitted = notify_admitted(p, now)) < 0) {
		rc = SK_ERR_DB;
		goto dberr;
	}
	state = admitted >= st->max_per_hour ? "suppressed" : "pending";
	if (!(body = nt_body(p, st, a)))
		return SK_ERR_NOMEM;
	{
		sk_value v[7] = { SK_VTEXT(id), SK_VTEXT(notify_kinds[a->kind]), SK_VTEXT(a->key), SK_VTEXT(a->text),
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
		       "summary follows when there is room", id, notify_kinds[a->kind], (long long)admitted);
		notify_window_check(p, st);
		return 2;
	}
	sk_log(p, SK_LOG_INFO, "alert %s (%s) queued: %s", id, notify_kinds[a->kind], a->text);
	if (!(flags & NT_NOKICK))
		notify_kick(p, st);
	return 0;
dberr:
	sk_log(p, SK_LOG_ERR, "%s alert (%s) lost: database error (%s)", notify_kinds[a->kind], a->key, sk_strerror(p, rc));
	return rc;
}

/* Empties alert a and sets its kind. */
void notify_alert_init(nt_alert *a, int kind)
{
	memset(a, 0, sizeof *a);
	a->kind = kind;
}

/* ---- the session ------------------------------------------------------------------- */

static void nt_offline_cb(sk_plugin *p, uint64_t id, void *ud)
{
	nt_state *st = p->ud;
	char secs[24];
	nt_alert a;

	(void)id, (void)ud;
	st->offline_timer = 0;
	if (!st->outage || st->offline_sent || !st->on_offline)
		return;
	notify_alert_init(&a, NT_OFFLINE);
	snprintf(a.key, sizeof a.key, "offline");
	snprintf(secs, sizeof secs, "%lld", (long long)((sk_mono_ms(p) - st->outage_mono) / 1000));
	snprintf(a.text, sizeof a.text, "账号 %s 已离线 %s 秒%s%s", sk_account_id(p), secs,
		 st->reason[0] ? "：" : "", st->reason);
	a.v[V_REASON] = st->reason;
	a.v[V_SECONDS] = secs;
	st->offline_sent = notify_raise(p, st, &a, NT_DEDUP, NULL) == 0 || st->offline_sent;
}

/* The session left CONNECTED: the outage starts, and its timer. */
static void nt_outage_start(sk_plugin *p, nt_state *st)
{
	st->outage = 1;
	st->outage_mono = sk_mono_ms(p);
	st->offline_sent = 0;
	st->failed_sent = 0;
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

		notify_alert_init(&a, NT_ONLINE);
		snprintf(a.key, sizeof a.key, "online");
		snprintf(secs, sizeof secs, "%lld", (long long)((sk_mono_ms(p) - st->outage_mono) / 1000));
		snprintf(a.text, sizeof a.text, "账号 %s 已恢复在线（离线 %s 秒）", sk_account_id(p), secs);
		a.v[V_SECONDS] = secs;
		notify_raise(p, st, &a, NT_DEDUP, NULL);
	}
	st->outage = st->offline_sent = 0;
	st->failed_sent = 0;
}

/* The session is FAILED: the alert of its kind (the event's fail_kind, ABI
 * 1.4; relogin when the core gives none), once per outage and kind, when
 * that kind's alerts are on. */
static void nt_failed(sk_plugin *p, nt_state *st, const sk_event *e)
{
	int has_kind = e->size >= offsetof(sk_event, punish_url) + sizeof e->punish_url;
	const char *kind = has_kind && e->fail_kind ? e->fail_kind : "";
	const char *url = has_kind && e->punish_url ? e->punish_url : "";
	int k = !strcmp(kind, "risk") ? NT_RISK : !strcmp(kind, "kicked") ? NT_KICKED : NT_RELOGIN;
	int on = k == NT_RISK ? st->on_risk : k == NT_KICKED ? st->on_kicked : st->relogin;
	char punish[NT_FIELD_MAX + 8];
	nt_alert a;

	if (!on || (st->failed_sent & (1u << k)))
		return;
	notify_alert_init(&a, k);
	snprintf(a.key, sizeof a.key, "%s", notify_kinds[k]);
	a.v[V_REASON] = st->reason;
	if (k == NT_RISK) {
		nt_clip(punish, sizeof punish, url, NT_FIELD_MAX);
		snprintf(a.text, sizeof a.text, "账号 %s 被平台风控拦截：请在已登录该账号的浏览器中打开 %s 完成验证"
			 "（shopkeep 稍后会自动重试）%s%s", sk_account_id(p), punish[0] ? punish : "goofish.com",
			 st->reason[0] ? "：" : "", st->reason);
		a.v[V_PUNISH_URL] = punish;
	} else if (k == NT_KICKED) {
		snprintf(a.text, sizeof a.text, "账号 %s 不断被其他客户端挤下线（是否有浏览器登录了该账号？）：请关闭它；"
			 "shopkeep 已停止抢占连接，稍后再试%s%s", sk_account_id(p), st->reason[0] ? "：" : "", st->reason);
	} else {
		snprintf(a.text, sizeof a.text, "账号 %s 需要卖家重新登录（并更新 cookie）%s%s", sk_account_id(p),
			 st->reason[0] ? "：" : "", st->reason);
	}
	st->failed_sent |= 1u << k;
	notify_raise(p, st, &a, NT_DEDUP, NULL);
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
	if (e->state == SK_STATE_FAILED)
		nt_failed(p, st, e);
	return SK_PASS;
}

/* ---- chats and the orders plugin ------------------------------------------------------ */

/* "core.reload" (SIGHUP): the section is read again; one with a bad value
 * changes nothing (the log says why). An outage's timer keeps its old
 * offline_after_s. */
static int nt_on_reload(sk_plugin *p, const sk_event *e, void *ud)
{
	int rc;

	(void)e, (void)ud;
	if ((rc = notify_reconfig(p, p->ud)) == SK_OK)
		sk_log(p, SK_LOG_INFO, "config read again");
	else
		sk_log(p, SK_LOG_ERR, "the notify section read again has errors (%s): the old one stays in force",
		       sk_strerror(p, rc));
	return SK_PASS;
}

/* Raises a buyer's alert of kind (keyword or handover), keyed "<kind>:<chat>"
 * (one per chat within dedup_s), from the clipped fields of the message. */
static void nt_buyer_alert(sk_plugin *p, nt_state *st, int kind, const char *chat, const char *buyer,
			   const char *name, const char *item, const char *word, const char *msg)
{
	const char *who = *name ? name : buyer;
	nt_alert a;

	notify_alert_init(&a, kind);
	snprintf(a.key, sizeof a.key, "%s:%s", notify_kinds[kind], chat);
	if (kind == NT_HANDOVER)
		snprintf(a.text, sizeof a.text, "买家 %s 要求人工：%s", who, msg);
	else
		snprintf(a.text, sizeof a.text, "买家 %s 在会话 %s 中提到“%s”：%s", who, chat, word, msg);
	a.v[V_CHAT_ID] = chat;
	a.v[V_BUYER_ID] = buyer;
	a.v[V_BUYER_NAME] = name;
	a.v[V_ITEM_ID] = item;
	a.v[V_WORD] = word;
	a.v[V_MESSAGE] = msg;
	notify_raise(p, st, &a, NT_DEDUP, NULL);
}

static int nt_on_chat(sk_plugin *p, const sk_event *e, void *ud)
{
	nt_state *st = p->ud;
	char msg[NT_MESSAGE_MAX + 8], chat[NT_FIELD_MAX + 8], name[NT_FIELD_MAX + 8], buyer[NT_FIELD_MAX + 8];
	char item[NT_FIELD_MAX + 8];
	const char *word = NULL;

	(void)ud;
	if (e->own || !st->on_keyword)
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
	nt_buyer_alert(p, st, NT_KEYWORD, chat, buyer, name, item, word, msg);
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

/* autoreply.handover {chat_id, buyer_id, buyer_name, item_id, text, word}:
 * a buyer asked for a human; one alert per chat within dedup_s. */
static int nt_on_handover(sk_plugin *p, const sk_event *e)
{
	nt_state *st = p->ud;
	char chat[NT_FIELD_MAX + 8], buyer[NT_FIELD_MAX + 8], name[NT_FIELD_MAX + 8], item[NT_FIELD_MAX + 8];
	char word[NT_FIELD_MAX + 8], msg[NT_MESSAGE_MAX + 8];
	const cJSON *t;
	cJSON *o;

	if (!st->on_handover || !(o = cJSON_Parse(e->payload_json)))
		return SK_PASS;
	nt_field(o, "chat_id", chat, sizeof chat);
	nt_field(o, "buyer_id", buyer, sizeof buyer);
	nt_field(o, "buyer_name", name, sizeof name);
	nt_field(o, "item_id", item, sizeof item);
	nt_field(o, "word", word, sizeof word);
	t = cJSON_GetObjectItemCaseSensitive(o, "text");
	nt_clip(msg, sizeof msg, cJSON_IsString(t) ? t->valuestring : "", NT_MESSAGE_MAX);
	cJSON_Delete(o);
	nt_buyer_alert(p, st, NT_HANDOVER, chat, buyer, name, item, word, msg);
	return SK_PASS;
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
	if (!strcmp(e->from_plugin, "autoreply") && !strcmp(e->topic, "autoreply.handover"))
		return nt_on_handover(p, e);
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
		notify_alert_init(&a, NT_DELIVERY_FAILED);
		snprintf(a.key, sizeof a.key, "delivery_failed:%s", order);
		snprintf(a.text, sizeof a.text, "订单 %s 发货失败：%s", order, reason);
	} else if (!strcmp(e->topic, "orders.out_of_stock") && st->on_out_of_stock) {
		notify_alert_init(&a, NT_OUT_OF_STOCK);
		snprintf(a.key, sizeof a.key, "out_of_stock:%s", card);
		snprintf(a.text, sizeof a.text, "卡密 %s 库存不足：订单 %s 需要 %s 个，剩余 %s 个", card, order, need,
			 avail);
	} else if (!strcmp(e->topic, "orders.low_stock") && st->on_low_stock) {
		notify_alert_init(&a, NT_LOW_STOCK);
		snprintf(a.key, sizeof a.key, "low_stock:%s", card);
		snprintf(a.text, sizeof a.text, "卡密 %s 库存偏低：剩余 %s 个（预警值 %s）", card, avail, thr);
	} else {
		return SK_PASS;
	}
	a.v[V_ORDER_ID] = order;
	a.v[V_CARD] = card;
	a.v[V_REASON] = reason;
	a.v[V_NEEDED] = need;
	a.v[V_AVAILABLE] = avail;
	a.v[V_THRESHOLD] = thr;
	notify_raise(p, st, &a, NT_DEDUP, NULL);
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
	notify_window_check(p, p->ud);
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
	if ((rc = notify_config(p, st)) != SK_OK) {
		if (rc == SK_ERR_CONFIG)
			sk_log(p, SK_LOG_ERR, "not started: fix the notify section of the config");
		notify_state_free(st);
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
		notify_state_free(st);
		return rc;
	}
	if (notify_controls_add(p) < 0 || notify_page_controls_add(p) < 0)
		sk_log(p, SK_LOG_WARN, "a control command could not be added (its name is taken): notify runs without it");
	/* not connected yet (the process starts before the session): the outage counts from now */
	state = sk_session_state(p);
	if (state != SK_STATE_CONNECTED && state != SK_STATE_CLOSED)
		nt_outage_start(p, st);
	nt_prune(p, st);
	/* a restart retries what was pending at once */
	sk_db_exec(p, "UPDATE notify_alert SET next_ms = 0 WHERE state = 'pending'", NULL, 0, NULL, NULL);
	{
		int64_t n = notify_count_state(p, "pending");

		if (st->url)
			sk_log(p, SK_LOG_INFO, "alerts go to the %s webhook%s; %lld pending from an earlier run",
			       (st->page & NT_S_URL) ? "page's" : "configured", st->header ? " (with a header)" : "",
			       (long long)n);
		else
			sk_log(p, SK_LOG_INFO, "no webhook set (notify.url or the page): alerts are kept, pending, "
			       "until one is; %lld pending", (long long)n);
	}
	notify_window_check(p, st);
	notify_kick(p, st);
	return SK_OK;
}

static void nt_fini(sk_plugin *p)
{
	notify_state_free(p->ud);
	p->ud = NULL;
}

SK_PLUGIN(.name = "notify", .version = "1.0", .description = "alerts the seller through a webhook (JSON POST)",
	  .init = nt_init, .fini = nt_fini, .config_keys = nt_keys, .migrations = nt_migrations);
