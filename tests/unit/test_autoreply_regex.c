/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_autoreply_regex.c - plugins/autoreply's regexes and reply
 * cap through the fake host (split from tests/unit/test_autoreply.c): PCRE2 in
 * UTF-8 mode, the match limit on a slow back-reference pattern, the compile
 * caps per pattern and per file (at load and in rules_check), and a reply cut
 * to 4096 bytes at a character.
 */
#include "autoreply_fixture.h"

#include <stdlib.h>
#include <unistd.h>

/* Regexes are PCRE2 in UTF-8 mode: a repeat after a Chinese character
 * repeats the character, . is one character; and newlines and texts that are
 * not UTF-8 behave as they did under POSIX regexec. */
static void test_regex_utf8(void)
{
	fh *f;

	write_rules("{\"keyword_rules\":["
		    "{\"keywords\":[\"^单号?$\"],\"match\":\"regex\",\"reply\":\"r-hao\"},"
		    "{\"keywords\":[\"^.{2}$\"],\"match\":\"regex\",\"reply\":\"r-two\"},"
		    "{\"keywords\":[\"^a.b$\",\"^end$\",\"坏\"],\"match\":\"regex\",\"reply\":\"r-nl\"}]}");
	if (!ok((f = start(NODEB, rules)) != NULL, "regex utf8: loads"))
		return;
	is_str(ask(f, "c1", "", "单"), "r-hao", "regex utf8: 号? makes 号 optional, not its last byte");
	is_str(ask(f, "c1", "", "单号"), "r-hao", "regex utf8: and matches it present");
	is_str(ask(f, "c1", "", "单号号"), "", "regex utf8: once");
	is_str(ask(f, "c1", "", "多少"), "r-two", "regex utf8: . is a character (two Chinese ones are .{2})");
	is_str(ask(f, "c1", "", "a\nb"), "r-nl", "regex utf8: . matches a newline, as in POSIX");
	is_str(ask(f, "c1", "", "end\n"), "", "regex utf8: $ is the very end, as in POSIX");
	is_str(ask(f, "c1", "", "\xff\xfe 坏了"), "r-nl", "regex utf8: a text that is not UTF-8 still matches");
	ok(fh_log_find(f, "gave up") == 0, "regex utf8: and no match gave up");
	fh_free(f);
}

/* A back-reference pattern that took POSIX regexec 49 s on 72 bytes hits the
 * match limit: no match (the default answers), logged once for the rule. */
static void test_regex_match_limit(void)
{
	char text[73];
	fh *f;

	memset(text, 'a', 72);
	text[72] = '\0';
	write_rules("{\"keyword_rules\":["
		    "{\"id\":\"slow\",\"keywords\":[\"(.*)(.*)(.*)(.*)(.*)\\\\5\\\\4\\\\3\\\\2\\\\1[xy]\"],"
		    "\"match\":\"regex\",\"reply\":\"r-slow\"},"
		    "{\"keywords\":[\"^b+$\"],\"match\":\"regex\",\"reply\":\"r-b\"}],"
		    "\"default_reply\":{\"reply\":\"fallback\"}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "match limit: loads"))
		return;
	is_str(ask(f, "c1", "", text), "fallback", "match limit: a 72-byte text is no match for the rule");
	is_int(fh_log_find(f, "keyword rule slow: keywords[0] gave up on a 72-byte text (match limit exceeded)"), 1,
		"match limit: the match limit is what stopped it, and that is logged");
	is_str(ask(f, "c2", "", text), "fallback", "match limit: again in another chat");
	is_str(ask(f, "c3", "", "bbbb"), "r-b", "match limit: other regex rules still answer");
	is_int(fh_log_find(f, "gave up"), 1, "match limit: logged once per rule, not per message");
	reload(f, "core");
	is_str(ask(f, "c4", "", text), "fallback", "match limit: after a reload too");
	is_int(fh_log_find(f, "gave up"), 2, "match limit: said again for the reloaded rule");
	fh_free(f);
}

/* Patterns too long or too big to compile are validation errors, at load
 * and in rules_check; the caps are per pattern and per file. */
static void test_regex_compile_caps(void)
{
	static const char huge[] = "{\"keyword_rules\":[{\"keywords\":[\"(((a{1,100}){1,100}){1,100}){1,100}\"],"
				   "\"match\":\"regex\",\"reply\":\"r\"}]}";
	char *doc, errs[4096], pat[600], json[1300];
	size_t len, n = 600;
	int k;
	fh *f;

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"old\"}]}");
	if (!ok((f = start(NODEB, rules)) != NULL, "compile caps: loads"))
		return;
	/* glibc's regcomp took 2 GB on this one; PCRE2 knows it is too large */
	write_rules(huge);
	reload(f, "core");
	ok(fh_log_find(f, "keyword_rules[0].keywords[0]: bad regex: too big: it compiles to more than 32 KiB") == 1,
	   "compile caps: a repeat of repeats is refused at load, saying why");
	is_str(ask(f, "c1", "", "x"), "old", "compile caps: and the rules in force are kept");
	is_int(direct_check(huge, strlen(huge), errs, sizeof errs), -1, "compile caps: rules_check refuses it too");
	ok(strstr(errs, "keyword_rules[0].keywords[0]: bad regex: too big") != NULL, "compile caps: with the same words");

	/* compiles to 44 KB, which PCRE2 itself allows: the allocator cap refuses */
	snprintf(json, sizeof json, "{\"keyword_rules\":[{\"keywords\":[\"ok\",\"(?:\\\\p{L}{1,1000}){1,2000}\"],"
		 "\"match\":\"regex\",\"reply\":\"r\"}]}");
	is_int(direct_check(json, strlen(json), errs, sizeof errs), -1, "compile caps: 44 KB compiled is refused");
	is_str(errs, "keyword_rules[0].keywords[1]: bad regex: too big: it compiles to more than 32 KiB (a repeat of a "
	       "repeat, such as (a{1,100}){1,100}, multiplies)\n", "compile caps: by the per-pattern cap");
	snprintf(json, sizeof json, "{\"keyword_rules\":[{\"keywords\":[\"(?:\\\\p{L}{1,1000}){1,1400}\"],"
		 "\"match\":\"regex\",\"reply\":\"r\"}]}");
	is_int(direct_check(json, strlen(json), errs, sizeof errs), 0, "compile caps: 31 KB compiled is accepted");

	memset(pat, 'a', 513);
	pat[513] = '\0';
	snprintf(json, sizeof json, "{\"keyword_rules\":[{\"keywords\":[\"%.512s\",\"%s\"],\"match\":\"regex\","
		 "\"reply\":\"r\"}]}", pat, pat);
	is_int(direct_check(json, strlen(json), errs, sizeof errs), -1, "compile caps: a 513-byte pattern is refused");
	is_str(errs, "keyword_rules[0].keywords[1]: bad regex: 513 bytes long, at most 512\n",
	       "compile caps: saying its length (512 bytes is fine)");

	/* 600 patterns of 31 KB: more than 16 MiB together */
	if ((doc = malloc(n * 40 + 100))) {
		len = (size_t)sprintf(doc, "{\"keyword_rules\":[{\"match\":\"regex\",\"reply\":\"r\",\"keywords\":[");
		for (size_t i = 0; i < n; i++)
			len += (size_t)sprintf(doc + len, "%s\"(?:\\\\p{L}{1,1000}){1,1400}\"", i ? "," : "");
		strcpy(doc + len, "]}]}");
		is_int(direct_check(doc, strlen(doc), errs, sizeof errs), -1, "compile caps: 600 big patterns are refused");
		/* about 31 KB each: the first refused is past 500 */
		if (sscanf(errs, "keyword_rules[0].keywords[%d]", &k) != 1)
			k = -1;
		snprintf(pat, sizeof pat, "keyword_rules[0].keywords[%d]: bad regex: the file's regexes take more than "
			 "16 MiB together\n", k);
		ok(k > 500 && !strncmp(errs, pat, strlen(pat)),
		   "compile caps: by the cap on the file's total, from the one past 16 MiB (%d)", k);
		free(doc);
	}
	fh_free(f);
}

/* A reply is cut to 4096 bytes after its variables, at a character. */
static void test_reply_cap(void)
{
	char *text = malloc(3001), *want = malloc(6001);
	const fh_send *s;
	fh *f;

	if (!text || !want) {
		free(text);
		free(want);
		return;
	}
	for (int i = 0; i < 1000; i++)
		memcpy(text + 3 * i, "好", 3);
	text[3000] = '\0';
	snprintf(want, 6001, "%s%s", text, text);
	write_rules("{\"keyword_rules\":[{\"id\":\"echo\",\"keywords\":[\"好\",\"a\"],\"reply\":\"{message}{message}\"}]}");
	if (!ok((f = start(NODEB, rules)) != NULL, "reply cap: loads")) {
		free(text);
		free(want);
		return;
	}
	fh_clear_sends(f);
	say(f, "c1", "", text);
	s = fh_nsends(f) == 1 ? fh_send_at(f, 0) : NULL;
	ok(s && strlen(s->text) == 4095 && !strncmp(s->text, want, 4095),
	   "reply cap: 3000 bytes twice are cut to 4095 bytes, the 1365 whole characters that fit in 4096 (%zu)",
	   s ? strlen(s->text) : 0);
	ok(fh_log_find(f, "chat c1: the reply of rule echo is cut to 4095 bytes (at most 4096 after its variables)") == 1,
	   "reply cap: and that is logged");
	memset(text, 'a', 3000);
	fh_clear_sends(f);
	say(f, "c2", "", text);
	s = fh_nsends(f) == 1 ? fh_send_at(f, 0) : NULL;
	ok(s && strlen(s->text) == 4096, "reply cap: ASCII is cut at 4096 exactly");
	text[2048] = '\0';
	fh_clear_sends(f);
	say(f, "c3", "", text);
	s = fh_nsends(f) == 1 ? fh_send_at(f, 0) : NULL;
	ok(s && strlen(s->text) == 4096 && fh_log_find(f, "cut to") == 2, "reply cap: 4096 bytes are not cut");
	free(text);
	free(want);
	fh_free(f);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk_autoreply_regex_XXXXXX");
	if (!mkdtemp(tmpdir)) {
		ok(0, "a temporary directory");
		return tap_done();
	}
	snprintf(rules, sizeof rules, "%s/rules.json", tmpdir);
	test_regex_utf8();
	test_regex_match_limit();
	test_regex_compile_caps();
	test_reply_cap();
	unlink(rules);
	rmdir(tmpdir);
	return tap_done();
}
