/* SPDX-License-Identifier: MIT */
/*
 * plugins/notify/notify_page.c - the alerts' settings made on the web page:
 * notify_settings and notify_configure, their table notify_page (one row
 * per setting: url, header, templates, kinds, words; the value as text or
 * JSON), applied over the config file's section by notify_config, and the
 * masking of the secrets: the url keeps its scheme, host and path, each
 * query value becomes "ab****yz" (its first and last 2 characters; 1 and 1
 * for 5 to 7, none for 4 or fewer), a user:password@ becomes "****@", a
 * fragment "#****"; the header keeps its name ("Authorization: ****"). The
 * full values never leave the process: not in an answer, not in the log.
 */

#include "notify_int.h"
#include "common/skmask.h"

/* ---- masking ------------------------------------------------------------------- */

/* The url as the page may see it (see the top of the file; the rules are
 * plugins/common/skmask.h's, shared with the agent) into out (n bytes; ""
 * when it does not fit). */
void notify_mask_url(const char *url, char *out, size_t n)
{
	skmask_url(url, out, n);
}

/* The header as the page may see it: "Name: ****". */
static void nt_mask_header(const char *h, char *out, size_t n)
{
	size_t len = strcspn(h, ":");

	snprintf(out, n, "%.*s: ****", (int)(len > 100 ? 100 : len), h);
}

/* ---- the table ------------------------------------------------------------------ */

/* Applies one row (key, value) of notify_page to the state; a bad value (the
 * table edited by hand) is logged and left out. */
static int nt_row_apply(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	nt_state *st = ud;
	const char *key, *val;
	char why[600] = "";
	cJSON *j = NULL;
	int rc = 0;

	if (n < 2 || c[0].type != SK_TEXT || c[1].type != SK_TEXT)
		return 0;
	key = c[0].s;
	val = c[1].s;
	if (!strcmp(key, "url") || !strcmp(key, "header")) {
		int u = key[0] == 'u';
		char **slot = u ? &st->url : &st->header, *copy;

		if (u ? notify_url_check(val, why, sizeof why) : notify_header_check(val, why, sizeof why))
			goto bad;
		if (!(copy = strdup(val)))
			return 0;
		free(*slot);
		*slot = copy;
		st->page |= u ? NT_S_URL : NT_S_HEADER;
		return 0;
	}
	j = cJSON_Parse(val);
	if (!strcmp(key, "templates")) {
		if (notify_templates_take(j, NULL, 1, why, sizeof why) ||
		    (rc = notify_templates_take(j, st->tmpl, 1, why, sizeof why)))
			goto bad;
		st->page |= NT_S_TEMPLATES;
	} else if (!strcmp(key, "words")) {
		if ((rc = notify_words_take(j, st, why, sizeof why)))
			goto bad;
		st->page |= NT_S_WORDS;
	} else if (!strcmp(key, "kinds") && cJSON_IsObject(j)) {
		for (int i = 0; notify_toggles[i].kind; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, notify_toggles[i].kind);

			if (cJSON_IsBool(v))
				*(int *)((char *)st + notify_toggles[i].off) = cJSON_IsTrue(v);
		}
		st->page |= NT_S_KINDS;
	} else {
		snprintf(why, sizeof why, "not a setting of the page, or not JSON");
		goto bad;
	}
	cJSON_Delete(j);
	return 0;
bad:
	cJSON_Delete(j);
	sk_log(p, SK_LOG_WARN, "the page's setting %.40s is refused (%s): left out", key,
	       rc == SK_ERR_NOMEM ? "out of memory" : why);
	return 0;
}

/* Applies the page's settings (table notify_page) over st's config. */
void notify_page_apply(sk_plugin *p, nt_state *st)
{
	sk_db_exec(p, "SELECT key, value FROM notify_page ORDER BY key", NULL, 0, nt_row_apply, st);
}

/* ---- the commands ---------------------------------------------------------------- */

static const char *nt_source(const nt_state *st, unsigned bit)
{
	return (st->page & bit) ? "page" : (st->cfg & bit) ? "config" : "none";
}

/* The settings in force, secrets masked: see notify_settings in the file's
 * manual (notify.c). NULL without memory. */
static cJSON *nt_settings(const nt_state *st)
{
	cJSON *o = cJSON_CreateObject(), *t, *k, *w, *src;
	char m[NT_URL_MAX * 2 + 64];

	if (!o)
		return NULL;
	notify_mask_url(st->url ? st->url : "", m, sizeof m);
	cJSON_AddStringToObject(o, "url", m);
	cJSON_AddBoolToObject(o, "url_set", st->url != NULL);
	nt_mask_header(st->header ? st->header : "", m, sizeof m);
	cJSON_AddStringToObject(o, "header", st->header ? m : "");
	cJSON_AddBoolToObject(o, "header_set", st->header != NULL);
	t = cJSON_AddObjectToObject(o, "templates");
	for (int i = 0; i < NT_NKINDS; i++)
		if (st->tmpl[i])
			cJSON_AddStringToObject(t, notify_kinds[i], st->tmpl[i]);
	k = cJSON_AddObjectToObject(o, "kinds");
	for (int i = 0; notify_toggles[i].kind; i++)
		cJSON_AddBoolToObject(k, notify_toggles[i].kind, *(const int *)((const char *)st + notify_toggles[i].off));
	w = cJSON_AddArrayToObject(o, "words");
	for (size_t i = 0; i < st->nwords; i++)
		cJSON_AddItemToArray(w, cJSON_CreateString(st->words[i]));
	src = cJSON_AddObjectToObject(o, "source");
	cJSON_AddStringToObject(src, "url", nt_source(st, NT_S_URL));
	cJSON_AddStringToObject(src, "header", nt_source(st, NT_S_HEADER));
	cJSON_AddStringToObject(src, "templates", nt_source(st, NT_S_TEMPLATES));
	cJSON_AddStringToObject(src, "kinds", nt_source(st, NT_S_KINDS));
	cJSON_AddStringToObject(src, "words", nt_source(st, NT_S_WORDS));
	return o;
}

/* notify_settings {}: the settings in force. */
static int nt_ctl_settings(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d = skctl_data(p, command, data_json), *o;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	cJSON_Delete(d);
	if (!(o = nt_settings(p->ud)))
		return skctl_fail(p, SK_ERR_NOMEM, "%s: out of memory", command);
	return skctl_answer(p, o);
}

/* A row callback: the text of the first column into a malloc'd *ud. */
static int nt_row_text(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n >= 1 && c[0].type == SK_TEXT && !*(char **)ud)
		*(char **)ud = strdup(c[0].s);
	return 1;
}

/* One setting to write: its key and new value (NULL: the row goes). */
typedef struct {
	const char *key;
	char *value;
	int set;
} nt_change;

/* Checks field f of notify_configure's data into ch: omitted (ch->set 0),
 * "" (the page's value goes), or a valid value (its text to store). 0, or
 * -1 with the problem in why. */
static int nt_change_of(sk_plugin *p, const cJSON *f, nt_change *ch, char *why, size_t n)
{
	const char *k = ch->key;

	if (!f || cJSON_IsNull(f))
		return 0;
	ch->set = 1;
	if (cJSON_IsString(f) && !*f->valuestring)
		return 0;
	if (!strcmp(k, "url") || !strcmp(k, "header")) {
		if (!cJSON_IsString(f)) {
			snprintf(why, n, "%s must be a text (\"\" clears it)", k);
			return -1;
		}
		if (k[0] == 'u' ? notify_url_check(f->valuestring, why, n) : notify_header_check(f->valuestring, why, n))
			return -1;
		return (ch->value = strdup(f->valuestring)) ? 0 : (snprintf(why, n, "out of memory"), -1);
	}
	if (!strcmp(k, "templates")) {
		if (notify_templates_take(f, NULL, 1, why, n))
			return -1;
		if (!cJSON_GetArraySize(f))
			return 0;
	} else if (!strcmp(k, "words")) {
		if (notify_words_take(f, NULL, why, n))
			return -1;
	} else {
		/* kinds: merged into what the page set before */
		char *old = NULL;
		sk_value v = SK_VTEXT("kinds");
		cJSON *merged, *e;

		if (!cJSON_IsObject(f)) {
			snprintf(why, n, "kinds must be an object {\"<kind>\": true|false}");
			return -1;
		}
		cJSON_ArrayForEach(e, f) {
			int i;

			for (i = 0; notify_toggles[i].kind && strcmp(notify_toggles[i].kind, e->string); i++)
				;
			if (!notify_toggles[i].kind || !cJSON_IsBool(e)) {
				size_t len = (size_t)snprintf(why, n, "kinds.%.60s: must be true or false, for one of:", e->string);

				for (i = 0; notify_toggles[i].kind && len < n; i++)
					len += (size_t)snprintf(why + len, n - len, " %s", notify_toggles[i].kind);
				return -1;
			}
		}
		sk_db_exec(p, "SELECT value FROM notify_page WHERE key = ?", &v, 1, nt_row_text, &old);
		merged = old ? cJSON_Parse(old) : NULL;
		free(old);
		if (!cJSON_IsObject(merged)) {
			cJSON_Delete(merged);
			merged = cJSON_CreateObject();
		}
		cJSON_ArrayForEach(e, f) {
			cJSON_DeleteItemFromObjectCaseSensitive(merged, e->string);
			cJSON_AddBoolToObject(merged, e->string, cJSON_IsTrue(e));
		}
		{
			char *s = cJSON_PrintUnformatted(merged);

			cJSON_Delete(merged);
			ch->value = s ? strdup(s) : NULL;
			cJSON_free(s);
		}
		return ch->value ? 0 : (snprintf(why, n, "out of memory"), -1);
	}
	{
		char *s = cJSON_PrintUnformatted(f);

		ch->value = s ? strdup(s) : NULL;
		cJSON_free(s);
	}
	return ch->value ? 0 : (snprintf(why, n, "out of memory"), -1);
}

/* notify_configure {url, header, templates, kinds, words}: checks them all
 * as the config's section is checked, stores them (notify_page), applies
 * them at once (the alerts waiting for a url go out) -> the settings. */
static int nt_ctl_configure(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	nt_change ch[] = { { "url", NULL, 0 }, { "header", NULL, 0 }, { "templates", NULL, 0 }, { "kinds", NULL, 0 },
		{ "words", NULL, 0 } };
	const size_t nch = sizeof ch / sizeof ch[0];
	cJSON *d = skctl_data(p, command, data_json), *o;
	const cJSON *e;
	char why[600] = "", names[80] = "";
	int rc = SK_OK, bad = 0;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	cJSON_ArrayForEach(e, d) {
		size_t i;

		for (i = 0; i < nch && strcmp(ch[i].key, e->string); i++)
			;
		if (i == nch) {
			snprintf(why, sizeof why, "unknown field %.60s (fields: url, header, templates, kinds, words)",
				 e->string);
			bad = 1;
			break;
		}
	}
	for (size_t i = 0; i < nch && !bad; i++)
		bad = nt_change_of(p, cJSON_GetObjectItemCaseSensitive(d, ch[i].key), &ch[i], why, sizeof why) < 0;
	cJSON_Delete(d);
	if (bad) {
		for (size_t i = 0; i < nch; i++)
			free(ch[i].value);
		return skctl_fail(p, SK_ERR_INVAL, "%s: %s", command, why);
	}
	if (sk_db_begin(p) < 0)
		rc = SK_ERR_DB;
	for (size_t i = 0; i < nch && rc >= 0; i++) {
		if (!ch[i].set)
			continue;
		if (ch[i].value) {
			sk_value v[3] = { SK_VTEXT(ch[i].key), SK_VTEXT(ch[i].value), SK_VINT(sk_now_ms(p)) };

			rc = sk_db_exec(p, "INSERT OR REPLACE INTO notify_page (key, value, updated_ms) VALUES (?, ?, ?)", v,
					3, NULL, NULL);
		} else {
			sk_value v = SK_VTEXT(ch[i].key);

			rc = sk_db_exec(p, "DELETE FROM notify_page WHERE key = ?", &v, 1, NULL, NULL);
		}
		snprintf(names + strlen(names), sizeof names - strlen(names), " %s%s", ch[i].key, ch[i].value ? "" : " (cleared)");
	}
	for (size_t i = 0; i < nch; i++)
		free(ch[i].value);
	if (rc >= 0)
		rc = sk_db_commit(p);
	else
		sk_db_rollback(p);
	if (rc < 0)
		return skctl_fail(p, rc, "%s: not saved: database error (%s)", command, sk_strerror(p, rc));
	if (*names)
		sk_log(p, SK_LOG_INFO, "settings changed from the page:%s", names);
	if ((rc = notify_reconfig(p, p->ud)) != SK_OK)
		return skctl_fail(p, rc, "%s: saved, but the settings could not be applied (%s): see the log", command,
				  sk_strerror(p, rc));
	if (!(o = nt_settings(p->ud)))
		return skctl_fail(p, SK_ERR_NOMEM, "%s: out of memory", command);
	return skctl_answer(p, o);
}

static const skctl_row nt_page_controls[] = {
	{ "notify_settings", "the webhook (masked), templates, kinds and words in force", nt_ctl_settings },
	{ "notify_configure", "{url, header, templates, kinds, words}: change them from the page (\"\" clears)",
	  nt_ctl_configure },
};

/* Registers notify_settings and notify_configure. 0, or the host's refusal (<0). */
int notify_page_controls_add(sk_plugin *p)
{
	int rc = 0;

	for (size_t i = 0; rc >= 0 && i < sizeof nt_page_controls / sizeof nt_page_controls[0]; i++)
		rc = sk_control_add(p, nt_page_controls[i].name, nt_page_controls[i].help, nt_page_controls[i].fn, NULL,
				    NULL);
	return rc < 0 ? rc : 0;
}
