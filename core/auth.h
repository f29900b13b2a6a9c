/* SPDX-License-Identifier: MIT */
/*
 * core/auth.h - who may use the account's web page: the admin password
 * (argon2id, kept hashed in the state database), the setup token of a
 * process started without one (it expires; a fresh one on demand), login
 * sessions with their CSRF tokens (idle and absolute lifetime; a password
 * changed by another process ends them all), and the login throttle: failed
 * attempts are answered later and later, the right password never refused.
 * Sessions live in memory only: a restart logs everyone out.
 */
#ifndef SK_AUTH_H
#define SK_AUTH_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct auth auth;

#define AUTH_TOKEN_LEN 43          /* 32 random bytes, base64url without padding */
#define AUTH_MIN_PASSWORD 8
#define AUTH_MAX_PASSWORD 1024
#define AUTH_MAX_SESSIONS 32
#define AUTH_PENDING_MAX 4         /* failed logins whose answer may be pending at once */
#define AUTH_DELAY_STEPS 5         /* failures in a row until the answer delay reaches its cap */

enum { AUTH_OK = 0, AUTH_BAD = -1, AUTH_BUSY = -2, AUTH_INVAL = -3, AUTH_ERR = -4 };

/* How long things last, in ms (auth_new's defaults, web.* keys in config). */
typedef struct {
	int64_t idle_ms;           /* a session ends after this long unused (web.session_idle_s) */
	int64_t max_ms;            /* ... and this long after its login (web.session_max_s) */
	int64_t setup_ms;          /* a setup token is good this long (web.setup_token_s) */
	int64_t delay_max_ms;      /* the answer to a failed login waits up to this (web.login_delay_max_ms) */
} auth_limits;

/* Hashes pw (argon2id; min: the smallest cost, for tests under valgrind) and
 * stores it as the admin password. 0, or -1 with the reason in err. */
int auth_set_password(store *st, const char *pw, int min, char *err, size_t errlen);
/* Whether an admin password is set: 1, 0, or -1 on a database error. */
int auth_has_password(store *st);

/* A session keeper over st (borrowed). idle_ms: a session ends after this long
 * unused (the other limits get their defaults: 7 days, 1 hour, 8 s). now_ms is
 * the clock (monotonic ms). When no password is set it makes a setup token
 * (auth_setup_token). NULL on OOM or a database error. */
auth *auth_new(store *st, int64_t idle_ms, int pwhash_min, int64_t (*now_ms)(void));
/* Start and SIGHUP: new limits, for every session's and token's next check. */
void auth_set_limits(auth *a, const auth_limits *l);
void auth_free(auth *a);

/* Looks at the password in the database again: when another process (shopkeep
 * passwd) changed it, every session ends (logged); a setup token ends when a
 * password exists or its time is up (logged once). The request paths below
 * do this themselves; a timer calls it so that it happens without requests.
 * Returns the number of sessions it ended. */
int auth_sync(auth *a);

/* The one-time setup token while no password is set and it has not expired,
 * else NULL. */
const char *auth_setup_token(auth *a);
/* Whether no admin password is set (the page asks for a setup token). */
int auth_needs_setup(auth *a);
/* A fresh setup token (the old one ends), good for limits.setup_ms, while no
 * password is set: it is copied to out (AUTH_TOKEN_LEN + 1 bytes), and
 * *valid_s gets its lifetime. 0, or -1 when a password is set. */
int auth_new_setup_token(auth *a, char *out, int *valid_s);

/* A login: with setup_token (only while no password is set) it sets password
 * as the admin password first. On AUTH_OK, token and csrf (AUTH_TOKEN_LEN + 1
 * bytes each) get the new session's. AUTH_BAD: a wrong password or token, to
 * be answered after auth_fail_delay_ms (it grows with the failures in a row,
 * up to limits.delay_max_ms; a success resets it); AUTH_BUSY: AUTH_PENDING_MAX
 * failed attempts are still within their delay, so this one was not checked,
 * *retry_after_s set (the right password is never refused otherwise);
 * AUTH_INVAL: a password too short or too long, a setup token when none is
 * needed (or none when needed); AUTH_ERR: a database or hash failure. *why
 * (may be NULL) gets a readable reason, static. */
int auth_login(auth *a, const char *password, const char *setup_token, char *token, char *csrf,
	       int *retry_after_s, const char **why);
/* How long the answer to the last auth_login must wait, in ms: > 0 after a
 * failed attempt (AUTH_BAD), 0 otherwise. The attempt holds one of the
 * AUTH_PENDING_MAX slots that long, whether or not its client waits. */
int auth_fail_delay_ms(const auth *a);
/* Checks a session token (from the cookie) and keeps it alive. Returns the
 * session's CSRF token (borrowed), or NULL for no such (or an expired) session. */
const char *auth_session(auth *a, const char *token);
/* Whether token's session is live, without keeping it alive and without
 * reading the database (a timer's check of the open WebSockets). */
int auth_alive(auth *a, const char *token);
/* Whether csrf is the session's CSRF token (constant time). */
int auth_csrf_ok(auth *a, const char *token, const char *csrf);
void auth_logout(auth *a, const char *token);
int auth_nsessions(const auth *a);

#endif
