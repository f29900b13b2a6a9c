/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/hostcheck_baddrop/hostcheck_baddrop.c - a migration the
 * host must refuse (tests/unit/test_host.c): it drops the core table kv.
 * The step is rolled back; init never runs.
 */
#include "plugin.h"

static const char *const hostcheck_baddrop_steps[] = {
	"DROP TABLE kv;",
	NULL
};

/* Never runs: the migrations fail first. Returns SK_OK. */
static int hostcheck_baddrop_init(sk_plugin *p)
{
	sk_log(p, SK_LOG_INFO, "T:baddrop.init");
	return SK_OK;
}

SK_PLUGIN(.name = "hostcheck_baddrop", .version = "1.0", .init = hostcheck_baddrop_init,
	  .migrations = hostcheck_baddrop_steps);
