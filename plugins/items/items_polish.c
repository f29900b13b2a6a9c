/* SPDX-License-Identifier: MIT */
/*
 * plugins/items/items_polish.c - the polish chore: chores.polish of the
 * rules file (validation, also the descriptor's rules_check) and the daily
 * round, once per chosen item per Beijing day (items.c has the rules of it).
 */

#include "items_int.h"

/* ---- the rules ----------------------------------------------------------------------- */

void items_polish_free(it_polish *pl)
{
	if (pl) {
		free(pl->items);
		free(pl);
	}
}

/* Adds item id to pl unless it is there already; -1 without memory. */
static int it_polish_add(it_polish *pl, const char *id)
{
	void *g;

	for (size_t i = 0; i < pl->nitems; i++)
		if (!strcmp(pl->items[i], id))
			return 0;
	if (!(g = realloc(pl->items, (pl->nitems + 1) * sizeof *pl->items)))
		return -1;
	pl->items = g;
	snprintf(pl->items[pl->nitems++], sizeof pl->items[0], "%s", id);
	return 0;
}

/* Validates chores.polish of a rules document (NUL-terminated JSON text; the
 * other keys are other plugins') and builds it. Returns it (disabled and
 * empty when the document has none), or NULL with each problem reported. */
static it_polish *it_parse(skrules_ctx *x, const char *text)
{
	static const char *const fields[] = { "enabled", "items", "hour", "comment", NULL };
	it_polish *pl = calloc(1, sizeof *pl);
	cJSON *root = cJSON_ParseWithOpts(text, NULL, 1);
	const cJSON *chores, *po, *c, *v;
	int i = 0;

	if (!pl) {
		skrules_err(x, "out of memory");
		goto fail;
	}
	pl->hour = 9;
	if (!cJSON_IsObject(root)) {
		skrules_err(x, root ? "must be a JSON object" : "not valid JSON");
		goto fail;
	}
	chores = cJSON_GetObjectItemCaseSensitive(root, "chores");
	if (!chores || cJSON_IsNull(chores))
		goto done;
	if (!cJSON_IsObject(chores)) {
		skrules_err(x, "chores: must be an object");
		goto fail;
	}
	po = cJSON_GetObjectItemCaseSensitive(chores, "polish");
	if (!po || cJSON_IsNull(po))
		goto done;
	if (!cJSON_IsObject(po)) {
		skrules_err(x, "chores.polish: must be an object");
		goto fail;
	}
	cJSON_ArrayForEach(c, po) {
		size_t k;

		for (k = 0; fields[k] && strcmp(fields[k], c->string); k++)
			;
		if (!fields[k])
			skrules_err(x, "chores.polish.%s: unknown field (enabled, items, hour)", c->string);
	}
	v = cJSON_GetObjectItemCaseSensitive(po, "enabled");
	if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v))
		skrules_err(x, "chores.polish.enabled: must be true or false");
	pl->enabled = cJSON_IsTrue(v);
	v = cJSON_GetObjectItemCaseSensitive(po, "hour");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 23) ||
		    v->valuedouble != (double)(int)v->valuedouble)
			skrules_err(x, "chores.polish.hour: must be a whole number from 0 to 23 (Beijing time)");
		else
			pl->hour = (int)v->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(po, "items");
	if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v))
		skrules_err(x, "chores.polish.items: must be a list of item ids");
	else if (cJSON_GetArraySize(v) > IT_MAX_POLISH)
		skrules_err(x, "chores.polish.items: at most %d items", IT_MAX_POLISH);
	else
		cJSON_ArrayForEach(c, v) {
			char buf[32];
			const char *id = NULL;

			if (cJSON_IsString(c) && *c->valuestring && strlen(c->valuestring) < 20 &&
			    strspn(c->valuestring, "0123456789") == strlen(c->valuestring))
				id = c->valuestring;
			else if (cJSON_IsNumber(c) && c->valuedouble >= 0 && c->valuedouble < 1e15 &&
				 c->valuedouble == (double)(int64_t)c->valuedouble) {
				snprintf(buf, sizeof buf, "%lld", (long long)c->valuedouble);
				id = buf;
			}
			if (!id)
				skrules_err(x, "chores.polish.items[%d]: must be an item id (digits, as a string or a number)", i);
			else if (it_polish_add(pl, id))
				skrules_err(x, "out of memory");
			i++;
		}
done:
	if (x->nerr)
		goto fail;
	cJSON_Delete(root);
	return pl;
fail:
	cJSON_Delete(root);
	items_polish_free(pl);
	return NULL;
}

/* Loads chores.polish from the rules file. Returns it (empty when the
 * account has no rules file), or NULL when the file is refused (logged). */
it_polish *items_polish_load(sk_plugin *p)
{
	skrules_ctx x = { .p = p, .path = sk_rules_path(p) };
	it_polish *pl = NULL;
	char why[256], *text;

	if (!*x.path) {
		if ((pl = calloc(1, sizeof *pl)))
			pl->hour = 9;
		return pl;
	}
	if (!(text = sktext_read_file(x.path, IT_MAX_FILE, why, sizeof why))) {
		skrules_err(&x, "%s", why);
	} else {
		pl = it_parse(&x, text);
		free(text);
	}
	if (!pl) {
		sk_log(p, SK_LOG_ERR, "rules %s: %d errors; polish rules unchanged", x.path, x.nerr);
		return NULL;
	}
	sk_log(p, SK_LOG_INFO, "rules %s: polish %s, %zu items, from %d:00 Beijing time", x.path,
	       pl->enabled ? "on" : "off", pl->nitems, pl->hour);
	return pl;
}

/* The descriptor's rules_check: chores.polish of the document json (len
 * bytes) validated as in a rules file, without the host. Returns 0, or -1
 * with one problem per line in errs (errlen bytes). */
int items_rules_check(const char *json, size_t len, char *errs, size_t errlen)
{
	skrules_ctx x;
	char *text = skrules_text(&x, errs, errlen, json, len);

	if (text)
		items_polish_free(it_parse(&x, text));
	free(text);
	return x.nerr ? -1 : 0;
}

/* ---- the round ------------------------------------------------------------------------- */

/* The Beijing (UTC+8) calendar day "YYYY-MM-DD" of now_ms into day, and its
 * hour into *hour (may be NULL). */
void items_beijing(int64_t now_ms, char *day, size_t n, int *hour)
{
	time_t t = (time_t)(now_ms / 1000) + 8 * 3600;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(day, n, "%Y-%m-%d", &tm);
	if (hour)
		*hour = tm.tm_hour;
}

static int it_row_found(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	(void)n;
	(void)c;
	*(int *)ud = 1;
	return 1;
}

/* Whether item id has a polish record for day. */
static int it_polished(sk_plugin *p, const char *id, const char *day)
{
	sk_value v[2] = { SK_VTEXT(id), SK_VTEXT(day) };
	int found = 0;

	if (sk_db_exec(p, "SELECT 1 FROM items_polish WHERE item_id = ?1 AND day = ?2", v, 2, it_row_found, &found) < 0)
		return 1;   /* unsure: not again */
	return found;
}

static void it_polish_next(sk_plugin *p);

static void it_on_polish_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	(void)ud;
	it_polish_next(p);
}

/* The round ends (done, or stopped: why, logged). */
static void it_round_end(sk_plugin *p, const char *why)
{
	it_state *st = p->ud;

	st->polishing = 0;
	if (why)
		sk_log(p, SK_LOG_WARN, "polish round of %s stopped: %s; trying again at the next check", st->polish_day,
		       why);
}

/* Whether ret (a polish refusal) means "already polished today". */
static int it_dup(const char *ret)
{
	return strstr(ret, "POLISH_DUPLICATE") || strstr(ret, "IDLEITEM_POLISH_AGAIN") || strstr(ret, "一天只能擦亮一次") ||
	       strstr(ret, "已经擦亮过");
}

/* A polish answer (ud: the item id). Recorded before the next call. */
static void it_on_polish(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	it_state *st = p->ud;
	const char *id = ud;
	char res[200];

	(void)data_json;
	if (!st || !st->polishing)
		return;
	if (result == SK_MTOP_OK) {
		snprintf(res, sizeof res, "ok");
		sk_log(p, SK_LOG_INFO, "item %s polished (%s)", id, st->polish_day);
	} else if (result == SK_MTOP_FAIL && it_dup(ret)) {
		snprintf(res, sizeof res, "duplicate");
		sk_log(p, SK_LOG_INFO, "item %s was polished already today (%s)", id, ret);
	} else if (result == SK_MTOP_FAIL && (strstr(ret, "UNSUPPORTED_ITEM_STATUS") || strstr(ret, "已下架"))) {
		snprintf(res, sizeof res, "skipped");
		sk_log(p, SK_LOG_WARN, "item %s is delisted: not polished today (%s)", id, ret);
	} else if (result == SK_MTOP_FAIL && strncmp(ret, "FAIL_SYS", 8)) {
		snprintf(res, sizeof res, "failed: %.180s", ret);
		sk_log(p, SK_LOG_WARN, "item %s: polish refused (%s); not again today", id, ret);
	} else {
		char why[300];

		snprintf(why, sizeof why, "item %s: %s", id,
			 result == SK_MTOP_SESSION_EXPIRED ? "session expired" : result == SK_MTOP_RISK ? "risk control" :
			 result == SK_MTOP_TRANSPORT ? "no answer" : *ret ? ret : "refused");
		it_round_end(p, why);
		return;
	}
	{
		sk_value v[4] = { SK_VTEXT(id), SK_VTEXT(st->polish_day), SK_VTEXT(res), SK_VINT(sk_now_ms(p)) };

		if (sk_db_exec(p, "INSERT OR REPLACE INTO items_polish (item_id, day, result, ms) VALUES (?1, ?2, ?3, ?4)",
			       v, 4, NULL, NULL) < 0) {
			it_round_end(p, "cannot record the answer");
			return;
		}
	}
	if (sk_timer_add(p, (uint64_t)st->polish_gap_ms, 0, it_on_polish_timer, NULL, NULL, NULL) < 0)
		it_round_end(p, "no timer");
}

/* Polishes the first chosen item without a record today, or ends the round. */
static void it_polish_next(sk_plugin *p)
{
	it_state *st = p->ud;
	const it_polish *pl;
	char data[96], *id;
	int rc;

	if (!st || !st->polishing)
		return;
	pl = st->polish;
	for (size_t i = 0; i < pl->nitems; i++) {
		if (it_polished(p, pl->items[i], st->polish_day))
			continue;
		if (sk_session_state(p) != SK_STATE_CONNECTED) {
			it_round_end(p, "the account is not connected");
			return;
		}
		snprintf(data, sizeof data, "{\"itemId\":\"%s\"}", pl->items[i]);
		if (!(id = strdup(pl->items[i]))) {
			it_round_end(p, "out of memory");
			return;
		}
		if ((rc = sk_mtop(p, IT_API_POLISH, data, it_on_polish, id, free)) < 0)
			it_round_end(p, sk_strerror(p, rc));
		return;
	}
	st->polishing = 0;
	sk_log(p, SK_LOG_DEBUG, "polish round of %s done", st->polish_day);
}

/* Starts today's round when it is due: polish on, items chosen, CONNECTED,
 * the Beijing hour reached, no round running. Old records (over 60 days)
 * are dropped then. */
void items_polish_check(sk_plugin *p)
{
	it_state *st = p->ud;
	char day[12], old[12];
	int hour;

	if (!st || st->polishing || !st->polish->enabled || !st->polish->nitems ||
	    sk_session_state(p) != SK_STATE_CONNECTED)
		return;
	items_beijing(sk_now_ms(p), day, sizeof day, &hour);
	if (hour < st->polish->hour)
		return;
	items_beijing(sk_now_ms(p) - 60LL * 86400000, old, sizeof old, NULL);
	{
		sk_value v[1] = { SK_VTEXT(old) };

		sk_db_exec(p, "DELETE FROM items_polish WHERE day < ?1", v, 1, NULL, NULL);
	}
	snprintf(st->polish_day, sizeof st->polish_day, "%s", day);
	st->polishing = 1;
	it_polish_next(p);
}
