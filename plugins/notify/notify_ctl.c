/* SPDX-License-Identifier: MIT */
/*
 * plugins/notify/notify_ctl.c - the control commands of the web page:
 * notify_list, notify_test, notify_retry, and their table (nt_controls),
 * which init registers through notify_controls_add.
 */

#include "notify_int.h"

/* ---- control commands -------------------------------------------------------------------- */

static int nt_row_alert(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	static const char *const cols[] = { "id", "kind", "key", "state", "text", "attempts", "repeats", "last_status",
		"last_error", "summary_id", "created_ms", "updated_ms" };
	cJSON *arr = ud, *o = cJSON_CreateObject();

	(void)p;
	for (int i = 0; i < n && i < (int)(sizeof cols / sizeof cols[0]); i++) {
		if (c[i].type == SK_INT)
			cJSON_AddNumberToObject(o, cols[i], (double)c[i].i);
		else
			cJSON_AddStringToObject(o, cols[i], c[i].s ? c[i].s : "");
	}
	cJSON_AddItemToArray(arr, o);
	return 0;
}

/* The number of alerts in state (0 when the query fails). */
int64_t notify_count_state(sk_plugin *p, const char *state)
{
	sk_value v = SK_VTEXT(state);
	int64_t n = 0;

	sk_db_exec(p, "SELECT count(*) FROM notify_alert WHERE state = ?", &v, 1, notify_row_int, &n);
	return n;
}

/* notify_list {limit, state}: see the top of the file. */
static int nt_ctl_list(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	static const char *const states[] = { "pending", "delivered", "failed", "suppressed", "expired", NULL };
	nt_state *st = p->ud;
	cJSON *d = skctl_data(p, command, data_json), *out, *arr;
	const cJSON *s;
	const char *state = NULL;
	int64_t limit;
	int rc;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	if ((limit = skctl_count(p, command, d, "limit", 50, 1000)) < 0) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	s = cJSON_GetObjectItemCaseSensitive(d, "state");
	if (s && !cJSON_IsNull(s)) {
		for (int i = 0; states[i] && cJSON_IsString(s); i++)
			if (!strcmp(states[i], s->valuestring))
				state = states[i];
		if (!state) {
			cJSON_Delete(d);
			return skctl_fail(p, SK_ERR_INVAL, "%s: state must be one of pending, delivered, failed, suppressed, expired",
					  command);
		}
	}
	cJSON_Delete(d);
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, "alerts");
	{
		sk_value v[3] = { SK_VINT(state != NULL), SK_VTEXT(state ? state : ""), SK_VINT(limit) };

		rc = sk_db_exec(p, "SELECT alert_id, kind, key, state, text, attempts, repeats, last_status, last_error, "
				"summary_id, created_ms, updated_ms FROM notify_alert WHERE ?1 = 0 OR state = ?2 "
				"ORDER BY id DESC LIMIT ?3", v, 3, nt_row_alert, arr);
	}
	if (rc < 0) {
		cJSON_Delete(out);
		return skctl_fail(p, rc, "%s: database error (%s)", command, sk_strerror(p, rc));
	}
	cJSON_AddNumberToObject(out, "pending", (double)notify_count_state(p, "pending"));
	cJSON_AddNumberToObject(out, "suppressed", (double)notify_count_state(p, "suppressed"));
	cJSON_AddNumberToObject(out, "dropped_repeats", (double)st->dropped);
	return skctl_answer(p, out);
}

/* notify_test {text}: queues a test alert (never deduplicated). */
static int nt_ctl_test(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	nt_state *st = p->ud;
	cJSON *d = skctl_data(p, command, data_json), *out;
	const cJSON *t;
	char id[32] = "";
	nt_alert a;
	int rc;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	t = cJSON_GetObjectItemCaseSensitive(d, "text");
	if (t && !cJSON_IsNull(t) && (!cJSON_IsString(t) || strlen(t->valuestring) > NT_MESSAGE_MAX)) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: text must be a string of at most %d bytes", command,
				  NT_MESSAGE_MAX);
	}
	notify_alert_init(&a, NT_TEST);
	snprintf(a.key, sizeof a.key, "test");
	snprintf(a.text, sizeof a.text, "%s", cJSON_IsString(t) ? t->valuestring : "来自 shopkeep 的测试提醒");
	cJSON_Delete(d);
	if ((rc = notify_raise(p, st, &a, 0, id)) < 0)
		return skctl_fail(p, rc, "%s: the alert could not be stored (%s)", command, sk_strerror(p, rc));
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", id);
	cJSON_AddStringToObject(out, "state", rc == 2 ? "suppressed" : "pending");
	return skctl_answer(p, out);
}

/* notify_retry {failed}: posts the pending alerts now; failed ones too with failed true. */
static int nt_ctl_retry(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	nt_state *st = p->ud;
	cJSON *d = skctl_data(p, command, data_json), *out;
	const cJSON *f;
	sk_value v = SK_VINT(sk_now_ms(p));

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	f = cJSON_GetObjectItemCaseSensitive(d, "failed");
	if (f && !cJSON_IsNull(f) && !cJSON_IsBool(f)) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: failed must be true or false", command);
	}
	if (cJSON_IsTrue(f))
		sk_db_exec(p, "UPDATE notify_alert SET state = 'pending', updated_ms = ? WHERE state = 'failed'", &v, 1,
			   NULL, NULL);
	cJSON_Delete(d);
	sk_db_exec(p, "UPDATE notify_alert SET next_ms = 0 WHERE state = 'pending'", NULL, 0, NULL, NULL);
	st->pause_until = 0;
	if (st->queue_timer)
		sk_timer_cancel(p, st->queue_timer);
	st->queue_timer = 0;
	notify_kick(p, st);
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "pending", (double)notify_count_state(p, "pending"));
	return skctl_answer(p, out);
}

static const skctl_row nt_controls[] = {
	{ "notify_list", "{limit, state}: recent alerts and their states", nt_ctl_list },
	{ "notify_test", "{text}: queue a test alert", nt_ctl_test },
	{ "notify_retry", "{failed}: post the waiting alerts now", nt_ctl_retry },
};

/* Registers the control commands of nt_controls, in order, up to the first
 * the host refuses. 0, or that refusal (<0). */
int notify_controls_add(sk_plugin *p)
{
	int rc = 0;

	for (size_t i = 0; rc >= 0 && i < sizeof nt_controls / sizeof nt_controls[0]; i++)
		rc = sk_control_add(p, nt_controls[i].name, nt_controls[i].help, nt_controls[i].fn, NULL, NULL);
	return rc < 0 ? rc : 0;
}
