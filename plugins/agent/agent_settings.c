/* SPDX-License-Identifier: MIT */
/*
 * plugins/agent/agent_settings.c - the agent's settings: their defaults, the
 * check of every key (one function, agent_setting_apply, for the config
 * file and for what the page saves), the items' entries, and the loading of
 * the settings in force (defaults, then the config section key by key, the
 * api_key_file opened with sk_unseal, then the page's overrides through
 * agent_settings_overlay of agent_ctl.c). The API key is wiped before it is
 * freed and never appears in a message this file writes.
 */

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"
#include "common/sktext.h"

#define AG_URL_MAX 1000
#define AG_MODEL_MAX 200
#define AG_KEY_MAX 1000
#define AG_HEADERS_MAX 20
#define AG_HNAME_MAX 64
#define AG_HVALUE_MAX 1000
#define AG_ITEM_ID_MAX 63
#define AG_BUDGET_MAX 1000000
#define AG_KEYFILE_MAX 65536

const char *const agent_setting_keys[] = {
	"enabled", "base_url", "model", "api_key", "headers", "timeout_ms", "max_tokens", "temperature", "mode",
	"max_steps", "per_hour", "per_day", "per_chat", "max_len", "history", "fallback_text", "guard_text",
	"floor_text", "banned", "prompts_dir", "items", NULL
};

static const char *const ag_default_banned[] = { "微信", "QQ", "支付宝", "银行卡", "线下",
						 "加我", "转账", "私聊", NULL };

/* Frees a string that may hold a secret: its bytes are wiped first. */
static void ag_free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Frees n banned words and their array. */
static void ag_free_words(char **w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

/* Frees one item's strings. */
static void ag_item_clear(ag_item *it)
{
	free(it->item_id);
	free(it->notes);
}

/* Replaces *dst with a copy of src: 0, or -1 without memory (*dst kept). */
static int ag_set_str(char **dst, const char *src)
{
	char *c = strdup(src);

	if (!c)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

/* Whether the n bytes of s hold a control byte (< 0x20 or 0x7f). */
static int ag_has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* Whether the text holds control bytes other than newline and tab. */
static int ag_has_ctl_text(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7f)
			return 1;
	return 0;
}

/* A new ag_settings with the defaults of the manual (agent.c); NULL on no
 * memory. */
ag_settings *agent_settings_new(void)
{
	ag_settings *s = calloc(1, sizeof *s);
	size_t n = 0;

	if (!s)
		return NULL;
	s->enabled = 1;
	s->timeout_ms = AG_DEF_TIMEOUT_MS;
	s->max_tokens = AG_DEF_MAX_TOKENS;
	s->temperature = AG_DEF_TEMPERATURE;
	s->mode = AG_MODE_DEFAULT;
	s->max_steps = AG_DEF_MAX_STEPS;
	s->per_hour = AG_DEF_PER_HOUR;
	s->per_day = AG_DEF_PER_DAY;
	s->per_chat = AG_DEF_PER_CHAT;
	s->max_len = AG_DEF_MAX_LEN;
	s->history = AG_DEF_HISTORY;
	s->base_url = strdup("");
	s->model = strdup("");
	s->headers = strdup("");
	s->fallback_text = strdup("");
	s->guard_text = strdup("这个我没办法答应您哦，有其他问题随时问我～");
	s->floor_text = strdup("这已经是最低价啦，不能再少了哦～");
	s->prompts_dir = strdup("");
	while (ag_default_banned[n])
		n++;
	s->banned = calloc(n, sizeof *s->banned);
	if (s->banned)
		for (; s->nbanned < n; s->nbanned++)
			if (!(s->banned[s->nbanned] = strdup(ag_default_banned[s->nbanned])))
				break;
	if (!s->base_url || !s->model || !s->headers || !s->fallback_text || !s->guard_text || !s->floor_text ||
	    !s->prompts_dir || s->nbanned != n) {
		agent_settings_free(s);
		return NULL;
	}
	return s;
}

/* Frees s (NULL is fine); the API key and the headers are wiped first. */
void agent_settings_free(ag_settings *s)
{
	if (!s)
		return;
	free(s->base_url);
	free(s->model);
	ag_free_secret(s->api_key);
	ag_free_secret(s->headers);
	free(s->fallback_text);
	free(s->guard_text);
	free(s->floor_text);
	free(s->prompts_dir);
	ag_free_words(s->banned, s->nbanned);
	for (size_t i = 0; i < s->nitems; i++)
		ag_item_clear(&s->items[i]);
	free(s->items);
	free(s);
}

/* AG_MODE_* of "inherit" "off" "default" "all"; -2 for anything else. */
int agent_mode_parse(const char *name)
{
	if (!name)
		return -2;
	if (!strcmp(name, "inherit"))
		return AG_MODE_INHERIT;
	if (!strcmp(name, "off"))
		return AG_MODE_OFF;
	if (!strcmp(name, "default"))
		return AG_MODE_DEFAULT;
	if (!strcmp(name, "all"))
		return AG_MODE_ALL;
	return -2;
}

/* The name of an AG_MODE_* ("?" for none). */
const char *agent_mode_name(int mode)
{
	switch (mode) {
	case AG_MODE_INHERIT: return "inherit";
	case AG_MODE_OFF: return "off";
	case AG_MODE_DEFAULT: return "default";
	case AG_MODE_ALL: return "all";
	default: return "?";
	}
}

/* The entry of item_id in s, NULL when it has none (or item_id is ""). */
const ag_item *agent_settings_item(const ag_settings *s, const char *item_id)
{
	if (!s || !item_id || !*item_id)
		return NULL;
	for (size_t i = 0; i < s->nitems; i++)
		if (!strcmp(s->items[i].item_id, item_id))
			return &s->items[i];
	return NULL;
}

/* The mode in force for item_id: its own, else the account's. */
int agent_item_mode(const ag_settings *s, const char *item_id)
{
	const ag_item *it = agent_settings_item(s, item_id);

	return it && it->mode != AG_MODE_INHERIT ? it->mode : s->mode;
}

/* The bargaining steps allowed for item_id: its own, else the account's. */
int64_t agent_item_steps(const ag_settings *s, const char *item_id)
{
	const ag_item *it = agent_settings_item(s, item_id);

	return it && it->max_steps >= 0 ? it->max_steps : s->max_steps;
}

/* The entry of item_id, made (inherit, no floor, no steps of its own, no
 * notes) when missing; NULL on no memory or AG_ITEMS_MAX entries. */
ag_item *agent_item_upsert(ag_settings *s, const char *item_id)
{
	ag_item *it = (ag_item *)agent_settings_item(s, item_id), *grown;

	if (it)
		return it;
	if (s->nitems >= AG_ITEMS_MAX)
		return NULL;
	if (!(grown = realloc(s->items, (s->nitems + 1) * sizeof *grown)))
		return NULL;
	s->items = grown;
	it = &s->items[s->nitems];
	memset(it, 0, sizeof *it);
	it->mode = AG_MODE_INHERIT;
	it->floor_fen = -1;
	it->max_steps = -1;
	if (!(it->item_id = strdup(item_id)) || !(it->notes = strdup(""))) {
		ag_item_clear(it);
		return NULL;
	}
	s->nitems++;
	return it;
}

/* Removes item_id's entry from s (nothing when it has none). */
static void ag_item_remove(ag_settings *s, const char *item_id)
{
	for (size_t i = 0; i < s->nitems; i++)
		if (!strcmp(s->items[i].item_id, item_id)) {
			ag_item_clear(&s->items[i]);
			memmove(&s->items[i], &s->items[i + 1], (s->nitems - i - 1) * sizeof *s->items);
			s->nitems--;
			return;
		}
}

/* An integer setting: v must be a whole number in lo..hi. 0 with *out, or
 * -1 with why. */
static int ag_int(const char *key, const cJSON *v, int64_t lo, int64_t hi, int64_t *out, char *why, size_t wl)
{
	double d;

	if (!cJSON_IsNumber(v) || !isfinite(d = v->valuedouble) || d != floor(d) || d < (double)lo ||
	    d > (double)hi) {
		snprintf(why, wl, "%s: must be a whole number %lld..%lld", key, (long long)lo, (long long)hi);
		return -1;
	}
	*out = (int64_t)d;
	return 0;
}

/* A text setting: v must be a string of at most max bytes, valid for its
 * use (no control bytes when oneline, else none but newline and tab), and
 * not empty when nonempty. Returns v's string or NULL with why. */
static const char *ag_text(const char *key, const cJSON *v, size_t max, int oneline, int nonempty, char *why,
			   size_t wl)
{
	const char *t = cJSON_GetStringValue(v);
	size_t n;

	if (!t) {
		snprintf(why, wl, "%s: must be a string", key);
		return NULL;
	}
	n = strlen(t);
	if (n > max) {
		snprintf(why, wl, "%s: longer than %zu bytes", key, max);
		return NULL;
	}
	if (oneline ? ag_has_ctl(t, n) : ag_has_ctl_text(t)) {
		snprintf(why, wl, "%s: holds a control character", key);
		return NULL;
	}
	if (nonempty && !*t) {
		snprintf(why, wl, "%s: must not be empty", key);
		return NULL;
	}
	return t;
}

/* Whether url is "" or an http(s) URL with a host and no blanks. */
static int ag_url_ok(const char *url)
{
	const char *h;

	if (!*url)
		return 1;
	if (!strncmp(url, "http://", 7))
		h = url + 7;
	else if (!strncmp(url, "https://", 8))
		h = url + 8;
	else
		return 0;
	if (!*h || *h == '/' || *h == '?' || *h == '#')
		return 0;
	for (; *url; url++)
		if (*url == ' ' || *url == '"' || *url == '<' || *url == '>' || *url == '\\')
			return 0;
	return 1;
}

/* Whether name is a header name the agent may send ([A-Za-z0-9-_], not
 * one the host writes itself, not the Authorization the key makes). */
static int ag_hname_ok(const char *name)
{
	static const char *const own[] = { "host", "content-length", "transfer-encoding", "connection",
					   "content-type", "authorization", NULL };
	size_t n = strlen(name);

	if (!n || n > AG_HNAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
			return 0;
	for (int i = 0; own[i]; i++)
		if (!strcasecmp(name, own[i]))
			return 0;
	return 1;
}

/* The "headers" setting: an object {name: value} becomes "Name: value\n"
 * lines in *out (malloc'd). 0, or -1 with why (naming the header, never its
 * value). */
static int ag_headers(const cJSON *v, char **out, char *why, size_t wl)
{
	const cJSON *h;
	size_t len = 1, n = 0;
	char *buf, *w;

	if (!cJSON_IsObject(v)) {
		snprintf(why, wl, "headers: must be an object {\"Name\": \"value\"}");
		return -1;
	}
	cJSON_ArrayForEach(h, v) {
		const char *val = cJSON_GetStringValue(h);

		if (++n > AG_HEADERS_MAX) {
			snprintf(why, wl, "headers: more than %d", AG_HEADERS_MAX);
			return -1;
		}
		if (!h->string || !ag_hname_ok(h->string)) {
			snprintf(why, wl, "headers.%.64s: not a header name the agent may send "
				 "([A-Za-z0-9-_], not Host, Content-*, Connection, Transfer-Encoding, Authorization)",
				 h->string ? h->string : "");
			return -1;
		}
		if (!val) {
			snprintf(why, wl, "headers.%s: must be a string", h->string);
			return -1;
		}
		if (strlen(val) > AG_HVALUE_MAX || ag_has_ctl(val, strlen(val))) {
			snprintf(why, wl, "headers.%s: longer than %d bytes or holds a control character", h->string,
				 AG_HVALUE_MAX);
			return -1;
		}
		len += strlen(h->string) + strlen(val) + 3;
	}
	if (!(buf = malloc(len))) {
		snprintf(why, wl, "headers: out of memory");
		return -1;
	}
	w = buf;
	*w = '\0';
	cJSON_ArrayForEach(h, v)
		w += sprintf(w, "%s: %s\n", h->string, h->valuestring);
	*out = buf;
	return 0;
}

/* The "banned" setting: a list of 1..AG_WORD_MAX-byte words. 0 with a new
 * array in *out / *nout, or -1 with why. */
static int ag_banned(const cJSON *v, char ***out, size_t *nout, char *why, size_t wl)
{
	const cJSON *w;
	size_t n = 0, i = 0;
	char **arr;

	if (!cJSON_IsArray(v)) {
		snprintf(why, wl, "banned: must be a list of words");
		return -1;
	}
	cJSON_ArrayForEach(w, v) {
		const char *t = cJSON_GetStringValue(w);

		if (!t || !*t || strlen(t) > AG_WORD_MAX || ag_has_ctl(t, strlen(t))) {
			snprintf(why, wl, "banned[%zu]: must be a word of 1..%d bytes", n, AG_WORD_MAX);
			return -1;
		}
		if (++n > AG_BANNED_MAX) {
			snprintf(why, wl, "banned: more than %d words", AG_BANNED_MAX);
			return -1;
		}
	}
	if (!(arr = calloc(n ? n : 1, sizeof *arr))) {
		snprintf(why, wl, "banned: out of memory");
		return -1;
	}
	cJSON_ArrayForEach(w, v) {
		if (!(arr[i] = strdup(w->valuestring))) {
			ag_free_words(arr, i);
			snprintf(why, wl, "banned: out of memory");
			return -1;
		}
		i++;
	}
	*out = arr;
	*nout = n;
	return 0;
}

/* One item's checked settings, before they are applied. */
typedef struct {
	const char *id;
	int del;
	int has_mode, mode;
	int has_floor;
	int64_t floor_fen;
	int has_steps;
	int64_t steps;
	const char *notes;
} ag_item_set;

/* A floor: a number of yuan, or a string "80" "80.5" "80元"; null or ""
 * clear it (-1). 0, or -1 with why. */
static int ag_floor(const char *id, const cJSON *v, int64_t *fen, char *why, size_t wl)
{
	const char *t;

	if (cJSON_IsNull(v)) {
		*fen = -1;
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (!isfinite(d) || d < 0 || d > 1e9 || fabs(d * 100 - round(d * 100)) > 1e-6) {
			snprintf(why, wl, "items.%s.floor: must be 0..1000000000 yuan with at most 2 decimals", id);
			return -1;
		}
		*fen = (int64_t)llround(d * 100);
		return 0;
	}
	if ((t = cJSON_GetStringValue(v))) {
		if (!*t) {
			*fen = -1;
			return 0;
		}
		if (!agent_yuan_parse(t, fen) && *fen >= 0)
			return 0;
	}
	snprintf(why, wl, "items.%s.floor: must be an amount of yuan (80, \"80.50\", \"80元\")", id);
	return -1;
}

/* Checks the items object {item_id: {mode, floor, max_steps, notes,
 * delete}} into sets[] (n entries). 0, or -1 with why naming the field. */
static int ag_items_check(const cJSON *v, ag_item_set *sets, size_t n, char *why, size_t wl)
{
	const cJSON *e;
	size_t i = 0;

	cJSON_ArrayForEach(e, v) {
		ag_item_set *x = &sets[i++];
		const cJSON *f;
		const char *id = e->string ? e->string : "";

		memset(x, 0, sizeof *x);
		x->id = id;
		if (!*id || strlen(id) > AG_ITEM_ID_MAX || ag_has_ctl(id, strlen(id)) || strchr(id, '"')) {
			snprintf(why, wl, "items.%.80s: not an item id (1..%d bytes)", id, AG_ITEM_ID_MAX);
			return -1;
		}
		if (!cJSON_IsObject(e)) {
			snprintf(why, wl, "items.%s: must be an object {mode, floor, max_steps, notes}", id);
			return -1;
		}
		cJSON_ArrayForEach(f, e) {
			const char *k = f->string ? f->string : "";

			if (!strcmp(k, "mode")) {
				x->has_mode = 1;
				if ((x->mode = agent_mode_parse(cJSON_GetStringValue(f))) == -2) {
					snprintf(why, wl, "items.%s.mode: must be inherit, off, default or all", id);
					return -1;
				}
			} else if (!strcmp(k, "floor")) {
				x->has_floor = 1;
				if (ag_floor(id, f, &x->floor_fen, why, wl))
					return -1;
			} else if (!strcmp(k, "max_steps")) {
				x->has_steps = 1;
				x->steps = -1;
				if (!cJSON_IsNull(f)) {
					char key[96];

					snprintf(key, sizeof key, "items.%s.max_steps", id);
					if (ag_int(key, f, 0, 20, &x->steps, why, wl))
						return -1;
				}
			} else if (!strcmp(k, "notes")) {
				char key[96];

				snprintf(key, sizeof key, "items.%s.notes", id);
				if (!(x->notes = ag_text(key, f, AG_NOTES_MAX, 0, 0, why, wl)))
					return -1;
			} else if (!strcmp(k, "delete")) {
				if (!cJSON_IsBool(f)) {
					snprintf(why, wl, "items.%s.delete: must be true or false", id);
					return -1;
				}
				x->del = cJSON_IsTrue(f);
			} else {
				snprintf(why, wl, "items.%s.%.40s: unknown field (mode, floor, max_steps, notes, delete)",
					 id, k);
				return -1;
			}
		}
	}
	(void)n;
	return 0;
}

/* The "items" setting, checked as a whole before any of it is applied. */
static int ag_items(ag_settings *s, const cJSON *v, char *why, size_t wl)
{
	size_t n = 0, added = 0;
	ag_item_set *sets;
	const cJSON *e;

	if (!cJSON_IsObject(v)) {
		snprintf(why, wl, "items: must be an object {\"<item_id>\": {mode, floor, max_steps, notes}}");
		return -1;
	}
	cJSON_ArrayForEach(e, v)
		n++;
	if (!n)
		return 0;
	if (n > AG_ITEMS_MAX) {
		snprintf(why, wl, "items: more than %d", AG_ITEMS_MAX);
		return -1;
	}
	if (!(sets = calloc(n, sizeof *sets))) {
		snprintf(why, wl, "items: out of memory");
		return -1;
	}
	if (ag_items_check(v, sets, n, why, wl)) {
		free(sets);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!sets[i].del && !agent_settings_item(s, sets[i].id))
			added++;
	if (s->nitems + added > AG_ITEMS_MAX) {
		snprintf(why, wl, "items: more than %d", AG_ITEMS_MAX);
		free(sets);
		return -1;
	}
	/* Copies and room first, so that no memory failure leaves half of it
	 * applied. */
	{
		char **ids = calloc(n, sizeof *ids), **notes = calloc(n, sizeof *notes);
		ag_item *room = NULL;
		size_t i;
		int oom = !ids || !notes;

		for (i = 0; !oom && i < n; i++)
			if (!(ids[i] = strdup(sets[i].id)) || (sets[i].notes && !(notes[i] = strdup(sets[i].notes))) ||
			    (!sets[i].notes && !(notes[i] = strdup(""))))
				oom = 1;
		if (!oom && added && !(room = realloc(s->items, (s->nitems + added) * sizeof *room)))
			oom = 1;
		if (room)
			s->items = room;
		if (oom) {
			for (i = 0; i < n; i++) {
				free(ids ? ids[i] : NULL);
				free(notes ? notes[i] : NULL);
			}
			free(ids);
			free(notes);
			free(sets);
			snprintf(why, wl, "items: out of memory");
			return -1;
		}
		for (i = 0; i < n; i++) {
			ag_item *it = (ag_item *)agent_settings_item(s, sets[i].id);

			if (sets[i].del) {
				ag_item_remove(s, sets[i].id);
				free(ids[i]);
				free(notes[i]);
				continue;
			}
			if (!it) {
				/* In the room made above. */
				it = &s->items[s->nitems++];
				it->item_id = ids[i];
				it->mode = AG_MODE_INHERIT;
				it->floor_fen = -1;
				it->max_steps = -1;
				it->notes = notes[i];
				notes[i] = NULL;
			} else {
				free(ids[i]);
			}
			if (sets[i].has_mode)
				it->mode = sets[i].mode;
			if (sets[i].has_floor)
				it->floor_fen = sets[i].floor_fen;
			if (sets[i].has_steps)
				it->max_steps = sets[i].steps;
			if (sets[i].notes && notes[i]) {
				free(it->notes);
				it->notes = notes[i];
			} else {
				free(notes[i]);
			}
		}
		free(ids);
		free(notes);
	}
	free(sets);
	return 0;
}

/* Checks the setting key = v and applies it to s: 0, or -1 with why naming
 * the key (never the API key's or a header's value); s is unchanged then.
 * The limits are the manual's (agent.c). */
int agent_setting_apply(ag_settings *s, const char *key, const cJSON *v, char *why, size_t wl)
{
	const char *t;
	int64_t n;

	if (!key || !v) {
		snprintf(why, wl, "%s: no value", key ? key : "?");
		return -1;
	}
	if (!strcmp(key, "enabled")) {
		if (!cJSON_IsBool(v)) {
			snprintf(why, wl, "enabled: must be true or false");
			return -1;
		}
		s->enabled = cJSON_IsTrue(v);
		return 0;
	}
	if (!strcmp(key, "base_url")) {
		if (!(t = ag_text(key, v, AG_URL_MAX, 1, 0, why, wl)))
			return -1;
		if (!ag_url_ok(t)) {
			snprintf(why, wl, "base_url: must be \"\" or an http:// or https:// URL with a host");
			return -1;
		}
		goto set_str;
	}
	if (!strcmp(key, "model")) {
		if (!(t = ag_text(key, v, AG_MODEL_MAX, 1, 0, why, wl)))
			return -1;
		goto set_str;
	}
	if (!strcmp(key, "api_key")) {
		char *c;

		/* Never the value in why: the key is a secret. */
		if (!(t = ag_text(key, v, AG_KEY_MAX, 1, 0, why, wl)))
			return -1;
		if (strchr(t, ' ')) {
			snprintf(why, wl, "api_key: holds a blank");
			return -1;
		}
		if (!*t) {
			ag_free_secret(s->api_key);
			s->api_key = NULL;
			return 0;
		}
		if (!(c = strdup(t))) {
			snprintf(why, wl, "api_key: out of memory");
			return -1;
		}
		ag_free_secret(s->api_key);
		s->api_key = c;
		return 0;
	}
	if (!strcmp(key, "headers")) {
		char *h;

		if (ag_headers(v, &h, why, wl))
			return -1;
		ag_free_secret(s->headers);
		s->headers = h;
		return 0;
	}
	if (!strcmp(key, "timeout_ms")) {
		if (ag_int(key, v, 1000, 120000, &n, why, wl))
			return -1;
		s->timeout_ms = n;
		return 0;
	}
	if (!strcmp(key, "max_tokens")) {
		if (ag_int(key, v, 1, 4096, &n, why, wl))
			return -1;
		s->max_tokens = n;
		return 0;
	}
	if (!strcmp(key, "temperature")) {
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 2) {
			snprintf(why, wl, "temperature: must be a number 0..2");
			return -1;
		}
		s->temperature = v->valuedouble;
		return 0;
	}
	if (!strcmp(key, "mode")) {
		int m = agent_mode_parse(cJSON_GetStringValue(v));

		if (m < AG_MODE_OFF) {
			snprintf(why, wl, "mode: must be off, default or all");
			return -1;
		}
		s->mode = m;
		return 0;
	}
	if (!strcmp(key, "max_steps")) {
		if (ag_int(key, v, 0, 20, &n, why, wl))
			return -1;
		s->max_steps = n;
		return 0;
	}
	if (!strcmp(key, "per_hour") || !strcmp(key, "per_day") || !strcmp(key, "per_chat")) {
		if (ag_int(key, v, 0, AG_BUDGET_MAX, &n, why, wl))
			return -1;
		*(key[4] == 'h' ? &s->per_hour : key[4] == 'd' ? &s->per_day : &s->per_chat) = n;
		return 0;
	}
	if (!strcmp(key, "max_len")) {
		if (ag_int(key, v, 10, 2000, &n, why, wl))
			return -1;
		s->max_len = n;
		return 0;
	}
	if (!strcmp(key, "history")) {
		if (ag_int(key, v, 0, 50, &n, why, wl))
			return -1;
		s->history = n;
		return 0;
	}
	if (!strcmp(key, "fallback_text") || !strcmp(key, "guard_text") || !strcmp(key, "floor_text")) {
		/* The guard's and the floor's texts are what the buyer gets instead
		 * of a refused answer: never empty (never silence). */
		if (!(t = ag_text(key, v, AG_TEXT_MAX, 0, strcmp(key, "fallback_text") != 0, why, wl)))
			return -1;
		goto set_str;
	}
	if (!strcmp(key, "banned")) {
		char **w;
		size_t nw;

		if (ag_banned(v, &w, &nw, why, wl))
			return -1;
		ag_free_words(s->banned, s->nbanned);
		s->banned = w;
		s->nbanned = nw;
		return 0;
	}
	if (!strcmp(key, "prompts_dir")) {
		if (!(t = ag_text(key, v, AG_URL_MAX, 1, 0, why, wl)))
			return -1;
		goto set_str;
	}
	if (!strcmp(key, "items"))
		return ag_items(s, v, why, wl);
	snprintf(why, wl, "%.60s: not a setting of the agent", key);
	return -1;

set_str: {
		char **dst = !strcmp(key, "base_url") ? &s->base_url
			     : !strcmp(key, "model") ? &s->model
			     : !strcmp(key, "fallback_text") ? &s->fallback_text
			     : !strcmp(key, "guard_text") ? &s->guard_text
			     : !strcmp(key, "floor_text") ? &s->floor_text
							  : &s->prompts_dir;

		if (ag_set_str(dst, t)) {
			snprintf(why, wl, "%s: out of memory", key);
			return -1;
		}
		return 0;
	}
}

/* Reads the api_key_file of the config (a secret file of `shopkeep secret
 * set`, or an sk_seal'd line) and opens it into s's key. 0 (also when the key
 * is not set), or -1 with why (never the key). */
static int ag_key_file(sk_plugin *p, ag_settings *s, char *why, size_t wl)
{
	const char *path = sk_config_str(p, "api_key_file", "");
	char rwhy[160];
	char *text;

	if (!path || !*path)
		return 0;
	if (!(text = sktext_read_file(path, AG_KEYFILE_MAX, rwhy, sizeof rwhy))) {
		snprintf(why, wl, "api_key_file: %s: %s", path, rwhy);
		return -1;
	}
	/* A trailing newline of a file written by hand is not part of it. */
	for (size_t n = strlen(text); n && isspace((unsigned char)text[n - 1]);)
		text[--n] = '\0';
#if SK_ABI_MINOR >= 6
	{
		char *plain = NULL;
		int rc = SK_HOST_HAS(p, unseal) ? sk_unseal(p, text, &plain) : SK_ERR_UNSUPPORTED;

		ag_free_secret(text);
		if (rc != SK_OK) {
			snprintf(why, wl, "api_key_file: %s: cannot open it (%s)", path, sk_strerror(p, rc));
			return -1;
		}
		{
			cJSON *v = cJSON_CreateString(plain);
			int r;

			explicit_bzero(plain, strlen(plain));
			sk_free(p, plain);
			if (!v) {
				snprintf(why, wl, "api_key_file: out of memory");
				return -1;
			}
			r = agent_setting_apply(s, "api_key", v, why, wl);
			explicit_bzero(v->valuestring, strlen(v->valuestring));
			cJSON_Delete(v);
			return r;
		}
	}
#else
	(void)s;
	ag_free_secret(text);
	snprintf(why, wl, "api_key_file: this host cannot open secrets (sk_unseal needs plugin ABI 1.6)");
	return -1;
#endif
}

/* The settings in force: the defaults, the config section key by key, the
 * api_key_file, the page's overrides. A new ag_settings, or NULL with why
 * ("<key>: ...": the caller prefixes "agent."). */
ag_settings *agent_settings_load(sk_plugin *p, char *why, size_t wl)
{
	ag_settings *s = agent_settings_new();

	if (!s) {
		snprintf(why, wl, "out of memory");
		return NULL;
	}
	for (int i = 0; agent_setting_keys[i]; i++) {
		const char *key = agent_setting_keys[i], *json;
		cJSON *v;
		int r;

		if (!strcmp(key, "api_key") || !(json = sk_config_json(p, key)))
			continue;
		if (!(v = cJSON_Parse(json))) {
			snprintf(why, wl, "%s: not JSON", key);
			agent_settings_free(s);
			return NULL;
		}
		r = agent_setting_apply(s, key, v, why, wl);
		cJSON_Delete(v);
		if (r) {
			agent_settings_free(s);
			return NULL;
		}
	}
	if (ag_key_file(p, s, why, wl) || agent_settings_overlay(p, s, why, wl)) {
		agent_settings_free(s);
		return NULL;
	}
	return s;
}
