/* SPDX-License-Identifier: MIT */
/*
 * plugins/common/skctl.h - helpers for the control commands of the plugins
 * shipped with shopkeep (header-only, static, like sktext.h: not part of the
 * ABI). They use cJSON, which those plugins link anyway.
 *
 *   skctl_data    the command's data, which must be a JSON object
 *   skctl_count   a whole-number field in 1..max, with a default
 *   skctl_fail    sk_control_error with a formatted message, returns the rc
 *   skctl_answer  sk_control_result with a cJSON tree
 *   skctl_row     one row of a plugin's table of control commands
 *   skctl_add_all registers a table, logging and leaving out a refused name
 *
 * Every message starts with the command's name ("decisions: limit must be
 * ..."): it is what the seller reads on the web page.
 */
#ifndef SK_PLUGINS_SKCTL_H
#define SK_PLUGINS_SKCTL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "plugin.h"

/* Fails the running control command with a readable message. Returns rc. */
static inline int skctl_fail(sk_plugin *p, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline int skctl_fail(sk_plugin *p, int rc, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sk_control_error(p, msg);
	return rc;
}

/* Answers the running control command with o (consumed) as its data.
 * Returns SK_OK, or SK_ERR_NOMEM when o could not be built or printed. */
static inline int skctl_answer(sk_plugin *p, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	int rc = s ? sk_control_result(p, s) : SK_ERR_NOMEM;

	cJSON_free(s);
	cJSON_Delete(o);
	return rc;
}

/* The command's data parsed (the caller deletes it), or NULL after failing
 * the command when it is not a JSON object. */
static inline cJSON *skctl_data(sk_plugin *p, const char *command, const char *data_json)
{
	cJSON *d = cJSON_Parse(data_json);

	if (cJSON_IsObject(d))
		return d;
	cJSON_Delete(d);
	skctl_fail(p, SK_ERR_INVAL, "%s: data must be a JSON object", command);
	return NULL;
}

/* The field of d as a whole number from 1 to max, def when it is absent or
 * null. Returns it, or -1 after failing the command. */
static inline int64_t skctl_count(sk_plugin *p, const char *command, const cJSON *d, const char *field, int64_t def,
				  int64_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, field);

	if (!v || cJSON_IsNull(v))
		return def;
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > (double)max ||
	    v->valuedouble != (double)(int64_t)v->valuedouble) {
		skctl_fail(p, SK_ERR_INVAL, "%s: %s must be a whole number from 1 to %lld", command, field,
			   (long long)max);
		return -1;
	}
	return (int64_t)v->valuedouble;
}

/* One control command of a plugin's table: its name, one-line help, handler. */
typedef struct {
	const char *name, *help;
	sk_control_fn fn;
} skctl_row;

/* Registers the n control commands of rows, in order; one the host refuses
 * (its name taken) is logged and left out: the plugin goes on without it. */
static inline void skctl_add_all(sk_plugin *p, const skctl_row *rows, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = sk_control_add(p, rows[i].name, rows[i].help, rows[i].fn, NULL, NULL)) < 0)
			sk_log(p, SK_LOG_WARN, "control command %s not available: %s", rows[i].name,
			       sk_strerror(p, rc));
}

#endif
