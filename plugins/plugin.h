/* SPDX-License-Identifier: MIT */
/*
 * plugins/plugin.h - the whole shopkeep plugin ABI. A plugin includes this one
 * header and nothing else of shopkeep. This comment is the manual, by topic:
 * first how to start and the rules every plugin lives by (lifecycle,
 * threading, ownership, return codes, versioning), then one paragraph per
 * host service that points at its example. The exact contract of each call
 * is on its wrapper (sk_...) further down.
 *
 * WRITING A PLUGIN: THE STAIRCASE
 *   Copy the smallest example that does what you need; each is one C file of
 *   60 lines or less, built by `make` and tested against the fake host
 *   (tests/unit/test_<name>.c):
 *       plugins/hello/       events and replies (the template, 30 lines)
 *       plugins/hellotimer/  a repeating timer and its ud
 *       plugins/hellodb/     a table made by a migration, rows, a query
 *       plugins/helloctl/    a control command: result and error
 *       plugins/hellohttp/   an HTTP POST (a webhook) and its answer
 *       plugins/hellocli/    a command-line command
 *   then plugins/dedup/ (a real plugin of 400 lines), notify, autoreply and
 *   orders. A plugin ends with
 *       SK_PLUGIN(.name = "hello", .version = "1.0", .description = "...",
 *                 .init = hello_init);
 *   Build it as a shared object with -fPIC -shared -fvisibility=hidden
 *   -Wl,-z,defs (`pkg-config --cflags shopkeep-plugin` gives the include path),
 *   put it in plugins.dir as <name>.so and add <name> to plugins.load in the
 *   account's config. plugins/README.md has the walk-through and shows how to
 *   test a plugin against the fake host (tests/fakehost). The hello<x>
 *   examples are not installed by `make install`.
 *
 * LIFECYCLE
 *   The loader dlopens <dir>/<name>.so (RTLD_NOW | RTLD_LOCAL) and checks the
 *   exported descriptor `sk_plugin_entry` before any plugin code runs: ABI major
 *   equal, minor not newer than the host's, descriptor size, a valid name equal
 *   to the one in plugins.load and unique. Then the host runs the plugin's
 *   schema migrations, validates its config section against its declared keys,
 *   and calls init(p). init registers handlers, timers, ... and returns SK_OK,
 *   or a negative sk_rc to refuse to start: the host then undoes everything it
 *   registered and unloads it. At shutdown (or unload) fini(p), if given, runs
 *   first; then the host cancels every registration left and calls every
 *   free_ud. Most plugins need no fini.
 *
 * THREADING
 *   One thread: every callback runs on the event loop, and host functions may
 *   only be called from it. Never block in a callback (no sleep, no network, no
 *   slow disk): wait with sk_timer_add, and run unavoidable blocking work with
 *   sk_work, whose work function runs on a worker thread and must not call the
 *   host; its done function runs back on the loop.
 *
 * OWNERSHIP (one rule, everywhere)
 *   1. Inbound data is borrowed: an event and every pointer in it live until
 *      the callback returns. To keep something, copy it.
 *   2. Outbound data is copied: whatever you pass to the host is copied before
 *      the call returns.
 *   3. The only transfer is ud + free_ud given at registration: the host calls
 *      free_ud(ud) exactly once, when the registration ends (cancelled, a
 *      one-shot finished, or the plugin unloaded; also when the call failed).
 *   4. A const pointer returned by the host is borrowed (valid until the
 *      callback returns); a non-const one is yours, freed with sk_free.
 *   Strings are UTF-8, NUL-terminated and never NULL ("" when absent).
 *
 * RETURN CODES
 *   sk_rc: SK_OK (0) or a named negative code; sk_strerror names it. Event
 *   handlers return SK_PASS or SK_STOP (handled: later handlers do not see the
 *   event); a negative return is a plugin failure: logged, counted, and the
 *   chain goes on as for SK_PASS. A failure a buyer should see is a reply, not
 *   an error code.
 *
 * VERSIONING
 *   The host table only grows: members are appended (marked "since 1.N"),
 *   never removed or reordered. SK_HOST_HAS(p, member) tells whether the host
 *   you run on has a member newer than the minor you were built against.
 *   Event structs begin with their size and also only grow.
 *
 * THE SERVICES (the contract of each call is on its wrapper below)
 *   EVENTS: sk_subscribe a handler to a mask of event types with a filter and
 *   a priority; handlers run in plugins.load order, then priority, then
 *   registration order, until one returns SK_STOP. sk_publish sends a topic to
 *   the other plugins (SK_EV_PLUGIN). Example: plugins/hello.
 *   SENDS: sk_reply, sk_send_text, sk_send_image go through the account's
 *   durable outbox and pacing; sk_send_status and sk_send_find (by tag) make
 *   a send exactly-once across a crash. Example: plugins/hello (plugins/orders
 *   for the tag pattern).
 *   TIMERS: sk_timer_add (one-shot or repeating), sk_timer_cancel; the clocks
 *   are sk_now_ms and sk_mono_ms. Example: plugins/hellotimer.
 *   CONFIG: the plugin's own section, declared in .config_keys (undeclared
 *   keys are config errors), read with sk_config_*; sk_rules_path is the
 *   account's rules file. Examples: plugins/hellotimer, plugins/hellohttp.
 *   DATABASE: the account's SQLite through sk_db_exec, transactions with
 *   sk_db_begin/commit/rollback, the schema in .migrations (tables named
 *   <plugin>_...). Writes are committed with the loop turn before anything of
 *   it leaves the process (see sk_db_exec). Example: plugins/hellodb.
 *   WORKER QUEUE: sk_work runs blocking work off the loop.
 *   MTOP: sk_mtop, a signed call of the platform's API (see the core's
 *   docs/protocol.md). Example: plugins/orders.
 *   CONTROL COMMANDS AND RULES CHECKS (since 1.2): sk_control_add registers
 *   a command of the account's control API (its web page, POST /api/control,
 *   web/API.md), answered with sk_control_result or sk_control_error; the
 *   descriptor's .rules_check validates a rules file before the page saves
 *   it. Example: plugins/helloctl.
 *   HTTP POST (since 1.3): sk_http_post sends one POST (a webhook, say) and
 *   calls back once with the answer. Example: plugins/hellohttp.
 *   BACKFILLED EVENTS (since 1.4): sk_event.backfilled marks a chat event
 *   fetched from the history after an outage rather than pushed (it may be
 *   old: look at created_ms). Example: plugins/autoreply.
 *   MTOP VERSIONS (since 1.5): sk_mtop_ex calls an API of another version
 *   (rate.create is 4.0) or a seller-console API (SK_MTOP_SELLER: sold
 *   orders, valueType=string). Examples: plugins/items, plugins/orders.
 *   CONTROL CALLS (since 1.5): sk_control_call lets a command process ask
 *   the account's running process to run one control command (its own, or
 *   any other of the control API) and get the answer. Example:
 *   plugins/orders (`shopkeep orders retry`).
 *   CONTROL COMMANDS IN PROCESS (since 1.6): sk_control_run runs another
 *   plugin's control command at once and returns its answer: how autoreply
 *   hands a message no keyword rule matched to the agent (agent_take).
 *   Example: plugins/autoreply (autoreply_agent.c).
 *   SECRETS (since 1.6): sk_seal and sk_unseal encrypt a secret (an API key)
 *   with the account's key, as the cookie is, to keep it in a table; never
 *   log one. Example: plugins/agent (agent_ctl.c).
 *   CHATS (since 1.5): sk_chat_open opens (or finds) the chat with a buyer
 *   who never wrote, for sends to an order pulled from the seller's list.
 *   Example: plugins/orders (orders_pull.c).
 *   COMMANDS (since 1.1): the descriptor's .commands and .command add
 *   `shopkeep <command> --config FILE [args]`, run in a short process of its
 *   own instead of init (the contract is on sk_plugin_desc's .commands).
 *   Example: plugins/hellocli.
 */
#ifndef SHOPKEEP_PLUGIN_H
#define SHOPKEEP_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SK_ABI_MAJOR 1
#define SK_ABI_MINOR 6

typedef struct sk_host sk_host;

/* A loaded plugin, as the host hands it to every callback. The first members
 * are public; the host keeps more after them. */
typedef struct sk_plugin {
	const sk_host *host;     /* the service table (same as the one given to init) */
	void *ud;                /* the plugin's own pointer: set it in init if you like */
	const char *name;        /* the plugin's name */
} sk_plugin;

typedef enum {
	SK_OK = 0,
	SK_ERR_INVAL = -1,       /* a bad argument */
	SK_ERR_NOMEM = -2,
	SK_ERR_NOTFOUND = -3,    /* no such id, key or row */
	SK_ERR_STATE = -4,       /* not possible now (e.g. shutting down) */
	SK_ERR_FULL = -5,        /* a queue is full */
	SK_ERR_DB = -6,          /* SQLite said no (the log has its message) */
	SK_ERR_CONFIG = -7,      /* a config key is missing or of the wrong type */
	SK_ERR_UNSUPPORTED = -8, /* the host does not offer it */
	SK_ERR_IO = -9
} sk_rc;

enum { SK_PASS = 0, SK_STOP = 1 };

enum { SK_LOG_ERR = 0, SK_LOG_WARN = 1, SK_LOG_INFO = 2, SK_LOG_DEBUG = 3 };

/* ---- events ------------------------------------------------------------- */

typedef enum {
	SK_EV_CHAT_TEXT = 1,     /* a chat message with text */
	SK_EV_CHAT_IMAGE = 2,    /* image_url set, text "[图片]" */
	SK_EV_TRADE = 3,         /* a trade card: trade and (usually) order_id */
	SK_EV_MSG_UPDATE = 4,    /* a message-update frame, trade/order_id when it is a card */
	SK_EV_PAYMENT = 5,       /* payment summary or order context */
	SK_EV_TYPING = 6,
	SK_EV_READ = 7,          /* read receipt */
	SK_EV_SYSTEM = 8,        /* system texts, tips, platform notices: never answer as chat */
	SK_EV_UNKNOWN = 9,
	SK_EV_SESSION = 10,      /* the session's state changed: state, prev_state, reason */
	SK_EV_SEND_RESULT = 11,  /* a send resumed from an earlier run finished: send_uuid,
	                          * send_tag, send_ok, message_id or reason (only to its plugin) */
	SK_EV_PLUGIN = 12,       /* published by a plugin: topic, payload_json, from_plugin; the
	                          * core publishes (from "core") topic "core.reload" on SIGHUP:
	                          * reload your files (rules) and config; and "core.stopping" on
	                          * SIGTERM: send now what you hold back (a debounce, a batch):
	                          * sends are still taken and flushed until send.stop_flush_s,
	                          * what is left stays in the outbox for the next start */
	SK_EV_MAX = 31
} sk_event_type;

#define SK_MASK(t) (1u << (t))
#define SK_MASK_CHAT (SK_MASK(SK_EV_CHAT_TEXT) | SK_MASK(SK_EV_CHAT_IMAGE))
#define SK_MASK_ALL 0xfffffffeu

typedef enum {
	SK_TRADE_NONE = 0, SK_TRADE_PLACED, SK_TRADE_PAID, SK_TRADE_REMIND, SK_TRADE_SHIPPED,
	SK_TRADE_COMPLETED, SK_TRADE_CLOSED, SK_TRADE_REFUNDING, SK_TRADE_REFUND_CANCELLED
} sk_trade;

typedef enum {
	SK_STATE_DISCONNECTED = 0, SK_STATE_CONNECTING, SK_STATE_CONNECTED, SK_STATE_RECONNECTING,
	SK_STATE_FAILED, SK_STATE_CLOSED
} sk_state;

typedef struct sk_event {
	size_t size;             /* sizeof(sk_event) of the host: check before reading newer fields */
	int type;                /* sk_event_type */
	int trade;               /* sk_trade */
	const char *chat_id;     /* conversation id, without "@goofish" */
	const char *sender_id;   /* the sender's user id */
	const char *sender_name;
	const char *text;
	const char *item_id;
	const char *message_id;  /* the platform's business message id (stable across pushes) */
	const char *im_id;       /* the IM id "<n>.PNM" */
	const char *order_id;
	const char *image_url;
	int own;                 /* sent by this account */
	int echo;                /* own, and an echo of one of our sends (not a manual reply) */
	int64_t created_ms;      /* when the platform created it, 0 if unknown */
	const char *raw_json;    /* the decoded item as JSON */
	/* SK_EV_SESSION */
	int state, prev_state;   /* sk_state */
	const char *reason;
	/* SK_EV_PLUGIN */
	const char *topic;
	const char *payload_json;
	const char *from_plugin;
	/* SK_EV_SEND_RESULT */
	const char *send_uuid;
	const char *send_tag;
	int send_ok;
	/* since 1.4 (read a member only when size says it is there, e.g.
	 * e->size >= offsetof(sk_event, punish_url) + sizeof e->punish_url) */
	int backfilled;          /* chat events: fetched from the history after an outage (not pushed) */
	/* SK_EV_SESSION: why the account is FAILED ("" when it is not): "login"
	 * (log in again), "risk" (risk control: a human passes the check at
	 * punish_url, "" when the platform gave none), "kicked" (another client
	 * keeps taking the connection), "retries" (reconnect.max_retries) */
	const char *fail_kind;
	const char *punish_url;
} sk_event;

/* Which events a handler sees besides its type mask (all optional). */
typedef struct sk_filter {
	uint32_t flags;          /* SK_F_* */
	const char *topic;       /* SK_EV_PLUGIN: only this topic (NULL: all) */
	const char *chat_id;     /* only this chat (NULL: all) */
} sk_filter;

#define SK_F_SKIP_OWN   1u   /* not our own account's messages */
#define SK_F_ONLY_OWN   2u   /* only our own account's messages */
#define SK_F_SKIP_ECHO  4u   /* not echoes of our sends */

/* ---- callback types -------------------------------------------------------- */

typedef int (*sk_handler_fn)(sk_plugin *p, const sk_event *e, void *ud);
/* A send finished: ok with the platform's message_id, or refused with the reason. */
typedef void (*sk_send_fn)(sk_plugin *p, const char *uuid, int ok, const char *message_id_or_reason,
			   void *ud);
typedef void (*sk_timer_fn)(sk_plugin *p, uint64_t id, void *ud);
typedef void (*sk_free_fn)(void *ud);
/* Runs on a worker thread: no host calls. */
typedef void (*sk_work_fn)(void *ud);
/* Runs on the loop after the work function returned. */
typedef void (*sk_done_fn)(sk_plugin *p, void *ud);

typedef enum { SK_NULL = 0, SK_INT = 1, SK_REAL = 2, SK_TEXT = 3, SK_BLOB = 4 } sk_value_type;

/* A bound parameter or a result column. Texts and blobs are borrowed both ways. */
typedef struct sk_value {
	int type;                /* sk_value_type */
	int64_t i;
	double d;
	const char *s;           /* SK_TEXT (NUL-terminated) or SK_BLOB */
	size_t len;              /* bytes of s */
} sk_value;

/* The length of a text value, 0 for NULL. A function, not `(v) ? ... : 0` in
 * SK_VTEXT: that trips -Waddress (an error with -Werror) when v is an array. */
static inline size_t sk_text_len(const char *s) { return s ? __builtin_strlen(s) : 0; }

#define SK_VINT(v)  ((sk_value){ .type = SK_INT, .i = (v) })
#define SK_VREAL(v) ((sk_value){ .type = SK_REAL, .d = (v) })
#define SK_VTEXT(v) ((sk_value){ .type = SK_TEXT, .s = (v), .len = sk_text_len(v) })
#define SK_VNULL    ((sk_value){ .type = SK_NULL })

/* One result row; return nonzero to stop reading rows. */
typedef int (*sk_row_fn)(sk_plugin *p, int ncols, const sk_value *cols, void *ud);

/* mtop results (see sk_mtop). */
typedef enum {
	SK_MTOP_OK = 0, SK_MTOP_TOKEN_EXPIRED, SK_MTOP_SESSION_EXPIRED, SK_MTOP_RISK, SK_MTOP_FAIL,
	SK_MTOP_TRANSPORT
} sk_mtop_result;
/* data_json is the envelope's data (borrowed, "" when none); ret the first ret string. */
typedef void (*sk_mtop_fn)(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud);

/* A control command (since 1.2): data_json borrowed; answer with
 * sk_control_result / sk_control_error before returning. */
typedef int (*sk_control_fn)(sk_plugin *p, const char *command, const char *data_json, void *ud);

/* An HTTP POST finished (since 1.3): status the HTTP status (100..599), or a
 * negative sk_rc when there was no answer (SK_ERR_IO); body the answer's body
 * (borrowed, "" when none). */
typedef void (*sk_http_fn)(sk_plugin *p, int status, const char *body, void *ud);

/* A chat open finished (since 1.5): rc SK_OK with chat_id (bare, without
 * "@goofish"; borrowed), or a negative sk_rc with chat_id "" (SK_ERR_IO: no
 * answer within the host's session.chat_open_timeout_ms, default 15 s, the
 * connection dropped, or the platform refused). */
typedef void (*sk_chat_fn)(sk_plugin *p, int rc, const char *chat_id, void *ud);

/* ---- the descriptor --------------------------------------------------------- */

typedef enum { SK_CFG_STR = 1, SK_CFG_INT, SK_CFG_NUM, SK_CFG_BOOL, SK_CFG_STR_LIST, SK_CFG_JSON } sk_cfg_type;

/* A key of the plugin's config section. Keys not declared are config errors. */
typedef struct sk_config_key {
	const char *key;
	int type;                /* sk_cfg_type */
	int required;
	const char *help;
} sk_config_key;

typedef struct sk_plugin_desc {
	uint32_t abi_major, abi_minor;
	size_t size;             /* sizeof(sk_plugin_desc) */
	const char *name;        /* [a-z][a-z0-9_]*: also its config section and table prefix */
	const char *version;
	const char *description;
	int (*init)(sk_plugin *p);              /* SK_OK, or a negative sk_rc to refuse */
	void (*fini)(sk_plugin *p);             /* optional */
	const sk_config_key *config_keys;       /* NULL-terminated by a {NULL} entry, or NULL */
	const char *const *migrations;          /* NULL-terminated SQL steps, run in order once each;
	                                         * tables must be named <name>_... */
	/* since 1.1: command-line commands (example: plugins/hellocli); the
	 * loader reads them only from a 1.1 descriptor.
	 * `shopkeep <command> --config FILE [args]` runs in its own short-lived
	 * process: the host opens the first plugin of plugins.load that lists the
	 * command, runs its migrations and config check, and calls
	 * command(p, argc, argv) INSTEAD of init (argv[0] is the command, --config
	 * FILE is taken out, argv[argc] is NULL); fini never runs. There is no
	 * session: sends, sk_mtop, sk_work and sk_http_post return SK_ERR_STATE,
	 * and handlers and timers may be registered but never fire. The database,
	 * the config, the rules path, the log, the clocks and the account work as
	 * usual, and command may block (read files, wait on SQLite). It prints to
	 * stdout and stderr itself and returns the exit status: 0 success, 1 a
	 * failure, 2 a usage error (anything outside 0..255 becomes 1). As the
	 * core's commands do, --help or -h anywhere prints the usage on stdout and
	 * returns 0, and a usage error is one line on stderr that names the option
	 * or argument and points to --help. Names are [a-z][a-z0-9_-]* and must
	 * not be one of the core's own commands (run, check, help, passwd, secret,
	 * status, ctl, backup: `shopkeep --help` lists them); the loader rejects a plugin that breaks that, or has
	 * commands without command or command without commands. */
	const char *const *commands;            /* NULL-terminated names, e.g. {"stock", "orders", NULL},
	                                         * or NULL */
	int (*command)(sk_plugin *p, int argc, char **argv);   /* argv[0] is the command; returns the
	                                                        * exit status */
	/* since 1.2, read only from a 1.2 descriptor: validates a candidate rules
	 * file before the web page saves it. It gets the whole document as JSON
	 * text and returns 0, or -1 with one problem per line in errs
	 * ("keyword_rules[2].match: ..."), checking only the keys the plugin owns.
	 * It is called without init (like a pure function) and must not call the
	 * host. A document every plugin accepts is saved and then announced with
	 * "core.reload". */
	int (*rules_check)(const char *json, size_t len, char *errs, size_t errlen);
	void *spare[5];
} sk_plugin_desc;

#if defined(__GNUC__)
#define SK_EXPORT __attribute__((visibility("default")))
#else
#define SK_EXPORT
#endif

/* Defines the plugin's descriptor: SK_PLUGIN(.name = "x", .version = "1", .init = x_init). */
#define SK_PLUGIN(...) \
	SK_EXPORT extern const sk_plugin_desc sk_plugin_entry; \
	SK_EXPORT const sk_plugin_desc sk_plugin_entry = { \
		.abi_major = SK_ABI_MAJOR, .abi_minor = SK_ABI_MINOR, .size = sizeof(sk_plugin_desc), \
		__VA_ARGS__ }

/* ---- host services ----------------------------------------------------------- */

/* The service table the host hands to init (p->host). Plugins call it through
 * the sk_... wrappers below, which carry each call's contract.
 *
 * APPEND ONLY: NEVER REORDER, NEVER REMOVE. A plugin built against an older
 * minor indexes this struct by the offsets it was compiled with: a new member
 * goes at the end, under a "since 1.N" mark, with SK_ABI_MINOR raised; an old
 * one stays where it is, forever, even when no longer useful. */
struct sk_host {
	size_t size;             /* sizeof(sk_host) of the host */
	uint32_t abi_major, abi_minor;

	/* since 1.0 */
	void (*log)(sk_plugin *p, int level, const char *fmt, va_list ap);
	const char *(*strerror)(int rc);
	void (*free)(void *ptr);

	int (*subscribe)(sk_plugin *p, uint32_t type_mask, const sk_filter *filter, int priority,
			 sk_handler_fn fn, void *ud, sk_free_fn free_ud, uint64_t *id_out);
	int (*unsubscribe)(sk_plugin *p, uint64_t id);
	int (*publish)(sk_plugin *p, const char *topic, const char *payload_json);

	int (*send_text)(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *text,
			 const char *tag, sk_send_fn fn, void *ud, sk_free_fn free_ud, char *uuid_out);
	int (*send_image)(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *url,
			  int width, int height, const char *tag, sk_send_fn fn, void *ud, sk_free_fn free_ud,
			  char *uuid_out);
	int (*send_status)(sk_plugin *p, const char *uuid, int *state, char **detail);

	int (*timer_add)(sk_plugin *p, uint64_t delay_ms, uint64_t repeat_ms, sk_timer_fn fn, void *ud,
			 sk_free_fn free_ud, uint64_t *id_out);
	int (*timer_cancel)(sk_plugin *p, uint64_t id);

	const char *(*config_str)(sk_plugin *p, const char *key, const char *def);
	int64_t (*config_int)(sk_plugin *p, const char *key, int64_t def);
	double (*config_num)(sk_plugin *p, const char *key, double def);
	int (*config_bool)(sk_plugin *p, const char *key, int def);
	size_t (*config_list_len)(sk_plugin *p, const char *key);
	const char *(*config_list_str)(sk_plugin *p, const char *key, size_t i);
	const char *(*config_json)(sk_plugin *p, const char *key);
	const char *(*rules_path)(sk_plugin *p);

	int (*db_exec)(sk_plugin *p, const char *sql, const sk_value *params, size_t nparams, sk_row_fn fn,
		       void *ud);
	int64_t (*db_changes)(sk_plugin *p);
	int64_t (*db_last_rowid)(sk_plugin *p);
	int (*db_begin)(sk_plugin *p);
	int (*db_commit)(sk_plugin *p);
	int (*db_rollback)(sk_plugin *p);

	int (*work)(sk_plugin *p, sk_work_fn work, sk_done_fn done, void *ud, sk_free_fn free_ud);

	int (*session_state)(sk_plugin *p);
	char *(*metrics_json)(sk_plugin *p);
	int64_t (*now_ms)(sk_plugin *p);
	int64_t (*mono_ms)(sk_plugin *p);
	const char *(*account_id)(sk_plugin *p);
	const char *(*own_user_id)(sk_plugin *p);

	int (*mtop)(sk_plugin *p, const char *api, const char *data_json, sk_mtop_fn fn, void *ud,
		    sk_free_fn free_ud);

	/* since 1.1 */
	int (*send_find)(sk_plugin *p, const char *tag, char *uuid_out, int *state, char **detail);

	/* since 1.2 */
	int (*control_add)(sk_plugin *p, const char *command, const char *help, sk_control_fn fn, void *ud,
			   sk_free_fn free_ud);
	int (*control_result)(sk_plugin *p, const char *json);
	int (*control_error)(sk_plugin *p, const char *text);

	/* since 1.3 */
	int (*http_post)(sk_plugin *p, const char *url, const char *headers, const char *body, size_t len,
			 int timeout_ms, sk_http_fn fn, void *ud, sk_free_fn free_ud);

	/* since 1.5 */
	int (*mtop_ex)(sk_plugin *p, const char *api, const char *version, unsigned flags, const char *data_json,
		       sk_mtop_fn fn, void *ud, sk_free_fn free_ud);
	int (*control_call)(sk_plugin *p, const char *command, const char *data_json, char **answer_json);
	int (*chat_open)(sk_plugin *p, const char *buyer_id, const char *item_id, sk_chat_fn fn, void *ud,
			 sk_free_fn free_ud);

	/* since 1.6 */
	int (*control_run)(sk_plugin *p, const char *command, const char *data_json, char **result_json,
			   char **error_out);
	int (*seal)(sk_plugin *p, const char *plaintext, char **sealed_out);
	int (*unseal)(sk_plugin *p, const char *sealed, char **plaintext_out);
	/* append here */
};

/* Whether the host has member m (for members newer than your SK_ABI_MINOR). */
#define SK_HOST_HAS(p, m) \
	((p)->host->size >= offsetof(sk_host, m) + sizeof(((sk_host *)0)->m) && (p)->host->m != NULL)

/* ---- wrappers: call these ------------------------------------------------------ */

/* ---- log, errors, memory */

/* Logs one line under the plugin's name at SK_LOG_ERR .. SK_LOG_DEBUG. */
static inline void sk_log(sk_plugin *p, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void sk_log(sk_plugin *p, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	p->host->log(p, level, fmt, ap);
	va_end(ap);
}

/* The name of an sk_rc (borrowed, static). */
static inline const char *sk_strerror(sk_plugin *p, int rc) { return p->host->strerror(rc); }
/* Frees what the host returned non-const (rule 4). */
static inline void sk_free(sk_plugin *p, void *ptr) { p->host->free(ptr); }

/* ---- events (example: plugins/hello) */

/* Calls fn(p, e, ud) for each event whose type is in mask (SK_MASK(...) |
 * ...) and that passes f (may be NULL; copied). Lower priority runs first
 * among one plugin's handlers; plugins run in plugins.load order. id (may be
 * NULL) gets the handler's id for sk_unsubscribe. SK_OK, or an error after
 * free_ud ran. */
static inline int sk_subscribe(sk_plugin *p, uint32_t mask, const sk_filter *f, int priority, sk_handler_fn fn,
			       void *ud, sk_free_fn free_ud, uint64_t *id)
{
	return p->host->subscribe(p, mask, f, priority, fn, ud, free_ud, id);
}
/* The handler is not called again; its free_ud runs. SK_ERR_NOTFOUND for an
 * id that is not this plugin's. */
static inline int sk_unsubscribe(sk_plugin *p, uint64_t id) { return p->host->unsubscribe(p, id); }
/* Queues SK_EV_PLUGIN with topic and payload_json (JSON text; both copied)
 * for the other plugins' handlers. SK_ERR_INVAL for no topic or a payload
 * that is not JSON, SK_ERR_FULL when the queue is full or a chain of events
 * published from handlers of published events grows too long. */
static inline int sk_publish(sk_plugin *p, const char *topic, const char *payload_json)
{
	return p->host->publish(p, topic, payload_json);
}

/* ---- sends (example: plugins/hello; the tag pattern: plugins/orders) */

/* Sends a text to buyer_id in chat_id. Sends go through the outbox and the
 * pacing; uuid_out (40 bytes, may be NULL) gets the send's durable id; tag
 * (may be NULL) is kept with it and comes back in SK_EV_SEND_RESULT if the
 * process restarts before the send finishes. fn (may be NULL) runs once when
 * the platform accepted or refused it.
 * While a db transaction is open sends return SK_ERR_STATE: commit what you
 * reserved, then send (sk_send_find finds the send by its tag after a crash).
 * SK_ERR_FULL beyond send.backlog_max pending sends; SK_ERR_DB when the
 * outbox insert failed outside an event's turn (inside one the process
 * ends, status 74, before anything of the turn leaves: it is pushed again).
 * A finished send is kept send.outbox_keep_days (default 7): later,
 * send_status and send_find answer SK_ERR_NOTFOUND for it. */
static inline int sk_send_text(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *text,
			       const char *tag, sk_send_fn fn, void *ud, sk_free_fn free_ud, char *uuid_out)
{
	return p->host->send_text(p, chat_id, buyer_id, text, tag, fn, ud, free_ud, uuid_out);
}
/* Sends an image by URL with its size in pixels; otherwise as sk_send_text. */
static inline int sk_send_image(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *url, int w,
				int h, const char *tag, sk_send_fn fn, void *ud, sk_free_fn free_ud, char *uuid_out)
{
	return p->host->send_image(p, chat_id, buyer_id, url, w, h, tag, fn, ud, free_ud, uuid_out);
}
/* Replies to the chat and sender of e (sk_send_text without a tag). */
static inline int sk_reply(sk_plugin *p, const sk_event *e, const char *text, sk_send_fn fn, void *ud,
			   sk_free_fn free_ud)
{
	return p->host->send_text(p, e->chat_id, e->sender_id, text, NULL, fn, ud, free_ud, NULL);
}
/* Looks up a send by uuid: state 0 pending, 1 sent (message_id), 2 refused
 * (reason); *detail (may be NULL) gets a copy to sk_free. */
static inline int sk_send_status(sk_plugin *p, const char *uuid, int *state, char **detail)
{
	return p->host->send_status(p, uuid, state, detail);
}
/* Since 1.1. Looks up the LATEST send this plugin queued with a non-empty
 * tag, in this run or an earlier one (the outbox is durable): SK_OK with
 * uuid_out (40 bytes, may be NULL) set, *state (may be NULL) 0 pending, 1
 * sent, 2 refused, and *detail (may be NULL) a copy to sk_free of the message
 * id or the reason (NULL while pending); SK_ERR_NOTFOUND when this plugin
 * never queued a send with that tag (another plugin's sends are never found);
 * SK_ERR_INVAL for a NULL or empty tag. It makes sends exactly-once: commit
 * the reservation, send with a tag, record the uuid; after a crash between
 * the send and the record, the tag finds the send again instead of sending
 * twice. */
static inline int sk_send_find(sk_plugin *p, const char *tag, char *uuid_out, int *state, char **detail)
{
	return p->host->send_find(p, tag, uuid_out, state, detail);
}

/* ---- timers (example: plugins/hellotimer) */

/* Calls fn(p, id, ud) on the loop after delay_ms, then every repeat_ms (0:
 * once). After a stall the missed periods are skipped, not run in a burst.
 * id (may be NULL) gets the timer's id. free_ud runs when the timer ends:
 * after a one-shot fired, when cancelled, at unload, or when the call fails. */
static inline int sk_timer_add(sk_plugin *p, uint64_t delay_ms, uint64_t repeat_ms, sk_timer_fn fn, void *ud,
			       sk_free_fn free_ud, uint64_t *id)
{
	return p->host->timer_add(p, delay_ms, repeat_ms, fn, ud, free_ud, id);
}
/* The timer does not fire again and its free_ud runs (after its callback
 * returns, when it cancels itself). SK_OK or SK_ERR_NOTFOUND. */
static inline int sk_timer_cancel(sk_plugin *p, uint64_t id) { return p->host->timer_cancel(p, id); }

/* ---- config: the plugin's own section, read-only; def when the key is absent */

static inline const char *sk_config_str(sk_plugin *p, const char *key, const char *def)
{
	return p->host->config_str(p, key, def);
}
static inline int64_t sk_config_int(sk_plugin *p, const char *key, int64_t def)
{
	return p->host->config_int(p, key, def);
}
static inline double sk_config_num(sk_plugin *p, const char *key, double def)
{
	return p->host->config_num(p, key, def);
}
static inline int sk_config_bool(sk_plugin *p, const char *key, int def)
{
	return p->host->config_bool(p, key, def);
}
static inline size_t sk_config_list_len(sk_plugin *p, const char *key) { return p->host->config_list_len(p, key); }
static inline const char *sk_config_list_str(sk_plugin *p, const char *key, size_t i)
{
	return p->host->config_list_str(p, key, i);
}
/* The value as JSON text (borrowed), or NULL when absent. */
static inline const char *sk_config_json(sk_plugin *p, const char *key) { return p->host->config_json(p, key); }
/* The account's rules file (borrowed), "" if none. */
static inline const char *sk_rules_path(sk_plugin *p) { return p->host->rules_path(p); }

/* ---- database (example: plugins/hellodb) */

/* Runs one SQLite statement with bound parameters (?1.. from params, texts
 * and blobs borrowed); each result row goes to fn (may be NULL; its values
 * are borrowed until it returns, nonzero stops). Statements are prepared
 * once and cached by their text.
 * Durability: the core groups the writes of one loop turn (the frames that
 * arrived, every plugin's handlers, the timers due then) into one commit,
 * which is done before anything leaves the process: the ACK of a push, a
 * send, an HTTP request or answer. A write is durable by the time any
 * effect of it can be seen outside; a crash loses only the turn's work,
 * and the platform pushes again what it had not ACKed. Inside such a turn
 * db_begin / db_commit / db_rollback (and BEGIN, COMMIT, ROLLBACK run
 * through db_exec) work on a savepoint: as atomic as ever, and committed
 * with the turn. SK_ERR_DB when SQLite says no (the log has its message). */
static inline int sk_db_exec(sk_plugin *p, const char *sql, const sk_value *params, size_t n, sk_row_fn fn,
			     void *ud)
{
	return p->host->db_exec(p, sql, params, n, fn, ud);
}
/* Rows changed by the last statement, and the last inserted rowid. */
static inline int64_t sk_db_changes(sk_plugin *p) { return p->host->db_changes(p); }
static inline int64_t sk_db_last_rowid(sk_plugin *p) { return p->host->db_last_rowid(p); }
/* BEGIN IMMEDIATE (a savepoint within a turn), COMMIT, ROLLBACK. */
static inline int sk_db_begin(sk_plugin *p) { return p->host->db_begin(p); }
static inline int sk_db_commit(sk_plugin *p) { return p->host->db_commit(p); }
static inline int sk_db_rollback(sk_plugin *p) { return p->host->db_rollback(p); }

/* ---- worker queue */

/* Runs work(ud) on a worker thread (it must not call the host), then
 * done(p, ud) on the loop, then free_ud(ud). SK_ERR_STATE in a command
 * process. */
static inline int sk_work(sk_plugin *p, sk_work_fn work, sk_done_fn done, void *ud, sk_free_fn free_ud)
{
	return p->host->work(p, work, done, ud, free_ud);
}

/* ---- the account and the process */

/* The session's sk_state. */
static inline int sk_session_state(sk_plugin *p) { return p->host->session_state(p); }
/* The process's counters as JSON text; sk_free it. */
static inline char *sk_metrics_json(sk_plugin *p) { return p->host->metrics_json(p); }
/* The wall clock and the monotonic clock, in ms. */
static inline int64_t sk_now_ms(sk_plugin *p) { return p->host->now_ms(p); }
static inline int64_t sk_mono_ms(sk_plugin *p) { return p->host->mono_ms(p); }
/* The account's id and its own platform user id (borrowed), "" when unknown. */
static inline const char *sk_account_id(sk_plugin *p) { return p->host->account_id(p); }
static inline const char *sk_own_user_id(sk_plugin *p) { return p->host->own_user_id(p); }

/* ---- mtop (example: plugins/orders) */

/* A signed mtop call (version "1.0") of api; data_json is sent byte for byte.
 * fn runs once on the loop with an sk_mtop_result (see docs/protocol.md of
 * the shopkeep tree for what each means). SK_ERR_STATE in a command process. */
static inline int sk_mtop(sk_plugin *p, const char *api, const char *data_json, sk_mtop_fn fn, void *ud,
			  sk_free_fn free_ud)
{
	return p->host->mtop(p, api, data_json, fn, ud, free_ud);
}

/* sk_mtop_ex flags (since 1.5) */
#define SK_MTOP_SELLER 1u  /* a seller-console API (seller.goofish.com, "鱼小铺"): valueType=string
                            * (numbers and booleans come back as strings), the header
                            * idle_site_biz_code: COMMONPRO, Origin and Referer of seller.goofish.com */

/* sk_mtop with an API version other than "1.0" (the URL path /<version>/ and
 * v=<version>; [0-9.]{1,8}, NULL = "1.0") and flags (SK_MTOP_SELLER). The
 * rest as sk_mtop. Check SK_HOST_HAS(p, mtop_ex) on an older host. */
static inline int sk_mtop_ex(sk_plugin *p, const char *api, const char *version, unsigned flags,
			     const char *data_json, sk_mtop_fn fn, void *ud, sk_free_fn free_ud)
{
	return p->host->mtop_ex(p, api, version, flags, data_json, fn, ud, free_ud);
}

/* ---- chats (since 1.5; example: plugins/orders, orders_pull.c) */

/* Opens the chat of this account with buyer_id about item_id (may be NULL or
 * ""; both copied) on the session's connection
 * (/r/SingleChatConversation/create; the platform answers the same chat for
 * the same pair, so asking again is harmless) and calls fn(p, rc, chat_id,
 * ud) exactly once, later (never inside the call), unless the plugin is
 * unloaded first: then only free_ud runs. Returns SK_OK, or an error after
 * free_ud ran: SK_ERR_STATE when the account is not connected (or in a
 * command process), SK_ERR_INVAL for an empty or over-long buyer_id,
 * SK_ERR_UNSUPPORTED without a backend. Check SK_HOST_HAS(p, chat_open) on
 * an older host. */
static inline int sk_chat_open(sk_plugin *p, const char *buyer_id, const char *item_id, sk_chat_fn fn, void *ud,
			       sk_free_fn free_ud)
{
	return p->host->chat_open(p, buyer_id, item_id, fn, ud, free_ud);
}

/* ---- control commands (since 1.2; example: plugins/helloctl) */

/* Registers a control command of the account's control API (its web page,
 * POST /api/control, web/API.md); help is one line for the API's listing.
 * fn gets the command's data as JSON text (borrowed; "{}" when none),
 * answers with sk_control_result and returns SK_OK, or returns a negative
 * sk_rc with sk_control_error saying what went wrong for the seller
 * (SK_ERR_INVAL becomes HTTP 400, SK_ERR_NOTFOUND 404, others 500). It runs
 * on the loop: keep it short. Names are [a-z][a-z0-9_]*, at most 40 bytes,
 * and unique per process (the core's own - status, send, list_chats,
 * reload_rules, setup_token, help: the "help" command lists them as plugin
 * "core" - are taken): SK_ERR_INVAL for a bad or taken name. */
static inline int sk_control_add(sk_plugin *p, const char *command, const char *help, sk_control_fn fn, void *ud,
				 sk_free_fn free_ud)
{
	return p->host->control_add(p, command, help, fn, ud, free_ud);
}
/* Only inside an sk_control_fn: the result data (JSON text, copied; NULL
 * gives null), or the error text (copied). SK_ERR_STATE outside one,
 * SK_ERR_INVAL for a result that is not JSON. */
static inline int sk_control_result(sk_plugin *p, const char *json) { return p->host->control_result(p, json); }
static inline int sk_control_error(sk_plugin *p, const char *text) { return p->host->control_error(p, text); }

/* Only in a command process (sk_plugin_desc's .command, since 1.5): runs
 * control command `command` with data_json (copied; NULL means "{}"; it
 * must be a JSON object) in the account's RUNNING process, through its
 * local control socket (control.socket), waiting up to 10 s. On SK_OK
 * *answer_json is the whole answer line, {"request_id", "success", "data",
 * "error", ...} as web/API.md has it (success false with the command's
 * error text when the command refused), yours to sk_free. Else *answer_json
 * is NULL and the rc says why: SK_ERR_IO when no process listens (the
 * account is not running), SK_ERR_STATE outside a command process or when
 * the socket did not answer in time, SK_ERR_CONFIG when control.socket is
 * off or not the account's (logged), SK_ERR_INVAL for a bad command name or
 * data, SK_ERR_UNSUPPORTED on a host without a control socket (the fake
 * host unless a test gives it one). Check SK_HOST_HAS(p, control_call). */
static inline int sk_control_call(sk_plugin *p, const char *command, const char *data_json, char **answer_json)
{
	return p->host->control_call(p, command, data_json, answer_json);
}

/* Since 1.6, in the running process only: runs control command `command`
 * of a running plugin (another's, e.g. the agent's agent_take, or its own;
 * not the core's) at once, on the loop, with data_json (copied; NULL means
 * "{}"), as the web page would, and returns what it answered. On SK_OK
 * *result_json is the command's result data as JSON text ("null" when it
 * gave none), yours to sk_free. Else *result_json is NULL and the rc says
 * why: SK_ERR_NOTFOUND when no running plugin has the command, SK_ERR_STATE
 * inside a control command (one may not run another) or in a command
 * process, SK_ERR_INVAL for a bad name or data that is not a JSON object, or
 * the command's own negative rc; error_out (may be NULL) then gets its
 * error text (sk_free; NULL when there is none). The command's handlers
 * run before this returns: what it sends, writes or publishes is part of
 * the caller's turn. Check SK_HOST_HAS(p, control_run). */
static inline int sk_control_run(sk_plugin *p, const char *command, const char *data_json, char **result_json,
				 char **error_out)
{
	return p->host->control_run(p, command, data_json, result_json, error_out);
}

/* ---- secrets (since 1.6) */

/* Encrypts plaintext (a string, at most 1 MiB) with the account's key
 * (account.key_file; crypto_secretbox, as the cookie) for this plugin only:
 * *sealed_out is one line of base64, yours to sk_free, to keep in a table.
 * SK_ERR_CONFIG when the account has no key file (logged), SK_ERR_INVAL for
 * no text or too long a one, SK_ERR_IO when the key cannot be read or made.
 * Nothing of the plaintext is ever logged. */
static inline int sk_seal(sk_plugin *p, const char *plaintext, char **sealed_out)
{
	return p->host->seal(p, plaintext, sealed_out);
}
/* Opens what sk_seal made for this plugin, or the content of a secret file
 * made by `shopkeep secret set` (one base64 line; trailing blanks are fine):
 * *plaintext_out is the secret, yours to sk_free (wipe it first:
 * explicit_bzero). SK_ERR_INVAL when it cannot be opened (tampered with,
 * another key, sealed for another plugin), SK_ERR_CONFIG without a key
 * file; *plaintext_out is NULL then. */
static inline int sk_unseal(sk_plugin *p, const char *sealed, char **plaintext_out)
{
	return p->host->unseal(p, sealed, plaintext_out);
}

/* ---- HTTP POST (since 1.3; example: plugins/hellohttp) */

/* POSTs len bytes of body (copied; may be NULL when len is 0, at most 1 MiB)
 * to url (http:// or https://, copied) on the loop and calls fn(p, status,
 * body, ud) (fn may be NULL) exactly once, later (never inside the call),
 * unless the plugin is unloaded first: then the request is cancelled and only
 * free_ud runs. status is the HTTP status, or a negative sk_rc when no answer
 * came (SK_ERR_IO: refused, reset, timeout, TLS failure). timeout_ms: 0 means
 * 10 s, at most 300 s; whole seconds in the core.
 * Returns SK_OK, or an error after free_ud ran (SK_ERR_INVAL for a bad URL,
 * header or size, SK_ERR_FULL with 16 of the plugin's requests in flight,
 * SK_ERR_IO when it cannot start, SK_ERR_STATE in a command process).
 * headers (may be NULL or "") are extra "Name: value" lines separated by
 * '\n'; the host refuses a CR, any other control byte, a bad name and the
 * names it writes itself (Host, Content-Length, Transfer-Encoding,
 * Connection), and adds "Content-Type: application/json" and a User-Agent
 * unless given. Certificates are always verified (the system's CAs plus the
 * account's platform.ca_file), whatever platform.tls_verify says. No
 * redirects, no cookies, one request per connection. Check
 * SK_HOST_HAS(p, http_post) when you may run on an older host. */
static inline int sk_http_post(sk_plugin *p, const char *url, const char *headers, const char *body, size_t len,
			       int timeout_ms, sk_http_fn fn, void *ud, sk_free_fn free_ud)
{
	return p->host->http_post(p, url, headers, body, len, timeout_ms, fn, ud, free_ud);
}

#endif
