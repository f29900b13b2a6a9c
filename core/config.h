/* SPDX-License-Identifier: MIT */
/*
 * core/config.h - one account's JSON config: load, validate, defaults.
 *
 * An unknown key is an error that names it; a bad value names the key and the
 * reason. Top-level sections named after a plugin in plugins.load are kept as
 * they are for that plugin to validate.
 *
 * The cookie comes from exactly one of account.cookie (inline),
 * account.cookie_file (a plaintext file) or account.cookie_secret (a file
 * encrypted with the key of account.key_file, core/secret.h, written by
 * `shopkeep secret set`). The two plaintext ones give a warning.
 */
#ifndef SK_CONFIG_H
#define SK_CONFIG_H

#include <cjson/cJSON.h>

#include "util.h"

#define SESS_KICK_MAX 64       /* the largest reconnect.kick_max */

typedef struct {
	/* account */
	char *account_id;
	char *cookie;            /* the whole cookie string (account.cookie, or read from cookie_file or cookie_secret) */
	char *cookie_file;       /* NULL unless the cookie is in a plaintext file */
	char *cookie_secret;     /* account.cookie_secret: the encrypted cookie file, NULL when not used */
	char *key_file;          /* account.key_file: its key, default "<config dir>/<account id>.key" (NULL when
	                          * account.id is not a plain file name and key_file is not set) */
	char *unb;               /* the cookie's unb (required) */
	/* platform */
	char *ws_url;            /* default wss://wss-goofish.dingtalk.com/ */
	char *api_url;           /* default https://h5api.m.goofish.com/h5/ */
	char *passport_url;      /* platform.passport_url, default https://passport.goofish.com/ */
	int tls_verify;          /* default 1 */
	char *ca_file;           /* platform.ca_file: extra CA bundle (tests), NULL */
	int heartbeat_interval_s;/* default 15 */
	int heartbeat_timeout_s; /* default 2 * interval + 5 */
	int connect_timeout_s;   /* platform.connect_timeout_s, default 10: a connect that never upgrades */
	int request_timeout_s;   /* platform.request_timeout_s, default 10: a request left unanswered */
	/* reconnect: base/cap per class in ms (see backoff.h), jitter, cap of retries */
	int reconnect_base_ms[3];
	int reconnect_cap_ms[3];
	int reconnect_jitter_pct;
	int reconnect_healthy_s;
	int reconnect_max_retries; /* 0 = unlimited */
	int reconnect_risk_backoff_s; /* risk control: FAILED (risk), re-checked this often, default 1800 */
	int reconnect_kick_max;  /* this many kicks within kick_window_s: FAILED (kicked); 0 = never, default 3 */
	int reconnect_kick_window_s; /* default 600 */
	int token_refresh_s;     /* refresh this long before expiry, default 3600; jitter up to 20% of it */
	int relogin_check_s;     /* session expired: re-check this often, default 1800 */
	/* QR login (core/login.c) */
	int login_poll_ms;       /* login.poll_ms: query.do this often, default 2500 */
	int login_timeout_s;     /* login.timeout_s: a QR login gives up after this long, default 300 */
	/* keep-alive (core/session_renew.c): a renewal every renew_min_s..renew_max_s
	 * (random in between), 0 = off */
	int renew_min_s;         /* session.renew_min_s, default 600 */
	int renew_max_s;         /* session.renew_max_s, default 1200 */
	int renew_long_login;    /* session.long_login, default true: setLoginSettings.do once a day */
	int chat_open_timeout_ms; /* session.chat_open_timeout_ms, default 15000: a chat open
	                          * (sk_chat_open) unanswered this long ends with SK_ERR_IO */
	/* sending */
	double send_rate;        /* send.rate_per_s, default 1; 0 = no pacing (make bench: the
	                          * platform's flow control refuses bursts, don't use it live) */
	int send_burst;          /* send.burst, default 3 */
	int send_queue_max;      /* send.queue_max, default 1000: sends held in memory */
	int send_backlog_max;    /* send.backlog_max, default 1000000: pending sends in all
	                          * (the rest wait in the outbox); beyond it sk_send refuses */
	int send_stop_flush_s;   /* send.stop_flush_s, default 5: SIGTERM waits this long for queued sends */
	int send_outbox_keep_days; /* send.outbox_keep_days, default 7: finished sends kept this long */
	/* the conversation store (core/convo.c) */
	int chats_retention_days; /* chats.retention_days, default 90: chat messages kept this long; 0 = forever */
	int chats_store;         /* chats.store, default 1: every chat message in and out is stored */
	/* backfill after an outage (core/session_backfill.c) */
	int backfill_enabled;    /* backfill.enabled, default 1 */
	int backfill_delay_ms;   /* backfill.delay_ms, default 3000: wait after /reg (flow control) */
	int backfill_max_pages;  /* backfill.max_pages, default 10: pages of each list per run */
	int backfill_max_convs;  /* backfill.max_convs, default 100: conversations per run */
	int backfill_max_messages; /* backfill.max_messages, default 1000: messages per run */
	int backfill_flow_backoff_ms; /* backfill.flow_backoff_ms, default 2000: 400600001 -> wait 1x, 2x, 3x it */
	/* state, plugins, rules */
	char *state_db;
	char *state_sync_sends;  /* state.sync_sends: whose sends sync the WAL before they leave
	                          * (plugin names, comma-separated, "core", "all" or "none");
	                          * NULL: "orders" (core/store.c store_sync_sends) */
	char *plugins_dir;
	char **plugins_load;     /* NULL-terminated */
	int n_plugins;
	char *rules;             /* may be NULL */
	char *log_level;         /* "error", "warn", "info" (default), "debug" */
	char *event_log;         /* debug.event_log: a file to append every event to as JSON lines, or NULL */
	char *kill_at;           /* debug.kill_at (tests only): "commit" dies by SIGKILL right
	                          * before the commit of a batch that queued a send */
	char *reply_prefix;      /* debug.reply_prefix: a diagnostic hook until plugins land: answer
	                          * every buyer text with prefix + text through the session's send path */
	/* web: the account's page and control API (core/web.c) */
	char *web_listen;        /* "127.0.0.1:8080" (default) or "off" */
	int web_port;            /* the port of web_listen, 0 when off */
	char *web_root;          /* the page's files (web/), default SK_WEB_ROOT */
	int web_session_idle_s;  /* a login ends after this long without a request, default 43200 */
	int web_session_max_s;   /* ... and this long after it began, default 604800 (7 days) */
	int web_setup_token_s;   /* a setup token is good this long, default 3600 */
	int web_login_delay_max_ms; /* the longest wait before answering a failed login, default 8000 */
	int web_pwhash_min;      /* web.pwhash_min: the cheapest argon2id (tests under valgrind only) */
	int web_header_timeout_s;/* a page connection that has not sent its request's headers by then is closed, default 10 */
	/* control: the local control socket (core/ctl.c) of shopkeep status */
	char *ctl_socket;        /* control.socket: a path, default "<state.db's folder>/<account id>.sock";
	                          * NULL when "off" (or when account.id is not a plain file name) */
	cJSON *plugin_sections;  /* {"<plugin>": {...}} for plugins in plugins.load, owned */
	char *dir;               /* the folder relative paths resolve against, NULL when none */
	char *path;              /* the config file, absolute (config_load), NULL for config_parse */
	char *warnings;          /* one "<key>: <reason>\n" line per warning, NULL when none */
} config;

/* The largest cookie, in bytes. */
#define CONFIG_MAX_COOKIE (64 * 1024)

/* config_load_flags: skip the cookie (don't require, read or decrypt it, nor
 * warn about it) for `shopkeep secret set`, which writes it. */
enum { CONFIG_NO_COOKIE = 1 };

/* Loads and validates path. Returns 0, or -1 with one line per problem appended
 * to errs ("<key>: <reason>"). Relative paths in the config (cookie_file,
 * state.db, plugins.dir, rules, debug.event_log) are resolved against the config
 * file's directory. c is valid (and must be freed) either way. */
int config_load(const char *path, config *c, sbuf *errs);
/* The same with flags (CONFIG_NO_COOKIE). */
int config_load_flags(const char *path, int flags, config *c, sbuf *errs);
/* SIGHUP: moves into c what can change while the account runs, from next
 * (a config loaded again from c->path without errors), and gives next c's
 * old values for config_free. The live keys: platform.heartbeat_*,
 * platform.request_timeout_s, reconnect.*, token.*, login.*, session.*, send.*, chats.*, log.level,
 * debug.reply_prefix, web.session_idle_s / session_max_s / setup_token_s /
 * login_delay_max_ms and the plugins' sections. Every
 * other key that differs is named in restart ("web.listen, state.db"):
 * it takes effect after a restart. */
void config_take_live(config *c, config *next, sbuf *restart);
/* The same from JSON text, with base_dir for relative paths (tests). */
int config_parse(const char *text, const char *base_dir, config *c, sbuf *errs);
void config_free(config *c);

/* Checks a cookie string as config_load does: not empty, no control
 * character, a non-empty unb (the seller's user id). Returns NULL with *unb
 * the malloc'd unb, or the reason (static text without the key, e.g. "the
 * cookie has no unb ...") with *unb NULL. Never shows the cookie. */
const char *config_cookie_check(const char *cookie, char **unb);
/* Where `shopkeep secret set` puts the cookie when account.cookie_secret is
 * not set: "<config dir>/<account id>.cookie.secret", malloc'd; NULL when
 * account.id is not a plain file name (or on OOM). */
char *config_default_cookie_secret(const config *c);
/* <config dir>/<account id>.agent_key.secret: where `shopkeep secret set
 * agent_key` puts the agent plugin's API key (malloc'd; NULL for an id that
 * is not a plain file name). */
char *config_default_agent_key(const config *c);
/* Splits web.listen ("127.0.0.1:8080", "[::1]:8080") into its address
 * (without brackets) and port. Returns AF_INET or AF_INET6 when it is a
 * loopback address (127.0.0.0/8, ::1), 0 when it is a well-formed address
 * that is not loopback, -1 when it is not "<address>:<port>". */
int config_web_addr(const char *listen, char *host, size_t hostlen, int *port);

#endif
