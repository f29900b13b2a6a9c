// SPDX-License-Identifier: MIT
//
// tests/browser/screenshots.mjs - the README's pictures (make screenshots;
// needs make browser-deps; not part of make test). Starts the demo's pieces
// for one account - the simulator with config/demo-scenario.json, a bot
// configured from config/demo.json with the example rules and the demo
// codes - in build/screenshots/ (fresh each time), logs in on its page with
// the setup token, waits for the scenario to end, and saves a PNG of each
// screen in Chinese into docs/: at desktop width (1280, cut at 1000 px high)
// and a few at a phone's (390). A screen the page does not have (yet) is
// skipped with a line saying so. Prints one line per picture and its size;
// exits 1 when nothing could be taken.
//
//   node tests/browser/screenshots.mjs [build dir]   (from the repository root)
//
// Environment: SK_CHROMIUM (default /usr/bin/chromium), SK_SHOTS_DIR (where
// the PNGs go, default docs), SK_SHOTS_WAIT_S (the longest wait for the
// scenario, default 150).

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as lib from './lib.mjs';

const ROOT = process.cwd();
const B = path.resolve(ROOT, process.argv[2] || 'build');
const OUT = path.resolve(ROOT, process.env.SK_SHOTS_DIR || 'docs');
const RUN = path.join(B, 'screenshots');
const WAIT_S = Number(process.env.SK_SHOTS_WAIT_S) > 0 ? Number(process.env.SK_SHOTS_WAIT_S) : 150;
const UNB = '2200000000001';

// [file, the section, the width]: the screens of the README. A section that
// is not in the page is skipped (the AI assistant's too when the demo does
// not load the agent: its screen then only says so; its pictures are its
// recent decisions and its settings).
const AGENT = '#sec-agent:has(#agent-main:not([hidden]))';
const SHOTS = [
	['dashboard.png', '#sec-dash', 'desktop'],
	['chats.png', '#sec-chats', 'desktop'],
	['orders.png', '#sec-orders', 'desktop'],
	['shop.png', '#sec-items', 'desktop'],
	['alerts.png', '#sec-alerts', 'desktop'],
	['rules.png', '#sec-rules', 'desktop'],
	['status.png', '#sec-status', 'desktop'],
	['agent-desktop.png', `${AGENT} #agent-decisions`, 'desktop'],
	['agent-settings.png', `${AGENT} #agent-settings`, 'desktop'],
	['phone-dashboard.png', '#sec-dash', 'phone'],
	['phone-chats.png', '#sec-chats', 'phone'],
	['phone-orders.png', '#sec-orders', 'phone'],
	['agent-phone.png', `${AGENT} #agent-decisions`, 'phone'],
];
const MAX_H = { desktop: 1000, phone: 1400 };

const procs = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A free TCP port on 127.0.0.1 (asked of the kernel, then released).
function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const p = s.address().port;
			s.close(() => resolve(p));
		});
	});
}

// Starts cmd with args, its stdout and stderr appended to log (a file);
// resolves when a line of either matches re (its match), rejects after ms
// or when the process ends first.
function startUntil(cmd, args, log, re, ms) {
	return new Promise((resolve, reject) => {
		const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
		const out = fs.createWriteStream(log);
		let seen = '', done = false;
		procs.push(p);
		const timer = setTimeout(() => {
			if (!done) {
				done = true;
				reject(new Error(`${path.basename(cmd)}: nothing matching ${re} within ${ms} ms (see ${log})`));
			}
		}, ms);
		const onData = (d) => {
			out.write(d);
			if (done)
				return;
			seen += d.toString();
			const m = re.exec(seen);
			if (m) {
				done = true;
				clearTimeout(timer);
				resolve({ proc: p, match: m });
			}
		};
		p.stdout.on('data', onData);
		p.stderr.on('data', onData);
		p.on('exit', (code) => {
			if (!done) {
				done = true;
				clearTimeout(timer);
				reject(new Error(`${path.basename(cmd)} ended (${code}) before ${re} (see ${log})`));
			}
		});
	});
}

// Waits until file holds a line matching re, at most ms; whether it did.
async function waitLog(file, re, ms) {
	for (const end = Date.now() + ms; Date.now() < end; await sleep(500))
		if (fs.existsSync(file) && re.test(fs.readFileSync(file, 'utf8')))
			return true;
	return false;
}

function stopAll() {
	for (const p of procs.reverse())
		if (p.exitCode === null)
			p.kill('SIGTERM');
}

// One section's picture from the whole page (scrolled to the top first, so
// that the sticky header is not drawn over it), cut at its width's height
// limit. Returns the PNG's size in bytes, 0 when the section is not there.
async function shot(page, sel, width, file) {
	const el = page.locator(sel).first();
	if (!(await el.count()) || !(await el.isVisible()))
		return 0;
	const r = await el.evaluate((e) => {
		const b = e.getBoundingClientRect();
		return { y: b.top + window.scrollY, h: b.height };
	});
	await page.evaluate(() => window.scrollTo(0, 0));
	await sleep(300);
	const vw = width === 'phone' ? 390 : 1280;
	await page.screenshot({ path: file, fullPage: true,
		clip: { x: 0, y: Math.max(0, r.y - 8), width: vw, height: Math.min(r.h + 16, MAX_H[width]) } });
	return fs.statSync(file).size;
}

async function main() {
	for (const f of ['shopkeep', 'shopkeep-sim', 'plugins/autoreply.so'])
		if (!fs.existsSync(path.join(B, f)))
			throw new Error(`${path.join(B, f)} is missing: run make first`);
	fs.rmSync(RUN, { recursive: true, force: true });
	fs.mkdirSync(RUN, { recursive: true });
	fs.mkdirSync(OUT, { recursive: true });

	// the simulator with the demo's scenario (it starts when the bot registers)
	const simLog = path.join(RUN, 'sim.log');
	const sim = await startUntil(path.join(B, 'shopkeep-sim'), ['--no-pictures', '--scenario', 'config/demo-scenario.json'],
		simLog, /ready port=(\d+) ctl_port=(\d+)/, 10000);
	const port = sim.match[1];

	// one account, as tests/sim/demo.sh makes it
	const wport = await freePort();
	const rules = path.join(RUN, 'rules.json'), cfg = path.join(RUN, 'account.json');
	fs.copyFileSync(path.join(ROOT, 'config/rules.example.json'), rules);
	const conf = fs.readFileSync(path.join(ROOT, 'config/demo.json'), 'utf8')
		.replaceAll('@PORT@', port).replaceAll('@PLUGINS@', path.join(B, 'plugins')).replaceAll('@RULES@', rules)
		.replaceAll('@WEBPORT@', String(wport)).replaceAll('@WEBROOT@', path.join(ROOT, 'web'))
		.replaceAll('@ID@', 'demo').replaceAll('@UNB@', UNB)
		.replace('"state.db"', JSON.stringify(path.join(RUN, 'state.db')))
		.replace('"events.jsonl"', JSON.stringify(path.join(RUN, 'events.jsonl')));
	fs.writeFileSync(cfg, conf);
	for (const [card, file] of [['vip-month', 'config/demo-codes-vip.txt'], ['game-50', 'config/demo-codes-game50.txt']])
		execFileSync(path.join(B, 'shopkeep'), ['stock', 'import', '--config', cfg, '--card', card, file],
			{ cwd: ROOT, stdio: 'ignore' });
	const bot = await startUntil(path.join(B, 'shopkeep'), ['run', '--config', cfg], path.join(RUN, 'bot.log'),
		/setup token ([A-Za-z0-9_-]+)/, 15000);
	const token = bot.match[1], url = `http://127.0.0.1:${wport}/`;
	console.log(`screenshots: the demo account's page is ${url}; waiting for the scenario (at most ${WAIT_S} s)`);

	const ctx = await lib.launch('sk-shots-');
	const { page } = await lib.openPage(ctx);
	await page.goto(url, { waitUntil: 'load' });
	if (!(await lib.submitSetup(page, token)))
		throw new Error(`the setup login failed: ${await lib.text(page, '#setup-error')}`);
	if (!(await waitLog(simLog, /scenario done/, WAIT_S * 1000)))
		console.log('screenshots: the scenario did not end in time; the pictures show what there is');
	await sleep(8000);  // the last deliveries and the page's refreshes
	await page.reload({ waitUntil: 'load' });
	await lib.visible(page, '#app-view', 10000);
	await sleep(3000);
	if (!(await lib.tofuCheck(page)))
		console.log('screenshots: Chinese would show as boxes: make browser-deps installs fonts-noto-cjk');

	// the conversations screen with its first chat open (the one waiting for the seller when there is one)
	const firstChat = page.locator('#chats-list [data-chat]').first();
	if (await firstChat.count()) {
		await firstChat.click();
		await sleep(1500);
	}

	let taken = 0;
	for (const width of ['desktop', 'phone']) {
		await (width === 'phone' ? lib.phone(page) : lib.desktop(page));
		await sleep(500);
		for (const [file, sel, w] of SHOTS) {
			if (w !== width)
				continue;
			const n = await shot(page, sel, width, path.join(OUT, file));
			console.log(n ? `screenshots: ${path.join(path.relative(ROOT, OUT), file)} (${sel}, ${width}, ${Math.round(n / 1024)} KiB)`
				: `screenshots: skipped ${file}: the page has no ${sel}`);
			taken += n ? 1 : 0;
		}
	}
	if (!taken)
		throw new Error('no picture taken');
}

lib.start(WAIT_S + 120);
process.on('exit', stopAll);
await lib.finish(async () => {
	try {
		await main();
	} finally {
		stopAll();
	}
});
