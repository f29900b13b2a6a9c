/* SPDX-License-Identifier: MIT */
/*
 * plugins/agent/agent.c - AI replies that can never sell below the seller's
 * floor: what the keyword rules of autoreply do not cover is answered by a
 * language model through any OpenAI-compatible chat-completions endpoint
 * (hosted, or a local llama.cpp server or Ollama), and every answer passes
 * hard guards before it may reach the buyer.
 *
 * Where it runs. autoreply hands a buyer's text over (after its debounce,
 * hand-over and pause checks, when no keyword rule matched) by running the
 * control command agent_take {chat_id, buyer_id, buyer_name, item_id,
 * message_id, text, decision: no_match|default|item_default, reply: what
 * autoreply would send ("" none), backfilled}. The agent answers
 *   {"taken":true,"turn":<id>,"intent":"price"|"tech"|"default"}
 * and is then responsible for exactly one reply to that message (the
 * model's answer, a guard's fixed text or the fallback), or
 *   {"taken":false,"why":"disabled"|"not_configured"|"no_model"|"mode_off"|"mode_default"}
 * and autoreply goes on as before. A message it took already (pushed again
 * after a restart) answers {"taken":true,"turn":<id>,"again":true} and
 * nothing more is sent. Bad data is SK_ERR_INVAL naming the field
 * (backfilled must be a bool; it is not used otherwise: autoreply already
 * leaves out the backfilled messages too old to answer). The mode
 * (per item, else the account's): off never; default only the messages of
 * the account default and unmatched ones (decision no_match or default);
 * all also those of an item default (item_default). A keyword rule's match
 * always wins: autoreply never hands those over.
 *
 * The turn. A turn is one row of agent_turn (the agent's decision log). A
 * new turn of a chat supersedes its pending one (verdict superseded: nothing
 * sent, a late model answer ignored). The intent is the keyword pass's
 * (agent_ctx.c). Then, in this order:
 *   - a price question in a chat whose bargaining steps (agent_chat.steps)
 *     reached the item's max_steps gets floor_text, without a model call
 *     (verdict steps);
 *   - budgets: model calls (turns with called = 1, failed ones too) in the
 *     last hour, the last 24 h, and of this chat in the last 24 h against
 *     per_hour, per_day, per_chat (0 = no limit): the fallback is sent
 *     (verdict fallback, reason budget_hour / budget_day / budget_chat);
 *   - the model call: POST <base_url>/chat/completions (a trailing / of
 *     base_url tolerated) with "Authorization: Bearer <key>" when a key is
 *     set (a local server needs none) and the extra headers, the body of
 *     agent_request_body (agent_ctx.c): the item, the chat's recent
 *     messages, the seller's notes, and the lowest price it may offer now
 *     (with list price P, floor F, steps used k of n: max(F, P - (P-F) *
 *     (k+1) / n), F when P is unknown), within timeout_ms;
 *   - the answer: a 2xx status and JSON whose choices[0].message.content is
 *     a string; a leading <think>...</think> block is cut, blanks trimmed.
 *     Else the fallback (reason timeout, http_<status>, bad_answer, empty,
 *     error:<sk_strerror>);
 *   - the guard (agent_guard.c) judges the answer with the item's floor and
 *     price, max_len characters and the banned words. The floor is the
 *     item's `floor`; an item without one may not be sold below its list
 *     price (the seller agreed to no discount: the prompt says so too), and
 *     when neither is known every amount the answer quotes is refused. Ok
 *     sends it (verdict
 *     model); an amount below the floor sends floor_text (verdict floor,
 *     reason "below_floor: 58元"); anything else sends guard_text (verdict
 *     guard, reason "<verdict>: <detail>"). The fixed texts are not judged;
 *   - manual takeover: when the seller writes in the chat (a message of our
 *     own account that is not an echo of our sends, a reply from the page:
 *     "core.seller_reply" from core, or a hand-over: "autoreply.handover"),
 *     or autoreply has the chat paused when the answer comes, a pending
 *     turn ends taken_over and nothing is sent.
 * The fallback is fallback_text, else the reply autoreply would have sent,
 * else "亲，稍等一下，我确认后马上回复您～": never silence. The reply is
 * sent as text with tag "agent:<message_id>", after sk_send_find found no
 * send of that tag (never two replies, also across a restart); its outcome
 * ("sent:<message_id>", "refused:<reason>", "error:<sk_strerror>") comes
 * from the send's callback or SK_EV_SEND_RESULT. A price turn whose model
 * answer was sent and quotes an amount counts one step in agent_chat. When
 * a turn ends the agent publishes "agent.decided" {turn, chat_id, verdict,
 * reason}.
 *
 * Verdicts (agent_turn.verdict): model, guard, floor, steps, fallback,
 * superseded, taken_over. Reasons of the fallback: timeout, http_<status>,
 * bad_answer, empty, budget_hour, budget_day, budget_chat,
 * error:<sk_strerror>, restart, expired (no key is no error: a local server
 * needs none, and the request then has no Authorization header). The
 * reason of steps is "used <k> of <n>", of taken_over seller_wrote,
 * seller_reply, handover or paused.
 *
 * Recovery. At init every pending turn (the process stopped while the model
 * was thinking) is looked up by its tag: a reply queued already ends it;
 * else one younger than an hour gets the fallback (reason restart), an
 * older one ends with nothing sent (reason expired, logged). Rows of
 * agent_turn and agent_msg older than 30 days, and the steps of chats quiet
 * for 30 days (agent_chat), are deleted at init and daily.
 *
 * Config (section "agent"; what the page saves in agent_setting and
 * agent_item wins key by key; agent_settings.c checks every key):
 *   enabled        true                 false: nothing taken
 *   base_url       ""                   e.g. https://api.openai.com/v1; "": nothing taken
 *   model          ""                   "": nothing taken
 *   api_key_file   ""                   a secret file of `shopkeep secret set` (sk_unseal);
 *                                       the page's key (sealed in agent_setting) wins
 *   headers        {}                   extra request headers {"Name": "value"} (secrets; not
 *                                       Host, Content-*, Connection, Transfer-Encoding,
 *                                       Authorization: the key makes that one)
 *   timeout_ms     15000                1000..120000
 *   max_tokens     300                  1..4096
 *   temperature    0.7                  0..2
 *   mode           "default"            off | default | all
 *   max_steps      3                    bargaining answers per chat, 0..20
 *   per_hour, per_day, per_chat   60, 500, 20   model calls; 0 = no limit
 *   max_len        200                  characters of an answer, 10..2000
 *   history        10                   recent chat messages given to the model, 0..50
 *   fallback_text  ""                   see above
 *   guard_text     "这个我没办法答应您哦，有其他问题随时问我～"
 *   floor_text     "这已经是最低价啦，不能再少了哦～"
 *   banned         [微信, QQ, 支付宝, 银行卡, 线下, 加我, 转账, 私聊]
 *   prompts_dir    ""                   <dir>/<intent>.txt prompts; "": built-in only
 *   items          {"<item_id>": {mode: inherit|off|default|all, floor: yuan (number
 *                  or "80.50"), max_steps, notes}}
 * A relative api_key_file or prompts_dir is taken from the folder of the
 * account's rules file (the config's folder in the usual layout; under
 * systemd the process runs in "/"); without a rules file, as it is.
 * `shopkeep secret set --config FILE agent_key` writes the key's file.
 * The API key and the headers' values never appear in a log line, an
 * answer or an event. On "core.reload" the settings are loaded again (a bad
 * config keeps the old ones, logged).
 *
 * Tables: agent_setting (the page's overrides), agent_item (the page's item
 * settings), agent_turn (the decision log), agent_chat (bargaining steps per
 * chat), agent_msg (recent messages when the core keeps none).
 *
 * Control commands: agent_take (here); agent_settings, agent_configure,
 * agent_prompts, agent_prompt_set, agent_decisions, agent_sends
 * (agent_ctl.c; web/API.md has their fields). The page's settings: what
 * agent_configure saves is checked as the config (the whole request
 * refused on one error, naming the field) and wins key by key; null gives
 * a key back to the config file; the API key and the headers are kept
 * sealed with the account's key (sk_seal) and shown masked ("sk-a****yz",
 * "****"); an item saved from the page keeps all its settings ("delete"
 * gives the config's entry back); api_key_file and prompts_dir are the
 * config file's only. agent_prompt_set writes <prompts_dir>/<intent>.txt.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"

#define AG_HOUR_MS (3600LL * 1000)
#define AG_DAY_MS (24 * AG_HOUR_MS)
#define AG_KEEP_MS (30 * AG_DAY_MS)
#define AG_RECOVER_MS AG_HOUR_MS
#define AG_TAG_MAX 200
#define AG_BUILTIN_FALLBACK "亲，稍等一下，我确认后马上回复您～"

/* A turn waiting for its model answer (st->pend). */
typedef struct ag_pend {
	int64_t turn;
	char *chat;
	struct ag_pend *next;
} ag_pend;

struct ag_state {
	ag_settings *s;
	ag_pend *pend;
};

/* The ud of a model call. */
typedef struct {
	int64_t turn;
	int64_t mono_ms;
} ag_call;

/* A turn as read back from agent_turn. */
typedef struct {
	int64_t id, ms;
	char *chat, *buyer, *name, *item, *mid, *text, *intent, *fallback, *state;
	int found;
} ag_turn;

static const sk_config_key ag_keys[] = {
	{ "enabled", SK_CFG_BOOL, 0, "false: nothing is taken (default true)" },
	{ "base_url", SK_CFG_STR, 0, "the OpenAI-compatible endpoint, e.g. https://api.openai.com/v1" },
	{ "model", SK_CFG_STR, 0, "the model's name" },
	{ "api_key_file", SK_CFG_STR, 0, "a secret file made by `shopkeep secret set` holding the API key" },
	{ "headers", SK_CFG_JSON, 0, "extra request headers {\"Name\": \"value\"}" },
	{ "timeout_ms", SK_CFG_INT, 0, "the model's time to answer, 1000..120000 (default 15000)" },
	{ "max_tokens", SK_CFG_INT, 0, "1..4096 (default 300)" },
	{ "temperature", SK_CFG_NUM, 0, "0..2 (default 0.7)" },
	{ "mode", SK_CFG_STR, 0, "off, default (what the default reply would answer) or all (default default)" },
	{ "max_steps", SK_CFG_INT, 0, "bargaining answers per chat, 0..20 (default 3)" },
	{ "per_hour", SK_CFG_INT, 0, "model calls per hour, 0 = no limit (default 60)" },
	{ "per_day", SK_CFG_INT, 0, "model calls per 24 h, 0 = no limit (default 500)" },
	{ "per_chat", SK_CFG_INT, 0, "model calls per chat and 24 h, 0 = no limit (default 20)" },
	{ "max_len", SK_CFG_INT, 0, "characters of an answer, 10..2000 (default 200)" },
	{ "history", SK_CFG_INT, 0, "recent chat messages given to the model, 0..50 (default 10)" },
	{ "fallback_text", SK_CFG_STR, 0, "sent on timeout, error or budget (\"\": autoreply's reply)" },
	{ "guard_text", SK_CFG_STR, 0, "sent instead of an answer the guard refuses" },
	{ "floor_text", SK_CFG_STR, 0, "sent instead of an answer below the floor, and when the steps are used up" },
	{ "banned", SK_CFG_STR_LIST, 0, "words no answer may hold" },
	{ "prompts_dir", SK_CFG_STR, 0, "a folder of <intent>.txt prompts (\"\": the built-in ones)" },
	{ "items", SK_CFG_JSON, 0, "{\"<item_id>\": {mode, floor, max_steps, notes}}" },
	{ NULL, 0, 0, NULL }
};

static const char *const ag_migrations[] = {
	"CREATE TABLE agent_setting (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_ms INTEGER NOT NULL);"
	"CREATE TABLE agent_item (item_id TEXT PRIMARY KEY, mode TEXT NOT NULL DEFAULT 'inherit', "
	"floor_fen INTEGER, max_steps INTEGER, notes TEXT NOT NULL DEFAULT '', updated_ms INTEGER NOT NULL);"
	"CREATE TABLE agent_turn (id INTEGER PRIMARY KEY, ms INTEGER NOT NULL, chat TEXT NOT NULL, "
	"buyer TEXT NOT NULL, name TEXT NOT NULL, item TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE, "
	"text TEXT NOT NULL, decision TEXT NOT NULL, intent TEXT NOT NULL, fallback TEXT NOT NULL, "
	"state TEXT NOT NULL, called INTEGER NOT NULL DEFAULT 0, verdict TEXT NOT NULL DEFAULT '', "
	"reason TEXT NOT NULL DEFAULT '', answer TEXT NOT NULL DEFAULT '', sent TEXT NOT NULL DEFAULT '', "
	"lowest_fen INTEGER, http_status INTEGER, latency_ms INTEGER, send_uuid TEXT NOT NULL DEFAULT '', "
	"outcome TEXT NOT NULL DEFAULT '', done_ms INTEGER);"
	"CREATE INDEX agent_turn_ms ON agent_turn (ms);"
	"CREATE INDEX agent_turn_chat ON agent_turn (chat, ms);"
	"CREATE INDEX agent_turn_uuid ON agent_turn (send_uuid) WHERE send_uuid <> '';"
	"CREATE TABLE agent_chat (chat TEXT PRIMARY KEY, steps INTEGER NOT NULL DEFAULT 0, last_fen INTEGER, "
	"updated_ms INTEGER NOT NULL);"
	"CREATE TABLE agent_msg (id INTEGER PRIMARY KEY, chat TEXT NOT NULL, ms INTEGER NOT NULL, "
	"dir TEXT NOT NULL, text TEXT NOT NULL);"
	"CREATE INDEX agent_msg_chat ON agent_msg (chat, id);",
	NULL
};

/* ---- the state ------------------------------------------------------------------ */

/* The settings in force (NULL before init). */
ag_settings *agent_settings(sk_plugin *p)
{
	ag_state *st = p->ud;

	return st ? st->s : NULL;
}

/* Puts s in force (it is the state's now) and frees the settings it replaces. */
void agent_settings_set(sk_plugin *p, ag_settings *s)
{
	ag_state *st = p->ud;

	if (!st || !s || s == st->s)
		return;
	agent_settings_free(st->s);
	st->s = s;
}

/* Forgets turn's entry in st->pend (nothing when it has none). */
static void ag_pend_drop(ag_state *st, int64_t turn)
{
	for (ag_pend **pp = &st->pend; *pp; pp = &(*pp)->next)
		if ((*pp)->turn == turn) {
			ag_pend *q = *pp;

			*pp = q->next;
			free(q->chat);
			free(q);
			return;
		}
}

/* Whether chat has a turn waiting for its answer (no database statement:
 * the own-message handler asks this for every message the seller writes). */
static int ag_pend_has(const ag_state *st, const char *chat)
{
	for (const ag_pend *q = st->pend; q; q = q->next)
		if (!strcmp(q->chat, chat))
			return 1;
	return 0;
}

/* ---- rows -------------------------------------------------------------------------- */

/* A row callback storing the first column's integer in *(int64_t *)ud. */
static int ag_row_int(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	(void)p;
	if (ncols > 0 && cols[0].type == SK_INT)
		*(int64_t *)ud = cols[0].i;
	return 1;
}

/* A copy of a text column ("" for NULL); NULL without memory. */
static char *ag_col_dup(const sk_value *v)
{
	return strdup(v->type == SK_TEXT && v->s ? v->s : "");
}

/* Frees a turn's strings. */
static void ag_turn_clear(ag_turn *t)
{
	free(t->chat);
	free(t->buyer);
	free(t->name);
	free(t->item);
	free(t->mid);
	free(t->text);
	free(t->intent);
	free(t->fallback);
	free(t->state);
	memset(t, 0, sizeof *t);
}

#define AG_TURN_COLS "id, ms, chat, buyer, name, item, message_id, text, intent, fallback, state"

/* Reads one row of AG_TURN_COLS into the ag_turn ud. */
static int ag_row_turn(sk_plugin *p, int ncols, const sk_value *c, void *ud)
{
	ag_turn *t = ud;

	(void)p;
	if (ncols < 11)
		return 1;
	t->id = c[0].i;
	t->ms = c[1].i;
	t->chat = ag_col_dup(&c[2]);
	t->buyer = ag_col_dup(&c[3]);
	t->name = ag_col_dup(&c[4]);
	t->item = ag_col_dup(&c[5]);
	t->mid = ag_col_dup(&c[6]);
	t->text = ag_col_dup(&c[7]);
	t->intent = ag_col_dup(&c[8]);
	t->fallback = ag_col_dup(&c[9]);
	t->state = ag_col_dup(&c[10]);
	t->found = t->chat && t->buyer && t->name && t->item && t->mid && t->text && t->intent && t->fallback &&
		   t->state;
	return 1;
}

/* Reads turn id into t. 0, or -1 when it is not there (or no memory). */
static int ag_turn_get(sk_plugin *p, int64_t id, ag_turn *t)
{
	sk_value v = SK_VINT(id);

	memset(t, 0, sizeof *t);
	if (sk_db_exec(p, "SELECT " AG_TURN_COLS " FROM agent_turn WHERE id = ?", &v, 1, ag_row_turn, t) < 0 ||
	    !t->found) {
		ag_turn_clear(t);
		return -1;
	}
	return 0;
}

/* The intent number of a stored intent name. */
static int ag_intent_of(const char *name)
{
	for (int i = 0; i < AG_INTENT_N; i++)
		if (!strcmp(agent_intent_name(i), name))
			return i;
	return AG_INTENT_DEFAULT;
}

/* The tag of a turn's reply, "agent:<message_id>" in buf, or NULL when it
 * does not fit. */
static const char *ag_tag(const char *mid, char buf[AG_TAG_MAX])
{
	int n = snprintf(buf, AG_TAG_MAX, "agent:%s", mid);

	return n > 0 && n < AG_TAG_MAX ? buf : NULL;
}

/* Publishes "agent.decided" {turn, chat_id, verdict, reason}. */
static void ag_publish(sk_plugin *p, int64_t turn, const char *chat, const char *verdict, const char *reason)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;
	int rc = SK_ERR_NOMEM;

	if (o && cJSON_AddNumberToObject(o, "turn", (double)turn) && cJSON_AddStringToObject(o, "chat_id", chat) &&
	    cJSON_AddStringToObject(o, "verdict", verdict) && cJSON_AddStringToObject(o, "reason", reason))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s || (rc = sk_publish(p, "agent.decided", s)) < 0)
		sk_log(p, SK_LOG_WARN, "turn %lld: agent.decided not published: %s", (long long)turn,
		       sk_strerror(p, rc));
	cJSON_free(s);
}

/* Sets a turn's outcome ("sent:<id>", "refused:<reason>") by its id (> 0) or
 * by its send's uuid. */
static void ag_outcome(sk_plugin *p, int64_t id, const char *uuid, int ok, const char *detail)
{
	char out[512];
	sk_value v[2];
	int rc;

	snprintf(out, sizeof out, "%s%s", ok ? "sent:" : "refused:", detail ? detail : "");
	v[0] = SK_VTEXT(out);
	if (id > 0) {
		v[1] = SK_VINT(id);
		rc = sk_db_exec(p, "UPDATE agent_turn SET outcome = ? WHERE id = ?", v, 2, NULL, NULL);
	} else {
		v[1] = SK_VTEXT(uuid);
		rc = sk_db_exec(p, "UPDATE agent_turn SET outcome = ? WHERE send_uuid = ?", v, 2, NULL, NULL);
	}
	if (rc < 0)
		sk_log(p, SK_LOG_WARN, "turn %lld: outcome not logged: %s", (long long)id, sk_strerror(p, rc));
}

/* The send of a turn's reply finished (ud: the turn's id). */
static void ag_on_sent(sk_plugin *p, const char *uuid, int ok, const char *detail, void *ud)
{
	(void)uuid;
	ag_outcome(p, *(int64_t *)ud, NULL, ok, detail);
}

/* SK_EV_SEND_RESULT: a reply queued before a restart finished. */
static int ag_on_send_result(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	if (*e->send_uuid && !strncmp(e->send_tag, "agent:", 6))
		ag_outcome(p, 0, e->send_uuid, e->send_ok, e->send_ok ? e->message_id : e->reason);
	return SK_PASS;
}

/* What ends a turn. */
typedef struct {
	const char *verdict, *reason;
	const char *text;          /* to send; NULL: nothing */
	const char *answer;        /* the model's text, NULL none */
	int64_t lowest_fen;        /* -1 none */
	int http_status;           /* 0: no call */
	int64_t latency_ms;        /* -1: no call */
	int count_step;            /* the sent answer quotes an amount: one bargaining step */
} ag_end;

/* Counts one bargaining step of chat (agent_chat), the amount last quoted. */
static void ag_step_count(sk_plugin *p, const char *chat, int64_t fen)
{
	sk_value v[3] = { SK_VTEXT(chat), fen >= 0 ? SK_VINT(fen) : SK_VNULL, SK_VINT(sk_now_ms(p)) };
	int rc = sk_db_exec(p,
			    "INSERT INTO agent_chat (chat, steps, last_fen, updated_ms) VALUES (?1, 1, ?2, ?3) "
			    "ON CONFLICT(chat) DO UPDATE SET steps = steps + 1, last_fen = ?2, updated_ms = ?3",
			    v, 3, NULL, NULL);

	if (rc < 0)
		sk_log(p, SK_LOG_WARN, "chat %s: the bargaining step was not counted: %s", chat, sk_strerror(p, rc));
}

/* Ends turn t as e says: sends e->text (unless its tag finds a reply
 * queued already), records everything in its row (state done), counts a
 * bargaining step, publishes agent.decided. */
static void ag_end_turn(sk_plugin *p, const ag_turn *t, const ag_end *e)
{
	ag_state *st = p->ud;
	char tag[AG_TAG_MAX], uuid[40] = "", outcome[160] = "";
	const char *tg = ag_tag(t->mid, tag), *sent = "";
	char *detail = NULL;
	int64_t *ud;
	int rc, state = -1;

	if (st)
		ag_pend_drop(st, t->id);
	if (e->text && tg && sk_send_find(p, tg, uuid, &state, &detail) == SK_OK) {
		sk_log(p, SK_LOG_INFO, "turn %lld (chat %s): a reply to message %s is queued already: not again",
		       (long long)t->id, t->chat, t->mid);
		if (state == 1 || state == 2)
			snprintf(outcome, sizeof outcome, "%s%s", state == 1 ? "sent:" : "refused:", detail ? detail : "");
		sk_free(p, detail);
	} else if (e->text) {
		if (!(ud = malloc(sizeof *ud))) {
			rc = SK_ERR_NOMEM;
		} else {
			*ud = t->id;
			rc = sk_send_text(p, t->chat, t->buyer, e->text, tg, ag_on_sent, ud, free, uuid);
		}
		if (rc < 0) {
			snprintf(outcome, sizeof outcome, "error:%s", sk_strerror(p, rc));
			sk_log(p, SK_LOG_WARN, "turn %lld (chat %s): the reply was not sent: %s", (long long)t->id,
			       t->chat, sk_strerror(p, rc));
		} else {
			sent = e->text;
		}
	}
	{
		char answer[AG_ANSWER_MAX + 1];
		sk_value v[11];

		snprintf(answer, sizeof answer, "%s", e->answer ? e->answer : "");
		v[0] = SK_VTEXT(e->verdict);
		v[1] = SK_VTEXT(e->reason);
		v[2] = SK_VTEXT(answer);
		v[3] = SK_VTEXT(sent);
		v[4] = e->lowest_fen >= 0 ? SK_VINT(e->lowest_fen) : SK_VNULL;
		v[5] = e->http_status ? SK_VINT(e->http_status) : SK_VNULL;
		v[6] = e->latency_ms >= 0 ? SK_VINT(e->latency_ms) : SK_VNULL;
		v[7] = SK_VTEXT(uuid);
		v[8] = SK_VTEXT(outcome);
		v[9] = SK_VINT(sk_now_ms(p));
		v[10] = SK_VINT(t->id);
		/* The outcome only when known here: the send's callback may have set it. */
		rc = sk_db_exec(p,
				"UPDATE agent_turn SET state = 'done', verdict = ?1, reason = ?2, answer = ?3, sent = ?4, "
				"lowest_fen = ?5, http_status = ?6, latency_ms = ?7, send_uuid = ?8, "
				"outcome = CASE WHEN ?9 <> '' THEN ?9 ELSE outcome END, done_ms = ?10 WHERE id = ?11",
				v, 11, NULL, NULL);
		if (rc < 0)
			sk_log(p, SK_LOG_ERR, "turn %lld: its end was not logged: %s", (long long)t->id,
			       sk_strerror(p, rc));
	}
	if (e->count_step && *sent)
		ag_step_count(p, t->chat, e->lowest_fen);
	sk_log(p, SK_LOG_INFO, "turn %lld (chat %s, message %s): %s%s%s", (long long)t->id, t->chat, t->mid,
	       e->verdict, *e->reason ? " " : "", e->reason);
	ag_publish(p, t->id, t->chat, e->verdict, e->reason);
}

/* Ends t with its fallback text, for reason. */
static void ag_fallback(sk_plugin *p, const ag_turn *t, const char *reason, int status, int64_t latency,
			const char *answer)
{
	ag_end e = { .verdict = "fallback", .reason = reason, .text = t->fallback, .answer = answer,
		     .lowest_fen = -1, .http_status = status, .latency_ms = latency };

	ag_end_turn(p, t, &e);
}

/* Ends t without a reply (superseded, taken_over). */
static void ag_silent(sk_plugin *p, const ag_turn *t, const char *verdict, const char *reason)
{
	ag_end e = { .verdict = verdict, .reason = reason, .lowest_fen = -1, .latency_ms = -1 };

	ag_end_turn(p, t, &e);
}

/* ---- takeover ---------------------------------------------------------------------- */

/* Ends the pending turns of chat (nothing sent) as verdict, for reason;
 * only turns made at or before upto_ms when upto_ms > 0. Returns how many. */
static int ag_end_pending(sk_plugin *p, const char *chat, int64_t upto_ms, const char *verdict, const char *reason)
{
	sk_value v[2] = { SK_VTEXT(chat), SK_VINT(upto_ms > 0 ? upto_ms : INT64_MAX) };
	int ended = 0;

	/* One pending turn per chat by construction; a loop all the same, each
	 * turn ended (state done) before the next is read. */
	for (int guard = 0; guard < 64; guard++) {
		int64_t id = 0;
		ag_turn t;

		if (sk_db_exec(p, "SELECT id FROM agent_turn WHERE chat = ? AND state = 'pending' AND ms <= ? "
				  "ORDER BY id LIMIT 1", v, 2, ag_row_int, &id) < 0 || id <= 0)
			break;
		if (ag_turn_get(p, id, &t)) {
			sk_value w = SK_VINT(id);

			sk_log(p, SK_LOG_ERR, "turn %lld: unreadable, ended", (long long)id);
			if (sk_db_exec(p, "UPDATE agent_turn SET state = 'done', verdict = 'fallback', "
					  "reason = 'error:unreadable' WHERE id = ?", &w, 1, NULL, NULL) < 0)
				break;
			continue;
		}
		ag_silent(p, &t, verdict, reason);
		ag_turn_clear(&t);
		ended++;
	}
	return ended;
}

/* Own chat messages that are not echoes of our sends: the seller wrote in
 * the chat; its pending turn ends taken_over. A backfilled one counts only
 * for turns made before it. No statement unless the chat has a pending turn. */
static int ag_on_own(sk_plugin *p, const sk_event *e, void *ud)
{
	ag_state *st = p->ud;
	int backfilled = e->size >= offsetof(sk_event, backfilled) + sizeof e->backfilled && e->backfilled;

	(void)ud;
	if (!st || !*e->chat_id || !ag_pend_has(st, e->chat_id))
		return SK_PASS;
	if (ag_end_pending(p, e->chat_id, backfilled && e->created_ms > 0 ? e->created_ms : 0, "taken_over",
			   "seller_wrote") > 0)
		sk_log(p, SK_LOG_INFO, "chat %s: the seller wrote: the AI reply is dropped", e->chat_id);
	return SK_PASS;
}

/* "core.seller_reply" from the core (a reply from the page) and
 * "autoreply.handover" from autoreply (the buyer asked for the seller): the
 * chat's pending turn ends taken_over. */
static int ag_on_takeover(sk_plugin *p, const sk_event *e, void *ud)
{
	ag_state *st = p->ud;
	int page = !strcmp(e->topic, "core.seller_reply");
	const char *from = page ? "core" : "autoreply";
	const cJSON *c;
	cJSON *root;

	(void)ud;
	if (!st || strcmp(e->from_plugin, from))
		return SK_PASS;
	root = cJSON_Parse(e->payload_json);
	c = cJSON_GetObjectItemCaseSensitive(root, "chat_id");
	if (cJSON_IsString(c) && *c->valuestring && ag_pend_has(st, c->valuestring) &&
	    ag_end_pending(p, c->valuestring, 0, "taken_over", page ? "seller_reply" : "handover") > 0)
		sk_log(p, SK_LOG_INFO, "chat %s: %s: the AI reply is dropped", c->valuestring,
		       page ? "the seller replied from the page" : "handed over to the seller");
	cJSON_Delete(root);
	return SK_PASS;
}

/* Whether autoreply has chat paused now (its table, when it is there). */
static int ag_paused(sk_plugin *p, const char *chat)
{
	int64_t has = 0, paused = 0;
	sk_value v[2] = { SK_VTEXT(chat), SK_VINT(sk_now_ms(p)) };

	if (sk_db_exec(p, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'autoreply_pause'", NULL, 0,
		       ag_row_int, &has) < 0 || !has)
		return 0;
	if (sk_db_exec(p, "SELECT 1 FROM autoreply_pause WHERE chat = ? AND until_ms > ?", v, 2, ag_row_int,
		       &paused) < 0)
		return 0;
	return paused > 0;
}

/* The floor the guard holds for an item: the seller's floor; without one,
 * its list price (no floor set: no discount was agreed to); without either,
 * none of its amounts is known to be fine, so every amount is refused. */
static int64_t ag_floor(const ag_item *it, const ag_item_info *info)
{
	if (it && it->floor_fen >= 0)
		return it->floor_fen;
	if (info && info->price_fen >= 0)
		return info->price_fen;
	return INT64_MAX;
}

/* ---- the answer -------------------------------------------------------------------- */

/* The model's text in a chat-completions answer: choices[0].message.content
 * (malloc'd, a leading <think>...</think> block cut, ASCII blanks trimmed),
 * or NULL when the body is not such an answer (*bad set) or without memory. */
static char *ag_content(const char *body, int *bad)
{
	cJSON *root = cJSON_Parse(body);
	const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
	const char *c = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ch, "message"), "content"));
	char *out = NULL;

	*bad = !c;
	if (c) {
		const char *s = c, *end;

		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (!strncmp(s, "<think>", 7)) {
			const char *close = strstr(s, "</think>");

			s = close ? close + 8 : s + strlen(s);
		}
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		end = s + strlen(s);
		while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
			end--;
		out = strndup(s, (size_t)(end - s));
	}
	cJSON_Delete(root);
	return out;
}

/* Cuts text to at most max bytes at a UTF-8 character boundary (in place). */
static void ag_cut(char *text, size_t max)
{
	size_t n = strlen(text);

	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)text[max] & 0xc0) == 0x80)
		max--;
	text[max] = '\0';
}

/* The model answered turn ud->turn (or did not: status < 0). A turn no
 * longer pending (superseded, taken over) ignores it. */
static void ag_on_http(sk_plugin *p, int status, const char *body, void *ud)
{
	ag_call *c = ud;
	ag_state *st = p->ud;
	int64_t latency = sk_mono_ms(p) - c->mono_ms;
	char reason[200], *answer = NULL;
	int bad = 0;
	ag_turn t;

	if (!st)
		return;
	ag_pend_drop(st, c->turn);
	if (ag_turn_get(p, c->turn, &t)) {
		sk_log(p, SK_LOG_WARN, "turn %lld: the model's answer came for a turn that is gone", (long long)c->turn);
		return;
	}
	if (strcmp(t.state, "pending")) {
		sk_log(p, SK_LOG_DEBUG, "turn %lld: the model's late answer ignored (the turn is %s)", (long long)t.id,
		       t.state);
		ag_turn_clear(&t);
		return;
	}
	if (status < 0) {
		snprintf(reason, sizeof reason, "%s", status == SK_ERR_IO ? "timeout" : "error:");
		if (status != SK_ERR_IO)
			snprintf(reason, sizeof reason, "error:%s", sk_strerror(p, status));
		ag_fallback(p, &t, reason, 0, latency, NULL);
	} else if (status < 200 || status > 299) {
		snprintf(reason, sizeof reason, "http_%d", status);
		ag_fallback(p, &t, reason, status, latency, NULL);
	} else if (!(answer = ag_content(body, &bad))) {
		ag_fallback(p, &t, bad ? "bad_answer" : "error:SK_ERR_NOMEM", status, latency, NULL);
	} else if (!*answer) {
		ag_fallback(p, &t, "empty", status, latency, NULL);
	} else if (ag_paused(p, t.chat)) {
		ag_end e = { .verdict = "taken_over", .reason = "paused", .answer = answer, .lowest_fen = -1,
			     .http_status = status, .latency_ms = latency };

		ag_end_turn(p, &t, &e);
	} else {
		const ag_settings *s = st->s;
		const ag_item *it = agent_settings_item(s, t.item);
		ag_item_info *info = calloc(1, sizeof *info);
		ag_guard_in g = { .floor_fen = INT64_MAX, .price_fen = -1, .max_chars = s->max_len,
				  .banned = (const char *const *)s->banned, .nbanned = s->nbanned };
		ag_verdict v;
		ag_end e = { .answer = answer, .http_status = status, .latency_ms = latency };

		if (info) {
			agent_item_info(p, t.item, info);
			g.price_fen = info->price_fen;
		}
		g.floor_fen = ag_floor(it, info);
		free(info);
		memset(&v, 0, sizeof v);
		agent_guard(&g, answer, &v);
		e.lowest_fen = v.lowest_fen;
		if (v.verdict == AG_V_OK) {
			e.verdict = "model";
			e.reason = "";
			e.text = answer;
			e.count_step = ag_intent_of(t.intent) == AG_INTENT_PRICE && v.lowest_fen >= 0;
		} else if (v.verdict == AG_V_EMPTY) {
			e.verdict = "fallback";
			e.reason = "empty";
			e.text = t.fallback;
		} else {
			snprintf(reason, sizeof reason, "%s%s%s", agent_verdict_name(v.verdict), *v.detail ? ": " : "",
				 v.detail);
			e.verdict = v.verdict == AG_V_BELOW_FLOOR ? "floor" : "guard";
			e.reason = reason;
			e.text = v.verdict == AG_V_BELOW_FLOOR ? s->floor_text : s->guard_text;
		}
		ag_cut(answer, AG_ANSWER_MAX);
		ag_end_turn(p, &t, &e);
	}
	free(answer);
	ag_turn_clear(&t);
}

/* ---- the turn ---------------------------------------------------------------------- */

/* The number of model calls since since_ms (of chat when not NULL); -1 when
 * the database failed. */
static int64_t ag_calls(sk_plugin *p, int64_t since_ms, const char *chat)
{
	int64_t n = -1;
	sk_value v[2] = { SK_VINT(since_ms), SK_VTEXT(chat) };

	if (chat)
		sk_db_exec(p, "SELECT count(*) FROM agent_turn WHERE chat = ?2 AND ms >= ?1 AND called = 1", v, 2,
			   ag_row_int, &n);
	else
		sk_db_exec(p, "SELECT count(*) FROM agent_turn WHERE ms >= ? AND called = 1", v, 1, ag_row_int, &n);
	return n;
}

/* The budget a model call for chat would exceed ("budget_hour", ...), or
 * NULL when it may be made. */
static const char *ag_budget(sk_plugin *p, const ag_settings *s, const char *chat)
{
	int64_t now = sk_now_ms(p);

	if (s->per_hour > 0 && ag_calls(p, now - AG_HOUR_MS, NULL) >= s->per_hour)
		return "budget_hour";
	if (s->per_day > 0 && ag_calls(p, now - AG_DAY_MS, NULL) >= s->per_day)
		return "budget_day";
	if (s->per_chat > 0 && ag_calls(p, now - AG_DAY_MS, chat) >= s->per_chat)
		return "budget_chat";
	return NULL;
}

/* The lowest price the model may offer at this step: with list price P,
 * floor F, steps used k of n: max(F, P - (P-F)*(k+1)/n); F when P is
 * unknown or not above F; -1 without a floor. */
static int64_t ag_offer_floor(int64_t price, int64_t floor_fen, int64_t k, int64_t n)
{
	int64_t o;

	if (floor_fen < 0)
		return -1;
	if (price < 0 || price <= floor_fen || n <= 0)
		return floor_fen;
	o = price - (price - floor_fen) * (k + 1) / n;
	return o > floor_fen ? o : floor_fen;
}

/* "Authorization: Bearer <key>\n" (when a key is set) and the extra header
 * lines; malloc'd, NULL without memory. Holds secrets: wipe it. */
static char *ag_headers(const ag_settings *s)
{
	size_t n = strlen(s->headers) + (s->api_key ? strlen(s->api_key) + 32 : 0) + 1;
	char *h = malloc(n);

	if (h)
		snprintf(h, n, "%s%s%s%s", s->api_key ? "Authorization: Bearer " : "", s->api_key ? s->api_key : "",
			 s->api_key ? "\n" : "", s->headers);
	return h;
}

/* Runs turn t after it was recorded: steps, budgets, then the model call
 * (its answer comes to ag_on_http). Ends the turn at once when no call is
 * made. */
static void ag_turn_go(sk_plugin *p, ag_state *st, const ag_turn *t)
{
	const ag_settings *s = st->s;
	const ag_item *it = agent_settings_item(s, t->item);
	int intent = ag_intent_of(t->intent);
	int64_t steps = 0, max_steps = agent_item_steps(s, t->item);
	sk_value cv = SK_VTEXT(t->chat);
	const char *budget;
	char url[1100], *hdr = NULL, *body = NULL;
	ag_item_info *info = NULL;
	ag_call *call = NULL;
	size_t ulen;
	int rc;

	sk_db_exec(p, "SELECT steps FROM agent_chat WHERE chat = ?", &cv, 1, ag_row_int, &steps);
	if (intent == AG_INTENT_PRICE && steps >= max_steps) {
		char reason[64];
		ag_end e = { .verdict = "steps", .reason = reason, .text = s->floor_text, .lowest_fen = -1,
			     .latency_ms = -1 };

		snprintf(reason, sizeof reason, "used %lld of %lld", (long long)steps, (long long)max_steps);
		ag_end_turn(p, t, &e);
		return;
	}
	if ((budget = ag_budget(p, s, t->chat))) {
		ag_fallback(p, t, budget, 0, -1, NULL);
		return;
	}
	ulen = strlen(s->base_url);
	while (ulen && s->base_url[ulen - 1] == '/')
		ulen--;
	snprintf(url, sizeof url, "%.*s/chat/completions", (int)ulen, s->base_url);
	if ((info = calloc(1, sizeof *info))) {
		ag_msg m = { t->chat, t->buyer, t->name, t->item, t->mid, t->text, t->ms };

		agent_item_info(p, t->item, info);
		int64_t floor_fen = ag_floor(it, info);

		body = agent_request_body(p, s, &m, intent, info, it,
					  floor_fen == INT64_MAX ? -1 :
					  ag_offer_floor(info->price_fen, floor_fen, steps, max_steps));
	}
	hdr = ag_headers(s);
	call = malloc(sizeof *call);
	if (!info || !body || !hdr || !call) {
		free(call);
		ag_fallback(p, t, "error:SK_ERR_NOMEM", 0, -1, NULL);
		goto out;
	}
	call->turn = t->id;
	call->mono_ms = sk_mono_ms(p);
	rc = sk_http_post(p, url, hdr, body, strlen(body), (int)s->timeout_ms, ag_on_http, call, free);
	if (rc < 0) {
		char reason[64];

		/* call was freed by the host. */
		snprintf(reason, sizeof reason, "error:%s", sk_strerror(p, rc));
		sk_log(p, SK_LOG_WARN, "turn %lld: the model call did not start: %s", (long long)t->id,
		       sk_strerror(p, rc));
		ag_fallback(p, t, reason, 0, -1, NULL);
		goto out;
	}
	{
		sk_value v = SK_VINT(t->id);
		ag_pend *q = calloc(1, sizeof *q);

		if (sk_db_exec(p, "UPDATE agent_turn SET called = 1 WHERE id = ?", &v, 1, NULL, NULL) < 0)
			sk_log(p, SK_LOG_WARN, "turn %lld: the model call was not counted", (long long)t->id);
		/* Without its pend entry a takeover is still seen when the answer comes
		 * (autoreply's pause), only not at once. */
		if (q && (q->chat = strdup(t->chat))) {
			q->turn = t->id;
			q->next = st->pend;
			st->pend = q;
		} else {
			free(q);
		}
	}
out:
	if (hdr) {
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
	}
	free(body);
	free(info);
}

/* The string member key of o: its value, def when absent (and def is not
 * NULL), else NULL with why naming the key. Strings hold at most max bytes;
 * nonempty refuses "". */
static const char *ag_field(const cJSON *o, const char *key, const char *def, size_t max, int nonempty, char *why,
			    size_t wl)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	const char *s;

	if (!v && def)
		return def;
	if (!(s = cJSON_GetStringValue(v))) {
		snprintf(why, wl, "%s: must be a string", key);
		return NULL;
	}
	if (nonempty && !*s) {
		snprintf(why, wl, "%s: must not be empty", key);
		return NULL;
	}
	if (strlen(s) > max) {
		snprintf(why, wl, "%s: longer than %zu bytes", key, max);
		return NULL;
	}
	return s;
}

/* Answers the control command with the not-taken result for why. */
static int ag_not_taken(sk_plugin *p, const char *why)
{
	char json[128];

	snprintf(json, sizeof json, "{\"taken\":false,\"why\":\"%s\"}", why);
	return sk_control_result(p, json) < 0 ? SK_ERR_STATE : SK_OK;
}

/* Control command agent_take (see the top of the file). */
static int ag_take(sk_plugin *p, const char *command, const char *data, void *ud)
{
	ag_state *st = p->ud;
	cJSON *root = cJSON_Parse(data);
	const char *chat, *buyer, *name, *item, *mid, *text, *decision, *reply, *fallback;
	const cJSON *bf;
	char why[200], json[160];
	int64_t id = 0;
	int intent, mode, rc = SK_ERR_INVAL;
	ag_turn t;

	(void)command;
	(void)ud;
	if (!st) {
		sk_control_error(p, "the agent is not running");
		cJSON_Delete(root);
		return SK_ERR_STATE;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(why, sizeof why, "data: must be a JSON object");
		goto bad;
	}
	if (!(chat = ag_field(root, "chat_id", NULL, 200, 1, why, sizeof why)) ||
	    !(buyer = ag_field(root, "buyer_id", NULL, 200, 1, why, sizeof why)) ||
	    !(name = ag_field(root, "buyer_name", "", 200, 0, why, sizeof why)) ||
	    !(item = ag_field(root, "item_id", "", 63, 0, why, sizeof why)) ||
	    !(mid = ag_field(root, "message_id", NULL, 180, 1, why, sizeof why)) ||
	    !(text = ag_field(root, "text", NULL, 65536, 0, why, sizeof why)) ||
	    !(decision = ag_field(root, "decision", NULL, 40, 1, why, sizeof why)) ||
	    !(reply = ag_field(root, "reply", "", 65536, 0, why, sizeof why)))
		goto bad;
	if (strcmp(decision, "no_match") && strcmp(decision, "default") && strcmp(decision, "item_default")) {
		snprintf(why, sizeof why, "decision: must be no_match, default or item_default");
		goto bad;
	}
	if ((bf = cJSON_GetObjectItemCaseSensitive(root, "backfilled")) && !cJSON_IsBool(bf)) {
		snprintf(why, sizeof why, "backfilled: must be true or false");
		goto bad;
	}
	{
		sk_value v = SK_VTEXT(mid);

		if ((rc = sk_db_exec(p, "SELECT id FROM agent_turn WHERE message_id = ?", &v, 1, ag_row_int, &id)) < 0) {
			sk_control_error(p, "the agent's database failed");
			goto out;
		}
	}
	if (id > 0) {
		sk_log(p, SK_LOG_INFO, "chat %s: message %s was taken before (turn %lld): not again", chat, mid,
		       (long long)id);
		snprintf(json, sizeof json, "{\"taken\":true,\"turn\":%lld,\"again\":true}", (long long)id);
		rc = sk_control_result(p, json) < 0 ? SK_ERR_STATE : SK_OK;
		goto out;
	}
	mode = agent_item_mode(st->s, item);
	if (!st->s->enabled) {
		rc = ag_not_taken(p, "disabled");
		goto out;
	}
	if (!*st->s->base_url) {
		rc = ag_not_taken(p, "not_configured");
		goto out;
	}
	if (!*st->s->model) {
		rc = ag_not_taken(p, "no_model");
		goto out;
	}
	if (mode == AG_MODE_OFF) {
		rc = ag_not_taken(p, "mode_off");
		goto out;
	}
	if (mode == AG_MODE_DEFAULT && !strcmp(decision, "item_default")) {
		rc = ag_not_taken(p, "mode_default");
		goto out;
	}
	if (ag_end_pending(p, chat, 0, "superseded", "") > 0)
		sk_log(p, SK_LOG_INFO, "chat %s: a later message supersedes the pending AI reply", chat);
	intent = agent_intent(text);
	fallback = *st->s->fallback_text ? st->s->fallback_text : *reply ? reply : AG_BUILTIN_FALLBACK;
	{
		sk_value v[11] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(chat), SK_VTEXT(buyer), SK_VTEXT(name),
				   SK_VTEXT(item), SK_VTEXT(mid), SK_VTEXT(text), SK_VTEXT(decision),
				   SK_VTEXT(agent_intent_name(intent)), SK_VTEXT(fallback) };

		if ((rc = sk_db_exec(p,
				     "INSERT INTO agent_turn (ms, chat, buyer, name, item, message_id, text, decision, "
				     "intent, fallback, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
				     v, 10, NULL, NULL)) < 0) {
			sk_control_error(p, "the agent's database failed");
			goto out;
		}
		id = sk_db_last_rowid(p);
	}
	snprintf(json, sizeof json, "{\"taken\":true,\"turn\":%lld,\"intent\":\"%s\"}", (long long)id,
		 agent_intent_name(intent));
	rc = sk_control_result(p, json) < 0 ? SK_ERR_STATE : SK_OK;
	if (ag_turn_get(p, id, &t)) {
		/* Recovery at the next start sends its fallback. */
		sk_log(p, SK_LOG_ERR, "turn %lld: unreadable right after it was recorded", (long long)id);
		goto out;
	}
	ag_turn_go(p, st, &t);
	ag_turn_clear(&t);
	goto out;
bad:
	sk_control_error(p, why);
	rc = SK_ERR_INVAL;
	sk_log(p, SK_LOG_WARN, "agent_take refused: %s", why);
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- recovery, pruning, reload, init ---------------------------------------------- */

/* Ends the turns left pending by an earlier run (see the top of the file). */
static void ag_recover(sk_plugin *p)
{
	int64_t last = 0;

	for (;;) {
		int64_t id = 0;
		sk_value v = SK_VINT(last);
		char tag[AG_TAG_MAX];
		const char *tg;
		ag_turn t;

		if (sk_db_exec(p, "SELECT id FROM agent_turn WHERE state = 'pending' AND id > ? ORDER BY id LIMIT 1", &v,
			       1, ag_row_int, &id) < 0 || id <= 0)
			break;
		last = id;
		if (ag_turn_get(p, id, &t))
			continue;
		tg = ag_tag(t.mid, tag);
		if (tg && sk_send_find(p, tg, NULL, NULL, NULL) == SK_OK) {
			/* ag_end_turn finds the send by its tag and sends nothing. */
			ag_fallback(p, &t, "restart", 0, -1, NULL);
		} else if (sk_now_ms(p) - t.ms < AG_RECOVER_MS) {
			sk_log(p, SK_LOG_INFO, "turn %lld (chat %s): left pending by a restart: the fallback is sent",
			       (long long)t.id, t.chat);
			ag_fallback(p, &t, "restart", 0, -1, NULL);
		} else {
			sk_log(p, SK_LOG_WARN, "turn %lld (chat %s, message %s): left pending by a restart more than an "
			       "hour ago: nothing sent", (long long)t.id, t.chat, t.mid);
			ag_silent(p, &t, "fallback", "expired");
		}
		ag_turn_clear(&t);
	}
}

/* Deletes what is older than 30 days: finished turns, kept messages, the
 * bargaining steps of chats quiet since. */
static void ag_prune(sk_plugin *p)
{
	sk_value v = SK_VINT(sk_now_ms(p) - AG_KEEP_MS);

	if (sk_db_exec(p, "DELETE FROM agent_turn WHERE ms < ? AND state = 'done'", &v, 1, NULL, NULL) < 0 ||
	    sk_db_exec(p, "DELETE FROM agent_msg WHERE ms < ?", &v, 1, NULL, NULL) < 0 ||
	    sk_db_exec(p, "DELETE FROM agent_chat WHERE updated_ms < ?", &v, 1, NULL, NULL) < 0)
		sk_log(p, SK_LOG_WARN, "pruning the agent's tables failed");
}

/* The daily pruning timer. */
static void ag_on_prune(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	(void)ud;
	if (p->ud)
		ag_prune(p);
}

/* "core.reload" from the core: the settings are loaded again; a config that
 * no longer passes keeps the ones in force (logged). */
static int ag_on_reload(sk_plugin *p, const sk_event *e, void *ud)
{
	char why[300];
	ag_settings *s;

	(void)ud;
	if (!p->ud || strcmp(e->from_plugin, "core"))
		return SK_PASS;
	if (!(s = agent_settings_load(p, why, sizeof why)))
		sk_log(p, SK_LOG_ERR, "reload: agent.%s: the settings in force are kept", why);
	else
		agent_settings_set(p, s);
	return SK_PASS;
}

/* Frees the state. */
static void ag_state_free(ag_state *st)
{
	if (!st)
		return;
	while (st->pend) {
		ag_pend *q = st->pend;

		st->pend = q->next;
		free(q->chat);
		free(q);
	}
	agent_settings_free(st->s);
	free(st);
}

/* Frees the state; the host then cancels the model calls in flight (their
 * turns stay pending: the next start recovers them). */
static void ag_fini(sk_plugin *p)
{
	ag_state_free(p->ud);
	p->ud = NULL;
}

/* Loads the settings, subscribes, registers the control commands, prunes
 * and recovers. SK_OK, or SK_ERR_CONFIG (logged) / another sk_rc. */
static int ag_init(sk_plugin *p)
{
	sk_filter own = { .flags = SK_F_ONLY_OWN | SK_F_SKIP_ECHO };
	sk_filter seller_reply = { .topic = "core.seller_reply" };
	sk_filter handover = { .topic = "autoreply.handover" };
	sk_filter reload = { .topic = "core.reload" };
	ag_state *st = calloc(1, sizeof *st);
	char why[300];
	int rc;

	if (!st)
		return SK_ERR_NOMEM;
	if (!(st->s = agent_settings_load(p, why, sizeof why))) {
		sk_log(p, SK_LOG_ERR, "agent.%s", why);
		free(st);
		return SK_ERR_CONFIG;
	}
	p->ud = st;
	if ((rc = sk_subscribe(p, SK_MASK_CHAT, NULL, 0, agent_ctx_on_chat, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK_CHAT, &own, 1, ag_on_own, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &seller_reply, 0, ag_on_takeover, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &handover, 0, ag_on_takeover, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &reload, 0, ag_on_reload, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_SEND_RESULT), NULL, 0, ag_on_send_result, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_control_add(p, "agent_take",
				 "autoreply hands a buyer's text to the AI: {chat_id, buyer_id, buyer_name, item_id, "
				 "message_id, text, decision, reply, backfilled} -> {taken, turn, intent}",
				 ag_take, NULL, NULL)) < 0 ||
	    (rc = sk_timer_add(p, (uint64_t)AG_DAY_MS, (uint64_t)AG_DAY_MS, ag_on_prune, NULL, NULL, NULL)) < 0)
		goto fail;
	agent_controls_add(p);
	ag_prune(p);
	ag_recover(p);
	return SK_OK;
fail:
	ag_state_free(st);
	p->ud = NULL;
	return rc;
}

SK_PLUGIN(.name = "agent", .version = "1.0",
	  .description = "AI replies through an OpenAI-compatible endpoint, under guards no answer passes "
			 "(floor price, bargaining steps, contact details, banned words, budgets)",
	  .init = ag_init, .fini = ag_fini, .config_keys = ag_keys, .migrations = ag_migrations);
