/* SPDX-License-Identifier: MIT */
/*
 * plugins/common/skrules.h - the validation context the shipped plugins use
 * for their parts of the rules file (header-only, static, like sktext.h: not
 * part of the ABI). One validator serves both the file loader (errors go to
 * the plugin's log) and the descriptor's rules_check (errors go to a buffer,
 * and the host must not be called).
 *
 *   skrules_err   records one problem
 *   skrules_text  rules_check's start: the document as a C string
 */
#ifndef SK_PLUGINS_SKRULES_H
#define SK_PLUGINS_SKRULES_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "common/sktext.h"

typedef struct {
	sk_plugin *p;              /* NULL in rules_check */
	const char *path;
	char *errs;                /* rules_check's buffer (errlen bytes), or NULL */
	size_t errlen;
	int nerr;
} skrules_ctx;

/* Records a problem: logged as "rules <path>: <msg>" with a plugin, else a
 * line of errs. */
static inline void skrules_err(skrules_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void skrules_err(skrules_ctx *x, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (x->p)
		sk_log(x->p, SK_LOG_ERR, "rules %s: %s", x->path, msg);
	if (x->errs)
		sktext_line_add(x->errs, x->errlen, msg);
	x->nerr++;
}

/* Starts a rules_check: x gets errs (emptied), and the document json (len
 * bytes) comes back as a malloc'd C string, or NULL with the problem
 * recorded (a NUL inside, which would hide what follows it from the parser,
 * or no memory). */
static inline char *skrules_text(skrules_ctx *x, char *errs, size_t errlen, const char *json, size_t len)
{
	char *text = NULL;

	memset(x, 0, sizeof *x);
	x->errs = errs && errlen ? errs : NULL;
	x->errlen = errlen;
	if (x->errs)
		x->errs[0] = '\0';
	if (!json || memchr(json, '\0', len))
		skrules_err(x, "not valid JSON");
	else if (!(text = malloc(len + 1)))
		skrules_err(x, "out of memory");
	else {
		memcpy(text, json, len);
		text[len] = '\0';
	}
	return text;
}

#endif
