/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_log.c - core/log.c: secrets never reach the log (cookies,
 * tokens, auth headers, the page's session), ordinary text is left alone,
 * one line per event, and the journald priority prefix under systemd.
 */
#include "tap.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* log_redact of in, compared with want. */
static void redacts(const char *in, const char *want, const char *what)
{
	char line[1024];

	snprintf(line, sizeof line, "%s", in);
	log_redact(line);
	is_str(line, want, "%s", what);
}

/* log_escape of in is want. */
static void escapes(const char *in, const char *want, const char *what)
{
	char out[256];

	log_escape(in, out, sizeof out);
	is_str(out, want, "log_escape: %s", what);
}

/* Control characters escaped, everything else (UTF-8 too) kept, the
 * output cut at its buffer without a half escape. */
static void test_escape(void)
{
	char small[8];

	escapes("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07", "ESC and BEL (a terminal's clear screen, title)");
	escapes("a\r\nb", "a\\r\\nb", "CR LF as \\r \\n");
	escapes("tab\there", "tab\there", "a tab is kept");
	escapes("\x7f\x01", "\\x7f\\x01", "DEL and SOH");
	escapes("\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80 caf\xc3\xa9", "\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80 caf\xc3\xa9",
		"UTF-8 (Chinese, an emoji, an accent) is kept");
	escapes("\xc2\x9b" "31m", "\\u009b31m", "a C1 control (U+009B, CSI)");
	escapes("\xc2\xa0", "\xc2\xa0", "U+00A0 is not a control");
	log_escape("ab\x1b", small, 6);
	is_str(small, "ab", "log_escape: an escape that does not fit is left out whole");
	log_escape("abcdefghij", small, sizeof small);
	is_str(small, "abcdefg", "log_escape: cut at the buffer, terminated");
}

/* log_utf8_prefix: a prefix of at most max bytes that ends on a whole
 * character. */
static void test_prefix(void)
{
	const char *s = "ab\xe5\x8d\xa1\xe5\x8d\xa1";   /* ab + two 3-byte characters */

	is_int(log_utf8_prefix(s, 80), 8, "log_utf8_prefix: a short string whole");
	is_int(log_utf8_prefix(s, 8), 8, "log_utf8_prefix: max at the end");
	is_int(log_utf8_prefix(s, 7), 5, "log_utf8_prefix: a character cut after 2 of 3 bytes is left out");
	is_int(log_utf8_prefix(s, 6), 5, "log_utf8_prefix: cut after 1 of 3 bytes");
	is_int(log_utf8_prefix(s, 5), 5, "log_utf8_prefix: on a boundary");
	is_int(log_utf8_prefix(s, 3), 2, "log_utf8_prefix: before the first character");
	is_int(log_utf8_prefix("abcdef", 3), 3, "log_utf8_prefix: ASCII");
	is_int(log_utf8_prefix("", 3), 0, "log_utf8_prefix: empty");
}

/* A line cut at log_msg's buffer does not end in half a UTF-8 character. */
static void test_long_utf8(void)
{
	char path[] = "/tmp/sk-log2-XXXXXX", msg[3000], buf[8192];
	int fd = mkstemp(path), saved = dup(2);
	size_t i, n;
	FILE *f;

	for (i = 0; i + 3 < sizeof msg; i += 3)
		memcpy(msg + i, "\xe5\x8d\xa1", 3);
	msg[i] = '\0';
	fflush(stderr);
	dup2(fd, 2);
	log_info("t", "x%s", msg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(path, "r");
	n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	close(fd);
	unlink(path);
	/* "<6>INFO t: x" then whole 3-byte characters, then the newline */
	ok(n > 1000 && buf[n - 1] == '\n' && (n - 1 - strlen("<6>INFO t: x")) % 3 == 0 &&
	   !memcmp(buf + n - 4, "\xe5\x8d\xa1", 3), "a long line is cut before a whole UTF-8 character (%zu bytes)", n);
}

int main(void)
{
	char path[] = "/tmp/sk-log-XXXXXX", buf[4096];
	FILE *f;
	size_t n;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	redacts("cookie unb=2200000000001; _m_h5_tk=0123456789abcdef_1796; _m_h5_tk_enc=ffee; cookie2=abc",
		"cookie unb=2200000000001; _m_h5_tk=***; _m_h5_tk_enc=***; cookie2=***",
		"platform cookies: the values masked, the user id (unb) kept");
	redacts("{\"accessToken\":\"oauth_k1:SECRETTOKEN\",\"accessTokenExpiredTime\":1}",
		"{\"accessToken\":\"***\",\"accessTokenExpiredTime\":1}", "JSON: accessToken masked");
	redacts("data={\\\"accessToken\\\":\\\"SECRETTOKEN\\\"}", "data={\\\"accessToken\\\":\\\"***\\\"}",
		"JSON inside a JSON string: masked");
	redacts("GET / Cookie: unb=1; sgcookie=E100xyz", "GET / Cookie: ***", "a Cookie header: the whole value");
	redacts("Set-Cookie: _m_h5_tk=abc_1; Path=/", "Set-Cookie: ***", "a Set-Cookie header");
	redacts("hdr Authorization: Bearer xyz", "hdr Authorization: ***", "an Authorization header");
	redacts("sk_session=deadbeef; X-CSRF-Token: c0ffee", "sk_session=***; X-CSRF-Token: ***",
		"the page's session cookie and CSRF header");
	redacts("{\"password\":\"hunter2\"}", "{\"password\":\"***\"}", "a password in JSON");
	redacts("WARN config: account.cookie: the cookie is stored in plaintext",
		"WARN config: account.cookie: the cookie is stored in plaintext",
		"a sentence about the cookie is left alone");
	redacts("IM token received (valid 86400 s)", "IM token received (valid 86400 s)", "a token's presence is kept");
	redacts("open the page with the setup token abcd", "open the page with the setup token abcd",
		"the setup token (shown on purpose, once) is kept");
	redacts("x=1&sign=abc&_m_h5_tk=zzzz&t=1", "x=1&sign=abc&_m_h5_tk=***&t=1", "a query string: only the secret");
	redacts("_m_h5_tk", "_m_h5_tk", "a bare name is left alone");
	redacts("_m_h5_tk=", "_m_h5_tk=", "an empty value is left alone");
	redacts("a=1;_tb_token_=ab", "a=1;_tb_token_=**", "a short value is masked in place");

	/* log_msg: redacted, one line, and <N> priorities under journald */
	fd = mkstemp(path);
	setenv("JOURNAL_STREAM", "8:1234", 1);
	fflush(stderr);
	{
		int saved = dup(2);

		dup2(fd, 2);
		log_set_level("debug");
		log_err("t", "cookie2=%s end", "SECRET");
		log_info("t", "two\nlines");
		log_debug("t", "debug");
		/* a buyer's message as the session logs it */
		log_info("session", "message from buyer 42: %s", "hi\x1b[2J\r\nINFO session: delivered \xe5\x8d\xa1\x7f\x07");
		log_warn("lws", "lws line\n");
		log_set_level("info");
		log_debug("t", "hidden");
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
	}
	f = fopen(path, "r");
	n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	close(fd);
	unlink(path);
	is_str(buf, "<3>ERROR t: cookie2=*** end\n<6>INFO t: two\\nlines\n<7>DEBUG t: debug\n"
	       "<6>INFO session: message from buyer 42: hi\\x1b[2J\\r\\nINFO session: delivered \xe5\x8d\xa1\\x7f\\x07\n"
	       "<4>WARN lws: lws line\n",
	       "log_msg: redacted, one line per event (control characters escaped, a trailing newline dropped, "
	       "UTF-8 kept), journald priorities, the level threshold");
	test_escape();
	test_long_utf8();
	test_prefix();
	return tap_done();
}
