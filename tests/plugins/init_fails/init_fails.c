/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/init_fails/init_fails.c - loads fine, but its init registers
 * a subscription and a timer, each with a free_ud, and then refuses to start
 * with SK_ERR_INVAL. The host must cancel both and call both free_uds.
 *
 * For the host tests: the plugin is built with -fvisibility=hidden, so a
 * counter in here cannot be read from outside. Instead each free_ud appends
 * one line to the file named by the environment variable SK_TEST_FREE_LOG
 * (when set): "free sub" for the subscription's, "free timer" for the
 * timer's. Assert the file holds exactly those two lines, once each.
 */
#include <stdio.h>
#include <stdlib.h>

#include "plugin.h"

static int init_fails_sub_ud, init_fails_timer_ud;

/* Appends line to $SK_TEST_FREE_LOG (open, append, close: nothing stays open). */
static void init_fails_log(const char *line)
{
	const char *path = getenv("SK_TEST_FREE_LOG");
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "a")))
		return;
	fprintf(f, "%s\n", line);
	fclose(f);
}

/* The subscription's free_ud: logs "free sub". */
static void init_fails_free_sub(void *ud)
{
	if (ud == &init_fails_sub_ud)
		init_fails_log("free sub");
}

/* The timer's free_ud: logs "free timer". */
static void init_fails_free_timer(void *ud)
{
	if (ud == &init_fails_timer_ud)
		init_fails_log("free timer");
}

/* Never called: init fails before any event or tick. Returns SK_PASS. */
static int init_fails_on_event(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)p, (void)e, (void)ud;
	return SK_PASS;
}

/* Never called either. */
static void init_fails_on_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)p, (void)id, (void)ud;
}

/* Registers a handler and a timer, then refuses: returns SK_ERR_INVAL
 * (or the registration's error if one failed). */
static int init_fails_init(sk_plugin *p)
{
	uint64_t id;
	int rc;

	rc = sk_subscribe(p, SK_MASK_CHAT, NULL, 0, init_fails_on_event, &init_fails_sub_ud, init_fails_free_sub,
			  &id);
	if (rc != SK_OK)
		return rc;
	rc = sk_timer_add(p, 60000, 0, init_fails_on_timer, &init_fails_timer_ud, init_fails_free_timer, &id);
	if (rc != SK_OK)
		return rc;
	return SK_ERR_INVAL;
}

SK_PLUGIN(.name = "init_fails", .version = "1.0", .description = "registers, then refuses to start",
	  .init = init_fails_init);
