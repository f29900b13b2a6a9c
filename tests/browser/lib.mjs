// SPDX-License-Identifier: MIT
//
// tests/browser/lib.mjs - what the browser scripts (page_test.mjs,
// shop_test.mjs, seller_flow.mjs) share: the environment, the TAP-like
// output and its counting, the overall timeout, the browser with its flags,
// the page's setup-token login, the platform's pictures served from a local
// PNG, screenshots at desktop and phone width, and the end (exit code).
//
// Environment (read here; each script says which it needs):
//   SK_WEB_URL      the page, e.g. http://127.0.0.1:18080/
//   SK_SETUP_TOKEN  the one-time setup token the bot logged
//   SK_SIM_CTL      the simulator's control port (on 127.0.0.1)
//   SK_SELLER       the seller's unb (the simulator's account)
//   SK_CHROMIUM     the browser (default /usr/bin/chromium)
//   SK_TIMEOUT_S    the overall limit (the default is the script's)
//
// Output: one line per check, "ok - what" or "not ok - what"; lines starting
// with "#" are diagnostics. finish() exits 0 when every check passed, else 1.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export const env = process.env;
export const WEB_URL = env.SK_WEB_URL || '';
export const SETUP_TOKEN = env.SK_SETUP_TOKEN || '';
export const SIM_CTL = env.SK_SIM_CTL || '';
export const SELLER = env.SK_SELLER || '';
export const CHROMIUM = env.SK_CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'correct horse 42';

let failures = 0, checks = 0, context = null, userDir = null, timedOut = false, overall = null;

// One check: prints "ok - what" or "not ok - what" (then diagText as "#"
// lines) and counts it; returns whether cond held. Silent after the timeout.
export function ok(cond, what, diagText) {
	if (timedOut)
		return false;
	checks++;
	if (cond) {
		console.log(`ok - ${what}`);
	} else {
		failures++;
		console.log(`not ok - ${what}`);
		if (diagText)
			for (const l of String(diagText).split('\n'))
				console.log(`# ${l}`);
	}
	return !!cond;
}

export function diag(msg) {
	if (timedOut)
		return;
	for (const l of String(msg).split('\n'))
		console.log(`# ${l}`);
}

function cleanup() {
	if (userDir) {
		try {
			fs.rmSync(userDir, { recursive: true, force: true });
		} catch { /* a temp folder */ }
		userDir = null;
	}
}

// Starts the overall limit: SK_TIMEOUT_S, else defaultS seconds. When it
// passes, "not ok - timeout" and exit 1 (finish() then waits for that).
export function start(defaultS) {
	const limitS = Number(env.SK_TIMEOUT_S) > 0 ? Number(env.SK_TIMEOUT_S) : defaultS;

	overall = setTimeout(() => {
		console.log('not ok - timeout');
		console.log(`# the whole test took longer than ${limitS} s`);
		timedOut = true;
		failures++;
		const done = () => {
			cleanup();
			process.exit(1);
		};
		if (context)
			context.close().then(done, done);
		else
			done();
		setTimeout(done, 3000).unref();
	}, limitS * 1000);
}

// Runs main, then closes the browser, prints the count and exits: 0 when
// every check passed, 1 when one failed, main threw, the limit passed or
// no check was made. Never returns.
export async function finish(main) {
	let crashed = false;
	try {
		await main();
	} catch (e) {
		crashed = true;
		ok(false, 'the test ran to its end', e && e.stack ? e.stack : String(e));
	}
	clearTimeout(overall);
	if (context) {
		try {
			await context.close();
		} catch { /* closing anyway */ }
	}
	cleanup();
	if (!checks)
		ok(false, 'the test made no check');
	diag(`${checks - failures} of ${checks} checks passed${crashed ? ' (stopped early)' : ''}`);
	if (timedOut)
		await new Promise(() => {});  // the timeout handler exits
	process.exit(failures || timedOut ? 1 : 0);
}

// Checks that each variable of names is set and the browser is there;
// false (after a "not ok") when not.
export function preflight(names) {
	for (const k of names)
		if (!env[k]) {
			ok(false, `environment: ${k} is set`);
			return false;
		}
	return ok(fs.existsSync(CHROMIUM), `the browser is installed (${CHROMIUM})`);
}

// Headless Chromium with a fresh profile in a temp folder named prefix...,
// 1280 x 900; extra options are added to the launch's. The context.
export async function launch(prefix, extra) {
	userDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	context = await chromium.launchPersistentContext(userDir, {
		executablePath: CHROMIUM,
		headless: true,
		...extra,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width: 1280, height: 900 },
	});
	return context;
}

// The context's page, its JavaScript errors collected into the array
// returned beside it (a failed request's "Failed to load resource" is
// expected: 401, 422 ...), a 10 s default timeout.
export async function openPage(ctx) {
	const page = ctx.pages()[0] || await ctx.newPage();
	const jsErrors = [];
	page.on('pageerror', (e) => jsErrors.push(`page error: ${e.message}`));
	page.on('console', (m) => {
		if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
			jsErrors.push(`console: ${m.text()}`);
	});
	page.setDefaultTimeout(10000);
	return { page, jsErrors };
}

// Loads the page, checks "the page loads"; the response (null if none).
export async function load(page) {
	const resp = await page.goto(WEB_URL, { waitUntil: 'load' });
	ok(resp && resp.ok(), 'the page loads', resp ? `HTTP ${resp.status()}` : 'no response');
	return resp;
}

// Submits the setup form with token (and the new password twice unless
// password is false: the fields kept from an earlier try); whether the app
// view shows within 10 s.
export async function submitSetup(page, token, password = true) {
	await page.fill('#setup-token', token);
	if (password) {
		await page.fill('#setup-password', PASSWORD);
		await page.fill('#setup-password2', PASSWORD);
	}
	await page.click('#setup-submit');
	return visible(page, '#app-view', 10000);
}

// A w x h PNG in colour rgb (with a white band across the middle when band).
export function png(w, h, rgb, band = false) {
	const crcTable = [];
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		crcTable[n] = c >>> 0;
	}
	const crc = (buf) => {
		let c = 0xffffffff;
		for (const b of buf)
			c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
		return (c ^ 0xffffffff) >>> 0;
	};
	const chunk = (type, data) => {
		const len = Buffer.alloc(4), tc = Buffer.concat([Buffer.from(type, 'ascii'), data]), c = Buffer.alloc(4);
		len.writeUInt32BE(data.length);
		c.writeUInt32BE(crc(tc));
		return Buffer.concat([len, tc, c]);
	};
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0);
	ihdr.writeUInt32BE(h, 4);
	ihdr[8] = 8;
	ihdr[9] = 2;
	const raw = Buffer.alloc((w * 3 + 1) * h);
	for (let y = 0; y < h; y++)
		for (let x = 0; x < w; x++) {
			const o = y * (w * 3 + 1) + 1 + x * 3, white = band && y > h * 0.4 && y < h * 0.6;
			raw[o] = white ? 255 : rgb[0];
			raw[o + 1] = white ? 255 : rgb[1];
			raw[o + 2] = white ? 255 : rgb[2];
		}
	return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
		chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// Answers every request of the context to pattern (e.g. the platform's
// picture host https://img.alicdn.com/**) with the PNG body: no internet in
// tests. The returned object's n counts the requests.
export async function serveImage(ctx, pattern, body) {
	const seen = { n: 0 };
	await ctx.route(pattern, (route) => {
		seen.n++;
		return route.fulfill({ status: 200, contentType: 'image/png', body });
	});
	return seen;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The simulator's control API (plain Node fetch: not the page's origin):
// {status, json, text}, status 0 when the call failed.
export async function sim(method, pathq, body) {
	let res, text;
	try {
		res = await fetch(`http://127.0.0.1:${SIM_CTL}${pathq}`, {
			method,
			headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(10000),
		});
		text = await res.text();
	} catch (e) {
		return { status: 0, json: null, text: `${method} ${pathq}: ${e && e.message ? e.message : e}` };
	}
	let json = null;
	try {
		json = JSON.parse(text);
	} catch { /* reported by the caller */ }
	return { status: res.status, json, text };
}

// The locator of sel: its first match, or when strict the one match
// (several then count as a failure).
const loc = (page, sel, strict) => (strict ? page.locator(sel) : page.locator(sel).first());

// Waits until document.querySelector(sel)'s text contains want (an array:
// every string of it, or with any one of them); true/false.
export async function waitText(page, sel, want, ms, any = false) {
	try {
		await page.waitForFunction(([s, w, a]) => {
			const e = document.querySelector(s);
			if (!e)
				return false;
			if (!(w instanceof Array))
				return e.textContent.includes(w);
			return a ? w.some((x) => e.textContent.includes(x)) : w.every((x) => e.textContent.includes(x));
		}, [sel, want, any], { timeout: ms });
		return true;
	} catch {
		return false;
	}
}

// Whether sel becomes visible within ms.
export async function visible(page, sel, ms, strict = false) {
	try {
		await loc(page, sel, strict).waitFor({ state: 'visible', timeout: ms });
		return true;
	} catch {
		return false;
	}
}

// sel's text, '' when there is none within 2 s.
export async function text(page, sel, strict = false) {
	try {
		return (await loc(page, sel, strict).textContent({ timeout: 2000 })) || '';
	} catch {
		return '';
	}
}

// The page at a phone's width (390 px) or back at the desktop's.
export const phone = (page) => page.setViewportSize({ width: 390, height: 844 });
export const desktop = (page) => page.setViewportSize({ width: 1280, height: 900 });

// How far the document scrolls sideways at the current width (px).
export async function sideways(page) {
	return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

// A PNG screenshot into file (nothing when file is ''), the full page when
// full; with what, checks that it was written (over 1000 bytes).
export async function screenshot(page, file, full, what) {
	if (!file)
		return;
	await page.screenshot(full ? { path: file, fullPage: true } : { path: file });
	if (what)
		ok(fs.existsSync(file) && fs.statSync(file).size > 1000, what);
}

// The tofu check: whether the page draws Chinese with real glyphs. In the
// page, with its own font (body's font-family), each character of CJK is
// drawn alone into a canvas and compared with a code point no font has
// (U+10FFFD, private use: drawn as the missing-glyph box) and with the
// others: when no installed font has Chinese, every one of them comes out
// as the same box. Checks it ("Chinese renders with real glyphs") and
// returns whether it held. Each browser test calls it once.
export const CJK_SAMPLE = '中文发货订单';
export async function tofuCheck(page, what = 'Chinese text renders with real glyphs, not tofu boxes') {
	let r;
	try {
		r = await tofuProbe(page);
	} catch (e) {
		return ok(false, what, `the check did not run: ${e && e.message ? e.message : e}`);
	}
	return ok(r.real, what, r.why);
}

// What tofuCheck sees: {real (true: every character drawn with a glyph of
// its own), why (the numbers, for a diagnostic)}. Throws when the page
// cannot run it.
export async function tofuProbe(page) {
	const r = await page.evaluate(async (sample) => {
		if (document.fonts && document.fonts.ready)
			await document.fonts.ready;
		const family = getComputedStyle(document.body).fontFamily || 'sans-serif';
		const c = document.createElement('canvas');
		c.width = 64;
		c.height = 64;
		const g = c.getContext('2d', { willReadFrequently: true });
		const draw = (ch) => {
			g.clearRect(0, 0, 64, 64);
			g.fillStyle = '#000';
			g.font = `40px ${family}`;
			g.textBaseline = 'middle';
			g.fillText(ch, 8, 32);
			const d = g.getImageData(0, 0, 64, 64).data;
			let ink = 0, sig = '';
			for (let i = 3; i < d.length; i += 4) {
				if (d[i] > 127)
					ink++;
				sig += d[i] > 127 ? '1' : '0';
			}
			return { ink, sig, w: g.measureText(ch).width };
		};
		const box = draw('\u{10FFFD}');
		const chars = [...sample].map((ch) => ({ ch, ...draw(ch) }));
		const sameAsBox = chars.filter((x) => x.sig === box.sig).map((x) => x.ch);
		const distinct = new Set(chars.map((x) => x.sig)).size;
		return { family, sameAsBox, distinct, n: chars.length, inked: chars.every((x) => x.ink > 20),
			widths: chars.map((x) => Math.round(x.w)), boxW: Math.round(box.w) };
	}, CJK_SAMPLE);
	return { real: r.sameAsBox.length === 0 && r.distinct === r.n && r.inked,
		why: `font ${r.family}: ${r.distinct} different glyphs for ${r.n} characters, drawn like the missing-glyph ` +
			`box: "${r.sameAsBox.join('')}"; widths ${r.widths.join(',')} (box ${r.boxW}); without a CJK font ` +
			'install fonts-noto-cjk (make browser-deps)' };
}

// The proof that the tofu check can fail: a second Chromium whose
// fontconfig sees only the DejaVu fonts (FONTCONFIG_FILE, a temp config)
// opens url; checks that tofuProbe finds tofu there. Skipped (a "# skip:"
// line) when DejaVu is not installed.
export async function tofuCheckFails(url) {
	const dejavu = '/usr/share/fonts/truetype/dejavu';
	if (!fs.existsSync(dejavu)) {
		diag('skip: no DejaVu fonts: the tofu check\'s own test does not run');
		return true;
	}
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-nocjk-'));
	const conf = path.join(dir, 'fonts.conf');
	fs.writeFileSync(conf, '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n' +
		`  <dir>${dejavu}</dir>\n  <cachedir>${dir}/cache</cachedir>\n</fontconfig>\n`);
	let browser = null, r = null, err = '';
	try {
		browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
			env: { ...process.env, FONTCONFIG_FILE: conf },
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
		const page = await browser.newPage();
		await page.goto(url, { waitUntil: 'load' });
		r = await tofuProbe(page);
	} catch (e) {
		err = e && e.message ? e.message : String(e);
	}
	if (browser)
		await browser.close().catch(() => {});
	fs.rmSync(dir, { recursive: true, force: true });
	if (r)
		diag(`without CJK fonts: ${r.why}`);
	return ok(r && !r.real, 'the tofu check fails in a browser without CJK fonts (fontconfig sees DejaVu only)',
		r ? r.why : err);
}

// English left on a Chinese screen: the visible text under each selector of
// roots, less the parts matching skip (ids, names, what the server or the
// seller wrote), with “quoted” literals, URLs, paths and dotted,
// underscored or hyphenated names taken out; a word of 4 or more ASCII letters that is not
// in allow is English. Returns [{sel, word, text}] (empty: none).
export const ALLOW_WORDS = ['Cookie', 'JSON', 'shopkeep', 'JavaScript', 'HTTP', 'KiB', 'goofish', 'cookie2', 'SKU'];
export async function englishLeft(page, roots, skip, allow = ALLOW_WORDS) {
	return page.evaluate(([rootSels, skipSel, allowed]) => {
		const found = [];
		const shown = (e) => {
			for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
				if (n.hidden || getComputedStyle(n).display === 'none' || getComputedStyle(n).visibility === 'hidden')
					return false;
			}
			return true;
		};
		for (const sel of rootSels)
			for (const root of document.querySelectorAll(sel)) {
				const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
				for (let t = w.nextNode(); t; t = w.nextNode()) {
					const p = t.parentElement;
					if (!p || (skipSel && p.closest(skipSel)) || !shown(p) || p.closest('script,style,option:not(:checked)'))
						continue;
					const txt = t.textContent.replace(/“[^”]*”|"[^"]*"/g, ' ').replace(/\S*(:\/\/|\/)\S*/g, ' ')
						.replace(/\S*[A-Za-z0-9][._-][A-Za-z0-9]\S*/g, ' ').replace(/\{\w+\}/g, ' ');
					for (const m of txt.match(/[A-Za-z]{4,}/g) || [])
						if (!allowed.includes(m))
							found.push({ sel, word: m, text: t.textContent.trim().slice(0, 80) });
				}
			}
		return found;
	}, [roots, skip, allow]);
}
