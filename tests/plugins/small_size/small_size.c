/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/small_size/small_size.c - a descriptor whose size field is
 * smaller than the 1.0 descriptor (as if built against a truncated header).
 */
#include "plugin.h"

/* Never runs. Returns SK_OK. */
static int small_size_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_EXPORT extern const sk_plugin_desc sk_plugin_entry;
SK_EXPORT const sk_plugin_desc sk_plugin_entry = {
	.abi_major = SK_ABI_MAJOR, .abi_minor = SK_ABI_MINOR, .size = offsetof(sk_plugin_desc, spare),
	.name = "small_size", .version = "1.0", .init = small_size_init,
};
