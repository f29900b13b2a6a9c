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
#include <string.h>

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

/* Fills label (an empty object) for the send uuid with tag ("" none): 0,
 * or a negative sk_rc that fails the command. Left empty: no label. */
typedef int (*skctl_label_fn)(sk_plugin *p, const char *uuid, const char *tag, cJSON *label);

/* A plugin's "<plugin>_sends" control command (plugins/README.md, "Labels
 * of your sends"): checks data {"sends": [{"uuid", "tag"}]} (at most max
 * sends; a uuid of 1..64 bytes; a tag a string shorter than tag_max bytes,
 * null or absent), asks fn once per distinct uuid, and answers {"labels":
 * {uuid: label}} with the labels fn filled. Returns what the command returns. */
static inline int skctl_sends(sk_plugin *p, const char *command, const char *data_json, int max, int tag_max,
			      skctl_label_fn fn)
{
	cJSON *d, *o, *labels;
	const cJSON *sends, *c;
	size_t i = 0;
	int rc = SK_OK;

	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	sends = cJSON_GetObjectItemCaseSensitive(d, "sends");
	if (!cJSON_IsArray(sends) || cJSON_GetArraySize(sends) > max) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: sends must be a list of at most %d {uuid, tag}", command, max);
	}
	cJSON_ArrayForEach(c, sends) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(c, "uuid"), *t = cJSON_GetObjectItemCaseSensitive(c, "tag");

		if (!cJSON_IsObject(c) || !cJSON_IsString(u) || !*u->valuestring || strlen(u->valuestring) > 64 ||
		    (t && !cJSON_IsNull(t) && (!cJSON_IsString(t) || strlen(t->valuestring) >= (size_t)tag_max))) {
			cJSON_Delete(d);
			return skctl_fail(p, SK_ERR_INVAL, "%s: sends[%zu] must be {\"uuid\": a send's uuid, \"tag\": "
					  "a string of at most %d bytes or null}", command, i, tag_max - 1);
		}
		i++;
	}
	o = cJSON_CreateObject();
	if (!(labels = cJSON_AddObjectToObject(o, "labels"))) {
		cJSON_Delete(o);
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_NOMEM, "%s: out of memory", command);
	}
	cJSON_ArrayForEach(c, sends) {
		const char *uuid = cJSON_GetObjectItemCaseSensitive(c, "uuid")->valuestring;
		const char *tag = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "tag"));
		cJSON *l;

		if (cJSON_GetObjectItemCaseSensitive(labels, uuid) || !(l = cJSON_CreateObject()))
			continue;
		if ((rc = fn(p, uuid, tag ? tag : "", l)) < 0 || !l->child) {
			cJSON_Delete(l);
			if (rc < 0)
				break;
			continue;
		}
		cJSON_AddItemToObject(labels, uuid, l);
	}
	cJSON_Delete(d);
	if (rc < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	return skctl_answer(p, o);
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
