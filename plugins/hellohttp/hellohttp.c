/* SPDX-License-Identifier: MIT */
/* plugins/hellohttp/hellohttp.c - the HTTP POST example, a webhook: each paid
 * order's id is POSTed as {"order_id":"<id>"} to hellohttp.url, and the answer
 * is logged (info for 2xx, a warning otherwise). The request's ud is a copy of
 * the order id: the host frees it after the answer, or at unload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

/* The answer, on the loop, exactly once: status is HTTP's or a negative sk_rc. */
static void hellohttp_done(sk_plugin *p, int status, const char *body, void *ud)
{
	(void)body;
	if (status >= 200 && status < 300)
		sk_log(p, SK_LOG_INFO, "order %s posted (HTTP %d)", (const char *)ud, status);
	else if (status < 0)
		sk_log(p, SK_LOG_WARN, "order %s not posted: %s", (const char *)ud, sk_strerror(p, status));
	else
		sk_log(p, SK_LOG_WARN, "order %s refused (HTTP %d)", (const char *)ud, status);
}

/* Posts a paid order. Order ids are digits: anything else is not put in JSON. */
static int hellohttp_on_trade(sk_plugin *p, const sk_event *e, void *ud)
{
	char body[128], *id;

	(void)ud;
	if (e->trade != SK_TRADE_PAID || !*e->order_id || strspn(e->order_id, "0123456789") != strlen(e->order_id) ||
	    strlen(e->order_id) > 64)
		return SK_PASS;
	snprintf(body, sizeof body, "{\"order_id\":\"%s\"}", e->order_id);
	if (!(id = strdup(e->order_id)))
		return SK_ERR_NOMEM;
	/* 0: the default timeout (10 s); on an error the host has freed id already */
	return sk_http_post(p, sk_config_str(p, "url", ""), NULL, body, strlen(body), 0, hellohttp_done, id, free);
}

/* Subscribes to trade cards; SK_ERR_UNSUPPORTED on a host older than ABI 1.3. */
static int hellohttp_init(sk_plugin *p)
{
	if (!SK_HOST_HAS(p, http_post))
		return SK_ERR_UNSUPPORTED;
	return sk_subscribe(p, SK_MASK(SK_EV_TRADE), NULL, 0, hellohttp_on_trade, NULL, NULL, NULL);
}

static const sk_config_key hellohttp_keys[] = {
	{ "url", SK_CFG_STR, 1, "where to POST paid orders (http:// or https://)" },
	{ NULL }
};

SK_PLUGIN(.name = "hellohttp", .version = "1.0", .description = "POSTs paid orders to a webhook",
	  .init = hellohttp_init, .config_keys = hellohttp_keys);
