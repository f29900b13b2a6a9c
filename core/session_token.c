/* SPDX-License-Identifier: MIT */
/*
 * core/session_token.c - the session's cookie and IM token (see
 * session_int.h): the merged cookie kept across restarts (sealed when the
 * config keeps its cookie encrypted), the token from the store's cache or
 * from mtop, and its refresh before expiry, which reconnects at once.
 */
#include "session_int.h"
#include "secret.h"
#include "log.h"
#include "sign.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MIN_LEFT_MS 10000     /* a cached token closer to expiry than this is not used */

/* --- the merged cookie, kept across restarts ------------------------------ */

/* A hex digest of the configured cookie: the saved merged cookie only applies
 * while the config still holds the cookie it grew from. */
static void cookie_src_hash(const char *cookie, char out[33])
{
	unsigned char h[16];

	if (!cookie)
		cookie = "";   /* no cookie yet (a login will bring one) */
	crypto_generichash(h, sizeof h, (const unsigned char *)cookie, strlen(cookie), NULL, 0);
	sodium_bin2hex(out, 33, h, sizeof h);
}

/* The merged cookie is saved sealed (secretbox, the account's key file) when
 * the config keeps its cookie encrypted, "sealed:<base64>": a Set-Cookie must
 * not put back in plaintext what account.cookie_secret keeps encrypted. */
#define COOKIE_SEALED "sealed:"

/* mtop's Set-Cookie hook: saves the merged cookie (ud is the session), sealed
 * when account.cookie_secret is set, with the digest of the configured cookie
 * it grew from. A failure is logged; the cookie in memory stays current. */
void session_cookie_saved(void *ud, const char *cookie)
{
	session *s = ud;
	char key[160], src[33], err[512];
	char *sealed = NULL, *val = NULL;

	if (s->cfg->cookie_secret) {
		if (secret_seal(s->cfg->key_file, cookie, &sealed, err, sizeof err) ||
		    asprintf(&val, COOKIE_SEALED "%s", sealed) < 0) {
			log_err("session", "cookie updated from Set-Cookie but not saved: %s", err);
			free(sealed);
			return;
		}
		free(sealed);
	}
	snprintf(key, sizeof key, "cookie:%s", s->cfg->account_id);
	cookie_src_hash(s->cfg->cookie, src);
	store_kv_set(s->st, key, val ? val : cookie);
	snprintf(key, sizeof key, "cookie_src:%s", s->cfg->account_id);
	store_kv_set(s->st, key, src);
	log_info("session", "cookie updated from Set-Cookie (saved%s)", val ? ", encrypted" : "");
	free(val);
}

/* The cookie to start with (malloc'd, NULL on OOM): the merged cookie saved
 * by an earlier run while it grew from the configured one (opened when
 * sealed), else the configured cookie. */
char *session_cookie_initial(session *s)
{
	char key[160], src[33], err[512], *saved = NULL, *saved_src = NULL, *open = NULL;

	if (!s->cfg->cookie)
		return strdup("");   /* no cookie yet: session_token_begin fails as "needs login" */
	cookie_src_hash(s->cfg->cookie, src);
	snprintf(key, sizeof key, "cookie_src:%s", s->cfg->account_id);
	if (store_kv_get(s->st, key, &saved_src) == 0 && !strcmp(saved_src, src)) {
		snprintf(key, sizeof key, "cookie:%s", s->cfg->account_id);
		if (store_kv_get(s->st, key, &saved) != 0)
			saved = NULL;
	}
	free(saved_src);
	if (saved && !strncmp(saved, COOKIE_SEALED, strlen(COOKIE_SEALED))) {
		const char *b = saved + strlen(COOKIE_SEALED);

		if (!s->cfg->key_file ||
		    secret_open(s->cfg->key_file, "the saved cookie", b, strlen(b), &open, err, sizeof err)) {
			log_warn("session", "%s; using the configured cookie", s->cfg->key_file ? err :
				 "the saved cookie is encrypted and no key file is configured");
			open = NULL;
		}
		free(saved);
		saved = open ? strdup(open) : NULL;
		secret_free(open);
	} else if (saved && s->cfg->cookie_secret) {
		/* saved in plaintext by an earlier run: seal it now */
		session_cookie_saved(s, saved);
	}
	return saved ? saved : strdup(s->cfg->cookie);
}

/* --- the token ------------------------------------------------------------ */

/* The refresh is due: fetches a new token, which reconnects at once (unless
 * stopping or a fetch is in flight). */
static void refresh_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, tok.sul_refresh);

	if (s->stop.active || s->tok.call)
		return;
	log_info("session", "token refresh before expiry");
	s->tok.refreshing = 1;
	session_token_begin(s, 1);
}

/* Schedules the refresh refresh_before_s (plus up to 20% jitter) before
 * expiry. A token that lives no longer than that (a short-lived token: the
 * simulator's, or a platform that shortens it) is refreshed at about three
 * quarters of what is left of its life instead: refresh_before_s would put
 * every refresh at once, a fetch and a reconnect per second. */
static void schedule_refresh(session *s)
{
	int64_t lead_ms = (int64_t)s->cfg->token_refresh_s * 1000, left = s->tok.exp_ms - util_now_ms(), at;

	if (lead_ms + lead_ms / 5 >= left)
		lead_ms = left > 0 ? left / 4 : 0;
	lead_ms += randombytes_uniform((uint32_t)(lead_ms / 5 + 1));
	at = s->tok.exp_ms - lead_ms - util_now_ms();
	if (at < 1000)
		at = 1000;
	lws_sul_schedule(s->ctx, 0, &s->tok.sul_refresh, refresh_cb, (lws_usec_t)at * LWS_US_PER_MS);
}

/* refresh_cb in seconds: a failed refresh of a working connection tries again then. */
void session_token_refresh_in(session *s, int seconds)
{
	lws_sul_schedule(s->ctx, 0, &s->tok.sul_refresh, refresh_cb, (lws_usec_t)seconds * LWS_US_PER_SEC);
}

/* mtop's answer to the token fetch (ud is the session): keeps the token and
 * connects (or, for a refresh of a live connection, closes it cleanly to
 * reconnect with the new one); a failure goes to session_fail by its mtop
 * result. */
static void on_token(void *ud, mtop_result res, const char *ret, const cJSON *data, const char *why)
{
	session *s = ud;
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(data, "accessToken");
	const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(data, "accessTokenExpiredTime");
	int64_t ttl_ms;
	const char *detail;
	char m[240];

	s->tok.call = NULL;
	if (s->stop.active)
		return;
	if (res == MTOP_OK && cJSON_IsString(tok) && strlen(tok->valuestring) < sizeof s->tok.token) {
		ttl_ms = lwp_token_ttl_ms(ttl);
		snprintf(s->tok.token, sizeof s->tok.token, "%s", tok->valuestring);
		s->tok.exp_ms = util_now_ms() + ttl_ms;
		store_token_set(s->st, s->cfg->account_id, s->tok.token, s->tok.did, s->tok.exp_ms);
		log_info("session", "IM token received (valid %lld s)", (long long)(ttl_ms / 1000));
		schedule_refresh(s);
		if (s->tok.refreshing && s->conn.live) {
			/* a clean reconnect with the new token */
			s->conn.close_pending = 1;
			lws_callback_on_writable(s->conn.wsi);
			return;
		}
		s->tok.refreshing = 0;
		session_connect(s);
		return;
	}
	s->tok.refreshing = 0;
	/* the platform's ret, else the transport's reason (mtop gives one or the other) */
	detail = *ret ? ret : why ? why : "";
	snprintf(m, sizeof m, "%s%s%s", mtop_result_name(res), *detail ? ": " : "", detail);
	/* an expired session and risk control say what to do in their row's
	 * text alone; the others name the result and its reason */
	if (res == MTOP_SESSION_EXPIRED || res == MTOP_RISK)
		session_fail(s, res == MTOP_SESSION_EXPIRED ? SF_TOKEN_EXPIRED : SF_TOKEN_RISK, NULL);
	else
		session_fail(s, res == MTOP_TRANSPORT ? SF_TOKEN_TRANSPORT : SF_TOKEN_REFUSED, m);
}

/* Starts a connection attempt: a valid cached token (unless force_fetch),
 * else a new one from mtop; on_token connects when it comes. */
void session_token_begin(session *s, int force_fetch)
{
	char *tok = NULL, *did = NULL, data[256];
	int64_t exp = 0;

	if (s->stop.active || s->tok.call)
		return;
	if (!*s->tok.mt.cookie) {
		/* no cookie yet: nothing to ask the platform, a human must log in */
		session_fail(s, SF_NO_LOGIN, NULL);
		return;
	}
	if (!s->conn.live)
		session_set_state(s, SESS_CONNECTING, force_fetch ? "fetching a token" : "connecting");
	if (!force_fetch && !s->tok.token[0] &&
	    store_token_get(s->st, s->cfg->account_id, &tok, &did, &exp) == 0) {
		if (exp > util_now_ms() + TOKEN_MIN_LEFT_MS && strlen(tok) < sizeof s->tok.token && strlen(did) < sizeof s->tok.did) {
			snprintf(s->tok.token, sizeof s->tok.token, "%s", tok);
			snprintf(s->tok.did, sizeof s->tok.did, "%s", did);
			s->tok.exp_ms = exp;
			log_info("session", "reusing the cached IM token (valid %lld s more)",
				 (long long)((exp - util_now_ms()) / 1000));
			schedule_refresh(s);
		}
		if (!s->tok.did[0] && strlen(did) < sizeof s->tok.did)
			snprintf(s->tok.did, sizeof s->tok.did, "%s", did);   /* keep the device */
	}
	free(tok);
	free(did);
	if (!force_fetch && s->tok.token[0] && s->tok.exp_ms > util_now_ms() + TOKEN_MIN_LEFT_MS) {
		session_connect(s);
		return;
	}
	if (!s->tok.did[0])
		lwp_device_id(s->cfg->unb, s->tok.did);
	snprintf(data, sizeof data, "{\"appKey\":\"%s\",\"deviceId\":\"%s\"}", SIGN_IM_APPKEY, s->tok.did);
	s->m.token_fetches++;
	s->tok.call = mtop_start(&s->tok.mt, SESSION_TOKEN_API, data, on_token, s);
	if (!s->tok.call)
		session_fail(s, SF_TOKEN_START, NULL);
}

/* --- a new login ---------------------------------------------------------- */

/* Takes the cookie of a new login (QR, or pasted on the page): the signed
 * client uses it from now on, it is saved as the merged cookie, the IM token
 * of the old login is dropped, past failures are forgotten, and an account
 * that is not connected (FAILED, waiting for a retry, fetching a token)
 * starts a fresh attempt at once. A connected account keeps its connection:
 * the next token fetch uses the new cookie. The caller (the host) has checked
 * the cookie's unb and put it in the config it gave session_new. 0, or -1 on
 * OOM (nothing changed). */
int session_login(session *s, const char *cookie)
{
	char *c = strdup(cookie);

	if (!c)
		return -1;
	free(s->tok.mt.cookie);
	s->tok.mt.cookie = c;
	session_cookie_saved(s, c);
	session_fail_reset(s);
	session_renew_login(s);
	if (s->conn.live)
		return 0;
	store_token_clear(s->st, s->cfg->account_id);
	s->tok.token[0] = '\0';
	lws_sul_cancel(&s->fail.sul_retry);
	if (s->tok.call) {
		mtop_cancel(s->tok.call);
		s->tok.call = NULL;
	}
	log_info("session", "new login: connecting");
	session_token_begin(s, 1);
	return 0;
}
