/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/test_fuzz.c - the bounded fuzzing run of make test: every
 * libFuzzer target of tests/fuzz (build/fuzz/fuzz_<name>, made by make
 * fuzz-build) runs on its committed corpus, which holds every crash found so
 * far, and then fuzzes on for a few seconds; one TAP line per target.
 *
 * The targets run at once, each for SK_FUZZ_SECONDS (default 10) after its
 * corpus. What they find goes to a temporary folder, never to the committed
 * corpus; the input of a failure is copied to build/fuzz/crashes/ and named
 * in the diagnostics (add it to tests/fuzz/corpus/<name>/ with the fix).
 * Under SK_TEST_WRAP (make check-valgrind) the fuzzers are not run: valgrind
 * and ASan do not mix, so each target is a TAP skip.
 *
 * SK_ROOT is the checkout (default "."); SK_FUZZ_DIR the fuzzers' folder
 * (default $SK_ROOT/build/fuzz).
 */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 16

typedef struct {
	char name[32];
	char work[64];           /* temporary: new/, the log, artifacts */
	pid_t pid;
	int status;
	int missing;
} target;

static const char *root, *fuzz_dir;
static int seconds = 10;

/* Starts the fuzzer of t (stdin /dev/null, output to <work>/log). Returns 0. */
static int start(target *t)
{
	char bin[512], corpus[512], newdir[128], log[128], dict[512], arg_time[64], arg_art[128];
	char *argv[16];
	int argc = 0, fd;

	snprintf(bin, sizeof bin, "%s/fuzz_%s", fuzz_dir, t->name);
	if (access(bin, X_OK)) {
		t->missing = 1;
		return -1;
	}
	snprintf(t->work, sizeof t->work, "/tmp/sk-test-fuzz-XXXXXX");
	if (!mkdtemp(t->work))
		return -1;
	snprintf(newdir, sizeof newdir, "%s/new", t->work);
	snprintf(log, sizeof log, "%s/log", t->work);
	snprintf(corpus, sizeof corpus, "%s/tests/fuzz/corpus/%s", root, t->name);
	snprintf(dict, sizeof dict, "%s/tests/fuzz/%s.dict", root, t->name);
	snprintf(arg_time, sizeof arg_time, "-max_total_time=%d", seconds);
	snprintf(arg_art, sizeof arg_art, "-artifact_prefix=%s/", t->work);
	if (mkdir(newdir, 0700))
		return -1;
	argv[argc++] = bin;
	argv[argc++] = arg_time;
	argv[argc++] = "-timeout=10";
	argv[argc++] = "-rss_limit_mb=2048";
	argv[argc++] = "-malloc_limit_mb=1024";
	argv[argc++] = "-print_final_stats=1";
	argv[argc++] = arg_art;
	if (!access(dict, R_OK)) {
		memmove(dict + 6, dict, strlen(dict) + 1);
		memcpy(dict, "-dict=", 6);
		argv[argc++] = dict;
	}
	argv[argc++] = newdir;
	argv[argc++] = corpus;
	argv[argc] = NULL;
	t->pid = fork();
	if (t->pid < 0)
		return -1;
	if (t->pid == 0) {
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("ASAN_OPTIONS", "detect_leaks=1:allocator_may_return_null=1:quarantine_size_mb=64", 1);
		setenv("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1", 1);
		if (!access("/usr/lib/llvm-14/bin/llvm-symbolizer", X_OK))
			setenv("ASAN_SYMBOLIZER_PATH", "/usr/lib/llvm-14/bin/llvm-symbolizer", 1);
		execv(bin, argv);
		_exit(127);
	}
	return 0;
}

/* Returns the number after key in the last line of log that has it, -1 if none. */
static long stat_of(const char *log, const char *key)
{
	char line[1024];
	long v = -1;
	FILE *f = fopen(log, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		char *p = strstr(line, key);

		if (p)
			v = strtol(p + strlen(key), NULL, 10);
	}
	fclose(f);
	return v;
}

/* Prints the last lines of the log and copies every artifact to
 * $SK_ROOT/build/fuzz/crashes/, naming each in a diagnostic. */
static void report_failure(const target *t)
{
	char cmd[1024];
	glob_t g;
	size_t i;

	diag("fuzz_%s: the end of its log:", t->name);
	snprintf(cmd, sizeof cmd, "tail -n 40 %s/log | sed 's/^/#   /'", t->work);
	fflush(stdout);
	if (system(cmd) == -1)
		diag("(cannot show the log)");
	snprintf(cmd, sizeof cmd, "%s/*-*", t->work);
	if (glob(cmd, 0, NULL, &g))
		return;
	for (i = 0; i < g.gl_pathc; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;

		snprintf(cmd, sizeof cmd, "mkdir -p %s/crashes && cp %s %s/crashes/%s-%s", fuzz_dir, g.gl_pathv[i],
			 fuzz_dir, t->name, base);
		if (system(cmd) == 0)
			diag("fuzz_%s: the input is %s/crashes/%s-%s: fix the cause, add a regression test and "
			     "put the input in tests/fuzz/corpus/%s/", t->name, fuzz_dir, t->name, base, t->name);
	}
	globfree(&g);
}

int main(void)
{
	static char dir[512];
	target ts[MAX_TARGETS];
	char pat[600], cmd[128];
	const char *wrap = getenv("SK_TEST_WRAP"), *s = getenv("SK_FUZZ_SECONDS");
	glob_t g;
	size_t i, n = 0;
	time_t t0 = time(NULL);

	root = getenv("SK_ROOT") ? getenv("SK_ROOT") : ".";
	fuzz_dir = getenv("SK_FUZZ_DIR");
	if (!fuzz_dir) {
		snprintf(dir, sizeof dir, "%s/build/fuzz", root);
		fuzz_dir = dir;
	}
	if (s && atoi(s) > 0)
		seconds = atoi(s);
	snprintf(pat, sizeof pat, "%s/tests/fuzz/fuzz_*.c", root);
	if (glob(pat, 0, NULL, &g) || !g.gl_pathc) {
		ok(0, "the fuzz targets are found (%s)", pat);
		return tap_done();
	}
	memset(ts, 0, sizeof ts);
	for (i = 0; i < g.gl_pathc && n < MAX_TARGETS; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1 + strlen("fuzz_");

		snprintf(ts[n].name, sizeof ts[n].name, "%.*s", (int)(strlen(base) - 2), base);
		n++;
	}
	globfree(&g);
	if (wrap && *wrap) {
		for (i = 0; i < n; i++)
			ok(1, "fuzz_%s # SKIP not under SK_TEST_WRAP (valgrind and ASan do not mix)", ts[i].name);
		return tap_done();
	}
	for (i = 0; i < n; i++)
		if (start(&ts[i]) && !ts[i].missing)
			ts[i].status = -1;
	for (i = 0; i < n; i++) {
		if (ts[i].pid <= 0)
			continue;
		/* -max_total_time bounds the fuzzing, not a hang in the corpus run:
		 * -timeout=10 catches one slow input; this catches the rest. */
		for (;;) {
			pid_t r = waitpid(ts[i].pid, &ts[i].status, WNOHANG);

			if (r == ts[i].pid || (r < 0 && errno != EINTR))
				break;
			if (time(NULL) - t0 > seconds + 120) {
				kill(ts[i].pid, SIGKILL);
				waitpid(ts[i].pid, &ts[i].status, 0);
				diag("fuzz_%s: killed after %d s", ts[i].name, seconds + 120);
				break;
			}
			usleep(100 * 1000);
		}
	}
	for (i = 0; i < n; i++) {
		target *t = &ts[i];
		char log[128];

		if (t->missing) {
			ok(0, "fuzz_%s: built (make fuzz-build puts it in %s)", t->name, fuzz_dir);
			continue;
		}
		snprintf(log, sizeof log, "%s/log", t->work);
		if (!ok(t->pid > 0 && WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0,
			"fuzz_%s: its corpus and %d s of fuzzing without a crash, leak, hang or UB (%ld runs, "
			"cov %ld)", t->name, seconds, stat_of(log, "stat::number_of_executed_units: "),
			stat_of(log, " cov: ")))
			report_failure(t);
		snprintf(cmd, sizeof cmd, "rm -rf %s", t->work);
		if (t->work[0] && system(cmd) == -1)
			diag("cannot remove %s", t->work);
	}
	return tap_done();
}
