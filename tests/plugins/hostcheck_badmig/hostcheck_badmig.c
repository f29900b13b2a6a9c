/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/hostcheck_badmig/hostcheck_badmig.c - migrations the host
 * must refuse (tests/unit/test_host.c): the second step creates a table
 * without the hostcheck_badmig_ prefix. Step 1 stays, step 2 is rolled back
 * and init never runs.
 */
#include "plugin.h"

static const char *const hostcheck_badmig_steps[] = {
	"CREATE TABLE hostcheck_badmig_ok(x);",
	"CREATE TABLE other_things(x);",
	NULL
};

/* Never runs: the migrations fail first. Returns SK_OK. */
static int hostcheck_badmig_init(sk_plugin *p)
{
	sk_log(p, SK_LOG_INFO, "T:badmig.init");
	return SK_OK;
}

SK_PLUGIN(.name = "hostcheck_badmig", .version = "1.0", .init = hostcheck_badmig_init,
	  .migrations = hostcheck_badmig_steps);
