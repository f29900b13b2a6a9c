/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_daemon.c - `shopkeep run --daemon` against the
 * simulator: the command returns 0 once the daemon is up; the pidfile names
 * a live process that registers and logs to its log file; a second start of
 * the same account is refused while it runs; SIGHUP opens the log file again
 * (logrotate); SIGTERM ends it and removes the
 * pidfile; a pidfile that cannot be written is an error, not a daemon.
 */
#include "tap.h"
#include "sim/tbot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static tc_sim sim;
static tbot bot;

static long read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = -1;

	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

int main(void)
{
	const char *build = getenv("SK_BUILD") ? getenv("SK_BUILD") : "build";
	char cmd[1500], pidf[400], logf[400], cfg[400];
	const char *out;
	long pid;
	int gone = 0, st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(tbot_init(&bot, &sim) == 0, "temp dir"))
		return tap_done();
	tbot_config(&bot, "{\"account\":{\"id\":\"bg\",\"cookie\":\"unb=2200000000066; "
		    "_m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		    " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		    " \"state\":{\"db\":\"state.db\"},\n"
		    " \"web\":{\"listen\":\"off\"}}\n");
	snprintf(cfg, sizeof cfg, "%s", bot.cfg);
	snprintf(pidf, sizeof pidf, "%s/bg.pid", bot.dir);
	snprintf(logf, sizeof logf, "%s/bg.log", bot.dir);
	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' run --config '%s' --daemon 2>&1", build, cfg);
	out = tbot_sh(cmd, &st);
	is_int(st, 0, "run --daemon returns 0 once the daemon is up");
	ok(strstr(out, "runs in the background") && strstr(out, "bg.pid"), "and says where its pidfile and log are");
	pid = read_pid(pidf);
	ok(pid > 0 && kill((pid_t)pid, 0) == 0, "the default pidfile (next to state.db) names a live process (%ld)", pid);
	ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the daemon registers with the simulator");
	usleep(200000);
	snprintf(cmd, sizeof cmd, "grep -q 'CONNECTED (registered)' '%s'", logf);
	ok(system(cmd) == 0, "its log goes to the log file");
	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' run --config '%s' --daemon 2>&1", build, cfg);
	out = tbot_sh(cmd, &st);
	is_int(st, 1, "a second start of the same account exits 1");
	ok(strstr(out, "already running") != NULL, "saying it is already running (%.80s)", out);
	ok(pid > 0 && kill((pid_t)pid, 0) == 0, "the first one still runs");
	/* logrotate: the log is moved away, SIGHUP opens a new one */
	snprintf(cmd, sizeof cmd, "mv '%s' '%s.1'", logf, logf);
	ok(system(cmd) == 0, "the log is moved away (as logrotate does)");
	if (pid > 0)
		kill((pid_t)pid, SIGHUP);
	snprintf(cmd, sizeof cmd, "grep -q 'SIGHUP: config' '%s' 2>/dev/null", logf);
	for (int i = 0; i < 50 && system(cmd) != 0; i++)
		usleep(100000);
	ok(system(cmd) == 0, "SIGHUP opens the log file again: the reload is logged in a new file");
	snprintf(cmd, sizeof cmd, "grep -q 'SIGHUP' '%s.1'", logf);
	ok(system(cmd) != 0, "and nothing more goes to the moved one");
	if (pid > 0)
		kill((pid_t)pid, SIGTERM);
	for (int i = 0; i < 100 && !gone; i++) {
		gone = pid > 0 && kill((pid_t)pid, 0) != 0;
		if (!gone)
			usleep(50000);
	}
	ok(gone, "SIGTERM stops it");
	ok(access(pidf, F_OK) != 0, "and its pidfile is removed");
	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' run --config '%s' --daemon --pidfile /nonexistent/dir/x.pid "
		 "2>&1", build, cfg);
	out = tbot_sh(cmd, &st);
	is_int(st, 1, "a pidfile that cannot be written: exit 1");
	ok(strstr(out, "/nonexistent/dir/x.pid") != NULL, "naming it");
	snprintf(cmd, sizeof cmd, "'%s/shopkeep' run --config '%s' --pidfile x.pid 2>&1", build, cfg);
	out = tbot_sh(cmd, &st);
	is_int(st, 2, "--pidfile without --daemon is a usage error");
	if (pid > 0 && !gone)
		kill((pid_t)pid, SIGKILL);   /* never leave a daemon behind */
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
