/* SPDX-License-Identifier: MIT */
/*
 * plugins/agent/agent_int.h - what the agent plugin's files share: the
 * limits, the settings, the guard, the context and the functions one file
 * calls in another (hidden: the plugin exports only its descriptor).
 *
 * Files. agent.c: the manual, config keys, schema, init, agent_take and the
 * turn (agent_settings.c: the settings' defaults, checks and loading) (budgets, steps, the model call, the answer, the guard's verdict, the
 * send, recovery after a restart); agent_guard.c: the guard (every yuan
 * amount in digits or Chinese numerals, contact details, off-platform
 * payment, banned words, length); agent_ctx.c: the context of a turn (the
 * item, the chat's recent messages, the seller's notes, the prompts per
 * intent, the intent's keyword pass) and the request body; agent_ctl.c: the
 * settings (config file, then the page's overrides in agent_setting and
 * agent_item, the API key sealed) and the control commands.
 *
 * Names: static functions ag_*, cross-file ones agent_* (declared here,
 * hidden), types and macros ag_ / AG_.
 */
#ifndef SK_PLUGINS_AGENT_INT_H
#define SK_PLUGINS_AGENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "plugin.h"

#define AG_TEXT_MAX 2000            /* bytes of a fixed text (fallback, guard, floor) */
#define AG_ANSWER_MAX 8192          /* bytes of a model answer kept (longer: cut, and too long for the guard) */
#define AG_DEF_TIMEOUT_MS 15000
#define AG_DEF_MAX_TOKENS 300
#define AG_DEF_TEMPERATURE 0.7
#define AG_DEF_MAX_STEPS 3          /* bargaining answers per chat */
#define AG_DEF_MAX_LEN 200          /* characters (UTF-8 code points) of an answer */
#define AG_DEF_HISTORY 10           /* recent chat messages given to the model */
#define AG_DEF_PER_HOUR 60
#define AG_DEF_PER_DAY 500
#define AG_DEF_PER_CHAT 20          /* model calls of one chat in 24 h */
#define AG_ITEMS_MAX 1000           /* agent_item rows */
#define AG_NOTES_MAX 2000           /* bytes of an item's notes */
#define AG_PROMPT_MAX (16 * 1024)   /* bytes of a prompt file */
#define AG_BANNED_MAX 100
#define AG_WORD_MAX 100

/* Where the agent answers, per item (the account's mode for items without
 * one of their own): never; what no keyword rule and no item default
 * matched (the account default's messages and unmatched ones); everything
 * no keyword rule matched. A keyword rule's match always wins. */
enum { AG_MODE_INHERIT = -1, AG_MODE_OFF = 0, AG_MODE_DEFAULT = 1, AG_MODE_ALL = 2 };

/* The intent of a buyer's text: the keyword pass's answer. */
enum { AG_INTENT_DEFAULT = 0, AG_INTENT_PRICE = 1, AG_INTENT_TECH = 2, AG_INTENT_N = 3 };

/* The seller's settings of one item (agent_item, or the config's items). */
typedef struct {
	char *item_id;
	int mode;                   /* AG_MODE_*; AG_MODE_INHERIT: the account's */
	int64_t floor_fen;          /* the lowest price the agent may quote, fen; -1 none */
	int64_t max_steps;          /* -1: the account's */
	char *notes;                /* "" none */
} ag_item;

/* The settings in force: the config file's agent section, overridden key by
 * key by what the page saved (agent_setting, agent_item). Strings are never
 * NULL ("" when unset) except api_key. */
typedef struct {
	int enabled;
	char *base_url;             /* e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1 */
	char *model;
	char *api_key;              /* the opened key, NULL when none; wiped before it is freed */
	char *headers;              /* extra header lines "Name: value\n..." ("" none) */
	int64_t timeout_ms, max_tokens;
	double temperature;
	int mode;                   /* the account's AG_MODE_* (not INHERIT) */
	int64_t max_steps;
	int64_t per_hour, per_day, per_chat;   /* model-call budgets; 0 = no limit */
	int64_t max_len;            /* characters */
	int64_t history;            /* messages */
	char *fallback_text;        /* "": the reply autoreply would have sent, else the built-in text */
	char *guard_text;           /* sent when the guard refuses an answer */
	char *floor_text;           /* sent when an answer quotes below the floor, or the steps are used up */
	char **banned;
	size_t nbanned;
	ag_item *items;
	size_t nitems;
	char *prompts_dir;          /* "" : the built-in prompts only */
	int api_key_page;           /* (agent_ctl.c) api_key is the page's (agent_setting), not api_key_file's */
} ag_settings;

#pragma GCC visibility push(hidden)

/* ---- the guard (agent_guard.c) ---- */

enum {
	AG_V_OK = 0,
	AG_V_EMPTY,                 /* nothing to send */
	AG_V_TOO_LONG,              /* more than max_chars characters */
	AG_V_BELOW_FLOOR,           /* an amount (or what a discount or a cut makes of the price) below the floor */
	AG_V_CONTACT,               /* a phone number, WeChat/QQ id, e-mail, link, "加我" ... */
	AG_V_PAYMENT,               /* paying outside the platform: 转账, 支付宝, 银行卡, 线下, 私下交易 ... */
	AG_V_BANNED                 /* a word of the banned list */
};

typedef struct {
	int64_t floor_fen;          /* -1: no floor */
	int64_t price_fen;          /* the item's list price, -1 unknown (for 八折 and 便宜20) */
	int64_t max_chars;          /* 0: no cap */
	const char *const *banned;  /* nbanned words, ASCII case-insensitive */
	size_t nbanned;
} ag_guard_in;

typedef struct {
	int verdict;                /* AG_V_* : the first found, in the order above */
	int64_t lowest_fen;         /* the lowest amount the answer quotes, -1 none */
	char detail[160];           /* what tripped it ("58元", the word, "phone"), "" when OK; never the
	                             * whole phone number or id (masked) */
} ag_verdict;

/* Judges a model's answer (UTF-8, may be invalid) against g. Fills v and
 * returns v->verdict. Conservative: a number that may be a price is one. */
int agent_guard(const ag_guard_in *g, const char *answer, ag_verdict *v);
/* "ok", "empty", "too_long", "below_floor", "contact", "payment", "banned". */
const char *agent_verdict_name(int verdict);
/* The yuan amounts in text (digits "58", "58.5", "¥58", "58元/块/圆"; Chinese
 * numerals "五十八", "一百二", "两千"; discounts "八折" "8.5折" and cuts
 * "便宜20" "少二十" from price_fen when known), up to max into fen[];
 * returns how many there were (may exceed max). */
size_t agent_money_scan(const char *text, int64_t price_fen, int64_t *fen, size_t max);
/* Parses a Chinese numeral at s (零一二两三四五六七八九十百千万, 〇, 壹贰叁肆伍陆柒捌玖拾佰仟, 点/. decimals)
 * into *fen (yuan x 100); *used gets its length in bytes. 0, or -1 when s
 * does not start with one. */
int agent_cn_number(const char *s, size_t len, int64_t *fen, size_t *used);
/* Parses "80", "80.5", "80元" (yuan) into fen; 0 or -1. (The settings' floors.) */
int agent_yuan_parse(const char *s, int64_t *fen);
/* Formats fen as "80.50" into buf (n >= 24). Returns buf. */
char *agent_yuan_fmt(int64_t fen, char *buf, size_t n);

/* ---- the context (agent_ctx.c) ---- */

/* What is known of an item: from items_item (the items plugin's table, when
 * it is loaded), and the seller's ag_item. Strings never NULL. */
typedef struct {
	char item_id[64];
	char title[512];
	char desc[4096];
	int64_t price_fen;          /* -1 unknown */
	char specs[1024];           /* the SKUs, one "<spec>：<yuan>元" a line (the spec alone without a price) */
} ag_item_info;

/* The turn being answered (borrowed strings). */
typedef struct {
	const char *chat, *buyer, *name, *item, *mid, *text;
	int64_t ms;
} ag_msg;

/* The keyword pass: AG_INTENT_PRICE for bargaining and price words (便宜, 少, 价, 刀, 包邮, 最低, 元, 块,
 * a number...), AG_INTENT_TECH for questions about the thing (怎么, 参数, 型号, 尺寸, 能不能, 支持...),
 * else AG_INTENT_DEFAULT. */
int agent_intent(const char *text);
/* "default", "price", "tech". */
const char *agent_intent_name(int intent);
/* Fills info for item_id (never fails: unknown fields stay empty / -1). */
void agent_item_info(sk_plugin *p, const char *item_id, ag_item_info *info);
/* The prompt of intent: <prompts_dir>/<intent>.txt when it exists, else the
 * built-in Chinese text. malloc'd; *is_default says which. */
char *agent_prompt(sk_plugin *p, const ag_settings *s, int intent, int *is_default);
/* Writes text as intent's prompt file (atomically); "" deletes it (back to
 * the built-in). 0, or -1 with why. */
int agent_prompt_save(sk_plugin *p, const ag_settings *s, int intent, const char *text, char *why, size_t whylen);
/* The chat-completions request body (JSON text, malloc'd) for m: model,
 * max_tokens, temperature, stream false, messages = the system prompt (the
 * intent's prompt, then the item, its price and specs, the seller's notes,
 * the lowest price it may offer now when floor_fen >= 0), the chat's recent
 * messages (s->history, oldest first; buyer = user, ours = assistant), m's
 * text last. NULL on no memory. */
char *agent_request_body(sk_plugin *p, const ag_settings *s, const ag_msg *m, int intent,
			 const ag_item_info *info, const ag_item *it, int64_t offer_floor_fen);
/* Keeps a chat message in agent_msg when the conversation store (chat_msg)
 * is not there (the handler of every chat event; cheap when it is). */
int agent_ctx_on_chat(sk_plugin *p, const sk_event *e, void *ud);

/* ---- settings and control commands (agent_ctl.c) ---- */

/* (agent_settings.c, the engine's owner) A new ag_settings with the
 * defaults; NULL on no memory. */
ag_settings *agent_settings_new(void);
/* The settings keys (config keys and the page's), NULL-terminated. */
extern const char *const agent_setting_keys[];
/* Checks one setting (a config key and its JSON value) and applies it to s:
 * 0, or -1 with why naming the key ("timeout_ms: must be 1000..120000"); s
 * is unchanged on failure. "items" is an object {item_id: {mode, floor,
 * max_steps, notes}} merged into s->items; "api_key" is the plain key;
 * "headers" an object {name: value}. */
int agent_setting_apply(ag_settings *s, const char *key, const cJSON *v, char *why, size_t whylen);
/* The item entry of item_id in s, made (mode INHERIT, no floor, steps -1,
 * notes "") when missing; NULL on no memory or too many items. */
ag_item *agent_item_upsert(ag_settings *s, const char *item_id);
/* "inherit" "off" "default" "all" <-> AG_MODE_*; -2 for an unknown name. */
int agent_mode_parse(const char *name);
const char *agent_mode_name(int mode);
/* Loads the settings in force: the defaults, the config file's agent
 * section (agent_setting_apply per key; api_key_file opened with sk_unseal),
 * then agent_settings_overlay. Returns a new ag_settings, or NULL with why. */
ag_settings *agent_settings_load(sk_plugin *p, char *why, size_t whylen);
void agent_settings_free(ag_settings *s);
/* (agent_ctl.c) Applies the page's saved overrides (agent_setting rows,
 * agent_item rows, the sealed api_key opened with sk_unseal) to s. A row
 * that no longer passes its check is skipped and logged. 0, or -1 with why
 * (the database failed). */
int agent_settings_overlay(sk_plugin *p, ag_settings *s, char *why, size_t whylen);
/* The settings of item_id (NULL when it has none of its own). */
const ag_item *agent_settings_item(const ag_settings *s, const char *item_id);
/* The mode / max steps / floor in force for item_id. */
int agent_item_mode(const ag_settings *s, const char *item_id);
int64_t agent_item_steps(const ag_settings *s, const char *item_id);
/* (agent_ctl.c) Registers agent_settings, agent_configure, agent_prompts,
 * agent_prompt_set, agent_decisions, agent_sends. */
void agent_controls_add(sk_plugin *p);

/* ---- the engine (agent.c) ---- */

/* The plugin's state (p->ud). */
typedef struct ag_state ag_state;
/* The settings in force (never NULL after init). */
ag_settings *agent_settings(sk_plugin *p);
/* Replaces the settings in force with s (after agent_configure saved them). */
void agent_settings_set(sk_plugin *p, ag_settings *s);

#pragma GCC visibility pop

#endif
