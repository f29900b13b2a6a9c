/* SPDX-License-Identifier: MIT */
/*
 * core/run.c - `shopkeep run`: the lws context, the state store and the
 * session of one account, on one event loop, until SIGINT/SIGTERM.
 *
 * Signals only set flags and wake the loop (lws_cancel_service); the loop acts
 * on them. SIGUSR1 logs the metrics.
 */
#include "run.h"
#include "api.h"
#include "auth.h"
#include "bridge.h"
#include "convo.h"
#include "daemon.h"
#include "ctl.h"
#include "feed.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "relogin.h"
#include "session.h"
#include "store.h"
#include "util.h"
#include "web.h"

#include <errno.h>
#include <libwebsockets.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <unistd.h>

/* The fds the loop may hold: enough that idle page connections (capped
 * at a quarter of it) never starve the platform session, the HTTP client
 * and the control socket, few enough that lws's per-fd tables stay small
 * (1000 accounts a machine). */
#define RUN_FD_WANT 1024

static volatile sig_atomic_t got_stop, got_usr1, got_hup;
static struct lws_context *run_ctx;

typedef struct {
	config *cfg;
	session *sess;
	bridge *plugins;
	auth *au;
	api_ctx *api;
	web *web;
	ctl *ctl;
	relogin *rl;
	convo *cv;                         /* the conversation store (core/convo.c) */
	lws_sorted_usec_list_t sul_chats;  /* its retention */
	FILE *event_log;
	int stopped;
	lws_sorted_usec_list_t sul_hard;   /* the last resort of a stop that does not finish */
} run_app;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
	if (run_ctx)
		lws_cancel_service(run_ctx);
}

/* Writes one feed line (core/feed.h; taken over, NULL is ignored) to the
 * event log (debug.event_log), if configured, and to the live page's
 * clients when page is set. */
static void run_feed(run_app *a, char *line, int page)
{
	if (!line)
		return;
	if (a->event_log) {
		fprintf(a->event_log, "%s\n", line);
		fflush(a->event_log);
	}
	if (page)
		web_broadcast(a->web, line);
	else
		free(line);
}

static void on_event(void *ud, const ev *e)
{
	run_app *a = ud;
	int page;

	if (a->cfg->reply_prefix && e->type == EV_CHAT_TEXT && !e->own && e->chat_id[0] && e->sender_id[0]) {
		/* debug.reply_prefix: the diagnostic answer, through the real send path */
		sbuf b = {0};

		sbuf_adds(&b, a->cfg->reply_prefix);
		sbuf_adds(&b, e->text);
		if (!b.oom && session_send_text(a->sess, NULL, NULL, e->chat_id, e->sender_id, b.p, NULL))
			log_warn("run", "reply to chat %s not queued", e->chat_id);
		sbuf_free(&b);
	}
	if (!feed_is_noise(e))
		log_info("event", "%s%s%s chat=%s from=%s%s%s%s", event_type_name(e->type),
			 e->trade ? " " : "", e->trade ? trade_status_name(e->trade) : "", e->chat_id, e->sender_id,
			 e->own ? (e->echo ? " (our echo)" : " (own, not an echo)") : "",
			 e->order_id[0] ? " order=" : "", e->order_id);
	log_debug("event", "%s chat=%s text=%.*s", event_type_name(e->type), e->chat_id, log_utf8_prefix(e->text, 80),
		  e->text);
	/* stored before the plugins see it: a reply they queue now comes after it */
	convo_note_event(a->cv, e);
	if (a->plugins)
		bridge_event(a->plugins, e);
	/* no line is made when nobody would get it (the per-event path) */
	page = web_clients(a->web) && !feed_is_noise(e);
	if (page || a->event_log)
		run_feed(a, feed_event_line(e), page);
}

static void on_state(void *ud, sess_state from, sess_state to, const char *why)
{
	run_app *a = ud;
	/* the kind is set before the state changes; the session is NULL only
	 * while session_new runs */
	const char *kind = a->sess ? session_fail_kind(a->sess) : "";
	int page;

	if (a->plugins)
		bridge_state(a->plugins, from, to, why, kind, a->sess ? session_punish_url(a->sess) : "");
	page = web_clients(a->web);
	if (page || a->event_log)
		run_feed(a, feed_state_line(session_state_name(from), session_state_name(to), why, kind), page);
}

/* The plugins' timers due now (dedup's 0 ms flush of what the dispatch let
 * through) run inside the batch instead of in a commit of their own. */
static void on_batch_end(void *ud)
{
	run_app *a = ud;

	if (a->plugins)
		bridge_run_due(a->plugins);
}

static void on_send(void *ud, const char *uuid, int ok, const char *detail, const char *plugin, const char *tag)
{
	run_app *a = ud;
	int page;

	if (a->plugins)
		bridge_send_result(a->plugins, uuid, ok, detail, plugin, tag);
	page = web_clients(a->web);
	if (page || a->event_log)
		run_feed(a, feed_send_line(uuid, ok, detail, plugin, tag), page);
}

static void on_publish(void *ud, const char *plugin, const char *topic, const char *payload_json)
{
	run_app *a = ud;

	/* the plugins' publications go to the page only, not to the event log */
	if (web_clients(a->web))
		web_broadcast(a->web, feed_plugin_line(plugin, topic, payload_json));
}

/* The retention of the conversations (chats.retention_days; 0 keeps
 * them): deletes the older messages RUN_CHATS_BATCH ids at a time from the
 * oldest, again in 1 s while it deleted some, else in an hour. */
#define RUN_CHATS_BATCH 1000
static void chats_prune_cb(lws_sorted_usec_list_t *sul)
{
	run_app *a = lws_container_of(sul, run_app, sul_chats);
	int days = a->cfg->chats_retention_days, n = 0;

	if (days > 0) {
		n = convo_prune(a->cv, util_now_ms() - (int64_t)days * 86400000, RUN_CHATS_BATCH);
		if (n > 0)
			log_debug("run", "chats: %d message(s) older than %d days deleted", n, days);
	}
	lws_sul_schedule(run_ctx, 0, &a->sul_chats, chats_prune_cb,
			 (lws_usec_t)(n > 0 ? 1 : 3600) * LWS_US_PER_SEC);
}

/* lws's log levels for ours. */
static int run_lws_levels(void)
{
	return LLL_ERR | LLL_WARN | (log_level() >= LOG_DEBUG ? LLL_NOTICE : 0);
}

static void lws_emit(int level, const char *line);

/* One log line of a list of lines ("a\nb\n" -> "a; b"). */
static void run_join_lines(sbuf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] == '\n')
			b->p[i] = i + 1 < b->len ? ';' : '\0';
}

/* The page's session and login limits from the config (web.*). */
static void run_auth_limits(run_app *a)
{
	const config *c = a->cfg;

	auth_set_limits(a->au, &(auth_limits){ .idle_ms = (int64_t)c->web_session_idle_s * 1000,
					       .max_ms = (int64_t)c->web_session_max_s * 1000,
					       .setup_ms = (int64_t)c->web_setup_token_s * 1000,
					       .delay_max_ms = c->web_login_delay_max_ms });
}

/* SIGHUP (and the page's reload): the config file again - its live keys
 * (config_take_live; a file with any error changes nothing) - then the
 * plugins reload their files and config ("core.reload"). */
static void run_reload(run_app *a, const char *why)
{
	config next;
	sbuf errs = {0}, restart = {0};
	const char *path = a->cfg->path;

	memset(&next, 0, sizeof next);
	if (daemon_reopen_log())
		log_err("run", "%s: cannot open the log file again: %s; logging on to the old one", why, strerror(errno));
	if (!path) {
		log_info("run", "%s: plugins reload their files", why);
	} else if (config_load(path, &next, &errs)) {
		run_join_lines(&errs);
		log_err("run", "%s: %s has errors, nothing of it is taken (the rules are still reloaded): %s", why, path,
			errs.p ? errs.p : "out of memory");
	} else if (host_config_replace(bridge_host(a->plugins), next.plugin_sections, &errs)) {
		run_join_lines(&errs);
		log_err("run", "%s: %s: a plugin's section has errors, nothing of it is taken: %s", why, path,
			errs.p ? errs.p : "out of memory");
	} else {
		config_take_live(a->cfg, &next, &restart);
		log_set_level(a->cfg->log_level);
		lws_set_log_level(run_lws_levels(), lws_emit);
		session_reconfigure(a->sess);
		run_auth_limits(a);
		log_info("run", "%s: config %s reloaded; plugins reload their files", why, path);
		if (restart.len)
			log_warn("run", "%s: changed in %s, but only taken at the next start: %s", why, path, restart.p);
	}
	config_free(&next);
	sbuf_free(&errs);
	sbuf_free(&restart);
	bridge_reload(a->plugins);
	host_rules_verify(bridge_host(a->plugins));
}

/* The web page saved the rules or asked for a reload: as SIGHUP. */
static void on_reload(void *ud)
{
	run_reload(ud, "reload asked from the web page");
}

static int64_t run_mono_ms(void)
{
	return util_mono_us() / 1000;
}

/* The web page: auth, api, the vhost. Returns 0, or -1 (logged) when it was
 * asked for and cannot run (then a->web is NULL). */
static int run_web(run_app *a, const config *c, store *st, int fd_limit)
{
	api_env env;
	char err[256];
	const char *setup;

	if (!c->web_port)
		return 0;
	if (!(a->au = auth_new(st, (int64_t)c->web_session_idle_s * 1000, c->web_pwhash_min, run_mono_ms))) {
		log_err("web", "cannot read the admin password from state.db");
		return -1;
	}
	run_auth_limits(a);
	memset(&env, 0, sizeof env);
	env.cfg = c;
	env.sess = a->sess;
	env.plugins = bridge_host(a->plugins);
	env.rl = a->rl;
	env.au = a->au;
	env.cv = a->cv;
	env.reload = on_reload;
	env.ud = a;
	if (a->api)
		api_set_auth(a->api, a->au);
	else if (!(a->api = api_new(&env)))
		return -1;
	if (!(a->web = web_new(run_ctx, c, a->api, fd_limit / 4 < 64 ? fd_limit / 4 : 64, err, sizeof err))) {
		log_err("web", "web.listen %s: %s", c->web_listen, err);
		return -1;
	}
	bridge_on_publish(a->plugins, on_publish, a);
	{
		char idx[4200];

		snprintf(idx, sizeof idx, "%s/index.html", c->web_root);
		if (access(idx, R_OK))
			log_warn("web", "web.root %s has no index.html: the API works, the page will not", c->web_root);
	}
	if ((setup = auth_setup_token(a->au)))
		log_warn("web", "no admin password yet: open the page and set one with the setup token %s "
			 "(valid for %d s; a fresh one: shopkeep ctl --config FILE setup_token; "
			 "or run shopkeep passwd --config FILE)", setup, c->web_setup_token_s);
	return 0;
}

/* The loop's fd limit: RLIMIT_NOFILE's soft limit, raised towards the hard
 * one when it is below RUN_FD_WANT, and at most RUN_FD_WANT. */
static int run_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 256;
	if (rl.rlim_cur < RUN_FD_WANT && rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max < RUN_FD_WANT ? rl.rlim_max : RUN_FD_WANT;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			log_warn("run", "cannot raise the open files limit from %llu: %s", (unsigned long long)was,
				 strerror(errno));
			rl.rlim_cur = was;
		}
	}
	if (rl.rlim_cur < 64)
		log_warn("run", "the open files limit is %llu: the page and the control socket may be refused "
			 "connections (raise it: ulimit -n / LimitNOFILE=)", (unsigned long long)rl.rlim_cur);
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > RUN_FD_WANT ? RUN_FD_WANT : (int)rl.rlim_cur;
}

static void on_stopped(void *ud)
{
	run_app *a = ud;

	a->stopped = 1;
	lws_cancel_service(run_ctx);
}

/* The close did not finish (a peer that never answers the close frame): stop anyway. */
static void stop_hard_cb(lws_sorted_usec_list_t *sul)
{
	run_app *a = lws_container_of(sul, run_app, sul_hard);

	log_warn("run", "the session did not close in time; stopping anyway");
	a->stopped = 1;
}

/* lws's own log lines go through ours; ERR carries TLS failure reasons. */
static void lws_emit(int level, const char *line)
{
	size_t n = strlen(line);

	log_msg(level == LLL_ERR ? LOG_ERR : level == LLL_WARN ? LOG_WARN : LOG_DEBUG, "lws", "%.*s",
		(int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
}

/* state.sync_sends (default "orders": the deliveries of stock) into the
 * store; a name that is no plugin of plugins.load is logged, since its
 * sends would never be synced. */
static void run_sync_sends(const config *c, store *st)
{
	const char *spec = c->state_sync_sends ? c->state_sync_sends : "orders", *p = spec;

	if (store_sync_sends(st, spec))
		log_warn("run", "state.sync_sends: out of memory: every send is synced");
	if (!strcmp(spec, "all") || !strcmp(spec, "none"))
		return;
	while (*p) {
		size_t len;
		int i, found;

		p += strspn(p, " ,");
		len = strcspn(p, " ,");
		found = len == 4 && !strncmp(p, "core", 4);
		for (i = 0; !found && i < c->n_plugins; i++)
			found = strlen(c->plugins_load[i]) == len && !strncmp(c->plugins_load[i], p, len);
		if (len && !found && c->state_sync_sends)
			log_warn("run", "state.sync_sends: %.*s is not in plugins.load: its sends are not synced", (int)len,
				 p);
		p += len;
	}
}

/* Opens what the account's state is: the event log (0600: it holds buyers'
 * messages and card codes, also one an older version made with the umask's
 * mode), the run lock (one process per state.db, whatever control.socket
 * says), state.db (a file that cannot be opened or is damaged exits 74, as a
 * failed commit does later) and its account. Returns 0 with *st and *lockfd
 * set, or the exit status (everything it opened closed again). */
static int run_open_state(config *c, run_app *app, store **st, int *lockfd)
{
	char err[600];
	int rc = 0;

	if (c->event_log && (!(app->event_log = fopen(c->event_log, "a")) || fchmod(fileno(app->event_log), 0600))) {
		log_err("run", "cannot open debug.event_log %s (or make it 0600): %s", c->event_log, strerror(errno));
		if (app->event_log)
			fclose(app->event_log);
		app->event_log = NULL;
		return 1;
	}
	if ((*lockfd = store_lock(c->state_db, c->account_id, err, sizeof err)) < 0) {
		log_err("run", "%s", err);
		rc = *lockfd == -1 ? 1 : 74;
		goto fail;
	}
	*st = store_open(c->state_db, err, sizeof err);
	if (!*st || store_account(*st, c->account_id, err, sizeof err) ||
	    (rc = store_use_lock(*st, *lockfd, c->account_id, err, sizeof err))) {
		log_err("run", "state.db %s", err);
		rc = !*st || rc ? 74 : 1;
		store_close(*st);
		*st = NULL;
		close(*lockfd);
		goto fail;
	}
	return 0;
fail:
	if (app->event_log)
		fclose(app->event_log);
	app->event_log = NULL;
	return rc;
}

/* The client vhost the platform session connects through (no listener),
 * with permessage-deflate. NULL on failure. */
static struct lws_vhost *run_platform_vhost(config *c, struct lws_protocols *protocols)
{
	static const struct lws_extension exts[] = {
		{"permessage-deflate", lws_extension_callback_pm_deflate,
		 "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
		{NULL, NULL, NULL}
	};
	struct lws_context_creation_info info;

	memset(protocols, 0, 3 * sizeof *protocols);
	protocols[0] = session_protocol;
	protocols[1] = http_protocol;
	memset(&info, 0, sizeof info);
	/* Not the OS CA bundle at start (OpenSSL 3 parses all of Debian's 140
	 * roots: 50 ms, most of the time to registered): session.c adds the CA
	 * directory instead, whose certificates are read when a chain needs them. */
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.vhost_name = "platform";
	info.protocols = protocols;
	info.extensions = exts;
	info.client_ssl_ca_filepath = c->ca_file;
	info.timeout_secs = (unsigned)c->connect_timeout_s;
	info.connect_timeout_secs = (unsigned)c->connect_timeout_s;
	return lws_create_vhost(run_ctx, &info);
}

/* Starts the plugins, checks the rules they loaded and starts the page. */
static void run_plugins_and_page(run_app *app, config *c, store *st, int fd_limit)
{
	sbuf errs = {0};
	int n = bridge_load(app->plugins, &errs);

	if (errs.len)
		log_err("run", "plugins not started: %s", errs.p);
	log_info("run", "%d of %d plugins started", n < 0 ? 0 : n, c->n_plugins);
	sbuf_free(&errs);
	/* what the plugins just loaded: a refused file shows in the status */
	host_rules_verify(bridge_host(app->plugins));
	/* The page is for the seller; the platform session is the job: without the page it goes on. */
	if (run_web(app, c, st, fd_limit))
		log_err("web", "the web page is NOT running (see above); the account runs without it");
}

/* The loop: serves lws until the account stops, taking the signals'
 * requests (metrics, reload, stop) between turns. Returns 0, or 1 when lws
 * failed. */
static int run_loop(run_app *app, config *c)
{
	while (!app->stopped) {
		if (lws_service(run_ctx, 0) < 0)
			return 1;
		bridge_poll(app->plugins);
		if (got_usr1) {
			got_usr1 = 0;
			session_log_metrics(app->sess);
		}
		if (got_hup) {
			got_hup = 0;
			run_reload(app, "SIGHUP");
		}
		if (got_stop == 1) {
			got_stop = 2;
			log_info("run", "stopping: plugins flush, queued sends go out for up to %d s, then close",
				 c->send_stop_flush_s);
			/* Plugins send what they hold back first; the session still takes
			 * sends and pushes while it flushes (the replies are queued, and
			 * what cannot go out in time stays in the outbox). */
			bridge_stopping(app->plugins);
			session_stop(app->sess, c->send_stop_flush_s * 1000, on_stopped, app);
			lws_sul_schedule(run_ctx, 0, &app->sul_hard, stop_hard_cb,
					 ((lws_usec_t)c->send_stop_flush_s + 2) * LWS_US_PER_SEC);
		}
	}
	return 0;
}

int run_main(config *c)
{
	struct lws_protocols protocols[3];
	struct lws_context_creation_info info;
	struct lws_vhost *vh;
	session_hooks hooks;
	run_app app;
	store *st = NULL;
	int rc = 0, lockfd = -1, fd_limit;

	if (sodium_init() < 0)
		return 1;
	log_set_level(c->log_level ? c->log_level : "info");
	memset(&app, 0, sizeof app);
	app.cfg = c;
	if ((rc = run_open_state(c, &app, &st, &lockfd)))
		return rc;
	run_sync_sends(c, st);
	lws_set_log_level(run_lws_levels(), lws_emit);

	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.fd_limit_per_thread = (unsigned)(fd_limit = run_fd_limit());
	run_ctx = lws_create_context(&info);
	if (!run_ctx) {
		store_close(st);
		close(lockfd);
		return 1;
	}
	vh = run_platform_vhost(c, protocols);
	if (!vh) {
		lws_context_destroy(run_ctx);
		store_close(st);
		close(lockfd);
		return 1;
	}
	memset(&hooks, 0, sizeof hooks);
	hooks.on_event = on_event;
	hooks.on_state = on_state;
	hooks.on_send = on_send;
	hooks.on_batch_end = on_batch_end;
	hooks.ud = &app;
	app.sess = session_new(run_ctx, vh, c, st, &hooks);
	if (!app.sess) {
		lws_context_destroy(run_ctx);
		store_close(st);
		close(lockfd);
		return 1;
	}
	if (!(app.cv = convo_new(st, c)))
		log_err("run", "state.db: the conversation store cannot start: chat messages are not stored");
	session_set_convo(app.sess, app.cv);
	app.plugins = bridge_new(run_ctx, app.sess, st, c);
	if (!app.plugins) {
		lws_context_destroy(run_ctx);
		session_free(app.sess);
		convo_free(app.cv);
		store_close(st);
		close(lockfd);
		return 1;
	}
	/* The control API (the page's, given its auth by run_web, and the local
	 * socket's), then the local control socket (shopkeep status) before any
	 * plugin starts: a live one means the account runs already, and a second
	 * process must not start plugins (they resume deliveries) on its state. */
	app.rl = relogin_new(run_ctx, vh, c, st, app.sess);
	app.api = api_new(&(api_env){ .cfg = c, .sess = app.sess, .plugins = bridge_host(app.plugins),
				      .rl = app.rl, .cv = app.cv, .reload = on_reload, .ud = &app });
	if (ctl_start(&app.ctl, run_ctx, app.api, &(api_env){ .cfg = c, .sess = app.sess,
		      .plugins = bridge_host(app.plugins), .rl = app.rl, .cv = app.cv, .reload = on_reload, .ud = &app })) {
		rc = 1;
		app.stopped = 1;
	}
	if (!app.stopped)
		run_plugins_and_page(&app, c, st, fd_limit);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGHUP, on_signal);
	if (!app.stopped) {
		log_info("run", "account %s starting (unb %s)", c->account_id, c->unb ? c->unb : "none: log in first");
		session_start(app.sess);
		if (app.cv)
			lws_sul_schedule(run_ctx, 0, &app.sul_chats, chats_prune_cb, 1);
	}
	if (run_loop(&app, c))
		rc = 1;
	lws_sul_cancel(&app.sul_hard);
	lws_sul_cancel(&app.sul_chats);
	session_log_metrics(app.sess);
	bridge_unload(app.plugins);
	relogin_free(app.rl);   /* before the context: it cancels its timers and requests */
	app.rl = NULL;
	lws_context_destroy(run_ctx);
	run_ctx = NULL;
	session_free(app.sess);
	http_free_all();
	bridge_free(app.plugins);
	web_free(app.web);
	ctl_free(app.ctl);
	api_free(app.api);
	auth_free(app.au);
	convo_free(app.cv);
	store_close(st);
	close(lockfd);
	if (app.event_log)
		fclose(app.event_log);
	log_info("run", "stopped");
	return rc;
}
