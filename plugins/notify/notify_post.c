/* SPDX-License-Identifier: MIT */
/*
 * plugins/notify/notify_post.c - the outbox of alerts: the hourly rate
 * limit's window (and its summary), and posting one alert at a time to the
 * webhook with retries.
 */

#include "notify_int.h"

/* ---- the rate limit's window ---------------------------------------------------- */

static void nt_window_cb(sk_plugin *p, uint64_t id, void *ud)
{
	nt_state *st = p->ud;

	(void)id, (void)ud;
	st->window_timer = 0;
	notify_window_check(p, st);
}

/* (Re)arms the window timer to fire in delay ms. */
static void nt_window_arm(sk_plugin *p, nt_state *st, int64_t delay)
{
	if (st->window_timer)
		sk_timer_cancel(p, st->window_timer);
	st->window_timer = 0;
	if (sk_timer_add(p, (uint64_t)(delay > 0 ? delay : 0), 0, nt_window_cb, NULL, NULL, &st->window_timer) < 0)
		st->window_timer = 0;
}

typedef struct {
	nt_buf b;
	int64_t total;
} nt_kinds_acc;

static int nt_row_kind(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	nt_kinds_acc *k = ud;
	char part[80];

	(void)p;
	if (n < 2 || c[0].type != SK_TEXT || c[1].type != SK_INT)
		return 0;
	snprintf(part, sizeof part, "%s%lld %s", k->total ? ", " : "", (long long)c[1].i, c[0].s);
	notify_adds(&k->b, part);
	k->total += c[1].i;
	return 0;
}

/* Sends the summary of the suppressed alerts when the hour has room, else
 * arms the timer for when the oldest admitted alert leaves the window. */
void notify_window_check(sk_plugin *p, nt_state *st)
{
	int64_t now = sk_now_ms(p), admitted, oldest = 0;
	nt_kinds_acc k = { { 0 }, 0 };
	char id[32], count[24];
	nt_alert a;

	if (sk_db_exec(p, "SELECT kind, count(*) FROM notify_alert WHERE state = 'suppressed' AND summary_id = '' "
		       "GROUP BY kind ORDER BY kind", NULL, 0, nt_row_kind, &k) < 0 || !k.total) {
		free(k.b.p);
		return;
	}
	if ((admitted = notify_admitted(p, now)) < 0) {
		free(k.b.p);
		return;
	}
	if (admitted >= st->max_per_hour) {
		sk_value v = SK_VINT(now - NT_HOUR_MS);

		sk_db_exec(p, "SELECT min(created_ms) FROM notify_alert WHERE state <> 'suppressed' AND created_ms > ?",
			   &v, 1, notify_row_int, &oldest);
		free(k.b.p);
		nt_window_arm(p, st, oldest + NT_HOUR_MS - now + 1);
		return;
	}
	notify_alert_init(&a, NT_SUMMARY);
	snprintf(a.key, sizeof a.key, "summary");
	snprintf(count, sizeof count, "%lld", (long long)k.total);
	snprintf(a.text, sizeof a.text, "%lld 条提醒因频率限制被暂缓（每小时最多 %lld 条）：%s",
		 (long long)k.total, (long long)st->max_per_hour, k.b.p ? k.b.p : "");
	a.v[V_COUNT] = count;
	free(k.b.p);
	if (sk_db_begin(p) < 0)
		return;
	if (notify_raise(p, st, &a, NT_NOKICK, id) == 0) {
		sk_value v[2] = { SK_VTEXT(id), SK_VINT(now) };

		sk_db_exec(p, "UPDATE notify_alert SET summary_id = ?, updated_ms = ? WHERE state = 'suppressed' AND "
			   "summary_id = ''", v, 2, NULL, NULL);
	}
	sk_db_commit(p);
	notify_kick(p, st);
}

/* ---- posting ------------------------------------------------------------------------ */

static void nt_queue_cb(sk_plugin *p, uint64_t id, void *ud)
{
	nt_state *st = p->ud;

	(void)id, (void)ud;
	st->queue_timer = 0;
	notify_kick(p, st);
}

/* The retry delay after attempts failed attempts. */
static int64_t nt_backoff(const nt_state *st, int64_t attempts)
{
	int64_t d = st->retry_base_ms;

	for (int64_t i = 1; i < attempts && d < st->retry_max_ms; i++)
		d *= 2;
	return d < st->retry_max_ms ? d : st->retry_max_ms;
}

/* Records the outcome of a POST of row r (its attempt already counted) and
 * moves the queue on. */
static void nt_on_http(sk_plugin *p, int status, const char *body, void *ud)
{
	nt_state *st = p->ud;
	nt_req *q = ud;
	int64_t now = sk_now_ms(p), attempts = 0;
	char err[160];

	(void)body;
	st->inflight = 0;
	{
		sk_value v = SK_VINT(q->row);

		sk_db_exec(p, "SELECT attempts FROM notify_alert WHERE id = ?", &v, 1, notify_row_int, &attempts);
	}
	if (status < 0)
		snprintf(err, sizeof err, "no answer (%s)", sk_strerror(p, status));
	else
		snprintf(err, sizeof err, "HTTP %d", status);
	if (status >= 200 && status <= 299) {
		sk_value v[4] = { SK_VINT(attempts), SK_VINT(status), SK_VINT(now), SK_VINT(q->row) };

		sk_db_exec(p, "UPDATE notify_alert SET state = 'delivered', attempts = ?, last_status = ?, last_error = '', "
			   "updated_ms = ? WHERE id = ?", v, 4, NULL, NULL);
		sk_log(p, SK_LOG_INFO, "alert %s delivered (HTTP %d, attempt %lld)", q->id, status, (long long)attempts);
		st->pause_until = 0;
	} else if (status < 0 || status == 408 || status == 429 || status >= 500) {
		int64_t d = nt_backoff(st, attempts);
		sk_value v[6] = { SK_VINT(attempts), SK_VINT(now + d), SK_VINT(status), SK_VTEXT(err), SK_VINT(now),
			SK_VINT(q->row) };

		sk_db_exec(p, "UPDATE notify_alert SET attempts = ?, next_ms = ?, last_status = ?, last_error = ?, "
			   "updated_ms = ? WHERE id = ? AND state = 'pending'", v, 6, NULL, NULL);
		sk_log(p, SK_LOG_WARN, "alert %s: the receiver gave %s; attempt %lld again in %lld ms", q->id, err,
		       (long long)attempts + 1, (long long)d);
		st->pause_until = now + d;
	} else {
		sk_value v[5] = { SK_VINT(attempts), SK_VINT(status), SK_VTEXT(err), SK_VINT(now), SK_VINT(q->row) };

		sk_db_exec(p, "UPDATE notify_alert SET state = 'failed', attempts = ?, last_status = ?, last_error = ?, "
			   "updated_ms = ? WHERE id = ?", v, 5, NULL, NULL);
		sk_log(p, SK_LOG_WARN, "alert %s given up: the receiver refused it with %s (not retried; check notify.url "
		       "and notify.header)", q->id, err);
	}
	notify_kick(p, st);
}

typedef struct {
	int64_t row, attempts, next_ms, created_ms;
	char id[32], kind[32];
	char *body;
} nt_head;

static int nt_row_head(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	nt_head *h = ud;

	(void)p;
	if (n < 7)
		return 1;
	h->row = c[0].i;
	snprintf(h->id, sizeof h->id, "%s", c[1].s ? c[1].s : "");
	snprintf(h->kind, sizeof h->kind, "%s", c[2].s ? c[2].s : "");
	h->body = strdup(c[3].s ? c[3].s : "");
	h->attempts = c[4].i;
	h->next_ms = c[5].i;
	h->created_ms = c[6].i;
	return 1;
}

/* Posts the oldest pending alert when nothing is in flight and its time has
 * come; else arms the queue timer for that time. */
void notify_kick(sk_plugin *p, nt_state *st)
{
	nt_head h = { 0 };
	int64_t now = sk_now_ms(p), due;
	char headers[1200];
	nt_req *q;
	int rc;

	if (st->inflight)
		return;
	if (!st->url) {
		/* kept, and posted once a url is set (notify_reconfig kicks) */
		sk_value v = SK_VINT(now);

		sk_db_exec(p, "UPDATE notify_alert SET last_error = 'no webhook set', updated_ms = ? WHERE state = "
			   "'pending' AND last_error = ''", &v, 1, NULL, NULL);
		return;
	}
	for (;;) {
		if (sk_db_exec(p, "SELECT id, alert_id, kind, body, attempts, next_ms, created_ms FROM notify_alert "
			       "WHERE state = 'pending' ORDER BY id LIMIT 1", NULL, 0, nt_row_head, &h) < 0 || !h.row) {
			free(h.body);
			return;
		}
		if (!st->expire_ms || now - h.created_ms <= st->expire_ms)
			break;
		{
			char why[80];
			sk_value v[3];

			/* SK_VTEXT takes the length: the text first */
			snprintf(why, sizeof why, "undelivered for %lld s: expired", (long long)(now - h.created_ms) / 1000);
			v[0] = SK_VTEXT(why);
			v[1] = SK_VINT(now);
			v[2] = SK_VINT(h.row);
			sk_log(p, SK_LOG_WARN, "alert %s (%s) dropped: %s after %lld attempt(s)", h.id, h.kind, why,
			       (long long)h.attempts);
			free(h.body);
			memset(&h, 0, sizeof h);
			if (sk_db_exec(p, "UPDATE notify_alert SET state = 'expired', last_error = ?, updated_ms = ? "
				       "WHERE id = ?", v, 3, NULL, NULL) < 0)
				return;
		}
	}
	due = h.next_ms > st->pause_until ? h.next_ms : st->pause_until;
	if (due > now) {
		if (st->queue_timer)
			sk_timer_cancel(p, st->queue_timer);
		if (sk_timer_add(p, (uint64_t)(due - now), 0, nt_queue_cb, NULL, NULL, &st->queue_timer) < 0)
			st->queue_timer = 0;
		free(h.body);
		return;
	}
	if (!h.body || !(q = calloc(1, sizeof *q))) {
		free(h.body);
		return;
	}
	q->row = h.row;
	snprintf(q->id, sizeof q->id, "%s", h.id);
	snprintf(headers, sizeof headers, "X-Shopkeep-Alert-Id: %s\nX-Shopkeep-Kind: %s\nX-Shopkeep-Attempt: %lld%s%s",
		 h.id, h.kind, (long long)h.attempts + 1, st->header ? "\n" : "", st->header ? st->header : "");
	/* counted before it goes out: an attempt cut short by a crash counts too */
	{
		sk_value v[2] = { SK_VINT(now), SK_VINT(h.row) };

		sk_db_exec(p, "UPDATE notify_alert SET attempts = attempts + 1, updated_ms = ? WHERE id = ?", v, 2, NULL,
			   NULL);
	}
	st->inflight = h.row;
	rc = sk_http_post(p, st->url, headers, h.body, strlen(h.body), (int)st->timeout_ms, nt_on_http, q, free);
	free(h.body);
	if (rc < 0) {
		/* not even started: counts as a failed attempt, so it waits */
		nt_req r = { .row = h.row };

		snprintf(r.id, sizeof r.id, "%s", h.id);
		st->inflight = 0;
		if (rc == SK_ERR_INVAL) {
			sk_value v[3] = { SK_VTEXT("the host refused the request"), SK_VINT(now), SK_VINT(h.row) };

			sk_db_exec(p, "UPDATE notify_alert SET state = 'failed', last_error = ?, updated_ms = ? WHERE id = ?",
				   v, 3, NULL, NULL);
			sk_log(p, SK_LOG_ERR, "alert %s given up: the host refused the request", h.id);
			notify_kick(p, st);
			return;
		}
		nt_on_http(p, rc, "", &r);
	}
}
