/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/good/good.c - a minimal valid plugin for the loader tests,
 * with a config key and a migration so the descriptor has every part. It
 * includes only plugin.h, so tests/unit/test_install.c also builds it out of
 * tree against the installed header.
 */
#include "plugin.h"

static const sk_config_key good_keys[] = {
	{ .key = "greeting", .type = SK_CFG_STR, .required = 0, .help = "what to say" },
	{ .key = "max_replies", .type = SK_CFG_INT },
	{ 0 }
};

static const char *const good_migrations[] = {
	"CREATE TABLE good_seen (chat_id TEXT PRIMARY KEY)",
	NULL
};

/* Registers nothing; returns SK_OK. */
static int good_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_PLUGIN(.name = "good", .version = "1.2.3", .description = "a minimal valid plugin", .init = good_init,
	  .config_keys = good_keys, .migrations = good_migrations);
