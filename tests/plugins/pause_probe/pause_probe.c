/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/pause_probe/pause_probe.c - answers paused_chats as
 * autoreply does with the hand-over fields (reason, waiting, since_ms), for
 * tests/integration/test_chats_api.c run without autoreply: chat 80000500 is
 * waiting for the seller (a hand-over), chat 30001 is paused by the page.
 */
#include <stdio.h>

#include "plugin.h"

/* paused_chats: two fixed chats, paused for an hour from now. */
static int pp_paused(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	char out[512];
	long long until = (long long)sk_now_ms(p) + 3600000;

	(void)command;
	(void)data_json;
	(void)ud;
	snprintf(out, sizeof out,
		 "{\"chats\":[{\"chat_id\":\"80000500\",\"paused_until_ms\":%lld,\"reason\":\"handover\",\"waiting\":true,"
		 "\"since_ms\":1},{\"chat_id\":\"30001\",\"paused_until_ms\":%lld,\"reason\":\"page\",\"waiting\":false,"
		 "\"since_ms\":1}]}", until, until);
	return sk_control_result(p, out);
}

static int pp_init(sk_plugin *p)
{
	return sk_control_add(p, "paused_chats", "two fixed paused chats", pp_paused, NULL, NULL);
}

SK_PLUGIN(.name = "pause_probe", .version = "1.0", .description = "answers paused_chats", .init = pp_init);
