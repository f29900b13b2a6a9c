/* SPDX-License-Identifier: MIT */
/*
 * plugins/agent/agent_guard.c - the guard: judges a model's answer before
 * it reaches the wire. Pure functions (no host call, no state), so the unit
 * test and the fuzzer link this file alone.
 *
 * Order of the checks (the first found wins): empty, too_long, below_floor,
 * contact, payment, banned. lowest_fen is filled whatever the verdict (but
 * empty), -1 when the answer quotes no amount.
 *
 * The text. It is decoded as UTF-8 (a byte that does not start or continue a
 * valid sequence is one character U+FFFD: never skipped, so it can only make
 * the answer longer), then normalised for the checks: full-width digits,
 * letters, ￥ ％ ＋ ＠ ． become ASCII (¥ for ￥), ASCII letters lower case,
 * every blank (tab, newline, U+3000, U+00A0...) a space, zero-width
 * characters dropped. The full-width comma and colon stay what they are:
 * "原价120，现在100" is two amounts, "价格：80" is no time of day.
 *
 * Empty: nothing but blanks (and zero-width characters). Too long: more than
 * max_chars characters between the first and last non-blank one (then only
 * the first AG_ANSWER_MAX bytes, what the decision log keeps, are read for
 * lowest_fen: the guard is linear, about 2 ms for 8 KB).
 *
 * What counts as an amount (conservative: a number that may be a price is
 * one; guessing wrong costs one refused answer, never a sale below the floor):
 * - every number in digits ("58", "58.5", "1,280" (a comma before exactly
 *   three digits), full-width "５８", "5块5" = 5.5, "1.2k" "1.2w" "1千2"
 *   "1万2" "5百"), with or without a marker (¥ $ RMB/CNY before, 元 块 圆 米
 *   钱 毛 包邮 rmb after), unless it is clearly something else:
 *   . a unit is glued to it (天 小时 分钟 分 秒 个 件 次 年 月 日 号 岁 % 斤
 *     公斤 克 寸 英寸 核 代 台 部 张 期 倍 度 处 匹 点 (a time) 成/新 (a
 *     condition grade: 95新 9成新) ...; a word after a blank is the next
 *     clause's, "80 支持验机" is 80), or an ASCII unit (G GB TB mAh W V Hz,
 *     glued, or after a blank when longer than one letter: "128 GB");
 *   . ASCII letters are glued to it (RTX3060, 3C, 1TB, i7), or a model word
 *     and one blank stand before it ("iPhone 13", "Mate 60"; any other
 *     English word does not make it a model: "OK 70" is 70), or a brand is
 *     glued before it (小米13, 苹果12) - but a marker glued to it or ¥
 *     before it makes it money all the same (iPhone13元 is 13);
 *   . a time (10:30), a date (2024-05-01), an ordinal (第3), a version
 *     (1.2.3), a percentage (百分之八十, 90%), a length (1米8, 1米长, 5厘米,
 *     2尺2), a shipping cost (运费10元), a thing counted (一块电池), a
 *     phone's memory (8+256G, 12+512; 80+10 is two prices), a measure
 *     named before it (尺码42, 身高175, 出厂日期2023.10, 电池健康度95, 双11),
 *     part of a phone number (contact) or of a link.
 *   A range takes its unit from its end: "3-5天" is no price, "80-90元" is 80
 *   and 90.
 * - Chinese numerals (agent_cn_number): "五十八", "一百二" (120), "三百五"
 *   (350), "两千", "一万二", "八十点五", "五块五" (5.5), "八十八块八",
 *   "壹佰". A lone digit or unit character ("一下", "十分", "百搭", "三星")
 *   counts only with a money marker after it ("五块", "十块"), as a discount
 *   ("八折") or as a cut ("少五", not "便宜一点"); "三四百" (a rough range)
 *   counts as its lower end.
 * - discounts of the list price: "八折" "8.5折" "85折" "打七五折" (x0.8,
 *   x0.85, x0.75), "半价" "对折" (x0.5); cuts: "便宜20" "少二十" "减20"
 *   "再让10块" "优惠30" "让利30" "便宜10%" (price - amount; "便宜二三十"
 *   the bigger cut). With "到/成/为/价/是" before the number it is the price
 *   itself ("优惠到八十" = 80, "优惠价99"); with a blank between the cut word
 *   and the number ("更便宜 500元") both readings count. When the list price
 *   is unknown a discount gives no amount and a cut counts as the amount it
 *   names (20 for 便宜20: refused under any floor above it).
 * - giving it away: "免费" (not 免费包邮/运费免费/免费赠送...), "白送", "送你"
 *   (not 送你一个壳), "不要钱", "0元": 0, below any floor > 0.
 * Known limits: "不到100" counts as 100 (a bound, not a price); words in
 * another script ("seventy") are not read.
 *
 * Contact: mobile numbers (1[3-9] and 9 digits, in digits or Chinese digits,
 * in groups of 3+ digits split by blanks or dashes, +86/0086 before; not
 * when 元/块 follows: "减141 1514-1524元" is prices), landlines (0 and 9 to
 * 11 digits), 400/800 numbers, any run of 9+ digits; the words 微信 威信 薇信
 * V信 vx wx weixin wechat 加V ➕V v我 微我 加微 QQ Q号 扣扣 企鹅号 加我 加好友 私聊 联系方式
 * 手机号 我的号码 打我手机 电话 (not 电话功能/电话正常...) 邮箱 (not 包邮 箱)
 * telegram whatsapp (found in the text with blanks, - _ . * / | ~, symbols
 * and emoji removed, so 微 信, v-x and 威❤信 count, and in the text as
 * written, where ASCII ones must be whole words), e-mail addresses, links
 * (http, www., a name with a top level domain: shop.cn). The detail is masked ("phone
 * 138****5678", "number 12****89") or a class ("wechat", "qq", "email",
 * "link") or the word.
 *
 * Payment off the platform: 转账 支付宝 zfb alipay paypal 银行卡 微信支付 (and
 * 微信转/红包/收款/付: payment, not contact) 扫码 收款码 付款码 线下 私下 当面交易
 * 面交 不走平台/闲鱼 不用(走)平台/闲鱼 不通过平台 平台外 绕过平台 先款 打款 汇款 红包 现金
 * 转给我 转我 打钱 货到付款.
 *
 * Banned: each word of the list as an ASCII case-insensitive substring of
 * the answer as written; the detail is the word.
 */
#include "agent_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AG_BIG_FEN (INT64_C(1) << 50)  /* amounts saturate here (about 1.1e13 yuan) */
#define AG_SP ' '

/* The normalised text: code points, blanks as one space. */
typedef struct {
	uint32_t *c;
	size_t n;
} ag_txt;

/* Where amounts go: up to max in fen[], n counts them all, min the lowest. */
typedef struct {
	int64_t *fen;
	size_t max, n;
	int64_t min;
} ag_out;

/* Decodes one UTF-8 character at s (n > 0 bytes) into *cp; returns the
 * bytes used (>= 1). Invalid, overlong, surrogate or truncated sequences give
 * U+FFFD for one byte. */
static size_t ag_u8(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t k, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	if (n < k) {
		*cp = 0xfffd;
		return 1;
	}
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = c;
	return k;
}

/* 1 when c is a blank (ASCII white space, U+00A0, U+3000, U+2000..U+200A). */
static int ag_blank(uint32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0 || c == 0x3000 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x202f || c == 0x205f;
}

/* The normalised form of c (see the top comment); 0 to drop it. */
static uint32_t ag_norm(uint32_t c)
{
	if (ag_blank(c))
		return AG_SP;
	if ((c >= 0x200b && c <= 0x200d) || c == 0xfeff || c == 0x2060 || c == 0)
		return 0;
	if (c >= 0xff10 && c <= 0xff19)
		c -= 0xfee0;                           /* ０..９ */
	else if ((c >= 0xff21 && c <= 0xff3a) || (c >= 0xff41 && c <= 0xff5a))
		c -= 0xfee0;                           /* Ａ..ｚ */
	else if (c == 0xffe5 || c == 0xffe1)
		c = 0xa5;                              /* ￥ */
	else if (c == 0xff04 || c == 0xff05 || c == 0xff0b || c == 0xff0e || c == 0xff20)
		c -= 0xfee0;                           /* ＄ ％ ＋ ． ＠ */
	else if (c == 0x2795)
		c = '+';                               /* ➕ (➕V) */
	if (c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	return c;
}

/* Decodes and normalises text (len bytes) into t. 0, or -1 on no memory. */
static int ag_txt_make(ag_txt *t, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;
	uint32_t c;

	t->n = 0;
	t->c = malloc((len + 1) * sizeof *t->c);
	if (!t->c)
		return -1;
	while (i < len) {
		i += ag_u8(s + i, len - i, &c);
		c = ag_norm(c);
		if (!c || (c == AG_SP && t->n && t->c[t->n - 1] == AG_SP))
			continue;
		t->c[t->n++] = c;
	}
	return 0;
}

/* The character at i, 0 outside the text. */
static uint32_t ag_ch(const ag_txt *t, size_t i)
{
	return i < t->n ? t->c[i] : 0;
}

/* The character before i, 0 at the start. */
static uint32_t ag_prev(const ag_txt *t, size_t i)
{
	return i > 0 && i <= t->n ? t->c[i - 1] : 0;
}

static int ag_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

static int ag_alpha(uint32_t c)
{
	return c >= 'a' && c <= 'z';
}

/* 1 when the UTF-8 word w occurs in t at i; *end (may be NULL) gets the
 * index after it. */
static int ag_at(const ag_txt *t, size_t i, const char *w, size_t *end)
{
	const unsigned char *s = (const unsigned char *)w;
	size_t n = strlen(w), k = 0;
	uint32_t c;

	while (k < n) {
		k += ag_u8(s + k, n - k, &c);
		if (i >= t->n || t->c[i] != c)
			return 0;
		i++;
	}
	if (end)
		*end = i;
	return 1;
}

/* 1 when the UTF-8 word w ends in t right before i; *start gets its start. */
static int ag_ends(const ag_txt *t, size_t i, const char *w, size_t *start)
{
	const unsigned char *s = (const unsigned char *)w;
	size_t n = strlen(w), k = 0, m = 0, j;
	uint32_t c;

	while (k < n) {
		k += ag_u8(s + k, n - k, &c);
		m++;
	}
	if (m > i)
		return 0;
	j = i - m;
	if (!ag_at(t, j, w, NULL))
		return 0;
	if (start)
		*start = j;
	return 1;
}

/* The index of the first word of the NULL-terminated list found at i, -1. */
static int ag_at_any(const ag_txt *t, size_t i, const char *const *words, size_t *end)
{
	int k;

	for (k = 0; words[k]; k++)
		if (ag_at(t, i, words[k], end))
			return k;
	return -1;
}

/* The index of the first word of the list ending before i, -1. */
static int ag_ends_any(const ag_txt *t, size_t i, const char *const *words, size_t *start)
{
	int k;

	for (k = 0; words[k]; k++)
		if (ag_ends(t, i, words[k], start))
			return k;
	return -1;
}

/* 1 when c is one of the characters of the UTF-8 string set. */
static int ag_in(uint32_t c, const char *set)
{
	const unsigned char *s = (const unsigned char *)set;
	size_t n = strlen(set), k = 0;
	uint32_t d;

	while (k < n) {
		k += ag_u8(s + k, n - k, &d);
		if (c == d)
			return 1;
	}
	return 0;
}

/* The value of a Chinese digit character (零〇一二两三...九, 壹贰...玖, 幺), -1. */
static int ag_cn_digit(uint32_t c)
{
	static const char *const d[10] = {"零〇", "一壹幺", "二两贰貳兩", "三叁", "四肆",
					  "五伍", "六陆陸", "七柒", "八捌", "九玖"};
	int k;

	if (c < 0x3007)
		return -1;
	for (k = 0; k < 10; k++)
		if (ag_in(c, d[k]))
			return k;
	return -1;
}

/* The value of a Chinese unit character (十拾 百佰 千仟 万萬), 0. */
static int64_t ag_cn_unit(uint32_t c)
{
	if (ag_in(c, "十拾"))
		return 10;
	if (ag_in(c, "百佰"))
		return 100;
	if (ag_in(c, "千仟"))
		return 1000;
	if (ag_in(c, "万萬"))
		return 10000;
	return 0;
}

static int ag_cn_char(uint32_t c)
{
	return ag_cn_digit(c) >= 0 || ag_cn_unit(c) > 0;
}

/* a * b + c saturated at AG_BIG_FEN (all >= 0). */
static int64_t ag_mac(int64_t a, int64_t b, int64_t c)
{
	if (a && b > (AG_BIG_FEN - c) / a)
		return AG_BIG_FEN;
	return a * b + c;
}

/* Flags of a parsed Chinese numeral. */
#define AG_CN_WEAK 1     /* one character: a lone digit or unit */
#define AG_CN_MARK 2     /* it took a 块/元 (五块五) */
#define AG_CN_RANGE 4    /* a rough range (二三十): *fen its lower end, *hi its upper */

/* Parses a Chinese numeral at t[i] (see agent_cn_number): *fen, *end, *flags.
 * 0, or -1 when t[i] starts none. */
static int ag_cn_parse(const ag_txt *t, size_t i, int64_t *fen, size_t *end, int *flags, int64_t *hi)
{
	int64_t total = 0, section = 0, num = -1, lastunit = 0, strv = 0, u, yuan, extra = 0;
	size_t j = i, ndig = 0;
	int d, units = 0, zero = 0, after_unit = 0, f = 0;

	if (!ag_cn_char(ag_ch(t, i)))
		return -1;
	while (j < t->n) {
		uint32_t c = t->c[j];

		if ((d = ag_cn_digit(c)) >= 0) {
			if (num >= 0 && !units) {
				/* a digit string: 九五, 一三八... */
				strv = ag_mac(strv, 10, d);
				num = d;
				ndig++;
			} else if (num >= 0 && !zero) {
				break;         /* 三百五五: the number ended */
			} else {
				if (!units)
					strv = d;
				num = d;
				ndig++;
			}
			zero = d == 0 && units;
			after_unit = 0;
			j++;
			continue;
		}
		if ((u = ag_cn_unit(c)) > 0) {
			if (!units && ndig >= 2) {
				/* 三四百, 七八十: a rough range, its lower end */
				int64_t first = strv;

				while (first >= 10)
					first /= 10;
				if (strv % 10 > first && strv < 100)
					extra = (strv % 10 - first) * u;
				f |= AG_CN_RANGE;
				section = first * u;
				num = -1;
				ndig = 1;
				units = 1;
				lastunit = u;
				after_unit = 1;
				j++;
				continue;
			}
			if (u == 10000) {
				section += num > 0 ? num : (section || total ? 0 : 1);
				total = ag_mac(total + section, 10000, 0);
				section = 0;
			} else {
				if (lastunit && u >= lastunit && lastunit < 10000 && num < 0)
					break;     /* 百千: not one number */
				section += (num >= 0 ? num : 1) * u;
			}
			num = -1;
			units = 1;
			zero = 0;
			lastunit = u;
			after_unit = 1;
			j++;
			continue;
		}
		break;
	}
	if (!units && ndig >= 2) {
		yuan = strv;
	} else {
		if (num > 0 && after_unit == 0 && lastunit >= 100 && !zero && j >= 2 &&
		    ag_cn_unit(t->c[j - 2]) == lastunit)
			num *= lastunit / 10;   /* 三百五 = 350, 一万二 = 12000 */
		yuan = total + section + (num > 0 ? num : 0);
	}
	if (j - i == 1)
		f |= AG_CN_WEAK;
	*fen = ag_mac(yuan, 100, 0);
	*hi = ag_mac(yuan + extra, 100, 0);
	/* decimals: 点五, 点五八; 块五 / 元五 (one digit, tenths) */
	if (ag_ch(t, j) == 0x70b9 /* 点 */ && ag_cn_digit(ag_ch(t, j + 1)) >= 0) {
		*fen += ag_cn_digit(t->c[j + 1]) * 10;
		j += 2;
		if (ag_cn_digit(ag_ch(t, j)) >= 0)
			*fen += ag_cn_digit(t->c[j++]);
		while (ag_cn_digit(ag_ch(t, j)) >= 0)
			j++;
		f &= ~AG_CN_WEAK;
	} else if (ag_in(ag_ch(t, j), "块元") && ag_cn_digit(ag_ch(t, j + 1)) > 0 &&
		   ag_cn_digit(ag_ch(t, j + 2)) < 0 && !ag_cn_unit(ag_ch(t, j + 2))) {
		*fen += ag_cn_digit(t->c[j + 1]) * 10;
		*hi += ag_cn_digit(t->c[j + 1]) * 10;
		j += 2;
		f = AG_CN_MARK | (f & AG_CN_RANGE);
	}
	*fen = *fen > AG_BIG_FEN ? AG_BIG_FEN : *fen;
	*hi = *hi > AG_BIG_FEN ? AG_BIG_FEN : *hi;
	*end = j;
	*flags = f;
	return 0;
}

/* Parses the ASCII digits at t[i]: the integer part (with thousands commas),
 * decimals after "." or 点, a multiplier (k w 百 千 万, "1万2"), tenths after
 * 块/元 ("5块5"). *fen, *end; *odd set for a version ("1.2.3") or a date
 * ("2024-05-01"), which are no amounts. */
static void ag_num_parse(const ag_txt *t, size_t i, int64_t *fen, size_t *end, int *odd)
{
	int64_t v = 0, frac = 0, mult = 0;
	size_t j = i, k, nint = 0;
	int d;

	*odd = 0;
	while (ag_digit(ag_ch(t, j))) {
		v = ag_mac(v, 10, t->c[j] - '0');
		j++;
		nint++;
		/* 1,280: a comma before exactly three digits */
		if (ag_ch(t, j) == ',' && nint <= 3 && ag_digit(ag_ch(t, j + 1)) && ag_digit(ag_ch(t, j + 2)) &&
		    ag_digit(ag_ch(t, j + 3)) && !ag_digit(ag_ch(t, j + 4))) {
			j++;
			nint = 0;
		}
	}
	/* a date: 2024-05-01, 2024/5/1, 2024.05.01 */
	if (j - i == 4 && ag_in(ag_ch(t, j), "-/.")) {
		uint32_t sep = t->c[j];

		k = j + 1;
		while (ag_digit(ag_ch(t, k)) && k - j <= 2)
			k++;
		if (k > j + 1 && ag_ch(t, k) == sep && ag_digit(ag_ch(t, k + 1))) {
			k++;
			while (ag_digit(ag_ch(t, k)))
				k++;
			*odd = 1;
			*fen = 0;
			*end = k;
			return;
		}
	}
	if ((ag_ch(t, j) == '.' || ag_ch(t, j) == 0x70b9 /* 点 */) && ag_digit(ag_ch(t, j + 1))) {
		j++;
		for (k = 0; ag_digit(ag_ch(t, j)); j++, k++)
			if (k < 2)
				frac += (t->c[j] - '0') * (k ? 1 : 10);
		if (ag_ch(t, j) == '.' && ag_digit(ag_ch(t, j + 1))) {
			while (ag_digit(ag_ch(t, j)) || (ag_ch(t, j) == '.' && ag_digit(ag_ch(t, j + 1))))
				j++;
			*odd = 1;
		}
	}
	*fen = ag_mac(v, 100, frac);
	/* a multiplier: k w (alone, no letter after), 百 千 万 */
	if (ag_in(ag_ch(t, j), "kw") && !ag_alpha(ag_ch(t, j + 1)) &&
	    !(t->c[j] == 'w' && ag_at_any(t, j + 1, (const char *const[]){"快充", "充", "闪充", "功率", "电源",
								       "输出", "的充", "超级快充", NULL},
					 NULL) >= 0) &&
	    !(t->c[j] == 'k' && ag_at_any(t, j + 1, (const char *const[]){"屏", "分辨率", "高清", "视频", "显示",
								       "录像", "画质", NULL},
					 NULL) >= 0))
		mult = t->c[j] == 'k' ? 1000 : 10000;       /* not 65w快充: watts */
	else if (ag_cn_unit(ag_ch(t, j)) >= 100)
		mult = ag_cn_unit(t->c[j]);
	if (mult) {
		j++;
		*fen = ag_mac(*fen, mult, 0);
		/* 1万2千, 1万2, 1千2 */
		d = ag_digit(ag_ch(t, j)) ? (int)(t->c[j] - '0') : ag_cn_digit(ag_ch(t, j));
		if (d > 0 && ag_cn_unit(ag_ch(t, j + 1)) >= 100 && ag_cn_unit(t->c[j + 1]) < mult) {
			mult = ag_cn_unit(t->c[j + 1]);
			*fen = ag_mac(d, mult * 100, *fen);
			j += 2;
			d = ag_digit(ag_ch(t, j)) ? (int)(t->c[j] - '0') : ag_cn_digit(ag_ch(t, j));
		}
		if (d > 0 && !ag_digit(ag_ch(t, j + 1)) && ag_cn_digit(ag_ch(t, j + 1)) < 0 &&
		    !ag_cn_unit(ag_ch(t, j + 1)) && mult >= 100) {
			*fen = ag_mac(d, mult * 10, *fen);
			j++;
		}
	} else if (ag_in(ag_ch(t, j), "块元") && ag_digit(ag_ch(t, j + 1)) && !ag_digit(ag_ch(t, j + 2)) &&
		   !*odd && frac == 0) {
		/* 5块5 = 5.5; the marker stays for the judge */
		*fen += (t->c[j + 1] - '0') * 10;
		*end = j;
		*odd = 2;
		return;
	}
	if (*fen > AG_BIG_FEN)
		*fen = AG_BIG_FEN;
	*end = j;
}

/* Units after a number that make it no price. */
static const char *const ag_units[] = {
	"小时", "分钟", "分", "秒", "天", "个", "件", "次", "年", "月", "日", "号", "岁", "%",
	"斤", "公斤", "千克", "克", "英寸", "寸", "核", "代", "台", "部", "张", "页", "套", "只",
	"条", "周", "星期", "礼拜", "楼", "层", "期", "倍", "度", "遍", "种", "款", "色", "码",
	"箱", "瓶", "盒", "袋", "双", "副", "根", "颗", "粒", "片", "本", "辆", "间", "级", "集",
	"毫米", "厘米", "公里", "千米", "毫升", "升", "人", "位", "家", "成新", "新", "英尺", "点",
	"帧", "档", "针", "名", "组", "盘", "伏", "瓦", "尺", "处", "匹", "道", "毫安", "局", "场",
	"项", "份", "趟", "圈", "轮", "批", "公分", "平米", "平方", "平", "两", "摄像头", "镜头", NULL};

/* Words that start with a unit but are no unit: "80处理掉", "80只要", "80平台上拍". */
static const char *const ag_not_units[] = {
	"处理", "代购", "代发", "只要", "只能", "只有", "只是", "本来", "本人", "批发", "平台", "平价",
	"平时", "色的", "人民币", "道理", "期待", "期间", "度过", "分享", "分期", "点赞", "新的", "码上",
	"件事", "天天", NULL};

/* ASCII units (a whole word after the number). */
static const char *const ag_ascii_units[] = {
	"g", "gb", "t", "tb", "mb", "kb", "m", "mm", "cm", "km", "kg", "ml", "l", "mah", "ah",
	"w", "v", "hz", "khz", "mhz", "ghz", "p", "fps", "k", "x", "c", "th", "nd", "rd", "st",
	"pro", "max", "mini", "plus", "ultra", "se", "s", "e", "lite", "nm", "mp", "wh", "inch",
	"in", "min", "h", "d", "pcs", "pc", "a", "db", "bit", "core", "cores", "gen", "ti", NULL};

/* A thing after 块 that makes it a piece, not money (一块电池). */
static const char *const ag_pieces[] = {
	"电池", "屏", "表", "玻璃", "板", "砖", "石", "肉", "布", "膜", "硬盘", "内存", "主板",
	"显卡", "手表", "儿", "蛋糕", "糖", "木", "玉", "芯片", "镜", NULL};

/* Brands glued before a number make it a model (小米13). */
static const char *const ag_brands[] = {
	"小米", "红米", "苹果", "华为", "荣耀", "魅族", "一加", "三星", "索尼", "佳能", "尼康",
	"大疆", "联想", "戴尔", "惠普", "华硕", "小新", "拯救者", "机械革命", "酷睿", "锐龙",
	"骁龙", "天玑", "麒麟", "奔腾", NULL};

/* Labels glued before a number make it no price (型号13, 第3, 双11); after a
 * blank the number is the next clause's ("8+256G版本 758吧" is 758). */
static const char *const ag_labels[] = {"型号", "版本", "系列", "第", "#", "no.", "双", NULL};

/* What a number after one of these measures is no price (鞋码42, 身高175,
 * 出厂日期2023.10), glued or after a colon (after a blank it is the next
 * clause's: "2K分辨率 145包邮" is 145). */
static const char *const ag_specs[] = {
	"尺码", "鞋码", "衣码", "裤码", "身高", "体重", "腰围", "胸围", "臀围", "肩宽", "尺寸", "年龄",
	"日期", "年份", "内存", "容量", "像素", "跑分", "电量", "续航", "功率", "重量", "长度", "宽度",
	"高度", "厚度", "编号", "序列号", "页", "健康度", "健康", "效率", "循环", "分辨率", "刷新率",
	"版本号", "系统", "蓝牙", "安卓", "鸿蒙", NULL};

/* Words before a number that cut it off the price (便宜20 = price - 20). */
static const char *const ag_cuts[] = {
	"降价", "减价", "让价", "砍价", "让利", "少算", "少要", "便宜", "优惠", "立减", "少", "减", "让", "降", "砍", "抹",
	"省", "返", "扣", "打掉", NULL};

/* Particles between a cut word and its number (便宜了20, 让你10块). */
static const char *const ag_particles = "了你您再个收掉";

/* English words that may stand glued to a number without making it a model. */
static const char *const ag_words_ok[] = {"ok", "okay", "hi", "hello", "yes", "is", "only", "just", "price",
					  "rmb", "cny", "yuan", "emm", "em", "hh", "haha", NULL};

/* Model words: one of these and a blank before a number make it a model
 * name ("iPhone 13", "Mate 60"); any other word does not (conservative). */
static const char *const ag_models[] = {
	"iphone", "ipad", "ipod", "macbook", "imac", "airpods", "watch", "mate", "pro", "max", "plus",
	"ultra", "mini", "note", "galaxy", "redmi", "xiaomi", "mi", "huawei", "honor", "oppo", "vivo",
	"find", "reno", "nova", "pixel", "nokia", "rtx", "gtx", "rx", "ryzen", "core", "ps", "switch",
	"xbox", "series", "gen", "version", "ver", "v", "ios", "android", "win", "windows", "office",
	"model", "type", "no", "sony", "canon", "nikon", "dji", "osmo", "gopro", "hero", "kindle",
	"surface", "thinkpad", "legion", "lenovo", "dell", "hp", "asus", "air", "se", "lite", "edge",
	"fold", "flip", "a", "s", "k", "x", "p", "m", "z", "y", "t", "r", "g", "c", "e", "i",
	"usb", "hdmi", "wifi", "bluetooth", "ddr", "sata", "nvme", "pcie", "m2", "ipx", "ip", "level",
	"lv", "size", "page", "step", "top", "part", "vol", "ep", "season", "chapter", NULL};

/* The ASCII letter word that ends right before i (skipping at most one space
 * when spaced is set) into w (lower case, cut); 1 when there is one. */
static int ag_word_before(const ag_txt *t, size_t i, int spaced, char *w, size_t wn)
{
	size_t j = i, s, k;

	if (spaced) {
		if (ag_prev(t, j) != AG_SP)
			return 0;
		j--;
	}
	if (!ag_alpha(ag_prev(t, j)))
		return 0;
	s = j;
	while (s > 0 && ag_alpha(t->c[s - 1]))
		s--;
	/* "128g 1734": the letters are the unit of the number before; "qq.com
	 * 548": the end of an address */
	if (spaced && s > 0 && (ag_digit(t->c[s - 1]) || ag_in(t->c[s - 1], ".@:/")))
		return 0;
	for (k = 0; s + k < j && k + 1 < wn; k++)
		w[k] = (char)t->c[s + k];
	w[k] = '\0';
	return 1;
}

/* The ASCII letter word that starts at i into w; 1 when there is one. */
static int ag_word_at(const ag_txt *t, size_t i, char *w, size_t wn)
{
	size_t k = 0;

	if (!ag_alpha(ag_ch(t, i)))
		return 0;
	while (ag_alpha(ag_ch(t, i + k))) {
		if (k + 1 < wn)
			w[k] = (char)t->c[i + k];
		k++;
	}
	w[k + 1 < wn ? k : wn - 1] = '\0';
	return 1;
}

/* 1 when w (a NUL-terminated ASCII word) is in the list. */
static int ag_word_in(const char *w, const char *const *list)
{
	size_t k;

	for (k = 0; list[k]; k++)
		if (!strcmp(w, list[k]))
			return 1;
	return 0;
}

/* 1 when a cut word stands right before the number at s (便宜20, 少二十,
 * 让你10块), 2 when a blank parts them (it may be the price itself: "更便宜
 * 500元"); 0 when 到/成/为/至/价/是 makes it the price itself (优惠到八十). */
static int ag_cut_before(const ag_txt *t, size_t s)
{
	size_t j = s, w, p;
	int k, spaced = 0;

	while (ag_prev(t, j) == AG_SP) {
		j--;
		spaced = 1;
	}
	if (ag_ends_any(t, j, ag_cuts, &w) >= 0 && ag_in(ag_ch(t, j - 1), "价"))
		goto found;
	if (ag_in(ag_prev(t, j), "到成为至价是:：,，。!！~～"))
		return 0;
	for (p = 0; p < 3 && ag_in(ag_prev(t, j), ag_particles); p++) {
		if (ag_ends_any(t, j, ag_cuts, &w) >= 0)
			break;
		j--;
	}
	while (ag_prev(t, j) == AG_SP) {
		j--;
		spaced = 1;
	}
	if ((k = ag_ends_any(t, j, ag_cuts, &w)) < 0)
		return 0;
found:
	/* 最少 至少 多少 不少 很少 太少 最便宜: no cut */
	if (ag_in(ag_prev(t, w), "最至多不很太"))
		return 0;
	return spaced ? 2 : 1;
}

/* Adds one amount. */
static void ag_push(ag_out *o, int64_t fen)
{
	if (fen < 0)
		fen = 0;
	if (fen > AG_BIG_FEN)
		fen = AG_BIG_FEN;
	if (o->n < o->max)
		o->fen[o->n] = fen;
	o->n++;
	if (o->min < 0 || fen < o->min)
		o->min = fen;
}

/* The index after a number that starts at i (digits, . , 点, Chinese
 * numerals, k/w), for ranges. */
static size_t ag_skip_number(const ag_txt *t, size_t i)
{
	while (i < t->n && (ag_digit(t->c[i]) || ag_cn_char(t->c[i]) || t->c[i] == 0x70b9 ||
			    ((t->c[i] == '.' || t->c[i] == ',') && ag_digit(ag_ch(t, i + 1)))))
		i++;
	if (ag_in(ag_ch(t, i), "kw") && !ag_alpha(ag_ch(t, i + 1)))
		i++;
	return i;
}

/* The digits at t[s, e) as an integer (saturated), -1 when not all digits. */
static int64_t ag_int_at(const ag_txt *t, size_t s, size_t e)
{
	int64_t v = 0;

	if (s >= e)
		return -1;
	for (; s < e; s++) {
		if (!ag_digit(t->c[s]))
			return -1;
		v = v > 100000000 ? v : v * 10 + (t->c[s] - '0');
	}
	return v;
}

/* 1 when t[s, e) is either side of a phone's memory "8+256G" / "12+512"
 * (RAM 2..32 GB + storage 16..1024 GB or 1/2 TB). */
static int ag_ram_rom(const ag_txt *t, size_t s, size_t e)
{
	size_t b;
	int64_t ram, rom;

	if (ag_ch(t, e) == '+') {
		b = e + 1;
	} else if (ag_prev(t, s) == '+') {
		b = s;
		e = s - 1;
		for (s = e; s > 0 && ag_digit(t->c[s - 1]); s--)
			;
	} else {
		return 0;
	}
	ram = ag_int_at(t, s, e);
	for (e = b; ag_digit(ag_ch(t, e)); e++)
		;
	rom = ag_int_at(t, b, e);
	return ram >= 2 && ram <= 32 && (rom == 1 || rom == 2 || (rom >= 16 && rom <= 1024 && !(rom & (rom - 1))));
}

/* How a number is meant, from what stands around it. */
enum { AG_N_NONE, AG_N_ABS, AG_N_CUT, AG_N_DISC, AG_N_PCTCUT };

/* Judges the number t[s, e) of value v (fen) and adds what it means to o.
 * weak: a lone Chinese character (counts only with a marker); marked: a
 * money marker was inside it (五块五). Returns the index to go on from. */
static size_t ag_judge(const ag_txt *t, size_t s, size_t e, int64_t v, int64_t hi, int weak, int marked,
		       int64_t price, ag_out *o)
{
	size_t a = e, a0, x, b;
	int marker = marked, strong, kind = AG_N_ABS, cut = 0, glued;
	char w[32];
	uint32_t c;

	/* a range takes its unit from its end: 3-5天, 80到90元 */
	if (ag_in(ag_ch(t, a), "-~～到至") && (ag_digit(ag_ch(t, a + 1)) || ag_cn_char(ag_ch(t, a + 1))))
		a = ag_skip_number(t, a + 1);
	a0 = a;
	while (ag_ch(t, a) == AG_SP)
		a++;
	c = ag_ch(t, a);
	/* a time: 10:30 */
	if ((c == ':' && ag_digit(ag_ch(t, a + 1))) || (ag_prev(t, s) == ':' && ag_digit(ag_prev(t, s - 1))))
		return a0;
	/* money markers after */
	if (ag_in(c, "元圆钱毛角") || ag_at_any(t, a, (const char *const[]){"包邮", "人民币", "大洋", "刀", NULL}, NULL) >= 0 ||
	    (ag_in(c, "来多几余") && ag_in(ag_ch(t, a + 1), "块元钱圆")))   /* 百来块, 十多块 */
		marker = 1;
	else if (c == 0x5757 /* 块 */) {
		if (ag_at_any(t, a + 1, ag_pieces, NULL) >= 0)
			return a0;
		marker = 1;
	} else if (c == 0x7c73 /* 米 */) {
		/* a length: 1米长, 1米8 (a height, not 1.8 yuan) */
		if (ag_in(ag_ch(t, a + 1), "长宽高深远"))
			return a0;
		if (a == a0 && v < 1000 && (ag_digit(ag_ch(t, a + 1)) || ag_cn_digit(ag_ch(t, a + 1)) > 0))
			return a + 2;
		marker = 1;
	} else if (marked) {
		;                                   /* 五块五: money whatever follows */
	} else if (a == a0 && c == 0x6210 /* 成 */ && ag_ch(t, a + 1) != 0x4ea4 /* 交 */) {
		return a0;                           /* 9成新, 8成 */
	} else if (c == 0x6298 /* 折 */) {
		kind = AG_N_DISC;
	} else if (c == '%') {
		kind = ag_cut_before(t, s) ? AG_N_PCTCUT : AG_N_NONE;
		if (kind == AG_N_NONE)
			return a0;
	} else if (a == a0 && ag_at_any(t, a, ag_units, NULL) >= 0 && ag_at_any(t, a, ag_not_units, NULL) < 0) {
		/* a unit glued to it (one after a blank is the next clause's word) */
		return a0;
	} else if (ag_word_at(t, a, w, sizeof w)) {
		if (!strcmp(w, "rmb") || !strcmp(w, "cny") || !strcmp(w, "yuan") || !strcmp(w, "kuai"))
			marker = 1;
		else if (!ag_word_in(w, ag_words_ok) && (a == e || (strlen(w) > 1 && ag_word_in(w, ag_ascii_units))))
			return a0;                   /* glued letters: 1tb, 3c; 128 gb (not "446 v信") */
	}
	/* before it; a marker glued to it (or ¥ before it) beats a model name,
	 * one after a blank does not ("小米13 包邮") */
	strong = marked || (marker && a == a0);
	b = s;
	if (ag_prev(t, b) == AG_SP)
		b--;
	if (ag_prev(t, b) == 0xa5 || ag_prev(t, b) == '$')
		marker = strong = 1;
	if (kind == AG_N_ABS && ((glued = ag_word_before(t, s, 0, w, sizeof w)) ||
				 ag_word_before(t, s, 1, w, sizeof w))) {
		size_t wl = strlen(w);

		if (wl >= 3 && (!strcmp(w + wl - 3, "rmb") || !strcmp(w + wl - 3, "cny")))
			marker = strong = 1;
		else if (!strong && (glued ? !ag_word_in(w, ag_words_ok) : ag_word_in(w, ag_models)))
			return a0;                   /* rtx3060, iphone 13 */
	}
	/* 8+256G, 12+512: memory, not two prices (80+10 is); 2尺2: the rest of a measure */
	if (ag_ram_rom(t, s, e) || (!strong && ag_in(ag_prev(t, s), "尺寸斤")))
		return a0;
	if (!strong) {
		size_t k = s;

		if (ag_in(ag_prev(t, k), ":："))
			k--;
		if (ag_ends_any(t, k, ag_specs, NULL) >= 0)
			return a0;
	}
	/* what shipping costs is not the thing's price: 运费10元 */
	if (ag_ends_any(t, b, (const char *const[]){"运费", "邮费", "快递费", "运费是", "邮费是", NULL}, NULL) >= 0)
		return a0;
	if (!strong && (ag_ends_any(t, s, ag_brands, NULL) >= 0 || ag_ends_any(t, b, ag_brands, NULL) >= 0 ||
			ag_ends_any(t, s, ag_labels, NULL) >= 0 ||
			ag_prev(t, s) == 0xd7 /* × */ ||
			ag_ends(t, s, "百分之", NULL)))
		return a0;
	if (kind == AG_N_ABS && (cut = ag_cut_before(t, s)))
		kind = AG_N_CUT;
	/* a lone character counts with a marker, as a discount, or as a cut
	 * (少五, not 便宜一点 / 少一些 / 让一下) */
	if (weak && !marker && kind != AG_N_DISC && (kind != AG_N_CUT || ag_in(ag_ch(t, e), "点些下个丢半")))
		return a0;
	switch (kind) {
	case AG_N_DISC:
		/* 八折 = x0.8, 8.5折 = x0.85, 85折 = x0.85; no amount without the price */
		if (price >= 0 && v > 0 && v <= 1000)
			ag_push(o, price / 1000 * v + price % 1000 * v / 1000);
		else if (price >= 0 && v > 1000 && v < 10000)
			ag_push(o, price / 10000 * v + price % 10000 * v / 10000);
		return a + 1;
	case AG_N_PCTCUT:
		if (price >= 0)
			ag_push(o, v >= 10000 ? 0 : price / 10000 * (10000 - v) + price % 10000 * (10000 - v) / 10000);
		return a + 1;
	case AG_N_CUT:
		/* 便宜二三十: the bigger cut */
		ag_push(o, price >= 0 ? price - (hi > v ? hi : v) : v);
		if (cut == 2)
			ag_push(o, v);          /* "更便宜 500元": a cut or the price, the lower counts */
		break;
	default:
		ag_push(o, v);
	}
	x = e;
	return x;
}

/* Words that give the thing away (0), with what makes them mean something
 * else after (免费包邮) or before (运费免费). */
static int ag_free_at(const ag_txt *t, size_t i, size_t *end)
{
	static const char *const free_after[] = {"包邮", "邮", "送货", "配送", "上门", "退", "换", "保修",
						 "维修", "鉴定", "验", "安装", "咨询", "试", "寄", "发货", "运",
						 "贴膜", "清洁", "赠", "送一", "送个", "送两", "送你一", "送你个", "送您一",
						 NULL};
	static const char *const free_before[] = {"运费", "邮费", "快递", "退换", "保修", "维修", "鉴定",
						  "邮寄", "配送", "上门", "运输", "安装", NULL};
	static const char *const gift[] = {"一", "两", "几", "个", "点", "些", "张", "件", "只", "条",
					   "套", "副", "根", "块", "瓶", "盒", "包", "份", "双", NULL};
	size_t e;

	if (ag_at(t, i, "白送", end) || ag_at(t, i, "不要钱", end) || ag_at(t, i, "不收钱", end))
		return 1;
	if (ag_at(t, i, "免费", &e)) {
		*end = e;
		while (ag_ch(t, e) == AG_SP)
			e++;
		return ag_at_any(t, e, free_after, NULL) < 0 && ag_ends_any(t, i, free_before, NULL) < 0;
	}
	if (ag_at(t, i, "送你", &e) || ag_at(t, i, "送给你", &e) || ag_at(t, i, "送您", &e)) {
		*end = e;
		return ag_at_any(t, e, gift, NULL) < 0 && !ag_digit(ag_ch(t, e));
	}
	return 0;
}

/* Phone numbers and long digit runs (contact). */
enum { AG_PH_NONE, AG_PH_MOBILE, AG_PH_LAND, AG_PH_LONG };

/* The digit (ASCII or a Chinese digit but 两) at i, -1. */
static int ag_ph_digit(const ag_txt *t, size_t i)
{
	uint32_t c = ag_ch(t, i);

	if (ag_digit(c))
		return (int)(c - '0');
	if (c == 0x4e24 || c == 0x5169)   /* 两 兩 */
		return -1;
	return ag_cn_digit(c);
}

/* A phone number (or a long digit run) starting at i: its kind, *end, its
 * digits in dg (24 bytes; a mobile number's 11, a landline's, or for a long
 * run its first two and last two). Groups may be split by one blank or dash
 * ("138 1234 5678", "+86 138-1234-5678"); the shortest run of groups that
 * makes a number counts, so "打13812345678 2063rmb" leaves 2063 alone. */
static int ag_phone(const ag_txt *t, size_t i, size_t *end, char *dg)
{
	size_t j = i, nd = 0, g = 0, k, gend[6], gcnt[6], first = 0;
	char last2[2] = {'0', '0'}, first2[2] = {'0', '0'};
	int d, ascii;

	/* not inside a number: 3,143 / 1.5 / 二百零九 */
	if (ag_ph_digit(t, i) < 0 || (i > 0 && ag_ph_digit(t, i - 1) >= 0) || ag_cn_unit(ag_prev(t, i)) ||
	    (ag_in(ag_prev(t, i), ",.") && ag_digit(ag_prev(t, i - 1))))
		return AG_PH_NONE;
	ascii = ag_digit(t->c[i]);
	while (g < 6) {
		size_t run = 0;

		/* one kind of digits: 138 1234 5678 or 一三八一二三四五六七八 */
		while ((d = ag_ph_digit(t, j)) >= 0 && ag_digit(t->c[j]) == ascii) {
			if (nd < 23)
				dg[nd] = (char)('0' + d);
			nd++;
			run++;
			j++;
			if (g == 0) {
				last2[0] = last2[1];
				last2[1] = (char)('0' + d);
			}
		}
		gend[g] = j;
		gcnt[g] = nd;
		if (g++ == 0)
			first = run;
		/* the next group: 3 digits at least (not the 05 of 2024-05-01) */
		if ((ag_ch(t, j) == AG_SP || ag_ch(t, j) == '-') && ag_ph_digit(t, j + 1) >= 0 &&
		    ag_digit(t->c[j + 1]) == ascii &&
		    ag_ph_digit(t, j + 2) >= 0 && ag_ph_digit(t, j + 3) >= 0) {
			j++;
			continue;
		}
		break;
	}
	for (k = 0; k < g && gcnt[k] <= 23; k++) {
		size_t c = gcnt[k], off = 0;

		/* "减141 1514-1524元": what a money marker follows is prices */
		if (ag_in(ag_ch(t, gend[k]), "元块圆"))
			break;

		if (c == 13 && !strncmp(dg, "86", 2))
			off = 2;
		if (c == 15 && !strncmp(dg, "0086", 4))
			off = 4;
		*end = gend[k];
		if (c - off == 11 && dg[off] == '1' && dg[off + 1] >= '3' && dg[off + 1] <= '9') {
			memmove(dg, dg + off, 11);
			dg[11] = '\0';
			return AG_PH_MOBILE;
		}
		if ((c >= 10 && c <= 12 && dg[0] == '0' && dg[1] != '0') ||
		    (c == 10 && (!strncmp(dg, "400", 3) || !strncmp(dg, "800", 3)))) {
			dg[c] = '\0';
			return AG_PH_LAND;
		}
	}
	if (first >= 9) {
		first2[0] = dg[0];
		first2[1] = dg[1];
		memcpy(dg, first2, 2);
		memcpy(dg + 2, last2, 2);
		dg[4] = '\0';
		*end = gend[0];
		return AG_PH_LONG;
	}
	return AG_PH_NONE;
}

/* Scans t for amounts into o (the money part of the top comment). */
static void ag_scan(const ag_txt *t, int64_t price, ag_out *o)
{
	size_t i = 0, e;
	int64_t v, hi;
	int fl, odd;
	char dg[24];

	while (i < t->n) {
		uint32_t c = t->c[i];

		if (ag_phone(t, i, &e, dg) != AG_PH_NONE) {
			i = e;
			continue;
		}
		if (ag_free_at(t, i, &e)) {
			ag_push(o, 0);
			i = e;
			continue;
		}
		if (ag_at(t, i, "半价", &e) || ag_at(t, i, "对折", &e)) {
			if (price >= 0)
				ag_push(o, price / 2);
			i = e;
			continue;
		}
		if (ag_digit(c)) {
			ag_num_parse(t, i, &v, &e, &odd);
			if (odd == 1) {
				i = e;
				continue;
			}
			i = ag_judge(t, i, e, v, v, 0, 0, price, o);
			if (odd == 2 && i < e + 2)
				i = e + 2;     /* past 块5 */
			if (i < e)
				i = e;
			continue;
		}
		if (ag_cn_char(c) && !ag_cn_parse(t, i, &v, &e, &fl, &hi)) {
			i = ag_judge(t, i, e, v, hi, fl & AG_CN_WEAK, fl & AG_CN_MARK, price, o);
			if (i < e)
				i = e;
			continue;
		}
		i++;
	}
}

/* The amounts of text in order (agent_int.h); returns how many there were,
 * 0 also on no memory. */
size_t agent_money_scan(const char *text, int64_t price_fen, int64_t *fen, size_t max)
{
	ag_txt t;
	ag_out o = {fen, fen ? max : 0, 0, -1};

	if (!text || ag_txt_make(&t, text, strlen(text)))
		return 0;
	ag_scan(&t, price_fen, &o);
	free(t.c);
	return o.n;
}

/* A Chinese numeral at s (agent_int.h; its first 64 characters at most):
 * 0 with *fen and *used, or -1. */
int agent_cn_number(const char *s, size_t len, int64_t *fen, size_t *used)
{
	uint32_t cps[64];
	size_t offs[65], k = 0, b = 0, end;
	ag_txt t = {cps, 0};
	int fl;
	int64_t hi;

	if (!s)
		return -1;
	while (b < len && k < 64) {
		uint32_t c;
		size_t n = ag_u8((const unsigned char *)s + b, len - b, &c);

		offs[k] = b;
		cps[k++] = ag_norm(c) ? ag_norm(c) : 0xfffd;
		b += n;
	}
	offs[k] = b;
	t.n = k;
	if (ag_cn_parse(&t, 0, fen, &end, &fl, &hi))
		return -1;
	if (used)
		*used = offs[end];
	return 0;
}

/* "80", "80.5", "¥80", "80 元" into fen (two decimals at most, below 1e11
 * yuan, blanks around); 0, or -1 for anything else. */
int agent_yuan_parse(const char *s, int64_t *fen)
{
	int64_t v = 0, f = 0;
	size_t nd = 0, nf = 0;

	if (!s)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!strncmp(s, "¥", 2))
		s += 2;
	else if (!strncmp(s, "￥", 3))
		s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9'; s++, nd++) {
		if (v > INT64_C(100000000000))
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, nf++) {
			if (nf >= 2)
				return -1;
			f += (*s - '0') * (nf ? 1 : 10);
		}
		if (!nf)
			return -1;
	}
	if (!nd)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!strncmp(s, "元", 3) || !strncmp(s, "块", 3))
		s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s)
		return -1;
	*fen = v * 100 + f;
	return 0;
}

/* fen as "80.50" ("-0.50" below zero) into buf; returns buf. */
char *agent_yuan_fmt(int64_t fen, char *buf, size_t n)
{
	uint64_t a = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;

	snprintf(buf, n, "%s%llu.%02llu", fen < 0 ? "-" : "", (unsigned long long)(a / 100),
		 (unsigned long long)(a % 100));
	return buf;
}

/* The verdict's name as the decision log writes it; "unknown" out of range. */
const char *agent_verdict_name(int verdict)
{
	static const char *const names[] = {"ok", "empty", "too_long", "below_floor", "contact", "payment",
					    "banned"};

	if (verdict < 0 || verdict > AG_V_BANNED)
		return "unknown";
	return names[verdict];
}

/* Contact words: the text to find (in the squeezed text) and the detail. */
static const struct {
	const char *w, *detail;
	int ascii;                  /* a whole ASCII word */
} ag_contacts[] = {
	{"微信", "wechat", 0}, {"威信", "wechat", 0}, {"薇信", "wechat", 0}, {"v信", "wechat", 0},
	{"微x", "wechat", 0}, {"vx", "wechat", 1}, {"wx", "wechat", 1}, {"weixin", "wechat", 1},
	{"wechat", "wechat", 1}, {"加v", "wechat", 2}, {"加微", "wechat", 0}, {"+v", "wechat", 2},
	{"qq", "qq", 1}, {"扣扣", "qq", 0}, {"企鹅号", "qq", 0}, {"加企鹅", "qq", 0},
	{"加我", "加我", 0}, {"私聊", "私聊", 0}, {"联系方式", "联系方式", 0}, {"手机号", "手机号", 0},
	{"电话", "电话", 0}, {"邮箱", "email", 3}, {"tel", "电话", 1}, {"telegram", "telegram", 1},
	{"whatsapp", "whatsapp", 1}, {"q号", "qq", 0}, {"加好友", "加好友", 0}, {"加个好友", "加好友", 0},
	{"打我手机", "电话", 0}, {"我的号码", "电话", 0}, {"v我", "wechat", 0}, {"微我", "wechat", 0},
	{NULL, NULL, 0}};

/* Payment words (squeezed text). */
static const char *const ag_payments[] = {
	"微信支付", "微信转", "微信红包", "微信收款", "微信付", "转账", "支付宝", "alipay", "银行卡",
	"扫码", "收款码", "付款码", "线下", "私下", "当面交易", "面交", "不走平台", "平台外", "绕过平台",
	"绕开平台", "先款", "打款", "汇款", "红包", "现金", "转给我", "转我", "打钱", "货到付款", "不走闲鱼",
	"不用走平台", "不用走闲鱼", "不用平台", "不通过平台", "不用闲鱼", "paypal", NULL};

/* Top level domains of a link. */
static const char *const ag_tlds[] = {"com", "cn", "net", "org", "cc", "io", "me", "top", "xyz", "vip",
				      "info", "co", "tv", "link", "site", "shop", "club", "ltd", "app", NULL};

/* A copy of t without blanks, - _ . * / | · ~ and symbols or emoji (for
 * words split to slip through: 微 信, v-x, 威❤信). 0, or -1 on no memory. */
static int ag_squeeze(const ag_txt *t, ag_txt *q)
{
	size_t i;

	q->n = 0;
	q->c = malloc((t->n + 1) * sizeof *q->c);
	if (!q->c)
		return -1;
	for (i = 0; i < t->n; i++) {
		uint32_t c = t->c[i];

		/* and symbols and emoji: 威❤信 */
		if (ag_in(c, " -_.*/|·・'\"`~") || (c >= 0x2190 && c <= 0x2bff) || (c >= 0x1f000 && c <= 0x1faff) ||
		    c == 0xfe0f)
			continue;
		q->c[q->n++] = c;
	}
	return 0;
}

/* Links and e-mail addresses in t; 1 with detail set. */
static int ag_link(const ag_txt *t, char *detail, size_t dn)
{
	size_t i, j, e;
	char w[16];

	for (i = 0; i < t->n; i++) {
		if (ag_at(t, i, "http://", NULL) || ag_at(t, i, "https://", NULL) ||
		    (ag_at(t, i, "www.", NULL) && !ag_alpha(ag_prev(t, i)))) {
			snprintf(detail, dn, "link");
			return 1;
		}
		if (t->c[i] == '@' && (ag_alpha(ag_prev(t, i)) || ag_digit(ag_prev(t, i)))) {
			for (j = i + 1; ag_alpha(ag_ch(t, j)) || ag_digit(ag_ch(t, j)) || ag_ch(t, j) == '-'; j++)
				;
			if (j > i + 1 && ag_ch(t, j) == '.' && ag_alpha(ag_ch(t, j + 1))) {
				snprintf(detail, dn, "email");
				return 1;
			}
		}
		/* name.tld: letters or digits, a dot, a known top level domain */
		if (t->c[i] == '.' && (ag_alpha(ag_prev(t, i)) || ag_digit(ag_prev(t, i))) &&
		    ag_word_at(t, i + 1, w, sizeof w) && ag_word_in(w, ag_tlds)) {
			for (e = i + 1; ag_alpha(ag_ch(t, e)); e++)
				;
			if (!ag_digit(ag_ch(t, e))) {
				for (j = i; j > 0 && (ag_alpha(t->c[j - 1]) || ag_digit(t->c[j - 1]) ||
						      t->c[j - 1] == '-'); j--)
					;
				/* a name with at least one letter: not 58.com... 1.5.cn is no site either */
				while (j < i && !ag_alpha(t->c[j]))
					j++;
				if (j < i) {
					snprintf(detail, dn, "link");
					return 1;
				}
			}
		}
	}
	return 0;
}

/* A contact word in x (the text itself when plain, else its squeezed
 * copy): 1 with detail set. */
static int ag_contact_word(const ag_txt *x, int plain, char *detail, size_t dn)
{
	size_t i, e;
	int k;

	for (i = 0; i < x->n; i++)
		for (k = 0; ag_contacts[k].w; k++) {
			if (!ag_at(x, i, ag_contacts[k].w, &e))
				continue;
			if (ag_contacts[k].ascii == 1 && (ag_alpha(ag_prev(x, i)) || ag_alpha(ag_ch(x, e))))
				continue;
			if (ag_contacts[k].ascii == 2 && ag_alpha(ag_ch(x, e)))
				continue;
			/* 邮箱 only as written, and not 包邮箱 ("包邮 箱说全") */
			if (ag_contacts[k].ascii == 3 && (!plain || ag_ends(x, i, "包", NULL)))
				continue;
			/* 电话 of a phone that works is no number to call */
			if (!strcmp(ag_contacts[k].w, "电话") &&
			    ag_at_any(x, e, (const char *const[]){"功能", "正常", "没问题", "卡", "音质", "清晰", NULL},
				      NULL) >= 0)
				continue;
			/* 微信支付 and the like are payment */
			if (k == 0 && ag_at_any(x, e, (const char *const[]){"支付", "转", "红包", "收款", "付", NULL},
						NULL) >= 0)
				continue;
			snprintf(detail, dn, "%s", ag_contacts[k].detail);
			return 1;
		}
	return 0;
}

/* The contact check: 1 with detail set (masked). The words are looked for
 * in the squeezed text (微 信, v-x) and in the text itself (where blanks
 * still part ASCII words: "2019rmb weixin"). */
static int ag_contact(const ag_txt *t, const ag_txt *q, char *detail, size_t dn)
{
	size_t i, e;
	char dg[24];
	int kind;

	for (i = 0; i < t->n; i++) {
		kind = ag_phone(t, i, &e, dg);
		if (kind == AG_PH_NONE)
			continue;
		if (kind == AG_PH_LONG) {
			snprintf(detail, dn, "number %.2s****%s", dg, dg + 2);
			return 1;
		}
		snprintf(detail, dn, "%s %.*s****%s", kind == AG_PH_MOBILE ? "phone" : "landline",
			 kind == AG_PH_MOBILE ? 3 : (dg[1] == '1' || dg[1] == '2' ? 3 : 4), dg,
			 dg + strlen(dg) - 4);
		return 1;
	}
	if (ag_link(t, detail, dn))
		return 1;
	return ag_contact_word(q, 0, detail, dn) || ag_contact_word(t, 1, detail, dn);
}

/* The payment words in x (the squeezed text, then the text itself, as for
 * contact): 1 with detail set. */
static int ag_payment(const ag_txt *q, char *detail, size_t dn)
{
	size_t i, e;
	int k;

	for (i = 0; i < q->n; i++)
		if ((k = ag_at_any(q, i, ag_payments, &e)) >= 0) {
			if (ag_alpha(ag_ch(q, i)) && (ag_alpha(ag_prev(q, i)) || ag_alpha(ag_ch(q, e))))
				continue;
			snprintf(detail, dn, "%s", ag_payments[k]);
			return 1;
		}
	for (i = 0; i + 2 < q->n; i++)
		if (ag_at(q, i, "zfb", &e) && !ag_alpha(ag_prev(q, i)) && !ag_alpha(ag_ch(q, e))) {
			snprintf(detail, dn, "zfb");
			return 1;
		}
	return 0;
}

/* 1 when word (ASCII letters compared case-insensitively) is in text. */
static int ag_has_word(const char *text, const char *word)
{
	size_t n = strlen(word), i, k;

	if (!n)
		return 0;
	for (i = 0; text[i]; i++) {
		for (k = 0; k < n; k++) {
			unsigned char a = (unsigned char)text[i + k], b = (unsigned char)word[k];

			if (a >= 'A' && a <= 'Z')
				a += 'a' - 'A';
			if (b >= 'A' && b <= 'Z')
				b += 'a' - 'A';
			if (a != b)
				break;
		}
		if (k == n)
			return 1;
	}
	return 0;
}

/* The characters of text between its first and last non-blank one. */
static size_t ag_chars(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text), i = 0, n = 0, last = 0;
	uint32_t c;
	int started = 0;

	while (i < len) {
		i += ag_u8(s + i, len - i, &c);
		if (ag_blank(c)) {
			if (started)
				n++;
			continue;
		}
		started = 1;
		n++;
		last = n;
	}
	return last;
}

/* Judges answer (the checks in the order of the top comment); returns and
 * fills v. Without the memory to judge it, nothing passes (too_long, "no
 * memory"). */
int agent_guard(const ag_guard_in *g, const char *answer, ag_verdict *v)
{
	ag_txt t, q;
	ag_out o = {NULL, 0, 0, -1};
	size_t chars = 0, len = 0, i;
	char y[32];

	v->verdict = AG_V_OK;
	v->lowest_fen = -1;
	v->detail[0] = '\0';
	if (answer) {
		len = strlen(answer);
		chars = ag_chars(answer);
		/* too long anyway: the amounts of what the decision log keeps (the
		 * first AG_ANSWER_MAX bytes), and no time spent on the rest */
		if (g->max_chars > 0 && chars > (size_t)g->max_chars && len > AG_ANSWER_MAX)
			len = AG_ANSWER_MAX;
	}
	if (!answer || ag_txt_make(&t, answer, len)) {
		/* no text, or no memory to judge it: nothing goes out */
		v->verdict = answer ? AG_V_TOO_LONG : AG_V_EMPTY;
		snprintf(v->detail, sizeof v->detail, "%s", answer ? "no memory" : "");
		return v->verdict;
	}
	if (t.n == 0 || (t.n == 1 && t.c[0] == AG_SP)) {
		free(t.c);
		return v->verdict = AG_V_EMPTY;
	}
	ag_scan(&t, g->price_fen, &o);
	v->lowest_fen = o.min;
	if (g->max_chars > 0 && chars > (size_t)g->max_chars) {
		v->verdict = AG_V_TOO_LONG;
		snprintf(v->detail, sizeof v->detail, "%zu>%lld", chars, (long long)g->max_chars);
		goto out;
	}
	if (g->floor_fen >= 0 && o.min >= 0 && o.min < g->floor_fen) {
		v->verdict = AG_V_BELOW_FLOOR;
		if (o.min % 100)
			snprintf(v->detail, sizeof v->detail, "%s元", agent_yuan_fmt(o.min, y, sizeof y));
		else
			snprintf(v->detail, sizeof v->detail, "%lld元", (long long)(o.min / 100));
		goto out;
	}
	if (ag_squeeze(&t, &q)) {
		v->verdict = AG_V_TOO_LONG;
		snprintf(v->detail, sizeof v->detail, "no memory");
		goto out;
	}
	if (ag_contact(&t, &q, v->detail, sizeof v->detail))
		v->verdict = AG_V_CONTACT;
	else if (ag_payment(&q, v->detail, sizeof v->detail) || ag_payment(&t, v->detail, sizeof v->detail))
		v->verdict = AG_V_PAYMENT;
	else
		for (i = 0; i < g->nbanned; i++)
			if (g->banned[i] && ag_has_word(answer, g->banned[i])) {
				v->verdict = AG_V_BANNED;
				snprintf(v->detail, sizeof v->detail, "%.100s", g->banned[i]);
				break;
			}
	free(q.c);
out:
	free(t.c);
	return v->verdict;
}
