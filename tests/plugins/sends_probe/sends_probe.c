/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/sends_probe/sends_probe.c - the "<plugin>_sends" label
 * convention (plugins/README.md) for tests/integration/test_chats_api.c:
 * a buyer text starting "label?" gets the reply "probe reply" with the tag
 * "probe:<message_id>", and the command sends_probe_sends answers each
 * {"uuid","tag"} it is asked about with {"rule":"probe-rule","text":"tag=<tag>"}.
 * No JSON library: the request's strings are found by their keys (uuids and
 * tags hold no quotes).
 */
#include <stdio.h>
#include <string.h>

#include "plugin.h"

/* A buyer's "label?...": the reply. */
static int sp_on_text(sk_plugin *p, const sk_event *e, void *ud)
{
	char tag[160];

	(void)ud;
	if (e->own || strncmp(e->text, "label?", 6))
		return SK_PASS;
	snprintf(tag, sizeof tag, "probe:%s", e->message_id);
	sk_send_text(p, e->chat_id, e->sender_id, "probe reply", tag, NULL, NULL, NULL, NULL);
	return SK_PASS;
}

/* Copies the string value after key at or after s into out (n bytes): the
 * position after it, or NULL when there is none. */
static const char *sp_value(const char *s, const char *key, char *out, size_t n)
{
	const char *v = strstr(s, key), *end;

	if (!v)
		return NULL;
	v += strlen(key);
	if (!(end = strchr(v, '"')))
		return NULL;
	snprintf(out, n, "%.*s", (int)(end - v), v);
	return end + 1;
}

/* sends_probe_sends: {"labels":{uuid:{"rule","text"}}} for every send asked about. */
static int sp_sends(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	char out[8192] = "{\"labels\":{", uuid[64], tag[160];
	const char *s = data_json;
	size_t len = strlen(out);
	int first = 1;

	(void)command;
	(void)ud;
	while ((s = sp_value(s, "\"uuid\":\"", uuid, sizeof uuid))) {
		s = sp_value(s, "\"tag\":\"", tag, sizeof tag);
		len += (size_t)snprintf(out + len, sizeof out - len, "%s\"%s\":{\"rule\":\"probe-rule\",\"text\":\"tag=%s\"}",
					first ? "" : ",", uuid, s ? tag : "");
		first = 0;
		if (!s || len >= sizeof out - 200)
			break;
	}
	snprintf(out + len, sizeof out - len, "}}");
	return sk_control_result(p, out);
}

static int sp_init(sk_plugin *p)
{
	int rc = sk_subscribe(p, SK_MASK(SK_EV_CHAT_TEXT), NULL, 0, sp_on_text, NULL, NULL, NULL);

	return rc < 0 ? rc : sk_control_add(p, "sends_probe_sends", "labels of its sends", sp_sends, NULL, NULL);
}

SK_PLUGIN(.name = "sends_probe", .version = "1.0", .description = "labels its sends", .init = sp_init);
