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
		timers: [],
		reqSeq: 0,
		lastState: null,
		rulesBroken: false,   /* connected, but the rules file is refused and none are in force */
		retryTimer: null,
		soon: {}              /* debounced refreshes by name */
	};

	/* The page's strings: web/app_i18n.js (zh and en tables), web/i18n.js. */
	var t = window.skI18n.t;
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

	/* The wiring a refreshing screen shares (web/alerts.js, web/agent.js):
	 * its refresh button calls refresh, A.inView follows whether section
	 * secId is on screen, and a language switch builds it again (build),
	 * handing what save() kept of the seller's typing to restore. */
	function wireScreen(A, secId, refreshId, o) {
		var sec = $(secId);

		if ($(refreshId))
			$(refreshId).addEventListener('click', function () { o.refresh(); });
		if (sec && window.IntersectionObserver) {
			A.observer = new IntersectionObserver(function (entries) {
				A.inView = entries.some(function (e) { return e.isIntersecting; });
			});
			A.observer.observe(sec);
		} else {
			A.inView = true;
		}
		if (window.skI18n)
			window.skI18n.onChange(function () {
				var kept = o.save();

				o.build();
				o.restore(kept);
			});
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
			out.push(t('app.dur.d', { n: d }));
		if (d || h)
			out.push(t('app.dur.h', { n: h }));
		if (!d)
			out.push(t('app.dur.m', { n: m }));
		if (!d && !h)
			out.push(t('app.dur.s', { n: s % 60 }));
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

	/* The page's own words for an HTTP status without a message of the
	 * server (keys app.http.<status>, in the current language). */
	function statusText(status) {
		var k = 'app.http.' + status;

		return t(k) !== k ? t(k) : 'HTTP ' + status;
	}

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
					: statusText(res.status);
				if (res.ok)
					msg = t('app.http.not_json');
				var err = new ApiError(res.status, msg, data,
					parseInt(res.headers.get('Retry-After') || '', 10) || 0);
				if (res.status === 401 && opts.auth !== false && S.loggedIn)
					sessionEnded();
				throw err;
			});
		}, function () {
			throw new ApiError(0, statusText(0), null, 0);
		});
	}

	/* A control command: resolves to its data, rejects with ApiError. */
	function control(command, data) {
		var req = { request_id: 'p' + (++S.reqSeq), command: command, data: data || {} };

		return api('POST', '/api/control', req).then(function (ans) {
			if (!ans || ans.success !== true)
				throw new ApiError(200, (ans && ans.error) || t('app.cmd_failed', { cmd: command }), ans, 0);
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
			showLogin(false, t('app.login.cannot_ask', { err: errText(err) }));
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
		$('login-account').textContent = S.account ? t('app.login.account', { account: S.account }) : '';
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
			showLogin(!!s.needs_setup, t('app.login.ended') + (S.dirty ? t('app.login.ended_kept') : ''));
		}, function () {
			showLogin(false, t('app.login.ended'));
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
					setError(errId, t('app.login.try_now'));
					return;
				}
				setError(errId, t(left === 1 ? 'app.login.wait1' : 'app.login.wait', { n: left }));
				left--;
			};
			tick();
			S.retryTimer = setInterval(tick, 1000);
			return;
		}
		submit.disabled = false;
		/* a 401 is the server's "wrong setup token" / "wrong password": the
		 * page's own sentence says it, once (not followed by the same words) */
		if (err.status === 401)
			setError(errId, t(errId === 'setup-error' ? 'app.login.bad_token' : 'app.login.bad_password'));
		else
			setError(errId, t('app.login.failed', { err: errText(err) }));
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
			return setError('setup-error', t('app.login.need_token'));
		if (pw.length < 8)
			return setError('setup-error', t('app.login.short'));
		if (pw !== pw2)
			return setError('setup-error', t('app.login.differ'));
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
			return setError('login-error', t('app.login.need_password'));
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
		S.inApp = true;
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
		dash.start();
		alerts.start();
		agent.start();
		events.start();
	}

	function stopApp() {
		login.stop();
		shop.stop();
		orders.stop();
		chats.stop();
		S.timers.forEach(clearInterval);
		S.timers = [];
		dash.stop();
		alerts.stop();
		agent.stop();
		events.stop();
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

	/* The connection state's words in the current language (the state name
	 * itself for an unknown one). */
	function stateText(state) {
		var k = 'app.state.' + str(state);

		return t(k) !== k ? t(k) : str(state);
	}

	/* A pill's text and colour; its data-state (when given) keeps the
	 * language-free name (CONNECTED, live, ...) for scripts and tests. */
	function setPill(node, text, cls, state) {
		node.textContent = text;
		if (state !== undefined)
			node.setAttribute('data-state', state);
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

	/* The status's rules line in the page's words (the server's own one
	 * line, English, is its title). */
	function rulesSummary(rules) {
		var st = str(rules.state), by = Array.isArray(rules.refused_by) ? rules.refused_by.map(str).join(', ') : '';
		var node = $('status-rules');

		node.title = str(rules.summary);
		node.setAttribute('data-state', st);
		if (st === 'ok')
			return t('app.rules.ok');
		if (st === 'off')
			return t('app.rules.off');
		if (st === 'broken')
			return t(by ? 'app.rules.broken_by' : 'app.rules.broken', { problem: str(rules.problem), plugins: by });
		if (st === 'stale')
			return t('app.rules.stale', { problem: str(rules.problem) });
		return str(rules.summary) || '–';
	}

	function renderStatus(d) {
		var m = d.metrics || {}, state = str(d.state) || 'DISCONNECTED';
		var failed = d.needs_relogin === true || state === 'FAILED';
		var rules = d.rules || {}, rstate = str(rules.state);
		/* connected, but with no rules in force nothing is answered: not green */
		var noRules = rstate === 'broken', pillText = stateText(state), pillClass = stateClass(state);

		if (noRules && state === 'CONNECTED') {
			pillText = t('app.state.rules_broken');
			pillClass = 'bad';
		}
		S.lastState = state;
		S.rulesBroken = noRules;
		S.lastStatus = d;
		setPill($('status-state'), pillText, pillClass, state);
		setPill($('top-state'), pillText, pillClass, state);
		$('status-rules').textContent = rulesSummary(rules);
		$('status-rules').classList.toggle('has-error', rstate === 'broken' || rstate === 'stale');
		$('status-uptime').textContent = fmtDuration(d.uptime_s);
		$('status-last-error').textContent = str(d.last_error) || t('common.none');
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
		$('status-plugins').textContent = Array.isArray(d.plugins) && d.plugins.length ? d.plugins.join(', ')
			: t('common.none');
		$('status-updated').textContent = t('app.status.updated', { time: fmtTime(Date.now()) });
		if (d.account && !S.account) {
			S.account = d.account;
			$('app-account').textContent = S.account;
		}
		login.render(d);
		if (failed)
			login.failedBanner(d);
		else if (noRules)
			setBanner(Array.isArray(rules.refused_by) && rules.refused_by.length ?
				t('app.banner.broken_by', { plugins: rules.refused_by.map(str).join(', ') }) : t('app.banner.broken'),
				t('app.banner.broken_text', { problem: str(rules.problem) }));
		else if (rstate === 'stale')
			setBanner(t('app.banner.stale'), t('app.banner.stale_text', { problem: str(rules.problem) }));
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
			setError('status-error', t('app.status.read_failed', { err: errText(err) }));
			if (err.status === 0) {
				setPill($('status-state'), t('app.state.away'), 'bad', 'NOT_ANSWERING');
				setPill($('top-state'), t('app.state.away'), 'bad', 'NOT_ANSWERING');
				setBanner(t('app.banner.away'), t('app.banner.away_text'));
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

	/* A card type's words (stock, text, image); the type itself when unknown. */
	function cardType(type) {
		var k = 'app.stock.type.' + str(type);

		return t(k) !== k ? t(k) : str(type);
	}

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
					el('td', { className: 'nowrap' }, str(c.name)), el('td', null, cardType(c.type)),
					el('td', { className: 'num' }, fmtNum(c.free), isLow || empty
						? el('span', { className: 'badge bad' }, t(empty ? 'app.stock.empty_badge' : 'app.stock.low_badge')) : null),
					el('td', { className: 'num' }, fmtNum(c.reserved)),
					el('td', { className: 'num' }, fmtNum(c.used)),
					el('td', { className: 'num' }, low ? fmtNum(low) : '–')));
				if (!c.type || c.type === 'stock')
					sel.appendChild(el('option', { value: str(c.name) }, str(c.name)));
			});
			show('stock-empty', cards.length === 0);
			shop.onStockList(cards);
			if (!sel.options.length)
				sel.appendChild(el('option', { value: '' }, t('app.stock.no_cards')));
			if (keep && Array.prototype.some.call(sel.options, function (o) { return o.value === keep; }))
				sel.value = keep;
		}, function (err) {
			if (err.status !== 401)
				setError('stock-error', t('app.stock.read_failed', { err: errText(err) }));
		});
	}

	function countCodes() {
		var n = $('import-codes').value.split(/\r?\n/).filter(function (l) { return l.trim() !== ''; }).length;

		$('import-count').textContent = n ? t('app.import.count', { n: n }) : '';
	}

	function onImportSubmit(ev) {
		var card = $('import-card').value, codes = $('import-codes').value;

		ev.preventDefault();
		show('import-result', false);
		if (!card)
			return setError('import-error', t('app.import.need_card'));
		if (!codes.trim())
			return setError('import-error', t('app.import.need_codes'));
		setError('import-error', '');
		busy($('import-submit'), control('stock_import', { card: card, codes: codes })).then(function (d) {
			$('import-result').textContent = t('app.import.result', { card: str(d.card || card),
				added: fmtNum(d.added), dups: fmtNum(d.duplicates), blank: fmtNum(d.blank), free: fmtNum(d.free) });
			show('import-result', true);
			$('import-codes').value = '';
			countCodes();
			refreshStock();
		}, function (err) {
			if (err.status !== 401)
				setError('import-error', t('app.import.failed', { err: errText(err) }));
		});
	}

	/* ----------------------------------------------------------------- orders */

	var BADGE = {
		good: ['delivered', 'done', 'sent', 'shipped', 'completed', 'confirmed', 'rule', 'item_default', 'default'],
		warn: ['pending', 'delivering', 'reserved', 'sending', 'waiting', 'placed', 'remind', 'refunding', 'paused',
			'debounced', 'once_used', 'swallowed'],
		bad: ['failed', 'cancelled', 'refused', 'error', 'banned', 'out_of_stock']
	};

	/* A coloured badge of a state word; with prefix, its words from the
	 * strings (prefix + word) when there are some, else the word itself. */
	function stateBadge(v, prefix) {
		var s = str(v), cls = 'neutral', k, label = s;

		if (prefix && t(prefix + s) !== prefix + s)
			label = t(prefix + s);

		for (k in BADGE)
			if (BADGE[k].indexOf(s) >= 0)
				cls = k;
		if (cls === 'neutral' && /fail|error|refus/i.test(s))
			cls = 'bad';
		return s ? el('span', { className: 'badge ' + cls, title: s }, label) : '';
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

	/* A decision's outcome ("sent:<message_id>", "refused:<reason>",
	 * "error:<why>", a banned word) with the page's words for its kind; the
	 * detail stays as the bot wrote it. */
	function outcomeText(o) {
		var m = /^(sent|refused|error):(.*)$/.exec(o);

		return m ? t('app.outcome.' + m[1], { detail: m[2] }) : o;
	}

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
					el('td', null, stateBadge(r.decision, 'app.decision.')),
					el('td', null, str(r.rule)),
					el('td', { className: /^(refused|error)/.test(outcome) ? 'reason' : '', title: outcome },
						outcomeText(outcome))));
			});
			show('decisions-empty', rows.length === 0);
		}, function (err) {
			if (err.status !== 401)
				setError('decisions-error', t('app.decisions.read_failed', { err: errText(err) }));
		});
	}

	/* ------------------------------------------------------------ live events */

	/* The overview (web/dashboard.js) and alerts (web/alerts.js) screens. */
	var dash = window.skDash({
		S: S, $: $, api: api, clear: clear, control: control, el: el, errText: errText, fmtTime: fmtTime,
		num: num, str: str
	});
	var alerts = window.skAlerts({
		S: S, $: $, busy: busy, clear: clear, control: control, el: el, errText: errText, fmtTime: fmtTime,
		num: num, setError: setError, show: show, str: str, wireScreen: wireScreen
	});
	/* The AI assistant screen (web/agent.js); its decisions link to a chat. */
	var agent = window.skAgent({
		S: S, $: $, busy: busy, clear: clear, control: control, el: el, errText: errText, fmtTime: fmtTime,
		num: num, setError: setError, show: show, str: str, openChat: function (id) { chats.open(id); },
		itemLabel: shop.itemLabel, wireScreen: wireScreen
	});

	/* The panel and its socket: web/events.js; it calls onEvent for each
	 * event of the socket (not for the history it loads). */
	var events = window.skEvents({
		S: S, $: $, api: api, clear: clear, control: control, el: el, fmtTime: fmtTime, num: num, str: str,
		sessionEnded: function () { sessionEnded(); },
		stateText: function (st) { return stateText(st); },
		onEvent: function (j) { onEvent(j); }
	});

	/* What a live event refreshes. */
	function onEvent(j) {
		if (!j || typeof j !== 'object')
			return;
		dash.onEvent(j);
		alerts.onEvent(j);
		agent.onEvent(j);
		chats.onEvent(j);
		if (j.kind === 'state') {
			if (STATES.indexOf(str(j.to)) >= 0) {
				var broken = S.rulesBroken && str(j.to) === 'CONNECTED';

				setPill($('status-state'), broken ? t('app.state.rules_broken') : stateText(j.to),
					broken ? 'bad' : stateClass(j.to), str(j.to));
				setPill($('top-state'), broken ? t('app.state.rules_broken') : stateText(j.to),
					broken ? 'bad' : stateClass(j.to), str(j.to));
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

	/* ---------------------------------------------------------------- language */

	/* After a language switch (web/i18n.js re-set the static texts): the
	 * parts this file draws, drawn again from what they last showed or asked
	 * again from the bot. */
	function onLang() {
		if (S.lastStatus)
			renderStatus(S.lastStatus);
		if (!S.loggedIn) {
			$('login-account').textContent = S.account ? t('app.login.account', { account: S.account }) : '';
			return;
		}
		refreshDecisions();
		refreshStock();
		countCodes();
	}

	/* ------------------------------------------------------------------ wiring */

	function wire() {
		window.skI18n.onChange(onLang);
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
		dash.wire();
		alerts.wire();
		agent.wire();
		events.wire();
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
