/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int64_t util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Makes room for n more bytes plus a NUL; returns 0 or -1 (and sets oom). */
static int sbuf_grow(sbuf *b, size_t n)
{
	size_t want;
	char *p;

	if (b->oom)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	want = b->cap ? b->cap : 64;
	while (want < b->len + n + 1)
		want *= 2;
	p = realloc(b->p, want);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = want;
	return 0;
}

void sbuf_add(sbuf *b, const void *p, size_t n)
{
	if (sbuf_grow(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sbuf_adds(sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_addf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sbuf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sbuf_reset(sbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void sbuf_free(sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

char *sbuf_take(sbuf *b)
{
	char *p;

	if (b->oom) {
		sbuf_free(b);
		return NULL;
	}
	if (!b->p)
		return strdup("");
	p = b->p;
	memset(b, 0, sizeof *b);
	return p;
}

void util_urlencode(sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '*') {
			sbuf_add(b, &s[i], 1);
		} else {
			esc[0] = '%';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 15];
			sbuf_add(b, esc, 3);
		}
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t util_urldecode(char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			s[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	if (o < n)
		s[o] = '\0';
	return o;
}

char *util_form_get(const char *q, size_t qlen, const char *name)
{
	size_t nl = strlen(name), i = 0;

	while (i < qlen) {
		size_t end = i;
		char *v;

		while (end < qlen && q[end] != '&')
			end++;
		if (end - i > nl && q[i + nl] == '=' && !memcmp(q + i, name, nl)) {
			v = util_strndup(q + i + nl + 1, end - i - nl - 1);
			if (v)
				v[util_urldecode(v, strlen(v))] = '\0';
			return v;
		}
		i = end + 1;
	}
	return NULL;
}

char *util_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t util_utf8_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src), k;

	if (!size)
		return 0;
	if (n >= size) {
		/* step back over continuation bytes (10xxxxxx) to a character's start,
		 * which is then cut off whole with what follows it */
		n = size - 1;
		k = n;
		while (k > 0 && ((unsigned char)src[k] & 0xC0) == 0x80)
			k--;
		n = k;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

int util_peer_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t n = sizeof ss;

	memset(&ss, 0, sizeof ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &n))
		return 0;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		/* ::ffff:127.x.y.z is an IPv4 peer of a dual-stack socket */
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}
