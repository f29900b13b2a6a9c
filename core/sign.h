/* SPDX-License-Identifier: MIT */
/* core/sign.h - mtop request signing and browser-cookie strings (docs/protocol.md §2). */
#ifndef SK_SIGN_H
#define SK_SIGN_H

#include <stddef.h>

#define SIGN_MTOP_APPKEY "34839810"
#define SIGN_IM_APPKEY   "444e9908a51d1cb236a27862abc769c9"

/* Writes the lower-case hex MD5 of "<token>&<t>&<app_key>&<data>" into out (33 bytes).
 * data is taken as data_len bytes, exactly as sent in the form body. */
void sign_mtop(const char *token, const char *t, const char *app_key,
	       const char *data, size_t data_len, char out[33]);

/* Returns a malloc'd copy of the value of cookie `name` in a "a=1; b=2" string,
 * NULL when absent. Names match exactly (no suffix match). */
char *cookie_get(const char *cookie, const char *name);

/* Copies the signing token (the part of _m_h5_tk before the first '_') into out;
 * "" when the cookie has no _m_h5_tk. Returns 0, or -1 when out is too small. */
int cookie_h5_token(const char *cookie, char *out, size_t outsz);

/* Returns a new malloc'd cookie string: `cookie` with the name=value of one
 * Set-Cookie header value (attributes after the first ';' ignored) replacing the
 * same name, or appended. NULL on OOM or a Set-Cookie without "name=". */
char *cookie_merge(const char *cookie, const char *set_cookie);

/* Whether a Set-Cookie value deletes its cookie rather than setting it
 * (shared/protocol-account.md §3.1(c)): Max-Age of 0 or less, or an Expires
 * in 1970. Such an entry must not be merged: its empty value would replace
 * a live one. */
int cookie_is_deletion(const char *set_cookie);

#endif
