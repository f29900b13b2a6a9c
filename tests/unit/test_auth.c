/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_auth.c - core/auth.c on a manual clock: the setup token
 * (once, only while no password is set), passwords (length, argon2id, a
 * password set by another process), sessions (idle expiry, logout, the
 * oldest making room), CSRF tokens, and the login rate limit (free failures,
 * the lock doubling to its cap, reset by a success).
 */
#include "tap.h"
#include "auth.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t clk = 1000;

static int64_t now(void)
{
	return clk;
}

int main(void)
{
	char dir[] = "/tmp/sk_test_auth.XXXXXX", path[300], err[256], tok[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1];
	char first[AUTH_TOKEN_LEN + 1], setup[AUTH_TOKEN_LEN + 1];
	const char *why = NULL;
	int retry = 0, rc;
	store *st;
	auth *a;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/state.db", dir);
	st = store_open(path, err, sizeof err);
	if (!ok(st != NULL, "store opens"))
		return tap_done();
	is_int(auth_has_password(st), 0, "no password at first");
	a = auth_new(st, 60000, 1, now);
	ok(a && auth_needs_setup(a) && auth_setup_token(a) && strlen(auth_setup_token(a)) == AUTH_TOKEN_LEN,
	   "without a password: a setup token of %d characters", AUTH_TOKEN_LEN);
	snprintf(setup, sizeof setup, "%s", auth_setup_token(a));
	is_int(auth_login(a, "long enough pw", NULL, tok, csrf, &retry, &why), AUTH_INVAL, "no setup token: refused");
	is_int(auth_login(a, "long enough pw", "nope", tok, csrf, &retry, &why), AUTH_BAD, "a wrong setup token: bad");
	is_int(auth_login(a, "short", setup, tok, csrf, &retry, &why), AUTH_INVAL, "a short password: refused");
	ok(auth_needs_setup(a), "still needs setup after the failures");
	is_int(auth_login(a, "long enough pw", setup, tok, csrf, &retry, &why), AUTH_OK, "setup token + password: in");
	ok(!auth_needs_setup(a) && auth_has_password(st) == 1, "the password is stored, the token is spent");
	is_int(auth_login(a, "long enough pw", setup, first, csrf, &retry, &why), AUTH_INVAL,
	       "the setup token does not work twice");
	{
		char *h = NULL;

		ok(store_kv_get(st, "web.password_hash", &h) == 0 && h && !strncmp(h, "$argon2id$", 10) &&
		   !strstr(h, "long enough pw"), "stored as an argon2id hash, not the password");
		free(h);
	}
	ok(auth_session(a, tok) && !strcmp(auth_session(a, tok), csrf), "the session is live; its CSRF token");
	ok(auth_csrf_ok(a, tok, csrf) && !auth_csrf_ok(a, tok, "x") && !auth_csrf_ok(a, tok, NULL),
	   "CSRF: the right token only");
	ok(!auth_session(a, "short") && !auth_session(a, NULL), "bad tokens are no session");
	clk += 59000;
	ok(auth_session(a, tok) != NULL, "used within the idle time: alive (and kept alive)");
	clk += 59000;
	ok(auth_session(a, tok) != NULL, "still alive 118 s after login, used 59 s ago");
	clk += 61000;
	ok(auth_session(a, tok) == NULL, "61 s unused: expired");

	/* the rate limit */
	for (int i = 0; i < AUTH_FREE_FAILURES; i++)
		rc = auth_login(a, "wrong password", NULL, tok, csrf, &retry, &why);
	ok(rc == AUTH_BAD && retry == 0, "%d failures: bad, no lock yet", AUTH_FREE_FAILURES);
	is_int(auth_login(a, "wrong password", NULL, tok, csrf, &retry, &why), AUTH_BAD, "one more: bad");
	is_int(retry, 30, "... and locked for 30 s");
	is_int(auth_login(a, "long enough pw", NULL, tok, csrf, &retry, &why), AUTH_LOCKED,
	       "while locked even the right password is refused");
	ok(retry > 0 && retry <= 30, "with the seconds left (%d)", retry);
	clk += 30001;
	auth_login(a, "wrong again", NULL, tok, csrf, &retry, &why);
	is_int(retry, 60, "the next failure locks for 60 s");
	for (int i = 0; i < 10; i++) {
		clk += 1000000;
		auth_login(a, "wrong again", NULL, tok, csrf, &retry, &why);
	}
	is_int(retry, 900, "the lock stops at 15 minutes");
	clk += 1000000;
	is_int(auth_login(a, "long enough pw", NULL, first, csrf, &retry, &why), AUTH_OK, "after the lock: in");
	auth_login(a, "wrong password", NULL, tok, csrf, &retry, &why);
	ok(retry == 0, "a success resets the count");
	auth_logout(a, first);
	ok(auth_session(a, first) == NULL, "logout ends the session");

	/* room for AUTH_MAX_SESSIONS; the least recently used gives way */
	is_int(auth_login(a, "long enough pw", NULL, first, csrf, &retry, &why), AUTH_OK, "a first session");
	for (int i = 0; i < AUTH_MAX_SESSIONS; i++) {
		clk += 10;
		auth_login(a, "long enough pw", NULL, tok, csrf, &retry, &why);
	}
	ok(auth_session(a, first) == NULL && auth_session(a, tok) != NULL && auth_nsessions(a) == AUTH_MAX_SESSIONS,
	   "%d more logins: the oldest session made room", AUTH_MAX_SESSIONS);
	auth_free(a);

	/* a password set meanwhile by another process (shopkeep passwd) */
	{
		char dir2[] = "/tmp/sk_test_auth2.XXXXXX", p2[300];
		store *s2;
		auth *b;

		if (mkdtemp(dir2)) {
			snprintf(p2, sizeof p2, "%s/state.db", dir2);
			s2 = store_open(p2, err, sizeof err);
			b = s2 ? auth_new(s2, 60000, 1, now) : NULL;
			ok(b && auth_needs_setup(b), "a fresh account needs setup");
			is_int(auth_set_password(s2, "short", 1, err, sizeof err), -1, "set_password: too short refused");
			is_int(auth_set_password(s2, "set elsewhere", 1, err, sizeof err), 0, "set_password");
			ok(b && !auth_needs_setup(b), "the running keeper sees it at once: no setup needed");
			is_int(b ? auth_login(b, "set elsewhere", NULL, tok, csrf, &retry, &why) : -9, AUTH_OK,
			       "the running keeper sees it: plain login works, no setup token needed");
			auth_free(b);
			store_close(s2);
			snprintf(p2, sizeof p2, "rm -rf '%s'", dir2);
			if (system(p2))
				diag("cleanup failed");
		}
	}
	store_close(st);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path))
		diag("cleanup failed");
	return tap_done();
}
