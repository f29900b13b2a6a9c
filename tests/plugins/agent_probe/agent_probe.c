/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/agent_probe/agent_probe.c - a stand-in for the agent plugin
 * (plugins/agent) in tests/unit/test_autoreply_agent.c: it registers
 * agent_take, logs each call's data as "T:take:<data>" and answers what its
 * config says:
 *   answer  the JSON to answer (default {"taken":true,"turn":7,"intent":"price"})
 *   fail    true: refuse with SK_ERR_DB and the error text "model store down"
 */
#include "plugin.h"

static const sk_config_key agent_probe_keys[] = {
	{ .key = "answer", .type = SK_CFG_STR, .help = "the JSON agent_take answers" },
	{ .key = "fail", .type = SK_CFG_BOOL, .help = "agent_take fails" },
	{ 0 }
};

/* agent_take: logs the data, answers the configured JSON or fails. */
static int agent_probe_take(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	(void)command, (void)ud;
	sk_log(p, SK_LOG_INFO, "T:take:%s", data_json);
	if (sk_config_bool(p, "fail", 0)) {
		sk_control_error(p, "model store down");
		return SK_ERR_DB;
	}
	return sk_control_result(p, sk_config_str(p, "answer", "{\"taken\":true,\"turn\":7,\"intent\":\"price\"}"));
}

static int agent_probe_init(sk_plugin *p)
{
	return sk_control_add(p, "agent_take", "takes a message (a test stand-in)", agent_probe_take, NULL, NULL);
}

SK_PLUGIN(.name = "agent_probe", .version = "1.0", .description = "agent_take stand-in",
	  .init = agent_probe_init, .config_keys = agent_probe_keys);
