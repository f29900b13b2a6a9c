/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/hostcheck_b/hostcheck_b.c - the second plugin of
 * tests/unit/test_host.c: dispatch order across plugins, published events
 * (it answers "ping" with "pong"), SK_EV_SEND_RESULT going only to the
 * plugin that sent. Logs "T:<token>" lines like hostcheck_a. It declares no
 * config keys, so any key in its section is an error.
 */
#include <stdio.h>
#include <string.h>

#include "plugin.h"

static int hostcheck_b_on(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)e;
	sk_log(p, SK_LOG_INFO, "T:b.%s", (const char *)ud);
	return SK_PASS;
}

/* SK_EV_SYSTEM: "b_publish <topic>" publishes {} under topic. */
static int hostcheck_b_sys(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	sk_log(p, SK_LOG_INFO, "T:b.sys");
	if (!strncmp(e->text, "b_publish ", 10))
		sk_log(p, SK_LOG_INFO, "T:b.publish:%d", sk_publish(p, e->text + 10, "{}"));
	return SK_PASS;
}

static int hostcheck_b_pub(sk_plugin *p, const sk_event *e, void *ud)
{
	int rc;

	(void)ud;
	sk_log(p, SK_LOG_INFO, "T:b.pub:%s:%s:%s", e->topic, e->payload_json, e->from_plugin);
	if (!strcmp(e->topic, "ping") && (rc = sk_publish(p, "pong", "{}")) != SK_OK)
		sk_log(p, SK_LOG_INFO, "T:b.pongrc:%d", rc);
	return SK_PASS;
}

static int hostcheck_b_session(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	sk_log(p, SK_LOG_INFO, "T:b.session:%d:%d:%s", e->prev_state, e->state, e->reason);
	return SK_PASS;
}

/* Subscribes everything; returns SK_OK or the first error. */
static int hostcheck_b_init(sk_plugin *p)
{
	static const sk_filter only = { .topic = "only" };
	int rc = 0;

	sk_log(p, SK_LOG_INFO, "T:b.init");
	rc |= sk_subscribe(p, SK_MASK(SK_EV_CHAT_TEXT), NULL, -5, hostcheck_b_on, "h0", NULL, NULL);
	rc |= sk_subscribe(p, SK_MASK(SK_EV_SYSTEM), NULL, 0, hostcheck_b_sys, NULL, NULL, NULL);
	rc |= sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), NULL, 0, hostcheck_b_pub, NULL, NULL, NULL);
	rc |= sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &only, 1, hostcheck_b_on, "only", NULL, NULL);
	rc |= sk_subscribe(p, SK_MASK(SK_EV_SEND_RESULT), NULL, 0, hostcheck_b_on, "sr", NULL, NULL);
	rc |= sk_subscribe(p, SK_MASK(SK_EV_SESSION), NULL, 0, hostcheck_b_session, NULL, NULL, NULL);
	return rc ? SK_ERR_STATE : SK_OK;
}

static void hostcheck_b_fini(sk_plugin *p)
{
	sk_log(p, SK_LOG_INFO, "T:b.fini");
}

SK_PLUGIN(.name = "hostcheck_b", .version = "1.0", .description = "the other plugin of the host tests",
	  .init = hostcheck_b_init, .fini = hostcheck_b_fini);
