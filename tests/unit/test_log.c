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
	is_str(buf, "<3>ERROR t: cookie2=*** end\n<6>INFO t: two lines\n<7>DEBUG t: debug\n",
	       "log_msg: redacted, one line per event, journald priorities, the level threshold");
	return tap_done();
}
