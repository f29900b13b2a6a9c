/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_stock.c - a stock card's codes on the page:
 * stock_codes (the list, masked), stock_reveal (one code, logged),
 * stock_delete (free codes only) and stock_export (the free codes, logged),
 * and the export of `shopkeep stock export`. A code's state in
 * orders_stock is 0 free, 1 reserved (by a unit being delivered), 2 used
 * (sent). Codes never go to the log: reveals and exports log the card and
 * how many.
 */

#include "orders_int.h"

#define OD_CODES_DEF 100
#define OD_CODES_MAX 1000
#define OD_DELETE_MAX 1000

static const char *const od_code_states[] = { "free", "reserved", "used" };

/* The card of data d: a non-empty string, or NULL after failing the command. */
static const char *od_card_arg(sk_plugin *p, const char *command, const cJSON *d)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "card");

	if (cJSON_IsString(c) && *c->valuestring)
		return c->valuestring;
	skctl_fail(p, SK_ERR_INVAL, "%s: card must be the name of a stock card", command);
	return NULL;
}

/* The actor of a request: "cli" or "page" (the default). */
static const char *od_stock_actor(const cJSON *d)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "actor");

	return cJSON_IsString(a) && !strcmp(a->valuestring, "cli") ? "cli" : "page";
}

/* A code row (id, code, state, order_id, added_ms) appended to the array ud, masked. */
static int od_row_code_json(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	char m[512];
	int64_t s;
	cJSON *o;

	(void)p;
	if (n < 5 || !(o = cJSON_CreateObject()))
		return 1;
	s = orders_int(&c[2]);
	orders_mask(c[1].type == SK_TEXT && c[1].s ? c[1].s : "", m, sizeof m);
	cJSON_AddNumberToObject(o, "id", (double)orders_int(&c[0]));
	cJSON_AddStringToObject(o, "masked", m);
	cJSON_AddStringToObject(o, "state", s >= 0 && s <= 2 ? od_code_states[s] : "?");
	cJSON_AddStringToObject(o, "order_id", c[3].type == SK_TEXT && c[3].s ? c[3].s : "");
	cJSON_AddNumberToObject(o, "added_ms", (double)orders_int(&c[4]));
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* Row callback: column 0 as an integer into the int64_t ud. */
static int od_row_int(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	*(int64_t *)ud = n > 0 ? orders_int(&c[0]) : 0;
	return 1;
}

/* stock_codes {card, state, limit, offset}: {"codes": [{id, masked, state,
 * order_id, added_ms}], "total"}: the card's codes (state "free",
 * "reserved", "used" or "all", the default), oldest first; total counts all
 * that match. */
static int od_ctl_codes(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	const cJSON *sv, *ov;
	const char *card;
	int64_t limit, offset = 0, total = 0, state = -1;
	cJSON *d, *o, *arr;
	int rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	if (!(card = od_card_arg(p, command, d)) ||
	    (limit = skctl_count(p, command, d, "limit", OD_CODES_DEF, OD_CODES_MAX)) < 0) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	sv = cJSON_GetObjectItemCaseSensitive(d, "state");
	ov = cJSON_GetObjectItemCaseSensitive(d, "offset");
	if (sv && !cJSON_IsNull(sv)) {
		for (int i = 0; i < 3 && cJSON_IsString(sv); i++)
			if (!strcmp(sv->valuestring, od_code_states[i]))
				state = i;
		if (state < 0 && !(cJSON_IsString(sv) && !strcmp(sv->valuestring, "all"))) {
			cJSON_Delete(d);
			return skctl_fail(p, SK_ERR_INVAL, "%s: state must be \"free\", \"reserved\", \"used\" or \"all\"",
					  command);
		}
	}
	if (ov && !cJSON_IsNull(ov)) {
		if (!cJSON_IsNumber(ov) || ov->valuedouble < 0 || ov->valuedouble > 1e9 ||
		    ov->valuedouble != (double)(int64_t)ov->valuedouble) {
			cJSON_Delete(d);
			return skctl_fail(p, SK_ERR_INVAL, "%s: offset must be a whole number from 0", command);
		}
		offset = (int64_t)ov->valuedouble;
	}
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "codes"))) {
		cJSON_Delete(d);
		cJSON_Delete(o);
		return SK_ERR_NOMEM;
	}
	{
		sk_value v[4] = { SK_VTEXT(card), SK_VINT(state), SK_VINT(limit), SK_VINT(offset) };

		rc = sk_db_exec(p, "SELECT id, code, state, order_id, added_ms FROM orders_stock WHERE card = ?1 AND "
				"(?2 < 0 OR state = ?2) ORDER BY id LIMIT ?3 OFFSET ?4", v, 4, od_row_code_json, arr);
		if (rc >= 0)
			rc = sk_db_exec(p, "SELECT count(*) FROM orders_stock WHERE card = ?1 AND (?2 < 0 OR state = ?2)",
					v, 2, od_row_int, &total);
	}
	cJSON_Delete(d);
	if (rc < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	cJSON_AddNumberToObject(o, "total", (double)total);
	return skctl_answer(p, o);
}

typedef struct {
	int found;
	char card[128], order[64];
	char *code;
} od_code_row;

/* Row callback: one orders_stock row (card, code, order_id) into the od_code_row ud. */
static int od_row_code_one(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_code_row *r = ud;

	(void)p;
	if (n < 3)
		return 1;
	r->found = 1;
	orders_cp(r->card, sizeof r->card, &c[0]);
	r->code = strdup(c[1].type == SK_TEXT && c[1].s ? c[1].s : "");
	orders_cp(r->order, sizeof r->order, &c[2]);
	return 1;
}

/* stock_reveal {id}: {"id", "code"}: one code in full, logged without it
 * (and recorded in the order's timeline when an order has it). */
static int od_ctl_reveal(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_code_row r = { 0 };
	const cJSON *iv;
	const char *actor;
	int64_t id;
	cJSON *d, *o;
	int rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	actor = od_stock_actor(d);
	iv = cJSON_GetObjectItemCaseSensitive(d, "id");
	id = cJSON_IsNumber(iv) && iv->valuedouble >= 1 && iv->valuedouble <= 9e15 &&
	     iv->valuedouble == (double)(int64_t)iv->valuedouble ? (int64_t)iv->valuedouble : -1;
	cJSON_Delete(d);
	if (id < 0)
		return skctl_fail(p, SK_ERR_INVAL, "%s: id must be the id of a code (stock_codes gives them)", command);
	if ((rc = sk_db_exec(p, "SELECT card, code, order_id FROM orders_stock WHERE id = ?", &SK_VINT(id), 1,
			     od_row_code_one, &r)) < 0 || (r.found && !r.code)) {
		free(r.code);
		return skctl_fail(p, rc < 0 ? rc : SK_ERR_NOMEM, "%s: %s", command, sk_strerror(p, rc < 0 ? rc : SK_ERR_NOMEM));
	}
	if (!r.found)
		return skctl_fail(p, SK_ERR_NOTFOUND, "%s: no code %lld", command, (long long)id);
	sk_log(p, SK_LOG_INFO, "card %s: code %lld revealed (%s)", r.card, (long long)id, actor);
	if (*r.order) {
		sk_value v[4] = { SK_VTEXT(r.order), SK_VTEXT(actor), SK_VINT(sk_now_ms(p)), SK_VINT(id) };

		sk_db_exec(p, "INSERT INTO orders_action (order_id, unit, action, actor, ms, detail) SELECT ?1, unit, "
			   "'reveal', ?2, ?3, 'stock' FROM orders_stock WHERE id = ?4", v, 4, NULL, NULL);
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "code", r.code);
	free(r.code);
	return skctl_answer(p, o);
}

/* stock_delete {card, ids}: deletes the free codes of card among ids (at
 * most 1000); reserved and used ones, and ids of another card or none, are
 * refused. {"deleted", "refused"}. */
static int od_ctl_delete(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	const cJSON *ids, *e;
	const char *card;
	int64_t deleted = 0, refused = 0;
	cJSON *d, *o;
	int rc = 0;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	if (!(card = od_card_arg(p, command, d))) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	ids = cJSON_GetObjectItemCaseSensitive(d, "ids");
	if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) > OD_DELETE_MAX)
		rc = skctl_fail(p, SK_ERR_INVAL, "%s: ids must be a list of at most %d code ids", command, OD_DELETE_MAX);
	if (rc >= 0)
		cJSON_ArrayForEach(e, ids)
			if (!cJSON_IsNumber(e) || e->valuedouble < 1 || e->valuedouble > 9e15 ||
			    e->valuedouble != (double)(int64_t)e->valuedouble) {
				rc = skctl_fail(p, SK_ERR_INVAL, "%s: ids must be whole numbers (the ids of stock_codes)",
						command);
				break;
			}
	if (rc >= 0 && (rc = sk_db_begin(p)) >= 0) {
		cJSON_ArrayForEach(e, ids) {
			sk_value v[2] = { SK_VINT((int64_t)e->valuedouble), SK_VTEXT(card) };

			if ((rc = sk_db_exec(p, "DELETE FROM orders_stock WHERE id = ? AND card = ? AND state = 0", v, 2, NULL,
					     NULL)) < 0)
				break;
			if (sk_db_changes(p) > 0)
				deleted++;
			else
				refused++;
		}
		if (rc >= 0)
			rc = sk_db_commit(p);
		if (rc < 0) {
			sk_db_rollback(p);
			rc = skctl_fail(p, rc, "%s: nothing deleted: %s", command, sk_strerror(p, rc));
		}
	} else if (rc < 0 && rc != SK_ERR_INVAL) {
		rc = skctl_fail(p, rc, "%s: nothing deleted: %s", command, sk_strerror(p, rc));
	}
	if (rc < 0) {
		cJSON_Delete(d);
		return rc;
	}
	sk_log(p, SK_LOG_INFO, "card %s: %lld free codes deleted, %lld refused (%s)", card, (long long)deleted,
	       (long long)refused, od_stock_actor(d));
	cJSON_Delete(d);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "deleted", (double)deleted);
	cJSON_AddNumberToObject(o, "refused", (double)refused);
	return skctl_answer(p, o);
}

/* Appends a code (column 0) and a newline to the FILE ud. */
static int od_row_code_line(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n > 0 && c[0].type == SK_TEXT && c[0].s)
		fprintf(ud, "%s\n", c[0].s);
	return 0;
}

/* Writes the free codes of card to out, one a line, oldest first. Returns
 * how many, or <0. */
int orders_stock_export(sk_plugin *p, const char *card, FILE *out)
{
	sk_value v = SK_VTEXT(card);
	int64_t n = 0;
	int rc;

	if ((rc = sk_db_exec(p, "SELECT code FROM orders_stock WHERE card = ? AND state = 0 ORDER BY id", &v, 1,
			     od_row_code_line, out)) < 0)
		return rc;
	sk_db_exec(p, "SELECT count(*) FROM orders_stock WHERE card = ? AND state = 0", &v, 1, od_row_int, &n);
	return (int)n;
}

/* stock_export {card}: {"card", "count", "codes": "C1\nC2\n"}: the free
 * codes, one a line (what stock_import takes); logged without them. */
static int od_ctl_export(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	const char *card;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	cJSON *d, *o;
	int n;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	if (!(card = od_card_arg(p, command, d))) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	if (!(fp = open_memstream(&buf, &len))) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_NOMEM, "%s: %s", command, sk_strerror(p, SK_ERR_NOMEM));
	}
	n = orders_stock_export(p, card, fp);
	fclose(fp);
	if (n < 0) {
		free(buf);
		cJSON_Delete(d);
		return skctl_fail(p, n, "%s: %s", command, sk_strerror(p, n));
	}
	sk_log(p, SK_LOG_INFO, "card %s: %d free codes exported (%s)", card, n, od_stock_actor(d));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "card", card);
	cJSON_AddNumberToObject(o, "count", n);
	cJSON_AddStringToObject(o, "codes", buf ? buf : "");
	free(buf);
	cJSON_Delete(d);
	return skctl_answer(p, o);
}

static const skctl_row od_stock_controls[] = {
	{ "stock_codes", "{card, state, limit, offset}: a card's codes, masked", od_ctl_codes },
	{ "stock_reveal", "{id}: one code in full (logged)", od_ctl_reveal },
	{ "stock_delete", "{card, ids}: deletes free codes", od_ctl_delete },
	{ "stock_export", "{card}: the free codes, one a line (logged)", od_ctl_export },
};

/* Registers the stock code commands (a refused one is logged and left out). */
void orders_stock_controls_add(sk_plugin *p)
{
	skctl_add_all(p, od_stock_controls, sizeof od_stock_controls / sizeof od_stock_controls[0]);
}
