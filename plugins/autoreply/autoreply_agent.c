/* SPDX-License-Identifier: MIT */
/*
 * plugins/autoreply/autoreply_agent.c - the hand-off to the agent plugin
 * (plugins/agent: replies written by a language model).
 *
 * A buyer text that no keyword rule matched - the one the item's default or
 * the account default would answer, or nothing - is offered to the agent
 * through its control command agent_take (sk_control_run, ABI 1.6), once,
 * after the debounce, the hand-over and the pause checks:
 *   {"chat_id","buyer_id","buyer_name","item_id","message_id","text",
 *    "decision":"no_match"|"default"|"item_default",
 *    "reply":"<what autoreply would send: its fallback>"}
 * The agent answers {"taken":true,"turn":N,"intent":"..."} - it then owns
 * exactly one reply to the message (the model's, a guard's fixed text or
 * the fallback), and the decision log says "agent" (rule "agent:<intent>",
 * outcome "turn:<N>") - or {"taken":false,"why":"..."}: the item's mode
 * says no, or the agent is off or not set up, and autoreply answers as it
 * always did. A keyword rule's match never reaches the agent. Without the
 * agent plugin (SK_ERR_NOTFOUND, remembered until the next core.reload) or
 * when the call fails (logged), autoreply answers as before: never silence.
 */
#include "autoreply_int.h"

/* The agent's answer: 1 taken (logged), 0 not taken, or -1 when it failed
 * (logged). */
static int ar_agent_answer(sk_plugin *p, const ar_msg *m, const char *json)
{
	cJSON *a = cJSON_Parse(json);
	const cJSON *taken = cJSON_GetObjectItemCaseSensitive(a, "taken");
	const cJSON *turn = cJSON_GetObjectItemCaseSensitive(a, "turn");
	const cJSON *intent = cJSON_GetObjectItemCaseSensitive(a, "intent");
	char rule[80], outcome[48];
	int rc = 0;

	if (!cJSON_IsBool(taken)) {
		sk_log(p, SK_LOG_WARN, "chat %s: agent_take answered without \"taken\": answered by the rules", m->chat);
		rc = -1;
	} else if (cJSON_IsTrue(taken)) {
		snprintf(rule, sizeof rule, "agent:%.60s", cJSON_IsString(intent) ? intent->valuestring : "");
		snprintf(outcome, sizeof outcome, "turn:%lld", cJSON_IsNumber(turn) ? (long long)turn->valuedouble : 0LL);
		autoreply_log(p, m, "agent", rule, outcome);
		rc = 1;
	}
	cJSON_Delete(a);
	return rc;
}

int autoreply_agent(sk_plugin *p, ar_state *st, const ar_msg *m, const char *decision, const char *reply)
{
	char *data, *res = NULL, *err = NULL;
	cJSON *d;
	int rc;

	if (st->agent_absent || !SK_HOST_HAS(p, control_run))
		return 0;
	if (!(d = cJSON_CreateObject()))
		return 0;
	cJSON_AddStringToObject(d, "chat_id", m->chat);
	cJSON_AddStringToObject(d, "buyer_id", m->buyer);
	cJSON_AddStringToObject(d, "buyer_name", m->name);
	cJSON_AddStringToObject(d, "item_id", m->item);
	cJSON_AddStringToObject(d, "message_id", m->mid);
	cJSON_AddStringToObject(d, "text", m->text);
	cJSON_AddStringToObject(d, "decision", decision);
	cJSON_AddStringToObject(d, "reply", reply ? reply : "");
	data = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	if (!data)
		return 0;
	rc = sk_control_run(p, "agent_take", data, &res, &err);
	cJSON_free(data);
	if (rc == SK_ERR_NOTFOUND) {
		st->agent_absent = 1;
		rc = 0;
	} else if (rc < 0) {
		sk_log(p, SK_LOG_WARN, "chat %s: agent_take failed (%s%s%s): answered by the rules", m->chat,
		       sk_strerror(p, rc), err ? ": " : "", err ? err : "");
		rc = 0;
	} else {
		rc = ar_agent_answer(p, m, res);
		rc = rc < 0 ? 0 : rc;
	}
	sk_free(p, res);
	sk_free(p, err);
	return rc;
}
