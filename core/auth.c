/* SPDX-License-Identifier: MIT */
/*
 * core/auth.c - the web page's admin password, setup token, sessions and
 * login throttle (core/auth.h).
 *
 * The password hash (crypto_pwhash_str: argon2id, $argon2id$v=19$...) is the
 * state database's kv "web.password_hash". The keeper remembers the hash it
 * last saw: when another one is there (shopkeep passwd ran), every session
 * ends. Hashing and verifying take about 75 ms (INTERACTIVE) and run on the
 * event loop, so the failed attempts are throttled without refusing the
 * right password: the answer to a failed attempt waits (delay_max_ms >> 4
 * for the first failure in a row, doubling up to delay_max_ms; the caller
 * delays it, auth only says how long), and the attempt holds one of
 * AUTH_PENDING_MAX slots for that long even if its client hangs up. Only
 * when every slot is held is an attempt refused unchecked (AUTH_BUSY), so a
 * guesser gets at most AUTH_PENDING_MAX guesses per delay_max_ms and the
 * loop at most as many hashes; a seller typing the right password after any
 * number of wrong ones (one at a time) gets in at once.
 */
#include "auth.h"
#include "log.h"
#include "store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_KV "web.password_hash"

typedef struct {
	char token[AUTH_TOKEN_LEN + 1];
	char csrf[AUTH_TOKEN_LEN + 1];
	int64_t used_ms, born_ms;
	int live;
} auth_sess;

struct auth {
	store *st;
	auth_limits lim;
	int pwhash_min;
	int64_t (*now)(void);
	char pwh[crypto_pwhash_STRBYTES];  /* the hash last seen in the database, "" for none */
	char setup[AUTH_TOKEN_LEN + 1];   /* "" once a password is set, or spent, or expired */
	int64_t setup_born;
	auth_sess sess[AUTH_MAX_SESSIONS];
	int failures;                     /* failed attempts in a row */
	int64_t slot_until[AUTH_PENDING_MAX];
	int last_delay_ms;
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

/* The password hash in the database into out (crypto_pwhash_STRBYTES bytes,
 * "" when none). 0, or -1 on a database error (out untouched). */
static int auth_read_hash(auth *a, char *out)
{
	char *v = NULL;
	int rc = store_kv_get(a->st, AUTH_KV, &v);

	if (rc < 0) {
		free(v);
		return -1;
	}
	snprintf(out, crypto_pwhash_STRBYTES, "%s", rc == 0 && v ? v : "");
	free(v);
	return 0;
}

auth *auth_new(store *st, int64_t idle_ms, int pwhash_min, int64_t (*now_ms)(void))
{
	auth *a;

	if (sodium_init() < 0 || !(a = calloc(1, sizeof *a)))
		return NULL;
	a->st = st;
	a->lim = (auth_limits){ .idle_ms = idle_ms, .max_ms = 7 * 86400 * 1000LL, .setup_ms = 3600 * 1000LL,
				.delay_max_ms = 8000 };
	a->pwhash_min = pwhash_min;
	a->now = now_ms;
	if (auth_read_hash(a, a->pwh)) {
		free(a);
		return NULL;
	}
	if (!a->pwh[0]) {
		auth_random_token(a->setup);
		a->setup_born = now_ms();
	}
	return a;
}

void auth_set_limits(auth *a, const auth_limits *l)
{
	if (a)
		a->lim = *l;
}

void auth_free(auth *a)
{
	if (a) {
		sodium_memzero(a, sizeof *a);
		free(a);
	}
}

/* Ends every session; returns how many were live. */
static int auth_end_all(auth *a)
{
	int n = 0;

	for (int i = 0; i < AUTH_MAX_SESSIONS; i++) {
		n += a->sess[i].live;
		sodium_memzero(&a->sess[i], sizeof a->sess[i]);
	}
	return n;
}

int auth_sync(auth *a)
{
	char h[crypto_pwhash_STRBYTES];
	int n = 0;

	if (!a)
		return 0;
	/* a database error changes nothing: the next check reads it again */
	if (!auth_read_hash(a, h) && strcmp(h, a->pwh)) {
		n = auth_end_all(a);
		if (a->pwh[0])
			log_warn("web", "the admin password was changed (shopkeep passwd): every session ended (%d)", n);
		memcpy(a->pwh, h, sizeof h);
	}
	sodium_memzero(h, sizeof h);
	if (a->setup[0] && a->pwh[0])
		sodium_memzero(a->setup, sizeof a->setup);
	if (a->setup[0] && a->now() - a->setup_born >= a->lim.setup_ms) {
		sodium_memzero(a->setup, sizeof a->setup);
		log_warn("web", "the setup token expired; for a fresh one run: shopkeep ctl --config FILE setup_token");
	}
	return n;
}

const char *auth_setup_token(auth *a)
{
	if (!a)
		return NULL;
	auth_sync(a);
	return a->setup[0] ? a->setup : NULL;
}

int auth_needs_setup(auth *a)
{
	if (!a)
		return 0;
	auth_sync(a);
	return !a->pwh[0];
}

int auth_new_setup_token(auth *a, char *out, int *valid_s)
{
	auth_sync(a);
	if (a->pwh[0])
		return -1;
	auth_random_token(a->setup);
	a->setup_born = a->now();
	memcpy(out, a->setup, sizeof a->setup);
	*valid_s = (int)(a->lim.setup_ms / 1000);
	return 0;
}

/* The slot a new attempt may take, or -1 when all are held (then *wait_ms
 * says until the first frees). */
static int auth_free_slot(auth *a, int64_t now, int64_t *wait_ms)
{
	int64_t soonest = INT64_MAX;

	for (int i = 0; i < AUTH_PENDING_MAX; i++) {
		if (a->slot_until[i] <= now)
			return i;
		if (a->slot_until[i] - now < soonest)
			soonest = a->slot_until[i] - now;
	}
	*wait_ms = soonest;
	return -1;
}

/* Counts a failed attempt: its answer waits delay_max_ms >> (AUTH_DELAY_STEPS
 * - failures in a row), at least 1 ms, and it holds slot that long. */
static int auth_fail(auth *a, int64_t now, int slot, const char **why, const char *what)
{
	int shift;
	int64_t d;

	if (a->failures < 1000000)
		a->failures++;
	shift = a->failures >= AUTH_DELAY_STEPS ? 0 : AUTH_DELAY_STEPS - a->failures;
	d = a->lim.delay_max_ms >> shift;
	if (d < 1)
		d = 1;
	a->last_delay_ms = (int)d;
	a->slot_until[slot] = now + d;
	if (why)
		*why = what;
	return AUTH_BAD;
}

int auth_fail_delay_ms(const auth *a)
{
	return a ? a->last_delay_ms : 0;
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
	s->used_ms = s->born_ms = now;
	s->live = 1;
	memcpy(token, s->token, sizeof s->token);
	memcpy(csrf, s->csrf, sizeof s->csrf);
}

int auth_login(auth *a, const char *password, const char *setup_token, char *token, char *csrf,
	       int *retry_after_s, const char **why)
{
	int64_t now = a->now(), wait = 0;
	size_t n = password ? strlen(password) : 0;
	char *hash = NULL, err[128];
	int rc, slot;

	*retry_after_s = 0;
	a->last_delay_ms = 0;
	auth_sync(a);
	if (n > AUTH_MAX_PASSWORD || (a->pwh[0] && !n)) {
		if (why)
			*why = "a password is required (at most 1024 characters)";
		return AUTH_INVAL;
	}
	if (!a->pwh[0]) {
		if (!setup_token || !*setup_token) {
			if (why)
				*why = "no admin password is set yet: give the setup token from the log and a new password";
			return AUTH_INVAL;
		}
	} else if (setup_token && *setup_token) {
		if (why)
			*why = "the password is set already: log in with it";
		return AUTH_INVAL;
	}
	/* only what can be guessed is throttled; the checks above cost nothing */
	if ((slot = auth_free_slot(a, now, &wait)) < 0) {
		*retry_after_s = (int)((wait + 999) / 1000);
		if (why)
			*why = "too many failed logins are still being answered: wait a moment and try again";
		return AUTH_BUSY;
	}
	if (!a->pwh[0]) {
		if (!a->setup[0] || !auth_eq(setup_token, a->setup))
			return auth_fail(a, now, slot, why,
					 "wrong or expired setup token (a fresh one: shopkeep ctl --config FILE setup_token)");
		if (n < AUTH_MIN_PASSWORD) {
			if (why)
				*why = "the new password must have at least 8 characters";
			return AUTH_INVAL;
		}
		if (auth_set_password(a->st, password, a->pwhash_min, err, sizeof err) || auth_read_hash(a, a->pwh)) {
			if (why)
				*why = "the password could not be saved";
			return AUTH_ERR;
		}
		sodium_memzero(a->setup, sizeof a->setup);
	} else {
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
			return auth_fail(a, now, slot, why, "wrong password");
	}
	a->failures = 0;
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
		if (now - s->used_ms > a->lim.idle_ms || now - s->born_ms >= a->lim.max_ms) {
			sodium_memzero(s, sizeof *s);
			return NULL;
		}
		return s;
	}
	return NULL;
}

const char *auth_session(auth *a, const char *token)
{
	auth_sess *s;

	if (!a)
		return NULL;
	auth_sync(a);
	if (!(s = auth_find(a, token)))
		return NULL;
	s->used_ms = a->now();
	return s->csrf;
}

int auth_alive(auth *a, const char *token)
{
	return a && auth_find(a, token) != NULL;
}

int auth_csrf_ok(auth *a, const char *token, const char *csrf)
{
	auth_sess *s;

	if (!a)
		return 0;
	auth_sync(a);
	s = auth_find(a, token);
	return s && csrf && auth_eq(s->csrf, csrf);
}

void auth_logout(auth *a, const char *token)
{
	auth_sess *s = a ? auth_find(a, token) : NULL;

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
