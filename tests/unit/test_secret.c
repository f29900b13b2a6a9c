/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_secret.c - core/secret.c: round trip, the key file (made
 * 0600 whatever the umask, refused when group or others have access), a
 * tampered, truncated or foreign secret file refused with one error, atomic
 * writes; the config's account.cookie_secret and account.key_file, one cookie
 * source only, the plaintext warning; and `shopkeep secret set` then
 * `shopkeep check` ($SK_BUILD/shopkeep, default build/).
 */
#include "config.h"
#include "secret.h"
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define COOKIE "cna=q; unb=2200000000001; _m_h5_tk=SECRETTK_0123456789abcdef_1700000000000"
#define GOOD_STATE "\"state\":{\"db\":\"state.db\"}"

static char tmpdir[64];

/* Returns a malloc'd "<tmpdir>/<name>". */
static char *tmp_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
		abort();
	return p;
}

/* Writes s to path; returns 0 or -1. */
static int write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(s, f);
	return fclose(f);
}

/* Reads path into a malloc'd string, NULL when unreadable. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	sbuf b = { 0 };
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		sbuf_add(&b, chunk, n);
	fclose(f);
	return sbuf_take(&b);
}

/* Returns the permission bits of path, -1 when it does not exist. */
static int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (int)(st.st_mode & 07777);
}

/* Returns the number of entries of tmpdir whose name contains part. */
static int count_names(const char *part)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strstr(e->d_name, part) != NULL;
	closedir(d);
	return n;
}

/* Returns the number of lines of s. */
static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Decodes the secret file at path, applies edit to the bytes and writes it
 * back in base64. Returns 0 or -1. */
static int edit_box(const char *path, void (*edit)(unsigned char *box, size_t *len))
{
	unsigned char box[4096];
	char b64[8192], *text = read_text(path);
	size_t len = 0;
	int rc = -1;

	if (text && !sodium_base642bin(box, sizeof box, text, strcspn(text, "\n"), NULL, &len, NULL,
				       sodium_base64_VARIANT_ORIGINAL)) {
		edit(box, &len);
		sodium_bin2base64(b64, sizeof b64, box, len, sodium_base64_VARIANT_ORIGINAL);
		strcat(b64, "\n");
		rc = write_text(path, b64);
	}
	free(text);
	return rc;
}

static void flip_ciphertext(unsigned char *box, size_t *len)
{
	box[*len - 1] ^= 0x01;
}

static void flip_nonce(unsigned char *box, size_t *len)
{
	(void)len;
	box[3] ^= 0x80;
}

static void flip_mac(unsigned char *box, size_t *len)
{
	(void)len;
	box[crypto_secretbox_NONCEBYTES + 5] ^= 0x10;
}

static void cut_last_byte(unsigned char *box, size_t *len)
{
	(void)box;
	(*len)--;
}

/* Checks that secret_get of path with keyfile fails with the "cannot be
 * decrypted" error and no plaintext. */
static void refused(const char *keyfile, const char *path, const char *what)
{
	char err[512], want[512], *out = (char *)"x";
	int rc = secret_get(keyfile, path, &out, err, sizeof err);

	snprintf(want, sizeof want, "%s: cannot be decrypted: tampered with, or another key", path);
	if (!ok(rc == SECRET_EBAD && !out && !strcmp(err, want), "%s: refused", what))
		diag("rc %d, err \"%s\"", rc, err);
}

static void test_round_trip(void)
{
	char *key = tmp_path("rt.key"), *path = tmp_path("rt.secret"), *out = NULL, *text, err[512];
	unsigned char k[64];
	size_t kl = 0;
	mode_t old;
	int rc;

	old = umask(0277); /* open(0600) would give 0400: the key file must still be 0600 */
	rc = secret_set(key, path, "hello, 世界; unb=1", err, sizeof err);
	umask(old);
	if (!ok(rc == 0, "secret_set: 0"))
		diag("%s", err);
	is_int(mode_of(key), 0600, "the key file is made 0600 (under umask 0277)");
	is_int(mode_of(path), 0600, "the secret file is 0600");
	rc = secret_get(key, path, &out, err, sizeof err);
	ok(rc == 0 && out && !strcmp(out, "hello, 世界; unb=1"), "secret_get gives the plaintext back");
	secret_free(out);

	text = read_text(key);
	ok(text && strlen(text) == 45 && text[44] == '\n' &&
	   !sodium_base642bin(k, sizeof k, text, 44, NULL, &kl, NULL, sodium_base64_VARIANT_ORIGINAL) && kl == 32,
	   "the key file is one line of base64 of 32 bytes");
	free(text);
	text = read_text(path);
	ok(text && !strstr(text, "hello") && strchr(text, '\n') == text + strlen(text) - 1,
	   "the secret file is one line, not the plaintext");
	free(text);

	ok(secret_set(key, path, "second", err, sizeof err) == 0, "a second set with the same key");
	ok(secret_get(key, path, &out, err, sizeof err) == 0 && out && !strcmp(out, "second"), "overwritten");
	secret_free(out);
	ok(secret_set(key, path, "", err, sizeof err) == 0 && secret_get(key, path, &out, err, sizeof err) == 0 &&
	   out && !*out, "an empty secret");
	secret_free(out);
	is_int(count_names(".tmp"), 0, "the atomic writes leave no temp file");
	is_int(count_names("rt."), 2, "only the key and the secret file in the folder");

	{
		char *b64 = NULL, *plain = NULL;

		ok(secret_seal(key, "sealed", &b64, err, sizeof err) == 0 && b64 && !strchr(b64, '\n'),
		   "secret_seal gives one base64 line");
		ok(b64 && secret_open(key, "row", b64, strlen(b64), &plain, err, sizeof err) == 0 && plain &&
		   !strcmp(plain, "sealed"), "secret_open gives it back");
		secret_free(plain);
		free(b64);
	}
	free(key);
	free(path);
}

static void test_key_file(void)
{
	char *key = tmp_path("perm.key"), *path = tmp_path("perm.secret"), *other = tmp_path("other.secret");
	char *missing = tmp_path("missing.key"), *out = NULL, *before, *after, err[512], want[512];
	int rc;

	umask(0);
	ok(secret_set(key, path, "v1", err, sizeof err) == 0, "set under umask 0");
	umask(022);
	is_int(mode_of(key), 0600, "key file 0600 under umask 0");

	chmod(key, 0640);
	rc = secret_get(key, path, &out, err, sizeof err);
	snprintf(want, sizeof want, "chmod 600 %s", key);
	if (!ok(rc == SECRET_EKEY && !out && strstr(err, key) && strstr(err, want) && strstr(err, "0640"),
		"a group-readable key file is refused, with the fix"))
		diag("%s", err);
	before = read_text(path);
	rc = secret_set(key, path, "v2", err, sizeof err);
	after = read_text(path);
	ok(rc == SECRET_EKEY && before && after && !strcmp(before, after), "set refuses it too and changes nothing");
	free(before);
	free(after);
	chmod(key, 0604);
	ok(secret_get(key, path, &out, err, sizeof err) == SECRET_EKEY, "an other-readable key file is refused");
	chmod(key, 0620);
	ok(secret_get(key, path, &out, err, sizeof err) == SECRET_EKEY, "a group-writable key file is refused");
	chmod(key, 0600);
	ok(secret_get(key, path, &out, err, sizeof err) == 0 && out && !strcmp(out, "v1"), "usable again at 0600");
	secret_free(out);

	rc = secret_get(missing, path, &out, err, sizeof err);
	ok(rc == SECRET_EKEY && strstr(err, missing) && strstr(err, "No such file") && mode_of(missing) == -1,
	   "get with a missing key file: an error, and no key made");
	rc = secret_get(key, other, &out, err, sizeof err);
	ok(rc == SECRET_EMISSING && !out && strstr(err, other) && strstr(err, "cannot read: No such file"),
	   "a missing secret file");

	write_text(missing, "not a key\n");
	chmod(missing, 0600);
	rc = secret_get(missing, path, &out, err, sizeof err);
	ok(rc == SECRET_EKEY && strstr(err, "not a key"), "a key file that is not a key");
	free(key);
	free(path);
	free(other);
	free(missing);
}

static void test_tampered(void)
{
	char *key = tmp_path("t.key"), *key2 = tmp_path("t2.key"), *path = tmp_path("t.secret");
	char *p2 = tmp_path("t2.secret"), *text, err[512];

	ok(secret_set(key, path, COOKIE, err, sizeof err) == 0, "set for the tamper tests");
	ok(edit_box(path, flip_ciphertext) == 0, "flipped a ciphertext bit");
	refused(key, path, "a tampered ciphertext byte");
	secret_set(key, path, COOKIE, err, sizeof err);
	edit_box(path, flip_nonce);
	refused(key, path, "a tampered nonce byte");
	secret_set(key, path, COOKIE, err, sizeof err);
	edit_box(path, flip_mac);
	refused(key, path, "a tampered MAC byte");
	secret_set(key, path, COOKIE, err, sizeof err);
	edit_box(path, cut_last_byte);
	refused(key, path, "a box one byte short");

	secret_set(key, path, COOKIE, err, sizeof err);
	text = read_text(path);
	text[strlen(text) / 2] = '\0';
	write_text(path, text);
	refused(key, path, "a file cut in half");
	text[8] = '\0';
	write_text(path, text);
	refused(key, path, "a file cut to 8 characters (shorter than a nonce)");
	write_text(path, "");
	refused(key, path, "an empty file");
	write_text(path, "@@@ not base64 @@@\n");
	refused(key, path, "a file that is not base64");
	free(text);

	/* The same secret under another key. */
	secret_set(key, path, COOKIE, err, sizeof err);
	ok(secret_set(key2, p2, "other", err, sizeof err) == 0, "a second key");
	refused(key2, path, "another key");
	refused(key, p2, "another key, the other way");
	free(key);
	free(key2);
	free(path);
	free(p2);
}

/* Parses text with base_dir tmpdir; returns the errors (static, "" when
 * none), *rc the result; c is the caller's to free. */
static const char *parse(const char *text, config *c, int *rc)
{
	static char out[8192];
	sbuf errs = { 0 };

	*rc = config_parse(text, tmpdir, c, &errs);
	snprintf(out, sizeof out, "%s", errs.p ? errs.p : "");
	sbuf_free(&errs);
	return out;
}

/* Checks cookie_secret: the default and an explicit key; the wrong key, a readable key,
 * a missing file, no unb, an id that is no file name. */
static void test_config_secret(const char *key, const char *path, const char *k2)
{
	char err[512];
	const char *e;
	config c;
	int rc;

	ok(secret_set(key, path, COOKIE, err, sizeof err) == 0, "the cookie encrypted with the default key");
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie_secret\":\"a1.cookie.secret\"}," GOOD_STATE "}", &c, &rc);
	if (!ok(rc == 0 && !*e, "a config with cookie_secret loads"))
		diag("%s", e);
	is_str(c.cookie, COOKIE, "the cookie is decrypted");
	is_str(c.unb, "2200000000001", "its unb");
	is_str(c.cookie_secret, path, "cookie_secret resolved against the config's folder");
	is_str(c.key_file, key, "key_file defaults to <config dir>/<account id>.key");
	ok(c.cookie_file == NULL && c.warnings == NULL, "no cookie_file, no warning");
	config_free(&c);

	ok(secret_set(k2, path, COOKIE, err, sizeof err) == 0, "the cookie encrypted with another key file");
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie_secret\":\"a1.cookie.secret\",\"key_file\":\"keys.key\"},"
		  GOOD_STATE "}", &c, &rc);
	ok(rc == 0 && !*e && c.cookie && !strcmp(c.cookie, COOKIE) && c.key_file && !strcmp(c.key_file, k2),
	   "an explicit key_file, resolved");
	config_free(&c);
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie_secret\":\"a1.cookie.secret\"}," GOOD_STATE "}", &c, &rc);
	if (!ok(rc == -1 && lines(e) == 1 && strstr(e, "account.cookie_secret: ") &&
		strstr(e, "a1.cookie.secret: cannot be decrypted: tampered with, or another key (key file ") &&
		strstr(e, key) && !strstr(e, "SECRETTK"), "the wrong key: one error naming the file and the key"))
		diag("%s", e);
	ok(!c.cookie && !c.unb, "no cookie after a failed decryption");
	config_free(&c);

	chmod(k2, 0644);
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie_secret\":\"a1.cookie.secret\",\"key_file\":\"keys.key\"},"
		  GOOD_STATE "}", &c, &rc);
	if (!ok(rc == -1 && lines(e) == 1 && !strncmp(e, "account.key_file: ", 18) && strstr(e, "chmod 600 ") &&
		strstr(e, k2), "a readable key file: account.key_file with the fix"))
		diag("%s", e);
	config_free(&c);
	chmod(k2, 0600);

	e = parse("{\"account\":{\"id\":\"a1\",\"cookie_secret\":\"nope.secret\"}," GOOD_STATE "}", &c, &rc);
	if (!ok(rc == -1 && lines(e) == 1 && strstr(e, "account.cookie_secret: ") && strstr(e, "nope.secret: cannot read") &&
		strstr(e, "shopkeep secret set --config FILE cookie"), "a missing cookie_secret file, with the command"))
		diag("%s", e);
	config_free(&c);

	secret_set(key, path, "sid=SECRETSID; t=1", err, sizeof err);
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie_secret\":\"a1.cookie.secret\"}," GOOD_STATE "}", &c, &rc);
	ok(rc == -1 && lines(e) == 1 && strstr(e, "account.cookie_secret: the cookie has no unb") &&
	   !strstr(e, "SECRETSID"), "a decrypted cookie without unb: the usual error, not shown");
	config_free(&c);
	secret_set(key, path, COOKIE, err, sizeof err);

	e = parse("{\"account\":{\"id\":\"a/b\",\"cookie_secret\":\"a1.cookie.secret\"}," GOOD_STATE "}", &c, &rc);
	ok(rc == -1 && lines(e) == 1 && strstr(e, "account.key_file: required with account.cookie_secret"),
	   "an account.id that is no file name needs an explicit key_file");
	config_free(&c);
}

/* Checks cookie, cookie_file and cookie_secret exclude each other, and the plaintext warnings. */
static void test_config_plaintext(const char *key, const char *cf)
{
	const char *e;
	config c;
	int rc;

	write_text(cf, COOKIE "\n");
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie\":\"unb=1\",\"cookie_secret\":\"a1.cookie.secret\"}," GOOD_STATE "}",
		  &c, &rc);
	ok(rc == -1 && lines(e) == 1 && strstr(e, "account.cookie_secret: set one of account.cookie, "
					   "account.cookie_file and account.cookie_secret, not several"),
	   "cookie and cookie_secret: an error");
	config_free(&c);
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie_file\":\"plain.txt\",\"cookie_secret\":\"a1.cookie.secret\"},"
		  GOOD_STATE "}", &c, &rc);
	ok(rc == -1 && lines(e) == 1 && strstr(e, "not several"), "cookie_file and cookie_secret: an error");
	config_free(&c);
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie\":\"unb=1\",\"cookie_file\":\"plain.txt\","
		  "\"cookie_secret\":\"a1.cookie.secret\"}," GOOD_STATE "}", &c, &rc);
	ok(rc == -1 && lines(e) == 1 && strstr(e, "not several"), "all three: an error");
	config_free(&c);
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie\":\"unb=1\",\"cookie_file\":\"plain.txt\"}," GOOD_STATE "}",
		  &c, &rc);
	ok(rc == -1 && !strcmp(e, "account.cookie_file: set account.cookie or account.cookie_file, not both\n"),
	   "cookie and cookie_file: the error as before");
	config_free(&c);

	e = parse("{\"account\":{\"id\":\"a1\",\"cookie\":\"" COOKIE "\"}," GOOD_STATE "}", &c, &rc);
	ok(rc == 0 && !*e && c.warnings &&
	   !strcmp(c.warnings, "account.cookie: the cookie is stored in plaintext; encrypt it with "
			       "`shopkeep secret set --config FILE cookie`\n"), "an inline cookie: the plaintext warning");
	ok(c.key_file && !strcmp(c.key_file, key), "key_file has its default without cookie_secret too");
	config_free(&c);
	e = parse("{\"account\":{\"id\":\"a1\",\"cookie_file\":\"plain.txt\"}," GOOD_STATE "}", &c, &rc);
	ok(rc == 0 && !*e && c.warnings && !strncmp(c.warnings, "account.cookie_file: the cookie is stored in plaintext",
						     54) && lines(c.warnings) == 1, "a cookie file: the plaintext warning");
	config_free(&c);
}

/* Checks config_load's warning names the file, and CONFIG_NO_COOKIE. */
static void test_config_load(const char *cfg)
{
	char *want;
	config c;
	int rc;

	write_text(cfg, "{\"account\":{\"id\":\"a1\",\"cookie\":\"" COOKIE "\"}," GOOD_STATE "}");
	{
		sbuf errs = { 0 };

		rc = config_load(cfg, &c, &errs);
		if (asprintf(&want, "`shopkeep secret set --config %s cookie`", cfg) < 0)
			abort();
		ok(rc == 0 && !errs.len && c.warnings && strstr(c.warnings, want), "config_load's warning names the file");
		free(want);
		config_free(&c);
		rc = config_load_flags(cfg, CONFIG_NO_COOKIE, &c, &errs);
		ok(rc == 0 && !c.warnings && c.cookie && c.key_file, "CONFIG_NO_COOKIE: no warning");
		config_free(&c);
		write_text(cfg, "{\"account\":{\"id\":\"a1\",\"cookie_secret\":\"missing.secret\"}," GOOD_STATE "}");
		rc = config_load_flags(cfg, CONFIG_NO_COOKIE, &c, &errs);
		ok(rc == 0 && !errs.len && !c.cookie, "CONFIG_NO_COOKIE: a missing cookie_secret file is no error");
		config_free(&c);
		rc = config_load(cfg, &c, &errs);
		ok(rc == -1 && errs.p && strstr(errs.p, "cannot read") && strstr(errs.p, "--config ") &&
		   strstr(errs.p, "acct.json cookie"), "without it, the error names the config in the command");
		config_free(&c);
		sbuf_free(&errs);
	}
}

/* Checks the config keys for the cookie secret, step by step, and config_cookie_check. */
static void test_config(void)
{
	char *key = tmp_path("a1.key"), *path = tmp_path("a1.cookie.secret"), *k2 = tmp_path("keys.key");
	char *cf = tmp_path("plain.txt"), *cfg = tmp_path("acct.json");

	test_config_secret(key, path, k2);
	test_config_plaintext(key, cf);
	test_config_load(cfg);
	{
		char *u = NULL;

		ok(!config_cookie_check("a=1; unb=42", &u) && u && !strcmp(u, "42"), "config_cookie_check: unb");
		free(u);
		ok(config_cookie_check("a=1", &u) && !u, "config_cookie_check: no unb");
		ok(config_cookie_check("", &u) && !u, "config_cookie_check: empty");
		ok(config_cookie_check("unb=1\r\nX: 1", &u) && !u, "config_cookie_check: a line break");
	}
	free(key);
	free(path);
	free(k2);
	free(cf);
	free(cfg);
}

/* Checks the first `secret set` of an inline-cookie config: its files, its words, the config untouched. */
static void test_cli_set_first(const char *bin, const char *x, const char *secret, const char *key)
{
	const char *out;
	char cmd[2048];
	int st;
	char *text;

	/* A config with the cookie inline, as today. */
	write_text(x, "{\"account\":{\"id\":\"shop1\",\"cookie\":\"unb=1; t=PLAINCOOKIE\"},\"state\":{\"db\":\"s.db\"}}\n");

	snprintf(cmd, sizeof cmd, "echo 'unb=2200000000001; _m_h5_tk=SECRETTK_77_1700000000000' | '%s' secret set "
		 "--config '%s' cookie 2>&1", bin, x);
	out = tbot_sh(cmd, &st);
	if (!ok(st == 0 && strstr(out, "encrypted into ") && strstr(out, secret), "secret set: exit 0, names the file"))
		diag("%s", out);
	ok(strstr(out, "\"cookie_secret\": \"shop1.cookie.secret\"") && strstr(out, "remove account.cookie"),
	   "secret set: says what to change in the config");
	ok(strstr(out, "a new key was made: ") && strstr(out, key), "secret set: names the new key file");
	ok(!strstr(out, "SECRETTK"), "secret set: the cookie is not shown");
	is_int(mode_of(key), 0600, "the key file is 0600");
	is_int(mode_of(secret), 0600, "the secret file is 0600");
	text = read_text(x);
	ok(text && strstr(text, "PLAINCOOKIE") && !strstr(text, "cookie_secret"), "the config file is not rewritten");
	free(text);
}

/* Checks `check` passes with cookie_secret, the cookie is nowhere in plain text, and a second `secret set`. */
static void test_cli_set_again(const char *bin, const char *dir, const char *y, const char *secret)
{
	const char *out;
	char cmd[2048];
	int st;

	write_text(y, "{\"account\":{\"id\":\"shop1\",\"cookie_secret\":\"shop1.cookie.secret\"},\"state\":{\"db\":\"s.db\"}}\n");
	snprintf(cmd, sizeof cmd, "'%s' check --config '%s' 2>&1", bin, y);
	out = tbot_sh(cmd, &st);
	if (!ok(st == 0 && !strcmp(out, "config OK\n"), "check: a config with cookie_secret passes"))
		diag("%s", out);
	snprintf(cmd, sizeof cmd, "grep -rq SECRETTK_77 '%s'", dir);
	tbot_sh(cmd, &st);
	is_int(st, 1, "the cookie text is nowhere in the folder (grep fails)");
	snprintf(cmd, sizeof cmd, "grep -q 2200000000001 '%s'", secret);
	tbot_sh(cmd, &st);
	is_int(st, 1, "not even its unb in the secret file");

	snprintf(cmd, sizeof cmd, "printf 'unb=2200000000002; _m_h5_tk=SECRETTK_78\\r\\n' | '%s' secret set --config '%s' "
		 "cookie 2>&1", bin, y);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && strstr(out, "account.cookie_secret of ") && !strstr(out, "a new key") &&
	   !strstr(out, "remove"), "secret set again: the config already names it, the key is kept");
	{
		config c;
		sbuf errs = { 0 };

		ok(config_load(y, &c, &errs) == 0 && c.unb && !strcmp(c.unb, "2200000000002"), "the new cookie is used");
		config_free(&c);
		sbuf_free(&errs);
	}
}

/* Checks `secret set` refuses a cookie without unb and empty stdin, and `check` a group-readable key. */
static void test_cli_refusals(const char *bin, const char *y, const char *secret, const char *key)
{
	const char *out;
	char cmd[2048];
	int st;
	char *text;

	text = read_text(secret);
	snprintf(cmd, sizeof cmd, "echo 'sid=SECRETTK_79' | '%s' secret set --config '%s' cookie 2>&1", bin, y);
	out = tbot_sh(cmd, &st);
	ok(st == 1 && strstr(out, "the cookie has no unb") && strstr(out, "nothing changed") && !strstr(out, "SECRETTK"),
	   "secret set: a cookie without unb exits 1, not shown");
	{
		char *now = read_text(secret);

		ok(text && now && !strcmp(text, now), "... and the secret file is unchanged");
		free(now);
	}
	free(text);
	snprintf(cmd, sizeof cmd, "'%s' secret set --config '%s' cookie </dev/null 2>&1", bin, y);
	out = tbot_sh(cmd, &st);
	ok(st == 1 && strstr(out, "no cookie given on stdin"), "secret set: nothing on stdin exits 1");

	chmod(key, 0640);
	snprintf(cmd, sizeof cmd, "'%s' check --config '%s' 2>&1", bin, y);
	out = tbot_sh(cmd, &st);
	if (!ok(st == 1 && strstr(out, "account.key_file: ") && strstr(out, "chmod 600 ") && strstr(out, key),
		"check: a group-readable key file exits 1 with the fix"))
		diag("%s", out);
	chmod(key, 0600);
}

/* Checks the help texts, the usage errors (exit 2) and `check` of a plaintext config. */
static void test_cli_usage(const char *bin, const char *x, const char *y)
{
	const char *out;
	char cmd[2048];
	int st;

	snprintf(cmd, sizeof cmd, "'%s' secret --help 2>/dev/null", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && strstr(out, "usage: shopkeep secret set --config FILE cookie"), "secret --help");
	snprintf(cmd, sizeof cmd, "'%s' secret set --help 2>/dev/null", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && strstr(out, "usage: shopkeep secret set") && strstr(out, "stdin"), "secret set --help");
	snprintf(cmd, sizeof cmd, "'%s' --help 2>/dev/null", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && strstr(out, "secret set --config FILE cookie"), "secret in the usage");
	snprintf(cmd, sizeof cmd, "'%s' secret 2>&1", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "which subcommand") && strstr(out, "--help"), "secret alone: one line, exit 2");
	snprintf(cmd, sizeof cmd, "'%s' secret get --config '%s' cookie 2>&1", bin, y);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "unknown subcommand 'get'"), "secret get: exit 2");
	snprintf(cmd, sizeof cmd, "'%s' secret set --config '%s' password </dev/null 2>&1", bin, y);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "unknown secret 'password'"), "an unknown secret: exit 2");
	snprintf(cmd, sizeof cmd, "'%s' secret set --config '%s' </dev/null 2>&1", bin, y);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "which secret? cookie or agent_key"), "no secret named: exit 2");
	snprintf(cmd, sizeof cmd, "'%s' secret set cookie </dev/null 2>&1", bin);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "--config FILE is required"), "no --config: exit 2");
	snprintf(cmd, sizeof cmd, "'%s' secret set --config '%s' cookie extra </dev/null 2>&1", bin, y);
	out = tbot_sh(cmd, &st);
	ok(st == 2 && strstr(out, "unexpected argument 'extra'"), "an extra argument: exit 2");
	snprintf(cmd, sizeof cmd, "'%s' check --config '%s' 2>&1", bin, x);
	out = tbot_sh(cmd, &st);
	ok(st == 0 && !strcmp(out, "config OK\n"), "check of a plaintext config, not on a terminal: output unchanged");
}

/* Checks the `secret` command and `check` through the built binary, step by step. */
static void test_cli(void)
{
	const char *build = getenv("SK_BUILD");
	char bin[512], dir[128];
	char *x, *y, *secret, *key;

	if (!build || !*build)
		build = "build";
	snprintf(bin, sizeof bin, "%s/shopkeep", build);
	if (!ok(access(bin, X_OK) == 0, "%s exists", bin))
		return;
	snprintf(dir, sizeof dir, "%s/cli", tmpdir);
	mkdir(dir, 0700);
	if (asprintf(&x, "%s/x.json", dir) < 0 || asprintf(&y, "%s/y.json", dir) < 0 ||
	    asprintf(&secret, "%s/shop1.cookie.secret", dir) < 0 || asprintf(&key, "%s/shop1.key", dir) < 0)
		abort();
	test_cli_set_first(bin, x, secret, key);
	test_cli_set_again(bin, dir, y, secret);
	test_cli_refusals(bin, y, secret, key);
	test_cli_usage(bin, x, y);
	free(x);
	free(y);
	free(secret);
	free(key);
}

int main(void)
{
	char cmd[128];

	if (sodium_init() < 0)
		return 1;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk_test_secret.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_round_trip();
	test_key_file();
	test_tampered();
	test_config();
	test_cli();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return tap_done();
}
