/* SPDX-License-Identifier: MIT */
/*
 * core/host.c - the plugin host (core/host.h): one sk_plugin per loaded
 * plugin, the sk_host service table, loading and unloading, and the helpers
 * every room of the host uses. The host owns every registration a plugin
 * makes and undoes it: host_unload_one asks each room (host_event.c,
 * host_timer.c, host_send.c, host_net.c, host_ctl.c, host_db.c,
 * host_work.c, host_config.c; core/host_int.h lists them) to drop its part.
 *
 * Re-entrancy is handled with one counter, h->depth: it is above zero while
 * any plugin code runs (a handler, a timer, a completion, init, fini) or a
 * dispatch walks the handler list. While it is above zero:
 *   - new subscriptions wait in h->added, and removed ones are only marked
 *     dead (their free_ud runs later), so the list a dispatch walks never moves;
 *   - sk_publish only queues the event.
 * When the counter drops back to zero, host_settle merges the subscriptions
 * and delivers the queued events (each with the counter raised again), so
 * published events always arrive after the publisher's callback returned and
 * after the dispatch that caused them finished.
 *
 * A plugin transaction never outlives the callback that opened it: when the
 * outermost call into a plugin returns with one open, the host rolls it back
 * and logs it. There is one SQLite connection, shared with the core, so an
 * open transaction would otherwise swallow whatever ran next on it.
 */
#include "host_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "log.h"

/* ---- logging ------------------------------------------------------------- */

/* Writes one line through the backend's log, or core/log.c with the plugin's
 * name as the module ("host" when there is none). */
static void host_emit(const host *h, int level, const char *plugin, const char *msg)
{
	if (level < SK_LOG_ERR)
		level = SK_LOG_ERR;
	if (level > SK_LOG_DEBUG)
		level = SK_LOG_DEBUG;
	if (h && h->be.log)
		h->be.log(h->be.ud, level, plugin ? plugin : "", msg);
	else
		log_msg(level, plugin && *plugin ? plugin : "host", "%s", msg);
}

/* A line of the host about a plugin (plugin may be NULL for the host itself). */
void host_say(const host *h, const char *plugin, int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	host_emit(h, level, plugin, buf);
}

#define host_plog(pl, level, ...) host_say((pl)->h, (pl)->name, (level), __VA_ARGS__)

/* ---- small helpers ------------------------------------------------------- */

/* strdup that keeps NULL as NULL. Returns the copy, or NULL (also on OOM). */
char *host_strdup(const char *s)
{
	return s ? util_strndup(s, strlen(s)) : NULL;
}

/* Calls free_ud(ud) when there is one. */
void host_free_ud(sk_free_fn free_ud, void *ud)
{
	if (free_ud)
		free_ud(ud);
}

/* Returns 1 on the loop thread; otherwise logs that fn was called from the
 * wrong thread and returns 0. Only checks in debug builds. */
int host_on_loop(const host *h, const char *fn)
{
#ifndef NDEBUG
	if (!pthread_equal(pthread_self(), h->loop)) {
		log_msg(LOG_ERR, "host", "%s called off the loop thread", fn);
		return 0;
	}
#else
	(void)h, (void)fn;
#endif
	return 1;
}

/* Checks a plugin handle handed to a service: a live plugin, on the loop
 * thread. Returns SK_OK with *out set, SK_ERR_INVAL for a bad handle, or
 * SK_ERR_STATE off the loop thread (logged with log_msg, which is safe from
 * any thread, unlike the backend's log). */
int host_check(sk_plugin *p, const char *fn, host_plug **out)
{
	host_plug *pl = (host_plug *)p;

	*out = NULL;
	if (!p || pl->magic != HOST_MAGIC) {
		log_msg(LOG_ERR, "host", "%s: not a plugin handle", fn);
		return SK_ERR_INVAL;
	}
#ifndef NDEBUG
	if (!pthread_equal(pthread_self(), pl->h->loop)) {
		log_msg(LOG_ERR, pl->name, "%s called off the loop thread: host functions are for the loop only "
			"(a work function must not call the host)", fn);
		return SK_ERR_STATE;
	}
#endif
	*out = pl;
	return SK_OK;
}

/* Whether the plugin may register things now: from init to fini, or during
 * its command (handlers and timers registered there never fire: nothing
 * dispatches or runs timers in a command's process). */
int host_alive(const host_plug *pl)
{
	return pl->state == PL_INIT || pl->state == PL_RUNNING || pl->state == PL_FINI || pl->state == PL_COMMAND;
}

/* Whether the plugin runs a command: then there is no session or loop, and
 * sends, mtop and work (whose completion needs the loop) are refused with
 * SK_ERR_STATE, logged as named by what. Returns 1 when refused. */
int host_no_session(host_plug *pl, const char *what)
{
	if (pl->state != PL_COMMAND)
		return 0;
	host_plog(pl, SK_LOG_WARN, "%s refused: a command runs without a session", what);
	return 1;
}

/* The monotonic clock in ms, from the backend when it has one. */
int64_t host_mono(const host *h)
{
	return h->be.mono_ms ? h->be.mono_ms(h->be.ud) : util_mono_us() / 1000;
}

/* Finds a loaded plugin by name; returns it or NULL. */
host_plug *host_find(const host *h, const char *name)
{
	size_t i;

	for (i = 0; name && i < h->nplugs; i++)
		if (!strcmp(h->plugs[i]->name, name))
			return h->plugs[i];
	return NULL;
}


/* Before calling into a plugin. */
void host_enter(host_plug *pl)
{
	pl->h->depth++;
	pl->calls++;
}

/* After a call into a plugin returned: rolls back a transaction it left open
 * (once its outermost call returns), then settles the host when nothing else
 * is running. what names the callback for the log. */
void host_leave(host_plug *pl, const char *what)
{
	host *h = pl->h;

	if (--pl->calls == 0 && pl->in_txn) {
		host_plog(pl, SK_LOG_ERR, "%s returned with a transaction open: rolled back (commit or roll back "
			  "before returning)", what);
		host_txn_end(pl, 'r');
		pl->txn_rollbacks++;
	}
	if (--h->depth == 0)
		host_settle(h);
}

/* ---- session, clock, mtop ------------------------------------------------ */

/* The session's sk_state, SK_STATE_DISCONNECTED without a backend. */
static int host_session_state(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl) || !pl->h->be.session_state)
		return SK_STATE_DISCONNECTED;
	return pl->h->be.session_state(pl->h->be.ud);
}

/* The backend's metrics as malloc'd JSON ("{}" without a backend), NULL on error. */
static char *host_metrics_json(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return NULL;
	if (pl->h->be.metrics_json)
		return pl->h->be.metrics_json(pl->h->be.ud);
	return host_strdup("{}");
}

/* The clocks, from the backend (the fake host's are manual); 0 on a bad call. */
static int64_t host_now_ms(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return 0;
	return pl->h->be.now_ms ? pl->h->be.now_ms(pl->h->be.ud) : util_now_ms();
}

static int64_t host_mono_ms(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return 0;
	return host_mono(pl->h);
}

/* The account id and its own user id (unb), "" when unknown. */
static const char *host_account_id(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return "";
	return pl->h->cfg.account_id ? pl->h->cfg.account_id : "";
}

static const char *host_own_user_id(sk_plugin *p)
{
	host_plug *pl;
	const char *u;

	if (host_check(p, __func__, &pl))
		return "";
	u = pl->h->cfg.own_user_id_ref ? *pl->h->cfg.own_user_id_ref : pl->h->cfg.own_user_id;
	return u ? u : "";
}


/* ---- the service table --------------------------------------------------- */

/* sk_log: one line with the plugin's name as its module. */
static void host_log(sk_plugin *p, int level, const char *fmt, va_list ap)
{
	host_plug *pl;
	char buf[1024];

	if (host_check(p, __func__, &pl) || !fmt)
		return;
	vsnprintf(buf, sizeof buf, fmt, ap);
	host_emit(pl->h, level, pl->name, buf);
}

/* The name of an sk_rc. */
const char *host_strerror(int rc)
{
	switch (rc) {
	case SK_OK: return "ok";
	case SK_ERR_INVAL: return "invalid argument";
	case SK_ERR_NOMEM: return "out of memory";
	case SK_ERR_NOTFOUND: return "not found";
	case SK_ERR_STATE: return "not possible now";
	case SK_ERR_FULL: return "queue full";
	case SK_ERR_DB: return "database error";
	case SK_ERR_CONFIG: return "config error";
	case SK_ERR_UNSUPPORTED: return "not supported by this host";
	case SK_ERR_IO: return "I/O error";
	}
	return rc > 0 ? "not an error code" : "unknown error";
}

/* sk_free: what the host returns non-const is malloc'd. */
static void host_mem_free(void *ptr)
{
	free(ptr);
}


static const sk_host host_table = {
	.size = sizeof(sk_host),
	.abi_major = SK_ABI_MAJOR,
	.abi_minor = SK_ABI_MINOR,
	.log = host_log,
	.strerror = host_strerror,
	.free = host_mem_free,
	.subscribe = host_subscribe,
	.unsubscribe = host_unsubscribe,
	.publish = host_publish,
	.send_text = host_send_text,
	.send_image = host_send_image,
	.send_status = host_send_status,
	.timer_add = host_timer_add,
	.timer_cancel = host_timer_cancel,
	.config_str = host_config_str,
	.config_int = host_config_int,
	.config_num = host_config_num,
	.config_bool = host_config_bool,
	.config_list_len = host_config_list_len,
	.config_list_str = host_config_list_str,
	.config_json = host_config_json,
	.rules_path = host_rules_path,
	.db_exec = host_db_exec,
	.db_changes = host_db_changes,
	.db_last_rowid = host_db_last_rowid,
	.db_begin = host_db_begin,
	.db_commit = host_db_commit,
	.db_rollback = host_db_rollback,
	.work = host_work,
	.session_state = host_session_state,
	.metrics_json = host_metrics_json,
	.now_ms = host_now_ms,
	.mono_ms = host_mono_ms,
	.account_id = host_account_id,
	.own_user_id = host_own_user_id,
	.mtop = host_mtop,
	.send_find = host_send_find,
	.control_add = host_control_add,
	.control_result = host_control_result,
	.control_error = host_control_error,
	.http_post = host_http_post,
	.mtop_ex = host_mtop_ex,
	.control_call = host_control_call,
	.chat_open = host_chat_open,
	.control_run = host_control_run,
	.seal = host_seal,
	.unseal = host_unseal,
};

/* ---- loading and unloading ----------------------------------------------- */

/* Rebuilds the NULL-terminated name list after a change. The list only
 * grows, so a plugin leaving never needs memory. Returns 0 or -1. */
static int host_names_update(host *h)
{
	const char **n;
	size_t i;

	if (h->nplugs + 1 > h->capnames) {
		if (!(n = realloc(h->names, (h->nplugs + 8) * sizeof *n)))
			return -1;
		h->names = n;
		h->capnames = h->nplugs + 8;
	}
	for (i = 0; i < h->nplugs; i++)
		h->names[i] = h->plugs[i]->name;
	h->names[h->nplugs] = NULL;
	return 0;
}

/* Undoes everything of a plugin and frees it: fini first when run_fini and it
 * started; then work, handlers, timers, sends, mtop calls and HTTP requests
 * each get their free_ud exactly once (callbacks of sends and mtop calls
 * still in flight are dropped, HTTP requests are cancelled in the backend);
 * an open transaction is rolled back; statements are finalized, and the
 * object closed. */
static void host_unload_one(host *h, host_plug *pl, int run_fini)
{
	size_t i;

	if (run_fini && pl->state == PL_RUNNING && pl->desc->fini) {
		pl->state = PL_FINI;
		host_enter(pl);
		pl->desc->fini(&pl->pub);
		host_leave(pl, "fini");
	}
	pl->state = PL_DEAD;
	host_work_cancel(h, pl);
	host_event_drop(h, pl);
	host_timer_drop(h, pl);
	host_send_drop(h, pl);
	host_net_drop(h, pl);
	host_ctl_drop(h, pl);
	host_db_drop(pl);
	host_jcache_free(pl);
	for (i = 0; i < h->nplugs; i++)
		if (h->plugs[i] == pl) {
			memmove(h->plugs + i, h->plugs + i + 1, (h->nplugs - i - 1) * sizeof *h->plugs);
			h->nplugs--;
			break;
		}
	host_names_update(h);
	host_subs_compact(h);
	loader_close(&pl->obj);
	pl->magic = 0;
	free(pl);
}

/* Appends a failure line to errs and logs it; quiet (a command: the caller
 * shows errs on the terminal) only appends, when there is an errs. */
static void host_reject(host *h, sbuf *errs, const char *plugin, const char *line, int quiet)
{
	if (!quiet || !errs)
		host_say(h, plugin, SK_LOG_ERR, "%s", line);
	if (errs) {
		sbuf_adds(errs, line);
		sbuf_adds(errs, "\n");
	}
}

/* A command to run instead of init (host_command); status is its result. */
typedef struct {
	int argc;
	char **argv;
	int status;
} host_cmd;

/* Starts the plugin of an opened object (which it takes over): migrations,
 * config check, init. With cmd, command mode: command(argc, argv) instead of
 * init, its exit status in cmd->status, then the plugin is unloaded (no
 * fini), and failures are not logged, only put in errs. Returns 0, or -1
 * with the reason logged and in errs. */
static int host_start(host *h, loader_obj *o, sbuf *errs, host_cmd *cmd)
{
	const sk_plugin_desc *d = o->desc;
	int quiet = cmd != NULL;
	char why[1024];
	host_plug *pl;
	sbuf cfgerr = { 0 };
	void *grown;
	int rc;

	if (host_find(h, d->name)) {
		snprintf(why, sizeof why, "plugin %s (%s): a plugin of that name is loaded already", d->name, o->path);
		host_reject(h, errs, d->name, why, quiet);
		loader_close(o);
		return -1;
	}
	if (h->nplugs == h->capplugs) {
		size_t cap = h->capplugs ? h->capplugs * 2 : 8;

		if (!(grown = realloc(h->plugs, cap * sizeof *h->plugs))) {
			host_reject(h, errs, d->name, "out of memory", quiet);
			loader_close(o);
			return -1;
		}
		h->plugs = grown;
		h->capplugs = cap;
	}
	if (!(pl = calloc(1, sizeof *pl))) {
		host_reject(h, errs, d->name, "out of memory", quiet);
		loader_close(o);
		return -1;
	}
	pl->obj = *o;
	pl->desc = d;
	snprintf(pl->name, sizeof pl->name, "%s", d->name);
	pl->pub.host = &host_table;
	pl->pub.name = pl->name;
	pl->magic = HOST_MAGIC;
	pl->h = h;
	pl->index = h->next_index++;
	pl->state = PL_LOADING;
	if (cJSON_IsObject(h->cfg.plugin_sections))
		pl->section = cJSON_GetObjectItemCaseSensitive(h->cfg.plugin_sections, pl->name);
	h->plugs[h->nplugs++] = pl;
	if (host_names_update(h)) {
		snprintf(why, sizeof why, "plugin %s: out of memory", pl->name);
		goto fail;
	}
	if (host_migrate(h, pl, why, sizeof why))
		goto fail;
	if (host_config_check(d, pl->section, &cfgerr, "; ")) {
		if (cfgerr.len >= 2)
			cfgerr.p[cfgerr.len -= 2] = '\0';
		snprintf(why, sizeof why, "%s", cfgerr.oom ? "out of memory" : cfgerr.p);
		goto fail;
	}
	sbuf_free(&cfgerr);
	if (cmd) {
		host_plog(pl, SK_LOG_DEBUG, "command %s (version %s, from %s)", cmd->argv[0], d->version, o->path);
		pl->state = PL_COMMAND;
		host_enter(pl);
		rc = d->command(&pl->pub, cmd->argc, cmd->argv);
		host_leave(pl, "command");
		/* main returns it: keep it an exit status, and never -1 (host_command's "not found") */
		if (rc < 0 || rc > 255) {
			host_plog(pl, SK_LOG_WARN, "command %s returned %d, not an exit status (0..255): 1 instead",
				  cmd->argv[0], rc);
			rc = 1;
		}
		cmd->status = rc;
		host_unload_one(h, pl, 0);
		return 0;
	}
	pl->state = PL_INIT;
	host_enter(pl);
	rc = d->init(&pl->pub);
	host_leave(pl, "init");
	if (rc != SK_OK) {
		snprintf(why, sizeof why, "plugin %s: init failed: %s (%d)", pl->name, host_strerror(rc), rc);
		goto fail;
	}
	pl->state = PL_RUNNING;
	host_plog(pl, SK_LOG_INFO, "started (version %s, from %s)", d->version, o->path);
	return 0;
fail:
	sbuf_free(&cfgerr);
	host_reject(h, errs, pl->name, why, quiet);
	host_unload_one(h, pl, 0);
	return -1;
}

int host_load(host *h, const char *dir, char *const *names, sbuf *errs)
{
	char err[1024];
	loader_obj o;
	int started = 0;
	size_t i;

	if (!h || !dir || !host_on_loop(h, __func__))
		return -1;
	for (i = 0; names && names[i]; i++) {
		if (loader_open(dir, names[i], &o, err, sizeof err)) {
			host_reject(h, errs, names[i], err, 0);
			continue;
		}
		if (!host_start(h, &o, errs, NULL))
			started++;
	}
	return started;
}

int host_load_file(host *h, const char *path, sbuf *errs)
{
	char err[1024];
	loader_obj o;

	if (!h || !path || !host_on_loop(h, __func__))
		return -1;
	if (loader_open_file(path, NULL, &o, err, sizeof err)) {
		host_reject(h, errs, NULL, err, 0);
		return -1;
	}
	return host_start(h, &o, errs, NULL);
}

int host_command(host *h, const char *dir, char *const *names, int argc, char **argv, sbuf *errs)
{
	host_cmd cmd = { .argc = argc, .argv = argv };
	sbuf skipped = { 0 };
	char err[1024];
	loader_obj o;
	size_t i;

	if (!h || !dir || argc < 1 || !argv || !argv[0] || !host_on_loop(h, __func__))
		return -1;
	for (i = 0; names && names[i]; i++) {
		if (loader_open(dir, names[i], &o, err, sizeof err)) {
			sbuf_addf(&skipped, "%s\n", err);
			continue;
		}
		/* Only the descriptor was read: nothing of this plugin ran. */
		if (!loader_has_command(o.desc, argv[0])) {
			loader_close(&o);
			continue;
		}
		/* The command exists: the other plugins' problems are not its business. */
		sbuf_free(&skipped);
		if (host_start(h, &o, errs, &cmd))
			return 1;
		return cmd.status;
	}
	if (errs && skipped.len)
		sbuf_add(errs, skipped.p, skipped.len);
	sbuf_free(&skipped);
	return -1;
}

int host_check_config(const char *dir, char *const *names, const cJSON *sections, sbuf *errs)
{
	char err[1024];
	loader_obj o;
	int bad = 0;
	size_t i;

	for (i = 0; names && names[i]; i++) {
		if (loader_open(dir, names[i], &o, err, sizeof err)) {
			sbuf_addf(errs, "%s\n", err);
			bad++;
			continue;
		}
		bad += host_config_check(o.desc, cJSON_IsObject(sections) ?
					 cJSON_GetObjectItemCaseSensitive(sections, names[i]) : NULL, errs, "\n");
		loader_close(&o);
	}
	return bad ? -1 : 0;
}

void host_unload_all(host *h)
{
	if (!h || !host_on_loop(h, __func__))
		return;
	/* Let queued work finish and complete while every plugin is whole. */
	host_work_drain(h);
	while (h->nplugs)
		host_unload_one(h, h->plugs[h->nplugs - 1], 1);
}

host *host_new(const host_config *cfg, const host_backend *be)
{
	host *h;

	if (!cfg || !(h = calloc(1, sizeof *h)))
		return NULL;
	h->cfg = *cfg;
	if (be)
		h->be = *be;
	h->loop = pthread_self();
	h->next_id = 1;
	h->nthreads = cfg->worker_threads > 0 ? cfg->worker_threads : 1;
	if (h->nthreads > HOST_WORKERS_MAX)
		h->nthreads = HOST_WORKERS_MAX;
	if (pthread_mutex_init(&h->mu, NULL)) {
		free(h);
		return NULL;
	}
	pthread_cond_init(&h->cv_work, NULL);
	pthread_cond_init(&h->cv_done, NULL);
	if (host_names_update(h)) {
		host_free(h);
		return NULL;
	}
	return h;
}

const host_stats *host_get_stats(const host *h)
{
	return &h->stats;
}

const char *const *host_plugins(const host *h)
{
	return h->names;
}

void host_free(host *h)
{
	host_pub *q;
	int i;

	if (!h)
		return;
	host_unload_all(h);
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_broadcast(&h->cv_work);
	pthread_mutex_unlock(&h->mu);
	for (i = 0; i < h->started; i++)
		pthread_join(h->threads[i], NULL);
	host_net_free_all(h);
	while ((q = h->pubq)) {
		h->pubq = q->next;
		free(q->topic);
		free(q->payload);
		free(q->from);
		free(q);
	}
	h->subs_dirty = 1;
	host_subs_compact(h);
	free(h->subs);
	free(h->added);
	free(h->plugs);
	free(h->names);
	free(h->rules_problem);
	free(h->rules_who);
	pthread_cond_destroy(&h->cv_work);
	pthread_cond_destroy(&h->cv_done);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
