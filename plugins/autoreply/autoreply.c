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
 *   handover       {enabled, words, text, pause_s}   (autoreply_handover.c)
 *   quick_phrases  ["..."]   (only validated: the web page's canned replies)
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
 *     so does a reply sent from the web page, which the core announces as
 *     "core.seller_reply" {chat_id, buyer_id, via} (from "core" only: the
 *     echo of that send is an echo, not a takeover); autoreply_pause keeps
 *     the reason (manual, page, handover), since when, and "waiting";
 *   - hand-over (the rules' "handover"; absent: on, words 人工 真人 客服, a
 *     day): a buyer text holding a word (ASCII case-insensitive substring;
 *     not a backfilled one too old to answer) is answered with handover.text
 *     only (tag "handover:<message_id>": once, also when the platform pushes
 *     it again), the chat paused for handover.pause_s and waiting for the
 *     seller, a pending burst dropped, "autoreply.handover" {chat_id,
 *     buyer_id, buyer_name, item_id, text, word} published (notify alerts);
 *     asking again while waiting is logged "paused" (rule "handover",
 *     outcome "waiting"), nothing sent. Waiting ends when the seller writes
 *     in the chat (app or page; a backfilled message older than the
 *     hand-over does not count): the pause continues as a manual one of
 *     pause_s from then (ends at once with pause_s 0). Off with enabled false;
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
 *   - enabled (default true): false answers nothing (pauses still recorded);
 *   - backfilled messages (fetched from the history after an outage, the
 *     event's backfilled flag): answered only when younger than
 *     backfill_max_age_s (default 600) and the seller has not written in the
 *     chat since (a seller's message seen live, or later in the same
 *     backfill: the burst always waits for its timer, at least 1 ms, so the
 *     run's later messages reach autoreply first). A backfilled message of
 *     the seller pauses the chat from its own time, not from now.
 *
 * Decision log. Every buyer text that reaches autoreply gets one row in
 * autoreply_log (ms, chat, buyer, message_id, the buyer's text) saying what
 * was decided, for the web page:
 *   handover      the buyer asked for the seller (rule: "handover")
 *   agent         no keyword rule matched and the agent plugin took the
 *                 message (autoreply_agent.c; rule "agent:<intent>",
 *                 outcome "turn:<its agent_turn id>": its own log says more)
 *   rule          a keyword rule answered (rule: its id, or "#<index>")
 *   item_default  the item's default answered (rule: "item:<item_id>")
 *   default       the account default answered (rule: "default")
 *   swallowed     the matched rule has an empty reply: nothing sent
 *   once_used     the matched rule's once is spent: nothing sent
 *   banned        the reply has a banned word: not sent (outcome: the word)
 *   paused        the chat is paused, or the seller took over during its burst
 *   backfill_old  a backfilled message older than backfill_max_age_s
 *   backfill_seller_wrote  a backfilled message the seller wrote after
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
 *   paused_chats                   -> {chats: [{chat_id, paused_until_ms, reason,
 *                                  waiting, since_ms}]}, the chats paused now (the
 *                                  core's list_chats uses it)
 *   autoreply_stats {days}         per Beijing day (days 1..31, default 7): the
 *                                  buyer texts answered, handed over, paused
 *   autoreply_sends {sends}        the rule that sent each of the sends
 *                                  [{uuid, tag}] (at most 200): {labels: {uuid:
 *                                  {rule, text}}} (the core's chat_messages)
 *
 * debug_kill_at (tests only) kills the process with SIGKILL at a step of an
 * answer: "answer" (dedup has passed the message, nothing written yet),
 * "between" (a reply of an image and a text: the image queued, the text not
 * yet) or "queued" (its reply is in the outbox, not sent yet).
 *
 * Files. autoreply.c: this manual, config, schema, answering, the debounce,
 * pauses, reload, init and the descriptor; autoreply_rules.c: the rules file
 * and the match; autoreply_handover.c: the hand-over, quick_phrases and
 * core.seller_reply; autoreply_agent.c: the hand-off to the agent plugin
 * (what no keyword rule matched); autoreply_ctl.c: the control commands; autoreply_int.h:
 * what they share.
 *
 * Names (STYLE.md's plugin convention, amended for a plugin of several
 * files): a function or table used by one file only is static and prefixed
 * ar_; one another file calls is declared in autoreply_int.h, prefixed
 * autoreply_, and hidden (the header's visibility pragma), so the .so still
 * exports only sk_plugin_entry. The shared types and macros keep ar_ / AR_.
 */

#include "autoreply_int.h"

static int ar_config(sk_plugin *p, ar_state *st);

static const char *const ar_def_banned[] = { "微信", "QQ", "支付宝", "银行卡", "线下", NULL };

static const sk_config_key ar_keys[] = {
	{ .key = "debounce_ms", .type = SK_CFG_INT, .help = "one reply per burst in a chat, this long after its last message (default 1000)" },
	{ .key = "pause_s", .type = SK_CFG_INT, .help = "pause a chat this long after the seller typed in it (default 600, 0 = never)" },
	{ .key = "banned_words", .type = SK_CFG_STR_LIST, .help = "replies containing one are not sent" },
	{ .key = "enabled", .type = SK_CFG_BOOL, .help = "answer at all (default true)" },
	{ .key = "backfill_max_age_s", .type = SK_CFG_INT, .help = "answer a message backfilled after an outage only when younger than this (default 600)" },
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
	/* the item the buyer asked about: the page shows its title in the log */
	"ALTER TABLE autoreply_log ADD COLUMN item TEXT NOT NULL DEFAULT ''",
	/* why a chat is paused (manual, page, handover), whether it waits for the
	 * seller (a hand-over), since when; the log found by send and by message */
	"ALTER TABLE autoreply_pause ADD COLUMN reason TEXT NOT NULL DEFAULT 'manual';"
	"ALTER TABLE autoreply_pause ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE autoreply_pause ADD COLUMN since_ms INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX autoreply_log_send ON autoreply_log (send_uuid) WHERE send_uuid <> '';"
	"CREATE INDEX autoreply_log_message ON autoreply_log (message_id)",
	NULL
};

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
int autoreply_paused(sk_plugin *p, const char *chat)
{
	sk_value v[2] = { SK_VTEXT(chat), SK_VINT(sk_now_ms(p)) };
	int found = 0, rc;

	rc = sk_db_exec(p, "SELECT 1 FROM autoreply_pause WHERE chat = ? AND until_ms > ?", v, 2, ar_row_found,
			&found);
	return rc < 0 ? rc : found;
}

/* A row callback that stores the first column's integer in *(int64_t *)ud. */
static int ar_row_id(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	(void)p;
	if (ncols > 0 && cols[0].type == SK_INT)
		*(int64_t *)ud = cols[0].i;
	return 1;
}

/* Returns 1 when chat is paused now by a hand-over still waiting for the
 * seller (its since_ms in *since_ms), 0 when not, or a negative sk_rc. */
int autoreply_waiting(sk_plugin *p, const char *chat, int64_t *since_ms)
{
	sk_value v[2] = { SK_VTEXT(chat), SK_VINT(sk_now_ms(p)) };
	int64_t since = -1;
	int rc;

	rc = sk_db_exec(p, "SELECT since_ms FROM autoreply_pause WHERE chat = ? AND until_ms > ? AND waiting = 1", v, 2,
			ar_row_id, &since);
	if (since_ms)
		*since_ms = since;
	return rc < 0 ? rc : since >= 0;
}

/* Returns the banned word reply contains, or NULL. */
static const char *ar_banned(const ar_state *st, const char *reply)
{
	for (size_t i = 0; i < st->nbanned; i++)
		if (*st->banned[i] && autoreply_icontains(reply, st->banned[i]))
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

/* Adds m's row to autoreply_log with its decision, rule label ("" or NULL:
 * none) and outcome (may be NULL). Returns the row id, or 0 when it could
 * not be written (logged: a lost log row does not stop the answer). */
int64_t autoreply_log(sk_plugin *p, const ar_msg *m, const char *decision, const char *rule, const char *outcome)
{
	const char *label = rule ? rule : "", *out = outcome ? outcome : "";
	sk_value v[9] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(m->chat), SK_VTEXT(m->buyer), SK_VTEXT(m->mid),
			  SK_VTEXT(m->text), SK_VTEXT(decision), SK_VTEXT(label), SK_VTEXT(out),
			  SK_VTEXT(m->item ? m->item : "") };
	int64_t id = 0;
	int rc;

	/* RETURNING rather than sk_db_last_rowid: the host only updates that when
	 * the connection's rowid changed, and the first row's id 1 may equal
	 * another table's last one. */
	rc = sk_db_exec(p, "INSERT INTO autoreply_log (ms, chat, buyer, message_id, text, decision, rule, outcome, item) "
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", v, 9, ar_row_id, &id);
	if (rc < 0) {
		sk_log(p, SK_LOG_WARN, "chat %s: decision %s not logged: %s", m->chat, decision, sk_strerror(p, rc));
		return 0;
	}
	return id;
}

/* autoreply_log with the label of the matched rule r (may be NULL). */
static int64_t ar_log(sk_plugin *p, const ar_msg *m, const char *decision, const ar_rule *r, const char *outcome)
{
	char buf[256];

	return autoreply_log(p, m, decision, ar_rule_label(r, buf, sizeof buf), outcome);
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

/* Sends one reply part (an image when url is set, else text) to m's chat
 * with tag t (may be NULL) for log row id (0: not logged), tracking its
 * outcome when track is set. Returns SK_OK or a negative sk_rc. */
int autoreply_send(sk_plugin *p, const ar_msg *m, const char *t, const char *url, const char *text, int64_t id,
		   int track)
{
	char uuid[40] = "";
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

/* autoreply_send with m's reply tag ("reply:<message_id>"). */
static int ar_send(sk_plugin *p, const ar_msg *m, const char *url, const char *text, int64_t id, int track)
{
	char tag[AR_TAG_MAX];

	return autoreply_send(p, m, ar_tag(m, tag), url, text, id, track);
}

/* Decides and sends the answer to m, and logs the decision. Returns 1 when
 * a rule took it (a reply sent, or deliberately nothing), 0 when nothing
 * answered, or a negative sk_rc. */
static int ar_answer(sk_plugin *p, ar_state *st, const ar_msg *m)
{
	const ar_rule *r;
	const char *bad, *decision, *word;
	char key[1024], label[256], tag[AR_TAG_MAX], *text;
	int64_t id;
	int rc, found = 0, cut = 0, agent;

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
	/* a backfilled burst's last message asking for the seller */
	if ((word = autoreply_handover_word(st->rules, m->text)))
		return autoreply_handover(p, st, m, word);
	if ((rc = autoreply_paused(p, m->chat)) != 0) {
		if (rc > 0) {
			sk_log(p, SK_LOG_DEBUG, "chat %s is paused (manual takeover): not answered", m->chat);
			ar_log(p, m, "paused", NULL, NULL);
		}
		return rc < 0 ? rc : 1;
	}
	if (!(r = autoreply_find(p, st->rules, m))) {
		if (autoreply_agent(p, st, m, "no_match", "") > 0)
			return 1;
		ar_log(p, m, "no_match", NULL, NULL);
		return 0;
	}
	/* a keyword rule's match always wins; the defaults' messages may go to the agent */
	decision = r == &st->rules->dflt ? "default" : r->key && !strncmp(r->key, "i:", 2) ? "item_default" : "rule";
	agent = strcmp(decision, "rule") != 0;
	if (r->once) {
		const char *k = key;
		sk_value v;

		ar_once_key(r, m, key, sizeof key);
		v = SK_VTEXT(k);
		if ((rc = sk_db_exec(p, "SELECT 1 FROM autoreply_once WHERE scope = ?", &v, 1, ar_row_found, &found)) < 0)
			return rc;
		if (found && agent && autoreply_agent(p, st, m, decision, "") > 0)
			return 1;
		if (found) {
			sk_log(p, SK_LOG_DEBUG, "chat %s: %s already answered once: nothing sent", m->chat, key);
			ar_log(p, m, "once_used", r, NULL);
			return 1;
		}
	}
	if (!*r->reply && !r->image && agent && autoreply_agent(p, st, m, decision, "") > 0)
		return 1;
	if (!*r->reply && !r->image) {
		sk_log(p, SK_LOG_DEBUG, "chat %s: matched an empty reply: nothing sent", m->chat);
		ar_log(p, m, "swallowed", r, NULL);
		return 1;
	}
	if (!(text = sktext_tmpl_render_max(r->reply, autoreply_vars, (const char *const[]){ m->name, m->buyer, m->text,
										       m->item, m->chat },
					    AR_REPLY_MAX, &cut)))
		return SK_ERR_NOMEM;
	if (cut)
		sk_log(p, SK_LOG_WARN, "chat %s: the reply of rule %s is cut to %zu bytes (at most %d after its "
		       "variables)", m->chat, ar_rule_label(r, label, sizeof label), strlen(text), AR_REPLY_MAX);
	bad = ar_banned(st, text);
	if (agent && autoreply_agent(p, st, m, decision, bad ? "" : text) > 0) {
		free(text);
		return 1;
	}
	if (bad) {
		sk_log(p, SK_LOG_WARN, "chat %s: reply not sent: it contains the banned word \"%s\"", m->chat, bad);
		ar_log(p, m, "banned", r, bad);
		free(text);
		return 1;
	}
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

/* The created_ms of the seller's last message seen in chat, 0 if none. */
static int64_t ar_own_seen(const ar_state *st, const char *chat)
{
	int i;

	for (i = 0; i < AR_OWN_SEEN; i++)
		if (!strcmp(st->own_seen[i].chat, chat))
			return st->own_seen[i].ms;
	return 0;
}

/* Remembers that the seller wrote in chat at ms (the newest kept). */
void autoreply_own_note(ar_state *st, const char *chat, int64_t ms)
{
	int i;

	for (i = 0; i < AR_OWN_SEEN; i++)
		if (!strcmp(st->own_seen[i].chat, chat)) {
			if (ms > st->own_seen[i].ms)
				st->own_seen[i].ms = ms;
			return;
		}
	if (strlen(chat) >= sizeof st->own_seen[0].chat)
		return;
	snprintf(st->own_seen[st->own_pos].chat, sizeof st->own_seen[0].chat, "%s", chat);
	st->own_seen[st->own_pos].ms = ms;
	st->own_pos = (st->own_pos + 1) % AR_OWN_SEEN;
}

/* A buyer's chat text: answered now without debounce, else kept as the
 * burst's last message and its timer restarted. A backfilled one (see the
 * manual) is first checked for its age and a later seller's message, and
 * always waits for its timer. */
static int ar_on_text(sk_plugin *p, const sk_event *e, void *ud)
{
	ar_state *st = p->ud;
	ar_pend *q;
	char *chat;
	const char *word;
	int rc;

	(void)ud;
	if (!st || !*e->chat_id)
		return SK_PASS;
	if (AR_BACKFILLED(e) && st->enabled) {
		const ar_msg m = { e->chat_id, e->sender_id, e->sender_name, e->text, e->item_id, e->message_id };

		if (e->created_ms > 0 && sk_now_ms(p) - e->created_ms > st->backfill_max_age_ms) {
			sk_log(p, SK_LOG_INFO, "chat %s: backfilled message %s is %lld s old: not answered", e->chat_id,
			       e->message_id, (long long)((sk_now_ms(p) - e->created_ms) / 1000));
			ar_log(p, &m, "backfill_old", NULL, NULL);
			return SK_PASS;
		}
		if (ar_own_seen(st, e->chat_id) >= e->created_ms) {
			sk_log(p, SK_LOG_INFO, "chat %s: the seller wrote after backfilled message %s: not answered",
			       e->chat_id, e->message_id);
			ar_log(p, &m, "backfill_seller_wrote", NULL, NULL);
			return SK_PASS;
		}
	}
	/* A buyer asking for the seller: handed over at once, never debounced;
	 * a backfilled one waits for its timer (ar_answer hands it over), so
	 * that the seller's later messages of the same backfill cancel it. */
	if (st->enabled && !AR_BACKFILLED(e) && (word = autoreply_handover_word(st->rules, e->text))) {
		rc = autoreply_handover(p, st, &(ar_msg){ e->chat_id, e->sender_id, e->sender_name, e->text,
							  e->item_id, e->message_id }, word);
		return rc < 0 ? rc : SK_STOP;
	}
	if (!st->enabled || (!st->debounce_ms && !AR_BACKFILLED(e))) {
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
	q->backfilled = AR_BACKFILLED(e);
	if (!q->buyer || !q->name || !q->text || !q->item || !q->mid || !(chat = strdup(e->chat_id)))
		goto nomem;
	/* The timer owns its copy of the chat id (free_ud runs even when this fails). */
	if ((rc = sk_timer_add(p, (uint64_t)(st->debounce_ms ? st->debounce_ms : 1), 0, ar_on_timer, chat, free,
			       &q->timer)) < 0) {
		ar_pend_forget(p, q->chat);
		ar_pend_free(q);
		return rc;
	}
	q->next = st->pend;
	st->pend = q;
	ar_pend_save(p, q, sk_now_ms(p) + (st->debounce_ms ? st->debounce_ms : 1));
	return SK_PASS;
nomem:
	ar_pend_free(q);
	return SK_ERR_NOMEM;
}

/* Drops the pending burst of chat, if any: its message is logged as paused. */
void autoreply_pend_drop(sk_plugin *p, ar_state *st, const char *chat)
{
	ar_pend *q = ar_pend_take(st, chat);

	if (!q)
		return;
	sk_timer_cancel(p, q->timer);
	ar_log(p, &(ar_msg){ q->chat, q->buyer, q->name, q->text, q->item, q->mid },
	       q->backfilled ? "backfill_seller_wrote" : "paused", NULL, NULL);
	ar_pend_forget(p, q->chat);
	ar_pend_free(q);
}

/* Records that chat is paused from since_ms until until_ms (wall clock) in
 * autoreply_pause with its reason ("manual", "page" or "handover") and
 * whether it waits for the seller, replacing an earlier pause, so that it
 * survives restarts. Returns SK_OK or a negative sk_rc. */
int autoreply_pause_set(sk_plugin *p, const char *chat, int64_t since_ms, int64_t until_ms, const char *reason,
			int waiting)
{
	sk_value v[5] = { SK_VTEXT(chat), SK_VINT(until_ms), SK_VTEXT(reason), SK_VINT(waiting ? 1 : 0),
			  SK_VINT(since_ms) };

	return sk_db_exec(p, "INSERT INTO autoreply_pause (chat, until_ms, reason, waiting, since_ms) "
			  "VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat) DO UPDATE SET until_ms = excluded.until_ms, "
			  "reason = excluded.reason, waiting = excluded.waiting, since_ms = excluded.since_ms",
			  v, 5, NULL, NULL);
}

/* The seller wrote in chat at from (wall clock; reason "manual": in the app,
 * "page": from the web page): the chat is paused for pause_s from then, and
 * a hand-over waiting for the seller stops waiting (with pause_s 0, or a
 * pause already over, it ends). A message older than the hand-over (a
 * backfilled one) leaves it waiting. Returns SK_OK or a negative sk_rc. */
int autoreply_seller_wrote(sk_plugin *p, ar_state *st, const char *chat, int64_t from, const char *reason)
{
	int64_t since;
	int waiting, rc;

	if ((waiting = autoreply_waiting(p, chat, &since)) < 0)
		return waiting;
	if (waiting && from < since)
		return SK_OK;
	if (!st->pause_ms || from + st->pause_ms <= sk_now_ms(p)) {
		if (waiting && (rc = sk_db_exec(p, "DELETE FROM autoreply_pause WHERE chat = ?", &SK_VTEXT(chat), 1,
						NULL, NULL)) < 0)
			return rc;
		if (waiting)
			sk_log(p, SK_LOG_INFO, "chat %s: the seller answered the hand-over; autoreply.pause_s is 0: "
			       "answered again", chat);
		return SK_OK;
	}
	if ((rc = autoreply_pause_set(p, chat, from, from + st->pause_ms, reason, 0)) < 0)
		return rc;
	sk_log(p, SK_LOG_INFO, "chat %s: the seller replied %s, paused for %lld s%s", chat,
	       strcmp(reason, "page") ? "by hand" : "from the page", (long long)(st->pause_ms / 1000),
	       waiting ? " (the hand-over is answered)" : "");
	return SK_OK;
}

/* Our own message, not an echo: the seller took over the chat. A
 * backfilled one pauses it from its own time (when that pause has not
 * ended yet). */
static int ar_on_own(sk_plugin *p, const sk_event *e, void *ud)
{
	ar_state *st = p->ud;
	int64_t from;
	int rc;

	(void)ud;
	if (!st || !*e->chat_id)
		return SK_PASS;
	autoreply_own_note(st, e->chat_id, e->created_ms > 0 ? e->created_ms : sk_now_ms(p));
	autoreply_pend_drop(p, st, e->chat_id);
	from = AR_BACKFILLED(e) && e->created_ms > 0 ? e->created_ms : sk_now_ms(p);
	rc = autoreply_seller_wrote(p, st, e->chat_id, from, "manual");
	return rc < 0 ? rc : SK_PASS;
}

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
		st->backfill_max_age_ms = nx.backfill_max_age_ms;
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
	st->agent_absent = 0;
	if (!(rs = autoreply_load(p)))
		return SK_PASS;
	autoreply_rules_free(st->rules);
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
	autoreply_rules_free(st->rules);
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
	{
		int64_t age = sk_config_int(p, "backfill_max_age_s", AR_DEF_BACKFILL_MAX_AGE_S);

		if (age < 0 || age > INT64_MAX / 1000 / 2) {
			sk_log(p, SK_LOG_ERR, "autoreply.backfill_max_age_s must be 0 or more seconds, not %lld",
			       (long long)age);
			return SK_ERR_CONFIG;
		}
		st->backfill_max_age_ms = age * 1000;
	}
	if (sk_config_json(p, "banned_words")) {
		n = sk_config_list_len(p, "banned_words");
		if (n && !(st->banned = calloc(n, sizeof *st->banned)))
			return SK_ERR_NOMEM;
		for (; st->nbanned < n; st->nbanned++)
			if (!(st->banned[st->nbanned] = autoreply_strdup(sk_config_list_str(p, "banned_words", st->nbanned))))
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
	sk_filter seller_reply = { .topic = "core.seller_reply" };
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
	if (!(st->rules = autoreply_load(p)) && !(st->rules = calloc(1, sizeof *st->rules))) {
		rc = SK_ERR_NOMEM;
		goto fail;
	}
	p->ud = st;
	if ((rc = sk_subscribe(p, SK_MASK(SK_EV_CHAT_TEXT), &buyers, 0, ar_on_text, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK_CHAT, &seller, 0, ar_on_own, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &reload, 0, ar_on_reload, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &stopping, 0, ar_on_stopping, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &seller_reply, 0, autoreply_on_seller_reply, NULL, NULL,
				NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_SEND_RESULT), NULL, 0, ar_on_send_result, NULL, NULL, NULL)) < 0)
		goto fail;
	/* Without its control commands autoreply still answers: a refusal is logged. */
	autoreply_controls_add(p);
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
	  .rules_check = autoreply_rules_check);
