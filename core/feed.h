/* SPDX-License-Identifier: MIT */
/*
 * core/feed.h - one event vocabulary: what the session's events, state
 * changes, send results and the plugins' publications become for the plugins
 * (sk_event), for the event log (debug.event_log) and for the live page
 * (/api/events, web/API.md). One initialiser of sk_event, one mapping of the
 * core's event to the ABI's, one JSON line builder per kind, one noise filter.
 */
#ifndef SK_FEED_H
#define SK_FEED_H

#include "../plugins/plugin.h"
#include "event.h"

/* Fills e with its size and type, every other number 0 and every string ""
 * (the ABI's rule: event strings are never NULL). The one initialiser of
 * sk_event, for the host and the bridge. */
void feed_sk_init(sk_event *e, int type);

/* The offsets of sk_event's string members, every one of them (a member
 * appended to sk_event that is a string belongs here), FEED_SK_NSTRINGS of
 * them: for code that walks them (the host turning NULL into "", the fake
 * host copying them). */
#define FEED_SK_NSTRINGS 18
extern const size_t feed_sk_strings[FEED_SK_NSTRINGS];

/* Fills x with the ABI's event for the core's event e: its strings are
 * borrowed from e, raw_json from the caller (the decoded item as JSON text,
 * "" or NULL when there is none). */
void feed_sk_event(sk_event *x, const ev *e, const char *raw_json);

/* Returns 1 when e is noise that the live page and the info log leave out
 * (read receipts, typing), 0 otherwise. The event log keeps every event. */
int feed_is_noise(const ev *e);

/* The JSON lines of the event log and of the live page, one builder for both
 * (the shapes of web/API.md); each line ends with "ms", the time it was made.
 * Every string argument may be NULL (written as ""). Each returns the line
 * (malloc'd, no newline), NULL on OOM. */
/* {"kind":"event","type","trade","chat_id",...,"created_ms","ms"} (event_json) */
char *feed_event_line(const ev *e);
/* {"kind":"state","from","to","why","ms"} */
char *feed_state_line(const char *from, const char *to, const char *why, const char *fail_kind);
/* {"kind":"send","uuid","ok","message_id" (ok) or "reason","plugin","tag","ms"} */
char *feed_send_line(const char *uuid, int ok, const char *detail, const char *plugin, const char *tag);
/* {"kind":"plugin","topic","from","payload","ms"}: payload the parsed
 * payload_json, null when it does not parse. */
char *feed_plugin_line(const char *plugin, const char *topic, const char *payload_json);

#endif
