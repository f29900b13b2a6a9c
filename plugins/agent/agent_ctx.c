/* SPDX-License-Identifier: MIT */
/*
 * plugins/agent/agent_ctx.c - the context of a turn: the buyer's intent (a
 * keyword pass), what is known of the item (items_item), the prompts per
 * intent (built in, or files of prompts_dir), the chat's recent messages,
 * and the chat-completions request body made of them.
 *
 * Intent. agent_intent looks for the words of two tables below (substrings
 * of the UTF-8 text, ASCII letters case-insensitive): a price word, or an
 * amount offered ("80元", "¥80", "80块", "80行吗", "八十行吗", a text that is
 * only a number), makes it "price"; else a word about the thing makes it "tech";
 * else "default". Price wins when both are there. No model call is spent on
 * it.
 *
 * The item. agent_item_info reads items_item (the items plugin's table:
 * title, price in fen, desc, skus_json) when that table exists: the items
 * plugin may not be loaded, so sqlite_master is asked first (once per turn),
 * and an older items table without desc gives no description. Never fails.
 *
 * Recent messages (s->history of them, before the message answered, oldest
 * first). The source is the core's conversation store (chat_msg, core/
 * convo.c) when it holds the message answered (its IM or business id, or
 * the same buyer text of the last hour in that chat): the store is on
 * (chats.store) and has every message in and out, including the seller's
 * from the app and the page. Otherwise it is the agent's own agent_msg,
 * which agent_ctx_on_chat fills from the chat events (texts, images as
 * "[图片]", the buyer's and ours, echoes of our sends too) only while the
 * store does not keep them: a chat event whose message chat_msg already
 * holds, and an echo of our send in a chat the store noted in the last ten
 * minutes, are not copied. That decision and the copy are one INSERT
 * statement a chat message; agent_msg keeps about the last AG_MSG_KEEP
 * messages of a chat (every eighth insert trims the chat's older ones).
 *
 * The request body (agent_request_body): {"model","max_tokens",
 * "temperature","stream":false,"messages":[system, history..., the buyer's
 * text]}. The system message is the intent's prompt, a blank line, then one
 * line each of what is known: 商品：<title>, 价格：<yuan>元, 规格：<specs
 * joined by ；>, 描述：<desc, at most 1500 bytes>, 卖家备注：<notes>,
 * 最低可以让到：<yuan>元 (only with a floor), 买家：<name>. (The simulator's
 * fake model reads the 商品： and 价格： lines: keep these prefixes.) Every
 * text is cut at a character boundary and invalid UTF-8 is replaced by
 * U+FFFD, so the body is always valid UTF-8 JSON; each message is at most
 * AG_CTX_MSG_MAX bytes, the single-line fields lose their line breaks.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_int.h"

#define AG_CTX_MSG_MAX 500           /* bytes of one history message or the buyer's text in the body */
#define AG_CTX_DESC_MAX 1500         /* bytes of the description in the system prompt */
#define AG_CTX_HISTORY_MAX 50        /* messages of history read at most */
#define AG_MSG_KEEP 50               /* agent_msg rows kept per chat (about) */
#define AG_CTX_MATCH_MS 3600000LL    /* a buyer text of the last hour counts as the message answered */
#define AG_CTX_ECHO_MS 600000LL      /* a store that noted the chat this recently keeps our sends */

/* ---- UTF-8 ------------------------------------------------------------------------ */

/* The length of the valid UTF-8 character at s (n bytes left): 1..4, or 0
 * when s does not start one (a stray continuation byte, an overlong form, a
 * surrogate, beyond U+10FFFF, or cut short). */
static size_t ag_u8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/* Whether the n bytes at s are valid UTF-8 without a NUL. */
static int ag_u8_valid(const char *s, size_t n)
{
	size_t i = 0, l;

	while (i < n) {
		if (!s[i] || !(l = ag_u8_len((const unsigned char *)s + i, n - i)))
			return 0;
		i += l;
	}
	return 1;
}

/* Copies src into dst (room for n bytes, n >= 1) as valid UTF-8 of at most
 * max bytes (and n - 1): whole characters only, an invalid byte becoming
 * U+FFFD, and with oneline the line breaks and tabs becoming spaces.
 * Returns the bytes written (dst is NUL-terminated). */
static size_t ag_u8_copy(char *dst, size_t n, const char *src, size_t max, int oneline)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t len = strlen((const char *)s), i = 0, o = 0, l;

	if (max > n - 1)
		max = n - 1;
	while (i < len) {
		if (!(l = ag_u8_len(s + i, len - i))) {
			if (o + 3 > max)
				break;
			memcpy(dst + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
			continue;
		}
		if (o + l > max)
			break;
		if (oneline && l == 1 && (s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
			dst[o] = ' ';
		else
			memcpy(dst + o, s + i, l);
		o += l;
		i += l;
	}
	dst[o] = '\0';
	return o;
}

/* ---- intent ----------------------------------------------------------------------- */

/* Words that make a text a price question or a bargain (substrings). */
static const char *const ag_price_words[] = {
	"便宜", "少点", "少一点", "少些", "优惠", "最低", "底价", "多少钱", "价格", "价钱", "价位", "刀", "砍",
	"包邮", "能不能少", "能少", "出吗", "卖吗", "打折", "折扣", "元", "块", "¥", "￥", "rmb", NULL
};

/* Words that make a text a question about the thing itself (substrings). */
static const char *const ag_tech_words[] = {
	"怎么用", "怎么样", "参数", "型号", "尺寸", "配置", "规格", "成色", "能不能用", "支持", "兼容", "几年",
	"电池", "保修", "发票", "区别", "有没有", "是不是", "正品", "多大", "多重", "功能", "材质", "说明书", NULL
};

/* What may follow an amount to make it an offer ("80行吗", "80包邮"...). */
static const char *const ag_offer_tails[] = {
	"行吗", "行不行", "行不", "行么", "可以吗", "可以不", "可不可以", "可以么", "能出", "能卖", "出不出",
	"卖不卖", "出吗", "卖吗", "出不", "卖不", "好吗", "成交", "包邮", "拿走", "要了", "我要", "走吗", "吧", NULL
};

/* Whether text holds one of the words (ASCII letters case-insensitive). */
static int ag_has_word(const char *text, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strcasestr(text, words[i]))
			return 1;
	return 0;
}

/* Whether s starts with one of the words; its length in *used. */
static int ag_starts_word(const char *s, const char *const *words, size_t *used)
{
	for (size_t i = 0; words[i]; i++) {
		size_t l = strlen(words[i]);

		if (!strncmp(s, words[i], l)) {
			*used = l;
			return 1;
		}
	}
	return 0;
}

/* Whether c (a byte) is blank or ASCII punctuation around an amount. */
static int ag_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '?' || c == '!' || c == '.' || c == ',' ||
	       c == '~';
}

/* Skips blanks and the full-width ？！。，～ and spaces at s. */
static const char *ag_skip_blank(const char *s)
{
	for (;;) {
		if (ag_blank((unsigned char)*s))
			s++;
		else if (!strncmp(s, "？", 3) || !strncmp(s, "！", 3) || !strncmp(s, "。", 3) || !strncmp(s, "，", 3) ||
			 !strncmp(s, "～", 3) || !strncmp(s, "　", 3))
			s += 3;
		else
			return s;
	}
}

/* The Chinese numerals of an amount ("八十", "一百五", "两千"). */
static const char *const ag_cn_digits[] = {
	"零", "一", "二", "两", "三", "四", "五", "六", "七", "八", "九", "十", "百", "千", "万", NULL
};

/* The length of the run of Chinese numerals at s when it holds 十, 百 or 千
 * (an amount, not "一下"), else 0. */
static size_t ag_cn_amount(const char *s)
{
	size_t n = 0, used;
	int unit = 0;

	while (ag_starts_word(s + n, ag_cn_digits, &used)) {
		unit |= !strncmp(s + n, "十", 3) || !strncmp(s + n, "百", 3) || !strncmp(s + n, "千", 3);
		n += used;
	}
	return unit ? n : 0;
}

/* Whether text offers an amount: a number (digits, or Chinese numerals
 * with 十/百/千) that is the whole text (blanks and punctuation aside) or
 * is followed by an offer tail. (A number before 元/块 or after ¥ is caught
 * by the price words already.) */
static int ag_has_offer(const char *text)
{
	const char *s = text;

	while (*s) {
		const char *start, *after;
		size_t used, cn;

		if ((cn = ag_cn_amount(s))) {
			start = s;
			s += cn;
		} else if (*s < '0' || *s > '9') {
			s++;
			continue;
		} else {
			start = s;
			while ((*s >= '0' && *s <= '9') || (*s == '.' && s[1] >= '0' && s[1] <= '9'))
				s++;
			/* a digit glued to letters is a model name ("iPhone13", "A2"), not an amount */
			if (start > text && ((start[-1] | 0x20) >= 'a' && (start[-1] | 0x20) <= 'z'))
				continue;
		}
		after = ag_skip_blank(s);
		if (ag_starts_word(after, ag_offer_tails, &used))
			return 1;
		if (!*after && ag_skip_blank(text) == start)
			return 1;
	}
	return 0;
}

/* See agent_int.h. */
int agent_intent(const char *text)
{
	if (!text || !*text)
		return AG_INTENT_DEFAULT;
	if (ag_has_word(text, ag_price_words) || ag_has_offer(text))
		return AG_INTENT_PRICE;
	if (ag_has_word(text, ag_tech_words))
		return AG_INTENT_TECH;
	return AG_INTENT_DEFAULT;
}

/* See agent_int.h. */
const char *agent_intent_name(int intent)
{
	switch (intent) {
	case AG_INTENT_PRICE: return "price";
	case AG_INTENT_TECH: return "tech";
	default: return "default";
	}
}

/* ---- the item ------------------------------------------------------------------- */

/* "99", "99.5" or "99.05" yuan for fen (no trailing zeros). Returns buf. */
static char *ag_yuan_short(int64_t fen, char *buf, size_t n)
{
	int64_t y = fen / 100, f = fen % 100;

	if (!f)
		snprintf(buf, n, "%lld", (long long)y);
	else if (f % 10 == 0)
		snprintf(buf, n, "%lld.%lld", (long long)y, (long long)(f / 10));
	else
		snprintf(buf, n, "%lld.%02lld", (long long)y, (long long)f);
	return buf;
}

/* A yuan string ("50", "50.5", "50.00") in fen; -1 when it is not one. */
static int64_t ag_fen_of(const char *s)
{
	int64_t y = 0, f = 0;
	int digits = 0, dec = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if ((y = y * 10 + (*s - '0')) > 100000000000LL)
			return -1;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (dec++ < 2)
				f = f * 10 + (*s - '0');
	if (!digits || *s)
		return -1;
	return y * 100 + (dec == 1 ? f * 10 : f);
}

/* Row of "what the items table has": [0] items_item exists, [1] it has desc. */
static int ag_row_tables(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	int *has = ud;

	(void)p;
	if (n >= 2) {
		has[0] = c[0].i > 0;
		has[1] = c[1].i > 0;
	}
	return 0;
}

/* The specs lines of info from skus_json ([{"spec","price"}] as the items
 * plugin writes it): "<spec>：<yuan>元" (or the spec alone), one a line,
 * whole lines only. */
static void ag_specs(ag_item_info *info, const char *skus_json)
{
	cJSON *arr = cJSON_Parse(skus_json ? skus_json : ""), *list = cJSON_IsArray(arr) ? arr : NULL, *s;
	size_t used = 0;

	cJSON_ArrayForEach(s, list) {
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(s, "spec"),
			    *price = cJSON_GetObjectItemCaseSensitive(s, "price");
		char line[600], sp[400], yuan[32];
		int64_t fen = cJSON_IsString(price) ? ag_fen_of(price->valuestring) : -1;
		size_t l;

		if (!cJSON_IsString(spec) || !*spec->valuestring)
			continue;
		ag_u8_copy(sp, sizeof sp, spec->valuestring, sizeof sp - 1, 1);
		if (fen >= 0)
			snprintf(line, sizeof line, "%s：%s元", sp, ag_yuan_short(fen, yuan, sizeof yuan));
		else
			snprintf(line, sizeof line, "%s", sp);
		l = strlen(line);
		if (used + (used ? 1 : 0) + l >= sizeof info->specs)
			break;
		if (used)
			info->specs[used++] = '\n';
		memcpy(info->specs + used, line, l + 1);
		used += l;
	}
	cJSON_Delete(arr);
}

/* The items_item row of the item: title, price, desc, skus_json. */
static int ag_row_item(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	ag_item_info *info = ud;

	(void)p;
	if (n < 4)
		return 1;
	ag_u8_copy(info->title, sizeof info->title, c[0].s, sizeof info->title - 1, 0);
	info->price_fen = c[1].type == SK_INT && c[1].i >= 0 ? c[1].i : -1;
	ag_u8_copy(info->desc, sizeof info->desc, c[2].s, sizeof info->desc - 1, 0);
	ag_specs(info, c[3].s);
	return 1;
}

/* See agent_int.h. */
void agent_item_info(sk_plugin *p, const char *item_id, ag_item_info *info)
{
	int has[2] = { 0, 0 };
	sk_value v[1] = { SK_VTEXT(item_id ? item_id : "") };

	memset(info, 0, sizeof *info);
	info->price_fen = -1;
	if (!item_id || !*item_id)
		return;
	ag_u8_copy(info->item_id, sizeof info->item_id, item_id, sizeof info->item_id - 1, 1);
	/* the items plugin may not be loaded, or older (without desc): ask first,
	 * so that no failing statement is logged each turn */
	if (sk_db_exec(p, "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'items_item'), "
		       "(SELECT count(*) FROM pragma_table_info('items_item') WHERE name = 'desc')",
		       NULL, 0, ag_row_tables, has) < 0 || !has[0])
		return;
	sk_db_exec(p, has[1] ? "SELECT title, price, \"desc\", skus_json FROM items_item WHERE item_id = ?1"
			     : "SELECT title, price, '', skus_json FROM items_item WHERE item_id = ?1",
		   v, 1, ag_row_item, info);
}

/* ---- prompts ------------------------------------------------------------------- */

/* The built-in prompts (config/prompts/<intent>.txt hold the same text). */
static const char *const ag_builtin_prompts[AG_INTENT_N] = {
	[AG_INTENT_DEFAULT] =
		"你是闲鱼卖家的客服助手，替卖家回复买家的消息。\n"
		"要求：\n"
		"1. 语气亲切自然，像真人卖家一样说话，回答简短，一般一两句话。\n"
		"2. 只回答和这件商品有关的问题；不知道的不要编造，就说帮您问一下卖家。\n"
		"3. 绝不提供或索要微信、QQ、电话、邮箱等联系方式，不引导到平台外沟通。\n"
		"4. 绝不同意平台外付款或交易（转账、支付宝、银行卡、线下交易都不行），只在闲鱼下单。\n"
		"5. 绝不报出低于“最低可以让到”的价格；没有写最低价时不要主动降价。\n"
		"6. 不要承诺商品信息里没有写的东西（赠品、保修、发货时间等）。\n",
	[AG_INTENT_PRICE] =
		"你是闲鱼卖家的客服助手，买家正在问价或砍价，请替卖家回复。\n"
		"要求：\n"
		"1. 语气亲切，回答简短，一般一两句话。\n"
		"2. 先守住价格，说明商品的价值（成色、配置、原价等，只用商品信息里有的）。\n"
		"3. 如果要让价，每次只让一小步，不要一次让到底。\n"
		"4. 绝不报出低于“最低可以让到”的价格；没有写最低价时不要降价，可以说价格已经很实在了。\n"
		"5. 报价时只写一个明确的数字，例如“最低85元”，不要给出价格区间。\n"
		"6. 绝不提供联系方式，绝不同意平台外付款或交易，只在闲鱼下单。\n",
	[AG_INTENT_TECH] =
		"你是闲鱼卖家的客服助手，买家在问商品本身的问题（参数、成色、用法、配件等），请替卖家回复。\n"
		"要求：\n"
		"1. 只根据下面的商品描述、规格和卖家备注回答，回答简短准确。\n"
		"2. 描述里没有的信息不要编造，就说：这个我帮您跟卖家确认一下，稍后回复您。\n"
		"3. 不要主动谈价格，也绝不报出低于“最低可以让到”的价格。\n"
		"4. 绝不提供联系方式，绝不同意平台外付款或交易，只在闲鱼下单。\n",
};

/* "<dir>/<intent>.txt" into buf; -1 when it does not fit. */
static int ag_prompt_path(const ag_settings *s, int intent, char *buf, size_t n)
{
	int w = snprintf(buf, n, "%s/%s.txt", s->prompts_dir, agent_intent_name(intent));

	return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* Whether text is empty or only ASCII blanks. */
static int ag_blank_text(const char *t)
{
	for (; *t; t++)
		if (*t != ' ' && *t != '\t' && *t != '\n' && *t != '\r')
			return 0;
	return 1;
}

/* See agent_int.h. A missing file is the built-in text silently; a file
 * that cannot be read, is larger than AG_PROMPT_MAX, is not UTF-8 or is
 * empty is logged and the built-in text used. */
char *agent_prompt(sk_plugin *p, const ag_settings *s, int intent, int *is_default)
{
	char path[4096];
	int fd;

	if (intent < 0 || intent >= AG_INTENT_N)
		intent = AG_INTENT_DEFAULT;
	*is_default = 1;
	if (s && s->prompts_dir && *s->prompts_dir) {
		if (ag_prompt_path(s, intent, path, sizeof path) < 0) {
			sk_log(p, SK_LOG_WARN, "agent.prompts_dir: too long a path; the built-in %s prompt is used",
			       agent_intent_name(intent));
		} else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
			if (errno != ENOENT)
				sk_log(p, SK_LOG_WARN, "prompt %s: cannot open: %s; the built-in one is used", path,
				       strerror(errno));
		} else {
			struct stat sb;
			char *buf = NULL, big[64];
			const char *bad = NULL;
			ssize_t got = 0;

			snprintf(big, sizeof big, "larger than %d bytes", AG_PROMPT_MAX);
			if (fstat(fd, &sb) || !S_ISREG(sb.st_mode))
				bad = "not a regular file";
			else if (sb.st_size > AG_PROMPT_MAX)
				bad = big;
			else if (!(buf = malloc((size_t)sb.st_size + 1)))
				bad = "out of memory";
			else if ((got = read(fd, buf, (size_t)sb.st_size)) != (ssize_t)sb.st_size)
				bad = "cannot read it whole";
			else if (buf[got] = '\0', !ag_u8_valid(buf, (size_t)got))
				bad = "not UTF-8 text";
			else if (ag_blank_text(buf))
				bad = "empty";
			close(fd);
			if (!bad) {
				*is_default = 0;
				return buf;
			}
			free(buf);
			sk_log(p, SK_LOG_WARN, "prompt %s: %s; the built-in one is used", path, bad);
		}
	}
	return strdup(ag_builtin_prompts[intent]);
}

/* See agent_int.h. The text is written to a temporary file in the same
 * folder, synced, then renamed over the prompt (the folder is made when
 * missing, and synced after the rename): a crash leaves the old prompt or
 * the new one. A text of only blanks counts as "". */
int agent_prompt_save(sk_plugin *p, const ag_settings *s, int intent, const char *text, char *why, size_t whylen)
{
	char path[4096], tmp[4200], dir[4096];
	size_t len = text ? strlen(text) : 0;
	int fd, dfd;

	if (intent < 0 || intent >= AG_INTENT_N) {
		snprintf(why, whylen, "intent: must be default, price or tech");
		return -1;
	}
	if (!s || !s->prompts_dir || !*s->prompts_dir) {
		snprintf(why, whylen, "prompts_dir: not set in the agent's config: the built-in prompts cannot be edited");
		return -1;
	}
	if (len > AG_PROMPT_MAX) {
		snprintf(why, whylen, "text: at most %d bytes", AG_PROMPT_MAX);
		return -1;
	}
	if (!ag_u8_valid(text ? text : "", len)) {
		snprintf(why, whylen, "text: not valid UTF-8");
		return -1;
	}
	if (ag_prompt_path(s, intent, path, sizeof path) < 0) {
		snprintf(why, whylen, "prompts_dir: too long a path");
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", s->prompts_dir);
	if (!text || ag_blank_text(text)) {
		if (unlink(path) && errno != ENOENT) {
			snprintf(why, whylen, "cannot delete %s: %s", path, strerror(errno));
			return -1;
		}
		sk_log(p, SK_LOG_INFO, "prompt %s deleted: the built-in %s prompt is used", path,
		       agent_intent_name(intent));
		return 0;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		snprintf(why, whylen, "cannot make the folder %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s/.%s.txt.XXXXXX", dir, agent_intent_name(intent));
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(why, whylen, "cannot write in %s: %s", dir, strerror(errno));
		return -1;
	}
	fchmod(fd, 0644);
	{
		size_t off = 0;

		while (off < len) {
			ssize_t w = write(fd, text + off, len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		if (off < len || fsync(fd)) {
			snprintf(why, whylen, "cannot write %s: %s", tmp, strerror(errno ? errno : EIO));
			close(fd);
			unlink(tmp);
			return -1;
		}
	}
	if (close(fd) || rename(tmp, path)) {
		snprintf(why, whylen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	sk_log(p, SK_LOG_INFO, "prompt %s saved (%zu bytes)", path, len);
	return 0;
}

/* ---- recent messages ------------------------------------------------------------- */

/* The history being read: the rows newest first, turned around later. */
typedef struct {
	cJSON *rows;                 /* [{"role","content"}] newest first */
	int64_t id;                  /* ag_row_id's answer, 0 none */
} ag_hist;

/* The id of the message answered in chat_msg. */
static int ag_row_id(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n >= 1 && c[0].type == SK_INT)
		((ag_hist *)ud)->id = c[0].i;
	return 1;
}

/* One earlier message (dir, kind, text) into the history. */
static int ag_row_msg(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	ag_hist *h = ud;
	char buf[AG_CTX_MSG_MAX + 1];
	cJSON *o;

	(void)p;
	if (n < 3)
		return 1;
	if (c[1].s && !strcmp(c[1].s, "image"))
		snprintf(buf, sizeof buf, "[图片]");
	else
		ag_u8_copy(buf, sizeof buf, c[2].s, AG_CTX_MSG_MAX, 0);
	if (!*buf)
		return 0;
	if (!(o = cJSON_CreateObject()))
		return 1;
	cJSON_AddStringToObject(o, "role", c[0].s && !strcmp(c[0].s, "in") ? "user" : "assistant");
	cJSON_AddStringToObject(o, "content", buf);
	cJSON_AddItemToArray(h->rows, o);
	return 0;
}

/* The chat's messages before m, at most max, newest first into h->rows:
 * from chat_msg when it holds m, else from agent_msg. */
static void ag_history(sk_plugin *p, const ag_msg *m, int64_t max, ag_hist *h)
{
	int64_t since = m->ms > AG_CTX_MATCH_MS ? m->ms - AG_CTX_MATCH_MS : 0;
	sk_value v[4] = { SK_VTEXT(m->chat), SK_VTEXT(m->mid), SK_VTEXT(m->text), SK_VINT(since) };

	if (max <= 0 || !m->chat || !*m->chat)
		return;
	if (max > AG_CTX_HISTORY_MAX)
		max = AG_CTX_HISTORY_MAX;
	h->id = 0;
	sk_db_exec(p, "SELECT id FROM chat_msg WHERE chat = ?1 AND dir = 'in' AND ((?2 <> '' AND message_id = ?2) OR "
		      "(kind = 'text' AND ?3 <> '' AND text = ?3 AND ms >= ?4)) ORDER BY id DESC LIMIT 1",
		   v, 4, ag_row_id, h);
	if (h->id > 0) {
		sk_value w[3] = { SK_VTEXT(m->chat), SK_VINT(h->id), SK_VINT(max) };

		sk_db_exec(p, "SELECT dir, kind, text FROM chat_msg WHERE chat = ?1 AND id < ?2 AND kind IN ('text', 'image') "
			      "AND state <> 'failed' ORDER BY id DESC LIMIT ?3", w, 3, ag_row_msg, h);
		return;
	}
	{
		sk_value w[3] = { SK_VTEXT(m->chat), SK_VTEXT(m->text), SK_VINT(max) };

		sk_db_exec(p, "SELECT dir, 'text', text FROM agent_msg WHERE chat = ?1 AND id < COALESCE((SELECT max(id) "
			      "FROM agent_msg WHERE chat = ?1 AND dir = 'in' AND text = ?2), 9223372036854775807) "
			      "ORDER BY id DESC LIMIT ?3", w, 3, ag_row_msg, h);
	}
}

/* See agent_int.h. One INSERT a chat message decides and copies (file
 * comment); every eighth row inserted trims the chat to its last
 * AG_MSG_KEEP. Always SK_PASS. */
int agent_ctx_on_chat(sk_plugin *p, const sk_event *e, void *ud)
{
	const char *text = e->type == SK_EV_CHAT_IMAGE ? "[图片]" : e->text;
	const char *key = e->im_id && *e->im_id ? e->im_id : e->message_id;
	int64_t ms = e->created_ms > 0 ? e->created_ms : sk_now_ms(p);
	sk_value v[7] = { SK_VTEXT(e->chat_id), SK_VINT(ms), SK_VTEXT(e->own ? "out" : "in"), SK_VTEXT(text),
			  SK_VTEXT(key ? key : ""), SK_VINT(e->own && e->echo ? 1 : 0), SK_VINT(AG_CTX_ECHO_MS) };

	(void)ud;
	if ((e->type != SK_EV_CHAT_TEXT && e->type != SK_EV_CHAT_IMAGE) || !e->chat_id || !*e->chat_id || !text ||
	    !*text)
		return SK_PASS;
	/* "message_id <> ''" as written: only then may SQLite use the partial
	 * unique index chat_msg_mid (else it scans the whole store) */
	if (sk_db_exec(p, "INSERT INTO agent_msg (chat, ms, dir, text) SELECT ?1, ?2, ?3, ?4 "
			  "WHERE NOT EXISTS (SELECT 1 FROM chat_msg WHERE message_id = ?5 AND message_id <> '') "
			  "AND NOT (?6 AND EXISTS (SELECT 1 FROM chat_chat WHERE chat = ?1 AND last_ms >= ?2 - ?7)) "
			  "AND NOT EXISTS (SELECT 1 FROM agent_msg WHERE chat = ?1 AND ms = ?2 AND dir = ?3 AND text = ?4)",
			  v, 7, NULL, NULL) < 0)
		return SK_PASS;
	if (sk_db_changes(p) > 0 && sk_db_last_rowid(p) % 8 == 0) {
		sk_value w[2] = { SK_VTEXT(e->chat_id), SK_VINT(AG_MSG_KEEP) };

		sk_db_exec(p, "DELETE FROM agent_msg WHERE chat = ?1 AND id <= (SELECT id FROM agent_msg WHERE chat = ?1 "
			      "ORDER BY id DESC LIMIT 1 OFFSET ?2)", w, 2, NULL, NULL);
	}
	return SK_PASS;
}

/* ---- the request body ------------------------------------------------------------ */

/* Appends "<prefix><value>\n" to the system text (sb, used, cap) when value is not empty. */
static void ag_line(char *sb, size_t *used, size_t cap, const char *prefix, const char *value)
{
	int w;

	if (!value || !*value || *used >= cap)
		return;
	w = snprintf(sb + *used, cap - *used, "%s%s\n", prefix, value);
	if (w > 0)
		*used += (size_t)w < cap - *used ? (size_t)w : cap - *used - 1;
}

/* Adds {"role","content"} to arr. */
static void ag_add_msg(cJSON *arr, const char *role, const char *content)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	cJSON_AddStringToObject(o, "role", role);
	cJSON_AddStringToObject(o, "content", content);
	cJSON_AddItemToArray(arr, o);
}

/* See agent_int.h. */
char *agent_request_body(sk_plugin *p, const ag_settings *s, const ag_msg *m, int intent,
			 const ag_item_info *info, const ag_item *it, int64_t offer_floor_fen)
{
	int is_default;
	char *prompt = agent_prompt(p, s, intent, &is_default), *sys = NULL, *out = NULL;
	char title[sizeof info->title], desc[AG_CTX_DESC_MAX + 1], notes[AG_NOTES_MAX + 1], name[200],
	     specs[sizeof info->specs], yuan[32], amount[40], buf[AG_CTX_MSG_MAX + 1];
	size_t cap, used = 0;
	cJSON *root = NULL, *msgs;
	ag_hist h = { 0 };

	if (!prompt)
		return NULL;
	ag_u8_copy(title, sizeof title, info ? info->title : "", sizeof title - 1, 1);
	ag_u8_copy(desc, sizeof desc, info ? info->desc : "", AG_CTX_DESC_MAX, 0);
	ag_u8_copy(notes, sizeof notes, it && it->notes ? it->notes : "", AG_NOTES_MAX, 0);
	ag_u8_copy(name, sizeof name, m->name, sizeof name - 1, 1);
	/* the specs' lines joined by "；" */
	{
		char raw[sizeof info->specs];
		size_t o = 0;

		size_t n = ag_u8_copy(raw, sizeof raw, info ? info->specs : "", sizeof raw - 1, 0);

		/* raw is valid UTF-8 now: whole characters, as long as they fit */
		for (size_t i = 0, l; i < n; i += l) {
			l = ag_u8_len((const unsigned char *)raw + i, n - i);
			if (o + (raw[i] == '\n' ? 3 : l) >= sizeof specs)
				break;
			if (raw[i] == '\n') {
				memcpy(specs + o, "；", 3);
				o += 3;
			} else {
				memcpy(specs + o, raw + i, l);
				o += l;
			}
		}
		specs[o] = '\0';
	}
	cap = strlen(prompt) + strlen(title) + strlen(desc) + strlen(notes) + strlen(name) + strlen(specs) + 256;
	if (!(sys = malloc(cap)))
		goto done;
	used = (size_t)snprintf(sys, cap, "%s", prompt);
	while (used && (sys[used - 1] == '\n' || sys[used - 1] == ' '))
		sys[--used] = '\0';
	used += (size_t)snprintf(sys + used, cap - used, "\n\n");
	ag_line(sys, &used, cap, "商品：", title);
	if (info && info->price_fen >= 0) {
		snprintf(amount, sizeof amount, "%s元", ag_yuan_short(info->price_fen, yuan, sizeof yuan));
		ag_line(sys, &used, cap, "价格：", amount);
	}
	ag_line(sys, &used, cap, "规格：", specs);
	ag_line(sys, &used, cap, "描述：", desc);
	ag_line(sys, &used, cap, "卖家备注：", notes);
	if (offer_floor_fen >= 0) {
		snprintf(amount, sizeof amount, "%s元", ag_yuan_short(offer_floor_fen, yuan, sizeof yuan));
		ag_line(sys, &used, cap, "最低可以让到：", amount);
	}
	ag_line(sys, &used, cap, "买家：", name);
	while (used && sys[used - 1] == '\n')
		sys[--used] = '\0';

	if (!(root = cJSON_CreateObject()) || !(h.rows = cJSON_CreateArray()))
		goto done;
	cJSON_AddStringToObject(root, "model", s && s->model ? s->model : "");
	cJSON_AddNumberToObject(root, "max_tokens", s ? (double)s->max_tokens : AG_DEF_MAX_TOKENS);
	cJSON_AddNumberToObject(root, "temperature", s ? s->temperature : AG_DEF_TEMPERATURE);
	cJSON_AddFalseToObject(root, "stream");
	if (!(msgs = cJSON_AddArrayToObject(root, "messages")))
		goto done;
	ag_add_msg(msgs, "system", sys);
	ag_history(p, m, s ? s->history : AG_DEF_HISTORY, &h);
	/* the rows came newest first */
	for (int i = cJSON_GetArraySize(h.rows) - 1; i >= 0; i--)
		cJSON_AddItemToArray(msgs, cJSON_DetachItemFromArray(h.rows, i));
	ag_u8_copy(buf, sizeof buf, m->text, AG_CTX_MSG_MAX, 0);
	ag_add_msg(msgs, "user", buf);
	out = cJSON_PrintUnformatted(root);
done:
	cJSON_Delete(h.rows);
	cJSON_Delete(root);
	free(sys);
	free(prompt);
	return out;
}
