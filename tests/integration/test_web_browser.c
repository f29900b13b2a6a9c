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
#include "web_driver.h"

#include <stdio.h>
#include <sys/stat.h>

#define UNB "2200000000088"

int main(void)
{
	char cmd[1200], env[3000], shot[600], phone[600], qr[600], qrphone[600], failphone[600];
	struct stat sb;
	web_result r;
	web_run w;

	if (web_begin(&w) < 0)
		return tap_done();
	snprintf(cmd, sizeof cmd, "cp '%s/config/rules.example.json' '%s/rules.json'", w.root, w.bot.dir);
	if (system(cmd) != 0)
		diag("cannot copy the example rules");
	/* the cookie sealed (account.cookie_secret): a login from the page seals the new one there */
	web_config(&w, "browser", "\"dedup\",\"autoreply\",\"orders\",\"items\"",
		   " \"login\":{\"poll_ms\":400},\n \"autoreply\":{\"debounce_ms\":0},\n");
	if (web_start_bot(&w, UNB) < 0)
		goto out;
	snprintf(env, sizeof env, "SK_SELLER=" UNB " SK_SHOT='%s' SK_SHOT_PHONE='%s' SK_SHOT_QR='%s' SK_SHOT_QR_PHONE='%s' "
		 "SK_SHOT_FAILED_PHONE='%s'", web_shot(&w, shot, sizeof shot, "web-page.png"),
		 web_shot(&w, phone, sizeof phone, "web-page-phone.png"), web_shot(&w, qr, sizeof qr, "web-login-qr.png"),
		 web_shot(&w, qrphone, sizeof qrphone, "web-login-qr-phone.png"),
		 web_shot(&w, failphone, sizeof failphone, "web-failed-phone.png"));
	if (web_node(&w, "page_test.mjs", env, 150, &r) < 0)
		goto out;
	ok(r.checks >= 5, "the page test ran its checks (%d)", r.checks);
	ok(web_exit_ok(&r), "the page test exited %d", web_exit_code(&r));
	ok(stat(shot, &sb) == 0 && sb.st_size > 1000, "the screenshot is in %s", shot);
	ok(stat(qr, &sb) == 0 && sb.st_size > 1000, "the QR login dialog's screenshot is in %s", qr);
	ok(tbot_alive(&w.bot), "the bot still runs");
	ok(!tbot_log_has(&w.bot, "sk_pasted_secret"), "the cookie pasted on the page is not in the bot's log");
out:
	return web_end(&w);
}
