/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_lwp.c - the ids and frames of core/lwp.c: formats of mid,
 * uuid and device id, the exact JSON of every frame, payload round trips
 * through the codec, OOM behaviour, and a round trip through the simulator
 * (token, /reg, ackDiff, heartbeat, ACK, send, create).
 */
#include "tap.h"
#include "lwp.h"
#include "codec.h"
#include "sign.h"
#include "util.h"
#include "sim/tclient.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define jget tc_jget
#define jps tc_jstr
#define jpn tc_jnum

#define UNB "2200000000001"
#define TOKEN_API "mtop.taobao.idlemessage.pc.login.token"

/* --- small helpers ------------------------------------------------------- */

/* Returns 1 when object o has exactly the keys of the NULL-terminated list, in that order. */
static int keys_are(const cJSON *o, const char *const *keys)
{
	const cJSON *c;
	int i = 0;

	if (!cJSON_IsObject(o))
		return 0;
	cJSON_ArrayForEach(c, o) {
		if (!keys[i] || strcmp(c->string, keys[i]))
			return 0;
		i++;
	}
	return keys[i] == NULL;
}

/* Returns 1 when s[0..n) are all decimal digits (and n > 0). */
static int all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* Checks one mid: "<0..999 unpadded><13-digit ms in [t0, t1]> 0". Returns the
 * length of the random part (1..3), or 0 when the mid is malformed. */
static int mid_shape(const char *m, int64_t t0, int64_t t1)
{
	size_t n = strlen(m), d;
	long long ms;

	if (n < 16 || strcmp(m + n - 2, " 0"))
		return 0;
	d = n - 2;
	if (!all_digits(m, d) || d < 14 || d > 16)
		return 0;
	if (d - 13 > 1 && m[0] == '0')
		return 0;
	ms = strtoll(m + d - 13, NULL, 10);
	if (ms < t0 || ms > t1)
		return 0;
	return (int)(d - 13);
}

/* Whether u is "-" + 20 digits + "1" (lwp_uuid's shape). */
static int uuid_ok(const char *u)
{
	return u && strlen(u) == 22 && u[0] == '-' && u[21] == '1' && all_digits(u + 1, 21);
}

/* Returns 1 when d is a valid device id for unb (docs/protocol.md §2). */
static int did_ok(const char *d, const char *unb)
{
	int i;

	if (strlen(d) != 37 + strlen(unb) || d[36] != '-' || strcmp(d + 37, unb))
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (d[i] != '-')
				return 0;
		} else if (i == 14) {
			if (d[i] != '4')
				return 0;
		} else if (i == 19) {
			if (!strchr("89AB", d[i]) || !d[i])
				return 0;
		} else if (!strchr("0123456789ABCDEF", d[i]) || !d[i]) {
			return 0;
		}
	}
	return 1;
}

/* Decodes a send frame's custom.data. Returns the payload tree (caller
 * deletes) and its raw text in *raw (caller frees), NULL on failure. */
static cJSON *send_payload(const cJSON *f, char **raw)
{
	const char *data = jps(f, "body.0.content.custom.data"), *err = NULL;
	codec_kind kind = CODEC_NONE;
	size_t n = 0;
	cJSON *p;

	*raw = NULL;
	if (!data)
		return NULL;
	p = codec_decode_item(data, strlen(data), &kind, &err);
	if (p && kind != CODEC_JSON) {
		cJSON_Delete(p);
		return NULL;
	}
	*raw = (char *)codec_b64_decode(data, strlen(data), &n);
	return p;
}

/* --- ids ----------------------------------------------------------------- */

/* The 13-digit ms of a mid (it ends "<ms> 0"). */
static long long mid_ms(const char *m)
{
	size_t n = strlen(m);

	return n < 15 ? -1 : strtoll(m + n - 15, NULL, 10);
}

static int mid_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_mid(void)
{
	static char all[3000][LWP_MID_MAX];
	char m[LWP_MID_MAX];
	int64_t t0, t1;
	long long last = 0;
	int i, bad = 0, seen[4] = {0}, r, dup = 0;

	/* each mid's ms is the wall clock's, or later while a burst is over
	 * 1000 mids a ms: then the ms steps on by one */
	for (i = 0; i < 5000; i++) {
		t0 = util_now_ms();
		lwp_mid(m);
		t1 = util_now_ms();
		r = mid_shape(m, t0, t1 > last + 1 ? t1 : last + 1);
		if (!r) {
			if (bad++ < 3)
				diag("bad mid \"%s\"", m);
		}
		last = mid_ms(m);
		seen[r]++;
	}
	is_int(bad, 0, "mid: 5000 mids are \"<0..999><13-digit ms> 0\" with no zero padding, the ms the clock's (or "
	       "the last one's + 1 in a burst)");
	/* answers are matched to requests by mid: none may repeat, however many
	 * come in one ms (they did: another request's answer was taken for a
	 * send's, which was then recorded as refused) */
	for (i = 0; i < 3000; i++)
		lwp_mid(all[i]);
	qsort(all, 3000, sizeof all[0], mid_cmp);
	for (i = 1; i < 3000; i++)
		dup += !strcmp(all[i], all[i - 1]);
	is_int(dup, 0, "mid: 3000 mids in a burst are all distinct");
	usleep(20000);     /* the clock passes the burst's ms: later checks want now */
	ok(seen[1] && seen[2] && seen[3], "mid: random parts of 1, 2 and 3 digits all occur (%d/%d/%d)",
	   seen[1], seen[2], seen[3]);
	lwp_mid(m);
	ok(strlen(m) < LWP_MID_MAX, "mid: fits LWP_MID_MAX");
}

/* uuids are 64 random bits, not the wall clock (issue 18): a process
 * started after the clock stepped back re-made the uuids of an earlier run,
 * and the platform took those sends for repeats. */
static void test_uuid(void)
{
	static char u[20000][LWP_UUID_MAX];
	int i, bad = 0, dup = 0, ones[64] = {0}, skew = 0;

	for (i = 0; i < 20000; i++) {
		lwp_uuid(u[i]);
		if (!uuid_ok(u[i]) && bad++ < 3)
			diag("bad uuid \"%s\"", u[i]);
	}
	is_int(bad, 0, "uuid: 20000 uuids are \"-\" + 20 digits + \"1\" (the web client's \"-<digits>1\" shape)");
	qsort(u, 20000, LWP_UUID_MAX, (int (*)(const void *, const void *))strcmp);
	for (i = 1; i < 20000; i++)
		if (!strcmp(u[i], u[i - 1]))
			dup++;
	is_int(dup, 0, "uuid: all 20000 distinct");
	/* every one of the 64 bits is random: each is set in about half */
	for (i = 0; i < 20000; i++) {
		char d[21];
		unsigned long long v;

		memcpy(d, u[i] + 1, 20);
		d[20] = '\0';
		v = strtoull(d, NULL, 10);

		for (int b = 0; b < 64; b++)
			ones[b] += (int)((v >> b) & 1);
	}
	for (i = 0; i < 64; i++)
		if (ones[i] < 9000 || ones[i] > 11000)
			skew++;
	is_int(skew, 0, "uuid: each of the 64 bits is set in 45..55%% of them (random, not a clock)");
}

static void test_device_id(void)
{
	char d[LWP_DID_MAX], prev[LWP_DID_MAX] = "", longunb[300];
	int i, bad = 0, same = 0, pos19[256] = {0}, hexseen[256] = {0}, nhex = 0;

	for (i = 0; i < 1000; i++) {
		lwp_device_id(UNB, d);
		if (!did_ok(d, UNB) && bad++ < 3)
			diag("bad device id \"%s\"", d);
		if (!strcmp(d, prev))
			same++;
		snprintf(prev, sizeof prev, "%s", d);
		pos19[(unsigned char)d[19]]++;
		hexseen[(unsigned char)d[0]]++;
		hexseen[(unsigned char)d[35]]++;
	}
	is_int(bad, 0, "device id: 1000 ids: '-' at 8/13/18/23, '4' at 14, 89AB at 19, upper-case hex, -unb");
	ok(pos19['8'] && pos19['9'] && pos19['A'] && pos19['B'], "device id: position 19 takes all of 8, 9, A, B");
	for (i = 0; i < 256; i++)
		nhex += hexseen[i] > 0;
	is_int(nhex, 16, "device id: the free positions take all 16 hex digits");
	is_int(same, 0, "device id: consecutive ids differ");
	memset(longunb, '7', sizeof longunb - 1);
	longunb[sizeof longunb - 1] = '\0';
	lwp_device_id(longunb, d);
	ok(strlen(d) == LWP_DID_MAX - 1 && d[36] == '-', "device id: an over-long unb is truncated, not overflowed");
	lwp_device_id(NULL, d);
	ok(strlen(d) == 37 && d[36] == '-', "device id: NULL unb gives \"<36>-\"");
}

/* --- frames -------------------------------------------------------------- */

static void test_reg(void)
{
	static const char *const keys[] = {"cache-header", "app-key", "token", "ua", "dt", "wv", "sync",
					   "did", "mid", NULL};
	static const char *const top[] = {"lwp", "headers", NULL};
	char mid[LWP_MID_MAX] = "", *s = lwp_reg("oauth_k1:tok", "DID-" UNB, mid);
	cJSON *f = s ? cJSON_Parse(s) : NULL;
	int64_t now = util_now_ms();

	ok(f != NULL, "reg: parses as JSON");
	ok(keys_are(f, top), "reg: {lwp, headers}, no body");
	is_str(jps(f, "lwp"), "/reg", "reg: lwp /reg");
	ok(keys_are(jget(f, "headers"), keys), "reg: headers are exactly the nine of docs/protocol.md §4.1, in order");
	is_str(jps(f, "headers.cache-header"), "app-key token ua wv", "reg: cache-header");
	is_str(jps(f, "headers.app-key"), SIGN_IM_APPKEY, "reg: app-key is the IM app key");
	is_str(jps(f, "headers.token"), "oauth_k1:tok", "reg: token");
	is_str(jps(f, "headers.ua"), "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	       "Chrome/133.0.0.0 Safari/537.36 DingTalk(2.1.5) OS(Windows/10) Browser(Chrome/133.0.0.0) "
	       "DingWeb/2.1.5 IMPaaS DingWeb/2.1.5", "reg: ua is the DingTalk web UA");
	is_str(jps(f, "headers.dt"), "j", "reg: dt j");
	is_str(jps(f, "headers.wv"), "im:3,au:3,sy:6", "reg: wv");
	is_str(jps(f, "headers.sync"), "0,0;0;0;", "reg: sync");
	is_str(jps(f, "headers.did"), "DID-" UNB, "reg: did");
	is_str(jps(f, "headers.mid"), mid, "reg: mid_out is the frame's mid");
	ok(mid_shape(mid, now - 1000, now + 1000), "reg: the mid has the mid format");
	ok(s && !strchr(s, '\n') && !strchr(s, '\t') && !strstr(s, "\": "), "reg: printed unformatted");
	cJSON_Delete(f);
	free(s);
	s = lwp_reg(NULL, NULL, NULL);
	f = cJSON_Parse(s);
	ok(jps(f, "headers.token") && !*jps(f, "headers.token") && jps(f, "headers.mid"),
	   "reg: NULL token/did are sent as \"\"; a NULL mid_out is fine");
	cJSON_Delete(f);
	free(s);
}

static void test_ackdiff(void)
{
	static const char *const keys[] = {"pipeline", "tooLong2Tag", "channel", "topic", "highPts", "pts",
					   "seq", "timestamp", NULL};
	static const char *const top[] = {"lwp", "headers", "body", NULL};
	static const char *const hk[] = {"mid", NULL};
	char mid[LWP_MID_MAX] = "", *s = lwp_ackdiff(1751431117553LL, mid);
	cJSON *f = s ? cJSON_Parse(s) : NULL;

	ok(f != NULL, "ackDiff: parses as JSON");
	ok(keys_are(f, top), "ackDiff: {lwp, headers, body}");
	is_str(jps(f, "lwp"), "/r/SyncStatus/ackDiff", "ackDiff: lwp");
	ok(keys_are(jget(f, "headers"), hk), "ackDiff: headers hold only the mid");
	is_str(jps(f, "headers.mid"), mid, "ackDiff: mid_out is the frame's mid");
	ok(cJSON_GetArraySize(jget(f, "body")) == 1 && keys_are(jget(f, "body.0"), keys),
	   "ackDiff: body is one object with exactly the §4.2 fields, in order");
	is_str(jps(f, "body.0.pipeline"), "sync", "ackDiff: pipeline sync");
	is_str(jps(f, "body.0.tooLong2Tag"), "PNM,1", "ackDiff: tooLong2Tag PNM,1");
	ok(!strcmp(jps(f, "body.0.channel"), "sync") && !strcmp(jps(f, "body.0.topic"), "sync"),
	   "ackDiff: channel and topic sync");
	ok(jpn(f, "body.0.highPts") == 0 && jpn(f, "body.0.seq") == 0, "ackDiff: highPts 0, seq 0");
	ok(jpn(f, "body.0.pts") == 1751431117553000.0, "ackDiff: pts = now_ms * 1000");
	ok(jpn(f, "body.0.timestamp") == 1751431117553.0, "ackDiff: timestamp = now_ms");
	ok(s && strstr(s, "\"pts\":1751431117553000,"), "ackDiff: pts written as a plain integer (no exponent)");
	ok(s && strstr(s, "\"timestamp\":1751431117553}"), "ackDiff: timestamp written as a plain integer");
	cJSON_Delete(f);
	free(s);
}

static void test_heartbeat(void)
{
	char mid[LWP_MID_MAX] = "", *s = lwp_heartbeat(mid), want[128];

	snprintf(want, sizeof want, "{\"lwp\":\"/!\",\"headers\":{\"mid\":\"%s\"}}", mid);
	is_str(s, want, "heartbeat: exactly {\"lwp\":\"/!\",\"headers\":{\"mid\":...}}");
	free(s);
}

static void test_ack(void)
{
	static const char *const top[] = {"code", "headers", NULL};
	static const char *const all[] = {"mid", "sid", "app-key", "ua", "dt", NULL};
	static const char *const min[] = {"mid", "sid", NULL};
	cJSON *push = cJSON_Parse("{\"lwp\":\"/s/sync\",\"headers\":{\"ua\":\"UA\",\"extra\":\"x\","
				  "\"app-key\":\"" SIGN_IM_APPKEY "\",\"mid\":\"84a4001c 0\",\"dt\":\"j\","
				  "\"sid\":\"213f\",\"reg-uid\":\"1@goofish\"},\"body\":{\"a\":1}}");
	char *s = lwp_ack(jget(push, "headers"));
	cJSON *f = s ? cJSON_Parse(s) : NULL;
	int64_t now = util_now_ms();

	ok(keys_are(f, top), "ack: {code, headers} only: no lwp, no body");
	is_int(jpn(f, "code"), 200, "ack: code 200");
	ok(keys_are(jget(f, "headers"), all), "ack: headers are mid, sid, app-key, ua, dt and nothing else");
	is_str(jps(f, "headers.mid"), "84a4001c 0", "ack: the push's mid");
	is_str(jps(f, "headers.sid"), "213f", "ack: the push's sid");
	is_str(jps(f, "headers.app-key"), SIGN_IM_APPKEY, "ack: app-key copied");
	is_str(jps(f, "headers.ua"), "UA", "ack: ua copied");
	is_str(jps(f, "headers.dt"), "j", "ack: dt copied");
	cJSON_Delete(f);
	free(s);
	cJSON_Delete(push);

	push = cJSON_Parse("{\"mid\":\"abc 0\",\"app-key\":7}");
	s = lwp_ack(push);
	f = cJSON_Parse(s);
	ok(keys_are(jget(f, "headers"), min) && !strcmp(jps(f, "headers.sid"), ""),
	   "ack: no sid -> \"\"; absent or non-string app-key/ua/dt are left out");
	cJSON_Delete(f);
	free(s);
	cJSON_Delete(push);

	s = lwp_ack(NULL);
	f = cJSON_Parse(s);
	ok(keys_are(jget(f, "headers"), min) && mid_shape(jps(f, "headers.mid") ? jps(f, "headers.mid") : "",
							   now - 1000, now + 1000),
	   "ack: no headers -> a fresh mid and sid \"\"");
	cJSON_Delete(f);
	free(s);

	/* a push that was not valid text (the fallback parse): its bytes are not echoed */
	push = cJSON_Parse("{\"mid\":\"\xff\xfe 0\",\"sid\":\"s\xc0\xaf\",\"ua\":\"\xed\xa0\x80\"}");
	s = lwp_ack(push);
	ok(s && codec_utf8_valid(s, strlen(s)), "ack: a mid, sid or ua that is not UTF-8 gives a frame that is");
	f = s ? cJSON_Parse(s) : NULL;
	ok(keys_are(jget(f, "headers"), min) && !strcmp(jps(f, "headers.sid"), "") &&
	   mid_shape(jps(f, "headers.mid") ? jps(f, "headers.mid") : "", now - 1000, now + 1000),
	   "ack: ... with a fresh mid, sid \"\" and no ua");
	cJSON_Delete(f);
	free(s);
	cJSON_Delete(push);
}

/* The IM token's life from accessTokenExpiredTime: bounded, never undefined. */
static void test_token_ttl(void)
{
	static const struct { const char *json; int64_t want; const char *what; } c[] = {
		{ "{\"t\":86400000}", 86400000, "a number of ms" },
		{ "{\"t\":\"7200000\"}", 7200000, "a string of ms" },
		{ "{}", 3600000, "missing: an hour" },
		{ "{\"t\":0}", 3600000, "zero: an hour" },
		{ "{\"t\":-5}", 3600000, "negative: an hour" },
		{ "{\"t\":\"soon\"}", 3600000, "not a number: an hour" },
		{ "{\"t\":1e300}", (int64_t)LWP_TOKEN_TTL_MAX_S * 1000, "1e300 (overflowed int64_t): capped" },
		{ "{\"t\":\"9223372036854775807\"}", (int64_t)LWP_TOKEN_TTL_MAX_S * 1000,
		  "INT64_MAX as text (overflowed now + ttl): capped" },
		{ "{\"t\":\"99999999999999999999999\"}", (int64_t)LWP_TOKEN_TTL_MAX_S * 1000, "beyond int64 as text: capped" },
	};

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		cJSON *j = cJSON_Parse(c[i].json);

		ok(lwp_token_ttl_ms(cJSON_GetObjectItem(j, "t")) == c[i].want, "token ttl: %s", c[i].what);
		cJSON_Delete(j);
	}
}

/* Checks the whole §8 outer frame; returns the parsed frame (caller deletes). */
static cJSON *check_send_frame(const char *s, const char *mid, const char *uuid, const char *what)
{
	static const char *const top[] = {"lwp", "headers", "body", NULL};
	static const char *const msg[] = {"uuid", "cid", "conversationType", "content", "redPointPolicy",
					  "extension", "ctx", "mtags", "msgReadStatusSetting", NULL};
	static const char *const content[] = {"contentType", "custom", NULL};
	static const char *const custom[] = {"type", "data", NULL};
	static const char *const ext[] = {"extJson", NULL};
	static const char *const ctx[] = {"appVersion", "platform", NULL};
	static const char *const none[] = {NULL};
	static const char *const rcv[] = {"actualReceivers", NULL};
	cJSON *f = s ? cJSON_Parse(s) : NULL;
	const cJSON *r = jget(f, "body.1.actualReceivers");

	ok(f && keys_are(f, top), "%s: parses; {lwp, headers, body}", what);
	is_str(jps(f, "lwp"), "/r/MessageSend/sendByReceiverScope", "%s: lwp", what);
	is_str(jps(f, "headers.mid"), mid, "%s: mid_out is the frame's mid", what);
	is_int(cJSON_GetArraySize(jget(f, "body")), 2, "%s: body has two elements", what);
	ok(keys_are(jget(f, "body.0"), msg), "%s: message object has exactly the §8 keys, in order", what);
	is_str(jps(f, "body.0.uuid"), uuid, "%s: uuid", what);
	is_str(jps(f, "body.0.cid"), "47983389096@goofish", "%s: cid <cid>@goofish", what);
	ok(jpn(f, "body.0.conversationType") == 1 && jpn(f, "body.0.redPointPolicy") == 0 &&
	   jpn(f, "body.0.msgReadStatusSetting") == 1, "%s: conversationType 1, redPointPolicy 0, msgReadStatusSetting 1", what);
	ok(keys_are(jget(f, "body.0.content"), content) && jpn(f, "body.0.content.contentType") == 101 &&
	   keys_are(jget(f, "body.0.content.custom"), custom) && jpn(f, "body.0.content.custom.type") == 1,
	   "%s: content {contentType 101, custom {type 1, data}}", what);
	ok(keys_are(jget(f, "body.0.extension"), ext) && !strcmp(jps(f, "body.0.extension.extJson"), "{}"),
	   "%s: extension {extJson \"{}\"}", what);
	ok(keys_are(jget(f, "body.0.ctx"), ctx) && !strcmp(jps(f, "body.0.ctx.appVersion"), "1.0") &&
	   !strcmp(jps(f, "body.0.ctx.platform"), "web"), "%s: ctx {appVersion 1.0, platform web}", what);
	ok(keys_are(jget(f, "body.0.mtags"), none), "%s: mtags {}", what);
	ok(keys_are(jget(f, "body.1"), rcv) && cJSON_GetArraySize(r) == 2 &&
	   !strcmp(jps(f, "body.1.actualReceivers.0"), "30003@goofish") &&
	   !strcmp(jps(f, "body.1.actualReceivers.1"), UNB "@goofish"),
	   "%s: actualReceivers [buyer@goofish, unb@goofish]", what);
	return f;
}

static void test_send_text(void)
{
	static const struct {
		const char *text, *what;
	} cases[] = {
		{"hello", "ascii"},
		{"您好，在的！发货需要 1–2 天 😀", "CJK, punctuation and an emoji"},
		{"say \"hi\" \\ back\\slash / tab\t nl\n cr\r", "quotes, backslashes, control characters"},
		{"", "empty text"},
		{"{\"contentType\":2}", "JSON-looking text"},
	};
	static const char *const pk[] = {"contentType", "text", NULL};
	static const char *const tk[] = {"text", NULL};
	char mid[LWP_MID_MAX], uuid[LWP_UUID_MAX], what[96], *s, *raw;
	cJSON *f, *p;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(what, sizeof what, "send text (%s)", cases[i].what);
		lwp_uuid(uuid);
		s = lwp_send_text(uuid, "47983389096", "30003", UNB, cases[i].text, mid);
		f = check_send_frame(s, mid, uuid, what);
		p = send_payload(f, &raw);
		ok(p && keys_are(p, pk) && jpn(p, "contentType") == 1 && keys_are(jget(p, "text"), tk),
		   "%s: custom.data decodes (codec_decode_item, JSON) to {contentType 1, text {text}}", what);
		is_str(jps(p, "text.text"), cases[i].text, "%s: the text survives the round trip", what);
		if (i == 0)
			is_str(raw, "{\"contentType\":1,\"text\":{\"text\":\"hello\"}}", "send text: the exact payload JSON");
		free(raw);
		cJSON_Delete(p);
		cJSON_Delete(f);
		free(s);
	}

	/* NULL uuid: a fresh one; ids that already carry @goofish are not doubled */
	s = lwp_send_text(NULL, "47983389096@goofish", "30003@goofish", UNB, "x", NULL);
	f = s ? cJSON_Parse(s) : NULL;
	ok(uuid_ok(jps(f, "body.0.uuid")), "send text: a NULL uuid gets a fresh one");
	ok(!strcmp(jps(f, "body.0.cid"), "47983389096@goofish") &&
	   !strcmp(jps(f, "body.1.actualReceivers.0"), "30003@goofish"), "send text: an existing @goofish is not doubled");
	cJSON_Delete(f);
	free(s);
}

static void test_send_image(void)
{
	static const char *const pk[] = {"contentType", "image", NULL};
	static const char *const pic[] = {"height", "type", "url", "width", NULL};
	const char *url = "https://img.alicdn.com/imgextra/i1/O1CN01abc.png";
	char mid[LWP_MID_MAX], uuid[LWP_UUID_MAX], *s, *raw, want[256];
	cJSON *f, *p;

	lwp_uuid(uuid);
	s = lwp_send_image(uuid, "47983389096", "30003", UNB, url, 0, 0, mid);
	f = check_send_frame(s, mid, uuid, "send image");
	p = send_payload(f, &raw);
	ok(p && keys_are(p, pk) && jpn(p, "contentType") == 2 && cJSON_GetArraySize(jget(p, "image.pics")) == 1 &&
	   keys_are(jget(p, "image.pics.0"), pic), "send image: payload {contentType 2, image {pics [{height, type, url, width}]}}");
	snprintf(want, sizeof want, "{\"contentType\":2,\"image\":{\"pics\":[{\"height\":600,\"type\":0,\"url\":\"%s\","
		 "\"width\":800}]}}", url);
	is_str(raw, want, "send image: size 0 -> 800x600, exact payload JSON");
	free(raw);
	cJSON_Delete(p);
	cJSON_Delete(f);
	free(s);

	s = lwp_send_image(uuid, "47983389096", "30003", UNB, url, 1024, 768, mid);
	f = s ? cJSON_Parse(s) : NULL;
	p = send_payload(f, &raw);
	ok(jpn(p, "image.pics.0.width") == 1024 && jpn(p, "image.pics.0.height") == 768 &&
	   jpn(p, "image.pics.0.type") == 0 && !strcmp(jps(p, "image.pics.0.url"), url),
	   "send image: explicit 1024x768 kept, type 0, url");
	free(raw);
	cJSON_Delete(p);
	cJSON_Delete(f);
	free(s);
}

static void test_create_conv(void)
{
	static const char *const top[] = {"lwp", "headers", "body", NULL};
	static const char *const bk[] = {"pairFirst", "pairSecond", "bizType", "extension", "ctx", NULL};
	static const char *const none[] = {NULL};
	char mid[LWP_MID_MAX], *s = lwp_create_conv("30003", UNB, "40004", mid);
	cJSON *f = s ? cJSON_Parse(s) : NULL;

	ok(keys_are(f, top), "create: parses; {lwp, headers, body}");
	is_str(jps(f, "lwp"), "/r/SingleChatConversation/create", "create: lwp");
	is_str(jps(f, "headers.mid"), mid, "create: mid_out is the frame's mid");
	ok(cJSON_GetArraySize(jget(f, "body")) == 1 && keys_are(jget(f, "body.0"), bk),
	   "create: body is one object with exactly the §7 keys, in order");
	is_str(jps(f, "body.0.pairFirst"), "30003@goofish", "create: pairFirst is the buyer");
	is_str(jps(f, "body.0.pairSecond"), UNB "@goofish", "create: pairSecond is the seller");
	is_str(jps(f, "body.0.bizType"), "1", "create: bizType \"1\" (a string)");
	is_str(jps(f, "body.0.extension.itemId"), "40004", "create: extension.itemId");
	ok(!strcmp(jps(f, "body.0.ctx.appVersion"), "1.0") && !strcmp(jps(f, "body.0.ctx.platform"), "web"),
	   "create: ctx");
	cJSON_Delete(f);
	free(s);
	s = lwp_create_conv("30003", UNB, NULL, NULL);
	f = cJSON_Parse(s);
	ok(keys_are(jget(f, "body.0.extension"), none), "create: no item -> extension {}");
	cJSON_Delete(f);
	free(s);
	/* the answer's cid, from any of the three paths (protocol-account.md §8.2) */
	{
		static const struct { const char *body, *cid; } c[] = {
			{ "{\"singleChatConversation\":{\"cid\":\"51234@goofish\"}}", "51234" },
			{ "[{\"singleChatConversation\":{\"cid\":\"51235@goofish\"}}]", "51235" },
			{ "{\"singleChatUserConversation\":{\"singleChatConversation\":{\"cid\":\"51236\"}}}", "51236" },
			{ "{\"singleChatConversation\":{\"cid\":\"@goofish\"}}", "" },
			{ "{\"singleChatConversation\":{\"cid\":51237}}", "" },
			{ "{\"reason\":\"PARAM_ERROR\"}", "" },
			{ "{\"singleChatConversation\":{\"cid\":\"123456789012345678901234567890123456789012\"}}", "" },
		};
		char cid[40];

		for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
			cJSON *b = cJSON_Parse(c[i].body);
			int rc = lwp_create_conv_cid(b, cid, sizeof cid);

			ok(rc == (*c[i].cid ? 0 : -1) && !strcmp(cid, c[i].cid), "create answer %zu: cid \"%s\"", i,
			   c[i].cid);
			cJSON_Delete(b);
		}
	}
}

/* --- OOM ----------------------------------------------------------------- */

static int oom_left;

/* A cJSON allocator that fails once oom_left allocations have been made. */
static void *oom_malloc(size_t n)
{
	if (oom_left-- <= 0)
		return NULL;
	return malloc(n);
}

/* Runs build with the nth cJSON allocation failing, for n = 0, 1, ... until
 * it succeeds. Returns the number of failing runs, or -1 when a run returned
 * a non-NULL frame that does not parse. */
static int oom_sweep(char *(*build)(void))
{
	cJSON_Hooks hooks = {oom_malloc, free}, def = {NULL, NULL};
	int n;

	for (n = 0; n < 1000; n++) {
		char *s;
		cJSON *f;

		oom_left = n;
		cJSON_InitHooks(&hooks);
		s = build();
		cJSON_InitHooks(&def);
		if (!s)
			continue;
		f = cJSON_Parse(s);
		free(s);
		if (!f)
			return -1;
		cJSON_Delete(f);
		return n;
	}
	return -1;
}

static char *b_reg(void) { return lwp_reg("t", "d", NULL); }
static char *b_ackdiff(void) { return lwp_ackdiff(1751431117553LL, NULL); }
static char *b_text(void) { return lwp_send_text("-17000000000001", "1", "2", "3", "hi", NULL); }
static char *b_image(void) { return lwp_send_image("-17000000000001", "1", "2", "3", "https://x/y.png", 0, 0, NULL); }
static char *b_create(void) { return lwp_create_conv("2", "3", "4", NULL); }

static cJSON *ack_headers;

static char *b_ack(void) { return lwp_ack(ack_headers); }

static void test_oom(void)
{
	ok(oom_sweep(b_reg) > 5, "oom: reg returns NULL on every failed allocation, then succeeds");
	ok(oom_sweep(b_ackdiff) > 5, "oom: ackDiff likewise");
	ok(oom_sweep(b_text) > 5, "oom: send text likewise");
	ok(oom_sweep(b_image) > 5, "oom: send image likewise");
	ok(oom_sweep(b_create) > 5, "oom: create likewise");
	ack_headers = cJSON_Parse("{\"mid\":\"m 0\",\"sid\":\"s\",\"ua\":\"u\"}");
	ok(oom_sweep(b_ack) > 3, "oom: ack likewise");
	cJSON_Delete(ack_headers);
}

/* --- the simulator round trip -------------------------------------------- */

static tc_sim sim;
static char cookie[512];

/* A signed mtop call with the test cookie; returns the envelope or NULL. */
static cJSON *mtop(const char *api, const char *data)
{
	return tc_mtop(sim.port, cookie, api, data, NULL, NULL, NULL);
}

/* Sends a frame text (freeing it); returns 0 or -1. */
static int send_frame(tc_ws *w, char *s)
{
	int rc = s ? tc_ws_send_text(w, s, strlen(s)) : -1;

	free(s);
	return rc;
}

/* The next push (a frame with lwp), not ACKed; NULL after ms. */
static cJSON *await_push(tc_ws *w, int ms)
{
	int64_t end = util_mono_us() + (int64_t)ms * 1000;

	while (util_mono_us() < end) {
		cJSON *f = tc_ws_recv_json(w, (int)((end - util_mono_us()) / 1000) + 1);

		if (!f || jps(f, "lwp"))
			return f;
		cJSON_Delete(f);
	}
	return NULL;
}

static double stat_of(const char *name)
{
	char path[96];
	cJSON *s = tc_ctl(sim.ctl_port, "GET", "/state", NULL, NULL);
	double v;

	snprintf(path, sizeof path, "stats.%s", name);
	v = jpn(s, path);
	cJSON_Delete(s);
	return v;
}

/* Heartbeat round trip; returns 1 when the sim answered code 200 (also a
 * barrier: everything sent before it has been handled). */
static int heartbeat(tc_ws *w)
{
	char mid[LWP_MID_MAX];
	cJSON *r;
	int good;

	send_frame(w, lwp_heartbeat(mid));
	r = tc_lwp_await(w, mid, 3000, 1);
	good = jpn(r, "code") == 200;
	cJSON_Delete(r);
	return good;
}

static void test_sim_round_trip(void)
{
	char did[LWP_DID_MAX], data[256], mid[LWP_MID_MAX], uuid[LWP_UUID_MAX], hdr[700], cid[64] = "";
	const char *text = "您好 \"在的\" \\ 马上发货";
	char *token = NULL;
	cJSON *env, *r, *p;
	tc_ws *w;

	snprintf(cookie, sizeof cookie, "cna=abc; unb=%s; cookie2=c2; "
		 "_m_h5_tk=0123456789abcdef0123456789abcdef_1700000000000; _m_h5_tk_enc=e", UNB);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "sim: simulator starts"))
		return;
	lwp_device_id(UNB, did);
	snprintf(data, sizeof data, "{\"appKey\":\"%s\",\"deviceId\":\"%s\"}", SIGN_IM_APPKEY, did);
	env = mtop(TOKEN_API, data);
	if (jps(env, "data.accessToken"))
		token = strdup(jps(env, "data.accessToken"));
	cJSON_Delete(env);
	ok(token != NULL, "sim: an IM token minted for an lwp_device_id");

	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nOrigin: https://www.goofish.com\r\n", cookie);
	w = tc_ws_connect(sim.port, "/", hdr, 3000, NULL);
	if (!ok(w != NULL && token, "sim: WebSocket open"))
		goto out;

	send_frame(w, lwp_reg(token, did, mid));
	r = tc_lwp_await(w, mid, 3000, 1);
	is_int(jpn(r, "code"), 200, "sim: lwp_reg accepted (code 200)");
	is_str(jps(r, "headers.reg-uid"), UNB "@goofish", "sim: ... registered as the account");
	cJSON_Delete(r);

	send_frame(w, lwp_ackdiff(util_now_ms(), mid));
	r = tc_lwp_await(w, mid, 3000, 1);
	is_int(jpn(r, "code"), 200, "sim: lwp_ackdiff answered code 200");
	cJSON_Delete(r);

	ok(heartbeat(w), "sim: lwp_heartbeat answered code 200");

	/* a buyer writes first: that creates the chat */
	r = tc_ctl(sim.ctl_port, "POST", "/inject", "{\"buyer\":\"60001\",\"text\":\"在吗？\"}", NULL);
	if (jps(r, "items.0.cid"))
		snprintf(cid, sizeof cid, "%s", jps(r, "items.0.cid"));
	cJSON_Delete(r);
	ok(*cid, "sim: injected a buyer message (cid %s)", cid);
	p = await_push(w, 3000);
	ok(p != NULL, "sim: the push arrives");
	is_int(stat_of("unacked"), 1, "sim: one push un-ACKed");
	send_frame(w, lwp_ack(jget(p, "headers")));
	cJSON_Delete(p);
	ok(heartbeat(w), "sim: heartbeat after the ACK");
	is_int(stat_of("unacked"), 0, "sim: the lwp_ack from the real push settles it (stats.unacked 0)");
	is_int(stat_of("dup_acks"), 0, "sim: ... as a known mid, not a stray ACK");

	lwp_uuid(uuid);
	send_frame(w, lwp_send_text(uuid, cid, "60001", UNB, text, mid));
	r = tc_lwp_await(w, mid, 3000, 1);
	is_int(jpn(r, "code"), 200, "sim: lwp_send_text accepted (code 200)");
	ok(jps(r, "body.messageId") && strstr(jps(r, "body.messageId"), ".PNM"), "sim: ... with a messageId (%s)",
	   jps(r, "body.messageId") ? jps(r, "body.messageId") : "none");
	is_str(jps(r, "body.uuid"), uuid, "sim: ... echoing the uuid");
	is_str(jps(r, "body.extension.reminderContent"), text, "sim: ... and the text (CJK, quotes, backslash)");
	cJSON_Delete(r);
	p = await_push(w, 3000);
	ok(p != NULL, "sim: the send is echoed as a push");
	send_frame(w, lwp_ack(jget(p, "headers")));
	cJSON_Delete(p);

	lwp_uuid(uuid);
	send_frame(w, lwp_send_image(uuid, cid, "60001", UNB, "https://img.alicdn.com/a.png", 0, 0, mid));
	r = tc_lwp_await(w, mid, 3000, 1);
	ok(jpn(r, "code") == 200 && jps(r, "body.messageId"), "sim: lwp_send_image accepted with a messageId");
	is_str(jps(r, "body.extension.reminderContent"), "[图片]", "sim: ... shown as [图片]");
	cJSON_Delete(r);
	p = await_push(w, 3000);
	send_frame(w, lwp_ack(jget(p, "headers")));
	cJSON_Delete(p);

	send_frame(w, lwp_create_conv("60001", UNB, "40004", mid));
	r = tc_lwp_await(w, mid, 3000, 1);
	{
		char want[80];

		snprintf(want, sizeof want, "%s@goofish", cid);
		is_int(jpn(r, "code"), 200, "sim: lwp_create_conv answered code 200");
		is_str(jps(r, "body.singleChatConversation.cid"), want, "sim: ... with the existing chat's cid");
	}
	cJSON_Delete(r);

	ok(heartbeat(w), "sim: heartbeat at the end");
	is_int(stat_of("unacked"), 0, "sim: nothing left un-ACKed");
	is_int(stat_of("send_refused"), 0, "sim: no send refused");
	tc_ws_close(w, 1000);
out:
	free(token);
	is_int(tc_sim_stop(&sim), 0, "sim: exits 0");
}

int main(void)
{
	test_mid();
	test_uuid();
	test_device_id();
	test_reg();
	test_ackdiff();
	test_heartbeat();
	test_ack();
	test_token_ttl();
	test_send_text();
	test_send_image();
	test_create_conv();
	test_oom();
	test_sim_round_trip();
	return tap_done();
}
