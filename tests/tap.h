/* SPDX-License-Identifier: MIT */
/*
 * tests/tap.h - the one test style of shopkeep: a tiny TAP producer.
 *
 * Every test program includes this header, calls ok()/is_int()/is_str() and
 * ends with `return tap_done();`, which prints the plan "1..N" and returns
 * non-zero when any check failed. tests/run.sh counts the "ok"/"not ok"
 * lines of every program and prints the single summary line.
 */
#ifndef SK_TAP_H
#define SK_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* Records one check; prints "ok N - what" or "not ok N - what". Returns cond. */
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...) do { \
	long long tap_g_ = (long long)(got), tap_w_ = (long long)(want); \
	if (!ok(tap_g_ == tap_w_, __VA_ARGS__)) \
		printf("#   got %lld, want %lld\n", tap_g_, tap_w_); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *tap_g_ = (got), *tap_w_ = (want); \
	int tap_c_ = tap_g_ && tap_w_ ? !strcmp(tap_g_, tap_w_) : tap_g_ == tap_w_; \
	if (!ok(tap_c_, __VA_ARGS__)) \
		printf("#   got \"%s\", want \"%s\"\n", tap_g_ ? tap_g_ : "(null)", \
		       tap_w_ ? tap_w_ : "(null)"); \
} while (0)

/* A comment line in the TAP stream. */
#define diag(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

/* A check that cannot run here (e.g. it needs root): "ok N # skip <why>",
 * which TAP counts as a pass. */
#define skip(...) do { printf("ok %d # skip ", ++tap_n); printf(__VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

/* Prints the plan; returns the exit status for main(). */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
