/* SPDX-License-Identifier: MIT */
/*
 * core/backoff.c - reconnect delays by kind of error (core/backoff.h).
 *
 * A pure policy: no clock, no I/O; the only outside input is the rnd callback,
 * so tests can pin the jitter to its minimum, maximum or middle.
 *
 * How error strings map to classes (bo_classify), case-insensitive substrings,
 * tested in this order:
 *
 *   1. Session failures of the bot's own steps are BO_OTHER whatever follows:
 *      strings starting "token" (IM token fetch, e.g. "token: FAIL_SYS_...",
 *      even "token: timed out") and "reg" ("reg rejected", "reg timeout").
 *   2. BO_NETWORK: "unable to connect" (lws: refused), "connect syscall"
 *      ("connect SYSCALL 104"), "refused", "timed out" ("Timed out waiting SSL"),
 *      "timeout" (so "heartbeat timeout": no answer means the connection is
 *      dead, which is a network condition), "reset", "ssl" / "tls"
 *      ("connect SSL err 1: ..."), "getaddrinfo" / "dns" / "resolve",
 *      "read failed" (the server hung up during the handshake), "unreachable".
 *   3. BO_CLOSED: "closed" ("closed", "closed 1006", "peer closed"): an
 *      established WebSocket went away.
 *   4. Everything else is BO_OTHER, notably "HS: ws upgrade response not 101"
 *      and "HS: ws upgrade unauthorized": the server answered, but refused the
 *      upgrade (cookie or account trouble), so hammering it sooner or later
 *      changes nothing a network delay would. NULL is BO_OTHER too.
 */
#include "backoff.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Defaults: network 2 s .. 60 s, closed 1 s .. 15 s, other 2 s .. 30 s,
 * 25% jitter, healthy after 60 s, unlimited retries. */
void bo_policy_default(bo_policy *p)
{
	static const bo_policy def = {
		.base_ms = {2000, 1000, 2000},
		.cap_ms = {60000, 15000, 30000},
		.jitter_pct = 25,
		.healthy_ms = 60000,
		.max_retries = 0,
	};

	*p = def;
}

/* libsodium's uniform generator, initialising the library on first use. */
static uint32_t bo_rnd_default(uint32_t n)
{
	static int ready;

	if (!ready) {
		/* Idempotent; after a failure it is tried again next time
		 * (randombytes_uniform works either way). */
		ready = sodium_init() >= 0;
	}
	return randombytes_uniform(n);
}

/* Returns the un-jittered delay for the nth (1-based) failure:
 * min(cap, base * 2^(n-1)), computed without overflow; never negative. */
static int64_t bo_raw_delay(int base, int cap, int n)
{
	int64_t d = base > 0 ? base : 0, c = cap > 0 ? cap : 0;
	int i;

	if (d > c)
		return c;
	for (i = 1; i < n && d < c; i++)
		d *= 2;
	return d < c ? d : c;
}

/* Counts a failure of class c and returns the delay in ms before the next
 * attempt, or -1 once max_retries consecutive failures are reached (the
 * failure that reaches it already gets -1, and so does every later one until
 * bo_healthy). The jitter is d +- d*jitter_pct/100, uniform in whole ms. */
int bo_next(const bo_policy *p, bo_state *s, bo_class c, uint32_t (*rnd)(uint32_t))
{
	int64_t d, span;
	int j;

	if ((unsigned)c > BO_OTHER)
		c = BO_OTHER;
	if (s->n[c] < INT32_MAX)
		s->n[c]++;
	if (s->total < INT32_MAX)
		s->total++;
	if (p->max_retries > 0 && s->total >= p->max_retries)
		return -1;
	d = bo_raw_delay(p->base_ms[c], p->cap_ms[c], s->n[c]);
	j = p->jitter_pct < 0 ? 0 : p->jitter_pct > 100 ? 100 : p->jitter_pct;
	span = d * j / 100;
	if (span > 0) {
		/* 2*span+1 values: d-span .. d+span inclusive, d in the middle. */
		uint32_t n = (uint32_t)(2 * span + 1);
		uint32_t r = (rnd ? rnd : bo_rnd_default)(n);

		d = d - span + (int64_t)(r % n);
	}
	return d > INT32_MAX ? INT32_MAX : (int)d;
}

/* A session stayed up long enough: forget past failures. */
void bo_healthy(bo_state *s)
{
	memset(s, 0, sizeof *s);
}

/* Returns 1 when err contains any of the NULL-terminated needles, ignoring case. */
static int bo_has_any(const char *err, const char *const *needles)
{
	for (; *needles; needles++)
		if (strcasestr(err, *needles))
			return 1;
	return 0;
}

/* Returns the class of an lws or session error string (mapping at the top). */
bo_class bo_classify(const char *err)
{
	static const char *const network[] = {
		"unable to connect", "connect syscall", "refused", "timed out", "timeout",
		"reset", "ssl", "tls", "getaddrinfo", "dns", "resolve", "read failed",
		"unreachable", NULL
	};

	if (!err)
		return BO_OTHER;
	if (!strncasecmp(err, "token", 5) || !strncasecmp(err, "reg", 3))
		return BO_OTHER;
	if (bo_has_any(err, network))
		return BO_NETWORK;
	if (strcasestr(err, "closed"))
		return BO_CLOSED;
	return BO_OTHER;
}
