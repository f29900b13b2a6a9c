/* SPDX-License-Identifier: MIT */
/*
 * plugins/notify/notify_config.c - the config section: read, checked (the
 * webhook, its header, the templates), swapped in on a reload; the state freed.
 */

#include "notify_int.h"

#include <stddef.h>

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

/* The kinds one may switch off, in notify_settings' order. */
const nt_toggle notify_toggles[] = {
	{ "offline", "offline", offsetof(nt_state, on_offline) },
	{ "online", "back_online", offsetof(nt_state, back_online) },
	{ "relogin", "relogin", offsetof(nt_state, relogin) },
	{ "risk", "risk", offsetof(nt_state, on_risk) },
	{ "kicked", "kicked", offsetof(nt_state, on_kicked) },
	{ "delivery_failed", "delivery_failed", offsetof(nt_state, on_delivery_failed) },
	{ "out_of_stock", "out_of_stock", offsetof(nt_state, on_out_of_stock) },
	{ "low_stock", "low_stock", offsetof(nt_state, on_low_stock) },
	{ "keyword", "keyword", offsetof(nt_state, on_keyword) },
	{ "handover", "handover", offsetof(nt_state, on_handover) },
	{ NULL, NULL, 0 }
};

/* Checks the webhook: http:// or https://, at most NT_URL_MAX bytes, no
 * space or line break. 0, or -1 with the reason in why (never the url). */
int notify_url_check(const char *url, char *why, size_t n)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		snprintf(why, n, "notify.url: must start with http:// or https://");
		return -1;
	}
	if (strlen(url) > NT_URL_MAX || strpbrk(url, " \t\r\n")) {
		snprintf(why, n, "notify.url: longer than %d bytes, or has a space or a line break", NT_URL_MAX);
		return -1;
	}
	return 0;
}

/* Checks the one header line: "Name: value", a token name that is not one
 * the plugin or the host writes, no control character. 0, or -1 with the
 * reason in why (never with the value). */
int notify_header_check(const char *h, char *why, size_t n)
{
	static const char *const taken[] = { "host", "content-length", "transfer-encoding", "connection",
		"x-shopkeep-alert-id", "x-shopkeep-kind", "x-shopkeep-attempt", NULL };
	const char *colon = strchr(h, ':');
	size_t len = colon ? (size_t)(colon - h) : 0;

	if (!len) {
		snprintf(why, n, "notify.header: must be one \"Name: value\" line");
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      strchr("!#$%&'*+-.^_`|~", h[i]))) {
			snprintf(why, n, "notify.header: the name before ':' has a character not allowed in a header name");
			return -1;
		}
	for (const char *s = colon + 1; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f) {
			snprintf(why, n, "notify.header: the value has a control character (a line break?): give exactly "
				 "one line");
			return -1;
		}
	for (int i = 0; taken[i]; i++)
		if (strlen(taken[i]) == len && !strncasecmp(h, taken[i], len)) {
			snprintf(why, n, "notify.header: %.*s is written by notify or the host itself", (int)len, h);
			return -1;
		}
	return 0;
}

/* Checks the templates object o ({kind: JSON body text}) and, with tmpl
 * (NT_NKINDS slots) not NULL, puts a copy of each into its kind's slot. With
 * page set, an empty text means the kind's default body (its slot emptied).
 * 0, -1 with the first problem in why (naming the kind), or SK_ERR_NOMEM. */
int notify_templates_take(const cJSON *o, char **tmpl, int page, char *why, size_t n)
{
	const cJSON *e;

	if (!cJSON_IsObject(o)) {
		snprintf(why, n, "notify.templates: must be an object {\"<kind>\": \"<JSON body>\"}");
		return -1;
	}
	cJSON_ArrayForEach(e, o) {
		char r[400];
		int k;

		for (k = 0; notify_kinds[k] && strcmp(notify_kinds[k], e->string); k++)
			;
		if (!notify_kinds[k]) {
			size_t len = (size_t)snprintf(r, sizeof r, "no such kind (kinds:");

			for (int i = 0; notify_kinds[i] && len < sizeof r; i++)
				len += (size_t)snprintf(r + len, sizeof r - len, " %s", notify_kinds[i]);
			snprintf(why, n, "notify.templates.%.60s: %s)", e->string, r);
			return -1;
		}
		if (!cJSON_IsString(e)) {
			snprintf(why, n, "notify.templates.%s: must be a string (a JSON body)", e->string);
			return -1;
		}
		if (page && !*e->valuestring) {
			if (tmpl) {
				free(tmpl[k]);
				tmpl[k] = NULL;
			}
			continue;
		}
		if (notify_tmpl_check(e->valuestring, r, sizeof r)) {
			snprintf(why, n, "notify.templates.%s: %s", e->string, r);
			return -1;
		}
		if (tmpl) {
			char *c = strdup(e->valuestring);

			if (!c)
				return SK_ERR_NOMEM;
			free(tmpl[k]);
			tmpl[k] = c;
		}
	}
	return 0;
}

/* Checks the words list a (non-empty texts of at most NT_WORD_MAX bytes)
 * and, with st not NULL, makes them st's words (the old ones freed). 0, -1
 * with the problem in why, or SK_ERR_NOMEM. */
int notify_words_take(const cJSON *a, nt_state *st, char *why, size_t n)
{
	size_t i = 0, cnt;
	const cJSON *e;
	char **w;

	if (!cJSON_IsArray(a)) {
		snprintf(why, n, "notify.words: must be a list of texts");
		return -1;
	}
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || !*e->valuestring || strlen(e->valuestring) > NT_WORD_MAX) {
			snprintf(why, n, "notify.words[%zu]: must be a non-empty text of at most %d bytes", i, NT_WORD_MAX);
			return -1;
		}
		i++;
	}
	if (!st)
		return 0;
	cnt = i;
	if (!(w = calloc(cnt + 1, sizeof *w)))
		return SK_ERR_NOMEM;
	i = 0;
	cJSON_ArrayForEach(e, a) {
		if (!(w[i] = strdup(e->valuestring))) {
			while (i--)
				free(w[i]);
			free(w);
			return SK_ERR_NOMEM;
		}
		i++;
	}
	for (size_t k = 0; k < st->nwords; k++)
		free(st->words[k]);
	free(st->words);
	st->words = w;
	st->nwords = cnt;
	return 0;
}

/* Swaps the config members of a and b (the runtime state stays). */
void notify_config_swap(nt_state *a, nt_state *b)
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
	a->on_risk = b->on_risk, a->on_kicked = b->on_kicked;
	a->on_delivery_failed = b->on_delivery_failed, a->on_out_of_stock = b->on_out_of_stock;
	a->on_low_stock = b->on_low_stock;
	a->on_offline = b->on_offline, a->on_keyword = b->on_keyword, a->on_handover = b->on_handover;
	a->page = b->page, a->cfg = b->cfg;
}

/* Frees the state and everything it holds (NULL is fine). */
void notify_state_free(nt_state *st)
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

/* Logs why (a config problem) and counts it in *bad. */
static void nt_bad(sk_plugin *p, const char *why, int *bad)
{
	sk_log(p, SK_LOG_ERR, "%s", why);
	(*bad)++;
}

/* Reads and checks the section into st, then the page's settings over it
 * (notify_page_apply). SK_OK, or SK_ERR_CONFIG with every problem logged,
 * or SK_ERR_NOMEM. No url is fine: the alerts wait for one (pending). */
int notify_config(sk_plugin *p, nt_state *st)
{
	const char *url = sk_config_str(p, "url", ""), *hdr = sk_config_str(p, "header", NULL);
	const char *tj = sk_config_json(p, "templates"), *wj = sk_config_json(p, "words");
	char why[600];
	int bad = 0, rc;
	int64_t v = 0;

	if (url && *url) {
		if (notify_url_check(url, why, sizeof why))
			nt_bad(p, why, &bad);
		else if (!(st->url = strdup(url)))
			return SK_ERR_NOMEM;
		st->cfg |= NT_S_URL;
	}
	if (hdr && *hdr) {
		if (notify_header_check(hdr, why, sizeof why))
			nt_bad(p, why, &bad);
		else if (!(st->header = strdup(hdr)))
			return SK_ERR_NOMEM;
		st->cfg |= NT_S_HEADER;
	}
	if (tj) {
		cJSON *t = cJSON_Parse(tj);

		rc = notify_templates_take(t, st->tmpl, 0, why, sizeof why);
		cJSON_Delete(t);
		if (rc == SK_ERR_NOMEM)
			return rc;
		if (rc)
			nt_bad(p, why, &bad);
		st->cfg |= NT_S_TEMPLATES;
	}
	/* no words by default: the hand-over kind alerts on autoreply's words */
	if (wj) {
		cJSON *w = cJSON_Parse(wj);

		rc = notify_words_take(w, st, why, sizeof why);
		cJSON_Delete(w);
		if (rc == SK_ERR_NOMEM)
			return rc;
		if (rc)
			nt_bad(p, why, &bad);
		st->cfg |= NT_S_WORDS;
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
	for (int i = 0; notify_toggles[i].kind; i++) {
		if (sk_config_json(p, notify_toggles[i].key))
			st->cfg |= NT_S_KINDS;
		*(int *)((char *)st + notify_toggles[i].off) = sk_config_bool(p, notify_toggles[i].key, 1);
	}
	if (bad)
		return SK_ERR_CONFIG;
	notify_page_apply(p, st);
	return SK_OK;
}

/* Reads the section and the page's settings again into st (a reload, a
 * change from the page) and posts what waits. SK_OK, or the error of
 * notify_config (logged; st unchanged). */
int notify_reconfig(sk_plugin *p, nt_state *st)
{
	nt_state *fresh = calloc(1, sizeof *fresh);
	int rc;

	if (!fresh)
		return SK_ERR_NOMEM;
	if ((rc = notify_config(p, fresh)) == SK_OK) {
		notify_config_swap(st, fresh);
		notify_kick(p, st);
	}
	notify_state_free(fresh);
	return rc;
}
