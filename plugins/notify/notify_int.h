/* SPDX-License-Identifier: MIT */
/*
 * plugins/notify/notify_int.h - what the notify plugin's files share: the
 * limits, the alert kinds and placeholders, the plugin state, and the
 * functions one file calls in another (hidden: the plugin exports only its
 * descriptor).
 */
#ifndef SK_PLUGINS_NOTIFY_INT_H
#define SK_PLUGINS_NOTIFY_INT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "plugin.h"
#include "common/skctl.h"

#define NT_HOUR_MS 3600000LL
#define NT_MESSAGE_MAX 500       /* bytes of a buyer's message quoted */
#define NT_FIELD_MAX 300         /* bytes of any other field */
#define NT_URL_MAX 2048
#define NT_WORD_MAX 100

/* The settings the page may set (notify_page, table notify_page): bits of
 * nt_state's page (the page's value is in force) and cfg (the config file
 * has one). */
#define NT_S_URL 1
#define NT_S_HEADER 2
#define NT_S_TEMPLATES 4
#define NT_S_KINDS 8
#define NT_S_WORDS 16

/* notify_raise's flags */
#define NT_DEDUP 1               /* drop it when its key was seen within dedup_s */
#define NT_NOKICK 2              /* the caller commits a transaction first, then kicks */

enum { NT_OFFLINE, NT_ONLINE, NT_RELOGIN, NT_DELIVERY_FAILED, NT_OUT_OF_STOCK, NT_LOW_STOCK, NT_KEYWORD, NT_TEST,
       NT_SUMMARY, NT_RISK, NT_KICKED, NT_HANDOVER, NT_NKINDS };
enum { V_ID, V_ACCOUNT, V_KIND, V_KEY, V_TEXT, V_T, V_REASON, V_SECONDS, V_ORDER_ID, V_CARD, V_NEEDED, V_AVAILABLE,
       V_THRESHOLD, V_CHAT_ID, V_BUYER_ID, V_BUYER_NAME, V_ITEM_ID, V_WORD, V_MESSAGE, V_COUNT, V_PUNISH_URL,
       NT_NVARS };

typedef struct {
	char *url, *header;
	char *tmpl[NT_NKINDS];      /* NULL: the default body */
	char **words;
	size_t nwords;
	int64_t offline_after_ms, dedup_ms, max_per_hour, retry_base_ms, retry_max_ms, timeout_ms, keep_ms;
	int64_t expire_ms;         /* expire_s: 0 never */
	int back_online, relogin, on_delivery_failed, on_out_of_stock, on_low_stock, on_risk, on_kicked;
	int on_offline, on_keyword, on_handover;
	unsigned page, cfg;         /* NT_S_*: set by the page (notify_page), by the config file */
	/* the session */
	int outage;                 /* not CONNECTED since outage_mono */
	int64_t outage_mono;
	int offline_sent;
	unsigned failed_sent;       /* the FAILED alerts of this outage, a bit per kind (NT_RELOGIN...) */
	char reason[200];
	uint64_t offline_timer;
	/* the outbox */
	int64_t inflight;           /* the row being posted, 0 when none */
	int64_t pause_until;        /* wall ms: nothing is posted before (a retry's wait) */
	uint64_t queue_timer, window_timer;
	int64_t dropped;            /* repeats dropped in this run */
	unsigned long nid;
} nt_state;

/* An alert being made: its kind, key, text, and the placeholders' values
 * (NULL: none). */
typedef struct {
	int kind;
	char key[256];
	char text[1024];
	const char *v[NT_NVARS];
} nt_alert;

/* What a POST's callback needs (the row), freed by the host. */
typedef struct {
	int64_t row;
	char id[32];
} nt_req;

/* A kind's on/off switch: the name in notify_settings' "kinds", its config
 * key, and its int member of nt_state. */
typedef struct {
	const char *kind, *key;
	size_t off;
} nt_toggle;

/* A growable text buffer; oom sticks. */
typedef struct {
	char *p;
	size_t len, cap;
	int oom;
} nt_buf;

#pragma GCC visibility push(hidden)

/* notify.c */
extern const char *const notify_kinds[];
void notify_adds(nt_buf *b, const char *s);
int notify_tmpl_check(const char *t, char *why, size_t n);
int notify_row_int(sk_plugin *p, int n, const sk_value *c, void *ud);
int64_t notify_admitted(sk_plugin *p, int64_t now);
int notify_raise(sk_plugin *p, nt_state *st, nt_alert *a, int flags, char *id_out);
void notify_alert_init(nt_alert *a, int kind);

/* notify_config.c */
extern const nt_toggle notify_toggles[];
void notify_config_swap(nt_state *a, nt_state *b);
void notify_state_free(nt_state *st);
int notify_config(sk_plugin *p, nt_state *st);
int notify_url_check(const char *url, char *why, size_t n);
int notify_header_check(const char *h, char *why, size_t n);
int notify_templates_take(const cJSON *o, char **tmpl, int page, char *why, size_t n);
int notify_words_take(const cJSON *a, nt_state *st, char *why, size_t n);
int notify_reconfig(sk_plugin *p, nt_state *st);

/* notify_page.c */
void notify_page_apply(sk_plugin *p, nt_state *st);
void notify_mask_url(const char *url, char *out, size_t n);
int notify_page_controls_add(sk_plugin *p);

/* notify_post.c */
void notify_window_check(sk_plugin *p, nt_state *st);
void notify_kick(sk_plugin *p, nt_state *st);

/* notify_ctl.c */
int64_t notify_count_state(sk_plugin *p, const char *state);
int notify_controls_add(sk_plugin *p);

#pragma GCC visibility pop

#endif
