/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/wrong_major/wrong_major.c - claims ABI 2.0. The descriptor is
 * written by hand: overriding .abi_major in SK_PLUGIN would trip
 * -Woverride-init.
 */
#include "plugin.h"

/* Never runs: the loader rejects the plugin first. Returns SK_OK. */
static int wrong_major_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_EXPORT extern const sk_plugin_desc sk_plugin_entry;
SK_EXPORT const sk_plugin_desc sk_plugin_entry = {
	.abi_major = SK_ABI_MAJOR + 1, .abi_minor = 0, .size = sizeof(sk_plugin_desc),
	.name = "wrong_major", .version = "1.0", .init = wrong_major_init,
};
