/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_agent_ctl.c - the agent plugin's settings over the page
 * and its control commands (plugins/agent/agent_ctl.c), through the fake
 * host: agent_settings (defaults, the config's values, secrets masked),
 * agent_configure (every field checked like the config, the whole request
 * refused on one error, saved in agent_setting / agent_item over the config
 * key by key, applied at once, kept across a restart, null back to the
 * config's), the API key from api_key_file and the page's key winning, the
 * key and the headers stored sealed and never in an answer or a log line,
 * the items' settings, agent_prompts / agent_prompt_set, agent_decisions,
 * agent_sends and the calls used.
 */
#include "fakehost/fakehost.h"
#include "secret.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_KEY "sk-file-0123456789ABCDEFfk"
#define PAGE_KEY "sk-page-9876543210zyxwvuPK"
#define HDR_SECRET "org-H3ADERSECRET-77"
#define URL_SECRET "s3cr3tqueryvalue99"
#define URL_PASS "pa55w0rdX"

static char dir[600], plugins[600], keyfile_path[700];

/* A fake host running items and agent with the agent section {section}
 * (items gives the items_item table for the titles), or NULL. */
static fh *start(const char *section)
{
	char sections[8192];
	fh *f;

	snprintf(sections, sizeof sections, "{\"items\":{},\"agent\":{%s}}", section);
	if (!(f = fh_new(sections, NULL)))
		return NULL;
	return f;
}

/* Loads items and agent into f: 0 or -1 (said). */
static int load(fh *f)
{
	if (fh_load_dir(f, plugins, NULL, "items", "agent") != 2) {
		diag("load: %s", fh_error(f));
		return -1;
	}
	return 0;
}


/* Member a (then b, may be NULL) of j as text: strings as they are,
 * numbers as %g, true/false/null, "" when absent; a static buffer. */
static const char *js(const cJSON *j, const char *a, const char *b)
{
	static char out[4096];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	if (cJSON_IsString(v))
		snprintf(out, sizeof out, "%s", v->valuestring);
	else if (cJSON_IsNumber(v))
		snprintf(out, sizeof out, "%g", v->valuedouble);
	else
		snprintf(out, sizeof out, "%s", cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" :
			 cJSON_IsNull(v) ? "null" : "");
	return out;
}

/* One bad request: cmd refuses data with SK_ERR_INVAL, its error starting
 * with the command's name and naming want. Returns the error text. */
static const char *refused(fh *f, const char *cmd, const char *data, const char *want)
{
	const char *raw;
	char pre[64];
	int rc;

	snprintf(pre, sizeof pre, "%s: ", cmd);
	cJSON_Delete(fh_control_json(f, cmd, data, &rc, &raw));
	ok(rc == SK_ERR_INVAL && !strncmp(raw, pre, strlen(pre)) && strstr(raw, want), "%s %s: refused naming %s (%s)",
	   cmd, data, want, raw);
	return raw;
}

/* Entry i of array a of j. */
static const cJSON *at(const cJSON *j, const char *a, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, a), i);
}

/* Whether any log line holds s. */
static int logged(fh *f, const char *s)
{
	return fh_log_find(f, s) > 0;
}

/* Whether a secret shows anywhere in f's log. */
static int secret_logged(fh *f)
{
	return logged(f, FILE_KEY) || logged(f, PAGE_KEY) || logged(f, HDR_SECRET) || logged(f, URL_SECRET) ||
	       logged(f, URL_PASS) || logged(f, "H3ADER") || logged(f, "sk-page") || logged(f, "sk-file");
}

/* Whether raw holds a secret. */
static int has_secret(const char *raw)
{
	return strstr(raw, FILE_KEY) || strstr(raw, PAGE_KEY) || strstr(raw, HDR_SECRET) || strstr(raw, "H3ADER") ||
	       strstr(raw, URL_SECRET) || strstr(raw, URL_PASS) || strstr(raw, "9876543210") ||
	       strstr(raw, "0123456789");
}

/* Runs sql on f's database (for setting up rows). */
static void sql(fh *f, const char *q)
{
	char *err = NULL;

	if (sqlite3_exec(fh_db(f), q, NULL, NULL, &err) != SQLITE_OK)
		diag("sql: %s: %s", q, err ? err : "?");
	sqlite3_free(err);
}

/* The sealed secret of agent_setting key opened with the account's key
 * (the core's secret_open, as sk_unseal does): "sk-plugin:agent\n<secret>",
 * or "" when the row is missing or does not open; a static buffer. */
static const char *opened(fh *f, const char *key)
{
	static char out[2048];
	char q[200], err[300], *plain = NULL;
	cJSON *j;

	snprintf(q, sizeof q, "SELECT value FROM agent_setting WHERE key = '%s'", key);
	j = cJSON_Parse(fh_q_str(f, q));
	out[0] = '\0';
	if (cJSON_IsString(j) && secret_open(fh_key_file(f), key, j->valuestring, strlen(j->valuestring), &plain, err,
					     sizeof err) == 0)
		snprintf(out, sizeof out, "%s", plain);
	secret_free(plain);
	cJSON_Delete(j);
	return out;
}

/* Writes the secret file of the API key (what `shopkeep secret set` makes)
 * with f's account key: 0 or -1. */
static int write_key_file(fh *f, const char *key)
{
	char *b64 = NULL, err[300];
	FILE *fp;

	if (secret_seal(fh_key_file(f), key, &b64, err, sizeof err)) {
		diag("secret_seal: %s", err);
		return -1;
	}
	if (!(fp = fopen(keyfile_path, "w"))) {
		free(b64);
		return -1;
	}
	fprintf(fp, "%s\n", b64);
	fclose(fp);
	free(b64);
	return 0;
}

/* ---- agent_settings ------------------------------------------------------------------------------ */

static void test_defaults(void)
{
	fh *f = start("");
	const char *raw;
	cJSON *j;
	int rc;

	if (!ok(f && !load(f), "defaults: items and agent load"))
		goto out;
	j = fh_control_json(f, "agent_settings", "{}", &rc, &raw);
	is_int(rc, 0, "agent_settings answers");
	is_str(js(j, "enabled", NULL), "true", "enabled by default");
	is_str(js(j, "configured", NULL), "false", "not configured without base_url and model");
	is_str(js(j, "base_url", NULL), "", "base_url \"\"");
	is_str(js(j, "api_key", NULL), "", "no api_key");
	is_str(js(j, "api_key_set", NULL), "false", "api_key_set false");
	is_str(js(j, "api_key_source", NULL), "none", "api_key_source none");
	ok(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "headers")) &&
	   !cJSON_GetObjectItemCaseSensitive(j, "headers")->child, "headers {}");
	is_str(js(j, "timeout_ms", NULL), "15000", "timeout_ms 15000");
	is_str(js(j, "max_tokens", NULL), "300", "max_tokens 300");
	is_str(js(j, "temperature", NULL), "0.7", "temperature 0.7");
	is_str(js(j, "mode", NULL), "default", "mode default");
	is_str(js(j, "max_steps", NULL), "3", "max_steps 3");
	is_str(js(j, "per_hour", NULL), "60", "per_hour 60");
	is_str(js(j, "per_day", NULL), "500", "per_day 500");
	is_str(js(j, "per_chat", NULL), "20", "per_chat 20");
	is_str(js(j, "max_len", NULL), "200", "max_len 200");
	is_str(js(j, "history", NULL), "10", "history 10");
	is_str(js(j, "fallback_text", NULL), "", "fallback_text \"\"");
	is_str(js(j, "guard_text", NULL), "这个我没办法答应您哦，有其他问题随时问我～", "guard_text's default");
	is_str(js(j, "floor_text", NULL), "这已经是最低价啦，不能再少了哦～", "floor_text's default");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "banned")), 8, "eight banned words");
	is_str(cJSON_GetStringValue(at(j, "banned", 0)), "微信", "the first is 微信");
	is_str(js(j, "prompts_dir", NULL), "", "prompts_dir \"\"");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")), 0, "no items");
	is_str(js(j, "used", "hour"), "0", "used.hour 0");
	is_str(js(j, "used", "day"), "0", "used.day 0");
	cJSON_Delete(j);

	cJSON_Delete(fh_control_json(f, "agent_settings", "[1]", &rc, &raw));
	ok(rc == SK_ERR_INVAL && strstr(raw, "agent_settings: data must be a JSON object"),
	   "agent_settings [1]: refused (%s)", raw);
out:
	fh_free(f);
}

/* The config's values, the api_key_file, secrets masked and never logged. */
static void test_config(void)
{
	char sec[2048];
	fh *f;
	const char *raw;
	cJSON *j;
	int rc;

	snprintf(sec, sizeof sec,
		 "\"base_url\":\"https://bot:" URL_PASS "@llm.example.com/v1?key=" URL_SECRET "&v=2\","
		 "\"model\":\"qwen-plus\",\"api_key_file\":\"%s\",\"headers\":{\"X-Org\":\"" HDR_SECRET "\"},"
		 "\"timeout_ms\":20000,\"mode\":\"all\",\"banned\":[\"加微\"],"
		 "\"items\":{\"40004\":{\"mode\":\"off\",\"floor\":\"80\",\"max_steps\":2,\"notes\":\"配件齐全\"}}",
		 keyfile_path);
	f = start(sec);
	if (!ok(f && !write_key_file(f, FILE_KEY) && !load(f), "config: agent loads with an api_key_file"))
		goto out;
	sql(f, "INSERT INTO items_item (item_id, title, price) VALUES ('40004', '降噪耳机', 9900)");
	j = fh_control_json(f, "agent_settings", "{}", &rc, &raw);
	is_int(rc, 0, "agent_settings answers");
	is_str(js(j, "configured", NULL), "true", "configured");
	is_str(js(j, "base_url", NULL), "https://****@llm.example.com/v1?key=s3****99&v=****",
	       "base_url: no user:password, query values masked");
	is_str(js(j, "model", NULL), "qwen-plus", "model");
	is_str(js(j, "api_key", NULL), "sk-f****fk", "the file's key masked: its first 4 and last 2");
	is_str(js(j, "api_key_set", NULL), "true", "api_key_set");
	is_str(js(j, "api_key_source", NULL), "file", "api_key_source file");
	is_str(js(j, "headers", "X-Org"), "****", "a header's value masked");
	is_str(js(j, "timeout_ms", NULL), "20000", "the config's timeout_ms");
	is_str(js(j, "mode", NULL), "all", "the config's mode");
	is_str(cJSON_GetStringValue(at(j, "banned", 0)), "加微", "the config's banned");
	is_str(js(at(j, "items", 0), "item_id", NULL), "40004", "the config's item");
	is_str(js(at(j, "items", 0), "title", NULL), "降噪耳机", "with its title (items_item)");
	is_str(js(at(j, "items", 0), "price", NULL), "99.00", "and its price in yuan");
	is_str(js(at(j, "items", 0), "mode", NULL), "off", "mode off");
	is_str(js(at(j, "items", 0), "floor", NULL), "80.00", "floor 80.00");
	is_str(js(at(j, "items", 0), "max_steps", NULL), "2", "max_steps 2");
	is_str(js(at(j, "items", 0), "notes", NULL), "配件齐全", "notes");
	ok(!has_secret(raw), "no secret in the answer");
	cJSON_Delete(j);
	ok(!secret_logged(f), "no secret in the log");
out:
	fh_free(f);
}

/* ---- agent_configure ----------------------------------------------------------------------------- */

static void test_configure(void)
{
	char sec[2048];
	fh *f;
	const char *raw;
	cJSON *j;
	int rc;

	snprintf(sec, sizeof sec,
		 "\"base_url\":\"http://127.0.0.1:9/v1\",\"model\":\"m-config\",\"api_key_file\":\"%s\","
		 "\"headers\":{\"X-Org\":\"" HDR_SECRET "\"},\"timeout_ms\":20000,\"max_tokens\":100",
		 keyfile_path);
	f = start(sec);
	if (!ok(f && !write_key_file(f, FILE_KEY) && !load(f), "configure: agent loads"))
		goto out;

	j = fh_control_json(f, "agent_configure", "{\"model\":\"m-page\",\"api_key\":\"" PAGE_KEY "\",\"max_tokens\":512,"
		"\"temperature\":0.2,\"mode\":\"all\",\"max_steps\":5,\"per_hour\":7,\"per_day\":70,\"per_chat\":0,"
		"\"max_len\":120,\"history\":4,\"fallback_text\":\"稍等～\",\"guard_text\":\"不行哦\","
		"\"floor_text\":\"最低了\",\"banned\":[\"VX\",\"淘宝\"],\"enabled\":false,"
		"\"headers\":{\"X-Org\":\"****\",\"X-Team\":\"t-9\"}}", &rc, &raw);
	is_int(rc, 0, "agent_configure answers (%s)", rc ? raw : "ok");
	is_str(js(j, "model", NULL), "m-page", "the page's model");
	is_str(js(j, "timeout_ms", NULL), "20000", "the config's timeout_ms, not given: key by key");
	is_str(js(j, "base_url", NULL), "http://127.0.0.1:9/v1", "the config's base_url");
	is_str(js(j, "max_tokens", NULL), "512", "the page's max_tokens over the config's");
	is_str(js(j, "temperature", NULL), "0.2", "temperature");
	is_str(js(j, "mode", NULL), "all", "mode");
	is_str(js(j, "max_steps", NULL), "5", "max_steps");
	is_str(js(j, "per_hour", NULL), "7", "per_hour");
	is_str(js(j, "per_day", NULL), "70", "per_day");
	is_str(js(j, "per_chat", NULL), "0", "per_chat 0 (no limit)");
	is_str(js(j, "max_len", NULL), "120", "max_len");
	is_str(js(j, "history", NULL), "4", "history");
	is_str(js(j, "fallback_text", NULL), "稍等～", "fallback_text");
	is_str(js(j, "guard_text", NULL), "不行哦", "guard_text");
	is_str(js(j, "floor_text", NULL), "最低了", "floor_text");
	is_str(cJSON_GetStringValue(at(j, "banned", 1)), "淘宝", "banned");
	is_str(js(j, "enabled", NULL), "false", "enabled false");
	is_str(js(j, "api_key", NULL), "sk-p****PK", "the page's key, masked");
	is_str(js(j, "api_key_source", NULL), "page", "the page's key wins over the file's");
	is_str(js(j, "headers", "X-Org"), "****", "X-Org kept (masked)");
	is_str(js(j, "headers", "X-Team"), "****", "X-Team added (masked)");
	ok(!has_secret(raw), "no secret in the answer");
	cJSON_Delete(j);

	/* what is stored */
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_setting"), 17, "17 rows in agent_setting");
	is_str(fh_q_str(f, "SELECT value FROM agent_setting WHERE key = 'model'"), "\"m-page\"",
	       "a value is the JSON text of the given value");
	is_str(fh_q_str(f, "SELECT value FROM agent_setting WHERE key = 'max_tokens'"), "512", "a number's JSON");
	ok(!strstr(fh_q_str(f, "SELECT value FROM agent_setting WHERE key = 'api_key'"), "sk-page") &&
	   !strstr(fh_q_str(f, "SELECT value FROM agent_setting WHERE key = 'api_key'"), "9876543210"),
	   "the api_key row is not the plain key");
	is_str(opened(f, "api_key"), "sk-plugin:agent\n" PAGE_KEY, "the api_key row opens to the key (sealed for agent)");
	ok(!strstr(fh_q_str(f, "SELECT value FROM agent_setting WHERE key = 'headers'"), "H3ADER"),
	   "the headers row is not plain either");
	{
		const char *h = opened(f, "headers");
		cJSON *hj = cJSON_Parse(strncmp(h, "sk-plugin:agent\n", 16) ? "null" : h + 16);

		is_str(js(hj, "X-Org", NULL), HDR_SECRET, "\"****\" kept the header's value in force");
		is_str(js(hj, "X-Team", NULL), "t-9", "the new header's value");
		cJSON_Delete(hj);
	}
	ok(!secret_logged(f), "no secret in the log");
	ok(logged(f, "settings changed from the page:") && logged(f, "api_key"), "the change is logged (names only)");

	/* kept across a restart */
	fh_unload(f);
	if (ok(load(f) == 0, "restart")) {
		j = fh_control_json(f, "agent_settings", "{}", &rc, &raw);
		is_str(js(j, "model", NULL), "m-page", "the page's model after a restart");
		is_str(js(j, "max_tokens", NULL), "512", "its max_tokens");
		is_str(js(j, "timeout_ms", NULL), "20000", "the config's timeout_ms");
		is_str(js(j, "api_key_source", NULL), "page", "the page's key");
		is_str(js(j, "api_key", NULL), "sk-p****PK", "opened again (masked)");
		ok(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "headers"), "X-Team") != NULL,
		   "the page's headers");
		ok(!has_secret(raw), "no secret in the answer");
		cJSON_Delete(j);
	}

	/* core.reload loads the settings again: the page's stay over the config */
	{
		sk_event e = fh_event(f, SK_EV_PLUGIN);

		e.topic = "core.reload";
		e.payload_json = "{}";
		e.from_plugin = "core";
		fh_dispatch(f, &e);
		j = fh_control_json(f, "agent_settings", "{}", &rc, &raw);
		ok(!strcmp(js(j, "model", NULL), "m-page") && !strcmp(js(j, "api_key_source", NULL), "page") &&
		   !strcmp(js(j, "timeout_ms", NULL), "20000"), "after core.reload: the page's over the config's");
		cJSON_Delete(j);
	}

	/* null (and "" for the key): the config file's value again */
	j = fh_control_json(f, "agent_configure", "{\"model\":null,\"api_key\":\"\",\"headers\":null,\"max_tokens\":null}", &rc, &raw);
	is_int(rc, 0, "configure with nulls answers (%s)", rc ? raw : "ok");
	is_str(js(j, "model", NULL), "m-config", "model: the config's again");
	is_str(js(j, "max_tokens", NULL), "100", "max_tokens: the config's again");
	is_str(js(j, "api_key_source", NULL), "file", "api_key \"\": the file's key again");
	is_str(js(j, "api_key", NULL), "sk-f****fk", "the file's key (masked)");
	ok(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "headers"), "X-Team") == NULL &&
	   cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "headers"), "X-Org") != NULL,
	   "headers: the config's again");
	cJSON_Delete(j);
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_setting WHERE key IN ('model','api_key','headers','max_tokens')"),
	       0, "their rows are gone");

	/* a row that does not pass its check any more, a tampered key */
	sql(f, "UPDATE agent_setting SET value = '\"abc\"' WHERE key = 'max_steps'");
	sql(f, "INSERT INTO agent_setting (key, value, updated_ms) VALUES ('api_key', '\"AAAAtampered\"', 1)");
	sql(f, "INSERT INTO agent_setting (key, value, updated_ms) VALUES ('prompts_dir', '\"/etc\"', 1)");
	fh_clear_logs(f);
	fh_unload(f);
	if (ok(load(f) == 0, "restart with bad rows: the agent starts")) {
		j = fh_control_json(f, "agent_settings", "{}", &rc, &raw);
		is_str(js(j, "max_steps", NULL), "3", "a bad max_steps row is left out");
		is_str(js(j, "api_key_source", NULL), "file", "a tampered key row is left out: the file's key");
		is_str(js(j, "prompts_dir", NULL), "", "a row of a key the page may not set is left out");
		is_str(js(j, "temperature", NULL), "0.2", "the good rows are in force");
		cJSON_Delete(j);
		ok(logged(f, "agent_setting max_steps: max_steps: must be"), "the bad row is logged with why");
		ok(logged(f, "agent_setting api_key: cannot be opened"), "the tampered key is logged");
		ok(logged(f, "agent_setting prompts_dir: not a setting of the page"), "so is the other key");
	}
	ok(!secret_logged(f), "no secret in the log");
out:
	fh_free(f);
}

/* Bad data: refused whole, naming the field; nothing changed. */
static void test_configure_bad(void)
{
	static const struct {
		const char *data, *want;
	} bad[] = {
		{ "[1]", "data must be a JSON object" },
		{ "{\"bogus\":1}", "unknown field bogus" },
		{ "{\"api_key_file\":\"/tmp/x\"}", "unknown field api_key_file" },
		{ "{\"prompts_dir\":\"/tmp\"}", "unknown field prompts_dir" },
		{ "{\"enabled\":1}", "enabled: must be true or false" },
		{ "{\"timeout_ms\":999}", "timeout_ms: must be" },
		{ "{\"timeout_ms\":\"5000\"}", "timeout_ms: must be" },
		{ "{\"timeout_ms\":120001}", "timeout_ms: must be" },
		{ "{\"max_tokens\":0}", "max_tokens" },
		{ "{\"max_tokens\":1.5}", "max_tokens" },
		{ "{\"temperature\":2.5}", "temperature" },
		{ "{\"mode\":\"sometimes\"}", "mode: must be" },
		{ "{\"mode\":\"inherit\"}", "mode: must be" },
		{ "{\"max_steps\":21}", "max_steps" },
		{ "{\"per_hour\":-1}", "per_hour" },
		{ "{\"max_len\":5}", "max_len" },
		{ "{\"history\":51}", "history" },
		{ "{\"base_url\":\"ftp://x/\"}", "base_url" },
		{ "{\"base_url\":5}", "base_url" },
		{ "{\"model\":[]}", "model" },
		{ "{\"guard_text\":\"\"}", "guard_text" },
		{ "{\"banned\":\"微信\"}", "banned" },
		{ "{\"banned\":[\"\"]}", "banned[0]" },
		{ "{\"api_key\":5}", "api_key" },
		{ "{\"api_key\":\"sk-has blank" "XYZSECRETBLANK\"}", "api_key" },
		{ "{\"headers\":[]}", "headers" },
		{ "{\"headers\":{\"X-New\":\"****\"}}", "headers.X-New" },
		{ "{\"headers\":{\"Bad Name\":\"HVALSECRET1\"}}", "headers.Bad Name" },
		{ "{\"headers\":{\"Authorization\":\"Bearer HVALSECRET2\"}}", "headers.Authorization" },
		{ "{\"headers\":{\"X-A\":5}}", "headers.X-A" },
		{ "{\"items\":{}}", "items: must be a list" },
		{ "{\"items\":[5]}", "items[0]: must be an object" },
		{ "{\"items\":[{\"mode\":\"off\"}]}", "items[0].item_id" },
		{ "{\"items\":[{\"item_id\":\"a b\"}]}", "items[0].item_id" },
		{ "{\"items\":[{\"item_id\":\"\"}]}", "items[0].item_id" },
		{ "{\"items\":[{\"item_id\":\"1234567890123456789012345678901234567890123456789012345678901234\"}]}",
		  "items[0].item_id" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"mode\":\"maybe\"}]}", "items[0].mode" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"mode\":1}]}", "items[0].mode" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"floor\":\"abc\"}]}", "items[0].floor" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"floor\":-1}]}", "items[0].floor" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"floor\":80.123}]}", "items[0].floor" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"floor\":true}]}", "items[0].floor" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"max_steps\":21}]}", "items[0].max_steps" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"max_steps\":\"2\"}]}", "items[0].max_steps" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"notes\":7}]}", "items[0].notes" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"delete\":1}]}", "items[0].delete" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"price\":1}]}", "items[0].price: unknown field" },
		{ "{\"items\":[{\"item_id\":\"40004\",\"mode\":\"off\"},{\"item_id\":\"40005\",\"floor\":\"x\"}]}",
		  "items[1].floor" },
		/* a good field with a bad one: nothing of it is saved */
		{ "{\"model\":\"never-saved\",\"timeout_ms\":1}", "timeout_ms" },
	};
	fh *f = start("\"base_url\":\"http://127.0.0.1:9/v1\",\"model\":\"m\"");
	const char *raw;
	char notes[2100];
	cJSON *j;
	int rc;

	if (!ok(f && !load(f), "bad: agent loads"))
		goto out;
	cJSON_Delete(fh_control_json(f, "agent_configure", "{\"items\":[{\"item_id\":\"40004\",\"mode\":\"all\"}]}", &rc, NULL));
	is_int(rc, 0, "an item set first");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		raw = refused(f, "agent_configure", bad[i].data, bad[i].want);
		ok(!strstr(raw, "SECRET"), "and the refusal does not quote the secret");
	}
	/* notes too long */
	memset(notes, 'n', sizeof notes);
	{
		char data[2400];

		snprintf(data, sizeof data, "{\"items\":[{\"item_id\":\"40004\",\"notes\":\"%.*s\"}]}", 2001, notes);
		cJSON_Delete(fh_control_json(f, "agent_configure", data, &rc, &raw));
		ok(rc == SK_ERR_INVAL && strstr(raw, "items[0].notes"), "notes of 2001 bytes: refused (%s)", raw);
	}
	/* too many items: in one request, and in all */
	{
		size_t cap = 1100 * 40 + 100, len;
		char *data = malloc(cap);

		len = (size_t)snprintf(data, cap, "{\"items\":[");
		for (int i = 0; i < 1001; i++)
			len += (size_t)snprintf(data + len, cap - len, "%s{\"item_id\":\"i%d\"}", i ? "," : "", i);
		snprintf(data + len, cap - len, "]}");
		cJSON_Delete(fh_control_json(f, "agent_configure", data, &rc, &raw));
		ok(rc == SK_ERR_INVAL && strstr(raw, "items: must be a list of at most 1000"),
		   "1001 items in one request: refused (%s)", raw);
		len = (size_t)snprintf(data, cap, "{\"items\":[");
		for (int i = 0; i < 1000; i++)
			len += (size_t)snprintf(data + len, cap - len, "%s{\"item_id\":\"i%d\"}", i ? "," : "", i);
		snprintf(data + len, cap - len, "]}");
		cJSON_Delete(fh_control_json(f, "agent_configure", data, &rc, &raw));
		ok(rc == SK_ERR_INVAL && strstr(raw, "items") && strstr(raw, "1000"),
		   "1000 more items with the one there: refused (%s)", raw);
		free(data);
	}
	j = fh_control_json(f, "agent_settings", "{}", &rc, &raw);
	is_str(js(j, "model", NULL), "m", "after the refusals, the model is unchanged");
	is_str(js(j, "timeout_ms", NULL), "15000", "and timeout_ms");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")), 1, "one item still");
	is_str(js(at(j, "items", 0), "mode", NULL), "all", "its mode unchanged");
	is_str(js(at(j, "items", 0), "notes", NULL), "", "its notes unchanged");
	cJSON_Delete(j);
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_setting"), 0, "no agent_setting row written");
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_item"), 1, "one agent_item row");
	ok(!logged(f, "SECRET"), "the refused secrets are not logged");

	/* at 1000 items, one deleted makes room for one more in the same request */
	{
		size_t cap = 1000 * 40 + 100, len;
		char *data = malloc(cap);

		len = (size_t)snprintf(data, cap, "{\"items\":[");
		for (int i = 0; i < 999; i++)
			len += (size_t)snprintf(data + len, cap - len, "%s{\"item_id\":\"i%d\"}", i ? "," : "", i);
		snprintf(data + len, cap - len, "]}");
		cJSON_Delete(fh_control_json(f, "agent_configure", data, &rc, &raw));
		is_int(rc, 0, "999 more items: 1000 in all (%s)", rc ? raw : "ok");
		free(data);
		cJSON_Delete(fh_control_json(f, "agent_configure", "{\"items\":[{\"item_id\":\"40004\",\"delete\":true},"
				 "{\"item_id\":\"i-new\",\"mode\":\"off\"}]}", &rc, &raw));
		is_int(rc, 0, "delete one and add one at 1000 (%s)", rc ? raw : "ok");
		is_int(fh_q_int(f, "SELECT count(*) FROM agent_item"), 1000, "1000 agent_item rows");
		cJSON_Delete(fh_control_json(f, "agent_configure", "{\"items\":[{\"item_id\":\"i-more\"}]}", &rc, &raw));
		ok(rc == SK_ERR_INVAL && strstr(raw, "1000"), "the 1001st: refused (%s)", raw);
	}
out:
	fh_free(f);
}

/* The items' settings from the page. */
static void test_items(void)
{
	fh *f = start("\"items\":{\"40004\":{\"mode\":\"off\",\"floor\":80,\"notes\":\"配置的备注\"},"
		      "\"40009\":{\"mode\":\"all\"}}");
	const char *raw;
	const cJSON *it;
	cJSON *j;
	int rc;

	if (!ok(f && !load(f), "items: agent loads"))
		goto out;
	sql(f, "INSERT INTO items_item (item_id, title, price) VALUES ('40005', '旧手机', 12050)");
	j = fh_control_json(f, "agent_configure", "{\"items\":[{\"item_id\":\"40005\",\"mode\":\"all\",\"floor\":\"100.5\","
		"\"max_steps\":2,\"notes\":\"屏幕有划痕\"},{\"item_id\":\"40004\",\"floor\":\"75元\"}]}", &rc, &raw);
	is_int(rc, 0, "items set (%s)", rc ? raw : "ok");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")), 3, "three items in force");
	for (int i = 0; (it = at(j, "items", i)); i++) {
		if (!strcmp(js(it, "item_id", NULL), "40005")) {
			is_str(js(it, "title", NULL), "旧手机", "40005: its title");
			is_str(js(it, "price", NULL), "120.50", "40005: its price");
			is_str(js(it, "mode", NULL), "all", "40005: mode");
			is_str(js(it, "floor", NULL), "100.50", "40005: floor from \"100.5\"");
			is_str(js(it, "max_steps", NULL), "2", "40005: max_steps");
			is_str(js(it, "notes", NULL), "屏幕有划痕", "40005: notes");
		} else if (!strcmp(js(it, "item_id", NULL), "40004")) {
			is_str(js(it, "title", NULL), "", "40004: no title (unknown to items)");
			is_str(js(it, "price", NULL), "", "40004: no price");
			is_str(js(it, "mode", NULL), "off", "40004: the config's mode kept");
			is_str(js(it, "floor", NULL), "75.00", "40004: the page's floor");
			is_str(js(it, "notes", NULL), "配置的备注", "40004: the config's notes kept");
			is_str(js(it, "max_steps", NULL), "null", "40004: max_steps null (the account's)");
		} else {
			is_str(js(it, "mode", NULL), "all", "40009: the config's, untouched");
		}
	}
	cJSON_Delete(j);
	is_int(fh_q_int(f, "SELECT floor_fen FROM agent_item WHERE item_id = '40005'"), 10050, "floor_fen stored");
	is_int(fh_q_int(f, "SELECT max_steps FROM agent_item WHERE item_id = '40005'"), 2, "max_steps stored");

	/* "" and null clear; a number of yuan */
	j = fh_control_json(f, "agent_configure", "{\"items\":[{\"item_id\":\"40005\",\"floor\":\"\",\"max_steps\":null,"
		"\"mode\":\"inherit\"},{\"item_id\":\"40004\",\"floor\":66.6}]}", &rc, &raw);
	is_int(rc, 0, "floor \"\" and max_steps null (%s)", rc ? raw : "ok");
	for (int i = 0; (it = at(j, "items", i)); i++) {
		if (!strcmp(js(it, "item_id", NULL), "40005")) {
			is_str(js(it, "floor", NULL), "", "40005: no floor");
			is_str(js(it, "max_steps", NULL), "null", "40005: the account's steps");
			is_str(js(it, "mode", NULL), "inherit", "40005: inherit");
			is_str(js(it, "notes", NULL), "屏幕有划痕", "40005: notes kept");
		} else if (!strcmp(js(it, "item_id", NULL), "40004")) {
			is_str(js(it, "floor", NULL), "66.60", "40004: floor 66.6 as a number");
		}
	}
	cJSON_Delete(j);
	ok(fh_q_int(f, "SELECT count(*) FROM agent_item WHERE item_id = '40005' AND floor_fen IS NULL AND "
		    "max_steps IS NULL") == 1, "stored as NULLs");

	/* kept across a restart; delete gives the config's entry back */
	fh_unload(f);
	if (ok(load(f) == 0, "restart")) {
		j = fh_control_json(f, "agent_configure", "{\"items\":[{\"item_id\":\"40004\",\"delete\":true},"
			"{\"item_id\":\"40005\",\"delete\":true}]}", &rc, &raw);
		is_int(rc, 0, "delete answers (%s)", rc ? raw : "ok");
		is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")), 2, "the config's two items");
		for (int i = 0; (it = at(j, "items", i)); i++)
			if (!strcmp(js(it, "item_id", NULL), "40004"))
				is_str(js(it, "floor", NULL), "80.00", "40004: the config's floor again");
		cJSON_Delete(j);
		is_int(fh_q_int(f, "SELECT count(*) FROM agent_item"), 0, "no agent_item row");
	}
	/* a bad row is left out */
	sql(f, "INSERT INTO agent_item (item_id, mode, floor_fen, notes, updated_ms) VALUES ('40007', 'weird', 5, '', 1)");
	sql(f, "INSERT INTO agent_item (item_id, mode, floor_fen, notes, updated_ms) VALUES ('40008', 'all', 500, '', 1)");
	fh_unload(f);
	if (ok(load(f) == 0, "restart with a bad item row")) {
		j = fh_control_json(f, "agent_settings", "{}", &rc, &raw);
		is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")), 3, "the bad row left out");
		cJSON_Delete(j);
		ok(logged(f, "agent_item 40007: a bad row"), "and logged");
	}
out:
	fh_free(f);
}

/* ---- prompts --------------------------------------------------------------------------------------- */

static void test_prompts(void)
{
	char sec[800], pdir[700], path[800];
	fh *f = start("");
	const char *raw;
	const cJSON *p;
	cJSON *j;
	int rc;

	if (!ok(f && !load(f), "prompts: agent loads"))
		goto out;
	j = fh_control_json(f, "agent_prompts", "{}", &rc, &raw);
	is_int(rc, 0, "agent_prompts answers");
	is_str(js(j, "editable", NULL), "false", "not editable without prompts_dir");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "prompts")), 3, "three intents");
	is_str(js(at(j, "prompts", 0), "intent", NULL), "default", "default first");
	is_str(js(at(j, "prompts", 1), "intent", NULL), "price", "price");
	is_str(js(at(j, "prompts", 2), "intent", NULL), "tech", "tech");
	for (int i = 0; (p = at(j, "prompts", i)); i++)
		ok(!strcmp(js(p, "builtin", NULL), "true") && *js(p, "text", NULL), "%s: the built-in text",
		   js(p, "intent", NULL));
	cJSON_Delete(j);
	cJSON_Delete(fh_control_json(f, "agent_prompt_set", "{\"intent\":\"price\",\"text\":\"x\"}", &rc, &raw));
	ok(rc == SK_ERR_INVAL && strstr(raw, "prompts_dir"), "agent_prompt_set without prompts_dir: refused (%s)", raw);
	fh_free(f);

	snprintf(pdir, sizeof pdir, "%s/prompts", dir);
	mkdir(pdir, 0700);
	snprintf(sec, sizeof sec, "\"prompts_dir\":\"%s\"", pdir);
	f = start(sec);
	if (!ok(f && !load(f), "prompts: agent loads with prompts_dir"))
		goto out;
	j = fh_control_json(f, "agent_prompt_set", "{\"intent\":\"price\",\"text\":\"你是卖家，议价要有礼貌。\"}", &rc, &raw);
	is_int(rc, 0, "agent_prompt_set answers (%s)", rc ? raw : "ok");
	is_str(js(j, "intent", NULL), "price", "its intent");
	is_str(js(j, "text", NULL), "你是卖家，议价要有礼貌。", "its text");
	is_str(js(j, "builtin", NULL), "false", "not the built-in one");
	cJSON_Delete(j);
	snprintf(path, sizeof path, "%s/price.txt", pdir);
	ok(access(path, F_OK) == 0, "price.txt written");
	j = fh_control_json(f, "agent_prompts", "{}", &rc, &raw);
	is_str(js(j, "editable", NULL), "true", "editable with prompts_dir");
	is_str(js(at(j, "prompts", 1), "text", NULL), "你是卖家，议价要有礼貌。", "agent_prompts: the file's text");
	is_str(js(at(j, "prompts", 1), "builtin", NULL), "false", "builtin false");
	is_str(js(at(j, "prompts", 0), "builtin", NULL), "true", "default still built in");
	cJSON_Delete(j);
	j = fh_control_json(f, "agent_prompt_set", "{\"intent\":\"price\",\"text\":\"\"}", &rc, &raw);
	is_int(rc, 0, "\"\" answers (%s)", rc ? raw : "ok");
	is_str(js(j, "builtin", NULL), "true", "back to the built-in prompt");
	cJSON_Delete(j);
	ok(access(path, F_OK) != 0, "price.txt removed");
	{
		static const struct {
			const char *data, *want;
		} bad[] = {
			{ "{\"intent\":\"haggle\",\"text\":\"x\"}", "intent" },
			{ "{\"intent\":5,\"text\":\"x\"}", "intent" },
			{ "{\"text\":\"x\"}", "intent" },
			{ "{\"intent\":\"tech\"}", "text" },
			{ "{\"intent\":\"tech\",\"text\":7}", "text" },
			{ "{\"intent\":\"tech\",\"text\":\"x\",\"more\":1}", "unknown field more" },
			{ "\"x\"", "data must be a JSON object" },
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
			refused(f, "agent_prompt_set", bad[i].data, bad[i].want);
	}
	{
		size_t n = 16 * 1024 + 20;
		char *data = malloc(n + 64);

		snprintf(data, n + 64, "{\"intent\":\"tech\",\"text\":\"%0*d\"}", (int)(16 * 1024 + 1), 0);
		cJSON_Delete(fh_control_json(f, "agent_prompt_set", data, &rc, &raw));
		ok(rc == SK_ERR_INVAL && strstr(raw, "text"), "a prompt over 16 KB: refused (%s)", raw);
		free(data);
	}
out:
	fh_free(f);
}

/* ---- decisions, sends, used -------------------------------------------------------------------------- */

/* Adds an agent_turn row. */
static void turn(fh *f, int64_t id, int64_t ms, const char *chat, const char *mid, const char *intent,
		 const char *verdict, int called, const char *lowest, const char *uuid)
{
	char q[1500];

	snprintf(q, sizeof q,
		 "INSERT INTO agent_turn (id, ms, chat, buyer, name, item, message_id, text, decision, intent, fallback, "
		 "state, called, verdict, reason, answer, sent, lowest_fen, http_status, latency_ms, send_uuid, outcome, "
		 "done_ms) VALUES (%lld, %lld, '%s', 'b-1', '小李', '40004', '%s', '能便宜点吗', 'no_match', '%s', "
		 "'亲，稍等', 'done', %d, '%s', '%s', '最低58元', '%s', %s, %s, %s, '%s', 'sent:m-%s', %lld)",
		 (long long)id, (long long)ms, chat, mid, intent, called, verdict,
		 !strcmp(verdict, "floor") ? "below_floor: 58元" : "", !strcmp(verdict, "model") ? "最低58元" : "",
		 lowest, called ? "200" : "NULL", called ? "850" : "NULL", uuid, mid, (long long)ms + 900);
	sql(f, q);
}

static void test_decisions(void)
{
	fh *f = start("");
	const char *raw;
	cJSON *j;
	int rc;
	int64_t now;

	if (!ok(f && !load(f), "decisions: agent loads"))
		goto out;
	now = fh_now_ms(f);
	turn(f, 1, now - 30LL * 3600 * 1000, "c1", "m1", "price", "model", 1, "5800", "u-1");
	turn(f, 2, now - 5LL * 3600 * 1000, "c2", "m2", "price", "floor", 1, "5000", "u-2");
	turn(f, 3, now - 20 * 60 * 1000, "c1", "m3", "tech", "guard", 1, "NULL", "u-3");
	turn(f, 4, now - 10 * 60 * 1000, "c1", "m4", "default", "fallback", 0, "NULL", "u-4");
	turn(f, 5, now - 60 * 1000, "c2", "m5", "price", "steps", 0, "NULL", "");
	turn(f, 6, now - 30 * 1000, "c1", "m6", "tech", "model", 1, "NULL", "u-6");

	j = fh_control_json(f, "agent_decisions", "{}", &rc, &raw);
	is_int(rc, 0, "agent_decisions answers");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "decisions")), 6, "six decisions");
	is_str(js(at(j, "decisions", 0), "id", NULL), "6", "newest first");
	is_str(js(at(j, "decisions", 5), "id", NULL), "1", "oldest last");
	{
		const cJSON *d = at(j, "decisions", 5);

		is_str(js(d, "chat_id", NULL), "c1", "chat_id");
		is_str(js(d, "buyer_id", NULL), "b-1", "buyer_id");
		is_str(js(d, "buyer_name", NULL), "小李", "buyer_name");
		is_str(js(d, "item_id", NULL), "40004", "item_id");
		is_str(js(d, "message_id", NULL), "m1", "message_id");
		is_str(js(d, "text", NULL), "能便宜点吗", "text");
		is_str(js(d, "decision", NULL), "no_match", "decision");
		is_str(js(d, "intent", NULL), "price", "intent");
		is_str(js(d, "state", NULL), "done", "state");
		is_str(js(d, "verdict", NULL), "model", "verdict");
		is_str(js(d, "answer", NULL), "最低58元", "answer");
		is_str(js(d, "sent", NULL), "最低58元", "sent");
		is_str(js(d, "lowest", NULL), "58.00", "lowest in yuan");
		is_str(js(d, "http_status", NULL), "200", "http_status");
		is_str(js(d, "latency_ms", NULL), "850", "latency_ms");
		is_str(js(d, "outcome", NULL), "sent:m-m1", "outcome");
		ok(cJSON_GetObjectItemCaseSensitive(d, "ms") &&
		   cJSON_GetObjectItemCaseSensitive(d, "ms")->valuedouble == (double)(now - 30LL * 3600 * 1000),
		   "ms (a number)");
		d = at(j, "decisions", 1);
		is_str(js(d, "lowest", NULL), "", "no lowest: \"\"");
		is_str(js(d, "http_status", NULL), "null", "no call: http_status null");
		is_str(js(d, "latency_ms", NULL), "null", "latency_ms null");
		is_str(js(at(j, "decisions", 4), "reason", NULL), "below_floor: 58元", "reason");
	}
	cJSON_Delete(j);
	j = fh_control_json(f, "agent_decisions", "{\"limit\":2,\"chat_id\":\"c1\"}", &rc, &raw);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "decisions")), 2, "limit 2");
	ok(!strcmp(js(at(j, "decisions", 0), "id", NULL), "6") && !strcmp(js(at(j, "decisions", 1), "id", NULL), "4"),
	   "chat c1's newest two");
	cJSON_Delete(j);
	j = fh_control_json(f, "agent_decisions", "{\"chat_id\":\"c2\",\"limit\":500}", &rc, &raw);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "decisions")), 2, "chat c2: two");
	cJSON_Delete(j);
	{
		static const struct {
			const char *data, *want;
		} bad[] = {
			{ "{\"limit\":0}", "limit" },
			{ "{\"limit\":501}", "limit" },
			{ "{\"limit\":\"5\"}", "limit" },
			{ "{\"limit\":2.5}", "limit" },
			{ "{\"chat_id\":5}", "chat_id" },
			{ "{\"chat_id\":\"\"}", "chat_id" },
			{ "{\"chat\":\"c1\"}", "unknown field chat" },
			{ "[]", "data must be a JSON object" },
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
			refused(f, "agent_decisions", bad[i].data, bad[i].want);
	}

	/* used: model calls in the last hour and 24 h */
	j = fh_control_json(f, "agent_settings", "{}", &rc, &raw);
	is_str(js(j, "used", "hour"), "2", "used.hour: the two calls of the last hour");
	is_str(js(j, "used", "day"), "3", "used.day: three in 24 h (not the one of 30 h ago)");
	cJSON_Delete(j);

	/* sends' labels */
	j = fh_control_json(f, "agent_sends", "{\"sends\":[{\"uuid\":\"u-1\",\"tag\":\"agent:m1\"},{\"uuid\":\"u-2\",\"tag\":null},"
		"{\"uuid\":\"u-3\"},{\"uuid\":\"u-4\",\"tag\":\"agent:m4\"},{\"uuid\":\"u-x\",\"tag\":\"agent:m5\"},"
		"{\"uuid\":\"u-6\",\"tag\":\"agent:m6\"},{\"uuid\":\"u-none\",\"tag\":\"agent:nope\"},"
		"{\"uuid\":\"u-other\",\"tag\":\"reply:m1\"}]}", &rc, &raw);
	is_int(rc, 0, "agent_sends answers");
	{
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "labels");

		is_str(js(l, "u-1", "rule"), "agent", "rule agent");
		is_str(js(l, "u-1", "verdict"), "model", "u-1: verdict model");
		is_str(js(l, "u-1", "text"), "AI · 议价", "u-1: a price answer: AI · 议价");
		is_str(js(l, "u-6", "text"), "AI 回复", "u-6: another answer: AI 回复");
		is_str(js(l, "u-2", "text"), "AI · 守价", "u-2: the floor: AI · 守价");
		is_str(js(l, "u-3", "text"), "AI · 拦截", "u-3: the guard: AI · 拦截");
		is_str(js(l, "u-4", "text"), "AI · 兜底", "u-4: the fallback: AI · 兜底");
		is_str(js(l, "u-x", "verdict"), "steps", "u-x: found by its tag's message");
		is_str(js(l, "u-x", "text"), "AI · 守价", "u-x: steps used up: AI · 守价");
		ok(!cJSON_GetObjectItemCaseSensitive(l, "u-none"), "an unknown send is left out");
		ok(!cJSON_GetObjectItemCaseSensitive(l, "u-other"), "a tag that is not the agent's is not looked up");
	}
	cJSON_Delete(j);
	{
		static const struct {
			const char *data, *want;
		} bad[] = {
			{ "{}", "sends must be a list" },
			{ "{\"sends\":{}}", "sends must be a list" },
			{ "{\"sends\":[{\"tag\":\"agent:m1\"}]}", "sends[0]" },
			{ "{\"sends\":[{\"uuid\":\"u\"},{\"uuid\":5}]}", "sends[1]" },
			{ "{\"sends\":[{\"uuid\":\"u\",\"tag\":5}]}", "sends[0]" },
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
			refused(f, "agent_sends", bad[i].data, bad[i].want);
	}
	{
		size_t cap = 201 * 20 + 40, len;
		char *data = malloc(cap);

		len = (size_t)snprintf(data, cap, "{\"sends\":[");
		for (int i = 0; i < 201; i++)
			len += (size_t)snprintf(data + len, cap - len, "%s{\"uuid\":\"u%d\"}", i ? "," : "", i);
		snprintf(data + len, cap - len, "]}");
		cJSON_Delete(fh_control_json(f, "agent_sends", data, &rc, &raw));
		ok(rc == SK_ERR_INVAL && strstr(raw, "at most 200"), "201 sends: refused (%s)", raw);
		free(data);
	}
out:
	fh_free(f);
}

/* The masks: base_url's user info (an '@' in the password too), query
 * values and fragment; a short key all stars. */
static void test_mask(void)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
		{ "https://api.example.com/v1", "https://api.example.com/v1" },
		{ "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1" },
		{ "https://u:p@ss@api.example.com/v1", "https://****@api.example.com/v1" },
		{ "https://api.example.com/v1?api-version=2024&k=abcdefghij#x",
		  "https://api.example.com/v1?api-version=****&k=ab****ij#****" },
		{ "https://api.example.com/v1?email=a@b.c", "https://api.example.com/v1?email=a****c" },
	};
	const char *raw;
	cJSON *j;
	int rc;
	fh *f = start("");

	if (!ok(f && !load(f), "mask: agent loads"))
		goto out;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char data[400];

		snprintf(data, sizeof data, "{\"base_url\":\"%s\"}", cases[i].url);
		j = fh_control_json(f, "agent_configure", data, &rc, &raw);
		is_str(js(j, "base_url", NULL), cases[i].want, "mask %s (%s)", cases[i].url, rc ? raw : "ok");
		cJSON_Delete(j);
	}
	j = fh_control_json(f, "agent_configure", "{\"api_key\":\"sk-shortK\"}", &rc, &raw);
	is_str(js(j, "api_key", NULL), "****", "a key under 12 characters: all stars");
	is_str(js(j, "api_key_source", NULL), "page", "the page's key");
	ok(!strstr(raw, "short"), "none of it shown");
	cJSON_Delete(j);
	j = fh_control_json(f, "agent_configure", "{\"api_key\":\"sk-exactly12\"}", &rc, &raw);
	is_str(js(j, "api_key", NULL), "sk-e****12", "a key of 12: its first 4 and last 2");
	cJSON_Delete(j);
out:
	fh_free(f);
}

/* What the page saves is what the next model call uses: its base_url,
 * model, key (as the Bearer token) and headers, at once and without a
 * restart; the item's mode from the page decides whether a turn is taken. */
static void test_applied(void)
{
	fh *f = start("\"base_url\":\"http://127.0.0.1:9/cfg\",\"model\":\"m-config\"");
	const char *raw, *out = "";
	const fh_http *h;
	char v[300];
	cJSON *b;
	int rc;

	if (!ok(f && !load(f), "applied: agent loads"))
		goto out;
	cJSON_Delete(fh_control_json(f, "agent_configure", "{\"base_url\":\"http://127.0.0.1:9/page/v1\",\"model\":\"m-page\","
			 "\"api_key\":\"" PAGE_KEY "\",\"headers\":{\"X-Org\":\"" HDR_SECRET "\"},"
			 "\"items\":[{\"item_id\":\"40009\",\"mode\":\"off\"}]}", &rc, &raw));
	is_int(rc, 0, "the page's endpoint, model, key and header saved (%s)", rc ? raw : "ok");
	rc = fh_control(f, "agent_take", "{\"chat_id\":\"c1\",\"buyer_id\":\"b-1\",\"buyer_name\":\"小李\","
			"\"item_id\":\"40004\",\"message_id\":\"mm1\",\"text\":\"在吗\",\"decision\":\"no_match\","
			"\"reply\":\"\",\"backfilled\":false}", &out);
	ok(rc == 0 && strstr(out, "\"taken\":true"), "agent_take: taken (%s)", out);
	if (ok((h = fh_http_at(f, 0)) != NULL, "a model call")) {
		is_str(h->url, "http://127.0.0.1:9/page/v1/chat/completions", "to the page's base_url");
		fh_http_header(f, 0, "Authorization", v, sizeof v);
		is_str(v, "Bearer " PAGE_KEY, "with the page's key");
		fh_http_header(f, 0, "X-Org", v, sizeof v);
		is_str(v, HDR_SECRET, "and the page's header");
		b = cJSON_Parse(h->body);
		is_str(js(b, "model", NULL), "m-page", "asking the page's model");
		cJSON_Delete(b);
	}
	rc = fh_control(f, "agent_take", "{\"chat_id\":\"c2\",\"buyer_id\":\"b-2\",\"buyer_name\":\"小王\","
			"\"item_id\":\"40009\",\"message_id\":\"mm2\",\"text\":\"在吗\",\"decision\":\"no_match\","
			"\"reply\":\"\",\"backfilled\":false}", &out);
	ok(rc == 0 && strstr(out, "\"taken\":false"), "an item the page set off: not taken (%s)", out);
	is_int(fh_nhttp(f), 1, "and no model call for it");
	ok(!secret_logged(f), "no secret in the log");
out:
	fh_free(f);
}

/* Without the items plugin: the items have no title or price, and nothing
 * fails or is logged as an error. */
static void test_no_items(void)
{
	fh *f = fh_new("{\"agent\":{}}", NULL);
	const char *raw;
	cJSON *j;
	int rc, errs = 0;

	if (!ok(f && fh_load_dir(f, plugins, NULL, "agent") == 1, "no items plugin: agent loads"))
		goto out;
	j = fh_control_json(f, "agent_configure", "{\"items\":[{\"item_id\":\"40004\",\"floor\":50}]}", &rc, &raw);
	is_int(rc, 0, "an item saved (%s)", rc ? raw : "ok");
	is_str(js(at(j, "items", 0), "title", NULL), "", "no title");
	is_str(js(at(j, "items", 0), "price", NULL), "", "no price");
	is_str(js(at(j, "items", 0), "floor", NULL), "50.00", "its floor");
	cJSON_Delete(j);
	for (size_t i = 0; i < fh_nlogs(f); i++)
		errs += fh_log_at(f, i)->level == SK_LOG_ERR;
	is_int(errs, 0, "no error logged");
out:
	fh_free(f);
}

/* No key file: a key from the page cannot be stored, and says why. */
static void test_no_key_file(void)
{
	fh *f = start("");
	const char *raw;
	int rc;

	if (!ok(f && !load(f), "no key file: agent loads"))
		goto out;
	fh_no_key_file(f);
	cJSON_Delete(fh_control_json(f, "agent_configure", "{\"api_key\":\"" PAGE_KEY "\",\"model\":\"x\"}", &rc, &raw));
	ok(rc == SK_ERR_INVAL && strstr(raw, "api_key: cannot be stored") && strstr(raw, "key file"),
	   "api_key without a key file: refused (%s)", raw);
	ok(!has_secret(raw), "without the key in the message");
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_setting"), 0, "nothing saved");
	ok(!secret_logged(f), "no secret in the log");
out:
	fh_free(f);
}

int main(void)
{
	char b[600];

	snprintf(dir, sizeof dir, "/tmp/sk_agentctl_XXXXXX");
	if (!mkdtemp(dir)) {
		printf("1..0 # skip no temporary directory\n");
		return 0;
	}
	snprintf(keyfile_path, sizeof keyfile_path, "%s/api_key.secret", dir);
	snprintf(plugins, sizeof plugins, "%s", fh_build_path(b, sizeof b, "plugins"));
	test_defaults();
	test_config();
	test_configure();
	test_configure_bad();
	test_items();
	test_prompts();
	test_decisions();
	test_no_key_file();
	test_mask();
	test_no_items();
	test_applied();
	{
		char cmd[700];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return tap_done();
}
