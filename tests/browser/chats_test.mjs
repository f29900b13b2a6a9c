// SPDX-License-Identifier: MIT
//
// tests/browser/chats_test.mjs - the conversations screen of the page
// (web/chats.js) in headless Chromium against a running `shopkeep run`
// (plugins dedup, autoreply with the keyword rule "price" on 多少钱, orders,
// items) and the simulator: buyer messages appear live; the list's order,
// unread counts and states; a chat of more than 60 messages paged back; a
// picture, a picture of another host (a link, never fetched), a trade card
// and the bot's reply marked with its rule; a reply from the page pauses
// the chat (the buyer's next 多少钱 gets no answer in the simulator); resume
// (the next one is answered); a hand-over word puts the chat on top as
// 等你回复; a refused send shows its reason; the quick phrases (use, add,
// remove; saved in the rules file); hostile text stays text; zh and en,
// desktop and 390 px (one column, back button, nothing off screen).
//
// Environment:
//   SK_WEB_URL      the page, e.g. http://127.0.0.1:18080/
//   SK_SETUP_TOKEN  the one-time setup token the bot logged
//   SK_SIM_CTL      the simulator's control port (on 127.0.0.1)
//   SK_SELLER       the seller's unb
//   SK_SHOT         the chats section at desktop width (PNG), SK_SHOT_PHONE a
//                   conversation at 390 px, SK_SHOT_PHONE_LIST the list at
//                   390 px, SK_SHOT_EN the English desktop one (all optional)
//   SK_CHROMIUM     the browser (default /usr/bin/chromium)
//   SK_TIMEOUT_S    the overall limit (default 150)
//
// Prints one line per check, "ok - what" or "not ok - what" (lines starting
// with "#" are diagnostics), and exits 0 when every check passed, else 1
// (the shared part: lib.mjs).

import fs from 'node:fs';
import { env, SETUP_TOKEN, SELLER, ok, diag, sleep, sim, waitText, visible, text, preflight, launch, openPage,
	load, submitSetup, png, serveImage, phone, desktop, sideways, start, finish } from './lib.mjs';

const SEND_LWP = '/r/MessageSend/sendByReceiverScope';
const PIC = 'https://img.alicdn.com/imgextra/i1/chats-test.png';
const OTHER_PIC = 'https://pics.example.com/buyer-photo.png';
const PRICE_REPLY = '这个 10 元，直接拍就行';
const HISTORY = 65;
const ITEM_TITLE = '王者荣耀点券 50 元';

start(150);

// The simulator's send cursor now.
async function sentMark() {
	const s = await sim('GET', '/sent');
	return s.json && typeof s.json.next === 'number' ? s.json.next : 0;
}

// The messages the bot sent into chat cid since mark: [{text, refused, ...}].
async function sentIn(cid, mark) {
	const s = await sim('GET', `/sent?since=${mark}`);
	return ((s.json && s.json.frames) || []).filter((f) => f.what === SEND_LWP && f.cid === cid);
}

// Waits up to ms for a send into cid since mark whose text has want.
async function waitSent(cid, mark, want, ms) {
	for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) {
		const got = (await sentIn(cid, mark)).find((f) => f.content && f.content.text &&
			String(f.content.text.text).includes(want) && !f.error && !f.refused);
		if (got)
			return got;
	}
	return null;
}

// A buyer's text (a new chat when cid is not given); the chat's id.
async function buyer(text, opts = {}) {
	const r = await sim('POST', '/inject', { seller: SELLER, kind: 'text', text, ...opts });
	const cid = r.json && r.json.items && r.json.items[0] && r.json.items[0].cid;
	if (!cid)
		diag(`inject failed: ${r.status} ${r.text}`);
	return cid;
}

// A control command from the page's session (what the page does not show).
async function pageControl(page, command, data) {
	return page.evaluate(async ([c, d]) => {
		const s = await (await fetch('/api/session', { credentials: 'same-origin' })).json();
		const r = await fetch('/api/control', { method: 'POST', credentials: 'same-origin',
			headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
			body: JSON.stringify({ request_id: 't', command: c, data: d }) });
		return { status: r.status, body: await r.json() };
	}, [command, data]);
}

// The chat list's rows as [{id, state, unread, text}], top first.
async function rows(page) {
	return page.evaluate(() => [...document.querySelectorAll('#chats-list > li.chat-row')].map((li) => ({
		id: li.getAttribute('data-chat'), state: li.getAttribute('data-state'),
		unread: (li.querySelector('.chat-unread') || {}).textContent || '', text: li.textContent,
		waiting: li.classList.contains('waiting') })));
}

async function waitRows(page, pred, ms) {
	let last = [];
	for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) {
		last = await rows(page);
		if (pred(last))
			return { ok: true, rows: last };
	}
	return { ok: false, rows: last };
}

const show = (rs) => rs.map((r) => `${r.id} ${r.state} unread=${r.unread} ${r.text.replace(/\s+/g, ' ').slice(0, 80)}`).join('\n');

// Whether something of the chats section or the header reaches past the
// viewport's right edge: the worst one, or null.
async function offScreen(page) {
	return page.evaluate(() => {
		const w = document.documentElement.clientWidth;
		let worst = null;
		for (const e of document.querySelectorAll('.topbar-row *, #sec-chats *')) {
			const r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 1 && !e.closest('.nav') && (!worst || r.right > worst.right))
				worst = { right: Math.round(r.right), tag: e.tagName, id: e.id, cls: String(e.className) };
		}
		return worst;
	});
}

async function shot(page, file) {
	if (!file)
		return;
	await page.locator('#sec-chats').screenshot({ path: file });
	ok(fs.existsSync(file) && fs.statSync(file).size > 1000, `screenshot ${file.replace(/.*\//, '')}`);
}

async function main() {
	if (!preflight(['SK_WEB_URL', 'SK_SETUP_TOKEN', 'SK_SIM_CTL', 'SK_SELLER']))
		return;
	const ctx = await launch('sk-chats-');
	const pics = await serveImage(ctx, 'https://img.alicdn.com/**', png(40, 30, [200, 60, 40], true));
	const others = await serveImage(ctx, 'https://pics.example.com/**', png(4, 4, [0, 0, 0]));
	const { page, jsErrors } = await openPage(ctx);

	await load(page);
	if (!await visible(page, '#setup-form', 10000))
		return ok(false, 'the setup form shows', await text(page, '#login-view'));
	if (!ok(await submitSetup(page, SETUP_TOKEN), 'logged in', await text(page, '#setup-error')))
		return;
	ok(await waitText(page, '#phrases', ['在的，亲', '稍等，我看一下'], 10000),
		'the quick phrases of the rules file show above the reply box', await text(page, '#phrases'));
	ok(await waitText(page, 'a[href="#sec-chats"]', '对话', 2000) && await visible(page, '#chats-empty', 5000),
		'the chats screen is in Chinese and says there is no chat yet', await text(page, '#sec-chats'));

	// ---- the items the chats are about (their titles come from items_list)
	await sim('POST', '/item', { seller: SELLER, item_id: '50001', title: ITEM_TITLE, price: 1000, quantity: 5 });
	await sim('POST', '/item', { seller: SELLER, item_id: '50002', title: '视频会员月卡', price: 1500, quantity: 5 });
	await page.click('#items-refresh');
	ok(await waitText(page, '#items-box', ITEM_TITLE, 15000), 'the items are synced (the shop screen lists them)');

	// ---- seed: chat A with a long history, pictures, an order, a bot reply
	const a = await buyer('历史消息 1', { buyer: '5900001', buyer_name: '老王', item_id: '50001' });
	if (!ok(a, 'the simulator made chat A'))
		return;
	for (let i = 2; i <= HISTORY; i++)
		await sim('POST', '/inject', { seller: SELLER, kind: 'text', text: `历史消息 ${i}`, cid: a });
	await sim('POST', '/inject', { seller: SELLER, kind: 'image', url: PIC, width: 40, height: 30, cid: a });
	await sim('POST', '/inject', { seller: SELLER, kind: 'image', url: OTHER_PIC, width: 4, height: 4, cid: a });
	const ord = await sim('POST', '/order', { seller: SELLER, cid: a, item_id: '50001', quantity: 1, price: 1000 });
	const oid = ord.json && (ord.json.order_id || (ord.json.order && ord.json.order.order_id));
	ok(oid, `the simulator placed an order in chat A (${oid})`, ord.text);
	let mark = await sentMark();
	await buyer('这个多少钱', { cid: a });
	ok(await waitSent(a, mark, PRICE_REPLY, 10000), 'the bot answers 多少钱 in chat A (rule "price")');
	const b = await buyer('你好，在吗', { buyer: '5900002', buyer_name: '小李', item_id: '50002' });
	await sleep(50);
	const c = await buyer('还有货吗', { buyer: '5900003', buyer_name: '阿强' });

	// ---- the list, live (no refresh pressed)
	let w = await waitRows(page, (rs) => rs.length >= 3 && rs[0].id === c && rs[1].id === b && rs[2].id === a, 15000);
	ok(w.ok, 'buyer messages appear live: the list has the three chats, the newest first', show(w.rows));
	w = await waitRows(page, (rs) => rs.some((r) => r.id === a && Number(r.unread) >= HISTORY), 10000);
	ok(w.ok, 'chat A shows its unread count (a badge)', show(w.rows));
	ok(w.rows.every((r) => r.state === 'auto') && (await text(page, `#chat-${a}`)).includes('自动'),
		'every chat is 自动 (auto) now', show(w.rows));
	ok((await text(page, `#chat-${a}`)).includes('老王') && (await text(page, `#chat-${a}`)).includes(PRICE_REPLY),
		'a row shows the buyer\'s name and the last text', await text(page, `#chat-${a}`));
	ok(await waitText(page, `#chat-${a} .chat-item`, ITEM_TITLE, 5000), 'a row shows the title of the chat\'s item',
		await text(page, `#chat-${a}`));

	// ---- a conversation: newest 50, paged back, pictures, trade card, rule
	await page.click(`#chat-${a}`);
	ok(await waitText(page, '#chat-list', '历史消息 65', 10000), 'opening chat A shows its newest messages',
		(await text(page, '#chat-list')).slice(0, 300));
	const firstShown = await page.evaluate(() => {
		const m = [...document.querySelectorAll('#chat-list .msg-text')].map((e) => e.textContent);
		return m.filter((x) => /^历史消息 \d+$/.test(x)).map((x) => Number(x.split(' ')[1]));
	});
	ok(firstShown.length > 0 && !firstShown.includes(1) && Math.min(...firstShown) > 10,
		'the first page holds the newest messages only, not the whole history', JSON.stringify(firstShown));
	ok(await visible(page, '#chat-older', 3000), 'the 更早的消息 button shows');
	ok((await text(page, '#chat-older')) === '更早的消息', 'it says 更早的消息', await text(page, '#chat-older'));
	const before = await page.locator('#chat-list > li').count();
	await page.click('#chat-older');
	let older = false;
	for (const end = Date.now() + 10000; Date.now() < end && !older; await sleep(200))
		older = await page.evaluate(() => [...document.querySelectorAll('#chat-list .msg-text')]
			.some((e) => e.textContent === '历史消息 1'));
	const after = await page.locator('#chat-list > li').count();
	ok(older && after > before, `paged back: 历史消息 1 shows (${before} -> ${after} messages)`);
	ok(await page.evaluate(() => document.getElementById('chat-older').hidden), 'no 更早的消息 button at the start');
	w = await waitRows(page, (rs) => rs.some((r) => r.id === a && r.unread === ''), 5000);
	ok(w.ok, 'opening the chat cleared its unread count', show(w.rows));
	let srv = null;
	for (const end = Date.now() + 5000; Date.now() < end; await sleep(200)) {
		const l = await pageControl(page, 'list_chats', { limit: 10 });
		srv = ((l.body && l.body.data && l.body.data.chats) || []).find((x) => x.chat_id === a);
		if (srv && srv.unread === 0)
			break;
	}
	ok(srv && srv.unread === 0, 'and the bot has it read (chat_read: list_chats says unread 0)', JSON.stringify(srv));
	const img = await page.evaluate((u) => {
		const i = [...document.querySelectorAll('#chat-list img.msg-pic')].find((x) => x.src === u);
		return i ? { w: i.naturalWidth, done: i.complete } : null;
	}, PIC);
	let loaded = img && img.w > 0;
	for (const end = Date.now() + 5000; Date.now() < end && !loaded; await sleep(200))
		loaded = await page.evaluate((u) => [...document.querySelectorAll('#chat-list img.msg-pic')]
			.some((x) => x.src === u && x.naturalWidth > 0), PIC);
	ok(loaded && pics.n > 0, 'the buyer\'s picture (img.alicdn.com) shows', JSON.stringify(img));
	ok(await page.evaluate((u) => [...document.querySelectorAll('#chat-list a.msg-pic-link')].some((x) => x.href === u &&
		x.rel.includes('noopener')), OTHER_PIC) && others.n === 0,
	'a picture of another host is a link, never fetched (the CSP would refuse it)', `requests: ${others.n}`);
	ok(oid && await waitText(page, '#chat-list .msg-trade', [String(oid), '买家已拍下，待付款'], 5000) &&
		await visible(page, '#chat-list .msg-trade a.msg-order-link', 2000),
	'the order is a trade card: its id, its state in words, a link to the orders', await text(page, '#chat-list .msg-trade'));
	ok(await page.evaluate((t) => [...document.querySelectorAll('#chat-list .msg.bot')].some((m) =>
		m.textContent.includes(t) && (m.querySelector('.msg-label') || {}).textContent === '规则：price'), PRICE_REPLY),
	'the bot\'s reply is marked with its rule (规则：price)', await text(page, '#chat-list .msg.bot'));
	const order = await page.evaluate((t) => [...document.querySelectorAll('#chat-list > li')].map((m) => m.textContent)
		.filter((x) => x.includes('这个多少钱') || x.includes(t)).map((x) => (x.includes(t) ? 'bot' : 'buyer')), PRICE_REPLY);
	ok(order.join() === 'buyer,bot', 'the buyer\'s question comes before the bot\'s answer', order.join());
	ok(await page.evaluate(() => { const e = document.getElementById('chat-messages'); return e.scrollHeight > e.clientHeight; }),
		'the conversation scrolls inside its box');

	// ---- a reply from the page pauses the chat
	mark = await sentMark();
	await page.fill('#reply-text', '你好，我是卖家本人');
	await page.click('#reply-send');
	ok(await waitSent(a, mark, '你好，我是卖家本人', 10000), 'the simulator received the reply from the page',
		await text(page, '#reply-error'));
	ok(await waitText(page, '#chat-why', '已暂停：你在页面回复了', 10000), 'the chat shows 已暂停：你在页面回复了',
		`${await text(page, '#chat-why')} ${await text(page, '#reply-error')}`);
	w = await waitRows(page, (rs) => rs.some((r) => r.id === a && r.state === 'paused' && r.text.includes('已暂停')), 5000);
	ok(w.ok, 'the list shows chat A 已暂停', show(w.rows));
	ok(await page.evaluate(() => [...document.querySelectorAll('#chat-list .msg.seller_page')]
		.some((m) => m.textContent.includes('你好，我是卖家本人') && m.textContent.includes('你（页面）'))),
	'the reply shows as the seller\'s (from the page)', await text(page, '#chat-list .msg.seller_page'));
	ok(await page.evaluate(() => document.getElementById('reply-text').value === ''), 'the reply box is empty again');
	mark = await sentMark();
	await buyer('那多少钱？', { cid: a });
	ok(await waitText(page, '#chat-list', '那多少钱？', 10000), 'the buyer\'s next message shows live in the open chat');
	await sleep(2500);
	const quiet = await sentIn(a, mark);
	ok(quiet.length === 0, 'the paused chat: the bot does not answer 多少钱 (nothing sent in the simulator)',
		JSON.stringify(quiet.map((f) => f.content)));

	// ---- resume: the next question is answered
	ok(await visible(page, '#chat-resume', 3000) && (await text(page, '#chat-resume')) === '恢复自动回复',
		'the 恢复自动回复 button shows on the paused chat');
	await page.click('#chat-resume');
	ok(await waitText(page, '#chat-why', '自动回复中', 10000), 'one click resumes auto-reply', await text(page, '#chat-why'));
	ok(await page.evaluate(() => document.getElementById('chat-resume').hidden), 'no resume button on an auto chat');
	mark = await sentMark();
	await buyer('现在多少钱', { cid: a });
	ok(await waitSent(a, mark, PRICE_REPLY, 10000), 'after resume the bot answers 多少钱 again');
	ok(await waitText(page, '#chat-list', '现在多少钱', 10000), 'the conversation shows the buyer\'s question live');

	// ---- pause from the page, resume from the list
	await page.click('#chat-pause');
	w = await waitRows(page, (rs) => rs.some((r) => r.id === a && r.state === 'paused'), 10000);
	ok(w.ok && await waitText(page, '#chat-why', '已暂停', 3000), 'the 暂停 button pauses the chat', show(w.rows));
	await page.click('#chat-resume');
	w = await waitRows(page, (rs) => rs.some((r) => r.id === a && r.state === 'auto'), 10000);
	ok(w.ok, 'and resume again', show(w.rows));

	// ---- hand-over: 人工 puts chat B on top as 等你回复, even under newer chats
	await buyer('我要人工', { cid: b });
	await sleep(300);
	await buyer('好的谢谢', { cid: c });
	w = await waitRows(page, (rs) => rs.length >= 3 && rs[0].id === b && rs[0].state === 'waiting' && rs[0].waiting &&
		rs[0].text.includes('等你回复') && rs[1].id === c, 15000);
	ok(w.ok, 'a buyer writing 人工: the chat jumps to the top as 等你回复 (highlighted), above a newer chat', show(w.rows));
	ok(await page.evaluate((id) => getComputedStyle(document.getElementById(`chat-${id}`)).backgroundColor !==
		getComputedStyle(document.querySelector('#chats-list > li:not(.waiting)')).backgroundColor, b),
	'the waiting chat is highlighted');
	await page.click(`#chat-${b}`);
	ok(await waitText(page, '#chat-why', '等你回复', 10000), 'the open chat says 等你回复', await text(page, '#chat-why'));
	ok(await waitText(page, '#chat-list .msg.bot .msg-label', '转人工的回复', 10000),
		'the hand-over text is marked as the hand-over\'s reply', await text(page, '#chat-list'));
	await shot(page, env.SK_SHOT || '');
	await page.click('#chat-resume');
	w = await waitRows(page, (rs) => rs.some((r) => r.id === b && r.state === 'auto'), 10000);
	ok(w.ok && rs0(w.rows) !== b, 'resume ends the hand-over: the chat is auto and no longer pinned', show(w.rows));

	// ---- a refused send shows its reason
	await page.click(`#chat-${c}`);
	await waitText(page, '#chat-list', '好的谢谢', 10000);
	await sim('POST', '/fault', { seller: SELLER, kind: 'send_fail', n: 1, reason: 'CSI_FORBID' });
	await page.fill('#reply-text', '这条会被拒绝');
	await page.click('#reply-send');
	ok(await waitText(page, '#chat-list .msg.failed', '这条会被拒绝', 15000) &&
		await waitText(page, '#chat-list .msg.failed .msg-failed', '发送失败：', 5000),
	'a refused send is marked 发送失败 with its reason', await text(page, '#chat-list .msg.failed'));
	diag(`the refused send: ${await text(page, '#chat-list .msg.failed .msg-failed')}`);

	// ---- hostile text stays text
	await buyer('<img src=x id=sk-xss onerror="window.__skXss=1">坏<b id=sk-xss-b>b</b>', { cid: c });
	ok(await waitText(page, '#chat-list', 'onerror="window.__skXss=1"', 10000) &&
		!await page.evaluate(() => !!document.querySelector('#sk-xss, #sk-xss-b') || window.__skXss !== undefined),
	'a hostile buyer text shows as text, not as HTML');

	// ---- quick phrases: use, add, remove (saved in the rules file)
	await page.click('#phrases button.phrase:has-text("稍等，我看一下")');
	ok(await page.evaluate(() => document.getElementById('reply-text').value) === '稍等，我看一下',
		'a quick phrase goes into the reply box');
	await page.fill('#reply-text', '');
	await page.click('#phrases-manage');
	ok(await visible(page, '#phrases-editor', 3000), 'the quick phrases editor opens');
	await page.fill('#phrase-new', '亲，今天下单马上发货');
	await page.click('#phrase-add');
	ok(await waitText(page, '#phrases', '亲，今天下单马上发货', 10000) && await visible(page, '#phrases-result', 5000),
		'a quick phrase added on this screen is saved and shown', `${await text(page, '#phrases-error')}`);
	await page.click('#phrase-0-delete');
	let gone = false;
	for (const end = Date.now() + 10000; Date.now() < end && !gone; await sleep(200))
		gone = !(await text(page, '#phrases')).includes('在的，亲');
	ok(gone, 'a quick phrase removed is gone', `${await text(page, '#phrases')} ${await text(page, '#phrases-error')}`);
	const saved = await page.evaluate(async () => (await (await fetch('/api/rules', { credentials: 'same-origin' })).json()).rules);
	ok(saved && JSON.stringify(saved.quick_phrases) === JSON.stringify(['稍等，我看一下', '亲，今天下单马上发货']) &&
		Array.isArray(saved.keyword_rules) && saved.keyword_rules.length === 1,
	'the rules the bot holds: the two phrases, the keyword rule kept', JSON.stringify(saved));
	await page.click('#phrases-manage');
	mark = await sentMark();
	await page.click('#phrases button.phrase:has-text("亲，今天下单马上发货")');
	await page.click('#reply-send');
	ok(await waitSent(c, mark, '亲，今天下单马上发货', 10000), 'a quick phrase sent: the simulator received it');

	// ---- a picture from the page: a link of the platform's host; another scheme refused before sending
	await page.fill('#reply-image', 'http://img.alicdn.com/x.png');
	mark = await sentMark();
	await page.click('#reply-send');
	ok(await waitText(page, '#reply-error', 'https://', 3000), 'a picture link that is not https:// is refused on the page',
		await text(page, '#reply-error'));
	const SENT_PIC = 'https://img.alicdn.com/imgextra/i2/from-the-page.png';
	await page.fill('#reply-image', SENT_PIC);
	await page.click('#reply-send');
	let picSent = null;
	for (const end = Date.now() + 10000; Date.now() < end && !picSent; await sleep(250))
		picSent = (await sentIn(c, mark)).find((f) => JSON.stringify(f.content || {}).includes(SENT_PIC) && !f.error);
	ok(picSent && (await sentIn(c, mark)).length === 1, 'a picture sent from the page: the simulator received it (and nothing else)',
		JSON.stringify((await sentIn(c, mark)).map((f) => f.content)));
	ok(await page.waitForFunction((u) => [...document.querySelectorAll('#chat-list .msg.seller_page img.msg-pic')]
		.some((i) => i.src === u && i.naturalWidth > 0), SENT_PIC, { timeout: 10000 }).then(() => true, () => false),
	'the picture shows in the conversation as the seller\'s');

	// ---- 390 px: one column, back button, nothing off screen
	await phone(page);
	await page.locator('#sec-chats').scrollIntoViewIfNeeded();
	ok(await visible(page, '#chat-back', 3000) && !await page.locator('#chats-list').isVisible(),
		'390 px: an open chat fills the column (the list is hidden, a back button shows)');
	ok(await sideways(page) <= 0, '390 px: the page does not scroll sideways', String(await sideways(page)));
	let worst = await offScreen(page);
	ok(!worst, '390 px: nothing of the conversation is off screen', JSON.stringify(worst));
	await page.click('#chat-back');
	ok(await page.locator('#chats-list').isVisible() && !await page.locator('#chat-pane').isVisible(),
		'390 px: back shows the list');
	worst = await offScreen(page);
	ok(!worst && await sideways(page) <= 0, '390 px: nothing of the list is off screen', JSON.stringify(worst));
	if (env.SK_SHOT_PHONE_LIST)
		await shot(page, env.SK_SHOT_PHONE_LIST);
	await page.click(`#chat-${a}`);
	ok(await waitText(page, '#chat-list', '现在多少钱', 10000) && await page.locator('#chat-pane').isVisible(),
		'390 px: a row opens its chat');
	ok(await page.evaluate(() => { const e = document.getElementById('chat-messages');
		return e.scrollHeight - e.scrollTop - e.clientHeight < 40; }), 'an opened chat shows its newest message (scrolled to the end)');
	ok(!await offScreen(page) && await sideways(page) <= 0, '390 px: pictures and trade cards stay on screen',
		JSON.stringify(await offScreen(page)));
	if (env.SK_SHOT_PHONE)
		await shot(page, env.SK_SHOT_PHONE);
	await desktop(page);

	// ---- English
	await page.click('#lang-switch');
	ok(await waitText(page, 'a[href="#sec-chats"]', 'Chats', 3000) && (await text(page, '#chat-pause')) === 'Pause' &&
		(await text(page, '#reply-send')) === 'Send' && (await text(page, '#chat-why')).includes('Answered automatically'),
	'English: the screen switches language', await text(page, '#chat-head'));
	ok(await page.evaluate(() => [...document.querySelectorAll('#chats-list .chat-state')].some((e) => e.textContent === 'auto')) &&
		(await text(page, '#chat-list')).includes('rule: price'), 'English: states and labels too',
	await text(page, '#chats-list'));
	await shot(page, env.SK_SHOT_EN || '');
	await phone(page);
	ok(!await offScreen(page) && await sideways(page) <= 0 && await visible(page, '#chat-back', 3000) &&
		(await text(page, '#chat-back')).includes('All chats'), 'English at 390 px: one column, nothing off screen',
	JSON.stringify(await offScreen(page)));
	await desktop(page);
	await page.click('#lang-switch');
	ok(await waitText(page, '#chat-pause', '暂停', 3000), 'back to Chinese');

	await page.click('#decisions-refresh');
	await waitText(page, '#decisions-body', '多少钱', 10000);
	const cell = await page.evaluate(() => {
		const td = document.querySelector('#decisions-body td.msg');
		return td ? getComputedStyle(td).display : 'none';
	});
	ok(cell === 'table-cell', 'the chats styles leave the other screens alone (a decision\'s message cell is a table cell)', cell);

	ok(jsErrors.length === 0, 'no JavaScript errors', jsErrors.join('\n'));
}

function rs0(rs) {
	return rs.length ? rs[0].id : '';
}

finish(main);
