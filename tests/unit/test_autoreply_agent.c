/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_autoreply_agent.c - autoreply's hand-off to the agent
 * (plugins/autoreply/autoreply_agent.c) through the fake host, with
 * tests/plugins/agent_probe standing in for the agent: what no keyword rule
 * matched is offered with agent_take (the default's and the item default's
 * messages with the reply autoreply would send, unmatched ones with none),
 * a keyword rule, a pause and a hand-over never reach it, a taken message
 * gets no reply of autoreply's and is logged "agent", a refusal, a failure
 * or a strange answer leaves autoreply answering as before, and a burst is
 * offered once.
 */
#include <stdlib.h>
#include <unistd.h>

#include "autoreply_fixture.h"

#define RULES "{\"keyword_rules\":[{\"id\":\"ship\",\"keywords\":[\"发货\"],\"reply\":\"今天发货\"}]," \
	"\"item_defaults\":[{\"item_id\":\"it9\",\"reply\":\"it9 的默认回复\"}]," \
	"\"default_reply\":{\"reply\":\"亲，在的，{buyer_name}\"}}"

/* A fake host with autoreply (no debounce unless sections say so) and the
 * probe configured with probe_section ("" : no probe). */
static fh *start_with(const char *sections, int probe)
{
	char so[512];
	fh *f = start(sections, rules);

	if (f && probe && fh_load(f, fh_build_path(so, sizeof so, "tests/plugins/agent_probe.so"), NULL) != 0) {
		diag("probe: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

/* The data of the last agent_take ("" none) and how many there were. */
static const char *last_take(fh *f, size_t *n)
{
	const char *m = "";

	*n = 0;
	for (size_t i = 0; i < fh_nlogs(f); i++)
		if (!strncmp(fh_log_at(f, i)->msg, "T:take:", 7)) {
			m = fh_log_at(f, i)->msg + 7;
			(*n)++;
		}
	return m;
}

/* The newest decision log row as "decision|rule|outcome". */
static const char *last_decision(fh *f)
{
	static char buf[256];
	const char *out = NULL;
	cJSON *j, *d;

	buf[0] = 0;
	if (fh_control(f, "decisions", "{\"limit\":1}", &out) == SK_OK && (j = cJSON_Parse(out))) {
		d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "decisions"), 0);
		snprintf(buf, sizeof buf, "%s|%s|%s",
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "decision")) ?: "",
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "rule")) ?: "",
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "outcome")) ?: "");
		cJSON_Delete(j);
	}
	return buf;
}

int main(void)
{
	const char *d;
	size_t n;
	fh *f;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk_aragent_XXXXXX");
	if (!ok(mkdtemp(tmpdir) != NULL, "a temporary directory"))
		return tap_done();
	snprintf(rules, sizeof rules, "%s/rules.json", tmpdir);
	ok(write_rules(RULES), "rules written");

	/* no agent loaded: as before */
	if ((f = start_with(NODEB, 0))) {
		is_str(ask(f, "c1", "", "在吗"), "亲，在的，Alice", "no agent: the default answers");
		is_str(last_decision(f), "default|default|", "no agent: logged default");
		is_str(ask(f, "c1", "", "在吗在吗"), "亲，在的，Alice", "no agent: the default again");
		fh_free(f);
	}

	/* the agent takes what the defaults would answer */
	if ((f = start_with("{\"autoreply\":{\"debounce_ms\":0},\"agent_probe\":{}}", 1))) {
		is_str(ask(f, "c1", "", "能便宜点吗"), "", "taken: autoreply sends nothing");
		d = last_take(f, &n);
		is_int((int)n, 1, "taken: agent_take called once");
		ok(strstr(d, "\"decision\":\"default\"") && strstr(d, "\"reply\":\"亲，在的，Alice\"") &&
		   strstr(d, "\"text\":\"能便宜点吗\"") && strstr(d, "\"chat_id\":\"c1\"") &&
		   strstr(d, "\"buyer_id\":\"buyer1\"") && strstr(d, "\"buyer_name\":\"Alice\"") &&
		   strstr(d, "\"message_id\":\"") && strstr(d, "\"item_id\":\"\""),
		   "taken: the data has the message, decision default and the rendered default reply");
		is_str(last_decision(f), "agent|agent:price|turn:7", "taken: logged agent, its intent and turn");

		is_str(ask(f, "c1", "", "什么时候发货"), "今天发货", "a keyword rule answers");
		last_take(f, &n);
		is_int((int)n, 1, "a keyword rule's message never reaches the agent");

		ask(f, "c2", "it9", "这个还有吗");
		d = last_take(f, &n);
		ok(n == 2 && strstr(d, "\"decision\":\"item_default\"") && strstr(d, "\"reply\":\"it9 的默认回复\""),
		   "the item default's message is offered as item_default with its reply");

		ok(strstr(ask(f, "c3", "", "我要人工"), "已通知卖家") != NULL, "a hand-over word: the hand-over text");
		last_take(f, &n);
		is_int((int)n, 2, "a hand-over never reaches the agent");

		is_int(fh_control(f, "pause_chat", "{\"chat_id\":\"c4\",\"seconds\":600}", &d), SK_OK, "c4 paused");
		ask(f, "c4", "", "还在吗");
		last_take(f, &n);
		is_int((int)n, 2, "a paused chat never reaches the agent");
		fh_free(f);
	}

	/* no default reply: unmatched messages are offered as no_match */
	ok(write_rules("{\"keyword_rules\":[{\"keywords\":[\"发货\"],\"reply\":\"今天发货\"}]}"), "rules without defaults");
	if ((f = start_with("{\"autoreply\":{\"debounce_ms\":0},\"agent_probe\":{}}", 1))) {
		is_str(ask(f, "c1", "", "成色怎么样"), "", "no_match taken: nothing of autoreply's");
		d = last_take(f, &n);
		ok(n == 1 && strstr(d, "\"decision\":\"no_match\"") && strstr(d, "\"reply\":\"\""),
		   "no_match: offered with no reply");
		is_str(last_decision(f), "agent|agent:price|turn:7", "no_match: logged agent");
		fh_free(f);
	}
	ok(write_rules(RULES), "rules with defaults again");

	/* refused, failed, strange answers: autoreply answers */
	if ((f = start_with("{\"autoreply\":{\"debounce_ms\":0},\"agent_probe\":{\"answer\":"
			    "\"{\\\"taken\\\":false,\\\"why\\\":\\\"off\\\"}\"}}", 1))) {
		is_str(ask(f, "c1", "", "在吗"), "亲，在的，Alice", "taken false: the default answers");
		is_str(last_decision(f), "default|default|", "taken false: logged default");
		fh_free(f);
	}
	if ((f = start_with("{\"autoreply\":{\"debounce_ms\":0},\"agent_probe\":{\"fail\":true}}", 1))) {
		is_str(ask(f, "c1", "", "在吗"), "亲，在的，Alice", "agent fails: the default answers");
		ok(fh_log_find(f, "agent_take failed (database error: model store down): answered by the rules") == 1,
		   "agent fails: logged with its error text");
		fh_free(f);
	}
	if ((f = start_with("{\"autoreply\":{\"debounce_ms\":0},\"agent_probe\":{\"answer\":\"{}\"}}", 1))) {
		is_str(ask(f, "c1", "", "在吗"), "亲，在的，Alice", "an answer without taken: the default answers");
		ok(fh_log_find(f, "agent_take answered without \"taken\"") == 1, "and it is logged");
		fh_free(f);
	}
	if ((f = start_with("{\"autoreply\":{\"debounce_ms\":0},\"agent_probe\":{\"answer\":\"not json\"}}", 1))) {
		is_str(ask(f, "c1", "", "在吗"), "亲，在的，Alice", "an answer that is not JSON: the default answers");
		fh_free(f);
	}

	/* a burst is offered once, with its last message */
	if ((f = start_with("{\"autoreply\":{\"debounce_ms\":1000},\"agent_probe\":{}}", 1))) {
		say(f, "c1", "", "你好");
		say(f, "c1", "", "这个");
		say(f, "c1", "", "最低多少");
		last_take(f, &n);
		is_int((int)n, 0, "burst: nothing offered before the debounce");
		fh_advance(f, 1100);
		d = last_take(f, &n);
		ok(n == 1 && strstr(d, "\"text\":\"最低多少\""), "burst: offered once, its last message");
		is_int((int)fh_nsends(f), 0, "burst: autoreply sends nothing");
		fh_free(f);
	}

	/* a banned word in the default: offered with no reply */
	ok(write_rules("{\"default_reply\":{\"reply\":\"加我微信聊\"}}"), "a default with a banned word");
	if ((f = start_with("{\"autoreply\":{\"debounce_ms\":0},\"agent_probe\":{}}", 1))) {
		ask(f, "c1", "", "在吗");
		d = last_take(f, &n);
		ok(n == 1 && strstr(d, "\"reply\":\"\""), "a default with a banned word is not the agent's fallback");
		fh_free(f);
	}
	unlink(rules);
	rmdir(tmpdir);
	return tap_done();
}
