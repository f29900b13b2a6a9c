/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_hellotimer.c - plugins/hellotimer through the fake host:
 * its timer fires once per period as the manual clock advances, stops after
 * hellotimer.ticks, and a bad period refuses the plugin.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

int main(void)
{
	char so[512];
	fh *f = fh_new("{\"hellotimer\":{\"period_ms\":1000,\"ticks\":3}}", NULL);

	if (!ok(f != NULL, "fake host created"))
		return tap_done();
	fh_build_path(so, sizeof so, "plugins/hellotimer.so");
	if (!ok(fh_load(f, so, NULL) == 0, "hellotimer.so loads")) {
		diag("%s: %s", so, fh_error(f));
		fh_free(f);
		return tap_done();
	}
	is_int(fh_wake_at(f), FH_START_MONO_MS + 1000, "the host is asked to wake one period on");
	fh_advance(f, 999);
	is_int(fh_log_find(f, "tick"), 0, "no tick before the period");
	fh_advance(f, 1);
	is_int(fh_log_find(f, "tick 1"), 1, "tick 1 at the period");
	fh_advance(f, 1000);
	is_int(fh_log_find(f, "tick 2"), 1, "tick 2 one period later");
	fh_advance(f, 5000);
	is_int(fh_log_find(f, "tick 3"), 1, "tick 3");
	is_int(fh_log_find(f, "tick"), 3, "and no more: it stopped after 3 ticks");
	is_int(fh_wake_at(f), -1, "no timer left");
	fh_free(f);

	f = fh_new("{\"hellotimer\":{\"period_ms\":500}}", NULL);
	if (f && ok(fh_load(f, so, NULL) == 0, "without ticks it loads")) {
		fh_advance(f, 500 * 10);
		is_int(fh_log_find(f, "tick"), 10, "10 periods, 10 ticks");
		fh_unload(f);
		fh_advance(f, 500 * 4);
		is_int(fh_log_find(f, "tick"), 10, "unload cancels the timer (its counter freed by the host)");
	}
	fh_free(f);

	f = fh_new("{\"hellotimer\":{\"period_ms\":0}}", NULL);
	if (f) {
		is_int(fh_load(f, so, NULL), -1, "period_ms 0 refuses the plugin");
		is_int(fh_log_find(f, "period_ms must be at least 1"), 1, "and says why");
	}
	fh_free(f);
	return tap_done();
}
