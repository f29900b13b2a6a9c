/* SPDX-License-Identifier: MIT */
/* plugins/helloctl/helloctl.c - the control command example: "hello_echo"
 * (POST /api/control {"command":"hello_echo","data":{...}}, web/API.md)
 * answers {"calls":<n>,"echo":<data>}, and refuses an empty object with an
 * error the seller reads (HTTP 400). The call counter is the command's ud. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

/* Answers one call. data_json is borrowed, valid JSON, "{}" when none. */
static int helloctl_echo(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	int64_t *calls = ud;
	char *out;
	size_t n;
	int rc;

	(void)command;
	if (!strcmp(data_json, "{}")) {
		sk_control_error(p, "give some data to echo");
		return SK_ERR_INVAL;
	}
	n = strlen(data_json) + 64;
	if (!(out = malloc(n)))
		return SK_ERR_NOMEM;
	snprintf(out, n, "{\"calls\":%lld,\"echo\":%s}", (long long)++*calls, data_json);
	rc = sk_control_result(p, out);  /* copied: free ours */
	free(out);
	return rc;
}

/* Registers the command with its one-line help; the host frees the counter. */
static int helloctl_init(sk_plugin *p)
{
	int64_t *calls = calloc(1, sizeof *calls);

	if (!calls)
		return SK_ERR_NOMEM;
	return sk_control_add(p, "hello_echo", "echoes its data with a call count", helloctl_echo, calls, free);
}

SK_PLUGIN(.name = "helloctl", .version = "1.0", .description = "A control command that echoes",
	  .init = helloctl_init);
