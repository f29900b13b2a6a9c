/* SPDX-License-Identifier: MIT */
/* tests/plugins/bad_config_key/bad_config_key.c - declares a config key name that is not [a-z][a-z0-9_]*. */
#include "plugin.h"

static const sk_config_key bad_config_key_keys[] = {
	{ .key = "ok_key", .type = SK_CFG_STR },
	{ .key = "Bad-Key", .type = SK_CFG_INT },
	{ 0 }
};

/* Never runs. Returns SK_OK. */
static int bad_config_key_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_PLUGIN(.name = "bad_config_key", .version = "1.0", .init = bad_config_key_init, .config_keys = bad_config_key_keys);
