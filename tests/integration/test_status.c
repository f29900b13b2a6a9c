/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_status.c - `shopkeep status` and the local control
 * socket (core/ctl.c) against the simulator: status of a running account
 * (CONNECTED, the numbers, --json), `shopkeep ctl`; exit 3 when it is not
 * running; the socket is 0600 and a peer of another uid is refused; garbage
 * and an oversized request get an error answer and the bot goes on; a second
 * process of the account is refused and leaves the first alone; the stale
 * socket a kill -9 leaves is replaced at the restart; SIGTERM removes it.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000071"

static tc_sim sim;
static tbot bot;
static const char *build;
static char sock[300];

/* Runs `shopkeep <args> --config <cfg>`: what it prints on stdout (and on
 * stderr when with_stderr), *st its exit status. */
static const char *sk(const char *args, int with_stderr, int *st)
{
	char cmd[1200];

	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' %s --config '%s' %s", build, args, bot.cfg,
		 with_stderr ? "2>&1" : "2>/dev/null");
	return tbot_sh(cmd, st);
}

/* The --json status as a cJSON object (owned), NULL when it did not answer. */
static cJSON *status_json(void)
{
	int st;
	const char *out = sk("status --json", 0, &st);

	return st == 0 ? cJSON_Parse(out) : NULL;
}

/* Polls status until it says CONNECTED (at most timeout_ms): 1 or 0. */
static int wait_connected(int timeout_ms)
{
	int64_t t0 = util_mono_us();

	while (util_mono_us() - t0 < (int64_t)timeout_ms * 1000) {
		cJSON *j = status_json();
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "state");
		int yes = cJSON_IsString(s) && !strcmp(s->valuestring, "CONNECTED");

		cJSON_Delete(j);
		if (yes)
			return 1;
		usleep(50000);
	}
	return 0;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* A connection to the control socket, -1 on failure (errno). */
static int sock_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct timeval tv = { 5, 0 };

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Writes all of s; 0 or -1. */
static int put(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one line (without its newline) into buf: its length, -1 at EOF or on an error. */
static int get_line(int fd, char *buf, size_t n)
{
	size_t len = 0;

	while (len + 1 < n) {
		ssize_t r = recv(fd, buf + len, 1, 0);

		if (r <= 0)
			return -1;
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return (int)len;
}

/* The answer line's success member: 1 true, 0 false, -1 not an answer. */
static int answer_success(const char *line, char *err, size_t n)
{
	cJSON *j = cJSON_Parse(line);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "success"), *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	int r = cJSON_IsBool(s) ? cJSON_IsTrue(s) : -1;

	snprintf(err, n, "%s", cJSON_IsString(e) ? e->valuestring : "");
	cJSON_Delete(j);
	return r;
}

/* In a child as uid/gid 65534: connects, asks for the status, reads the
 * answer. The child's exit status: 0 refused with an error answer, 1
 * answered (not refused), 2 could not connect (EACCES), 3 something else. */
static int as_nobody(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char line[4096], err[512];
		int fd;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(3);
		if ((fd = sock_connect()) < 0)
			_exit(errno == EACCES ? 2 : 3);
		/* the refusal may come before the request is read, or the send may fail after it */
		(void)!put(fd, "{\"command\":\"status\"}\n", 21);
		if (get_line(fd, line, sizeof line) < 0)
			_exit(3);
		_exit(answer_success(line, err, sizeof err) == 0 && strstr(err, "refused") ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Writes text to the bot's rules.json. */
static void write_rules(const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof path, "%s/rules.json", bot.dir);
	if ((f = fopen(path, "w"))) {
		fputs(text, f);
		fclose(f);
	}
}

/* Polls the status until its rules.state is want: the status (owned) or NULL. */
static cJSON *wait_rules_state(const char *want, int timeout_ms)
{
	int64_t t0 = util_mono_us();

	while (util_mono_us() - t0 < (int64_t)timeout_ms * 1000) {
		cJSON *j = status_json();
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "rules"), "state");

		if (cJSON_IsString(s) && !strcmp(s->valuestring, want))
			return j;
		cJSON_Delete(j);
		usleep(50000);
	}
	return NULL;
}

/* Issue 18 item 5: a rules file the plugins refuse leaves no rules in force
 * (nothing is answered or delivered) while the session is CONNECTED; the
 * status and `shopkeep status` say so, and say when a broken file left the
 * rules loaded before in force. */
static void test_rules_status(char *cfg, size_t n)
{
	const char *out, *problem;
	cJSON *j;
	int st;

	snprintf(cfg, n,
		 "{\"account\":{\"id\":\"st1\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"autoreply\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"web\":{\"listen\":\"off\"}}\n", build);
	tbot_config(&bot, cfg);
	write_rules("{\"keyword_rules\": [");
	tbot_start(&bot);
	ok(wait_connected(8000), "broken rules: the session connects all the same");
	j = wait_rules_state("broken", 3000);
	problem = tc_jstr(j, "rules.problem");
	ok(j && problem && strstr(problem, "rules.json: not valid JSON"), "broken rules: status rules.state \"broken\", "
	   "the problem (%s)", problem ? problem : "-");
	ok(j && tc_jstr(j, "rules.summary") && strstr(tc_jstr(j, "rules.summary"), "; no replies or deliveries"),
	   "broken rules: the summary says nothing is answered or delivered");
	cJSON_Delete(j);
	out = sk("status", 0, &st);
	ok(st == 0 && strstr(out, "rules:        broken — rules ") && strstr(out, "no replies or deliveries"),
	   "broken rules: shopkeep status says so");
	if (tap_failed)
		diag("status printed:\n%s", out);
	ok(tbot_log_has(&bot, "the rules file is refused: NO replies or deliveries"), "broken rules: logged");

	write_rules("{\"keyword_rules\": [{\"keywords\": [\"hi\"], \"reply\": \"hello\"}]}");
	kill(bot.pid, SIGHUP);
	j = wait_rules_state("ok", 3000);
	ok(j && tc_jstr(j, "rules.problem") && !*tc_jstr(j, "rules.problem"), "fixed and SIGHUP: rules.state \"ok\"");
	cJSON_Delete(j);
	write_rules("{\"keyword_rules\": [{\"keywords\": [\"hi\"], \"reply\": \"hello\", \"match\": \"regex?\"}]}");
	kill(bot.pid, SIGHUP);
	j = wait_rules_state("stale", 3000);
	problem = tc_jstr(j, "rules.problem");
	ok(j && problem && strstr(problem, "autoreply: keyword_rules[0].match"), "broken again: \"stale\", named by "
	   "autoreply (%s)", problem ? problem : "-");
	ok(j && cJSON_GetArraySize(tc_jget(j, "rules.refused_by")) == 1 && tc_jstr(j, "rules.refused_by.0") &&
	   !strcmp(tc_jstr(j, "rules.refused_by.0"), "autoreply"), "broken again: refused_by [\"autoreply\"] (orders "
	   "took the file)");
	ok(j && tc_jstr(j, "rules.summary") && strstr(tc_jstr(j, "rules.summary"), "the rules loaded before stay in force"),
	   "broken again: the rules loaded before stay in force");
	cJSON_Delete(j);
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
}

/* Checks status of an account not running, and with control.socket off. */
static void status_check_not_running(void)
{
	char off_cfg[400], cmd[1500];
	const char *out;
	int st;

	/* not running: no socket */
	out = sk("status", 0, &st);
	is_int(st, 3, "status of an account that never ran exits 3");
	ok(strstr(out, "account st1 is not running") != NULL, "and says it is not running (%.100s)", out);
	out = sk("status --json", 1, &st);
	is_int(st, 3, "status --json too exits 3");
	snprintf(off_cfg, sizeof off_cfg, "%s/off.json", bot.dir);
	{
		FILE *f = fopen(off_cfg, "w");

		if (f) {
			fputs("{\"account\":{\"id\":\"st1\",\"cookie\":\"unb=" UNB "\"},\"state\":{\"db\":\"state.db\"},"
			      "\"web\":{\"listen\":\"off\"},\"control\":{\"socket\":\"off\"}}\n", f);
			fclose(f);
		}
	}
	snprintf(cmd, sizeof cmd, "'%s/shopkeep' status --config '%s' 2>&1", build, off_cfg);
	out = tbot_sh(cmd, &st);
	ok(st == 1 && strstr(out, "control.socket is off"), "control.socket off: status exits 1 and says so (%.100s)",
	   out);
}

/* Checks status, status --json and ctl commands of a running bot that answered a buyer. */
static void status_check_running(void)
{
	char cmd[1500];
	const char *out;
	struct stat sst;
	cJSON *j;
	int st;

	/* running */
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers with the simulator");
	ok(wait_connected(5000), "status reports CONNECTED");
	ok(!lstat(sock, &sst) && S_ISSOCK(sst.st_mode), "the socket is <account id>.sock next to state.db");
	is_int(sst.st_mode & 0777, 0600, "its mode is 0600");
	tsim_ctl(&sim, "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"70001\",\"buyer\":\"970001\",\"text\":\"hello\"}");
	ok(tsim_wait_delivered(&sim, "echo: hello", 1, 5000), "the bot answers a buyer (one send acked)");
	usleep(200000);

	j = status_json();
	ok(cJSON_IsObject(j), "status --json prints one JSON object");
	{
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "metrics");
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(j, "plugins");
		const cJSON *acc = cJSON_GetObjectItemCaseSensitive(j, "account");
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "state");

		ok(cJSON_IsString(acc) && !strcmp(acc->valuestring, "st1"), "account st1");
		ok(cJSON_IsString(state) && !strcmp(state->valuestring, "CONNECTED"), "state CONNECTED");
		is_int((long long)num(j, "pid"), bot.pid, "pid is the bot's");
		ok(cJSON_GetArraySize(pl) == 1 && cJSON_IsString(cJSON_GetArrayItem(pl, 0)) &&
		   !strcmp(cJSON_GetArrayItem(pl, 0)->valuestring, "dedup"), "plugins running: dedup");
		ok(num(m, "connected_ms") > 0 && num(m, "last_msg_ms") > 0, "connected since and last message are set");
		is_int((long long)num(m, "sends_acked"), 1, "one send acked");
		is_int((long long)num(m, "sends_pending"), 0, "none pending");
		ok(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "web_url")), "web_url null: the page is off");
	}
	cJSON_Delete(j);
	out = sk("status", 0, &st);
	is_int(st, 0, "status exits 0");
	snprintf(cmd, sizeof cmd, "pid %d,", (int)bot.pid);
	ok(strstr(out, "account:      st1 (unb " UNB ")") && strstr(out, "CONNECTED since") &&
	   strstr(out, "0 pending (0 waiting in the outbox), 1 acked") && strstr(out, "plugins:      dedup") && strstr(out, "page:         off") &&
	   strstr(out, cmd), "the summary: account, state and since when, sends, plugins, page, pid");
	if (tap_failed)
		diag("status printed:\n%s", out);
	out = sk("ctl status", 0, &st);
	j = cJSON_Parse(out);
	ok(st == 0 && cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "metrics"),
	   "shopkeep ctl status prints the data");
	cJSON_Delete(j);
	out = sk("ctl list_chats '{\"limit\":5}'", 0, &st);
	ok(st == 0 && strstr(out, "\"chats\""), "shopkeep ctl list_chats with DATA");
	ok(strstr(out, "70001") != NULL, "list_chats over the socket knows the buyer's chat (the page is off)");
	out = sk("ctl nosuch", 1, &st);
	ok(st == 1 && strstr(out, "unknown command 'nosuch'"), "a failing command exits 1 with the reason (%.100s)", out);
}

/* Checks garbage, an over-long line and another uid on the socket: errors, and the bot goes on. */
static void status_check_bad_peers(void)
{
	char line[8192], err[512];
	int fd;

	/* garbage, then a request on the same connection */
	fd = sock_connect();
	ok(fd >= 0, "a raw connection to the socket");
	ok(!put(fd, "this is not json\n", 17) && get_line(fd, line, sizeof line) > 0 &&
	   answer_success(line, err, sizeof err) == 0 && strstr(err, "not a JSON object"),
	   "garbage gets an error answer (%s)", err);
	ok(!put(fd, "{\"request_id\":\"r2\",\"command\":\"status\"}\n", 39) && get_line(fd, line, sizeof line) > 0 &&
	   answer_success(line, err, sizeof err) == 1 && strstr(line, "\"request_id\":\"r2\""),
	   "and the next request on the same connection is answered");
	if (fd >= 0)
		close(fd);
	/* a line too long: an error answer, then the server ends the connection */
	fd = sock_connect();
	{
		size_t n = 100 * 1024;
		char *big = malloc(n);
		int r = -1;

		if (big) {
			memset(big, 'x', n);
			r = put(fd, big, n);
			free(big);
		}
		ok(fd >= 0 && !r && get_line(fd, line, sizeof line) > 0 && answer_success(line, err, sizeof err) == 0 &&
		   strstr(err, "longer than 64 KiB"), "a 100 KiB request gets an error answer (%s)", err);
		ok(fd >= 0 && get_line(fd, line, sizeof line) < 0, "and the connection is ended");
		if (fd >= 0)
			close(fd);
	}
	ok(tbot_alive(&bot) && wait_connected(3000), "the bot goes on: status still answers");
	ok(tbot_log_has(&bot, "a request longer than 65536 bytes") && tbot_log_has(&bot, "answered with an error"),
	   "both are logged and counted");

	/* another uid */
	if (geteuid() == 0) {
		chmod(bot.dir, 0711);
		is_int(as_nobody(), 2, "uid 65534 cannot connect to the 0600 socket (EACCES)");
		chmod(sock, 0666);
		is_int(as_nobody(), 0, "with the file opened up (0666), uid 65534 is refused by its credentials");
		chmod(sock, 0600);
		chmod(bot.dir, 0700);
		ok(tbot_log_has(&bot, "refused a connection from uid 65534"), "the refusal is logged");
		ok(wait_connected(3000), "and the bot goes on");
	} else {
		skip("uid 65534 cannot connect: needs root to switch uid");
		skip("a peer of another uid is refused: needs root");
		skip("the refusal is logged: needs root");
		skip("and the bot goes on: needs root");
	}
}

/* Checks a second process of the account, a stale socket after kill -9 and a clean stop. */
static void status_check_second_and_stale(void)
{
	char cmd[1500], second_log[400];
	const char *out;
	struct stat sst;
	int st;

	/* a second process of the same account */
	snprintf(second_log, sizeof second_log, "%s/second.log", bot.dir);
	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' run --config '%s' > '%s' 2>&1", build, bot.cfg, second_log);
	tbot_sh(cmd, &st);
	is_int(st, 1, "a second process of the account exits 1");
	snprintf(cmd, sizeof cmd, "grep -c 'account st1 is running already' '%s'", second_log);
	out = tbot_sh(cmd, &st);
	ok(atoi(out) == 1, "saying the account is running already");
	snprintf(cmd, sizeof cmd, "grep -c 'dedup: started\\|plugins started' '%s'", second_log);
	out = tbot_sh(cmd, &st);
	is_int(atoi(out), 0, "before any plugin starts on the shared state (they resume deliveries)");
	is_int(tsim_stat(&sim, "reg_ok"), 1, "it never connected to the platform");
	ok(tbot_alive(&bot) && !lstat(sock, &sst) && S_ISSOCK(sst.st_mode) && wait_connected(3000),
	   "the first goes on, its socket in place and answering");

	/* kill -9 leaves a stale socket; the restart replaces it */
	kill(bot.pid, SIGKILL);
	waitpid(bot.pid, NULL, 0);
	bot.pid = -1;
	ok(!lstat(sock, &sst) && S_ISSOCK(sst.st_mode), "after kill -9 the socket file is left");
	out = sk("status", 0, &st);
	ok(st == 3 && strstr(out, "not running"), "status says not running and exits 3 (%.100s)", out);
	tbot_start(&bot);
	ok(wait_connected(8000), "the restarted bot answers status: the stale socket was replaced");
	ok(tbot_log_has(&bot, "replaced the stale control socket"), "and said so");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	ok(lstat(sock, &sst) != 0, "and removes the socket");
	out = sk("status", 0, &st);
	is_int(st, 3, "status after a clean stop exits 3");
}

int main(void)
{
	char cfg[1500];

	setvbuf(stdout, NULL, _IOLBF, 0);
	build = getenv("SK_BUILD") ? getenv("SK_BUILD") : "build";
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(tbot_init(&bot, &sim) == 0, "temp dir"))
		return tap_done();
	snprintf(cfg, sizeof cfg,
		 "{\"account\":{\"id\":\"st1\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\"]},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"debug\":{\"reply_prefix\":\"echo: \"}}\n", build);
	tbot_config(&bot, cfg);
	snprintf(sock, sizeof sock, "%s/st1.sock", bot.dir);

	status_check_not_running();
	status_check_running();
	status_check_bad_peers();
	status_check_second_and_stale();
	test_rules_status(cfg, sizeof cfg);

	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
