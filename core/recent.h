/* SPDX-License-Identifier: MIT */
/*
 * core/recent.h - the last lines of the live page's event feed, for
 * events_recent (web/API.md): a page that loads again shows what happened
 * before it. With debug.event_log set, the tail of that file (event, state
 * and send lines) plus the plugin lines, which the file does not hold, kept
 * in a ring; without it, a ring of the last RECENT_RING lines the page got.
 * Lines are kept only while a page is connected (they are built for it
 * anyway): nothing is done per event otherwise.
 */
#ifndef SK_RECENT_H
#define SK_RECENT_H

#include <cjson/cJSON.h>

#define RECENT_RING 500
#define RECENT_TAIL (256 * 1024)   /* bytes of the event log read at most */

typedef struct recent recent;

/* A ring reading the event log at path (NULL: none; copied). NULL on OOM. */
recent *recent_new(const char *event_log);
void recent_free(recent *r);
/* Keeps a copy of one feed line (core/feed.h) that went to the page;
 * plugin: a plugin's publication (kept also with an event log). */
void recent_add(recent *r, const char *line, int plugin);
/* The last limit lines (1..RECENT_RING) as parsed objects, oldest first (a
 * new array, the caller's; NULL on OOM). Lines that are not JSON, and the
 * event log's read receipts and typing (the page never shows them), are
 * left out. */
cJSON *recent_json(recent *r, int limit);

#endif
