/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_accounts.c - two accounts are two processes that
 * share nothing but the platform: each answers its own buyers from its own
 * state; killing one (-9) leaves the other answering; the killed one,
 * restarted, answers what waited for it, and nothing of one account ever
 * goes out through the other.
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
static tbot a, b;

static void config(tbot *t, const char *id, const char *unb)
{
	char json[1500];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"%s\",\"cookie\":\"unb=%s; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"debug\":{\"reply_prefix\":\"%s says: \"}}\n", id, unb, id);
	tbot_config(t, json);
}

static void buyer(const char *unb, const char *cid, const char *text)
{
	char body[300];

	snprintf(body, sizeof body, "{\"seller\":\"%s\",\"cid\":\"%s\",\"buyer\":\"9%s\",\"text\":\"%s\"}", unb, cid, cid,
		 text);
	tsim_ctl(&sim, "/inject", body);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(!tbot_init(&a, &sim) && !tbot_init(&b, &sim),
									    "two temp dirs"))
		return tap_done();
	config(&a, "shop-a", "2200000000301");
	config(&b, "shop-b", "2200000000302");
	tbot_start(&a);
	tbot_start(&b);
	ok(tsim_wait_stat(&sim, "reg_ok", 2, 5000) >= 0, "both accounts register, each in its own process");
	buyer("2200000000301", "30101", "hi a");
	buyer("2200000000302", "30201", "hi b");
	ok(tsim_wait_delivered(&sim, "shop-a says: hi a", 1, 5000), "account a answers its buyer");
	ok(tsim_wait_delivered(&sim, "shop-b says: hi b", 1, 5000), "account b answers its buyer");

	kill(a.pid, SIGKILL);
	waitpid(a.pid, NULL, 0);
	a.pid = -1;
	buyer("2200000000301", "30102", "while a is down");
	buyer("2200000000302", "30202", "b goes on");
	ok(tsim_wait_delivered(&sim, "shop-b says: b goes on", 1, 5000), "with a killed (-9), b goes on answering");
	usleep(300000);
	is_int(tsim_delivered(&sim, "shop-a says: while a is down"), 0, "a's buyer waits: nothing answers for a");
	is_int(tsim_delivered(&sim, "shop-b says: while a is down"), 0, "and b never answers a's buyers");
	ok(tbot_alive(&b), "b still runs");

	tbot_start(&a);
	ok(tsim_wait_delivered(&sim, "shop-a says: while a is down", 1, 8000),
	   "a restarted answers the message that waited for it");
	is_int(tsim_delivered(&sim, "shop-a says: hi a"), 1, "and nothing it had answered before");
	is_int(tbot_stop(&a, SIGTERM), 0, "a: SIGTERM exits 0");
	is_int(tbot_stop(&b, SIGTERM), 0, "b: SIGTERM exits 0");
	tbot_done(&a, tap_failed > 0);
	tbot_done(&b, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
