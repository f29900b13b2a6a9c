/* SPDX-License-Identifier: MIT */
/*
 * plugins/autoreply/autoreply.c - answers buyers' chat texts from the
 * account's rules file (config/rules.example.json shows every field).
 *
 * Rules. The file named by the account's `rules` is JSON:
 *
 *   keyword_rules  [{keywords, match, reply, item_id, priority, enabled, image, once, id}]
 *   item_defaults  [{item_id, reply, image, once}]
 *   default_reply  {reply, image, once, enabled}
 *
 * (The same file's "cards" and "delivery" belong to the orders plugin.)
 *
 * It is validated as a whole; every error names the rule and the field
 * ("keyword_rules[2].match: must be contains, exact or regex") and is logged,
 * and a file with any error leaves the rules in force unchanged. It is read at
 * init and again on the core's "core.reload" event (SIGHUP). Regexes are
 * compiled once, at load (see "Regex limits" below for the patterns it
 * refuses). The descriptor's rules_check runs the same
 * validator on a document the web page wants to save, and gives the same
 * messages, one a line.
 *
 * Matching. `match` is "contains" (the default: the keyword is a substring
 * of the text, ASCII letters compared case-insensitively, other bytes - CJK -
 * exactly), "exact" (the text, without surrounding ASCII blanks, equals the
 * keyword byte for byte) or "regex" (PCRE2, Perl syntax, case as written,
 * found anywhere in the text unless anchored; in UTF-8 mode, so 号? means an
 * optional 号, and with Unicode properties: \d, \w and [[:digit:]] match any
 * script's digits and letters, [0-9] only ASCII ones). Several keywords mean
 * any-of. The first match wins, in this order: enabled rules
 * bound to the message's item_id, then enabled rules with no item_id (each
 * pass by priority, lower first, ties in file order), then the item's entry
 * of item_defaults, then default_reply (unless "enabled": false).
 *
 * Regex syntax. A regex used to be POSIX extended (regcomp); the patterns
 * a seller writes (^ $ | ( ) [ ] [[:digit:]] * + ? {n,m}) mean the same
 * under PCRE2, which is compiled with DOTALL and DOLLAR_ENDONLY so that . and
 * $ treat a newline as POSIX did. What differs: a repeat after a Chinese
 * character now repeats the character (it repeated its last byte); \d \s \w
 * \b and (?...) are Perl's; \< and \> are plain < and > (GNU's word
 * boundaries: write \b); {,n} is literal text (write {0,n}); a backslash
 * inside [ ] escapes ([\d] is a digit, POSIX read \ or d). Perl's
 * leftmost-first and POSIX's leftmost-longest pick different matches, but a
 * rule only asks whether there is one, and both search until they find it.
 *
 * Regex limits. A pattern is at most AR_RE_MAX_LEN (512) bytes and may take
 * at most AR_RE_COMPILE_MAX (32 KiB) to compile, all of a file's together
 * AR_RE_TOTAL_MAX (16 MiB): longer or bigger ones ("(a{1,100}){1,100}") are
 * a validation error ("keyword_rules[3].keywords[0]: bad regex: too big ...").
 * A match may take AR_RE_MATCH_LIMIT backtracking steps, AR_RE_DEPTH_LIMIT
 * nested ones and AR_RE_HEAP_KIB of memory; a keyword that hits a limit on a
 * message (a back-reference or nested repeat on an unlucky text) does not
 * match it, and that is logged once per rule (until the rules are reloaded),
 * so one message costs a few milliseconds per such keyword, never the loop.
 * No JIT: it needs writable executable memory, which the systemd unit denies
 * (MemoryDenyWriteExecute), and ignores the depth and heap limits.
 *
 * Replies. Variables {buyer_name} {buyer_id} {message} {item_id} {chat_id}
 * are substituted; any other {...} is a validation error (write {{ and }} for
 * literal braces). A reply is cut to AR_REPLY_MAX (4096) bytes after the
 * substitution, at a character boundary, and the cut is logged: a long
 * buyer text in a template that repeats {message} cannot grow a huge reply.
 * An empty reply without an image means "matched, send
 * nothing". An `image` URL is sent as an image (800x600) before the text.
 * `once` ("chat", "chat_item" or null) answers a rule once per chat, or per
 * (chat, item); the record is kept in autoreply_once, and a rule whose once is
 * spent still matches but sends nothing (so a buyer who had the item's
 * default does not get the account default next).
 *
 * Around the rules:
 *   - debounce (debounce_ms, default 1000, 0 = off): a burst of texts in a
 *     chat gets one decision, for its last message, debounce_ms after it
 *     (or at once on "core.stopping", SIGTERM); the waiting burst is kept in
 *     autoreply_pending, so a crash before its time does not lose it: the
 *     next start answers it (unless the log shows it was answered);
 *   - manual takeover: a message of our own account that is not an echo of
 *     our sends pauses the chat for pause_s (default 600, 0 = never), kept in
 *     autoreply_pause so it survives restarts, and drops a pending burst;
 *   - banned words (banned_words, default 微信 QQ 支付宝 银行卡 线下, ASCII
 *     case-insensitive): a reply containing one is not sent, and the log says
 *     why;
 *   - only buyers' SK_EV_CHAT_TEXT is answered: trade cards, system texts
 *     (SK_EV_SYSTEM, classified by the core) and images never are;
 *   - once per message: a reply's sends carry the tag "reply:<message_id>",
 *     and a message whose reply is in the outbox already (the process died
 *     after queueing it, before dedup wrote the message down, and the
 *     platform pushed it again) is not answered again; a rule's once is
 *     spent when its reply is queued;
 *   - enabled (default true): false answers nothing (pauses still recorded).
 *
 * Decision log. Every buyer text that reaches autoreply gets one row in
 * autoreply_log (ms, chat, buyer, message_id, the buyer's text) saying what
 * was decided, for the web page:
 *   rule          a keyword rule answered (rule: its id, or "#<index>")
 *   item_default  the item's default answered (rule: "item:<item_id>")
 *   default       the account default answered (rule: "default")
 *   swallowed     the matched rule has an empty reply: nothing sent
 *   once_used     the matched rule's once is spent: nothing sent
 *   banned        the reply has a banned word: not sent (outcome: the word)
 *   paused        the chat is paused, or the seller took over during its burst
 *   debounced     superseded by a later message of its burst (that one is logged too)
 *   no_match      nothing answered (the event goes on to later handlers)
 *   disabled      enabled is false
 * (rule is set whenever a rule matched.) For a reply sent, send_uuid is the
 * send's durable id (the text's when a rule sends an image and a text) and
 * outcome becomes "sent:<message_id>" or "refused:<reason>" when the send
 * finishes - from the send callback, or from SK_EV_SEND_RESULT when it
 * finishes after a restart - or "error:<sk_strerror>" when the host refused
 * the send outright. A message the dedup plugin stopped as a duplicate never
 * reaches autoreply, so duplicates are not in this log (dedup keeps its own;
 * one answered before a restart is logged once, at its answer).
 * Rows older than log_days (default 30, 0 = keep forever) are deleted at
 * start and then once a day.
 *
 * Control commands (the account's web page, web/API.md); bad data is
 * SK_ERR_INVAL with a message naming the field:
 *   pause_chat {chat_id, seconds}  pauses the chat as a manual takeover does
 *                                  (seconds: 1 to 10 years, default pause_s)
 *                                  -> {chat_id, paused_until_ms}
 *   resume_chat {chat_id}          ends its pause -> {chat_id, resumed: was it paused}
 *   decisions {limit}              the decision log, newest first (limit 1 to
 *                                  1000, default 100) -> {decisions: [{ms, chat_id,
 *                                  buyer_id, text, decision, rule, outcome}]}
 *   paused_chats                   -> {chats: [{chat_id, paused_until_ms}]}, the
 *                                  chats paused now (the core's list_chats uses it)
 *
 * debug_kill_at (tests only) kills the process with SIGKILL at a step of an
 * answer: "answer" (dedup has passed the message, nothing written yet),
 * "between" (a reply of an image and a text: the image queued, the text not
 * yet) or "queued" (its reply is in the outbox, not sent yet).
 */
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
/* UTF-8 (a text that is not valid UTF-8 still matches where it is), Unicode
 * classes, and . and $ as POSIX had them; no \C, which splits a character. */
#define AR_RE_OPTIONS (PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | \
		       PCRE2_NEVER_BACKSLASH_C)

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
} ar_rules;

/* The last message of a chat's burst, waiting for its debounce timer. */
typedef struct ar_pend {
	char *chat, *buyer, *name, *text, *item, *mid;
	uint64_t timer;
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
	char *kill_at;             /* debug_kill_at (tests only), NULL when unset */
} ar_state;

/* The message being answered (borrowed strings). */
typedef struct {
	const char *chat, *buyer, *name, *text, *item, *mid;
} ar_msg;

static const char *const ar_vars[] = { "buyer_name", "buyer_id", "message", "item_id", "chat_id", NULL };
static const char *const ar_def_banned[] = { "微信", "QQ", "支付宝", "银行卡", "线下", NULL };

static const sk_config_key ar_keys[] = {
	{ .key = "debounce_ms", .type = SK_CFG_INT, .help = "one reply per burst in a chat, this long after its last message (default 1000)" },
	{ .key = "pause_s", .type = SK_CFG_INT, .help = "pause a chat this long after the seller typed in it (default 600, 0 = never)" },
	{ .key = "banned_words", .type = SK_CFG_STR_LIST, .help = "replies containing one are not sent" },
	{ .key = "enabled", .type = SK_CFG_BOOL, .help = "answer at all (default true)" },
	{ .key = "log_days", .type = SK_CFG_INT, .help = "keep the decision log this many days (default 30, 0 = forever)" },
	{ .key = "debug_kill_at", .type = SK_CFG_STR, .help = "tests only: SIGKILL the process at this step of an answer" },
	{ 0 }
};

static const char *const ar_migrations[] = {
	"CREATE TABLE autoreply_once (scope TEXT PRIMARY KEY, ms INTEGER NOT NULL)",
	"CREATE TABLE autoreply_pause (chat TEXT PRIMARY KEY, until_ms INTEGER NOT NULL)",
	"CREATE TABLE autoreply_log (id INTEGER PRIMARY KEY, ms INTEGER NOT NULL, chat TEXT NOT NULL, "
	"buyer TEXT NOT NULL, message_id TEXT NOT NULL, text TEXT NOT NULL, decision TEXT NOT NULL, "
	"rule TEXT NOT NULL DEFAULT '', send_uuid TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX autoreply_log_ms ON autoreply_log (ms)",
	/* the burst waiting for its debounce timer, per chat: answered after a crash */
	"CREATE TABLE autoreply_pending (chat TEXT PRIMARY KEY, buyer TEXT NOT NULL, name TEXT NOT NULL, "
	"text TEXT NOT NULL, item TEXT NOT NULL, message_id TEXT NOT NULL, due_ms INTEGER NOT NULL)",
	NULL
};

/* Frees what a rule holds. */
static void ar_rule_clear(ar_rule *r)
{
	for (size_t i = 0; i < r->nkw; i++) {
		free(r->kw[i]);
		if (r->re)
			pcre2_code_free(r->re[i]);
	}
	free(r->kw);
	free(r->re);
	free(r->key);
	free(r->item_id);
	free(r->reply);
	free(r->image);
	memset(r, 0, sizeof *r);
}

/* Frees a rule set (NULL is fine). */
static void ar_rules_free(ar_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nkr; i++)
		ar_rule_clear(&rs->kr[i]);
	for (size_t i = 0; i < rs->nidef; i++)
		ar_rule_clear(&rs->idef[i]);
	ar_rule_clear(&rs->dflt);
	free(rs->kr);
	free(rs->idef);
	free(rs->order);
	/* after the codes: they free through rs->mem */
	pcre2_match_data_free(rs->md);
	pcre2_match_context_free(rs->mctx);
	pcre2_compile_context_free(rs->cctx);
	pcre2_general_context_free(rs->gctx);
	free(rs);
}

/* The allocator of a rule set's regex compiles (ud: its ar_remem). Returns
 * n bytes, or NULL when they would take the current compile past
 * AR_RE_COMPILE_MAX or the set past AR_RE_TOTAL_MAX (noted in refused). */
static void *ar_re_alloc(PCRE2_SIZE n, void *ud)
{
	ar_remem *m = ud;
	max_align_t *h;

	if (n > AR_RE_COMPILE_MAX || m->used - m->base + n > AR_RE_COMPILE_MAX) {
		m->refused = AR_RE_REFUSED_ONE;
		return NULL;
	}
	if (m->used + n > AR_RE_TOTAL_MAX) {
		m->refused = AR_RE_REFUSED_ALL;
		return NULL;
	}
	/* the size goes in front, in a header that keeps the block aligned */
	if (!(h = malloc(sizeof *h + n)))
		return NULL;
	*(size_t *)h = n;
	m->used += n;
	return h + 1;
}

/* Frees what ar_re_alloc gave (NULL is fine). */
static void ar_re_free(void *ptr, void *ud)
{
	ar_remem *m = ud;
	max_align_t *h = ptr;

	if (!h)
		return;
	h--;
	m->used -= *(size_t *)h;
	free(h);
}

/* Sets up rs for regexes: the contexts with the compile caps and the match
 * limits, and the match data. Returns 0, or -1 without memory. */
static int ar_re_init(ar_rules *rs)
{
	if (!(rs->gctx = pcre2_general_context_create(ar_re_alloc, ar_re_free, &rs->mem)) ||
	    !(rs->cctx = pcre2_compile_context_create(rs->gctx)) || !(rs->mctx = pcre2_match_context_create(NULL)) ||
	    !(rs->md = pcre2_match_data_create(1, NULL)))
		return -1;
	pcre2_set_max_pattern_length(rs->cctx, AR_RE_MAX_LEN);
	pcre2_set_match_limit(rs->mctx, AR_RE_MATCH_LIMIT);
	pcre2_set_depth_limit(rs->mctx, AR_RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(rs->mctx, AR_RE_HEAP_KIB);
	return 0;
}

/* Compiles pattern, keyword k of the rule at where, for rs. Returns the
 * code, or NULL after reporting why (too long, too big, or its syntax with
 * the byte offset). */
static pcre2_code *ar_re_compile(skrules_ctx *x, ar_rules *rs, const char *where, size_t k, const char *pattern)
{
	size_t len = strlen(pattern);
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off = 0;
	pcre2_code *re;
	int err = 0;

	if (len > AR_RE_MAX_LEN) {
		skrules_err(x, "%s.keywords[%zu]: bad regex: %zu bytes long, at most %d", where, k, len, AR_RE_MAX_LEN);
		return NULL;
	}
	if (!rs->cctx && ar_re_init(rs) < 0) {
		skrules_err(x, "%s.keywords: out of memory", where);
		return NULL;
	}
	rs->mem.base = rs->mem.used;
	rs->mem.refused = 0;
	if ((re = pcre2_compile((PCRE2_SPTR)pattern, len, AR_RE_OPTIONS, &err, &off, rs->cctx)))
		return re;
	if (rs->mem.refused == AR_RE_REFUSED_ALL)
		skrules_err(x, "%s.keywords[%zu]: bad regex: the file's regexes take more than %d MiB together", where,
			    k, AR_RE_TOTAL_MAX >> 20);
	else if (rs->mem.refused || err == PCRE2_ERROR_PATTERN_TOO_LARGE)
		skrules_err(x, "%s.keywords[%zu]: bad regex: too big: it compiles to more than %d KiB (a repeat of "
			    "a repeat, such as (a{1,100}){1,100}, multiplies)", where, k, AR_RE_COMPILE_MAX >> 10);
	else if (pcre2_get_error_message(err, msg, sizeof msg) < 0)
		skrules_err(x, "%s.keywords[%zu]: bad regex: error %d at byte %zu", where, k, err, (size_t)off);
	else
		skrules_err(x, "%s.keywords[%zu]: bad regex: %s at byte %zu", where, k, (const char *)msg, (size_t)off);
	return NULL;
}

/* Returns a malloc'ed copy of s (NULL stays NULL, or without memory). */
static char *ar_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ASCII lower case; other bytes unchanged. */
static int ar_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Returns whether needle occurs in hay, ASCII letters case-insensitively. */
static int ar_icontains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		size_t i = 0;

		while (i < n && hay[i] && ar_lower((unsigned char)hay[i]) == ar_lower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return n == 0;
}

/* Returns whether s, without surrounding ASCII blanks, equals kw. */
static int ar_exact(const char *s, const char *kw)
{
	const char *end = s + strlen(s);
	size_t n = strlen(kw);

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	return (size_t)(end - s) == n && !memcmp(s, kw, n);
}

/* Returns 1 when v is a number with an integral value that fits int64_t. The
 * range is tested first: converting a double outside it is undefined (NaN
 * fails the test too). */
static int ar_is_int(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= -9223372036854775808.0 &&
	       v->valuedouble < 9223372036854775808.0 && v->valuedouble == (double)(int64_t)v->valuedouble;
}

/* Reads an optional string field into *out (malloc'ed; NULL when absent or
 * null; numbers are accepted as their decimal text when num_ok). Returns 0,
 * or -1 after logging an error. */
static int ar_get_str(skrules_ctx *x, const cJSON *o, const char *field, const char *where, int num_ok, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
	char buf[32];

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsString(v)) {
		*out = strdup(v->valuestring);
	} else if (num_ok && ar_is_int(v)) {
		snprintf(buf, sizeof buf, "%lld", (long long)v->valuedouble);
		*out = strdup(buf);
	} else {
		skrules_err(x, "%s.%s: must be a string%s", where, field, num_ok ? ", a number or null" : " or null");
		return -1;
	}
	if (!*out) {
		skrules_err(x, "%s.%s: out of memory", where, field);
		return -1;
	}
	return 0;
}

/* Reads the fields every rule kind has: reply (checked), image, once. */
static void ar_get_common(skrules_ctx *x, const cJSON *o, const char *where, ar_rule *r)
{
	char *once = NULL, why[256];

	if (ar_get_str(x, o, "reply", where, 0, &r->reply) == 0 && !r->reply && !(r->reply = strdup("")))
		skrules_err(x, "%s.reply: out of memory", where);
	if (r->reply && sktext_tmpl_check(r->reply, ar_vars, why, sizeof why))
		skrules_err(x, "%s.reply: %s", where, why);
	if (ar_get_str(x, o, "image", where, 0, &r->image) == 0 && r->image && !*r->image) {
		free(r->image);
		r->image = NULL;
	}
	if (ar_get_str(x, o, "once", where, 0, &once) == 0 && once) {
		if (!strcmp(once, "chat"))
			r->once = AR_ONCE_CHAT;
		else if (!strcmp(once, "chat_item"))
			r->once = AR_ONCE_CHAT_ITEM;
		else
			skrules_err(x, "%s.once: must be \"chat\", \"chat_item\" or null", where);
	}
	free(once);
}

/* Reads an optional boolean field (def when absent). */
static int ar_get_bool(skrules_ctx *x, const cJSON *o, const char *field, const char *where, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);

	if (!v)
		return def;
	if (!cJSON_IsBool(v)) {
		skrules_err(x, "%s.%s: must be true or false", where, field);
		return def;
	}
	return cJSON_IsTrue(v);
}

/* Logs an error for each field of o not in allowed (NULL-terminated). */
static void ar_check_fields(skrules_ctx *x, const cJSON *o, const char *where, const char *const *allowed)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, o) {
		size_t i = 0;

		while (allowed[i] && strcmp(allowed[i], c->string))
			i++;
		if (!allowed[i])
			skrules_err(x, "%s.%s: unknown field", where, c->string);
	}
}

/* Parses keyword_rules[i] into r, a rule of rs. */
static void ar_parse_keyword_rule(skrules_ctx *x, ar_rules *rs, const cJSON *o, size_t i, ar_rule *r)
{
	static const char *const fields[] = { "keywords", "match", "reply", "item_id", "priority", "enabled",
					      "image", "once", "id", "comment", NULL };
	const cJSON *kws, *v;
	char where[48], *match = NULL, *id = NULL;
	size_t n;

	snprintf(where, sizeof where, "keyword_rules[%zu]", i);
	if (!cJSON_IsObject(o)) {
		skrules_err(x, "%s: must be an object", where);
		return;
	}
	ar_check_fields(x, o, where, fields);
	ar_get_common(x, o, where, r);
	ar_get_str(x, o, "item_id", where, 1, &r->item_id);
	r->enabled = ar_get_bool(x, o, "enabled", where, 1);
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "priority"))) {
		if (ar_is_int(v))
			r->priority = (int64_t)v->valuedouble;
		else
			skrules_err(x, "%s.priority: must be an integer", where);
	}
	if (ar_get_str(x, o, "match", where, 0, &match) == 0 && match) {
		if (!strcmp(match, "contains"))
			r->match = AR_CONTAINS;
		else if (!strcmp(match, "exact"))
			r->match = AR_EXACT;
		else if (!strcmp(match, "regex"))
			r->match = AR_REGEX;
		else
			skrules_err(x, "%s.match: must be contains, exact or regex", where);
	}
	free(match);
	ar_get_str(x, o, "id", where, 1, &id);
	if (id) {
		size_t len = strlen(id) + 3;

		if ((r->key = malloc(len)))
			snprintf(r->key, len, "k:%s", id);
		free(id);
	} else if ((r->key = malloc(32))) {
		snprintf(r->key, 32, "k:#%zu", i);
	}
	kws = cJSON_GetObjectItemCaseSensitive(o, "keywords");
	if (!cJSON_IsArray(kws) || !(n = (size_t)cJSON_GetArraySize(kws))) {
		skrules_err(x, "%s.keywords: must be a non-empty list of strings", where);
		return;
	}
	if (!(r->kw = calloc(n, sizeof *r->kw)) || (r->match == AR_REGEX && !(r->re = calloc(n, sizeof *r->re)))) {
		skrules_err(x, "%s.keywords: out of memory", where);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		const cJSON *s = cJSON_GetArrayItem(kws, (int)k);

		if (!cJSON_IsString(s) || !*s->valuestring) {
			skrules_err(x, "%s.keywords[%zu]: must be a non-empty string", where, k);
			continue;
		}
		if (r->re && !(r->re[r->nkw] = ar_re_compile(x, rs, where, k, s->valuestring)))
			continue;
		if (!(r->kw[r->nkw] = strdup(s->valuestring))) {
			if (r->re)
				pcre2_code_free(r->re[r->nkw]);
			skrules_err(x, "%s.keywords: out of memory", where);
			continue;
		}
		r->nkw++;
	}
}

/* Parses item_defaults[i] into r. */
static void ar_parse_item_default(skrules_ctx *x, const cJSON *o, size_t i, ar_rule *r)
{
	static const char *const fields[] = { "item_id", "reply", "image", "once", "comment", NULL };
	char where[48];
	size_t len;

	snprintf(where, sizeof where, "item_defaults[%zu]", i);
	if (!cJSON_IsObject(o)) {
		skrules_err(x, "%s: must be an object", where);
		return;
	}
	ar_check_fields(x, o, where, fields);
	ar_get_common(x, o, where, r);
	r->enabled = 1;
	if (ar_get_str(x, o, "item_id", where, 1, &r->item_id) == 0 && (!r->item_id || !*r->item_id)) {
		skrules_err(x, "%s.item_id: must be given", where);
		return;
	}
	if (r->item_id && (r->key = malloc(len = strlen(r->item_id) + 3)))
		snprintf(r->key, len, "i:%s", r->item_id);
}

/* Sorts rs->order by priority, ties in file order (insertion sort: stable,
 * and rule files are small). */
static void ar_sort(ar_rules *rs)
{
	for (size_t i = 0; i < rs->nkr; i++) {
		size_t j = i, v = i;

		while (j > 0 && rs->kr[rs->order[j - 1]].priority > rs->kr[v].priority) {
			rs->order[j] = rs->order[j - 1];
			j--;
		}
		rs->order[j] = v;
	}
}

/* Validates a rules document (NUL-terminated JSON text) and builds its
 * rules: the one validator of the rules file and of rules_check. Returns the
 * rules, or NULL when it has errors (each reported with skrules_err). */
static ar_rules *ar_parse(skrules_ctx *x, const char *text)
{
	/* cards and delivery belong to the orders plugin */
	static const char *const fields[] = { "keyword_rules", "item_defaults", "default_reply", "cards", "delivery",
		"comment", NULL };
	static const char *const dfields[] = { "reply", "image", "once", "enabled", "comment", NULL };
	const cJSON *kr, *id, *dr;
	ar_rules *rs = calloc(1, sizeof *rs);
	cJSON *root = NULL;

	if (!rs) {
		skrules_err(x, "out of memory");
		return NULL;
	}
	root = cJSON_ParseWithOpts(text, NULL, 1);
	if (!cJSON_IsObject(root)) {
		skrules_err(x, root ? "must be a JSON object" : "not valid JSON");
		goto fail;
	}
	ar_check_fields(x, root, "(top)", fields);
	kr = cJSON_GetObjectItemCaseSensitive(root, "keyword_rules");
	if (kr && !cJSON_IsNull(kr) && !cJSON_IsArray(kr)) {
		skrules_err(x, "keyword_rules: must be a list");
	} else if (cJSON_IsArray(kr) && (rs->nkr = (size_t)cJSON_GetArraySize(kr))) {
		if (!(rs->kr = calloc(rs->nkr, sizeof *rs->kr)) || !(rs->order = calloc(rs->nkr, sizeof *rs->order))) {
			rs->nkr = 0;
			skrules_err(x, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < rs->nkr; i++)
			ar_parse_keyword_rule(x, rs, cJSON_GetArrayItem(kr, (int)i), i, &rs->kr[i]);
		ar_sort(rs);
	}
	id = cJSON_GetObjectItemCaseSensitive(root, "item_defaults");
	if (id && !cJSON_IsNull(id) && !cJSON_IsArray(id)) {
		skrules_err(x, "item_defaults: must be a list");
	} else if (cJSON_IsArray(id) && (rs->nidef = (size_t)cJSON_GetArraySize(id))) {
		if (!(rs->idef = calloc(rs->nidef, sizeof *rs->idef))) {
			rs->nidef = 0;
			skrules_err(x, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < rs->nidef; i++)
			ar_parse_item_default(x, cJSON_GetArrayItem(id, (int)i), i, &rs->idef[i]);
	}
	dr = cJSON_GetObjectItemCaseSensitive(root, "default_reply");
	if (dr && !cJSON_IsNull(dr) && !cJSON_IsObject(dr)) {
		skrules_err(x, "default_reply: must be an object or null");
	} else if (cJSON_IsObject(dr)) {
		ar_check_fields(x, dr, "default_reply", dfields);
		ar_get_common(x, dr, "default_reply", &rs->dflt);
		rs->dflt.enabled = ar_get_bool(x, dr, "enabled", "default_reply", 1);
		rs->dflt.key = strdup("d");
		rs->has_dflt = 1;
	}
	if (x->nerr)
		goto fail;
	cJSON_Delete(root);
	return rs;
fail:
	cJSON_Delete(root);
	ar_rules_free(rs);
	return NULL;
}

/* Loads and validates the rules file. Returns the rules (empty ones when the
 * account has no rules file), or NULL when it has errors (all logged). */
static ar_rules *ar_load(sk_plugin *p)
{
	skrules_ctx x = { .p = p, .path = sk_rules_path(p) };
	ar_rules *rs = NULL;
	char *text, why[256];

	if (!*x.path) {
		sk_log(p, SK_LOG_INFO, "no rules file: nothing to answer");
		return calloc(1, sizeof *rs);
	}
	if (!(text = sktext_read_file(x.path, AR_MAX_FILE, why, sizeof why))) {
		skrules_err(&x, "%s", why);
	} else {
		rs = ar_parse(&x, text);
		free(text);
	}
	if (!rs) {
		sk_log(p, SK_LOG_ERR, "rules %s: %d error%s, the rules in force are kept", x.path, x.nerr,
		       x.nerr == 1 ? "" : "s");
		return NULL;
	}
	sk_log(p, SK_LOG_INFO, "rules %s: %zu keyword rules, %zu item defaults, %s default reply", x.path,
	       rs->nkr, rs->nidef, rs->has_dflt && rs->dflt.enabled ? "a" : "no");
	return rs;
}

/* The descriptor's rules_check: validates the rules document json (len
 * bytes) exactly as a rules file is validated, without the host. Returns 0,
 * or -1 with one problem per line in errs (errlen bytes). */
static int ar_rules_check(const char *json, size_t len, char *errs, size_t errlen)
{
	skrules_ctx x;
	char *text = skrules_text(&x, errs, errlen, json, len);

	if (text)
		ar_rules_free(ar_parse(&x, text));
	free(text);
	return x.nerr ? -1 : 0;
}

/* Returns whether regex i of rule r (of rs) matches text. One that gives
 * up - the match, depth or heap limit, or no memory - does not match, and
 * the first time for r that is logged: one warning per rule, not one per
 * message. */
static int ar_re_matches(sk_plugin *p, const ar_rules *rs, ar_rule *r, size_t i, const char *text)
{
	size_t len = strlen(text);
	int rc = pcre2_match(r->re[i], (PCRE2_SPTR)text, len, 0, 0, rs->md, rs->mctx);
	PCRE2_UCHAR msg[120];

	if (rc >= 0)
		return 1;
	if (rc != PCRE2_ERROR_NOMATCH && !r->re_gave_up) {
		r->re_gave_up = 1;
		if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
			snprintf((char *)msg, sizeof msg, "error %d", rc);
		sk_log(p, SK_LOG_WARN, "keyword rule %s: keywords[%zu] gave up on a %zu-byte text (%s): no match; "
		       "said once for this rule", r->key ? r->key + 2 : "?", i, len, (const char *)msg);
	}
	return 0;
}

/* Returns whether keyword rule r (of rs) matches text. */
static int ar_matches(sk_plugin *p, const ar_rules *rs, ar_rule *r, const char *text)
{
	for (size_t i = 0; i < r->nkw; i++) {
		if (r->match == AR_CONTAINS ? ar_icontains(text, r->kw[i]) :
		    r->match == AR_EXACT ? ar_exact(text, r->kw[i]) : ar_re_matches(p, rs, r, i, text))
			return 1;
	}
	return 0;
}

/* Returns the rule that answers m, or NULL when none does. */
static const ar_rule *ar_find(sk_plugin *p, ar_rules *rs, const ar_msg *m)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < rs->nkr; i++) {
			ar_rule *r = &rs->kr[rs->order[i]];

			if (!r->enabled || (pass == 0 ? !r->item_id || !*m->item || strcmp(r->item_id, m->item) :
					    r->item_id != NULL))
				continue;
			if (ar_matches(p, rs, r, m->text))
				return r;
		}
	}
	if (*m->item)
		for (size_t i = 0; i < rs->nidef; i++)
			if (!strcmp(rs->idef[i].item_id, m->item))
				return &rs->idef[i];
	return rs->has_dflt && rs->dflt.enabled ? &rs->dflt : NULL;
}

/* A row callback that sets *(int *)ud. */
static int ar_row_found(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	(void)p;
	(void)ncols;
	(void)cols;
	*(int *)ud = 1;
	return 1;
}

/* Returns 1 when chat is paused now, 0 when not, or a negative sk_rc. */
static int ar_paused(sk_plugin *p, const char *chat)
{
	sk_value v[2] = { SK_VTEXT(chat), SK_VINT(sk_now_ms(p)) };
	int found = 0, rc;

	rc = sk_db_exec(p, "SELECT 1 FROM autoreply_pause WHERE chat = ? AND until_ms > ?", v, 2, ar_row_found,
			&found);
	return rc < 0 ? rc : found;
}

/* Returns the banned word reply contains, or NULL. */
static const char *ar_banned(const ar_state *st, const char *reply)
{
	for (size_t i = 0; i < st->nbanned; i++)
		if (*st->banned[i] && ar_icontains(reply, st->banned[i]))
			return st->banned[i];
	return NULL;
}

/* Builds r's once key for m into buf. */
static void ar_once_key(const ar_rule *r, const ar_msg *m, char *buf, size_t n)
{
	if (r->once == AR_ONCE_CHAT_ITEM)
		snprintf(buf, n, "%s|%s|%s", r->key ? r->key : "?", m->chat, m->item);
	else
		snprintf(buf, n, "%s|%s", r->key ? r->key : "?", m->chat);
}

/* Writes r's label for the log's rule column into buf: a keyword rule's id
 * or "#<index>", "item:<item_id>" or "default"; "" when r is NULL. */
static const char *ar_rule_label(const ar_rule *r, char *buf, size_t n)
{
	if (!r || !r->key)
		snprintf(buf, n, "%s", "");
	else if (!strncmp(r->key, "k:", 2))
		snprintf(buf, n, "%s", r->key + 2);
	else if (!strncmp(r->key, "i:", 2))
		snprintf(buf, n, "item:%s", r->key + 2);
	else
		snprintf(buf, n, "%s", "default");
	return buf;
}

/* A row callback that stores the first column's integer in *(int64_t *)ud. */
static int ar_row_id(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	(void)p;
	if (ncols > 0 && cols[0].type == SK_INT)
		*(int64_t *)ud = cols[0].i;
	return 1;
}

/* Adds m's row to autoreply_log with its decision, matched rule (may be NULL)
 * and outcome (may be NULL). Returns the row id, or 0 when it could not be
 * written (logged: a lost log row does not stop the answer). */
static int64_t ar_log(sk_plugin *p, const ar_msg *m, const char *decision, const ar_rule *r, const char *outcome)
{
	char buf[256];
	const char *label = ar_rule_label(r, buf, sizeof buf), *out = outcome ? outcome : "";
	sk_value v[8] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(m->chat), SK_VTEXT(m->buyer), SK_VTEXT(m->mid),
			  SK_VTEXT(m->text), SK_VTEXT(decision), SK_VTEXT(label), SK_VTEXT(out) };
	int64_t id = 0;
	int rc;

	/* RETURNING rather than sk_db_last_rowid: the host only updates that when
	 * the connection's rowid changed, and the first row's id 1 may equal
	 * another table's last one. */
	rc = sk_db_exec(p, "INSERT INTO autoreply_log (ms, chat, buyer, message_id, text, decision, rule, outcome) "
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", v, 8, ar_row_id, &id);
	if (rc < 0) {
		sk_log(p, SK_LOG_WARN, "chat %s: decision %s not logged: %s", m->chat, decision, sk_strerror(p, rc));
		return 0;
	}
	return id;
}

/* Sets the outcome of log rows: the row id when id > 0, else the rows of
 * send uuid. outcome is "<prefix><detail>". */
static void ar_log_outcome(sk_plugin *p, int64_t id, const char *uuid, const char *prefix, const char *detail)
{
	size_t n = strlen(prefix) + strlen(detail) + 1;
	char *out = malloc(n);
	int rc;

	if (!out)
		return;
	snprintf(out, n, "%s%s", prefix, detail);
	if (id > 0) {
		sk_value v[2] = { SK_VTEXT(out), SK_VINT(id) };

		rc = sk_db_exec(p, "UPDATE autoreply_log SET outcome = ? WHERE id = ?", v, 2, NULL, NULL);
	} else {
		sk_value v[2] = { SK_VTEXT(out), SK_VTEXT(uuid) };

		rc = sk_db_exec(p, "UPDATE autoreply_log SET outcome = ? WHERE send_uuid = ? AND send_uuid <> ''", v,
				2, NULL, NULL);
	}
	if (rc < 0)
		sk_log(p, SK_LOG_WARN, "send %s: outcome %s not logged: %s", uuid, out, sk_strerror(p, rc));
	free(out);
}

/* A logged send finished (ud: its malloc'ed log row id, freed by the host). */
static void ar_on_sent(sk_plugin *p, const char *uuid, int ok, const char *detail, void *ud)
{
	ar_log_outcome(p, *(int64_t *)ud, uuid, ok ? "sent:" : "refused:", detail ? detail : "");
}

/* The tag of m's reply sends, "reply:<message_id>" in buf, or NULL when m
 * has no message id (or one too long to tag). */
static const char *ar_tag(const ar_msg *m, char buf[AR_TAG_MAX])
{
	int n = *m->mid ? snprintf(buf, AR_TAG_MAX, "reply:%s", m->mid) : -1;

	return n > 0 && n < AR_TAG_MAX ? buf : NULL;
}

/* debug_kill_at: dies like kill -9 at the named step (tests of the recovery). */
static void ar_step(sk_plugin *p, const char *step, const ar_msg *m)
{
	ar_state *st = p->ud;

	if (st && st->kill_at && !strcmp(st->kill_at, step)) {
		sk_log(p, SK_LOG_WARN, "debug_kill_at %s (message %s): SIGKILL", step, m->mid);
		raise(SIGKILL);
	}
}

/* Sends one reply part (an image when url is set, else text) for log row id
 * (0: not logged), tracking its outcome when track is set. Returns SK_OK or
 * a negative sk_rc. */
static int ar_send(sk_plugin *p, const ar_msg *m, const char *url, const char *text, int64_t id, int track)
{
	char uuid[40] = "", tag[AR_TAG_MAX];
	const char *t = ar_tag(m, tag);
	int64_t *ud = NULL;
	int rc;

	if (track && id > 0) {
		if (!(ud = malloc(sizeof *ud)))
			return SK_ERR_NOMEM;
		*ud = id;
	}
	if (url)
		rc = sk_send_image(p, m->chat, m->buyer, url, AR_IMAGE_W, AR_IMAGE_H, t, ud ? ar_on_sent : NULL, ud,
				   ud ? free : NULL, uuid);
	else
		rc = sk_send_text(p, m->chat, m->buyer, text, t, ud ? ar_on_sent : NULL, ud, ud ? free : NULL, uuid);
	if (rc < 0) {
		if (id > 0)
			ar_log_outcome(p, id, "", "error:", sk_strerror(p, rc));
		return rc;
	}
	/* Only the uuid: the callback may already have set the outcome. */
	if (track && id > 0 && *uuid) {
		const char *u = uuid;
		sk_value v[2] = { SK_VTEXT(u), SK_VINT(id) };

		if ((rc = sk_db_exec(p, "UPDATE autoreply_log SET send_uuid = ? WHERE id = ?", v, 2, NULL, NULL)) < 0)
			sk_log(p, SK_LOG_WARN, "send %s: not logged: %s", uuid, sk_strerror(p, rc));
	}
	return SK_OK;
}

/* Decides and sends the answer to m, and logs the decision. Returns 1 when
 * a rule took it (a reply sent, or deliberately nothing), 0 when nothing
 * answered, or a negative sk_rc. */
static int ar_answer(sk_plugin *p, ar_state *st, const ar_msg *m)
{
	const ar_rule *r;
	const char *bad, *decision;
	char key[1024], label[256], tag[AR_TAG_MAX], *text;
	int64_t id;
	int rc, found = 0, cut = 0;

	if (!st->enabled) {
		ar_log(p, m, "disabled", NULL, NULL);
		return 0;
	}
	ar_step(p, "answer", m);
	/* Answered already: the process died after queueing the reply and before
	 * dedup wrote the message down, and the platform pushed it again. */
	if (ar_tag(m, tag) && sk_send_find(p, tag, NULL, NULL, NULL) == SK_OK) {
		sk_log(p, SK_LOG_INFO, "chat %s: message %s was answered before a restart: not again", m->chat, m->mid);
		return 1;
	}
	if ((rc = ar_paused(p, m->chat)) != 0) {
		if (rc > 0) {
			sk_log(p, SK_LOG_DEBUG, "chat %s is paused (manual takeover): not answered", m->chat);
			ar_log(p, m, "paused", NULL, NULL);
		}
		return rc < 0 ? rc : 1;
	}
	if (!(r = ar_find(p, st->rules, m))) {
		ar_log(p, m, "no_match", NULL, NULL);
		return 0;
	}
	if (r->once) {
		const char *k = key;
		sk_value v;

		ar_once_key(r, m, key, sizeof key);
		v = SK_VTEXT(k);
		if ((rc = sk_db_exec(p, "SELECT 1 FROM autoreply_once WHERE scope = ?", &v, 1, ar_row_found, &found)) < 0)
			return rc;
		if (found) {
			sk_log(p, SK_LOG_DEBUG, "chat %s: %s already answered once: nothing sent", m->chat, key);
			ar_log(p, m, "once_used", r, NULL);
			return 1;
		}
	}
	if (!*r->reply && !r->image) {
		sk_log(p, SK_LOG_DEBUG, "chat %s: matched an empty reply: nothing sent", m->chat);
		ar_log(p, m, "swallowed", r, NULL);
		return 1;
	}
	if (!(text = sktext_tmpl_render_max(r->reply, ar_vars, (const char *const[]){ m->name, m->buyer, m->text,
										       m->item, m->chat },
					    AR_REPLY_MAX, &cut)))
		return SK_ERR_NOMEM;
	if (cut)
		sk_log(p, SK_LOG_WARN, "chat %s: the reply of rule %s is cut to %zu bytes (at most %d after its "
		       "variables)", m->chat, ar_rule_label(r, label, sizeof label), strlen(text), AR_REPLY_MAX);
	if ((bad = ar_banned(st, text))) {
		sk_log(p, SK_LOG_WARN, "chat %s: reply not sent: it contains the banned word \"%s\"", m->chat, bad);
		ar_log(p, m, "banned", r, bad);
		free(text);
		return 1;
	}
	decision = r == &st->rules->dflt ? "default" : r->key && !strncmp(r->key, "i:", 2) ? "item_default" : "rule";
	id = ar_log(p, m, decision, r, NULL);
	rc = SK_OK;
	/* The log follows the text when there is one, else the image. */
	if (r->image)
		rc = ar_send(p, m, r->image, NULL, id, !*text);
	if (r->image && *text)
		ar_step(p, "between", m);
	if (rc >= 0 && *text)
		rc = ar_send(p, m, NULL, text, id, 1);
	free(text);
	if (rc >= 0)
		ar_step(p, "queued", m);
	/* once is spent when the reply is queued, not before: a crash in between
	 * must not leave it spent with nothing sent */
	if (rc >= 0 && r->once) {
		const char *k = key;
		sk_value v[2] = { SK_VTEXT(k), SK_VINT(sk_now_ms(p)) };

		rc = sk_db_exec(p, "INSERT INTO autoreply_once (scope, ms) VALUES (?, ?) ON CONFLICT (scope) DO NOTHING",
				v, 2, NULL, NULL);
	}
	return rc < 0 ? rc : 1;
}

/* Frees a pending burst. */
static void ar_pend_free(ar_pend *q)
{
	if (!q)
		return;
	free(q->chat);
	free(q->buyer);
	free(q->name);
	free(q->text);
	free(q->item);
	free(q->mid);
	free(q);
}

/* Unlinks and returns the pending burst of chat, or NULL. */
static ar_pend *ar_pend_take(ar_state *st, const char *chat)
{
	for (ar_pend **pp = &st->pend; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->chat, chat)) {
			ar_pend *q = *pp;

			*pp = q->next;
			q->next = NULL;
			return q;
		}
	}
	return NULL;
}

/* Keeps the pending burst q in autoreply_pending (its timer ends at due_ms,
 * wall clock), so that a crash (kill -9, power) before its timer does not
 * lose the answer: the dedup plugin has marked its messages as handled. */
static void ar_pend_save(sk_plugin *p, const ar_pend *q, int64_t due_ms)
{
	sk_value v[7] = { SK_VTEXT(q->chat), SK_VTEXT(q->buyer), SK_VTEXT(q->name), SK_VTEXT(q->text),
			  SK_VTEXT(q->item), SK_VTEXT(q->mid), SK_VINT(due_ms) };
	int rc = sk_db_exec(p, "INSERT INTO autoreply_pending (chat, buyer, name, text, item, message_id, due_ms) "
			    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (chat) DO UPDATE SET buyer = excluded.buyer, "
			    "name = excluded.name, text = excluded.text, item = excluded.item, "
			    "message_id = excluded.message_id, due_ms = excluded.due_ms", v, 7, NULL, NULL);

	if (rc < 0)
		sk_log(p, SK_LOG_WARN, "chat %s: the pending reply is not kept across a crash: %s", q->chat,
		       sk_strerror(p, rc));
}

/* The burst of chat was answered or dropped. */
static void ar_pend_forget(sk_plugin *p, const char *chat)
{
	sk_value v = SK_VTEXT(chat);

	if (sk_db_exec(p, "DELETE FROM autoreply_pending WHERE chat = ?", &v, 1, NULL, NULL) < 0)
		sk_log(p, SK_LOG_WARN, "chat %s: its pending reply stays recorded", chat);
}

/* Answers a pending burst (its timer fired, or the core is stopping) and
 * forgets it. */
static void ar_pend_answer(sk_plugin *p, ar_state *st, ar_pend *q)
{
	int rc = ar_answer(p, st, &(ar_msg){ q->chat, q->buyer, q->name, q->text, q->item, q->mid });

	if (rc < 0)
		sk_log(p, SK_LOG_WARN, "chat %s: answering failed: %s", q->chat, sk_strerror(p, rc));
	ar_pend_forget(p, q->chat);
	ar_pend_free(q);
}

/* The debounce timer of a chat (ud: its chat id, freed by the host). */
static void ar_on_timer(sk_plugin *p, uint64_t id, void *ud)
{
	ar_state *st = p->ud;
	ar_pend *q;

	(void)id;
	if (st && (q = ar_pend_take(st, ud)))
		ar_pend_answer(p, st, q);
}

/* A row of autoreply_pending (chat, buyer, name, text, item, message_id,
 * due_ms) onto the list ud; the burst's due time goes to its timer field
 * until ar_pend_restore arms the timer. */
static int ar_pend_row(sk_plugin *p, int ncols, const sk_value *c, void *ud)
{
	ar_pend **list = ud, *q;

	(void)p;
	if (ncols < 7 || !(q = calloc(1, sizeof *q)))
		return 1;
	q->chat = strdup(c[0].s ? c[0].s : "");
	q->buyer = strdup(c[1].s ? c[1].s : "");
	q->name = strdup(c[2].s ? c[2].s : "");
	q->text = strdup(c[3].s ? c[3].s : "");
	q->item = strdup(c[4].s ? c[4].s : "");
	q->mid = strdup(c[5].s ? c[5].s : "");
	q->timer = (uint64_t)(c[6].i > 0 ? c[6].i : 0);
	q->next = *list;
	*list = q;
	return 0;
}

/* At init: the bursts an earlier run left waiting (it crashed, or stopped
 * without the core's "core.stopping") get their timers again - at once when
 * their time has passed. One whose message already has a decision in the log
 * was answered just before the crash: forgotten, not answered twice. */
static void ar_pend_restore(sk_plugin *p, ar_state *st)
{
	ar_pend *list = NULL, *q;
	int64_t now = sk_now_ms(p);
	int n = 0;

	if (sk_db_exec(p, "SELECT chat, buyer, name, text, item, message_id, due_ms FROM autoreply_pending", NULL, 0,
		       ar_pend_row, &list) < 0)
		sk_log(p, SK_LOG_WARN, "the replies a crash left pending cannot be read");
	while ((q = list)) {
		int64_t due = (int64_t)q->timer;
		sk_value v = SK_VTEXT(q->mid);
		int found = 0;
		char *chat;

		list = q->next;
		q->next = NULL;
		if (!q->chat || !q->buyer || !q->name || !q->text || !q->item || !q->mid) {
			ar_pend_free(q);
			continue;
		}
		if (*q->mid && sk_db_exec(p, "SELECT 1 FROM autoreply_log WHERE message_id = ? AND decision <> 'debounced'",
					  &v, 1, ar_row_found, &found) >= 0 && found) {
			ar_pend_forget(p, q->chat);
			ar_pend_free(q);
			continue;
		}
		if (!(chat = strdup(q->chat)) ||
		    sk_timer_add(p, (uint64_t)(due > now ? due - now : 0), 0, ar_on_timer, chat, free, &q->timer) < 0) {
			sk_log(p, SK_LOG_WARN, "chat %s: its pending reply cannot be timed; answered now", q->chat);
			ar_pend_answer(p, st, q);
			continue;
		}
		q->next = st->pend;
		st->pend = q;
		n++;
	}
	if (n)
		sk_log(p, SK_LOG_INFO, "%d reply(ies) an earlier run left pending: answered at their time", n);
}

/* A buyer's chat text: answered now without debounce, else kept as the
 * burst's last message and its timer restarted. */
static int ar_on_text(sk_plugin *p, const sk_event *e, void *ud)
{
	ar_state *st = p->ud;
	ar_pend *q;
	char *chat;
	int rc;

	(void)ud;
	if (!st || !*e->chat_id)
		return SK_PASS;
	if (!st->enabled || !st->debounce_ms) {
		rc = ar_answer(p, st, &(ar_msg){ e->chat_id, e->sender_id, e->sender_name, e->text, e->item_id,
						 e->message_id });
		return rc < 0 ? rc : rc ? SK_STOP : SK_PASS;
	}
	if ((q = ar_pend_take(st, e->chat_id))) {
		sk_timer_cancel(p, q->timer);
		ar_log(p, &(ar_msg){ q->chat, q->buyer, q->name, q->text, q->item, q->mid }, "debounced", NULL, NULL);
	} else if (!(q = calloc(1, sizeof *q)) || !(q->chat = strdup(e->chat_id))) {
		goto nomem;
	}
	free(q->buyer);
	free(q->name);
	free(q->text);
	free(q->item);
	free(q->mid);
	q->buyer = strdup(e->sender_id);
	q->name = strdup(e->sender_name);
	q->text = strdup(e->text);
	q->item = strdup(e->item_id);
	q->mid = strdup(e->message_id);
	if (!q->buyer || !q->name || !q->text || !q->item || !q->mid || !(chat = strdup(e->chat_id)))
		goto nomem;
	/* The timer owns its copy of the chat id (free_ud runs even when this fails). */
	if ((rc = sk_timer_add(p, (uint64_t)st->debounce_ms, 0, ar_on_timer, chat, free, &q->timer)) < 0) {
		ar_pend_forget(p, q->chat);
		ar_pend_free(q);
		return rc;
	}
	q->next = st->pend;
	st->pend = q;
	ar_pend_save(p, q, sk_now_ms(p) + st->debounce_ms);
	return SK_PASS;
nomem:
	ar_pend_free(q);
	return SK_ERR_NOMEM;
}

/* Drops the pending burst of chat, if any: its message is logged as paused. */
static void ar_pend_drop(sk_plugin *p, ar_state *st, const char *chat)
{
	ar_pend *q = ar_pend_take(st, chat);

	if (!q)
		return;
	sk_timer_cancel(p, q->timer);
	ar_log(p, &(ar_msg){ q->chat, q->buyer, q->name, q->text, q->item, q->mid }, "paused", NULL, NULL);
	ar_pend_forget(p, q->chat);
	ar_pend_free(q);
}

/* Records that chat is paused until until_ms (wall clock) in autoreply_pause,
 * replacing an earlier pause, so that it survives restarts. Returns SK_OK or
 * a negative sk_rc. */
static int ar_pause_set(sk_plugin *p, const char *chat, int64_t until_ms)
{
	sk_value v[2] = { SK_VTEXT(chat), SK_VINT(until_ms) };

	return sk_db_exec(p, "INSERT INTO autoreply_pause (chat, until_ms) VALUES (?, ?) ON CONFLICT (chat) "
			  "DO UPDATE SET until_ms = excluded.until_ms", v, 2, NULL, NULL);
}

/* Our own message, not an echo: the seller took over the chat. */
static int ar_on_own(sk_plugin *p, const sk_event *e, void *ud)
{
	ar_state *st = p->ud;
	int rc;

	(void)ud;
	if (!st || !*e->chat_id)
		return SK_PASS;
	ar_pend_drop(p, st, e->chat_id);
	if (!st->pause_ms)
		return SK_PASS;
	if ((rc = ar_pause_set(p, e->chat_id, sk_now_ms(p) + st->pause_ms)) < 0)
		return rc;
	sk_log(p, SK_LOG_INFO, "chat %s: the seller replied by hand, paused for %lld s", e->chat_id,
	       (long long)(st->pause_ms / 1000));
	return SK_PASS;
}

static int ar_config(sk_plugin *p, ar_state *st);

/* Takes the config of a reload (a config section with a bad value changes
 * nothing, logged by ar_config): enabled, debounce, pause, banned words, log days. */
static void ar_reconfigure(sk_plugin *p, ar_state *st)
{
	ar_state nx;

	memset(&nx, 0, sizeof nx);
	if (ar_config(p, &nx) == SK_OK) {
		char **b = st->banned;
		size_t nb = st->nbanned;

		st->debounce_ms = nx.debounce_ms;
		st->pause_ms = nx.pause_ms;
		st->log_days = nx.log_days;
		st->enabled = nx.enabled;
		st->banned = nx.banned;
		st->nbanned = nx.nbanned;
		nx.banned = b;
		nx.nbanned = nb;
	} else {
		sk_log(p, SK_LOG_ERR, "config not changed: the autoreply section has an error (see above)");
	}
	for (size_t i = 0; i < nx.nbanned; i++)
		free(nx.banned[i]);
	free(nx.banned);
}

/* "core.reload": the config section and the rules file are read again; a
 * broken one changes nothing. */
static int ar_on_reload(sk_plugin *p, const sk_event *e, void *ud)
{
	ar_state *st = p->ud;
	ar_rules *rs;

	(void)ud;
	if (!st || strcmp(e->topic, "core.reload") || strcmp(e->from_plugin, "core"))
		return SK_PASS;
	ar_reconfigure(p, st);
	if (!(rs = ar_load(p)))
		return SK_PASS;
	ar_rules_free(st->rules);
	st->rules = rs;
	return SK_PASS;
}

/* "core.stopping" (SIGTERM): every pending burst is answered now instead of
 * at its timer, while the core still flushes sends; the dedup plugin has
 * already marked these messages as handled, so a burst dropped here would
 * never be answered after the restart. */
static int ar_on_stopping(sk_plugin *p, const sk_event *e, void *ud)
{
	ar_state *st = p->ud;
	ar_pend *q;
	int n = 0;

	(void)ud;
	if (!st || strcmp(e->topic, "core.stopping") || strcmp(e->from_plugin, "core"))
		return SK_PASS;
	while ((q = st->pend)) {
		st->pend = q->next;
		q->next = NULL;
		sk_timer_cancel(p, q->timer);
		ar_pend_answer(p, st, q);
		n++;
	}
	if (n)
		sk_log(p, SK_LOG_INFO, "stopping: %d debounced chat(s) answered now", n);
	return SK_PASS;
}

/* SK_EV_SEND_RESULT: a send of an earlier run finished; its log row, found
 * by uuid, gets the outcome. */
static int ar_on_send_result(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	if (*e->send_uuid)
		ar_log_outcome(p, 0, e->send_uuid, e->send_ok ? "sent:" : "refused:",
			       e->send_ok ? e->message_id : e->reason);
	return SK_PASS;
}

/* Deletes the decision log rows older than log_days. */
static void ar_prune(sk_plugin *p, ar_state *st)
{
	sk_value v = SK_VINT(sk_now_ms(p) - st->log_days * AR_DAY_MS);
	int rc;

	if (!st->log_days)
		return;
	if ((rc = sk_db_exec(p, "DELETE FROM autoreply_log WHERE ms < ?", &v, 1, NULL, NULL)) < 0)
		sk_log(p, SK_LOG_WARN, "pruning the decision log failed: %s", sk_strerror(p, rc));
	else if (sk_db_changes(p) > 0)
		sk_log(p, SK_LOG_DEBUG, "decision log: %lld rows older than %lld days deleted",
		       (long long)sk_db_changes(p), (long long)st->log_days);
}

/* The daily pruning timer. */
static void ar_on_prune(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	(void)ud;
	if (p->ud)
		ar_prune(p, p->ud);
}

/* ---- control commands (web/API.md) ----------------------------------------- */

/* The data's chat_id (borrowed from d), or NULL after failing the command. */
static const char *ar_ctl_chat(sk_plugin *p, const char *command, const cJSON *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, "chat_id");

	if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > AR_CTL_CHAT_MAX) {
		skctl_fail(p, SK_ERR_INVAL, "%s: chat_id must be a chat id (a non-empty string of at most %d bytes)",
			    command, AR_CTL_CHAT_MAX);
		return NULL;
	}
	return v->valuestring;
}

/* pause_chat {"chat_id", "seconds"}: the chat is paused as by the seller
 * typing in it (seconds defaults to pause_s): its pending burst is dropped
 * and nothing is answered there until then, across restarts. Answers
 * {"chat_id", "paused_until_ms"}. */
static int ar_ctl_pause(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	ar_state *st = p->ud;
	cJSON *d, *o;
	const char *chat;
	int64_t secs, until;
	int rc;

	(void)ud;
	if (!st)
		return SK_ERR_STATE;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	if (!(chat = ar_ctl_chat(p, command, d)) ||
	    (secs = skctl_count(p, command, d, "seconds", st->pause_ms / 1000, AR_CTL_PAUSE_MAX_S)) < 0) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	if (!secs) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: seconds is required, since autoreply.pause_s is 0", command);
	}
	until = sk_now_ms(p) + secs * 1000;
	ar_pend_drop(p, st, chat);
	if ((rc = ar_pause_set(p, chat, until)) < 0) {
		cJSON_Delete(d);
		return skctl_fail(p, rc, "%s: the pause was not saved: %s", command, sk_strerror(p, rc));
	}
	sk_log(p, SK_LOG_INFO, "chat %s: paused for %lld s (control command)", chat, (long long)secs);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "chat_id", chat);
	cJSON_AddNumberToObject(o, "paused_until_ms", (double)until);
	cJSON_Delete(d);
	return skctl_answer(p, o);
}

/* resume_chat {"chat_id"}: ends the chat's pause (a manual takeover's too).
 * Answers {"chat_id", "resumed"}: whether it was paused. */
static int ar_ctl_resume(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d, *o;
	const char *chat;
	int paused, rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	if (!(chat = ar_ctl_chat(p, command, d))) {
		cJSON_Delete(d);
		return SK_ERR_INVAL;
	}
	if ((paused = ar_paused(p, chat)) < 0 ||
	    (rc = sk_db_exec(p, "DELETE FROM autoreply_pause WHERE chat = ?", &SK_VTEXT(chat), 1, NULL, NULL)) < 0) {
		rc = paused < 0 ? paused : rc;
		cJSON_Delete(d);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	if (paused)
		sk_log(p, SK_LOG_INFO, "chat %s: resumed (control command)", chat);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "chat_id", chat);
	cJSON_AddBoolToObject(o, "resumed", paused);
	cJSON_Delete(d);
	return skctl_answer(p, o);
}

/* A row of autoreply_log (ms, chat, buyer, text, decision, rule, outcome)
 * appended to the array ud. */
static int ar_row_decision(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	static const char *const names[] = { "chat_id", "buyer_id", "text", "decision", "rule", "outcome" };
	cJSON *o;

	(void)p;
	if (ncols < 7 || !(o = cJSON_CreateObject()))
		return 1;
	cJSON_AddNumberToObject(o, "ms", (double)(cols[0].type == SK_INT ? cols[0].i : 0));
	for (int i = 0; i < 6; i++)
		cJSON_AddStringToObject(o, names[i], cols[i + 1].type == SK_TEXT ? cols[i + 1].s : "");
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* decisions {"limit"}: the decision log, newest first (limit default 100,
 * at most 1000). Answers {"decisions": [{"ms", "chat_id", "buyer_id",
 * "text", "decision", "rule", "outcome"}]}. */
static int ar_ctl_decisions(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d, *o, *arr;
	int64_t limit;
	int rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	limit = skctl_count(p, command, d, "limit", AR_CTL_LIMIT_DEF, AR_CTL_LIMIT_MAX);
	cJSON_Delete(d);
	if (limit < 0)
		return SK_ERR_INVAL;
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "decisions"))) {
		cJSON_Delete(o);
		return SK_ERR_NOMEM;
	}
	if ((rc = sk_db_exec(p, "SELECT ms, chat, buyer, text, decision, rule, outcome FROM autoreply_log "
			     "ORDER BY id DESC LIMIT ?", &SK_VINT(limit), 1, ar_row_decision, arr)) < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	return skctl_answer(p, o);
}

/* A row of autoreply_pause (chat, until_ms) appended to the array ud. */
static int ar_row_paused(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	cJSON *o;

	(void)p;
	if (ncols < 2 || !(o = cJSON_CreateObject()))
		return 1;
	cJSON_AddStringToObject(o, "chat_id", cols[0].type == SK_TEXT ? cols[0].s : "");
	cJSON_AddNumberToObject(o, "paused_until_ms", (double)(cols[1].type == SK_INT ? cols[1].i : 0));
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* paused_chats {}: the chats paused now, the longest pause first (the core
 * marks them in list_chats). Answers {"chats": [{"chat_id",
 * "paused_until_ms"}]}. */
static int ar_ctl_paused(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d, *o, *arr;
	int rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	cJSON_Delete(d);
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "chats"))) {
		cJSON_Delete(o);
		return SK_ERR_NOMEM;
	}
	if ((rc = sk_db_exec(p, "SELECT chat, until_ms FROM autoreply_pause WHERE until_ms > ? "
			     "ORDER BY until_ms DESC, chat", &SK_VINT(sk_now_ms(p)), 1, ar_row_paused, arr)) < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	return skctl_answer(p, o);
}

static const struct {
	const char *name, *help;
	sk_control_fn fn;
} ar_controls[] = {
	{ "pause_chat", "{chat_id, seconds}: autoreply answers nothing in the chat for that long (default pause_s)",
	  ar_ctl_pause },
	{ "resume_chat", "{chat_id}: ends the chat's pause", ar_ctl_resume },
	{ "decisions", "{limit}: autoreply's decision log, newest first", ar_ctl_decisions },
	{ "paused_chats", "the chats autoreply has paused now", ar_ctl_paused },
};

/* Frees the state (fini, or a failed init). */
static void ar_state_free(ar_state *st)
{
	if (!st)
		return;
	while (st->pend) {
		ar_pend *q = st->pend;

		st->pend = q->next;
		ar_pend_free(q);
	}
	for (size_t i = 0; i < st->nbanned; i++)
		free(st->banned[i]);
	free(st->banned);
	free(st->kill_at);
	ar_rules_free(st->rules);
	free(st);
}

/* Frees the state; the host then cancels the timers (freeing their chat ids). */
static void ar_fini(sk_plugin *p)
{
	ar_state_free(p->ud);
	p->ud = NULL;
}

/* Reads the config into st. Returns SK_OK, SK_ERR_CONFIG (logged) or SK_ERR_NOMEM. */
static int ar_config(sk_plugin *p, ar_state *st)
{
	int64_t pause_s = sk_config_int(p, "pause_s", AR_DEF_PAUSE_S);
	size_t n;

	st->log_days = sk_config_int(p, "log_days", AR_DEF_LOG_DAYS);
	if (st->log_days < 0 || st->log_days > 36500) {
		sk_log(p, SK_LOG_ERR, "autoreply.log_days must be 0 (forever) to 36500, not %lld",
		       (long long)st->log_days);
		return SK_ERR_CONFIG;
	}

	st->debounce_ms = sk_config_int(p, "debounce_ms", AR_DEF_DEBOUNCE_MS);
	st->enabled = sk_config_bool(p, "enabled", 1);
	if (st->debounce_ms < 0 || st->debounce_ms > 3600 * 1000) {
		sk_log(p, SK_LOG_ERR, "autoreply.debounce_ms must be 0 (off) to 3600000, not %lld",
		       (long long)st->debounce_ms);
		return SK_ERR_CONFIG;
	}
	if (pause_s < 0 || pause_s > INT64_MAX / 1000 / 2) {
		sk_log(p, SK_LOG_ERR, "autoreply.pause_s must be 0 (never) or a number of seconds, not %lld",
		       (long long)pause_s);
		return SK_ERR_CONFIG;
	}
	st->pause_ms = pause_s * 1000;
	if (sk_config_json(p, "banned_words")) {
		n = sk_config_list_len(p, "banned_words");
		if (n && !(st->banned = calloc(n, sizeof *st->banned)))
			return SK_ERR_NOMEM;
		for (; st->nbanned < n; st->nbanned++)
			if (!(st->banned[st->nbanned] = ar_strdup(sk_config_list_str(p, "banned_words", st->nbanned))))
				return SK_ERR_NOMEM;
	} else {
		for (n = 0; ar_def_banned[n]; n++)
			;
		if (!(st->banned = calloc(n, sizeof *st->banned)))
			return SK_ERR_NOMEM;
		for (; st->nbanned < n; st->nbanned++)
			if (!(st->banned[st->nbanned] = strdup(ar_def_banned[st->nbanned])))
				return SK_ERR_NOMEM;
	}
	return SK_OK;
}

/* Reads the config and the rules (a broken file: no rules until a reload
 * brings good ones), subscribes. Returns SK_OK or a negative sk_rc. */
static int ar_init(sk_plugin *p)
{
	sk_filter buyers = { .flags = SK_F_SKIP_OWN };
	sk_filter seller = { .flags = SK_F_ONLY_OWN | SK_F_SKIP_ECHO };
	sk_filter reload = { .topic = "core.reload" };
	sk_filter stopping = { .topic = "core.stopping" };
	ar_state *st = calloc(1, sizeof *st);
	int rc;

	if (!st)
		return SK_ERR_NOMEM;
	if ((rc = ar_config(p, st)) < 0)
		goto fail;
	if (*sk_config_str(p, "debug_kill_at", "") && !(st->kill_at = strdup(sk_config_str(p, "debug_kill_at", "")))) {
		rc = SK_ERR_NOMEM;
		goto fail;
	}
	if (!(st->rules = ar_load(p)) && !(st->rules = calloc(1, sizeof *st->rules))) {
		rc = SK_ERR_NOMEM;
		goto fail;
	}
	p->ud = st;
	if ((rc = sk_subscribe(p, SK_MASK(SK_EV_CHAT_TEXT), &buyers, 0, ar_on_text, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK_CHAT, &seller, 0, ar_on_own, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &reload, 0, ar_on_reload, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &stopping, 0, ar_on_stopping, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_SEND_RESULT), NULL, 0, ar_on_send_result, NULL, NULL, NULL)) < 0)
		goto fail;
	/* Without its control commands autoreply still answers: a refusal is logged. */
	for (size_t i = 0; i < sizeof ar_controls / sizeof ar_controls[0]; i++)
		if ((rc = sk_control_add(p, ar_controls[i].name, ar_controls[i].help, ar_controls[i].fn, NULL, NULL)) < 0)
			sk_log(p, SK_LOG_WARN, "control command %s not available: %s", ar_controls[i].name,
			       sk_strerror(p, rc));
	ar_prune(p, st);
	ar_pend_restore(p, st);
	if (st->log_days &&
	    (rc = sk_timer_add(p, (uint64_t)AR_DAY_MS, (uint64_t)AR_DAY_MS, ar_on_prune, NULL, NULL, NULL)) < 0)
		goto fail;
	return SK_OK;
fail:
	/* fini does not run after a failed init. */
	ar_state_free(st);
	p->ud = NULL;
	return rc;
}

SK_PLUGIN(.name = "autoreply", .version = "1.0",
	  .description = "Answers buyers from the rules file (keywords, item and account defaults)",
	  .init = ar_init, .fini = ar_fini, .config_keys = ar_keys, .migrations = ar_migrations,
	  .rules_check = ar_rules_check);
