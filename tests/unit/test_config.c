/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_config.c - core/config.c: defaults, every kind of error named
 * with its key, all errors collected, plugin sections, relative paths, secrets
 * kept out of error text, JSON syntax errors; and the `shopkeep check` command
 * line ($SK_BUILD/shopkeep, default build/).
 */
#include "config.h"
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define GOOD_ACCOUNT "\"account\":{\"id\":\"a1\",\"cookie\":\"cna=x; unb=20001; _m_h5_tk=abc_1\"}"
#define GOOD_STATE "\"state\":{\"db\":\"state.db\"}"

static char tmpdir[64];

/* Parses text with base_dir into c (freed by the caller) and returns the errors
 * in a static buffer ("" when none); *rc gets config_parse's result. */
static const char *parse(const char *text, const char *base_dir, config *c, int *rc)
{
	static char out[8192];
	sbuf errs = { 0 };

	*rc = config_parse(text, base_dir, c, &errs);
	snprintf(out, sizeof out, "%s", errs.p ? errs.p : "");
	sbuf_free(&errs);
	return out;
}

/* Parses text and frees the config; returns the error text (static). */
static const char *errors_of(const char *text, int *rc)
{
	config c;
	const char *e = parse(text, "/base", &c, rc);

	config_free(&c);
	return e;
}

/* Returns 1 when errs holds a line that is exactly line. */
static int has_line(const char *errs, const char *line)
{
	size_t n = strlen(line);
	const char *p = errs;

	while ((p = strstr(p, line))) {
		if ((p == errs || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p++;
	}
	return 0;
}

/* Returns the number of lines of s. */
static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Checks that a config of GOOD_ACCOUNT, GOOD_STATE plus extra gives exactly one error, line. */
static void one_error(const char *extra, const char *line)
{
	char text[2048];
	const char *e;
	int rc;

	snprintf(text, sizeof text, "{" GOOD_ACCOUNT "," GOOD_STATE "%s%s}", *extra ? "," : "", extra);
	e = errors_of(text, &rc);
	if (!ok(rc == -1 && has_line(e, line) && lines(e) == 1, "error: %s", line))
		diag("config %s gave:\n%s", text, e);
}

/* Writes s to dir/name; returns the malloc'd path. */
static char *write_file(const char *dir, const char *name, const char *s)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	f = fopen(path, "w");
	if (f) {
		fputs(s, f);
		fclose(f);
	}
	return path;
}

static void test_defaults(void)
{
	config c;
	const char *e;
	int rc;

	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE "}", "/srv/acct", &c, &rc);
	is_int(rc, 0, "minimal config is valid");
	is_str(e, "", "no errors");
	is_str(c.account_id, "a1", "account.id");
	is_str(c.cookie, "cna=x; unb=20001; _m_h5_tk=abc_1", "cookie kept whole");
	ok(c.cookie_file == NULL, "cookie_file NULL for an inline cookie");
	is_str(c.unb, "20001", "unb taken from the cookie");
	is_str(c.ws_url, "wss://wss-goofish.dingtalk.com/", "default ws_url");
	is_str(c.api_url, "https://h5api.m.goofish.com/h5/", "default api_url");
	is_str(c.passport_url, "https://passport.goofish.com/", "default passport_url");
	config_free(&c);
	/* a simulator's api_url (tests, the demo): the passport is its root, never the real host */
	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"platform\":{\"api_url\":\"http://127.0.0.1:4711/h5/\"}}",
		  "/srv/acct", &c, &rc);
	is_str(c.passport_url, "http://127.0.0.1:4711/", "api_url on loopback: passport_url defaults to its root");
	config_free(&c);
	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"platform\":{\"api_url\":\"http://localhost:4711/h5/\","
		  "\"passport_url\":\"http://127.0.0.1:9/\"}}", "/srv/acct", &c, &rc);
	is_str(c.passport_url, "http://127.0.0.1:9/", "a passport_url that is set stays");
	config_free(&c);
	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"platform\":{\"api_url\":\"https://h5api.example/h5/\"}}",
		  "/srv/acct", &c, &rc);
	is_str(c.passport_url, "https://passport.goofish.com/", "api_url elsewhere: the platform's passport");
	config_free(&c);
	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE "}", "/srv/acct", &c, &rc);
	ok(c.renew_min_s == 600 && c.renew_max_s == 1200 && c.renew_long_login == 1,
	   "default keep-alive: every 600..1200 s, long login on");
	is_int(c.chat_open_timeout_ms, 15000, "default session.chat_open_timeout_ms");
	is_int(c.tls_verify, 1, "default tls_verify");
	ok(c.ca_file == NULL, "default ca_file NULL");
	is_int(c.heartbeat_interval_s, 15, "default heartbeat interval");
	is_int(c.heartbeat_timeout_s, 35, "default heartbeat timeout 2 * interval + 5");
	is_int(c.connect_timeout_s, 10, "default connect timeout");
	is_int(c.request_timeout_s, 10, "default request timeout");
	ok(c.reconnect_base_ms[0] == 2000 && c.reconnect_cap_ms[0] == 60000, "default network backoff");
	ok(c.reconnect_base_ms[1] == 1000 && c.reconnect_cap_ms[1] == 15000, "default closed backoff");
	ok(c.reconnect_base_ms[2] == 2000 && c.reconnect_cap_ms[2] == 30000, "default other backoff");
	is_int(c.reconnect_jitter_pct, 25, "default jitter");
	is_int(c.reconnect_healthy_s, 60, "default healthy");
	is_int(c.reconnect_max_retries, 0, "default unlimited retries");
	is_int(c.token_refresh_s, 3600, "default token refresh");
	is_int(c.relogin_check_s, 1800, "default relogin check");
	ok(c.send_rate == 1.0 && c.send_burst == 3 && c.send_queue_max == 1000, "default send pacing");
	is_int(c.send_outbox_keep_days, 7, "finished sends kept 7 days by default");
	is_str(c.state_db, "/srv/acct/state.db", "state.db resolved against base_dir");
	ok(c.plugins_dir && c.plugins_dir[0] == '/', "default plugins.dir is absolute");
	ok(c.n_plugins == 0 && c.plugins_load && !c.plugins_load[0], "no plugins: empty NULL-terminated list");
	ok(c.rules == NULL, "rules NULL");
	is_str(c.log_level, "info", "default log level");
	ok(c.event_log == NULL, "event_log NULL");
	ok(cJSON_IsObject(c.plugin_sections) && !c.plugin_sections->child, "plugin_sections empty");
	ok(!strcmp(c.web_listen, "127.0.0.1:8080") && c.web_port == 8080, "default web.listen 127.0.0.1:8080");
	ok(c.web_root && c.web_root[0] == '/' && c.web_session_idle_s == 43200 && !c.web_pwhash_min,
	   "default web.root absolute, session_idle_s 43200, full-cost password hashing");
	ok(c.web_session_max_s == 604800 && c.web_setup_token_s == 3600 && c.web_login_delay_max_ms == 8000,
	   "default web.session_max_s 7 days, setup_token_s 3600, login_delay_max_ms 8000");
	config_free(&c);
	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"web\":{\"listen\":\"off\",\"root\":\"www\"}}", "/srv/acct", &c,
		  &rc);
	ok(rc == 0 && c.web_port == 0 && !strcmp(c.web_root, "/srv/acct/www"), "web.listen off; web.root resolved");
	config_free(&c);
}

static void test_all_keys(void)
{
	const char *text =
		"{\"account\":{\"id\":\"shop-1\",\"cookie\":\"unb=42\"},"
		"\"platform\":{\"ws_url\":\"ws://127.0.0.1:9000/\",\"api_url\":\"http://127.0.0.1:9001/h5\","
		"\"tls_verify\":false,\"ca_file\":\"ca.pem\",\"heartbeat_interval_s\":2,\"heartbeat_timeout_s\":3,"
		"\"connect_timeout_s\":4,\"request_timeout_s\":5},"
		"\"reconnect\":{\"network_base_ms\":10,\"network_cap_ms\":100,\"closed_base_ms\":11,\"closed_cap_ms\":110,"
		"\"other_base_ms\":12,\"other_cap_ms\":120,\"jitter_pct\":0,\"healthy_s\":3,\"max_retries\":7},"
		"\"token\":{\"refresh_before_s\":30,\"relogin_check_s\":60},"
		"\"send\":{\"rate_per_s\":0.5,\"burst\":2,\"queue_max\":10},"
		"\"state\":{\"db\":\"/var/lib/sk/a.db\"},"
		"\"plugins\":{\"dir\":\"plugins\",\"load\":[\"autoreply\",\"delivery\"]},"
		"\"rules\":\"rules.json\",\"log\":{\"level\":\"debug\"},\"debug\":{\"event_log\":\"events.jsonl\"},"
		"\"autoreply\":{\"greeting\":\"hi\"},\"delivery\":{}}";
	config c;
	const char *e;
	int rc;

	e = parse(text, "/etc/sk/", &c, &rc);
	is_int(rc, 0, "every key set: valid");
	is_str(e, "", "every key set: no errors");
	is_str(c.ws_url, "ws://127.0.0.1:9000/", "ws:// accepted");
	is_str(c.api_url, "http://127.0.0.1:9001/h5/", "http:// accepted, '/' appended");
	is_int(c.tls_verify, 0, "tls_verify false");
	is_str(c.ca_file, "/etc/sk/ca.pem", "ca_file resolved");
	ok(c.heartbeat_interval_s == 2 && c.heartbeat_timeout_s == 3, "heartbeat set");
	ok(c.connect_timeout_s == 4 && c.request_timeout_s == 5, "timeouts set");
	ok(c.reconnect_base_ms[0] == 10 && c.reconnect_cap_ms[0] == 100 && c.reconnect_base_ms[1] == 11 &&
	   c.reconnect_cap_ms[1] == 110 && c.reconnect_base_ms[2] == 12 && c.reconnect_cap_ms[2] == 120,
	   "reconnect classes in order network, closed, other");
	ok(c.reconnect_jitter_pct == 0 && c.reconnect_healthy_s == 3 && c.reconnect_max_retries == 7,
	   "jitter, healthy, max_retries");
	ok(c.token_refresh_s == 30 && c.relogin_check_s == 60, "token timings");
	ok(c.send_rate == 0.5 && c.send_burst == 2 && c.send_queue_max == 10, "send pacing");
	is_str(c.state_db, "/var/lib/sk/a.db", "absolute state.db kept");
	is_str(c.plugins_dir, "/etc/sk/plugins", "plugins.dir resolved");
	is_int(c.n_plugins, 2, "two plugins");
	ok(c.plugins_load[0] && !strcmp(c.plugins_load[0], "autoreply") && c.plugins_load[1] &&
	   !strcmp(c.plugins_load[1], "delivery") && !c.plugins_load[2], "plugins.load in order, NULL-terminated");
	is_str(c.rules, "/etc/sk/rules.json", "rules resolved");
	is_str(c.log_level, "debug", "log level");
	is_str(c.event_log, "/etc/sk/events.jsonl", "event_log resolved");
	{
		const cJSON *ar = cJSON_GetObjectItemCaseSensitive(c.plugin_sections, "autoreply");
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(ar, "greeting");

		ok(cJSON_IsString(g) && !strcmp(g->valuestring, "hi"), "plugin section kept for its plugin");
		ok(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(c.plugin_sections, "delivery")),
		   "empty plugin section kept");
	}
	config_free(&c);

	e = errors_of("{" GOOD_ACCOUNT "," GOOD_STATE ",\"platform\":{\"ca_file\":null},\"rules\":null}", &rc);
	ok(rc == 0 && !*e, "null keeps the default");
}

#define WEB_FORMAT "web.listen: must be \"<IPv4 address>:<port>\" (e.g. 127.0.0.1:8080), \"[::1]:<port>\" or \"off\""
#define WEB_NOT_LOOPBACK(a, p) "web.listen: " a " is not a loopback address: the page listens on 127.0.0.0/8 or " \
	"[::1] only; to reach it from another machine use an SSH tunnel (ssh -L " p ":127.0.0.1:" p " host) or a " \
	"TLS reverse proxy on this machine"

/* web.listen is a loopback address or nothing (issue 18 item 9): 0.0.0.0
 * passed and listened on every interface. */
static void test_web_loopback(void)
{
	config c;
	const char *e;
	int rc;

	one_error("\"web\":{\"listen\":\"0.0.0.0:8080\"}", WEB_NOT_LOOPBACK("0.0.0.0", "8080"));
	one_error("\"web\":{\"listen\":\"192.168.1.20:8081\"}", WEB_NOT_LOOPBACK("192.168.1.20", "8081"));
	one_error("\"web\":{\"listen\":\"[::]:8082\"}", WEB_NOT_LOOPBACK("::", "8082"));
	one_error("\"web\":{\"listen\":\"[::ffff:127.0.0.1]:8083\"}", WEB_NOT_LOOPBACK("::ffff:127.0.0.1", "8083"));
	one_error("\"web\":{\"listen\":\"128.0.0.1:8084\"}", WEB_NOT_LOOPBACK("128.0.0.1", "8084"));
	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"web\":{\"listen\":\"127.0.0.2:8085\"}}", "/b", &c, &rc);
	ok(rc == 0 && !*e && c.web_port == 8085, "web.listen 127.0.0.2:8085 (any of 127.0.0.0/8) is accepted (%s)", e);
	config_free(&c);
	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"web\":{\"listen\":\"[::1]:8086\"}}", "/b", &c, &rc);
	ok(rc == 0 && !*e && c.web_port == 8086, "web.listen [::1]:8086 is accepted (%s)", e);
	config_free(&c);
	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"web\":{\"header_timeout_s\":3}}", "/b", &c, &rc);
	ok(rc == 0 && c.web_header_timeout_s == 3, "web.header_timeout_s 3 is taken");
	config_free(&c);
	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE "}", "/b", &c, &rc);
	ok(rc == 0 && c.web_header_timeout_s == 10, "web.header_timeout_s defaults to 10");
	config_free(&c);
}

static void test_error_kinds(void)
{
	int rc;
	const char *e;

	one_error("\"platform\":{\"bogus\":1}", "platform.bogus: unknown key");
	one_error("\"web\":{\"listen\":\"8080\"}", WEB_FORMAT);
	one_error("\"web\":{\"listen\":\"127.0.0.1:99999\"}", WEB_FORMAT);
	one_error("\"web\":{\"listen\":\"127.0.0.1:80 x\"}", WEB_FORMAT);
	one_error("\"web\":{\"listen\":\"127.0.0.1:+80\"}", WEB_FORMAT);
	one_error("\"web\":{\"listen\":\"[::1:8080\"}", WEB_FORMAT);
	one_error("\"web\":{\"listen\":\"::1:8080\"}", WEB_FORMAT);
	one_error("\"web\":{\"header_timeout_s\":0}", "web.header_timeout_s: must be an integer from 1 to 300");
	one_error("\"web\":{\"session_idle_s\":5}", "web.session_idle_s: must be an integer from 60 to 2592000");
	one_error("\"web\":{\"session_max_s\":4}", "web.session_max_s: must be an integer from 5 to 31536000");
	one_error("\"web\":{\"setup_token_s\":\"1h\"}", "web.setup_token_s: must be an integer from 5 to 604800");
	one_error("\"web\":{\"login_delay_max_ms\":30000}", "web.login_delay_max_ms: must be an integer from 10 to 20000");
	one_error("\"debug\":{\"kill_at\":\"comit\"}", "debug.kill_at: must be \"commit\" (tests only)");
	one_error("\"bogus\":{}", "bogus: unknown key (not a core section, nor a plugin in plugins.load)");
	one_error("\"Bogus-Key\":1", "Bogus-Key: unknown key");
	one_error("\"platform\":{\"heartbeat_interval_s\":0}",
		  "platform.heartbeat_interval_s: must be an integer from 1 to 3600");
	one_error("\"platform\":{\"heartbeat_interval_s\":3601}",
		  "platform.heartbeat_interval_s: must be an integer from 1 to 3600");
	one_error("\"platform\":{\"heartbeat_interval_s\":1.5}",
		  "platform.heartbeat_interval_s: must be an integer from 1 to 3600");
	one_error("\"platform\":{\"heartbeat_interval_s\":\"15\"}",
		  "platform.heartbeat_interval_s: must be an integer from 1 to 3600");
	one_error("\"send\":{\"queue_max\":3000000000}", "send.queue_max: must be an integer from 1 to 1000000");
	one_error("\"send\":{\"outbox_keep_days\":0}", "send.outbox_keep_days: must be an integer from 1 to 36500");
	one_error("\"reconnect\":{\"max_retries\":-1}", "reconnect.max_retries: must be an integer from 0 to 1000000");
	one_error("\"reconnect\":{\"jitter_pct\":100}", "reconnect.jitter_pct: must be an integer from 0 to 90");
	one_error("\"reconnect\":{\"closed_base_ms\":20000}",
		  "reconnect.closed_cap_ms: must not be less than reconnect.closed_base_ms");
	one_error("\"platform\":{\"tls_verify\":\"yes\"}", "platform.tls_verify: must be true or false");
	one_error("\"session\":{\"renew_min_s\":1300}",
		  "session.renew_max_s: must not be less than session.renew_min_s (both 0 turn keep-alive off)");
	one_error("\"session\":{\"renew_min_s\":0}",
		  "session.renew_max_s: must not be less than session.renew_min_s (both 0 turn keep-alive off)");
	one_error("\"session\":{\"renew_max_s\":86401}", "session.renew_max_s: must be an integer from 0 to 86400");
	one_error("\"session\":{\"chat_open_timeout_ms\":99}",
		  "session.chat_open_timeout_ms: must be an integer from 100 to 600000");
	one_error("\"platform\":{\"passport_url\":\"ftp://x/\"}",
		  "platform.passport_url: must start with http:// or https://");
	one_error("\"send\":{\"rate_per_s\":-1}", "send.rate_per_s: must be a number from 0 to 1000");
	one_error("\"platform\":{\"ws_url\":\"https://x/\"}", "platform.ws_url: must start with ws:// or wss://");
	one_error("\"platform\":{\"ws_url\":\"wss:///path\"}", "platform.ws_url: has no host");
	one_error("\"platform\":{\"api_url\":\"wss://x/\"}", "platform.api_url: must start with http:// or https://");
	one_error("\"platform\":{\"api_url\":\"http://x/h5/?a=1\"}", "platform.api_url: must be a base URL without '?' or '#'");
	one_error("\"platform\":{\"ws_url\":\"ws://a b/\"}",
		  "platform.ws_url: must not contain spaces or control characters");
	one_error("\"platform\":[]", "platform: must be an object");
	one_error("\"rules\":{}", "rules: must be a non-empty string");
	one_error("\"plugins\":{\"dir\":\"\"}", "plugins.dir: must be a non-empty string");
	one_error("\"log\":{\"level\":\"verbose\"}", "log.level: must be one of error, warn, info, debug");
	one_error("\"plugins\":{\"load\":\"autoreply\"}", "plugins.load: must be a list of plugin names");
	one_error("\"plugins\":{\"load\":[\"AutoReply\"]}",
		  "plugins.load[0]: must be a plugin name: a lower-case letter, then lower-case letters, "
		  "digits or '_', at most 32");
	one_error("\"plugins\":{\"load\":[\"a\",7]}",
		  "plugins.load[1]: must be a plugin name: a lower-case letter, then lower-case letters, "
		  "digits or '_', at most 32");
	one_error("\"plugins\":{\"load\":[\"a\",\"b\",\"a\"]}", "plugins.load[2]: plugin a is listed twice");
	one_error("\"plugins\":{\"load\":[\"state\"]}",
		  "plugins.load[0]: state is a core config section, not a plugin name");
	one_error("\"plugins\":{\"load\":[\"autoreply\"]},\"autoreply\":true",
		  "autoreply: must be an object (the settings of plugin autoreply)");
	one_error("\"platform\":{\"heartbeat_interval_s\":5,\"heartbeat_interval_s\":6}",
		  "platform.heartbeat_interval_s: duplicate key");
	one_error("\"state\":{\"db\":\"other.db\"}", "state: duplicate key");

	/* issue 20: an account may have no cookie yet (it runs FAILED until a
	 * login); its config loads with a warning naming shopkeep login */
	{
		config nc;

		parse("{\"account\":{\"id\":\"a\"}," GOOD_STATE "}", "/base", &nc, &rc);
		ok(rc == 0 && !nc.cookie && !nc.unb && !nc.cookie_secret && nc.warnings &&
		   strstr(nc.warnings, "account.cookie: no cookie yet: log in with `shopkeep login --config"),
		   "no cookie at all: loads, no cookie, warns to log in");
		config_free(&nc);
	}
	e = errors_of("{\"account\":{\"id\":\"a\",\"cookie\":\"unb=1\",\"cookie_file\":\"c\"}," GOOD_STATE "}", &rc);
	ok(rc == -1 && has_line(e, "account.cookie_file: set account.cookie or account.cookie_file, not both") &&
	   lines(e) == 1, "both cookie and cookie_file");
	e = errors_of("{\"account\":{\"cookie\":\"unb=1\"}," GOOD_STATE "}", &rc);
	ok(rc == -1 && has_line(e, "account.id: required") && lines(e) == 1, "account.id required");
	e = errors_of("{" GOOD_ACCOUNT "}", &rc);
	ok(rc == -1 && has_line(e, "state.db: required") && lines(e) == 1, "state.db required");
	e = errors_of("{\"account\":{\"id\":\"a\",\"cookie\":\"cna=1; unbx=2\"}," GOOD_STATE "}", &rc);
	ok(rc == -1 && strstr(e, "account.cookie: the cookie has no unb") && lines(e) == 1, "cookie without unb");
	e = errors_of("{\"account\":{\"id\":\"a\",\"cookie\":\"unb=; x=1\"}," GOOD_STATE "}", &rc);
	ok(rc == -1 && strstr(e, "account.cookie: the cookie has no unb") && lines(e) == 1, "cookie with empty unb");
	e = errors_of("{\"account\":{\"id\":\"a\",\"cookie\":\"unb=1;\\r\\nX-Evil: 1\"}," GOOD_STATE "}", &rc);
	ok(rc == -1 && has_line(e, "account.cookie: the cookie contains a line break or another control character"),
	   "cookie with a line break");
	e = errors_of("{\"account\":{\"id\":7,\"cookie\":\"unb=1\"}," GOOD_STATE "}", &rc);
	ok(rc == -1 && has_line(e, "account.id: must be a non-empty string") && lines(e) == 1,
	   "a bad account.id is not also reported missing");
	e = errors_of("{\"account\":{\"id\":\"a\",\"cookie\":5}," GOOD_STATE "}", &rc);
	ok(rc == -1 && has_line(e, "account.cookie: must be a non-empty string") && lines(e) == 1,
	   "a bad cookie is not also reported missing");
	e = errors_of("{\"account\":{\"id\":\"a\",\"cookie\":\"unb=1\"},\"state\":{\"db\":1}}", &rc);
	ok(rc == -1 && has_line(e, "state.db: must be a non-empty string") && lines(e) == 1,
	   "a bad state.db is not also reported missing");
	e = errors_of("[]", &rc);
	ok(rc == -1 && has_line(e, "config: must be a JSON object"), "top level must be an object");
}

static void test_collects_all(void)
{
	const char *text =
		"{\"account\":{\"id\":\"a\",\"cookie\":\"x=1\"},"
		"\"platform\":{\"ws_url\":\"http://h/\",\"bogus\":1,\"heartbeat_interval_s\":0},"
		"\"send\":{\"burst\":0},\"extra\":1}";
	const char *e;
	int rc;

	e = errors_of(text, &rc);
	is_int(rc, -1, "several errors: fails");
	ok(has_line(e, "platform.ws_url: must start with ws:// or wss://"), "collected: ws_url");
	ok(has_line(e, "platform.bogus: unknown key"), "collected: unknown key");
	ok(has_line(e, "platform.heartbeat_interval_s: must be an integer from 1 to 3600"), "collected: range");
	ok(has_line(e, "send.burst: must be an integer from 1 to 1000"), "collected: burst");
	ok(strstr(e, "extra: unknown key") != NULL, "collected: top-level unknown");
	ok(strstr(e, "account.cookie: the cookie has no unb") != NULL, "collected: unb");
	ok(has_line(e, "state.db: required"), "collected: state.db");
	if (!ok(lines(e) == 7, "exactly seven error lines"))
		diag("%s", e);
}

static void test_plugin_sections(void)
{
	config c;
	const char *e;
	int rc;

	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"autoreply\":{\"anything\":[1,2]},"
		  "\"plugins\":{\"load\":[\"autoreply\"]},\"delivery\":{}}", "/b", &c, &rc);
	is_int(rc, -1, "a section of a plugin not loaded is an error");
	ok(has_line(e, "delivery: unknown key (not a core section, nor a plugin in plugins.load)"),
	   "names the unloaded plugin's section");
	ok(!strstr(e, "autoreply"), "a loaded plugin's section is not checked by the core (even before plugins)");
	ok(cJSON_GetObjectItemCaseSensitive(c.plugin_sections, "autoreply") != NULL, "loaded plugin's section kept");
	ok(!cJSON_GetObjectItemCaseSensitive(c.plugin_sections, "delivery"), "unknown section not kept");
	config_free(&c);
}

static void test_cookie_file(void)
{
	char text[1024];
	char *cf, *cfg, *want;
	config c;
	sbuf errs = { 0 };
	const char *e;
	int rc;

	cf = write_file(tmpdir, "cookie.txt", "cna=q; unb=777; t=1\r\n\n");
	snprintf(text, sizeof text,
		 "{\"account\":{\"id\":\"a\",\"cookie_file\":\"cookie.txt\"}," GOOD_STATE "}");
	e = parse(text, tmpdir, &c, &rc);
	ok(rc == 0 && !*e, "cookie_file relative to base_dir");
	is_str(c.cookie_file, cf, "cookie_file resolved");
	is_str(c.cookie, "cna=q; unb=777; t=1", "cookie read, trailing newlines trimmed");
	is_str(c.unb, "777", "unb from the cookie file");
	config_free(&c);

	/* config_load resolves against the config file's own directory. */
	cfg = write_file(tmpdir, "acct.json", text);
	rc = config_load(cfg, &c, &errs);
	ok(rc == 0 && !errs.len, "config_load: valid");
	is_str(c.cookie_file, cf, "config_load: cookie_file next to the config");
	if (asprintf(&want, "%s/state.db", tmpdir) > 0) {
		is_str(c.state_db, want, "config_load: state.db next to the config");
		free(want);
	}
	config_free(&c);
	sbuf_free(&errs);

	snprintf(text, sizeof text, "{\"account\":{\"id\":\"a\",\"cookie_file\":\"nope.txt\"}," GOOD_STATE "}");
	e = parse(text, tmpdir, &c, &rc);
	ok(rc == -1 && strstr(e, "account.cookie_file: cannot read ") && strstr(e, "nope.txt: No such file") &&
	   lines(e) == 1, "unreadable cookie_file named");
	config_free(&c);

	free(write_file(tmpdir, "nounb.txt", "sid=SECRETSID42\n"));
	snprintf(text, sizeof text, "{\"account\":{\"id\":\"a\",\"cookie_file\":\"nounb.txt\"}," GOOD_STATE "}");
	e = parse(text, tmpdir, &c, &rc);
	ok(rc == -1 && strstr(e, "account.cookie_file: the cookie has no unb"), "cookie_file without unb");
	ok(!strstr(e, "SECRETSID42"), "cookie file contents not shown");
	config_free(&c);

	rc = config_load("/nonexistent/dir/x.json", &c, &errs);
	ok(rc == -1 && errs.p && strstr(errs.p, "/nonexistent/dir/x.json: cannot read"), "missing config file");
	config_free(&c);
	sbuf_free(&errs);
	free(cf);
	free(cfg);
}

static void test_secrets(void)
{
	static const char *const texts[] = {
		"{\"account\":{\"id\":\"a\",\"cookie\":\"unb=1; _m_h5_tk=SECRET1\"},\"platform\":{\"x\":1}}",
		"{\"account\":{\"id\":\"a\",\"cookie\":\"sid=SECRET1; t=2\"}," GOOD_STATE "}",
		"{\"account\":{\"id\":\"a\",\"cookie\":\"unb=SECRET1\\n\"}," GOOD_STATE "}",
		"{\"account\":{\"id\":\"a\",\"cookie\":\"unb=1\"},\"platform\":{\"ws_url\":\"ftp://SECRET1@h/\"}}",
		"{\"account\":{\"id\":\"a\",\"cookie\":\"unb=1; tk=SECRET1",
		"{\"account\":{\"id\":\"a\",\"cookie\":\"unb=1; tk=SECRET1\",}}",
		"{\"account\":{\"id\":\"a\",\"cookie\":[\"SECRET1\"]}}",
	};
	size_t i;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		int rc;
		const char *e = errors_of(texts[i], &rc);

		if (!ok(rc == -1 && *e && !strstr(e, "SECRET1"), "secret not in the errors of config %zu", i))
			diag("%s", e);
	}
}

static void test_syntax(void)
{
	const char *e;
	int rc, line = 0, col = 0;

	/* cJSON stops at the bad character or just past it: column 15 or 16. */
	e = errors_of("{\n  \"account\": {\n    \"id\": \"a\",,\n  }\n}\n", &rc);
	if (!ok(rc == -1 && sscanf(e, "config: JSON syntax error at line %d, column %d", &line, &col) == 2 &&
		line == 3 && (col == 15 || col == 16) && lines(e) == 1, "syntax error with line and column"))
		diag("%s", e);
	e = errors_of("{\"a\":\"\xe4\xbd\xa0\xe5\xa5\xbd\" x}", &rc);
	if (!ok(rc == -1 && has_line(e, "config: JSON syntax error at line 1, column 11"),
		"columns count characters, not bytes"))
		diag("%s", e);
	e = errors_of("{} trailing", &rc);
	ok(rc == -1 && strstr(e, "JSON syntax error at line 1"), "trailing garbage is an error");
	e = errors_of("", &rc);
	ok(rc == -1 && has_line(e, "config: JSON syntax error at line 1, column 1"), "empty text");
}

static void test_cli(void)
{
	const char *build = getenv("SK_BUILD");
	char cmd[1024], bin[512];
	char *good, *bad;
	const char *out;
	int st;

	if (!build || !*build)
		build = "build";
	snprintf(bin, sizeof bin, "%s/shopkeep", build);
	if (!ok(access(bin, X_OK) == 0, "%s exists", bin))
		return;
	good = write_file(tmpdir, "good.json",
			  "{\"account\":{\"id\":\"a\",\"cookie\":\"unb=5; _m_h5_tk=SECRETTK_1\"},"
			  "\"state\":{\"db\":\"s.db\"}}\n");
	bad = write_file(tmpdir, "bad.json",
			 "{\"account\":{\"id\":\"a\",\"cookie\":\"sid=SECRETTK_2\"},"
			 "\"platform\":{\"heartbeat_interval_s\":0,\"bogus\":true}}\n");

	snprintf(cmd, sizeof cmd, "'%s' check --config '%s' 2>&1", bin, good);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && !strcmp(out, "config OK\n"), "check: a good config prints config OK, exit 0");
	snprintf(cmd, sizeof cmd, "'%s' check --config='%s' 2>&1", bin, good);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && !strcmp(out, "config OK\n"), "check: --config=FILE");

	snprintf(cmd, sizeof cmd, "'%s' check --config '%s' 2>&1", bin, bad);
	out = tbot_sh(cmd, &st);
	is_int(st, 1, "check: a bad config exits 1");
	ok(has_line(out, "platform.heartbeat_interval_s: must be an integer from 1 to 3600") &&
	   has_line(out, "platform.bogus: unknown key") && has_line(out, "state.db: required") &&
	   strstr(out, "account.cookie: the cookie has no unb") && lines(out) == 4,
	   "check: every error, one per line");
	ok(!strstr(out, "SECRETTK"), "check: the cookie is not shown");
	ok(!strstr(out, "config OK"), "check: no OK on failure");

	snprintf(cmd, sizeof cmd, "'%s' check --config '%s/missing.json' 2>&1", bin, tmpdir);
	out = tbot_sh(cmd, &st);
	ok(st == 1 && strstr(out, "missing.json: cannot read"), "check: missing file exits 1");

	snprintf(cmd, sizeof cmd, "'%s' check 2>&1", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "--config FILE is required"), "check without --config exits 2");
	snprintf(cmd, sizeof cmd, "'%s' check --config 2>&1", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "needs a FILE"), "--config without a value exits 2");
	snprintf(cmd, sizeof cmd, "'%s' check --verbose --config '%s' 2>&1", bin, good);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "unknown option '--verbose'"), "unknown option exits 2");
	snprintf(cmd, sizeof cmd, "'%s' frobnicate 2>&1", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "unknown command 'frobnicate'"), "unknown command exits 2");
	snprintf(cmd, sizeof cmd, "'%s' --frob 2>&1", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "unknown option '--frob'"), "unknown top-level option exits 2");
	snprintf(cmd, sizeof cmd, "'%s' 2>&1", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "usage:"), "no command: usage, exit 2");
	snprintf(cmd, sizeof cmd, "'%s' --help 2>/dev/null", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && strstr(out, "usage:") && strstr(out, "check --config FILE"), "--help on stdout, exit 0");
	snprintf(cmd, sizeof cmd, "'%s' check --help 2>/dev/null", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && strstr(out, "usage: shopkeep check"), "check --help");
	snprintf(cmd, sizeof cmd, "'%s' run --help 2>/dev/null", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && strstr(out, "usage: shopkeep run"), "run --help");
	snprintf(cmd, sizeof cmd, "'%s' run --config '%s' 2>&1", bin, bad);
	out = tbot_sh(cmd, &st);
	ok(st == 1 && has_line(out, "platform.bogus: unknown key"), "run: a bad config exits 1 with the errors");
	free(bad);
	bad = write_file(tmpdir, "everywhere.json",
			 "{\"account\":{\"id\":\"a\",\"cookie\":\"unb=5; _m_h5_tk=SECRETTK_1\"},"
			 "\"state\":{\"db\":\"s.db\"},\"web\":{\"listen\":\"0.0.0.0:18080\"}}\n");
	snprintf(cmd, sizeof cmd, "'%s' check --config '%s' 2>&1", bin, bad);
	out = tbot_sh(cmd, &st);
	ok(st == 1 && has_line(out, WEB_NOT_LOOPBACK("0.0.0.0", "18080")),
	   "check: web.listen 0.0.0.0 is refused, pointing at an SSH tunnel or a TLS proxy");
	snprintf(cmd, sizeof cmd, "timeout 10 '%s' run --config '%s' 2>&1", bin, bad);
	out = tbot_sh(cmd, &st);
	ok(st == 1 && has_line(out, WEB_NOT_LOOPBACK("0.0.0.0", "18080")), "run: web.listen 0.0.0.0 is refused, exit 1");
	free(good);
	free(bad);
}

/* send.rate_per_s 0 is "no pacing" (make bench): accepted and kept as 0. */
static void test_unpaced(void)
{
	config c;
	const char *e;
	int rc;

	e = parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"send\":{\"rate_per_s\":0}}", tmpdir, &c, &rc);
	if (!ok(rc == 0 && c.send_rate == 0, "send.rate_per_s 0 (no pacing) is accepted"))
		diag("%s", e);
	config_free(&c);
	e = errors_of("{" GOOD_ACCOUNT "," GOOD_STATE ",\"send\":{\"rate_per_s\":1000.5}}", &rc);
	ok(rc == -1 && has_line(e, "send.rate_per_s: must be a number from 0 to 1000"), "send.rate_per_s over 1000 is not");
}

/* backfill.*: defaults, ranges, and SIGHUP takes them. */
static void test_backfill_keys(void)
{
	config c, n;
	sbuf restart = { 0 };
	const char *e;
	int rc;

	parse("{" GOOD_ACCOUNT "," GOOD_STATE "}", tmpdir, &c, &rc);
	ok(rc == 0 && c.backfill_enabled == 1 && c.backfill_delay_ms == 3000 && c.backfill_max_pages == 10 &&
	   c.backfill_max_convs == 100 && c.backfill_max_messages == 1000 && c.backfill_flow_backoff_ms == 2000,
	   "backfill: the defaults");
	parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"backfill\":{\"enabled\":false,\"delay_ms\":0,\"max_pages\":2,"
	      "\"max_convs\":3,\"max_messages\":4,\"flow_backoff_ms\":5}}", tmpdir, &n, &rc);
	ok(rc == 0 && !n.backfill_enabled && n.backfill_delay_ms == 0 && n.backfill_max_pages == 2 &&
	   n.backfill_max_convs == 3 && n.backfill_max_messages == 4 && n.backfill_flow_backoff_ms == 5,
	   "backfill: every key is read");
	config_take_live(&c, &n, &restart);
	ok(!c.backfill_enabled && c.backfill_max_messages == 4 && c.backfill_flow_backoff_ms == 5 && !restart.p,
	   "backfill: SIGHUP takes the keys, no restart needed");
	sbuf_free(&restart);
	config_free(&c);
	config_free(&n);
	e = errors_of("{" GOOD_ACCOUNT "," GOOD_STATE ",\"backfill\":{\"max_pages\":0}}", &rc);
	ok(rc == -1 && has_line(e, "backfill.max_pages: must be an integer from 1 to 1000"),
	   "backfill: max_pages 0 is refused (%s)", e);
}

/* config_take_live (SIGHUP): live keys move, restart-only keys are named and kept. */
static void test_take_live(void)
{
	config c, n;
	sbuf restart = { 0 };
	int rc;

	parse("{" GOOD_ACCOUNT "," GOOD_STATE ",\"send\":{\"rate_per_s\":2},\"log\":{\"level\":\"info\"},"
	      "\"plugins\":{\"load\":[\"autoreply\"]},\"autoreply\":{\"debounce_ms\":1}}", tmpdir, &c, &rc);
	is_int(rc, 0, "take_live: the running config parses");
	parse("{\"account\":{\"id\":\"a2\",\"cookie\":\"cna=x; unb=20001; _m_h5_tk=abc_1\"},"
	      "\"state\":{\"db\":\"other.db\"},\"send\":{\"rate_per_s\":7,\"stop_flush_s\":9,\"outbox_keep_days\":3},"
	      "\"log\":{\"level\":\"debug\"},\"web\":{\"listen\":\"off\",\"session_max_s\":60,\"setup_token_s\":70,"
	      "\"login_delay_max_ms\":80},"
	      "\"plugins\":{\"load\":[\"autoreply\",\"dedup\"]},\"autoreply\":{\"debounce_ms\":2}}", tmpdir, &n, &rc);
	is_int(rc, 0, "take_live: the new one parses");
	config_take_live(&c, &n, &restart);
	ok(c.send_rate == 7 && c.send_stop_flush_s == 9 && c.send_outbox_keep_days == 3, "take_live: send.* taken");
	is_str(c.log_level, "debug", "take_live: log.level taken");
	ok(c.web_session_max_s == 60 && c.web_setup_token_s == 70 && c.web_login_delay_max_ms == 80,
	   "take_live: web.session_max_s, setup_token_s, login_delay_max_ms taken");
	is_int((int)cJSON_GetObjectItem(cJSON_GetObjectItem(c.plugin_sections, "autoreply"), "debounce_ms")->valuedouble, 2,
	       "take_live: the plugins' sections taken");
	is_str(c.account_id, "a1", "take_live: account.id kept");
	ok(strstr(c.state_db, "/state.db") != NULL, "take_live: state.db kept");
	is_str(c.plugins_load[1] ? "2" : "1", "1", "take_live: plugins.load kept");
	is_str(restart.p ? restart.p : "", "account.id, account.key_file, state.db, plugins.load, web.listen, control.socket",
	       "take_live: the keys that need a restart are named (key_file and the socket follow account.id)");
	is_str(n.log_level, "info", "take_live: the old values go to the other config, freed with it");
	sbuf_free(&restart);
	config_free(&c);
	config_free(&n);
}

/* out on one line (a static copy: its newlines as " | "), for a TAP message. */
static const char *one_line(const char *out)
{
	static char buf[2048];
	size_t i;

	for (i = 0; out[i] && i + 4 < sizeof buf; i++)
		buf[i] = out[i];
	buf[i] = '\0';
	while (i && buf[i - 1] == '\n')
		buf[--i] = '\0';
	for (char *p; (p = strchr(buf, '\n'));)
		*p = '|';
	return buf;
}

/* Issue 18 item 5: shopkeep check validates the rules file with every
 * loaded plugin's own validator (it said "config OK" for a missing, broken
 * or bad-regex file, and for two delivery rules one order would match). */
static void test_check_rules(void)
{
	const char *build = getenv("SK_BUILD");
	char cmd[2048], bin[512], dir[4096], cfgtext[8192];
	char *cfg, *rules, *freeme;
	const char *out;
	int st;

	if (!build || !*build)
		build = "build";
	snprintf(bin, sizeof bin, "%s/shopkeep", build);
	if (!(freeme = realpath(build, NULL))) {
		ok(0, "the build dir %s", build);
		return;
	}
	snprintf(dir, sizeof dir, "%s/plugins", freeme);
	free(freeme);
	snprintf(cfgtext, sizeof cfgtext, "{\"account\":{\"id\":\"a\",\"cookie\":\"unb=5; _m_h5_tk=T_1\"},"
		 "\"state\":{\"db\":\"s.db\"},\"plugins\":{\"dir\":\"%s\",\"load\":[\"autoreply\",\"orders\"]},"
		 "\"rules\":\"rules-check.json\"}\n", dir);
	cfg = write_file(tmpdir, "check-rules.json", cfgtext);
	if (asprintf(&rules, "%s/rules-check.json", tmpdir) < 0)
		return;
	snprintf(cmd, sizeof cmd, "'%s' check --config '%s' 2>&1", bin, cfg);
	unlink(rules);

	out = tbot_sh(cmd, &st);
	ok(st == 1 && strstr(out, "rules-check.json: cannot read it: No such file or directory") &&
	   !strstr(out, "config OK"), "check: a missing rules file exits 1 and says so (%s)", one_line(out));
	free(write_file(tmpdir, "rules-check.json", "{\"cards\": [\n"));
	out = tbot_sh(cmd, &st);
	ok(st == 1 && strstr(out, "rules-check.json: not valid JSON (stops at line ") && !strstr(out, "config OK"),
	   "check: a broken rules file exits 1 and says where (%s)", one_line(out));
	free(write_file(tmpdir, "rules-check.json", "[1, 2]"));
	out = tbot_sh(cmd, &st);
	ok(st == 1 && strstr(out, "rules-check.json: must be a JSON object"), "check: rules that are not an object");
	free(write_file(tmpdir, "rules-check.json", "{\"keyword_rules\": [{\"keywords\": [\"a(b\"], "
			"\"match\": \"regex\", \"reply\": \"x\"}]}"));
	out = tbot_sh(cmd, &st);
	/* (the regex engine's own words follow the key: not asserted) */
	ok(st == 1 && strstr(out, "rules-check.json: autoreply: keyword_rules[0].keywords[0]: ") &&
	   !strstr(out, "config OK"), "check: a bad regex exits 1, named by autoreply (%s)", one_line(out));
	free(write_file(tmpdir, "rules-check.json", "{\"cards\": [{\"name\": \"a\", \"type\": \"text\", \"template\": \"x\"},"
			" {\"name\": \"b\", \"type\": \"text\", \"template\": \"y\"}],"
			" \"delivery\": [{\"item_id\": \"1\", \"spec\": \"颜色:红\", \"card\": \"a\"},"
			" {\"item_id\": 1, \"spec\": \"红\", \"card\": \"b\"}]}"));
	out = tbot_sh(cmd, &st);
	ok(st == 1 && strstr(out, "rules-check.json: orders: delivery[1]: delivery[0] is for the same item 1 and spec "
			      "\"红\": an order would match both (cards \"a\" and \"b\")") && lines(out) == 1,
	   "check: two delivery rules one order would match exit 1, named by orders (%s)", one_line(out));
	free(write_file(tmpdir, "rules-check.json", "{\"cards\": [{\"name\": \"a\", \"type\": \"text\", \"template\": \"x\"}],"
			" \"delivery\": [{\"item_id\": \"1\", \"spec\": \"颜色:红\", \"card\": \"a\"},"
			" {\"item_id\": \"1\", \"spec\": \"颜色:蓝\", \"card\": \"a\"}],"
			" \"keyword_rules\": [{\"keywords\": [\"^hi\"], \"match\": \"regex\", \"reply\": \"x\"}]}"));
	out = tbot_sh(cmd, &st);
	ok(st == 0 && !strcmp(out, "config OK\n"), "check: good rules pass (%s)", one_line(out));
	unlink(rules);
	free(rules);
	free(cfg);
}

int main(void)
{
	char cmd[128];

	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk_test_config.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_defaults();
	test_all_keys();
	test_error_kinds();
	test_web_loopback();
	test_collects_all();
	test_plugin_sections();
	test_cookie_file();
	test_secrets();
	test_syntax();
	test_cli();
	test_check_rules();
	test_take_live();
	test_backfill_keys();
	test_unpaced();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return tap_done();
}
