/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_secret_e2e.c - an account whose cookie is kept
 * encrypted (account.cookie_secret, `shopkeep secret set`) in the real bot
 * against the simulator: it registers with the decrypted cookie; when the
 * platform rotates _m_h5_tk (Set-Cookie) the merged cookie is saved sealed,
 * so no plaintext cookie reaches state.db (it used to); a restart uses the
 * saved cookie without another rotation.
 */
#include "secret.h"
#include "tap.h"
#include "sim/tbot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000099"
#define COOKIE "cna=zz; unb=" UNB "; cookie2=c2; _m_h5_tk=0123456789abcdef0123456789abcdef_1700000000000; _m_h5_tk_enc=e"

static tc_sim sim;
static tbot bot;

/* Whether any of the files state.db* in the bot's dir holds needle. */
static int db_has(const char *needle)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "cat '%s'/state.db* 2>/dev/null | grep -a -q -F '%s'", bot.dir, needle);
	return system(cmd) == 0;
}

int main(void)
{
	const char *build = getenv("SK_BUILD") ? getenv("SK_BUILD") : "build";
	char json[2048], cmd[1200];
	double expired;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(tbot_init(&bot, &sim) == 0, "temp dir"))
		return tap_done();
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"sealed\",\"cookie_secret\":\"sealed.cookie.secret\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"}}\n");
	tbot_config(&bot, json);
	snprintf(cmd, sizeof cmd, "echo '%s' | '%s/shopkeep' secret set --config '%s' cookie >/dev/null 2>&1", COOKIE,
		 build, bot.cfg);
	is_int(system(cmd), 0, "shopkeep secret set stores the cookie encrypted");
	/* the first token fetch meets a rotated _m_h5_tk: Set-Cookie, then a retry */
	tsim_ctl(&sim, "/fault", "{\"kind\":\"expire_h5tk\",\"seller\":\"" UNB "\"}");
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers with the decrypted cookie");
	expired = tsim_stat(&sim, "mtop_token_expired");
	ok(expired >= 1, "the platform rotated _m_h5_tk (%g)", expired);
	ok(tbot_log_has(&bot, "cookie updated from Set-Cookie (saved, encrypted)"), "the merged cookie is saved sealed");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	ok(!db_has("_m_h5_tk=") && !db_has("cookie2=c2"), "state.db holds no plaintext cookie");
	ok(db_has("sealed:"), "state.db holds the sealed one");
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 2, 5000) >= 0, "after a restart it registers again");
	is_int(tsim_stat(&sim, "mtop_token_expired"), expired, "with the saved (rotated) cookie: no new rotation");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");

	/* the agent plugin's API key: sealed with the same key, never in plaintext */
	snprintf(cmd, sizeof cmd, "echo '  sk-agent-PLAIN-42 ' | '%s/shopkeep' secret set --config '%s' agent_key "
		 "> '%s/agent_key.out' 2>&1", build, bot.cfg, bot.dir);
	is_int(system(cmd), 0, "shopkeep secret set agent_key stores the agent's API key");
	{
		char file[600], keyf[600], err[300], *plain = NULL;

		snprintf(file, sizeof file, "%s/sealed.agent_key.secret", bot.dir);
		snprintf(keyf, sizeof keyf, "%s/sealed.key", bot.dir);
		snprintf(cmd, sizeof cmd, "grep -q -F 'sk-agent-PLAIN' '%s'", file);
		ok(access(file, F_OK) == 0 && system(cmd) != 0, "in <id>.agent_key.secret, not in plaintext");
		ok(secret_get(keyf, file, &plain, err, sizeof err) == 0 && plain && !strcmp(plain, "sk-agent-PLAIN-42"),
		   "it opens with the account's key to the key, blanks trimmed");
		secret_free(plain);
		snprintf(cmd, sizeof cmd, "grep -q -F '\"api_key_file\": \"%s\"' '%s/agent_key.out'", file, bot.dir);
		ok(system(cmd) == 0, "the command says what to set in the config");
	}
	snprintf(cmd, sizeof cmd, "echo x | '%s/shopkeep' secret set --config '%s' other 2>&1 | grep -q "
		 "\"unknown secret 'other': cookie or agent_key\"", build, bot.cfg);
	is_int(system(cmd), 0, "an unknown secret names the two there are");
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
