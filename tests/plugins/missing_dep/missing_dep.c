/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/missing_dep/missing_dep.c - calls a function no library
 * defines, so dlopen(RTLD_NOW) fails with "undefined symbol". The Makefile
 * builds this one without -Wl,-z,defs, which would (rightly) refuse to link it.
 */
#include "plugin.h"

extern int sk_no_such_symbol(void);

/* Never runs: the object cannot be loaded. Returns what the missing function does. */
static int missing_dep_init(sk_plugin *p)
{
	(void)p;
	return sk_no_such_symbol();
}

SK_PLUGIN(.name = "missing_dep", .version = "1.0", .init = missing_dep_init);
