/* SPDX-License-Identifier: MIT */
/*
 * plugins/autoreply/autoreply_handover.c - the hand-over to the seller and
 * the seller's replies from the web page:
 *
 *   - the rules document's "handover" {enabled, words, text, pause_s} and
 *     "quick_phrases" (validated here; the page reads them from GET
 *     /api/rules), parsed into the rule set;
 *   - a buyer text holding a hand-over word: the chat is paused with reason
 *     "handover" and waiting for the seller, the text sent once, the topic
 *     "autoreply.handover" published;
 *   - the core's "core.seller_reply" (a reply sent from the page): the chat
 *     is paused as by a reply typed in the app.
 */

#include "autoreply_int.h"

static const char *const ar_ho_def_words[] = { "人工", "真人", "客服", NULL };
#define AR_HO_DEF_TEXT "好的，已通知卖家本人，请稍等～"

/* Returns whether the raw JSON text holds an escaped NUL (\u0000, the
 * backslash not itself escaped): cJSON would cut the string there. */
static int ar_has_nul_escape(const char *text)
{
	for (const char *s = text; (s = strstr(s, "u0000")) != NULL; s++) {
		size_t off = (size_t)(s - text), bs = 0;

		while (bs < off && text[off - bs - 1] == '\\')
			bs++;
		if (bs % 2)
			return 1;
	}
	return 0;
}

/* Fills rs's hand-over with the defaults (on, 人工 真人 客服, the Chinese
 * text, one day). Returns 0, or -1 after reporting no memory. */
static int ar_ho_defaults(skrules_ctx *x, ar_rules *rs)
{
	size_t n = 0;

	while (ar_ho_def_words[n])
		n++;
	rs->ho_enabled = 1;
	rs->ho_pause_ms = (int64_t)AR_HO_PAUSE_S * 1000;
	if (!(rs->ho_words = calloc(n, sizeof *rs->ho_words)) || !(rs->ho_text = strdup(AR_HO_DEF_TEXT))) {
		skrules_err(x, "handover: out of memory");
		return -1;
	}
	for (; rs->nho < n; rs->nho++)
		if (!(rs->ho_words[rs->nho] = strdup(ar_ho_def_words[rs->nho]))) {
			skrules_err(x, "handover: out of memory");
			return -1;
		}
	return 0;
}

/* Reads handover.words (a list of 1..AR_HO_WORDS_MAX strings of 1..
 * AR_HO_WORD_MAX bytes) into rs, replacing the defaults. */
static void ar_ho_words(skrules_ctx *x, ar_rules *rs, const cJSON *w)
{
	size_t n = cJSON_IsArray(w) ? (size_t)cJSON_GetArraySize(w) : 0;
	const cJSON *c;
	size_t i = 0;

	if (!cJSON_IsArray(w) || n > AR_HO_WORDS_MAX) {
		skrules_err(x, "handover.words: must be a list of at most %d words", AR_HO_WORDS_MAX);
		return;
	}
	for (size_t k = 0; k < rs->nho; k++)
		free(rs->ho_words[k]);
	free(rs->ho_words);
	rs->ho_words = NULL;
	rs->nho = 0;
	if (n && !(rs->ho_words = calloc(n, sizeof *rs->ho_words))) {
		skrules_err(x, "handover.words: out of memory");
		return;
	}
	cJSON_ArrayForEach(c, w) {
		if (!cJSON_IsString(c) || !*c->valuestring || strlen(c->valuestring) > AR_HO_WORD_MAX)
			skrules_err(x, "handover.words[%zu]: must be a non-empty string of at most %d bytes", i,
				    AR_HO_WORD_MAX);
		else if (!(rs->ho_words[rs->nho++] = strdup(c->valuestring)))
			skrules_err(x, "handover.words[%zu]: out of memory", i);
		i++;
	}
}

/* Validates the rules document's "handover" and "quick_phrases" (root its
 * parsed object, text its JSON text) and puts the hand-over into rs: the
 * defaults when "handover" is absent or null. Errors name the field
 * ("handover.words[1]: ..."). */
void autoreply_handover_parse(skrules_ctx *x, ar_rules *rs, const cJSON *root, const char *text)
{
	static const char *const hfields[] = { "enabled", "words", "text", "pause_s", "comment", NULL };
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "handover");
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "quick_phrases"), *v;
	size_t i = 0;

	if (ar_ho_defaults(x, rs) < 0)
		return;
	if (h && !cJSON_IsNull(h) && !cJSON_IsObject(h)) {
		skrules_err(x, "handover: must be an object or null");
	} else if (cJSON_IsObject(h)) {
		autoreply_check_fields(x, h, "handover", hfields);
		rs->ho_enabled = autoreply_get_bool(x, h, "enabled", "handover", 1);
		if ((v = cJSON_GetObjectItemCaseSensitive(h, "words")))
			ar_ho_words(x, rs, v);
		if ((v = cJSON_GetObjectItemCaseSensitive(h, "text"))) {
			char why[256];

			if (!cJSON_IsString(v) || strlen(v->valuestring) > AR_REPLY_MAX) {
				skrules_err(x, "handover.text: must be a string of at most %d bytes (\"\": no reply)",
					    AR_REPLY_MAX);
			} else if (sktext_tmpl_check(v->valuestring, autoreply_vars, why, sizeof why)) {
				skrules_err(x, "handover.text: %s", why);
			} else {
				free(rs->ho_text);
				if (!(rs->ho_text = strdup(v->valuestring)))
					skrules_err(x, "handover.text: out of memory");
			}
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(h, "pause_s"))) {
			if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > (double)AR_CTL_PAUSE_MAX_S ||
			    v->valuedouble != (double)(int64_t)v->valuedouble)
				skrules_err(x, "handover.pause_s: must be a whole number of seconds from 1 to %lld",
					    (long long)AR_CTL_PAUSE_MAX_S);
			else
				rs->ho_pause_ms = (int64_t)v->valuedouble * 1000;
		}
		if (rs->ho_enabled && !rs->nho && !x->nerr)
			skrules_err(x, "handover.words: must hold a word when handover is enabled");
	}
	if (!q || cJSON_IsNull(q))
		return;
	if (!cJSON_IsArray(q) || cJSON_GetArraySize(q) > AR_QP_MAX) {
		skrules_err(x, "quick_phrases: must be a list of at most %d texts", AR_QP_MAX);
		return;
	}
	cJSON_ArrayForEach(v, q) {
		if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > AR_QP_LEN_MAX)
			skrules_err(x, "quick_phrases[%zu]: must be a non-empty string of at most %d bytes", i,
				    AR_QP_LEN_MAX);
		i++;
	}
	/* cJSON ends a string at \u0000: the phrase would be cut without a word */
	if (ar_has_nul_escape(text))
		skrules_err(x, "quick_phrases: the document holds \\u0000 (a NUL), which would cut a text");
}

/* Returns the hand-over word of rs that text holds (ASCII letters in any
 * case, a substring), or NULL when none does or the hand-over is off. */
const char *autoreply_handover_word(const ar_rules *rs, const char *text)
{
	if (!rs || !rs->ho_enabled)
		return NULL;
	for (size_t i = 0; i < rs->nho; i++)
		if (autoreply_icontains(text, rs->ho_words[i]))
			return rs->ho_words[i];
	return NULL;
}

/* Publishes "autoreply.handover" {chat_id, buyer_id, buyer_name, item_id,
 * text, word} for m (notify alerts the seller on it). */
static void ar_ho_publish(sk_plugin *p, const ar_msg *m, const char *word)
{
	cJSON *o = cJSON_CreateObject();
	char *s;
	int rc;

	cJSON_AddStringToObject(o, "chat_id", m->chat);
	cJSON_AddStringToObject(o, "buyer_id", m->buyer);
	cJSON_AddStringToObject(o, "buyer_name", m->name);
	cJSON_AddStringToObject(o, "item_id", m->item);
	cJSON_AddStringToObject(o, "text", m->text);
	cJSON_AddStringToObject(o, "word", word);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s || (rc = sk_publish(p, "autoreply.handover", s)) < 0)
		sk_log(p, SK_LOG_WARN, "chat %s: the hand-over was not published: %s", m->chat,
		       s ? sk_strerror(p, rc) : "out of memory");
	cJSON_free(s);
}

/* The buyer's text m holds the hand-over word: the chat is paused for
 * handover.pause_s, waiting for the seller; the burst waiting for its
 * debounce is dropped; the hand-over text is sent (tag
 * "handover:<message_id>", so a message pushed again after a crash is not
 * answered twice); "autoreply.handover" is published. A chat already
 * waiting only logs the message ("paused", outcome "waiting"). Returns 1
 * (handled), or a negative sk_rc. */
int autoreply_handover(sk_plugin *p, ar_state *st, const ar_msg *m, const char *word)
{
	const ar_rules *rs = st->rules;
	char tag[AR_TAG_MAX], *text;
	int64_t now = sk_now_ms(p), since, id;
	int n = *m->mid ? snprintf(tag, sizeof tag, "handover:%s", m->mid) : -1, rc;
	const char *t = n > 0 && n < AR_TAG_MAX ? tag : NULL;

	if (t && sk_send_find(p, t, NULL, NULL, NULL) == SK_OK) {
		sk_log(p, SK_LOG_INFO, "chat %s: message %s was handed over before a restart: not again", m->chat,
		       m->mid);
		return 1;
	}
	autoreply_pend_drop(p, st, m->chat);
	if ((rc = autoreply_waiting(p, m->chat, &since)) < 0)
		return rc;
	if (rc) {
		sk_log(p, SK_LOG_INFO, "chat %s: the buyer asks for the seller again (%s): already waiting", m->chat,
		       word);
		autoreply_log(p, m, "paused", "handover", "waiting");
		return 1;
	}
	if ((rc = autoreply_pause_set(p, m->chat, now, now + rs->ho_pause_ms, "handover", 1)) < 0)
		return rc;
	sk_log(p, SK_LOG_INFO, "chat %s: the buyer asks for the seller (\"%s\"): handed over, paused for %lld s",
	       m->chat, word, (long long)(rs->ho_pause_ms / 1000));
	id = autoreply_log(p, m, "handover", "handover", NULL);
	if (*rs->ho_text) {
		if (!(text = sktext_tmpl_render_max(rs->ho_text, autoreply_vars,
						    (const char *const[]){ m->name, m->buyer, m->text, m->item, m->chat },
						    AR_REPLY_MAX, NULL)))
			return SK_ERR_NOMEM;
		rc = autoreply_send(p, m, t, NULL, text, id, 1);
		free(text);
		if (rc < 0)
			sk_log(p, SK_LOG_WARN, "chat %s: the hand-over text was not sent: %s", m->chat,
			       sk_strerror(p, rc));
	}
	ar_ho_publish(p, m, word);
	return 1;
}

/* "core.seller_reply" {chat_id, buyer_id, via} from the core (a reply sent
 * from the web page; from any other plugin it is ignored): the chat is
 * paused as by the seller typing in the app (reason "page"), its pending
 * burst dropped, and a hand-over's waiting ends. */
int autoreply_on_seller_reply(sk_plugin *p, const sk_event *e, void *ud)
{
	ar_state *st = p->ud;
	cJSON *d;
	const cJSON *c;
	int rc = SK_PASS;

	(void)ud;
	if (!st || strcmp(e->topic, "core.seller_reply"))
		return SK_PASS;
	if (strcmp(e->from_plugin, "core")) {
		sk_log(p, SK_LOG_WARN, "core.seller_reply from plugin %s ignored: only the core sends it", e->from_plugin);
		return SK_PASS;
	}
	d = cJSON_Parse(e->payload_json);
	c = cJSON_GetObjectItemCaseSensitive(d, "chat_id");
	if (!cJSON_IsString(c) || !*c->valuestring || strlen(c->valuestring) > AR_CTL_CHAT_MAX) {
		sk_log(p, SK_LOG_WARN, "core.seller_reply without a chat_id ignored");
	} else {
		autoreply_own_note(st, c->valuestring, sk_now_ms(p));
		autoreply_pend_drop(p, st, c->valuestring);
		rc = autoreply_seller_wrote(p, st, c->valuestring, sk_now_ms(p), "page");
	}
	cJSON_Delete(d);
	return rc < 0 ? rc : SK_PASS;
}
