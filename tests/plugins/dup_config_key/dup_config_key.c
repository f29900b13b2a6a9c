/* SPDX-License-Identifier: MIT */
/* tests/plugins/dup_config_key/dup_config_key.c - declares the same config key twice. */
#include "plugin.h"

static const sk_config_key dup_config_key_keys[] = {
	{ .key = "reply", .type = SK_CFG_STR },
	{ .key = "limit", .type = SK_CFG_INT },
	{ .key = "reply", .type = SK_CFG_BOOL },
	{ 0 }
};

/* Never runs. Returns SK_OK. */
static int dup_config_key_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_PLUGIN(.name = "dup_config_key", .version = "1.0", .init = dup_config_key_init,
	  .config_keys = dup_config_key_keys);
