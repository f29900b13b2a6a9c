/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_agent_guard.c - plugins/agent/agent_guard.c, linked
 * directly (pure functions): a table of real-looking model answers with the
 * verdict and the lowest amount each must get (every form of a price in
 * digits and Chinese numerals, discounts and cuts, giving it away, contact,
 * payment off the platform, banned words, length, and the traps that are no
 * price: iPhone 13, 2个小时, 7天无理由, 95新, 9成新, 1TB, 3C认证...); the
 * Chinese numerals, the yuan parser and formatter; and the property test of
 * issue 23: 1000 random answers built from fragments whose meaning the
 * generator knows, none of which may pass when it quotes below the floor,
 * holds a contact or a payment off the platform. The seed is printed;
 * SK_SEED=<n> repeats a run. The false positives (fine answers refused) are
 * printed, not asserted.
 */
#include "tap.h"

#include "agent/agent_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define Y(x) ((int64_t)(x) * 100)
#define NONE (-1)

typedef struct {
	const char *answer;
	int64_t floor_fen, price_fen;
	int verdict;
	int64_t lowest;
	const char *detail;         /* NULL: not checked */
} gcase;

static const char *const banned[] = {"闲鱼币", "ABC"};

/* Answers against a floor of 80 and a price of 100 unless said otherwise. */
static const gcase cases[] = {
	/* digits, with and without markers */
	{"最低88出", Y(80), Y(100), AG_V_OK, Y(88), ""},
	{"88包邮哦亲", Y(80), Y(100), AG_V_OK, Y(88), NULL},
	{"58元", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), "58元"},
	{"58.5元可以的", Y(80), Y(100), AG_V_BELOW_FLOOR, 5850, "58.50元"},
	{"这个最低1,280了", Y(1000), Y(1500), AG_V_OK, Y(1280), NULL},
	{"最低1,080", Y(1200), Y(1500), AG_V_BELOW_FLOOR, Y(1080), NULL},
	{"５８元给你", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"¥58", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"￥58 包邮", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"58块拿走", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"58圆", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"58米给你吧", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"RMB58", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"58rmb", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"rmb 58 ok", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"那就58吧", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"给你算90吧", Y(80), Y(100), AG_V_OK, Y(90), NULL},
	{"包邮价99", Y(80), Y(100), AG_V_OK, Y(99), NULL},
	{"原价120，现在100", Y(80), Y(120), AG_V_OK, Y(100), NULL},
	{"原价120，现在70", Y(80), Y(120), AG_V_BELOW_FLOOR, Y(70), "70元"},
	{"80-90元都行", Y(85), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"5块5", Y(8), Y(10), AG_V_BELOW_FLOOR, 550, "5.50元"},
	{"最低80", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	{"最少80", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	{"至少75吧", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(75), NULL},
	{"便宜给你80", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	{"OK 70", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"this one 70", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"华为Mate 60", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"就收你六十吧", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(60), NULL},
	{"一口价60", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(60), NULL},
	{"六七十", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(60), NULL},
	{"60多", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(60), NULL},
	{"陆拾元", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(60), NULL},
	{"打个8折后80", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	{"降到六十", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(60), NULL},
	{"60 yuan", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(60), NULL},
	{"1米8的床", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"空调1.5匹", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"屏幕有1处划痕", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"便宜二三十", Y(75), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"让利30元", Y(75), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"少算30", Y(75), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"加运费10元共80", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	{"免费送你一个壳", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"免费赠送贴膜", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"8+256G版本", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"12+512", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"80+10运费", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(10), NULL},
	{"去年双11买的", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"鞋码42", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"尺码：42", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"价格：42", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(42), NULL},
	{"起码70", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"腰围2尺2", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"身高175可以穿", Y(200), Y(300), AG_V_OK, NONE, NULL},
	{"出厂日期2023.10", Y(3000), Y(4000), AG_V_OK, NONE, NULL},
	{"2K分辨率", Y(3000), Y(4000), AG_V_OK, NONE, NULL},
	{"换电池80块", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"8+256G版本 758吧", Y(800), Y(1000), AG_V_BELOW_FLOOR, Y(758), NULL},
	{"屏幕2K分辨率 145 包邮", Y(150), Y(200), AG_V_BELOW_FLOOR, Y(145), NULL},
	{"80 支持验机", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"七十 箱说全", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"80个", Y(90), Y(100), AG_V_OK, NONE, NULL},
	{"您看99行不行", Y(100), Y(119), AG_V_BELOW_FLOOR, Y(99), NULL},
	{"80支持验机", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"80处理掉", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"就80只能这样了", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"80平台上拍", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"80人民币", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"80刀", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"80对吧", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"80样子", Y(90), Y(100), AG_V_BELOW_FLOOR, Y(80), NULL},
	{"身高160-170、体重100-120斤", Y(200), Y(300), AG_V_OK, NONE, NULL},
	{"蓝牙5.3", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"百来块", Y(150), Y(200), AG_V_BELOW_FLOOR, Y(100), NULL},
	{"十多块", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(10), NULL},
	/* known false positives (refused, on the safe side): the buyer's offer
	 * repeated, a promotion of a second item */
	{"您出的85太低了，最多只能让到98", Y(90), Y(119), AG_V_BELOW_FLOOR, Y(85), NULL},
	{"第二件半价哦", Y(90), Y(119), AG_V_BELOW_FLOOR, 5950, NULL},
	{"80成交吗", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	/* multipliers */
	{"1千2", Y(1500), Y(2000), AG_V_BELOW_FLOOR, Y(1200), NULL},
	{"1.2k包邮", Y(1500), Y(2000), AG_V_BELOW_FLOOR, Y(1200), NULL},
	{"1.2w", Y(13000), Y(15000), AG_V_BELOW_FLOOR, Y(12000), NULL},
	{"1万2可以", Y(13000), Y(15000), AG_V_BELOW_FLOOR, Y(12000), NULL},
	{"5百出", Y(600), Y(800), AG_V_BELOW_FLOOR, Y(500), NULL},
	/* Chinese numerals */
	{"五十八", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"一百二吧", Y(130), Y(150), AG_V_BELOW_FLOOR, Y(120), NULL},
	{"一百二十块", Y(130), Y(150), AG_V_BELOW_FLOOR, Y(120), NULL},
	{"两千", Y(2500), Y(3000), AG_V_BELOW_FLOOR, Y(2000), NULL},
	{"两千五拿走", Y(2400), Y(3000), AG_V_OK, Y(2500), NULL},
	{"壹佰", Y(120), Y(150), AG_V_BELOW_FLOOR, Y(100), NULL},
	{"十块", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(10), NULL},
	{"五块五", Y(80), Y(100), AG_V_BELOW_FLOOR, 550, NULL},
	{"八十八块八", Y(90), Y(100), AG_V_BELOW_FLOOR, 8880, "88.80元"},
	{"三百五", Y(400), Y(500), AG_V_BELOW_FLOOR, Y(350), NULL},
	{"一百零五", Y(110), Y(150), AG_V_BELOW_FLOOR, Y(105), NULL},
	{"给你优惠到八十", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	{"给你优惠到七十", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"一万二", Y(13000), Y(15000), AG_V_BELOW_FLOOR, Y(12000), NULL},
	{"八十点五", Y(81), Y(100), AG_V_BELOW_FLOOR, 8050, NULL},
	{"三四百的样子", Y(350), Y(500), AG_V_BELOW_FLOOR, Y(300), NULL},
	{"零元购", Y(80), Y(100), AG_V_BELOW_FLOOR, 0, "0元"},
	/* discounts and cuts of the list price */
	{"打八折给你", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	{"七五折", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(75), NULL},
	{"打七五折", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(75), NULL},
	{"8.5折", Y(80), Y(100), AG_V_OK, Y(85), NULL},
	{"85折吧", Y(80), Y(100), AG_V_OK, Y(85), NULL},
	{"9折", Y(80), Y(100), AG_V_OK, Y(90), NULL},
	{"半价给你", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(50), NULL},
	{"便宜20", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	{"少二十", Y(80), Y(100), AG_V_OK, Y(80), NULL},
	{"减30", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"再让10块", Y(80), Y(100), AG_V_OK, Y(90), NULL},
	{"优惠30", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"便宜10%", Y(80), Y(100), AG_V_OK, Y(90), NULL},
	{"便宜30%吧", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(70), NULL},
	{"再少五块吧，95", Y(80), Y(100), AG_V_OK, Y(95), NULL},
	{"再少五块吧，95", Y(96), Y(100), AG_V_BELOW_FLOOR, Y(95), NULL},
	{"让你10块", Y(95), Y(100), AG_V_BELOW_FLOOR, Y(90), NULL},
	{"优惠价99", Y(80), Y(100), AG_V_OK, Y(99), NULL},
	/* the price unknown: no amount from a discount, a cut counts as itself */
	{"八折", Y(80), NONE, AG_V_OK, NONE, NULL},
	{"便宜20", Y(80), NONE, AG_V_BELOW_FLOOR, Y(20), NULL},
	{"再少五吧", Y(96), Y(100), AG_V_BELOW_FLOOR, Y(95), NULL},
	{"不能再便宜一点了", Y(100), Y(100), AG_V_OK, NONE, NULL},
	{"更便宜 50元", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(50), NULL},
	/* giving it away */
	{"送你了", Y(80), Y(100), AG_V_BELOW_FLOOR, 0, "0元"},
	{"白送给你", Y(80), Y(100), AG_V_BELOW_FLOOR, 0, NULL},
	{"免费", Y(80), Y(100), AG_V_BELOW_FLOOR, 0, NULL},
	{"0元", Y(80), Y(100), AG_V_BELOW_FLOOR, 0, NULL},
	{"不要钱", Y(80), Y(100), AG_V_BELOW_FLOOR, 0, NULL},
	{"免费包邮哦", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"运费免费", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"送你一个手机壳", Y(80), Y(100), AG_V_OK, NONE, NULL},
	/* no floor: every amount is fine, the lowest still reported */
	{"58元", NONE, Y(100), AG_V_OK, Y(58), NULL},
	{"送你了", 0, Y(100), AG_V_OK, 0, NULL},
	/* no prices */
	{"iPhone 13 128G 95新", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"2个小时内发货", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"支持7天无理由", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"9成新", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"九五新", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"99新", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"八成新", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"9.5成新", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"1TB硬盘", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"有3C认证", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"RTX3060显卡", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"今天10:30前下单", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"2024-05-01买的", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"电池健康90%", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"小米13", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"第3代", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"3-5天到", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"5000mAh电池", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"65W快充", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"6.1寸屏幕", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"便宜一点吧", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"稍等一下", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"十分好用，百搭", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"三星的屏幕", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"一块电池", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"晚上10点发货", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"用了3个月", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"版本v1.2.3", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"百分之八十的新", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"两三天就到", Y(80), Y(100), AG_V_OK, NONE, NULL},
	/* contact */
	{"加我微信聊", Y(80), Y(100), AG_V_CONTACT, NONE, "加我"},
	{"微信聊", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"vx: abc123", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"V信同号", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"加V详聊", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"微 信 发你", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"wx同号", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"weixin", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"薇信", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"威信", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"电话138 1234 5678", Y(80), Y(100), AG_V_CONTACT, NONE, "phone 138****5678"},
	{"13812345678", Y(80), Y(100), AG_V_CONTACT, NONE, "phone 138****5678"},
	{"+86 138-1234-5678", Y(80), Y(100), AG_V_CONTACT, NONE, "phone 138****5678"},
	{"一三八一二三四五六七八", Y(80), Y(100), AG_V_CONTACT, NONE, "phone 138****5678"},
	{"打010-12345678", Y(80), Y(100), AG_V_CONTACT, NONE, "landline 010****5678"},
	{"QQ 12345678", Y(80), Y(100), AG_V_CONTACT, Y(12345678), "qq"},
	{"扣扣", Y(80), Y(100), AG_V_CONTACT, NONE, "qq"},
	{"企鹅号发你", Y(80), Y(100), AG_V_CONTACT, NONE, "qq"},
	{"邮件发到a.b@qq.com", Y(80), Y(100), AG_V_CONTACT, NONE, "email"},
	{"看http://x.y", Y(80), Y(100), AG_V_CONTACT, NONE, "link"},
	{"www.abc.com", Y(80), Y(100), AG_V_CONTACT, NONE, "link"},
	{"去shop.cn看", Y(80), Y(100), AG_V_CONTACT, NONE, "link"},
	{"私聊", Y(80), Y(100), AG_V_CONTACT, NONE, "私聊"},
	{"联系方式给你", Y(80), Y(100), AG_V_CONTACT, NONE, "联系方式"},
	{"手机号多少", Y(80), Y(100), AG_V_CONTACT, NONE, "手机号"},
	{"打我电话", Y(80), Y(100), AG_V_CONTACT, NONE, "电话"},
	{"打电话功能正常", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"123456789", Y(80), Y(100), AG_V_CONTACT, NONE, "number 12****89"},
	{"2019rmb weixin也可以", Y(80), Y(100), AG_V_CONTACT, Y(2019), "wechat"},
	{"128G vx: shop888", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"v x 同号", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"威❤信", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"➕V", Y(80), Y(100), AG_V_CONTACT, NONE, "wechat"},
	{"Q号发你", Y(80), Y(100), AG_V_CONTACT, NONE, "qq"},
	{"加个好友吧", Y(80), Y(100), AG_V_CONTACT, NONE, "加好友"},
	{"算你198 2024-05-01购买的", Y(80), Y(300), AG_V_OK, Y(198), NULL},
	{"邮箱a.b@qq.com 548可以出", Y(600), Y(700), AG_V_BELOW_FLOOR, Y(548), NULL},
	{"网址abc.com 6折", Y(600), Y(900), AG_V_BELOW_FLOOR, Y(540), NULL},
	{"99 alipay", Y(80), Y(100), AG_V_PAYMENT, Y(99), "alipay"},
	{"zfb也行", Y(80), Y(100), AG_V_PAYMENT, NONE, "zfb"},
	{"免费包邮 箱说全", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"小米13 包邮", Y(80), Y(100), AG_V_OK, NONE, NULL},
	{"3,143 2627-2637元", Y(2000), Y(4000), AG_V_OK, Y(2627), NULL},
	{"减141 1514-1524元", Y(1000), Y(2000), AG_V_OK, Y(1514), NULL},
	{"一千二百零九 1096-1106元", Y(1000), Y(1500), AG_V_OK, Y(1096), NULL},
	/* payment off the platform */
	{"支付宝转账吧", Y(80), Y(100), AG_V_PAYMENT, NONE, NULL},
	{"银行卡也行", Y(80), Y(100), AG_V_PAYMENT, NONE, "银行卡"},
	{"微信支付也行", Y(80), Y(100), AG_V_PAYMENT, NONE, "微信支付"},
	{"扫码付款", Y(80), Y(100), AG_V_PAYMENT, NONE, "扫码"},
	{"收款码发你", Y(80), Y(100), AG_V_PAYMENT, NONE, "收款码"},
	{"线下交易", Y(80), Y(100), AG_V_PAYMENT, NONE, "线下"},
	{"私下交易更便宜", Y(80), Y(100), AG_V_PAYMENT, NONE, "私下"},
	{"当面交易", Y(80), Y(100), AG_V_PAYMENT, NONE, "当面交易"},
	{"可以面交", Y(80), Y(100), AG_V_PAYMENT, NONE, "面交"},
	{"不走平台", Y(80), Y(100), AG_V_PAYMENT, NONE, "不走平台"},
	{"先款后货", Y(80), Y(100), AG_V_PAYMENT, NONE, "先款"},
	{"打款给我", Y(80), Y(100), AG_V_PAYMENT, NONE, "打款"},
	{"发个红包", Y(80), Y(100), AG_V_PAYMENT, NONE, "红包"},
	{"直接转我就行", Y(80), Y(100), AG_V_PAYMENT, NONE, "转我"},
	{"不用走闲鱼", Y(80), Y(100), AG_V_PAYMENT, NONE, NULL},
	{"货到付款", Y(80), Y(100), AG_V_PAYMENT, NONE, "货到付款"},
	{"V我88", Y(80), Y(100), AG_V_CONTACT, Y(88), "wechat"},
	/* banned words: ASCII case-insensitive */
	{"可以用abc券", Y(80), Y(100), AG_V_BANNED, NONE, "ABC"},
	{"送闲鱼币", Y(80), Y(100), AG_V_BANNED, NONE, "闲鱼币"},
	/* empty */
	{"", Y(80), Y(100), AG_V_EMPTY, NONE, NULL},
	{"  \n\t\xe3\x80\x80 ", Y(80), Y(100), AG_V_EMPTY, NONE, NULL},
	{"\xe2\x80\x8b", Y(80), Y(100), AG_V_EMPTY, NONE, NULL},
	/* the order: the first found wins */
	{"58元，加我微信", Y(80), Y(100), AG_V_BELOW_FLOOR, Y(58), NULL},
	{"88元，加我微信，支付宝转账", Y(80), Y(100), AG_V_CONTACT, Y(88), NULL},
	{"88元，支付宝转账，abc", Y(80), Y(100), AG_V_PAYMENT, Y(88), NULL},
	{"88元 abc", Y(80), Y(100), AG_V_BANNED, Y(88), "ABC"},
};

/* s with control characters escaped (for a TAP line) in a static buffer. */
static const char *esc(const char *s)
{
	static char b[512];
	size_t k = 0;

	for (; *s && k + 5 < sizeof b; s++) {
		if ((unsigned char)*s < 0x20)
			k += (size_t)snprintf(b + k, sizeof b - k, "\\x%02x", (unsigned char)*s);
		else
			b[k++] = *s;
	}
	b[k] = '\0';
	return b;
}

/* The table, max_chars 200. */
static void test_table(void)
{
	size_t i;
	ag_guard_in g = {0, 0, 200, banned, 2};
	ag_verdict v;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const gcase *c = &cases[i];

		g.floor_fen = c->floor_fen;
		g.price_fen = c->price_fen;
		agent_guard(&g, c->answer, &v);
		if (!ok(v.verdict == c->verdict && v.lowest_fen == c->lowest &&
			(!c->detail || !strcmp(v.detail, c->detail)),
			"guard: \"%s\" (floor %lld, price %lld) -> %s, lowest %lld", esc(c->answer),
			(long long)c->floor_fen, (long long)c->price_fen, agent_verdict_name(c->verdict),
			(long long)c->lowest))
			diag("got %s, lowest %lld, detail \"%s\"", agent_verdict_name(v.verdict),
			     (long long)v.lowest_fen, v.detail);
	}
}

/* Length in characters after trimming, invalid UTF-8, NULL. */
static void test_length(void)
{
	ag_guard_in g = {Y(80), Y(100), 10, NULL, 0};
	ag_verdict v;

	is_int(agent_guard(&g, "好好好好好好好好好好", &v), AG_V_OK, "length: 10 characters pass a cap of 10");
	is_int(agent_guard(&g, "好好好好好好好好好好好", &v), AG_V_TOO_LONG, "length: 11 do not");
	is_str(v.detail, "11>10", "length: the detail says how long");
	is_int(agent_guard(&g, "  \n好好好好好好好好好好\xe3\x80\x80 \n", &v), AG_V_OK,
	       "length: blanks around are not counted");
	is_int(agent_guard(&g, "好好好好 好好好好好", &v), AG_V_OK, "length: a blank inside is one character");
	is_int(agent_guard(&g, "\xff\xfe\xc3好好好好好好好好", &v), AG_V_TOO_LONG,
	       "length: each invalid byte counts one character");
	is_int(agent_guard(&g, "\xe5\xa5", &v), AG_V_OK, "length: a cut sequence is two characters, no crash");
	is_int(agent_guard(&g, "58\xff元", &v), AG_V_BELOW_FLOOR, "length: an invalid byte does not hide an amount");
	is_int(agent_guard(&g, "\xed\xa0\x80\xc0\xaf", &v), AG_V_OK, "length: a surrogate, an overlong: 5 characters");
	is_int(agent_guard(&g, NULL, &v), AG_V_EMPTY, "empty: NULL");
	is_int(v.lowest_fen, NONE, "empty: no amount");
	g.max_chars = 3;
	is_int(agent_guard(&g, "58元加微信", &v), AG_V_TOO_LONG, "order: too long before below the floor");
	is_int(v.lowest_fen, Y(58), "order: the lowest amount is still reported");
	g.max_chars = 0;
	is_int(agent_guard(&g, "好好好好好好好好好好好好好好好好好好", &v), AG_V_OK, "length: max_chars 0 is no cap");
	{
		/* a huge answer: too long, its amounts those of the first AG_ANSWER_MAX bytes */
		size_t n = 4 * AG_ANSWER_MAX, k;
		char *big = malloc(n + 16);

		if (big) {
			for (k = 0; k < n; k++)
				big[k] = 'a';
			memcpy(big + 10, "99元", 5);
			memcpy(big + AG_ANSWER_MAX + 10, "50元", 5);
			big[n] = '\0';
			g.max_chars = 200;
			is_int(agent_guard(&g, big, &v), AG_V_TOO_LONG, "length: a huge answer is too long");
			is_int(v.lowest_fen, Y(99), "length: and its lowest amount is that of what is kept");
			g.max_chars = 0;
			is_int(agent_guard(&g, big, &v), AG_V_BELOW_FLOOR, "length: without a cap every byte is judged");
			free(big);
		}
	}
}

/* agent_cn_number, agent_yuan_parse / _fmt, agent_verdict_name, agent_money_scan. */
static void test_helpers(void)
{
	static const struct {
		const char *s;
		int64_t fen;
		size_t used;
	} cn[] = {
		{"十五", 1500, 6}, {"二十", 2000, 6}, {"一百零五", 10500, 12}, {"三百五", 35000, 9},
		{"两千五", 250000, 9}, {"一万二", 1200000, 9}, {"五十八块", 5800, 9}, {"八十点五", 8050, 12},
		{"点五", -1, 0}, {"五块五", 550, 9}, {"八十八块八毛", 8880, 15}, {"壹佰贰拾", 12000, 12},
		{"〇", 0, 3}, {"零", 0, 3}, {"九五", 9500, 6}, {"拾", 1000, 3}, {"两", 200, 3},
		{"一千零一十", 101000, 15}, {"三万五千", 3500000, 12}, {"一百二", 12000, 9},
		{"abc", -1, 0}, {"", -1, 0},
	};
	char buf[32];
	int64_t fen, a[4];
	size_t i, used;
	ag_verdict v;
	ag_guard_in g = {Y(80), Y(100), 0, NULL, 0};

	for (i = 0; i < sizeof cn / sizeof cn[0]; i++) {
		int rc = agent_cn_number(cn[i].s, strlen(cn[i].s), &fen, &used);

		if (cn[i].fen < 0)
			is_int(rc, -1, "cn_number: \"%s\" is none", cn[i].s);
		else
			ok(rc == 0 && fen == cn[i].fen && used == cn[i].used, "cn_number: \"%s\" = %lld fen, %zu bytes",
			   cn[i].s, (long long)cn[i].fen, cn[i].used);
	}
	ok(!agent_yuan_parse("80", &fen) && fen == 8000, "yuan_parse: 80");
	ok(!agent_yuan_parse("80.5", &fen) && fen == 8050, "yuan_parse: 80.5");
	ok(!agent_yuan_parse("80.05", &fen) && fen == 8005, "yuan_parse: 80.05");
	ok(!agent_yuan_parse("80元", &fen) && fen == 8000, "yuan_parse: 80元");
	ok(!agent_yuan_parse(" 0 ", &fen) && fen == 0, "yuan_parse: 0, blanks around");
	ok(!agent_yuan_parse("¥99", &fen) && fen == 9900, "yuan_parse: ¥99");
	ok(!agent_yuan_parse("￥ 99 元", &fen) && fen == 9900, "yuan_parse: ￥ 99 元, blanks between");
	is_int(agent_yuan_parse("99元元", &fen), -1, "yuan_parse: junk after 元");
	is_int(agent_yuan_parse("80.555", &fen), -1, "yuan_parse: three decimals");
	is_int(agent_yuan_parse("", &fen), -1, "yuan_parse: empty");
	is_int(agent_yuan_parse("-5", &fen), -1, "yuan_parse: negative");
	is_int(agent_yuan_parse("8o", &fen), -1, "yuan_parse: junk");
	is_int(agent_yuan_parse(".5", &fen), -1, "yuan_parse: no integer part");
	is_int(agent_yuan_parse("99999999999999999999", &fen), -1, "yuan_parse: too big");
	is_int(agent_yuan_parse(NULL, &fen), -1, "yuan_parse: NULL");
	is_str(agent_yuan_fmt(8050, buf, sizeof buf), "80.50", "yuan_fmt: 80.50");
	is_str(agent_yuan_fmt(5, buf, sizeof buf), "0.05", "yuan_fmt: 0.05");
	is_str(agent_yuan_fmt(-150, buf, sizeof buf), "-1.50", "yuan_fmt: negative");
	is_str(agent_yuan_fmt(INT64_MIN, buf, sizeof buf), "-92233720368547758.08", "yuan_fmt: INT64_MIN");
	is_str(agent_verdict_name(AG_V_OK), "ok", "verdict_name: ok");
	is_str(agent_verdict_name(AG_V_EMPTY), "empty", "verdict_name: empty");
	is_str(agent_verdict_name(AG_V_TOO_LONG), "too_long", "verdict_name: too_long");
	is_str(agent_verdict_name(AG_V_BELOW_FLOOR), "below_floor", "verdict_name: below_floor");
	is_str(agent_verdict_name(AG_V_CONTACT), "contact", "verdict_name: contact");
	is_str(agent_verdict_name(AG_V_PAYMENT), "payment", "verdict_name: payment");
	is_str(agent_verdict_name(AG_V_BANNED), "banned", "verdict_name: banned");
	is_str(agent_verdict_name(99), "unknown", "verdict_name: out of range");
	is_int(agent_money_scan("1元，2块，三块", -1, a, 2), 3, "money_scan: counts beyond max");
	ok(a[0] == 100 && a[1] == 200, "money_scan: the first max in order");
	is_int(agent_money_scan("打八折或便宜20", Y(100), a, 4), 2, "money_scan: discount and cut");
	ok(a[0] == Y(80) && a[1] == Y(80), "money_scan: both from the price");
	is_int(agent_money_scan("iPhone 13", Y(100), NULL, 0), 0, "money_scan: no amount, NULL out");
	/* the tenths of 块五 belong to the cut's upper end too, whatever follows (it once read the
	 * character two after the number, past the text's end under valgrind) */
	a[0] = a[1] = -1;
	is_int(agent_money_scan("便宜五块五，九十", Y(100), a, 4), 2, "money_scan: a cut of 五块五 and 九十");
	ok(a[0] == Y(100) - 550 && a[1] == Y(90), "money_scan: 100 - 5.50 = 94.50, then 90 (%lld, %lld)",
	   (long long)a[0], (long long)a[1]);
	a[0] = -1;
	is_int(agent_money_scan("便宜五块五", Y(100), a, 4), 1, "money_scan: a cut of 五块五 at the text's end");
	ok(a[0] == Y(100) - 550, "money_scan: 94.50 (%lld)", (long long)a[0]);
	agent_guard(&g, "一千万万万万万万元", &v);
	ok(v.verdict == AG_V_OK && v.lowest_fen > Y(1000000), "huge: a huge numeral saturates, never wraps below");
	agent_guard(&g, "99999999.99万元", &v);
	ok(v.verdict == AG_V_OK && v.lowest_fen > Y(1000000), "huge: a huge multiple saturates, never wraps below");
	agent_guard(&g, "999999999999999999999999元", &v);
	is_int(v.verdict, AG_V_CONTACT, "huge: a run of 24 digits is a number to call, not a price");
}

/* ---- the property test ---- */

static uint64_t rng;

/* xorshift64*: the next random number. */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(2685821657736338717);
}

/* A random integer in [lo, hi]. */
static int64_t rr(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

typedef struct {
	char s[2048];
	size_t n;
	int64_t min;                /* the lowest amount quoted (fen), -1 none */
	int contact, payment;
} gen;

static void add(gen *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(gen *a, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(a->s + a->n, sizeof a->s - a->n, fmt, ap);
	va_end(ap);
	if (k > 0 && a->n + (size_t)k < sizeof a->s)
		a->n += (size_t)k;
}

static void quoted(gen *a, int64_t fen)
{
	if (fen < 0)
		fen = 0;
	if (a->min < 0 || fen < a->min)
		a->min = fen;
}

/* Writes yuan (0..99999999) as Chinese numerals into out: standard (三百五十,
 * 一百零五), or colloquial (三百五, 两千五, 一万二: the last unit left
 * out), in the financial forms when fin. */
static void cn_yuan(int64_t y, int colloquial, int fin, char *out, size_t n)
{
	static const char *const dn[10] = {"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
	static const char *const df[10] = {"零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"};
	static const char *const un[4] = {"", "十", "百", "千"};
	static const char *const uf[4] = {"", "拾", "佰", "仟"};
	const char *const *d = fin ? df : dn, *const *u = fin ? uf : un;
	char part[2][128];
	int64_t grp[2] = {y / 10000, y % 10000};
	size_t len = 0;
	int g, k, zero, started, nz_last = -1, last_unit = -1;

	out[0] = '\0';
	if (y == 0) {
		snprintf(out, n, "%s", d[0]);
		return;
	}
	for (g = 0; g < 2; g++) {
		int dig[4] = {(int)(grp[g] / 1000), (int)(grp[g] / 100 % 10), (int)(grp[g] / 10 % 10), (int)(grp[g] % 10)};

		part[g][0] = '\0';
		len = 0;
		zero = 0;
		started = g == 1 && grp[0] > 0;
		for (k = 0; k < 4; k++) {
			if (!dig[k]) {
				if (started)
					zero = 1;
				continue;
			}
			if (zero) {
				len += (size_t)snprintf(part[g] + len, sizeof part[g] - len, "%s", d[0]);
				zero = 0;
			}
			/* 十五, not 一十五, at the start */
			if (!(k == 2 && dig[k] == 1 && !started))
				len += (size_t)snprintf(part[g] + len, sizeof part[g] - len, "%s",
							dig[k] == 2 && k < 2 && !fin && (rnd() & 1) ? "两" : d[dig[k]]);
			len += (size_t)snprintf(part[g] + len, sizeof part[g] - len, "%s", u[3 - k]);
			started = 1;
			nz_last = g * 4 + k;
			last_unit = 3 - k;
		}
		if (g == 0 && grp[0] > 0) {
			len += (size_t)snprintf(part[g] + len, sizeof part[g] - len, "%s", "万");
			if (grp[1] > 0 && grp[1] < 1000)
				zero = 1;
		}
	}
	/* colloquial: 三百五十 -> 三百五 when the last non-zero digit is the one
	 * right after the unit before it and nothing else follows (no 零) */
	snprintf(out, n, "%s%s", part[0], part[1]);
	if (colloquial && nz_last >= 0 && last_unit >= 1) {
		const char *unit = u[last_unit];
		size_t ul = strlen(unit), ol = strlen(out);
		int64_t rest = y % 10000, prev_unit_digit;

		/* only when the digit before this one (one unit up) is not zero and
		 * no 零 stands between: 350 (3,5), 2500 (2,5), 12000 as 一万二 */
		if (last_unit == 3)
			prev_unit_digit = y / 10000 % 10;
		else {
			int64_t p = 1;
			int i;

			for (i = 0; i < last_unit + 1; i++)
				p *= 10;
			prev_unit_digit = rest / p % 10;
		}
		if (prev_unit_digit && ol > ul && !strcmp(out + ol - ul, unit) && !strstr(out, d[0]) &&
		    (last_unit < 3 || rest < 10000))
			out[ol - ul] = '\0';
	}
}

/* Full-width digits of v. */
static void fullwidth(int64_t v, char *out, size_t n)
{
	char d[32];
	size_t i, k = 0;

	snprintf(d, sizeof d, "%lld", (long long)v);
	for (i = 0; d[i] && k + 4 < n; i++) {
		out[k++] = (char)0xef;
		out[k++] = (char)0xbc;
		out[k++] = (char)(0x90 + (d[i] - '0'));
	}
	out[k] = '\0';
}

/* One price quote of a random form: amount near the floor. */
static void quote(gen *a, int64_t floor_y, int64_t price_y)
{
	int64_t y = rr(floor_y * 6 / 10, floor_y * 14 / 10 + 1), c;
	char cn[128], fw[64];
	int form = (int)rr(0, 31);

	switch (form) {
	case 0: add(a, "%lld元", (long long)y); break;
	case 1: add(a, "%lld块", (long long)y); break;
	case 2: add(a, "¥%lld", (long long)y); break;
	case 3: add(a, "￥%lld", (long long)y); break;
	case 4: add(a, "%lld包邮", (long long)y); break;
	case 5: add(a, "最低%lld出", (long long)y); break;
	case 6: add(a, "RMB%lld", (long long)y); break;
	case 7: add(a, "%lldrmb", (long long)y); break;
	case 8: add(a, "%lld米", (long long)y); break;
	case 9: add(a, "%lld块钱", (long long)y); break;
	case 10: cn_yuan(y, 0, 0, cn, sizeof cn); add(a, "给你优惠到%s", cn); break;
	case 11: cn_yuan(y, 1, 0, cn, sizeof cn); add(a, "%s块", cn); break;
	case 12: fullwidth(y, fw, sizeof fw); add(a, "%s元", fw); break;
	case 13:
		if (y >= 1000)
			add(a, "%lld,%03lld", (long long)(y / 1000), (long long)(y % 1000));
		else
			add(a, "%lld", (long long)y);
		break;
	case 14: add(a, "%lld.5元", (long long)y); quoted(a, Y(y) + 50); return;
	case 15: cn_yuan(y, 0, 0, cn, sizeof cn); add(a, "%s块五", cn); quoted(a, Y(y) + 50); return;
	case 16:
		y = y / 100 * 100;
		if (y >= 1000 && y % 1000)
			add(a, "%lld.%lldk", (long long)(y / 1000), (long long)(y % 1000 / 100));
		else
			add(a, "%lld元", (long long)y);
		break;
	case 17:
		y = y / 100 * 100;
		if (y >= 1000 && y % 1000)
			add(a, "%lld千%lld", (long long)(y / 1000), (long long)(y % 1000 / 100));
		else
			add(a, "%lld", (long long)y);
		break;
	case 18: add(a, "%lld吧", (long long)y); break;
	case 19: add(a, "算你%lld", (long long)y); break;
	case 20: add(a, "%lld可以出", (long long)y); break;
	case 21: cn_yuan(y, rr(0, 1), 0, cn, sizeof cn); add(a, "就%s吧", cn); break;
	case 22: add(a, "%lld 包邮", (long long)y); break;
	case 23: add(a, "%lld-%lld元", (long long)y, (long long)y + 10); break;
	case 24: cn_yuan(y, 0, 1, cn, sizeof cn); add(a, "%s元", cn); break;
	case 25: {
		/* a discount of the price */
		static const int pm[] = {500, 600, 700, 750, 800, 850, 880, 900, 950};
		static const char *const nm[] = {"五", "六", "七", "七五", "八", "八五", "八八", "九", "九五"};
		int k = (int)rr(0, 8);

		if (rr(0, 1))
			add(a, "打%s折", nm[k]);
		else if (pm[k] % 100)
			add(a, "%d.%d折", pm[k] / 100, pm[k] / 10 % 10);
		else
			add(a, "%d折", pm[k] / 100);
		quoted(a, Y(price_y) * pm[k] / 1000);
		return;
	}
	case 26:
	case 27: {
		/* a cut off the price */
		c = rr(1, price_y / 2 + 1);
		switch (rr(0, 4)) {
		case 0: add(a, "便宜%lld", (long long)c); break;
		case 1: cn_yuan(c, 0, 0, cn, sizeof cn); add(a, "少%s", cn); break;
		case 2: add(a, "再让%lld块", (long long)c); break;
		case 3: add(a, "优惠%lld", (long long)c); break;
		default: add(a, "减%lld", (long long)c); break;
		}
		quoted(a, Y(price_y - c));
		return;
	}
	case 28:
		if (rr(0, 3) == 0) {
			add(a, "%s", rr(0, 1) ? "送你了" : "白送给你");
			quoted(a, 0);
			return;
		}
		add(a, "%lld元吧", (long long)y);
		break;
	case 29: add(a, "半价给你"); quoted(a, Y(price_y) / 2); return;
	case 30: add(a, "原价%lld，现在%lld", (long long)price_y, (long long)y); break;
	default: cn_yuan(y, 1, 0, cn, sizeof cn); add(a, "%s", cn); break;
	}
	quoted(a, Y(y));
}

static const char *const greetings[] = {"", "亲，", "您好～", "哈喽，", "在的亲～", "亲亲，", "你好！"};
static const char *const fillers[] = {
	"这个成色很好", "95新", "九成新", "99新", "八成新", "电池健康90%", "用了2个月", "支持7天无理由",
	"iPhone 13 128G", "保修1年", "下午3点发货", "今天10:30前下单当天发", "支持验机", "都是正品",
	"3C认证齐全", "1TB硬盘", "RTX3060显卡", "小米13", "2024-05-01购买的", "3-5天到", "屏幕6.1寸",
	"5000mAh大电池", "65W快充", "全新未拆封", "一点划痕都没有", "价格可以商量一下", "第2代的",
	"有2个配件", "九九新", "十分好用", "三星的屏幕", "送你一个手机壳", "免费包邮", "运费免费",
	"包邮", "换过一块电池", "可以当面验货", "诚心要可以再聊", "稍等一下哈", "喜欢的话可以拍下",
	"9.5成新", "用了一年多", "配件齐全", "两三天就到", "百分之九十新", "箱说全", "电池循环200次",
	"尺码43码", "保修到2025年", "屏幕有1处划痕", "送2张膜", "上午11点前发", "还有3台", "iPhone 14 Pro Max 256G",
	"华为Mate 60", "内存16G+512G", "i7-12700H处理器", "充电器20W", "4K屏", "1080P高清", "5G手机",
	"可以分12期", "七成新", "电池95%", "屏幕15.6英寸", "重量1.5公斤", "买了半年", "一手货", "二手的",
	"有两个", "前2天刚买", "型号A2633", "编号SN12345", "空调1.5匹", "1米8的床", "一块屏幕", "3年质保",
	"32寸显示器", "保质期到12月", "可以开发票", "顺丰包邮", "24小时发货", "一个月没用",
	"通话正常", "面容ID正常", "电池效率88%", "原装充电器", "有发票和保修卡", "MacBook Air M2",
	"拍照像素4800万", "续航一天没问题", "系统iOS 17", "支持5G", "已经贴好钢化膜", "8+256G版本",
	"12+512", "颜色是远峰蓝", "成色九九新", "边框有两处磕碰", "左下角有个小点", "2023年买的",
	"去年双11买的", "只用过三次", "充电次数不到100次", "跑分100万+", "刷新率120Hz", "屏幕2K分辨率",
	"尺寸是42mm", "重量200克左右", "鞋码42", "衣服L码", "身高175可以穿", "腰围2尺2", "适合3到6岁",
	"说明书第5页有", "快递一般2到3天", "下单后48小时内发", "晚上8点后回复", "支持7天无理由退货",
	"10月份买的", "出厂日期2023.10", "还剩两年保修", "京东自营买的", "送原装壳一个", "赠品有3个"};
static const char *const contacts[] = {
	"加我微信聊", "V信同号", "加V详聊", "wx同号", "私聊我", "联系方式给你", "扣扣号发你",
	"手机号发你", "打我电话", "邮箱a.b@qq.com", "去www.shop.com看看", "vx: shop888",
	"加我", "企鹅号发你", "weixin也可以", "微 信联系"};
static const char *const payments[] = {
	"支付宝转账", "银行卡打款", "微信支付也行", "扫码付款", "线下交易", "私下交易更便宜", "当面交易",
	"不走平台", "先款后货", "发红包", "收款码发你", "可以面交"};
static const char *const closers[] = {"", "哦", "～", "，喜欢可以拍下", "，诚心要的话", "！", "呢", "。"};

#define NA(x) (sizeof(x) / sizeof((x)[0]))

/* A random mobile number in one of the ways a model writes it. */
static void phone(gen *a)
{
	static const char *const cnd[10] = {"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
	char d[12];
	int i, form = (int)rr(0, 4);

	d[0] = '1';
	d[1] = (char)('3' + rr(0, 6));
	for (i = 2; i < 11; i++)
		d[i] = (char)('0' + rr(0, 9));
	d[11] = '\0';
	add(a, "%s", rr(0, 1) ? "电话" : "打");
	switch (form) {
	case 0: add(a, "%s", d); break;
	case 1: add(a, "%.3s %.4s %.4s", d, d + 3, d + 7); break;
	case 2: add(a, "+86 %.3s-%.4s-%.4s", d, d + 3, d + 7); break;
	case 3:
		for (i = 0; i < 11; i++)
			add(a, "%s", cnd[d[i] - '0']);
		break;
	default: add(a, "%.3s-%.4s-%.4s", d, d + 3, d + 7); break;
	}
	a->contact = 1;
}

/* Builds one answer; its floor and price. */
static void answer(gen *a, int64_t *floor_fen, int64_t *price_fen)
{
	int64_t floor_y = rr(20, 3000), price_y = floor_y + 1 + rr(0, floor_y);
	int k, n = (int)rr(1, 5);

	memset(a, 0, sizeof *a);
	a->min = -1;
	*floor_fen = Y(floor_y) + (rr(0, 4) == 0 ? 50 : 0);
	*price_fen = Y(price_y);
	add(a, "%s", greetings[rr(0, NA(greetings) - 1)]);
	for (k = 0; k < n; k++) {
		int what = (int)rr(0, 19);

		if (k)
			add(a, "%s", rr(0, 1) ? "，" : " ");
		if (what < 8)
			quote(a, floor_y, price_y);
		else if (what < 15)
			add(a, "%s", fillers[rr(0, NA(fillers) - 1)]);
		else if (what < 16)
			phone(a);
		else if (what < 18) {
			add(a, "%s", contacts[rr(0, NA(contacts) - 1)]);
			a->contact = 1;
		} else {
			add(a, "%s", payments[rr(0, NA(payments) - 1)]);
			a->payment = 1;
		}
	}
	add(a, "%s", closers[rr(0, NA(closers) - 1)]);
}

/* The property test: 1000 answers, none that must be refused passes; the
 * lowest amount found is at most the lowest one quoted. */
static void test_property(void)
{
	const char *env = getenv("SK_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
	int i, must = 0, passed_bad = 0, good = 0, refused_good = 0, missed_low = 0, shown = 0;
	gen a;
	ag_verdict v;

	if (!seed)
		seed = 1;
	rng = seed;
	diag("property: seed %llu (SK_SEED=%llu repeats it)", (unsigned long long)seed, (unsigned long long)seed);
	for (i = 0; i < 1000; i++) {
		int64_t floor_fen, price_fen;
		ag_guard_in g = {0, 0, 0, NULL, 0};
		int bad;

		answer(&a, &floor_fen, &price_fen);
		g.floor_fen = floor_fen;
		g.price_fen = price_fen;
		agent_guard(&g, a.s, &v);
		bad = (a.min >= 0 && a.min < floor_fen) || a.contact || a.payment;
		if (bad) {
			must++;
			if (v.verdict == AG_V_OK) {
				passed_bad++;
				diag("PASSED but must be refused: \"%s\" (floor %lld, price %lld, quoted %lld)", a.s,
				     (long long)floor_fen, (long long)price_fen, (long long)a.min);
			}
		} else {
			good++;
			if (v.verdict != AG_V_OK) {
				refused_good++;
				if (shown++ < 15)
					diag("false positive: \"%s\" -> %s %s (floor %lld, price %lld)", a.s,
					     agent_verdict_name(v.verdict), v.detail, (long long)floor_fen,
					     (long long)price_fen);
			}
		}
		if (a.min >= 0 && (v.lowest_fen < 0 || v.lowest_fen > a.min) && v.verdict != AG_V_CONTACT) {
			missed_low++;
			diag("lowest %lld above the quoted %lld: \"%s\" (price %lld)", (long long)v.lowest_fen,
			     (long long)a.min, a.s, (long long)price_fen);
		}
	}
	is_int(passed_bad, 0, "property: none of the %d answers below the floor, with contact or payment passes", must);
	is_int(missed_low, 0, "property: the lowest amount found is never above the lowest quoted");
	ok(must > 100 && good > 100, "property: both kinds were generated (%d to refuse, %d fine)", must, good);
	diag("property: false positives %d of %d fine answers (%.1f%%)", refused_good, good,
	     good ? 100.0 * refused_good / good : 0.0);
}

int main(void)
{
	test_table();
	test_length();
	test_helpers();
	test_property();
	return tap_done();
}
