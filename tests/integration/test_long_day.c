/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_long_day.c - "a day in minutes" (issue 20): the
 * real bot (dedup, autoreply, orders) against the simulator with a web
 * session lifetime of 60 s, renewals every 8-12 s, an IM token lifetime of
 * 90 s and an _m_h5_tk lifetime of 45 s, for 10 minutes of steady traffic:
 * a buyer message every 2 s (each answered by autoreply with its own text)
 * and a paid order every 20 s (each delivered a card code by orders). The
 * account never goes FAILED, no mtop call meets an expired session, every
 * message is answered exactly once and every order gets exactly one code
 * (the simulator's /sent log), and the lifetimes were crossed: renewals
 * ran, the IM token was refreshed, _m_h5_tk was rotated.
 *
 * Duration: 600 s; 150 s under sanitizers (a SAN build) or a wrapper such
 * as valgrind (SK_TEST_WRAP set), which still crosses the session lifetime
 * twice and the token lifetime once; SK_LONG_DAY_S=N sets it. A test_long_*
 * program is started in the background by tests/run.sh ahead of the
 * others and collected at the end with its own time limit
 * (SK_LONG_TIMEOUT, default 900 s), so it does not add to the suite's time.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000091"
#define MSG_EVERY_MS 2000
#define ORDER_EVERY_MS 20000
#define SEND_LWP "/r/MessageSend/sendByReceiverScope"

static tc_sim sim;
static tbot bot;

static const char rules_json[] =
	"{\"keyword_rules\":[{\"keywords\":[\"price\"],\"reply\":\"ans: {message}\"}],\n"
	" \"cards\":[{\"name\":\"code\",\"type\":\"stock\",\"template\":\"Your code: {code}\"}],\n"
	" \"delivery\":[{\"item_id\":\"50001\",\"spec\":null,\"card\":\"code\"}]}\n";

static int64_t now_ms(void)
{
	return util_mono_us() / 1000;
}

/* The run's length in seconds (see the header). */
static int duration_s(void)
{
	const char *e = getenv("SK_LONG_DAY_S");
	int san = 0;

#if defined(__SANITIZE_ADDRESS__)
	san = 1;
#endif
	if (e && atoi(e) > 0)
		return atoi(e);
	return san || (getenv("SK_TEST_WRAP") && *getenv("SK_TEST_WRAP")) ? 150 : 600;
}

/* The account's state as `shopkeep status --json` says, into out ("?" when it does not answer). */
static void state(char *out, size_t n)
{
	char cmd[1200];
	int st;
	const char *txt;
	cJSON *j;
	const cJSON *v;

	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' status --json --config '%s' 2>/dev/null", tbot_build_dir(),
		 bot.cfg);
	txt = tbot_sh(cmd, &st);
	j = cJSON_Parse(txt);
	v = cJSON_GetObjectItemCaseSensitive(j, "state");
	snprintf(out, n, "%s", cJSON_IsString(v) ? v->valuestring : "?");
	cJSON_Delete(j);
}

/* Imports n codes "DAY-0001".. of card code with the CLI. 1 when it did. */
static int import_codes(int n)
{
	char file[400], cmd[1200];
	FILE *f;
	int st;

	snprintf(file, sizeof file, "%s/codes.txt", bot.dir);
	if (!(f = fopen(file, "w")))
		return 0;
	for (int i = 1; i <= n; i++)
		fprintf(f, "DAY-%04d\n", i);
	fclose(f);
	snprintf(cmd, sizeof cmd, "timeout 30 '%s/shopkeep' stock import --card code '%s' --config '%s' 2>&1",
		 tbot_build_dir(), file, bot.cfg);
	tbot_sh(cmd, &st);
	return st == 0;
}

/* Accepted sends (not repeats, not refused) whose text starts with prefix,
 * per chat: the number of chats with exactly one (*once), with more (*more). */
static void count_sends(const char *prefix, int *once, int *more, int *total)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=" SEND_LWP, NULL, NULL), *e, *per;
	const cJSON *c;

	*once = *more = *total = 0;
	per = cJSON_CreateObject();
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames")) {
		const char *t = tc_jstr(e, "content.text.text"), *cid = tc_jstr(e, "cid");

		if (!t || !cid || strncmp(t, prefix, strlen(prefix)) || !cJSON_IsString(tc_jget(e, "message_id")) ||
		    cJSON_IsTrue(tc_jget(e, "repeat")))
			continue;
		(*total)++;
		c = cJSON_GetObjectItemCaseSensitive(per, cid);
		if (c)
			cJSON_SetNumberValue((cJSON *)c, c->valuedouble + 1);
		else
			cJSON_AddNumberToObject(per, cid, 1);
	}
	cJSON_ArrayForEach(c, per) {
		if (c->valuedouble == 1)
			(*once)++;
		else
			(*more)++;
	}
	cJSON_Delete(per);
	cJSON_Delete(r);
}

int main(void)
{
	int dur = duration_s(), nmsg = 0, nord = 0, once, more, total, failed_seen = 0, polls = 0;
	char json[2048], path[400], st[32], b[600];
	int64_t t0, next_msg, next_ord, next_poll, end;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	diag("a day in minutes: %d s", dur);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(tbot_init(&bot, &sim) == 0, "temp dir"))
		return tap_done();
	is_int(tsim_ctl(&sim, "/config", "{\"session_ttl_ms\":60000,\"h5tk_ttl_ms\":45000,\"token_ttl_ms\":90000}"), 200,
	       "simulator: session lifetime 60 s, _m_h5_tk 45 s, IM token 90 s");
	tsim_ctl(&sim, "/item", "{\"item_id\":\"50001\",\"title\":\"会员月卡\",\"price\":990}");
	snprintf(path, sizeof path, "%s/rules.json", bot.dir);
	if ((f = fopen(path, "w"))) {
		fputs(rules_json, f);
		fclose(f);
	}
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"day\",\"cookie\":\"unb=" UNB "; cookie2=c2; "
		 "_m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\",\n"
		 "   \"passport_url\":\"http://127.0.0.1:@PORT@/\"},\n"
		 " \"session\":{\"renew_min_s\":8,\"renew_max_s\":12},\n"
		 " \"send\":{\"rate_per_s\":20,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":200},\n"
		 " \"orders\":{\"confirm\":\"after\",\"retry_base_ms\":500,\"retry_s\":2}}\n",
		 tbot_build_dir());
	tbot_config(&bot, json);
	ok(import_codes(dur / (ORDER_EVERY_MS / 1000) + 10), "card codes imported");
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 1, 10000) >= 0, "the bot registers");

	t0 = now_ms();
	end = t0 + (int64_t)dur * 1000;
	next_msg = next_ord = next_poll = t0;
	while (now_ms() < end) {
		int64_t now = now_ms();

		if (now >= next_msg) {
			nmsg++;
			snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"61%05d\",\"buyer\":\"561%05d\","
				 "\"buyer_name\":\"买家%d\",\"item_id\":\"40004\",\"text\":\"price %d\"}", nmsg, nmsg, nmsg, nmsg);
			tsim_ctl(&sim, "/inject", b);
			next_msg += MSG_EVERY_MS;
		}
		if (now >= next_ord) {
			nord++;
			snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"order_id\":\"25099000%08d\",\"cid\":\"62%05d\","
				 "\"buyer\":\"762%05d\",\"buyer_name\":\"买家O%d\",\"item_id\":\"50001\",\"quantity\":1,"
				 "\"status\":\"placed\"}", nord, nord, nord, nord);
			tsim_ctl(&sim, "/order", b);
			snprintf(b, sizeof b, "{\"order_id\":\"25099000%08d\",\"status\":\"paid\",\"set\":true}", nord);
			tsim_ctl(&sim, "/order/status", b);
			next_ord += ORDER_EVERY_MS;
		}
		if (now >= next_poll) {
			state(st, sizeof st);
			polls++;
			if (!strcmp(st, "FAILED") && !failed_seen++)
				diag("FAILED at %lld s", (long long)((now - t0) / 1000));
			next_poll += 5000;
		}
		usleep(50000);
	}
	/* the last answers and deliveries */
	for (int64_t w = now_ms(); now_ms() - w < 30000; usleep(500000)) {
		count_sends("ans: price ", &once, &more, &total);
		if (once + more >= nmsg)
			break;
	}
	for (int64_t w = now_ms(); now_ms() - w < 30000; usleep(500000)) {
		count_sends("Your code: ", &once, &more, &total);
		if (once + more >= nord)
			break;
	}

	is_int(failed_seen, 0, "the account never went FAILED (%d status polls)", polls);
	ok(!tbot_log_has(&bot, "-> FAILED"), "the bot's log has no FAILED state");
	is_int(tsim_stat(&sim, "session_expired"), 0, "no mtop call met an expired session");
	count_sends("ans: price ", &once, &more, &total);
	is_int(once, nmsg, "every buyer message (%d) answered", nmsg);
	is_int(more, 0, "none answered twice (%d answers)", total);
	count_sends("Your code: ", &once, &more, &total);
	is_int(once, nord, "every paid order (%d) got its card code", nord);
	is_int(more, 0, "none got two (%d codes sent)", total);
	ok(tsim_stat(&sim, "renew_haslogin") >= dur / 12 - 1, "renewals ran (%g hasLogin, %g loginuser.get)",
	   tsim_stat(&sim, "renew_haslogin"), tsim_stat(&sim, "renew_loginuser"));
	ok(tsim_stat(&sim, "tokens_minted") >= 2, "the IM token was refreshed ahead of expiry (%g minted)",
	   tsim_stat(&sim, "tokens_minted"));
	ok(tsim_stat(&sim, "tokens_minted") <= dur / 45 + 2, "... not more than about every 3/4 of its life");
	ok(tsim_stat(&sim, "mtop_token_expired") >= 1, "_m_h5_tk was rotated on the way (%g)",
	   tsim_stat(&sim, "mtop_token_expired"));
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
