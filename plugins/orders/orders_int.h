/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_int.h - what the orders plugin's files share: the
 * rules, order and unit records, the plugin state, and the functions one file
 * calls in another (hidden: the plugin exports only its descriptor).
 */
#ifndef SK_PLUGINS_ORDERS_INT_H
#define SK_PLUGINS_ORDERS_INT_H

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "plugin.h"
#include "common/skctl.h"
#include "common/skrules.h"
#include "common/sktext.h"

#define OD_MAX_FILE (1024 * 1024)
#define OD_IMAGE_W 800
#define OD_IMAGE_H 600
#define OD_API_DETAIL "mtop.idle.web.trade.order.detail"
#define OD_API_CONSIGN "mtop.taobao.idle.logistic.consign.dummy"
#define OD_API_RATE "mtop.taobao.idle.rate.create"
#define OD_API_RATE_V "4.0"
#define OD_MAX_NOTICE 500          /* bytes of a notice's or a rating's text */

enum { OD_TEXT = 0, OD_STOCK, OD_IMAGE };
enum { OD_AFTER = 0, OD_BEFORE, OD_NEVER };
enum { OD_FETCH = 1, OD_CONFIRM = 2, OD_RATE = 4, OD_CHAT = 8 };

/* The buyer notices (orders_notice.c), as orders_notice.kind names them. */
typedef enum { OD_N_WAITING = 0, OD_N_CANNOT, OD_N_AFTER, OD_N_COUNT } od_nkind;

/*
 * The states. In C they are these enums; in SQLite the same TEXT as ever
 * (no migration). orders_db.c converts between the two in one place, its
 * name tables (orders_*_name, and the row readers that use them); SQL
 * statements that filter or set a fixed state ("WHERE delivery = 'pending'")
 * spell the same names. *_OTHER stands for a value this code never writes
 * (a database edited by hand): it equals no named state, as an unknown
 * string compared equal to none before.
 */

/* orders_order.state and prev_state: what the trade cards said last.
 * PLACED..COMPLETED are in their forward order (od_rank). */
typedef enum {
	OD_O_NEW = 0,       /* "": no card with a state yet */
	OD_O_PLACED, OD_O_PAID, OD_O_SHIPPED, OD_O_COMPLETED, OD_O_CLOSED, OD_O_REFUNDING,
	OD_O_OTHER
} od_ostate;

/* orders_order.delivery: none -> pending (detail asked) -> delivering
 * (units planned) -> delivered, or failed / cancelled. */
typedef enum {
	OD_D_NONE = 0, OD_D_PENDING, OD_D_DELIVERING, OD_D_DELIVERED, OD_D_FAILED, OD_D_CANCELLED,
	OD_D_OTHER
} od_dstate;

/* orders_order.confirm: the shipment confirmation (skipped: confirm "never"). */
typedef enum {
	OD_C_NONE = 0, OD_C_PENDING, OD_C_SKIPPED, OD_C_DONE, OD_C_FAILED,
	OD_C_OTHER
} od_cstate;

/* orders_unit.state: reserved -> sending -> sent -> done, or failed / cancelled. */
typedef enum {
	OD_U_RESERVED = 0, OD_U_SENDING, OD_U_SENT, OD_U_DONE, OD_U_FAILED, OD_U_CANCELLED,
	OD_U_OTHER
} od_ustate;

typedef struct {
	char *name, *tmpl, *url;
	int type;
	int64_t w, h, delay_s, low_stock;
	char *after_text, *after_image;  /* the card's own after_delivery notice, NULL when none */
} od_card;

typedef struct {
	char *item, *spec, *card;  /* spec NULL: an item without specs */
	int64_t quantity;          /* units per item bought (1..100) */
	int64_t delay_s;           /* -1: the card's */
} od_rule;

/* One buyer notice of the rules' "notices" (text and image NULL when none). */
typedef struct {
	int enabled;
	char *text, *image;
} od_notice;

typedef struct {
	od_card *cards;
	size_t ncards;
	od_rule *rules;
	size_t nrules;
	od_notice notices[OD_N_COUNT];
	int rate_enabled;          /* chores.rate */
	char *rate_text;
} od_rules;

/* An order with an mtop call (detail or consign) in flight. */
typedef struct od_fly {
	char *order;
	int what;                  /* OD_FETCH, OD_CONFIRM or OD_CHAT */
	int attempt;               /* detail fetches so far */
	struct od_fly *next;
} od_fly;

typedef struct {
	od_rules *rules;           /* never NULL after init */
	int policy, enabled;
	int64_t confirm_attempts, detail_attempts, retry_base_ms, retry_s, max_quantity, paid_wait_s;
	int64_t rate_retry_s, rate_attempts;
	char *kill_at;
	od_fly *fly;
	int depth;                 /* orders_proceed calls under way */
	struct od_pull *pull;      /* the sold-orders pull (orders_pull.c), NULL when off */
} od_state;

/* An orders_order row (chat_item: the item of the chat the cards came in). */
typedef struct {
	int found;
	char id[64], chat[64], buyer[64], name[256], item[64], spec[256], card[128], chat_item[64];
	od_ostate state, prev;
	od_dstate delivery;
	od_cstate confirm;
	char reason[512];
	int64_t quantity, attempts;
} od_order;

#define OD_ORDER_COLS "order_id, state, prev_state, chat_id, buyer_id, buyer_name, item_id, spec, card, " \
	"delivery, confirm, reason, quantity, confirm_attempts, chat_item"

/* An orders_unit row. */
typedef struct {
	char order[64], card[128], kind[8], tag[160], uuid[40];
	od_ustate state;
	int64_t unit, attempt, code_id, send_at;
	char *content;
} od_unit;

#define OD_UNIT_COLS "order_id, unit, attempt, card, kind, state, tag, uuid, code_id, send_at_ms, content"

typedef struct {
	od_unit *u;
	size_t n, cap;
	int oom;
} od_units;

/* Order ids copied out of a query (acting on them runs more SQL). */
typedef struct {
	char (*ids)[64];
	size_t n, cap;
	int oom;
} od_ids;

/* One detail fetch (or one shipment call): attempt counts the tries after
 * transient errors; checks the answers that did not say paid yet, since_ms
 * (monotonic) when the first was asked for. */
typedef struct {
	char *oid;
	int attempt, checks;
	int64_t since_ms;
} od_call;

#pragma GCC visibility push(hidden)

/* orders.c */
void orders_retry(sk_plugin *p, int only_stock);

/* orders_rules.c */
extern const char *const orders_vars[];
extern const char *const orders_notice_vars[];
extern const char *const orders_notice_names[];
void orders_rules_free(od_rules *rs);
od_rules *orders_rules_empty(void);
const od_card *orders_card_find(const od_rules *rs, const char *name);
od_rules *orders_load(sk_plugin *p);
int orders_rules_check(const char *json, size_t len, char *errs, size_t errlen);
int orders_spec_match(const char *rs, const char *sku);

/* orders_db.c */
const char *orders_ostate_name(od_ostate s);
const char *orders_dstate_name(od_dstate s);
const char *orders_cstate_name(od_cstate s);
const char *orders_ustate_name(od_ustate s);
void orders_cp(char *dst, size_t n, const sk_value *v);
int64_t orders_int(const sk_value *v);
int orders_order_get(sk_plugin *p, const char *oid, od_order *o);
int orders_row_unit(sk_plugin *p, int n, const sk_value *c, void *ud);
void orders_units_free(od_units *us);
int orders_units_get(sk_plugin *p, const char *oid, od_units *us);
int orders_set_delivery(sk_plugin *p, const char *oid, od_dstate delivery, const char *reason);
void orders_fail(sk_plugin *p, const char *oid, const char *reason);
int orders_row_text(sk_plugin *p, int n, const sk_value *c, void *ud);
int orders_row_id(sk_plugin *p, int n, const sk_value *c, void *ud);
int orders_ids_get(sk_plugin *p, const char *sql, const sk_value *params, size_t n, od_ids *ids);
int64_t orders_free_codes(sk_plugin *p, const char *card);

/* orders_flow.c */
void orders_step(sk_plugin *p, const char *step, const char *oid);
od_fly *orders_fly_add(od_state *st, const char *oid, int what);
od_fly *orders_fly_find(od_state *st, const char *oid, int what);
void orders_fly_del(od_state *st, const char *oid, int what);
void orders_publish(sk_plugin *p, const char *topic, cJSON *o);
int orders_on_trade(sk_plugin *p, const sk_event *e, void *ud);
const od_card *orders_match(const od_state *st, const od_order *o, char *reason, size_t n);
const od_rule *orders_rule_match(const od_state *st, const od_order *o, char *reason, size_t n);
void orders_plan(sk_plugin *p, const char *oid);
int orders_on_send_result(sk_plugin *p, const sk_event *e, void *ud);
void orders_proceed(sk_plugin *p, const char *oid);
void orders_unit_result(sk_plugin *p, const char *tag, int ok, const char *detail);
void orders_confirm(sk_plugin *p, const char *oid);
od_fly *orders_fly_find(od_state *st, const char *oid, int what);
void orders_deliver(sk_plugin *p, const char *oid, const char *trigger);

/* orders_pull.c */
int orders_pull_init(sk_plugin *p, od_state *st);
void orders_pull_free(od_state *st);
void orders_pull_chat(sk_plugin *p, const od_order *o);
int orders_pull_control(sk_plugin *p, const char *command, const char *data_json, void *ud);

/* orders_detail.c */
void orders_call_free(void *ud);
od_call *orders_call_new(const char *oid, int attempt);
int64_t orders_backoff(od_state *st, int attempt);
void orders_fetch(sk_plugin *p, const char *oid, int attempt, int checks, int64_t since_ms);

/* orders_notice.c */
char *orders_notice_render(sk_plugin *p, const char *tmpl, const od_order *o);
void orders_notice(sk_plugin *p, const char *oid, od_nkind kind);
void orders_notice_failed(sk_plugin *p, const char *oid, const char *reason);
void orders_notice_resume(sk_plugin *p);

/* orders_rate.c */
int orders_on_system(sk_plugin *p, const sk_event *e, void *ud);
void orders_rate_start(sk_plugin *p, const char *oid);
void orders_rate_resume(sk_plugin *p);

/* orders_view.c */
void orders_mask(const char *code, char *out, size_t n);
cJSON *orders_order_json(sk_plugin *p, const char *oid, int *rc);
cJSON *orders_timeline_json(sk_plugin *p, const char *oid, int *rc);
void orders_view_controls_add(sk_plugin *p);

/* orders_action.c */
void orders_action_result(sk_plugin *p, const char *tag, int ok, const char *detail);
void orders_action_resume(sk_plugin *p);
void orders_action_controls_add(sk_plugin *p);

/* orders_stock.c */
void orders_stock_controls_add(sk_plugin *p);
int orders_stock_export(sk_plugin *p, const char *card, FILE *out);

/* orders_stats.c */
void orders_stats_controls_add(sk_plugin *p);

/* orders_cmd.c */
int orders_command(sk_plugin *p, int argc, char **argv);
void orders_controls_add(sk_plugin *p);

#pragma GCC visibility pop

#endif
