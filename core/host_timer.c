/* SPDX-License-Identifier: MIT */
/*
 * core/host_timer.c - plugin timers (sk_timer_add, sk_timer_cancel) and
 * host_run_timers, which the backend calls when the wake it asked for is due.
 */
#include "host_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- timers -------------------------------------------------------------- */

/* Inserts t after every timer due at or before it. */
static void host_timer_insert(host *h, host_timer *t)
{
	host_timer **pp = &h->timers;

	while (*pp && (*pp)->due <= t->due)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
}

/* Tells the backend when the earliest timer is due (a spurious wake is harmless). */
static void host_timer_wake(host *h)
{
	if (h->timers && h->be.wake_at)
		h->be.wake_at(h->be.ud, h->timers->due);
}

/* now + ms, saturating. */
static int64_t host_add_ms(int64_t now, uint64_t ms)
{
	return ms >= (uint64_t)(INT64_MAX - now) ? INT64_MAX : now + (int64_t)ms;
}

/* sk_timer_add: a one-shot timer when repeat_ms is 0 (its free_ud runs after it
 * fired), else one that fires every repeat_ms after the first delay_ms.
 * Returns SK_OK with *id_out set, or an error after calling free_ud. */
int host_timer_add(sk_plugin *p, uint64_t delay_ms, uint64_t repeat_ms, sk_timer_fn fn, void *ud,
		   sk_free_fn free_ud, uint64_t *id_out)
{
	host_plug *pl;
	host_timer *t;
	host *h;
	int rc;

	if (id_out)
		*id_out = 0;
	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!fn)
		goto fail;
	rc = SK_ERR_STATE;
	if (!host_alive(pl))
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(t = calloc(1, sizeof *t)))
		goto fail;
	t->id = h->next_id++;
	t->pl = pl;
	t->due = host_add_ms(host_mono(h), delay_ms);
	t->repeat = repeat_ms;
	t->fn = fn;
	t->ud = ud;
	t->free_ud = free_ud;
	host_timer_insert(h, t);
	if (h->timers == t)
		host_timer_wake(h);
	if (id_out)
		*id_out = t->id;
	return SK_OK;
fail:
	host_free_ud(free_ud, ud);
	return rc;
}

/* sk_timer_cancel: the timer does not fire again and its free_ud runs (after
 * its callback returns, when it cancels itself). SK_OK or SK_ERR_NOTFOUND. */
int host_timer_cancel(sk_plugin *p, uint64_t id)
{
	host_timer **pp, *t;
	host_plug *pl;
	host *h;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	h = pl->h;
	if (h->firing && h->firing->id == id && h->firing->pl == pl) {
		if (h->firing->cancelled)
			return SK_ERR_NOTFOUND;
		h->firing->cancelled = 1;
		return SK_OK;
	}
	for (pp = &h->timers; (t = *pp); pp = &t->next)
		if (t->id == id && t->pl == pl) {
			*pp = t->next;
			host_free_ud(t->free_ud, t->ud);
			free(t);
			return SK_OK;
		}
	return SK_ERR_NOTFOUND;
}

void host_run_timers(host *h)
{
	uint64_t limit;
	int64_t now;

	if (!h || !host_on_loop(h, __func__))
		return;
	now = host_mono(h);
	/* Timers made while these run (ids from limit on) wait for the next run,
	 * so a callback adding a 0 ms timer cannot keep this loop going. */
	limit = h->next_id;
	for (;;) {
		host_timer **pp = &h->timers, *t;
		host_plug *pl;

		while ((t = *pp) && t->due <= now && t->id >= limit)
			pp = &t->next;
		if (!t || t->due > now)
			break;
		*pp = t->next;
		t->next = NULL;
		pl = t->pl;
		h->firing = t;
		h->stats.timers_fired++;
		host_enter(pl);
		t->fn(&pl->pub, t->id, t->ud);
		host_leave(pl, "a timer callback");
		h->firing = NULL;
		if (t->repeat && !t->cancelled && host_alive(pl)) {
			/* The next period; after a long stall, skip the missed ones. */
			t->due = host_add_ms(t->due, t->repeat);
			if (t->due <= now)
				t->due = host_add_ms(now, t->repeat);
			host_timer_insert(h, t);
		} else {
			host_free_ud(t->free_ud, t->ud);
			free(t);
		}
	}
	host_timer_wake(h);
}

/* A plugin is unloaded: its timers are freed, each free_ud run. */
void host_timer_drop(host *h, host_plug *pl)
{
	host_timer **tp, *t;

	for (tp = &h->timers; (t = *tp);) {
		if (t->pl == pl) {
			*tp = t->next;
			host_free_ud(t->free_ud, t->ud);
			free(t);
		} else {
			tp = &t->next;
		}
	}
}
