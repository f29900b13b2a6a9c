/* SPDX-License-Identifier: MIT */
/*
 * core/mtop.h - signed mtop calls (docs/protocol.md §2) on the loop: the query,
 * the md5 sign over the exact form data, the cookie, Set-Cookie merged back,
 * one retry with the rotated _m_h5_tk, and the classification of `ret`.
 */
#ifndef SK_MTOP_H
#define SK_MTOP_H

#include <cjson/cJSON.h>

struct lws_context;
struct lws_vhost;

typedef enum {
	MTOP_OK = 0,            /* ret holds SUCCESS::调用成功 */
	MTOP_TOKEN_EXPIRED,     /* FAIL_SYS_TOKEN_EXOIRED/EXPIRED/EMPTY even after the retry */
	MTOP_SESSION_EXPIRED,   /* FAIL_SYS_SESSION_EXPIRED: the login is dead, a human must log in */
	MTOP_RISK,              /* risk control / captcha (RGV587_ERROR, FAIL_SYS_USER_VALIDATE, punish...) */
	MTOP_FAIL,              /* any other ret: a business or transient failure */
	MTOP_TRANSPORT          /* no usable HTTP answer (network, status, not JSON) */
} mtop_result;

typedef struct mtop_ctx {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	const char *api_url;    /* ends with '/' */
	int tls_verify;
	int timeout_s;
	char *cookie;           /* owned; replaced when Set-Cookie arrives */
	void (*on_cookie)(void *ud, const char *cookie);  /* the merged cookie changed */
	/* Every finished call's result (may be NULL), before its own callback:
	 * the session watches all its calls for a dead login or risk control.
	 * data is the envelope's data (borrowed, may be NULL). A seller-console
	 * call's (MTOP_SELLER) session expiry is not passed on: it is common
	 * there while the login works (protocol-account.md §6.1). */
	void (*on_result)(void *ud, const char *api, mtop_result res, const cJSON *data);
	void *ud;
} mtop_ctx;

/* res, the first ret string ("" if none), the envelope's data (borrowed, may be
 * NULL) and for MTOP_TRANSPORT a reason. */
typedef void (*mtop_cb)(void *ud, mtop_result res, const char *ret, const cJSON *data,
			const char *why);

typedef struct mtop_call mtop_call;

/* Starts api (version "1.0") with data (a JSON text, sent byte for byte as
 * signed). Returns the call, or NULL (cb never called). */
mtop_call *mtop_start(mtop_ctx *m, const char *api, const char *data, mtop_cb cb, void *ud);

#define MTOP_SELLER 1u  /* a seller-console API: valueType=string, its headers (= SK_MTOP_SELLER) */

/* mtop_start with the API version (path and v=; [0-9.]{1,8}, NULL = "1.0")
 * and MTOP_* flags. NULL also for a bad version. */
mtop_call *mtop_start_ex(mtop_ctx *m, const char *api, const char *version, unsigned flags, const char *data,
			 mtop_cb cb, void *ud);
/* Whether version is a version mtop_start_ex takes. */
int mtop_version_ok(const char *version);
/* The callback will not run. */
void mtop_cancel(mtop_call *c);
/* After the lws context is gone: frees the call without touching lws
 * (http_free_all frees its request). */
void mtop_forget(mtop_call *c);

/* Merges n Set-Cookie values (of one answer, mtop's or passport's) into
 * m->cookie, as shared/protocol-account.md §3.1(c) and §3.2 say: deletions
 * (Max-Age=0, an expiry in 1970) are skipped; an answer whose unb differs
 * from the cookie's is refused whole (the identity guard: its cookies are
 * another account's); the rest replace or append by name. on_cookie is
 * called once when the cookie changed. Returns the number of values merged,
 * or -1 when the answer was refused for its unb. */
int mtop_merge_set_cookies(mtop_ctx *m, const char *const *set_cookies, int n);

/* Whether a text (a ret string, a passport answer) carries one of the risk
 * control markers (FAIL_SYS_USER_VALIDATE, RGV587_ERROR, RRXVv_ERROR, ::SM::,
 * 被挤爆, a punish URL...; docs/protocol.md §2). */
int mtop_is_risk_text(const char *s);
/* Classifies an envelope's ret array (exposed for tests). */
mtop_result mtop_classify(const cJSON *env);
const char *mtop_result_name(mtop_result r);

#endif
