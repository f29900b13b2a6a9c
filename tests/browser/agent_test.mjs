// SPDX-License-Identifier: MIT
//
// tests/browser/agent_test.mjs - the AI assistant screen of the page
// (web/agent.js) in headless Chromium against a running `shopkeep run`
// whose config loads the agent plugin (its model's base_url a closed port:
// every turn ends with the fallback reply) and the items plugin, and the
// simulator: the screen says so when the agent is not loaded (its commands
// answer 404) and shows nothing else; the settings are read, changed and
// saved (only what changed is sent); the API key is write-only (after a
// save it is nowhere in the DOM nor in any answer the page received, only
// masked) and can be cleared; an extra header's value stays "****" and is
// kept; a bad value shows the server's error once with its field marked;
// an item is added (picked from items_list; typed by id when items_list
// answers 404), edited, refused with a bad floor and deleted; a prompt is
// edited and reset to the built-in one, and read-only when the agent says
// prompts are not editable; a turn made
// through agent_take shows in the recent decisions with its verdict pill,
// and its link opens the chat; zh by default and en, desktop and 390 px
// (cards, nothing off screen), tofu.
//
// Environment:
//   SK_WEB_URL      the page, e.g. http://127.0.0.1:18080/
//   SK_SETUP_TOKEN  the one-time setup token the bot logged
//   SK_SIM_CTL      the simulator's control port (on 127.0.0.1)
//   SK_SELLER       the seller's unb
//   SK_SHOT         the screen at desktop width in Chinese (PNG), SK_SHOT_PHONE
//                   at 390 px, SK_SHOT_EN in English, SK_SHOT_EN_PHONE in
//                   English at 390 px (all optional)
//   SK_CHROMIUM     the browser (default /usr/bin/chromium)
//   SK_TIMEOUT_S    the overall limit (default 150)
//
// Prints one line per check, "ok - what" or "not ok - what" (lines starting
// with "#" are diagnostics), and exits 0 when every check passed, else 1
// (the shared part: lib.mjs).

import fs from 'node:fs';
import { env, SETUP_TOKEN, SELLER, ok, diag, sleep, sim, waitText, visible, text, preflight, launch, openPage,
	load, submitSetup, phone, desktop, sideways, start, finish, tofuCheck, englishLeft, ALLOW_WORDS } from './lib.mjs';

const KEY = 'sk-agenttest-SECRET-0123456789xyz';
const KEY_PART = 'SECRET-0123456789';
const HDR_VALUE = 'hdrsecret-778899';
const ITEM = '40077';
const ITEM_TITLE = '二手 Switch 游戏卡';
const BUYER_TEXT = '能便宜点吗？最低多少';

start(150);

// A control command from the page's session: {status, body}.
async function pageControl(page, command, data) {
	return page.evaluate(async ([c, d]) => {
		const s = await (await fetch('/api/session', { credentials: 'same-origin' })).json();
		const r = await fetch('/api/control', { method: 'POST', credentials: 'same-origin',
			headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
			body: JSON.stringify({ request_id: 't', command: c, data: d }) });
		return { status: r.status, body: await r.json() };
	}, [command, data]);
}

// A command's data, null (with a diagnostic) when it failed.
async function cmd(page, command, data) {
	const r = await pageControl(page, command, data);
	if (r.status !== 200 || !r.body || r.body.success !== true) {
		diag(`${command}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
		return null;
	}
	return r.body.data;
}

async function until(fn, ms, step = 300) {
	let v = null;
	for (const end = Date.now() + ms; Date.now() < end; await sleep(step)) {
		v = await fn();
		if (v)
			return v;
	}
	return v;
}

// The elements of #sec-agent (and the header) wider than the viewport: the
// widest one, null when none.
async function overflow(page) {
	return page.evaluate(() => {
		const w = document.documentElement.clientWidth;
		let worst = null;
		for (const e of document.querySelectorAll('.topbar-row *, #sec-agent, #sec-agent *')) {
			const r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 1 && getComputedStyle(e).visibility !== 'hidden' &&
				(!worst || r.right > worst.right))
				worst = { right: Math.round(r.right), tag: e.tagName, id: e.id, cls: String(e.className) };
		}
		return worst ? { width: w, worst } : null;
	});
}

// A PNG of #sec-agent into file (nothing when file is ''): cut from the whole
// page scrolled to the top, so that the sticky header is not drawn over it.
async function shot(page, file, what) {
	if (!file)
		return;
	const r = await page.locator('#sec-agent').evaluate((e) => {
		const b = e.getBoundingClientRect();
		return { x: b.left + window.scrollX, y: b.top + window.scrollY, w: b.width, h: b.height };
	});
	await page.evaluate(() => window.scrollTo(0, 0));
	await sleep(200);
	await page.screenshot({ path: file, fullPage: true, clip: { x: Math.max(0, r.x - 4), y: Math.max(0, r.y - 4),
		width: r.w + 8, height: r.h + 8 } });
	ok(fs.existsSync(file) && fs.statSync(file).size > 1000, what);
}

// Clicks the save button and waits for the saved note or the error; which one.
async function save(page) {
	await page.click('#agent-save');
	const r = await until(async () => {
		if (await page.locator('#agent-saved').isVisible())
			return 'saved';
		if (await page.locator('#agent-save-error').isVisible())
			return 'error';
		return null;
	}, 8000, 100);
	return r || 'nothing';
}

// ------------------------------------------------------------- not loaded

// The agent's commands answer 404 (as when it is not loaded): the screen
// says so and shows nothing else; once they answer, a refresh shows it.
async function notLoaded(page, ctx) {
	ok(await visible(page, '#agent-missing', 10000), 'agent not loaded: the screen says so',
		await text(page, '#sec-agent'));
	ok(await page.locator('#agent-main').isHidden(), 'agent not loaded: nothing else of the screen shows');
	ok((await text(page, '#agent-missing')).includes('没有加载'), 'agent not loaded: in Chinese',
		await text(page, '#agent-missing'));
	await ctx.unroute('**/api/control');
	await page.click('#agent-refresh');
	ok(await visible(page, '#agent-main', 10000) && await page.locator('#agent-missing').isHidden(),
		'agent loaded: the screen shows its settings after a refresh');
}

// --------------------------------------------------------------- settings

async function settings(page, answers) {
	const s0 = await cmd(page, 'agent_settings', {});
	ok(s0 && await until(async () => await page.inputValue('#agent-f-model') === s0.model, 5000),
		'the settings show what agent_settings says', JSON.stringify(s0));
	ok(s0 && await page.inputValue('#agent-f-timeout_ms') === String(s0.timeout_ms) &&
		await page.inputValue('#agent-f-mode') === s0.mode && await page.isChecked('#agent-f-enabled') === !!s0.enabled,
	'numbers, the mode and the switch too');
	ok(s0 && (await page.inputValue('#agent-f-banned')).split('\n').length === s0.banned.length,
		'the banned words, one a line', await page.inputValue('#agent-f-banned'));
	ok(await page.inputValue('#agent-key') === '' && await page.getAttribute('#agent-key', 'type') === 'password',
		'the API key field is an empty password field');

	// the key and a header
	await page.fill('#agent-key', KEY);
	await page.click('#agent-header-add');
	await page.locator('#agent-headers .agent-h-name').last().fill('X-Test-Token');
	await page.locator('#agent-headers .agent-h-value').last().fill(HDR_VALUE);
	ok(await save(page) === 'saved', 'the API key and an extra header are saved', await text(page, '#agent-save-error'));
	const s1 = await cmd(page, 'agent_settings', {});
	ok(s1 && s1.api_key_set === true && s1.api_key_source === 'page' && !s1.api_key.includes(KEY_PART),
		'agent_settings: the key is set from the page, masked', JSON.stringify(s1 && s1.api_key));
	const shown = await text(page, '#agent-key-current');
	ok(s1 && shown.includes(s1.api_key) && shown.includes('已设置') && !shown.includes(KEY_PART),
		'the page shows the key masked as the server gives it', shown);
	ok(await page.inputValue('#agent-key') === '', 'the key field is empty again');
	ok(s1 && s1.headers && s1.headers['X-Test-Token'] === '****', 'the header is saved, its value masked',
		JSON.stringify(s1 && s1.headers));
	ok(await page.locator('#agent-headers .agent-h-value').last().inputValue() === '****',
		'the header row shows ****');
	const html = await page.content();
	const values = await page.evaluate(() => [...document.querySelectorAll('input, textarea')].map((e) => e.value).join('\n'));
	ok(!html.includes(KEY_PART) && !values.includes(KEY_PART) && !html.includes(HDR_VALUE) && !values.includes(HDR_VALUE),
		'the key and the header value are nowhere in the page');
	ok(!answers.some((a) => a.includes(KEY_PART) || a.includes(HDR_VALUE)),
		`no answer the page received holds the key or the header value (${answers.length} answers)`);

	// a bad value: the server's error once, its field marked; then fixed
	await page.fill('#agent-f-timeout_ms', '5');
	ok(await save(page) === 'error', 'a timeout of 5 ms is refused');
	const err = await text(page, '#agent-save-error');
	ok(err.includes('timeout_ms') && err.split('没有保存').length === 2,
		'the error names the field, said once', err);
	ok(await page.locator('#agent-f-timeout_ms.has-error').count() === 1 &&
		await page.locator('#agent-settings .has-error').count() === 1, 'the timeout field is marked, only it');
	await page.fill('#agent-f-timeout_ms', '2500');
	await page.selectOption('#agent-f-mode', 'all');
	await page.fill('#agent-f-per_hour', '7');
	await page.fill('#agent-f-banned', `${await page.inputValue('#agent-f-banned')}\n砍价群`);
	await page.fill('#agent-f-floor_text', '这是最低价了，亲～');
	ok(await save(page) === 'saved' && await page.locator('#agent-save-error').isHidden() &&
		await page.locator('#agent-settings .has-error').count() === 0, 'fixed: saved, the error and the mark gone',
	await text(page, '#agent-save-error'));
	const s2 = await cmd(page, 'agent_settings', {});
	ok(s2 && s2.timeout_ms === 2500 && s2.mode === 'all' && s2.per_hour === 7 && s2.banned.includes('砍价群') &&
		s2.floor_text === '这是最低价了，亲～', 'agent_settings has the new values', JSON.stringify(s2));
	ok(s2 && s2.api_key_set === true && s2.headers['X-Test-Token'] === '****',
		'the key and the header were kept (not sent again)');
	ok(await waitText(page, '#agent-used-hour', '本小时已用', 2000), 'the hour\'s use shows beside its budget',
		await text(page, '#agent-used-hour'));

	// the key cleared
	await page.click('#agent-key-clear');
	ok(await until(async () => (await text(page, '#agent-key-current')).includes('未设置'), 5000),
		'清除 clears the page\'s key', await text(page, '#agent-key-current'));
	const s3 = await cmd(page, 'agent_settings', {});
	ok(s3 && s3.api_key_set === false && s3.api_key === '', 'agent_settings: no key', JSON.stringify(s3 && s3.api_key));
}

// ------------------------------------------------------------------ items

async function items(page) {
	const known = await until(async () => {
		const d = await cmd(page, 'items_list', { limit: 500 });
		return d && d.items.some((i) => i.item_id === ITEM) ? d : null;
	}, 15000, 500);
	ok(known, 'the items plugin lists the simulator\'s item');
	// items_list answering 404 (items not loaded): only an item id can be typed
	await page.context().route('**/api/control', (route) => {
		const body = route.request().postDataJSON();
		if (!body || body.command !== 'items_list')
			return route.continue();
		return route.fulfill({ status: 404, contentType: 'application/json',
			body: JSON.stringify({ request_id: body.request_id, success: false, data: null, error: 'unknown command \'items_list\'' }) });
	});
	await page.click('#agent-refresh');
	await sleep(800);
	await page.click('#agent-item-add');
	const only = await page.evaluate(() => [...document.querySelectorAll('#agent-ie-pick option')].map((o) => o.value));
	ok(JSON.stringify(only) === '[""]' && await page.locator('#agent-ie-id').isVisible() &&
		await page.locator('#agent-main').isVisible(), 'items_list 404: the editor asks for an item id, the screen stays',
	JSON.stringify(only));
	await page.click('#agent-ie-cancel');
	await page.context().unroute('**/api/control');
	await page.click('#agent-refresh');
	await sleep(800);
	await page.click('#agent-item-add');
	ok(await visible(page, '#agent-item-editor', 3000), 'the item editor opens');
	const opts = await page.evaluate(() => [...document.querySelectorAll('#agent-ie-pick option')]
		.map((o) => ({ v: o.value, t: o.textContent })));
	ok(opts.some((o) => o.v === ITEM && o.t.includes(ITEM_TITLE)), 'it offers the items of items_list by title',
		JSON.stringify(opts));
	await page.selectOption('#agent-ie-pick', ITEM);
	await page.selectOption('#agent-ie-mode', 'all');
	await page.fill('#agent-ie-floor', '80');
	await page.fill('#agent-ie-steps', '2');
	await page.fill('#agent-ie-notes', '不包邮，卡带无划痕');
	await page.click('#agent-ie-save');
	const row = `#agent-items-body tr[data-item="${ITEM}"]`;
	ok(await visible(page, row, 8000), 'the item is added to the table', await text(page, '#agent-ie-error'));
	const cells = await text(page, row);
	ok(cells.includes(ITEM_TITLE) && cells.includes('80.00') && cells.includes('全部未匹配') &&
		cells.includes('不包邮'), 'its row: title, floor, mode, notes', cells);
	let s = await cmd(page, 'agent_settings', {});
	let it = s && s.items.find((i) => i.item_id === ITEM);
	ok(it && it.mode === 'all' && it.floor === '80.00' && it.max_steps === 2 && it.notes === '不包邮，卡带无划痕',
		'agent_settings has the item', JSON.stringify(it));

	// edit: another floor, the steps back to the account's
	await page.click(`${row} .agent-item-edit`);
	await page.fill('#agent-ie-floor', '75.5');
	await page.fill('#agent-ie-steps', '');
	await page.click('#agent-ie-save');
	ok(await waitText(page, row, '75.50', 8000), 'edited: the new floor shows', await text(page, row));
	s = await cmd(page, 'agent_settings', {});
	it = s && s.items.find((i) => i.item_id === ITEM);
	ok(it && it.floor === '75.50' && it.max_steps === null, 'agent_settings: floor 75.50, steps inherited',
		JSON.stringify(it));

	// a bad floor
	await page.click(`${row} .agent-item-edit`);
	await page.fill('#agent-ie-floor', 'abc');
	await page.click('#agent-ie-save');
	ok(await visible(page, '#agent-ie-error', 8000), 'a floor of "abc" is refused');
	const e = await text(page, '#agent-ie-error');
	ok(/floor/.test(e) && e.split('没有保存').length === 2 && await page.locator('#agent-ie-floor.has-error').count() === 1,
		'the error names the floor, once, and marks it', e);
	await page.click('#agent-ie-cancel');
	ok(await page.locator('#agent-item-editor').isHidden() && (await text(page, row)).includes('75.50'),
		'cancel closes the editor; the floor is unchanged');

	// delete
	await page.click(`${row} .agent-item-delete`);
	ok(await until(async () => await page.locator(row).count() === 0, 8000), 'deleted: the row is gone');
	s = await cmd(page, 'agent_settings', {});
	ok(s && !s.items.some((i) => i.item_id === ITEM), 'agent_settings: the item is gone');
}

// ---------------------------------------------------------------- prompts

async function prompts(page, ctx) {
	const p0 = await cmd(page, 'agent_prompts', {});
	ok(p0 && p0.editable === true && p0.prompts.length === 3, 'agent_prompts: three, editable', JSON.stringify(p0));
	const box = '#agent-prompts .agent-prompt[data-intent="price"]';
	ok(await visible(page, box, 5000) && await page.locator('#agent-prompts .agent-prompt').count() === 3,
		'a textarea per intent');
	ok(await text(page, `${box} label`) === '议价' && await page.getAttribute(`${box} .badge`, 'data-builtin') === 'true' &&
		(await text(page, `${box} .badge`)) === '内置', 'the bargaining prompt, marked built-in');
	const builtin = await page.inputValue('#agent-prompt-price');
	await page.fill('#agent-prompt-price', '你是卖家的助手。只谈价格，不要低于底价。');
	await page.click(`${box} .agent-prompt-save`);
	ok(await until(async () => await page.getAttribute(`${box} .badge`, 'data-builtin') === 'false', 8000),
		'saved: no longer built-in', await text(page, '#agent-prompt-price-error'));
	let p = await cmd(page, 'agent_prompts', {});
	let pr = p && p.prompts.find((x) => x.intent === 'price');
	ok(pr && pr.text === '你是卖家的助手。只谈价格，不要低于底价。' && pr.builtin === false, 'agent_prompts has it',
		JSON.stringify(pr));
	await page.click(`${box} .agent-prompt-reset`);
	ok(await until(async () => await page.getAttribute(`${box} .badge`, 'data-builtin') === 'true', 8000),
		'reset: built-in again');
	ok(await page.inputValue('#agent-prompt-price') === builtin && await page.isDisabled(`${box} .agent-prompt-reset`),
		'the built-in text is back; reset is off');
	p = await cmd(page, 'agent_prompts', {});
	pr = p && p.prompts.find((x) => x.intent === 'price');
	ok(pr && pr.builtin === true && pr.text === builtin, 'agent_prompts: the built-in one');

	// not editable (the agent's own answer with editable false): read-only with the hint
	await ctx.route('**/api/control', async (route) => {
		const body = route.request().postDataJSON();
		if (!body || body.command !== 'agent_prompts')
			return route.continue();
		const res = await route.fetch();
		const j = await res.json();
		if (j && j.data)
			j.data.editable = false;
		return route.fulfill({ response: res, json: j });
	});
	await page.click('#agent-refresh');
	ok(await visible(page, '#agent-prompts-readonly', 8000), 'not editable: the hint says why');
	ok(await page.evaluate(() => [...document.querySelectorAll('#agent-prompts textarea')].every((t) => t.readOnly)) &&
		await page.locator('#agent-prompts .agent-prompt-save:visible').count() === 0,
	'not editable: the textareas are read-only, no save button');
	await ctx.unroute('**/api/control');
	await page.click('#agent-refresh');
	ok(await until(async () => await page.locator('#agent-prompts-readonly').isHidden(), 8000), 'editable again');
}

// -------------------------------------------------------------- decisions

async function decisions(page) {
	const inj = await sim('POST', '/inject', { seller: SELLER, kind: 'text', text: BUYER_TEXT, item_id: ITEM,
		buyer_name: '小王' });
	const it = inj.json && inj.json.items && inj.json.items[0];
	const cid = it && it.cid;
	ok(cid && it.buyer && it.message_id, 'a buyer writes about the item (a chat in the simulator)', inj.text);
	const take = await pageControl(page, 'agent_take', { chat_id: cid, buyer_id: String(it.buyer),
		buyer_name: '小王', item_id: ITEM, message_id: String(it.message_id), text: BUYER_TEXT,
		decision: 'default', reply: '', backfilled: false });
	const data = take.body && take.body.data;
	ok(data && data.taken === true && data.turn, 'agent_take takes it (a turn)', JSON.stringify(take));
	const row = `#agent-dec-body tr.agent-dec[data-id="${data && data.turn}"]`;
	ok(await visible(page, row, 8000), 'the turn shows in the recent decisions');
	const done = await until(async () => {
		const v = await page.getAttribute(row, 'data-verdict');
		return v && v !== 'pending' ? v : null;
	}, 30000, 500);
	ok(done === 'fallback', 'the model is unreachable: the turn ends with the fallback reply', String(done));
	const pill = `${row} .agent-verdict`;
	ok(await page.getAttribute(pill, 'data-state') === 'fallback' && await text(page, pill) === '兜底回复',
		'its verdict pill: data-state fallback, 兜底回复', await text(page, pill));
	const cells = await text(page, row);
	ok(cells.includes(BUYER_TEXT) && cells.includes('小王') && cells.includes(ITEM_TITLE) && cells.includes('议价'),
		'the row: the buyer, the item\'s title, the text, the intent', cells);
	const d = await cmd(page, 'agent_decisions', { limit: 5 });
	const dr = d && d.decisions.find((x) => String(x.id) === String(data && data.turn));
	ok(dr && dr.sent && cells.includes(dr.sent), 'what was sent is shown', JSON.stringify(dr));
	ok(dr && dr.reason && (await text(page, `${row} .agent-reason`)).length > 0, 'the reason is shown',
		await text(page, `${row} .agent-reason`));
	await page.click(`${row} .agent-open-chat`);
	ok(await until(() => page.evaluate(() => document.querySelector('#chats-box').classList.contains('chat-open') &&
		document.querySelector('#sec-chats').getBoundingClientRect().top < window.innerHeight), 5000),
	'its link opens the chat on the 对话 screen');
	await page.evaluate(() => document.querySelector('#sec-agent').scrollIntoView());
	return { cid, turn: data && data.turn };
}

// ------------------------------------------------------------ looks, widths

async function looks(page, turn) {
	const row = `#agent-dec-body tr.agent-dec[data-id="${turn}"]`;
	ok(await text(page, '#sec-agent h2') === 'AI 助手' && await text(page, '.nav a[href="#sec-agent"]') === 'AI 助手',
		'the screen speaks Chinese by default');
	await tofuCheck(page, 'the AI assistant screen draws Chinese with real glyphs, not tofu boxes');
	const left = await englishLeft(page, ['#sec-agent'],
		'input, textarea, select, .mono, td.msg, .agent-reason, .agent-reply, #agent-headers, .item-title, .agent-dec-item',
		[...ALLOW_WORDS, 'OpenAI', 'token', 'base']);
	ok(!left.length, 'no English left on the screen in zh', JSON.stringify(left.slice(0, 6)));
	await shot(page, env.SK_SHOT || '', 'desktop screenshot (zh)');
	await phone(page);
	await sleep(500);
	let o = await overflow(page);
	ok(!o && await sideways(page) <= 1, 'at 390 px nothing of the screen is off screen', JSON.stringify(o));
	const card = await page.evaluate((r) => {
		const tr = document.querySelector(r);
		return tr ? getComputedStyle(tr).display : 'none';
	}, row);
	ok(card === 'block', 'the decisions are cards at 390 px', card);
	await shot(page, env.SK_SHOT_PHONE || '', 'screenshot at 390 px (zh)');
	await page.click('#lang-switch');
	await sleep(400);
	ok(await text(page, '#sec-agent h2') === 'AI assistant' && await text(page, `${row} .agent-verdict`) === 'fallback reply' &&
		(await text(page, '#agent-save')) === 'Save the settings', 'the switch to English',
	`${await text(page, '#sec-agent h2')} / ${await text(page, `${row} .agent-verdict`)}`);
	o = await overflow(page);
	ok(!o && await sideways(page) <= 1, 'in English at 390 px too', JSON.stringify(o));
	await shot(page, env.SK_SHOT_EN_PHONE || '', 'screenshot at 390 px (en)');
	await desktop(page);
	await sleep(400);
	await shot(page, env.SK_SHOT_EN || '', 'desktop screenshot (en)');
	await page.fill('#agent-f-model', 'typed-before-switch');
	await page.click('#lang-switch');
	await sleep(300);
	ok(await text(page, '#sec-agent h2') === 'AI 助手' && await page.inputValue('#agent-f-model') === 'typed-before-switch',
		'back to Chinese; what was typed survives the switch');
}

async function main() {
	if (!preflight(['SK_WEB_URL', 'SK_SETUP_TOKEN', 'SK_SIM_CTL', 'SK_SELLER']))
		return;
	const ctx = await launch('sk-agent-');
	const { page, jsErrors } = await openPage(ctx);
	const answers = [];
	page.on('response', async (res) => {
		if (!/\/api\//.test(res.url()))
			return;
		try {
			answers.push(await res.text());
		} catch { /* a websocket or a body already gone */ }
	});
	// the agent "not loaded" first: its commands answer 404 as an unknown command
	await ctx.route('**/api/control', (route) => {
		const body = route.request().postDataJSON();
		if (!body || !/^agent_/.test(String(body.command)))
			return route.continue();
		return route.fulfill({ status: 404, contentType: 'application/json',
			body: JSON.stringify({ request_id: body.request_id, success: false, data: null,
				error: `unknown command '${body.command}'` }) });
	});
	await sim('POST', '/item', { item_id: ITEM, title: ITEM_TITLE, price: 12000, quantity: 1, desc: '九成新，卡带无划痕' });
	await load(page);
	if (!await visible(page, '#setup-form', 10000))
		return ok(false, 'the setup form shows', await text(page, '#login-view'));
	if (!ok(await submitSetup(page, SETUP_TOKEN), 'logged in', await text(page, '#setup-error')))
		return;
	await cmd(page, 'items_refresh', {});
	await notLoaded(page, ctx);
	await page.evaluate(() => document.querySelector('#sec-agent').scrollIntoView());
	await settings(page, answers);
	await items(page);
	await prompts(page, ctx);
	const { turn } = await decisions(page);
	await looks(page, turn);
	ok(!answers.some((a) => a.includes(KEY_PART) || a.includes(HDR_VALUE)),
		'still no answer the page received holds the key or the header value');
	ok(!jsErrors.length, 'no JavaScript error', jsErrors.join('\n'));
}

await finish(main);
