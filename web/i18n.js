/* SPDX-License-Identifier: MIT */
/*
 * web/i18n.js - the page's languages: Chinese (zh, the default) and English
 * (en). Loaded before the other scripts; it makes window.skI18n.
 *
 * How a screen uses it:
 *  - Every string of a new screen is a key: t('shop.items.title') or, with
 *    placeholders, t('shop.stock.free', { n: 3 }) for "{n} free". Keys are
 *    dotted, prefixed with the screen ('shop.', 'orders.', 'common.').
 *  - The strings live in the two tables below (one object per language) or,
 *    for a screen in its own file, are added by that file at load time with
 *    skI18n.add('zh', {...}) and skI18n.add('en', {...}) (fewer merge
 *    conflicts on this file).
 *  - Static HTML: an element with data-i18n="key" gets t(key) as its text,
 *    data-i18n-placeholder / data-i18n-title / data-i18n-aria-label set those
 *    attributes; applied at load and at each language switch.
 *  - Dynamic parts: skI18n.onChange(fn) registers fn(lang), called after
 *    each switch; the screen re-renders itself there.
 *  - A key missing in en falls back to zh; missing in both, the key itself
 *    is shown (and a console warning, once per key).
 * The choice is kept in localStorage ('shopkeep.lang'); the switch is a
 * button in the header (中文 / EN). Older screens stay English until they are
 * converted (issue 22). t() returns plain text: put it into the page with
 * textContent or properties, never innerHTML.
 */
'use strict';

window.skI18n = (function () {
	var STORE_KEY = 'shopkeep.lang';
	var LANGS = ['zh', 'en'];

	var tables = {
		zh: {
			'common.lang_switch': 'EN',
			'common.lang_switch_title': 'Switch to English',
			'common.save': '保存',
			'common.cancel': '取消',
			'common.delete': '删除',
			'common.edit': '编辑',
			'common.add': '添加',
			'common.refresh': '刷新',
			'common.close': '关闭',
			'common.enabled': '启用',
			'common.none': '无',
			'common.loading': '加载中…',
			'common.unsaved': '有未保存的修改'
		},
		en: {
			'common.lang_switch': '中文',
			'common.lang_switch_title': '切换到中文',
			'common.save': 'Save',
			'common.cancel': 'Cancel',
			'common.delete': 'Delete',
			'common.edit': 'Edit',
			'common.add': 'Add',
			'common.refresh': 'Refresh',
			'common.close': 'Close',
			'common.enabled': 'enabled',
			'common.none': 'none',
			'common.loading': 'Loading…',
			'common.unsaved': 'Unsaved changes'
		}
	};

	var listeners = [];
	var warned = {};
	var lang = readLang();

	/* The stored language, 'zh' when none or an unknown one is stored. */
	function readLang() {
		var v = null;

		try {
			v = window.localStorage.getItem(STORE_KEY);
		} catch (e) { /* storage refused (private mode): the default */ }
		return LANGS.indexOf(v) >= 0 ? v : 'zh';
	}

	/* The string of key in the current language with {name} placeholders
	 * replaced from vars (a missing var stays as {name}); en falls back to
	 * zh, then to the key itself. */
	function t(key, vars) {
		var s = tables[lang] && Object.prototype.hasOwnProperty.call(tables[lang], key) ? tables[lang][key] : undefined;

		if (s === undefined && Object.prototype.hasOwnProperty.call(tables.zh, key))
			s = tables.zh[key];
		if (s === undefined) {
			if (!warned[key] && window.console) {
				warned[key] = true;
				console.warn('i18n: no string for "' + key + '"');
			}
			s = key;
		}
		if (vars)
			s = s.replace(/\{(\w+)\}/g, function (m, name) {
				return Object.prototype.hasOwnProperty.call(vars, name) && vars[name] !== null &&
					vars[name] !== undefined ? String(vars[name]) : m;
			});
		return s;
	}

	/* Adds (or replaces) strings of one language. */
	function add(l, table) {
		var k;

		if (!tables[l])
			tables[l] = {};
		for (k in table)
			if (Object.prototype.hasOwnProperty.call(table, k))
				tables[l][k] = table[k];
	}

	/* Sets the static texts marked with data-i18n* under root (the document
	 * when omitted). */
	function apply(root) {
		var attrs = [['data-i18n-placeholder', 'placeholder'], ['data-i18n-title', 'title'],
			['data-i18n-aria-label', 'aria-label']];
		var r = root || document, list, i;

		list = r.querySelectorAll('[data-i18n]');
		for (i = 0; i < list.length; i++)
			list[i].textContent = t(list[i].getAttribute('data-i18n'));
		attrs.forEach(function (a) {
			var l = r.querySelectorAll('[' + a[0] + ']'), j;

			for (j = 0; j < l.length; j++)
				l[j].setAttribute(a[1], t(l[j].getAttribute(a[0])));
		});
	}

	/* Switches to l ('zh' or 'en'), stores it, re-applies the static texts and
	 * calls every onChange listener. Returns the language in force. */
	function setLang(l) {
		if (LANGS.indexOf(l) < 0)
			return lang;
		lang = l;
		try {
			window.localStorage.setItem(STORE_KEY, l);
		} catch (e) { /* not kept: this page view only */ }
		document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
		apply();
		listeners.forEach(function (fn) {
			try {
				fn(lang);
			} catch (e) {
				if (window.console)
					console.error('i18n: a language listener failed', e);
			}
		});
		return lang;
	}

	/* Registers fn(lang), called after each language switch. */
	function onChange(fn) {
		listeners.push(fn);
	}

	/* The 中文 / EN button, put in the header before the logout button. */
	function mountSwitch() {
		var row = document.querySelector('.topbar-row'), logout = document.getElementById('logout'), b;

		if (!row || document.getElementById('lang-switch'))
			return;
		b = document.createElement('button');
		b.type = 'button';
		b.id = 'lang-switch';
		b.className = 'small lang-switch';
		b.setAttribute('data-i18n', 'common.lang_switch');
		b.setAttribute('data-i18n-title', 'common.lang_switch_title');
		b.addEventListener('click', function () {
			setLang(lang === 'zh' ? 'en' : 'zh');
		});
		row.insertBefore(b, logout && logout.parentNode === row ? logout : null);
	}

	function init() {
		mountSwitch();
		document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
		apply();
	}

	/* After the deferred scripts (which add their strings) have run. */
	if (document.readyState === 'complete')
		init();
	else
		document.addEventListener('DOMContentLoaded', init);

	return {
		t: t,
		add: add,
		apply: apply,
		setLang: setLang,
		lang: function () { return lang; },
		onChange: onChange
	};
}());
