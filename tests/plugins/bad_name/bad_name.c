/* SPDX-License-Identifier: MIT */
/* tests/plugins/bad_name/bad_name.c - a name that is not [a-z][a-z0-9_]*. */
#include "plugin.h"

/* Never runs. Returns SK_OK. */
static int bad_name_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_PLUGIN(.name = "Bad-Name", .version = "1.0", .init = bad_name_init);
