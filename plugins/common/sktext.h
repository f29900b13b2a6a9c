/* SPDX-License-Identifier: MIT */
/*
 * plugins/common/sktext.h - small text helpers shared by the plugins shipped
 * with shopkeep (header-only, static: each plugin gets its own copy, so this
 * is not part of the ABI; plugins/plugin.h stays the only interface to the
 * core).
 *
 *   sktext_read_file   a whole file, bounded
 *   sktext_tmpl_check  a template's {variables} are all known; {{ }} literal
 *   sktext_tmpl_render substitutes them (_max: into at most max bytes)
 *   sktext_line_add    appends one line to a bounded buffer (rules_check's errs)
 */
#ifndef SK_PLUGINS_SKTEXT_H
#define SK_PLUGINS_SKTEXT_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the whole file at path (at most max bytes) into a malloc'ed,
 * NUL-terminated buffer. NULL on failure, with a reason in why. */
static inline char *sktext_read_file(const char *path, long max, char *why, size_t whylen)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!fp) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || n > max || fseek(fp, 0, SEEK_SET)) {
		snprintf(why, whylen, "cannot read (or larger than %ld bytes)", max);
	} else if (!(buf = malloc((size_t)n + 1))) {
		snprintf(why, whylen, "out of memory");
	} else if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
	}
	fclose(fp);
	return buf;
}

/* The index of the variable [s, s+n) in vars (NULL-terminated), or -1. */
static inline int sktext_var(const char *const *vars, const char *s, size_t n)
{
	for (int i = 0; vars[i]; i++)
		if (strlen(vars[i]) == n && !memcmp(vars[i], s, n))
			return i;
	return -1;
}

/* Checks template t against vars. Returns 0, or -1 with the reason in why
 * (naming the unknown variable and the known ones). */
static inline int sktext_tmpl_check(const char *t, const char *const *vars, char *why, size_t whylen)
{
	for (const char *s = t; *s; s++) {
		if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
			s++;
		} else if (*s == '}') {
			snprintf(why, whylen, "a '}' without its '{' (write }} for a literal one)");
			return -1;
		} else if (*s == '{') {
			const char *e = strchr(s, '}');
			size_t len = 0;

			if (!e) {
				snprintf(why, whylen, "a '{' without its '}' (write {{ for a literal one)");
				return -1;
			}
			if (sktext_var(vars, s + 1, (size_t)(e - s - 1)) < 0) {
				len = (size_t)snprintf(why, whylen, "unknown variable {%.*s} (known:",
						       (int)(e - s - 1 > 40 ? 40 : e - s - 1), s + 1);
				for (int i = 0; vars[i] && len < whylen; i++)
					len += (size_t)snprintf(why + len, whylen - len, " {%s}", vars[i]);
				if (len < whylen)
					snprintf(why + len, whylen - len, ")");
				return -1;
			}
			s = e;
		}
	}
	return 0;
}

/* Appends [s, s+n) to out (*len bytes used) without passing cap bytes. */
static inline void sktext_put(char *out, size_t *len, size_t cap, const char *s, size_t n)
{
	if (n > cap - *len)
		n = cap - *len;
	memcpy(out + *len, s, n);
	*len += n;
}

/* Renders checked template t: {vars[i]} becomes vals[i]; keeps at most max
 * bytes of the result: a longer one is cut before the UTF-8 character that
 * would cross max, and *cut says whether it was (cut may be NULL). Only what
 * is kept is allocated and copied, whatever the template repeats. Returns a
 * malloc'ed string, or NULL without memory. */
static inline char *sktext_tmpl_render_max(const char *t, const char *const *vars, const char *const *vals,
					   size_t max, int *cut)
{
	size_t total = 0, cap, len = 0;
	char *out;

	if (max > SIZE_MAX / 2)
		max = SIZE_MAX / 2;
	/* Size it first, saturating at max + 4: one character past max shows
	 * whether the cut would split it. */
	for (const char *s = t; *s && total <= max + 4; s++) {
		if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
			s++;
			total++;
		} else if (*s == '{') {
			const char *e = strchr(s, '}');

			total += strlen(vals[sktext_var(vars, s + 1, (size_t)(e - s - 1))]);
			s = e;
		} else {
			total++;
		}
	}
	cap = total < max + 4 ? total : max + 4;
	if (!(out = malloc(cap + 1)))
		return NULL;
	for (const char *s = t; *s && len < cap; s++) {
		if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
			out[len++] = *s++;
		} else if (*s == '{') {
			const char *e = strchr(s, '}');
			const char *v = vals[sktext_var(vars, s + 1, (size_t)(e - s - 1))];

			sktext_put(out, &len, cap, v, strlen(v));
			s = e;
		} else {
			out[len++] = *s;
		}
	}
	if (cut)
		*cut = len > max;
	if (len > max) {
		/* back to the first byte of the character at max (3 at most: a
		 * text that is not UTF-8 is cut at max) */
		len = max;
		for (int i = 0; i < 3 && len > 0 && ((unsigned char)out[len] & 0xC0) == 0x80; i++)
			len--;
		if (((unsigned char)out[len] & 0xC0) == 0x80)
			len = max;
	}
	out[len] = '\0';
	return out;
}

/* Renders checked template t: {vars[i]} becomes vals[i]. Returns a malloc'ed
 * string, or NULL without memory. */
static inline char *sktext_tmpl_render(const char *t, const char *const *vars, const char *const *vals)
{
	return sktext_tmpl_render_max(t, vars, vals, SIZE_MAX, NULL);
}

/* Appends line and a newline to the NUL-terminated text in buf (n bytes in
 * all). Only whole lines go in: one that does not fit is left out, so a full
 * buffer never ends in half a message. Returns 0, or -1 when it was left out
 * (or buf is NULL). */
static inline int sktext_line_add(char *buf, size_t n, const char *line)
{
	size_t used, len = strlen(line);

	if (!buf || !n)
		return -1;
	used = strnlen(buf, n - 1);
	if (used + len + 2 > n)
		return -1;
	memcpy(buf + used, line, len);
	buf[used + len] = '\n';
	buf[used + len + 1] = '\0';
	return 0;
}

#endif
