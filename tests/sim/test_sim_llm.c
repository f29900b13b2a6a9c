/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_sim_llm.c - the simulator's fake OpenAI-compatible model
 * (tests/sim/sim_llm.c): the chat.completion shape, the scripted queue in
 * order (content, status, raw, delay), a delay that does not block the
 * simulator, a client leaving during a delay, the request log with its
 * headers, the checks of POST /llm/script, /reset, and the default
 * bargainer's steps (digits, then Chinese numerals, per price question).
 */
#include "test_sim_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define SYS "你是卖家的客服。\n商品：VIP 月卡\n价格：100.00元\n描述：自动发货\n最低可以让到：80.00元\n"

/* POSTs body to path on the platform port; the status, -1 on I/O error;
 * *out (may be NULL) gets the body (caller frees). */
static int post(const char *path, const char *hdr, const char *body, char **out)
{
	tc_http_resp r;
	int st;

	if (out)
		*out = NULL;
	if (tc_http(sim.port, "POST", path, hdr, body, strlen(body), &r, 5000))
		return -1;
	st = r.status;
	if (out)
		*out = strdup(r.body);
	tc_http_free(&r);
	return st;
}

/* A chat request body: the system prompt SYS (or sys), then the user
 * texts (NULL-terminated), each followed by an assistant line but the last. */
static char *req_body(const char *sys, const char *const *users)
{
	cJSON *o = cJSON_CreateObject(), *m = cJSON_AddArrayToObject(o, "messages"), *x;
	char *s;

	cJSON_AddStringToObject(o, "model", "demo-bargainer");
	cJSON_AddNumberToObject(o, "max_tokens", 300);
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "role", "system");
	cJSON_AddStringToObject(x, "content", sys ? sys : SYS);
	cJSON_AddItemToArray(m, x);
	for (int i = 0; users[i]; i++) {
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "role", "user");
		cJSON_AddStringToObject(x, "content", users[i]);
		cJSON_AddItemToArray(m, x);
		if (users[i + 1]) {
			x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "role", "assistant");
			cJSON_AddStringToObject(x, "content", "好的");
			cJSON_AddItemToArray(m, x);
		}
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* The assistant's content of a chat.completion body (static copy), "" when
 * the body is not one. */
static const char *content_of(const char *body)
{
	static char buf[512];
	cJSON *j = body ? cJSON_Parse(body) : NULL;

	snprintf(buf, sizeof buf, "%s", jps(j, "choices.0.message.content") ?: "");
	cJSON_Delete(j);
	return buf;
}

/* The bargainer's answer to the users' texts (static copy). */
static const char *ask(const char *sys, const char *const *users)
{
	char *b = req_body(sys, users), *out;
	const char *c;

	post("/v1/chat/completions", NULL, b, &out);
	c = content_of(out);
	free(b);
	free(out);
	return c;
}

/* Opens a TCP connection to the platform port and writes a POST of body to
 * path; returns the fd (the answer is not read), -1 on failure. */
static int raw_post(const char *path, const char *body)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sim.port)};
	char head[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n", path, strlen(body));
	if (write(fd, head, (size_t)n) != n || write(fd, body, strlen(body)) != (ssize_t)strlen(body)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads from fd until "needle" arrived or ms passed; 1 when it did. */
static int read_until(int fd, const char *needle, int ms)
{
	char buf[8192];
	size_t have = 0;
	int64_t end = util_mono_us() + (int64_t)ms * 1000;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (util_mono_us() < end && have < sizeof buf - 1) {
		ssize_t n;

		if (poll(&p, 1, (int)((end - util_mono_us()) / 1000) + 1) <= 0)
			continue;
		n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			return 0;
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, needle))
			return 1;
	}
	return 0;
}

int main(void)
{
	static const char *const q1[] = {"能便宜点吗", NULL};
	static const char *const q2[] = {"能便宜点吗", "80卖不卖", NULL};
	static const char *const q3[] = {"能便宜点吗", "80卖不卖", "70呢", NULL};
	static const char *const q4[] = {"能便宜点吗", "80卖不卖", "70呢", "最低多少", NULL};
	static const char *const mixed[] = {"在吗", "能便宜点吗", "发什么快递", NULL};
	static const char *const other[] = {"成色怎么样", NULL};
	char *b, *out = NULL;
	cJSON *j;
	int st, fd;
	int64_t t0, dt;

	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();

	/* the shape */
	b = req_body(NULL, q1);
	st = post("/v1/chat/completions", "Authorization: Bearer sk-abcdef123456\r\nX-Test: hello\r\n", b, &out);
	is_int(st, 200, "chat completions: 200");
	j = out ? cJSON_Parse(out) : NULL;
	is_str(jps(j, "object") ?: "", "chat.completion", "object chat.completion");
	is_str(jps(j, "model") ?: "", "demo-bargainer", "the request's model echoed");
	is_str(jps(j, "choices.0.message.role") ?: "", "assistant", "choices[0].message.role assistant");
	is_str(jps(j, "choices.0.finish_reason") ?: "", "stop", "finish_reason stop");
	ok(jps(j, "id") && !strncmp(jps(j, "id"), "chatcmpl-", 9), "an id chatcmpl-...");
	ok(jpn(j, "usage.total_tokens") > 0, "usage counted");
	is_str(jps(j, "choices.0.message.content") ?: "", "最低90元，不能再少啦",
	       "the bargainer's first price answer: 100 x 0.9 in digits");
	cJSON_Delete(j);
	free(out);
	free(b);

	/* the request log */
	j = ctl("GET", "/llm/requests", NULL, &st);
	is_int(st, 200, "GET /llm/requests on the control port");
	is_int(cJSON_GetArraySize(jget(j, "requests")), 1, "one request logged");
	is_str(jps(j, "requests.0.messages.1.content") ?: "", "能便宜点吗", "its body parsed");
	/* ok, not is_str: a key is never printed, not even a test's */
	ok(!strcmp(jps(j, "headers.0.authorization") ?: "", "Bearer sk-abcdef123456"), "its Authorization kept");
	is_str(jps(j, "headers.0.x-test") ?: "", "hello", "an extra header kept");
	cJSON_Delete(j);
	{
		tc_http_resp r;

		ok(!tc_http(sim.port, "GET", "/llm/requests", NULL, NULL, 0, &r, 3000) && r.status == 200 &&
		   strstr(r.body, "能便宜点吗"), "GET /llm/requests on the platform port too");
		tc_http_free(&r);
	}

	/* the default bargainer */
	is_str(ask(NULL, q2), "八十一块吧，真的不能再少了", "second price question: 81 in Chinese numerals");
	is_str(ask(NULL, q3), "最低73元，不能再少啦", "third: 72.9 rounded to 73 (below an 80 floor: the guard's work)");
	is_str(ask(NULL, q4), "六十六块吧，真的不能再少了", "fourth: 66 in Chinese numerals");
	is_str(ask(NULL, mixed), "这个VIP 月卡成色很好，放心拍～", "a question that is not about the price names the title");
	is_str(ask("商品：旧书\n", other), "这个旧书成色很好，放心拍～", "another title");
	is_str(ask("没有价格\n", q1), "这个价格已经很实在啦，放心拍～", "a price question without a 价格 line");
	is_str(ask("商品：大件\n价格：1247元\n", q2), "一千零一十块吧，真的不能再少了",
	       "1247 x 0.81 = 1010.07: 一千零一十 (a zero inside)");

	/* the scripted queue, in order */
	ctl_ok("/llm/script", "{\"clear\":true}");
	j = ctl("POST", "/llm/script",
		"{\"answers\":[{\"content\":\"第一个\"},{\"status\":500},{\"raw\":\"{not json\"},"
		"{\"status\":429,\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"slow down\\\"}}\"},"
		"{\"content\":\"慢的\",\"delay_ms\":1500}]}", &st);
	is_int(st, 200, "POST /llm/script");
	is_int((int)jpn(j, "queued"), 5, "five queued");
	cJSON_Delete(j);
	b = req_body(NULL, q1);
	st = post("/v1/chat/completions", NULL, b, &out);
	ok(st == 200 && !strcmp(content_of(out), "第一个"), "first scripted: its content");
	free(out);
	st = post("/v1/chat/completions", NULL, b, &out);
	is_int(st, 500, "second: HTTP 500");
	ok(out && strstr(out, "\"error\""), "with an OpenAI-style error body");
	free(out);
	st = post("/v1/chat/completions", NULL, b, &out);
	ok(st == 200 && out && !strcmp(out, "{not json"), "third: the raw garbage as is");
	free(out);
	st = post("/v1/chat/completions", NULL, b, &out);
	ok(st == 429 && out && strstr(out, "slow down"), "fourth: 429 with its body");
	free(out);

	/* a delay does not block the simulator */
	fd = raw_post("/v1/chat/completions", b);
	ok(fd >= 0, "a request of the delayed answer sent");
	t0 = util_mono_us();
	j = ctl("GET", "/state", NULL, &st);
	{
		struct pollfd p = {.fd = fd, .events = POLLIN};

		ok(st == 200 && fd >= 0 && poll(&p, 1, 0) == 0,
		   "the simulator answers meanwhile (the delayed answer not there yet)");
	}
	cJSON_Delete(j);
	ok(read_until(fd, "慢的", 5000), "the delayed answer arrives");
	dt = util_mono_us() - t0;
	ok(dt >= 1400000, "after its delay (%lld ms)", (long long)(dt / 1000));
	if (fd >= 0)
		close(fd);
	st = post("/v1/chat/completions", NULL, b, &out);
	is_str(content_of(out), "最低90元，不能再少啦", "queue empty: the bargainer again");
	free(out);

	/* a client that leaves during a delay */
	ctl_ok("/llm/script", "{\"answers\":[{\"delay_ms\":800}]}");
	fd = raw_post("/v1/chat/completions", b);
	ok(fd >= 0, "a delayed request sent");
	usleep(100000);
	if (fd >= 0)
		close(fd);
	usleep(1000000);
	st = post("/v1/chat/completions", NULL, b, &out);
	ok(st == 200 && !strcmp(content_of(out), "最低90元，不能再少啦"),
	   "a client gone during the delay: the simulator goes on (its answer dropped)");
	free(out);
	free(b);

	/* bad requests and bad scripts */
	st = post("/v1/chat/completions", NULL, "not json", &out);
	ok(st == 400 && out && strstr(out, "invalid_request_error"), "a body that is not JSON: 400");
	free(out);
	st = post("/v1/chat/completions", NULL, "{\"model\":\"m\",\"messages\":[]}", &out);
	is_int(st, 400, "no messages: 400");
	free(out);
	{
		tc_http_resp r;

		ok(!tc_http(sim.port, "GET", "/v1/chat/completions", NULL, NULL, 0, &r, 3000) && r.status == 405,
		   "GET chat completions: 405");
		tc_http_free(&r);
	}
	j = ctl("GET", "/llm/requests", NULL, &st);
	{
		cJSON *x = cJSON_GetArrayItem(jget(j, "requests"), cJSON_GetArraySize(jget(j, "requests")) - 2);

		is_str(cJSON_IsString(x) ? x->valuestring : "", "not json", "a body that is not JSON is logged as its text");
	}
	cJSON_Delete(j);
	j = ctl("POST", "/llm/script", "{\"answers\":[{\"content\":\"ok\"},{\"delay_ms\":-1}]}", &st);
	ok(st == 400 && sstr(jps(j, "error"), "answers[1].delay_ms"), "a bad delay: 400 naming answers[1].delay_ms");
	cJSON_Delete(j);
	j = ctl("POST", "/llm/script", "{\"answers\":[{\"contnet\":\"x\"}]}", &st);
	ok(st == 400 && sstr(jps(j, "error"), "answers[0].contnet"), "an unknown key: 400 naming it");
	cJSON_Delete(j);
	j = ctl("POST", "/llm/script", "{\"answers\":[{\"status\":700}]}", &st);
	ok(st == 400 && sstr(jps(j, "error"), "answers[0].status"), "a status out of range: 400");
	cJSON_Delete(j);
	j = ctl("POST", "/llm/script", "{\"answers\":{}}", &st);
	ok(st == 400 && sstr(jps(j, "error"), "answers"), "answers not an array: 400");
	cJSON_Delete(j);
	j = ctl("GET", "/llm/script", NULL, &st);
	is_int((int)jpn(j, "queued"), 0, "nothing queued by the refused scripts");
	cJSON_Delete(j);

	/* clear and reset */
	ctl_ok("/llm/script", "{\"answers\":[{\"content\":\"a\"},{\"content\":\"b\"}]}");
	ctl_ok("/llm/script", "{\"clear\":true,\"answers\":[{\"content\":\"c\"}]}");
	j = ctl("GET", "/llm/requests", NULL, &st);
	ok(cJSON_GetArraySize(jget(j, "requests")) == 0 && jpn(j, "queued") == 1,
	   "clear empties the queue and the log, then queues its answers");
	cJSON_Delete(j);
	b = req_body(NULL, q1);
	post("/v1/chat/completions", NULL, b, &out);
	is_str(content_of(out), "c", "the answer queued with clear");
	free(out);
	ctl_ok("/llm/script", "{\"answers\":[{\"content\":\"d\"}]}");
	ctl_ok("/reset", "{}");
	post("/v1/chat/completions", NULL, b, &out);
	is_str(content_of(out), "最低90元，不能再少啦", "POST /reset forgets the queue");
	free(out);
	free(b);
	j = ctl("GET", "/llm/requests", NULL, &st);
	is_int(cJSON_GetArraySize(jget(j, "requests")), 1, "and the log (one request since)");
	cJSON_Delete(j);

	is_int(tc_sim_stop(&sim), 0, "simulator exits 0");
	return tap_done();
}
