/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/no_descriptor/no_descriptor.c - the classic mistake: a
 * descriptor written by hand without SK_EXPORT. Built with
 * -fvisibility=hidden, sk_plugin_entry is a hidden symbol, so the object
 * exports nothing by that name and dlsym does not find it.
 */
#include "plugin.h"

/* Never runs. Returns SK_OK. */
static int no_descriptor_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

extern const sk_plugin_desc sk_plugin_entry;
const sk_plugin_desc sk_plugin_entry = {
	.abi_major = SK_ABI_MAJOR, .abi_minor = SK_ABI_MINOR, .size = sizeof(sk_plugin_desc),
	.name = "no_descriptor", .version = "1.0", .init = no_descriptor_init,
};
