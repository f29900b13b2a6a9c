/* SPDX-License-Identifier: MIT */
/*
 * web/dashboard.js - the overview screen (概览), the first one after login:
 * today and the last 7 days of buyer messages (chat_stats), messages
 * answered automatically and chats handed over to the seller
 * (autoreply_stats), orders paid / delivered / failed and the revenue
 * (orders_stats); a bar chart of the 7 days drawn here as inline SVG (no
 * library: one bar per day and series, axis labels, a legend, a <title> on
 * each bar and a description for screen readers); the session's state, the
 * process's uptime and how long it has been connected (GET /api/status);
 * the chats waiting for the seller (list_chats, state "waiting"; a link to
 * the chats screen) and the cards running low (orders_stats low_stock; a
 * link to the stock screen).
 *
 * Each source may be missing (its plugin not loaded: the command answers
 * 404, or it fails): that part shows "—" and says which plugin it needs;
 * the rest is drawn. app.js makes it (window.skDash(k)) with its helpers
 * and calls what it returns: wire once, start / stop with the app, onEvent
 * for each live event (chat, send, orders.* and autoreply.* events refresh
 * it, at most every few seconds).
 *
 * Strings go through skI18n (this file adds its keys, zh and en); the day
 * strings are the server's Beijing days, shown in the page language's
 * short date. Everything from the server is set as text, never as HTML.
 */
'use strict';

window.skDash = function (k) {
	var S = k.S, $ = k.$, clear = k.clear, control = k.control, api = k.api, str = k.str, num = k.num,
		errText = k.errText, fmtTime = k.fmtTime;

	/* k.el, with the role attribute set as an attribute (not every browser
	 * reflects the role property). */
	function el(tag, attrs) {
		var e = k.el.apply(null, arguments);

		if (attrs && attrs.role)
			e.setAttribute('role', attrs.role);
		return e;
	}

	var SVG_NS = 'http://www.w3.org/2000/svg';
	var REFRESH_MS = 60000, EVENT_DELAY_MS = 2000, STATUS_MS = 15000, CHART_H = 230;
	var DASH = '—';

	/* The tiles: [stat, source, field] in the order shown. */
	var TILES = [
		['buyer_msgs', 'chats', 'buyer_msgs'],
		['answered', 'autoreply', 'answered'],
		['handed_over', 'autoreply', 'handed_over'],
		['paid', 'orders', 'paid'],
		['delivered', 'orders', 'delivered'],
		['failed', 'orders', 'failed'],
		['revenue', 'orders', 'revenue']
	];
	/* The chart's bar series: [series, source, field]. */
	var SERIES = [
		['buyer_msgs', 'chats', 'buyer_msgs'],
		['answered', 'autoreply', 'answered'],
		['paid', 'orders', 'paid']
	];
	/* Each source: its command and the plugin that answers it. */
	var SOURCES = {
		chats: { command: 'chat_stats', plugin: 'core' },
		autoreply: { command: 'autoreply_stats', plugin: 'autoreply' },
		orders: { command: 'orders_stats', plugin: 'orders' }
	};

	var STR = {
		zh: {
			'dash.nav': '概览',
			'dash.title': '概览',
			'dash.refresh': '刷新',
			'dash.updated': '更新于 {time}',
			'dash.today': '今天',
			'dash.week': '7 天：{n}',
			'dash.stat.buyer_msgs': '买家消息',
			'dash.stat.answered': '自动回复',
			'dash.stat.handed_over': '转人工',
			'dash.stat.paid': '已付款订单',
			'dash.stat.delivered': '已发货',
			'dash.stat.failed': '发货失败',
			'dash.stat.revenue': '收入',
			'dash.session': '连接',
			'dash.uptime': '已运行',
			'dash.connected_for': '本次连接',
			'dash.waiting': '等你回复',
			'dash.waiting_n': '{n} 个会话',
			'dash.waiting_1': '1 个会话',
			'dash.waiting_link': '去回复',
			'dash.low': '库存不足',
			'dash.low_none': '没有',
			'dash.low_card': '{card}：剩 {free} 张（低于 {low} 提醒）',
			'dash.low_link': '去补货',
			'dash.chart': '最近 7 天',
			'dash.chart_title': '最近 7 天的买家消息、自动回复和付款订单',
			'dash.chart_day': '{day}：买家消息 {buyer_msgs}，自动回复 {answered}，付款订单 {paid}，收入 {revenue}',
			'dash.chart_none': '还没有数据。',
			'dash.revenue_row': '日期下方为当天收入（元）',
			'dash.missing': '未加载：{what}（显示为 —）',
			'dash.missing.chats': '会话记录（chat_stats）',
			'dash.missing.autoreply': '自动回复插件 autoreply（autoreply_stats）',
			'dash.missing.orders': '订单插件 orders（orders_stats）',
			'dash.missing_hint': '在配置文件的 plugins.load 中加入该插件并重启后显示。',
			'dash.error': '无法读取 {what}：{err}',
			'dash.status_error': '无法读取状态：',
			'dash.state.CONNECTED': '已连接',
			'dash.state.CONNECTING': '连接中',
			'dash.state.RECONNECTING': '重新连接中',
			'dash.state.FAILED': '连接失败',
			'dash.state.CLOSED': '已关闭',
			'dash.state.DISCONNECTED': '未连接',
			'dash.dur.d': '{n}天',
			'dash.dur.h': '{n}小时',
			'dash.dur.m': '{n}分',
			'dash.dur.s': '{n}秒'
		},
		en: {
			'dash.nav': 'Overview',
			'dash.title': 'Overview',
			'dash.refresh': 'Refresh',
			'dash.updated': 'updated {time}',
			'dash.today': 'today',
			'dash.week': '7 days: {n}',
			'dash.stat.buyer_msgs': 'Buyer messages',
			'dash.stat.answered': 'Answered automatically',
			'dash.stat.handed_over': 'Handed over to you',
			'dash.stat.paid': 'Orders paid',
			'dash.stat.delivered': 'Delivered',
			'dash.stat.failed': 'Delivery failed',
			'dash.stat.revenue': 'Revenue',
			'dash.session': 'Connection',
			'dash.uptime': 'Running for',
			'dash.connected_for': 'Connected for',
			'dash.waiting': 'Waiting for you',
			'dash.waiting_n': '{n} chats',
			'dash.waiting_1': '1 chat',
			'dash.waiting_link': 'answer them',
			'dash.low': 'Cards running low',
			'dash.low_none': 'none',
			'dash.low_card': '{card}: {free} left (alert below {low})',
			'dash.low_link': 'add codes',
			'dash.chart': 'The last 7 days',
			'dash.chart_title': 'Buyer messages, automatic answers and paid orders of the last 7 days',
			'dash.chart_day': '{day}: {buyer_msgs} buyer messages, {answered} answered automatically, {paid} orders paid, revenue {revenue}',
			'dash.chart_none': 'No data yet.',
			'dash.revenue_row': 'under each day: its revenue (yuan)',
			'dash.missing': 'Not loaded: {what} (shown as —)',
			'dash.missing.chats': 'the conversation store (chat_stats)',
			'dash.missing.autoreply': 'the autoreply plugin (autoreply_stats)',
			'dash.missing.orders': 'the orders plugin (orders_stats)',
			'dash.missing_hint': 'Add the plugin to plugins.load in the config file and restart to see it.',
			'dash.error': 'Could not read {what}: {err}',
			'dash.status_error': 'Could not read the status: ',
			'dash.state.CONNECTED': 'connected',
			'dash.state.CONNECTING': 'connecting',
			'dash.state.RECONNECTING': 'reconnecting',
			'dash.state.FAILED': 'failed',
			'dash.state.CLOSED': 'closed',
			'dash.state.DISCONNECTED': 'not connected',
			'dash.dur.d': '{n}d',
			'dash.dur.h': '{n}h',
			'dash.dur.m': '{n}m',
			'dash.dur.s': '{n}s'
		}
	};

	if (window.skI18n) {
		window.skI18n.add('zh', STR.zh);
		window.skI18n.add('en', STR.en);
	}

	function t(key, vars) {
		return window.skI18n ? window.skI18n.t(key, vars) : key;
	}

	function lang() {
		return window.skI18n ? window.skI18n.lang() : 'zh';
	}

	var D = {
		src: {},          /* source -> {ok, data, status, error} of the last load */
		status: null,     /* GET /api/status's answer */
		statusAt: 0,      /* when it came (ms, the page's clock) */
		statusErr: '',
		chats: null,      /* {ok, waiting (null: the store does not say), error} */
		loadedAt: 0,
		timers: [],
		eventTimer: null,
		lastLoad: 0,
		seq: 0,
		width: 0,
		resizeTimer: null,
		running: false
	};

	/* ----------------------------------------------------------- formatting */

	/* "YYYY-MM-DD" as a short date of the page's language; the string itself
	 * when it is not one. */
	function fmtDay(day) {
		var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(str(day)), d;

		if (!m)
			return str(day);
		d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
		try {
			return d.toLocaleDateString(lang() === 'zh' ? 'zh-CN' : 'en', { month: 'numeric', day: 'numeric',
				timeZone: 'UTC' });
		} catch (e) {
			return m[2] + '-' + m[3];
		}
	}

	/* A count for a tile or label: the number, "—" when unknown. */
	function fmtCount(v) {
		var n = num(v);

		return n === null ? DASH : n.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en');
	}

	/* A yuan string ("123.40") as fen (12340); null when it is not one. */
	function fen(v) {
		var m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(str(v).trim());

		if (!m)
			return null;
		return (m[1] ? -1 : 1) * (parseInt(m[2], 10) * 100 + (m[3] ? parseInt((m[3] + '0').slice(0, 2), 10) : 0));
	}

	/* Fen as "¥123.40" ("—" for null); whole yuan when short is set. */
	function fmtYuan(f, short) {
		var neg, y, c;

		if (f === null || f === undefined)
			return DASH;
		neg = f < 0;
		f = Math.abs(f);
		y = Math.floor(f / 100);
		c = f % 100;
		if (short)
			return (neg ? '-' : '') + '¥' + Math.round(f / 100).toLocaleString('en');
		return (neg ? '-' : '') + '¥' + y.toLocaleString('en') + '.' + (c < 10 ? '0' : '') + c;
	}

	/* Seconds as "2天 3小时" / "2d 3h" (the two largest units). */
	function fmtDur(s) {
		var d, h, m, out = [];

		if (num(s) === null || s < 0)
			return DASH;
		s = Math.floor(s);
		d = Math.floor(s / 86400);
		h = Math.floor(s % 86400 / 3600);
		m = Math.floor(s % 3600 / 60);
		if (d)
			out.push(t('dash.dur.d', { n: d }), t('dash.dur.h', { n: h }));
		else if (h)
			out.push(t('dash.dur.h', { n: h }), t('dash.dur.m', { n: m }));
		else if (m)
			out.push(t('dash.dur.m', { n: m }), t('dash.dur.s', { n: s % 60 }));
		else
			out.push(t('dash.dur.s', { n: s }));
		return out.join(lang() === 'zh' ? '' : ' ');
	}

	/* ----------------------------------------------------------------- data */

	/* The days of a loaded source (an array, [] when it failed). */
	function days(src) {
		var s = D.src[src];

		return s && s.ok && s.data && Array.isArray(s.data.days) ? s.data.days : [];
	}

	function srcOk(src) {
		return !!(D.src[src] && D.src[src].ok);
	}

	/* The row of source src for day, null when none. */
	function row(src, day) {
		var list = days(src), i;

		for (i = 0; i < list.length; i++)
			if (list[i] && list[i].day === day)
				return list[i];
		return null;
	}

	/* The days to show: every source's days, sorted, the last 7 (the
	 * server's Beijing days; today is the last). */
	function allDays() {
		var seen = {}, out = [];

		Object.keys(SOURCES).forEach(function (src) {
			days(src).forEach(function (r) {
				if (r && typeof r.day === 'string' && !seen[r.day]) {
					seen[r.day] = true;
					out.push(r.day);
				}
			});
		});
		out.sort();
		return out.slice(-7);
	}

	/* The value of field in source src on day: a number (fen for revenue),
	 * 0 for a day the source does not list, null when the source is missing. */
	function value(src, field, day) {
		var r;

		if (!srcOk(src))
			return null;
		r = row(src, day);
		if (!r)
			return 0;
		if (field === 'revenue')
			return fen(r.revenue) === null ? 0 : fen(r.revenue);
		return num(r[field]) === null ? 0 : r[field];
	}

	/* The sum of field over the days, null when the source is missing. */
	function total(src, field, list) {
		var s = 0, i, v;

		if (!srcOk(src))
			return null;
		for (i = 0; i < list.length; i++) {
			v = value(src, field, list[i]);
			s += v || 0;
		}
		return s;
	}

	/* One source's command: resolves to {ok, data} or {ok:false, status, error}
	 * (never rejects). */
	function load(src) {
		return control(SOURCES[src].command, { days: 7 }).then(function (d) {
			return { ok: true, data: d };
		}, function (err) {
			return { ok: false, status: err.status, error: errText(err) };
		});
	}

	/* The waiting chats: resolves to {ok, waiting} (waiting null when the
	 * list does not say states), never rejects. */
	function loadChats() {
		return control('list_chats', { limit: 500 }).then(function (d) {
			var list = Array.isArray(d.chats) ? d.chats : [], n = 0, known = true;

			list.forEach(function (c) {
				if (!c || typeof c.state !== 'string')
					known = false;
				else if (c.state === 'waiting')
					n++;
			});
			return { ok: true, waiting: known ? n : null };
		}, function (err) {
			return { ok: false, status: err.status, error: errText(err) };
		});
	}

	function loadStatus() {
		return api('GET', '/api/status').then(function (d) {
			D.status = d;
			D.statusAt = Date.now();
			D.statusErr = '';
		}, function (err) {
			if (err.status !== 401)
				D.statusErr = t('dash.status_error') + errText(err);
		});
	}

	/* Reads every source again and redraws; a newer refresh wins. */
	function refresh() {
		var seq = ++D.seq, names = Object.keys(SOURCES);

		if (!S.loggedIn)
			return Promise.resolve();
		D.lastLoad = Date.now();
		return Promise.all(names.map(load).concat([loadChats(), loadStatus()])).then(function (res) {
			if (seq !== D.seq || !S.loggedIn)
				return;
			names.forEach(function (n, i) {
				D.src[n] = res[i];
			});
			D.chats = res[names.length];
			D.loadedAt = Date.now();
			render();
		});
	}

	function refreshStatus() {
		if (!S.loggedIn)
			return;
		loadStatus().then(function () {
			if (S.loggedIn)
				renderSession();
		});
	}

	/* --------------------------------------------------------------- render */

	/* Builds the screen's frame in #dash-box (once; the language switch
	 * rebuilds it). */
	function frame() {
		var box = $('dash-box'), tiles;

		if (!box)
			return;
		clear(box);
		box.appendChild(el('div', { className: 'dash-session', id: 'dash-session' },
			el('div', { className: 'dash-fact' }, el('div', { className: 'label' }, t('dash.session')),
				el('span', { id: 'dash-state', className: 'pill' }, DASH)),
			el('div', { className: 'dash-fact' }, el('div', { className: 'label' }, t('dash.uptime')),
				el('div', { id: 'dash-uptime', className: 'dash-fact-value' }, DASH)),
			el('div', { className: 'dash-fact' }, el('div', { className: 'label' }, t('dash.connected_for')),
				el('div', { id: 'dash-connected', className: 'dash-fact-value' }, DASH)),
			el('div', { className: 'dash-fact' }, el('div', { className: 'label' }, t('dash.waiting')),
				el('div', { className: 'dash-fact-value' }, el('span', { id: 'dash-waiting' }, DASH), ' ',
					el('a', { id: 'dash-waiting-link', href: '#sec-chats', className: 'dash-link', hidden: true },
						t('dash.waiting_link'))))));
		tiles = el('div', { className: 'dash-tiles', id: 'dash-tiles', role: 'list' });
		TILES.forEach(function (tl) {
			tiles.appendChild(el('div', { className: 'dash-tile', role: 'listitem', 'data-stat': tl[0] },
				el('div', { className: 'dash-tile-label' }, t('dash.stat.' + tl[0])),
				el('div', { className: 'dash-tile-today' },
					el('span', { id: 'dash-today-' + tl[0], className: 'dash-num' }, DASH),
					el('span', { className: 'muted small-text' }, ' ' + t('dash.today'))),
				el('div', { id: 'dash-week-' + tl[0], className: 'muted small-text' }, t('dash.week', { n: DASH }))));
		});
		box.appendChild(tiles);
		box.appendChild(el('p', { id: 'dash-missing', className: 'hint dash-missing', hidden: true }));
		box.appendChild(el('p', { id: 'dash-error', className: 'error', role: 'alert', hidden: true }));
		box.appendChild(el('h3', null, t('dash.chart')));
		box.appendChild(el('div', { id: 'dash-chart', className: 'dash-chart' }));
		box.appendChild(el('ul', { id: 'dash-legend', className: 'dash-legend' }));
		box.appendChild(el('div', { className: 'dash-low' }, el('h3', null, t('dash.low')),
			el('ul', { id: 'dash-low', className: 'dash-low-list' }),
			el('a', { id: 'dash-low-link', href: '#sec-stock', className: 'dash-link', hidden: true }, t('dash.low_link'))));
	}

	function setText(id, v) {
		var e = $(id);

		if (e)
			e.textContent = v;
	}

	function renderSession() {
		var d = D.status, state, m, up, conn, pill = $('dash-state');

		if (!pill)
			return;
		if (!d) {
			pill.textContent = D.statusErr ? DASH : '…';
			pill.title = D.statusErr;
			return;
		}
		state = str(d.state) || 'DISCONNECTED';
		m = d.metrics || {};
		pill.textContent = t('dash.state.' + state) === 'dash.state.' + state ? state : t('dash.state.' + state);
		pill.title = D.statusErr || state;
		pill.className = 'pill ' + (state === 'CONNECTED' ? 'good' : state === 'FAILED' ? 'bad'
			: state === 'CONNECTING' || state === 'RECONNECTING' ? 'warn' : 'off');
		pill.setAttribute('data-state', state);
		up = num(d.uptime_s);
		setText('dash-uptime', up === null ? DASH : fmtDur(up + (Date.now() - D.statusAt) / 1000));
		conn = num(m.connected_ms);
		setText('dash-connected', state === 'CONNECTED' && conn && conn > 0 ? fmtDur((Date.now() - conn) / 1000) : DASH);
	}

	function renderTiles(list) {
		var today = list.length ? list[list.length - 1] : null;

		TILES.forEach(function (tl) {
			var ok = srcOk(tl[1]), v = ok && today ? value(tl[1], tl[2], today) : (ok ? 0 : null);
			var w = total(tl[1], tl[2], list), tile = document.querySelector('.dash-tile[data-stat="' + tl[0] + '"]');

			if (tl[0] === 'revenue') {
				setText('dash-today-' + tl[0], fmtYuan(v));
				setText('dash-week-' + tl[0], t('dash.week', { n: fmtYuan(w) }));
			} else {
				setText('dash-today-' + tl[0], fmtCount(v));
				setText('dash-week-' + tl[0], t('dash.week', { n: fmtCount(w) }));
			}
			if (tile) {
				tile.classList.toggle('missing', !ok);
				tile.classList.toggle('bad', tl[0] === 'failed' && v > 0);
				tile.title = ok ? '' : t('dash.missing.' + tl[1]);
			}
		});
	}

	function renderMissing() {
		var miss = [], errs = [];

		Object.keys(SOURCES).forEach(function (src) {
			var s = D.src[src];

			if (!s || s.ok)
				return;
			if (s.status === 404)
				miss.push(t('dash.missing.' + src));
			else if (s.status !== 401)
				errs.push(t('dash.error', { what: SOURCES[src].command, err: s.error }));
		});
		setText('dash-missing', miss.length ? t('dash.missing', { what: miss.join(lang() === 'zh' ? '、' : ', ') }) +
			' ' + t('dash.missing_hint') : '');
		if ($('dash-missing'))
			$('dash-missing').hidden = !miss.length;
		setText('dash-error', errs.join(' '));
		if ($('dash-error'))
			$('dash-error').hidden = !errs.length;
	}

	function renderWaiting() {
		var c = D.chats, n = c && c.ok ? c.waiting : null;

		setText('dash-waiting', n === null || n === undefined ? DASH : t(n === 1 ? 'dash.waiting_1' : 'dash.waiting_n',
			{ n: n }));
		if ($('dash-waiting'))
			$('dash-waiting').classList.toggle('dash-alert', n > 0);
		if ($('dash-waiting-link'))
			$('dash-waiting-link').hidden = !(n > 0) || !document.getElementById('sec-chats');
	}

	function renderLow() {
		var ul = $('dash-low'), s = D.src.orders, list;

		if (!ul)
			return;
		clear(ul);
		if (!srcOk('orders')) {
			ul.appendChild(el('li', { className: 'muted' }, DASH));
			$('dash-low-link').hidden = true;
			return;
		}
		list = Array.isArray(s.data.low_stock) ? s.data.low_stock : [];
		list.forEach(function (c) {
			ul.appendChild(el('li', { className: 'dash-low-card', 'data-card': str(c.card) },
				el('span', { className: 'badge ' + (num(c.free) === 0 ? 'bad' : 'warn') }, fmtCount(c.free)), ' ',
				t('dash.low_card', { card: str(c.card), free: fmtCount(c.free), low: fmtCount(c.low_stock) })));
		});
		if (!list.length)
			ul.appendChild(el('li', { className: 'muted' }, t('dash.low_none')));
		$('dash-low-link').hidden = !list.length || !document.getElementById('sec-stock');
	}

	/* An SVG element with attributes (set with setAttribute) and children. */
	function svg(tag, attrs) {
		var e = document.createElementNS(SVG_NS, tag), key, i, c;

		for (key in attrs || {})
			if (Object.prototype.hasOwnProperty.call(attrs, key) && attrs[key] !== null && attrs[key] !== undefined)
				e.setAttribute(key, String(attrs[key]));
		for (i = 2; i < arguments.length; i++) {
			c = arguments[i];
			if (c !== null && c !== undefined)
				e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
		}
		return e;
	}

	/* A "nice" step for an axis of max over about n ticks: 1, 2 or 5 times
	 * a power of ten, at least 1. */
	function niceStep(max, n) {
		var raw = Math.max(max / n, 1), p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;

		return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
	}

	/* The bar chart of the days into #dash-chart: per day one bar for each
	 * series whose source answered, the y axis with its ticks, the day under
	 * each group and the day's revenue under it. */
	function renderChart(list) {
		var box = $('dash-chart'), legend = $('dash-legend'), W, H = CHART_H, L = 38, R = 8, T = 12, B = 46;
		var series, max = 0, step, top, plotW, plotH, groupW, barW, root, desc = [], y, narrow;

		if (!box)
			return;
		clear(box);
		clear(legend);
		series = SERIES.filter(function (s) { return srcOk(s[1]); });
		SERIES.forEach(function (s) {
			var ok = srcOk(s[1]);

			legend.appendChild(el('li', { className: 'dash-legend-item' + (ok ? '' : ' missing'), 'data-series': s[0] },
				el('span', { className: 'dash-swatch s-' + s[0], 'aria-hidden': 'true' }),
				t('dash.stat.' + s[0]) + (ok ? '' : ' ' + DASH)));
		});
		legend.appendChild(el('li', { className: 'dash-legend-item muted', 'data-series': 'revenue' },
			t('dash.revenue_row')));
		if (!list.length || !(series.length || srcOk('orders'))) {
			box.appendChild(el('p', { className: 'muted' }, t('dash.chart_none')));
			return;
		}
		W = Math.max(280, Math.floor(box.clientWidth || 600));
		D.width = W;
		narrow = W / list.length < 64;
		list.forEach(function (day) {
			series.forEach(function (s) {
				max = Math.max(max, value(s[1], s[2], day) || 0);
			});
		});
		step = niceStep(max, 4);
		top = Math.max(step, Math.ceil(max / step) * step);
		plotW = W - L - R;
		plotH = H - T - B;
		groupW = plotW / list.length;
		barW = Math.max(3, Math.min(22, groupW * 0.78 / Math.max(1, series.length)));
		root = svg('svg', { id: 'dash-svg', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img',
			'aria-labelledby': 'dash-svg-title dash-svg-desc', 'class': 'dash-svg' });
		root.appendChild(svg('title', { id: 'dash-svg-title' }, t('dash.chart_title')));
		/* the y axis: gridlines and their labels */
		for (y = 0; y <= top; y += step) {
			var py = T + plotH - plotH * y / top;

			root.appendChild(svg('line', { x1: L, x2: W - R, y1: py, y2: py, 'class': y ? 'grid' : 'axis' }));
			root.appendChild(svg('text', { x: L - 6, y: py + 4, 'text-anchor': 'end', 'class': 'tick' },
				fmtCount(y)));
		}
		list.forEach(function (day, di) {
			var gx = L + groupW * di, x0 = gx + (groupW - barW * series.length) / 2, label = fmtDay(day);
			var rev = value('orders', 'revenue', day), g = svg('g', { 'class': 'day', 'data-day': day }), vals = {};

			series.forEach(function (s, si) {
				var v = value(s[1], s[2], day) || 0, h = plotH * v / top;

				vals[s[0]] = v;
				g.appendChild(svg('rect', { x: (x0 + barW * si).toFixed(1), y: (T + plotH - h).toFixed(1),
					width: Math.max(1, barW - 1).toFixed(1), height: Math.max(0, h).toFixed(1),
					'class': 'bar s-' + s[0], 'data-series': s[0], 'data-day': day, 'data-value': v },
				svg('title', null, label + ' · ' + t('dash.stat.' + s[0]) + ' ' + fmtCount(v))));
			});
			g.appendChild(svg('text', { x: (gx + groupW / 2).toFixed(1), y: T + plotH + 16, 'text-anchor': 'middle',
				'class': 'day-label' + (di === list.length - 1 ? ' today' : '') }, label));
			g.appendChild(svg('text', { x: (gx + groupW / 2).toFixed(1), y: T + plotH + 33, 'text-anchor': 'middle',
				'class': 'rev-label', 'data-day': day }, rev === null ? DASH : fmtYuan(rev, narrow)));
			root.appendChild(g);
			desc.push(t('dash.chart_day', { day: label,
				buyer_msgs: vals.buyer_msgs === undefined ? DASH : fmtCount(vals.buyer_msgs),
				answered: vals.answered === undefined ? DASH : fmtCount(vals.answered),
				paid: vals.paid === undefined ? DASH : fmtCount(vals.paid),
				revenue: fmtYuan(rev) }));
		});
		root.insertBefore(svg('desc', { id: 'dash-svg-desc' }, desc.join(lang() === 'zh' ? '；' : '; ')),
			root.children[1] || null);
		box.appendChild(root);
	}

	function render() {
		var list = allDays();

		if (!$('dash-tiles'))
			frame();
		renderSession();
		renderTiles(list);
		renderMissing();
		renderWaiting();
		renderLow();
		renderChart(list);
		setText('dash-updated', t('dash.updated', { time: fmtTime(D.loadedAt) }));
	}

	/* ---------------------------------------------------------------- hooks */

	/* A live event of the page's feed: a chat message, a send, an orders.* or
	 * autoreply.* topic refresh the numbers (at most every EVENT_DELAY_MS,
	 * trailing); a state change refreshes the session part. */
	function onEvent(j) {
		var topic;

		if (!D.running || !j)
			return;
		topic = j.kind === 'plugin' ? str(j.topic) : '';
		if (j.kind === 'state') {
			setTimeout(refreshStatus, 300);
			return;
		}
		if (j.kind !== 'event' && j.kind !== 'send' && !/^(orders|autoreply|core)\./.test(topic))
			return;
		if (D.eventTimer)
			return;
		D.eventTimer = setTimeout(function () {
			D.eventTimer = null;
			refresh();
		}, EVENT_DELAY_MS);
	}

	function start() {
		stop();
		D.running = true;
		frame();
		render();
		refresh();
		D.timers.push(setInterval(refresh, REFRESH_MS));
		D.timers.push(setInterval(function () {
			if (document.hidden)
				return;
			refreshStatus();
		}, STATUS_MS));
	}

	function stop() {
		D.running = false;
		D.timers.forEach(clearInterval);
		D.timers = [];
		clearTimeout(D.eventTimer);
		D.eventTimer = null;
		D.seq++;
	}

	/* Once at the page's start: the refresh button, the language switch,
	 * the chart's width following the window's. */
	function wire() {
		if ($('dash-refresh'))
			$('dash-refresh').addEventListener('click', function () { refresh(); });
		if (window.skI18n)
			window.skI18n.onChange(function () {
				frame();
				if (D.loadedAt)
					render();
			});
		window.addEventListener('resize', function () {
			clearTimeout(D.resizeTimer);
			D.resizeTimer = setTimeout(function () {
				var box = $('dash-chart');

				if (box && D.loadedAt && Math.floor(box.clientWidth) !== D.width)
					renderChart(allDays());
			}, 150);
		});
	}

	return { wire: wire, start: start, stop: stop, refresh: refresh, onEvent: onEvent, t: t, strings: STR };
};
