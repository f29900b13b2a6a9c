/* SPDX-License-Identifier: MIT */
/*
 * core/login.h - a QR-code login at the platform's passport service
 * (docs/protocol.md "QR login"; ../shared/protocol-account.md §1), on the
 * lws loop, with no thread and no blocking call: the pre-flight that plants
 * the base cookies, generate.do, query.do polled until the seller scans and
 * confirms with the Xianyu app, the token exchange, the security-check
 * branch, the _m_h5_tk refresh, and the check that the cookie is whole.
 *
 * It never logs, prints or puts in a message the cookie; login_cookie gives
 * it to the caller once the state is LOGIN_DONE.
 */
#ifndef SK_LOGIN_H
#define SK_LOGIN_H

struct lws_context;
struct lws_vhost;

/* The states, as the control command login_qr_state names them. */
typedef enum {
	LOGIN_IDLE = 0,      /* none running */
	LOGIN_NEW,           /* the code is shown (or being made: login_code_url is "") */
	LOGIN_SCANED,        /* scanned, waiting for the seller to confirm on the phone */
	LOGIN_CONFIRMED,     /* confirmed, the cookie is being collected */
	LOGIN_VERIFY,        /* the platform asks for a security check (login_verify_url) */
	LOGIN_EXPIRED,       /* the code expired (or login.timeout_s passed): final */
	LOGIN_CANCELED,      /* cancelled on the phone or here: final */
	LOGIN_ERROR,         /* failed (login_message says why): final */
	LOGIN_DONE           /* the cookie is whole (login_cookie): final */
} login_state;

typedef struct login login;

typedef struct {
	struct lws_context *ctx;
	struct lws_vhost *vh;        /* a client vhost that lists http_protocol */
	const char *passport_url;    /* platform.passport_url, ends with '/' (copied) */
	const char *api_url;         /* platform.api_url, ends with '/' (copied) */
	int tls_verify;
	int request_timeout_s;       /* each request */
	int poll_ms;                 /* query.do and check.do this often */
	int timeout_s;               /* the whole login gives up after this long (EXPIRED) */
	/* Called on the loop at every change of state, and when the code is
	 * made (state NEW, login_code_url set). It must not free l. May be NULL. */
	void (*on_state)(void *ud, login *l);
	void *ud;
} login_opts;

/* Starts a login. Returns it (state NEW, code not made yet), or NULL on OOM. */
login *login_start(const login_opts *o);
/* Stops a login that is not final: state CANCELED, nothing more is sent.
 * on_state is called. */
void login_cancel(login *l);
/* Stops whatever is in flight and frees l (NULL is fine). */
void login_free(login *l);

login_state login_get_state(const login *l);
/* The state's name on the wire: "NEW", "SCANED", ... */
const char *login_state_name(login_state st);
/* Whether st is final (EXPIRED, CANCELED, ERROR, DONE). */
int login_state_final(login_state st);
/* What to draw as the QR code (the platform's codeContent); "" until made. */
const char *login_code_url(const login *l);
/* The state for a person, in Chinese (zh 1) or English: what to do next, or
 * why it failed. Never holds the cookie. */
const char *login_message(const login *l, int zh);
/* The security check's address (state VERIFY), else "". */
const char *login_verify_url(const login *l);
/* The account's user id from the cookie (state DONE), else "". */
const char *login_unb(const login *l);
/* The whole cookie (state DONE), else NULL. Borrowed; wiped by login_free. */
const char *login_cookie(const login *l);

/* Checks a new login's cookie (the QR login's, or one pasted): it must hold
 * unb, cookie2 and _m_h5_tk (§1.4), and its unb must be account_unb unless
 * that is "" or NULL (the identity guard, §3.2). NULL with unb_out (64
 * bytes) set, or the reason (static text, never the cookie). */
const char *login_cookie_check(const char *cookie, const char *account_unb, char unb_out[64]);

/* Counts for tests and logs. */
typedef struct {
	int polls;           /* query.do requests */
	int transients;      /* hasError / unreadable answers retried */
	int exchanges;       /* login_token/login.do requests */
	int checks;          /* check.do requests */
} login_stats;
const login_stats *login_get_stats(const login *l);

#endif
