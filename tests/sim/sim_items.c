/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_items.c - the seller's items (protocol-account.md §5, §7.1,
 * §10.12): the item list mtop.idle.web.xyh.item.list (cardList/cardData,
 * paged), the item detail mtop.taobao.idle.pc.detail (itemDO with quantity,
 * imageInfos, skuList in fen, soldPrice in yuan) and the polish
 * mtop.taobao.idle.item.polish (once per item per Beijing day), from the
 * simulator's item store; POST /item defines or changes an item, GET /items
 * shows them with their counters (tests/sim/README.md).
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_ITEM_GROUP "58877261"

/* "12.50" for 1250 fen. */
static void fen_str(int fen, char *out, size_t n)
{
	snprintf(out, n, "%s%d.%02d", fen < 0 ? "-" : "", abs(fen) / 100, abs(fen) % 100);
}

/* The item's main picture: its own, or a made-up one on the platform's image
 * host ("" under --no-pictures). */
static void pic_of(const sim_item *it, char *out, size_t n)
{
	if (it->pic_url[0])
		snprintf(out, n, "%s", it->pic_url);
	else if (S.no_pictures)
		snprintf(out, n, "%s", "");
	else
		snprintf(out, n, "https://img.alicdn.com/bao/uploaded/i1/sim/%s.jpg", it->id);
}

/* The Beijing (UTC+8) calendar day of the simulator's clock, "YYYY-MM-DD". */
static void beijing_day(char *out, size_t n)
{
	time_t t = (time_t)(util_now_ms() / 1000) + 8 * 3600;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

/* Adds an id: a number when it is one of at most 15 digits (as the platform
 * sends item ids), else a string. */
static void add_id(cJSON *o, const char *k, const char *id)
{
	size_t nd = strspn(id, "0123456789");

	if (nd && !id[nd] && nd <= 15)
		cJSON_AddNumberToObject(o, k, strtod(id, NULL));
	else
		cJSON_AddStringToObject(o, k, id);
}

/* A skuList entry of §5.2 from a control call's sku {"spec":"面值:50元;颜色:红",
 * "price":fen,"quantity":n,"sku_id"}: propertyList from the spec's "name:value"
 * parts. */
static cJSON *sku_entry(const sim_item *it, const cJSON *s, int i)
{
	cJSON *e = cJSON_CreateObject(), *props = NULL;
	const char *spec = sim_jstr(s, "spec", ""), *sid = sim_jstr(s, "sku_id", NULL);
	char buf[64], part[160];
	int price = (int)sim_jnum(s, "price", it->price);

	if (!sid) {
		snprintf(buf, sizeof buf, "%.12s%02d", it->id, i + 1);
		sid = buf;
	}
	add_id(e, "skuId", sid);
	cJSON_AddNumberToObject(e, "price", price);
	cJSON_AddNumberToObject(e, "priceInCent", price);
	cJSON_AddNumberToObject(e, "quantity", sim_jnum(s, "quantity", 0));
	props = cJSON_AddArrayToObject(e, "propertyList");
	for (const char *p = spec; *p;) {
		size_t n = strcspn(p, ";");
		char *colon;
		cJSON *pr = cJSON_CreateObject();

		snprintf(part, sizeof part, "%.*s", (int)(n < sizeof part ? n : sizeof part - 1), p);
		colon = strchr(part, ':');
		if (colon)
			*colon = '\0';
		/* "name:value", or a bare value under a generic name */
		cJSON_AddStringToObject(pr, "propertyText", colon ? part : "规格");
		cJSON_AddStringToObject(pr, "valueText", colon ? colon + 1 : part);
		cJSON_AddStringToObject(pr, "actualValueText", colon ? colon + 1 : part);
		cJSON_AddNumberToObject(pr, "propertyId", 100 + cJSON_GetArraySize(props));
		cJSON_AddItemToArray(props, pr);
		p += n;
		if (*p == ';')
			p++;
	}
	return e;
}

/* The data of mtop.taobao.idle.pc.detail for an item (§5.2): itemDO with
 * itemId a number (a string only for an id that is not one), soldPrice a
 * string in yuan, quantity, itemStatus and itemStatusStr, imageInfos with the
 * main picture, skuList with prices in fen. */
static cJSON *item_detail(const sim_item *it)
{
	cJSON *d = cJSON_CreateObject(), *ido = cJSON_AddObjectToObject(d, "itemDO"), *imgs, *img, *skus, *s;
	char price[32], pic[300];
	int i = 0;

	add_id(ido, "itemId", it->id);
	cJSON_AddStringToObject(ido, "title", it->title);
	cJSON_AddStringToObject(ido, "desc", it->desc);
	fen_str(it->price, price, sizeof price);
	cJSON_AddStringToObject(ido, "soldPrice", price);
	cJSON_AddNumberToObject(ido, "quantity", it->quantity);
	cJSON_AddNumberToObject(ido, "itemStatus", it->status);
	cJSON_AddStringToObject(ido, "itemStatusStr", it->status ? "已下架" : "在售");
	imgs = cJSON_AddArrayToObject(ido, "imageInfos");
	img = cJSON_CreateObject();
	pic_of(it, pic, sizeof pic);
	cJSON_AddStringToObject(img, "url", pic);
	cJSON_AddNumberToObject(img, "widthSize", 800);
	cJSON_AddNumberToObject(img, "heightSize", 800);
	cJSON_AddBoolToObject(img, "major", 1);
	cJSON_AddNumberToObject(img, "type", 0);
	cJSON_AddItemToArray(imgs, img);
	skus = cJSON_AddArrayToObject(ido, "skuList");
	cJSON_ArrayForEach(s, it->skus)
		cJSON_AddItemToArray(skus, sku_entry(it, s, i++));
	cJSON_AddArrayToObject(ido, "propertyList");
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(d, "sellerDO"), "sellerId", 0);
	return d;
}

/* A cardList entry of the item list (§5.1). */
static cJSON *item_card(const sim_item *it)
{
	cJSON *c = cJSON_CreateObject(), *cd = cJSON_AddObjectToObject(c, "cardData"), *pi, *pic;
	char price[32], url[300];

	cJSON_AddNumberToObject(c, "cardType", 1003);
	cJSON_AddStringToObject(cd, "id", it->id);
	cJSON_AddStringToObject(cd, "title", it->title);
	pi = cJSON_AddObjectToObject(cd, "priceInfo");
	fen_str(it->price, price, sizeof price);
	cJSON_AddStringToObject(pi, "price", price);
	cJSON_AddStringToObject(pi, "preText", "¥");
	pic = cJSON_AddObjectToObject(cd, "picInfo");
	pic_of(it, url, sizeof url);
	cJSON_AddStringToObject(pic, "picUrl", url);
	cJSON_AddNumberToObject(pic, "width", 800);
	cJSON_AddNumberToObject(pic, "height", 800);
	cJSON_AddNumberToObject(cd, "itemStatus", it->status);
	snprintf(url, sizeof url, "https://www.goofish.com/item?id=%s", it->id);
	cJSON_AddStringToObject(cd, "detailUrl", url);
	cJSON_AddNumberToObject(cd, "categoryId", 50023914);
	cJSON_AddStringToObject(cd, "auctionType", "b");
	return c;
}

/* The item list (§5.1): the on-sale items (not delisted, not deleted),
 * newest first, page pageNumber (from 1) of pageSize (1..100). Another group
 * than 在售's id lists nothing. Returns the failure ret, or NULL with *out. */
static const char *item_list(const cJSON *dj, cJSON **out)
{
	const cJSON *pn = cJSON_GetObjectItemCaseSensitive(dj, "pageNumber"),
		    *ps = cJSON_GetObjectItemCaseSensitive(dj, "pageSize");
	const char *gid = sim_jstr(dj, "groupId", SIM_ITEM_GROUP);
	double page = cJSON_IsNumber(pn) ? pn->valuedouble : cJSON_IsString(pn) ? atof(pn->valuestring) : 0;
	double size = cJSON_IsNumber(ps) ? ps->valuedouble : cJSON_IsString(ps) ? atof(ps->valuestring) : 0;
	cJSON *list;
	int skip, n = 0;

	if (page < 1 || page > 100000 || size < 1 || size > 100)
		return "FAIL_SYS_PARAMINVALID_ERROR::pageNumber/pageSize";
	*out = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(*out, "cardList");
	skip = ((int)page - 1) * (int)size;
	for (sim_item *it = S.items; it && strcmp(gid, SIM_ITEM_GROUP) == 0; it = it->next) {
		if (it->status || it->deleted)
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		if (n++ >= (int)size)
			break;
		cJSON_AddItemToArray(list, item_card(it));
	}
	return NULL;
}

/* The polish (§7.1): once per item per Beijing day; a delisted item is refused. */
static const char *item_polish(const cJSON *dj)
{
	char buf[32], day[12];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(dj, "itemId");
	const char *iid = cJSON_IsString(v) ? v->valuestring : NULL;
	sim_item *it;

	if (!iid && cJSON_IsNumber(v)) {
		snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
		iid = buf;
	}
	if (!iid || !(it = sim_item_get(iid, 0)) || it->deleted)
		return "FAIL_BIZ_ITEM_NOT_EXIST::商品不存在";
	it->polish_calls++;
	if (it->status)
		return "UNSUPPORTED_ITEM_STATUS::已下架商品不支持该操作";
	beijing_day(day, sizeof day);
	if (!strcmp(it->polished_day, day))
		return "POLISH_DUPLICATE::一天只能擦亮一次";
	snprintf(it->polished_day, sizeof it->polished_day, "%s", day);
	it->polishes++;
	return NULL;
}

int sim_items_mtop(const char *api, sim_account *a, const cJSON *dj, cJSON **out, const char **ret)
{
	(void)a;
	if (!strcmp(api, "mtop.idle.web.xyh.item.list")) {
		*ret = item_list(dj, out);
		return 1;
	}
	if (!strcmp(api, "mtop.taobao.idle.pc.detail")) {
		const char *iid = sim_jstr2(dj, "itemId");
		sim_item *it = iid ? sim_item_get(iid, 0) : NULL;

		if (!it || it->deleted) {
			*ret = "FAIL_BIZ_ITEM_NOT_EXIST::商品不存在";
		} else {
			it->detail_calls++;
			*out = item_detail(it);
			*ret = NULL;
		}
		return 1;
	}
	if (!strcmp(api, "mtop.taobao.idle.item.polish")) {
		*ret = item_polish(dj);
		return 1;
	}
	return 0;
}

/* Copies string member k of b into dst (n bytes) when b has one; dst is
 * left alone otherwise (printing dst into itself would blank it). */
static void set_str(const cJSON *b, const char *k, char *dst, size_t n)
{
	const char *v = sim_jstr(b, k, NULL);

	if (v)
		snprintf(dst, n, "%s", v);
}

/* POST /item: defines an item (item_id; title, desc, price in fen,
 * quantity, skus, pic_url, status 0 on sale / 1 delisted, deleted,
 * polished_day "" to forget today's polish); only the fields given change. */
static int ctl_item(const cJSON *b, cJSON **out)
{
	const char *id = sim_jstr(b, "item_id", NULL);
	const cJSON *skus = cJSON_GetObjectItemCaseSensitive(b, "skus");
	sim_item *it;

	*out = cJSON_CreateObject();
	if (!id || !*id || strlen(id) >= sizeof it->id) {
		cJSON_AddStringToObject(*out, "error", "item_id required (at most 23 bytes)");
		return 400;
	}
	if (skus && !cJSON_IsArray(skus)) {
		cJSON_AddStringToObject(*out, "error", "skus must be a list of {spec, price, quantity}");
		return 400;
	}
	if (!(it = sim_item_get(id, 1))) {
		cJSON_AddStringToObject(*out, "error", "out of memory");
		return 500;
	}
	set_str(b, "title", it->title, sizeof it->title);
	set_str(b, "desc", it->desc, sizeof it->desc);
	set_str(b, "pic_url", it->pic_url, sizeof it->pic_url);
	set_str(b, "polished_day", it->polished_day, sizeof it->polished_day);
	it->price = (int)sim_jnum(b, "price", it->price);
	it->quantity = (int)sim_jnum(b, "quantity", it->quantity);
	it->status = (int)sim_jnum(b, "status", it->status);
	it->deleted = sim_jbool(b, "deleted", it->deleted);
	if (skus) {
		cJSON_Delete(it->skus);
		it->skus = cJSON_Duplicate(skus, 1);
	}
	cJSON_AddStringToObject(*out, "item_id", it->id);
	return 200;
}

/* GET /items: every item with its state and counters, newest first. */
static int ctl_items(cJSON **out)
{
	cJSON *arr;

	*out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(*out, "items");
	for (sim_item *it = S.items; it; it = it->next) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "item_id", it->id);
		cJSON_AddStringToObject(j, "title", it->title);
		cJSON_AddNumberToObject(j, "price", it->price);
		cJSON_AddNumberToObject(j, "quantity", it->quantity);
		cJSON_AddNumberToObject(j, "status", it->status);
		cJSON_AddBoolToObject(j, "deleted", it->deleted);
		cJSON_AddStringToObject(j, "polished_day", it->polished_day);
		cJSON_AddNumberToObject(j, "polishes", it->polishes);
		cJSON_AddNumberToObject(j, "polish_calls", it->polish_calls);
		cJSON_AddNumberToObject(j, "detail_calls", it->detail_calls);
		cJSON_AddItemToArray(arr, j);
	}
	return 200;
}

int sim_items_ctl(const char *method, const char *path, const cJSON *body, cJSON **out)
{
	if (!strcmp(method, "POST") && !strcmp(path, "/item"))
		return ctl_item(body, out);
	if (!strcmp(method, "GET") && !strcmp(path, "/items"))
		return ctl_items(out);
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "error", "no such control endpoint");
	return 404;
}
