/* SPDX-License-Identifier: MIT */
/*
 * core/host_config.c - a plugin's config section (the sk_config_* accessors,
 * the descriptor's config check, a reload's host_config_replace) and the
 * rules file the plugins share (host_rules_check, host_check_rules,
 * host_rules_verify, host_rules_status).
 */
#include "host_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- config -------------------------------------------------------------- */

/* The item for key in the plugin's section, or NULL. */
static const cJSON *host_cfg_item(sk_plugin *p, const char *fn, const char *key)
{
	host_plug *pl;

	if (host_check(p, fn, &pl) || !key || !pl->section)
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(pl->section, key);
}

/* Whether a cJSON number is an integer that fits an int64_t. */
static int host_is_int(const cJSON *v)
{
	double d;

	if (!cJSON_IsNumber(v))
		return 0;
	d = v->valuedouble;
	/* the range test first: converting an out-of-range double is undefined (NaN fails it too) */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return 0;
	return d == (double)(int64_t)d;
}

/* The typed getters: the value when the key is there with that type, else def. */
const char *host_config_str(sk_plugin *p, const char *key, const char *def)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return cJSON_IsString(v) ? v->valuestring : def;
}

int64_t host_config_int(sk_plugin *p, const char *key, int64_t def)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return host_is_int(v) ? (int64_t)v->valuedouble : def;
}

double host_config_num(sk_plugin *p, const char *key, double def)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int host_config_bool(sk_plugin *p, const char *key, int def)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* The number of items of a list, 0 when absent or not a list. */
size_t host_config_list_len(sk_plugin *p, const char *key)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
}

/* Item i of a list of strings, NULL when absent or not a string. */
const char *host_config_list_str(sk_plugin *p, const char *key, size_t i)
{
	const cJSON *v = host_cfg_item(p, __func__, key), *it;

	if (!cJSON_IsArray(v) || i > (size_t)INT32_MAX)
		return NULL;
	it = cJSON_GetArrayItem(v, (int)i);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* The value printed as JSON, cached per key until unload; NULL when absent. */
const char *host_config_json(sk_plugin *p, const char *key)
{
	const cJSON *v = host_cfg_item(p, __func__, key);
	host_plug *pl = (host_plug *)p;
	host_json *c;

	if (!v)
		return NULL;
	for (c = pl->jcache; c; c = c->next)
		if (!strcmp(c->key, key))
			return c->json;
	if (!(c = calloc(1, sizeof *c)) || !(c->key = host_strdup(key)) || !(c->json = cJSON_PrintUnformatted(v))) {
		if (c)
			free(c->key);
		free(c);
		return NULL;
	}
	c->next = pl->jcache;
	pl->jcache = c;
	return c->json;
}

/* The account's rules file, "" when none. */
const char *host_rules_path(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return "";
	return pl->h->cfg.rules_path ? pl->h->cfg.rules_path : "";
}

/* Appends "<plugin>.<key>: <reason>" and sep to out. */
static void host_cfg_err(sbuf *out, const char *plugin, const char *key, const char *reason, const char *sep)
{
	sbuf_addf(out, "%s.%s: %s%s", plugin, key, reason, sep);
}

/* Checks a config section (NULL when absent) against the declared keys:
 * every key declared, of its type, the required ones present. Appends one
 * "<plugin>.<key>: <reason>" per problem to out, each followed by sep.
 * Returns the number of problems. */
int host_config_check(const sk_plugin_desc *d, const cJSON *section, sbuf *out, const char *sep)
{
	static const char *const want[] = {
		[SK_CFG_STR] = "must be a string", [SK_CFG_INT] = "must be an integer",
		[SK_CFG_NUM] = "must be a number", [SK_CFG_BOOL] = "must be true or false",
		[SK_CFG_STR_LIST] = "must be a list of strings", [SK_CFG_JSON] = "",
	};
	const sk_config_key *k;
	const cJSON *v, *it;
	int bad = 0, okt;

	if (section && !cJSON_IsObject(section)) {
		sbuf_addf(out, "%s: the config section must be an object%s", d->name, sep);
		return 1;
	}
	cJSON_ArrayForEach(v, section) {
		for (k = d->config_keys; k && k->key; k++)
			if (!strcmp(k->key, v->string))
				break;
		if (!k || !k->key) {
			host_cfg_err(out, d->name, v->string, "unknown key", sep);
			bad++;
			continue;
		}
		switch (k->type) {
		case SK_CFG_STR: okt = cJSON_IsString(v); break;
		case SK_CFG_INT: okt = host_is_int(v); break;
		case SK_CFG_NUM: okt = cJSON_IsNumber(v); break;
		case SK_CFG_BOOL: okt = cJSON_IsBool(v); break;
		case SK_CFG_STR_LIST:
			okt = cJSON_IsArray(v);
			cJSON_ArrayForEach(it, v) if (!cJSON_IsString(it)) okt = 0;
			break;
		default: okt = 1; break;
		}
		if (!okt) {
			host_cfg_err(out, d->name, v->string, want[k->type], sep);
			bad++;
		}
	}
	for (k = d->config_keys; k && k->key; k++)
		if (k->required && !cJSON_GetObjectItemCaseSensitive(section, k->key)) {
			host_cfg_err(out, d->name, k->key, "required key missing", sep);
			bad++;
		}
	return bad;
}

/* Frees a plugin's cache of config_json answers. */
void host_jcache_free(host_plug *pl)
{
	host_json *jc;

	while ((jc = pl->jcache)) {
		pl->jcache = jc->next;
		free(jc->key);
		cJSON_free(jc->json);
		free(jc);
	}
}

int host_config_replace(host *h, const cJSON *sections, sbuf *errs)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < h->nplugs; i++)
		bad += host_config_check(h->plugs[i]->desc, cJSON_IsObject(sections) ?
					 cJSON_GetObjectItemCaseSensitive(sections, h->plugs[i]->name) : NULL, errs, "\n");
	if (bad)
		return -1;
	h->cfg.plugin_sections = sections;
	for (i = 0; i < h->nplugs; i++) {
		host_plug *pl = h->plugs[i];

		pl->section = cJSON_IsObject(sections) ? cJSON_GetObjectItemCaseSensitive(sections, pl->name) : NULL;
		host_jcache_free(pl);
	}
	return 0;
}

/* Runs descriptor d's rules_check (if it has one) on the document json (len
 * bytes): each problem becomes a line "<prefix><plugin>: <problem>" of errs.
 * Returns 1 when the plugin refused the document, else 0. */
static int host_desc_rules_check(const sk_plugin_desc *d, const char *json, size_t len, const char *prefix, sbuf *errs)
{
	char buf[4096];

	if (d->abi_minor < 2 || !d->rules_check)
		return 0;
	buf[0] = '\0';
	if (!d->rules_check(json, len, buf, sizeof buf))
		return 0;
	buf[sizeof buf - 1] = '\0';
	if (!buf[0])
		snprintf(buf, sizeof buf, "refused (no reason given)");
	/* one line per problem, each named by its plugin */
	for (char *l = buf, *e; *l; l = e) {
		e = l + strcspn(l, "\n");
		if (e > l)
			sbuf_addf(errs, "%s%s: %.*s\n", prefix, d->name, (int)(e - l), l);
		if (*e)
			e++;
	}
	return 1;
}

int host_rules_check(const host *h, const char *json, size_t len, sbuf *errs)
{
	int bad = 0;

	for (size_t i = 0; h && i < h->nplugs; i++) {
		const host_plug *pl = h->plugs[i];

		if (pl->state == PL_RUNNING)
			bad += host_desc_rules_check(pl->desc, json, len, "", errs);
	}
	return bad ? -1 : 0;
}

/* The plugins read at most this much of a rules file (autoreply, orders). */
#define HOST_RULES_MAX (1024 * 1024)

/* Reads the rules file path and checks that it is one JSON object. Returns
 * its text (malloc'd, NUL-terminated, *len bytes), or NULL with one line
 * "rules <path>: <problem>" in errs: missing, unreadable, too large, not
 * JSON (with the line and column where the parser stopped), not an object. */
static char *host_rules_read(const char *path, size_t *len, sbuf *errs)
{
	const char *end = NULL;
	sbuf b = { 0 };
	char buf[8192];
	cJSON *doc;
	size_t n;
	FILE *f;

	if (!(f = fopen(path, "rb"))) {
		sbuf_addf(errs, "rules %s: cannot read it: %s%s\n", path, strerror(errno),
			  errno == ENOENT ? " (the file named by \"rules\" in the config is missing)" : "");
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && b.len <= HOST_RULES_MAX)
		sbuf_add(&b, buf, n);
	if (ferror(f)) {
		sbuf_addf(errs, "rules %s: cannot read it: %s\n", path, strerror(errno));
		goto fail;
	}
	if (b.oom) {
		sbuf_addf(errs, "rules %s: out of memory\n", path);
		goto fail;
	}
	if (b.len > HOST_RULES_MAX) {
		sbuf_addf(errs, "rules %s: larger than %d bytes\n", path, HOST_RULES_MAX);
		goto fail;
	}
	if (!b.p)
		sbuf_add(&b, "", 0);
	if (b.oom || !b.p) {
		sbuf_addf(errs, "rules %s: out of memory\n", path);
		goto fail;
	}
	if (memchr(b.p, '\0', b.len)) {
		sbuf_addf(errs, "rules %s: not valid JSON (a NUL byte)\n", path);
		goto fail;
	}
	doc = cJSON_ParseWithLengthOpts(b.p, b.len, &end, 0);
	if (!doc) {
		size_t at = end && end >= b.p && end <= b.p + b.len ? (size_t)(end - b.p) : b.len, line = 1, col = 1;

		for (size_t i = 0; i < at; i++) {
			if (b.p[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)b.p[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		if (!b.len)
			sbuf_addf(errs, "rules %s: empty (a rules file is one JSON object, {} at least)\n", path);
		else
			sbuf_addf(errs, "rules %s: not valid JSON (stops at line %zu, column %zu)\n", path, line, col);
		goto fail;
	}
	/* trailing bytes other than white space are JSON errors too */
	while (end && end < b.p + b.len && strchr(" \t\r\n", *end))
		end++;
	if (!cJSON_IsObject(doc) || (end && end < b.p + b.len)) {
		sbuf_addf(errs, "rules %s: %s\n", path, !cJSON_IsObject(doc) ? "must be a JSON object" :
			  "not valid JSON (text after the object)");
		cJSON_Delete(doc);
		goto fail;
	}
	cJSON_Delete(doc);
	fclose(f);
	*len = b.len;
	return b.p;
fail:
	fclose(f);
	sbuf_free(&b);
	return NULL;
}

int host_check_rules(const char *dir, char *const *names, const char *path, sbuf *errs)
{
	char err[1024], prefix[4200];
	size_t len;
	char *text;
	loader_obj o;
	int bad = 0;

	if (!path)
		return 0;
	if (!(text = host_rules_read(path, &len, errs)))
		return -1;
	snprintf(prefix, sizeof prefix, "rules %s: ", path);
	for (size_t i = 0; names && names[i]; i++) {
		/* a plugin that cannot be opened is host_check_config's line */
		if (loader_open(dir, names[i], &o, err, sizeof err))
			continue;
		bad += host_desc_rules_check(o.desc, text, len, prefix, errs);
		loader_close(&o);
	}
	free(text);
	return bad ? -1 : 0;
}

void host_rules_verify(host *h)
{
	const char *path = h ? h->cfg.rules_path : NULL;
	sbuf errs = { 0 }, who = { 0 };
	size_t len;
	char *text;

	if (!h)
		return;
	free(h->rules_problem);
	free(h->rules_who);
	h->rules_problem = h->rules_who = NULL;
	if (!path) {
		h->rules_state = HOST_RULES_OFF;
		return;
	}
	if ((text = host_rules_read(path, &len, &errs))) {
		/* each plugin loads the file on its own: note which ones refuse it */
		for (size_t i = 0; i < h->nplugs; i++) {
			const host_plug *pl = h->plugs[i];

			if (pl->state == PL_RUNNING && host_desc_rules_check(pl->desc, text, len, "", &errs))
				sbuf_addf(&who, "%s%s", who.len ? ", " : "", pl->name);
		}
		free(text);
		if (!errs.len && !errs.oom) {
			h->rules_state = HOST_RULES_OK;
			h->rules_ever_ok = 1;
			sbuf_free(&errs);
			sbuf_free(&who);
			return;
		}
		h->rules_who = who.len ? sbuf_take(&who) : NULL;
		sbuf_free(&who);
	}
	/* "a\nb\n" -> "a; b" */
	for (size_t i = 0; errs.p && i < errs.len; i++)
		if (errs.p[i] == '\n')
			errs.p[i] = i + 1 < errs.len ? ';' : '\0';
	h->rules_problem = errs.p ? errs.p : strdup("out of memory");
	h->rules_state = h->rules_ever_ok ? HOST_RULES_STALE : HOST_RULES_BROKEN;
	if (h->rules_state == HOST_RULES_STALE)
		host_say(h, NULL, SK_LOG_ERR, "the rules file is refused%s%s, the rules loaded before stay in force: %s",
			 h->rules_who ? " by " : "", h->rules_who ? h->rules_who : "", h->rules_problem);
	else
		host_say(h, NULL, SK_LOG_ERR, "the rules file is refused: NO replies or deliveries %s%s until it is fixed "
			 "(shopkeep check lists the problems; then SIGHUP): %s", h->rules_who ? "by " : "",
			 h->rules_who ? h->rules_who : "", h->rules_problem);
}

int host_rules_status(const host *h, const char **problem, const char **who)
{
	*problem = h && h->rules_problem ? h->rules_problem : "";
	*who = h && h->rules_who ? h->rules_who : "";
	return h ? h->rules_state : HOST_RULES_OFF;
}
