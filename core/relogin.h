/* SPDX-License-Identifier: MIT */
/*
 * core/relogin.h - a running account takes a new login without a restart:
 * the QR login of the page (login_qr_start / login_qr_state /
 * login_qr_cancel), a cookie pasted on the page (cookie_set) and the secret
 * file written by `shopkeep login` (cookie_reload).
 *
 * Every new cookie goes through one check and one path
 * (relogin_take_cookie): it must hold unb, cookie2 and _m_h5_tk, and its
 * unb must be the account's (the config's unb, else the one recorded at an
 * earlier login: the identity guard of ../shared/protocol-account.md §3.2);
 * it is sealed into the account's secret file (account.cookie_secret, else
 * the default <config dir>/<id>.cookie.secret), put in the config in memory,
 * and handed to the session (session_login), which connects at once. A
 * config that keeps its cookie in plaintext (account.cookie,
 * account.cookie_file) is refused with the fix: the new cookie would be lost
 * at the next start.
 */
#ifndef SK_RELOGIN_H
#define SK_RELOGIN_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "config.h"
#include "session.h"
#include "store.h"

struct lws_context;
struct lws_vhost;

typedef struct relogin relogin;

/* cfg (changed when a cookie is taken), st and s are borrowed and must
 * outlive it; vh is the client vhost of the platform's requests. NULL on OOM. */
relogin *relogin_new(struct lws_context *ctx, struct lws_vhost *vh, config *cfg, store *st, session *s);
void relogin_free(relogin *r);

/* The account's unb: the config's, else the one recorded in state.db at a
 * login, else "" (malloc'd; NULL on OOM). */
char *relogin_account_unb(relogin *r);
/* Takes a new cookie (see above). 0 with unb_out (64 bytes) set, or -1 with
 * the reason in err. seal 0 skips the sealing (the cookie came from the
 * secret file). Never logs or shows the cookie. */
int relogin_take_cookie(relogin *r, const char *cookie, int seal, char unb_out[64], char *err, size_t errlen);
/* cookie_reload: reads the secret file again and takes its cookie. */
int relogin_reload(relogin *r, char unb_out[64], char *err, size_t errlen);

/* login_qr_start: starts a QR login (one running is replaced). 0, or -1
 * with the reason in err. */
int relogin_qr_start(relogin *r, char *err, size_t errlen);
/* login_qr_cancel: stops and forgets the QR login; the state is IDLE. */
void relogin_qr_cancel(relogin *r);
/* The QR login's state as the control commands answer it:
 * {"state","message_zh","message_en","svg","code_url","poll_ms"} plus
 * "verify_url" (VERIFY) and "unb" (DONE). NULL on OOM. */
cJSON *relogin_qr_json(relogin *r);

#endif
