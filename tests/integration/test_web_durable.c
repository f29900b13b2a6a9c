/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_web_durable.c - a control command's answer leaves
 * only after what it wrote is durable, also when the web request is served in
 * the same loop turn as a session frame (whose batch, core/store.c, is still
 * open then).
 *
 * The bot is stopped (SIGSTOP) while a control "send" request waits on an
 * open web connection and the simulator pushes a buyer message, so that one
 * poll wakes it for both: the session's socket comes first (it is older),
 * opens the batch, and the send is queued inside it. With debug.kill_at
 * "commit" the bot dies right before that batch commits. The seller's page
 * must then not have seen "200 queued" for a message that is gone: either
 * no answer, or one whose message reaches the buyer after a restart.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000078"
#define PW "correct horse 43"
#define TEXT "sent from the page in a busy turn"

static tc_sim sim;
static tbot bot;
static int wport;
static char cookie[128], csrf[64];

static void write_config(int kill)
{
	char json[2048];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"webdurable\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\"]},\n"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"%s}}\n",
		 tbot_build_dir(), wport, tbot_root_dir(), kill ? ",\"kill_at\":\"commit\"" : "");
	tbot_config(&bot, json);
}

/* Sets the password with the setup token: the session's cookie and CSRF token. */
static int login(void)
{
	char tok[128], b[600], *sc;
	tc_http_resp r;
	cJSON *j;
	int st;

	tbot_setup_token(&bot, tok, sizeof tok);
	snprintf(b, sizeof b, "{\"setup_token\":\"%s\",\"password\":\"" PW "\"}", tok);
	if (tc_http(wport, "POST", "/api/login", "Content-Type: application/json\r\n", b, strlen(b), &r, 5000))
		return -1;
	st = r.status;
	j = cJSON_ParseWithLength(r.body, r.body_len);
	sc = tc_http_header(&r, "Set-Cookie", 0);
	if (sc)
		snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(sc, ";"), sc);
	snprintf(csrf, sizeof csrf, "%s", tc_jstr(j, "csrf") ? tc_jstr(j, "csrf") : "");
	free(sc);
	cJSON_Delete(j);
	tc_http_free(&r);
	return st == 200 && cookie[0] && csrf[0] ? 0 : -1;
}

/* Reads what the connection gets until EOF (at most 5 s) into buf. */
static size_t read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (got < n - 1 && poll(&p, 1, 5000) > 0 && (r = read(fd, buf + got, n - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	return got;
}

int main(void)
{
	char body[300], req[1200], ans[4096];
	int fd, st, status = -1, answered;
	pid_t reaped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	if (!ok(tbot_init(&bot, &sim) == 0 && (wport = tbot_free_port()) > 0, "a temp dir and a free port"))
		return tap_done();
	write_config(1);
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers"))
		goto out;
	for (int i = 0; i < 50; i++) {
		tc_http_resp r;

		if (!tc_http(wport, "GET", "/api/session", NULL, NULL, 0, &r, 2000)) {
			tc_http_free(&r);
			break;
		}
		usleep(100000);
	}
	if (!ok(login() == 0, "login with the setup token"))
		goto out;

	/* the chat the page writes to, known to the simulator */
	tsim_ctl(&sim, "/inject",
		 "{\"seller\":\"" UNB "\",\"cid\":\"40201\",\"buyer\":\"540201\",\"buyer_name\":\"小王\","
		 "\"item_id\":\"40004\",\"text\":\"你好\"}");
	ok(tbot_wait_ev(&bot, "chat_text", "40201", NULL, 1, 5000), "a buyer wrote in chat 40201");
	/* the page's connection is accepted once the login's is gone (lws moves
	 * the last pollfd into a closed one's slot): polled after the session's */
	usleep(300000);
	fd = tc_tcp_connect(wport, 2000);
	usleep(300000);
	snprintf(body, sizeof body,
		 "{\"request_id\":\"d1\",\"command\":\"send\",\"data\":{\"chat_id\":\"40201\",\"buyer_id\":\"540201\","
		 "\"text\":\"" TEXT "\"}}");
	snprintf(req, sizeof req,
		 "POST /api/control HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\nX-CSRF-Token: %s\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 wport, cookie, csrf, strlen(body), body);
	/* one poll wakes the bot for a push and the request */
	kill(bot.pid, SIGSTOP);
	waitpid(bot.pid, &status, WUNTRACED);   /* stopped inside its poll, not after one */
	ok(fd >= 0 && write(fd, req, strlen(req)) == (ssize_t)strlen(req), "the control request waits in the socket");
	tsim_ctl(&sim, "/inject",
		 "{\"seller\":\"" UNB "\",\"cid\":\"40202\",\"buyer\":\"540202\",\"buyer_name\":\"小李\","
		 "\"item_id\":\"40004\",\"text\":\"在吗\"}");
	usleep(300000);
	kill(bot.pid, SIGCONT);
	read_all(fd, ans, sizeof ans);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 50 && (reaped = waitpid(bot.pid, &status, WNOHANG)) == 0; i++)
		usleep(100000);
	ok(reaped == bot.pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
	   tbot_log_has(&bot, "debug.kill_at commit"), "the bot died right before the batch with the send committed");
	if (reaped == bot.pid)
		bot.pid = -1;
	else
		tbot_stop(&bot, SIGKILL);   /* it went on: no stray process left behind */
	answered = !strncmp(ans, "HTTP/1.1 200", 12);
	diag("the page got: %.*s", ans[0] ? (int)strcspn(ans, "\r\n") : 9, ans[0] ? ans : "(nothing)");

	write_config(0);
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 2, 5000) >= 0, "restart: registered again");
	st = tsim_wait_delivered(&sim, TEXT, 1, 3000);
	ok(!answered || st, "a send answered 200 reached the buyer after the restart (answered %d, delivered %d)",
	   answered, st);
	ok(!strstr(ans, "HTTP/1.1 ") || answered, "no error answer either");
out:
	if (bot.pid > 0)
		is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
