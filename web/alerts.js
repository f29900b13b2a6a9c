/* SPDX-License-Identifier: MIT */
/*
 * web/alerts.js - the alerts screen (提醒): the notify plugin's webhook URL
 * and extra header as the server masks them (notify_settings), a field for
 * a new value of each (empty: unchanged) and a clear button, a switch per
 * alert kind, a template per kind (a 400 of notify_configure naming a
 * kind's template is shown beside it), the words that make a buyer's text
 * an alert; a test button (notify_test) and the last alerts (notify_list:
 * time, kind, text, state in words, attempts, last error), read again after
 * a test and every few seconds while the screen is in view.
 *
 * notify not loaded (its commands answer 404): the screen says how to load
 * it instead of the form. app.js makes it (window.skAlerts(k)) with its
 * helpers and calls what it returns: wire once, start / stop with the app,
 * onEvent for each live event (notify.* topics read the list again).
 * Strings go through skI18n (this file adds its keys, zh and en);
 * everything from the server is set as text, never as HTML.
 */
'use strict';

window.skAlerts = function (k) {
	var S = k.S, $ = k.$, clear = k.clear, control = k.control, str = k.str, num = k.num,
		errText = k.errText, fmtTime = k.fmtTime, busy = k.busy, setError = k.setError, show = k.show;

	/* k.el, with the role attribute set as an attribute (not every browser
	 * reflects the role property). */
	function el(tag, attrs) {
		var e = k.el.apply(null, arguments);

		if (attrs && attrs.role)
			e.setAttribute('role', attrs.role);
		return e;
	}

	var LIST_MS = 5000, LIST_LIMIT = 20;
	var KINDS = ['handover', 'keyword', 'offline', 'online', 'relogin', 'risk', 'kicked', 'delivery_failed',
		'out_of_stock', 'low_stock', 'test', 'summary'];
	var STATES = ['pending', 'delivered', 'failed', 'suppressed', 'expired'];

	var STR = {
		zh: {
			'alerts.nav': '提醒',
			'alerts.title': '提醒',
			'alerts.refresh': '刷新',
			'alerts.intro': '有事时（买家要人工、掉线、发货失败、库存不足……）通过 webhook（钉钉、企业微信、飞书等机器人的地址）提醒你。',
			'alerts.missing': '通知插件 notify 没有加载，所以这里不能设置提醒。',
			'alerts.missing_how': '在配置文件的 plugins.load 中加入 "notify"（放在 "dedup" 之后），例如 "load": ["dedup", "notify", "autoreply", "orders"]，然后重启 shopkeep。',
			'alerts.webhook': 'Webhook 地址',
			'alerts.header': '额外的请求头（可选）',
			'alerts.current': '当前：',
			'alerts.not_set': '未设置',
			'alerts.source.page': '（在页面上设置）',
			'alerts.source.config': '（来自配置文件）',
			'alerts.new_url': '新的地址（留空则不变）',
			'alerts.new_header': '新的请求头，如 Authorization: Bearer …（留空则不变）',
			'alerts.clear': '清除',
			'alerts.cleared': '已清除。',
			'alerts.clear_error': '没有清除：',
			'alerts.kinds': '提醒哪些事',
			'alerts.template': '模板',
			'alerts.template_hint': 'JSON 格式的请求体，可用 {{text}}、{{kind}}、{{chat_id}}、{{buyer_name}}、{{order_id}} 等占位符；留空则用默认格式。',
			'alerts.words': '关键词',
			'alerts.words_hint': '买家消息包含其中任一词时提醒你，每行一个。',
			'alerts.save': '保存提醒设置',
			'alerts.saved': '已保存，立即生效。',
			'alerts.save_error': '没有保存：',
			'alerts.template_error': '模板有误：',
			'alerts.test': '发送测试',
			'alerts.test_sent': '测试提醒已排队（{id}），下方列表显示是否送达。',
			'alerts.test_error': '测试没有发送：',
			'alerts.last': '最近的提醒',
			'alerts.empty': '还没有提醒。',
			'alerts.counts': '待发送 {pending} 条，暂缓 {suppressed} 条',
			'alerts.col.time': '时间',
			'alerts.col.kind': '类型',
			'alerts.col.text': '内容',
			'alerts.col.state': '状态',
			'alerts.col.attempts': '尝试次数',
			'alerts.col.error': '最近的错误',
			'alerts.read_error': '无法读取提醒：',
			'alerts.settings_error': '无法读取提醒设置：',
			'alerts.kind.handover': '买家要人工',
			'alerts.kind.keyword': '买家消息含关键词',
			'alerts.kind.offline': '掉线',
			'alerts.kind.online': '恢复在线',
			'alerts.kind.relogin': '需要重新登录',
			'alerts.kind.risk': '风控验证',
			'alerts.kind.kicked': '被挤下线',
			'alerts.kind.delivery_failed': '发货失败',
			'alerts.kind.out_of_stock': '缺货',
			'alerts.kind.low_stock': '库存不足',
			'alerts.kind.test': '测试',
			'alerts.kind.summary': '汇总（超出频率）',
			'alerts.state.pending': '待发送',
			'alerts.state.delivered': '已送达',
			'alerts.state.failed': '发送失败',
			'alerts.state.suppressed': '暂缓（超出每小时上限）',
			'alerts.state.expired': '已过期未送达',
			'alerts.err.no webhook set': '未设置 webhook 地址'
		},
		en: {
			'alerts.nav': 'Alerts',
			'alerts.title': 'Alerts',
			'alerts.refresh': 'Refresh',
			'alerts.intro': 'When something needs you (a buyer asks for a person, the bot is offline, a delivery failed, stock runs low…) an alert goes to a webhook (a DingTalk, WeCom or Feishu bot\'s address).',
			'alerts.missing': 'The notify plugin is not loaded, so alerts cannot be set here.',
			'alerts.missing_how': 'Add "notify" to plugins.load in the config file (after "dedup"), e.g. "load": ["dedup", "notify", "autoreply", "orders"], then restart shopkeep.',
			'alerts.webhook': 'Webhook URL',
			'alerts.header': 'Extra request header (optional)',
			'alerts.current': 'Now: ',
			'alerts.not_set': 'not set',
			'alerts.source.page': ' (set on this page)',
			'alerts.source.config': ' (from the config file)',
			'alerts.new_url': 'a new URL (empty: unchanged)',
			'alerts.new_header': 'a new header, e.g. Authorization: Bearer … (empty: unchanged)',
			'alerts.clear': 'Clear',
			'alerts.cleared': 'Cleared.',
			'alerts.clear_error': 'Not cleared: ',
			'alerts.kinds': 'What to alert',
			'alerts.template': 'Template',
			'alerts.template_hint': 'The request body as JSON, with placeholders such as {{text}}, {{kind}}, {{chat_id}}, {{buyer_name}}, {{order_id}}; empty: the default body.',
			'alerts.words': 'Words',
			'alerts.words_hint': 'A buyer message holding one of them alerts you; one a line.',
			'alerts.save': 'Save the alert settings',
			'alerts.saved': 'Saved; in force now.',
			'alerts.save_error': 'Not saved: ',
			'alerts.template_error': 'The template is wrong: ',
			'alerts.test': 'Send a test',
			'alerts.test_sent': 'A test alert is queued ({id}); the list below shows whether it arrived.',
			'alerts.test_error': 'The test was not sent: ',
			'alerts.last': 'The last alerts',
			'alerts.empty': 'No alerts yet.',
			'alerts.counts': '{pending} waiting to be sent, {suppressed} held back',
			'alerts.col.time': 'Time',
			'alerts.col.kind': 'Kind',
			'alerts.col.text': 'Text',
			'alerts.col.state': 'State',
			'alerts.col.attempts': 'Attempts',
			'alerts.col.error': 'Last error',
			'alerts.read_error': 'Could not read the alerts: ',
			'alerts.settings_error': 'Could not read the alert settings: ',
			'alerts.kind.handover': 'a buyer asks for a person',
			'alerts.kind.keyword': 'a buyer message holds a word',
			'alerts.kind.offline': 'offline',
			'alerts.kind.online': 'back online',
			'alerts.kind.relogin': 'log in again',
			'alerts.kind.risk': 'risk check',
			'alerts.kind.kicked': 'kicked off',
			'alerts.kind.delivery_failed': 'delivery failed',
			'alerts.kind.out_of_stock': 'out of stock',
			'alerts.kind.low_stock': 'low stock',
			'alerts.kind.test': 'test',
			'alerts.kind.summary': 'summary (rate limit)',
			'alerts.state.pending': 'waiting to be sent',
			'alerts.state.delivered': 'delivered',
			'alerts.state.failed': 'failed',
			'alerts.state.suppressed': 'held back (hourly limit)',
			'alerts.state.expired': 'expired, not delivered',
			'alerts.err.no webhook set': 'no webhook URL set'
		}
	};

	if (window.skI18n) {
		window.skI18n.add('zh', STR.zh);
		window.skI18n.add('en', STR.en);
	}

	function t(key, vars) {
		return window.skI18n ? window.skI18n.t(key, vars) : key;
	}

	/* key's string, or fallback when the tables have none. */
	function tOr(key, fallback) {
		var s = t(key);

		return s === key ? fallback : s;
	}

	var A = {
		settings: null,   /* notify_settings' answer */
		missing: false,   /* notify answered 404 */
		list: null,       /* notify_list's answer */
		listErr: '',
		timers: [],
		burst: null,
		inView: false,
		observer: null,
		running: false,
		seq: 0
	};

	/* ----------------------------------------------------------------- data */

	function kindsOf(s) {
		var out = KINDS.slice(), add = function (o) {
			Object.keys(o || {}).forEach(function (kk) {
				if (out.indexOf(kk) < 0 && /^[a-z_]{1,40}$/.test(kk))
					out.push(kk);
			});
		};

		add(s && s.kinds);
		add(s && s.templates);
		return out.filter(function (kk) {
			return s && ((s.kinds && Object.prototype.hasOwnProperty.call(s.kinds, kk)) ||
				(s.templates && Object.prototype.hasOwnProperty.call(s.templates, kk)));
		});
	}

	/* Reads the settings and the list; a 404 means notify is not loaded. */
	function refresh() {
		var seq = ++A.seq;

		if (!S.loggedIn)
			return Promise.resolve();
		return control('notify_settings', {}).then(function (d) {
			if (seq !== A.seq)
				return;
			A.missing = false;
			A.settings = d;
			setError('alerts-settings-error', '');
			renderSettings();
			return refreshList();
		}, function (err) {
			if (seq !== A.seq || err.status === 401)
				return;
			if (err.status === 404) {
				A.missing = true;
				A.settings = null;
				renderFrame();
				return;
			}
			A.missing = false;
			renderFrame();
			setError('alerts-settings-error', t('alerts.settings_error') + errText(err));
			return refreshList();
		});
	}

	function refreshList() {
		if (!S.loggedIn || A.missing)
			return Promise.resolve();
		return control('notify_list', { limit: LIST_LIMIT }).then(function (d) {
			A.list = d;
			A.listErr = '';
			renderList();
		}, function (err) {
			if (err.status === 401)
				return;
			if (err.status === 404) {
				A.missing = true;
				renderFrame();
				return;
			}
			A.listErr = t('alerts.read_error') + errText(err);
			renderList();
		});
	}

	/* --------------------------------------------------------------- render */

	/* Shows the form or the "not loaded" note. */
	function renderFrame() {
		show('alerts-missing', A.missing);
		show('alerts-main', !A.missing);
	}

	function currentText(v, isSet, src) {
		if (!isSet)
			return t('alerts.not_set');
		return str(v) + (src === 'page' || src === 'config' ? t('alerts.source.' + src) : '');
	}

	/* The settings into the form (the fields for new values are emptied). */
	function renderSettings() {
		var s = A.settings || {}, box = $('alerts-kinds'), src = s.source || {};
		var tpl = s.templates && typeof s.templates === 'object' ? s.templates : {};

		renderFrame();
		$('alerts-url-current').textContent = currentText(s.url, !!s.url_set, str(src.url));
		$('alerts-header-current').textContent = currentText(s.header, !!s.header_set, str(src.header));
		$('alerts-url').value = '';
		$('alerts-header').value = '';
		$('alerts-url-clear').disabled = !s.url_set;
		$('alerts-header-clear').disabled = !s.header_set;
		clear(box);
		kindsOf(s).forEach(function (kind) {
			var on = !!(s.kinds && s.kinds[kind]), text = str(tpl[kind]), id = 'alerts-tpl-' + kind;
			var cb = el('input', { type: 'checkbox', id: 'alerts-kind-' + kind, checked: on,
				disabled: !(s.kinds && Object.prototype.hasOwnProperty.call(s.kinds, kind)) });
			var ta = el('textarea', { id: id, rows: 3, spellcheck: false, value: text, className: 'mono',
				'aria-label': t('alerts.template') + ' – ' + tOr('alerts.kind.' + kind, kind) });

			ta.setAttribute('data-loaded', text);
			box.appendChild(el('div', { className: 'alert-kind', 'data-kind': kind },
				el('label', { className: 'check' }, cb, ' ', tOr('alerts.kind.' + kind, kind),
					el('span', { className: 'kind-code muted mono small-text' }, kind)),
				el('details', { className: 'alert-tpl', id: id + '-box', open: !!text },
					el('summary', null, t('alerts.template') + (text ? ' ✓' : '')), ta),
				el('p', { id: id + '-error', className: 'error', role: 'alert', hidden: true })));
		});
		$('alerts-words').value = Array.isArray(s.words) ? s.words.map(str).join('\n') : '';
		$('alerts-words').setAttribute('data-loaded', $('alerts-words').value);
	}

	function stateWord(st) {
		return tOr('alerts.state.' + st, st);
	}

	function renderList() {
		var body = $('alerts-body'), d = A.list || {}, rows = Array.isArray(d.alerts) ? d.alerts : [];

		setError('alerts-list-error', A.listErr);
		clear(body);
		rows.forEach(function (a) {
			var st = str(a.state), cls = st === 'delivered' ? 'good' : st === 'failed' || st === 'expired' ? 'bad'
				: st === 'pending' || st === 'suppressed' ? 'warn' : 'neutral', errTxt = str(a.last_error);

			body.appendChild(el('tr', { className: 'alert-row' + (cls === 'bad' ? ' problem' : ''), 'data-id': str(a.id),
				'data-kind': str(a.kind), 'data-state': st },
			el('td', { className: 'nowrap', 'data-label': t('alerts.col.time') }, fmtTime(num(a.created_ms))),
			el('td', { 'data-label': t('alerts.col.kind') }, tOr('alerts.kind.' + str(a.kind), str(a.kind))),
			el('td', { className: 'msg', 'data-label': t('alerts.col.text') }, str(a.text)),
			el('td', { 'data-label': t('alerts.col.state') },
				el('span', { className: 'badge ' + cls, 'data-state': st }, stateWord(st))),
			el('td', { className: 'num', 'data-label': t('alerts.col.attempts') }, num(a.attempts) === null ? ''
				: String(a.attempts)),
			el('td', { className: errTxt ? 'reason' : '', 'data-label': errTxt ? t('alerts.col.error') : '' },
				errTxt ? tOr('alerts.err.' + errTxt, errTxt) : '')));
		});
		show('alerts-empty', !rows.length && !A.listErr);
		$('alerts-counts').textContent = num(d.pending) !== null ? t('alerts.counts', { pending: d.pending,
			suppressed: num(d.suppressed) || 0 }) : '';
	}

	/* ---------------------------------------------------------------- save */

	function fieldErrors(on) {
		Array.prototype.forEach.call(document.querySelectorAll('#alerts-kinds .error'), function (e) {
			if (!on) {
				e.textContent = '';
				e.hidden = true;
			}
		});
		Array.prototype.forEach.call(document.querySelectorAll('#alerts-kinds textarea'), function (e) {
			e.classList.remove('has-error');
		});
	}

	/* The kind whose template an error message names ("templates.handover:
	 * ...", "template of handover ..."), '' when none. */
	function errorKind(msg) {
		var m = /templates?\W{0,3}([a-z_]+)/i.exec(msg), kinds = kindsOf(A.settings), i;

		if (m && kinds.indexOf(m[1]) >= 0)
			return m[1];
		if (!/templat/i.test(msg))
			return '';
		for (i = 0; i < kinds.length; i++)
			if (new RegExp('\\b' + kinds[i] + '\\b').test(msg))
				return kinds[i];
		return '';
	}

	/* The changes of the form as notify_configure's data (new url and header
	 * when typed, every kind's switch, the templates that changed, the words
	 * when they changed). */
	function changes() {
		var s = A.settings || {}, d = {}, url = $('alerts-url').value.trim(), hdr = $('alerts-header').value.trim();
		var words = $('alerts-words');

		if (url)
			d.url = url;
		if (hdr)
			d.header = hdr;
		kindsOf(s).forEach(function (kind) {
			var cb = $('alerts-kind-' + kind), ta = $('alerts-tpl-' + kind);

			if (cb && !cb.disabled) {
				d.kinds = d.kinds || {};
				d.kinds[kind] = cb.checked;
			}
			if (ta && ta.value !== ta.getAttribute('data-loaded')) {
				d.templates = d.templates || {};
				d.templates[kind] = ta.value.trim();
			}
		});
		if (words.value !== words.getAttribute('data-loaded'))
			d.words = words.value.split(/\r?\n/).map(function (w) { return w.trim(); }).filter(Boolean);
		return d;
	}

	/* Sends data to notify_configure; on success shows the new settings and
	 * okText, else the error (beside a template it names, too). */
	function configure(data, button, okText, errPrefix) {
		show('alerts-saved', false);
		setError('alerts-save-error', '');
		fieldErrors(false);
		return busy(button, control('notify_configure', data)).then(function (d) {
			A.settings = d;
			renderSettings();
			$('alerts-saved').textContent = okText;
			show('alerts-saved', true);
		}, function (err) {
			var kind, msg = errText(err), p;

			if (err.status === 401)
				return;
			if (err.status === 404) {
				A.missing = true;
				renderFrame();
				return;
			}
			kind = errorKind(err.message || '');
			if (kind && (p = $('alerts-tpl-' + kind + '-error'))) {
				p.textContent = t('alerts.template_error') + msg;
				p.hidden = false;
				$('alerts-tpl-' + kind + '-box').open = true;
				$('alerts-tpl-' + kind).classList.add('has-error');
			}
			setError('alerts-save-error', errPrefix + msg);
		});
	}

	function onSave() {
		configure(changes(), $('alerts-save'), t('alerts.saved'), t('alerts.save_error'));
	}

	function onClear(field) {
		var data = {};

		data[field] = '';
		configure(data, $('alerts-' + field + '-clear'), t('alerts.cleared'), t('alerts.clear_error'));
	}

	function onTest() {
		var b = $('alerts-test');

		show('alerts-test-result', false);
		setError('alerts-test-error', '');
		busy(b, control('notify_test', {})).then(function (d) {
			$('alerts-test-result').textContent = t('alerts.test_sent', { id: str(d.id) });
			show('alerts-test-result', true);
			burst();
		}, function (err) {
			if (err.status !== 401)
				setError('alerts-test-error', t('alerts.test_error') + errText(err));
		});
	}

	/* Reads the list at once and every second for a few seconds (a test's
	 * delivery shows up quickly). */
	function burst() {
		var n = 0;

		clearInterval(A.burst);
		refreshList();
		A.burst = setInterval(function () {
			if (++n >= 8 || !A.running)
				clearInterval(A.burst);
			refreshList();
		}, 1000);
	}

	/* -------------------------------------------------------------- frame */

	/* The screen's elements into #alerts-box (again after a language switch). */
	function build() {
		var box = $('alerts-box');

		if (!box)
			return;
		clear(box);
		box.appendChild(el('div', { id: 'alerts-missing', className: 'error-box alerts-missing', hidden: true },
			el('strong', null, t('alerts.missing')), el('p', null, t('alerts.missing_how'))));
		box.appendChild(el('div', { id: 'alerts-main' },
			el('p', { className: 'hint' }, t('alerts.intro')),
			el('p', { id: 'alerts-settings-error', className: 'error', role: 'alert', hidden: true }),
			el('div', { className: 'alerts-secret' },
				el('label', { htmlFor: 'alerts-url' }, t('alerts.webhook')),
				el('p', { className: 'small-text alerts-current' }, t('alerts.current'),
					el('span', { id: 'alerts-url-current', className: 'mono' }, '…')),
				el('div', { className: 'alerts-input-row' },
					el('input', { id: 'alerts-url', type: 'url', autocomplete: 'off', spellcheck: false,
						placeholder: t('alerts.new_url') }),
					el('button', { id: 'alerts-url-clear', type: 'button', className: 'small danger' }, t('alerts.clear')))),
			el('div', { className: 'alerts-secret' },
				el('label', { htmlFor: 'alerts-header' }, t('alerts.header')),
				el('p', { className: 'small-text alerts-current' }, t('alerts.current'),
					el('span', { id: 'alerts-header-current', className: 'mono' }, '…')),
				el('div', { className: 'alerts-input-row' },
					el('input', { id: 'alerts-header', type: 'text', autocomplete: 'off', spellcheck: false,
						placeholder: t('alerts.new_header') }),
					el('button', { id: 'alerts-header-clear', type: 'button', className: 'small danger' },
						t('alerts.clear')))),
			el('h3', null, t('alerts.kinds')),
			el('p', { className: 'hint' }, t('alerts.template_hint')),
			el('div', { id: 'alerts-kinds', className: 'alerts-kinds' }),
			el('h3', null, el('label', { htmlFor: 'alerts-words' }, t('alerts.words'))),
			el('p', { className: 'hint' }, t('alerts.words_hint')),
			el('textarea', { id: 'alerts-words', rows: 3, className: 'alerts-words' }),
			el('div', { className: 'alerts-buttons' },
				el('button', { id: 'alerts-save', type: 'button', className: 'primary' }, t('alerts.save')),
				el('button', { id: 'alerts-test', type: 'button' }, t('alerts.test'))),
			el('p', { id: 'alerts-save-error', className: 'error', role: 'alert', hidden: true }),
			el('p', { id: 'alerts-saved', className: 'ok-text', role: 'status', hidden: true }),
			el('p', { id: 'alerts-test-error', className: 'error', role: 'alert', hidden: true }),
			el('p', { id: 'alerts-test-result', className: 'ok-text', role: 'status', hidden: true }),
			el('h3', null, t('alerts.last'), ' ', el('span', { id: 'alerts-counts', className: 'muted small-text' })),
			el('p', { id: 'alerts-list-error', className: 'error', role: 'alert', hidden: true }),
			el('div', { className: 'table-wrap alerts-wrap' },
				el('table', { id: 'alerts-table', className: 'alerts-table' },
					el('thead', null, el('tr', null,
						el('th', null, t('alerts.col.time')), el('th', null, t('alerts.col.kind')),
						el('th', null, t('alerts.col.text')), el('th', null, t('alerts.col.state')),
						el('th', { className: 'num' }, t('alerts.col.attempts')), el('th', null, t('alerts.col.error')))),
					el('tbody', { id: 'alerts-body' }))),
			el('p', { id: 'alerts-empty', className: 'muted', hidden: true }, t('alerts.empty'))));
		$('alerts-save').addEventListener('click', onSave);
		$('alerts-test').addEventListener('click', onTest);
		$('alerts-url-clear').addEventListener('click', function () { onClear('url'); });
		$('alerts-header-clear').addEventListener('click', function () { onClear('header'); });
		renderFrame();
		if (A.settings)
			renderSettings();
		if (A.list || A.listErr)
			renderList();
	}

	/* ---------------------------------------------------------------- hooks */

	/* A live event: a notify.* topic reads the list again (soon). */
	function onEvent(j) {
		if (!A.running || !j || j.kind !== 'plugin' || !/^notify\./.test(str(j.topic)))
			return;
		refreshList();
	}

	function start() {
		stop();
		A.running = true;
		refresh();
		/* the list again while the screen is in view (and the tab shown) */
		A.timers.push(setInterval(function () {
			if (A.inView && !document.hidden && !A.missing)
				refreshList();
		}, LIST_MS));
	}

	function stop() {
		A.running = false;
		A.timers.forEach(clearInterval);
		A.timers = [];
		clearInterval(A.burst);
		A.seq++;
	}

	function wire() {
		var ids = ['alerts-url', 'alerts-header', 'alerts-words'];

		build();
		k.wireScreen(A, 'sec-alerts', 'alerts-refresh', {
			refresh: refresh, build: build,
			/* what the seller typed survives a language switch */
			save: function () {
				var keep = {};

				ids.forEach(function (id) {
					if ($(id))
						keep[id] = $(id).value;
				});
				return keep;
			},
			restore: function (keep) {
				ids.forEach(function (id) {
					if ($(id) && keep[id] !== undefined)
						$(id).value = keep[id];
				});
			}
		});
	}

	return { wire: wire, start: start, stop: stop, refresh: refresh, onEvent: onEvent, t: t, strings: STR,
		states: STATES };
};
