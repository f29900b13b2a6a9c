/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_codec.c - core/codec.c (base64, MessagePack and JSON decoding)
 * and the simulator's encoder tests/sim/sim_mp.c, against the docs/protocol.md §13
 * test vectors, hostile inputs and a bounded random-input loop.
 */
#include "codec.h"
#include "sim/sim_mp.h"
#include "tap.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* docs/protocol.md §13: a text message "hi" from 30003 in cid 10001 about item 40004. */
static const char CHAT_B64[] =
	"ggGLAYEBrTMwMDAzQGdvb2Zpc2gCrTEwMDAxQGdvb2Zpc2gDsTEwMDAwMDAwMDAwMDEuUE5NBAAFzwAAAYvP5WgABoIBZQOFAaAComhp"
	"A6AEAQXZJnsiY29udGVudFR5cGUiOjEsInRleHQiOnsidGV4dCI6ImhpIn19BwIIAQkACoevcmVtaW5kZXJDb250ZW50omhprXJlbWlu"
	"ZGVyVGl0bGWlYnV5ZXKsc2VuZGVyVXNlcklkpTMwMDAzq3JlbWluZGVyVXJs2VZmbGVhbWFya2V0Oi8vbWVzc2FnZV9jaGF0P2l0ZW1J"
	"ZD00MDAwNCZwZWVyVXNlcklkPTMwMDAzJnNpZD0xMDAwMSZtZXNzYWdlSWQ9YWJjJmFkdj1ub6ZiaXpUYWfZJHsic291cmNlSWQiOiJT"
	"OjEiLCJtZXNzYWdlSWQiOiJhYmMifadleHRKc29u2S57InF1aWNrUmVwbHkiOiIxIiwibWVzc2FnZUlkIjoiYWJjIiwidGFnIjoidSJ9"
	"q3Nlc3Npb25UeXBloTEMAQOBqG5lZWRQdXNopHRydWU=";

/* The same vector as decoded by python3-msgpack and json.dumps(separators=(',',':')). */
static const char CHAT_JSON[] =
	"{\"1\":{\"1\":{\"1\":\"30003@goofish\"},\"2\":\"10001@goofish\",\"3\":\"1000000000001.PNM\","
	"\"4\":0,\"5\":1700000000000,\"6\":{\"1\":101,\"3\":{\"1\":\"\",\"2\":\"hi\",\"3\":\"\",\"4\":1,"
	"\"5\":\"{\\\"contentType\\\":1,\\\"text\\\":{\\\"text\\\":\\\"hi\\\"}}\"}},\"7\":2,\"8\":1,\"9\":0,"
	"\"10\":{\"reminderContent\":\"hi\",\"reminderTitle\":\"buyer\",\"senderUserId\":\"30003\","
	"\"reminderUrl\":\"fleamarket://message_chat?itemId=40004&peerUserId=30003&sid=10001&messageId=abc&adv=no\","
	"\"bizTag\":\"{\\\"sourceId\\\":\\\"S:1\\\",\\\"messageId\\\":\\\"abc\\\"}\","
	"\"extJson\":\"{\\\"quickReply\\\":\\\"1\\\",\\\"messageId\\\":\\\"abc\\\",\\\"tag\\\":\\\"u\\\"}\","
	"\"sessionType\":\"1\"},\"12\":1},\"3\":{\"needPush\":\"true\"}}";

static const char TYPING_B64[] = "gQGRhAGtMTAwMDFAZ29vZmlzaAIBAwEErTIwMDAyQGdvb2Zpc2g=";

/* Returns the member at a path of object keys (NULL-terminated), NULL when absent. */
static const cJSON *at(const cJSON *j, ...)
{
	va_list ap;
	const char *k;

	va_start(ap, j);
	while (j && (k = va_arg(ap, const char *)))
		j = cJSON_GetObjectItemCaseSensitive(j, k);
	va_end(ap);
	return j;
}

/* Returns the string value at j, NULL when j is not a string. */
static const char *sval(const cJSON *j)
{
	return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* Returns the compact JSON of j in a static buffer ("(null)" for NULL). */
static const char *show(const cJSON *j)
{
	static char buf[4096];
	char *p;

	if (!j)
		return "(null)";
	p = cJSON_PrintUnformatted(j);
	snprintf(buf, sizeof buf, "%s", p ? p : "(oom)");
	cJSON_free(p);
	return buf;
}

/* Decodes n bytes of MessagePack; returns the tree and stores the error. */
static cJSON *mp(const void *p, size_t n, const char **err)
{
	*err = NULL;
	return codec_msgpack_to_json(p, n, err);
}

/* Returns 1 when p[0..n) decodes to a tree whose compact JSON is want. */
static int mp_is(const void *p, size_t n, const char *want)
{
	const char *err;
	cJSON *j = mp(p, n, &err);
	int r = j && !strcmp(show(j), want);

	if (!r)
		diag("got %s (err %s), want %s", show(j), err ? err : "-", want);
	cJSON_Delete(j);
	return r;
}

/* Returns 1 when p[0..n) fails to decode with an error string set. */
static int mp_fails(const void *p, size_t n)
{
	const char *err;
	cJSON *j = mp(p, n, &err);
	int r = !j && err && *err;

	if (j)
		diag("unexpectedly decoded to %s", show(j));
	cJSON_Delete(j);
	return r;
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;

/* xorshift64: a fixed-seed generator, so every run tests the same inputs. */
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static void test_vectors(void)
{
	unsigned char *bin, *enc;
	size_t n = 0, en = 0;
	const char *err = NULL;
	cJSON *j;
	const cJSON *ts;
	const char *url;

	bin = codec_b64_decode(CHAT_B64, strlen(CHAT_B64), &n);
	ok(bin != NULL, "chat vector: base64 decodes");
	if (!bin)
		return;
	is_int(n, 422, "chat vector: 422 bytes");
	is_int(bin[0], 0x82, "chat vector: first byte is fixmap(2) 0x82");
	j = mp(bin, n, &err);
	ok(j != NULL, "chat vector: MessagePack decodes (%s)", err ? err : "ok");
	diag("chat vector decoded: %s", show(j));
	is_str(show(j), CHAT_JSON, "chat vector: whole tree as python3-msgpack decodes it");
	is_str(sval(at(j, "1", "2", NULL)), "10001@goofish", "chat: [1][2] is the cid");
	is_str(sval(at(j, "1", "1", "1", NULL)), "30003@goofish", "chat: [1][1][1] is the sender");
	is_str(sval(at(j, "1", "10", "reminderContent", NULL)), "hi", "chat: reminderContent");
	is_str(sval(at(j, "1", "10", "senderUserId", NULL)), "30003", "chat: senderUserId");
	is_str(sval(at(j, "3", "needPush", NULL)), "true", "chat: [3][needPush]");
	ts = at(j, "1", "5", NULL);
	ok(cJSON_IsNumber(ts) && ts->valuedouble == 1700000000000.0,
	   "chat: [1][5] is the number 1700000000000 (uint64 on the wire)");
	url = sval(at(j, "1", "10", "reminderUrl", NULL));
	ok(url && strstr(url, "itemId=40004&"), "chat: reminderUrl has itemId=40004");
	is_str(sval(at(j, "1", "6", "3", "5", NULL)), "{\"contentType\":1,\"text\":{\"text\":\"hi\"}}",
	       "chat: inner content JSON at [1][6][3][5]");

	enc = sim_mp_encode(j, &en);
	ok(enc != NULL, "round trip: sim_mp_encode succeeds");
	is_int(en, n, "round trip: same length as the platform's bytes");
	ok(enc && en == n && !memcmp(enc, bin, n), "round trip: byte-identical to the test vector");
	if (enc && en == n && memcmp(enc, bin, n)) {
		size_t i;

		for (i = 0; i < n && enc[i] == bin[i]; i++)
			;
		diag("first difference at offset %zu: 0x%02x vs 0x%02x", i, enc[i], bin[i]);
	}
	free(enc);
	cJSON_Delete(j);
	free(bin);

	bin = codec_b64_decode(TYPING_B64, strlen(TYPING_B64), &n);
	ok(bin != NULL, "typing vector: base64 decodes");
	j = bin ? mp(bin, n, &err) : NULL;
	is_str(show(j), "{\"1\":[{\"1\":\"10001@goofish\",\"2\":1,\"3\":1,\"4\":\"20002@goofish\"}]}",
	       "typing vector: exact shape");
	enc = j ? sim_mp_encode(j, &en) : NULL;
	ok(enc && en == n && !memcmp(enc, bin, n), "typing vector: round trip byte-identical");
	free(enc);
	cJSON_Delete(j);
	free(bin);
}

static void test_ints(void)
{
	static const unsigned char u64max[] = { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const unsigned char i64min[] = { 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	static const unsigned char p53[] = { 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0 };
	static const unsigned char p53p1[] = { 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 1 };
	static const unsigned char n53[] = { 0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 0 };
	static const unsigned char n53m1[] = { 0xd3, 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const unsigned char small[] = { 0x93, 0xd0, 0x80, 0xd1, 0xff, 0xfe, 0xd3, 0, 0, 0, 0, 0, 0, 0, 5 };
	static const unsigned char negfix[] = { 0x92, 0xe0, 0xff };
	static const unsigned char keys[] = { 0x84, 0x01, 0xa1, 'a', 0x0a, 0xa1, 'b', 0xff, 0xa1, 'c',
					      0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0 };
	static const unsigned char floats[] = { 0x92, 0xca, 0x3f, 0xc0, 0, 0, 0xcb, 0xc0, 0x04, 0, 0, 0, 0, 0, 0 };
	static const unsigned char misc[] = { 0x94, 0xc0, 0xc2, 0xc3, 0xc4, 0x02, 'o', 'k' };
	const char *err;
	cJSON *j;

	ok(mp_is(u64max, sizeof u64max, "\"18446744073709551615\""), "uint64 max becomes an exact string");
	ok(mp_is(i64min, sizeof i64min, "\"-9223372036854775808\""), "int64 min becomes an exact string");
	j = mp(p53, sizeof p53, &err);
	ok(cJSON_IsNumber(j) && j->valuedouble == 9007199254740992.0, "2^53 stays a number");
	cJSON_Delete(j);
	ok(mp_is(p53p1, sizeof p53p1, "\"9007199254740993\""), "2^53+1 becomes an exact string");
	j = mp(n53, sizeof n53, &err);
	ok(cJSON_IsNumber(j) && j->valuedouble == -9007199254740992.0, "-2^53 stays a number");
	cJSON_Delete(j);
	ok(mp_is(n53m1, sizeof n53m1, "\"-9007199254740993\""), "-2^53-1 becomes an exact string");
	ok(mp_is(small, sizeof small, "[-128,-2,5]"), "int8/int16/int64 (positive in int64) decode");
	ok(mp_is(negfix, sizeof negfix, "[-32,-1]"), "negative fixints decode");
	ok(mp_is(keys, sizeof keys, "{\"1\":\"a\",\"10\":\"b\",\"-1\":\"c\",\"18446744073709551615\":null}"),
	   "int map keys become decimal strings, negative and uint64 too");
	ok(mp_is(floats, sizeof floats, "[1.5,-2.5]"), "float32 and float64 decode");
	ok(mp_is(misc, sizeof misc, "[null,false,true,\"ok\"]"), "nil, bools and UTF-8 bin decode");
}

static void test_hostile(void)
{
	static const unsigned char arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	static const unsigned char map32[] = { 0xdf, 0x00, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78 };
	static const unsigned char arr2g[] = { 0xdd, 0x80, 0x00, 0x00, 0x01 };
	static const unsigned char arr16[] = { 0xdc, 0xff, 0xff, 0x00, 0x00 };
	static const unsigned char str32[] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' };
	static const unsigned char bin32[] = { 0xc6, 0x7f, 0xff, 0xff, 0xff, 'a' };
	static const unsigned char map16[] = { 0xde, 0x00, 0x03, 0x01, 0x01, 0x02, 0x02, 0x03 };
	static const unsigned char ext[] = { 0xd4, 0x01, 0x02 };
	static const unsigned char ext8[] = { 0xc7, 0x01, 0x05, 0x00 };
	static const unsigned char c1[] = { 0xc1 };
	static const unsigned char inarr_c1[] = { 0x92, 0x01, 0xc1 };
	static const unsigned char badutf[] = { 0xa2, 0xc3, 0x28 };
	static const unsigned char overlong[] = { 0xa2, 0xc0, 0x80 };
	static const unsigned char overlong3[] = { 0xa3, 0xe0, 0x80, 0xaf };
	static const unsigned char surrogate[] = { 0xa3, 0xed, 0xa0, 0x80 };
	static const unsigned char above[] = { 0xa4, 0xf4, 0x90, 0x80, 0x80 };
	static const unsigned char cut[] = { 0xa3, 0xe4, 0xbd };
	static const unsigned char emoji[] = { 0xa4, 0xf0, 0x9f, 0x98, 0x80 };
	static const unsigned char cjk[] = { 0xa3, 0xe4, 0xbd, 0xa0 };
	static const unsigned char nul[] = { 0xa3, 'a', 0x00, 'b' };
	static const unsigned char badbin[] = { 0xc4, 0x01, 0xff };
	static const unsigned char trail[] = { 0xc0, 0xc0 };
	static const unsigned char trail2[] = { 0x81, 0x01, 0x02, 0x00 };
	static const unsigned char knil[] = { 0x81, 0xc0, 0x01 };
	static const unsigned char karr[] = { 0x81, 0x90, 0x01 };
	static const unsigned char kbin[] = { 0x81, 0xc4, 0x01, 'a', 0x01 };
	static const unsigned char kflt[] = { 0x81, 0xca, 0, 0, 0, 0, 0x01 };
	static const unsigned char kbad[] = { 0x81, 0xa1, 0xff, 0x01 };
	unsigned char deep[80];
	size_t n;
	int64_t t0;
	cJSON *j;
	const char *err;
	int i;

	t0 = util_mono_us();
	ok(mp_fails(arr32, sizeof arr32), "array32 of 4G elements with no data is an error");
	ok(mp_fails(map32, sizeof map32), "map32 of 7.9M pairs (df 00 78 78 78...) is an error");
	ok(mp_fails(arr2g, sizeof arr2g), "array32 of 2^31+1 (mp_check's blind spot) is an error");
	ok(mp_fails(arr16, sizeof arr16), "array16 of 65535 with 2 bytes is an error");
	ok(mp_fails(str32, sizeof str32), "str32 of 4G with 1 byte is an error");
	ok(mp_fails(bin32, sizeof bin32), "bin32 of 2G with 1 byte is an error");
	ok(mp_fails(map16, sizeof map16), "map16 of 3 pairs with 5 bytes is an error");
	ok(util_mono_us() - t0 < 100000, "hostile headers fail quickly (%lld us)",
	   (long long)(util_mono_us() - t0));

	mp(arr2g, sizeof arr2g, &err);
	is_str(err, "count exceeds input", "the reason names the oversized count");
	ok(mp_fails(ext, sizeof ext), "fixext 0xd4 is an error");
	ok(mp_fails(ext8, sizeof ext8), "ext8 0xc7 is an error");
	ok(mp_fails(c1, sizeof c1), "0xc1 is an error");
	ok(mp_fails(inarr_c1, sizeof inarr_c1), "0xc1 inside an array is an error");
	ok(mp_fails(badutf, sizeof badutf), "invalid UTF-8 str is an error");
	ok(mp_fails(overlong, sizeof overlong), "overlong 2-byte UTF-8 is an error");
	ok(mp_fails(overlong3, sizeof overlong3), "overlong 3-byte UTF-8 is an error");
	ok(mp_fails(surrogate, sizeof surrogate), "UTF-8 encoded surrogate is an error");
	ok(mp_fails(above, sizeof above), "code point above U+10FFFF is an error");
	ok(mp_fails(cut, sizeof cut), "UTF-8 sequence cut by the string end is an error");
	ok(mp_is(emoji, sizeof emoji, "\"\xf0\x9f\x98\x80\""), "4-byte UTF-8 decodes");
	ok(mp_is(cjk, sizeof cjk, "\"\xe4\xbd\xa0\""), "3-byte UTF-8 decodes");
	ok(mp_fails(nul, sizeof nul), "NUL inside a string is an error (cJSON would cut it)");
	ok(mp_fails(badbin, sizeof badbin), "bin that is not UTF-8 is an error");
	ok(mp_fails(trail, sizeof trail), "trailing bytes after a value are an error");
	ok(mp_fails(trail2, sizeof trail2), "trailing bytes after a map are an error");
	ok(mp_fails(knil, sizeof knil), "nil map key is an error");
	ok(mp_fails(karr, sizeof karr), "array map key is an error");
	ok(mp_fails(kbin, sizeof kbin), "bin map key is an error");
	ok(mp_fails(kflt, sizeof kflt), "float map key is an error");
	ok(mp_fails(kbad, sizeof kbad), "invalid UTF-8 map key is an error");
	ok(mp_fails("", 0), "empty input is an error");
	ok(!codec_msgpack_to_json(NULL, 0, NULL), "NULL input and NULL err are handled");

	for (i = 0; i < 32; i++)
		deep[i] = 0x91;
	deep[32] = 0xc0;
	ok(mp_is(deep, 33, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[null]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
	   "32 nested arrays decode");
	deep[32] = 0x91;
	deep[33] = 0xc0;
	ok(mp_fails(deep, 34), "33 nested arrays are an error");
	mp(deep, 34, &err);
	is_str(err, "nested too deep", "the reason is the depth");
	for (i = 0, n = 0; i < 33; i++) {
		if (i % 2 == 0) {
			deep[n++] = 0x81;
			deep[n++] = 0x01;
		} else {
			deep[n++] = 0x91;
		}
		if (i == 31) {
			deep[n] = 0xc0;
			j = mp(deep, n + 1, &err);
			ok(j && !err, "32 nested maps and arrays decode");
			cJSON_Delete(j);
		}
	}
	deep[n++] = 0xc0;
	ok(mp_fails(deep, n), "33 nested maps and arrays are an error");
}

static void test_truncation(void)
{
	unsigned char *bin;
	size_t n = 0, i, bad = 0;

	bin = codec_b64_decode(CHAT_B64, strlen(CHAT_B64), &n);
	if (!bin)
		return;
	for (i = 0; i < n; i++) {
		const char *err;
		cJSON *j = mp(bin, i, &err);

		if (j || !err)
			bad++;
		cJSON_Delete(j);
	}
	is_int(bad, 0, "every proper prefix (0..%zu bytes) of the chat vector is an error", n - 1);
	free(bin);
}

static void test_base64(void)
{
	unsigned char *b, raw[300];
	char *e;
	size_t n = 99, i, bad = 0;

	b = codec_b64_decode("aGk=", 4, &n);
	ok(b && n == 2 && !memcmp(b, "hi", 3), "\"aGk=\" decodes to \"hi\" (NUL-terminated)");
	free(b);
	b = codec_b64_decode("aG\r\nk =", 7, &n);
	ok(b && n == 2 && !memcmp(b, "hi", 2), "CR, LF and space are ignored");
	free(b);
	n = 99;
	ok(!codec_b64_decode("aGk", 3, &n) && n == 0, "unpadded base64 is an error");
	ok(!codec_b64_decode("aG!k", 4, &n), "a bad character is an error");
	ok(!codec_b64_decode("-_8=", 4, &n), "URL-safe characters are an error");
	ok(!codec_b64_decode("aG\0k=", 5, &n), "an embedded NUL is an error");
	ok(!codec_b64_decode("aGk=aGk=", 8, &n), "data after padding is an error");
	ok(!codec_b64_decode("aGl=", 4, &n), "non-zero padding bits are an error");
	b = codec_b64_decode("", 0, &n);
	ok(b && n == 0, "empty base64 is zero bytes");
	free(b);
	ok(!codec_b64_decode(NULL, 0, &n), "NULL is an error");

	for (i = 0; i < 300; i++) {
		size_t k, m = 0;

		for (k = 0; k < i; k++)
			raw[k] = (unsigned char)rnd();
		e = codec_b64_encode(raw, i);
		b = e ? codec_b64_decode(e, strlen(e), &m) : NULL;
		if (!b || m != i || memcmp(b, raw, i))
			bad++;
		free(e);
		free(b);
	}
	is_int(bad, 0, "encode/decode round trip for lengths 0..299");
	e = codec_b64_encode("hi", 2);
	is_str(e, "aGk=", "encode is padded standard base64");
	free(e);
}

/* Returns base64 of the n bytes p (malloc'd). */
static char *b64(const void *p, size_t n)
{
	return codec_b64_encode(p, n);
}

static void test_decode_item(void)
{
	codec_kind k = 99;
	const char *err = NULL;
	char *e;
	cJSON *j;

	e = b64("{\"chatType\":1}", 14);
	j = codec_decode_item(e, strlen(e), &k, &err);
	ok(j && k == CODEC_JSON, "base64 of plain JSON decodes as CODEC_JSON");
	ok(cJSON_IsNumber(at(j, "chatType", NULL)) && at(j, "chatType", NULL)->valuedouble == 1,
	   "plain JSON: chatType is 1");
	cJSON_Delete(j);
	free(e);

	j = codec_decode_item(CHAT_B64, strlen(CHAT_B64), &k, &err);
	ok(j && k == CODEC_MSGPACK, "chat vector decodes as CODEC_MSGPACK");
	is_str(sval(at(j, "1", "10", "reminderContent", NULL)), "hi", "decode_item: reminderContent");
	cJSON_Delete(j);

	j = codec_decode_item(TYPING_B64, strlen(TYPING_B64), &k, &err);
	ok(j && k == CODEC_MSGPACK && cJSON_IsArray(at(j, "1", NULL)), "typing vector decodes as CODEC_MSGPACK");
	cJSON_Delete(j);

	e = b64(" \n[1,2]\r\n", 9);
	j = codec_decode_item(e, strlen(e), &k, &err);
	ok(j && k == CODEC_JSON && cJSON_GetArraySize(j) == 2, "JSON array after whitespace is CODEC_JSON");
	cJSON_Delete(j);
	free(e);

	e = b64("{\"chatType\":1", 13);
	k = 99;
	j = codec_decode_item(e, strlen(e), &k, &err);
	ok(!j && k == CODEC_NONE && err, "broken JSON is an error, no MessagePack fallback (%s)",
	   err ? err : "-");
	free(e);

	k = 99;
	j = codec_decode_item("ggGL!", 5, &k, &err);
	ok(!j && k == CODEC_NONE, "bad base64 is an error (%s)", err ? err : "-");
	j = codec_decode_item("ggGLAYEB", 8, NULL, NULL);
	ok(!j, "truncated MessagePack is an error with NULL kind and err");
}

/* Returns 1 when codec_json_parse of text gives the compact JSON want. */
static int json_is(const char *text, const char *want)
{
	const char *err = NULL;
	cJSON *j = codec_json_parse(text, strlen(text), &err);
	int r = j && !strcmp(show(j), want);

	if (!r)
		diag("got %s (err %s), want %s", show(j), err ? err : "-", want);
	cJSON_Delete(j);
	return r;
}

/* Returns 1 when codec_json_parse of n bytes of text fails with a reason. */
static int json_fails(const char *text, size_t n)
{
	const char *err = NULL;
	cJSON *j = codec_json_parse(text, n, &err);
	int r = !j && err;

	if (j)
		diag("unexpectedly parsed to %s", show(j));
	cJSON_Delete(j);
	return r;
}

static void test_json(void)
{
	static const char nums[] = "{\"a\":123456789012345,\"b\":1700000000000,\"c\":1.5e3,"
				   "\"d\":12345678901234567.5,\"e\":1234567890123456e2}";
	char deep[100];
	const cJSON *v;
	const char *err;
	cJSON *j;
	int i;

	ok(json_is("{\"id\":9007199254740993}", "{\"id\":\"9007199254740993\"}"),
	   "2^53+1 stays exact as a string");
	ok(json_is("{\"orderId\":1234567890123456789,\"n\":-1234567890123456789}",
		   "{\"orderId\":\"1234567890123456789\",\"n\":\"-1234567890123456789\"}"),
	   "19-digit order ids (and negatives) stay exact as strings");
	ok(json_is("[12345678901234567890,1]", "[\"12345678901234567890\",1]"),
	   "20-digit integer in an array stays exact");
	ok(json_is("123456789012345678", "\"123456789012345678\""), "a top-level big integer stays exact");
	j = codec_json_parse(nums, strlen(nums), &err);
	v = at(j, "a", NULL);
	ok(cJSON_IsNumber(v) && v->valuedouble == 123456789012345.0, "15 digits stay a number");
	v = at(j, "b", NULL);
	ok(cJSON_IsNumber(v) && v->valuedouble == 1700000000000.0, "ms timestamps stay numbers");
	ok(cJSON_IsNumber(at(j, "c", NULL)) && cJSON_IsNumber(at(j, "d", NULL)) &&
	   cJSON_IsNumber(at(j, "e", NULL)), "fractions and exponents are not quoted");
	cJSON_Delete(j);
	ok(json_is("{\"s\":\"a\\\"12345678901234567890\",\"t\":\"[[{\"}",
		   "{\"s\":\"a\\\"12345678901234567890\",\"t\":\"[[{\"}"),
	   "digits and brackets inside strings (after an escaped quote) are left alone");
	ok(json_fails("{\"a\":1} x", 9), "trailing garbage is rejected");
	ok(json_fails("{\"a\":1}{}", 9), "a second value is rejected");
	ok(json_is("{\"a\":1} \r\n\t", "{\"a\":1}"), "trailing whitespace is accepted");
	ok(json_is(" [true,false,null,\"\xe4\xbd\xa0\"]", "[true,false,null,\"\xe4\xbd\xa0\"]"),
	   "leading whitespace, literals and UTF-8");
	ok(json_fails("{\"a\":\"\xc3\x28\"}", 10), "invalid UTF-8 is rejected");
	ok(json_fails("{\"a\":1}\0", 8), "a NUL byte is rejected");
	ok(json_fails("", 0), "empty text is rejected");
	ok(json_fails("   ", 3), "whitespace only is rejected");
	ok(json_fails("{\"a\":", 5), "truncated JSON is rejected");
	ok(json_is("[0000000000000000001]", "[1]"),
	   "leading-zero digit runs are not quoted (cJSON itself accepts leading zeros)");
	ok(!codec_json_parse(NULL, 0, NULL), "NULL input and NULL err are handled");

	for (i = 0; i < 32; i++) {
		deep[i] = '[';
		deep[32 + i] = ']';
	}
	j = codec_json_parse(deep, 64, &err);
	ok(j != NULL, "32 nested arrays parse");
	cJSON_Delete(j);
	for (i = 0; i < 33; i++) {
		deep[i] = i % 2 ? '[' : '{';
		deep[33 + i] = ']';
	}
	err = NULL;
	ok(json_fails(deep, 66), "33 nested containers are rejected");
	codec_json_parse(deep, 66, &err);
	is_str(err, "nested too deep", "the reason is the depth");
	for (i = 0; i < 40; i++)
		deep[i] = '[';
	ok(json_fails(deep, 40), "40 unclosed brackets are rejected");
}

/* A cJSON allocator that fails after `oom_left` allocations. */
static long oom_left = -1;

static void *oom_malloc(size_t n)
{
	if (oom_left == 0)
		return NULL;
	if (oom_left > 0)
		oom_left--;
	return malloc(n);
}

static void test_oom(void)
{
	cJSON_Hooks h = { oom_malloc, free };
	unsigned char *bin;
	size_t n = 0;
	long fail, tries = 0, nulls = 0;
	int good = 0;

	bin = codec_b64_decode(CHAT_B64, strlen(CHAT_B64), &n);
	if (!bin)
		return;
	cJSON_InitHooks(&h);
	for (fail = 0; fail < 1000 && !good; fail++) {
		const char *err = NULL;
		cJSON *j;

		oom_left = fail;
		j = codec_msgpack_to_json(bin, n, &err);
		oom_left = -1;
		tries++;
		if (j) {
			good = !strcmp(show(j), CHAT_JSON);
			cJSON_Delete(j);
		} else if (err && !strcmp(err, "out of memory")) {
			nulls++;
		}
	}
	ok(good && nulls == tries - 1, "every failing allocation gives \"out of memory\" (%ld of %ld runs)",
	   nulls, tries);
	good = 0;
	for (fail = 0; fail < 1000 && !good; fail++) {
		const char *err = NULL;
		cJSON *j;

		oom_left = fail;
		j = codec_json_parse(CHAT_JSON, strlen(CHAT_JSON), &err);
		oom_left = -1;
		good = j != NULL;
		cJSON_Delete(j);
	}
	ok(good, "JSON parse under failing allocations: no crash, then success");
	cJSON_InitHooks(NULL);
	free(bin);
}

/* Returns 1 when b (decoded from the re-encoding of a) means the same as a.
 * The one allowed change: an integral float beyond 2^53 is re-encoded as an
 * integer, which then decodes as the string of its exact digits. */
static int same(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if (cJSON_IsNumber(a)) {
		double d = a->valuedouble;

		if (cJSON_IsNumber(b))
			return b->valuedouble == d || (d != d && b->valuedouble != b->valuedouble);
		return cJSON_IsString(b) && (d > CODEC_MAX_EXACT_INT || d < -CODEC_MAX_EXACT_INT) &&
		       strtod(b->valuestring, NULL) == d;
	}
	if ((a->type & 0xff) != (b->type & 0xff))
		return 0;
	if (cJSON_IsString(a))
		return !strcmp(a->valuestring, b->valuestring);
	if (!cJSON_IsArray(a) && !cJSON_IsObject(a))
		return 1;
	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
		if ((cJSON_IsObject(a) && strcmp(x->string, y->string)) || !same(x, y))
			return 0;
	return !x && !y;
}

/* Decodes p[0..n); when it decodes, checks that encode + decode gives the same
 * tree. Returns 0 when all is well, 1 on a mismatch. */
static int fuzz_one(const unsigned char *p, size_t n, long *decoded)
{
	const char *err = NULL;
	cJSON *j = codec_msgpack_to_json(p, n, &err), *j2;
	unsigned char *enc;
	size_t en = 0;
	char *a, *b;
	int bad = 0;

	if (!j)
		return err == NULL;
	(*decoded)++;
	enc = sim_mp_encode(j, &en);
	j2 = enc ? codec_msgpack_to_json(enc, en, &err) : NULL;
	a = cJSON_PrintUnformatted(j);
	b = j2 ? cJSON_PrintUnformatted(j2) : NULL;
	if (!a || !b || !j2 || !same(j, j2)) {
		bad = 1;
		diag("re-encode mismatch: %s vs %s", a ? a : "-", b ? b : "-");
	}
	cJSON_free(a);
	cJSON_free(b);
	free(enc);
	cJSON_Delete(j);
	cJSON_Delete(j2);
	return bad;
}

static void test_fuzz(void)
{
	unsigned char buf[512], *chat;
	char text[600];
	size_t cn = 0, i;
	long decoded = 0, bad = 0, jdec = 0;
	int it;

	for (it = 0; it < 20000; it++) {
		size_t n = rnd() % 64;

		for (i = 0; i < n; i++)
			buf[i] = (unsigned char)rnd();
		/* Bias toward small containers so nesting gets exercised. */
		if (n && it % 2)
			buf[0] = (unsigned char)(0x80 | (rnd() % 0x20));
		bad += fuzz_one(buf, n, &decoded);
	}
	ok(bad == 0, "20000 random buffers: no crash, errors have reasons, %ld decoded and re-encoded", decoded);

	chat = codec_b64_decode(CHAT_B64, strlen(CHAT_B64), &cn);
	if (!chat)
		return;
	bad = 0;
	decoded = 0;
	for (it = 0; it < 20000; it++) {
		size_t n = cn, m, k = 1 + rnd() % 4;

		memcpy(buf, chat, cn);
		for (m = 0; m < k; m++) {
			switch (rnd() % 4) {
			case 0:
				buf[rnd() % n] = (unsigned char)rnd();
				break;
			case 1:
				buf[rnd() % n] ^= (unsigned char)(1u << (rnd() % 8));
				break;
			case 2:
				n = 1 + rnd() % n;
				break;
			default: {
				static const unsigned char hdr[] = { 0xdd, 0xdf, 0xdb, 0xc6, 0xcf, 0xd3, 0xcb, 0xc1, 0xd4 };

				buf[rnd() % n] = hdr[rnd() % sizeof hdr];
			}
			}
		}
		bad += fuzz_one(buf, n, &decoded);
	}
	ok(bad == 0, "20000 mutations of the chat vector: no crash, %ld still decoded", decoded);

	bad = 0;
	for (it = 0; it < 20000; it++) {
		static const char noise[] = "{}[]\",:0123456789-\\ e.\xc3";
		size_t n = strlen(CHAT_JSON), m;
		const char *err = NULL;
		cJSON *j;

		memcpy(text, CHAT_JSON, n);
		for (m = 0; m < 1 + rnd() % 3; m++)
			text[rnd() % n] = noise[rnd() % (sizeof noise - 1)];
		if (rnd() % 2)
			n = rnd() % n;
		j = codec_json_parse(text, n, &err);
		if (j)
			jdec++;
		else if (!err)
			bad++;
		cJSON_Delete(j);
	}
	ok(bad == 0, "20000 mutations of the chat JSON: no crash, %ld still parsed", jdec);

	bad = 0;
	for (it = 0; it < 5000; it++) {
		static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n -_";
		size_t n = 4 * (rnd() % 16), m;
		codec_kind kind;
		const char *err = NULL;
		cJSON *j;

		for (m = 0; m < n; m++)
			text[m] = alpha[rnd() % (sizeof alpha - 1)];
		j = codec_decode_item(text, n, &kind, &err);
		if (!j && (!err || kind != CODEC_NONE))
			bad++;
		cJSON_Delete(j);
	}
	ok(bad == 0, "5000 random base64 strings through codec_decode_item: no crash");
	free(chat);
}

static void test_encoder(void)
{
	cJSON *j = cJSON_CreateObject();
	unsigned char *enc;
	size_t n = 0;
	static const unsigned char want[] = {
		0x89,
		0xa2, '0', '1', 0x00,                     /* "01": leading zero stays a str key */
		0x00, 0xff,                               /* "0": int key; -1 negative fixint */
		0xce, 0xff, 0xff, 0xff, 0xff, 0xcd, 0x01, 0x00, /* uint32-max key; 256 uint16 */
		0xaa, '4', '2', '9', '4', '9', '6', '7', '2', '9', '6', 0xd0, 0x80, /* > uint32: str key; -128 */
		0xa1, 'x', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, /* 1.5 as float64 */
		0xa1, 'y', 0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 1, /* raw 2^53+1 exact */
		0xa1, 'z', 0xd2, 0x80, 0, 0, 0,           /* int32 min */
		0xa1, 'b', 0x92, 0xc3, 0xc0,              /* [true,null] */
		0xa1, 'm', 0x80,                          /* {} */
	};

	cJSON_AddNumberToObject(j, "01", 0);
	cJSON_AddNumberToObject(j, "0", -1);
	cJSON_AddNumberToObject(j, "4294967295", 256);
	cJSON_AddNumberToObject(j, "4294967296", -128);
	cJSON_AddNumberToObject(j, "x", 1.5);
	cJSON_AddRawToObject(j, "y", "9007199254740993");
	cJSON_AddNumberToObject(j, "z", -2147483648.0);
	cJSON_AddItemToObject(j, "b", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(j, "b"), cJSON_CreateTrue());
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(j, "b"), cJSON_CreateNull());
	cJSON_AddItemToObject(j, "m", cJSON_CreateObject());
	enc = sim_mp_encode(j, &n);
	ok(enc && n == sizeof want && !memcmp(enc, want, n),
	   "encoder: int vs str keys, smallest int widths, float64, raw big int, bool, nil, empty map");
	free(enc);
	cJSON_Delete(j);
}

int main(void)
{
	test_vectors();
	test_ints();
	test_hostile();
	test_truncation();
	test_base64();
	test_decode_item();
	test_json();
	test_encoder();
	test_oom();
	test_fuzz();
	return tap_done();
}
