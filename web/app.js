/* SPDX-License-Identifier: MIT */
/*
 * web/app.js - the account's page (web/API.md has the API it speaks).
 *
 * Plain JS, no framework, no build step, nothing from outside; loaded with
 * <script src> only, so a strict Content-Security-Policy holds. Everything
 * that comes from the server (buyer texts above all: they are hostile) goes
 * into the page through textContent or element properties, never innerHTML.
 */
'use strict';

(function () {
	/* ------------------------------------------------------------------ state */

	var S = {
		csrf: null,
		account: '',
		loggedIn: false,
		needsSetup: false,
		doc: null,            /* the whole rules document, edited in place */
		rulesLoaded: false,
		dirty: false,
		ws: null,
		wsWanted: false,
		wsDelay: 1000,
		wsTimer: null,
		timers: [],
		reqSeq: 0,
		lastState: null,
		rulesBroken: false,   /* connected, but the rules file is refused and none are in force */
		retryTimer: null,
		soon: {}              /* debounced refreshes by name */
	};

	var EVENTS_MAX = 200;
	var STATES = ['CONNECTED', 'CONNECTING', 'RECONNECTING', 'FAILED', 'CLOSED', 'DISCONNECTED'];

	/* ---------------------------------------------------------------- helpers */

	function $(id) { return document.getElementById(id); }

	/* el('td', {className: 'num'}, 'text', otherNode): children are strings
	 * (set as text) or nodes; attributes are set as properties, except
	 * data-* and aria-* which go through setAttribute. */
	function el(tag, attrs) {
		var e = document.createElement(tag), k, i, c;

		if (attrs)
			for (k in attrs) {
				if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] === undefined || attrs[k] === null)
					continue;
				if (k.indexOf('data-') === 0 || k.indexOf('aria-') === 0)
					e.setAttribute(k, String(attrs[k]));
				else
					e[k] = attrs[k];
			}
		for (i = 2; i < arguments.length; i++) {
			c = arguments[i];
			if (c === null || c === undefined || c === false)
				continue;
			e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
		}
		return e;
	}

	function clear(node) {
		while (node.firstChild)
			node.removeChild(node.firstChild);
	}

	function show(node, on) {
		if (typeof node === 'string')
			node = $(node);
		if (node)
			node.hidden = !on;
	}

	/* Shows msg in the error element id (or hides it when msg is empty). */
	function setError(id, msg) {
		var e = $(id);

		if (!e)
			return;
		e.textContent = msg || '';
		e.hidden = !msg;
	}

	function str(v) {
		return v === null || v === undefined ? '' : String(v);
	}

	function num(v) {
		return typeof v === 'number' && isFinite(v) ? v : null;
	}

	function fmtNum(v) {
		var n = num(v);

		return n === null ? '–' : n.toLocaleString();
	}

	function plural(n, word) {
		return fmtNum(n) + ' ' + word + (n === 1 ? '' : 's');
	}

	function pad2(n) { return (n < 10 ? '0' : '') + n; }

	/* A time of day for today, else date and time. */
	function fmtTime(ms) {
		var d, now;

		if (!num(ms) || ms <= 0)
			return '';
		d = new Date(ms);
		now = new Date();
		var t = pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
		if (d.toDateString() === now.toDateString())
			return t;
		return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' + t;
	}

	function fmtDuration(s) {
		var d, h, m, out = [];

		if (num(s) === null)
			return '–';
		s = Math.max(0, Math.floor(s));
		d = Math.floor(s / 86400);
		h = Math.floor(s % 86400 / 3600);
		m = Math.floor(s % 3600 / 60);
		if (d)
			out.push(d + 'd');
		if (d || h)
			out.push(h + 'h');
		if (!d)
			out.push(m + 'm');
		if (!d && !h)
			out.push(s % 60 + 's');
		return out.join(' ');
	}

	function clone(v) {
		return JSON.parse(JSON.stringify(v));
	}

	/* Runs fn at most once per `ms` for name (trailing call). */
	function soon(name, ms, fn) {
		if (S.soon[name])
			return;
		S.soon[name] = setTimeout(function () {
			S.soon[name] = null;
			fn();
		}, ms);
	}

	/* -------------------------------------------------------------------- API */

	function ApiError(status, message, body, retryAfter) {
		this.status = status;
		this.message = message;
		this.body = body;
		this.retryAfter = retryAfter;
	}

	var STATUS_TEXT = {
		0: 'the bot is not answering (is it running?)',
		400: 'bad request',
		401: 'not logged in',
		403: 'refused (security token): reload the page and try again',
		404: 'not found',
		405: 'method not allowed',
		411: 'length required',
		413: 'too large (at most 256 KiB)',
		422: 'not valid',
		429: 'too many attempts',
		500: 'internal error of the bot (see its log)'
	};

	/* fetch() wrapper: resolves to the parsed JSON body, rejects with ApiError.
	 * opts.auth false: a 401 does not mean "the session ended" (login). */
	function api(method, path, body, opts) {
		var headers = { 'Accept': 'application/json' }, init;

		opts = opts || {};
		if (body !== undefined)
			headers['Content-Type'] = 'application/json';
		if (method !== 'GET' && S.csrf)
			headers['X-CSRF-Token'] = S.csrf;
		init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
		if (body !== undefined)
			init.body = JSON.stringify(body);
		return fetch(path, init).then(function (res) {
			return res.text().then(function (text) {
				var data = null, msg;

				try {
					data = text ? JSON.parse(text) : {};
				} catch (e) {
					data = null;
				}
				if (res.ok && data !== null)
					return data;
				msg = data && typeof data.error === 'string' && data.error ? data.error
					: (STATUS_TEXT[res.status] || 'HTTP ' + res.status);
				if (res.ok)
					msg = 'the answer is not JSON';
				var err = new ApiError(res.status, msg, data,
					parseInt(res.headers.get('Retry-After') || '', 10) || 0);
				if (res.status === 401 && opts.auth !== false && S.loggedIn)
					sessionEnded();
				throw err;
			});
		}, function () {
			throw new ApiError(0, STATUS_TEXT[0], null, 0);
		});
	}

	/* A control command: resolves to its data, rejects with ApiError. */
	function control(command, data) {
		var req = { request_id: 'p' + (++S.reqSeq), command: command, data: data || {} };

		return api('POST', '/api/control', req).then(function (ans) {
			if (!ans || ans.success !== true)
				throw new ApiError(200, (ans && ans.error) || command + ' failed', ans, 0);
			return ans.data || {};
		}, function (err) {
			if (err.body && typeof err.body.error === 'string')
				err.message = err.body.error;
			throw err;
		});
	}

	function errText(err) {
		if (err instanceof ApiError)
			return err.status ? err.message + ' (' + err.status + ')' : err.message;
		return String(err && err.message || err);
	}

	/* Disables a button while p runs. */
	function busy(button, p) {
		if (button)
			button.disabled = true;
		return p.then(function (v) {
			if (button)
				button.disabled = false;
			return v;
		}, function (e) {
			if (button)
				button.disabled = false;
			throw e;
		});
	}

	/* ------------------------------------------------------------------ login */

	function start() {
		show('login-loading', true);
		api('GET', '/api/session', undefined, { auth: false }).then(function (s) {
			S.account = str(s.account);
			if (s.logged_in && s.csrf) {
				S.csrf = s.csrf;
				enterApp();
			} else {
				showLogin(!!s.needs_setup, '');
			}
		}, function (err) {
			showLogin(false, 'Cannot ask the bot whether you are logged in: ' + errText(err));
			show('login-form', true);
		});
	}

	function showLogin(needsSetup, msg) {
		S.loggedIn = false;
		S.needsSetup = needsSetup;
		stopApp();
		show('app-view', false);
		show('login-view', true);
		show('login-loading', false);
		$('login-account').textContent = S.account ? 'Account: ' + S.account : '';
		Array.prototype.forEach.call(document.querySelectorAll('input.username'), function (u) {
			u.value = S.account || 'admin';
		});
		show('setup-form', needsSetup);
		show('login-form', !needsSetup);
		setError('setup-error', needsSetup ? msg : '');
		setError('login-error', needsSetup ? '' : msg);
		$(needsSetup ? 'setup-token' : 'login-password').focus();
	}

	/* A 401 on a logged-in request: back to the login form (edits are kept). */
	function sessionEnded() {
		if (!S.loggedIn)
			return;
		S.loggedIn = false;
		S.csrf = null;
		api('GET', '/api/session', undefined, { auth: false }).then(function (s) {
			showLogin(!!s.needs_setup, 'Your session has ended. Please log in again.' +
				(S.dirty ? ' Your unsaved rule changes are kept.' : ''));
		}, function () {
			showLogin(false, 'Your session has ended. Please log in again.');
		});
	}

	function loginFailed(err, errId, submit) {
		var left;

		if (err.status === 429) {
			left = err.retryAfter || 60;
			submit.disabled = true;
			clearInterval(S.retryTimer);
			var tick = function () {
				if (left <= 0) {
					clearInterval(S.retryTimer);
					submit.disabled = false;
					setError(errId, 'You may try again now.');
					return;
				}
				setError(errId, 'Too many failed attempts. Try again in ' + left + ' second' +
					(left === 1 ? '' : 's') + '.');
				left--;
			};
			tick();
			S.retryTimer = setInterval(tick, 1000);
			return;
		}
		submit.disabled = false;
		if (err.status === 401)
			setError(errId, errId === 'setup-error' ? 'Wrong setup token: ' + err.message
				: 'Wrong password. (' + err.message + ')');
		else
			setError(errId, 'Login failed: ' + errText(err));
	}

	function loggedIn(ans) {
		S.csrf = ans.csrf;
		if (ans.account)
			S.account = ans.account;
		$('login-password').value = '';
		$('setup-password').value = '';
		$('setup-password2').value = '';
		$('setup-token').value = '';
		enterApp();
	}

	function onSetupSubmit(ev) {
		var token = $('setup-token').value.trim(), pw = $('setup-password').value, pw2 = $('setup-password2').value;
		var submit = $('setup-submit');

		ev.preventDefault();
		if (!token)
			return setError('setup-error', 'Enter the setup token from the bot\'s log.');
		if (pw.length < 8)
			return setError('setup-error', 'The password must have at least 8 characters.');
		if (pw !== pw2)
			return setError('setup-error', 'The two passwords differ.');
		setError('setup-error', '');
		submit.disabled = true;
		api('POST', '/api/login', { setup_token: token, password: pw }, { auth: false }).then(function (ans) {
			submit.disabled = false;
			loggedIn(ans);
		}, function (err) {
			loginFailed(err, 'setup-error', submit);
		});
	}

	function onLoginSubmit(ev) {
		var pw = $('login-password').value, submit = $('login-submit');

		ev.preventDefault();
		if (!pw)
			return setError('login-error', 'Enter the password.');
		setError('login-error', '');
		submit.disabled = true;
		api('POST', '/api/login', { password: pw }, { auth: false }).then(function (ans) {
			submit.disabled = false;
			loggedIn(ans);
		}, function (err) {
			$('login-password').select();
			loginFailed(err, 'login-error', submit);
		});
	}

	function onLogout() {
		var done = function () {
			S.loggedIn = false;
			S.csrf = null;
			start();
		};

		stopApp();
		api('POST', '/api/logout', {}, { auth: false }).then(done, done);
	}

	/* -------------------------------------------------------------------- app */

	function enterApp() {
		S.loggedIn = true;
		clearInterval(S.retryTimer);
		show('login-view', false);
		show('app-view', true);
		$('app-account').textContent = S.account;
		document.title = (S.account ? S.account + ' – ' : '') + 'shopkeep';
		refreshStatus();
		if (!S.dirty)
			loadRules();
		refreshStock();
		refreshOrders();
		chats.start();
		refreshDecisions();
		shop.start();
		S.timers.push(setInterval(refreshStatus, 5000));
		S.timers.push(setInterval(function () {
			chats.refresh();
			refreshDecisions();
			refreshOrders();
			refreshStock();
		}, 30000));
		S.wsWanted = true;
		S.wsDelay = 1000;
		connectEvents();
	}

	function stopApp() {
		login.stop();
		shop.stop();
		orders.stop();
		chats.stop();
		S.timers.forEach(clearInterval);
		S.timers = [];
		S.wsWanted = false;
		clearTimeout(S.wsTimer);
		if (S.ws) {
			try {
				S.ws.close();
			} catch (e) { /* closing anyway */ }
			S.ws = null;
		}
		setEventsStatus('not connected', 'off');
	}

	/* ----------------------------------------------------------------- status */

	function stateClass(state) {
		switch (state) {
		case 'CONNECTED': return 'good';
		case 'CONNECTING': case 'RECONNECTING': return 'warn';
		case 'FAILED': return 'bad';
		default: return 'off';
		}
	}

	function setPill(node, text, cls) {
		node.textContent = text;
		node.className = node.className.replace(/\b(good|warn|bad|off)\b/g, '').trim() + ' ' + cls;
	}

	/* The banner under the header (title empty: none); its login actions are
	 * hidden: login.failedBanner shows the ones of a FAILED account. */
	function setBanner(title, text) {
		['banner-actions', 'banner-qr', 'banner-paste', 'banner-punish', 'banner-next'].forEach(function (id) {
			show(id, false);
		});
		$('banner-title').textContent = title || '';
		$('banner-text').textContent = text || '';
		show('banner', !!title);
		document.documentElement.classList.toggle('has-banner', !!title);
	}

	function renderStatus(d) {
		var m = d.metrics || {}, state = str(d.state) || 'DISCONNECTED';
		var failed = d.needs_relogin === true || state === 'FAILED';
		var rules = d.rules || {}, rstate = str(rules.state);
		/* connected, but with no rules in force nothing is answered: not green */
		var noRules = rstate === 'broken', pillText = state, pillClass = stateClass(state);

		if (noRules && state === 'CONNECTED') {
			pillText = 'CONNECTED – RULES BROKEN';
			pillClass = 'bad';
		}
		S.lastState = state;
		S.rulesBroken = noRules;
		setPill($('status-state'), pillText, pillClass);
		setPill($('top-state'), pillText, pillClass);
		$('status-rules').textContent = str(rules.summary) || '–';
		$('status-rules').classList.toggle('has-error', rstate === 'broken' || rstate === 'stale');
		$('status-uptime').textContent = fmtDuration(d.uptime_s);
		$('status-last-error').textContent = str(d.last_error) || 'none';
		$('status-last-error').classList.toggle('has-error', !!d.last_error);
		$('m-frames').textContent = fmtNum(m.frames_in) + ' / ' + fmtNum(m.frames_out);
		$('m-events').textContent = fmtNum(m.events);
		$('m-sends-acked').textContent = fmtNum(m.sends_acked);
		$('m-sends-refused').textContent = fmtNum(m.sends_refused);
		$('m-sends-refused').classList.toggle('has-error', num(m.sends_refused) > 0);
		$('m-sends-pending').textContent = fmtNum(m.sends_pending);
		$('m-reconnects').textContent = fmtNum(m.reconnects);
		$('m-heartbeats').textContent = fmtNum(m.heartbeats_answered) + ' / ' + fmtNum(m.heartbeats_sent);
		$('m-decode-errors').textContent = fmtNum(m.decode_errors);
		$('status-plugins').textContent = Array.isArray(d.plugins) && d.plugins.length ? d.plugins.join(', ') : 'none';
		$('status-updated').textContent = 'updated ' + fmtTime(Date.now());
		if (d.account && !S.account) {
			S.account = d.account;
			$('app-account').textContent = S.account;
		}
		login.render(d);
		if (failed)
			login.failedBanner(d);
		else if (noRules)
			setBanner('The rules file is broken – ' + (Array.isArray(rules.refused_by) && rules.refused_by.length ?
				rules.refused_by.map(str).join(', ') + ' run without rules' : 'no replies and no deliveries'),
				str(rules.problem) + '. Fix the file (shopkeep check lists every problem) or save the rules ' +
				'again below; the bot reloads them then.');
		else if (rstate === 'stale')
			setBanner('The rules file was refused – the rules loaded before stay in force',
				str(rules.problem) + '. Fix the file (shopkeep check lists every problem) or save the rules ' +
				'again below.');
		else
			setBanner('', '');
	}

	function refreshStatus() {
		if (!S.loggedIn)
			return;
		api('GET', '/api/status').then(function (d) {
			setError('status-error', '');
			renderStatus(d);
		}, function (err) {
			if (err.status === 401)
				return;
			setError('status-error', 'Could not read the status: ' + errText(err));
			if (err.status === 0) {
				setPill($('status-state'), 'NOT ANSWERING', 'bad');
				setPill($('top-state'), 'NOT ANSWERING', 'bad');
				setBanner('The bot is not answering',
					'The page cannot reach the bot process. Is it still running? (retrying every 5 s)');
			}
		});
	}

	/* ------------------------------------------------------------------ rules */

	/* The rules editor is web/rules.js (loaded before this file). */
	var rulesEditor = window.skRulesEditor({
		S: S, $: $, api: api, busy: busy, clear: clear, el: el, errText: errText, fmtTime: fmtTime,
		refreshStatus: refreshStatus, setError: setError, show: show, soon: soon, str: str,
		itemRef: function (id, node) { return shop.itemRef(id, node); }
	});
	var loadRules = rulesEditor.loadRules, onRulesSave = rulesEditor.onRulesSave,
		onRuleAdd = rulesEditor.onRuleAdd, onItemDefaultAdd = rulesEditor.onItemDefaultAdd,
		wireDefaultReply = rulesEditor.wireDefaultReply;

	/* The Xianyu login (QR, pasted cookie, the FAILED banner) is web/login.js. */
	var login = window.skLogin({
		S: S, $: $, busy: busy, clear: clear, control: control, el: el, errText: errText, fmtTime: fmtTime,
		num: num, refreshStatus: refreshStatus, setBanner: setBanner, setError: setError, show: show, str: str
	});

	/* Items, cards and delivery rules, notices, chores, the codes of a stock
	 * card: web/shop.js (it shares S.doc and the save with the rules editor). */
	var shop = window.skShop({
		S: S, $: $, busy: busy, clear: clear, control: control, el: el, errText: errText, fmtTime: fmtTime,
		num: num, rules: rulesEditor, setError: setError, show: show, str: str,
		refreshStock: function () { refreshStock(); }
	});

	/* ------------------------------------------------------------------ stock */

	function refreshStock() {
		if (!S.loggedIn)
			return;
		control('stock_list').then(function (d) {
			var body = $('stock-body'), sel = $('import-card'), keep = sel.value;
			var cards = Array.isArray(d.cards) ? d.cards : [];

			setError('stock-error', '');
			clear(body);
			clear(sel);
			cards.forEach(function (c) {
				var free = num(c.free), low = num(c.low_stock), isLow = c.type === 'stock' && free !== null &&
					low !== null && low > 0 && free < low;
				var empty = c.type === 'stock' && free === 0;

				body.appendChild(el('tr', { className: isLow || empty ? 'low' : '' },
					el('td', { className: 'nowrap' }, str(c.name)), el('td', null, str(c.type)),
					el('td', { className: 'num' }, fmtNum(c.free), isLow || empty
						? el('span', { className: 'badge bad' }, empty ? 'EMPTY' : 'LOW') : null),
					el('td', { className: 'num' }, fmtNum(c.reserved)),
					el('td', { className: 'num' }, fmtNum(c.used)),
					el('td', { className: 'num' }, low ? fmtNum(low) : '–')));
				if (!c.type || c.type === 'stock')
					sel.appendChild(el('option', { value: str(c.name) }, str(c.name)));
			});
			show('stock-empty', cards.length === 0);
			shop.onStockList(cards);
			if (!sel.options.length)
				sel.appendChild(el('option', { value: '' }, '(no stock cards)'));
			if (keep && Array.prototype.some.call(sel.options, function (o) { return o.value === keep; }))
				sel.value = keep;
		}, function (err) {
			if (err.status !== 401)
				setError('stock-error', 'Could not read the stock: ' + errText(err));
		});
	}

	function countCodes() {
		var n = $('import-codes').value.split(/\r?\n/).filter(function (l) { return l.trim() !== ''; }).length;

		$('import-count').textContent = n ? '(' + n + ')' : '';
	}

	function onImportSubmit(ev) {
		var card = $('import-card').value, codes = $('import-codes').value;

		ev.preventDefault();
		show('import-result', false);
		if (!card)
			return setError('import-error', 'Choose a card (a card of type "stock" in the rules file).');
		if (!codes.trim())
			return setError('import-error', 'Paste the codes, one per line.');
		setError('import-error', '');
		busy($('import-submit'), control('stock_import', { card: card, codes: codes })).then(function (d) {
			$('import-result').textContent = 'Card ' + str(d.card || card) + ': ' + fmtNum(d.added) + ' added, ' +
				plural(d.duplicates, 'duplicate') + ' skipped, ' + plural(d.blank, 'blank line') + '; ' +
				fmtNum(d.free) + ' free now.';
			show('import-result', true);
			$('import-codes').value = '';
			countCodes();
			refreshStock();
		}, function (err) {
			if (err.status !== 401)
				setError('import-error', 'The codes were not added: ' + errText(err));
		});
	}

	/* ----------------------------------------------------------------- orders */

	var BADGE = {
		good: ['delivered', 'done', 'sent', 'shipped', 'completed', 'confirmed', 'rule', 'item_default', 'default'],
		warn: ['pending', 'delivering', 'reserved', 'sending', 'waiting', 'placed', 'remind', 'refunding', 'paused',
			'debounced', 'once_used', 'swallowed'],
		bad: ['failed', 'cancelled', 'refused', 'error', 'banned', 'out_of_stock']
	};

	function stateBadge(v) {
		var s = str(v), cls = 'neutral', k;

		for (k in BADGE)
			if (BADGE[k].indexOf(s) >= 0)
				cls = k;
		if (cls === 'neutral' && /fail|error|refus/i.test(s))
			cls = 'bad';
		return s ? el('span', { className: 'badge ' + cls }, s) : '';
	}

	/* The orders screen is web/orders.js. */
	var orders = window.skOrders({
		S: S, $: $, busy: busy, clear: clear, control: control, el: el, errText: errText, fmtTime: fmtTime,
		num: num, setError: setError, show: show, str: str
	});
	var refreshOrders = orders.refresh;

	/* ------------------------------------------------------------------ chats */

	/* The conversations screen is web/chats.js. */
	var chats = window.skChats({
		S: S, $: $, api: api, busy: busy, clear: clear, control: control, el: el, errText: errText, num: num,
		rules: rulesEditor, setError: setError, shop: shop, show: show, str: str
	});

	/* -------------------------------------------------------------- decisions */

	function refreshDecisions() {
		if (!S.loggedIn)
			return;
		control('decisions', { limit: 100 }).then(function (d) {
			var body = $('decisions-body'), rows = Array.isArray(d.decisions) ? d.decisions : [];

			setError('decisions-error', '');
			clear(body);
			rows.forEach(function (r) {
				var outcome = str(r.outcome);

				body.appendChild(el('tr', { className: /^(refused|error)/.test(outcome) ? 'problem' : '' },
					el('td', { className: 'nowrap' }, fmtTime(r.ms)),
					el('td', { className: 'mono' }, str(r.chat_id)),
					el('td', { className: 'mono' }, str(r.buyer_id)),
					el('td', { className: 'msg' }, str(r.text)),
					el('td', null, r.item_id ? shop.itemLabel(r.item_id) : ''),
					el('td', null, stateBadge(r.decision)),
					el('td', null, str(r.rule)),
					el('td', { className: /^(refused|error)/.test(outcome) ? 'reason' : '' }, outcome)));
			});
			show('decisions-empty', rows.length === 0);
		}, function (err) {
			if (err.status !== 401)
				setError('decisions-error', 'Could not read the decision log: ' + errText(err));
		});
	}

	/* ------------------------------------------------------------ live events */

	function setEventsStatus(text, cls) {
		setPill($('events-status'), text, cls);
	}

	function connectEvents() {
		var url, ws;

		if (!S.wsWanted || S.ws)
			return;
		url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/events';
		setEventsStatus('connecting…', 'warn');
		try {
			ws = new WebSocket(url);
		} catch (e) {
			scheduleReconnect();
			return;
		}
		S.ws = ws;
		ws.onopen = function () {
			if (S.ws !== ws)
				return;
			S.wsDelay = 1000;
			setEventsStatus('live', 'good');
		};
		ws.onmessage = function (m) {
			var j;

			if (S.ws !== ws)
				return;
			try {
				j = JSON.parse(m.data);
			} catch (e) {
				j = { kind: 'text', text: String(m.data) };
			}
			onEvent(j);
		};
		ws.onclose = function () {
			if (S.ws !== ws)
				return;
			S.ws = null;
			if (!S.wsWanted)
				return;
			scheduleReconnect();
			/* a refused upgrade looks like any close: ask whether we are still logged in */
			api('GET', '/api/session', undefined, { auth: false }).then(function (s) {
				if (S.loggedIn && !s.logged_in)
					sessionEnded();
			}, function () { /* the status shows that the bot is away */ });
		};
		ws.onerror = function () { /* onclose follows */ };
	}

	function scheduleReconnect() {
		var secs = Math.round(S.wsDelay / 1000);

		setEventsStatus('disconnected – retrying in ' + secs + ' s', 'bad');
		clearTimeout(S.wsTimer);
		S.wsTimer = setTimeout(connectEvents, S.wsDelay);
		S.wsDelay = Math.min(S.wsDelay * 2, 30000);
	}

	function shortJson(v) {
		var s;

		try {
			s = JSON.stringify(v);
		} catch (e) {
			s = String(v);
		}
		return s && s.length > 300 ? s.slice(0, 300) + '…' : s;
	}

	/* One readable line for an event object: [kind label, text, css class]. */
	function describe(j) {
		var who, t;

		switch (j.kind) {
		case 'event':
			who = j.own ? (j.echo ? 'bot (echo)' : 'you') : (str(j.sender_name) || str(j.sender_id) || 'buyer');
			t = str(j.type) + (j.chat_id ? ' · chat ' + j.chat_id : '') + ' · ' + who +
				(j.sender_id && !j.own && j.sender_name ? ' (' + j.sender_id + ')' : '');
			if (j.text)
				t += ': ' + j.text;
			if (j.order_id)
				t += ' · order ' + j.order_id;
			if (j.trade && j.trade !== 'none' && j.trade !== 'NONE')
				t += ' · ' + j.trade;
			return ['message', t, j.own ? 'own' : 'buyer'];
		case 'state':
			return ['state', str(j.from) + ' → ' + str(j.to) + (j.why ? ' (' + j.why + ')' : ''),
				j.to === 'FAILED' ? 'bad' : j.to === 'CONNECTED' ? 'good' : 'warn'];
		case 'send':
			return ['send', (j.ok ? 'sent ' + str(j.message_id) : 'REFUSED: ' + str(j.reason)) +
				(j.plugin ? ' · by ' + j.plugin : '') + (j.tag ? ' · ' + j.tag : '') + ' · ' + str(j.uuid),
				j.ok ? 'good' : 'bad'];
		case 'plugin':
			return ['plugin', str(j.topic) + (j.from ? ' from ' + j.from : '') +
				(j.payload !== undefined ? ': ' + shortJson(j.payload) : ''),
				/fail|low_stock/.test(str(j.topic)) ? 'bad' : ''];
		case 'reply':
			return ['reply', str(j.request_id) + (j.success ? ' ok' : ' failed: ' + str(j.error)), j.success ? '' : 'bad'];
		default:
			return [str(j.kind) || '?', j.text !== undefined ? str(j.text) : shortJson(j), ''];
		}
	}

	function onEvent(j) {
		var list = $('events-list'), d, li;

		if (!j || typeof j !== 'object')
			return;
		d = describe(j);
		li = el('li', { className: 'ev ' + d[2], title: shortJson(j) },
			el('span', { className: 'ev-time' }, fmtTime(num(j.ms) || Date.now())),
			el('span', { className: 'ev-kind' }, d[0]),
			el('span', { className: 'ev-text' }, d[1]));
		list.insertBefore(li, list.firstChild);
		while (list.children.length > EVENTS_MAX)
			list.removeChild(list.lastChild);

		chats.onEvent(j);
		if (j.kind === 'state') {
			if (STATES.indexOf(str(j.to)) >= 0) {
				var broken = S.rulesBroken && str(j.to) === 'CONNECTED';

				setPill($('status-state'), broken ? 'CONNECTED – RULES BROKEN' : str(j.to), broken ? 'bad' : stateClass(j.to));
				setPill($('top-state'), broken ? 'CONNECTED – RULES BROKEN' : str(j.to), broken ? 'bad' : stateClass(j.to));
			}
			login.onState(j.to);
			soon('status', 300, refreshStatus);
		} else if (j.kind === 'event' || j.kind === 'send') {
			soon('decisions', 1500, refreshDecisions);
			soon('status', 1500, refreshStatus);
			if (j.order_id || j.type === 'trade' || j.type === 'payment')
				soon('orders', 1500, refreshOrders);
		} else if (j.kind === 'plugin' && /^orders\./.test(str(j.topic))) {
			soon('orders', 800, refreshOrders);
			soon('stock', 800, refreshStock);
		} else if (j.kind === 'plugin' && /^items\./.test(str(j.topic))) {
			soon('items', 800, shop.refreshItems);
			orders.onItems();
		}
	}

	/* ------------------------------------------------------------------ wiring */

	function wire() {
		$('setup-form').addEventListener('submit', onSetupSubmit);
		$('login-form').addEventListener('submit', onLoginSubmit);
		$('logout').addEventListener('click', onLogout);
		$('status-refresh').addEventListener('click', refreshStatus);
		$('rule-add').addEventListener('click', onRuleAdd);
		$('item-default-add').addEventListener('click', onItemDefaultAdd);
		$('rules-save').addEventListener('click', onRulesSave);
		$('rules-discard').addEventListener('click', function () {
			show('rules-saved', false);
			S.dirty = false;
			loadRules();
		});
		wireDefaultReply();
		login.wire();
		shop.wire();
		$('stock-refresh').addEventListener('click', refreshStock);
		$('import-form').addEventListener('submit', onImportSubmit);
		$('import-codes').addEventListener('input', countCodes);
		orders.wire();
		chats.wire();
		$('decisions-refresh').addEventListener('click', refreshDecisions);
		$('events-clear').addEventListener('click', function () { clear($('events-list')); });
		window.addEventListener('beforeunload', function (ev) {
			if (S.dirty) {
				ev.preventDefault();
				ev.returnValue = '';
			}
		});
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', function () { wire(); start(); });
	else {
		wire();
		start();
	}
}());
