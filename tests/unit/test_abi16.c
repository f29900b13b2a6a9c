/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_abi16.c - the services of ABI 1.6 through the fake host
 * and tests/plugins/run_probe: sk_control_run (another plugin's command,
 * its result, its error text, an unknown or bad name, refused inside a
 * control command) and sk_seal / sk_unseal (a round trip, the plaintext
 * nowhere in the sealed text or the log, another plugin's sealed text
 * refused, a `shopkeep secret set` file's content opened, tampering
 * refused, no key file).
 */
#include <stdlib.h>
#include <string.h>

#include "fakehost/fakehost.h"
#include "secret.h"
#include "tap.h"


/* The message of the last log line holding "T:<what>:", or "". */
static const char *last_trace(fh *f, const char *what)
{
	char pre[64];
	const char *m = "";

	snprintf(pre, sizeof pre, "T:%s:", what);
	for (size_t i = 0; i < fh_nlogs(f); i++)
		if (strstr(fh_log_at(f, i)->msg, pre))
			m = strstr(fh_log_at(f, i)->msg, pre) + strlen(pre);
	return m;
}

/* Whether any log line holds s. */
static int logged(fh *f, const char *s)
{
	return fh_log_find(f, s) > 0;
}

int main(void)
{
	char so[512], payload[2048], sealed[1024], err[300], *raw = NULL;
	const char *t;
	fh *f = fh_new("{}", NULL);

	if (!ok(f != NULL, "fake host created"))
		return tap_done();
	is_int(fh_load(f, fh_build_path(so, sizeof so, "tests/plugins/ctl_probe.so"), NULL), 0, "ctl_probe loads");
	is_int(fh_load(f, fh_build_path(so, sizeof so, "tests/plugins/run_probe.so"), NULL), 0, "run_probe loads");

	/* sk_control_run */
	fh_topic(f, "core", "run_probe.run", "{\"command\":\"ctl_echo\",\"data\":{\"a\":[1,\"x\"]}}");
	is_str(last_trace(f, "run"), "0:{\"a\":[1,\"x\"]}:-", "control_run: another plugin's command answers its data");
	fh_topic(f, "core", "run_probe.run", "{\"command\":\"ctl_none\"}");
	is_str(last_trace(f, "run"), "0:null:-", "control_run: no data given is {} and no result is null");
	fh_topic(f, "core", "run_probe.run", "{\"command\":\"ctl_fail_msg\",\"data\":{}}");
	snprintf(payload, sizeof payload, "%d:-:no such thing here", SK_ERR_NOTFOUND);
	is_str(last_trace(f, "run"), payload, "control_run: the command's rc and error text");
	fh_topic(f, "core", "run_probe.run", "{\"command\":\"nobody_has_this\",\"data\":{}}");
	snprintf(payload, sizeof payload, "%d:-:unknown command", SK_ERR_NOTFOUND);
	is_str(last_trace(f, "run"), payload, "control_run: an unknown command is SK_ERR_NOTFOUND");
	fh_topic(f, "core", "run_probe.run", "{\"command\":\"status\",\"data\":{}}");
	snprintf(payload, sizeof payload, "%d:-:unknown command", SK_ERR_NOTFOUND);
	is_str(last_trace(f, "run"), payload, "control_run: the core's own commands are not run");
	fh_topic(f, "core", "run_probe.run", "{\"command\":\"Bad Name\",\"data\":{}}");
	snprintf(payload, sizeof payload, "%d:-:-", SK_ERR_INVAL);
	is_str(last_trace(f, "run"), payload, "control_run: a bad name is SK_ERR_INVAL");
	fh_topic(f, "core", "run_probe.run", "{\"command\":\"ctl_echo\",\"data\":[1]}");
	is_str(last_trace(f, "run"), payload, "control_run: data that is not an object is SK_ERR_INVAL");
	{
		const char *out = NULL;
		char want[64];

		is_int(fh_control(f, "run_probe_nested", "{}", &out), 0, "a command that runs another answers");
		snprintf(want, sizeof want, "{\"rc\":%d}", SK_ERR_STATE);
		is_str(out ? out : "", want, "control_run inside a control command is SK_ERR_STATE");
	}

	/* sk_seal / sk_unseal */
	fh_topic(f, "core", "run_probe.seal", "{\"text\":\"sk-live-PLAINKEY-123\"}");
	t = last_trace(f, "seal");
	ok(!strncmp(t, "0:", 2) && strlen(t) > 40, "seal: SK_OK and a sealed text");
	snprintf(sealed, sizeof sealed, "%s", strncmp(t, "0:", 2) ? "" : t + 2);
	ok(!strstr(sealed, "PLAINKEY"), "seal: the plaintext is not in the sealed text");
	snprintf(payload, sizeof payload, "{\"sealed\":\"%s\"}", sealed);
	fh_topic(f, "core", "run_probe.open", payload);
	is_str(last_trace(f, "open"), "0:sk-live-PLAINKEY-123", "unseal: the round trip");
	fh_topic(f, "core", "run_probe.seal", "{\"text\":\"sk-live-PLAINKEY-123\"}");
	ok(strcmp(last_trace(f, "seal"), t) != 0, "seal: a new nonce each time");
	{
		size_t n = 0;

		for (size_t i = 0; i < fh_nlogs(f); i++)
			if (strstr(fh_log_at(f, i)->msg, "PLAINKEY") && !strstr(fh_log_at(f, i)->msg, "T:open:0:"))
				n++;
		is_int((int)n, 0, "the host logs nothing of the secret");
	}
	/* tampered: flip a character in the middle */
	sealed[strlen(sealed) / 2] = sealed[strlen(sealed) / 2] == 'A' ? 'B' : 'A';
	snprintf(payload, sizeof payload, "{\"sealed\":\"%s\"}", sealed);
	fh_topic(f, "core", "run_probe.open", payload);
	snprintf(payload, sizeof payload, "%d:-", SK_ERR_INVAL);
	is_str(last_trace(f, "open"), payload, "unseal: a tampered text is SK_ERR_INVAL");
	ok(logged(f, "unseal: sealed text: cannot be decrypted"), "unseal: the reason is logged");

	/* another plugin's sealed text, and a secret file's content */
	if (!ok(secret_seal(fh_key_file(f), "sk-plugin:ctl_probe\nOTHERS", &raw, err, sizeof err) == 0,
		"a text sealed for another plugin (by the core's secret_seal)"))
		diag("%s", err);
	snprintf(payload, sizeof payload, "{\"sealed\":\"%s\"}", raw ? raw : "");
	free(raw);
	raw = NULL;
	fh_topic(f, "core", "run_probe.open", payload);
	snprintf(payload, sizeof payload, "%d:-", SK_ERR_INVAL);
	is_str(last_trace(f, "open"), payload, "unseal: another plugin's sealed text is refused");
	ok(logged(f, "unseal: sealed for another plugin"), "unseal: and logged so");
	ok(secret_seal(fh_key_file(f), "from-a-secret-file", &raw, err, sizeof err) == 0,
	   "a secret file's content (shopkeep secret set)");
	snprintf(payload, sizeof payload, "{\"sealed\":\"%s\\n\"}", raw ? raw : "");
	free(raw);
	fh_topic(f, "core", "run_probe.open", payload);
	is_str(last_trace(f, "open"), "0:from-a-secret-file", "unseal: a secret file's content opens (the newline too)");
	fh_topic(f, "core", "run_probe.open", "{\"sealed\":\"not base64 at all\"}");
	snprintf(payload, sizeof payload, "%d:-", SK_ERR_INVAL);
	is_str(last_trace(f, "open"), payload, "unseal: garbage is SK_ERR_INVAL");
	fh_free(f);

	/* no key file: a host without one (the fake host's key file removed) */
	{
		fh *g = fh_new("{}", NULL);

		fh_load(g, fh_build_path(so, sizeof so, "tests/plugins/run_probe.so"), NULL);
		fh_no_key_file(g);
		fh_topic(g, "core", "run_probe.seal", "{\"text\":\"x\"}");
		snprintf(payload, sizeof payload, "%d:-", SK_ERR_CONFIG);
		is_str(last_trace(g, "seal"), payload, "seal without a key file is SK_ERR_CONFIG");
		ok(logged(g, "the account has no key file"), "and says why");
		fh_free(g);
	}
	return tap_done();
}
