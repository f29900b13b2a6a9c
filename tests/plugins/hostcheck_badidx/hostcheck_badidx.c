/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/hostcheck_badidx/hostcheck_badidx.c - a migration the host
 * must refuse (tests/unit/test_host.c): its index has the plugin's prefix
 * but is on the core table kv. The step is rolled back; init never runs.
 */
#include "plugin.h"

static const char *const hostcheck_badidx_steps[] = {
	"CREATE TABLE hostcheck_badidx_t(x);"
	"CREATE INDEX hostcheck_badidx_i ON kv(v);",
	NULL
};

/* Never runs: the migrations fail first. Returns SK_OK. */
static int hostcheck_badidx_init(sk_plugin *p)
{
	sk_log(p, SK_LOG_INFO, "T:badidx.init");
	return SK_OK;
}

SK_PLUGIN(.name = "hostcheck_badidx", .version = "1.0", .init = hostcheck_badidx_init,
	  .migrations = hostcheck_badidx_steps);
