/* SPDX-License-Identifier: MIT */
/*
 * plugins/autoreply/autoreply_rules.c - the rules file's keyword_rules,
 * item_defaults and default_reply: parsing and validation (also the
 * descriptor's rules_check), the regexes with their caps, and the match that
 * picks a message's rule.
 */

#include "autoreply_int.h"

const char *const autoreply_vars[] = { "buyer_name", "buyer_id", "message", "item_id", "chat_id", NULL };
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
void autoreply_rules_free(ar_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nkr; i++)
		ar_rule_clear(&rs->kr[i]);
	for (size_t i = 0; i < rs->nidef; i++)
		ar_rule_clear(&rs->idef[i]);
	ar_rule_clear(&rs->dflt);
	for (size_t i = 0; i < rs->nho; i++)
		free(rs->ho_words[i]);
	free(rs->ho_words);
	free(rs->ho_text);
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
char *autoreply_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ASCII lower case; other bytes unchanged. */
static int ar_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Returns whether needle occurs in hay, ASCII letters case-insensitively. */
int autoreply_icontains(const char *hay, const char *needle)
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
	if (r->reply && sktext_tmpl_check(r->reply, autoreply_vars, why, sizeof why))
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
int autoreply_get_bool(skrules_ctx *x, const cJSON *o, const char *field, const char *where, int def)
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
void autoreply_check_fields(skrules_ctx *x, const cJSON *o, const char *where, const char *const *allowed)
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
	autoreply_check_fields(x, o, where, fields);
	ar_get_common(x, o, where, r);
	ar_get_str(x, o, "item_id", where, 1, &r->item_id);
	r->enabled = autoreply_get_bool(x, o, "enabled", where, 1);
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
	autoreply_check_fields(x, o, where, fields);
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
	/* cards, delivery, notices and chores belong to the orders (and items) plugins */
	static const char *const fields[] = { "keyword_rules", "item_defaults", "default_reply", "cards", "delivery",
		"notices", "chores", "comment", "handover", "quick_phrases", NULL };
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
	autoreply_check_fields(x, root, "(top)", fields);
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
		autoreply_check_fields(x, dr, "default_reply", dfields);
		ar_get_common(x, dr, "default_reply", &rs->dflt);
		rs->dflt.enabled = autoreply_get_bool(x, dr, "enabled", "default_reply", 1);
		rs->dflt.key = strdup("d");
		rs->has_dflt = 1;
	}
	autoreply_handover_parse(x, rs, root, text);
	if (x->nerr)
		goto fail;
	cJSON_Delete(root);
	return rs;
fail:
	cJSON_Delete(root);
	autoreply_rules_free(rs);
	return NULL;
}

/* Loads and validates the rules file. Returns the rules (empty ones when the
 * account has no rules file), or NULL when it has errors (all logged). */
ar_rules *autoreply_load(sk_plugin *p)
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
int autoreply_rules_check(const char *json, size_t len, char *errs, size_t errlen)
{
	skrules_ctx x;
	char *text = skrules_text(&x, errs, errlen, json, len);

	if (text)
		autoreply_rules_free(ar_parse(&x, text));
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
		if (r->match == AR_CONTAINS ? autoreply_icontains(text, r->kw[i]) :
		    r->match == AR_EXACT ? ar_exact(text, r->kw[i]) : ar_re_matches(p, rs, r, i, text))
			return 1;
	}
	return 0;
}

/* Returns the rule that answers m, or NULL when none does. */
const ar_rule *autoreply_find(sk_plugin *p, ar_rules *rs, const ar_msg *m)
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
