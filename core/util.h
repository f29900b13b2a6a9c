/* SPDX-License-Identifier: MIT */
/* core/util.h - small helpers shared by the bot, the simulator and the tests. */
#ifndef SK_UTIL_H
#define SK_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock in milliseconds since the epoch. */
int64_t util_now_ms(void);
/* Monotonic clock in microseconds. */
int64_t util_mono_us(void);

/* A growable NUL-terminated byte buffer. A failed allocation sets oom and
 * makes every later append a no-op, so callers check once at the end. */
typedef struct {
	char *p;
	size_t len, cap;
	int oom;
} sbuf;

void sbuf_add(sbuf *b, const void *p, size_t n);
void sbuf_adds(sbuf *b, const char *s);
void sbuf_addf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_reset(sbuf *b);
void sbuf_free(sbuf *b);
/* Hands over the buffer (malloc'd, NUL-terminated; "" when empty), NULL on OOM. */
char *sbuf_take(sbuf *b);

/* application/x-www-form-urlencoded escaping of n bytes into b. */
void util_urlencode(sbuf *b, const char *s, size_t n);
/* Decodes %XX and '+' in place; returns the new length. Bad escapes stay as they are. */
size_t util_urldecode(char *s, size_t n);
/* Finds "name=" in a query or form string (separated by '&') and returns a
 * malloc'd decoded copy of its value, NULL when absent. */
char *util_form_get(const char *q, size_t qlen, const char *name);

/* malloc'd copy of n bytes plus a NUL. NULL on OOM. */
char *util_strndup(const char *s, size_t n);
/* Copies the string src into dst of size bytes (NUL-terminated when size
 * > 0), cut when too long at a character boundary of UTF-8: a multi-byte
 * character never loses its tail. Returns the bytes copied. */
size_t util_utf8_copy(char *dst, size_t size, const char *src);
/* Whether the peer of the connected socket fd has a loopback address
 * (127.0.0.0/8, ::1, ::ffff:127.x.y.z): 1, or 0 (also when it is not an
 * IP socket or getpeername fails). */
int util_peer_loopback(int fd);

#endif
