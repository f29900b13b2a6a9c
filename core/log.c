/* SPDX-License-Identifier: MIT */
/*
 * core/log.c - one line per event on stderr. Every line goes through
 * log_redact first: whatever a caller (or lws, or a plugin) passes, the values
 * of cookies, tokens and auth headers never reach the log. Under systemd
 * (JOURNAL_STREAM set) each line starts with its syslog priority, <3> to <7>,
 * which journald takes as the line's level. Control characters (C0 but tab,
 * DEL, C1) are written escaped (\n, \r, \x1b, \u009b): a buyer's message
 * can neither start a line of its own nor drive the terminal that shows the
 * log. UTF-8 text is kept as it is.
 */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int threshold = LOG_INFO;

int log_set_level(const char *name)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(name, names[i])) {
			threshold = i;
			return 0;
		}
	return -1;
}

int log_level(void)
{
	return threshold;
}

/* Replaces line[from, to) with "***". */
static void log_mask(char *line, size_t from, size_t to)
{
	size_t n = strlen(line);

	if (to - from < 3) {
		memset(line + from, '*', to - from);
		return;
	}
	memcpy(line + from, "***", 3);
	memmove(line + from + 3, line + to, n - to + 1);
}

/* Names whose value is a secret: cookies of the platform's login, tokens,
 * the page's session and CSRF token. Matched without case, as a name: then
 * '=' (a cookie or a query) or '":"' (JSON), with any [A-Za-z0-9_] between
 * (so _m_h5_tk also covers _m_h5_tk_enc). */
static const char *const log_secret_names[] = {
	"_m_h5_tk", "cookie2", "sgcookie", "_tb_token_", "havana_lgc", "unb_sign", "accesstoken", "refreshtoken",
	"sk_session", "csrf", "password", "secret", NULL
};
/* Header lines whose whole value is a secret (as lws or a peer writes them). */
static const char *const log_secret_headers[] = { "cookie:", "set-cookie:", "authorization:", "x-csrf-token:", NULL };

void log_redact(char *line)
{
	unsigned char first[256] = { 0 };
	size_t i, k, v, e;

	/* Which bytes start a header or a name (either case): at any other
	 * position nothing can match, and the compares below are skipped (they
	 * were most of the cost of a log line, one of which every event has). */
	for (k = 0; log_secret_headers[k]; k++)
		first[tolower((unsigned char)log_secret_headers[k][0])] =
			first[toupper((unsigned char)log_secret_headers[k][0])] = 1;
	for (k = 0; log_secret_names[k]; k++)
		first[tolower((unsigned char)log_secret_names[k][0])] =
			first[toupper((unsigned char)log_secret_names[k][0])] = 1;
	for (i = 0; line[i]; i++) {
		if (!first[(unsigned char)line[i]])
			continue;
		for (k = 0; log_secret_headers[k]; k++) {
			size_t n = strlen(log_secret_headers[k]);

			/* a header: at the start or after a blank, then a value (not a sentence:
			 * "account.cookie: the cookie is ..." starts with a letter after '.') */
			if ((i && !isspace((unsigned char)line[i - 1]) && line[i - 1] != '"') ||
			    strncasecmp(line + i, log_secret_headers[k], n))
				continue;
			for (v = i + n; line[v] == ' '; v++)
				;
			for (e = v; line[e] && line[e] != '\r' && line[e] != '\n' && line[e] != '"'; e++)
				;
			if (e > v)
				log_mask(line, v, e);
			i = v + (e > v ? (e - v < 3 ? e - v : 3) : 0) - 1;   /* on after the mask (i++ below) */
			break;
		}
		if (log_secret_headers[k])
			continue;
		for (k = 0; log_secret_names[k]; k++) {
			size_t n = strlen(log_secret_names[k]);

			if (strncasecmp(line + i, log_secret_names[k], n))
				continue;
			for (v = i + n; isalnum((unsigned char)line[v]) || line[v] == '_'; v++)
				;
			if (line[v] == '=')
				v++;
			else if (!strncmp(line + v, "\":\"", 3))
				v += 3;
			else if (!strncmp(line + v, "\\\":\\\"", 5))   /* JSON inside a JSON string */
				v += 5;
			else
				continue;
			for (e = v; line[e] && !strchr(";&\"\\, \t\r\n}", line[e]); e++)
				;
			if (e > v)
				log_mask(line, v, e);
			i = v + (e > v ? (e - v < 3 ? e - v : 3) : 0) - 1;
			break;
		}
	}
}

/* Cuts s (of length n) before a UTF-8 sequence that its end cut short
 * (snprintf stops at a byte count), so no half character ends a line. */
static void log_cut_utf8(char *s, size_t n)
{
	size_t i = n, need;
	unsigned char c;

	while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (need > 1 && n - (i - 1) < need)
		s[i - 1] = '\0';
}

void log_escape(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	if (!cap)
		return;
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		int c1 = c == 0xc2 && (unsigned char)in[1] >= 0x80 && (unsigned char)in[1] <= 0x9f;
		size_t need = c == '\n' || c == '\r' ? 2 : (c < 0x20 && c != '\t') || c == 0x7f ? 4 : c1 ? 6 : 1;

		if (o + need >= cap)
			break;
		if (c == '\n' || c == '\r') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : 'r';
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		} else if (c1) {
			/* U+0080..U+009F: C1 controls (0x9b is a terminal's CSI) */
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", (unsigned char)in[1]);
			in++;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

int log_utf8_prefix(const char *s, int max)
{
	size_t n = strnlen(s, max > 0 ? (size_t)max : 0), tail;
	char buf[8];

	if (n == 0 || s[n] == '\0')
		return (int)n;
	/* Only the last (up to 4) bytes can be a character that goes on past max. */
	tail = n < 4 ? n : 4;
	memcpy(buf, s + n - tail, tail);
	buf[tail] = '\0';
	log_cut_utf8(buf, tail);
	return (int)(n - tail + strlen(buf));
}

void log_msg(int level, const char *mod, const char *fmt, ...)
{
	static const char *const tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
	static const char prio[] = {'3', '4', '6', '7'};
	static int journal = -1;
	char line[2048], out[4 * sizeof line];
	va_list ap;
	size_t len;
	int n;

	if (level > threshold)
		return;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	n = snprintf(line, sizeof line, "%s %s: ", tags[level], mod);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	len = strlen(line);
	if (len == sizeof line - 1)
		log_cut_utf8(line, len);
	/* A message's own line end (lws ends its lines with one) is not part of it. */
	while (len > (size_t)n && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	/* One event, one line, and nothing a terminal would act on: buyers'
	 * and the platform's text ends up in here. */
	log_escape(line, out, sizeof out);
	log_redact(out);
	if (journal)
		fprintf(stderr, "<%c>%s\n", prio[level], out);
	else
		fprintf(stderr, "%s\n", out);
}
