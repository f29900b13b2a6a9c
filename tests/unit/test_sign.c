/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_sign.c - core/sign.c (mtop sign, cookie helpers) and the
 * string helpers of core/util.c (sbuf, urlencode, urldecode, form fields).
 */
#include "sign.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void test_sign(void)
{
	static const char data[] = "{\"appKey\":\"444e9908a51d1cb236a27862abc769c9\",\"deviceId\":\"X\"}";
	char out[33];

	sign_mtop("abc123", "1700000000000", SIGN_MTOP_APPKEY, data, strlen(data), out);
	is_str(out, "6567d79af4504847244d4ad8385cf0ef", "docs/protocol.md §2 sign test vector");
	sign_mtop("abc123", "1700000000000", SIGN_MTOP_APPKEY, data, 5, out);
	ok(strlen(out) == 32 && strcmp(out, "6567d79af4504847244d4ad8385cf0ef"),
	   "only data_len bytes of data are signed");
	/* md5("&1&34839810&") - an empty token, as before the first _m_h5_tk. */
	sign_mtop("", "1", SIGN_MTOP_APPKEY, "", 0, out);
	is_int(strlen(out), 32, "empty token and data still give 32 hex digits");
}

static void test_cookie_get(void)
{
	char *v;

	v = cookie_get("xsid=EVIL; sid=good", "sid");
	is_str(v, "good", "cookie_get matches the exact name, not a suffix");
	free(v);
	v = cookie_get("sid=first; xsid=EVIL", "sid");
	is_str(v, "first", "cookie_get: first pair");
	free(v);
	v = cookie_get("a=1;b=2", "b");
	is_str(v, "2", "cookie_get: ';' without a space");
	free(v);
	v = cookie_get("unb=2200000000001; empty=; t=x", "empty");
	is_str(v, "", "cookie_get: empty value");
	free(v);
	v = cookie_get("k=a=b; z=1", "k");
	is_str(v, "a=b", "cookie_get: value containing '='");
	free(v);
	ok(!cookie_get("sidx=1; xsid=2", "sid"), "cookie_get: prefix and suffix names do not match");
	ok(!cookie_get("sid; other=1", "sid"), "cookie_get: a name without '=' does not match");
	ok(!cookie_get("", "sid"), "cookie_get: empty cookie");
	ok(!cookie_get(NULL, "sid"), "cookie_get: NULL cookie");
}

static void test_h5_token(void)
{
	char tok[64], small[4];

	is_int(cookie_h5_token("unb=1; _m_h5_tk=abc123_1700000000000; _m_h5_tk_enc=zzz", tok, sizeof tok), 0,
	       "cookie_h5_token returns 0");
	is_str(tok, "abc123", "cookie_h5_token takes the part before '_'");
	cookie_h5_token("_m_h5_tk_enc=zzz; _m_h5_tk=tok2", tok, sizeof tok);
	is_str(tok, "tok2", "cookie_h5_token: _m_h5_tk_enc is not _m_h5_tk; no '_' takes it all");
	strcpy(tok, "junk");
	is_int(cookie_h5_token("unb=1; x_m_h5_tk=evil_1", tok, sizeof tok), 0, "absent _m_h5_tk returns 0");
	is_str(tok, "", "absent _m_h5_tk gives \"\"");
	is_int(cookie_h5_token("_m_h5_tk=abcdef_1", small, sizeof small), -1, "a too small buffer returns -1");
	is_int(cookie_h5_token("_m_h5_tk=abc_1", small, sizeof small), 0, "a token that just fits returns 0");
	is_str(small, "abc", "a token that just fits is copied");
	is_int(cookie_h5_token("_m_h5_tk=abc_1", small, 0), -1, "a zero-sized buffer returns -1");
	is_int(cookie_h5_token(NULL, tok, sizeof tok), 0, "NULL cookie returns 0");
}

static void test_merge(void)
{
	char *c;

	c = cookie_merge("unb=1; _m_h5_tk=old_1; b=2", "_m_h5_tk=new_2; Path=/; Domain=.goofish.com");
	is_str(c, "unb=1; _m_h5_tk=new_2; b=2", "cookie_merge replaces in place and drops attributes");
	free(c);
	c = cookie_merge("a=1; b=2", "b=3");
	is_str(c, "a=1; b=3", "cookie_merge replaces the last pair");
	free(c);
	c = cookie_merge("a=1", "c=3; Path=/");
	is_str(c, "a=1; c=3", "cookie_merge appends a new name");
	free(c);
	c = cookie_merge("xsid=1", "sid=2");
	is_str(c, "xsid=1; sid=2", "cookie_merge does not replace a suffix match");
	free(c);
	c = cookie_merge("", "  c=3");
	is_str(c, "c=3", "cookie_merge into an empty cookie (leading spaces skipped)");
	free(c);
	c = cookie_merge(NULL, "c=3");
	is_str(c, "c=3", "cookie_merge into a NULL cookie");
	free(c);
	c = cookie_merge("a=1", "t=x=y; HttpOnly");
	is_str(c, "a=1; t=x=y", "cookie_merge keeps '=' inside the value");
	free(c);
	ok(!cookie_merge("a=1", "novalue; Path=/"), "cookie_merge: Set-Cookie without '=' is NULL");
	ok(!cookie_merge("a=1", "=x"), "cookie_merge: Set-Cookie without a name is NULL");
	ok(!cookie_merge("a=1", "x; y=1"), "cookie_merge: '=' only in the attributes is NULL");
}

/* Deletions (shared/protocol-account.md §3.1(c)) are told from values. */
static void test_deletion(void)
{
	ok(cookie_is_deletion("cookie3_bak=; Path=/; Max-Age=0"), "Max-Age=0 is a deletion");
	ok(cookie_is_deletion("a=x;max-age=0"), "max-age=0 (any case, no space) is a deletion");
	ok(cookie_is_deletion("a=; Max-Age=-1; Path=/"), "a negative Max-Age is a deletion");
	ok(cookie_is_deletion("a=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), "an Expires in 1970 is a deletion");
	ok(cookie_is_deletion("a=; expires=Thu, 01-Jan-1970 00:00:01 GMT; Path=/"), "... also in the dashed form");
	ok(!cookie_is_deletion("sgcookie=E100ab; Path=/; Max-Age=31536000; HttpOnly"), "Max-Age=31536000 is a value");
	ok(!cookie_is_deletion("a=1; Max-Age=0600"), "Max-Age=0600 is a value");
	ok(!cookie_is_deletion("a=1970; Path=/"), "1970 in the value is not an expiry");
	ok(!cookie_is_deletion("a=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT"), "an Expires ahead is a value");
	ok(!cookie_is_deletion("a=1"), "no attributes: a value");
}

static void test_util(void)
{
	sbuf b = {0};
	char s[64], *v;
	size_t n;
	static const char q[] = "aa=1&a=x%20y+z&bb=2&c=&d&e=%E4%BD%A0";

	util_urlencode(&b, "a b&c=d/\xc3\xa9*-_.~", 15);
	is_str(b.p, "a%20b%26c%3Dd%2F%C3%A9*-_.%7E", "util_urlencode escapes all but [A-Za-z0-9*-_.]");
	sbuf_reset(&b);
	is_int(b.len, 0, "sbuf_reset empties");
	sbuf_addf(&b, "%d-%s", 42, "x");
	sbuf_adds(&b, "!");
	is_str(b.p, "42-x!", "sbuf_addf and sbuf_adds append");
	v = sbuf_take(&b);
	is_str(v, "42-x!", "sbuf_take hands over the string");
	ok(b.p == NULL && b.len == 0, "sbuf_take leaves the sbuf empty");
	free(v);
	v = sbuf_take(&b);
	is_str(v, "", "sbuf_take of an empty sbuf is \"\"");
	free(v);
	for (n = 0; n < 1000; n++)
		sbuf_add(&b, "0123456789", 10);
	ok(!b.oom && b.len == 10000 && b.p[10000] == '\0', "sbuf grows to 10000 bytes, NUL-terminated");
	sbuf_free(&b);

	strcpy(s, "a+b%20c%41%zz%4");
	n = util_urldecode(s, strlen(s));
	is_int(n, 11, "util_urldecode returns the new length");
	is_str(s, "a b cA%zz%4", "util_urldecode: '+', %%XX, bad and cut escapes stay");
	strcpy(s, "%e4%BD%a0");
	n = util_urldecode(s, strlen(s));
	ok(n == 3 && !memcmp(s, "\xe4\xbd\xa0", 3), "util_urldecode: mixed-case hex");

	v = util_form_get(q, strlen(q), "a");
	is_str(v, "x y z", "util_form_get: exact name, decoded");
	free(v);
	v = util_form_get(q, strlen(q), "bb");
	is_str(v, "2", "util_form_get: later field");
	free(v);
	v = util_form_get(q, strlen(q), "c");
	is_str(v, "", "util_form_get: empty value");
	free(v);
	v = util_form_get(q, strlen(q), "e");
	is_str(v, "\xe4\xbd\xa0", "util_form_get: UTF-8 escapes");
	free(v);
	ok(!util_form_get(q, strlen(q), "d"), "util_form_get: a field without '=' is absent");
	ok(!util_form_get(q, strlen(q), "b"), "util_form_get: a prefix of another name is absent");
	v = util_form_get(q, 4, "aa");
	is_str(v, "1", "util_form_get honours qlen");
	free(v);
	v = util_form_get(q, 3, "aa");
	is_str(v, "", "util_form_get: a value cut by qlen is empty");
	free(v);

	v = util_strndup("hello", 3);
	is_str(v, "hel", "util_strndup copies n bytes and a NUL");
	free(v);
	ok(util_now_ms() > 1600000000000LL, "util_now_ms is epoch milliseconds");
	ok(util_mono_us() > 0, "util_mono_us is positive");
}

int main(void)
{
	test_sign();
	test_cookie_get();
	test_h5_token();
	test_merge();
	test_deletion();
	test_util();
	return tap_done();
}
