/* SPDX-License-Identifier: MIT */
/*
 * core/backoff.h - reconnect delays by kind of error: a pure policy with unit tests.
 *
 * Three classes, each exponential from its base up to its cap, with +-jitter:
 * network errors (refused, DNS, timeout, reset) wait longest; an unexpected
 * close of an established WebSocket retries soon; everything else in between.
 * A healthy session (connected for healthy_ms) resets the counters.
 */
#ifndef SK_BACKOFF_H
#define SK_BACKOFF_H

#include <stdint.h>

typedef enum {
	BO_NETWORK = 0,  /* refused, unreachable, DNS, timeout, reset, TLS */
	BO_CLOSED = 1,   /* an established connection closed unexpectedly */
	BO_OTHER = 2     /* token or registration failures and the rest */
} bo_class;

typedef struct {
	int base_ms[3];      /* first delay per class */
	int cap_ms[3];       /* largest delay per class */
	int jitter_pct;      /* +- this percentage, uniformly */
	int healthy_ms;      /* a session up this long resets the counters */
	int max_retries;     /* consecutive failures before giving up; 0 = unlimited */
} bo_policy;

typedef struct {
	int n[3];            /* consecutive failures per class */
	int total;           /* consecutive failures of any class */
} bo_state;

/* Defaults: network 2 s .. 60 s, closed 1 s .. 15 s, other 2 s .. 30 s, 25% jitter,
 * healthy after 60 s, unlimited retries. */
void bo_policy_default(bo_policy *p);

/* Counts a failure of class c and returns the delay before the next attempt in
 * ms, or -1 when max_retries consecutive failures are reached (give up).
 * rnd(n) returns a uniform value in [0, n); NULL uses libsodium's
 * randombytes_uniform. The result stays within [d*(1-j), d*(1+j)] of the
 * un-jittered d = min(cap, base * 2^(n-1)), and never exceeds cap*(1+j). */
int bo_next(const bo_policy *p, bo_state *s, bo_class c, uint32_t (*rnd)(uint32_t));

/* A session stayed up long enough: forget past failures. */
void bo_healthy(bo_state *s);

/* Classifies an error string from lws (CLIENT_CONNECTION_ERROR's `in`) or from
 * the session ("closed", "heartbeat timeout", "token: ..."). NULL is BO_OTHER. */
bo_class bo_classify(const char *err);

#endif
