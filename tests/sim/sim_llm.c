/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_llm.c - a fake OpenAI-compatible model on the platform port,
 * for the agent plugin's tests and the demo (README.md "Fake model").
 *
 * POST /v1/chat/completions (any path ending in /chat/completions) answers
 * like the chat-completions API: {"id","object":"chat.completion","created",
 * "model","choices":[{"index":0,"message":{"role":"assistant","content"},
 * "finish_reason":"stop"}],"usage"}. Each request is recorded (its body
 * parsed, a few headers kept: GET /llm/requests). A scripted queue (POST
 * /llm/script) gives the next answers, one per request: a content, an HTTP
 * status with a body, any raw body, each after an optional delay (a timer of
 * the loop: the simulator goes on meanwhile). With the queue empty a
 * deterministic bargainer answers (sim_llm_bargain). /llm/script and
 * /llm/requests work on the control port too (and so in scenarios).
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_LLM_KEEP 500            /* requests kept in the log */
#define SIM_LLM_DELAY_MAX 600000    /* ms */

/* One scripted answer. */
typedef struct llm_answer {
	struct llm_answer *next;
	int status;                 /* HTTP status, 200 unless given */
	int delay_ms;
	char *content;              /* the assistant's text, or NULL */
	char *raw;                  /* the whole body as is, or NULL */
	char *body;                 /* the body of a status answer, or NULL (an OpenAI-style error) */
} llm_answer;

/* A delayed answer waiting for its timer (pss->llm). */
struct sim_llm_wait {
	lws_sorted_usec_list_t sul;
	struct lws *wsi;
	sim_pss *pss;
	unsigned status;
	char *body;
};

static llm_answer *q_head, **q_tail = &q_head;
static int q_n;
static cJSON *log_req, *log_hdr;     /* parallel arrays, oldest first */
static long n_requests, n_answers;

/* Headers kept per request (lower case, with the colon for custom ones). */
static const char *const llm_custom_headers[] = {
	"x-test:", "x-title:", "http-referer:", "x-api-key:", "api-key:", "openai-organization:", NULL
};

static void answer_free(llm_answer *a)
{
	if (!a)
		return;
	free(a->content);
	free(a->raw);
	free(a->body);
	free(a);
}

/* Forgets the queue and the request log (POST /reset, {"clear":true}, exit). */
void sim_llm_reset(void)
{
	while (q_head) {
		llm_answer *n = q_head->next;

		answer_free(q_head);
		q_head = n;
	}
	q_tail = &q_head;
	q_n = 0;
	cJSON_Delete(log_req);
	cJSON_Delete(log_hdr);
	log_req = log_hdr = NULL;
	n_requests = n_answers = 0;
}

/* Cancels and frees the delayed answer of a connection that closes. */
void sim_llm_drop(sim_pss *pss)
{
	struct sim_llm_wait *w = pss ? pss->llm : NULL;

	if (!w)
		return;
	lws_sul_cancel(&w->sul);
	free(w->body);
	free(w);
	pss->llm = NULL;
}

/* The text of a message's content: a string, or the "text" parts of an
 * array of parts joined; into b. */
static void content_text(const cJSON *msg, sbuf *b)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content"), *part, *parts;

	if (cJSON_IsString(c)) {
		sbuf_adds(b, c->valuestring);
		return;
	}
	/* not the conditional inside cJSON_ArrayForEach: its macro misparses it */
	parts = cJSON_IsArray(c) ? c : NULL;
	cJSON_ArrayForEach(part, parts) {
		const char *t = sim_jstr(part, "text", NULL);

		if (t)
			sbuf_adds(b, t);
	}
}

/* Whether a buyer's text asks about the price or bargains: a digit, or a
 * price word. */
static int llm_price_question(const char *t)
{
	static const char *const words[] = {
		"便宜", "少", "价", "刀", "最低", "多少", "优惠", "折", "元", "块", "卖不卖", "包邮", NULL
	};

	for (const char *s = t; *s; s++)
		if (*s >= '0' && *s <= '9')
			return 1;
	for (int i = 0; words[i]; i++)
		if (strstr(t, words[i]))
			return 1;
	return 0;
}

/* The value of a "<label><value>" line of text into out ("" when none). */
static void line_value(const char *text, const char *label, char *out, size_t n)
{
	const char *s = strstr(text, label), *e;

	out[0] = '\0';
	if (!s)
		return;
	s += strlen(label);
	e = strchr(s, '\n');
	snprintf(out, n, "%.*s", e ? (int)(e - s) : (int)strlen(s), s);
}

/* Writes n (0..99999999) in Chinese numerals: 八十一, 一百零五, 七十三. */
static void cn_number(long n, sbuf *b)
{
	static const char *const dig[] = {"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
	static const char *const unit[] = {"千", "百", "十", ""};
	static const long pw[] = {1000, 100, 10, 1};
	int started = 0, zero = 0;

	if (n <= 0) {
		sbuf_adds(b, "零");
		return;
	}
	if (n >= 10000) {
		cn_number(n / 10000, b);
		sbuf_adds(b, "万");
		n %= 10000;
		if (!n)
			return;
		started = 1;
		zero = n < 1000;
	}
	for (int i = 0; i < 4; i++) {
		long d = n / pw[i] % 10;

		if (!d) {
			zero = started;
			continue;
		}
		if (zero)
			sbuf_adds(b, "零");
		zero = 0;
		/* 十二, not 一十二, when it leads */
		if (!(i == 2 && d == 1 && !started))
			sbuf_adds(b, dig[d]);
		sbuf_adds(b, unit[i]);
		started = 1;
	}
}

/* The default bargainer's answer to a request (README.md "Fake model"),
 * malloc'd. Stateless, so deterministic: the k-th price question is counted
 * among the user messages of the request (the history the agent sends). */
static char *llm_bargain(const cJSON *req)
{
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages"), *m;
	sbuf sys = {0}, last = {0}, t = {0}, out = {0};
	char title[256], price_s[64];
	int k = 0, last_price = 0;
	double price;

	cJSON_ArrayForEach(m, msgs) {
		const char *role = sim_jstr(m, "role", "");

		if (!strcmp(role, "system")) {
			content_text(m, &sys);
			sbuf_adds(&sys, "\n");
		} else if (!strcmp(role, "user")) {
			sbuf_reset(&last);
			content_text(m, &last);
			sbuf_adds(&last, "");
			last_price = llm_price_question(last.p);
			k += last_price;
		}
	}
	sbuf_adds(&sys, "");
	line_value(sys.p, "商品：", title, sizeof title);
	line_value(sys.p, "价格：", price_s, sizeof price_s);
	price = strtod(price_s, NULL);
	if (last_price && price > 0) {
		for (int i = 0; i < k; i++)
			price *= 0.9;
		/* every second price answer in Chinese numerals: both parsers of the guard get work */
		if (k % 2 == 0) {
			cn_number((long)(price + 0.5), &t);
			sbuf_addf(&out, "%s块吧，真的不能再少了", t.p);
		} else {
			sbuf_addf(&out, "最低%ld元，不能再少啦", (long)(price + 0.5));
		}
	} else if (last_price) {
		sbuf_adds(&out, "这个价格已经很实在啦，放心拍～");
	} else {
		sbuf_addf(&out, "这个%s成色很好，放心拍～", title[0] ? title : "宝贝");
	}
	sbuf_free(&sys);
	sbuf_free(&last);
	sbuf_free(&t);
	return sbuf_take(&out);
}

/* A chat.completion body with content (malloc'd). */
static char *completion(const cJSON *req, const char *content)
{
	cJSON *o = cJSON_CreateObject(), *ch, *c, *msg, *u;
	char id[48];
	char *s;
	int prompt_len = 0;

	snprintf(id, sizeof id, "chatcmpl-sim-%ld", n_answers);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "chat.completion");
	cJSON_AddNumberToObject(o, "created", (double)time(NULL));
	cJSON_AddStringToObject(o, "model", sim_jstr(req, "model", "demo-bargainer"));
	ch = cJSON_AddArrayToObject(o, "choices");
	c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "index", 0);
	msg = cJSON_AddObjectToObject(c, "message");
	cJSON_AddStringToObject(msg, "role", "assistant");
	cJSON_AddStringToObject(msg, "content", content);
	cJSON_AddStringToObject(c, "finish_reason", "stop");
	cJSON_AddItemToArray(ch, c);
	u = cJSON_AddObjectToObject(o, "usage");
	s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(req, "messages"));
	prompt_len = s ? (int)strlen(s) / 3 : 0;
	free(s);
	cJSON_AddNumberToObject(u, "prompt_tokens", prompt_len);
	cJSON_AddNumberToObject(u, "completion_tokens", (int)strlen(content) / 3);
	cJSON_AddNumberToObject(u, "total_tokens", prompt_len + (int)strlen(content) / 3);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* An OpenAI-style error body (malloc'd). */
static char *error_body(int status, const char *type, const char *msg)
{
	cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
	char *s;

	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddNumberToObject(e, "code", status);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Keeps a request: its body (parsed, or the text when it is not JSON) and
 * its kept headers; the oldest goes past SIM_LLM_KEEP. */
static void llm_record(struct lws *wsi, const sim_pss *pss, const cJSON *req)
{
	cJSON *h = cJSON_CreateObject();
	char v[1024];

	if (!log_req) {
		log_req = cJSON_CreateArray();
		log_hdr = cJSON_CreateArray();
	}
	if (cJSON_GetArraySize(log_req) >= SIM_LLM_KEEP) {
		cJSON_DeleteItemFromArray(log_req, 0);
		cJSON_DeleteItemFromArray(log_hdr, 0);
	}
	if (req)
		cJSON_AddItemToArray(log_req, cJSON_Duplicate(req, 1));
	else {
		sbuf b = {0};

		sbuf_add(&b, pss->body.p ? pss->body.p : "", pss->body.len);
		sbuf_adds(&b, "");
		cJSON_AddItemToArray(log_req, cJSON_CreateString(b.p ? b.p : ""));
		sbuf_free(&b);
	}
	if (lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP_AUTHORIZATION) > 0)
		cJSON_AddStringToObject(h, "authorization", v);
	if (lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP_CONTENT_TYPE) > 0)
		cJSON_AddStringToObject(h, "content-type", v);
	for (int i = 0; llm_custom_headers[i]; i++) {
		const char *n = llm_custom_headers[i];
		int nl = (int)strlen(n);

		if (lws_hdr_custom_length(wsi, n, nl) > 0 && lws_hdr_custom_copy(wsi, v, sizeof v, n, nl) >= 0) {
			char name[32];

			snprintf(name, sizeof name, "%.*s", nl - 1, n);
			cJSON_AddStringToObject(h, name, v);
		}
	}
	cJSON_AddItemToArray(log_hdr, h);
	n_requests++;
}

/* The timer of a delayed answer: sends it. */
static void llm_wait_fire(lws_sorted_usec_list_t *sul)
{
	struct sim_llm_wait *w = lws_container_of(sul, struct sim_llm_wait, sul);
	struct lws *wsi = w->wsi;
	sim_pss *pss = w->pss;
	int r;

	pss->llm = NULL;
	r = sim_http_respond(wsi, pss, w->status, "application/json", w->body, NULL);
	free(w->body);
	free(w);
	if (r)
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Answers a chat-completions request: the next scripted answer, else the
 * bargainer, now or after its delay. Returns what sim_http_respond returns. */
static int llm_complete(struct lws *wsi, sim_pss *pss)
{
	const char *ct = "application/json";
	cJSON *req = pss->body.len ? cJSON_ParseWithLength(pss->body.p, pss->body.len) : NULL;
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	llm_answer *a = NULL;
	unsigned status = 200;
	char *body = NULL;
	int r, delay = 0;

	llm_record(wsi, pss, req);
	if (!cJSON_IsObject(req) || !cJSON_IsArray(msgs) || !cJSON_GetArraySize(msgs) ||
	    !sim_jstr(req, "model", NULL)) {
		fprintf(stderr, "llm: a request refused (not a JSON object with model and messages)\n");
		body = error_body(400, "invalid_request_error",
				  "the body must be a JSON object with \"model\" and a non-empty \"messages\" array");
		r = sim_http_respond(wsi, pss, 400, ct, body ? body : "{}", NULL);
		free(body);
		cJSON_Delete(req);
		return r;
	}
	n_answers++;
	if (q_head) {
		a = q_head;
		q_head = a->next;
		if (!q_head)
			q_tail = &q_head;
		q_n--;
	}
	if (a) {
		status = (unsigned)a->status;
		delay = a->delay_ms;
		if (a->raw)
			body = strdup(a->raw);
		else if (a->content)
			body = completion(req, a->content);
		else if (a->status != 200)
			body = a->body ? strdup(a->body) : error_body(a->status, "server_error", "simulated failure");
	}
	if (!body) {
		char *text = llm_bargain(req);

		body = completion(req, text ? text : "");
		free(text);
	}
	cJSON_Delete(req);
	answer_free(a);
	if (!body)
		return sim_http_respond(wsi, pss, 500, ct, "{}", NULL);
	if (delay > 0) {
		struct sim_llm_wait *w = calloc(1, sizeof *w);

		if (w) {
			sim_llm_drop(pss);
			w->wsi = wsi;
			w->pss = pss;
			w->status = status;
			w->body = body;
			pss->llm = w;
			/* nothing of lws may close the connection while it waits */
			lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
			lws_sul_schedule(S.ctx, 0, &w->sul, llm_wait_fire, (lws_usec_t)delay * 1000);
			return 0;
		}
	}
	r = sim_http_respond(wsi, pss, status, ct, body, NULL);
	free(body);
	return r;
}

/* {"error": msg} with a status. */
static int llm_fail(cJSON **out, int status, const char *msg)
{
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "error", msg);
	return status;
}

/* Checks one scripted answer (answers[i]) and makes it; NULL with err set. */
static llm_answer *answer_parse(const cJSON *e, int i, char *err, size_t errlen)
{
	static const char *const keys[] = {"content", "raw", "status", "body", "delay_ms", NULL};
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
	const cJSON *raw = cJSON_GetObjectItemCaseSensitive(e, "raw");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(e, "body");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "delay_ms"), *k;
	llm_answer *a;

	if (!cJSON_IsObject(e)) {
		snprintf(err, errlen, "answers[%d]: must be an object", i);
		return NULL;
	}
	cJSON_ArrayForEach(k, e) {
		int known = 0;

		for (int j = 0; keys[j]; j++)
			known |= !strcmp(k->string, keys[j]);
		if (!known) {
			snprintf(err, errlen, "answers[%d].%s: unknown key (content, raw, status, body, delay_ms)", i,
				 k->string);
			return NULL;
		}
	}
	if ((c && !cJSON_IsString(c)) || (raw && !cJSON_IsString(raw)) || (body && !cJSON_IsString(body))) {
		snprintf(err, errlen, "answers[%d].%s: must be a string", i,
			 c && !cJSON_IsString(c) ? "content" : raw && !cJSON_IsString(raw) ? "raw" : "body");
		return NULL;
	}
	if (c && raw) {
		snprintf(err, errlen, "answers[%d]: content and raw exclude each other", i);
		return NULL;
	}
	if (st && (!cJSON_IsNumber(st) || st->valuedouble < 100 || st->valuedouble > 599 ||
		   st->valuedouble != (int)st->valuedouble)) {
		snprintf(err, errlen, "answers[%d].status: must be an HTTP status 100..599", i);
		return NULL;
	}
	if (d && (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > SIM_LLM_DELAY_MAX)) {
		snprintf(err, errlen, "answers[%d].delay_ms: must be 0..%d", i, SIM_LLM_DELAY_MAX);
		return NULL;
	}
	if (!c && !raw && !st && !d) {
		snprintf(err, errlen, "answers[%d]: give content, raw, status or delay_ms", i);
		return NULL;
	}
	if (body && (!st || (int)st->valuedouble == 200)) {
		snprintf(err, errlen, "answers[%d].body: only with a status other than 200 (use raw)", i);
		return NULL;
	}
	a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->status = st ? (int)st->valuedouble : 200;
	a->delay_ms = d ? (int)d->valuedouble : 0;
	a->content = c ? strdup(c->valuestring) : NULL;
	a->raw = raw ? strdup(raw->valuestring) : NULL;
	a->body = body ? strdup(body->valuestring) : NULL;
	return a;
}

/* POST /llm/script: {"clear"?: true, "answers"?: [...]}; all answers are
 * checked before any is queued. */
static int llm_script(const cJSON *b, cJSON **out)
{
	const cJSON *ans = cJSON_GetObjectItemCaseSensitive(b, "answers"), *e, *k;
	const cJSON *clear = cJSON_GetObjectItemCaseSensitive(b, "clear");
	llm_answer *head = NULL, **tail = &head, *a;
	char err[200];
	int i = 0, n = 0;

	cJSON_ArrayForEach(k, b)
		if (strcmp(k->string, "answers") && strcmp(k->string, "clear")) {
			snprintf(err, sizeof err, "%s: unknown key (answers, clear)", k->string);
			return llm_fail(out, 400, err);
		}
	if (clear && !cJSON_IsBool(clear))
		return llm_fail(out, 400, "clear: must be true or false");
	if (ans && !cJSON_IsArray(ans))
		return llm_fail(out, 400, "answers: must be an array");
	cJSON_ArrayForEach(e, ans) {
		if (!(a = answer_parse(e, i++, err, sizeof err))) {
			while (head) {
				a = head->next;
				answer_free(head);
				head = a;
			}
			return llm_fail(out, 400, err);
		}
		*tail = a;
		tail = &a->next;
		n++;
	}
	if (cJSON_IsTrue(clear))
		sim_llm_reset();
	if (head) {
		*q_tail = head;
		q_tail = tail;
		q_n += n;
	}
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "queued", q_n);
	return 200;
}

/* GET /llm/requests. */
static int llm_requests(cJSON **out)
{
	*out = cJSON_CreateObject();
	cJSON_AddItemToObject(*out, "requests", log_req ? cJSON_Duplicate(log_req, 1) : cJSON_CreateArray());
	cJSON_AddItemToObject(*out, "headers", log_hdr ? cJSON_Duplicate(log_hdr, 1) : cJSON_CreateArray());
	cJSON_AddNumberToObject(*out, "count", (double)n_requests);
	cJSON_AddNumberToObject(*out, "queued", q_n);
	return 200;
}

/* A /llm/ control call (either port): POST /llm/script, GET /llm/script
 * ({"queued"}), GET /llm/requests. Returns the HTTP status, *out set. */
int sim_llm_ctl(const char *method, const char *path, const cJSON *body, cJSON **out)
{
	if (!strcmp(path, "/llm/script") && !strcmp(method, "POST"))
		return llm_script(body, out);
	if (!strcmp(path, "/llm/script") && !strcmp(method, "GET")) {
		*out = cJSON_CreateObject();
		cJSON_AddNumberToObject(*out, "queued", q_n);
		return 200;
	}
	if (!strcmp(path, "/llm/requests") && !strcmp(method, "GET"))
		return llm_requests(out);
	if (!strcmp(path, "/llm/script") || !strcmp(path, "/llm/requests"))
		return llm_fail(out, 405, "method not allowed");
	return llm_fail(out, 404, "not found");
}

/* Whether path names the chat-completions endpoint. */
static int is_completions(const char *path)
{
	size_t n = strlen(path), k = strlen("/chat/completions");

	return n >= k && !strcmp(path + n - k, "/chat/completions");
}

/* Serves the fake model's paths on the platform port: .../chat/completions
 * (POST), /v1/models (GET), /llm/... Returns what sim_http_respond returns
 * (0 too while a delayed answer waits), or -1 when the path is not one (the
 * caller goes on). */
int sim_llm_http(struct lws *wsi, sim_pss *pss, const char *method)
{
	const char *ct = "application/json";
	cJSON *out = NULL, *body = NULL;
	char *s;
	int st, r;

	if (is_completions(pss->path) && strncmp(pss->path, "/h5/", 4)) {
		if (strcmp(method, "POST"))
			return sim_http_respond(wsi, pss, 405, ct,
						"{\"error\":{\"message\":\"POST only\",\"type\":\"invalid_request_error\"}}",
						NULL);
		return llm_complete(wsi, pss);
	}
	if (!strcmp(pss->path, "/v1/models"))
		return sim_http_respond(wsi, pss, 200, ct,
					"{\"object\":\"list\",\"data\":[{\"id\":\"demo-bargainer\",\"object\":\"model\","
					"\"owned_by\":\"shopkeep-sim\"}]}", NULL);
	if (strncmp(pss->path, "/llm/", 5))
		return -1;
	if (pss->body.len && !(body = cJSON_ParseWithLength(pss->body.p, pss->body.len)))
		return sim_http_respond(wsi, pss, 400, ct, "{\"error\":\"body is not JSON\"}", NULL);
	if (!strcmp(method, "POST") && !body)
		body = cJSON_CreateObject();
	if (body && !cJSON_IsObject(body))
		st = llm_fail(&out, 400, "body must be a JSON object");
	else
		st = sim_llm_ctl(method, pss->path, body, &out);
	cJSON_Delete(body);
	s = out ? cJSON_PrintUnformatted(out) : NULL;
	cJSON_Delete(out);
	r = sim_http_respond(wsi, pss, (unsigned)st, ct, s ? s : "{}", NULL);
	free(s);
	return r;
}
