/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_control.c - libFuzzer target: the plugins' control
 * commands (what POST /api/control and a logged-in WebSocket reach beyond
 * the core's own commands), with the events that give them something to
 * work on.
 *
 * Each input runs against a fresh fake host (tests/fakehost: the real
 * core/host.c and core/loader.c, an in-memory state database, a manual
 * clock) with the autoreply and orders plugins loaded from build/fuzz/plugins/
 * (built with the fuzzer's instrumentation) and config/rules.example.json as
 * the rules file. The fuzzer keeps its own handle on each plugin, so the
 * libraries stay mapped (their coverage counters with them) when each
 * input's fake host unloads them. The input is records separated by NUL
 * bytes, each starting with its kind:
 *     c<command> <data JSON>     host_control (data may be left out)
 *     w<envelope JSON>           api_ws_control with the host as the plugins
 *     m<chat> <text>             a buyer's chat text (fh_chat)
 *     t<order id> <sk_trade>     a trade card (fh_trade)
 *     s<0|1>                     the last send finishes, refused or sent
 *     a<ms>                      the clock moves (timers fire)
 * at most 16 records an input.
 *
 * Besides the sanitizers it checks host_control's contract: SK_OK with a
 * result that is JSON text (or none), or a negative sk_rc with an error text;
 * and that api_ws_control answers a JSON object with "success".
 *
 * Seeds: tests/fuzz/corpus/control/ (every command, good and bad data, and
 * the crashes found so far).
 */
#include "api.h"
#include "fakehost/fakehost.h"
#include "fuzz.h"
#include "host.h"
#include "log.h"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#define MAX_RECORDS 16

static char so_ar[PATH_MAX + 32], so_od[PATH_MAX + 32], rules[PATH_MAX + 64];
static const config cfg = { .account_id = "fuzz", .unb = FH_OWN_ID };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	(void)argc;
	(void)argv;
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	if (!(slash = strrchr(exe, '/')))
		return -1;
	*slash = '\0';
	snprintf(so_ar, sizeof so_ar, "%s/plugins/autoreply.so", exe);
	snprintf(so_od, sizeof so_od, "%s/plugins/orders.so", exe);
	/* build/fuzz/ -> the checkout's config/ */
	snprintf(rules, sizeof rules, "%s/../../config/rules.example.json", exe);
	log_set_level("error");
	/* The fake host echoes every plugin log line to stderr: buffer them (the
	 * sanitizers write their reports to the descriptor directly). */
	setvbuf(stderr, NULL, _IOFBF, 1 << 16);
	if (!dlopen(so_ar, RTLD_NOW | RTLD_LOCAL) || !dlopen(so_od, RTLD_NOW | RTLD_LOCAL) || access(rules, R_OK)) {
		fprintf(stderr, "fuzz_control: %s (or %s missing)\n", dlerror() ? dlerror() : "no plugin", rules);
		return -1;
	}
	return 0;
}

/* Runs one control command and checks host_control's answer. */
static void control(fh *f, const char *rec, size_t n)
{
	const char *sp = memchr(rec, ' ', n);
	char *cmd = util_strndup(rec, sp ? (size_t)(sp - rec) : n);
	char *data = sp ? util_strndup(sp + 1, n - (size_t)(sp + 1 - rec)) : NULL;
	char *res = NULL, *err = NULL;
	int rc;

	FUZZ_CHECK(cmd && (data || !sp));
	rc = host_control(fh_host(f), cmd, data, &res, &err);
	if (rc == SK_OK) {
		cJSON *j = res ? cJSON_Parse(res) : NULL;

		FUZZ_CHECK(!res || j);
		cJSON_Delete(j);
	} else {
		FUZZ_CHECK(rc < 0 && err != NULL);
	}
	free(res);
	free(err);
	free(cmd);
	free(data);
}

/* A control envelope through the API, with the fake host as its plugins. */
static void ws_control(fh *f, const char *rec, size_t n)
{
	api_env env = { &cfg, NULL, fh_host(f), NULL, NULL, NULL };
	api_ctx *a = api_new(&env);
	char *ans;
	cJSON *j;

	FUZZ_CHECK(a != NULL);
	ans = api_ws_control(a, rec, n);
	j = ans ? cJSON_Parse(ans) : NULL;
	FUZZ_CHECK(cJSON_IsObject(j) && cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "success")));
	cJSON_Delete(j);
	free(ans);
	api_free(a);
}

/* Runs one record (rec[0..n), NUL-terminated at n). */
static void record(fh *f, char *rec, size_t n)
{
	char *sp = strchr(rec + 1, ' ');

	switch (rec[0]) {
	case 'c':
		control(f, rec + 1, n - 1);
		break;
	case 'w':
		ws_control(f, rec + 1, n - 1);
		break;
	case 'm':
		if (sp)
			*sp = '\0';
		fh_chat(f, rec + 1, "buyer1", sp ? sp + 1 : "");
		break;
	case 't':
		if (sp)
			*sp = '\0';
		/* event.c only makes these statuses */
		fh_trade(f, "chat1", "buyer1", rec + 1,
			 sp ? (int)(strtoul(sp + 1, NULL, 10) % (SK_TRADE_REFUND_CANCELLED + 1)) : SK_TRADE_PAID);
		break;
	case 's':
		if (fh_nsends(f))
			fh_complete_send(f, fh_send_at(f, fh_nsends(f) - 1)->uuid, rec[1] == '1', NULL);
		break;
	case 'a':
		fh_advance(f, strtoll(rec + 1, NULL, 10) % (7 * 86400 * 1000LL));
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	size_t off = 0;
	int nrec = 0;
	fh *f;

	FUZZ_CHECK(in != NULL);
	memcpy(in, data, size);
	in[size] = '\0';
	f = fh_new("{\"orders\":{\"confirm\":\"never\"}}", rules);
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fh_load(f, so_ar, NULL) == 0 && fh_load(f, so_od, NULL) == 0);
	while (off < size && nrec++ < MAX_RECORDS) {
		size_t n = strlen(in + off);

		if (n)
			record(f, in + off, n);
		off += n + 1;
	}
	fh_work_drain(f);
	fh_free(f);
	free(in);
	return 0;
}
