/* SPDX-License-Identifier: MIT */
/* tests/plugins/bad_config_type/bad_config_type.c - declares a config key whose type is not an sk_cfg_type. */
#include "plugin.h"

static const sk_config_key bad_config_type_keys[] = {
	{ .key = "weird", .type = 42 },
	{ 0 }
};

/* Never runs. Returns SK_OK. */
static int bad_config_type_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_PLUGIN(.name = "bad_config_type", .version = "1.0", .init = bad_config_type_init,
	  .config_keys = bad_config_type_keys);
