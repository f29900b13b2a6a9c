/* SPDX-License-Identifier: MIT */
/*
 * core/auth.c - the web page's admin password, setup token, sessions and
 * login rate limit (core/auth.h).
 *
 * The password hash (crypto_pwhash_str: argon2id, $argon2id$v=19$...) is the
 * state database's kv "web.password_hash". Hashing and verifying take about
 * 75 ms (INTERACTIVE) and run on the event loop: the rate limit keeps that
 * from being a way to stall the bot. After AUTH_FREE_FAILURES failed logins
 * in a row, every attempt is refused for 30 s, doubling with each further
 * failure up to 15 minutes; a success resets it.
 */
#include "auth.h"
#include "store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_KV "web.password_hash"
#define AUTH_LOCK_BASE_MS 30000
#define AUTH_LOCK_MAX_MS (15 * 60 * 1000)

typedef struct {
	char token[AUTH_TOKEN_LEN + 1];
	char csrf[AUTH_TOKEN_LEN + 1];
	int64_t used_ms;
	int live;
} auth_sess;

struct auth {
	store *st;
	int64_t idle_ms;
	int pwhash_min;
	int64_t (*now)(void);
	char setup[AUTH_TOKEN_LEN + 1];   /* "" once a password is set */
	auth_sess sess[AUTH_MAX_SESSIONS];
	int failures;
	int64_t locked_until;
};

/* A fresh random token: 32 bytes, base64url, no padding. */
static void auth_random_token(char *out)
{
	unsigned char b[32];

	randombytes_buf(b, sizeof b);
	sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, b, sizeof b, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(b, sizeof b);
}

/* Constant-time equality of two NUL-terminated strings (their lengths are not secret). */
static int auth_eq(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

int auth_set_password(store *st, const char *pw, int min, char *err, size_t errlen)
{
	char h[crypto_pwhash_STRBYTES];
	size_t n = pw ? strlen(pw) : 0;

	if (n < AUTH_MIN_PASSWORD || n > AUTH_MAX_PASSWORD) {
		snprintf(err, errlen, "the password must have %d to %d characters", AUTH_MIN_PASSWORD, AUTH_MAX_PASSWORD);
		return -1;
	}
	if (sodium_init() < 0 ||
	    crypto_pwhash_str(h, pw, n, min ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      min ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE)) {
		snprintf(err, errlen, "hashing failed (out of memory?)");
		return -1;
	}
	if (store_kv_set(st, AUTH_KV, h)) {
		snprintf(err, errlen, "cannot write the state database");
		return -1;
	}
	return 0;
}

int auth_has_password(store *st)
{
	char *v = NULL;
	int rc = store_kv_get(st, AUTH_KV, &v);

	free(v);
	return rc < 0 ? -1 : rc == 0;
}

auth *auth_new(store *st, int64_t idle_ms, int pwhash_min, int64_t (*now_ms)(void))
{
	auth *a;
	int has;

	if (sodium_init() < 0 || (has = auth_has_password(st)) < 0 || !(a = calloc(1, sizeof *a)))
		return NULL;
	a->st = st;
	a->idle_ms = idle_ms;
	a->pwhash_min = pwhash_min;
	a->now = now_ms;
	if (!has)
		auth_random_token(a->setup);
	return a;
}

void auth_set_idle(auth *a, int64_t idle_ms)
{
	if (a)
		a->idle_ms = idle_ms;
}

void auth_free(auth *a)
{
	if (a) {
		sodium_memzero(a, sizeof *a);
		free(a);
	}
}

/* Forgets the setup token once a password exists (shopkeep passwd may set
 * one while the process runs). */
static void auth_refresh(auth *a)
{
	if (a->setup[0] && auth_has_password(a->st) == 1)
		sodium_memzero(a->setup, sizeof a->setup);
}

const char *auth_setup_token(auth *a)
{
	if (!a)
		return NULL;
	auth_refresh(a);
	return a->setup[0] ? a->setup : NULL;
}

int auth_needs_setup(auth *a)
{
	return auth_setup_token(a) != NULL;
}

/* Counts a failed attempt and arms the lock once past the free ones. */
static int auth_fail(auth *a, int64_t now, int *retry_after_s, const char **why, const char *what)
{
	if (++a->failures > AUTH_FREE_FAILURES) {
		int64_t ms = AUTH_LOCK_BASE_MS;

		for (int i = AUTH_FREE_FAILURES + 1; i < a->failures && ms < AUTH_LOCK_MAX_MS; i++)
			ms *= 2;
		if (ms > AUTH_LOCK_MAX_MS)
			ms = AUTH_LOCK_MAX_MS;
		a->locked_until = now + ms;
		*retry_after_s = (int)((ms + 999) / 1000);
	}
	if (why)
		*why = what;
	return AUTH_BAD;
}

/* A new session; the least recently used one makes room when all are taken. */
static void auth_open(auth *a, int64_t now, char *token, char *csrf)
{
	auth_sess *s = &a->sess[0];

	for (int i = 0; i < AUTH_MAX_SESSIONS; i++) {
		if (!a->sess[i].live) {
			s = &a->sess[i];
			break;
		}
		if (a->sess[i].used_ms < s->used_ms)
			s = &a->sess[i];
	}
	auth_random_token(s->token);
	auth_random_token(s->csrf);
	s->used_ms = now;
	s->live = 1;
	memcpy(token, s->token, sizeof s->token);
	memcpy(csrf, s->csrf, sizeof s->csrf);
}

int auth_login(auth *a, const char *password, const char *setup_token, char *token, char *csrf,
	       int *retry_after_s, const char **why)
{
	int64_t now = a->now();
	size_t n = password ? strlen(password) : 0;
	char *hash = NULL, err[128];
	int rc;

	*retry_after_s = 0;
	if (now < a->locked_until) {
		*retry_after_s = (int)((a->locked_until - now + 999) / 1000);
		if (why)
			*why = "too many failed logins: wait and try again";
		return AUTH_LOCKED;
	}
	if (n > AUTH_MAX_PASSWORD || (!a->setup[0] && !n)) {
		if (why)
			*why = "a password is required (at most 1024 characters)";
		return AUTH_INVAL;
	}
	auth_refresh(a);
	if (a->setup[0]) {
		if (!setup_token || !*setup_token) {
			if (why)
				*why = "no admin password is set yet: give the setup token from the log and a new password";
			return AUTH_INVAL;
		}
		if (!auth_eq(setup_token, a->setup))
			return auth_fail(a, now, retry_after_s, why, "wrong setup token");
		if (n < AUTH_MIN_PASSWORD) {
			if (why)
				*why = "the new password must have at least 8 characters";
			return AUTH_INVAL;
		}
		if (auth_set_password(a->st, password, a->pwhash_min, err, sizeof err)) {
			if (why)
				*why = "the password could not be saved";
			return AUTH_ERR;
		}
		a->setup[0] = '\0';
	} else {
		if (setup_token && *setup_token) {
			if (why)
				*why = "the password is set already: log in with it";
			return AUTH_INVAL;
		}
		rc = store_kv_get(a->st, AUTH_KV, &hash);
		if (rc) {
			free(hash);
			if (why)
				*why = "the password could not be read";
			return AUTH_ERR;
		}
		rc = crypto_pwhash_str_verify(hash, password, n);
		free(hash);
		if (rc)
			return auth_fail(a, now, retry_after_s, why, "wrong password");
	}
	a->failures = 0;
	a->locked_until = 0;
	auth_open(a, now, token, csrf);
	return AUTH_OK;
}

/* The live, unexpired session of token, or NULL (an expired one is closed). */
static auth_sess *auth_find(auth *a, const char *token)
{
	int64_t now = a->now();

	if (!token || strlen(token) != AUTH_TOKEN_LEN)
		return NULL;
	for (int i = 0; i < AUTH_MAX_SESSIONS; i++) {
		auth_sess *s = &a->sess[i];

		if (!s->live || !auth_eq(s->token, token))
			continue;
		if (now - s->used_ms > a->idle_ms) {
			sodium_memzero(s, sizeof *s);
			return NULL;
		}
		return s;
	}
	return NULL;
}

const char *auth_session(auth *a, const char *token)
{
	auth_sess *s = auth_find(a, token);

	if (!s)
		return NULL;
	s->used_ms = a->now();
	return s->csrf;
}

int auth_csrf_ok(auth *a, const char *token, const char *csrf)
{
	auth_sess *s = auth_find(a, token);

	return s && csrf && auth_eq(s->csrf, csrf);
}

void auth_logout(auth *a, const char *token)
{
	auth_sess *s = auth_find(a, token);

	if (s)
		sodium_memzero(s, sizeof *s);
}

int auth_nsessions(const auth *a)
{
	int n = 0;

	for (int i = 0; i < AUTH_MAX_SESSIONS; i++)
		n += a->sess[i].live;
	return n;
}
