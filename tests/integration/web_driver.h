/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/web_driver.h - what the browser tests' drivers share
 * (test_web_browser.c, test_web_shop.c, test_web_seller_flow.c): start the
 * simulator and a temp dir, write the bot's config, seal its cookie, start
 * `shopkeep run` and read its setup token from the log, run one script of
 * tests/browser under node with the environment it reads (tests/browser/
 * lib.mjs), turn each "ok - ..." / "not ok - ..." line it prints into a
 * check here, and stop everything. Static inline: each test is one object
 * ($(B)/tests/% links one), and what a test does not call costs nothing.
 *
 * A driver: web_begin, its own rules file, web_config, web_start_bot,
 * web_node, its own checks of what the script left, web_end.
 */
#ifndef SK_WEB_DRIVER_H
#define SK_WEB_DRIVER_H

#include "tap.h"
#include "sim/tbot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	const char *build;	/* SK_BUILD, else "build" */
	const char *root;	/* SK_ROOT, else "." */
	int wport;		/* the page's port */
	char tok[128];		/* the setup token the bot logged */
	tc_sim sim;
	tbot bot;
} web_run;

/* What one run of a script printed: its checks, the failed ones, the "# skip:"
 * lines, and pclose's status. */
typedef struct {
	int checks, failed, skipped, status;
} web_result;

static inline const char *web_env_or(const char *k, const char *def)
{
	const char *v = getenv(k);

	return v ? v : def;
}

/* Checks that chromium, node and playwright-core are there, starts the
 * simulator and makes the bot's temp dir and a free port for the page (a
 * check each). Returns 0, or -1 when one failed: the test then returns
 * tap_done() (nothing runs yet). */
static inline int web_begin(web_run *w)
{
	char cmd[1200];

	memset(w, 0, sizeof *w);
	w->build = web_env_or("SK_BUILD", "build");
	w->root = web_env_or("SK_ROOT", ".");
	w->wport = tbot_free_port();
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(cmd, sizeof cmd, "test -x /usr/bin/chromium && command -v node >/dev/null && "
		 "test -d '%s/tests/browser/node_modules/playwright-core'", w->root);
	if (!ok(system(cmd) == 0, "chromium, node and playwright-core are installed (make test's set-up does it)"))
		return -1;
	if (!ok(tc_sim_start(&w->sim, NULL) == 0, "simulator starts"))
		return -1;
	if (!ok(tbot_init(&w->bot, &w->sim) == 0 && w->wport > 0, "a temp dir and a free port"))
		return -1;
	return 0;
}

/* Writes the bot's config: account id with its cookie sealed under
 * "<id>.cookie.secret", the simulator as the platform, the plugins of load
 * (a JSON list's inside, e.g. "\"dedup\",\"orders\""), rules.json in the
 * temp dir, the page on wport with the fast password hash; extra (sections
 * each ending with ",\n", or "") goes in before "web". */
static inline void web_config(web_run *w, const char *id, const char *load, const char *extra)
{
	char json[2048];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"%s\",\"cookie_secret\":\"%s.cookie.secret\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\",\n"
		 "  \"passport_url\":\"http://127.0.0.1:@PORT@/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[%s]},\n"
		 " \"rules\":\"rules.json\",\n"
		 "%s"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true}}\n",
		 id, id, w->build, load, extra, w->wport, w->root);
	tbot_config(&w->bot, json);
}

/* Seals the cookie of seller unb with `shopkeep secret set`, starts the bot,
 * waits until it registers with the simulator and reads its setup token from
 * its log into w->tok (up to 5 s); a check each. Returns 0, or -1 when one
 * failed (the test then goes to web_end). */
static inline int web_start_bot(web_run *w, const char *unb)
{
	char cmd[1200];

	snprintf(cmd, sizeof cmd, "echo 'unb=%s; cookie2=c2; _m_h5_tk=0123456789abcdef0123456789abcdef_1' | "
		 "'%s/shopkeep' secret set --config '%s' cookie >/dev/null 2>&1", unb, w->build, w->bot.cfg);
	if (!ok(system(cmd) == 0, "shopkeep secret set seals the cookie"))
		return -1;
	tbot_start(&w->bot);
	if (!ok(tsim_wait_stat(&w->sim, "reg_ok", 1, 5000) >= 0, "the bot registers"))
		return -1;
	for (int i = 0; i < 50 && !w->tok[0]; i++) {
		tbot_setup_token(&w->bot, w->tok, sizeof w->tok);
		if (!w->tok[0])
			usleep(100000);
	}
	if (!ok(w->tok[0], "the bot logged its setup token"))
		return -1;
	return 0;
}

/* Runs `node script` in tests/browser with SK_WEB_URL, SK_SETUP_TOKEN,
 * SK_SIM_CTL, the variables of env ("K='v' ..." or "") and SK_TIMEOUT_S=
 * timeout_s, killed 20 s after that. Each "ok - what" / "not ok - what" line
 * becomes the check "browser: what"; the other lines are diagnostics. The
 * counts and the exit status go to r. Returns 0, or -1 (a failed check)
 * when node could not be run. */
static inline int web_node(web_run *w, const char *script, const char *env, int timeout_s, web_result *r)
{
	char cmd[4000], line[1024];
	FILE *p;

	memset(r, 0, sizeof *r);
	snprintf(cmd, sizeof cmd,
		 "cd '%s/tests/browser' && SK_WEB_URL=http://127.0.0.1:%d/ SK_SETUP_TOKEN='%s' SK_SIM_CTL=%d "
		 "%s SK_TIMEOUT_S=%d timeout -k 5 %d node %s 2>&1",
		 w->root, w->wport, w->tok, w->sim.ctl_port, env, timeout_s, timeout_s + 20, script);
	if (!(p = popen(cmd, "r"))) {
		ok(0, "node runs");
		return -1;
	}
	while (fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "ok - ", 5)) {
			ok(1, "browser: %s", line + 5);
			r->checks++;
		} else if (!strncmp(line, "not ok - ", 9)) {
			ok(0, "browser: %s", line + 9);
			r->checks++;
			r->failed++;
		} else {
			if (!strncmp(line, "# skip:", 7))
				r->skipped++;
			diag("browser: %s", line);
		}
	}
	r->status = pclose(p);
	return 0;
}

/* Writes build/name into buf (n bytes) and removes the file of an earlier
 * run: where the script is to put a screenshot. Returns buf. */
static inline char *web_shot(const web_run *w, char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", w->build, name);
	unlink(buf);
	return buf;
}

/* Whether the script exited as its checks say: 1 when one failed, else 0. */
static inline int web_exit_ok(const web_result *r)
{
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == (r->failed ? 1 : 0);
}

/* The script's exit code for the message, -1 when it did not exit. */
static inline int web_exit_code(const web_result *r)
{
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

/* Stops the bot (a check: SIGTERM exits 0) when it was started, removes its
 * temp dir unless a check failed, stops the simulator. Returns tap_done(). */
static inline int web_end(web_run *w)
{
	if (w->bot.pid > 0)
		is_int(tbot_stop(&w->bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&w->bot, tap_failed > 0);
	tc_sim_stop(&w->sim);
	return tap_done();
}

#endif
