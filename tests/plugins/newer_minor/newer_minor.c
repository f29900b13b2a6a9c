/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/newer_minor/newer_minor.c - claims a minor one newer than the
 * header's: built for a host that has services this one lacks.
 */
#include "plugin.h"

/* Never runs: the loader rejects the plugin first. Returns SK_OK. */
static int newer_minor_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_EXPORT extern const sk_plugin_desc sk_plugin_entry;
SK_EXPORT const sk_plugin_desc sk_plugin_entry = {
	.abi_major = SK_ABI_MAJOR, .abi_minor = SK_ABI_MINOR + 1, .size = sizeof(sk_plugin_desc),
	.name = "newer_minor", .version = "1.0", .init = newer_minor_init,
};
