/* SPDX-License-Identifier: MIT */
/*
 * web/events.js - the live events panel of the page (#sec-events): the
 * WebSocket /api/events (reconnecting with a doubling delay up to 30 s) and
 * the list of what the bot sees and does, newest on top, the last 200.
 *
 * A reload keeps the last events: each time the socket opens (at start and
 * after each reconnect) the panel asks events_recent for the last ones (the
 * same objects the socket sends, from the process's ring or event log) and
 * merges them in by time. Events of both ways are deduplicated by kind, ms
 * and what names them (uuid, chat, topic, text ...), so the seam between the
 * history and the socket shows each event once; an event the Clear button
 * removed does not come back with a later history. Only the socket's own
 * events go to k.onEvent (app.js refreshes the screens there): an old event
 * from the history must not set today's state.
 *
 * app.js makes it (window.skEvents(k)) and calls start / stop with the app
 * and wire once. Strings go through skI18n (this file adds its keys, zh and
 * en); what the server sends (buyer texts above all) is set as text.
 */
'use strict';

window.skEvents = function (k) {
	var S = k.S, $ = k.$, el = k.el, clear = k.clear, control = k.control, api = k.api, str = k.str, num = k.num,
		fmtTime = k.fmtTime;

	var EVENTS_MAX = 200, RECENT = 200;

	var STR = {
		zh: {
			'events.nav': '实时事件',
			'events.title': '实时事件',
			'events.hint': '机器人看到和做的每件事，最新的在上面（最近 200 条；刷新页面后仍保留最近的）。',
			'events.clear': '清空',
			'events.empty': '还没有事件。',
			'events.off': '未连接',
			'events.connecting': '连接中…',
			'events.live': '实时',
			'events.retry': '已断开 – {s} 秒后重试',
			'events.kind.message': '消息',
			'events.kind.state': '状态',
			'events.kind.send': '发送',
			'events.kind.plugin': '插件',
			'events.kind.reply': '应答',
			'events.who.echo': '机器人（回显）',
			'events.who.you': '你',
			'events.who.buyer': '买家',
			'events.chat': '会话 {id}',
			'events.order': '订单 {id}',
			'events.sent': '已发送 {id}',
			'events.refused': '被拒绝：{reason}',
			'events.by': '来自 {plugin}',
			'events.from': '来自 {plugin}',
			'events.reply_ok': '成功',
			'events.reply_failed': '失败：{error}'
		},
		en: {
			'events.nav': 'Live events',
			'events.title': 'Live events',
			'events.hint': 'Everything the bot sees and does, as it happens; newest on top (the last 200; a reload keeps the recent ones).',
			'events.clear': 'Clear',
			'events.empty': 'Nothing yet.',
			'events.off': 'not connected',
			'events.connecting': 'connecting…',
			'events.live': 'live',
			'events.retry': 'disconnected – retrying in {s} s',
			'events.kind.message': 'message',
			'events.kind.state': 'state',
			'events.kind.send': 'send',
			'events.kind.plugin': 'plugin',
			'events.kind.reply': 'reply',
			'events.who.echo': 'bot (echo)',
			'events.who.you': 'you',
			'events.who.buyer': 'buyer',
			'events.chat': 'chat {id}',
			'events.order': 'order {id}',
			'events.sent': 'sent {id}',
			'events.refused': 'REFUSED: {reason}',
			'events.by': 'by {plugin}',
			'events.from': 'from {plugin}',
			'events.reply_ok': 'ok',
			'events.reply_failed': 'failed: {error}'
		}
	};

	if (window.skI18n) {
		window.skI18n.add('zh', STR.zh);
		window.skI18n.add('en', STR.en);
	}

	function t(key, vars) {
		return window.skI18n ? window.skI18n.t(key, vars) : key;
	}

	var E = {
		ws: null,
		wanted: false,
		delay: 1000,
		timer: null,
		keys: {},         /* dedup key -> true, for the events in the list */
		clearedMs: 0,     /* events up to this time were cleared: the history leaves them out */
		recentSeq: 0,
		status: ['events.off', 'off', null]
	};

	/* ------------------------------------------------------------ status pill */

	/* Sets the pill to key's text (vars for its placeholders), css class cls
	 * and data-state (off, connecting, live, retry: what tests look at); kept
	 * for a language switch. */
	function setStatus(key, cls, vars) {
		var p = $('events-status');

		E.status = [key, cls, vars || null];
		if (!p)
			return;
		p.textContent = t(key, vars);
		p.setAttribute('data-state', key.replace(/^events\./, ''));
		p.className = p.className.replace(/\b(good|warn|bad|off)\b/g, '').trim() + ' ' + cls;
	}

	/* ------------------------------------------------------------- rendering */

	function shortJson(v) {
		var s;

		try {
			s = JSON.stringify(v);
		} catch (e) {
			s = String(v);
		}
		return s && s.length > 300 ? s.slice(0, 300) + '…' : s;
	}

	/* A session state in the page's words (app.js knows them), else as it is. */
	function stateText(st) {
		return k.stateText ? k.stateText(str(st)) : str(st);
	}

	/* One readable line for an event object: [kind label, text, css class]. */
	function describe(j) {
		var who, x;

		switch (j.kind) {
		case 'event':
			who = j.own ? t(j.echo ? 'events.who.echo' : 'events.who.you')
				: (str(j.sender_name) || str(j.sender_id) || t('events.who.buyer'));
			x = str(j.type) + (j.chat_id ? ' · ' + t('events.chat', { id: j.chat_id }) : '') + ' · ' + who +
				(j.sender_id && !j.own && j.sender_name ? ' (' + j.sender_id + ')' : '');
			if (j.text)
				x += ': ' + j.text;
			if (j.order_id)
				x += ' · ' + t('events.order', { id: j.order_id });
			if (j.trade && j.trade !== 'none' && j.trade !== 'NONE')
				x += ' · ' + j.trade;
			return [t('events.kind.message'), x, j.own ? 'own' : 'buyer'];
		case 'state':
			return [t('events.kind.state'), stateText(j.from) + ' → ' + stateText(j.to) + (j.why ? ' (' + j.why + ')' : ''),
				j.to === 'FAILED' ? 'bad' : j.to === 'CONNECTED' ? 'good' : 'warn'];
		case 'send':
			return [t('events.kind.send'), (j.ok ? t('events.sent', { id: str(j.message_id) })
				: t('events.refused', { reason: str(j.reason) })) +
				(j.plugin ? ' · ' + t('events.by', { plugin: j.plugin }) : '') + (j.tag ? ' · ' + j.tag : '') +
				' · ' + str(j.uuid), j.ok ? 'good' : 'bad'];
		case 'plugin':
			return [t('events.kind.plugin'), str(j.topic) + (j.from ? ' ' + t('events.from', { plugin: j.from }) : '') +
				(j.payload !== undefined ? ': ' + shortJson(j.payload) : ''),
				/fail|low_stock|handover/.test(str(j.topic)) ? 'bad' : ''];
		case 'reply':
			return [t('events.kind.reply'), str(j.request_id) + ' ' + (j.success ? t('events.reply_ok')
				: t('events.reply_failed', { error: str(j.error) })), j.success ? '' : 'bad'];
		default:
			return [str(j.kind) || '?', j.text !== undefined ? str(j.text) : shortJson(j), ''];
		}
	}

	/* What tells two events apart: kind, ms and the fields that name them
	 * (the same event from the history and the socket has the same key). */
	function keyOf(j) {
		return [j.kind, num(j.ms), j.uuid, j.chat_id, j.topic, j.from, j.to, j.type, j.sender_id, j.message_id,
			j.order_id, j.text, j.reason, j.why, j.request_id,
			j.payload !== undefined ? shortJson(j.payload) : ''].map(str).join('\u0001');
	}

	/* The list item of event j (ms its time). */
	function item(j, ms) {
		var d = describe(j), li = el('li', { className: 'ev ' + d[2], title: shortJson(j) },
			el('span', { className: 'ev-time' }, fmtTime(ms)),
			el('span', { className: 'ev-kind' }, d[0]),
			el('span', { className: 'ev-text' }, d[1]));

		li.setAttribute('data-ms', String(ms));
		li.setAttribute('data-kind', str(j.kind));
		li._skEvent = j;
		return li;
	}

	/* Puts event j into the list at its time (newest on top) unless it is
	 * there already; trims the list to EVENTS_MAX. Returns whether it was
	 * added. */
	function add(j, past) {
		var list = $('events-list'), ms, key, li, at, last;

		if (!list || !j || typeof j !== 'object')
			return false;
		ms = num(j.ms) || Date.now();
		if (past && ms <= E.clearedMs)
			return false;
		key = keyOf(j);
		if (E.keys[key])
			return false;
		li = item(j, ms);
		li._skKey = key;
		if (past)
			li.classList.add('ev-past');
		at = list.firstChild;
		while (at && Number(at.getAttribute('data-ms')) > ms)
			at = at.nextSibling;
		list.insertBefore(li, at);
		E.keys[key] = true;
		while (list.children.length > EVENTS_MAX) {
			last = list.lastChild;
			delete E.keys[last._skKey];
			list.removeChild(last);
		}
		return li.parentNode === list;
	}

	/* Every item's text again (a language switch). */
	function redraw() {
		var list = $('events-list');

		if (!list)
			return;
		list.setAttribute('data-empty', t('events.empty'));
		Array.prototype.forEach.call(list.children, function (li) {
			var j = li._skEvent, d;

			if (!j)
				return;
			d = describe(j);
			li.children[1].textContent = d[0];
			li.children[2].textContent = d[1];
		});
		setStatus(E.status[0], E.status[1], E.status[2]);
	}

	/* -------------------------------------------------------------- history */

	/* events_recent: the last events, merged in by time (a 404 - the process
	 * keeps none - is quiet). */
	function loadRecent() {
		var seq = ++E.recentSeq;

		return control('events_recent', { limit: RECENT }).then(function (d) {
			if (seq !== E.recentSeq || !E.wanted)
				return;
			(Array.isArray(d.events) ? d.events : []).forEach(function (j) {
				add(j, true);
			});
		}, function () { /* no history: the socket goes on */ });
	}

	/* --------------------------------------------------------------- socket */

	function connect() {
		var url, ws;

		if (!E.wanted || E.ws)
			return;
		url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/events';
		setStatus('events.connecting', 'warn');
		try {
			ws = new WebSocket(url);
		} catch (e) {
			scheduleReconnect();
			return;
		}
		E.ws = ws;
		ws.onopen = function () {
			if (E.ws !== ws)
				return;
			E.delay = 1000;
			setStatus('events.live', 'good');
			loadRecent();
		};
		ws.onmessage = function (m) {
			var j;

			if (E.ws !== ws)
				return;
			try {
				j = JSON.parse(m.data);
			} catch (e) {
				j = { kind: 'text', text: String(m.data) };
			}
			if (!j || typeof j !== 'object')
				return;
			add(j, false);
			k.onEvent(j);
		};
		ws.onclose = function () {
			if (E.ws !== ws)
				return;
			E.ws = null;
			if (!E.wanted)
				return;
			scheduleReconnect();
			/* a refused upgrade looks like any close: ask whether we are still logged in */
			api('GET', '/api/session', undefined, { auth: false }).then(function (s) {
				if (S.loggedIn && !s.logged_in)
					k.sessionEnded();
			}, function () { /* the status shows that the bot is away */ });
		};
		ws.onerror = function () { /* onclose follows */ };
	}

	function scheduleReconnect() {
		setStatus('events.retry', 'bad', { s: Math.round(E.delay / 1000) });
		clearTimeout(E.timer);
		E.timer = setTimeout(connect, E.delay);
		E.delay = Math.min(E.delay * 2, 30000);
	}

	/* ----------------------------------------------------------------- hooks */

	function start() {
		E.wanted = true;
		E.delay = 1000;
		connect();
	}

	function stop() {
		E.wanted = false;
		E.recentSeq++;
		clearTimeout(E.timer);
		if (E.ws) {
			try {
				E.ws.close();
			} catch (e) { /* closing anyway */ }
			E.ws = null;
		}
		setStatus('events.off', 'off');
	}

	function wire() {
		var list = $('events-list');

		if (list)
			list.setAttribute('data-empty', t('events.empty'));
		setStatus(E.status[0], E.status[1], E.status[2]);
		$('events-clear').addEventListener('click', function () {
			var first = list.firstChild;

			/* the history leaves out what was cleared (up to the newest shown, or now) */
			E.clearedMs = Math.max(E.clearedMs, first ? Number(first.getAttribute('data-ms')) || 0 : 0, Date.now());
			clear(list);
			E.keys = {};
		});
		if (window.skI18n)
			window.skI18n.onChange(redraw);
	}

	return { start: start, stop: stop, wire: wire, add: add, t: t, strings: STR };
};
