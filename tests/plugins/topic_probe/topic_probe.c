/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/topic_probe/topic_probe.c - logs every event published by a
 * plugin as "topic <topic> <payload>", so that fake-host tests can see what
 * a plugin published (tests/unit/test_orders.c).
 */
#include "plugin.h"

static int tp_on_topic(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	sk_log(p, SK_LOG_INFO, "topic %s %s", e->topic, e->payload_json);
	return SK_PASS;
}

static int tp_init(sk_plugin *p)
{
	return sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), NULL, 0, tp_on_topic, NULL, NULL, NULL);
}

SK_PLUGIN(.name = "topic_probe", .version = "1.0", .description = "logs published topics", .init = tp_init);
