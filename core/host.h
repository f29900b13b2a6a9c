/* SPDX-License-Identifier: MIT */
/*
 * core/host.h - the plugin host: implements the sk_host table of
 * plugins/plugin.h for every loaded plugin, dispatches events, owns every
 * registration (and undoes it), runs plugin migrations, and bridges sends,
 * timers, mtop and work to a backend.
 *
 * The backend is what differs between the real process (core/run.c: the
 * session, lws timers, the mtop client) and the fake host of the tests
 * (tests/fakehost: recorded sends, a manual clock). Everything else - the
 * dispatch order, the ownership rules, the SQLite services - is the same
 * code in both: core/host.c and its rooms behind core/host_int.h.
 */
#ifndef SK_HOST_H
#define SK_HOST_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "../plugins/plugin.h"
#include "util.h"

typedef struct sqlite3 sqlite3;
typedef struct host host;

typedef void (*host_mtop_done)(void *ctx, int result, const char *ret, const char *data_json);
/* A chat open finished: rc 0 with the bare chat id, or a negative sk_rc and "". */
typedef void (*host_chat_done)(void *ctx, int rc, const char *chat_id);
/* An HTTP POST finished: status the HTTP status, or a negative sk_rc (no answer). */
typedef void (*host_http_done)(void *ctx, int status, const char *body);

typedef struct host_backend {
	void *ud;
	/* Queues a send in the outbox (with the plugin's name and tag); writes its
	 * uuid (40 bytes). 0, or a negative sk_rc. The result comes back through
	 * host_send_result. */
	int (*send_text)(void *ud, const char *plugin, const char *tag, const char *chat_id,
			 const char *buyer_id, const char *text, char *uuid_out);
	int (*send_image)(void *ud, const char *plugin, const char *tag, const char *chat_id,
			  const char *buyer_id, const char *url, int w, int h, char *uuid_out);
	/* 0 found (state 0 pending, 1 sent, 2 refused; *detail malloc'd message id or
	 * reason, or NULL), SK_ERR_NOTFOUND, or another negative sk_rc. */
	int (*send_status)(void *ud, const char *uuid, int *state, char **detail);
	/* The latest send plugin queued with tag (non-empty), in this run or an
	 * earlier one: 0 found (uuid_out 40 bytes; state and detail as for
	 * send_status; any output may be NULL), SK_ERR_NOTFOUND, or another
	 * negative sk_rc. NULL: sk_send_find answers SK_ERR_UNSUPPORTED. */
	int (*send_find)(void *ud, const char *plugin, const char *tag, char *uuid_out, int *state,
			 char **detail);
	/* The host wants host_run_timers called at (or after) this monotonic ms. */
	void (*wake_at)(void *ud, int64_t mono_ms);
	int64_t (*now_ms)(void *ud);
	int64_t (*mono_ms)(void *ud);
	/* Starts a signed mtop call; done(ctx, ...) runs exactly once on the loop
	 * (also when the call cannot start: then with SK_MTOP_TRANSPORT). */
	void (*mtop)(void *ud, const char *api, const char *version, unsigned flags, const char *data_json,
		     host_mtop_done done, void *ctx);
	int (*session_state)(void *ud);          /* sk_state */
	char *(*metrics_json)(void *ud);         /* malloc'd */
	/* A worker finished: make the loop call host_work_poll soon (thread-safe). */
	void (*wake_loop)(void *ud);
	/* A plugin published topic (payload JSON text): seen before the plugins
	 * get it (the web page's live events). May be NULL. */
	void (*on_publish)(void *ud, const char *plugin, const char *topic, const char *payload_json);
	/* A log line of a plugin (or of the host about a plugin); NULL: core/log.c. */
	void (*log)(void *ud, int level, const char *plugin, const char *msg);
	/* Starts a POST for sk_http_post (ABI 1.3): url, headers ("Name: value\r\n"
	 * lines, checked and completed by the host), body (len bytes) are copied;
	 * timeout_ms > 0. Returns a handle, or NULL when it cannot start (done
	 * never runs). Otherwise done(ctx, ...) runs exactly once on the loop,
	 * never inside this call, unless http_cancel(handle) ran first. NULL:
	 * sk_http_post answers SK_ERR_UNSUPPORTED. */
	void *(*http_post)(void *ud, const char *url, const char *headers, const char *body, size_t len,
			   int timeout_ms, host_http_done done, void *ctx);
	/* Drops a request started by http_post whose done has not run: it never will. */
	void (*http_cancel)(void *ud, void *handle);
	/* Sends one control request line (JSON, no newline) to the account's
	 * running process and waits up to timeout_ms for the answer line, for
	 * sk_control_call (ABI 1.5) in a command process: 0 with *answer
	 * (malloc'd), SK_ERR_IO when no process listens, or another negative
	 * sk_rc with the reason in err. NULL: SK_ERR_UNSUPPORTED. */
	int (*control_call)(void *ud, const char *request, int timeout_ms, char **answer, char *err, size_t errlen);
	/* Opens the chat with buyer about item (may be "") for sk_chat_open (ABI
	 * 1.5): 0 with *handle set, then done(ctx, ...) runs exactly once on the
	 * loop, never inside this call, unless chat_cancel(handle) ran first; or a
	 * negative sk_rc (SK_ERR_STATE: not connected) and done never runs.
	 * NULL: sk_chat_open answers SK_ERR_UNSUPPORTED. */
	int (*chat_open)(void *ud, const char *buyer, const char *item, host_chat_done done, void *ctx,
			 void **handle);
	/* Drops a chat open whose done has not run: it never will. */
	void (*chat_cancel)(void *ud, void *handle);
} host_backend;

typedef struct host_config {
	const char *account_id;
	const char *own_user_id;               /* unb */
	char *const *own_user_id_ref;          /* when set, the unb is read through it at each
						* call instead: a login may set it while the
						* account runs (core/relogin.c) */
	const char *rules_path;                /* may be NULL */
	const cJSON *plugin_sections;          /* {"<plugin>": {...}}; borrowed */
	sqlite3 *db;                           /* the account's state.db (or an in-memory one); borrowed */
	int worker_threads;                    /* 0 -> 1 */
	const char *key_file;                  /* account.key_file: sk_seal / sk_unseal (NULL: none) */
} host_config;

/* Creates a host. cfg's pointers are borrowed and must outlive it; be is copied. */
host *host_new(const host_config *cfg, const host_backend *be);

/* Loads and starts plugins in order: <dir>/<name>.so for each name (NULL-terminated).
 * A plugin rejected by the loader, its migrations, its config check or its
 * init is logged, reported as one line in errs, and left out; the others go
 * on. Returns the number started, or -1 on a host error. */
int host_load(host *h, const char *dir, char *const *names, sbuf *errs);
/* Loads one object file (tests, the fake host); 0 or -1 with the reason in errs. */
int host_load_file(host *h, const char *path, sbuf *errs);

/* Runs a plugin's command-line command (plugins/plugin.h, COMMANDS): opens the
 * plugins of names (NULL-terminated) in order until one declares argv[0]
 * among its commands, starts that one in command mode - migrations, config
 * check, then command(argc, argv) instead of init; never fini - and unloads
 * it. Returns the command's exit status (a value outside 0..255 is logged and
 * becomes 1), 1 when the plugin could not be started (the reason in errs), or
 * -1 when no plugin of names declares argv[0] (or argc < 1): nothing was run,
 * and errs has a line for each plugin that could not be opened, in case one
 * of them was meant. Plugins opened on the way are closed without running any
 * of their code. Nothing is logged of what goes to errs: the caller shows it. */
int host_command(host *h, const char *dir, char *const *names, int argc, char **argv, sbuf *errs);

/* Validates plugin config sections against the declared keys without starting
 * anything (shopkeep check): opens each plugin, checks, closes. errs gets one
 * line per problem ("<plugin>.<key>: <reason>"). 0 or -1. */
int host_check_config(const char *dir, char *const *names, const cJSON *sections, sbuf *errs);

/* Delivers an event to every matching handler, in plugins.load order, then
 * priority (lower first), then registration order, until one returns SK_STOP. */
void host_dispatch(host *h, const sk_event *e);

/* A send finished. If it was made in this run, its callback runs (then its
 * free_ud); otherwise SK_EV_SEND_RESULT goes to the handlers of its plugin. */
void host_send_result(host *h, const char *uuid, int ok, const char *detail, const char *plugin,
		      const char *tag);

/* Runs due timers (call when the backend's wake_at time comes). */
void host_run_timers(host *h);
/* Runs the completions of finished work (call after wake_loop). */
void host_work_poll(host *h);
/* Waits for every queued work item to finish and runs its completion (tests, shutdown). */
void host_work_drain(host *h);

/* Runs the control command a running plugin registered (sk_control_add)
 * with data_json (NULL: "{}"). Returns SK_OK with *result the data as JSON
 * text (malloc'd, NULL for null), or a negative sk_rc with *error a readable
 * reason (malloc'd): SK_ERR_NOTFOUND when no plugin has the command. */
int host_control(host *h, const char *command, const char *data_json, char **result, char **error);
/* Calls cb for each control command of a running plugin, in registration order. */
void host_control_each(const host *h, void (*cb)(const char *name, const char *plugin, const char *help, void *ud),
		       void *ud);
/* Asks every running plugin with a rules_check (ABI 1.2) whether the rules
 * document json is valid. Returns 0, or -1 with one line per problem in errs
 * ("<plugin>: <problem>"). */
int host_rules_check(const host *h, const char *json, size_t len, sbuf *errs);
/* shopkeep check: reads the rules file path (NULL: none configured, 0) and
 * validates it with the rules_check of every plugin of names (opened from
 * dir, never started). Returns 0, or -1 with one line per problem in errs:
 * "rules <path>: <problem>" for a missing, unreadable or non-JSON file,
 * "rules <path>: <plugin>: <problem>" for what a plugin refused. */
int host_check_rules(const char *dir, char *const *names, const char *path, sbuf *errs);

/* What the rules in force are, as host_rules_verify last found the file. */
enum {
	HOST_RULES_OFF = 0,        /* no rules file configured */
	HOST_RULES_OK,             /* the file is valid: the plugins have its rules */
	HOST_RULES_BROKEN,         /* refused and never valid in this run: the rules are empty */
	HOST_RULES_STALE           /* refused, the rules of an earlier valid file stay in force */
};
/* Reads the account's rules file and asks every running plugin's rules_check
 * about it, as the plugins do when they load it (after host_load, and at
 * each reload); a refused file is logged. */
void host_rules_verify(host *h);
/* Returns HOST_RULES_*; *problem is why the file is refused ("" when it is
 * not), *who the plugins that refused it ("autoreply, orders"; "" when the
 * file itself is missing or not JSON, so no plugin has rules), both
 * borrowed until the next host_rules_verify. */
int host_rules_status(const host *h, const char **problem, const char **who);
/* SIGHUP: the plugins' config sections from a config loaded again. Checks
 * every loaded plugin's section against its declared keys first: -1 with one
 * "<plugin>.<key>: <reason>" line per problem in errs and nothing changed, or
 * 0 and the plugins read sections (borrowed: must outlive the host, or the
 * next replace) from now on. */
int host_config_replace(host *h, const cJSON *sections, sbuf *errs);

/* Counters for the metrics. */
typedef struct {
	int64_t dispatched, handler_errors, stopped, sends, timers_fired, work_done;
} host_stats;
const host_stats *host_get_stats(const host *h);
/* Names of the running plugins, NULL-terminated, borrowed. */
const char *const *host_plugins(const host *h);

/* fini, then every registration undone and every free_ud called, then dlclose, for
 * every plugin in reverse load order. */
void host_unload_all(host *h);
void host_free(host *h);

#endif
