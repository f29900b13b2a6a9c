/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_web_browser.c - the real page in headless Chromium
 * against the real bot and the simulator: tests/browser/page_test.mjs
 * (playwright-core driving /usr/bin/chromium, both installed by make test's
 * set-up) sets the password with the setup token, adds a keyword rule, sees
 * the bot answer a simulated buyer with it and the event arrive live, sees a
 * bad rule refused where it was made, and takes a screenshot into
 * build/web-page.png. Then the Xianyu login (issue 20): the session expires
 * and the page's banner offers the QR login and the paste field; a bad pasted
 * cookie is refused; a QR login driven by the simulator's phone (scan,
 * confirm) brings the account back to CONNECTED without a restart; canceled,
 * expired and security-check runs show their state; screenshots
 * build/web-login-qr.png, web-login-qr-phone.png, web-failed-phone.png and
 * web-page-phone.png. Each "ok - ..." / "not ok - ..." line the script prints
 * becomes a check here; a script that dies, hangs or prints nothing fails.
 */
#include "tap.h"
#include "sim/tbot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000088"

static const char *env_or(const char *k, const char *def)
{
	const char *v = getenv(k);

	return v ? v : def;
}

int main(void)
{
	const char *build = env_or("SK_BUILD", "build"), *root = env_or("SK_ROOT", ".");
	char json[2048], cmd[4000], tok[128] = "", shot[600], phone[600], qr[600], qrphone[600], failphone[600], line[1024];
	int wport = tbot_free_port(), checks = 0, failed = 0, st;
	struct stat sb;
	tc_sim sim;
	tbot bot;
	FILE *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(cmd, sizeof cmd, "test -x /usr/bin/chromium && command -v node >/dev/null && "
		 "test -d '%s/tests/browser/node_modules/playwright-core'", root);
	if (!ok(system(cmd) == 0, "chromium, node and playwright-core are installed (make test's set-up does it)"))
		return tap_done();
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	if (!ok(tbot_init(&bot, &sim) == 0 && wport > 0, "a temp dir and a free port"))
		return tap_done();
	snprintf(cmd, sizeof cmd, "cp '%s/config/rules.example.json' '%s/rules.json'", root, bot.dir);
	if (system(cmd) != 0)
		diag("cannot copy the example rules");
	/* the cookie sealed (account.cookie_secret): a login from the page seals the new one there */
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"browser\",\"cookie_secret\":\"browser.cookie.secret\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\",\n"
		 "  \"passport_url\":\"http://127.0.0.1:@PORT@/\"},\n"
		 " \"login\":{\"poll_ms\":400},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"orders\",\"items\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":0},\n"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true}}\n",
		 build, wport, root);
	tbot_config(&bot, json);
	snprintf(cmd, sizeof cmd, "echo 'unb=" UNB "; cookie2=c2; _m_h5_tk=0123456789abcdef0123456789abcdef_1' | "
		 "'%s/shopkeep' secret set --config '%s' cookie >/dev/null 2>&1", build, bot.cfg);
	if (!ok(system(cmd) == 0, "shopkeep secret set seals the cookie"))
		goto out;
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers"))
		goto out;
	for (int i = 0; i < 50 && !tok[0]; i++) {
		tbot_setup_token(&bot, tok, sizeof tok);
		if (!tok[0])
			usleep(100000);
	}
	if (!ok(tok[0], "the bot logged its setup token"))
		goto out;
	snprintf(shot, sizeof shot, "%s/web-page.png", build);
	snprintf(phone, sizeof phone, "%s/web-page-phone.png", build);
	snprintf(qr, sizeof qr, "%s/web-login-qr.png", build);
	snprintf(qrphone, sizeof qrphone, "%s/web-login-qr-phone.png", build);
	unlink(shot);
	unlink(phone);
	unlink(qr);
	snprintf(failphone, sizeof failphone, "%s/web-failed-phone.png", build);
	unlink(qrphone);
	unlink(failphone);
	snprintf(cmd, sizeof cmd,
		 "cd '%s/tests/browser' && SK_WEB_URL=http://127.0.0.1:%d/ SK_SETUP_TOKEN='%s' SK_SIM_CTL=%d "
		 "SK_SELLER=" UNB " SK_SHOT='%s' SK_SHOT_PHONE='%s' SK_SHOT_QR='%s' SK_SHOT_QR_PHONE='%s' SK_SHOT_FAILED_PHONE='%s' "
		 "SK_TIMEOUT_S=150 timeout -k 5 170 node page_test.mjs 2>&1",
		 root, wport, tok, sim.ctl_port, shot, phone, qr, qrphone, failphone);
	if (!(p = popen(cmd, "r"))) {
		ok(0, "node runs");
		goto out;
	}
	while (fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "ok - ", 5)) {
			ok(1, "browser: %s", line + 5);
			checks++;
		} else if (!strncmp(line, "not ok - ", 9)) {
			ok(0, "browser: %s", line + 9);
			checks++;
			failed++;
		} else {
			diag("browser: %s", line);
		}
	}
	st = pclose(p);
	ok(checks >= 5, "the page test ran its checks (%d)", checks);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == (failed ? 1 : 0), "the page test exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	ok(stat(shot, &sb) == 0 && sb.st_size > 1000, "the screenshot is in %s", shot);
	ok(stat(qr, &sb) == 0 && sb.st_size > 1000, "the QR login dialog's screenshot is in %s", qr);
	ok(tbot_alive(&bot), "the bot still runs");
	ok(!tbot_log_has(&bot, "sk_pasted_secret"), "the cookie pasted on the page is not in the bot's log");
out:
	if (bot.pid > 0)
		is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
