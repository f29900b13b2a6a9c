/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_login_e2e.c - logging in by QR code with the real
 * build/shopkeep against the simulator's passport service, the phone
 * played through the simulator's control port:
 *   - an account with no cookie yet: `check` passes with a warning, `run`
 *     goes FAILED (needs login) at once without calling the platform;
 *   - the running FAILED account logs in by QR through its control socket
 *     (login_qr_start / login_qr_state: NEW with an SVG, SCANED, DONE),
 *     connects without a restart and answers the buyer messages that waited,
 *     exactly once; the cookie is sealed into the default secret file;
 *   - cookie_set refusals (another account's unb, no cookie2), and one that
 *     is taken;
 *   - a restart uses the default secret file; an account whose session
 *     expired (FAILED) logs in by QR and answers what waited, once;
 *   - `shopkeep login` in the terminal: the code drawn, each state printed,
 *     the cookie sealed, the running process told (cookie_reload), another
 *     account's login refused, a plaintext config refused with the fix;
 *   - no cookie value in the CLI's output, the bot's log or the event log.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "secret.h"
#include "sign.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000077"
#define OTHER "2200000000078"

static tc_sim sim;
static tbot bot;
static const char *build;

/* Runs "shopkeep <args> --config <cfg> [data]": stdout (and stderr) in a static buffer. */
static const char *sk(const char *args, const char *data, int *st)
{
	char cmd[4000];

	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' %s --config '%s' %s%s%s 2>&1", build, args, bot.cfg,
		 data ? "'" : "", data ? data : "", data ? "'" : "");
	return tbot_sh(cmd, st);
}

/* A control command's answer (owned), NULL when it did not answer JSON. */
static cJSON *ctl(const char *cmd, const char *data, int *st)
{
	char a[200];
	const char *out;

	snprintf(a, sizeof a, "ctl %s", cmd);
	out = sk(a, data, st);
	return cJSON_Parse(out);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Polls login_qr_state until its state is want (at most ms): the last answer (owned). */
static cJSON *wait_qr(const char *want, int ms)
{
	cJSON *a = NULL;
	int st;

	for (int waited = 0; waited < ms; waited += 200) {
		cJSON_Delete(a);
		a = ctl("login_qr_state", NULL, &st);
		if (!strcmp(jstr(a, "state"), want) || (!strcmp(want, "NEW") && *jstr(a, "svg")))
			if (strcmp(want, "NEW") || *jstr(a, "svg"))
				return a;
		usleep(200000);
	}
	return a;
}

/* The session's state from status (a static copy). */
static const char *sess_state(void)
{
	static char s[64];
	int st;
	cJSON *a = ctl("status", NULL, &st);

	snprintf(s, sizeof s, "%s", jstr(a, "state"));
	cJSON_Delete(a);
	return s;
}

static int wait_state(const char *want, int ms)
{
	for (int waited = 0; waited < ms; waited += 200) {
		if (!strcmp(sess_state(), want))
			return 1;
		usleep(200000);
	}
	return 0;
}

/* Whether the file at path holds needle. */
static int file_has(const char *path, const char *needle)
{
	static char buf[1 << 20];

	tbot_slurp(path, buf, sizeof buf);
	return strstr(buf, needle) != NULL;
}

/* The cookie sealed in the default secret file (malloc'd) or NULL. */
static char *sealed_cookie(void)
{
	char key[400], sec[400], err[600], *plain = NULL;

	snprintf(key, sizeof key, "%s/acct.key", bot.dir);
	snprintf(sec, sizeof sec, "%s/acct.cookie.secret", bot.dir);
	if (secret_get(key, sec, &plain, err, sizeof err))
		return NULL;
	return plain;
}

/* shopkeep login in the background, its output to <dir>/login.out. */
static pid_t login_start_cli(char *out, size_t n)
{
	pid_t pid;

	snprintf(out, n, "%s/login.out", bot.dir);
	unlink(out);
	pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		char exe[600];

		dup2(fd, 1);
		dup2(fd, 2);
		snprintf(exe, sizeof exe, "%s/shopkeep", build);
		execl(exe, exe, "login", "--config", bot.cfg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits until the file holds needle (at most ms): 1 or 0. */
static int wait_file(const char *path, const char *needle, int ms)
{
	for (int waited = 0; waited < ms; waited += 100) {
		if (file_has(path, needle))
			return 1;
		usleep(100000);
	}
	return 0;
}

/* Waits for pid (at most ms): its exit status, or -1 (then killed). */
static int wait_exit(pid_t pid, int ms)
{
	int st;

	for (int waited = 0; waited < ms; waited += 100) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* The values of the cookie's secret pairs must appear in none of the files. */
static int leaks(const char *cookie, const char *path)
{
	static const char *const names[] = { "cookie2", "sgcookie", "_m_h5_tk", "csg", "havana_lgc2_77" };
	int n = 0;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *v = cookie_get(cookie, names[i]);

		if (v && strlen(v) >= 6 && file_has(path, v)) {
			diag("%s holds the value of %s", path, names[i]);
			n++;
		}
		free(v);
	}
	return n;
}

int main(void)
{
	char json[2048], out[400], evlog[400], sec[400];
	const char *o;
	cJSON *a;
	char *cookie = NULL;
	int st;
	pid_t pid;
	struct stat sb;

	build = tbot_build_dir();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(tbot_init(&bot, &sim) == 0, "temp dir"))
		return tap_done();
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"acct\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\",\n"
		 "              \"passport_url\":\"http://127.0.0.1:@PORT@/\"},\n"
		 " \"login\":{\"poll_ms\":200},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\",\"reply_prefix\":\"re: \"}}\n");
	tbot_config(&bot, json);
	snprintf(evlog, sizeof evlog, "%s/events.jsonl", bot.dir);
	snprintf(sec, sizeof sec, "%s/acct.cookie.secret", bot.dir);

	/* no cookie yet */
	o = sk("check", NULL, &st);
	ok(st == 0 && strstr(o, "config OK"), "check: a config with no cookie yet is valid (%s)", o);
	tbot_start(&bot);
	ok(wait_state("FAILED", 5000), "run: the account goes FAILED at once");
	a = ctl("status", NULL, &st);
	ok(strstr(jstr(a, "last_error"), "needs login: no cookie yet"), "status says it needs a login: %s",
	   jstr(a, "last_error"));
	cJSON_Delete(a);
	ok(tsim_stat(&sim, "mtop_calls") == 0 && tsim_stat(&sim, "ws_accepted") == 0,
	   "without a cookie the platform is never called");

	/* buyers write while it cannot answer: their messages wait */
	tsim_ctl(&sim, "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"80001\",\"buyer\":\"980001\",\"text\":\"waited one\"}");
	tsim_ctl(&sim, "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"80002\",\"buyer\":\"980002\",\"text\":\"waited two\"}");

	/* QR login through the control socket */
	a = ctl("login_qr_start", "{}", &st);
	ok(st == 0 && !strcmp(jstr(a, "state"), "NEW"), "login_qr_start: NEW");
	cJSON_Delete(a);
	a = wait_qr("NEW", 8000);
	ok(!strncmp(jstr(a, "svg"), "<svg", 4) && *jstr(a, "code_url"), "login_qr_state: the code as an SVG and its url");
	ok(*jstr(a, "message_zh") && *jstr(a, "message_en"), "with messages in Chinese and English");
	cJSON_Delete(a);
	ok(tsim_ctl(&sim, "/login/scan", "{}") == 200, "the phone scans");
	a = wait_qr("SCANED", 5000);
	is_str(jstr(a, "state"), "SCANED", "login_qr_state: SCANED");
	cJSON_Delete(a);
	ok(tsim_ctl(&sim, "/login/confirm", "{\"unb\":\"" UNB "\"}") == 200, "the phone confirms");
	a = wait_qr("DONE", 8000);
	ok(!strcmp(jstr(a, "state"), "DONE") && !strcmp(jstr(a, "unb"), UNB), "login_qr_state: DONE with the unb (%s %s)",
	   jstr(a, "state"), jstr(a, "message_en"));
	cJSON_Delete(a);
	ok(wait_state("CONNECTED", 10000), "the account connects without a restart");
	ok(tsim_wait_delivered(&sim, "re: waited one", 1, 8000) == 1 &&
	   tsim_wait_delivered(&sim, "re: waited two", 1, 8000) == 1, "the messages that waited are answered");
	sleep(1);
	ok(tsim_delivered(&sim, "re: waited one") == 1 && tsim_delivered(&sim, "re: waited two") == 1,
	   "exactly once each");
	cookie = sealed_cookie();
	ok(cookie && strstr(cookie, "unb=" UNB), "the login is sealed into the default secret file");
	ok(stat(sec, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the secret file is 0600");

	/* cookie_set: refusals and a good one */
	o = sk("ctl cookie_set", "{\"cookie\":\"unb=" OTHER "; cookie2=x; _m_h5_tk=y_1\"}", &st);
	ok(st == 1 && strstr(o, "another account's"), "cookie_set: another unb is refused (%s)", o);
	o = sk("ctl cookie_set", "{\"cookie\":\"unb=" UNB "; _m_h5_tk=y_1\"}", &st);
	ok(st == 1 && strstr(o, "no cookie2"), "cookie_set: a cookie without cookie2 is refused (%s)", o);
	ok(!strstr(o, "y_1"), "the refusal does not quote the cookie");
	o = sk("ctl cookie_set", "{}", &st);
	ok(st == 1 && strstr(o, "cookie_set needs data"), "cookie_set: no cookie is refused (%s)", o);
	a = ctl("cookie_set", "{\"cookie\":\"unb=" UNB "; cookie2=pasted2; _m_h5_tk=y_1\"}", &st);
	ok(st == 0 && !strcmp(jstr(a, "unb"), UNB) && !strcmp(jstr(a, "state"), "CONNECTED"),
	   "cookie_set: a whole cookie of this account is taken ({unb, state})");
	cJSON_Delete(a);
	{
		char *c2 = sealed_cookie();

		ok(c2 && strstr(c2, "cookie2=pasted2"), "and sealed");
		secret_free(c2);
	}

	/* shopkeep login while the account runs */
	pid = login_start_cli(out, sizeof out);
	ok(wait_file(out, "[NEW]", 8000), "shopkeep login: NEW is printed");
	ok(file_has(out, "\xe2\x96\x88") || file_has(out, "\xe2\x96\x80"), "the code is drawn with half blocks");
	ok(file_has(out, "请用闲鱼 App") && file_has(out, "Scan the QR code"), "in Chinese and English");
	tsim_ctl(&sim, "/login/scan", "{}");
	ok(wait_file(out, "[SCANED]", 5000), "shopkeep login: SCANED is printed");
	tsim_ctl(&sim, "/login/confirm", "{\"unb\":\"" UNB "\",\"token\":true}");
	is_int(wait_exit(pid, 15000), 0, "shopkeep login exits 0");
	ok(file_has(out, "[DONE]") && file_has(out, "sealed into"), "DONE, sealed");
	ok(file_has(out, "the running process of account acct took the new login"), "the running process took it");
	secret_free(cookie);
	cookie = sealed_cookie();
	ok(cookie && strstr(cookie, "unb=" UNB) && !strstr(cookie, "pasted2"), "the new login is sealed");
	ok(wait_state("CONNECTED", 10000), "the account is connected");
	tsim_ctl(&sim, "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"80003\",\"buyer\":\"980003\",\"text\":\"after cli\"}");
	ok(tsim_wait_delivered(&sim, "re: after cli", 1, 8000) == 1, "and answers with it");
	ok(!leaks(cookie, out), "the CLI's output holds no cookie value");

	/* another account's login is refused by the CLI */
	pid = login_start_cli(out, sizeof out);
	wait_file(out, "[NEW]", 8000);
	tsim_ctl(&sim, "/login/scan", "{}");
	wait_file(out, "[SCANED]", 5000);
	tsim_ctl(&sim, "/login/confirm", "{\"unb\":\"" OTHER "\"}");
	is_int(wait_exit(pid, 15000), 1, "shopkeep login with another account's code: exits 1");
	ok(file_has(out, "another account's"), "and says why");
	{
		char *c3 = sealed_cookie();

		ok(c3 && strstr(c3, "unb=" UNB), "the account's login is kept");
		secret_free(c3);
	}

	/* a cancel on the phone */
	pid = login_start_cli(out, sizeof out);
	wait_file(out, "[NEW]", 8000);
	tsim_ctl(&sim, "/login/cancel", "{}");
	is_int(wait_exit(pid, 10000), 1, "shopkeep login cancelled on the phone: exits 1");
	ok(file_has(out, "[CANCELED]"), "CANCELED is printed");

	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	ok(!leaks(cookie, bot.log), "the bot's log holds no cookie value");
	ok(!leaks(cookie, evlog), "the event log holds no cookie value");

	/* shopkeep login while the account is not running */
	pid = login_start_cli(out, sizeof out);
	wait_file(out, "[NEW]", 8000);
	tsim_ctl(&sim, "/login/scan", "{}");
	wait_file(out, "[SCANED]", 5000);
	tsim_ctl(&sim, "/login/confirm", "{\"unb\":\"" UNB "\"}");
	is_int(wait_exit(pid, 15000), 0, "shopkeep login with the account stopped: exits 0");
	ok(file_has(out, "account acct is not running: it uses the new login when started"), "and says so");
	secret_free(cookie);
	cookie = sealed_cookie();
	ok(cookie && !leaks(cookie, out), "the CLI's output holds no value of the new cookie");

	/* a restart with the same config (no cookie key): the default secret file is used */
	tbot_start(&bot);
	ok(wait_state("CONNECTED", 10000), "restarted, the config's default secret file logs it in");
	o = sk("check", NULL, &st);
	ok(st == 0, "check passes");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");

	/* the session expires (no cached token: a fresh state.db): FAILED, then a QR login */
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -f '%s'/state.db*", bot.dir);
		ok(system(cmd) == 0, "a fresh state.db (no cached IM token)");
	}
	tsim_ctl(&sim, "/fault", "{\"kind\":\"session_expired\",\"seller\":\"" UNB "\",\"on\":true}");
	tbot_start(&bot);
	ok(wait_state("FAILED", 8000), "the session expired: FAILED");
	tsim_ctl(&sim, "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"80010\",\"buyer\":\"980010\",\"text\":\"while expired\"}");
	a = ctl("login_qr_start", "{}", &st);
	cJSON_Delete(a);
	a = wait_qr("NEW", 8000);
	cJSON_Delete(a);
	tsim_ctl(&sim, "/login/scan", "{}");
	a = wait_qr("SCANED", 5000);
	cJSON_Delete(a);
	tsim_ctl(&sim, "/login/confirm", "{\"unb\":\"" UNB "\"}");
	a = wait_qr("DONE", 8000);
	is_str(jstr(a, "state"), "DONE", "the expired account logs in by QR");
	cJSON_Delete(a);
	ok(wait_state("CONNECTED", 10000), "and connects without a restart");
	ok(tsim_wait_delivered(&sim, "re: while expired", 1, 8000) == 1, "the message that waited is answered");
	sleep(1);
	is_int(tsim_delivered(&sim, "re: while expired"), 1, "exactly once");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");

	/* a plaintext config is refused with the fix */
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"acct\",\"cookie\":\"unb=" UNB "; cookie2=a\"},\n"
		 " \"platform\":{\"passport_url\":\"http://127.0.0.1:@PORT@/\"},\n"
		 " \"state\":{\"db\":\"state.db\"}, \"web\":{\"listen\":\"off\"}}\n");
	tbot_config(&bot, json);
	o = sk("login", NULL, &st);
	ok(st == 1 && strstr(o, "keeps the cookie in plaintext (account.cookie): remove that key"),
	   "shopkeep login refuses a plaintext config with the fix: %s", o);
	tbot_start(&bot);
	sleep(1);
	o = sk("ctl login_qr_start", NULL, &st);
	ok(st == 1 && strstr(o, "keeps the cookie in plaintext (account.cookie): remove that key"),
	   "login_qr_start refuses it too, before anyone scans: %s", o);
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");

	secret_free(cookie);
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
