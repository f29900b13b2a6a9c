// SPDX-License-Identifier: MIT
//
// tests/browser/dash_test.mjs - the overview (web/dashboard.js), the alerts
// screen (web/alerts.js) and the live events after a reload (web/events.js)
// in headless Chromium against a running `shopkeep run` (plugins dedup,
// notify, autoreply, orders, items) and the simulator.
//
// A scripted day: a buyer asks the price (answered by a rule), another asks
// for 人工 (handed over: the chat waits for the seller, a handover alert),
// an order is placed and paid and delivered from a stock card that runs low.
// Then: the overview's numbers equal what chat_stats, autoreply_stats and
// orders_stats answer (and the day's known counts), the SVG chart has one bar
// per day and series with its labels, the waiting chat and the low card
// show; a source answering 404 shows "—" and the rest still draws. Alerts:
// the webhook URL and header are saved (shown masked, never in full), a bad
// template is refused with the error beside its kind, the test alert reaches
// the simulator's /webhook and shows delivered, the handover alert is
// listed, the URL is cleared; notify answering 404 shows how to load it.
// Events: after a reload the panel shows the day's events again, an event
// that arrives while the history is loading shows once. Both languages, at
// desktop and 390 px width (nothing of these screens off screen), with
// screenshots.
//
// Environment:
//   SK_WEB_URL, SK_SETUP_TOKEN, SK_SIM_CTL (lib.mjs)
//   SK_SELLER       the seller's unb
//   SK_SIM_PORT     the simulator's platform port (its /webhook receives the alerts)
//   SK_SHOT         desktop screenshot (PNG), SK_SHOT_PHONE the same at 390 px,
//                   SK_SHOT_EN the English desktop one, SK_SHOT_ALERTS the
//                   alerts screen at 390 px, SK_SHOT_EVENTS the live events
//                   in English (all optional; each the section only)
//   SK_TIMEOUT_S    the overall limit (default 150)
//
// Prints one line per check, "ok - what" or "not ok - what", and exits 0
// when every check passed, else 1 (lib.mjs).

import fs from 'node:fs';
import { env, SETUP_TOKEN, SELLER, PASSWORD, ok, diag, sim, sleep, waitText, visible, text, preflight, launch,
	openPage, load, submitSetup, phone, desktop, sideways, start, finish, tofuCheck, englishLeft, ALLOW_WORDS } from './lib.mjs';

const ITEM = '40004', PRICE_FEN = 1250, CARD = 'dash-card';
const ASK = '多少钱 dash-ask', ASK_REPLY = '五元一张', HUMAN = '我要人工 dash-human';
const LATE = '在吗 dash-late';
const SIM_PORT = env.SK_SIM_PORT || '';
const HOOK = `http://127.0.0.1:${SIM_PORT}/webhook?access_token=dashsecret0123456789`;
const HEADER = 'Authorization: Bearer dashtoken-abcdef-987654';

start(150);

// What the simulator's alert receiver got (GET /webhook on the platform
// port): the bodies, [] when the call failed.
async function webhook() {
	try {
		const r = await fetch(`http://127.0.0.1:${SIM_PORT}/webhook`, { signal: AbortSignal.timeout(5000) });
		const j = await r.json();
		return Array.isArray(j.received) ? j.received : [];
	} catch (e) {
		diag(`GET /webhook: ${e && e.message ? e.message : e}`);
		return [];
	}
}

// A control command from the page's session: {status, body}.
async function pageControl(page, command, data) {
	return page.evaluate(async ([c, d]) => {
		const s = await (await fetch('/api/session', { credentials: 'same-origin' })).json();
		const r = await fetch('/api/control', { method: 'POST', credentials: 'same-origin',
			headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
			body: JSON.stringify({ request_id: 't', command: c, data: d }) });
		let body = null;
		try {
			body = await r.json();
		} catch { /* reported by the caller */ }
		return { status: r.status, body };
	}, [command, data]);
}

// The command's data, null when it failed (the answer in the diagnostics).
async function cmd(page, command, data) {
	const r = await pageControl(page, command, data);
	if (r.status !== 200 || !r.body || r.body.success !== true) {
		diag(`${command}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
		return null;
	}
	return r.body.data;
}

// The elements of the screens under sels wider than the viewport: the
// widest one's right edge, null when none.
async function overflow(page, sels) {
	return page.evaluate((list) => {
		const w = document.documentElement.clientWidth;
		let worst = null;
		for (const e of document.querySelectorAll(list.map((s) => `${s}, ${s} *`).join(', '))) {
			const r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 1 && getComputedStyle(e).visibility !== 'hidden' &&
				(!worst || r.right > worst.right))
				worst = { right: Math.round(r.right), tag: e.tagName, id: e.id, cls: String(e.className.baseVal ?? e.className) };
		}
		return worst ? { width: w, worst } : null;
	}, sels);
}

// A PNG of the element sel into file (nothing when file is ''), checked
// written (over 1000 bytes) as what.
async function shotOf(page, sel, file, what) {
	if (!file)
		return;
	try {
		await page.locator(sel).screenshot({ path: file });
	} catch (e) {
		diag(`screenshot of ${sel}: ${e && e.message ? e.message : e}`);
	}
	ok(fs.existsSync(file) && fs.statSync(file).size > 1000, what);
}

// Waits (up to ms) until fn() is truthy; its last value.
async function until(fn, ms, step = 500) {
	let v = null;
	for (const end = Date.now() + ms; Date.now() < end; await sleep(step)) {
		v = await fn();
		if (v)
			return v;
	}
	return v;
}

const todayOf = (d) => (d && Array.isArray(d.days) && d.days.length ? d.days[d.days.length - 1] : null);

// The overview's tiles: {stat: today's text}.
async function tiles(page) {
	return page.evaluate(() => {
		const out = {};
		for (const t of document.querySelectorAll('.dash-tile'))
			out[t.getAttribute('data-stat')] = (t.querySelector('.dash-num') || {}).textContent || '';
		return out;
	});
}

// Answers the page's control request for command with a 404 (the plugin
// not loaded) while on; returns the off switch.
async function refuse(page, command) {
	const handler = (route) => {
		let body = null;
		try {
			body = route.request().postDataJSON();
		} catch { /* not JSON */ }
		if (body && body.command === command)
			return route.fulfill({ status: 404, contentType: 'application/json',
				body: JSON.stringify({ request_id: body.request_id, success: false, data: null,
					error: `unknown command '${command}'` }) });
		return route.continue();
	};
	await page.route('**/api/control', handler);
	return () => page.unroute('**/api/control', handler);
}

// The events list's items holding s (their count).
async function eventCount(page, s) {
	return page.evaluate((x) => [...document.querySelectorAll('#events-list li')]
		.filter((li) => li.textContent.includes(x)).length, s);
}

// ------------------------------------------------------------- the scripted day

async function day(page) {
	let r = await sim('POST', '/inject', { seller: SELLER, kind: 'text', text: ASK, buyer: '31001', buyer_name: '买家甲',
		item_id: ITEM });
	const cidA = r.json && r.json.items && r.json.items[0] && r.json.items[0].cid;
	ok(r.status === 200 && cidA, `a buyer asks the price (chat ${cidA})`, r.text);
	ok(await waitText(page, '#events-list', ASK_REPLY, 15000), 'the bot answers it (seen live)');
	r = await sim('POST', '/inject', { seller: SELLER, kind: 'text', text: HUMAN, buyer: '31002', buyer_name: '买家乙',
		item_id: ITEM });
	const cidB = r.json && r.json.items && r.json.items[0] && r.json.items[0].cid;
	ok(r.status === 200 && cidB && cidB !== cidA, `another buyer asks for a person (chat ${cidB})`, r.text);
	const ho = await until(async () => {
		const d = await cmd(page, 'list_chats', { limit: 50 });
		return d && (d.chats || []).find((c) => c.chat_id === cidB && c.state === 'waiting');
	}, 15000);
	ok(ho, 'that chat waits for the seller (list_chats state "waiting")');
	const codes = await cmd(page, 'stock_import', { card: CARD, codes: 'DASH-CODE-1\nDASH-CODE-2\n' });
	ok(codes && codes.added === 2, 'two codes imported', JSON.stringify(codes));
	const ord = await sim('POST', '/order', { seller: SELLER, cid: cidA, item_id: ITEM, quantity: 1, price: PRICE_FEN });
	const oid = ord.json && (ord.json.order_id || (ord.json.order && ord.json.order.order_id));
	const paid = oid ? await sim('POST', '/order/status', { seller: SELLER, order_id: oid, status: 'paid' }) : null;
	ok(oid && paid && paid.status === 200, `an order is placed and paid (${oid})`, `${ord.text} ${paid && paid.text}`);
	const done = await until(async () => {
		const d = await cmd(page, 'orders_list', { limit: 10 });
		return d && (d.orders || []).find((o) => o.order_id === oid && o.delivery === 'delivered');
	}, 20000);
	ok(done, 'the order is delivered');
	return { cidA, cidB, oid };
}

// ----------------------------------------------------------------- overview

async function overview(page) {
	ok(await visible(page, '#sec-dash #dash-svg', 10000), 'the overview shows its chart');
	const first = await page.evaluate(() => document.querySelector('#app-view main section').id);
	ok(first === 'sec-dash', 'the overview is the first screen', first);
	// the numbers: the tiles equal the commands' answers, read after a refresh
	let last = null;
	const same = await until(async () => {
		await page.click('#dash-refresh');
		await sleep(800);
		const [cs, as, os] = [await cmd(page, 'chat_stats', { days: 7 }), await cmd(page, 'autoreply_stats', { days: 7 }),
			await cmd(page, 'orders_stats', { days: 7 })];
		const [c, a, o] = [todayOf(cs), todayOf(as), todayOf(os)];
		const tl = await tiles(page);
		last = { tl, c, a, o };
		if (!c || !a || !o)
			return false;
		return tl.buyer_msgs === String(c.buyer_msgs) && tl.answered === String(a.answered) &&
			tl.handed_over === String(a.handed_over) && tl.paid === String(o.paid) &&
			tl.delivered === String(o.delivered) && tl.failed === String(o.failed) &&
			tl.revenue === `¥${o.revenue}` && o.paid === 1 && o.delivered === 1 && a.handed_over === 1 ? last : false;
	}, 20000, 200);
	ok(same, 'the overview\'s today numbers equal chat_stats, autoreply_stats and orders_stats', JSON.stringify(last));
	const l = last || {};
	ok(l.c && l.c.buyer_msgs >= 2 && l.a && l.a.answered >= 1 && l.o && l.o.revenue === '12.50' && l.o.failed === 0,
		'and they count the day: 2 buyer messages or more, one answered at least, ¥12.50 revenue, no failure',
		JSON.stringify(l));
	// the chart: one bar per day for each series, with its title; accessible
	const chart = await page.evaluate(() => {
		const svg = document.querySelector('#dash-svg');
		const ids = (svg.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean);
		const bars = (s) => [...svg.querySelectorAll(`rect.bar[data-series="${s}"]`)];
		return {
			role: svg.getAttribute('role'),
			label: ids.map((i) => (document.getElementById(i) || {}).textContent || '').join(' | '),
			days: [...svg.querySelectorAll('g.day')].map((g) => g.getAttribute('data-day')),
			buyer: bars('buyer_msgs').map((b) => [b.getAttribute('data-day'), Number(b.getAttribute('data-value')),
				(b.querySelector('title') || {}).textContent || '', Number(b.getAttribute('height'))]),
			answered: bars('answered').length,
			paid: bars('paid').map((b) => Number(b.getAttribute('data-value'))),
			dayLabels: [...svg.querySelectorAll('text.day-label')].length,
			revenue: [...svg.querySelectorAll('text.rev-label')].map((t) => t.textContent),
			ticks: [...svg.querySelectorAll('text.tick')].length,
			legend: [...document.querySelectorAll('#dash-legend li')].map((li) => li.textContent),
		};
	});
	const cs = await cmd(page, 'chat_stats', { days: 7 });
	const csDays = (cs && cs.days) || [];
	ok(chart.days.length === 7 && chart.buyer.length === 7 && chart.answered === 7 && chart.paid.length === 7 &&
		chart.dayLabels === 7, 'the chart has 7 days, one bar per day for each series and a label under each day',
	JSON.stringify(chart));
	ok(JSON.stringify(chart.days) === JSON.stringify(csDays.map((d) => d.day)) &&
		chart.buyer.every((b, i) => csDays[i] && b[1] === csDays[i].buyer_msgs),
	'the bars are the server\'s days (oldest first, today last) with chat_stats\' counts', JSON.stringify(csDays));
	const todayBar = chart.buyer[chart.buyer.length - 1] || [];
	ok(todayBar[3] > 0 && chart.buyer.slice(0, -1).every((b) => b[1] > 0 || b[3] === 0) &&
		chart.paid[chart.paid.length - 1] === 1, 'today\'s bars have a height; a day of 0 has none', JSON.stringify(chart.buyer));
	ok(chart.role === 'img' && chart.label.includes('7') && todayBar[2].includes(String(todayBar[1])) &&
		chart.ticks >= 2, 'the chart is an image with a title and a description, each bar a title with its number, the axis labelled',
	JSON.stringify(chart));
	ok(chart.revenue.length === 7 && chart.revenue[6].includes('12') && chart.legend.length >= 3,
		'the revenue under each day, a legend', JSON.stringify([chart.revenue, chart.legend]));
	ok(await waitText(page, '#dash-waiting', '1', 5000) &&
		await page.locator('#dash-waiting-link').isVisible() &&
		await page.locator('#dash-waiting-link').getAttribute('href') === '#sec-chats',
	'one chat waits for the seller, with a link to the chats', await text(page, '#dash-waiting'));
	ok(await waitText(page, '#dash-low', CARD, 5000) && await page.locator('#dash-low-link').isVisible(),
		'the card running low shows, with a link to the stock', await text(page, '#dash-low'));
	const st = await waitText(page, '#dash-state', ['已连接', 'connected'], 5000, true);
	const up = await text(page, '#dash-uptime');
	ok(st && /\d/.test(up) && /\d/.test(await text(page, '#dash-connected')), 'the session\'s state, uptime and connection time',
		`${await text(page, '#dash-state')} / ${up} / ${await text(page, '#dash-connected')}`);
	ok(await page.locator('#dash-missing').isHidden(), 'no source is missing');

	// a source missing: its part shows "—", the rest still draws
	const off = await refuse(page, 'orders_stats');
	await page.click('#dash-refresh');
	const miss = await until(async () => {
		const tl = await tiles(page);
		return tl.paid === '—' && tl.revenue === '—' && tl.delivered === '—' ? tl : false;
	}, 8000, 250);
	ok(miss && miss.buyer_msgs !== '—' && miss.answered !== '—', 'orders_stats answering 404: its numbers show —, the others stay',
		JSON.stringify(miss || await tiles(page)));
	ok(await visible(page, '#dash-missing', 3000) && (await text(page, '#dash-missing')).includes('orders') &&
		await page.locator('#dash-svg rect.bar[data-series="paid"]').count() === 0 &&
		await page.locator('#dash-svg rect.bar[data-series="buyer_msgs"]').count() === 7,
	'the overview says which plugin is missing; the chart draws without that series', await text(page, '#dash-missing'));
	await off();
	await page.click('#dash-refresh');
	ok(await until(async () => (await tiles(page)).paid === '1', 8000, 250), 'back when the source answers again');
}

// ------------------------------------------------------------------- alerts

async function alerts(page) {
	ok(await visible(page, '#alerts-main', 10000) && await page.locator('#alerts-missing').isHidden(),
		'the alerts screen shows its settings');
	await page.fill('#alerts-url', HOOK);
	await page.fill('#alerts-header', HEADER);
	await page.click('#alerts-save');
	ok(await visible(page, '#alerts-saved', 10000), 'the webhook URL and header are saved',
		await text(page, '#alerts-save-error'));
	const s = await cmd(page, 'notify_settings', {});
	const shownUrl = await text(page, '#alerts-url-current'), shownHdr = await text(page, '#alerts-header-current');
	ok(s && s.url_set === true && s.header_set === true, 'notify_settings says both are set', JSON.stringify(s));
	ok(s && shownUrl.includes(s.url) && !shownUrl.includes('dashsecret0123456789') &&
		shownHdr.includes(s.header) && !shownHdr.includes('dashtoken-abcdef-987654'),
	'the page shows them masked as the server gives them, never in full', `${shownUrl} / ${shownHdr}`);
	ok(await page.locator('#alerts-url').inputValue() === '' && await page.locator('#alerts-header').inputValue() === '',
		'the fields for new values are empty again');
	const html = await page.content();
	ok(!html.includes('dashsecret0123456789') && !html.includes('dashtoken-abcdef'), 'the secrets are nowhere in the page');

	// a kind off, the words, then a bad template: refused with the error beside its kind
	const kinds = await page.evaluate(() => [...document.querySelectorAll('#alerts-kinds .alert-kind')]
		.map((d) => d.getAttribute('data-kind')));
	ok(kinds.includes('handover') && kinds.includes('offline') && kinds.includes('low_stock'),
		'the kinds are listed, handover among them', JSON.stringify(kinds));
	await page.uncheck('#alerts-kind-low_stock');
	await page.fill('#alerts-words', '退款\n差评');
	await page.click('#alerts-save');
	ok(await visible(page, '#alerts-saved', 10000), 'a kind switched off and the words saved', await text(page, '#alerts-save-error'));
	const s2 = await cmd(page, 'notify_settings', {});
	ok(s2 && s2.kinds && s2.kinds.low_stock === false && s2.kinds.handover === true &&
		JSON.stringify(s2.words) === JSON.stringify(['退款', '差评']), 'notify_settings has them', JSON.stringify(s2));
	await page.check('#alerts-kind-low_stock');
	await page.click('#alerts-tpl-handover-box summary');
	await page.fill('#alerts-tpl-handover', '{"msgtype":"text","text":{"content":"{{text}}"');
	await page.click('#alerts-save');
	ok(await visible(page, '#alerts-tpl-handover-error', 10000) && await visible(page, '#alerts-save-error', 1000),
		'a bad template is refused (400), the error shown beside its kind',
		`${await text(page, '#alerts-save-error')} / beside: ${await text(page, '#alerts-tpl-handover-error')}`);
	diag(`template error: ${await text(page, '#alerts-tpl-handover-error')}`);
	const s3 = await cmd(page, 'notify_settings', {});
	ok(s3 && !(s3.templates && String(s3.templates.handover || '').includes('msgtype')) && s3.kinds.low_stock === false,
		'nothing of that save was kept', JSON.stringify(s3));
	await page.fill('#alerts-tpl-handover', '{"msgtype":"text","text":{"content":"人工：{{text}}"}}');
	await page.click('#alerts-save');
	ok(await visible(page, '#alerts-saved', 10000) && await page.locator('#alerts-tpl-handover-error').isHidden(),
		'the fixed template is saved, the error gone', await text(page, '#alerts-save-error'));

	// the test alert reaches the simulator's webhook and shows delivered
	const n0 = (await webhook()).length;
	await page.click('#alerts-test');
	ok(await visible(page, '#alerts-test-result', 10000), 'the test alert is queued', await text(page, '#alerts-test-error'));
	const got = await until(async () => {
		const rec = await webhook();
		return rec.slice(n0).find((b) => b && b.kind === 'test');
	}, 20000);
	ok(got, 'the simulator\'s /webhook received it', JSON.stringify(got));
	ok(await until(async () => page.locator('#alerts-body tr[data-kind="test"][data-state="delivered"]').count(), 20000),
		'the last alerts show it delivered', await text(page, '#alerts-body'));
	const word = await text(page, '#alerts-body tr[data-kind="test"] .badge');
	ok(word === '已送达' || word === 'delivered', 'its state in words', word);
	ok(await page.locator('#alerts-body tr[data-kind="handover"]').count() >= 1,
		'the hand-over of the day is among the last alerts', await text(page, '#alerts-body'));

	// cleared
	await page.click('#alerts-url-clear');
	ok(await waitText(page, '#alerts-url-current', ['未设置', 'not set'], 10000, true), 'the URL is cleared',
		await text(page, '#alerts-url-current'));
	const s4 = await cmd(page, 'notify_settings', {});
	ok(s4 && s4.url_set === false && s4.header_set === true, 'notify_settings: no URL, the header kept', JSON.stringify(s4));

	// notify not loaded
	const off = await refuse(page, 'notify_settings');
	await page.click('#alerts-refresh');
	ok(await visible(page, '#alerts-missing', 8000) && (await text(page, '#alerts-missing')).includes('plugins.load') &&
		await page.locator('#alerts-main').isHidden(), 'notify answering 404: the screen says how to load it',
	await text(page, '#alerts-missing'));
	await off();
	await page.click('#alerts-refresh');
	ok(await visible(page, '#alerts-main', 8000), 'and shows the settings again when it answers');
}

// -------------------------------------------------------------- after a reload

async function reload(page) {
	// the socket's event LATE arrives while the history is held back: it must show once
	let held = 0;
	const slow = async (route) => {
		let body = null;
		try {
			body = route.request().postDataJSON();
		} catch { /* not JSON */ }
		if (body && body.command === 'events_recent') {
			held++;
			await sleep(3000);
		}
		return route.continue();
	};
	await page.route('**/api/control', slow);
	await page.reload({ waitUntil: 'load' });
	ok(await visible(page, '#app-view', 10000), 'the page reloads logged in');
	ok(await waitText(page, '#events-status', ['实时', 'live'], 10000, true), 'the live events connect again');
	await sim('POST', '/inject', { seller: SELLER, kind: 'text', text: LATE, buyer: '31003', buyer_name: '买家丙', item_id: ITEM });
	ok(await waitText(page, '#events-list', LATE, 8000), 'an event arriving before the history shows (live)');
	ok(await waitText(page, '#events-list', ASK, 10000) && await waitText(page, '#events-list', HUMAN, 1000),
		'after the reload the panel shows the day\'s events again (events_recent)', await text(page, '#events-list'));
	await sleep(500);
	ok(held >= 1, 'the history was asked for once the socket opened', `held ${held}`);
	const counts = [await eventCount(page, LATE), await eventCount(page, ASK), await eventCount(page, HUMAN)];
	const lateLive = await page.evaluate((x) => [...document.querySelectorAll('#events-list li[data-kind="event"]')]
		.filter((li) => li.textContent.includes(x)).length, LATE);
	ok(lateLive === 1, 'the event that came both live and in the history shows once', JSON.stringify(counts));
	const dups = await page.evaluate(() => {
		const seen = {}, out = [];
		for (const li of document.querySelectorAll('#events-list li')) {
			const k = `${li.getAttribute('data-ms')} ${li.title}`;
			if (seen[k])
				out.push(li.title);
			seen[k] = true;
		}
		return out;
	});
	ok(!dups.length, 'no event twice in the panel', dups.slice(0, 3).join('\n'));
	const order = await page.evaluate(() => [...document.querySelectorAll('#events-list li')]
		.map((li) => Number(li.getAttribute('data-ms'))));
	ok(order.length > 3 && order.every((m, i) => i === 0 || order[i - 1] >= m), 'newest on top', JSON.stringify(order.slice(0, 10)));
	await page.unroute('**/api/control', slow);
}

// Clear empties the panel; logging out and in again (a new socket, a new
// history) does not bring those events back, a new one shows.
async function clearing(page) {
	await page.click('#events-clear');
	ok(await page.locator('#events-list li').count() === 0, 'Clear empties the panel');
	await page.click('#logout');
	if (!ok(await visible(page, '#login-form', 10000), 'logged out'))
		return;
	await page.fill('#login-password', PASSWORD);
	await page.click('#login-submit');
	ok(await visible(page, '#app-view', 10000) && await stateIs(page, '#events-status', 'live', 10000),
		'logged in again, the live events connected', await text(page, '#login-error'));
	const NEXT = '还有货吗 dash-next';
	await sim('POST', '/inject', { seller: SELLER, kind: 'text', text: NEXT, buyer: '31004', buyer_name: '买家丁', item_id: ITEM });
	ok(await waitText(page, '#events-list', NEXT, 10000), 'a new event shows');
	await sleep(1500);
	const back = [await eventCount(page, ASK), await eventCount(page, HUMAN), await eventCount(page, LATE)];
	ok(back.every((n) => n === 0), 'the cleared events did not come back with the history', JSON.stringify(back));
}

// Whether sel's data-state becomes state within ms.
async function stateIs(page, sel, state, ms) {
	return visible(page, `${sel}[data-state="${state}"]`, ms);
}

// -------------------------------------------------------------- looks, widths

async function looks(page) {
	const sels = ['#sec-dash', '#sec-alerts', '#sec-events'];
	await page.evaluate(() => document.querySelector('#sec-dash').scrollIntoView());
	ok(await text(page, '#sec-dash h2') === '概览' && (await text(page, '#sec-dash .dash-tile-label')) === '买家消息',
		'the overview speaks Chinese by default', await text(page, '#sec-dash h2'));
	await tofuCheck(page, 'the overview and alerts draw Chinese with real glyphs, not tofu boxes');
	const left = await englishLeft(page, ['#sec-dash', '#sec-alerts', '#sec-events .section-head', '#sec-events .hint'],
		'.kind-code, #alerts-url-current, #alerts-header-current, #alerts-body td.msg, #alerts-body td.reason, ' +
		'.dash-low-card, textarea', [...ALLOW_WORDS, 'Webhook', 'webhook']);
	ok(!left.length, 'no English left on the overview, the alerts and the events panel in zh',
		JSON.stringify(left.slice(0, 6)));
	await shotOf(page, '#sec-dash', env.SK_SHOT || '', 'desktop screenshot of the overview (zh)');
	await phone(page);
	await sleep(500);
	let o = await overflow(page, sels);
	ok(!o && await sideways(page) <= 1, 'at 390 px nothing of the overview, alerts and events is off screen', JSON.stringify(o));
	const bars = await page.evaluate(() => {
		const svg = document.querySelector('#dash-svg'), r = svg.getBoundingClientRect();
		return { w: Math.round(r.width), vw: document.documentElement.clientWidth, n: svg.querySelectorAll('rect.bar').length };
	});
	ok(bars.w <= bars.vw && bars.w >= 250 && bars.n >= 14, 'the chart fits the phone and keeps its bars', JSON.stringify(bars));
	const tileCols = await page.evaluate(() => {
		const t = [...document.querySelectorAll('.dash-tile')].map((e) => Math.round(e.getBoundingClientRect().left));
		return new Set(t).size;
	});
	ok(tileCols === 2, 'the tiles are cards, two a row', String(tileCols));
	const alertCard = await page.evaluate(() => {
		const tr = document.querySelector('#alerts-body tr');
		return tr ? getComputedStyle(tr).display : 'none';
	});
	ok(alertCard === 'block', 'the last alerts are cards at 390 px', alertCard);
	await shotOf(page, '#sec-dash', env.SK_SHOT_PHONE || '', 'the overview at 390 px');
	await shotOf(page, '#sec-alerts', env.SK_SHOT_ALERTS || '', 'the alerts screen at 390 px');
	// English
	await page.click('#lang-switch');
	await sleep(400);
	ok(await text(page, '#sec-dash h2') === 'Overview' && (await text(page, '#sec-dash .dash-tile-label')) === 'Buyer messages' &&
		(await text(page, '#sec-alerts h2')) === 'Alerts' && /live/.test(await text(page, '#events-status')) &&
		(await text(page, '#dash-svg-title')).includes('last 7 days'), 'the switch to English',
	`${await text(page, '#sec-dash h2')} / ${await text(page, '#events-status')}`);
	o = await overflow(page, sels);
	ok(!o && await sideways(page) <= 1, 'in English at 390 px too', JSON.stringify(o));
	await desktop(page);
	await sleep(500);
	await shotOf(page, '#sec-dash', env.SK_SHOT_EN || '', 'desktop screenshot of the overview in English');
	await shotOf(page, '#sec-events', env.SK_SHOT_EVENTS || '', 'the live events in English');
	const w = await page.evaluate(() => Math.round(document.querySelector('#dash-svg').getBoundingClientRect().width));
	ok(w > 600, 'at desktop width the chart is redrawn wide', String(w));
	await page.fill('#alerts-words', '未保存的词');
	await page.evaluate(() => { document.querySelector('#alerts-words').dataset.before = '1'; });
	await page.click('#lang-switch');
	await sleep(300);
	const rebuilt = await page.evaluate(() => !document.querySelector('#alerts-words').dataset.before);
	ok(await text(page, '#sec-alerts h2') === '提醒' && rebuilt && await page.inputValue('#alerts-words') === '未保存的词',
		'back to Chinese: the screen is built again and the alert words typed survive the switch',
		`rebuilt ${rebuilt}, ${await page.inputValue('#alerts-words')}`);
}

async function main() {
	if (!preflight(['SK_WEB_URL', 'SK_SETUP_TOKEN', 'SK_SIM_CTL', 'SK_SELLER', 'SK_SIM_PORT']))
		return;
	const context = await launch('sk-dash-test-');
	const { page, jsErrors } = await openPage(context);
	await load(page);
	if (!await visible(page, '#setup-form', 10000))
		return ok(false, 'the setup form shows', await text(page, '#login-view'));
	if (!ok(await submitSetup(page, SETUP_TOKEN), 'logged in', await text(page, '#setup-error')))
		return;
	ok(await waitText(page, '#events-status', ['实时', 'live'], 10000, true), 'the live events are connected');
	await day(page);
	await overview(page);
	await alerts(page);
	await reload(page);
	await looks(page);
	await clearing(page);
	ok(!jsErrors.length, 'no JavaScript error', jsErrors.join('\n'));
}

await finish(main);
