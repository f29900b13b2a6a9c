/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_rules.c - the rules file's "cards" and "delivery":
 * parsing and validation (also the descriptor's rules_check), and the spec match.
 */

#include "orders_int.h"

const char *const orders_vars[] = { "code", "order_id", "buyer_name", "item_id", "spec", "quantity", NULL };
/* The variables of a notice's or a rating's text: a card's without {code},
 * plus {item_title} (the items plugin's title of the item, "" when unknown). */
const char *const orders_notice_vars[] = { "order_id", "buyer_name", "item_id", "spec", "quantity", "item_title",
	NULL };
/* The notices' names in the rules file and in orders_notice.kind, by od_nkind. */
const char *const orders_notice_names[] = { "waiting_stock", "cannot_deliver", "after_delivery", NULL };
/* The defaults of an absent notice: waiting_stock and cannot_deliver on (a
 * buyer who paid hears why nothing came), after_delivery off. */
static const char *const od_notice_texts[] = { "库存补充中，补货后自动发货，请稍候～",
	"这个订单需要人工处理，卖家会尽快联系您。", NULL };
#define OD_RATE_TEXT "不错的买家，欢迎再来"
/* ---- the rules file --------------------------------------------------------- */

/* Frees a rule set (NULL is fine). */
void orders_rules_free(od_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->ncards; i++) {
		free(rs->cards[i].name);
		free(rs->cards[i].tmpl);
		free(rs->cards[i].url);
		free(rs->cards[i].after_text);
		free(rs->cards[i].after_image);
	}
	for (int k = 0; k < OD_N_COUNT; k++) {
		free(rs->notices[k].text);
		free(rs->notices[k].image);
	}
	free(rs->rate_text);
	for (size_t i = 0; i < rs->nrules; i++) {
		free(rs->rules[i].item);
		free(rs->rules[i].spec);
		free(rs->rules[i].card);
	}
	free(rs->cards);
	free(rs->rules);
	free(rs);
}

/* The card called name, NULL when none. While parsing, a card whose name
 * was refused has none (NULL). */
const od_card *orders_card_find(const od_rules *rs, const char *name)
{
	for (size_t i = 0; i < rs->ncards; i++)
		if (rs->cards[i].name && !strcmp(rs->cards[i].name, name))
			return &rs->cards[i];
	return NULL;
}

/* Every member of o must be in fields. */
static void od_fields(skrules_ctx *x, const cJSON *o, const char *where, const char *const *fields)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, o) {
		size_t i;

		for (i = 0; fields[i] && strcmp(fields[i], c->string); i++)
			;
		if (!fields[i])
			skrules_err(x, "%s.%s: unknown field", where, c->string);
	}
}

/* A string field (or an integer written as a number, for ids) into *out;
 * absent or null leaves NULL. Required ones must be non-empty. */
static void od_str(skrules_ctx *x, const cJSON *o, const char *f, const char *where, int required, int num_ok, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f);
	char buf[32];

	*out = NULL;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			skrules_err(x, "%s.%s: required", where, f);
		return;
	}
	if (cJSON_IsString(v)) {
		if (required && !*v->valuestring) {
			skrules_err(x, "%s.%s: must not be empty", where, f);
			return;
		}
		if (!(*out = strdup(v->valuestring)))
			skrules_err(x, "out of memory");
		return;
	}
	if (num_ok && cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e18 &&
	    v->valuedouble == (double)(int64_t)v->valuedouble) {
		snprintf(buf, sizeof buf, "%lld", (long long)v->valuedouble);
		if (!(*out = strdup(buf)))
			skrules_err(x, "out of memory");
		return;
	}
	skrules_err(x, "%s.%s: must be a string", where, f);
}

/* An integer field in [lo, hi], def when absent. */
static int64_t od_num(skrules_ctx *x, const cJSON *o, const char *f, const char *where, int64_t def, int64_t lo, int64_t hi)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f);

	if (!v || cJSON_IsNull(v))
		return def;
	/* The range first: converting a double outside int64_t is undefined (NaN fails it too). */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi) ||
	    v->valuedouble != (double)(int64_t)v->valuedouble) {
		skrules_err(x, "%s.%s: must be a whole number from %lld to %lld", where, f, (long long)lo, (long long)hi);
		return def;
	}
	return (int64_t)v->valuedouble;
}

/* A notice's text (template of orders_notice_vars, 1 to OD_MAX_NOTICE
 * bytes) into *text, and with image_ok its "image" (an http(s) url) into
 * *image; the object's other fields must be among those of a notice
 * ("enabled" and "comment" too when with_enabled). */
static void od_message(skrules_ctx *x, const cJSON *o, const char *where, int with_enabled, char **text, char **image)
{
	static const char *const f_card[] = { "text", "image", "comment", NULL };
	static const char *const f_notice[] = { "enabled", "text", "image", "comment", NULL };
	char why[256];

	*text = NULL;
	if (image)
		*image = NULL;
	if (!cJSON_IsObject(o)) {
		skrules_err(x, "%s: must be an object", where);
		return;
	}
	od_fields(x, o, where, with_enabled ? f_notice : f_card);
	od_str(x, o, "text", where, 0, 0, text);
	if (*text && !**text)
		skrules_err(x, "%s.text: must not be empty (leave it out for the default)", where);
	else if (*text && strlen(*text) > OD_MAX_NOTICE)
		skrules_err(x, "%s.text: at most %d bytes, not %zu", where, OD_MAX_NOTICE, strlen(*text));
	else if (*text && sktext_tmpl_check(*text, orders_notice_vars, why, sizeof why))
		skrules_err(x, "%s.text: %s", where, why);
	if (image) {
		od_str(x, o, "image", where, 0, 0, image);
		if (*image && strncmp(*image, "http://", 7) && strncmp(*image, "https://", 8))
			skrules_err(x, "%s.image: must be an http(s) url", where);
	} else if (cJSON_GetObjectItemCaseSensitive(o, "image") &&
		   !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "image"))) {
		skrules_err(x, "%s.image: only after_delivery sends an image", where);
	}
}

/* A boolean field, def when absent or null. */
static int od_bool(skrules_ctx *x, const cJSON *o, const char *f, const char *where, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f);

	if (!v || cJSON_IsNull(v))
		return def;
	if (!cJSON_IsBool(v)) {
		skrules_err(x, "%s.%s: must be true or false", where, f);
		return def;
	}
	return cJSON_IsTrue(v);
}

/* The rules' "notices" (may be NULL: every notice its default) into rs. */
static void od_notices(skrules_ctx *x, const cJSON *n, od_rules *rs)
{
	static const char *const fields[] = { "waiting_stock", "cannot_deliver", "after_delivery", "comment", NULL };
	char where[64];

	if (n && !cJSON_IsNull(n) && !cJSON_IsObject(n)) {
		skrules_err(x, "notices: must be an object");
		n = NULL;
	}
	if (cJSON_IsObject(n))
		od_fields(x, n, "notices", fields);
	for (int k = 0; k < OD_N_COUNT; k++) {
		const cJSON *o = cJSON_IsObject(n) ? cJSON_GetObjectItemCaseSensitive(n, orders_notice_names[k]) : NULL;
		od_notice *no = &rs->notices[k];

		no->enabled = k != OD_N_AFTER;
		snprintf(where, sizeof where, "notices.%s", orders_notice_names[k]);
		if (o && !cJSON_IsNull(o)) {
			no->enabled = od_bool(x, o, "enabled", where, no->enabled);
			od_message(x, o, where, 1, &no->text, k == OD_N_AFTER ? &no->image : NULL);
		}
		if (!no->text && od_notice_texts[k] && !(no->text = strdup(od_notice_texts[k])))
			skrules_err(x, "out of memory");
	}
}

/* The rules' "chores": orders validates "rate" ({enabled, text}); "polish"
 * is the items plugin's (not looked at here). */
static void od_chores(skrules_ctx *x, const cJSON *c, od_rules *rs)
{
	static const char *const fields[] = { "rate", "polish", "comment", NULL };
	static const char *const rfields[] = { "enabled", "text", "comment", NULL };
	const cJSON *r;
	char why[256];

	if (!c || cJSON_IsNull(c))
		goto dflt;
	if (!cJSON_IsObject(c)) {
		skrules_err(x, "chores: must be an object");
		goto dflt;
	}
	od_fields(x, c, "chores", fields);
	r = cJSON_GetObjectItemCaseSensitive(c, "rate");
	if (!r || cJSON_IsNull(r))
		goto dflt;
	if (!cJSON_IsObject(r)) {
		skrules_err(x, "chores.rate: must be an object");
		goto dflt;
	}
	od_fields(x, r, "chores.rate", rfields);
	rs->rate_enabled = od_bool(x, r, "enabled", "chores.rate", 0);
	od_str(x, r, "text", "chores.rate", 0, 0, &rs->rate_text);
	if (rs->rate_text && !*rs->rate_text)
		skrules_err(x, "chores.rate.text: must not be empty (leave it out for the default)");
	else if (rs->rate_text && strlen(rs->rate_text) > OD_MAX_NOTICE)
		skrules_err(x, "chores.rate.text: at most %d bytes, not %zu", OD_MAX_NOTICE, strlen(rs->rate_text));
	else if (rs->rate_text && sktext_tmpl_check(rs->rate_text, orders_notice_vars, why, sizeof why))
		skrules_err(x, "chores.rate.text: %s", why);
dflt:
	if (!rs->rate_text && !(rs->rate_text = strdup(OD_RATE_TEXT)))
		skrules_err(x, "out of memory");
}

static void od_card_parse(skrules_ctx *x, const cJSON *o, const char *where, od_card *c)
{
	static const char *const fields[] = { "name", "type", "template", "delay_s", "low_stock", "url", "width",
		"height", "after_delivery", "comment", NULL };
	const cJSON *after = cJSON_GetObjectItemCaseSensitive(o, "after_delivery");
	char *type = NULL, why[256], w2[96];

	if (!cJSON_IsObject(o)) {
		skrules_err(x, "%s: must be an object", where);
		return;
	}
	od_fields(x, o, where, fields);
	od_str(x, o, "name", where, 1, 0, &c->name);
	od_str(x, o, "type", where, 1, 0, &type);
	od_str(x, o, "template", where, 0, 0, &c->tmpl);
	od_str(x, o, "url", where, 0, 0, &c->url);
	c->delay_s = od_num(x, o, "delay_s", where, 0, 0, 86400);
	c->low_stock = od_num(x, o, "low_stock", where, 0, 0, 1000000);
	c->w = od_num(x, o, "width", where, OD_IMAGE_W, 1, 10000);
	c->h = od_num(x, o, "height", where, OD_IMAGE_H, 1, 10000);
	if (after && !cJSON_IsNull(after)) {
		snprintf(w2, sizeof w2, "%s.after_delivery", where);
		od_message(x, after, w2, 0, &c->after_text, &c->after_image);
		if (cJSON_IsObject(after) && !c->after_text && !c->after_image)
			skrules_err(x, "%s: needs a text or an image (or leave it out)", w2);
	}
	if (!type) {
		free(type);
		return;
	}
	if (!strcmp(type, "text")) {
		c->type = OD_TEXT;
		if (!c->tmpl || !*c->tmpl)
			skrules_err(x, "%s.template: required for a text card", where);
	} else if (!strcmp(type, "stock")) {
		c->type = OD_STOCK;
		if (!c->tmpl && !(c->tmpl = strdup("{code}")))
			skrules_err(x, "out of memory");
		else if (!strstr(c->tmpl, "{code}"))
			skrules_err(x, "%s.template: a stock card's template must contain {code}", where);
	} else if (!strcmp(type, "image")) {
		c->type = OD_IMAGE;
		if (!c->url || strncmp(c->url, "http", 4))
			skrules_err(x, "%s.url: an image card needs an http(s) url", where);
		if (c->tmpl)
			skrules_err(x, "%s.template: an image card sends its url only", where);
	} else {
		skrules_err(x, "%s.type: must be text, stock or image, not \"%s\"", where, type);
	}
	free(type);
	if (c->tmpl && sktext_tmpl_check(c->tmpl, orders_vars, why, sizeof why))
		skrules_err(x, "%s.template: %s", where, why);
	else if (c->tmpl && c->type == OD_TEXT && strstr(c->tmpl, "{code}"))
		skrules_err(x, "%s.template: {code} needs a stock card", where);
	if (c->url && c->type != OD_IMAGE)
		skrules_err(x, "%s.url: only for image cards", where);
}

static void od_rule_parse(skrules_ctx *x, const cJSON *o, const char *where, od_rule *r)
{
	static const char *const fields[] = { "item_id", "spec", "card", "quantity", "delay_s", "comment", NULL };

	r->quantity = 1;
	r->delay_s = -1;
	if (!cJSON_IsObject(o)) {
		skrules_err(x, "%s: must be an object", where);
		return;
	}
	od_fields(x, o, where, fields);
	od_str(x, o, "item_id", where, 1, 1, &r->item);
	od_str(x, o, "spec", where, 0, 0, &r->spec);
	od_str(x, o, "card", where, 1, 0, &r->card);
	/* quantity: codes (units) per item bought; delay_s null: the card's */
	r->quantity = od_num(x, o, "quantity", where, 1, 1, 100);
	r->delay_s = od_num(x, o, "delay_s", where, -1, 0, 86400);
	if (r->spec && !*r->spec) {
		free(r->spec);
		r->spec = NULL;
	}
}

/* The value part of a spec "名:值" (after the first "：" or ':'), NULL when
 * it has none: orders_spec_match matches an order's spec by it. */
static const char *od_spec_value(const char *s)
{
	const char *v;

	if ((v = strstr(s, "：")))
		return v + strlen("：");
	if ((v = strchr(s, ':')))
		return v + 1;
	return NULL;
}

/* Whether some order's spec would match both rule specs a and b (NULL: no
 * spec) under orders_spec_match: equal, or one is the value part of the other
 * ("红" and "颜色:红"), or both have the same name and value. */
static int od_spec_overlap(const char *a, const char *b)
{
	const char *va, *vb;

	if (!a || !b)
		return !a && !b;
	if (!strcmp(a, b))
		return 1;
	va = od_spec_value(a);
	vb = od_spec_value(b);
	return (va && !strcmp(va, b)) || (vb && !strcmp(vb, a));
}

/* Validates the cards and delivery rules of a rules document (NUL-terminated
 * JSON text; other top-level keys belong to other plugins, e.g. autoreply's)
 * and builds them: the one validator of the rules file and of rules_check.
 * Returns the rules, or NULL when there are errors (each reported with
 * skrules_err). Two rules that one order would match (the same item and an
 * overlapping spec) are an error: the file is refused when it is saved or
 * checked, not the order at payment time. */
static od_rules *od_parse(skrules_ctx *x, const char *text)
{
	static const char *const top[] = { "cards", "delivery", "keyword_rules", "item_defaults", "default_reply",
		"notices", "chores", "comment", "handover", "quick_phrases", NULL };
	od_rules *rs = calloc(1, sizeof *rs);
	const cJSON *cards, *del;
	cJSON *root = NULL;
	char where[64];

	if (!rs) {
		skrules_err(x, "out of memory");
		return NULL;
	}
	root = cJSON_ParseWithOpts(text, NULL, 1);
	if (!cJSON_IsObject(root)) {
		skrules_err(x, root ? "must be a JSON object" : "not valid JSON");
		goto fail;
	}
	od_fields(x, root, "(top)", top);
	cards = cJSON_GetObjectItemCaseSensitive(root, "cards");
	del = cJSON_GetObjectItemCaseSensitive(root, "delivery");
	if (cards && !cJSON_IsNull(cards) && !cJSON_IsArray(cards))
		skrules_err(x, "cards: must be a list");
	else if (cJSON_IsArray(cards) && (rs->ncards = (size_t)cJSON_GetArraySize(cards))) {
		if (!(rs->cards = calloc(rs->ncards, sizeof *rs->cards))) {
			rs->ncards = 0;
			skrules_err(x, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < rs->ncards; i++) {
			snprintf(where, sizeof where, "cards[%zu]", i);
			od_card_parse(x, cJSON_GetArrayItem(cards, (int)i), where, &rs->cards[i]);
			for (size_t j = 0; j < i && rs->cards[i].name; j++)
				if (rs->cards[j].name && !strcmp(rs->cards[j].name, rs->cards[i].name))
					skrules_err(x, "%s.name: \"%s\" is also cards[%zu]", where, rs->cards[i].name, j);
		}
	}
	if (del && !cJSON_IsNull(del) && !cJSON_IsArray(del))
		skrules_err(x, "delivery: must be a list");
	else if (cJSON_IsArray(del) && (rs->nrules = (size_t)cJSON_GetArraySize(del))) {
		if (!(rs->rules = calloc(rs->nrules, sizeof *rs->rules))) {
			rs->nrules = 0;
			skrules_err(x, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < rs->nrules; i++) {
			od_rule *r = &rs->rules[i];

			snprintf(where, sizeof where, "delivery[%zu]", i);
			od_rule_parse(x, cJSON_GetArrayItem(del, (int)i), where, r);
			if (r->card && !orders_card_find(rs, r->card))
				skrules_err(x, "%s.card: no card named \"%s\" in cards", where, r->card);
			for (size_t j = 0; j < i && r->item; j++) {
				const od_rule *q = &rs->rules[j];

				if (q->item && !strcmp(q->item, r->item) && od_spec_overlap(q->spec, r->spec))
					skrules_err(x, "%s: delivery[%zu] is for the same item %s and spec %s%s%s: an order "
						    "would match both (cards \"%s\" and \"%s\"); keep one", where, j, r->item,
						    r->spec ? "\"" : "", r->spec ? r->spec : "null", r->spec ? "\"" : "",
						    q->card ? q->card : "?", r->card ? r->card : "?");
			}
		}
	}
	od_notices(x, cJSON_GetObjectItemCaseSensitive(root, "notices"), rs);
	od_chores(x, cJSON_GetObjectItemCaseSensitive(root, "chores"), rs);
	if (x->nerr)
		goto fail;
	cJSON_Delete(root);
	return rs;
fail:
	cJSON_Delete(root);
	orders_rules_free(rs);
	return NULL;
}

/* The rules of an account without a rules file: no cards, no delivery
 * rules, the notices and chores at their defaults. NULL without memory. */
od_rules *orders_rules_empty(void)
{
	skrules_ctx x = { 0 };

	return od_parse(&x, "{}");
}

/* Loads and validates the rules file. Returns the rules (empty when the
 * account has no rules file) or NULL when the file has errors (logged). */
od_rules *orders_load(sk_plugin *p)
{
	skrules_ctx x = { .p = p, .path = sk_rules_path(p) };
	od_rules *rs = NULL;
	char why[256], *text;

	if (!*x.path)
		return orders_rules_empty();
	if (!(text = sktext_read_file(x.path, OD_MAX_FILE, why, sizeof why))) {
		skrules_err(&x, "%s", why);
	} else {
		rs = od_parse(&x, text);
		free(text);
	}
	if (!rs) {
		if (x.nerr)
			sk_log(p, SK_LOG_ERR, "rules %s: %d errors; delivery rules unchanged", x.path, x.nerr);
		return NULL;
	}
	sk_log(p, SK_LOG_INFO, "rules %s: %zu cards, %zu delivery rules", x.path, rs->ncards, rs->nrules);
	return rs;
}

/* The descriptor's rules_check: validates the rules document json (len
 * bytes) exactly as a rules file is validated, without the host. Returns 0,
 * or -1 with one problem per line in errs (errlen bytes). */
int orders_rules_check(const char *json, size_t len, char *errs, size_t errlen)
{
	skrules_ctx x;
	char *text = skrules_text(&x, errs, errlen, json, len);

	if (text)
		orders_rules_free(od_parse(&x, text));
	free(text);
	return x.nerr ? -1 : 0;
}

/* Whether rule spec rs matches the order's skuInfo ("名:值"): equal to the
 * whole of it or to its value. No spec matches only an order without one. */
int orders_spec_match(const char *rs, const char *sku)
{
	const char *v;

	if (!rs)
		return !*sku;
	if (!strcmp(rs, sku))
		return 1;
	if ((v = strstr(sku, "：")))
		v += strlen("：");
	else if ((v = strchr(sku, ':')))
		v++;
	return v && !strcmp(rs, v);
}
