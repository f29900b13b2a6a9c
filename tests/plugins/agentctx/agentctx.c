/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/agentctx/agentctx.c - the agent's context
 * (plugins/agent/agent_ctx.c, linked into this .so by the Makefile) behind
 * control commands, for tests/unit/test_agent_ctx.c. It is named "agent",
 * so that its migration may make the agent's agent_msg table (the same
 * schema as plugins/agent/agent.c), and subscribes agent_ctx_on_chat to the
 * chat events as the agent does (own ones and echoes too).
 *
 *   agentctx_intent {"text"} -> {"intent":"price"}
 *   agentctx_item {"item_id"} -> {"item_id","title","desc","price_fen","specs"}
 *   agentctx_prompt {"intent","prompts_dir"} -> {"text","builtin"}
 *   agentctx_prompt_save {"intent","prompts_dir","text"} -> {} or the why
 *   agentctx_body {"model","max_tokens","temperature","history","prompts_dir",
 *                  "chat","buyer","name","item","mid","text","ms","intent",
 *                  "notes","floor_fen"} -> the request body itself
 */
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"

static const char *const agentctx_migrations[] = {
	"CREATE TABLE agent_msg (id INTEGER PRIMARY KEY, chat TEXT NOT NULL, ms INTEGER NOT NULL, "
	"dir TEXT NOT NULL CHECK (dir IN ('in', 'out')), text TEXT NOT NULL);"
	"CREATE INDEX agent_msg_chat ON agent_msg (chat, id)",
	NULL
};

/* String member k of d, def when absent. */
static const char *agentctx_str(const cJSON *d, const char *k, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, k);

	return cJSON_IsString(v) ? v->valuestring : def;
}

/* Number member k of d, def when absent. */
static double agentctx_num(const cJSON *d, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, k);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* The intent's number of a name ("price"...), default for another. */
static int agentctx_intent_of(const char *name)
{
	for (int i = 0; i < AG_INTENT_N; i++)
		if (!strcmp(agent_intent_name(i), name))
			return i;
	return AG_INTENT_DEFAULT;
}

/* Answers o (consumed). */
static int agentctx_answer(sk_plugin *p, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	int rc = sk_control_result(p, s);

	free(s);
	cJSON_Delete(o);
	return rc;
}

/* agentctx_intent {"text"}. */
static int agentctx_intent(sk_plugin *p, const char *command, const char *data, void *ud)
{
	cJSON *d = cJSON_Parse(data), *o = cJSON_CreateObject();

	(void)command, (void)ud;
	cJSON_AddStringToObject(o, "intent", agent_intent_name(agent_intent(agentctx_str(d, "text", NULL))));
	cJSON_Delete(d);
	return agentctx_answer(p, o);
}

/* agentctx_item {"item_id"}. */
static int agentctx_item(sk_plugin *p, const char *command, const char *data, void *ud)
{
	cJSON *d = cJSON_Parse(data), *o = cJSON_CreateObject();
	ag_item_info info;

	(void)command, (void)ud;
	agent_item_info(p, agentctx_str(d, "item_id", ""), &info);
	cJSON_Delete(d);
	cJSON_AddStringToObject(o, "item_id", info.item_id);
	cJSON_AddStringToObject(o, "title", info.title);
	cJSON_AddStringToObject(o, "desc", info.desc);
	cJSON_AddNumberToObject(o, "price_fen", (double)info.price_fen);
	cJSON_AddStringToObject(o, "specs", info.specs);
	return agentctx_answer(p, o);
}

/* agentctx_prompt {"intent","prompts_dir"}. */
static int agentctx_prompt(sk_plugin *p, const char *command, const char *data, void *ud)
{
	cJSON *d = cJSON_Parse(data), *o = cJSON_CreateObject();
	ag_settings s = { 0 };
	int builtin = -1;
	char *t;

	(void)command, (void)ud;
	s.prompts_dir = (char *)agentctx_str(d, "prompts_dir", "");
	t = agent_prompt(p, &s, agentctx_intent_of(agentctx_str(d, "intent", "")), &builtin);
	cJSON_AddStringToObject(o, "text", t ? t : "(null)");
	cJSON_AddBoolToObject(o, "builtin", builtin == 1);
	free(t);
	cJSON_Delete(d);
	return agentctx_answer(p, o);
}

/* agentctx_prompt_save {"intent","prompts_dir","text"}; an unknown intent name is -1. */
static int agentctx_prompt_save(sk_plugin *p, const char *command, const char *data, void *ud)
{
	cJSON *d = cJSON_Parse(data);
	ag_settings s = { 0 };
	const char *name = agentctx_str(d, "intent", "");
	int intent = agentctx_intent_of(name), rc;
	char why[300];

	(void)command, (void)ud;
	if (strcmp(agent_intent_name(intent), name))
		intent = -1;
	s.prompts_dir = (char *)agentctx_str(d, "prompts_dir", "");
	rc = agent_prompt_save(p, &s, intent, agentctx_str(d, "text", ""), why, sizeof why);
	cJSON_Delete(d);
	if (rc < 0) {
		sk_control_error(p, why);
		return SK_ERR_INVAL;
	}
	return sk_control_result(p, "{}");
}

/* agentctx_body {...}: settings, the message, the item from items_item. */
static int agentctx_body(sk_plugin *p, const char *command, const char *data, void *ud)
{
	cJSON *d = cJSON_Parse(data);
	ag_settings s = { 0 };
	ag_item it = { 0 };
	ag_item_info info;
	ag_msg m;
	char *body;
	int rc;

	(void)command, (void)ud;
	s.model = (char *)agentctx_str(d, "model", "m1");
	s.max_tokens = (int64_t)agentctx_num(d, "max_tokens", AG_DEF_MAX_TOKENS);
	s.temperature = agentctx_num(d, "temperature", AG_DEF_TEMPERATURE);
	s.history = (int64_t)agentctx_num(d, "history", AG_DEF_HISTORY);
	s.prompts_dir = (char *)agentctx_str(d, "prompts_dir", "");
	m.chat = agentctx_str(d, "chat", "");
	m.buyer = agentctx_str(d, "buyer", "");
	m.name = agentctx_str(d, "name", "");
	m.item = agentctx_str(d, "item", "");
	m.mid = agentctx_str(d, "mid", "");
	m.text = agentctx_str(d, "text", "");
	m.ms = (int64_t)agentctx_num(d, "ms", (double)sk_now_ms(p));
	it.item_id = (char *)m.item;
	it.notes = (char *)agentctx_str(d, "notes", "");
	it.floor_fen = -1;
	agent_item_info(p, m.item, &info);
	body = agent_request_body(p, &s, &m, agentctx_intent_of(agentctx_str(d, "intent", "")), &info, &it,
				  (int64_t)agentctx_num(d, "floor_fen", -1));
	rc = body ? sk_control_result(p, body) : SK_ERR_NOMEM;
	free(body);
	cJSON_Delete(d);
	return rc;
}

/* Registers the commands and the chat handler. */
static int agentctx_init(sk_plugin *p)
{
	int rc;

	if ((rc = sk_subscribe(p, SK_MASK_CHAT, NULL, 0, agent_ctx_on_chat, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_control_add(p, "agentctx_intent", "test", agentctx_intent, NULL, NULL)) < 0 ||
	    (rc = sk_control_add(p, "agentctx_item", "test", agentctx_item, NULL, NULL)) < 0 ||
	    (rc = sk_control_add(p, "agentctx_prompt", "test", agentctx_prompt, NULL, NULL)) < 0 ||
	    (rc = sk_control_add(p, "agentctx_prompt_save", "test", agentctx_prompt_save, NULL, NULL)) < 0 ||
	    (rc = sk_control_add(p, "agentctx_body", "test", agentctx_body, NULL, NULL)) < 0)
		return rc;
	return SK_OK;
}

SK_PLUGIN(.name = "agent", .version = "0.1", .description = "agent_ctx.c behind control commands (tests)",
	  .init = agentctx_init, .migrations = agentctx_migrations);
