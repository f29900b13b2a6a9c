/* SPDX-License-Identifier: MIT */
/*
 * web/rules.js - the rules editor of the account's page: keyword rules, the
 * per-item default replies and the default reply, edited in place in the rules
 * document and saved whole (PUT /api/rules, web/API.md). app.js makes it with
 * its state and helpers (window.skRulesEditor(k)) and calls what it returns.
 * Like app.js: no framework, no build step, nothing from outside; what comes
 * from the server goes into the page through textContent or properties only.
 */
'use strict';

/* The editor's strings (web/i18n.js): Chinese first, English. */
window.skI18n.add('zh', {
	'rules.path': '文件：{path}',
	'rules.load_failed': '无法读取规则：{err}',
	'rules.once.every': '每次都发',
	'rules.once.chat': '每个会话一次',
	'rules.once.chat_item': '每个会话每个商品一次',
	'rules.match.contains': '包含',
	'rules.match.exact': '完全相同',
	'rules.match.regex': '正则表达式',
	'rules.not_valid': '{v}（无效）',
	'rules.not_object': '#{n}（不是对象：{json}）',
	'rules.keywords_ph': '每行一个关键词（或用逗号分隔）',
	'rules.up': '↑ 上移',
	'rules.up_title': '上移',
	'rules.down': '↓ 下移',
	'rules.down_title': '下移',
	'rules.enabled': ' 启用',
	'rules.f.keywords': '关键词',
	'rules.f.match': '匹配方式',
	'rules.f.priority': '优先级（小的先匹配）',
	'rules.f.reply': '回复',
	'rules.reply_ph': '{buyer_name}您好，…',
	'rules.f.item_only': '只用于商品 ID（可选）',
	'rules.any_item': '任何商品',
	'rules.f.image': '图片链接（可选）',
	'rules.f.send': '发送',
	'rules.f.id': '规则 ID',
	'rules.f.item': '商品 ID',
	'rules.item_default_bad': '商品默认回复 #{n} 不是对象',
	'rules.item_default': '商品默认回复 #{n}',
	'rules.none': '还没有关键词规则。',
	'rules.no_item_defaults': '没有商品默认回复。',
	'rules.saved': '已于 {time} 保存，新规则已生效。',
	'rules.errors_title': '规则未保存，请修改以下问题',
	'rules.not_saved': '规则未保存：{err}'
});
window.skI18n.add('en', {
	'rules.path': 'file: {path}',
	'rules.load_failed': 'Could not load the rules: {err}',
	'rules.once.every': 'every time',
	'rules.once.chat': 'once per chat',
	'rules.once.chat_item': 'once per chat and item',
	'rules.match.contains': 'contains',
	'rules.match.exact': 'is exactly',
	'rules.match.regex': 'regex',
	'rules.not_valid': '{v} (not valid)',
	'rules.not_object': '#{n} (not an object: {json})',
	'rules.keywords_ph': 'one keyword per line (or separated by commas)',
	'rules.up': '↑ Up',
	'rules.up_title': 'Move up',
	'rules.down': '↓ Down',
	'rules.down_title': 'Move down',
	'rules.enabled': ' enabled',
	'rules.f.keywords': 'Keywords',
	'rules.f.match': 'Match',
	'rules.f.priority': 'Priority (lower first)',
	'rules.f.reply': 'Reply',
	'rules.reply_ph': 'Hi {buyer_name}, …',
	'rules.f.item_only': 'Only for item id (optional)',
	'rules.any_item': 'any item',
	'rules.f.image': 'Image URL (optional)',
	'rules.f.send': 'Send',
	'rules.f.id': 'Rule id',
	'rules.f.item': 'Item id',
	'rules.item_default_bad': 'item default #{n} is not an object',
	'rules.item_default': 'Item default #{n}',
	'rules.none': 'No keyword rules yet.',
	'rules.no_item_defaults': 'No item defaults.',
	'rules.saved': 'Saved at {time} – the new rules are in force.',
	'rules.errors_title': 'The rules were not saved: fix these problems',
	'rules.not_saved': 'The rules were not saved: {err}'
});

window.skRulesEditor = function (k) {
	var S = k.S, $ = k.$, api = k.api, busy = k.busy, clear = k.clear, el = k.el, errText = k.errText,
		fmtTime = k.fmtTime, refreshStatus = k.refreshStatus, setError = k.setError, show = k.show,
		soon = k.soon, str = k.str, t = window.skI18n.t;
	var listeners = [];   /* fn(what, arg): 'loaded', 'dirty' (on), 'saved', 'errors' (lines): web/shop.js */

	/* Tells the other editors of the same document (web/shop.js) what happened. */
	function notify(what, arg) {
		listeners.forEach(function (fn) { fn(what, arg); });
	}

	/* The item field's title beside it (web/shop.js knows the items; the id when unknown). */
	function itemInput(input) {
		var ref = k.itemRef ? k.itemRef(input.value) : null;

		input.setAttribute('list', 'item-choices');  /* pick by title: web/shop.js fills it */
		if (!ref)
			return input;
		input.addEventListener('input', function () { k.itemRef(input.value, ref); });
		return el('span', { className: 'item-input' }, input, ref);
	}

	function rulesArray(key) {
		if (!Array.isArray(S.doc[key]))
			S.doc[key] = [];
		return S.doc[key];
	}

	function setDirty(on) {
		S.dirty = on;
		show('rules-dirty', on);
		$('rules-discard').disabled = !on;
		$('rules-save').disabled = !S.rulesLoaded;
		if (on)
			show('rules-saved', false);
		notify('dirty', on);
	}

	function loadRules() {
		setError('rules-load-error', '');
		return api('GET', '/api/rules').then(function (ans) {
			var r = ans && ans.rules;

			S.doc = r && typeof r === 'object' && !Array.isArray(r) ? r : {};
			S.rulesLoaded = true;
			S.rulesPath = str(ans.path);
			$('rules-path').textContent = ans.path ? t('rules.path', { path: ans.path }) : '';
			clearRuleErrors();
			renderRules();
			setDirty(false);
			notify('loaded');
		}, function (err) {
			if (err.status === 401)
				return;
			S.rulesLoaded = false;
			$('rules-save').disabled = true;
			setError('rules-load-error', t('rules.load_failed', { err: errText(err) }));
		});
	}

	function splitKeywords(text, match) {
		var parts = match === 'regex' ? text.split(/\r?\n/) : text.split(/\r?\n|[,，]/);

		return parts.map(function (s) { return s.trim(); }).filter(function (s) { return s.length > 0; });
	}

	/* A <select> of values; an unknown current value (from a hand-edited
	 * file) is shown as it is so that it can be seen and fixed. */
	function selectField(id, options, value) {
		var s = el('select', { id: id }), known = false;

		options.forEach(function (o) {
			s.appendChild(el('option', { value: o[0] }, t(o[1])));
			if (o[0] === value)
				known = true;
		});
		if (!known)
			s.appendChild(el('option', { value: value }, t('rules.not_valid', { v: value })));
		s.value = value;
		return s;
	}

	/* [value, label key] */
	var ONCE_OPTIONS = [['', 'rules.once.every'], ['chat', 'rules.once.chat'], ['chat_item', 'rules.once.chat_item']];
	var MATCH_OPTIONS = [['contains', 'rules.match.contains'], ['exact', 'rules.match.exact'],
		['regex', 'rules.match.regex']];

	function field(label, input, cls) {
		return el('label', { className: 'field' + (cls ? ' ' + cls : '') }, el('span', null, label), input);
	}

	/* An input that writes obj[key] (null when empty, for nullable keys). */
	function textInput(id, obj, key, nullable, attrs) {
		var a = attrs || {}, tag = a.rows ? 'textarea' : 'input', i;

		a.id = id;
		if (tag === 'input' && !a.type)
			a.type = 'text';
		i = el(tag, a);
		i.value = str(obj[key]);
		i.addEventListener('input', function () {
			obj[key] = nullable && i.value.trim() === '' ? null : i.value;
			setDirty(true);
		});
		return i;
	}

	function onceSelect(id, obj) {
		var s = selectField(id, ONCE_OPTIONS, str(obj.once));

		s.addEventListener('change', function () {
			obj.once = s.value === '' ? null : s.value;
			setDirty(true);
		});
		return s;
	}

	function newRuleId(list) {
		var ids = {}, n = list.length + 1;

		list.forEach(function (r) { if (r && typeof r.id === 'string') ids[r.id] = true; });
		while (ids['rule-' + n])
			n++;
		return 'rule-' + n;
	}

	function moveItem(list, i, d) {
		var j = i + d, t;

		if (j < 0 || j >= list.length)
			return false;
		t = list[i];
		list[i] = list[j];
		list[j] = t;
		return true;
	}

	function renderKeywordRule(r, i, n, list) {
		var p = 'rule-' + i + '-', card, kw, match, prio, enabled, title, up, down, del;

		if (!r || typeof r !== 'object' || Array.isArray(r))
			return el('div', { className: 'rule', id: 'rule-' + i },
				el('div', { className: 'rule-head' }, el('strong', null, t('rules.not_object', { n: i + 1,
					json: JSON.stringify(r) }))),
				el('ul', { id: p + 'errors', className: 'error-list', hidden: true }));

		title = el('strong', { className: 'rule-title' });
		var setTitle = function () {
			var kws = Array.isArray(r.keywords) ? r.keywords.join(', ') : '';

			title.textContent = '#' + (i + 1) + ' ' + (r.id ? r.id : '') + (kws ? ' – ' + kws : '');
			card.classList.toggle('disabled', r.enabled === false);
		};

		kw = el('textarea', { id: p + 'keywords', rows: 2, spellcheck: false,
			placeholder: t('rules.keywords_ph') });
		kw.value = Array.isArray(r.keywords) ? r.keywords.join('\n') : str(r.keywords);
		kw.rows = Math.min(8, Math.max(2, kw.value.split('\n').length));
		match = selectField(p + 'match', MATCH_OPTIONS, r.match === undefined || r.match === null ? 'contains'
			: str(r.match));
		kw.addEventListener('input', function () {
			r.keywords = splitKeywords(kw.value, match.value);
			setDirty(true);
			setTitle();
		});
		match.addEventListener('change', function () {
			r.match = match.value;
			r.keywords = splitKeywords(kw.value, match.value);
			setDirty(true);
			setTitle();
		});
		/* text, not number: a number input hides what it cannot parse, the validator names it */
		prio = el('input', { id: p + 'priority', type: 'text', inputMode: 'numeric', spellcheck: false,
			placeholder: '0' });
		prio.value = r.priority === undefined || r.priority === null ? '' : str(r.priority);
		prio.addEventListener('input', function () {
			var v = prio.value.trim();

			if (v === '')
				delete r.priority;
			else
				r.priority = /^-?\d+$/.test(v) ? parseInt(v, 10) : v;
			setDirty(true);
		});
		enabled = el('input', { id: p + 'enabled', type: 'checkbox' });
		enabled.checked = r.enabled !== false;
		enabled.addEventListener('change', function () {
			r.enabled = enabled.checked;
			setDirty(true);
			setTitle();
		});
		up = el('button', { type: 'button', id: p + 'up', className: 'small', title: t('rules.up_title'),
			disabled: i === 0 }, t('rules.up'));
		down = el('button', { type: 'button', id: p + 'down', className: 'small', title: t('rules.down_title'),
			disabled: i === n - 1 }, t('rules.down'));
		del = el('button', { type: 'button', id: p + 'delete', className: 'small danger' }, t('common.delete'));
		up.addEventListener('click', function () {
			if (moveItem(list, i, -1)) {
				setDirty(true);
				renderRules();
				focusLater('rule-' + (i - 1) + '-up');
			}
		});
		down.addEventListener('click', function () {
			if (moveItem(list, i, 1)) {
				setDirty(true);
				renderRules();
				focusLater('rule-' + (i + 1) + '-down');
			}
		});
		del.addEventListener('click', function () {
			list.splice(i, 1);
			setDirty(true);
			renderRules();
		});

		card = el('div', { className: 'rule', id: 'rule-' + i, 'data-index': i },
			el('div', { className: 'rule-head' }, title, el('span', { className: 'spacer' }),
				el('label', { className: 'check' }, enabled, t('rules.enabled')), up, down, del),
			el('ul', { id: p + 'errors', className: 'error-list', hidden: true }),
			el('div', { className: 'grid' },
				field(t('rules.f.keywords'), kw, 'wide'),
				field(t('rules.f.match'), match),
				field(t('rules.f.priority'), prio),
				field(t('rules.f.reply'), textInput(p + 'reply', r, 'reply', false,
					{ rows: 3, placeholder: t('rules.reply_ph') }), 'wide'),
				field(t('rules.f.item_only'), itemInput(textInput(p + 'item', r, 'item_id', true,
					{ placeholder: t('rules.any_item'), spellcheck: false }))),
				field(t('rules.f.image'), textInput(p + 'image', r, 'image', true,
					{ type: 'url', placeholder: 'https://…' })),
				field(t('rules.f.send'), onceSelect(p + 'once', r)),
				field(t('rules.f.id'), textInput(p + 'id', r, 'id', true, { spellcheck: false }))));
		card.querySelector('#' + p + 'id').addEventListener('input', setTitle);
		setTitle();
		return card;
	}

	function renderItemDefault(r, i, list) {
		var p = 'item-default-' + i + '-', del;

		if (!r || typeof r !== 'object' || Array.isArray(r))
			return el('div', { className: 'rule', id: 'item-default-' + i },
				el('strong', null, t('rules.item_default_bad', { n: i + 1 })),
				el('ul', { id: p + 'errors', className: 'error-list', hidden: true }));
		del = el('button', { type: 'button', id: p + 'delete', className: 'small danger' }, t('common.delete'));
		del.addEventListener('click', function () {
			list.splice(i, 1);
			setDirty(true);
			renderRules();
		});
		return el('div', { className: 'rule', id: 'item-default-' + i },
			el('div', { className: 'rule-head' }, el('strong', null, t('rules.item_default', { n: i + 1 })),
				el('span', { className: 'spacer' }), del),
			el('ul', { id: p + 'errors', className: 'error-list', hidden: true }),
			el('div', { className: 'grid' },
				field(t('rules.f.item'), itemInput(textInput(p + 'item', r, 'item_id', false, { spellcheck: false }))),
				field(t('rules.f.image'), textInput(p + 'image', r, 'image', true,
					{ type: 'url', placeholder: 'https://…' })),
				field(t('rules.f.send'), onceSelect(p + 'once', r)),
				field(t('rules.f.reply'), textInput(p + 'reply', r, 'reply', false, { rows: 2 }), 'wide')));
	}

	/* The default_reply fields are static in the page; they edit
	 * S.doc.default_reply, made only when the seller changes one. */
	function defaultReply() {
		if (!S.doc.default_reply || typeof S.doc.default_reply !== 'object' || Array.isArray(S.doc.default_reply))
			S.doc.default_reply = {};
		return S.doc.default_reply;
	}

	function renderDefaultReply() {
		var d = S.doc.default_reply && typeof S.doc.default_reply === 'object' ? S.doc.default_reply : {};
		var once = $('default-once'), extra = once.querySelector('option.extra'), v = str(d.once);

		$('default-reply').value = str(d.reply);
		$('default-image').value = str(d.image);
		if (extra)
			once.removeChild(extra);
		if (v && !ONCE_OPTIONS.some(function (o) { return o[0] === v; }))
			once.appendChild(el('option', { value: v, className: 'extra' }, t('rules.not_valid', { v: v })));
		once.value = v;
		$('default-enabled').checked = d.enabled !== false;
	}

	function renderRules() {
		var list, box = $('rules-list'), ibox = $('item-defaults-list');

		clear(box);
		clear(ibox);
		if (!S.doc)
			return;
		list = Array.isArray(S.doc.keyword_rules) ? S.doc.keyword_rules : [];
		list.forEach(function (r, i) { box.appendChild(renderKeywordRule(r, i, list.length, list)); });
		if (!list.length)
			box.appendChild(el('p', { className: 'muted' }, t('rules.none')));
		list = Array.isArray(S.doc.item_defaults) ? S.doc.item_defaults : [];
		list.forEach(function (r, i) { ibox.appendChild(renderItemDefault(r, i, list)); });
		if (!list.length)
			ibox.appendChild(el('p', { className: 'muted' }, t('rules.no_item_defaults')));
		renderDefaultReply();
	}

	function focusLater(id) {
		setTimeout(function () {
			var e = $(id);

			if (e && !e.disabled)
				e.focus();
		}, 0);
	}

	function clearRuleErrors() {
		var lists = document.querySelectorAll('#sec-rules .error-list'), i;

		show('rules-errors-box', false);
		for (i = 0; i < lists.length; i++) {
			clear(lists[i]);
			lists[i].hidden = true;
		}
		var cards = document.querySelectorAll('#sec-rules .rule.has-error');
		for (i = 0; i < cards.length; i++)
			cards[i].classList.remove('has-error');
	}

	/* Shows the validator's errors: all of them under the save button, and
	 * each one also on the rule it names; scrolls to the first unless quiet
	 * (a save from another section, which shows them itself). */
	function showRuleErrors(title, errors, quiet) {
		var all = $('rules-errors'), first = null;

		clearRuleErrors();
		clear(all);
		all.hidden = errors.length === 0;
		$('rules-error-title').textContent = title.charAt(0).toUpperCase() + title.slice(1) +
			(errors.length ? ':' : '');
		errors.forEach(function (msg) {
			/* "autoreply: keyword_rules[2].match: ..." (the plugin's name first) */
			var m = /(?:^|: )(keyword_rules|item_defaults)\[(\d+)\]/.exec(msg), target = null, card = null;

			all.appendChild(el('li', null, msg));
			if (m) {
				var p = (m[1] === 'keyword_rules' ? 'rule-' : 'item-default-') + m[2];
				card = $(p);
				target = $(p + '-errors');
			} else if (/(?:^|: )default_reply\b/.test(msg)) {
				card = $('default-reply-box');
				target = $('default-reply-errors');
			}
			if (target) {
				target.appendChild(el('li', null, msg));
				target.hidden = false;
			}
			if (card) {
				card.classList.add('has-error');
				if (!first)
					first = card;
			}
		});
		show('rules-errors-box', true);
		if (!quiet)
			(first || $('rules-errors-box')).scrollIntoView({ block: 'center' });
	}

	/* Saves the whole document (PUT /api/rules). button: the one pressed
	 * (the rules section's by default); from another section (web/shop.js)
	 * the errors are not scrolled to here. Resolves true when saved. */
	function onRulesSave(button) {
		var btn = button && button.nodeType === 1 ? button : $('rules-save'), quiet = btn !== $('rules-save');

		if (!S.doc)
			return Promise.resolve(false);
		show('rules-saved', false);
		return busy(btn, api('PUT', '/api/rules', S.doc)).then(function () {
			clearRuleErrors();
			setDirty(false);
			$('rules-saved').textContent = t('rules.saved', { time: fmtTime(Date.now()) });
			show('rules-saved', true);
			soon('status', 300, refreshStatus);
			notify('saved');
			return true;
		}, function (err) {
			var lines;

			if (err.status === 401)
				return false;
			lines = err.status === 422 && err.body && Array.isArray(err.body.errors) ? err.body.errors.map(str) : [];
			/* the server's lines stay as they are (English, they name the fields);
			 * the title is the page's own sentence, not the server's again */
			if (lines.length)
				showRuleErrors(t('rules.errors_title'), lines, quiet);
			else
				showRuleErrors(t('rules.not_saved', { err: errText(err) }), [], quiet);
			notify('errors', { title: lines.length ? t('rules.errors_title') : errText(err), lines: lines });
			return false;
		});
	}

	function onRuleAdd() {
		var list = rulesArray('keyword_rules');

		if (!S.doc)
			return;
		list.push({ id: newRuleId(list), keywords: [], match: 'contains', reply: '', item_id: null,
			priority: 10, enabled: true, image: null, once: null });
		setDirty(true);
		renderRules();
		focusLater('rule-' + (list.length - 1) + '-keywords');
		$('rule-' + (list.length - 1)).scrollIntoView({ block: 'nearest' });
	}

	function onItemDefaultAdd() {
		var list;

		if (!S.doc)
			return;
		list = rulesArray('item_defaults');
		list.push({ item_id: '', reply: '', image: null, once: null });
		setDirty(true);
		renderRules();
		focusLater('item-default-' + (list.length - 1) + '-item');
	}

	function wireDefaultReply() {
		$('default-reply').addEventListener('input', function () {
			if (!S.doc)
				return;
			defaultReply().reply = $('default-reply').value;
			setDirty(true);
		});
		$('default-image').addEventListener('input', function () {
			if (!S.doc)
				return;
			defaultReply().image = $('default-image').value.trim() === '' ? null : $('default-image').value;
			setDirty(true);
		});
		$('default-once').addEventListener('change', function () {
			if (!S.doc)
				return;
			defaultReply().once = $('default-once').value === '' ? null : $('default-once').value;
			setDirty(true);
		});
		$('default-enabled').addEventListener('change', function () {
			if (!S.doc)
				return;
			defaultReply().enabled = $('default-enabled').checked;
			setDirty(true);
		});
	}

	/* A language switch: the editor drawn again from the document (edits are in it). */
	window.skI18n.onChange(function () {
		if (S.rulesPath)
			$('rules-path').textContent = t('rules.path', { path: S.rulesPath });
		if (S.doc && S.rulesLoaded)
			renderRules();
	});

	return {
		listen: function (fn) { listeners.push(fn); },
		setDirty: setDirty,
		renderRules: renderRules,
		loadRules: loadRules,
		onRulesSave: onRulesSave,
		onRuleAdd: onRuleAdd,
		onItemDefaultAdd: onItemDefaultAdd,
		wireDefaultReply: wireDefaultReply
	};
};
