/* SPDX-License-Identifier: MIT */
/*
 * plugins/agent/agent_ctl.c - the agent's settings made on the web page and
 * its control commands (the manual is at the top of agent.c; web/API.md has
 * the answers field by field).
 *
 * The page's overrides live in agent_setting (one row per key, the value as
 * the JSON text of the key's value) and agent_item (one row per item, all
 * its settings). agent_settings_overlay applies them over the config file's
 * section, key by key; an item's row replaces the config's entry for that
 * item ("delete" gives it back). The secrets - the API key and the extra
 * headers - are stored sealed with the account's key (sk_seal: a JSON string
 * of the base64 line) and leave the process only masked: the key as
 * "sk-a****yz", each header value as "****", the base URL without its
 * user:password and with its query values masked (plugins/common/skmask.h).
 * Neither an answer nor a log line holds them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent_int.h"
#include "common/skctl.h"
#include "common/skmask.h"

#define AG_SENDS_MAX 200        /* agent_sends: sends per call */
#define AG_DECISIONS_MAX 500    /* agent_decisions: rows per call */
#define AG_ITEM_ID_MAX 63       /* bytes of an item id */
#define AG_FLOOR_MAX_FEN (INT64_C(100000000) * 100)   /* 1 亿元 */
#define AG_STEPS_MAX 20

/* The settings the page may change (agent_configure's fields but "items",
 * in the order they are checked); the others (api_key_file, prompts_dir,
 * the config's items object) stay the config file's. */
static const char *const ag_page_keys[] = { "enabled", "base_url", "model", "api_key", "headers", "timeout_ms",
	"max_tokens", "temperature", "mode", "max_steps", "per_hour", "per_day", "per_chat", "max_len", "history",
	"fallback_text", "guard_text", "floor_text", "banned", NULL };

/* Whether key is one of ag_page_keys. */
static int ag_page_key(const char *key)
{
	for (int i = 0; ag_page_keys[i]; i++)
		if (!strcmp(ag_page_keys[i], key))
			return 1;
	return 0;
}

/* Whether key's value is a secret (stored sealed, never logged). */
static int ag_secret_key(const char *key)
{
	return !strcmp(key, "api_key") || !strcmp(key, "headers");
}

/* Wipes and frees a malloc'd secret (NULL is fine). */
static void ag_wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Wipes and frees a secret the host allocated (sk_unseal's). */
static void ag_wipe_sk_free(sk_plugin *p, char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		sk_free(p, s);
	}
}

/* Wipes every string of j (an api_key string or a headers object), then
 * deletes it. */
static void ag_json_wipe_delete(cJSON *j)
{
	const cJSON *c;

	if (!j)
		return;
	if (cJSON_IsString(j) && j->valuestring)
		explicit_bzero(j->valuestring, strlen(j->valuestring));
	cJSON_ArrayForEach(c, j)
		if (cJSON_IsString(c) && c->valuestring)
			explicit_bzero(c->valuestring, strlen(c->valuestring));
	cJSON_Delete(j);
}

/* ---- the overlay: the page's rows over the config ---------------------------------------- */

/* One agent_setting row (key, value) applied to the settings ud; a row that
 * does not pass its check any more (the table edited by hand, a key of an
 * older version) is logged - the check's text names the key, never a
 * secret's value - and left out. Always 0: the other rows go on. */
static int ag_row_setting(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	ag_settings *s = ud;
	const char *key;
	char why[300] = "", *plain = NULL;
	cJSON *j = NULL, *v = NULL;
	int rc;

	if (n < 2 || c[0].type != SK_TEXT || c[1].type != SK_TEXT)
		return 0;
	key = c[0].s;
	if (!ag_page_key(key)) {
		sk_log(p, SK_LOG_WARN, "agent_setting %.40s: not a setting of the page: left out", key);
		return 0;
	}
	j = cJSON_Parse(c[1].s);
	if (ag_secret_key(key)) {
		/* a JSON string holding the sealed line */
		if (!cJSON_IsString(j)) {
			snprintf(why, sizeof why, "not a sealed value");
			goto bad;
		}
		if ((rc = sk_unseal(p, j->valuestring, &plain)) < 0) {
			snprintf(why, sizeof why, "cannot be opened with the account's key (%s)", sk_strerror(p, rc));
			goto bad;
		}
		v = !strcmp(key, "api_key") ? cJSON_CreateString(plain) : cJSON_Parse(plain);
		ag_wipe_sk_free(p, plain);
		if (!v) {
			snprintf(why, sizeof why, "not the value of %s", key);
			goto bad;
		}
		if (agent_setting_apply(s, key, v, why, sizeof why) < 0)
			goto bad;
		if (!strcmp(key, "api_key"))
			s->api_key_page = 1;
	} else if (!j) {
		snprintf(why, sizeof why, "not JSON");
		goto bad;
	} else if (agent_setting_apply(s, key, j, why, sizeof why) < 0) {
		goto bad;
	}
	ag_json_wipe_delete(v);
	cJSON_Delete(j);
	return 0;
bad:
	ag_json_wipe_delete(v);
	cJSON_Delete(j);
	sk_log(p, SK_LOG_WARN, "agent_setting %s: %s: left out (the config file's value is in force)", key, why);
	return 0;
}

/* One agent_item row (item_id, mode, floor_fen, max_steps, notes) applied
 * to the settings ud: the item's entry becomes the row. A bad row is
 * logged and left out. Always 0. */
static int ag_row_item(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	ag_settings *s = ud;
	const char *id;
	int mode;
	int64_t floor_fen = -1, steps = -1;
	ag_item *it;
	char *notes;

	if (n < 5 || c[0].type != SK_TEXT || c[1].type != SK_TEXT)
		return 0;
	id = c[0].s;
	mode = agent_mode_parse(c[1].s);
	if (c[2].type == SK_INT)
		floor_fen = c[2].i;
	if (c[3].type == SK_INT)
		steps = c[3].i;
	if (!*id || strlen(id) > AG_ITEM_ID_MAX || mode == -2 || (c[2].type != SK_NULL && c[2].type != SK_INT) ||
	    floor_fen < -1 || floor_fen > AG_FLOOR_MAX_FEN || (c[3].type != SK_NULL && c[3].type != SK_INT) ||
	    steps < -1 || steps > AG_STEPS_MAX || (c[4].type != SK_TEXT && c[4].type != SK_NULL) ||
	    (c[4].type == SK_TEXT && c[4].len > AG_NOTES_MAX)) {
		sk_log(p, SK_LOG_WARN, "agent_item %.64s: a bad row (mode, floor_fen, max_steps or notes): left out", id);
		return 0;
	}
	if (!(notes = strdup(c[4].type == SK_TEXT ? c[4].s : ""))) {
		sk_log(p, SK_LOG_WARN, "agent_item %.64s: out of memory: left out", id);
		return 0;
	}
	if (!(it = agent_item_upsert(s, id))) {
		free(notes);
		sk_log(p, SK_LOG_WARN, "agent_item %.64s: more than %d items (or out of memory): left out", id,
		       AG_ITEMS_MAX);
		return 0;
	}
	it->mode = mode;
	it->floor_fen = floor_fen;
	it->max_steps = steps;
	free(it->notes);
	it->notes = notes;
	return 0;
}

/* See agent_int.h. */
int agent_settings_overlay(sk_plugin *p, ag_settings *s, char *why, size_t whylen)
{
	int rc;

	if ((rc = sk_db_exec(p, "SELECT key, value FROM agent_setting ORDER BY key", NULL, 0, ag_row_setting, s)) < 0 ||
	    (rc = sk_db_exec(p, "SELECT item_id, mode, floor_fen, max_steps, notes FROM agent_item ORDER BY item_id",
			     NULL, 0, ag_row_item, s)) < 0) {
		snprintf(why, whylen, "the page's settings cannot be read: %s", sk_strerror(p, rc));
		return -1;
	}
	return 0;
}

/* ---- agent_settings ------------------------------------------------------------------------ */

/* A row callback: the first column's integer into *(int64_t *)ud. */
static int ag_row_int(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n >= 1 && c[0].type == SK_INT)
		*(int64_t *)ud = c[0].i;
	return 1;
}

/* The model calls made since ms ago (agent_turn.called). */
static int64_t ag_used_since(sk_plugin *p, int64_t since_ms)
{
	int64_t n = 0;

	sk_db_exec(p, "SELECT count(*) FROM agent_turn WHERE called = 1 AND ms >= ?", &SK_VINT(since_ms), 1, ag_row_int,
		   &n);
	return n;
}

/* Adds name: value (a number) to o. */
static void ag_add_num(cJSON *o, const char *name, double v)
{
	cJSON_AddNumberToObject(o, name, v);
}

/* The headers' names, each with "****" (s->headers is "Name: value" lines). */
static cJSON *ag_headers_masked(const char *h)
{
	cJSON *o = cJSON_CreateObject();

	for (const char *l = h; o && l && *l;) {
		size_t len = strcspn(l, "\n"), name = strcspn(l, ":\n");
		char nm[128];

		if (name < len && name > 0) {
			snprintf(nm, sizeof nm, "%.*s", (int)(name > 100 ? 100 : name), l);
			cJSON_DeleteItemFromObjectCaseSensitive(o, nm);
			cJSON_AddStringToObject(o, nm, "****");
		}
		l += len;
		if (*l == '\n')
			l++;
	}
	return o;
}

/* The settings in force as agent_settings answers them (secrets masked).
 * NULL without memory. */
static cJSON *ag_settings_json(sk_plugin *p, const ag_settings *s)
{
	cJSON *o = cJSON_CreateObject(), *arr, *used;
	char m[2048];
	ag_item_info *info = malloc(sizeof *info);
	int64_t now = sk_now_ms(p);

	if (!o || !info) {
		cJSON_Delete(o);
		free(info);
		return NULL;
	}
	cJSON_AddBoolToObject(o, "enabled", s->enabled);
	cJSON_AddBoolToObject(o, "configured", *s->base_url && *s->model);
	skmask_url(s->base_url, m, sizeof m);
	cJSON_AddStringToObject(o, "base_url", m);
	cJSON_AddStringToObject(o, "model", s->model);
	skmask_key(s->api_key, m, sizeof m);
	cJSON_AddStringToObject(o, "api_key", m);
	cJSON_AddBoolToObject(o, "api_key_set", s->api_key && *s->api_key);
	cJSON_AddStringToObject(o, "api_key_source", !s->api_key || !*s->api_key ? "none" : s->api_key_page ? "page" :
				"file");
	cJSON_AddItemToObject(o, "headers", ag_headers_masked(s->headers));
	ag_add_num(o, "timeout_ms", (double)s->timeout_ms);
	ag_add_num(o, "max_tokens", (double)s->max_tokens);
	ag_add_num(o, "temperature", s->temperature);
	cJSON_AddStringToObject(o, "mode", agent_mode_name(s->mode));
	ag_add_num(o, "max_steps", (double)s->max_steps);
	ag_add_num(o, "per_hour", (double)s->per_hour);
	ag_add_num(o, "per_day", (double)s->per_day);
	ag_add_num(o, "per_chat", (double)s->per_chat);
	ag_add_num(o, "max_len", (double)s->max_len);
	ag_add_num(o, "history", (double)s->history);
	cJSON_AddStringToObject(o, "fallback_text", s->fallback_text);
	cJSON_AddStringToObject(o, "guard_text", s->guard_text);
	cJSON_AddStringToObject(o, "floor_text", s->floor_text);
	arr = cJSON_AddArrayToObject(o, "banned");
	for (size_t i = 0; arr && i < s->nbanned; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(s->banned[i]));
	cJSON_AddStringToObject(o, "prompts_dir", s->prompts_dir);
	arr = cJSON_AddArrayToObject(o, "items");
	for (size_t i = 0; arr && i < s->nitems; i++) {
		const ag_item *it = &s->items[i];
		cJSON *r = cJSON_CreateObject();
		char yuan[32];

		if (!r)
			break;
		memset(info, 0, sizeof *info);
		agent_item_info(p, it->item_id, info);
		cJSON_AddStringToObject(r, "item_id", it->item_id);
		cJSON_AddStringToObject(r, "title", info->title);
		cJSON_AddStringToObject(r, "price", info->price_fen >= 0 ? agent_yuan_fmt(info->price_fen, yuan,
											sizeof yuan) : "");
		cJSON_AddStringToObject(r, "mode", agent_mode_name(it->mode));
		cJSON_AddStringToObject(r, "floor", it->floor_fen >= 0 ? agent_yuan_fmt(it->floor_fen, yuan,
											sizeof yuan) : "");
		if (it->max_steps >= 0)
			ag_add_num(r, "max_steps", (double)it->max_steps);
		else
			cJSON_AddNullToObject(r, "max_steps");
		cJSON_AddStringToObject(r, "notes", it->notes ? it->notes : "");
		cJSON_AddItemToArray(arr, r);
	}
	free(info);
	used = cJSON_AddObjectToObject(o, "used");
	ag_add_num(used, "hour", (double)ag_used_since(p, now - 3600 * 1000));
	ag_add_num(used, "day", (double)ag_used_since(p, now - 24 * 3600 * 1000));
	return o;
}

/* Answers the running command with the settings in force. */
static int ag_answer_settings(sk_plugin *p, const char *command)
{
	cJSON *o = ag_settings_json(p, agent_settings(p));

	if (!o)
		return skctl_fail(p, SK_ERR_NOMEM, "%s: out of memory", command);
	return skctl_answer(p, o);
}

/* agent_settings {}: the settings in force, secrets masked. */
static int ag_ctl_settings(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d = skctl_data(p, command, data_json);

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	cJSON_Delete(d);
	return ag_answer_settings(p, command);
}

/* ---- agent_configure ----------------------------------------------------------------------- */

/* One agent_setting row to write: value NULL deletes it. */
typedef struct {
	const char *key;
	char *value;
	int secret;
} ag_change;

/* One agent_item row to write (del: delete it). */
typedef struct {
	char *item_id;
	int del;
	int mode;
	int64_t floor_fen, max_steps;
	char *notes;
} ag_item_change;

/* The value of header name (any case) in the "Name: value" lines h, as a
 * malloc'd copy without the blanks after the colon; NULL when absent. */
static char *ag_header_value(const char *h, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *l = h; l && *l;) {
		size_t len = strcspn(l, "\n");

		if (len > nlen && l[nlen] == ':' && !strncasecmp(l, name, nlen)) {
			const char *v = l + nlen + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			return strndup(v, (size_t)(l + len - v));
		}
		l += len;
		if (*l == '\n')
			l++;
	}
	return NULL;
}

/* The headers object f of agent_configure with each "****" replaced by the
 * value of that name in force (cur: "Name: value" lines). A new object, or
 * NULL with why. */
static cJSON *ag_headers_merge(const cJSON *f, const char *cur, char *why, size_t n)
{
	cJSON *o;
	const cJSON *e;

	if (!cJSON_IsObject(f)) {
		snprintf(why, n, "headers: must be an object {\"Name\": \"value\"} (null: the config file's)");
		return NULL;
	}
	if (!(o = cJSON_CreateObject())) {
		snprintf(why, n, "headers: out of memory");
		return NULL;
	}
	cJSON_ArrayForEach(e, f) {
		char *old = NULL;

		if (!cJSON_IsString(e)) {
			snprintf(why, n, "headers.%.60s: must be a text (\"****\" keeps the value in force)", e->string);
			ag_json_wipe_delete(o);
			return NULL;
		}
		if (!strcmp(e->valuestring, "****") && !(old = ag_header_value(cur, e->string))) {
			snprintf(why, n, "headers.%.60s: \"****\" keeps the value in force, but there is none", e->string);
			ag_json_wipe_delete(o);
			return NULL;
		}
		cJSON_AddItemToObject(o, e->string, cJSON_CreateString(old ? old : e->valuestring));
		ag_wipe_free(old);
	}
	return o;
}

/* The stored form of a secret: sk_seal's line as a JSON string (malloc'd),
 * or NULL with why (naming key; never the secret). */
static char *ag_seal_value(sk_plugin *p, const char *key, const char *plain, char *why, size_t n)
{
	char *sealed = NULL, *text = NULL;
	cJSON *s;
	int rc = sk_seal(p, plain, &sealed);

	if (rc < 0) {
		snprintf(why, n, "%s: cannot be stored: %s", key,
			 rc == SK_ERR_CONFIG ? "the account has no key file (account.key_file)" : sk_strerror(p, rc));
		return NULL;
	}
	if ((s = cJSON_CreateString(sealed)))
		text = cJSON_PrintUnformatted(s);
	cJSON_Delete(s);
	sk_free(p, sealed);
	if (!text) {
		snprintf(why, n, "%s: out of memory", key);
		return NULL;
	}
	{
		char *copy = strdup(text);

		cJSON_free(text);
		if (!copy)
			snprintf(why, n, "%s: out of memory", key);
		return copy;
	}
}

/* The change of agent_configure's field f (key ch->key): checked on the
 * settings try (the settings in force, changed as the request goes), into
 * ch (value NULL: the row goes, the config file's value is in force again).
 * 0, or -1 with why naming the field (never quoting a secret). */
static int ag_change_of(sk_plugin *p, ag_settings *try, const cJSON *f, ag_change *ch, char *why, size_t n)
{
	const char *k = ch->key;
	cJSON *merged = NULL;
	char *text;

	ch->secret = ag_secret_key(k);
	if (cJSON_IsNull(f) || (!strcmp(k, "api_key") && cJSON_IsString(f) && !*f->valuestring))
		return 0;
	if (!strcmp(k, "headers")) {
		if (!(merged = ag_headers_merge(f, try->headers, why, n)))
			return -1;
		f = merged;
	} else if (!strcmp(k, "api_key") && !cJSON_IsString(f)) {
		snprintf(why, n, "api_key: must be a text (\"\": the page's key goes)");
		return -1;
	}
	/* (its messages name the key or the header, never a secret's value) */
	if (agent_setting_apply(try, k, f, why, n) < 0) {
		ag_json_wipe_delete(merged);
		return -1;
	}
	if (!ch->secret) {
		text = cJSON_PrintUnformatted(f);
		ch->value = text ? strdup(text) : NULL;
		cJSON_free(text);
	} else if (merged) {
		/* the headers' JSON, sealed */
		if ((text = cJSON_PrintUnformatted(merged))) {
			ch->value = ag_seal_value(p, k, text, why, n);
			explicit_bzero(text, strlen(text));
			cJSON_free(text);
			ag_json_wipe_delete(merged);
			return ch->value ? 0 : -1;
		}
	} else {
		return (ch->value = ag_seal_value(p, k, f->valuestring, why, n)) ? 0 : -1;
	}
	ag_json_wipe_delete(merged);
	if (!ch->value) {
		snprintf(why, n, "%s: out of memory", k);
		return -1;
	}
	return 0;
}

/* Whether id may be an item id: 1 to 63 bytes of letters, digits, '_', '-'
 * and '.'. */
static int ag_item_id_ok(const char *id)
{
	size_t len = strlen(id);

	if (!len || len > AG_ITEM_ID_MAX)
		return 0;
	return strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-.") == len;
}

/* A floor given as yuan (a number, or a text like "80" or "80.5元"; ""
 * and null: none) into *fen (-1 for none). 0, or -1. */
static int ag_floor_of(const cJSON *v, int64_t *fen)
{
	if (cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring)) {
		*fen = -1;
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		/* whole fen only (no libm: the plugin links cJSON alone) */
		double f = v->valuedouble * 100, d;

		if (!(f >= 0 && f <= (double)AG_FLOOR_MAX_FEN))
			return -1;
		*fen = (int64_t)(f + 0.5);
		d = f - (double)*fen;
		return d < 1e-6 && d > -1e-6 ? 0 : -1;
	}
	if (cJSON_IsString(v) && agent_yuan_parse(v->valuestring, fen) == 0 && *fen >= 0 && *fen <= AG_FLOOR_MAX_FEN)
		return 0;
	return -1;
}

/* Entry i of agent_configure's items (e) into ic, from the item's settings in
 * force (try; changed for the entries after it), checked as the config's
 * items are. 0, or -1 with why naming the field. */
static int ag_item_change_of(ag_settings *try, size_t i, const cJSON *e, ag_item_change *ic, char *why, size_t n)
{
	static const char *const fields[] = { "item_id", "mode", "floor", "max_steps", "notes", "delete", NULL };
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "item_id"), *v, *c;
	const ag_item *cur;
	cJSON *obj, *one;
	char yuan[32];
	int rc;

	if (!cJSON_IsObject(e)) {
		snprintf(why, n, "items[%zu]: must be an object {item_id, mode, floor, max_steps, notes, delete}", i);
		return -1;
	}
	cJSON_ArrayForEach(c, e) {
		int k;

		for (k = 0; fields[k] && strcmp(fields[k], c->string); k++)
			;
		if (!fields[k]) {
			snprintf(why, n, "items[%zu].%.40s: unknown field (fields: item_id, mode, floor, max_steps, notes, "
				 "delete)", i, c->string);
			return -1;
		}
	}
	if (!cJSON_IsString(id) || !ag_item_id_ok(id->valuestring)) {
		snprintf(why, n, "items[%zu].item_id: must be an item's id (1 to %d letters, digits, '_', '-', '.')", i,
			 AG_ITEM_ID_MAX);
		return -1;
	}
	if (!(ic->item_id = strdup(id->valuestring))) {
		snprintf(why, n, "items[%zu]: out of memory", i);
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(e, "delete");
	if (v && !cJSON_IsBool(v) && !cJSON_IsNull(v)) {
		snprintf(why, n, "items[%zu].delete: must be true or false", i);
		return -1;
	}
	if (cJSON_IsTrue(v)) {
		/* gone from try too, so that the count of items stays right */
		ic->del = 1;
		obj = cJSON_CreateObject();
		one = cJSON_AddObjectToObject(obj, ic->item_id);
		rc = cJSON_AddTrueToObject(one, "delete") ? agent_setting_apply(try, "items", obj, why, n) : -1;
		cJSON_Delete(obj);
		if (rc < 0)
			snprintf(why, n, "items[%zu]: out of memory", i);
		return rc < 0 ? -1 : 0;
	}
	cur = agent_settings_item(try, ic->item_id);
	ic->mode = cur ? cur->mode : AG_MODE_INHERIT;
	ic->floor_fen = cur ? cur->floor_fen : -1;
	ic->max_steps = cur ? cur->max_steps : -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(e, "mode")) &&
	    (!cJSON_IsString(v) || (ic->mode = agent_mode_parse(v->valuestring)) == -2)) {
		snprintf(why, n, "items[%zu].mode: must be one of inherit, off, default, all", i);
		return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(e, "floor")) && ag_floor_of(v, &ic->floor_fen) < 0) {
		snprintf(why, n, "items[%zu].floor: must be an amount in yuan (80, \"80.50\"; \"\" or null: no floor)", i);
		return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(e, "max_steps"))) {
		if (cJSON_IsNull(v)) {
			ic->max_steps = -1;
		} else if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > AG_STEPS_MAX ||
			   v->valuedouble != (double)(int64_t)v->valuedouble) {
			snprintf(why, n, "items[%zu].max_steps: must be a whole number from 0 to %d (null: the account's)",
				 i, AG_STEPS_MAX);
			return -1;
		} else {
			ic->max_steps = (int64_t)v->valuedouble;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(e, "notes");
	if (v && (!cJSON_IsString(v) || strlen(v->valuestring) > AG_NOTES_MAX)) {
		snprintf(why, n, "items[%zu].notes: must be a text of at most %d bytes", i, AG_NOTES_MAX);
		return -1;
	}
	if (!(ic->notes = strdup(v ? v->valuestring : cur && cur->notes ? cur->notes : ""))) {
		snprintf(why, n, "items[%zu]: out of memory", i);
		return -1;
	}
	/* the config's own check of an item, on the settings being changed */
	obj = cJSON_CreateObject();
	one = cJSON_AddObjectToObject(obj, ic->item_id);
	cJSON_AddStringToObject(one, "mode", agent_mode_name(ic->mode));
	if (ic->floor_fen >= 0)
		cJSON_AddStringToObject(one, "floor", agent_yuan_fmt(ic->floor_fen, yuan, sizeof yuan));
	if (ic->max_steps >= 0)
		cJSON_AddNumberToObject(one, "max_steps", (double)ic->max_steps);
	cJSON_AddStringToObject(one, "notes", ic->notes);
	rc = one ? agent_setting_apply(try, "items", obj, why, n) : (snprintf(why, n, "out of memory"), -1);
	cJSON_Delete(obj);
	if (rc < 0) {
		char tmp[300];

		snprintf(tmp, sizeof tmp, "items[%zu]: %s", i, why);
		snprintf(why, n, "%s", tmp);
		return -1;
	}
	return 0;
}

/* Writes the checked changes in one transaction; the agent_item rows may
 * not grow past AG_ITEMS_MAX. 0, or -1 with why. */
static int ag_configure_write(sk_plugin *p, const ag_change *ch, size_t nch, const ag_item_change *ic, size_t nic,
			      char *why, size_t n)
{
	int64_t now = sk_now_ms(p), count = 0;
	int rc;

	if ((rc = sk_db_begin(p)) < 0)
		goto db;
	for (size_t i = 0; rc >= 0 && i < nch; i++) {
		if (ch[i].value) {
			sk_value v[3] = { SK_VTEXT(ch[i].key), SK_VTEXT(ch[i].value), SK_VINT(now) };

			rc = sk_db_exec(p, "INSERT INTO agent_setting (key, value, updated_ms) VALUES (?, ?, ?) "
					"ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
					"updated_ms = excluded.updated_ms", v, 3, NULL, NULL);
		} else {
			rc = sk_db_exec(p, "DELETE FROM agent_setting WHERE key = ?", &SK_VTEXT(ch[i].key), 1, NULL, NULL);
		}
	}
	for (size_t i = 0; rc >= 0 && i < nic; i++) {
		if (ic[i].del) {
			rc = sk_db_exec(p, "DELETE FROM agent_item WHERE item_id = ?", &SK_VTEXT(ic[i].item_id), 1, NULL,
					NULL);
		} else {
			sk_value v[6] = { SK_VTEXT(ic[i].item_id), SK_VTEXT(agent_mode_name(ic[i].mode)),
				ic[i].floor_fen >= 0 ? SK_VINT(ic[i].floor_fen) : SK_VNULL,
				ic[i].max_steps >= 0 ? SK_VINT(ic[i].max_steps) : SK_VNULL, SK_VTEXT(ic[i].notes),
				SK_VINT(now) };

			rc = sk_db_exec(p, "INSERT INTO agent_item (item_id, mode, floor_fen, max_steps, notes, updated_ms) "
					"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(item_id) DO UPDATE SET mode = excluded.mode, "
					"floor_fen = excluded.floor_fen, max_steps = excluded.max_steps, "
					"notes = excluded.notes, updated_ms = excluded.updated_ms", v, 6, NULL, NULL);
		}
	}
	if (rc >= 0 && nic)
		rc = sk_db_exec(p, "SELECT count(*) FROM agent_item", NULL, 0, ag_row_int, &count);
	if (rc >= 0 && count > AG_ITEMS_MAX) {
		sk_db_rollback(p);
		snprintf(why, n, "items: at most %d items have settings of their own (delete some first)", AG_ITEMS_MAX);
		return -1;
	}
	if (rc >= 0 && (rc = sk_db_commit(p)) >= 0)
		return 0;
	sk_db_rollback(p);
db:
	snprintf(why, n, "not saved: database error (%s)", sk_strerror(p, rc));
	return -1;
}

/* agent_configure {any of ag_page_keys, items: [...]}: checks every field
 * as the config's are (on the settings in force, loaded again), refuses the
 * whole request on the first error, else writes agent_setting / agent_item
 * rows, loads the settings again and puts them in force -> agent_settings. */
static int ag_ctl_configure(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	ag_change ch[sizeof ag_page_keys / sizeof ag_page_keys[0]];
	ag_item_change *ic = NULL;
	size_t nch = 0, nic = 0;
	cJSON *d = skctl_data(p, command, data_json);
	const cJSON *e, *items;
	ag_settings *try = NULL, *next;
	char why[600] = "", names[400] = "";
	int rc = SK_ERR_INVAL;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	memset(ch, 0, sizeof ch);
	cJSON_ArrayForEach(e, d)
		if (!ag_page_key(e->string) && strcmp(e->string, "items")) {
			snprintf(why, sizeof why, "unknown field %.60s (fields: enabled, base_url, model, api_key, headers, "
				 "timeout_ms, max_tokens, temperature, mode, max_steps, per_hour, per_day, per_chat, max_len, "
				 "history, fallback_text, guard_text, floor_text, banned, items)", e->string);
			goto out;
		}
	if (!(try = agent_settings_load(p, why, sizeof why))) {
		rc = SK_ERR_STATE;
		goto out;
	}
	for (size_t i = 0; ag_page_keys[i]; i++) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(d, ag_page_keys[i]);

		if (!f)
			continue;
		ch[nch].key = ag_page_keys[i];
		if (ag_change_of(p, try, f, &ch[nch++], why, sizeof why) < 0)
			goto out;
	}
	if ((items = cJSON_GetObjectItemCaseSensitive(d, "items"))) {
		size_t n = (size_t)cJSON_GetArraySize(items);

		if (!cJSON_IsArray(items) || n > AG_ITEMS_MAX) {
			snprintf(why, sizeof why, "items: must be a list of at most %d {item_id, mode, floor, max_steps, "
				 "notes, delete}", AG_ITEMS_MAX);
			goto out;
		}
		if (n && !(ic = calloc(n, sizeof *ic))) {
			rc = SK_ERR_NOMEM;
			snprintf(why, sizeof why, "out of memory");
			goto out;
		}
		cJSON_ArrayForEach(e, items)
			if (ag_item_change_of(try, nic, e, &ic[nic], why, sizeof why) < 0) {
				nic++;
				goto out;
			} else {
				nic++;
			}
	}
	if (ag_configure_write(p, ch, nch, ic, nic, why, sizeof why) < 0) {
		rc = strncmp(why, "items:", 6) ? SK_ERR_DB : SK_ERR_INVAL;
		goto out;
	}
	for (size_t i = 0; i < nch; i++)
		snprintf(names + strlen(names), sizeof names - strlen(names), " %s%s", ch[i].key,
			 ch[i].value ? "" : " (the config file's)");
	if (nic)
		snprintf(names + strlen(names), sizeof names - strlen(names), " items (%zu)", nic);
	if (*names)
		sk_log(p, SK_LOG_INFO, "settings changed from the page:%s", names);
	if (!(next = agent_settings_load(p, why, sizeof why))) {
		rc = SK_ERR_STATE;
		snprintf(names, sizeof names, "%s", why);
		snprintf(why, sizeof why, "saved, but the settings could not be loaded again (%s)", names);
		goto out;
	}
	agent_settings_set(p, next);
	rc = SK_OK;
out:
	cJSON_Delete(d);
	if (try)
		agent_settings_free(try);
	for (size_t i = 0; i < nch; i++)
		ag_wipe_free(ch[i].value);
	for (size_t i = 0; i < nic; i++) {
		free(ic[i].item_id);
		free(ic[i].notes);
	}
	free(ic);
	if (rc < 0)
		return skctl_fail(p, rc, "%s: %s", command, why);
	return ag_answer_settings(p, command);
}

/* ---- prompts --------------------------------------------------------------------------------- */

/* The intent named name (AG_INTENT_*), or -1. */
static int ag_intent_parse(const char *name)
{
	for (int i = 0; i < AG_INTENT_N; i++)
		if (!strcmp(agent_intent_name(i), name))
			return i;
	return -1;
}

/* {"intent", "text", "builtin"} of intent's prompt in force; NULL without
 * memory. */
static cJSON *ag_prompt_json(sk_plugin *p, const ag_settings *s, int intent)
{
	int builtin = 1;
	char *text = agent_prompt(p, s, intent, &builtin);
	cJSON *r = text ? cJSON_CreateObject() : NULL;

	if (r) {
		cJSON_AddStringToObject(r, "intent", agent_intent_name(intent));
		cJSON_AddStringToObject(r, "text", text);
		cJSON_AddBoolToObject(r, "builtin", builtin);
	}
	free(text);
	return r;
}

/* agent_prompts {}: the prompt of each intent, and whether the page may
 * edit them (prompts_dir set). */
static int ag_ctl_prompts(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	const ag_settings *s = agent_settings(p);
	cJSON *d = skctl_data(p, command, data_json), *o, *arr;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	cJSON_Delete(d);
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "prompts");
	for (int i = 0; arr && i < AG_INTENT_N; i++) {
		cJSON *r = ag_prompt_json(p, s, i);

		if (!r) {
			cJSON_Delete(o);
			return skctl_fail(p, SK_ERR_NOMEM, "%s: out of memory", command);
		}
		cJSON_AddItemToArray(arr, r);
	}
	cJSON_AddBoolToObject(o, "editable", *s->prompts_dir != '\0');
	return skctl_answer(p, o);
}

/* agent_prompt_set {"intent", "text"}: writes the intent's prompt file in
 * prompts_dir ("" deletes it: the built-in prompt again) -> {"intent",
 * "text", "builtin"}. */
static int ag_ctl_prompt_set(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	const ag_settings *s = agent_settings(p);
	cJSON *d = skctl_data(p, command, data_json), *r;
	const cJSON *in, *tx, *e;
	char why[300] = "";
	int intent;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	cJSON_ArrayForEach(e, d)
		if (strcmp(e->string, "intent") && strcmp(e->string, "text")) {
			skctl_fail(p, SK_ERR_INVAL, "%s: unknown field %.60s (fields: intent, text)", command, e->string);
			cJSON_Delete(d);
			return SK_ERR_INVAL;
		}
	in = cJSON_GetObjectItemCaseSensitive(d, "intent");
	tx = cJSON_GetObjectItemCaseSensitive(d, "text");
	if (!cJSON_IsString(in) || (intent = ag_intent_parse(in->valuestring)) < 0) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: intent must be one of default, price, tech", command);
	}
	if (!cJSON_IsString(tx) || strlen(tx->valuestring) > AG_PROMPT_MAX) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: text must be a text of at most %d bytes (\"\": the built-in prompt)",
				  command, AG_PROMPT_MAX);
	}
	if (!*s->prompts_dir) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: the prompts cannot be edited: agent.prompts_dir is not set in the "
				  "config file", command);
	}
	if (agent_prompt_save(p, s, intent, tx->valuestring, why, sizeof why) < 0) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_IO, "%s: %s: not saved: %s", command, in->valuestring, why);
	}
	sk_log(p, SK_LOG_INFO, "the %s prompt changed from the page%s", in->valuestring,
	       *tx->valuestring ? "" : " (the built-in one again)");
	cJSON_Delete(d);
	if (!(r = ag_prompt_json(p, s, intent)))
		return skctl_fail(p, SK_ERR_NOMEM, "%s: out of memory", command);
	return skctl_answer(p, r);
}

/* ---- agent_decisions ---------------------------------------------------------------------------- */

/* The columns agent_decisions reads, in ag_row_decision's order. */
#define AG_DECISION_COLS \
	"id, ms, chat, buyer, name, item, message_id, text, decision, intent, state, verdict, reason, answer, " \
	"sent, lowest_fen, http_status, latency_ms, outcome"

/* One agent_turn row into the array ud. Always 0. */
static int ag_row_decision(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	static const char *const names[] = { "id", "ms", "chat_id", "buyer_id", "buyer_name", "item_id", "message_id",
		"text", "decision", "intent", "state", "verdict", "reason", "answer", "sent", "lowest", "http_status",
		"latency_ms", "outcome" };
	cJSON *r = cJSON_CreateObject();

	(void)p;
	if (!r || n < (int)(sizeof names / sizeof names[0])) {
		cJSON_Delete(r);
		return 0;
	}
	for (int i = 0; i < n && i < (int)(sizeof names / sizeof names[0]); i++) {
		if (i == 15) {
			char yuan[32];

			cJSON_AddStringToObject(r, names[i], c[i].type == SK_INT ? agent_yuan_fmt(c[i].i, yuan, sizeof yuan) :
						"");
		} else if (c[i].type == SK_INT) {
			cJSON_AddNumberToObject(r, names[i], (double)c[i].i);
		} else if (c[i].type == SK_TEXT) {
			cJSON_AddStringToObject(r, names[i], c[i].s);
		} else if (i >= 16) {
			cJSON_AddNullToObject(r, names[i]);
		} else {
			cJSON_AddStringToObject(r, names[i], "");
		}
	}
	cJSON_AddItemToArray(ud, r);
	return 0;
}

/* agent_decisions {"limit": 1..500 (50), "chat_id"?}: the agent's turns,
 * newest first. */
static int ag_ctl_decisions(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d = skctl_data(p, command, data_json), *o, *arr;
	const cJSON *chat, *e;
	int64_t limit;
	int rc;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	cJSON_ArrayForEach(e, d)
		if (strcmp(e->string, "limit") && strcmp(e->string, "chat_id")) {
			skctl_fail(p, SK_ERR_INVAL, "%s: unknown field %.60s (fields: limit, chat_id)", command, e->string);
			cJSON_Delete(d);
			return SK_ERR_INVAL;
		}
	if ((limit = skctl_count(p, command, d, "limit", 50, AG_DECISIONS_MAX)) < 0) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	chat = cJSON_GetObjectItemCaseSensitive(d, "chat_id");
	if (chat && !cJSON_IsNull(chat) && (!cJSON_IsString(chat) || !*chat->valuestring ||
					     strlen(chat->valuestring) > 128)) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: chat_id must be a chat's id (a text of 1 to 128 bytes)", command);
	}
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "decisions"))) {
		cJSON_Delete(o);
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_NOMEM, "%s: out of memory", command);
	}
	if (cJSON_IsString(chat)) {
		sk_value v[2] = { SK_VTEXT(chat->valuestring), SK_VINT(limit) };

		rc = sk_db_exec(p, "SELECT " AG_DECISION_COLS " FROM agent_turn WHERE chat = ? ORDER BY ms DESC, id DESC "
				"LIMIT ?", v, 2, ag_row_decision, arr);
	} else {
		rc = sk_db_exec(p, "SELECT " AG_DECISION_COLS " FROM agent_turn ORDER BY ms DESC, id DESC LIMIT ?",
				&SK_VINT(limit), 1, ag_row_decision, arr);
	}
	cJSON_Delete(d);
	if (rc < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	return skctl_answer(p, o);
}

/* ---- agent_sends ---------------------------------------------------------------------------------- */

/* A turn's (verdict, intent) into the label object ud. Stops at the first row. */
static int ag_row_label(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	const char *verdict, *text;

	(void)p;
	if (n < 2 || c[0].type != SK_TEXT || c[1].type != SK_TEXT)
		return 1;
	verdict = c[0].s;
	if (!strcmp(verdict, "model"))
		text = !strcmp(c[1].s, "price") ? "AI · 议价" : "AI 回复";
	else if (!strcmp(verdict, "floor") || !strcmp(verdict, "steps"))
		text = "AI · 守价";
	else if (!strcmp(verdict, "guard"))
		text = "AI · 拦截";
	else if (!strcmp(verdict, "fallback"))
		text = "AI · 兜底";
	else
		text = "AI";
	cJSON_AddStringToObject(ud, "rule", "agent");
	cJSON_AddStringToObject(ud, "text", text);
	cJSON_AddStringToObject(ud, "verdict", verdict);
	return 1;
}

/* skctl_sends' label of one of the agent's sends: its turn, by the send's
 * uuid, else by the message of its tag ("agent:<message_id>"). */
static int ag_send_label(sk_plugin *p, const char *uuid, const char *tag, cJSON *l)
{
	static const char q_uuid[] = "SELECT verdict, intent FROM agent_turn WHERE send_uuid = ? AND send_uuid <> '' "
				     "ORDER BY id DESC LIMIT 1";
	static const char q_mid[] = "SELECT verdict, intent FROM agent_turn WHERE message_id = ? LIMIT 1";
	int rc = sk_db_exec(p, q_uuid, &SK_VTEXT(uuid), 1, ag_row_label, l);

	if (rc >= 0 && !l->child && !strncmp(tag, "agent:", 6) && tag[6])
		rc = sk_db_exec(p, q_mid, &SK_VTEXT(tag + 6), 1, ag_row_label, l);
	return rc < 0 ? rc : 0;
}

/* agent_sends {"sends": [{"uuid", "tag"}]} (at most 200): what made each of
 * the agent's sends, found in agent_turn by the send's uuid, or by the
 * message of its tag ("agent:<message_id>"). Answers {"labels": {"<uuid>":
 * {"rule": "agent", "text": a short Chinese label, "verdict"}}}; a send the
 * log does not know is left out. */
static int ag_ctl_sends(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	(void)ud;
	return skctl_sends(p, command, data_json, AG_SENDS_MAX, 201, ag_send_label);
}

static const skctl_row ag_controls[] = {
	{ "agent_settings", "the AI replies' settings in force (the API key and headers masked), per item, calls used",
	  ag_ctl_settings },
	{ "agent_configure", "{enabled, base_url, model, api_key, headers, ..., items: [...]}: change them from the page "
	  "(null: the config file's)", ag_ctl_configure },
	{ "agent_prompts", "the prompt of each intent (default, price, tech) and whether the page may edit them",
	  ag_ctl_prompts },
	{ "agent_prompt_set", "{intent, text}: writes an intent's prompt file (\"\": the built-in one)",
	  ag_ctl_prompt_set },
	{ "agent_decisions", "{limit, chat_id}: the agent's decision log, newest first", ag_ctl_decisions },
	{ "agent_sends", "{sends: [{uuid, tag}]}: a label for each of the agent's sends (the chat view)", ag_ctl_sends },
};

/* See agent_int.h: one the host refuses is logged and left out. */
void agent_controls_add(sk_plugin *p)
{
	skctl_add_all(p, ag_controls, sizeof ag_controls / sizeof ag_controls[0]);
}
