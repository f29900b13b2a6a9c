/* SPDX-License-Identifier: MIT */
/*
 * core/auth.h - who may use the account's web page: the admin password
 * (argon2id, kept hashed in the state database), the one-time setup token of
 * a process started without one, login sessions with their CSRF tokens, and
 * the login rate limit. Sessions live in memory only: a restart logs
 * everyone out.
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
#define AUTH_FREE_FAILURES 5       /* failed logins before the lock starts */

enum { AUTH_OK = 0, AUTH_BAD = -1, AUTH_LOCKED = -2, AUTH_INVAL = -3, AUTH_ERR = -4 };

/* Hashes pw (argon2id; min: the smallest cost, for tests under valgrind) and
 * stores it as the admin password. 0, or -1 with the reason in err. */
int auth_set_password(store *st, const char *pw, int min, char *err, size_t errlen);
/* Whether an admin password is set: 1, 0, or -1 on a database error. */
int auth_has_password(store *st);

/* A session keeper over st (borrowed). idle_ms: a session ends after this long
 * unused. now_ms is the clock (monotonic ms). When no password is set it makes
 * a setup token (auth_setup_token). NULL on OOM or a database error. */
auth *auth_new(store *st, int64_t idle_ms, int pwhash_min, int64_t (*now_ms)(void));
/* SIGHUP: a new web.session_idle_s for every session's next request. */
void auth_set_idle(auth *a, int64_t idle_ms);
void auth_free(auth *a);

/* The one-time setup token while no password is set (in the database: one
 * set meanwhile by shopkeep passwd counts), else NULL. */
const char *auth_setup_token(auth *a);
int auth_needs_setup(auth *a);

/* A login: with setup_token (only while no password is set) it sets password
 * as the admin password first. On AUTH_OK, token and csrf (AUTH_TOKEN_LEN + 1
 * bytes each) get the new session's. AUTH_BAD: a wrong password or token;
 * AUTH_LOCKED: too many failures, *retry_after_s set; AUTH_INVAL: a password
 * too short or too long, a setup token when none is needed (or none when
 * needed); AUTH_ERR: a database or hash failure. *why (may be NULL) gets a
 * readable reason, static. */
int auth_login(auth *a, const char *password, const char *setup_token, char *token, char *csrf,
	       int *retry_after_s, const char **why);
/* Checks a session token (from the cookie) and keeps it alive. Returns the
 * session's CSRF token (borrowed), or NULL for no such (or an expired) session. */
const char *auth_session(auth *a, const char *token);
/* Whether csrf is the session's CSRF token (constant time). */
int auth_csrf_ok(auth *a, const char *token, const char *csrf);
void auth_logout(auth *a, const char *token);
int auth_nsessions(const auth *a);

#endif
