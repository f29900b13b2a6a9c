/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/fh_probe/fh_probe.c - a plugin that touches every part of the
 * fake host, for tests/unit/test_fakehost.c. A repeating timer logs
 * "tick N at <mono>"; chat texts are commands:
 *
 *   once <ms>   after ms, send "fired" to the chat (a one-shot timer whose ud
 *               is a copy of the chat and buyer, freed by the host)
 *   send        a text tagged "t1" whose outcome is logged as "sent ok=<0|1> <detail>"
 *   status <u>  replies "status <state> <detail>" for send u
 *   mtop        calls mtop.fh.probe; the answer is sent as "mtop <result> <ret> <data>"
 *   work        sums 1..100 on the worker; the done callback sends "work 5050"
 *   state       replies "state <n>"
 *   whoami      replies "<account> <own user id> <rules path>"
 *   db          inserts the message id into fh_probe_seen; replies "db <rows>"
 *   http <url>  POSTs {"q":1} with the header "X-Probe: 1" and a 2500 ms
 *               timeout; the answer is sent as "http <status> <body>", a
 *               refusal as "http rc <rc>"; its free_ud logs "http freed"
 *   httph <h>   POSTs to http://127.0.0.1:9/ with the header lines h; replies
 *               "httph <rc>"
 *
 * It also logs "session <prev>-><state>", "result <uuid> <tag> <ok>" for
 * SK_EV_SEND_RESULT, and "fini ticks=<n>". Its command-line command
 * "fh_http" calls sk_http_post (which a command must be refused) and exits
 * 0 when that returned SK_ERR_STATE after running free_ud once, else 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

typedef struct {
	int ticks;
} fh_probe_state;

typedef struct {
	char chat[64], buyer[64];
} fh_probe_to;

typedef struct {
	fh_probe_to to;
	long sum;
} fh_probe_job;

static const sk_config_key fh_probe_keys[] = {
	{ .key = "period_ms", .type = SK_CFG_INT, .help = "the tick period" },
	{ 0 }
};

static const char *const fh_probe_migrations[] = {
	"CREATE TABLE fh_probe_seen (message_id TEXT PRIMARY KEY)",
	NULL
};

static void fh_probe_tick(sk_plugin *p, uint64_t id, void *ud)
{
	fh_probe_state *st = ud;

	(void)id;
	sk_log(p, SK_LOG_INFO, "tick %d at %lld", ++st->ticks, (long long)sk_mono_ms(p));
}

/* A malloc'd copy of where e came from, or NULL. */
static fh_probe_to *fh_probe_to_new(const sk_event *e)
{
	fh_probe_to *to = calloc(1, sizeof *to);

	if (to) {
		snprintf(to->chat, sizeof to->chat, "%s", e->chat_id);
		snprintf(to->buyer, sizeof to->buyer, "%s", e->sender_id);
	}
	return to;
}

static void fh_probe_fired(sk_plugin *p, uint64_t id, void *ud)
{
	fh_probe_to *to = ud;

	(void)id;
	sk_send_text(p, to->chat, to->buyer, "fired", NULL, NULL, NULL, NULL, NULL);
}

/* The ud of an HTTP POST: where the answer goes, and who logs its free. */
typedef struct {
	fh_probe_to to;
	sk_plugin *p;
} fh_probe_http;

static int fh_probe_http_frees;

static void fh_probe_http_free(void *ud)
{
	fh_probe_http *h = ud;

	fh_probe_http_frees++;
	if (h->p)
		sk_log(h->p, SK_LOG_INFO, "http freed");
	free(h);
}

static void fh_probe_http_done(sk_plugin *p, int status, const char *body, void *ud)
{
	fh_probe_http *h = ud;
	char text[256];

	snprintf(text, sizeof text, "http %d %s", status, body);
	sk_send_text(p, h->to.chat, h->to.buyer, text, NULL, NULL, NULL, NULL, NULL);
}

static void fh_probe_sent(sk_plugin *p, const char *uuid, int ok, const char *detail, void *ud)
{
	(void)uuid;
	(void)ud;
	sk_log(p, SK_LOG_INFO, "sent ok=%d %s", ok, detail);
}

static void fh_probe_mtop_done(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	fh_probe_to *to = ud;
	char text[256];

	snprintf(text, sizeof text, "mtop %d %s %s", result, ret, data_json);
	sk_send_text(p, to->chat, to->buyer, text, NULL, NULL, NULL, NULL, NULL);
}

/* Runs on the worker: no host calls. */
static void fh_probe_work(void *ud)
{
	fh_probe_job *j = ud;

	for (int i = 1; i <= 100; i++)
		j->sum += i;
}

static void fh_probe_work_done(sk_plugin *p, void *ud)
{
	fh_probe_job *j = ud;
	char text[32];

	snprintf(text, sizeof text, "work %ld", j->sum);
	sk_send_text(p, j->to.chat, j->to.buyer, text, NULL, NULL, NULL, NULL, NULL);
}

static int fh_probe_count(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	(void)p;
	if (ncols == 1 && cols[0].type == SK_INT)
		*(int64_t *)ud = cols[0].i;
	return 0;
}

/* Replies with printf-formatted text; returns the reply's rc. */
static int fh_probe_replyf(sk_plugin *p, const sk_event *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fh_probe_replyf(sk_plugin *p, const sk_event *e, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	return sk_reply(p, e, text, NULL, NULL, NULL);
}

static int fh_probe_on_text(sk_plugin *p, const sk_event *e, void *ud)
{
	const char *t = e->text;
	int rc = SK_OK;

	(void)ud;
	if (!strncmp(t, "once ", 5)) {
		fh_probe_to *to = fh_probe_to_new(e);

		rc = to ? sk_timer_add(p, strtoull(t + 5, NULL, 10), 0, fh_probe_fired, to, free, NULL) : SK_ERR_NOMEM;
	} else if (!strcmp(t, "send")) {
		rc = sk_send_text(p, e->chat_id, e->sender_id, "probe", "t1", fh_probe_sent, NULL, NULL, NULL);
		if (rc < 0)
			sk_log(p, SK_LOG_WARN, "send failed: %s", sk_strerror(p, rc));
	} else if (!strncmp(t, "status ", 7)) {
		int state = -1;
		char *detail = NULL;

		rc = sk_send_status(p, t + 7, &state, &detail);
		if (rc == SK_OK)
			rc = fh_probe_replyf(p, e, "status %d %s", state, detail ? detail : "-");
		else
			rc = fh_probe_replyf(p, e, "status %s", sk_strerror(p, rc));
		sk_free(p, detail);
	} else if (!strcmp(t, "mtop")) {
		fh_probe_to *to = fh_probe_to_new(e);

		rc = to ? sk_mtop(p, "mtop.fh.probe", "{\"q\":1}", fh_probe_mtop_done, to, free) : SK_ERR_NOMEM;
	} else if (!strcmp(t, "work")) {
		fh_probe_job *j = calloc(1, sizeof *j);

		if (!j)
			return SK_ERR_NOMEM;
		snprintf(j->to.chat, sizeof j->to.chat, "%s", e->chat_id);
		snprintf(j->to.buyer, sizeof j->to.buyer, "%s", e->sender_id);
		rc = sk_work(p, fh_probe_work, fh_probe_work_done, j, free);
	} else if (!strncmp(t, "http ", 5)) {
		fh_probe_http *h = calloc(1, sizeof *h);

		if (!h)
			return SK_ERR_NOMEM;
		snprintf(h->to.chat, sizeof h->to.chat, "%s", e->chat_id);
		snprintf(h->to.buyer, sizeof h->to.buyer, "%s", e->sender_id);
		h->p = p;
		rc = sk_http_post(p, t + 5, "X-Probe: 1", "{\"q\":1}", 7, 2500, fh_probe_http_done, h, fh_probe_http_free);
		if (rc < 0)
			rc = fh_probe_replyf(p, e, "http rc %d", rc);
	} else if (!strncmp(t, "httph ", 6)) {
		rc = sk_http_post(p, "http://127.0.0.1:9/", t + 6, "", 0, 0, NULL, NULL, NULL);
		rc = fh_probe_replyf(p, e, "httph %d", rc);
	} else if (!strcmp(t, "state")) {
		rc = fh_probe_replyf(p, e, "state %d", sk_session_state(p));
	} else if (!strcmp(t, "whoami")) {
		rc = fh_probe_replyf(p, e, "%s %s %s", sk_account_id(p), sk_own_user_id(p), sk_rules_path(p));
	} else if (!strcmp(t, "db")) {
		sk_value v = SK_VTEXT(e->message_id);
		int64_t n = -1;

		rc = sk_db_exec(p, "INSERT INTO fh_probe_seen(message_id) VALUES(?1)", &v, 1, NULL, NULL);
		if (rc == SK_OK)
			rc = sk_db_exec(p, "SELECT count(*) FROM fh_probe_seen", NULL, 0, fh_probe_count, &n);
		if (rc == SK_OK)
			rc = fh_probe_replyf(p, e, "db %lld", (long long)n);
	} else {
		return SK_PASS;
	}
	return rc < 0 ? rc : SK_STOP;
}

static int fh_probe_on_other(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	if (e->type == SK_EV_SESSION)
		sk_log(p, SK_LOG_INFO, "session %d->%d", e->prev_state, e->state);
	else if (e->type == SK_EV_SEND_RESULT)
		sk_log(p, SK_LOG_INFO, "result %s %s %d", e->send_uuid, e->send_tag, e->send_ok);
	return SK_PASS;
}

static int fh_probe_init(sk_plugin *p)
{
	fh_probe_state *st = calloc(1, sizeof *st);
	sk_filter f = { .flags = SK_F_SKIP_OWN };
	int64_t period = sk_config_int(p, "period_ms", 1000);
	int rc;

	if (!st)
		return SK_ERR_NOMEM;
	p->ud = st;
	/* The host frees st when the timer ends, after fini. */
	rc = sk_timer_add(p, (uint64_t)period, (uint64_t)period, fh_probe_tick, st, free, NULL);
	if (rc == SK_OK)
		rc = sk_subscribe(p, SK_MASK(SK_EV_CHAT_TEXT), &f, 0, fh_probe_on_text, NULL, NULL, NULL);
	if (rc == SK_OK)
		rc = sk_subscribe(p, SK_MASK(SK_EV_SESSION) | SK_MASK(SK_EV_SEND_RESULT), NULL, 0, fh_probe_on_other,
				  NULL, NULL, NULL);
	return rc;
}

/* `fh_http`: no loop in a command, so sk_http_post must be refused. */
static int fh_probe_command(sk_plugin *p, int argc, char **argv)
{
	fh_probe_http *h = calloc(1, sizeof *h);
	int rc;

	(void)argc, (void)argv;
	fh_probe_http_frees = 0;
	rc = sk_http_post(p, "http://127.0.0.1:9/", NULL, "{}", 2, 0, fh_probe_http_done, h, fh_probe_http_free);
	fprintf(stderr, "fh_http rc=%d frees=%d\n", rc, fh_probe_http_frees);
	return rc == SK_ERR_STATE && fh_probe_http_frees == 1 ? 0 : 1;
}

static const char *const fh_probe_commands[] = { "fh_http", NULL };

static void fh_probe_fini(sk_plugin *p)
{
	fh_probe_state *st = p->ud;

	sk_log(p, SK_LOG_INFO, "fini ticks=%d", st->ticks);
}

SK_PLUGIN(.name = "fh_probe", .version = "1.0", .description = "exercises the fake host", .init = fh_probe_init,
	  .fini = fh_probe_fini, .config_keys = fh_probe_keys, .migrations = fh_probe_migrations,
	  .commands = fh_probe_commands, .command = fh_probe_command);
