/* SPDX-License-Identifier: MIT */
/*
 * plugins/autoreply/autoreply_ctl.c - the control commands of the web page:
 * pause_chat, resume_chat, decisions, paused_chats, and their table
 * (ar_controls), which init registers through autoreply_controls_add.
 */

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
	if ((rc = autoreply_pause_set(p, chat, until)) < 0) {
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

/* resume_chat {"chat_id"}: ends the chat's pause (a manual takeover's too).
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

/* A row of autoreply_pause (chat, until_ms) appended to the array ud. */
static int ar_row_paused(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	cJSON *o;

	(void)p;
	if (ncols < 2 || !(o = cJSON_CreateObject()))
		return 1;
	cJSON_AddStringToObject(o, "chat_id", cols[0].type == SK_TEXT ? cols[0].s : "");
	cJSON_AddNumberToObject(o, "paused_until_ms", (double)(cols[1].type == SK_INT ? cols[1].i : 0));
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* paused_chats {}: the chats paused now, the longest pause first (the core
 * marks them in list_chats). Answers {"chats": [{"chat_id",
 * "paused_until_ms"}]}. */
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
	if ((rc = sk_db_exec(p, "SELECT chat, until_ms FROM autoreply_pause WHERE until_ms > ? "
			     "ORDER BY until_ms DESC, chat", &SK_VINT(sk_now_ms(p)), 1, ar_row_paused, arr)) < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	return skctl_answer(p, o);
}

static const skctl_row ar_controls[] = {
	{ "pause_chat", "{chat_id, seconds}: autoreply answers nothing in the chat for that long (default pause_s)",
	  ar_ctl_pause },
	{ "resume_chat", "{chat_id}: ends the chat's pause", ar_ctl_resume },
	{ "decisions", "{limit}: autoreply's decision log, newest first", ar_ctl_decisions },
	{ "paused_chats", "the chats autoreply has paused now", ar_ctl_paused },
};

/* Registers the control commands of ar_controls; one the host refuses (its
 * name taken) is logged and left out: autoreply answers without it. */
void autoreply_controls_add(sk_plugin *p)
{
	skctl_add_all(p, ar_controls, sizeof ar_controls / sizeof ar_controls[0]);
}
