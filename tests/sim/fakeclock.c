/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/fakeclock.c - an LD_PRELOAD library that sets a process's wall
 * clock, for tests of what a clock step does (test_db_faults):
 *
 *     LD_PRELOAD=build/tests/libfakeclock.so SK_FAKE_REALTIME_MS=1750000000000 shopkeep run ...
 *
 * CLOCK_REALTIME (and its coarse variant, gettimeofday, time) then reads
 * SK_FAKE_REALTIME_MS, frozen: two processes started with the same value
 * see the same wall clock, as a process started after the clock stepped
 * back sees the time of an earlier one. Monotonic clocks are untouched
 * (lws timers keep running). Without the variable every call is the real
 * one. Built without sanitizers: under SAN=1 the bot needs
 * ASAN_OPTIONS=verify_asan_link_order=0 to accept it before libasan.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int64_t fake_ms = -1;

/* Reads SK_FAKE_REALTIME_MS once, before main. */
__attribute__((constructor)) static void fakeclock_init(void)
{
	const char *v = getenv("SK_FAKE_REALTIME_MS");
	char *end;
	long long ms;

	if (!v || !*v)
		return;
	ms = strtoll(v, &end, 10);
	if (!*end && ms >= 0)
		fake_ms = ms;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);

	if (fake_ms >= 0 && (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE)) {
		ts->tv_sec = (time_t)(fake_ms / 1000);
		ts->tv_nsec = (long)(fake_ms % 1000) * 1000000;
		return 0;
	}
	if (!real)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	return real(clk, ts);
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	static int (*real)(struct timeval *restrict, void *restrict);

	if (fake_ms >= 0) {
		tv->tv_sec = (time_t)(fake_ms / 1000);
		tv->tv_usec = (long)(fake_ms % 1000) * 1000;
		return 0;
	}
	if (!real)
		real = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT, "gettimeofday");
	return real(tv, tz);
}

time_t time(time_t *t)
{
	static time_t (*real)(time_t *);
	time_t v;

	if (fake_ms >= 0) {
		v = (time_t)(fake_ms / 1000);
		if (t)
			*t = v;
		return v;
	}
	if (!real)
		real = (time_t (*)(time_t *))dlsym(RTLD_NEXT, "time");
	return real(t);
}
