/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/run_probe/run_probe.c - ABI 1.6 for tests/unit/test_abi16.c:
 * sk_control_run, sk_seal and sk_unseal, driven by topics the test
 * dispatches (from "core") and reported as log lines "T:<token>":
 *   run_probe.run  {command, data}  sk_control_run(command, data)
 *                                   -> T:run:<rc>:<result or "-">:<error or "-">
 *   run_probe.seal {text}           sk_seal(text) -> T:seal:<rc>:<sealed or "-">
 *   run_probe.open {sealed}         sk_unseal(sealed) -> T:open:<rc>:<plaintext or "-">
 * and one control command, run_probe_nested, that calls sk_control_run
 * from inside itself (the host refuses: one command may not run another)
 * and answers {"rc": <that rc>}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "plugin.h"

/* The string field name of o, or "". */
static const char *run_probe_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* The topics above. */
static int run_probe_on_topic(sk_plugin *p, const sk_event *e, void *ud)
{
	cJSON *d = cJSON_Parse(e->payload_json);
	char *out = NULL, *err = NULL, *data = NULL;
	int rc;

	(void)ud;
	if (!strcmp(e->topic, "run_probe.run")) {
		data = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(d, "data"));
		rc = sk_control_run(p, run_probe_str(d, "command"), data, &out, &err);
		sk_log(p, SK_LOG_INFO, "T:run:%d:%s:%s", rc, out ? out : "-", err ? err : "-");
	} else if (!strcmp(e->topic, "run_probe.seal")) {
		rc = sk_seal(p, run_probe_str(d, "text"), &out);
		sk_log(p, SK_LOG_INFO, "T:seal:%d:%s", rc, out ? out : "-");
	} else if (!strcmp(e->topic, "run_probe.open")) {
		rc = sk_unseal(p, run_probe_str(d, "sealed"), &out);
		sk_log(p, SK_LOG_INFO, "T:open:%d:%s", rc, out ? out : "-");
	}
	free(data);
	sk_free(p, out);
	sk_free(p, err);
	cJSON_Delete(d);
	return SK_PASS;
}

/* run_probe_nested: sk_control_run inside a control command. */
static int run_probe_nested(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	char *out = NULL, buf[64];
	int rc = sk_control_run(p, "ctl_echo", "{}", &out, NULL);

	(void)command, (void)data_json, (void)ud;
	sk_free(p, out);
	snprintf(buf, sizeof buf, "{\"rc\":%d}", rc);
	return sk_control_result(p, buf);
}

static int run_probe_init(sk_plugin *p)
{
	int rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), NULL, 0, run_probe_on_topic, NULL, NULL, NULL);

	return rc ? rc : sk_control_add(p, "run_probe_nested", "sk_control_run inside a command", run_probe_nested,
					NULL, NULL);
}

SK_PLUGIN(.name = "run_probe", .version = "1.0", .description = "ABI 1.6 probe", .init = run_probe_init);
