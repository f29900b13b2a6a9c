/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/ctl_probe/ctl_probe.c - control commands (sk_control_add,
 * ABI 1.2) and a rules_check for tests/unit/test_host.c.
 *
 * init tries names the host must refuse - bad ones, the core's own, one
 * without a function, one taken already - then registers the commands
 * below, and calls sk_control_result and sk_control_error outside a command.
 * What each call returned is logged as "T:<token>" for the test's trace:
 *     ctl.add:<name>:<rc>   ctl.taken:<rc>   ctl.nofn:<rc>   ctl.outside:<rc>:<rc>
 * With config fail_init true it then refuses to start (SK_ERR_INVAL).
 *
 * Every registration's ud is a malloc'd label, "ctl:<name>" ("ctl:bad:<name>"
 * for the refused ones, "ctl:taken", "ctl:nofn"); its free_ud appends
 * "free <label>" to the file $SK_TEST_FREE_LOG, as hostcheck_a does.
 *
 * The commands (one function; it logs "T:ctl.run:<command>:<its ud's label>"):
 *   ctl_echo           answers its data as it got it
 *   ctl_none           returns SK_OK without answering (data null)
 *   ctl_null           sk_control_result(NULL)
 *   ctl_bad_json       a result that is not JSON (logs "T:ctl.result:<rc>"), then SK_OK
 *   ctl_bad_then_null  the same, then sk_control_result(NULL): the last answer counts
 *   ctl_fail           SK_ERR_DB without an error text
 *   ctl_fail_msg       sk_control_error("no such thing here"), SK_ERR_NOTFOUND
 *   ctl_result_fail    a result, then SK_ERR_STATE
 *   ctl_error_ok       an error text, then SK_OK
 *   ctl_positive       returns 1, which is not an sk_rc
 *   ctl_<36 x's>       the longest name allowed (40 bytes), answers {}
 *
 * rules_check: a document containing "ctl_bad" has two problems, one with
 * "ctl_silent" is refused without a reason, anything else is fine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

#define CTL_PROBE_LONG "ctl_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const sk_config_key ctl_probe_keys[] = {
	{ .key = "fail_init", .type = SK_CFG_BOOL, .help = "register everything, then refuse to start" },
	{ 0 }
};

static const char *const ctl_probe_bad[] = { "Bad", "9lives", "", "a-b", "with space", CTL_PROBE_LONG "x",
	"status", "send", "list_chats", "reload_rules", "setup_token", "help", NULL };

static const char *const ctl_probe_good[] = { "ctl_echo", "ctl_none", "ctl_null", "ctl_bad_json",
	"ctl_bad_then_null", "ctl_fail", "ctl_fail_msg", "ctl_result_fail", "ctl_error_ok", "ctl_positive",
	CTL_PROBE_LONG, NULL };

/* Logs "T:<formatted>" for the test's trace. */
static void ctl_probe_trace(sk_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctl_probe_trace(sk_plugin *p, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sk_log(p, SK_LOG_INFO, "T:%s", buf);
}

/* A malloc'd label "<a><b>", the ud of a registration. */
static char *ctl_probe_label(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s", a, b);
	return s;
}

/* The free_ud: appends "free <label>" to $SK_TEST_FREE_LOG, frees the label. */
static void ctl_probe_free(void *ud)
{
	const char *path = getenv("SK_TEST_FREE_LOG");
	FILE *f;

	if (ud && path && *path && (f = fopen(path, "a"))) {
		fprintf(f, "free %s\n", (const char *)ud);
		fclose(f);
	}
	free(ud);
}

/* Every command: see the top of the file. */
static int ctl_probe_run(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	ctl_probe_trace(p, "ctl.run:%s:%s", command, (const char *)ud);
	if (!strcmp(command, "ctl_echo"))
		return sk_control_result(p, data_json);
	if (!strcmp(command, "ctl_null"))
		return sk_control_result(p, NULL);
	if (!strcmp(command, "ctl_bad_json")) {
		ctl_probe_trace(p, "ctl.result:%d", sk_control_result(p, "{\"a\":"));
		return SK_OK;
	}
	if (!strcmp(command, "ctl_bad_then_null")) {
		sk_control_result(p, "not json");
		return sk_control_result(p, NULL);
	}
	if (!strcmp(command, "ctl_fail"))
		return SK_ERR_DB;
	if (!strcmp(command, "ctl_fail_msg")) {
		sk_control_error(p, "no such thing here");
		return SK_ERR_NOTFOUND;
	}
	if (!strcmp(command, "ctl_result_fail")) {
		sk_control_result(p, "{\"half\":true}");
		return SK_ERR_STATE;
	}
	if (!strcmp(command, "ctl_error_ok")) {
		sk_control_error(p, "never mind");
		return SK_OK;
	}
	if (!strcmp(command, "ctl_positive"))
		return 1;
	if (!strcmp(command, CTL_PROBE_LONG))
		return sk_control_result(p, "{}");
	return SK_OK;
}

/* Tries the names the host must refuse, registers the commands, then calls
 * the answer functions outside a command. Returns SK_OK, or SK_ERR_INVAL
 * with fail_init. */
static int ctl_probe_init(sk_plugin *p)
{
	int rc;

	for (int i = 0; ctl_probe_bad[i]; i++) {
		rc = sk_control_add(p, ctl_probe_bad[i], "bad", ctl_probe_run, ctl_probe_label("ctl:bad:", ctl_probe_bad[i]),
				    ctl_probe_free);
		ctl_probe_trace(p, "ctl.add:%s:%d", ctl_probe_bad[i], rc);
	}
	rc = sk_control_add(p, NULL, "bad", ctl_probe_run, ctl_probe_label("ctl:bad:", "(null)"), ctl_probe_free);
	ctl_probe_trace(p, "ctl.add:(null):%d", rc);
	rc = sk_control_add(p, "ctl_nofn", "no function", NULL, ctl_probe_label("ctl:", "nofn"), ctl_probe_free);
	ctl_probe_trace(p, "ctl.nofn:%d", rc);
	for (int i = 0; ctl_probe_good[i]; i++) {
		rc = sk_control_add(p, ctl_probe_good[i], ctl_probe_good[i] + 4, ctl_probe_run,
				    ctl_probe_label("ctl:", ctl_probe_good[i]), ctl_probe_free);
		ctl_probe_trace(p, "ctl.add:%s:%d", ctl_probe_good[i], rc);
	}
	rc = sk_control_add(p, "ctl_echo", "again", ctl_probe_run, ctl_probe_label("ctl:", "taken"), ctl_probe_free);
	ctl_probe_trace(p, "ctl.taken:%d", rc);
	ctl_probe_trace(p, "ctl.outside:%d:%d", sk_control_result(p, "{}"), sk_control_error(p, "x"));
	{
		/* sk_control_call (ABI 1.5) is a command process's: in a running one, SK_ERR_STATE */
		char *ans = NULL;

		rc = sk_control_call(p, "status", NULL, &ans);
		ctl_probe_trace(p, "ctl.call:%d:%s", rc, ans ? "answer" : "none");
		sk_free(p, ans);
	}
	return sk_config_bool(p, "fail_init", 0) ? SK_ERR_INVAL : SK_OK;
}

/* See the top of the file. */
static int ctl_probe_rules_check(const char *json, size_t len, char *errs, size_t errlen)
{
	if (memmem(json, len, "ctl_bad", 7)) {
		snprintf(errs, errlen, "ctl_bad: first problem\nctl_bad: second problem\n");
		return -1;
	}
	return memmem(json, len, "ctl_silent", 10) ? -1 : 0;
}

SK_PLUGIN(.name = "ctl_probe", .version = "1.0", .description = "control commands for the host tests",
	  .init = ctl_probe_init, .config_keys = ctl_probe_keys, .rules_check = ctl_probe_rules_check);
