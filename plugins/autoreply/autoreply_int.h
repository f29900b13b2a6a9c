/* SPDX-License-Identifier: MIT */
/*
 * plugins/autoreply/autoreply_int.h - what the autoreply plugin's files share:
 * the limits, the rule and rule-set records, the plugin state, and the
 * functions one file calls in another (hidden: the plugin exports only its
 * descriptor).
 */
#ifndef SK_PLUGINS_AUTOREPLY_INT_H
#define SK_PLUGINS_AUTOREPLY_INT_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "plugin.h"
#include "common/skctl.h"
#include "common/skrules.h"
#include "common/sktext.h"

#define AR_DEF_DEBOUNCE_MS 1000
#define AR_DEF_PAUSE_S 600
#define AR_DEF_BACKFILL_MAX_AGE_S 600
#define AR_OWN_SEEN 256                     /* chats whose seller's last message is remembered */
#define AR_MAX_FILE (1024 * 1024)
#define AR_IMAGE_W 800
#define AR_IMAGE_H 600
#define AR_DEF_LOG_DAYS 30
#define AR_DAY_MS (24LL * 3600 * 1000)
#define AR_CTL_LIMIT_DEF 100
#define AR_CTL_LIMIT_MAX 1000
#define AR_CTL_CHAT_MAX 64
#define AR_CTL_PAUSE_MAX_S (10LL * 366 * 24 * 3600)
#define AR_TAG_MAX 128
#define AR_REPLY_MAX 4096                   /* bytes of a reply after substitution */
#define AR_RE_MAX_LEN 512                   /* bytes of one regex */
#define AR_RE_COMPILE_MAX (32 * 1024)       /* bytes one regex may take to compile */
#define AR_RE_TOTAL_MAX (16 * 1024 * 1024)  /* bytes a rules file's compiled regexes may hold */
#define AR_RE_MATCH_LIMIT 100000            /* backtracking steps of one match */
#define AR_RE_DEPTH_LIMIT 20000             /* nested backtracking steps of one match */
#define AR_RE_HEAP_KIB 4096                 /* memory of one match's backtracking, KiB */
#define AR_HO_PAUSE_S 86400                 /* handover.pause_s by default */
#define AR_HO_WORDS_MAX 50                  /* handover.words: at most this many */
#define AR_HO_WORD_MAX 100                  /* bytes of one hand-over word */
#define AR_QP_MAX 50                        /* quick_phrases: at most this many */
#define AR_QP_LEN_MAX 500                   /* bytes of one quick phrase */
#define AR_STATS_DAYS_MAX 31                /* autoreply_stats: days */
#define AR_SENDS_MAX 200                    /* autoreply_sends: sends asked at once */
#define AR_BJ_OFFSET_MS (8LL * 3600 * 1000) /* Beijing time, UTC+8 (no daylight saving) */
/* UTF-8 (a text that is not valid UTF-8 still matches where it is), Unicode
 * classes, and . and $ as POSIX had them; no \C, which splits a character. */
#define AR_RE_OPTIONS (PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | \
		       PCRE2_NEVER_BACKSLASH_C)

/* Whether event e came from the history after an outage (ABI 1.4). */
#define AR_BACKFILLED(e) ((e)->size >= offsetof(sk_event, backfilled) + sizeof(int) && (e)->backfilled)

enum { AR_CONTAINS = 0, AR_EXACT, AR_REGEX };
enum { AR_ONCE_NONE = 0, AR_ONCE_CHAT, AR_ONCE_CHAT_ITEM };

/* One rule: a keyword rule, an item default or the account default. */
typedef struct {
	char *key;                 /* its once key prefix: "k:<id or #n>", "i:<item>" or "d" */
	char **kw;
	pcre2_code **re;           /* nkw compiled regexes when match is AR_REGEX */
	size_t nkw;
	int match, once, enabled;
	int re_gave_up;            /* a regex of it hit a limit: logged (once) */
	int64_t priority;
	char *item_id;             /* NULL: any item */
	char *reply;               /* "" when absent */
	char *image;               /* NULL when none */
} ar_rule;

/* What a rule set's compiled regexes hold (the memory_data of its PCRE2
 * general context, whose allocator enforces the compile caps: PCRE2 10.42
 * has no cap of its own on what a pattern compiles to). */
typedef struct {
	size_t used;               /* bytes held now */
	size_t base;               /* used when the current compile began */
	int refused;               /* 0, or which cap refused an allocation since */
} ar_remem;

enum { AR_RE_REFUSED_ONE = 1, AR_RE_REFUSED_ALL };

typedef struct {
	ar_rule *kr;
	size_t nkr;
	size_t *order;             /* kr indices by priority, then file order */
	ar_rule *idef;
	size_t nidef;
	ar_rule dflt;
	int has_dflt;
	/* regexes: all NULL when the rules have none */
	ar_remem mem;
	pcre2_general_context *gctx;   /* compiles through ar_re_alloc */
	pcre2_compile_context *cctx;
	pcre2_match_context *mctx;     /* the match limits */
	pcre2_match_data *md;          /* shared: one match at a time, on the loop */
	/* hand-over (rules key "handover"; absent: on, with the default words) */
	int ho_enabled;
	char **ho_words;
	size_t nho;
	char *ho_text;                 /* "" = no reply */
	int64_t ho_pause_ms;
} ar_rules;

/* The last message of a chat's burst, waiting for its debounce timer. */
typedef struct ar_pend {
	char *chat, *buyer, *name, *text, *item, *mid;
	uint64_t timer;
	int backfilled;            /* its last message came from the history after an outage */
	struct ar_pend *next;
} ar_pend;

typedef struct {
	ar_rules *rules;           /* never NULL after init */
	int64_t debounce_ms, pause_ms;
	int64_t log_days;          /* 0: keep the decision log forever */
	char **banned;
	size_t nbanned;
	int enabled;
	ar_pend *pend;
	int64_t backfill_max_age_ms; /* backfill_max_age_s */
	struct {
		char chat[AR_CTL_CHAT_MAX];
		int64_t ms;            /* created_ms of the seller's last message seen in it */
	} own_seen[AR_OWN_SEEN];
	int own_pos;
	char *kill_at;             /* debug_kill_at (tests only), NULL when unset */
	int agent_absent;          /* no agent_take command: not asked again until core.reload */
} ar_state;

/* The message being answered (borrowed strings). */
typedef struct {
	const char *chat, *buyer, *name, *text, *item, *mid;
} ar_msg;

#pragma GCC visibility push(hidden)

/* autoreply.c */
int autoreply_paused(sk_plugin *p, const char *chat);
int autoreply_waiting(sk_plugin *p, const char *chat, int64_t *since_ms);
void autoreply_pend_drop(sk_plugin *p, ar_state *st, const char *chat);
int autoreply_pause_set(sk_plugin *p, const char *chat, int64_t since_ms, int64_t until_ms, const char *reason,
			int waiting);
int64_t autoreply_log(sk_plugin *p, const ar_msg *m, const char *decision, const char *rule, const char *outcome);
int autoreply_send(sk_plugin *p, const ar_msg *m, const char *tag, const char *url, const char *text, int64_t id,
		   int track);
void autoreply_own_note(ar_state *st, const char *chat, int64_t ms);
int autoreply_seller_wrote(sk_plugin *p, ar_state *st, const char *chat, int64_t from, const char *reason);

/* autoreply_agent.c */
/* Offers m to the agent plugin (agent_take) when no keyword rule matched it:
 * decision "no_match", "default" or "item_default", reply what autoreply
 * would send ("" none). Returns 1 when the agent took it (logged "agent"),
 * else 0: autoreply answers as before. */
int autoreply_agent(sk_plugin *p, ar_state *st, const ar_msg *m, const char *decision, const char *reply);

/* autoreply_handover.c */
void autoreply_handover_parse(skrules_ctx *x, ar_rules *rs, const cJSON *root, const char *text);
const char *autoreply_handover_word(const ar_rules *rs, const char *text);
int autoreply_handover(sk_plugin *p, ar_state *st, const ar_msg *m, const char *word);
int autoreply_on_seller_reply(sk_plugin *p, const sk_event *e, void *ud);

/* autoreply_rules.c */
extern const char *const autoreply_vars[];
int autoreply_get_bool(skrules_ctx *x, const cJSON *o, const char *field, const char *where, int def);
void autoreply_check_fields(skrules_ctx *x, const cJSON *o, const char *where, const char *const *allowed);
void autoreply_rules_free(ar_rules *rs);
char *autoreply_strdup(const char *s);
int autoreply_icontains(const char *hay, const char *needle);
ar_rules *autoreply_load(sk_plugin *p);
int autoreply_rules_check(const char *json, size_t len, char *errs, size_t errlen);
const ar_rule *autoreply_find(sk_plugin *p, ar_rules *rs, const ar_msg *m);

/* autoreply_ctl.c */
void autoreply_controls_add(sk_plugin *p);

#pragma GCC visibility pop

#endif
