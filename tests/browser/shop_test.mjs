// SPDX-License-Identifier: MIT
//
// tests/browser/shop_test.mjs - the shop screens of the page (web/shop.js) in
// headless Chromium against a running `shopkeep run` (plugins dedup,
// autoreply, orders, items) and the simulator: the items synced from the
// platform (pictures served locally for https://img.alicdn.com), each card
// type created, a delivery rule bound to an item picked by its title and
// spec, saved and still there after a reload; an ambiguous rule refused with
// the message beside it; notices and the rating chore; stock import from a
// file, reveal, delete, export and the low-stock threshold; the 中文/EN
// switch; screenshots at desktop and 390 px width.
//
// Environment:
//   SK_WEB_URL      the page, e.g. http://127.0.0.1:18080/
//   SK_SETUP_TOKEN  the one-time setup token the bot logged
//   SK_SIM_CTL      the simulator's control port (on 127.0.0.1)
//   SK_SHOT         desktop screenshot (PNG), SK_SHOT_PHONE the same at 390 px,
//                   SK_SHOT_EN the English desktop one (all optional)
//   SK_CHROMIUM     the browser (default /usr/bin/chromium)
//   SK_TIMEOUT_S    the overall limit (default 120)
//
// Prints one line per check, "ok - what" or "not ok - what" (lines starting
// with "#" are diagnostics), and exits 0 when every check passed, else 1
// (the shared part: lib.mjs).

import fs from 'node:fs';
import { env, SETUP_TOKEN, ok, diag, sim, waitText, visible, text, preflight, launch, openPage, load,
	submitSetup, png, serveImage, phone, desktop, screenshot, start, finish, tofuCheck } from './lib.mjs';

const ITEM = '50001', ITEM_TITLE = '王者荣耀点券', SPEC = '面值:50元';
const ITEM2 = '50002', ITEM2_TITLE = '视频会员月卡';
const PIC = 'https://img.alicdn.com/bao/uploaded/i1/shop-test.png';

start(120);

async function pageRules(page) {
	return page.evaluate(async () => {
		const r = await fetch('/api/rules', { credentials: 'same-origin' });
		return (await r.json()).rules || {};
	});
}

// A control command from the page's session (for what the page does not show).
async function pageControl(page, command, data) {
	return page.evaluate(async ([c, d]) => {
		const s = await (await fetch('/api/session', { credentials: 'same-origin' })).json();
		const r = await fetch('/api/control', { method: 'POST', credentials: 'same-origin',
			headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
			body: JSON.stringify({ request_id: 't', command: c, data: d }) });
		return { status: r.status, body: await r.json() };
	}, [command, data]);
}

// Nothing of the header and the shop screens wider than the viewport: the
// widest element's right edge (the older screens are issue 22's).
async function overflow(page) {
	return page.evaluate(() => {
		const w = document.documentElement.clientWidth;
		let worst = null;
		for (const e of document.querySelectorAll('.topbar-row *, #sec-items *, #sec-cards *, #sec-stock *')) {
			const r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 1 && getComputedStyle(e).visibility !== 'hidden' &&
				!e.closest('.nav') && (!worst || r.right > worst.right))
				worst = { right: Math.round(r.right), tag: e.tagName, id: e.id, cls: String(e.className) };
		}
		return { width: w, worst };
	});
}

async function login(page) {
	const resp = await load(page);
	const csp = resp ? resp.headers()['content-security-policy'] || '' : '';
	ok(/img-src 'self' data: https:\/\/img\.alicdn\.com;/.test(csp) && !/img-src[^;]*\*/.test(csp),
		'the CSP lets pictures of https://img.alicdn.com only (besides the page and data:)', csp);
	if (!await visible(page, '#setup-form', 10000))
		return ok(false, 'the setup form shows', await text(page, '#login-view'));
	await tofuCheck(page);
	return ok(await submitSetup(page, SETUP_TOKEN), 'logged in', await text(page, '#setup-error'));
}

async function rulesLoaded(page) {
	try {
		await page.waitForFunction(() => document.querySelector('#cards-save') &&
			!document.querySelector('#cards-save').disabled, null, { timeout: 10000 });
		return true;
	} catch {
		return false;
	}
}

async function save(page, prefix) {
	await page.click(`#${prefix}-save`);
	const good = await visible(page, `#${prefix}-saved`, 10000);
	return good || (diag(`save: ${await text(page, `#${prefix}-errors-box`)}`), false);
}

// Adds a card of type (stock, text, image) on the cards screen and names it;
// its index (the last card).
async function addCard(page, type, name) {
	await page.click(`#card-add-${type}`);
	const n = await page.locator('#cards-list .card-rule').count() - 1;
	await page.fill(`#card-${n}-name`, name);
	await page.locator(`#card-${n}-name`).dispatchEvent('change');
	return n;
}

async function main() {
	if (!preflight(['SK_WEB_URL', 'SK_SETUP_TOKEN', 'SK_SIM_CTL']))
		return;

	// ---- the seller's items on the platform
	let r = await sim('POST', '/item', { item_id: ITEM, title: ITEM_TITLE, price: 5000, quantity: 20, pic_url: PIC,
		skus: [{ spec: SPEC, price: 5000, quantity: 10 }, { spec: '面值:100元', price: 10000, quantity: 10 }] });
	ok(r.status === 200, 'the simulator has an item with two specs', r.text);
	r = await sim('POST', '/item', { item_id: ITEM2, title: ITEM2_TITLE, price: 1990, quantity: 5,
		pic_url: 'https://example.com/item2.jpg' });
	ok(r.status === 200, 'and one without specs', r.text);

	const context = await launch('sk-shop-test-', { acceptDownloads: true });
	// a 4x4 PNG in one colour, made here (no file in the repository)
	const picture = png(4, 4, [230, 90, 30]);
	// the platform's picture host, served here (no internet in tests)
	const pics = await serveImage(context, 'https://img.alicdn.com/**', picture);
	const others = await serveImage(context, 'https://example.com/**', picture);
	const { page, jsErrors } = await openPage(context);
	page.on('dialog', (d) => d.accept());

	if (!await login(page))
		return;
	if (!ok(await rulesLoaded(page), 'the cards editor has the rules document', await text(page, '#rules-load-error')))
		return;

	// ---- the language: Chinese first, English on the switch, kept
	ok((await text(page, '#sec-items h2')) === '商品' && (await text(page, '#sec-cards h2')) === '卡券与发货规则' &&
		(await text(page, 'a[href="#sec-cards"]')) === '卡券与发货' && (await text(page, '#lang-switch')) === 'EN',
	'the shop screens are in Chinese by default', `${await text(page, '#sec-items h2')} / ${await text(page, '#sec-cards h2')}`);

	// ---- items: refreshed from the platform, with pictures, prices, specs
	await page.click('#items-refresh');
	const listed = await waitText(page, '#items-body', [ITEM_TITLE, ITEM2_TITLE], 30000);
	ok(listed, 'the items refreshed from the platform are listed by title',
		`${await text(page, '#items-body')} ${await text(page, '#items-error')} ${await text(page, '#items-status')}`);
	// the details (stock, specs) come after the list pages: the page polls while the refresh runs
	const full = await waitText(page, `#item-${ITEM}`, ['¥50.00', SPEC, '面值:100元', '¥100.00'], 20000);
	ok(full && (await text(page, '#items-status')).includes('同步于'), 'an item row shows its price and specs once synced',
		`${await text(page, `#item-${ITEM}`)} | ${await text(page, '#items-status')}`);
	let loaded = false;
	try {
		await page.waitForFunction((id) => {
			const i = document.querySelector(`#item-${id} img`);
			return !!i && i.complete && i.naturalWidth === 4;
		}, ITEM, { timeout: 10000 });
		loaded = true;
	} catch { /* reported */ }
	ok(loaded && pics.n > 0, `the item's picture loads from img.alicdn.com (${pics.n} requests)`);
	ok(await page.locator(`#item-${ITEM2} .no-pic`).count() === 1 && await page.locator(`#item-${ITEM2} img`).count() === 0,
		'an item whose picture is on another host shows the placeholder');

	// ---- cards: one of each type
	let n = await addCard(page, 'stock', 'shop-stock');
	const stockIdx = n;
	await page.fill(`#card-${n}-template`, '点券卡密：{code}，订单 {order_id}');
	await page.fill(`#card-${n}-low`, '2');
	await page.check(`#card-${n}-ad-on`);
	await page.fill(`#card-${n}-ad-text`, '在游戏里的“兑换”页输入卡密');
	n = await addCard(page, 'text', 'shop-text');
	await page.fill(`#card-${n}-template`, '{buyer_name}，会员已开通');
	await page.fill(`#card-${n}-delay`, '3');
	n = await addCard(page, 'image', 'shop-img');
	await page.fill(`#card-${n}-url`, 'https://example.com/guide.png');
	await page.fill(`#card-${n}-width`, '640');
	await page.fill(`#card-${n}-height`, '960');

	// ---- a delivery rule: the item found by its title, then its spec
	await page.click('#delivery-add');
	const d = await page.locator('#delivery-list .delivery-rule').count() - 1;
	await page.fill(`#delivery-${d}-search`, '王者');
	let picked = false;
	try {
		await page.waitForFunction((i) => document.querySelector(`#delivery-${i}-item`).value === '50001', d,
			{ timeout: 5000 });
		picked = true;
	} catch { /* reported */ }
	ok(picked, 'typing part of the title picks the only matching item',
		await page.locator(`#delivery-${d}-item`).innerText().catch(() => ''));
	const specs = await page.locator(`#delivery-${d}-spec option`).allInnerTexts().catch(() => []);
	ok(specs.includes(SPEC) && specs.includes('面值:100元') && specs.length === 3,
		`the spec is picked from that item's specs (${specs.join(' | ')})`);
	await page.selectOption(`#delivery-${d}-spec`, SPEC).catch(() => {});
	await page.selectOption(`#delivery-${d}-card`, 'shop-stock').catch(() => {});
	await page.fill(`#delivery-${d}-quantity`, '2');
	// the second item: picked from the list
	await page.click('#delivery-add');
	await page.selectOption(`#delivery-${d + 1}-item`, ITEM2).catch(() => {});
	await page.selectOption(`#delivery-${d + 1}-card`, 'shop-text').catch(() => {});

	// ---- notices and the rating chore
	await page.fill('#notice-waiting_stock-text', '补货中，{buyer_name} 请稍候');
	await page.check('#notice-after_delivery-enabled');
	await page.fill('#notice-after_delivery-text', '兑换方法见图');
	await page.fill('#notice-after_delivery-image', 'https://example.com/howto.png');
	await page.check('#rate-enabled');
	await page.fill('#rate-text', '好买家');

	// an unsaved edit of the keyword rules editor: the same document, saved with the rest
	await page.fill('#rule-0-reply', '在的，欢迎光临');
	ok(await save(page, 'cards'), 'the cards, delivery rules and notices are saved from the page');
	let doc = await pageRules(page);
	ok(doc.keyword_rules && doc.keyword_rules[0] && doc.keyword_rules[0].reply === '在的，欢迎光临' &&
		!(await page.locator('#rules-dirty').isVisible()) && !(await page.locator('#rules-discard').isEnabled()),
	'the keyword rules editor\'s edit is saved with them (one document, one dirty flag)', JSON.stringify(doc.keyword_rules));
	const card = (name) => (doc.cards || []).find((c) => c.name === name) || null;
	const sc = card('shop-stock'), tc = card('shop-text'), ic = card('shop-img');
	ok(sc && sc.type === 'stock' && sc.template === '点券卡密：{code}，订单 {order_id}' && sc.low_stock === 2 &&
		sc.after_delivery && sc.after_delivery.text === '在游戏里的“兑换”页输入卡密',
	'the rules file has the stock card with its after-delivery text', JSON.stringify(sc));
	ok(tc && tc.type === 'text' && tc.delay_s === 3 && ic && ic.type === 'image' && ic.url === 'https://example.com/guide.png' &&
		ic.width === 640 && ic.height === 960 && !('template' in ic), 'and the text and image cards',
	JSON.stringify([tc, ic]));
	const rule = (doc.delivery || []).find((x) => x.item_id === ITEM) || null;
	ok(rule && rule.spec === SPEC && rule.card === 'shop-stock' && rule.quantity === 2 && !('delay_s' in rule),
		'and the delivery rule: item, spec, card, quantity', JSON.stringify(doc.delivery));
	ok((doc.delivery || []).some((x) => x.item_id === ITEM2 && x.spec === null && x.card === 'shop-text'),
		'and the one without spec', JSON.stringify(doc.delivery));
	ok(doc.notices && doc.notices.waiting_stock && doc.notices.waiting_stock.text === '补货中，{buyer_name} 请稍候' &&
		doc.notices.waiting_stock.enabled === true && doc.notices.after_delivery.enabled === true &&
		doc.notices.after_delivery.image === 'https://example.com/howto.png' && !('cannot_deliver' in doc.notices) &&
		doc.chores && doc.chores.rate && doc.chores.rate.enabled === true && doc.chores.rate.text === '好买家',
	'the notices and the rating chore are in the file (an untouched notice is not written)',
	JSON.stringify([doc.notices, doc.chores]));
	ok(others.n === 0, 'an image card\'s URL on another host is never loaded by the page');

	// ---- after a reload, the editors show the same
	await page.reload({ waitUntil: 'load' });
	await rulesLoaded(page);
	await waitText(page, '#items-body', ITEM_TITLE, 10000);
	const names = await page.locator('#cards-list .card-rule').evaluateAll((l) => l.map((e) => e.getAttribute('data-card')));
	ok(['shop-stock', 'shop-text', 'shop-img'].every((x) => names.includes(x)), `after a reload the cards are listed (${names})`);
	const di = await page.locator(`#delivery-${d}-item`).inputValue().catch(() => '');
	const ds = await page.locator(`#delivery-${d}-spec`).inputValue().catch(() => '');
	const dtxt = await page.locator(`#delivery-${d}-item option:checked`).innerText().catch(() => '');
	ok(di === ITEM && ds === SPEC && dtxt.includes(ITEM_TITLE), `and the rule shows the item by title and its spec (${dtxt}, ${ds})`);

	// ---- an ambiguous rule: refused at save, the message beside it
	await page.click('#delivery-add');
	const a = await page.locator('#delivery-list .delivery-rule').count() - 1;
	await page.selectOption(`#delivery-${a}-item`, ITEM).catch(() => {});
	await page.selectOption(`#delivery-${a}-spec`, SPEC).catch(() => {});
	await page.selectOption(`#delivery-${a}-card`, 'shop-text').catch(() => {});
	await page.click('#cards-save');
	const refused = await visible(page, '#cards-errors-box', 10000);
	const here = await text(page, `#delivery-${a}-errors`);
	ok(refused && /would match both/.test(here) && await page.locator(`#delivery-${a}.has-error`).count() === 1,
		'an ambiguous rule is refused at save, the reason shown on that rule', `${here} | ${await text(page, '#cards-errors-box')}`);
	doc = await pageRules(page);
	ok((doc.delivery || []).length === 2, 'nothing was saved');
	await page.click(`#delivery-${a}-delete`);
	ok(await save(page, 'cards'), 'without it the rules save again');

	// ---- a keyword rule's item: its title beside the id
	await page.click('#rule-add');
	const kr = await page.locator('#rules-list .rule').count() - 1;
	await page.fill(`#rule-${kr}-item`, ITEM2);
	ok(await waitText(page, `#rule-${kr} .item-ref`, ITEM2_TITLE, 3000), 'a keyword rule\'s item id shows the item title',
		await text(page, `#rule-${kr}`));
	const choice = await page.evaluate(([sel, id]) => {
		const input = document.querySelector(sel), dl = input && document.getElementById(input.getAttribute('list'));
		const o = dl ? Array.prototype.find.call(dl.options, (x) => x.value === id) : null;
		return o ? o.label : null;
	}, [`#rule-${kr}-item`, ITEM2]);
	ok(choice === ITEM2_TITLE, 'a keyword rule\'s item is picked from the items by title (the input\'s datalist)',
		String(choice));
	await page.click(`#rule-${kr}-delete`);

	// ---- a chat about an item: the chats list shows its title
	const inj = await sim('POST', '/inject', { kind: 'text', text: '还有货吗', buyer_name: 'shop-buyer', item_id: ITEM2 });
	ok(inj.status === 200, 'a buyer asks about an item', inj.text);
	await page.waitForTimeout(500);
	await page.click('#chats-refresh');
	ok(await waitText(page, '#chats-list', [ITEM2_TITLE, ITEM2], 10000), 'the chats list shows the item\'s title and id',
		await text(page, '#chats-list'));
	await page.click('#decisions-refresh');
	ok(await waitText(page, '#decisions-body', [ITEM2_TITLE, '还有货吗'], 10000),
		'the decision log shows the title of the item the buyer asked about', await text(page, '#decisions-body'));

	// ---- stock: import from a file, reveal, delete, export, low-stock threshold
	await page.click('#stock-refresh');
	await page.waitForFunction(() => [...document.querySelectorAll('#import-card option')].some((o) => o.value === 'shop-stock'),
		null, { timeout: 10000 }).catch(() => {});
	await page.selectOption('#import-card', 'shop-stock').catch(() => {});
	const codes = ['SHOPCODE-0001', 'SHOPCODE-0002', 'SHOPCODE-0003', 'SHOPCODE-0004', 'SHOPCODE-0005'];
	await page.setInputFiles('#import-file', { name: 'codes.txt', mimeType: 'text/plain',
		buffer: Buffer.from(codes.join('\r\n') + '\r\n') });
	await waitText(page, '#import-file-note', 'codes.txt', 5000);  // FileReader answers later
	ok((await page.locator('#import-codes').inputValue()).includes('SHOPCODE-0005') && /5/.test(await text(page, '#import-file-note')),
		'a .txt file fills the codes box', await text(page, '#import-file-note'));
	await page.click('#import-submit');
	ok(await visible(page, '#import-result', 10000) && /新增 5 个|\b5 added/.test(await text(page, '#import-result')),
		'the codes of the file are imported', `${await text(page, '#import-result')} ${await text(page, '#import-error')}`);
	await page.selectOption('#stock-card', 'shop-stock').catch(() => {});
	ok(await waitText(page, '#stock-counts', '可用 5', 10000), `the card's counts: ${await text(page, '#stock-counts')}`);
	let rows = 0;
	try {
		await page.waitForFunction(() => document.querySelectorAll('#stock-codes-body tr').length === 5, null, { timeout: 10000 });
		rows = 5;
	} catch { /* reported */ }
	const masked = await page.locator('#stock-codes-body .code-text').allInnerTexts().catch(() => []);
	ok(rows === 5 && masked.every((m) => !codes.includes(m) && /\*/.test(m)), `the codes are listed masked (${masked.join(' ')})`,
		await text(page, '#stock-panel-error'));
	await page.locator('#stock-codes-body .code-reveal').first().click();
	const firstId = await page.locator('#stock-codes-body tr').first().getAttribute('data-code-id').catch(() => '');
	let shown = '';
	try {
		await page.waitForFunction(() => /^SHOPCODE-000\d$/.test(document.querySelector('#stock-codes-body .code-text').textContent),
			null, { timeout: 5000 });
		shown = await text(page, '#stock-codes-body .code-text');
	} catch { /* reported */ }
	ok(codes.includes(shown), `a reveal shows the whole code (${shown})`, await text(page, '#stock-panel-error'));
	// two codes deleted (the confirmation is accepted)
	const boxes = page.locator('#stock-codes-body .code-pick');
	await boxes.nth(1).check();
	await boxes.nth(2).check();
	await page.click('#stock-delete');
	ok(await waitText(page, '#stock-result', '已删除 2', 10000), `two unused codes deleted: ${await text(page, '#stock-result')}`,
		await text(page, '#stock-panel-error'));
	ok(await waitText(page, '#stock-counts', '可用 3', 10000), `the counts follow (${await text(page, '#stock-counts')})`);
	const dl = page.waitForEvent('download', { timeout: 10000 }).catch(() => null);
	await page.click('#stock-export');
	const file = await dl;
	let exported = '';
	if (file) {
		try {
			exported = fs.readFileSync(await file.path(), 'utf8');
		} catch (e) {
			diag(`download: ${e.message}`);
		}
	}
	const lines = exported.split('\n').filter((l) => l);
	ok(file && /\.txt$/.test(file.suggestedFilename()) && lines.length === 3 && lines.every((l) => codes.includes(l)) &&
		lines.includes(shown), `the export downloads the 3 unused codes as a .txt (${file ? file.suggestedFilename() : 'none'})`,
	exported);
	ok((await page.locator('#stock-export-text').inputValue()).split('\n').filter((l) => l).length === 3,
		'and shows them to copy');
	await page.fill('#stock-low', '10');
	await page.click('#stock-low-save');
	ok(await visible(page, '#cards-saved', 10000), 'the low-stock threshold is saved inline', await text(page, '#cards-errors-box'));
	doc = await pageRules(page);
	ok(((doc.cards || []).find((c) => c.name === 'shop-stock') || {}).low_stock === 10, 'the file has the new threshold');
	const st = await pageControl(page, 'stock_list', {});
	const sl = st.body && st.body.data ? (st.body.data.cards || []).find((c) => c.name === 'shop-stock') : null;
	ok(sl && sl.free === 3 && sl.low_stock === 10, 'the bot has 3 free codes and the new threshold', JSON.stringify(st.body));
	if (firstId)
		diag(`revealed code id ${firstId}`);

	// ---- the polish chore: an item ticked, the hour set
	await page.check(`#item-${ITEM}-polish`);
	await page.check('#polish-enabled');
	await page.selectOption('#polish-hour', '7');
	ok(await save(page, 'items'), 'the polish settings are saved from the items screen');
	doc = await pageRules(page);
	const pol = doc.chores && doc.chores.polish;
	ok(pol && pol.enabled === true && pol.hour === 7 && JSON.stringify(pol.items) === JSON.stringify([ITEM]) &&
		doc.chores.rate && doc.chores.rate.text === '好买家', 'chores.polish has the item and the hour (rate kept)',
	JSON.stringify(doc.chores));

	// ---- screenshots, Chinese desktop and phone, then English
	await page.evaluate(() => window.scrollTo(0, 0));
	await screenshot(page, env.SK_SHOT || '', true);
	await phone(page);
	await page.waitForTimeout(300);
	const o = await overflow(page);
	ok(o.width === 390 && !o.worst, `at 390 px nothing of the shop screens is off screen`, JSON.stringify(o.worst));
	const cardLike = await page.evaluate(() => getComputedStyle(document.querySelector('#items-body tr')).display);
	ok(cardLike !== 'table-row', `at 390 px the items are cards, not table rows (${cardLike})`);
	await screenshot(page, env.SK_SHOT_PHONE || '', true);
	await page.click('#lang-switch');
	ok((await text(page, '#sec-items h2')) === 'Items' && (await text(page, '#sec-cards h2')) === 'Cards & delivery rules' &&
		(await text(page, '#lang-switch')) === '中文' && (await text(page, '#items-refresh')) === 'Refresh from the platform',
	'the EN switch renders the shop screens in English', await text(page, '#sec-items h2'));
	const fb = await page.evaluate(() => {
		window.skI18n.add('zh', { 'test.only_zh': '仅中文 {n} {missing}' });
		return [window.skI18n.t('test.only_zh', { n: 3 }), window.skI18n.t('test.no_such_key'), window.skI18n.t('shop.items.title')];
	});
	ok(fb[0] === '仅中文 3 {missing}' && fb[1] === 'test.no_such_key' && fb[2] === 'Items',
		'i18n: a string missing in en falls back to zh, an unknown key shows the key, {name} is replaced', JSON.stringify(fb));
	const o2 = await overflow(page);
	ok(!o2.worst, 'in English too nothing is off screen at 390 px', JSON.stringify(o2.worst));
	await desktop(page);
	await page.reload({ waitUntil: 'load' });
	await rulesLoaded(page);
	ok((await text(page, '#sec-cards h2')) === 'Cards & delivery rules' &&
		(await page.evaluate(() => document.documentElement.lang)) === 'en', 'the language is kept across a reload');
	ok(await page.locator('#cards-list .card-rule').count() >= 3 && (await text(page, '#card-0-type option:checked')) !== '',
		'the English screens show the same cards');
	await screenshot(page, env.SK_SHOT_EN || '', true);
	await page.click('#lang-switch');
	ok((await text(page, '#sec-items h2')) === '商品', 'and back to Chinese');
	ok(jsErrors.length === 0, 'no JavaScript errors', jsErrors.join('\n'));
}

await finish(main);
