/* SPDX-License-Identifier: MIT */
/*
 * core/log.h - one line per event on stderr ("LEVEL module: message"), journald
 * friendly. Never pass cookies or tokens: log their presence, not their value.
 */
#ifndef SK_LOG_H
#define SK_LOG_H

#include <stddef.h>

enum { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Sets the threshold from "error", "warn", "info" or "debug"; returns 0 or -1. */
int log_set_level(const char *name);
int log_level(void);
void log_msg(int level, const char *mod, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Masks in place (with "***") the values of secrets in a line: cookies of the
 * platform's login (_m_h5_tk=..., cookie2=...), tokens ("accessToken":"..."),
 * the page's session and CSRF token, and Cookie/Set-Cookie/Authorization
 * header values. log_msg runs every line through it. */
void log_redact(char *line);
/* Copies in to out (cap bytes, always terminated; what does not fit is
 * dropped) with control characters escaped: \n and \r as "\\n" and "\\r",
 * other C0 controls but tab and DEL as "\\xHH", the C1 controls U+0080 to
 * U+009F as "\\u00HH". Every other byte, UTF-8 included, is kept. 4 *
 * strlen(in) + 1 bytes are always enough. log_msg runs every line through it. */
void log_escape(const char *in, char *out, size_t cap);
/* How many bytes of s, at most max, end on a whole UTF-8 character: for
 * "%.*s" of a buyer's text in a log line. */
int log_utf8_prefix(const char *s, int max);

#define log_err(mod, ...)   log_msg(LOG_ERR, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_DEBUG, mod, __VA_ARGS__)

#endif
