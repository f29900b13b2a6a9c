/* SPDX-License-Identifier: MIT */
/*
 * plugins/items/items_sync.c - one sync run: the item list page by page,
 * then each listed item's detail, every step on a timer (items.c has the
 * rules of it), and the parsing of both answers into items_item.
 */

#include "items_int.h"

/* ---- JSON helpers ------------------------------------------------------------------- */

/* Member k of o as text: a string, or a whole number written out into buf.
 * NULL when absent or of another type. */
const char *items_jtext(const cJSON *o, const char *k, char *buf, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsString(v))
		return v->valuestring;
	/* The range first: converting a double outside int64_t is undefined. */
	if (cJSON_IsNumber(v) && v->valuedouble > -9e15 && v->valuedouble < 9e15 &&
	    v->valuedouble == (double)(int64_t)v->valuedouble) {
		snprintf(buf, n, "%lld", (long long)v->valuedouble);
		return buf;
	}
	return NULL;
}

/* A whole number member (a number, or a string of digits as valueType=string
 * answers have them): 0 with *out set, -1 when absent or not one. */
static int it_jint(const cJSON *o, const char *k, int64_t *out)
{
	char buf[32], *end;
	const char *t = items_jtext(o, k, buf, sizeof buf);
	long long v;

	if (!t || !*t)
		return -1;
	v = strtoll(t, &end, 10);
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* A price in yuan ("12.50", "12.5", "12", or a number) in fen; -1 when it is
 * not a price (empty, negative, garbage, absurdly large). */
int64_t items_fen(const cJSON *v)
{
	int64_t yuan = 0, fen = 0;
	const char *s;
	int digits = 0, dec = 0;

	if (cJSON_IsNumber(v))
		return v->valuedouble >= 0 && v->valuedouble < 1e12 ? (int64_t)(v->valuedouble * 100 + 0.5) : -1;
	if (!cJSON_IsString(v))
		return -1;
	for (s = v->valuestring; *s >= '0' && *s <= '9'; s++, digits++)
		if ((yuan = yuan * 10 + (*s - '0')) > 10000000000LL)
			return -1;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (dec++ < 2)
				fen = fen * 10 + (*s - '0');
	if (!digits || *s)
		return -1;
	if (dec == 1)
		fen *= 10;
	return yuan * 100 + fen;
}

/* "12.50" for 1250 fen. */
void items_yuan(int64_t fen, char *out, size_t n)
{
	snprintf(out, n, "%lld.%02lld", (long long)(fen / 100), (long long)(fen % 100));
}

/* An image URL as the page can load it: "//img..." gets https:. */
static void it_url(const char *u, char *out, size_t n)
{
	snprintf(out, n, "%s%s", !strncmp(u, "//", 2) ? "https:" : "", u);
}

/* ---- the run ------------------------------------------------------------------------ */

static void it_list_next(sk_plugin *p);
static void it_on_detail_timer(sk_plugin *p, uint64_t id, void *ud);
static void it_on_list_timer(sk_plugin *p, uint64_t id, void *ud);

/* The run stopped early: counted, logged, last_error; tried again after
 * retry_s, doubling per run in a row that stopped, at most refresh_s. */
static void it_stop(sk_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void it_stop(sk_plugin *p, const char *fmt, ...)
{
	it_state *st = p->ud;
	int64_t delay = st->retry_s * 1000;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->last_error, sizeof st->last_error, fmt, ap);
	va_end(ap);
	st->running = 0;
	st->last_failed = 1;
	st->errors++;
	st->fail_streak++;
	for (int i = 1; i < st->fail_streak && delay < st->refresh_s * 1000; i++)
		delay *= 2;
	if (delay > st->refresh_s * 1000)
		delay = st->refresh_s * 1000;
	sk_log(p, SK_LOG_WARN, "item sync stopped: %s; trying again in %lld s", st->last_error,
	       (long long)(delay / 1000));
	items_schedule(p, delay);
}

/* One failure that does not stop the run: counted, logged, last_error. */
static void it_error(sk_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void it_error(sk_plugin *p, const char *fmt, ...)
{
	it_state *st = p->ud;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->last_error, sizeof st->last_error, fmt, ap);
	va_end(ap);
	st->errors++;
	st->run_errors++;
	sk_log(p, SK_LOG_WARN, "item sync: %s", st->last_error);
}

/* Why an mtop call failed, for a person. */
static const char *it_why(int result, const char *ret)
{
	switch (result) {
	case SK_MTOP_SESSION_EXPIRED: return "session expired: the account needs a new login";
	case SK_MTOP_RISK: return "risk control";
	case SK_MTOP_TRANSPORT: return "no answer";
	case SK_MTOP_TOKEN_EXPIRED: return "token expired";
	default: return *ret ? ret : "refused";
	}
}

/* The run reached its end: synced_ms, the next refresh in refresh_s plus
 * up to a tenth of it, "items.synced". */
static void it_finish(sk_plugin *p)
{
	it_state *st = p->ud;
	int64_t n = (int64_t)st->nids, jitter = st->refresh_s * 1000 / 10;
	char pay[96];

	st->running = 0;
	st->last_failed = 0;
	st->fail_streak = 0;
	st->synced_ms = sk_now_ms(p);
	if (!st->run_errors)
		st->last_error[0] = '\0';
	sk_log(p, SK_LOG_INFO, "item sync done: %lld items, %d errors", (long long)n, st->run_errors);
	snprintf(pay, sizeof pay, "{\"items\":%lld,\"errors\":%d}", (long long)n, st->run_errors);
	sk_publish(p, "items.synced", pay);
	items_schedule(p, st->refresh_s * 1000 + (jitter > 0 ? (int64_t)(random() % (jitter + 1)) : 0));
}

/* Adds id to the run's list; -1 without memory. A repeat is kept once. */
static int it_ids_add(it_state *st, const char *id)
{
	for (size_t i = 0; i < st->nids; i++)
		if (!strcmp(st->ids[i], id))
			return 0;
	if (st->nids == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		void *g = realloc(st->ids, cap * sizeof *st->ids);

		if (!g)
			return -1;
		st->ids = g;
		st->cap = cap;
	}
	snprintf(st->ids[st->nids++], sizeof st->ids[0], "%s", id);
	return 0;
}

/* One cardList entry: the item upserted as listed in this run. 0, or -1
 * when the card has no usable id (skipped, counted). */
static int it_card(sk_plugin *p, const cJSON *card)
{
	it_state *st = p->ud;
	const cJSON *cd = cJSON_GetObjectItemCaseSensitive(card, "cardData"), *title;
	char ib[32], sb[32], pic[512] = "";
	const char *id = items_jtext(cd, "id", ib, sizeof ib), *pu;
	int64_t fen = items_fen(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cd, "priceInfo"),
								  "price")), status = 0;
	const char *stt = items_jtext(cd, "itemStatus", sb, sizeof sb);

	if (!id || !*id || strlen(id) >= sizeof st->ids[0] || strspn(id, "0123456789") != strlen(id))
		return -1;
	title = cJSON_GetObjectItemCaseSensitive(cd, "title");
	pu = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cd, "picInfo"), "picUrl")) ?
	     cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cd, "picInfo"), "picUrl")->valuestring : "";
	it_url(pu, pic, sizeof pic);
	if (stt)
		status = strtoll(stt, NULL, 10);
	if (it_ids_add(st, id))
		return -1;
	{
		sk_value v[7] = { SK_VTEXT(id), SK_VTEXT(cJSON_IsString(title) ? title->valuestring : ""),
			fen >= 0 ? SK_VINT(fen) : SK_VNULL, SK_VINT(status), SK_VTEXT(pic),
			SK_VINT((int64_t)st->nids), SK_VINT(st->run_ms) };

		if (sk_db_exec(p, "INSERT INTO items_item (item_id, title, price, status, pic_url, list_pos, synced_ms, gone) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0) ON CONFLICT (item_id) DO UPDATE SET "
			       "title = CASE WHEN ?2 <> '' THEN ?2 ELSE title END, price = COALESCE(?3, price), "
			       "status = ?4, pic_url = CASE WHEN ?5 <> '' THEN ?5 ELSE pic_url END, list_pos = ?6, "
			       "synced_ms = ?7, gone = 0", v, 7, NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

/* A list page's answer: its items recorded; then the next page, or the
 * details after a short page (or max_pages). */
static void it_on_list(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	it_state *st = p->ud;
	const cJSON *list, *card;
	cJSON *d;
	int n = 0, bad = 0;

	(void)ud;
	if (!st || !st->running)
		return;
	if (result != SK_MTOP_OK) {
		it_stop(p, "item list page %d: %s", st->page, it_why(result, ret));
		return;
	}
	d = cJSON_Parse(data_json);
	list = cJSON_GetObjectItemCaseSensitive(d, "cardList");
	if (!cJSON_IsObject(d) || (list && !cJSON_IsArray(list))) {
		cJSON_Delete(d);
		it_stop(p, "item list page %d: an answer without a cardList list", st->page);
		return;
	}
	cJSON_ArrayForEach(card, list) {
		n++;
		bad += it_card(p, card) < 0;
	}
	cJSON_Delete(d);
	if (bad)
		it_error(p, "item list page %d: %d of %d cards without a usable item id, skipped", st->page, bad, n);
	if (n >= st->page_size && st->page < st->max_pages) {
		sk_timer_add(p, (uint64_t)st->page_gap_ms, 0, it_on_list_timer, NULL, NULL, NULL);
		return;
	}
	st->complete = n < st->page_size;
	if (st->complete) {
		sk_value v[1] = { SK_VINT(st->run_ms) };

		sk_db_exec(p, "UPDATE items_item SET gone = 1 WHERE synced_ms <> ?1 AND gone = 0", v, 1, NULL, NULL);
		if (sk_db_changes(p) > 0)
			sk_log(p, SK_LOG_INFO, "%lld items no longer listed: kept as gone", (long long)sk_db_changes(p));
	} else {
		it_error(p, "item list: more than %lld pages; items not seen are not marked gone",
			 (long long)st->max_pages);
	}
	st->next = 0;
	sk_timer_add(p, st->nids ? (uint64_t)st->detail_gap_ms : 0, 0, it_on_detail_timer, NULL, NULL, NULL);
}

/* Asks for the next list page (the data built with cJSON: the user id and
 * the group name are escaped whatever they hold). */
static void it_list_next(sk_plugin *p)
{
	it_state *st = p->ud;
	cJSON *d;
	char *data;
	int rc;

	if (!st || !st->running)
		return;
	st->page++;
	d = cJSON_CreateObject();
	cJSON_AddFalseToObject(d, "needGroupInfo");
	cJSON_AddNumberToObject(d, "pageNumber", st->page);
	cJSON_AddNumberToObject(d, "pageSize", (double)st->page_size);
	cJSON_AddStringToObject(d, "groupName", st->group_name);
	cJSON_AddStringToObject(d, "groupId", st->group_id);
	cJSON_AddTrueToObject(d, "defaultGroup");
	cJSON_AddStringToObject(d, "userId", sk_own_user_id(p));
	data = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	if (!data) {
		it_stop(p, "item list page %d: out of memory", st->page);
		return;
	}
	if ((rc = sk_mtop(p, IT_API_LIST, data, it_on_list, NULL, NULL)) < 0)
		it_stop(p, "item list page %d: cannot call: %s", st->page, sk_strerror(p, rc));
	cJSON_free(data);
}

/* A timer's entry to it_list_next. */
static void it_on_list_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	(void)ud;
	it_list_next(p);
}

/* The skus of an itemDO (skuList, else idleItemSkuList) as items_item.skus_json:
 * [{"sku_id","spec":"name:value;...","price":"yuan" or null,"quantity":N or null}]. */
static cJSON *it_skus(const cJSON *ido)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(ido, "skuList"), *s, *pr;
	cJSON *out = cJSON_CreateArray();

	if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
		list = cJSON_GetObjectItemCaseSensitive(ido, "idleItemSkuList");
	cJSON_ArrayForEach(s, list) {
		cJSON *o = cJSON_CreateObject();
		char b[32], spec[512] = "", yuan[32];
		const char *sid = items_jtext(s, "skuId", b, sizeof b);
		int64_t fen, q;
		size_t used = 0;

		cJSON_AddStringToObject(o, "sku_id", sid ? sid : "");
		cJSON_ArrayForEach(pr, cJSON_GetObjectItemCaseSensitive(s, "propertyList")) {
			const cJSON *pt = cJSON_GetObjectItemCaseSensitive(pr, "propertyText"),
				    *vt = cJSON_GetObjectItemCaseSensitive(pr, "valueText");

			if (!cJSON_IsString(vt))
				continue;
			used += (size_t)snprintf(spec + used, used < sizeof spec ? sizeof spec - used : 0, "%s%s%s%s",
						 used ? ";" : "", cJSON_IsString(pt) ? pt->valuestring : "",
						 cJSON_IsString(pt) && *pt->valuestring ? ":" : "", vt->valuestring);
			if (used >= sizeof spec)
				used = sizeof spec - 1;
		}
		cJSON_AddStringToObject(o, "spec", spec);
		if (!it_jint(s, "price", &fen) || !it_jint(s, "priceInCent", &fen)) {
			items_yuan(fen, yuan, sizeof yuan);
			cJSON_AddStringToObject(o, "price", yuan);
		} else {
			cJSON_AddNullToObject(o, "price");
		}
		if (!it_jint(s, "quantity", &q))
			cJSON_AddNumberToObject(o, "quantity", (double)q);
		else
			cJSON_AddNullToObject(o, "quantity");
		cJSON_AddItemToArray(out, o);
	}
	return out;
}

/* How many bytes of s to keep for at most max: the length cut back to the
 * start of a UTF-8 character (s is NUL-terminated). */
static size_t it_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* A detail answer for item id: title, price, stock, status, picture, skus,
 * description (kept when the answer has none). */
static void it_detail_store(sk_plugin *p, const char *id, const cJSON *ido)
{
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(ido, "title"), *img, *ststr,
		    *desc = cJSON_GetObjectItemCaseSensitive(ido, "desc");
	int64_t fen = items_fen(cJSON_GetObjectItemCaseSensitive(ido, "soldPrice")), q = 0, status = 0;
	int hasq = !it_jint(ido, "quantity", &q), hass = !it_jint(ido, "itemStatus", &status);
	char pic[512] = "", *skus;
	const char *first = NULL, *major = NULL;
	cJSON *sk = it_skus(ido);

	if (fen < 0)
		fen = items_fen(cJSON_GetObjectItemCaseSensitive(ido, "minPrice"));
	cJSON_ArrayForEach(img, cJSON_GetObjectItemCaseSensitive(ido, "imageInfos")) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(img, "url"), *m = cJSON_GetObjectItemCaseSensitive(img, "major");

		if (!cJSON_IsString(u) || !*u->valuestring)
			continue;
		if (!first)
			first = u->valuestring;
		if (!major && (cJSON_IsTrue(m) || (cJSON_IsString(m) && !strcmp(m->valuestring, "true"))))
			major = u->valuestring;
	}
	if (major || first)
		it_url(major ? major : first, pic, sizeof pic);
	ststr = cJSON_GetObjectItemCaseSensitive(ido, "itemStatusStr");
	skus = cJSON_PrintUnformatted(sk);
	cJSON_Delete(sk);
	{
		sk_value v[10] = { SK_VTEXT(id), SK_VTEXT(cJSON_IsString(title) ? title->valuestring : ""),
			fen >= 0 ? SK_VINT(fen) : SK_VNULL, hasq ? SK_VINT(q) : SK_VNULL, SK_VINT(hass ? status : 0),
			SK_VTEXT(cJSON_IsString(ststr) ? ststr->valuestring : (hass && status) ? "" : "在售"), SK_VTEXT(pic),
			SK_VTEXT(skus ? skus : "[]"), SK_VINT(sk_now_ms(p)), SK_VNULL };

		if (cJSON_IsString(desc)) {
			v[9].type = SK_TEXT;
			v[9].s = desc->valuestring;
			v[9].len = it_utf8_cut(desc->valuestring, IT_DESC_MAX);
		}
		if (sk_db_exec(p, "UPDATE items_item SET title = CASE WHEN ?2 <> '' THEN ?2 ELSE title END, "
			       "price = COALESCE(?3, price), quantity = ?4, status = ?5, status_text = ?6, "
			       "pic_url = CASE WHEN ?7 <> '' THEN ?7 ELSE pic_url END, skus_json = ?8, detail_ms = ?9, "
			       "\"desc\" = COALESCE(?10, \"desc\") WHERE item_id = ?1", v, 10, NULL, NULL) < 0)
			it_error(p, "item %s: cannot record its detail", id);
	}
	cJSON_free(skus);
}

/* A detail answer (ud: the item id, malloc'd). */
static void it_on_detail(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	it_state *st = p->ud;
	const char *id = ud;

	if (!st || !st->running)
		return;
	st->next++;
	if (result == SK_MTOP_SESSION_EXPIRED || result == SK_MTOP_RISK) {
		it_stop(p, "item %s detail: %s", id, it_why(result, ret));
		return;
	}
	if (result == SK_MTOP_OK) {
		cJSON *d = cJSON_Parse(data_json);
		const cJSON *ido = cJSON_GetObjectItemCaseSensitive(d, "itemDO");

		if (cJSON_IsObject(ido))
			it_detail_store(p, id, ido);
		else
			it_error(p, "item %s detail: an answer without itemDO", id);
		cJSON_Delete(d);
	} else if (result == SK_MTOP_FAIL && strncmp(ret, "FAIL_SYS", 8)) {
		/* a business failure: delisted, not found... marks the item */
		const char *msg = strstr(ret, "::") ? strstr(ret, "::") + 2 : ret;
		sk_value v[3] = { SK_VTEXT(id), SK_VTEXT(*msg ? msg : "detail refused"), SK_VINT(sk_now_ms(p)) };

		sk_db_exec(p, "UPDATE items_item SET status = -1, status_text = ?2, detail_ms = ?3 WHERE item_id = ?1",
			   v, 3, NULL, NULL);
		it_error(p, "item %s detail: %s", id, ret);
	} else {
		it_error(p, "item %s detail: %s; its previous detail stays", id, it_why(result, ret));
	}
	sk_timer_add(p, (uint64_t)st->detail_gap_ms, 0, it_on_detail_timer, NULL, NULL, NULL);
}

/* The next detail, or the end of the run. */
static void it_on_detail_timer(sk_plugin *p, uint64_t id, void *ud)
{
	it_state *st = p->ud;
	char data[96], *iid;
	int rc;

	(void)id;
	(void)ud;
	if (!st || !st->running)
		return;
	if (st->next >= st->nids) {
		it_finish(p);
		return;
	}
	snprintf(data, sizeof data, "{\"itemId\":\"%s\"}", st->ids[st->next]);
	if (!(iid = strdup(st->ids[st->next]))) {
		it_stop(p, "out of memory");
		return;
	}
	if ((rc = sk_mtop(p, IT_API_DETAIL, data, it_on_detail, iid, free)) < 0)
		it_stop(p, "item %s detail: cannot call: %s", st->ids[st->next], sk_strerror(p, rc));
}

/* Starts a sync run unless one is running. Returns 1 when it started, 0 when
 * one was running. */
int items_sync_start(sk_plugin *p, const char *why)
{
	it_state *st = p->ud;
	int64_t now = sk_now_ms(p);

	if (!st || st->running)
		return 0;
	st->running = 1;
	st->page = 0;
	st->complete = 0;
	st->nids = st->next = 0;
	st->run_errors = 0;
	/* strictly after the last run: gone is "not listed in the run of run_ms" */
	st->run_ms = now > st->run_ms ? now : st->run_ms + 1;
	if (st->refresh_timer) {
		sk_timer_cancel(p, st->refresh_timer);
		st->refresh_timer = 0;
	}
	sk_log(p, SK_LOG_INFO, "item sync starts (%s)", why);
	it_list_next(p);
	return 1;
}
