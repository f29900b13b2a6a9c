/* SPDX-License-Identifier: MIT */
/*
 * core/relogin.c - a running account takes a new login (see relogin.h).
 */
#include "relogin.h"
#include "log.h"
#include "login.h"
#include "qr.h"
#include "secret.h"
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct relogin {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	config *cfg;
	store *st;
	session *s;
	login *qr;                   /* the QR login running or ended, NULL when none */
	login_state shown;           /* its state as answered: DONE only once the cookie is taken */
	char qr_err_zh[300], qr_err_en[300];   /* why a DONE login's cookie was refused */
	char unb[64];                /* the unb taken */
	char *svg;                   /* the code's SVG (made once per code) */
};

/* The store key of the unb recorded at a login. */
static void unb_key(const relogin *r, char *k, size_t n)
{
	snprintf(k, n, "login_unb:%s", r->cfg->account_id ? r->cfg->account_id : "");
}

char *relogin_account_unb(relogin *r)
{
	char k[200], *v = NULL;

	if (r->cfg->unb && *r->cfg->unb)
		return strdup(r->cfg->unb);
	unb_key(r, k, sizeof k);
	if (store_kv_get(r->st, k, &v) == 0 && v)
		return v;
	free(v);
	return strdup("");
}

/* The secret file the cookie goes to: account.cookie_secret, else the
 * default path (malloc'd); NULL with err set when the config keeps its
 * cookie in plaintext or no path can be made. */
static char *secret_path(relogin *r, char *err, size_t errlen)
{
	char *p;

	if (r->cfg->cookie_secret)
		return strdup(r->cfg->cookie_secret);
	if (r->cfg->cookie) {
		snprintf(err, errlen, "the config keeps the cookie in plaintext (%s): remove that key (the cookie then goes "
			 "to the encrypted %s.cookie.secret next to the config) and restart, then log in again",
			 r->cfg->cookie_file ? "account.cookie_file" : "account.cookie",
			 r->cfg->account_id ? r->cfg->account_id : "<id>");
		return NULL;
	}
	if (!(p = config_default_cookie_secret(r->cfg)))
		snprintf(err, errlen, "account.cookie_secret is not set and account.id cannot name a file: set "
			 "account.cookie_secret");
	return p;
}

int relogin_take_cookie(relogin *r, const char *cookie, int seal, char unb_out[64], char *err, size_t errlen)
{
	char *acct = relogin_account_unb(r), *path = NULL, *copy = NULL, *unb = NULL, k[200], serr[600];
	const char *why;
	int rc = -1;

	if (!acct) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((why = login_cookie_check(cookie, acct, unb_out))) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	if (!r->cfg->key_file) {
		snprintf(err, errlen, "account.key_file is not set and account.id cannot name a file: set account.key_file");
		goto out;
	}
	if (!(path = secret_path(r, err, errlen)))
		goto out;
	if (seal && secret_set(r->cfg->key_file, path, cookie, serr, sizeof serr)) {
		snprintf(err, errlen, "the cookie could not be saved: %s", serr);
		goto out;
	}
	if (!(copy = strdup(cookie)) || !(unb = strdup(unb_out))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* the config in memory: what a restart would read */
	if (r->cfg->cookie)
		secret_free(r->cfg->cookie);
	r->cfg->cookie = copy;
	copy = NULL;
	/* The unb is the config's already (the identity guard) unless the
	 * account had none: the plugins' host holds a pointer to it. */
	if (!r->cfg->unb) {
		r->cfg->unb = unb;
		unb = NULL;
	}
	if (!r->cfg->cookie_secret) {
		r->cfg->cookie_secret = path;
		path = NULL;
	}
	unb_key(r, k, sizeof k);
	store_kv_set(r->st, k, unb_out);
	snprintf(r->unb, sizeof r->unb, "%s", unb_out);
	if (r->s && session_login(r->s, r->cfg->cookie)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	log_info("login", "a new login of unb %s is taken%s", unb_out, seal ? " (sealed into the secret file)" : "");
	rc = 0;
out:
	secret_free(copy);
	free(unb);
	free(path);
	free(acct);
	return rc;
}

int relogin_reload(relogin *r, char unb_out[64], char *err, size_t errlen)
{
	char *path, *plain = NULL, serr[600];
	int rc;

	if (!(path = secret_path(r, err, errlen)))
		return -1;
	if (!r->cfg->key_file) {
		snprintf(err, errlen, "account.key_file is not set");
		free(path);
		return -1;
	}
	if (secret_get(r->cfg->key_file, path, &plain, serr, sizeof serr)) {
		snprintf(err, errlen, "%s", serr);
		free(path);
		return -1;
	}
	free(path);
	rc = relogin_take_cookie(r, plain, 0, unb_out, err, errlen);
	secret_free(plain);
	return rc;
}

/* The QR login's state changed: a DONE login's cookie is taken here, and
 * the state shown becomes DONE only when that worked (ERROR with the reason
 * otherwise). */
static void on_qr_state(void *ud, login *l)
{
	relogin *r = ud;
	login_state st = login_get_state(l);
	char unb[64], err[600];

	if (st == LOGIN_NEW && !r->svg && *login_code_url(l))
		r->svg = qr_svg(login_code_url(l), NULL);
	log_info("login", "QR login: %s", login_state_name(st));
	if (st != LOGIN_DONE) {
		r->shown = st;
		return;
	}
	if (relogin_take_cookie(r, login_cookie(l), 1, unb, err, sizeof err)) {
		log_warn("login", "QR login: the new login is refused: %s", err);
		snprintf(r->qr_err_zh, sizeof r->qr_err_zh, "登录未被采用：%s", err);
		snprintf(r->qr_err_en, sizeof r->qr_err_en, "The login is refused: %s", err);
		r->shown = LOGIN_ERROR;
		return;
	}
	r->shown = LOGIN_DONE;
}

relogin *relogin_new(struct lws_context *ctx, struct lws_vhost *vh, config *cfg, store *st, session *s)
{
	relogin *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->ctx = ctx;
	r->vh = vh;
	r->cfg = cfg;
	r->st = st;
	r->s = s;
	return r;
}

/* Forgets the QR login and its code. */
static void qr_drop(relogin *r)
{
	login_free(r->qr);
	r->qr = NULL;
	free(r->svg);
	r->svg = NULL;
	r->shown = LOGIN_IDLE;
	r->qr_err_zh[0] = r->qr_err_en[0] = '\0';
}

void relogin_free(relogin *r)
{
	if (!r)
		return;
	qr_drop(r);
	free(r);
}

int relogin_qr_start(relogin *r, char *err, size_t errlen)
{
	login_opts o;
	char *path;

	/* a login that could not be kept is refused before the seller scans */
	if (!(path = secret_path(r, err, errlen)))
		return -1;
	free(path);
	qr_drop(r);
	memset(&o, 0, sizeof o);
	o.ctx = r->ctx;
	o.vh = r->vh;
	o.passport_url = r->cfg->passport_url;
	o.api_url = r->cfg->api_url;
	o.tls_verify = r->cfg->tls_verify;
	o.request_timeout_s = r->cfg->request_timeout_s;
	o.poll_ms = r->cfg->login_poll_ms;
	o.timeout_s = r->cfg->login_timeout_s;
	o.on_state = on_qr_state;
	o.ud = r;
	if (!(r->qr = login_start(&o))) {
		snprintf(err, errlen, "the QR login could not start (out of memory)");
		return -1;
	}
	r->shown = LOGIN_NEW;
	log_info("login", "QR login started");
	return 0;
}

void relogin_qr_cancel(relogin *r)
{
	if (r->qr)
		log_info("login", "QR login cancelled here");
	qr_drop(r);
}

cJSON *relogin_qr_json(relogin *r)
{
	cJSON *d = cJSON_CreateObject();
	login_state st = r->qr ? r->shown : LOGIN_IDLE;
	int err = st == LOGIN_ERROR && r->qr_err_en[0];

	if (!d)
		return NULL;
	cJSON_AddStringToObject(d, "state", login_state_name(st));
	cJSON_AddStringToObject(d, "message_zh", err ? r->qr_err_zh : st == LOGIN_IDLE ? "" : login_message(r->qr, 1));
	cJSON_AddStringToObject(d, "message_en", err ? r->qr_err_en : st == LOGIN_IDLE ? "" : login_message(r->qr, 0));
	cJSON_AddStringToObject(d, "svg", (st == LOGIN_NEW || st == LOGIN_SCANED) && r->svg ? r->svg : "");
	cJSON_AddStringToObject(d, "code_url", st == LOGIN_NEW || st == LOGIN_SCANED ? login_code_url(r->qr) : "");
	cJSON_AddNumberToObject(d, "poll_ms", r->cfg->login_poll_ms);
	if (st == LOGIN_VERIFY)
		cJSON_AddStringToObject(d, "verify_url", login_verify_url(r->qr));
	if (st == LOGIN_DONE)
		cJSON_AddStringToObject(d, "unb", r->unb);
	return d;
}
