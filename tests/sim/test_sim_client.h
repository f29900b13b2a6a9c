/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_sim_client.h - the scripted client of tests/sim/test_sim.c:
 * the simulator it runs, the main account's cookie, control and mtop calls,
 * a registered WebSocket session, pushes read, ACKed and decoded, and the
 * body of a send. Split from test_sim.c to keep that file to its tests.
 */
#ifndef SK_TEST_SIM_CLIENT_H
#define SK_TEST_SIM_CLIENT_H

#include "tap.h"
#include "tbot.h"
#include "codec.h"
#include "sign.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define jget tc_jget
#define jps tc_jstr
#define jpn tc_jnum

#define UNB "2200000000001"
#define UNB2 "2200000000002"
#define DID "3F2A1B4C-9D8E-4F7A-B6C5-D4E3F2A1B0C9-" UNB
#define TOKEN_API "mtop.taobao.idlemessage.pc.login.token"

static tc_sim sim;
static char cookie[512];


static inline const char *js(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* strstr that takes a NULL haystack as "not found". */
static inline const char *sstr(const char *h, const char *n)
{
	return h && n ? strstr(h, n) : NULL;
}

/* A control call; returns the parsed answer (caller deletes). */
static inline cJSON *ctl(const char *method, const char *path, const char *body, int *status)
{
	return tc_ctl(sim.ctl_port, method, path, body, status);
}

static inline void ctl_ok(const char *path, const char *body)
{
	int st = 0;
	cJSON *r = ctl("POST", path, body, &st);

	if (st != 200)
		diag("control %s %s -> %d", path, body, st);
	cJSON_Delete(r);
}

#define stat_of(name) tsim_stat(&sim, name)

#define mtop_full(...) tc_mtop(sim.port, __VA_ARGS__)

static inline cJSON *mtop(const char *api, const char *data)
{
	return mtop_full(cookie, api, data, NULL, NULL, NULL);
}

static inline const char *ret0(const cJSON *env)
{
	return jps(env, "ret.0");
}

/* Mints an IM token for did with the given cookie; malloc'd, NULL on failure. */
static inline char *get_token(const char *ck, const char *did)
{
	char data[256];
	cJSON *env;
	char *tok = NULL;

	snprintf(data, sizeof data, "{\"appKey\":\"%s\",\"deviceId\":\"%s\"}", SIGN_IM_APPKEY, did);
	env = mtop_full(ck, TOKEN_API, data, NULL, NULL, NULL);
	if (jps(env, "data.accessToken"))
		tok = strdup(jps(env, "data.accessToken"));
	cJSON_Delete(env);
	return tok;
}

static inline tc_ws *ws_open(const char *ck)
{
	char hdr[700];

	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nOrigin: https://www.goofish.com\r\n", ck);
	return tc_ws_connect(sim.port, "/", hdr, 3000, NULL);
}

static int mid_n;

static inline void send_req(tc_ws *w, const char *lwp, const char *headers_extra, const char *body, char *mid)
{
	char buf[8192];

	snprintf(mid, 32, "%d%lld 0", ++mid_n, (long long)util_now_ms());
	snprintf(buf, sizeof buf, "{\"lwp\":\"%s\",\"headers\":{%s%s\"mid\":\"%s\"}%s%s}", lwp,
		 headers_extra ? headers_extra : "", headers_extra ? "," : "", mid, body ? ",\"body\":" : "",
		 body ? body : "");
	tc_ws_send_text(w, buf, strlen(buf));
}

static inline cJSON *request(tc_ws *w, const char *lwp, const char *hx, const char *body)
{
	char mid[32];

	send_req(w, lwp, hx, body, mid);
	return tc_lwp_await(w, mid, 3000, 0);
}

/* ACKs a push the way the bot must (docs/protocol.md §4.4). */
static inline void ack(tc_ws *w, const cJSON *push)
{
	char buf[1024];

	snprintf(buf, sizeof buf, "{\"code\":200,\"headers\":{\"mid\":\"%s\",\"sid\":\"%s\"}}",
		 jps(push, "headers.mid") ? jps(push, "headers.mid") : "",
		 jps(push, "headers.sid") ? jps(push, "headers.sid") : "");
	tc_ws_send_text(w, buf, strlen(buf));
}

/* Next push (frame with an lwp), ACKed unless noack; NULL on timeout. */
static inline cJSON *next_push_opt(tc_ws *w, int ms, int noack)
{
	int64_t end = util_mono_us() + (int64_t)ms * 1000;

	while (util_mono_us() < end) {
		cJSON *f = tc_ws_recv_json(w, (int)((end - util_mono_us()) / 1000) + 1);

		if (!f)
			return NULL;
		if (js(f, "lwp")) {
			if (!noack)
				ack(w, f);
			return f;
		}
		cJSON_Delete(f);
	}
	return NULL;
}

static inline cJSON *next_push(tc_ws *w)
{
	return next_push_opt(w, 3000, 0);
}

/* Decodes item i of a push; *kind gets the codec kind. */
static inline cJSON *item(const cJSON *push, int i, codec_kind *kind)
{
	const char *d = jps(push, "body.syncPushPackage.data") ? NULL : NULL;
	const cJSON *it = cJSON_GetArrayItem(jget(push, "body.syncPushPackage.data"), i);
	const char *err = NULL;
	codec_kind k;

	(void)d;
	if (!it || !js(it, "data"))
		return NULL;
	return codec_decode_item(js(it, "data"), strlen(js(it, "data")), kind ? kind : &k, &err);
}

static inline int nitems(const cJSON *push)
{
	return cJSON_GetArraySize(jget(push, "body.syncPushPackage.data"));
}

/* Reads (and ACKs) pushes until a chat item with this text arrives; returns it
 * decoded, NULL after 3 s. Earlier pushes (redeliveries of garbage a test did
 * not ACK) are skipped. */
static inline cJSON *find_text(tc_ws *w, const char *text)
{
	int64_t end = util_mono_us() + 3000000;
	cJSON *p, *m;
	int i, n;

	while (util_mono_us() < end && (p = next_push(w))) {
		n = nitems(p);
		for (i = 0; i < n; i++) {
			m = item(p, i, NULL);
			if (jps(m, "1.10.reminderContent") && !strcmp(jps(m, "1.10.reminderContent"), text)) {
				cJSON_Delete(p);
				return m;
			}
			cJSON_Delete(m);
		}
		cJSON_Delete(p);
	}
	return NULL;
}

/* Opens, registers and ackDiffs a connection for the main account. */
static inline tc_ws *session(const char *ck, const char *did, char **tok_out)
{
	char *tok = get_token(ck, did), hx[700];
	tc_ws *w;
	cJSON *r;

	if (!tok)
		return NULL;
	w = ws_open(ck);
	if (!w) {
		free(tok);
		return NULL;
	}
	snprintf(hx, sizeof hx, "\"cache-header\":\"app-key token ua wv\",\"app-key\":\"%s\",\"token\":\"%s\","
		 "\"ua\":\"Mozilla/5.0 DingTalk(2.1.5) DingWeb/2.1.5 IMPaaS DingWeb/2.1.5\",\"dt\":\"j\","
		 "\"wv\":\"im:3,au:3,sy:6\",\"sync\":\"0,0;0;0;\",\"did\":\"%s\"", SIGN_IM_APPKEY, tok, did);
	r = request(w, "/reg", hx, NULL);
	cJSON_Delete(r);
	if (tok_out)
		*tok_out = tok;
	else
		free(tok);
	return w;
}

/* A base64 of s, malloc'd. */
static inline char *b64(const char *s)
{
	return codec_b64_encode(s, strlen(s));
}

/* A sendByReceiverScope body for a text (payload JSON given as is). */
static inline char *send_body(const char *uuid, const char *cid, const char *payload, const char *buyer)
{
	char *d = b64(payload), *out;
	sbuf b = {0};

	sbuf_addf(&b, "[{\"uuid\":\"%s\",\"cid\":\"%s@goofish\",\"conversationType\":1,"
		  "\"content\":{\"contentType\":101,\"custom\":{\"type\":1,\"data\":\"%s\"}},"
		  "\"redPointPolicy\":0,\"extension\":{\"extJson\":\"{}\"},"
		  "\"ctx\":{\"appVersion\":\"1.0\",\"platform\":\"web\"},\"mtags\":{},\"msgReadStatusSetting\":1},"
		  "{\"actualReceivers\":[\"%s@goofish\",\"%s@goofish\"]}]", uuid, cid, d, buyer, UNB);
	free(d);
	out = sbuf_take(&b);
	return out;
}

#endif
