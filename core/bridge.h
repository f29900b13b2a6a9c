/* SPDX-License-Identifier: MIT */
/*
 * core/bridge.h - the plugin host wired to the running account (see bridge.c).
 */
#ifndef SK_BRIDGE_H
#define SK_BRIDGE_H

#include "config.h"
#include "event.h"
#include "session.h"
#include "store.h"

struct lws_context;
typedef struct bridge bridge;
struct host;

/* A host for the account's plugins; nothing is loaded yet. NULL on failure. */
bridge *bridge_new(struct lws_context *ctx, session *sess, store *st, const config *cfg);
/* Loads plugins.load from plugins.dir; a plugin that fails is logged and left
 * out (one line in errs). Returns the number started, or -1. */
int bridge_load(bridge *b, sbuf *errs);
/* Hands a decoded event to the plugins, as the ABI's event (core/feed.c). */
void bridge_event(bridge *b, const ev *e);
/* The session's state changed: SK_EV_SESSION (state, prev_state, reason why). */
void bridge_state(bridge *b, sess_state from, sess_state to, const char *why, const char *fail_kind,
		  const char *punish_url);
/* A send finished: its callback, or SK_EV_SEND_RESULT to its plugin when the
 * send was queued by an earlier run (host_send_result). */
void bridge_send_result(bridge *b, const char *uuid, int ok, const char *detail, const char *plugin,
			const char *tag);
/* SIGHUP: tells every plugin to reload its files (SK_EV_PLUGIN, topic "core.reload",
 * from_plugin "core"). */
void bridge_reload(bridge *b);
/* SIGTERM: "core.stopping" (from "core"): plugins send what they hold back
 * (debounced replies) now, while the session still flushes sends. */
void bridge_stopping(bridge *b);
/* Runs finished work's completions (after the loop woke). */
void bridge_poll(bridge *b);
/* Runs the plugins' timers that are due now. */
void bridge_run_due(bridge *b);
/* Unloads every plugin (while the loop still exists). */
void bridge_unload(bridge *b);
void bridge_free(bridge *b);
/* The host inside (the web API runs plugins' control commands through it). */
struct host *bridge_host(bridge *b);
/* fn sees every topic a plugin publishes (the web page's live events). */
void bridge_on_publish(bridge *b, void (*fn)(void *ud, const char *plugin, const char *topic, const char *payload_json),
		       void *ud);

#endif
