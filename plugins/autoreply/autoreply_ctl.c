/* SPDX-License-Identifier: MIT */
/*
 * plugins/autoreply/autoreply_ctl.c - the control commands of the web page:
 * pause_chat, resume_chat, decisions, paused_chats, autoreply_stats,
 * autoreply_sends, and their table
 * (ar_controls), which init registers through autoreply_controls_add.
 */

#include <time.h>

#include "autoreply_int.h"

/* ---- control commands (web/API.md) ----------------------------------------- */

/* The data's chat_id (borrowed from d), or NULL after failing the command. */
static const char *ar_ctl_chat(sk_plugin *p, const char *command, const cJSON *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, "chat_id");

	if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > AR_CTL_CHAT_MAX) {
		skctl_fail(p, SK_ERR_INVAL, "%s: chat_id must be a chat id (a non-empty string of at most %d bytes)",
			    command, AR_CTL_CHAT_MAX);
		return NULL;
	}
	return v->valuestring;
}

/* pause_chat {"chat_id", "seconds"}: the chat is paused as by the seller
 * typing in it (seconds defaults to pause_s): its pending burst is dropped
 * and nothing is answered there until then, across restarts. Answers
 * {"chat_id", "paused_until_ms"}. */
static int ar_ctl_pause(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	ar_state *st = p->ud;
	cJSON *d, *o;
	const char *chat;
	int64_t secs, until;
	int rc;

	(void)ud;
	if (!st)
		return SK_ERR_STATE;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	if (!(chat = ar_ctl_chat(p, command, d)) ||
	    (secs = skctl_count(p, command, d, "seconds", st->pause_ms / 1000, AR_CTL_PAUSE_MAX_S)) < 0) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	if (!secs) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: seconds is required, since autoreply.pause_s is 0", command);
	}
	until = sk_now_ms(p) + secs * 1000;
	autoreply_pend_drop(p, st, chat);
	if ((rc = autoreply_pause_set(p, chat, sk_now_ms(p), until, "manual", 0)) < 0) {
		cJSON_Delete(d);
		return skctl_fail(p, rc, "%s: the pause was not saved: %s", command, sk_strerror(p, rc));
	}
	sk_log(p, SK_LOG_INFO, "chat %s: paused for %lld s (control command)", chat, (long long)secs);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "chat_id", chat);
	cJSON_AddNumberToObject(o, "paused_until_ms", (double)until);
	cJSON_Delete(d);
	return skctl_answer(p, o);
}

/* resume_chat {"chat_id"}: ends the chat's pause (a manual takeover's and a
 * hand-over's too).
 * Answers {"chat_id", "resumed"}: whether it was paused. */
static int ar_ctl_resume(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d, *o;
	const char *chat;
	int paused, rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	if (!(chat = ar_ctl_chat(p, command, d))) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	if ((paused = autoreply_paused(p, chat)) < 0 ||
	    (rc = sk_db_exec(p, "DELETE FROM autoreply_pause WHERE chat = ?", &SK_VTEXT(chat), 1, NULL, NULL)) < 0) {
		rc = paused < 0 ? paused : rc;
		cJSON_Delete(d);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	if (paused)
		sk_log(p, SK_LOG_INFO, "chat %s: resumed (control command)", chat);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "chat_id", chat);
	cJSON_AddBoolToObject(o, "resumed", paused);
	cJSON_Delete(d);
	return skctl_answer(p, o);
}

/* A row of autoreply_log (ms, chat, buyer, text, decision, rule, outcome)
 * appended to the array ud. */
static int ar_row_decision(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	static const char *const names[] = { "chat_id", "buyer_id", "text", "decision", "rule", "outcome", "item_id" };
	cJSON *o;

	(void)p;
	if (ncols < 8 || !(o = cJSON_CreateObject()))
		return 1;
	cJSON_AddNumberToObject(o, "ms", (double)(cols[0].type == SK_INT ? cols[0].i : 0));
	for (int i = 0; i < 7; i++)
		cJSON_AddStringToObject(o, names[i], cols[i + 1].type == SK_TEXT ? cols[i + 1].s : "");
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* decisions {"limit"}: the decision log, newest first (limit default 100,
 * at most 1000). Answers {"decisions": [{"ms", "chat_id", "buyer_id",
 * "text", "decision", "rule", "outcome", "item_id"}]}. */
static int ar_ctl_decisions(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d, *o, *arr;
	int64_t limit;
	int rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	limit = skctl_count(p, command, d, "limit", AR_CTL_LIMIT_DEF, AR_CTL_LIMIT_MAX);
	cJSON_Delete(d);
	if (limit < 0)
		return SK_ERR_INVAL;
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "decisions"))) {
		cJSON_Delete(o);
		return SK_ERR_NOMEM;
	}
	if ((rc = sk_db_exec(p, "SELECT ms, chat, buyer, text, decision, rule, outcome, item FROM autoreply_log "
			     "ORDER BY id DESC LIMIT ?", &SK_VINT(limit), 1, ar_row_decision, arr)) < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	return skctl_answer(p, o);
}

/* A row of autoreply_pause (chat, until_ms, reason, waiting, since_ms)
 * appended to the array ud. */
static int ar_row_paused(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	cJSON *o;

	(void)p;
	if (ncols < 5 || !(o = cJSON_CreateObject()))
		return 1;
	cJSON_AddStringToObject(o, "chat_id", cols[0].type == SK_TEXT ? cols[0].s : "");
	cJSON_AddNumberToObject(o, "paused_until_ms", (double)(cols[1].type == SK_INT ? cols[1].i : 0));
	cJSON_AddStringToObject(o, "reason", cols[2].type == SK_TEXT ? cols[2].s : "manual");
	cJSON_AddBoolToObject(o, "waiting", cols[3].type == SK_INT && cols[3].i);
	cJSON_AddNumberToObject(o, "since_ms", (double)(cols[4].type == SK_INT ? cols[4].i : 0));
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* paused_chats {}: the chats paused now, the longest pause first (the core
 * marks them in list_chats). Answers {"chats": [{"chat_id",
 * "paused_until_ms", "reason": "manual"|"page"|"handover", "waiting": a
 * hand-over not answered by the seller yet, "since_ms"}]} (since_ms is 0 for
 * a pause made before it was recorded). */
static int ar_ctl_paused(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d, *o, *arr;
	int rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	cJSON_Delete(d);
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "chats"))) {
		cJSON_Delete(o);
		return SK_ERR_NOMEM;
	}
	if ((rc = sk_db_exec(p, "SELECT chat, until_ms, reason, waiting, since_ms FROM autoreply_pause WHERE until_ms > ? "
			     "ORDER BY until_ms DESC, chat", &SK_VINT(sk_now_ms(p)), 1, ar_row_paused, arr)) < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	return skctl_answer(p, o);
}

/* One day of autoreply_stats, counted by ar_row_stats. */
typedef struct {
	int64_t first;             /* the first day asked, days since 1970-01-01 (Beijing) */
	int64_t n[AR_STATS_DAYS_MAX][3];
	int days;
} ar_stats;

/* A row (day, answered, handed_over, paused) of autoreply_stats' query into
 * the ar_stats ud. */
static int ar_row_stats(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	ar_stats *s = ud;
	int64_t d;

	(void)p;
	if (ncols < 4 || cols[0].type != SK_INT)
		return 0;
	d = cols[0].i - s->first;
	if (d < 0 || d >= s->days)
		return 0;
	for (int i = 0; i < 3; i++)
		s->n[d][i] = cols[i + 1].type == SK_INT ? cols[i + 1].i : 0;
	return 0;
}

/* autoreply_stats {"days": 1..31, default 7}: per Beijing calendar day
 * (UTC+8), oldest first, today last, days without any included: the buyer
 * messages autoreply answered (decisions rule, item_default, default), the
 * ones it handed over to the seller, and the ones not answered because the
 * chat was paused. Answers {"days": [{"day": "YYYY-MM-DD", "answered",
 * "handed_over", "paused"}]}. One range scan of the log's ms index. */
static int ar_ctl_stats(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	ar_stats s;
	cJSON *d, *o, *arr;
	int64_t days, today, from;
	int rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	days = skctl_count(p, command, d, "days", 7, AR_STATS_DAYS_MAX);
	cJSON_Delete(d);
	if (days < 0)
		return SK_ERR_INVAL;
	memset(&s, 0, sizeof s);
	today = (sk_now_ms(p) + AR_BJ_OFFSET_MS) / AR_DAY_MS;
	s.first = today - days + 1;
	s.days = (int)days;
	from = s.first * AR_DAY_MS - AR_BJ_OFFSET_MS;
	if ((rc = sk_db_exec(p, "SELECT (ms + ?) / ? AS day, SUM(decision IN ('rule', 'item_default', 'default')), "
			     "SUM(decision = 'handover'), SUM(decision = 'paused') FROM autoreply_log "
			     "WHERE ms >= ? GROUP BY day", (sk_value[]){ SK_VINT(AR_BJ_OFFSET_MS), SK_VINT(AR_DAY_MS),
			     SK_VINT(from) }, 3, ar_row_stats, &s)) < 0)
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "days"))) {
		cJSON_Delete(o);
		return SK_ERR_NOMEM;
	}
	for (int i = 0; i < s.days; i++) {
		time_t t = (time_t)((s.first + i) * 86400);
		struct tm tm;
		char day[16];
		cJSON *r = cJSON_CreateObject();

		gmtime_r(&t, &tm);
		strftime(day, sizeof day, "%Y-%m-%d", &tm);
		cJSON_AddStringToObject(r, "day", day);
		cJSON_AddNumberToObject(r, "answered", (double)s.n[i][0]);
		cJSON_AddNumberToObject(r, "handed_over", (double)s.n[i][1]);
		cJSON_AddNumberToObject(r, "paused", (double)s.n[i][2]);
		cJSON_AddItemToArray(arr, r);
	}
	return skctl_answer(p, o);
}

/* A log row (decision, rule) into the label object ud: {"rule", "text"}. */
static int ar_row_label(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	const char *dec, *rule;
	char text[300];

	(void)p;
	if (ncols < 2 || cols[0].type != SK_TEXT || cols[1].type != SK_TEXT)
		return 1;
	dec = cols[0].s;
	rule = cols[1].s;
	if (!strcmp(dec, "handover")) {
		rule = "handover";
		snprintf(text, sizeof text, "转人工");
	} else if (!strcmp(dec, "item_default")) {
		rule = "item default";
		snprintf(text, sizeof text, "商品默认回复");
	} else if (!strcmp(dec, "default")) {
		rule = "default";
		snprintf(text, sizeof text, "默认回复");
	} else {
		snprintf(text, sizeof text, "关键词规则 %s", rule);
	}
	cJSON_AddStringToObject(ud, "rule", rule);
	cJSON_AddStringToObject(ud, "text", text);
	return 1;
}

/* skctl_sends' label of one of autoreply's sends: the log row of its uuid,
 * else of the message its tag names ("reply:<id>", "handover:<id>"). */
static int ar_send_label(sk_plugin *p, const char *uuid, const char *tag, cJSON *l)
{
	static const char q_uuid[] = "SELECT decision, rule FROM autoreply_log WHERE send_uuid = ? AND send_uuid <> '' "
				     "ORDER BY id DESC LIMIT 1";
	static const char q_mid[] = "SELECT decision, rule FROM autoreply_log WHERE message_id = ? AND decision IN "
				    "('rule', 'item_default', 'default', 'handover') ORDER BY id DESC LIMIT 1";
	const char *mid = !strncmp(tag, "reply:", 6) ? tag + 6 : !strncmp(tag, "handover:", 9) ? tag + 9 : NULL;
	int rc = sk_db_exec(p, q_uuid, &SK_VTEXT(uuid), 1, ar_row_label, l);

	if (rc >= 0 && !l->child && mid && *mid)
		rc = sk_db_exec(p, q_mid, &SK_VTEXT(mid), 1, ar_row_label, l);
	return rc < 0 ? rc : 0;
}

/* autoreply_sends {"sends": [{"uuid", "tag"}]} (at most 200): the rule that
 * sent each of autoreply's sends, found in the decision log by the send's
 * uuid, or by the message of its tag ("reply:<message_id>",
 * "handover:<message_id>": the image of a reply of an image and a text).
 * Answers {"labels": {"<uuid>": {"rule": a keyword rule's id or "#<n>",
 * "item default", "default" or "handover", "text": a short label}}}; a send
 * the log does not know (pruned, or not autoreply's) is left out. */
static int ar_ctl_sends(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	(void)ud;
	return skctl_sends(p, command, data_json, AR_SENDS_MAX, AR_TAG_MAX, ar_send_label);
}

static const skctl_row ar_controls[] = {
	{ "pause_chat", "{chat_id, seconds}: autoreply answers nothing in the chat for that long (default pause_s)",
	  ar_ctl_pause },
	{ "resume_chat", "{chat_id}: ends the chat's pause", ar_ctl_resume },
	{ "decisions", "{limit}: autoreply's decision log, newest first", ar_ctl_decisions },
	{ "paused_chats", "the chats autoreply has paused now: why, since when, waiting for the seller", ar_ctl_paused },
	{ "autoreply_stats", "{days}: per Beijing day, the buyer messages answered, handed over, paused", ar_ctl_stats },
	{ "autoreply_sends", "{sends: [{uuid, tag}]}: the rule that sent each of autoreply's sends", ar_ctl_sends },
};

/* Registers the control commands of ar_controls; one the host refuses (its
 * name taken) is logged and left out: autoreply answers without it. */
void autoreply_controls_add(sk_plugin *p)
{
	skctl_add_all(p, ar_controls, sizeof ar_controls / sizeof ar_controls[0]);
}
