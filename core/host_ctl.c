/* SPDX-License-Identifier: MIT */
/*
 * core/host_ctl.c - control commands plugins register (sk_control_add) and
 * host_control, which runs one for the web page's /api/control or the CLI's
 * shopkeep ctl.
 */
#include "host_int.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- control commands (since 1.2) ------------------------------------------ */

/* The core's own control commands (core/commands.h; core/api.c answers
 * them): no plugin may take these. */
#define HOST_CTL_NAME(name, help) #name,
static const char *const host_core_controls[] = { CORE_CONTROL_COMMANDS(HOST_CTL_NAME) NULL };
#undef HOST_CTL_NAME

/* Whether name is [a-z][a-z0-9_]*, at most HOST_CTL_NAME_MAX bytes. */
static int host_ctl_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n > HOST_CTL_NAME_MAX || name[0] < 'a' || name[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	for (int i = 0; host_core_controls[i]; i++)
		if (!strcmp(name, host_core_controls[i]))
			return 0;
	return 1;
}

/* Returns the command registered as name, or NULL. */
static host_ctl *host_ctl_find(const host *h, const char *name)
{
	for (host_ctl *c = h->ctls; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* sk_control_add. Returns SK_OK, SK_ERR_INVAL (bad or taken name, no fn),
 * SK_ERR_STATE (not between init and fini) or SK_ERR_NOMEM; on failure
 * free_ud has run. */
int host_control_add(sk_plugin *p, const char *command, const char *help, sk_control_fn fn, void *ud,
		     sk_free_fn free_ud)
{
	host_plug *pl;
	host_ctl *c, **tail;
	int rc;

	if ((rc = host_check(p, __func__, &pl))) {
		host_free_ud(free_ud, ud);
		return rc;
	}
	if (!host_alive(pl)) {
		host_free_ud(free_ud, ud);
		return SK_ERR_STATE;
	}
	if (!fn || !host_ctl_name_ok(command) || host_ctl_find(pl->h, command)) {
		host_plog(pl, SK_LOG_WARN, "control_add %s: %s", command ? command : "(null)",
			  !fn ? "no function" : !host_ctl_name_ok(command) ?
			  "not a valid name ([a-z][a-z0-9_]*, at most 40, not one of the core's)" : "taken already");
		host_free_ud(free_ud, ud);
		return SK_ERR_INVAL;
	}
	if (!(c = calloc(1, sizeof *c)) || !(c->help = host_strdup(help ? help : ""))) {
		free(c);
		host_free_ud(free_ud, ud);
		return SK_ERR_NOMEM;
	}
	snprintf(c->name, sizeof c->name, "%s", command);
	c->pl = pl;
	c->fn = fn;
	c->ud = ud;
	c->free_ud = free_ud;
	for (tail = &pl->h->ctls; *tail; tail = &(*tail)->next)
		;
	*tail = c;
	return SK_OK;
}

/* The call of pl in progress, or NULL (logged) outside one. */
static host_ctl_call *host_ctl_cur(sk_plugin *p, const char *fn)
{
	host_plug *pl;

	if (host_check(p, fn, &pl))
		return NULL;
	if (!pl->h->ctl_call || pl->h->ctl_call->pl != pl) {
		host_plog(pl, SK_LOG_WARN, "%s outside a control command", fn);
		return NULL;
	}
	return pl->h->ctl_call;
}

/* sk_control_result: keeps a copy of json as the result data. */
int host_control_result(sk_plugin *p, const char *json)
{
	host_ctl_call *c = host_ctl_cur(p, __func__);
	cJSON *j;

	if (!c)
		return SK_ERR_STATE;
	free(c->result);
	c->result = NULL;
	c->bad_result = 0;
	if (!json)
		return SK_OK;
	if (!(j = cJSON_ParseWithOpts(json, NULL, 1))) {
		c->bad_result = 1;
		return SK_ERR_INVAL;
	}
	cJSON_Delete(j);
	return (c->result = host_strdup(json)) ? SK_OK : SK_ERR_NOMEM;
}

/* sk_control_error: keeps a copy of text as the error. */
int host_control_error(sk_plugin *p, const char *text)
{
	host_ctl_call *c = host_ctl_cur(p, __func__);

	if (!c)
		return SK_ERR_STATE;
	free(c->error);
	return (c->error = host_strdup(text ? text : "")) ? SK_OK : SK_ERR_NOMEM;
}

int host_control(host *h, const char *command, const char *data_json, char **result, char **error)
{
	host_ctl_call call = { 0 }, *outer;
	host_ctl *c;
	int rc;

	*result = *error = NULL;
	if (!h || !command || !host_on_loop(h, __func__))
		return SK_ERR_INVAL;
	if (!(c = host_ctl_find(h, command)) || c->pl->state != PL_RUNNING) {
		*error = host_strdup("unknown command");
		return SK_ERR_NOTFOUND;
	}
	if (h->ctl_call) {
		*error = host_strdup("a control command may not run another one");
		return SK_ERR_STATE;
	}
	call.pl = c->pl;
	outer = h->ctl_call;
	h->ctl_call = &call;
	host_enter(c->pl);
	rc = c->fn(&c->pl->pub, command, data_json && *data_json ? data_json : "{}", c->ud);
	host_leave(c->pl, "control command");
	h->ctl_call = outer;
	if (rc > 0) {
		host_plog(call.pl, SK_LOG_WARN, "control %s returned %d, not an sk_rc: taken as SK_OK", command, rc);
		rc = SK_OK;
	}
	if (rc == SK_OK && call.bad_result) {
		rc = SK_ERR_INVAL;
		free(call.error);
		call.error = host_strdup("the plugin's result was not JSON");
		host_plog(call.pl, SK_LOG_ERR, "control %s: its result was not JSON", command);
	}
	if (rc < 0) {
		free(call.result);
		call.result = NULL;
		if (!call.error)
			call.error = host_strdup(host_strerror(rc));
	} else {
		free(call.error);
		call.error = NULL;
	}
	*result = call.result;
	*error = call.error;
	return rc;
}

/* sk_control_call (since 1.5): one control request to the account's running
 * process, for a command process. Returns SK_OK with *answer_json (the
 * answer line, malloc'd), or an sk_rc (plugins/plugin.h has the list). */
int host_control_call(sk_plugin *p, const char *command, const char *data_json, char **answer_json)
{
	char err[700] = "", *req = NULL;
	cJSON *r = NULL, *d = NULL;
	host_plug *pl;
	size_t n = command ? strlen(command) : 0;
	int rc;

	if (answer_json)
		*answer_json = NULL;
	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if (pl->state != PL_COMMAND) {
		host_plog(pl, SK_LOG_WARN, "control_call: only a command process may call its running process");
		return SK_ERR_STATE;
	}
	if (!answer_json || !n || n > HOST_CTL_NAME_MAX || command[0] < 'a' || command[0] > 'z' ||
	    strspn(command, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return SK_ERR_INVAL;
	if (!(d = cJSON_Parse(data_json && *data_json ? data_json : "{}")) || !cJSON_IsObject(d)) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	if (!pl->h->be.control_call) {
		cJSON_Delete(d);
		return SK_ERR_UNSUPPORTED;
	}
	if (!(r = cJSON_CreateObject()) || !cJSON_AddNumberToObject(r, "request_id", 1) ||
	    !cJSON_AddStringToObject(r, "command", command)) {
		cJSON_Delete(d);
		cJSON_Delete(r);
		return SK_ERR_NOMEM;
	}
	cJSON_AddItemToObject(r, "data", d);
	req = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	if (!req)
		return SK_ERR_NOMEM;
	rc = pl->h->be.control_call(pl->h->be.ud, req, 10000, answer_json, err, sizeof err);
	free(req);
	if (rc != SK_OK && rc != SK_ERR_IO && *err)
		host_plog(pl, SK_LOG_WARN, "control_call %s: %s", command, err);
	else if (rc == SK_ERR_IO)
		host_plog(pl, SK_LOG_DEBUG, "control_call %s: %s", command, *err ? err : "nobody listens");
	return rc;
}

/* sk_control_run (since 1.6): runs a running plugin's control command in
 * process through host_control. Returns SK_OK with *result_json ("null"
 * when the command gave no data), or an sk_rc with *error_out (may be NULL)
 * the command's error text. */
int host_control_run(sk_plugin *p, const char *command, const char *data_json, char **result_json,
		     char **error_out)
{
	char *res = NULL, *err = NULL;
	host_plug *pl;
	size_t n;
	cJSON *d;
	int rc;

	if (result_json)
		*result_json = NULL;
	if (error_out)
		*error_out = NULL;
	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if (pl->state == PL_COMMAND || pl->h->ctl_call) {
		host_plog(pl, SK_LOG_WARN, "control_run %s: %s", command ? command : "(null)",
			  pl->state == PL_COMMAND ? "not in a command process" : "not inside a control command");
		return SK_ERR_STATE;
	}
	n = command ? strlen(command) : 0;
	if (!result_json || !n || n > HOST_CTL_NAME_MAX || command[0] < 'a' || command[0] > 'z' ||
	    strspn(command, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return SK_ERR_INVAL;
	if (!(d = cJSON_Parse(data_json && *data_json ? data_json : "{}")) || !cJSON_IsObject(d)) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	cJSON_Delete(d);
	rc = host_control(pl->h, command, data_json, &res, &err);
	if (rc == SK_OK) {
		*result_json = res ? res : host_strdup("null");
		free(err);
		return *result_json ? SK_OK : SK_ERR_NOMEM;
	}
	free(res);
	if (error_out)
		*error_out = err;
	else
		free(err);
	return rc;
}

void host_control_each(const host *h, void (*cb)(const char *name, const char *plugin, const char *help, void *ud),
		       void *ud)
{
	for (host_ctl *c = h ? h->ctls : NULL; c; c = c->next)
		if (c->pl->state == PL_RUNNING)
			cb(c->name, c->pl->name, c->help, ud);
}

/* A plugin is unloaded: its control commands are removed, each free_ud run. */
void host_ctl_drop(host *h, host_plug *pl)
{
	for (host_ctl **cp = &h->ctls, *k; (k = *cp);) {
		if (k->pl == pl) {
			*cp = k->next;
			host_free_ud(k->free_ud, k->ud);
			free(k->help);
			free(k);
		} else {
			cp = &k->next;
		}
	}
}
