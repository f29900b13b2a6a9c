/* SPDX-License-Identifier: MIT */
/* plugins/hellotimer/hellotimer.c - the timer example: a repeating timer that
 * logs "tick <n>" every hellotimer.period_ms (default 60000), and stops after
 * hellotimer.ticks ticks (0: never). Its counter is the timer's ud, freed by
 * the host (rule 3 of plugin.h's OWNERSHIP), so the plugin needs no fini. */
#include <stdlib.h>

#include "plugin.h"

/* The timer's state: how many ticks so far, how many to run. */
typedef struct {
	int64_t n, max;
} hellotimer_count;

/* Runs on the loop each period: counts, logs, and cancels itself at the last
 * tick (the host then calls free_ud on the counter). */
static void hellotimer_tick(sk_plugin *p, uint64_t id, void *ud)
{
	hellotimer_count *c = ud;

	sk_log(p, SK_LOG_INFO, "tick %lld", (long long)++c->n);
	if (c->max > 0 && c->n >= c->max)
		sk_timer_cancel(p, id);
}

/* Starts the timer; SK_ERR_CONFIG for a period under 1 ms. */
static int hellotimer_init(sk_plugin *p)
{
	int64_t period = sk_config_int(p, "period_ms", 60000);
	hellotimer_count *c;

	if (period < 1) {
		sk_log(p, SK_LOG_ERR, "period_ms must be at least 1, not %lld", (long long)period);
		return SK_ERR_CONFIG;
	}
	if (!(c = calloc(1, sizeof *c)))
		return SK_ERR_NOMEM;
	c->max = sk_config_int(p, "ticks", 0);
	/* first after one period, then every period; on failure the host frees c */
	return sk_timer_add(p, (uint64_t)period, (uint64_t)period, hellotimer_tick, c, free, NULL);
}

static const sk_config_key hellotimer_keys[] = {
	{ "period_ms", SK_CFG_INT, 0, "milliseconds between ticks (default 60000)" },
	{ "ticks", SK_CFG_INT, 0, "stop after this many ticks (default 0: never)" },
	{ NULL }
};

SK_PLUGIN(.name = "hellotimer", .version = "1.0", .description = "Logs a tick on a timer",
	  .init = hellotimer_init, .config_keys = hellotimer_keys);
