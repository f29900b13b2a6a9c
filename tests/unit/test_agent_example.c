/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_agent_example.c - config/agent.example.json is a working
 * agent section with every key: the agent plugin loads it on the fake host
 * (its api_key_file pointed at a sealed key made for this host), and
 * agent_settings answers each of the example's values back (the API key and
 * the headers' values masked), while every setting agent_settings shows is
 * a key of the example. So the example cannot drift from the settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fakehost/fakehost.h"
#include "secret.h"
#include "util.h"
#include "tap.h"

#define KEY "sk-example-KEY-abcdefghijklmnop"

/* What agent_settings shows that is not a config key. */
static int derived(const char *k)
{
	static const char *const keys[] = {"configured", "api_key", "api_key_set", "api_key_source", "used", NULL};

	for (int i = 0; keys[i]; i++)
		if (!strcmp(k, keys[i]))
			return 1;
	return 0;
}

/* The item id of agent_settings' items list entry it, or NULL. */
static const cJSON *item_of(const cJSON *items, const char *id)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, items) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "item_id");

		if (cJSON_IsString(v) && !strcmp(v->valuestring, id))
			return it;
	}
	return NULL;
}

/* The example's floor (a number or a string of yuan) as "80.00". */
static void floor_text(const cJSON *v, char *out, size_t n)
{
	double y = cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsString(v) ? strtod(v->valuestring, NULL) : -1;

	if (y < 0)
		snprintf(out, n, "%s", "");
	else
		snprintf(out, n, "%.2f", y);
}

int main(void)
{
	char so[512], path[600], dir[] = "/tmp/sk_agex_XXXXXX", keyfile[300], err[300];
	char *text = NULL, *sec = NULL, *raw = NULL;
	cJSON *ex = NULL, *agent, *got = NULL, *k;
	const cJSON *items, *it;
	const char *out = "";
	fh *f = NULL;
	FILE *fp;
	int all = 1;

	fh_build_path(so, sizeof so, "plugins/agent.so");
	snprintf(path, sizeof path, "%s/config/agent.example.json", getenv("SK_ROOT") ? getenv("SK_ROOT") : ".");
	{
		sbuf b = {0};
		char chunk[4096];
		size_t n;

		fp = fopen(path, "r");
		while (fp && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
			sbuf_add(&b, chunk, n);
		if (fp)
			fclose(fp);
		text = sbuf_take(&b);
	}
	ex = text ? cJSON_Parse(text) : NULL;
	agent = cJSON_GetObjectItemCaseSensitive(ex, "agent");
	if (!ok(cJSON_IsObject(agent), "config/agent.example.json is JSON with an agent section") || !mkdtemp(dir))
		goto done;
	ok(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(agent, "api_key_file")), "it names an api_key_file");
	{
		const cJSON *load = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ex, "plugins"), "load"), *p;
		int found = 0;

		cJSON_ArrayForEach(p, load)
			found |= cJSON_IsString(p) && !strcmp(p->valuestring, "agent");
		ok(found, "its plugins.load has the agent");
	}
	/* the key file: sealed with this fake host's account key */
	snprintf(keyfile, sizeof keyfile, "%s/agent-key.enc", dir);
	cJSON_ReplaceItemInObjectCaseSensitive(agent, "api_key_file", cJSON_CreateString(keyfile));
	{
		cJSON *secs = cJSON_CreateObject();

		cJSON_AddItemReferenceToObject(secs, "agent", agent);
		sec = cJSON_PrintUnformatted(secs);
		cJSON_Delete(secs);
	}
	if (!ok(sec && (f = fh_new(sec, NULL)) != NULL, "a fake host with the example's agent section"))
		goto done;
	if (secret_seal(fh_key_file(f), KEY, &raw, err, sizeof err) || !(fp = fopen(keyfile, "w"))) {
		ok(0, "the key file: %s", err);
		goto done;
	}
	fprintf(fp, "%s\n", raw);
	fclose(fp);
	if (!ok(fh_load(f, so, NULL) == 0, "the agent loads the example (%s)", fh_error(f)))
		goto done;
	is_int(fh_control(f, "agent_settings", "{}", &out), 0, "agent_settings answers");
	got = cJSON_Parse(out);
	ok(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(got, "configured")), "configured (base_url and model)");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(got, "api_key_source")) ?: "", "file",
	       "the key comes from the api_key_file");
	ok(!strstr(out, KEY), "the key itself is not shown");

	/* every plain key of the example comes back as written */
	cJSON_ArrayForEach(k, agent) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, k->string);

		if (!strcmp(k->string, "api_key_file") || !strcmp(k->string, "headers") || !strcmp(k->string, "items"))
			continue;
		if (!cJSON_Compare(k, g, 1)) {
			char *a = cJSON_PrintUnformatted(k), *b = g ? cJSON_PrintUnformatted(g) : NULL;

			diag("%s: the example has %s, agent_settings %s", k->string, a ? a : "?", b ? b : "nothing");
			free(a);
			free(b);
			all = 0;
		}
	}
	ok(all, "every plain setting of the example is in force as written");
	all = 1;
	cJSON_ArrayForEach(k, got)
		if (!derived(k->string) && !cJSON_GetObjectItemCaseSensitive(agent, k->string)) {
			diag("%s: a setting the example lacks", k->string);
			all = 0;
		}
	ok(all, "the example has every setting agent_settings shows");
	/* headers: the names kept, the values masked */
	all = 1;
	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(agent, "headers")) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(got, "headers"), k->string);

		all &= cJSON_IsString(g) && !strcmp(g->valuestring, "****");
	}
	ok(all && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(agent, "headers")) > 0,
	   "the example's headers are in force (values masked)");
	/* items: mode, floor, max_steps and notes per item */
	all = 1;
	items = cJSON_GetObjectItemCaseSensitive(got, "items");
	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(agent, "items")) {
		const cJSON *g = item_of(items, k->string), *v;
		char want[32];

		if (!g) {
			diag("item %s: not in agent_settings", k->string);
			all = 0;
			continue;
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(k, "mode")) &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "mode")) ?: "", v->valuestring)) {
			diag("item %s: mode", k->string);
			all = 0;
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(k, "floor"))) {
			floor_text(v, want, sizeof want);
			if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "floor")) ?: "", want)) {
				diag("item %s: floor %s", k->string, want);
				all = 0;
			}
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(k, "max_steps")) &&
		    !cJSON_Compare(v, cJSON_GetObjectItemCaseSensitive(g, "max_steps"), 1)) {
			diag("item %s: max_steps", k->string);
			all = 0;
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(k, "notes")) &&
		    !cJSON_Compare(v, cJSON_GetObjectItemCaseSensitive(g, "notes"), 1)) {
			diag("item %s: notes", k->string);
			all = 0;
		}
	}
	ok(all && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(agent, "items")) == cJSON_GetArraySize(items),
	   "the example's items are in force (mode, floor in yuan as a number and a string, max_steps, notes)");
	it = item_of(items, "40006");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "floor")) ?: "", "45.50",
	       "a floor given as the string \"45.50\"");
	ok(fh_log_find(f, KEY) == 0, "the key is in no log line");
done:
	fh_free(f);
	cJSON_Delete(got);
	cJSON_Delete(ex);
	free(text);
	free(sec);
	free(raw);
	unlink(keyfile);
	rmdir(dir);
	return tap_done();
}
