// SPDX-License-Identifier: MIT
//
// tests/browser/seller_flow.mjs - what a new seller does, on the page only
// (issue 21's "done when"), in headless Chromium against a running
// `shopkeep run` and the simulator: log in with the setup token, refresh
// the items, create a stock card, import codes, bind the card to an item
// picked by its title and spec, save; a buyer pays (simulator); the code
// arrives in the chat; the order row shows the item's title, the amount and
// the masked code; reveal it; resend it (the same code in a second message);
// a second order finds no stock: its row and the buyer's notice say so, and
// it is delivered after an import on the stock screen. The orders list is
// checked at desktop width and at 390 px.
//
// Environment:
//   SK_WEB_URL      the page, e.g. http://127.0.0.1:18080/
//   SK_SETUP_TOKEN  the one-time setup token the bot logged
//   SK_SIM_CTL      the simulator's control port (on 127.0.0.1)
//   SK_SELLER       the seller's unb (the simulator's account)
//   SK_SHOTS        the folder of the screenshots (web-orders.png,
//                   web-orders-phone.png, web-seller-flow*.png; optional)
//   SK_CHROMIUM     the browser (default /usr/bin/chromium)
//   SK_TIMEOUT_S    the overall limit (default 120)
//
// The items (61001 with the specs 时长:1个月 / 3个月, 61002 without) are
// defined in the simulator by test_web_seller_flow.c. Pictures on
// https://img.alicdn.com/ are answered here from a generated PNG.
//
// Prints one line per check, "ok - what" or "not ok - what"; "#" lines are
// diagnostics, "# skip: <what is missing>" a step this build cannot do yet
// (a command or a screen of issue 21 it lacks). Exits 0 when every check
// passed, else 1 (the shared part: lib.mjs).

import path from 'node:path';
import * as lib from './lib.mjs';
import { env, SETUP_TOKEN, SELLER, ok, diag, sleep, sim, visible, text, preflight, launch, openPage, load,
	submitSetup, png, serveImage, phone, desktop, sideways, screenshot, start, finish } from './lib.mjs';

const SHOTS = env.SK_SHOTS || '';
const SEND_LWP = '/r/MessageSend/sendByReceiverScope';

const ITEM = '61001', ITEM_TITLE = '爱奇艺黄金会员月卡', SPEC = '时长:1个月', PRICE_FEN = 1990, AMOUNT = '19.90';
const CARD = 'iqiyi-month', TEMPLATE = '您的会员卡密：{code}';
const CODE1 = 'FLOW-7Q2X-9KDM', CODE2 = 'FLOW-8R3Y-0LEN';
const NOTICE = '库存补充中';

start(120);

function skip(what) {
	diag(`skip: ${what}`);
}

// The texts the bot sent into chat cid since the sent-log position since
// (accepted sends only, repeats left out).
async function sentTexts(cid, since) {
	const s = await sim('GET', `/sent?since=${since || 0}&what=${encodeURIComponent(SEND_LWP)}`);
	return ((s.json && s.json.frames) || []).filter((f) => f.cid === cid && f.content && f.content.text &&
		typeof f.content.text.text === 'string' && f.message_id && !f.repeat && !f.refused && !f.error)
		.map((f) => f.content.text.text);
}

// Buyer buyer orders one of ITEM's SPEC in the simulator, and pays: the
// order's answer o, its id and chat, and the payment's answer p (null when
// there was no order).
async function payOrder(buyer) {
	const o = await sim('POST', '/order', { seller: SELLER, buyer_name: buyer, item_id: ITEM, spec: SPEC, quantity: 1,
		price: PRICE_FEN });
	const oid = o.json && (o.json.order_id || (o.json.order && o.json.order.order_id));
	const cid = o.json && (o.json.order && o.json.order.cid || (o.json.items && o.json.items[0] && o.json.items[0].cid));
	const p = oid ? await sim('POST', '/order/status', { seller: SELLER, order_id: oid, status: 'paid' }) : null;
	return { o, oid, cid, p };
}

async function sentNext() {
	const s = await sim('GET', `/sent?since=0&what=${encodeURIComponent(SEND_LWP)}`);
	return s.json && typeof s.json.next === 'number' ? s.json.next : 0;
}

// Polls until pred(texts of chat cid) holds; the last texts.
async function waitSent(cid, since, pred, ms) {
	let t = [];
	for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) {
		t = await sentTexts(cid, since);
		if (pred(t))
			return { ok: true, texts: t };
	}
	return { ok: false, texts: t };
}

// Here an array of strings waited for is any one of them (both languages).
const waitText = (page, sel, want, ms) => lib.waitText(page, sel, want, ms, true);

// A control command through the page's own session: {status, json}.
async function command(page, name, data) {
	return page.evaluate(async ([c, d]) => {
		const s = await (await fetch('/api/session')).json();
		const r = await fetch('/api/control', { method: 'POST', headers: { 'Content-Type': 'application/json',
			'X-CSRF-Token': s.csrf }, body: JSON.stringify({ request_id: 'flow', command: c, data: d || {} }) });
		let j = null;
		try {
			j = await r.json();
		} catch { /* not JSON */ }
		return { status: r.status, json: j };
	}, [name, data]);
}

// Whether the running bot knows control command name (an unknown one is
// 404 "unknown command").
async function hasCommand(page, name) {
	const r = await command(page, name, {});
	return !(r.status === 404 && r.json && /unknown command/.test(String(r.json.error)));
}

// The order's row of the orders list, as orders_list answers it.
async function orderRow(page, oid) {
	const r = await command(page, 'orders_list', { limit: 100 });
	const list = r.json && r.json.data && Array.isArray(r.json.data.orders) ? r.json.data.orders : [];
	return list.find((o) => String(o.order_id) === String(oid)) || null;
}

// Refreshes the orders screen until the row of oid holds every string of
// want; true/false.
async function rowHas(page, oid, want, ms) {
	const sel = `#orders-body tr[data-order="${oid}"]`;
	for (const end = Date.now() + ms; Date.now() < end; await sleep(400)) {
		const t = await text(page, sel);
		if (want.every((w) => (w instanceof Array ? w.some((x) => t.includes(x)) : t.includes(w))))
			return true;
		await page.click('#orders-refresh');
		await sleep(300);
	}
	return false;
}

// Horizontal overflow of the document at the current width (px).
const overflow = sideways;

// Elements under sel that reach past the viewport's right edge (a text).
async function offscreen(page, sel) {
	return page.evaluate((s) => {
		const w = document.documentElement.clientWidth, out = [];
		for (const e of document.querySelectorAll(s)) {
			const r = e.getBoundingClientRect();
			if (r.width && (r.right > w + 1 || r.left < -1))
				out.push(`${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
		}
		return out.slice(0, 8).join('\n');
	}, sel);
}

async function shot(page, name, full) {
	if (SHOTS)
		await screenshot(page, path.join(SHOTS, name), !!full, `screenshot ${name}`);
}

async function scrollTo(page, sel) {
	try {
		await page.locator(sel).first().scrollIntoViewIfNeeded({ timeout: 3000 });
	} catch { /* the screenshot shows where it is */ }
}

// ---- the shop screens (web/shop.js, the shop-page part of issue 21)

// The new card and its delivery rule made on the page's shop screens
// (web/shop.js): a stock card, then a rule whose item is picked by its title
// and whose spec is picked from the item's specs, saved with the screen's
// save button. items: whether the item list is there (else the item id and
// spec are typed, and the step says so). Returns true when saved there;
// false when this build lacks the screens (then the rules go through
// /api/rules, as the page's editor would save them, so that the orders
// screen is still tested; the step is reported as skipped).
async function shopSetup(page, items) {
	if (!(await page.locator('#card-add-stock').count())) {
		skip('the cards and delivery rules screens (web/shop.js) are not in this build: ' +
			'the card and its rule are saved through PUT /api/rules instead');
		return false;
	}
	await scrollTo(page, '#sec-cards');
	const n = await page.locator('#cards-list .card-rule').count();
	await page.click('#card-add-stock');
	await page.fill(`#card-${n}-name`, CARD);
	await page.fill(`#card-${n}-template`, TEMPLATE);
	// a seller types the name, then goes to the template: what was typed stays
	const typed = await page.locator(`#card-${n}-template`).inputValue();
	if (!ok(typed === TEMPLATE, 'the template typed right after the card\'s name stays in its field',
		`the field holds ${JSON.stringify(typed)}: the name's change event re-rendered the card under the typing`))
		await page.fill(`#card-${n}-template`, TEMPLATE);
	if (await page.locator(`#card-${n}-low`).count())
		await page.fill(`#card-${n}-low`, '1');
	const m = await page.locator('#delivery-list .delivery-rule').count();
	await page.click('#delivery-add');
	const p = `#delivery-${m}-`;
	if (items) {
		const label = `${ITEM_TITLE} (${ITEM})`;
		try {
			await page.selectOption(`${p}item`, { label });
		} catch (e) {
			ok(false, `the item "${ITEM_TITLE}" can be picked by its title`, `${e.message}\n${await text(page, `${p}item`)}`);
			return true;
		}
		ok(await page.locator(`${p}item`).inputValue() === ITEM, `the item is picked by its title (${label})`);
		try {
			await page.selectOption(`${p}spec`, { label: SPEC });
		} catch (e) {
			ok(false, `the spec "${SPEC}" can be picked from the item's specs`, `${e.message}\n${await text(page, `${p}spec`)}`);
			return true;
		}
		ok(await page.locator(`${p}spec`).inputValue() === SPEC, `the spec is picked from the item's specs (${SPEC})`);
	} else {
		skip('no item list: the rule\'s item id and spec are typed, not picked by title');
		await page.selectOption(`${p}item`, '__other');
		await page.fill(`${p}item-id`, ITEM);
		await page.locator(`${p}item-id`).dispatchEvent('change');
		await page.fill(`${p}spec`, SPEC);
	}
	await page.selectOption(`${p}card`, CARD);
	await shot(page, 'web-seller-flow-rules.png');
	await page.click('#cards-save');
	ok(await visible(page, '#cards-saved', 10000), 'the card and its delivery rule are saved on the page',
		`${await text(page, '#cards-errors-box')}`);
	const saved = await page.evaluate(async () => (await (await fetch('/api/rules')).json()).rules || {});
	const card = (saved.cards || []).find((c) => c && c.name === CARD);
	const rule = (saved.delivery || []).find((r) => r && r.card === CARD);
	ok(card && card.type === 'stock' && card.template === TEMPLATE && rule && rule.item_id === ITEM && rule.spec === SPEC,
		'the rules file has the card and the rule as entered', JSON.stringify({ cards: saved.cards, delivery: saved.delivery }));
	return true;
}

// The card's codes imported on the page: the stock screen of the shop
// page, else the older import form of the same section.
async function importCodes(page, codes) {
	await page.locator('#import-card').scrollIntoViewIfNeeded();
	try {
		await page.waitForFunction((c) => [...document.querySelectorAll('#import-card option')].some((o) => o.value === c),
			CARD, { timeout: 10000 });
	} catch { /* reported */ }
	await page.selectOption('#import-card', CARD);
	await page.fill('#import-codes', codes.join('\n') + '\n');
	await page.click('#import-submit');
	return await visible(page, '#import-result', 10000) &&
		new RegExp(`新增 ${codes.length} 个|\\b${codes.length} added`).test(await text(page, '#import-result'));
}

// A paid order with no code in stock: "retry now" asks first and is done
// (it waits again), then "deliver by hand" sends the typed text, which the
// buyer gets and the order records as its delivery (the unit marked).
async function handDelivery(page) {
	const HAND = 'HAND-5566-7788 请在“我的卡包”兑换';
	const since = await sentNext();
	const HOSTILE = '<img src=x id=sk-xss onerror="window.__skXss=1">小张';
	const o3 = await sim('POST', '/order', { seller: SELLER, buyer_name: HOSTILE, item_id: ITEM, spec: SPEC, quantity: 1,
		price: PRICE_FEN });
	const oid = o3.json && o3.json.order && o3.json.order.order_id;
	const cid = o3.json && o3.json.order && o3.json.order.cid;
	const paid = oid ? await sim('POST', '/order/status', { seller: SELLER, order_id: oid, status: 'paid' }) : null;
	if (!ok(oid && paid && paid.status === 200, `a third buyer paid order ${oid}, with no code in stock`, o3.text))
		return;
	const sel = `#orders-body tr[data-order="${oid}"]`;
	ok(await rowHas(page, oid, [['等待补货', 'waiting for stock']], 15000), 'it waits for stock', await text(page, sel));
	await page.click(`#order-${oid}-open`);
	await visible(page, `#order-${oid}-detail`, 5000);
	ok((await text(page, sel)).includes('onerror=') && !(await page.evaluate(() => !!document.querySelector('#sk-xss') ||
		window.__skXss !== undefined)), 'a hostile buyer name shows as text, not as HTML (row and detail)', await text(page, sel));
	ok(await visible(page, `#order-${oid}-retry`, 10000) && !(await page.locator(`#order-${oid}-retry`).isDisabled()) &&
		!(await page.locator(`#order-${oid}-deliver`).isDisabled()),
	'a waiting order offers retry and deliver by hand', await text(page, `#order-${oid}-detail`));
	await page.click(`#order-${oid}-retry`);
	ok(await visible(page, '#order-dialog', 5000), 'retry asks first');
	await page.click('#order-dialog-ok');
	ok(await waitText(page, '#orders-result', oid, 10000), `the retry is done (${await text(page, '#orders-result')})`,
		`${await text(page, '#order-dialog-error')}`);
	ok(await rowHas(page, oid, [['等待补货', 'waiting for stock']], 10000), 'with no stock it waits again', await text(page, sel));
	ok(await waitText(page, `#order-${oid}-timeline`, ['操作', 'action'], 10000), 'the retry is in the timeline',
		await text(page, `#order-${oid}-timeline`));
	await page.click(`#order-${oid}-ship`);
	ok(await visible(page, '#order-dialog', 5000) && (await text(page, '#order-dialog-title')).length > 0,
		'confirm shipment asks first');
	await page.click('#order-dialog-ok');
	ok(await waitText(page, '#orders-result', oid, 10000), `the shipment is confirmed (${await text(page, '#orders-result')})`,
		await text(page, '#order-dialog-error'));
	let consigned = null;
	for (const end = Date.now() + 10000; Date.now() < end && !consigned; await sleep(300)) {
		const g = await sim('GET', '/orders');
		const so = ((g.json && g.json.orders) || []).find((x) => String(x.order_id) === String(oid));
		if (so && so.status === 'shipped')
			consigned = so;
	}
	ok(consigned, 'the platform has the order shipped (consign)', JSON.stringify(consigned));
	ok(await rowHas(page, oid, [['已确认发货', 'shipment confirmed']], 10000), 'the row says the shipment is confirmed',
		await text(page, sel));
	await page.click(`#order-${oid}-deliver`);
	ok(await visible(page, '#order-dialog-input', 5000), 'deliver by hand asks for the text in the dialog');
	await page.click('#order-dialog-ok');
	ok(await visible(page, '#order-dialog-error', 3000) && await page.locator('#order-dialog').isVisible(),
		'an empty text is refused in the dialog, which stays open', await text(page, '#order-dialog-error'));
	await page.fill('#order-dialog-input', HAND);
	await shot(page, 'web-seller-flow-deliver.png');
	await page.click('#order-dialog-ok');
	ok(!(await page.locator('#order-dialog').isVisible()) || await waitText(page, '#orders-result', oid, 10000),
		'the dialog closes with the answer', await text(page, '#order-dialog-error'));
	const got = await waitSent(cid, since, (t) => t.some((x) => x.includes(HAND)), 15000);
	ok(got.ok, 'the buyer got the text delivered by hand', JSON.stringify(got.texts));
	ok(await rowHas(page, oid, [['已发货', 'delivered'], ['手动发货', 'by hand']], 15000),
		'the row says delivered, by hand (手动发货)', await text(page, sel));
	await page.click(`#order-${oid}-open`);
}

async function main() {
	if (!preflight(['SK_WEB_URL', 'SK_SETUP_TOKEN', 'SK_SIM_CTL', 'SK_SELLER']))
		return;

	const context = await launch('sk-flow-test-');
	// the platform's pictures, answered here: no internet in tests
	const pics = await serveImage(context, 'https://img.alicdn.com/**', png(96, 96, [232, 96, 40], true));
	const { page, jsErrors } = await openPage(context);

	// ---- log in with the setup token
	const resp = await load(page);
	const csp = resp ? resp.headers()['content-security-policy'] || '' : '';
	if (!ok(await visible(page, '#setup-form', 10000), 'the setup form shows (a new seller: no password yet)'))
		return;
	await lib.tofuCheck(page);
	if (!ok(await submitSetup(page, SETUP_TOKEN), 'logged in with the setup token', await text(page, '#setup-error')))
		return;
	ok(await lib.visible(page, '#events-status[data-state="live"]', 10000), 'the live events are connected');

	const caps = {};
	for (const c of ['items_list', 'order_get', 'order_reveal', 'order_resend', 'order_retry', 'order_deliver', 'stock_codes'])
		caps[c] = await hasCommand(page, c);
	diag(`commands: ${Object.entries(caps).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ')}`);

	// ---- the items: refreshed from the platform on the page
	if (!caps.items_list) {
		skip('items_list (the items plugin, issue 21 item 1) is not in this build: no item titles');
	} else if (!(await page.locator('#items-refresh').count())) {
		skip('the items screen (web/shop.js) is not in this build');
	} else {
		await page.click('#items-refresh');
		ok(await waitText(page, '#sec-items', ITEM_TITLE, 20000), `the items screen lists "${ITEM_TITLE}" after a refresh`,
			await text(page, '#sec-items'));
	}

	// ---- a stock card, bound to the item by its title and spec, saved
	const onPage = await shopSetup(page, caps.items_list);
	if (!onPage) {
		const r = await page.evaluate(async ([card, tmpl, item, spec]) => {
			const s = await (await fetch('/api/session')).json();
			const cur = (await (await fetch('/api/rules')).json()).rules || {};
			cur.cards = (cur.cards || []).concat([{ name: card, type: 'stock', template: tmpl, low_stock: 1 }]);
			cur.delivery = (cur.delivery || []).concat([{ item_id: item, spec, card }]);
			const res = await fetch('/api/rules', { method: 'PUT', headers: { 'Content-Type': 'application/json',
				'X-CSRF-Token': s.csrf }, body: JSON.stringify(cur) });
			return { status: res.status, text: await res.text() };
		}, [CARD, TEMPLATE, ITEM, SPEC]);
		if (!ok(r.status === 200, 'the card and its delivery rule are saved', r.text))
			return;
	}
	await page.click('#stock-refresh');
	ok(await importCodes(page, [CODE1]), 'one code imported on the page', `${await text(page, '#import-result')} ${await text(page, '#import-error')}`);

	// ---- a buyer pays; the code arrives in the chat
	const since = await sentNext();
	const { o: o1, oid: oid1, cid: cid1, p: p1 } = await payOrder('小王');
	if (!ok(oid1 && cid1 && p1 && p1.status === 200, `a buyer placed and paid order ${oid1} (chat ${cid1})`,
		`${o1.text} ${p1 && p1.text}`))
		return;
	const want1 = TEMPLATE.replace('{code}', CODE1);
	const got1 = await waitSent(cid1, since, (t) => t.includes(want1), 20000);
	ok(got1.ok, `the code arrives in the buyer's chat ("${want1}")`, JSON.stringify(got1.texts));

	// ---- the order row: the item's title, the amount, the masked code
	await scrollTo(page, '#sec-orders');
	const row1 = await orderRow(page, oid1);
	diag(`orders_list row: ${JSON.stringify(row1)}`);
	const sel1 = `#orders-body tr[data-order="${oid1}"]`;
	ok(await waitText(page, sel1, '已发货', 15000), 'the order appears delivered live, without a refresh (the orders.* events)',
		await text(page, '#orders-body'));
	ok(await rowHas(page, oid1, [['已发货', 'delivered']], 15000), 'the orders screen shows the order delivered (已发货)',
		await text(page, sel1));
	if (caps.items_list)
		ok(await rowHas(page, oid1, [ITEM_TITLE], 15000), `the row shows the item's title (${ITEM_TITLE})`, await text(page, sel1));
	else
		ok((await text(page, sel1)).includes(ITEM), 'without the items plugin the row shows the item id', await text(page, sel1));
	if (row1 && typeof row1.amount === 'string' && row1.amount)
		ok(await rowHas(page, oid1, [`¥${AMOUNT}`], 5000), `the row shows the amount (¥${AMOUNT})`, await text(page, sel1));
	else
		skip('orders_list has no amount for the order (the pull part of issue 21 writes it)');
	const unit1 = row1 && Array.isArray(row1.units) ? row1.units[0] : null;
	if (unit1 && typeof unit1.masked === 'string') {
		const rowText = await text(page, sel1);
		ok(unit1.masked && unit1.masked !== CODE1 && rowText.includes(unit1.masked) && !rowText.includes(CODE1),
			`the row shows the code masked (${unit1.masked}), not the code`, rowText);
	} else {
		skip('orders_list has no masked codes (the actions part of issue 21)');
	}

	// ---- open it: the unit, reveal, the timeline
	await page.click(`#order-${oid1}-open`);
	const detail = await visible(page, `#order-${oid1}-detail`, 5000);
	ok(detail, 'the order opens under its row');
	if (!caps.order_get || !caps.order_reveal) {
		skip('order_get / order_reveal (the actions part of issue 21) are not in this build');
	} else {
		ok(await visible(page, `#order-${oid1}-reveal-1`, 10000), 'the opened order lists its unit with a reveal button',
			await text(page, `#order-${oid1}-detail`));
		await page.click(`#order-${oid1}-reveal-1`);
		ok(await waitText(page, `#order-${oid1}-unit-1`, CODE1, 10000), `reveal shows the code (${CODE1})`,
			await text(page, `#order-${oid1}-unit-1`));
		ok(await waitText(page, `#order-${oid1}-timeline`, ['查看', 'reveal'], 10000),
			'the reveal is in the order\'s timeline', await text(page, `#order-${oid1}-timeline`));
		const off = [];
		for (const a of ['retry', 'deliver', 'ship'])
			if (!(await page.locator(`#order-${oid1}-${a}`).isDisabled()))
				off.push(a);
		ok(!off.length && !(await page.locator(`#order-${oid1}-resend-1`).isDisabled()),
			'a delivered, shipped order offers resend only (retry, deliver and ship are off)', `enabled: ${off.join(' ')}`);
	}
	await shot(page, 'web-orders.png');

	// ---- resend: the same code in a second message
	if (!caps.order_resend) {
		skip('order_resend (the actions part of issue 21) is not in this build');
	} else {
		const before = (await sentTexts(cid1, since)).filter((t) => t === want1).length;
		await page.click(`#order-${oid1}-resend-1`);
		ok(await visible(page, '#order-dialog', 5000) && (await text(page, '#order-dialog-title')).length > 0,
			'resend asks first, in the page\'s dialog', await text(page, '#order-dialog'));
		await shot(page, 'web-seller-flow-dialog.png');
		await page.click('#order-dialog-ok');
		ok(await visible(page, '#orders-result', 10000), 'the answer shows above the list',
			`${await text(page, '#order-dialog-error')} ${await text(page, '#orders-error')}`);
		const got = await waitSent(cid1, since, (t) => t.filter((x) => x === want1).length >= before + 1, 15000);
		ok(got.ok && got.texts.filter((x) => x === want1).length === before + 1,
			'the buyer got the same code again in a second message', JSON.stringify(got.texts));
	}

	// ---- out of stock: the notice, then delivered after an import
	const since2 = await sentNext();
	const { o: o2, oid: oid2, cid: cid2, p: p2 } = await payOrder('小李');
	ok(oid2 && p2 && p2.status === 200, `a second buyer paid order ${oid2}, with no code in stock`, `${o2.text} ${p2 && p2.text}`);
	const sel2 = `#orders-body tr[data-order="${oid2}"]`;
	ok(await rowHas(page, oid2, [['等待补货', 'waiting for stock']], 15000), 'its row says it waits for stock (等待补货)',
		await text(page, sel2));
	await page.selectOption('#orders-filter', 'attention');
	let only2 = false;
	try {
		await page.waitForFunction(([a, b]) => !!document.querySelector(`#orders-body tr[data-order="${b}"]`) &&
			!document.querySelector(`#orders-body tr[data-order="${a}"]`), [String(oid1), String(oid2)], { timeout: 5000 });
		only2 = true;
	} catch { /* reported */ }
	ok(only2,
		'the needs-attention filter shows it, and not the delivered order', await text(page, '#orders-body'));
	await page.selectOption('#orders-filter', 'all');
	const notice = await waitSent(cid2, since2, (t) => t.some((x) => x.includes(NOTICE)), 10000);
	if (notice.ok || (await command(page, 'orders_list', { limit: 1 })).json?.data?.orders?.[0]?.notices !== undefined) {
		ok(notice.ok, `the buyer got the waiting notice ("${NOTICE}…")`, JSON.stringify(notice.texts));
		ok(await rowHas(page, oid2, [['已通知买家', 'Buyer told'], ['补货中通知', 'waiting for stock']], 10000),
			'the row says the buyer was told it waits for stock (已通知买家：补货中通知)', await text(page, sel2));
	} else
		skip('buyer notices (the notices part of issue 21) are not in this build');
	await shot(page, 'web-seller-flow-waiting.png');
	ok(await importCodes(page, [CODE2]), 'a code imported on the stock screen', await text(page, '#import-error'));
	const want2 = TEMPLATE.replace('{code}', CODE2);
	const got2 = await waitSent(cid2, since2, (t) => t.includes(want2), 20000);
	ok(got2.ok, `the waiting order is delivered after the import ("${want2}")`, JSON.stringify(got2.texts));
	await scrollTo(page, '#sec-orders');
	ok(await rowHas(page, oid2, [['已发货', 'delivered']], 15000), 'its row says delivered (已发货)', await text(page, sel2));

	// ---- a third order with no stock: retry now (still no stock), then delivered by hand
	if (!caps.order_retry || !caps.order_deliver) {
		skip('order_retry / order_deliver (the actions part of issue 21) are not in this build');
	} else {
		await handDelivery(page);
	}

	// ---- pictures: only from the platform's image host, loaded under the CSP
	if (!/img-src[^;]*https:\/\/img\.alicdn\.com/.test(csp)) {
		skip('the page\'s CSP does not allow https://img.alicdn.com yet: the item pictures are not checked');
	} else if (caps.items_list) {
		const loaded = await page.evaluate((id) => {
			const i = document.querySelector(`#orders-body tr[data-order="${id}"] img.order-pic`);
			return !!i && i.complete && i.naturalWidth > 0;
		}, oid1);
		ok(loaded && pics.n > 0, 'the row shows the item\'s picture (served by the test for the platform\'s host)',
			`requests ${pics.n}`);
	}

	// ---- the language switch: the screen in English
	if (await page.locator('#lang-switch').count()) {
		await page.click('#lang-switch');
		ok(await waitText(page, '#orders-title', 'Orders', 3000) && await rowHas(page, oid1, ['delivered'], 3000),
			'the 中文/EN switch shows the orders screen in English', await text(page, sel1));
		await page.click('#lang-switch');
		ok(await waitText(page, '#orders-title', '订单', 3000), 'and back in Chinese');
	}

	// ---- phone width: the navigation and the orders as cards, nothing off screen
	await phone(page);
	await sleep(300);
	ok(await overflow(page) <= 1, 'the page fits 390 px without sideways scrolling', `overflow ${await overflow(page)} px`);
	const navOff = await offscreen(page, '.nav a');
	ok(!navOff, 'every link of the navigation is on screen at 390 px', navOff);
	const rowsOff = await offscreen(page, '#sec-orders td, #sec-orders button, #sec-orders select');
	ok(!rowsOff, 'no part of the orders screen is off screen at 390 px', rowsOff);
	const card = await page.evaluate((s) => {
		const r = document.querySelector(s);
		return r ? getComputedStyle(r).display : '';
	}, sel1);
	ok(card === 'block', `the orders are cards at 390 px (a row is display: ${card})`);
	ok(await rowHas(page, oid1, [caps.items_list ? ITEM_TITLE : ITEM, ['已发货', 'delivered']], 5000),
		'the card shows the item and the delivery', await text(page, sel1));
	if (SHOTS) {
		await page.evaluate(() => window.scrollTo(0, 0));
		await shot(page, 'web-seller-flow-nav-phone.png');
	}
	await scrollTo(page, '#sec-orders');
	await shot(page, 'web-orders-phone.png');
	if (caps.order_resend) {
		await page.click(`#order-${oid2}-open`);
		await visible(page, `#order-${oid2}-detail`, 5000);
		await page.click(`#order-${oid2}-resend-1`);
		ok(await visible(page, '#order-dialog', 5000) && !(await offscreen(page, '#order-dialog button')),
			'the dialog fits 390 px', await offscreen(page, '#order-dialog button'));
		await shot(page, 'web-seller-flow-dialog-phone.png');
		await page.click('#order-dialog-cancel');
		ok(!(await page.locator('#order-dialog').isVisible()), 'cancel closes the dialog (nothing sent)');
	}
	await desktop(page);
	await sleep(200);
	await shot(page, 'web-seller-flow.png', true);

	ok(!jsErrors.length, 'no JavaScript errors and no Content-Security-Policy violations', jsErrors.join('\n'));
}

await finish(main);
