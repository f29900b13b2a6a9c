/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_backoff.c - the reconnect policy of core/backoff.c: bounds
 * with pinned jitter, growth and caps per class, class independence, reset,
 * giving up, and the classification of lws and session error strings.
 */
#include "tap.h"
#include "backoff.h"

#include <stdint.h>
#include <string.h>

static uint32_t last_n;
static int rnd_calls;

/* Deterministic jitter sources: the lowest, highest and middle value. */
static uint32_t rnd_min(uint32_t n)
{
	last_n = n;
	rnd_calls++;
	return 0;
}

static uint32_t rnd_max(uint32_t n)
{
	last_n = n;
	rnd_calls++;
	return n - 1;
}

static uint32_t rnd_mid(uint32_t n)
{
	last_n = n;
	rnd_calls++;
	return n / 2;
}

/* A misbehaving source: out of range on purpose. */
static uint32_t rnd_wild(uint32_t n)
{
	(void)n;
	return UINT32_MAX;
}

/* Returns the delay of the kth failure of class c from a fresh state. */
static int nth(const bo_policy *p, bo_class c, int k, uint32_t (*rnd)(uint32_t))
{
	bo_state s;
	int d = 0, i;

	memset(&s, 0, sizeof s);
	for (i = 0; i < k; i++)
		d = bo_next(p, &s, c, rnd);
	return d;
}

static void test_defaults(void)
{
	bo_policy p;

	memset(&p, 0x5a, sizeof p);
	bo_policy_default(&p);
	ok(p.base_ms[BO_NETWORK] == 2000 && p.cap_ms[BO_NETWORK] == 60000, "defaults: network 2 s .. 60 s");
	ok(p.base_ms[BO_CLOSED] == 1000 && p.cap_ms[BO_CLOSED] == 15000, "defaults: closed 1 s .. 15 s");
	ok(p.base_ms[BO_OTHER] == 2000 && p.cap_ms[BO_OTHER] == 30000, "defaults: other 2 s .. 30 s");
	is_int(p.jitter_pct, 25, "defaults: 25%% jitter");
	is_int(p.healthy_ms, 60000, "defaults: healthy after 60 s");
	is_int(p.max_retries, 0, "defaults: unlimited retries");
}

static void test_jitter_bounds(void)
{
	bo_policy p;
	bo_state s;
	int d, i, lo = 1 << 30, hi = 0, bad = 0;

	bo_policy_default(&p);
	is_int(nth(&p, BO_NETWORK, 1, rnd_min), 1500, "jitter: min of the first network delay is 2000 - 25%%");
	is_int(nth(&p, BO_NETWORK, 1, rnd_max), 2500, "jitter: max is 2000 + 25%%");
	is_int(nth(&p, BO_NETWORK, 1, rnd_mid), 2000, "jitter: the middle value is the un-jittered delay");
	is_int(last_n, 1001, "jitter: rnd asked for 2*span+1 values (both ends included)");
	is_int(nth(&p, BO_CLOSED, 1, rnd_min), 750, "jitter: closed min 1000 - 25%%");
	is_int(nth(&p, BO_CLOSED, 1, rnd_max), 1250, "jitter: closed max 1000 + 25%%");
	is_int(nth(&p, BO_NETWORK, 1, rnd_wild), 1500 + (int)(UINT32_MAX % 1001),
	       "jitter: an out-of-range rnd is folded back into range");

	/* the real generator: every sample within the bounds, and it does vary */
	for (i = 0; i < 2000; i++) {
		memset(&s, 0, sizeof s);
		d = bo_next(&p, &s, BO_NETWORK, NULL);
		if (d < 1500 || d > 2500)
			bad++;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	is_int(bad, 0, "jitter: libsodium jitter stays within [1500, 2500] over 2000 samples");
	ok(lo < 1700 && hi > 2300, "jitter: ... and spreads over the range (%d..%d)", lo, hi);

	/* no jitter: rnd is not consulted */
	p.jitter_pct = 0;
	rnd_calls = 0;
	is_int(nth(&p, BO_NETWORK, 1, rnd_max), 2000, "jitter 0: exact delay");
	is_int(rnd_calls, 0, "jitter 0: rnd not called");
	p.jitter_pct = 250;
	is_int(nth(&p, BO_NETWORK, 1, rnd_min), 0, "jitter > 100%% is clamped to 100%% (min 0)");
	is_int(nth(&p, BO_NETWORK, 1, rnd_max), 4000, "jitter > 100%% is clamped to 100%% (max 2x)");
	p.jitter_pct = -5;
	is_int(nth(&p, BO_NETWORK, 1, rnd_max), 2000, "negative jitter counts as 0");
}

static void test_growth_and_caps(void)
{
	static const int net[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
	static const int closed[] = {1000, 2000, 4000, 8000, 15000, 15000};
	static const int other[] = {2000, 4000, 8000, 16000, 30000, 30000};
	bo_policy p;
	bo_state s;
	int i, good, d;

	bo_policy_default(&p);
	p.jitter_pct = 0;
	memset(&s, 0, sizeof s);
	for (good = 1, i = 0; i < 8; i++)
		good &= bo_next(&p, &s, BO_NETWORK, NULL) == net[i];
	ok(good, "growth: network 2, 4, 8, 16, 32 s then capped at 60 s");
	memset(&s, 0, sizeof s);
	for (good = 1, i = 0; i < 6; i++)
		good &= bo_next(&p, &s, BO_CLOSED, NULL) == closed[i];
	ok(good, "growth: closed 1, 2, 4, 8 s then capped at 15 s");
	memset(&s, 0, sizeof s);
	for (good = 1, i = 0; i < 6; i++)
		good &= bo_next(&p, &s, BO_OTHER, NULL) == other[i];
	ok(good, "growth: other 2, 4, 8, 16 s then capped at 30 s");

	/* a thousand failures: no overflow, still the cap */
	memset(&s, 0, sizeof s);
	for (good = 1, i = 0; i < 1000; i++) {
		d = bo_next(&p, &s, BO_NETWORK, NULL);
		if (i >= 5 && d != 60000)
			good = 0;
	}
	ok(good, "caps: 1000 failures stay at the cap (no shift overflow)");
	is_int(s.n[BO_NETWORK], 1000, "caps: the class counter counted them all");

	/* with jitter the cap bounds are cap*(1-j) .. cap*(1+j) */
	bo_policy_default(&p);
	is_int(nth(&p, BO_NETWORK, 12, rnd_max), 75000, "caps: network never exceeds 60 s + 25%%");
	is_int(nth(&p, BO_NETWORK, 12, rnd_min), 45000, "caps: ... nor goes below 60 s - 25%%");
	is_int(nth(&p, BO_CLOSED, 12, rnd_max), 18750, "caps: closed never exceeds 15 s + 25%%");
	is_int(nth(&p, BO_OTHER, 12, rnd_max), 37500, "caps: other never exceeds 30 s + 25%%");
	is_int(nth(&p, BO_NETWORK, 3, rnd_max), 10000, "growth with jitter: third network delay 8000 + 25%%");
	is_int(nth(&p, BO_NETWORK, 3, rnd_min), 6000, "growth with jitter: third network delay 8000 - 25%%");

	/* odd policies */
	p.jitter_pct = 0;
	p.base_ms[BO_OTHER] = 50000;
	is_int(nth(&p, BO_OTHER, 1, NULL), 30000, "caps: a base above the cap starts at the cap");
	p.base_ms[BO_OTHER] = 0;
	is_int(nth(&p, BO_OTHER, 4, NULL), 0, "caps: base 0 means retry at once");
	p.base_ms[BO_OTHER] = 1000;
	p.cap_ms[BO_OTHER] = 2147483647;
	is_int(nth(&p, BO_OTHER, 200, NULL), 2147483647, "caps: INT_MAX cap, 200 failures: no overflow");
	p.jitter_pct = 100;
	is_int(nth(&p, BO_OTHER, 200, rnd_max), 2147483647, "caps: ... and +100%% jitter is clamped to INT_MAX");
}

static void test_independence(void)
{
	bo_policy p;
	bo_state s;

	bo_policy_default(&p);
	p.jitter_pct = 0;
	memset(&s, 0, sizeof s);
	is_int(bo_next(&p, &s, BO_NETWORK, NULL), 2000, "classes: network #1");
	is_int(bo_next(&p, &s, BO_NETWORK, NULL), 4000, "classes: network #2");
	is_int(bo_next(&p, &s, BO_CLOSED, NULL), 1000, "classes: a first close starts at its own base");
	is_int(bo_next(&p, &s, BO_OTHER, NULL), 2000, "classes: a first other starts at its own base");
	is_int(bo_next(&p, &s, BO_NETWORK, NULL), 8000, "classes: network #3 continues its own series");
	is_int(bo_next(&p, &s, BO_CLOSED, NULL), 2000, "classes: closed #2 continues its own series");
	ok(s.n[BO_NETWORK] == 3 && s.n[BO_CLOSED] == 2 && s.n[BO_OTHER] == 1, "classes: per-class counters 3/2/1");
	is_int(s.total, 6, "classes: the total counts every failure");
	is_int(bo_next(&p, &s, (bo_class)7, NULL), 4000, "classes: an out-of-range class counts as other");
	is_int(s.n[BO_OTHER], 2, "classes: ... in the other counter");

	bo_healthy(&s);
	ok(s.n[0] == 0 && s.n[1] == 0 && s.n[2] == 0 && s.total == 0, "healthy: all counters reset");
	is_int(bo_next(&p, &s, BO_NETWORK, NULL), 2000, "healthy: network starts over at its base");
	is_int(bo_next(&p, &s, BO_CLOSED, NULL), 1000, "healthy: closed starts over at its base");
}

static void test_max_retries(void)
{
	bo_policy p;
	bo_state s;
	int i, d, good = 1;

	bo_policy_default(&p);
	p.max_retries = 3;
	memset(&s, 0, sizeof s);
	ok(bo_next(&p, &s, BO_NETWORK, rnd_mid) == 2000, "max_retries 3: failure 1 waits");
	ok(bo_next(&p, &s, BO_CLOSED, rnd_mid) == 1000, "max_retries 3: failure 2 (another class) waits");
	is_int(bo_next(&p, &s, BO_OTHER, rnd_mid), -1, "max_retries 3: failure 3 of any class gives up (-1)");
	is_int(bo_next(&p, &s, BO_NETWORK, rnd_mid), -1, "max_retries 3: ... and stays given up");
	is_int(s.total, 4, "max_retries: the total counter keeps counting");
	bo_healthy(&s);
	is_int(bo_next(&p, &s, BO_NETWORK, rnd_mid), 2000, "max_retries: a healthy session lifts it");

	p.max_retries = 1;
	memset(&s, 0, sizeof s);
	is_int(bo_next(&p, &s, BO_NETWORK, rnd_mid), -1, "max_retries 1: the first failure gives up");

	p.max_retries = 0;
	memset(&s, 0, sizeof s);
	for (i = 0; i < 10000; i++) {
		d = bo_next(&p, &s, (bo_class)(i % 3), NULL);
		if (d < 0)
			good = 0;
	}
	ok(good, "max_retries 0: 10000 failures never give up");
	is_int(s.total, 10000, "max_retries 0: total 10000");
}

static void test_classify(void)
{
	static const struct {
		const char *err;
		bo_class want;
	} cases[] = {
		/* lws CLIENT_CONNECTION_ERROR strings (docs/libraries.md §3) */
		{"Unable to connect", BO_NETWORK},
		{"connect SYSCALL 104", BO_NETWORK},
		{"Timed out waiting SSL", BO_NETWORK},
		{"read failed", BO_NETWORK},
		{"connect SSL err 1: error:00000001:lib(0)::reason(1)", BO_NETWORK},
		{"HS: ws upgrade response not 101", BO_OTHER},
		{"HS: ws upgrade unauthorized", BO_OTHER},
		/* other network wording */
		{"Connection refused", BO_NETWORK},
		{"timed out", BO_NETWORK},
		{"connect timeout", BO_NETWORK},
		{"Connection reset by peer", BO_NETWORK},
		{"getaddrinfo failed", BO_NETWORK},
		{"DNS lookup failed", BO_NETWORK},
		{"could not resolve host", BO_NETWORK},
		{"Network is unreachable", BO_NETWORK},
		{"TLS handshake failed", BO_NETWORK},
		/* session strings */
		{"heartbeat timeout", BO_NETWORK},
		{"closed", BO_CLOSED},
		{"closed 1006", BO_CLOSED},
		{"peer closed", BO_CLOSED},
		{"Closed 4000 kicked", BO_CLOSED},
		{"token: FAIL_SYS_TOKEN_EXPIRED", BO_OTHER},
		{"token: timed out", BO_OTHER},
		{"token: connection refused", BO_OTHER},
		{"reg rejected", BO_OTHER},
		{"reg timeout", BO_OTHER},
		{"", BO_OTHER},
		{"something odd", BO_OTHER},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_int(bo_classify(cases[i].err), cases[i].want, "classify: \"%s\" -> %s", cases[i].err,
		       cases[i].want == BO_NETWORK ? "network" : cases[i].want == BO_CLOSED ? "closed" : "other");
	is_int(bo_classify(NULL), BO_OTHER, "classify: NULL -> other");
}

int main(void)
{
	test_defaults();
	test_jitter_bounds();
	test_growth_and_caps();
	test_independence();
	test_max_retries();
	test_classify();
	return tap_done();
}
