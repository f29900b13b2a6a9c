/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_agent_handoff.c - autoreply and the real agent plugin
 * together on the fake host: what no keyword rule matched is handed to the
 * agent (agent_take through sk_control_run), which asks the model (a
 * recorded HTTP POST) and sends exactly one reply tagged agent:<message_id>;
 * a keyword rule still answers by itself; a model failure sends autoreply's
 * own default reply (the fallback) once; the seller typing while the model
 * thinks drops the AI reply; a message pushed again after a restart is not
 * answered twice.
 */
#include <stdlib.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fakehost/fakehost.h"
#include "tap.h"
#include "autoreply_fixture.h"

#define RULES "{\"keyword_rules\":[{\"id\":\"ship\",\"keywords\":[\"发货\"],\"reply\":\"今天发货\"}]," \
	"\"default_reply\":{\"reply\":\"亲，在的，{buyer_name}\"}}"
#define SECTIONS "{\"autoreply\":{\"debounce_ms\":0},\"agent\":{\"base_url\":\"http://127.0.0.1:9/v1\"," \
	"\"model\":\"m\"}}"

/* Loads autoreply then the agent. NULL (said) on failure. */
static fh *both(void)
{
	char so[512];
	fh *f = start(SECTIONS, rules);

	if (f && fh_load(f, fh_build_path(so, sizeof so, "plugins/agent.so"), NULL) != 0) {
		diag("agent: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

/* Answers the last HTTP request with content text. */
static void model_says(fh *f, const char *text)
{
	cJSON *o = cJSON_CreateObject(), *ch = cJSON_AddArrayToObject(o, "choices"), *c = cJSON_CreateObject(),
	      *m = cJSON_AddObjectToObject(c, "message");
	char *body;

	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddStringToObject(m, "content", text);
	cJSON_AddItemToArray(ch, c);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	fh_http_reply(f, fh_nhttp(f) - 1, 200, body);
	free(body);
}

/* The number of sends whose tag starts with prefix. */
static int tagged(fh *f, const char *prefix)
{
	int n = 0;

	for (size_t i = 0; i < fh_nsends(f); i++)
		if (!strncmp(fh_send_at(f, i)->tag, prefix, strlen(prefix)))
			n++;
	return n;
}

int main(void)
{
	char so[512];
	sk_event e;
	fh *f;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk_aghand_XXXXXX");
	if (!ok(mkdtemp(tmpdir) != NULL, "a temporary directory"))
		return tap_done();
	snprintf(rules, sizeof rules, "%s/rules.json", tmpdir);
	ok(write_rules(RULES), "rules written");
	if (!ok((f = both()) != NULL, "autoreply and agent load"))
		goto out;

	say(f, "c1", "", "在吗");
	is_int((int)fh_nhttp(f), 1, "an unmatched text: the agent asks the model");
	is_int((int)fh_nsends(f), 0, "and autoreply sends nothing");
	model_says(f, "在的，请问有什么可以帮您？");
	is_int((int)fh_nsends(f), 1, "one reply");
	is_int(tagged(f, "agent:"), 1, "the agent's, tagged agent:<message_id>");
	is_str(fh_send_at(f, 0)->text, "在的，请问有什么可以帮您？", "the model's answer");
	is_str(fh_q_str(f, "SELECT decision || '|' || rule FROM autoreply_log ORDER BY id DESC LIMIT 1"),
	       "agent|agent:default", "autoreply logs the hand-off");

	fh_clear_sends(f);
	say(f, "c1", "", "什么时候发货");
	is_int((int)fh_nhttp(f), 1, "a keyword rule's text never reaches the agent");
	is_str(last(f), "今天发货", "the rule answers");

	fh_clear_sends(f);
	say(f, "c2", "", "在吗");
	fh_http_reply(f, fh_nhttp(f) - 1, 500, "oops");
	is_int((int)fh_nsends(f), 1, "a model failure: one reply");
	is_str(last(f), "亲，在的，Alice", "autoreply's default reply as the fallback");

	fh_clear_sends(f);
	say(f, "c3", "", "在吗");
	fh_chat(f, "c3", FH_OWN_ID, "我来");
	model_says(f, "AI 的回答");
	is_int((int)fh_nsends(f), 0, "the seller typed meanwhile: no AI reply");

	/* pushed again after a restart: not answered twice */
	fh_clear_sends(f);
	e = fh_event(f, SK_EV_CHAT_TEXT);
	e.chat_id = "c4";
	e.sender_id = "buyer1";
	e.sender_name = "Alice";
	e.text = "在吗";
	e.message_id = "push-1";
	fh_dispatch(f, &e);
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0 &&
	   fh_load(f, fh_build_path(so, sizeof so, "plugins/agent.so"), NULL) == 0, "both loaded again");
	is_int(tagged(f, "agent:push-1"), 1, "the turn left pending gets its fallback at the start");
	fh_dispatch(f, &e);
	is_int((int)fh_nsends(f), 1, "the same message pushed again: nothing more");
	fh_free(f);
out:
	unlink(rules);
	rmdir(tmpdir);
	return tap_done();
}
