/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_auth.c - core/auth.c on a manual clock: the setup token
 * (once, only while no password is set), passwords (length, argon2id, a
 * password set by another process), sessions (idle and absolute expiry,
 * logout, the oldest making room, all ended by a password changed
 * elsewhere), CSRF tokens, the setup token's expiry and a fresh one, and the
 * login throttle (failed answers delayed more and more, the right password
 * never refused, at most AUTH_PENDING_MAX failures pending at once).
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

/* What the steps share: the store, the keeper and the tokens of the last login. */
static char err[256], tok[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1];
static char first[AUTH_TOKEN_LEN + 1], setup[AUTH_TOKEN_LEN + 1];
static const char *why = NULL;
static int retry = 0;
static store *st;
static auth *a;

/* Checks the setup token, the first password, CSRF and the idle expiry of a session. */
static void auth_check_setup(void)
{
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
}

/* Checks the login throttle: growing delays, AUTH_PENDING_MAX, the delay cap, logout. */
static void auth_check_throttle(void)
{
	int rc;

	/* the throttle: failed answers wait longer and longer, the right password always gets in */
	{
		int d[7];

		for (int i = 0; i < 7; i++) {
			rc = auth_login(a, "wrong password", NULL, tok, csrf, &retry, &why);
			d[i] = auth_fail_delay_ms(a);
			clk += d[i];
		}
		ok(rc == AUTH_BAD && retry == 0, "wrong passwords: bad, no Retry-After");
		ok(d[0] == 500 && d[1] == 1000 && d[2] == 2000 && d[3] == 4000 && d[4] == 8000 && d[5] == 8000 &&
		   d[6] == 8000, "their answers wait 500, 1000, 2000, 4000 ms, then 8000 ms each (%d %d %d %d %d %d %d)",
		   d[0], d[1], d[2], d[3], d[4], d[5], d[6]);
	}
	for (int i = 0; i < 13; i++) {
		auth_login(a, "wrong password", NULL, tok, csrf, &retry, &why);
		clk += auth_fail_delay_ms(a);
	}
	is_int(auth_login(a, "long enough pw", NULL, first, csrf, &retry, &why), AUTH_OK,
	       "after 20 wrong passwords (one at a time) the right one gets in");
	is_int(auth_fail_delay_ms(a), 0, "a success is answered at once");
	auth_login(a, "wrong password", NULL, tok, csrf, &retry, &why);
	is_int(auth_fail_delay_ms(a), 500, "a success resets the delay");
	/* failures that do not wait for their answers: AUTH_PENDING_MAX at once */
	for (int i = 1; i < AUTH_PENDING_MAX; i++)
		is_int(auth_login(a, "wrong password", NULL, tok, csrf, &retry, &why), AUTH_BAD, "pending failure %d", i + 1);
	rc = auth_login(a, "long enough pw", NULL, tok, csrf, &retry, &why);
	ok(rc == AUTH_BUSY && retry > 0, "with %d failures pending, the next attempt is not checked: busy, Retry-After %d s",
	   AUTH_PENDING_MAX, retry);
	clk += 500;
	is_int(auth_login(a, "long enough pw", NULL, tok, csrf, &retry, &why), AUTH_OK,
	       "once the first pending failure's delay passed: the right password gets in");
	{
		auth_limits l = { .idle_ms = 60000, .max_ms = 7 * 86400 * 1000LL, .setup_ms = 3600000, .delay_max_ms = 160 };

		auth_set_limits(a, &l);
		auth_login(a, "wrong password", NULL, tok, csrf, &retry, &why);
		is_int(auth_fail_delay_ms(a), 10, "web.login_delay_max_ms 160: the first failure waits 10 ms");
		clk += 10;
	}
	auth_logout(a, first);
	ok(auth_session(a, first) == NULL, "logout ends the session");
}

/* Checks the session limit, the absolute lifetime, auth_alive and a password changed elsewhere. */
static void auth_check_sessions(void)
{
	/* room for AUTH_MAX_SESSIONS; the least recently used gives way */
	is_int(auth_login(a, "long enough pw", NULL, first, csrf, &retry, &why), AUTH_OK, "a first session");
	for (int i = 0; i < AUTH_MAX_SESSIONS; i++) {
		clk += 10;
		auth_login(a, "long enough pw", NULL, tok, csrf, &retry, &why);
	}
	ok(auth_session(a, first) == NULL && auth_session(a, tok) != NULL && auth_nsessions(a) == AUTH_MAX_SESSIONS,
	   "%d more logins: the oldest session made room", AUTH_MAX_SESSIONS);

	/* the absolute lifetime: a session in use still ends */
	{
		auth_limits l = { .idle_ms = 60000, .max_ms = 150000, .setup_ms = 3600000, .delay_max_ms = 160 };

		auth_set_limits(a, &l);
		is_int(auth_login(a, "long enough pw", NULL, first, csrf, &retry, &why), AUTH_OK, "a session");
		for (int i = 0; i < 2; i++) {
			clk += 50000;
			auth_session(a, first);
		}
		clk += 49999;
		ok(auth_alive(a, first), "used every 50 s: alive 149.999 s after login");
		clk += 1;
		ok(!auth_alive(a, first) && !auth_session(a, first), "web.session_max_s 150: ended 150 s after login");
		l.max_ms = 7 * 86400 * 1000LL;
		auth_set_limits(a, &l);
	}
	/* auth_alive does not keep a session alive */
	is_int(auth_login(a, "long enough pw", NULL, first, csrf, &retry, &why), AUTH_OK, "a session");
	clk += 40000;
	ok(auth_alive(a, first), "alive after 40 s");
	clk += 30000;
	ok(!auth_alive(a, first), "checked only by auth_alive: ended by the idle time (60 s)");
	/* a password changed elsewhere (shopkeep passwd) ends every session */
	is_int(auth_login(a, "long enough pw", NULL, first, csrf, &retry, &why), AUTH_OK, "a session");
	is_int(auth_login(a, "long enough pw", NULL, tok, csrf, &retry, &why), AUTH_OK, "another session");
	is_int(auth_sync(a), 0, "sync with nothing changed ends nothing");
	ok(auth_alive(a, first) && auth_alive(a, tok), "both alive");
	is_int(auth_set_password(st, "long enough pw", 1, err, sizeof err), 0, "the same password set again elsewhere");
	ok(auth_session(a, tok) == NULL, "a request of a session after it: refused");
	ok(!auth_alive(a, first) && auth_nsessions(a) == 0, "every session ended");
	is_int(auth_login(a, "long enough pw", NULL, first, csrf, &retry, &why), AUTH_OK, "a new login works");
	is_int(auth_set_password(st, "a new password", 1, err, sizeof err), 0, "a new password set elsewhere");
	is_int(auth_sync(a), 1, "the timer's sync ends the session");
	ok(!auth_alive(a, first), "it is gone");
	is_int(auth_login(a, "long enough pw", NULL, first, csrf, &retry, &why), AUTH_BAD, "the old password: bad");
	clk += 1000;
	is_int(auth_login(a, "a new password", NULL, first, csrf, &retry, &why), AUTH_OK, "the new one: in");
	{
		int valid = 0;

		is_int(auth_new_setup_token(a, setup, &valid), -1, "no fresh setup token once a password is set");
	}
}

/* Checks a fresh account: the setup token's expiry, a fresh one, a password set by another process. */
static void auth_check_other_process(void)
{
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
			if (b) {
				auth_limits l = { .idle_ms = 60000, .max_ms = 600000, .setup_ms = 3600000, .delay_max_ms = 160 };
				char old[AUTH_TOKEN_LEN + 1], fresh[AUTH_TOKEN_LEN + 1];
				int valid = 0;

				auth_set_limits(b, &l);
				snprintf(old, sizeof old, "%s", auth_setup_token(b) ? auth_setup_token(b) : "");
				clk += 3599999;
				ok(auth_setup_token(b) != NULL, "the setup token lives 59:59.999");
				clk += 1;
				ok(auth_setup_token(b) == NULL && auth_needs_setup(b), "then it expired (setup still needed)");
				is_int(auth_login(b, "long enough pw", old, tok, csrf, &retry, &why), AUTH_BAD,
				       "the expired token: bad");
				ok(why && strstr(why, "setup_token"), "the reason names the command for a fresh one (%s)",
				   why ? why : "");
				clk += auth_fail_delay_ms(b);
				is_int(auth_new_setup_token(b, fresh, &valid), 0, "a fresh token");
				ok(valid == 3600 && strlen(fresh) == AUTH_TOKEN_LEN && strcmp(fresh, old) &&
				   auth_setup_token(b) && !strcmp(auth_setup_token(b), fresh), "valid 3600 s, new, the current one");
				is_int(auth_login(b, "long enough pw", old, tok, csrf, &retry, &why), AUTH_BAD,
				       "the old token still: bad");
				clk += auth_fail_delay_ms(b);
				is_int(auth_login(b, "first password", fresh, tok, csrf, &retry, &why), AUTH_OK,
				       "the fresh token sets the password");
				ok(auth_session(b, tok) != NULL, "and its session lives (setting the password ended nothing)");
				is_int(auth_set_password(s2, "short", 1, err, sizeof err), -1, "set_password: too short refused");
				auth_free(b);
				store_close(s2);
				snprintf(p2, sizeof p2, "%s/state2.db", dir2);
				s2 = store_open(p2, err, sizeof err);
				b = s2 ? auth_new(s2, 60000, 1, now) : NULL;
			}
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
}

int main(void)
{
	char dir[] = "/tmp/sk_test_auth.XXXXXX", path[300];

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/state.db", dir);
	st = store_open(path, err, sizeof err);
	if (!ok(st != NULL, "store opens"))
		return tap_done();
	auth_check_setup();
	auth_check_throttle();
	auth_check_sessions();
	auth_free(a);

	auth_check_other_process();
	store_close(st);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path))
		diag("cleanup failed");
	return tap_done();
}
