/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/many_migrations/many_migrations.c - 1001 migration steps
 * before the NULL: past the loader's sanity limit of 1000, as a migrations
 * array that lost its NULL end would look.
 */
#include "plugin.h"

#define M1 "SELECT 1",
#define M10 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1
#define M100 M10 M10 M10 M10 M10 M10 M10 M10 M10 M10
#define M1000 M100 M100 M100 M100 M100 M100 M100 M100 M100 M100

static const char *const many_migrations_steps[] = { M1000 M1 NULL };

/* Never runs. Returns SK_OK. */
static int many_migrations_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_PLUGIN(.name = "many_migrations", .version = "1.0", .init = many_migrations_init,
	  .migrations = many_migrations_steps);
