/* SPDX-License-Identifier: MIT */
/*
 * plugins/notify/notify_config.c - the config section: read, checked (the
 * webhook, its header, the templates), swapped in on a reload; the state freed.
 */

#include "notify_int.h"

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

/* Reads and checks the section into st. SK_OK, or SK_ERR_CONFIG with every
 * problem logged, or SK_ERR_NOMEM. */
int notify_config(sk_plugin *p, nt_state *st)
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

			for (k = 0; notify_kinds[k] && strcmp(notify_kinds[k], e->string); k++)
				;
			if (!notify_kinds[k]) {
				size_t len = (size_t)snprintf(why, sizeof why, "no such kind (kinds:");

				for (int i = 0; notify_kinds[i] && len < sizeof why; i++)
					len += (size_t)snprintf(why + len, sizeof why - len, " %s", notify_kinds[i]);
				sk_log(p, SK_LOG_ERR, "notify.templates.%.60s: %s)", e->string, why);
				bad++;
			} else if (!cJSON_IsString(e)) {
				sk_log(p, SK_LOG_ERR, "notify.templates.%s: must be a string (a JSON body)", e->string);
				bad++;
			} else if (notify_tmpl_check(e->valuestring, why, sizeof why)) {
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
	st->on_risk = sk_config_bool(p, "risk", 1);
	st->on_kicked = sk_config_bool(p, "kicked", 1);
	st->on_delivery_failed = sk_config_bool(p, "delivery_failed", 1);
	st->on_out_of_stock = sk_config_bool(p, "out_of_stock", 1);
	st->on_low_stock = sk_config_bool(p, "low_stock", 1);
	return bad ? SK_ERR_CONFIG : SK_OK;
}
