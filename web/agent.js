/* SPDX-License-Identifier: MIT */
/*
 * web/agent.js - the AI assistant screen (AI 助手): the agent plugin's
 * settings (agent_settings / agent_configure: on/off, the model's endpoint,
 * the API key as a write-only field shown masked, timeout, tokens,
 * temperature, the account's mode, bargaining steps, budgets with what is
 * used, the fixed texts, banned words, extra headers whose values stay
 * "****" unless retyped), its items (mode, floor price, steps, notes per
 * item; titles from agent_settings and items_list), its prompts per intent
 * (agent_prompts / agent_prompt_set: read-only without prompts_dir) and its
 * recent decisions (agent_decisions: verdict pill, reason, the model's
 * answer beside what was sent, the lowest price quoted, a link to the chat),
 * read again every 5 s while in view and on the topic agent.decided.
 *
 * agent not loaded (its commands answer 404): the screen says so and shows
 * nothing else. app.js makes it (window.skAgent(k)) with its helpers and
 * calls what it returns: wire once, start / stop with the app, onEvent for
 * each live event; k.itemLabel (shop.js's shared item lookup) names the
 * decisions' items items_list did not list yet. Only changed settings are sent (the page's overrides win
 * key by key over the config file, so an untouched key stays the file's).
 * Strings go through skI18n (this file adds its keys, zh and en);
 * everything from the server is set as text, never as HTML.
 */
'use strict';

window.skAgent = function (k) {
	var S = k.S, $ = k.$, clear = k.clear, control = k.control, str = k.str, num = k.num,
		errText = k.errText, fmtTime = k.fmtTime, busy = k.busy, setError = k.setError, show = k.show;

	/* k.el, with the role attribute set as an attribute. */
	function el(tag, attrs) {
		var e = k.el.apply(null, arguments);

		if (attrs && attrs.role)
			e.setAttribute('role', attrs.role);
		return e;
	}

	var LIST_MS = 5000, LIST_LIMIT = 50, ITEMS_LIMIT = 500;
	var MODES = ['off', 'default', 'all'];
	var ITEM_MODES = ['inherit', 'off', 'default', 'all'];
	var INTENTS = ['default', 'price', 'tech'];
	var VERDICTS = ['model', 'floor', 'guard', 'fallback', 'steps', 'superseded', 'taken_over', 'pending'];
	/* [key, min, max, step]: the numeric settings (max null: no upper bound) */
	var NUMS = [['timeout_ms', 1000, 120000, 100], ['max_tokens', 1, 4096, 1], ['temperature', 0, 2, 0.1],
		['max_steps', 0, 20, 1], ['per_hour', 0, null, 1], ['per_day', 0, null, 1], ['per_chat', 0, null, 1],
		['max_len', 10, 2000, 1], ['history', 0, 50, 1]];
	var TEXTS = ['fallback_text', 'guard_text', 'floor_text'];
	/* every key an error message may name, longest first (per_chat before chat) */
	var KEYS = ['enabled', 'base_url', 'model', 'api_key', 'headers', 'mode', 'banned'].concat(
		NUMS.map(function (n) { return n[0]; }), TEXTS).sort(function (a, b) { return b.length - a.length; });

	var STR = {
		zh: {
			'agent.nav': 'AI 助手',
			'agent.title': 'AI 助手',
			'agent.refresh': '刷新',
			'agent.intro': '关键词规则没有匹配到的买家消息，可以交给大模型回复（任何兼容 OpenAI 的接口）。底价、议价次数、违禁词和长度由程序把关：不合格的回答永远不会发出。',
			'agent.missing': 'AI 助手插件 agent 没有加载，所以这里没有可设置的内容。',
			'agent.missing_how': '在配置文件的 plugins.load 中加入 "agent"（放在 "autoreply" 之后），并在 "agent" 一节填写 base_url 和 model，然后重启 shopkeep。',
			'agent.settings_error': '无法读取 AI 助手设置：',
			'agent.not_configured': '还没有设置模型地址（base_url）和模型名：现在不会接手任何消息。',
			'agent.s.title': '设置',
			'agent.s.enabled': '启用 AI 回复',
			'agent.s.mode': '接手哪些消息',
			'agent.mode.off': '关闭',
			'agent.mode.default': '仅默认回复',
			'agent.mode.all': '全部未匹配',
			'agent.mode.inherit': '继承',
			'agent.s.base_url': '接口地址（base URL）',
			'agent.s.model': '模型名',
			'agent.s.api_key': 'API 密钥',
			'agent.s.key_set': '已设置 {key}',
			'agent.s.key_unset': '未设置',
			'agent.s.key_src.page': '（在页面上设置）',
			'agent.s.key_src.file': '（来自密钥文件）',
			'agent.s.key_new': '新的密钥（留空则不变）',
			'agent.s.key_clear': '清除',
			'agent.s.key_cleared': '页面上的密钥已清除。',
			'agent.s.timeout_ms': '超时（毫秒）',
			'agent.s.max_tokens': '最多生成 token 数',
			'agent.s.temperature': '温度（0–2）',
			'agent.s.max_steps': '每个对话最多议价次数',
			'agent.s.per_hour': '每小时调用上限',
			'agent.s.per_day': '每天调用上限',
			'agent.s.per_chat': '每个对话调用上限',
			'agent.s.max_len': '回复最多字数',
			'agent.s.history': '带上最近几条消息',
			'agent.s.limit_hint': '0 表示不限',
			'agent.s.used_hour': '本小时已用 {n}',
			'agent.s.used_day': '今天已用 {n}',
			'agent.s.fallback_text': '兜底回复（超时、出错、超出额度时发送；留空则用自动回复的默认回复）',
			'agent.s.guard_text': '拦截时的回复（回答含联系方式、站外付款或违禁词时发送）',
			'agent.s.floor_text': '守住底价时的回复（报价低于底价或议价次数用完时发送）',
			'agent.s.banned': '违禁词（每行一个）',
			'agent.s.headers': '额外的请求头',
			'agent.s.headers_hint': '值显示为 ****，不修改则保持原值。',
			'agent.s.header_name': '名称',
			'agent.s.header_value': '值',
			'agent.s.header_add': '添加请求头',
			'agent.s.header_remove': '删除',
			'agent.s.save': '保存设置',
			'agent.s.saved': '已保存，立即生效。',
			'agent.s.save_error': '没有保存：',
			'agent.s.nothing': '没有修改。',
			'agent.s.prompts_dir': '提示词目录：{dir}',
			'agent.i.title': '商品',
			'agent.i.hint': '每个商品可以单独设置：是否由 AI 回复、底价（AI 的报价不会低于它）、议价次数和给 AI 的备注。没有列出的商品按上面的设置。',
			'agent.i.col.item': '商品',
			'agent.i.col.price': '标价',
			'agent.i.col.mode': '模式',
			'agent.i.col.floor': '底价（元）',
			'agent.i.col.steps': '议价次数',
			'agent.i.col.notes': '备注',
			'agent.i.empty': '还没有单独设置的商品。',
			'agent.i.add': '添加商品',
			'agent.i.edit': '编辑',
			'agent.i.delete': '删除',
			'agent.i.deleted': '已删除。',
			'agent.i.saved': '商品设置已保存。',
			'agent.i.save_error': '没有保存：',
			'agent.i.pick': '商品',
			'agent.i.other': '其他（输入商品 ID）…',
			'agent.i.id': '商品 ID',
			'agent.i.floor_hint': '留空表示不设底价',
			'agent.i.steps_hint': '留空则用上面的设置',
			'agent.i.save': '保存商品',
			'agent.i.cancel': '取消',
			'agent.i.no_id': '请选择或输入商品 ID。',
			'agent.i.unknown': '（未知商品）',
			'agent.i.inherit_steps': '继承',
			'agent.p.title': '提示词',
			'agent.p.hint': '每种意图一个提示词，商品信息和对话记录会自动附上。',
			'agent.p.readonly': '没有设置提示词目录（agent.prompts_dir），这里只能查看内置提示词。',
			'agent.p.intent.default': '默认',
			'agent.p.intent.price': '议价',
			'agent.p.intent.tech': '技术',
			'agent.p.builtin': '内置',
			'agent.p.custom': '已修改',
			'agent.p.save': '保存',
			'agent.p.reset': '恢复内置',
			'agent.p.saved': '已保存。',
			'agent.p.reset_done': '已恢复为内置提示词。',
			'agent.p.error': '没有保存：',
			'agent.p.read_error': '无法读取提示词：',
			'agent.d.title': '最近的决定',
			'agent.d.empty': '还没有 AI 处理过的消息。',
			'agent.d.read_error': '无法读取决定记录：',
			'agent.d.col.time': '时间',
			'agent.d.col.buyer': '买家',
			'agent.d.col.item': '商品',
			'agent.d.col.text': '买家消息',
			'agent.d.col.intent': '意图',
			'agent.d.col.verdict': '结果',
			'agent.d.col.reason': '原因',
			'agent.d.col.reply': '回复',
			'agent.d.col.lowest': '最低报价',
			'agent.d.col.latency': '耗时',
			'agent.d.answer': '模型：',
			'agent.d.sent': '发出：',
			'agent.d.open_chat': '对话',
			'agent.d.yuan': '{n} 元',
			'agent.d.ms': '{n} 毫秒',
			'agent.d.s': '{n} 秒',
			'agent.v.model': '已回复',
			'agent.v.floor': '守住底价',
			'agent.v.guard': '已拦截',
			'agent.v.fallback': '兜底回复',
			'agent.v.steps': '议价已到上限',
			'agent.v.superseded': '被后续消息取代',
			'agent.v.taken_over': '卖家已接手',
			'agent.v.pending': '处理中',
			'agent.r.timeout': '模型超时',
			'agent.r.bad_answer': '模型的回答无法解析',
			'agent.r.empty': '模型没有回答',
			'agent.r.budget_hour': '超出每小时调用上限',
			'agent.r.budget_day': '超出每天调用上限',
			'agent.r.budget_chat': '超出该对话的调用上限',
			'agent.r.no_key': '没有 API 密钥',
			'agent.r.restart': '程序重启',
			'agent.r.expired': '重启时已过期，未回复',
			'agent.r.http': '接口返回 HTTP {status}',
			'agent.r.error': '出错：{detail}',
			'agent.r.below_floor': '低于底价：{detail}',
			'agent.r.too_long': '回复太长：{detail}',
			'agent.r.contact': '含联系方式：{detail}',
			'agent.r.payment': '站外付款：{detail}',
			'agent.r.banned': '违禁词：{detail}'
		},
		en: {
			'agent.nav': 'AI assistant',
			'agent.title': 'AI assistant',
			'agent.refresh': 'Refresh',
			'agent.intro': 'Buyer messages no keyword rule matched can be answered by a language model (any OpenAI-compatible endpoint). The floor price, bargaining steps, banned words and length are checked by the program: an answer that fails them is never sent.',
			'agent.missing': 'The agent plugin is not loaded, so there is nothing to set here.',
			'agent.missing_how': 'Add "agent" to plugins.load in the config file (after "autoreply"), set base_url and model in its "agent" section, then restart shopkeep.',
			'agent.settings_error': 'Could not read the assistant settings: ',
			'agent.not_configured': 'No model address (base_url) and model name yet: no message is taken now.',
			'agent.s.title': 'Settings',
			'agent.s.enabled': 'AI replies on',
			'agent.s.mode': 'Which messages it takes',
			'agent.mode.off': 'off',
			'agent.mode.default': 'default replies only',
			'agent.mode.all': 'all unmatched',
			'agent.mode.inherit': 'inherit',
			'agent.s.base_url': 'Endpoint (base URL)',
			'agent.s.model': 'Model',
			'agent.s.api_key': 'API key',
			'agent.s.key_set': 'set: {key}',
			'agent.s.key_unset': 'not set',
			'agent.s.key_src.page': ' (set on this page)',
			'agent.s.key_src.file': ' (from the key file)',
			'agent.s.key_new': 'a new key (empty: unchanged)',
			'agent.s.key_clear': 'Clear',
			'agent.s.key_cleared': 'The page\'s key is cleared.',
			'agent.s.timeout_ms': 'Timeout (ms)',
			'agent.s.max_tokens': 'Max tokens',
			'agent.s.temperature': 'Temperature (0–2)',
			'agent.s.max_steps': 'Bargaining steps per chat',
			'agent.s.per_hour': 'Calls per hour',
			'agent.s.per_day': 'Calls per day',
			'agent.s.per_chat': 'Calls per chat',
			'agent.s.max_len': 'Longest reply (characters)',
			'agent.s.history': 'Recent messages given',
			'agent.s.limit_hint': '0: no limit',
			'agent.s.used_hour': '{n} used this hour',
			'agent.s.used_day': '{n} used today',
			'agent.s.fallback_text': 'Fallback reply (on a timeout, an error, a budget used up; empty: the default reply of the rules)',
			'agent.s.guard_text': 'Reply when an answer is stopped (contact details, paying off the platform, banned words)',
			'agent.s.floor_text': 'Reply at the floor (an offer below it, or the steps used up)',
			'agent.s.banned': 'Banned words (one a line)',
			'agent.s.headers': 'Extra request headers',
			'agent.s.headers_hint': 'Values show as ****; left so, they are kept.',
			'agent.s.header_name': 'Name',
			'agent.s.header_value': 'Value',
			'agent.s.header_add': 'Add a header',
			'agent.s.header_remove': 'Remove',
			'agent.s.save': 'Save the settings',
			'agent.s.saved': 'Saved; in force now.',
			'agent.s.save_error': 'Not saved: ',
			'agent.s.nothing': 'Nothing changed.',
			'agent.s.prompts_dir': 'Prompts folder: {dir}',
			'agent.i.title': 'Items',
			'agent.i.hint': 'Per item: whether the assistant answers, the floor price (it never offers less), the bargaining steps and notes for the model. Items not listed follow the settings above.',
			'agent.i.col.item': 'Item',
			'agent.i.col.price': 'Price',
			'agent.i.col.mode': 'Mode',
			'agent.i.col.floor': 'Floor (yuan)',
			'agent.i.col.steps': 'Steps',
			'agent.i.col.notes': 'Notes',
			'agent.i.empty': 'No item has settings of its own yet.',
			'agent.i.add': 'Add an item',
			'agent.i.edit': 'Edit',
			'agent.i.delete': 'Delete',
			'agent.i.deleted': 'Deleted.',
			'agent.i.saved': 'The item\'s settings are saved.',
			'agent.i.save_error': 'Not saved: ',
			'agent.i.pick': 'Item',
			'agent.i.other': 'Other (type the item id)…',
			'agent.i.id': 'Item id',
			'agent.i.floor_hint': 'empty: no floor',
			'agent.i.steps_hint': 'empty: the setting above',
			'agent.i.save': 'Save the item',
			'agent.i.cancel': 'Cancel',
			'agent.i.no_id': 'Pick an item or type its id.',
			'agent.i.unknown': '(unknown item)',
			'agent.i.inherit_steps': 'inherit',
			'agent.p.title': 'Prompts',
			'agent.p.hint': 'One prompt per intent; the item\'s details and the chat\'s messages are added to it.',
			'agent.p.readonly': 'No prompts folder is set (agent.prompts_dir): the built-in prompts can only be read here.',
			'agent.p.intent.default': 'Default',
			'agent.p.intent.price': 'Bargaining',
			'agent.p.intent.tech': 'Technical',
			'agent.p.builtin': 'built-in',
			'agent.p.custom': 'edited',
			'agent.p.save': 'Save',
			'agent.p.reset': 'Back to built-in',
			'agent.p.saved': 'Saved.',
			'agent.p.reset_done': 'The built-in prompt is back.',
			'agent.p.error': 'Not saved: ',
			'agent.p.read_error': 'Could not read the prompts: ',
			'agent.d.title': 'Recent decisions',
			'agent.d.empty': 'The assistant has not handled a message yet.',
			'agent.d.read_error': 'Could not read the decisions: ',
			'agent.d.col.time': 'Time',
			'agent.d.col.buyer': 'Buyer',
			'agent.d.col.item': 'Item',
			'agent.d.col.text': 'Buyer\'s message',
			'agent.d.col.intent': 'Intent',
			'agent.d.col.verdict': 'Result',
			'agent.d.col.reason': 'Reason',
			'agent.d.col.reply': 'Reply',
			'agent.d.col.lowest': 'Lowest offer',
			'agent.d.col.latency': 'Took',
			'agent.d.answer': 'Model: ',
			'agent.d.sent': 'Sent: ',
			'agent.d.open_chat': 'Chat',
			'agent.d.yuan': '{n} yuan',
			'agent.d.ms': '{n} ms',
			'agent.d.s': '{n} s',
			'agent.v.model': 'answered',
			'agent.v.floor': 'held the floor',
			'agent.v.guard': 'stopped',
			'agent.v.fallback': 'fallback reply',
			'agent.v.steps': 'steps used up',
			'agent.v.superseded': 'superseded',
			'agent.v.taken_over': 'seller took over',
			'agent.v.pending': 'in progress',
			'agent.r.timeout': 'the model timed out',
			'agent.r.bad_answer': 'the model\'s answer could not be read',
			'agent.r.empty': 'the model gave no answer',
			'agent.r.budget_hour': 'the hourly budget is used up',
			'agent.r.budget_day': 'the daily budget is used up',
			'agent.r.budget_chat': 'the chat\'s budget is used up',
			'agent.r.no_key': 'no API key',
			'agent.r.restart': 'a restart',
			'agent.r.expired': 'too old at a restart: not answered',
			'agent.r.http': 'the endpoint answered HTTP {status}',
			'agent.r.error': 'error: {detail}',
			'agent.r.below_floor': 'below the floor: {detail}',
			'agent.r.too_long': 'too long: {detail}',
			'agent.r.contact': 'contact details: {detail}',
			'agent.r.payment': 'paying off the platform: {detail}',
			'agent.r.banned': 'a banned word: {detail}'
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
	function tOr(key, fallback, vars) {
		var s = t(key, vars);

		return s === key ? fallback : s;
	}

	var A = {
		settings: null,   /* agent_settings' answer */
		missing: false,   /* agent answered 404 */
		known: [],        /* items_list's items [{item_id, title, price}] ([] when items is not loaded) */
		knownMs: 0,       /* when items_list was asked last */
		prompts: null,    /* agent_prompts' answer */
		promptsErr: '',
		decisions: null,  /* agent_decisions' answer */
		decErr: '',
		editing: null,    /* the item editor: {item_id} ('' new) or null when closed */
		timers: [],
		soon: null,
		soonItems: null,
		inView: false,
		observer: null,
		running: false,
		seq: 0
	};

	/* ----------------------------------------------------------------- data */

	/* A 404 of a command: the agent (or the items plugin) is not loaded. */
	function isMissing(err) {
		return err && err.status === 404;
	}

	/* Shows the "not loaded" note instead of the screen. */
	function setMissing() {
		A.missing = true;
		A.settings = null;
		renderFrame();
	}

	/* Reads the settings, then the known items, the prompts and the
	 * decisions; a 404 means the agent is not loaded. */
	function refresh() {
		var seq = ++A.seq;

		if (!S.loggedIn)
			return Promise.resolve();
		return control('agent_settings', {}).then(function (d) {
			if (seq !== A.seq)
				return;
			A.missing = false;
			A.settings = d;
			setError('agent-settings-error', '');
			renderSettings();
			return Promise.all([refreshKnown(), refreshPrompts(), refreshDecisions()]);
		}, function (err) {
			if (seq !== A.seq || err.status === 401)
				return;
			if (isMissing(err))
				return setMissing();
			A.missing = false;
			renderFrame();
			setError('agent-settings-error', t('agent.settings_error') + errText(err));
		});
	}

	/* The items plugin's items (titles and prices for the item picker); none
	 * when it is not loaded or fails. */
	function refreshKnown() {
		A.knownMs = Date.now();
		return control('items_list', { limit: ITEMS_LIMIT }).then(function (d) {
			A.known = (Array.isArray(d.items) ? d.items : []).filter(function (it) {
				return it && str(it.item_id) && !it.gone;
			}).map(function (it) {
				return { item_id: str(it.item_id), title: str(it.title), price: str(it.price) };
			});
			renderItems();
			renderDecisions();
		}, function () {
			A.known = [];
			renderItems();
		});
	}

	function refreshPrompts() {
		if (!S.loggedIn || A.missing)
			return Promise.resolve();
		return control('agent_prompts', {}).then(function (d) {
			A.prompts = d;
			A.promptsErr = '';
			renderPrompts();
		}, function (err) {
			if (err.status === 401)
				return;
			if (isMissing(err))
				return setMissing();
			A.promptsErr = t('agent.p.read_error') + errText(err);
			renderPrompts();
		});
	}

	function refreshDecisions() {
		if (!S.loggedIn || A.missing)
			return Promise.resolve();
		return control('agent_decisions', { limit: LIST_LIMIT }).then(function (d) {
			A.decisions = d;
			A.decErr = '';
			renderDecisions();
		}, function (err) {
			if (err.status === 401)
				return;
			if (isMissing(err))
				return setMissing();
			A.decErr = t('agent.d.read_error') + errText(err);
			renderDecisions();
		});
	}

	/* The title of item_id: the agent's answer, else items_list's, else ''. */
	function itemTitle(id, given) {
		var i;

		if (given)
			return given;
		for (i = 0; i < A.known.length; i++)
			if (A.known[i].item_id === id)
				return A.known[i].title;
		return '';
	}

	function itemPrice(id, given) {
		var i;

		if (given)
			return given;
		for (i = 0; i < A.known.length; i++)
			if (A.known[i].item_id === id)
				return A.known[i].price;
		return '';
	}

	function agentItems() {
		return A.settings && Array.isArray(A.settings.items) ? A.settings.items : [];
	}

	/* --------------------------------------------------------------- render */

	function renderFrame() {
		show('agent-missing', A.missing);
		show('agent-main', !A.missing);
	}

	function modeSelect(id, modes, value, label) {
		var s = el('select', { id: id, 'aria-label': label });

		modes.forEach(function (m) {
			s.appendChild(el('option', { value: m, selected: m === value }, t('agent.mode.' + m)));
		});
		return s;
	}

	/* Fills input id with v and remembers it as loaded (what a save compares). */
	function setField(id, v) {
		var e = $(id);

		if (!e)
			return;
		if (e.type === 'checkbox')
			e.checked = !!v;
		else
			e.value = v;
		e.setAttribute('data-loaded', e.type === 'checkbox' ? String(!!v) : e.value);
		e.classList.remove('has-error');
	}

	/* Whether input e differs from what was loaded into it. */
	function changed(e) {
		return e && (e.type === 'checkbox' ? String(e.checked) : e.value) !== e.getAttribute('data-loaded');
	}

	/* One extra-header row (name, value: "****" for a kept one). */
	function headerRow(name, value) {
		var row = el('div', { className: 'agent-header-row' },
			el('input', { type: 'text', className: 'agent-h-name', value: name, autocomplete: 'off', spellcheck: false,
				placeholder: t('agent.s.header_name'), 'aria-label': t('agent.s.header_name') }),
			el('input', { type: 'text', className: 'agent-h-value', value: value, autocomplete: 'off', spellcheck: false,
				placeholder: t('agent.s.header_value'), 'aria-label': t('agent.s.header_value') }),
			el('button', { type: 'button', className: 'small danger' }, t('agent.s.header_remove')));

		row.lastChild.addEventListener('click', function () {
			row.parentNode.removeChild(row);
		});
		return row;
	}

	/* The header rows as [[name, value]]. */
	function headerRows() {
		return Array.prototype.map.call(document.querySelectorAll('#agent-headers .agent-header-row'), function (r) {
			return [r.querySelector('.agent-h-name').value, r.querySelector('.agent-h-value').value];
		});
	}

	function renderHeaders(rows) {
		var box = $('agent-headers');

		clear(box);
		rows.forEach(function (r) { box.appendChild(headerRow(r[0], r[1])); });
		box.setAttribute('data-loaded', JSON.stringify(rows));
	}

	/* The API key's line: masked value and where it comes from, or not set. */
	function renderKey() {
		var s = A.settings || {}, src = str(s.api_key_source);

		$('agent-key-current').textContent = s.api_key_set ? t('agent.s.key_set', { key: str(s.api_key) }) +
			(src === 'page' || src === 'file' ? t('agent.s.key_src.' + src) : '') : t('agent.s.key_unset');
		$('agent-key').value = '';
		$('agent-key-clear').disabled = !(s.api_key_set && src === 'page');
	}

	/* The settings into the form (the key field emptied). */
	function renderSettings() {
		var s = A.settings || {}, used = s.used || {};

		renderFrame();
		show('agent-unconfigured', !s.configured);
		setField('agent-f-enabled', s.enabled !== false);
		setField('agent-f-mode', MODES.indexOf(str(s.mode)) >= 0 ? str(s.mode) : 'default');
		setField('agent-f-base_url', str(s.base_url));
		setField('agent-f-model', str(s.model));
		NUMS.forEach(function (n) {
			setField('agent-f-' + n[0], num(s[n[0]]) === null ? '' : String(s[n[0]]));
		});
		TEXTS.forEach(function (key) { setField('agent-f-' + key, str(s[key])); });
		setField('agent-f-banned', Array.isArray(s.banned) ? s.banned.map(str).join('\n') : '');
		renderHeaders(Object.keys(s.headers && typeof s.headers === 'object' ? s.headers : {}).map(function (h) {
			return [h, str(s.headers[h])];
		}));
		$('agent-used-hour').textContent = num(used.hour) !== null ? t('agent.s.used_hour', { n: used.hour }) : '';
		$('agent-used-day').textContent = num(used.day) !== null ? t('agent.s.used_day', { n: used.day }) : '';
		renderKey();
		renderItems();
	}

	function renderItems() {
		var body = $('agent-items-body'), rows = agentItems();

		if (!body)
			return;
		clear(body);
		rows.forEach(function (it) {
			var id = str(it.item_id), title = itemTitle(id, str(it.title)), price = itemPrice(id, str(it.price));
			var mode = ITEM_MODES.indexOf(str(it.mode)) >= 0 ? str(it.mode) : 'inherit', edit, del;

			edit = el('button', { type: 'button', className: 'small agent-item-edit' }, t('agent.i.edit'));
			del = el('button', { type: 'button', className: 'small danger agent-item-delete' }, t('agent.i.delete'));
			edit.addEventListener('click', function () { openEditor(it); });
			del.addEventListener('click', function () { deleteItem(id, del); });
			body.appendChild(el('tr', { className: 'agent-item-row', 'data-item': id },
				el('td', { className: 'agent-item-cell', 'data-label': t('agent.i.col.item') },
					el('div', { className: 'item-title' }, title || t('agent.i.unknown')),
					el('div', { className: 'muted mono small-text' }, id)),
				el('td', { className: 'num', 'data-label': t('agent.i.col.price') }, price ? '¥' + price : '–'),
				el('td', { 'data-label': t('agent.i.col.mode') },
					el('span', { className: 'badge neutral agent-mode', 'data-mode': mode }, t('agent.mode.' + mode))),
				el('td', { className: 'num agent-floor', 'data-label': t('agent.i.col.floor') }, str(it.floor) || '–'),
				el('td', { className: 'num', 'data-label': t('agent.i.col.steps') },
					num(it.max_steps) === null ? t('agent.i.inherit_steps') : String(it.max_steps)),
				el('td', { className: 'msg agent-notes', 'data-label': t('agent.i.col.notes') }, str(it.notes)),
				el('td', { className: 'actions' }, edit, del)));
		});
		show('agent-items-empty', !rows.length);
		show('agent-items-wrap', !!rows.length);
	}

	function intentName(i) {
		return tOr('agent.p.intent.' + i, i);
	}

	function renderPrompts() {
		var box = $('agent-prompts'), d = A.prompts || {}, list = Array.isArray(d.prompts) ? d.prompts : [];
		var editable = !!d.editable, dir = A.settings ? str(A.settings.prompts_dir) : '';

		if (!box)
			return;
		setError('agent-prompts-error', A.promptsErr);
		show('agent-prompts-readonly', !!A.prompts && !editable);
		$('agent-prompts-dir').textContent = editable && dir ? t('agent.s.prompts_dir', { dir: dir }) : '';
		clear(box);
		list.slice().sort(function (a, b) {
			return INTENTS.indexOf(str(a.intent)) - INTENTS.indexOf(str(b.intent));
		}).forEach(function (p) {
			var intent = str(p.intent), id = 'agent-prompt-' + intent, save, reset, ta;

			ta = el('textarea', { id: id, rows: 5, value: str(p.text), readOnly: !editable, spellcheck: false,
				className: 'agent-prompt-text', 'aria-label': intentName(intent) });
			save = el('button', { type: 'button', className: 'small primary agent-prompt-save', hidden: !editable },
				t('agent.p.save'));
			reset = el('button', { type: 'button', className: 'small agent-prompt-reset', hidden: !editable,
				disabled: !!p.builtin }, t('agent.p.reset'));
			save.addEventListener('click', function () { setPrompt(intent, ta.value, save, false); });
			reset.addEventListener('click', function () { setPrompt(intent, '', reset, true); });
			box.appendChild(el('div', { className: 'agent-prompt', 'data-intent': intent },
				el('div', { className: 'agent-prompt-head' },
					el('label', { htmlFor: id }, intentName(intent)),
					el('span', { className: 'badge ' + (p.builtin ? 'neutral' : 'warn'), 'data-builtin': String(!!p.builtin) },
						p.builtin ? t('agent.p.builtin') : t('agent.p.custom'))),
				ta,
				el('div', { className: 'agent-prompt-buttons' }, save, reset,
					el('span', { id: id + '-result', className: 'saved', role: 'status', hidden: true })),
				el('p', { id: id + '-error', className: 'error', role: 'alert', hidden: true })));
		});
	}

	function verdictOf(d) {
		var v = str(d.verdict);

		return str(d.state) === 'pending' || !v ? 'pending' : v;
	}

	function verdictClass(v) {
		switch (v) {
		case 'model': return 'good';
		case 'floor': return 'good';
		case 'guard': case 'fallback': case 'steps': return 'warn';
		default: return 'neutral';
		}
	}

	/* A turn's reason in words: "below_floor: 58元", "timeout", "http_500",
	 * "error:..." with the page's words for the known kinds; else as given. */
	function reasonText(r) {
		var m;

		if (!r)
			return '';
		if ((m = /^http_(\d+)$/.exec(r)))
			return t('agent.r.http', { status: m[1] });
		if ((m = /^error:\s*(.*)$/.exec(r)))
			return t('agent.r.error', { detail: m[1] });
		if ((m = /^([a-z_]+):\s*(.*)$/.exec(r)))
			return tOr('agent.r.' + m[1], r, { detail: m[2] });
		return tOr('agent.r.' + r, r);
	}

	function renderDecisions() {
		var body = $('agent-dec-body'), d = A.decisions || {}, rows = Array.isArray(d.decisions) ? d.decisions : [];

		if (!body)
			return;
		setError('agent-dec-error', A.decErr);
		clear(body);
		rows.forEach(function (r) {
			var v = verdictOf(r), answer = str(r.answer), sent = str(r.sent), chat = str(r.chat_id), reply, link;
			var item = str(r.item_id), title = itemTitle(item, ''), lowest = str(r.lowest), lat = num(r.latency_ms);

			if (answer && sent && answer !== sent)
				reply = el('div', { className: 'agent-reply' },
					el('div', { className: 'agent-answer' }, el('span', { className: 'muted' }, t('agent.d.answer')), answer),
					el('div', { className: 'agent-sent' }, el('span', { className: 'muted' }, t('agent.d.sent')), sent));
			else
				reply = el('div', { className: 'agent-reply' }, el('div', { className: 'agent-sent' }, sent || answer));
			link = el('button', { type: 'button', className: 'small agent-open-chat', 'data-chat': chat },
				t('agent.d.open_chat'));
			link.addEventListener('click', function () { openChat(chat); });
			body.appendChild(el('tr', { className: 'agent-dec' + (v === 'guard' || v === 'fallback' ? ' problem' : ''),
				'data-id': str(r.id), 'data-verdict': v, 'data-chat': chat },
			el('td', { className: 'nowrap', 'data-label': t('agent.d.col.time') }, fmtTime(num(r.ms))),
			el('td', { className: 'agent-dec-buyer', 'data-label': t('agent.d.col.buyer') },
				str(r.buyer_name) || str(r.buyer_id)),
			el('td', { className: 'agent-dec-item', 'data-label': t('agent.d.col.item') },
				title || (k.itemLabel && item ? k.itemLabel(item) : item)),
			el('td', { className: 'msg', 'data-label': t('agent.d.col.text') }, str(r.text)),
			el('td', { className: 'nowrap', 'data-label': t('agent.d.col.intent') }, r.intent ? intentName(str(r.intent)) : ''),
			el('td', { 'data-label': t('agent.d.col.verdict') },
				el('span', { className: 'badge agent-verdict ' + verdictClass(v), 'data-state': v },
					tOr('agent.v.' + v, v))),
			el('td', { className: 'agent-reason', 'data-label': r.reason ? t('agent.d.col.reason') : '' },
				reasonText(str(r.reason))),
			el('td', { className: 'msg', 'data-label': t('agent.d.col.reply') }, reply),
			el('td', { className: 'num nowrap', 'data-label': lowest ? t('agent.d.col.lowest') : '' },
				lowest ? t('agent.d.yuan', { n: lowest }) : ''),
			el('td', { className: 'num nowrap', 'data-label': lat !== null ? t('agent.d.col.latency') : '' },
				lat === null ? '' : lat < 1000 ? t('agent.d.ms', { n: lat }) : t('agent.d.s', { n: (lat / 1000).toFixed(1) })),
			el('td', { className: 'actions' }, chat ? link : '')));
		});
		show('agent-dec-empty', !rows.length && !A.decErr);
		/* an item the picker's list does not know yet (synced since): read it again, at most every 30 s */
		if (rows.some(function (r) { return str(r.item_id) && !itemTitle(str(r.item_id), ''); }) &&
		    Date.now() - A.knownMs > 30000)
			refreshKnown();
		show('agent-dec-wrap', !!rows.length);
	}

	/* Opens chat id on the 对话 screen and scrolls there. */
	function openChat(id) {
		var sec = $('sec-chats');

		if (k.openChat)
			k.openChat(id);
		if (sec && sec.scrollIntoView)
			sec.scrollIntoView();
	}

	/* ---------------------------------------------------------------- save */

	/* Clears the red marks of the settings' fields. */
	function clearMarks(root) {
		Array.prototype.forEach.call(document.querySelectorAll(root + ' .has-error'), function (e) {
			e.classList.remove('has-error');
			e.removeAttribute('aria-invalid');
		});
	}

	/* The settings key an error message names ("timeout_ms: must be ..."),
	 * '' when none. */
	function errorKey(msg) {
		var i;

		for (i = 0; i < KEYS.length; i++)
			if (new RegExp('(^|[^a-z_])' + KEYS[i] + '([^a-z_]|$)').test(msg))
				return KEYS[i];
		return '';
	}

	/* The number typed in input e: a number, or the text as typed (the server
	 * then names the field). */
	function numberOf(e) {
		var v = e.value.trim(), n = Number(v);

		return v !== '' && isFinite(n) ? n : v;
	}

	/* The form's changes as agent_configure's data. */
	function changes() {
		var d = {}, e, rows, loaded;

		e = $('agent-f-enabled');
		if (changed(e))
			d.enabled = e.checked;
		['mode', 'base_url', 'model'].concat(TEXTS).forEach(function (key) {
			e = $('agent-f-' + key);
			if (changed(e))
				d[key] = key === 'base_url' || key === 'model' ? e.value.trim() : e.value;
		});
		NUMS.forEach(function (n) {
			e = $('agent-f-' + n[0]);
			if (changed(e))
				d[n[0]] = numberOf(e);
		});
		e = $('agent-f-banned');
		if (changed(e))
			d.banned = e.value.split(/\r?\n/).map(function (w) { return w.trim(); }).filter(Boolean);
		rows = headerRows();
		loaded = $('agent-headers').getAttribute('data-loaded');
		if (JSON.stringify(rows) !== loaded) {
			d.headers = {};
			rows.forEach(function (r) {
				if (r[0].trim())
					d.headers[r[0].trim()] = r[1];
			});
		}
		if ($('agent-key').value)
			d.api_key = $('agent-key').value;
		return d;
	}

	/* Sends data to agent_configure; on success shows the new settings and
	 * okText, else the server's error once beside the save button with the
	 * field it names marked. */
	function configure(data, button, okText) {
		show('agent-saved', false);
		setError('agent-save-error', '');
		clearMarks('#agent-settings');
		return busy(button, control('agent_configure', data)).then(function (d) {
			A.settings = d;
			renderSettings();
			$('agent-saved').textContent = okText;
			show('agent-saved', true);
		}, function (err) {
			var key, f;

			if (err.status === 401)
				return;
			if (isMissing(err))
				return setMissing();
			key = errorKey(str(err.message));
			f = key === 'headers' ? $('agent-headers') : key === 'api_key' ? $('agent-key') : $('agent-f-' + key);
			if (f) {
				f.classList.add('has-error');
				f.setAttribute('aria-invalid', 'true');
			}
			setError('agent-save-error', t('agent.s.save_error') + errText(err));
		});
	}

	function onSave() {
		var d = changes();

		if (!Object.keys(d).length) {
			setError('agent-save-error', '');
			$('agent-saved').textContent = t('agent.s.nothing');
			show('agent-saved', true);
			return;
		}
		configure(d, $('agent-save'), t('agent.s.saved'));
	}

	function onKeyClear() {
		configure({ api_key: '' }, $('agent-key-clear'), t('agent.s.key_cleared'));
	}

	/* ---------------------------------------------------------------- items */

	/* Opens the item editor for it (an agent_settings item) or a new one. */
	function openEditor(it) {
		var box = $('agent-item-editor'), pick = $('agent-ie-pick'), have = {};

		A.editing = { item_id: it ? str(it.item_id) : '' };
		setError('agent-ie-error', '');
		show('agent-items-result', false);
		clearMarks('#agent-item-editor');
		agentItems().forEach(function (x) { have[str(x.item_id)] = true; });
		clear(pick);
		if (it) {
			pick.appendChild(el('option', { value: str(it.item_id) },
				(itemTitle(str(it.item_id), str(it.title)) || t('agent.i.unknown')) + ' · ' + str(it.item_id)));
		} else {
			A.known.forEach(function (x) {
				if (!have[x.item_id])
					pick.appendChild(el('option', { value: x.item_id },
						(x.title || x.item_id) + (x.price ? ' · ¥' + x.price : '')));
			});
			pick.appendChild(el('option', { value: '' }, t('agent.i.other')));
		}
		pick.disabled = !!it;
		$('agent-ie-id').value = '';
		onPick();
		$('agent-ie-mode').value = it && ITEM_MODES.indexOf(str(it.mode)) >= 0 ? str(it.mode) : 'inherit';
		$('agent-ie-floor').value = it ? str(it.floor) : '';
		$('agent-ie-steps').value = it && num(it.max_steps) !== null ? String(it.max_steps) : '';
		$('agent-ie-notes').value = it ? str(it.notes) : '';
		show(box, true);
		(it ? $('agent-ie-mode') : pick).focus();
	}

	/* The id field shows when "other" is picked. */
	function onPick() {
		show('agent-ie-id-box', !$('agent-ie-pick').value);
	}

	function closeEditor() {
		A.editing = null;
		show('agent-item-editor', false);
	}

	function itemsResult(text) {
		$('agent-items-result').textContent = text;
		show('agent-items-result', !!text);
	}

	/* Saves the editor's item through agent_configure. */
	function saveItem() {
		var id = $('agent-ie-pick').value || $('agent-ie-id').value.trim(), steps = $('agent-ie-steps');
		var item, key, f;

		setError('agent-ie-error', '');
		clearMarks('#agent-item-editor');
		if (!id) {
			$('agent-ie-id').classList.add('has-error');
			setError('agent-ie-error', t('agent.i.no_id'));
			return;
		}
		item = { item_id: id, mode: $('agent-ie-mode').value, floor: $('agent-ie-floor').value.trim(),
			max_steps: steps.value.trim() === '' ? null : numberOf(steps), notes: $('agent-ie-notes').value };
		busy($('agent-ie-save'), control('agent_configure', { items: [item] })).then(function (d) {
			A.settings = d;
			closeEditor();
			renderSettings();
			itemsResult(t('agent.i.saved'));
		}, function (err) {
			var msg = str(err.message);

			if (err.status === 401)
				return;
			if (isMissing(err))
				return setMissing();
			key = /floor/.test(msg) ? 'floor' : /max_steps|steps/.test(msg) ? 'steps' : /notes/.test(msg) ? 'notes'
				: /mode/.test(msg) ? 'mode' : /item_id/.test(msg) ? 'id' : '';
			if (key && (f = $('agent-ie-' + key)))
				f.classList.add('has-error');
			setError('agent-ie-error', t('agent.i.save_error') + errText(err));
		});
	}

	function deleteItem(id, button) {
		itemsResult('');
		setError('agent-items-error', '');
		busy(button, control('agent_configure', { items: [{ item_id: id, delete: true }] })).then(function (d) {
			A.settings = d;
			if (A.editing && A.editing.item_id === id)
				closeEditor();
			renderSettings();
			itemsResult(t('agent.i.deleted'));
		}, function (err) {
			if (err.status === 401)
				return;
			if (isMissing(err))
				return setMissing();
			setError('agent-items-error', t('agent.i.save_error') + errText(err));
		});
	}

	/* -------------------------------------------------------------- prompts */

	function setPrompt(intent, text, button, reset) {
		var id = 'agent-prompt-' + intent;

		setError(id + '-error', '');
		show(id + '-result', false);
		busy(button, control('agent_prompt_set', { intent: intent, text: text })).then(function (d) {
			var list = A.prompts && Array.isArray(A.prompts.prompts) ? A.prompts.prompts : [];

			list.forEach(function (p) {
				if (str(p.intent) === intent) {
					p.text = str(d.text);
					p.builtin = !!d.builtin;
				}
			});
			renderPrompts();
			$(id + '-result').textContent = reset ? t('agent.p.reset_done') : t('agent.p.saved');
			show(id + '-result', true);
		}, function (err) {
			if (err.status === 401)
				return;
			if (isMissing(err))
				return setMissing();
			setError(id + '-error', t('agent.p.error') + errText(err));
		});
	}

	/* -------------------------------------------------------------- frame */

	/* A labelled field: <label class="field"><span>name</span>input hint</label>. */
	function field(key, input, hint, wide) {
		return el('label', { className: 'field' + (wide ? ' wide' : '') }, el('span', null, t('agent.s.' + key)), input,
			hint || null);
	}

	function numInput(n) {
		return el('input', { id: 'agent-f-' + n[0], type: 'number', min: n[1], max: n[2] === null ? undefined : n[2],
			step: n[3], inputMode: n[3] < 1 ? 'decimal' : 'numeric' });
	}

	/* The screen's elements into #agent-box (again after a language switch). */
	function build() {
		var box = $('agent-box'), nums = {};

		if (!box)
			return;
		NUMS.forEach(function (n) { nums[n[0]] = numInput(n); });
		clear(box);
		box.appendChild(el('div', { id: 'agent-missing', className: 'error-box agent-missing', hidden: true },
			el('strong', null, t('agent.missing')), el('p', null, t('agent.missing_how'))));
		box.appendChild(el('div', { id: 'agent-main' },
			el('p', { className: 'hint' }, t('agent.intro')),
			el('p', { id: 'agent-settings-error', className: 'error', role: 'alert', hidden: true }),
			el('p', { id: 'agent-unconfigured', className: 'warn agent-note', hidden: true }, t('agent.not_configured')),

			el('div', { id: 'agent-settings', className: 'agent-settings' },
				el('h3', null, t('agent.s.title')),
				el('div', { className: 'grid' },
					el('label', { className: 'field check' }, el('input', { id: 'agent-f-enabled', type: 'checkbox' }),
						' ', el('span', null, t('agent.s.enabled'))),
					field('mode', modeSelect('agent-f-mode', MODES, 'default', t('agent.s.mode'))),
					field('base_url', el('input', { id: 'agent-f-base_url', type: 'url', autocomplete: 'off',
						spellcheck: false, placeholder: 'https://api.example.com/v1' }), null, true),
					field('model', el('input', { id: 'agent-f-model', type: 'text', autocomplete: 'off', spellcheck: false })),
					el('div', { className: 'field agent-key-box wide' },
						el('span', null, el('label', { htmlFor: 'agent-key' }, t('agent.s.api_key'))),
						el('div', { id: 'agent-key-current', className: 'mono small-text agent-key-current' }, '…'),
						el('div', { className: 'agent-input-row' },
							el('input', { id: 'agent-key', type: 'password', autocomplete: 'new-password', spellcheck: false,
								placeholder: t('agent.s.key_new') }),
							el('button', { id: 'agent-key-clear', type: 'button', className: 'small danger' },
								t('agent.s.key_clear')))),
					field('timeout_ms', nums.timeout_ms),
					field('max_tokens', nums.max_tokens),
					field('temperature', nums.temperature),
					field('max_steps', nums.max_steps),
					field('per_hour', nums.per_hour, el('span', { id: 'agent-used-hour', className: 'muted small-text' })),
					field('per_day', nums.per_day, el('span', { id: 'agent-used-day', className: 'muted small-text' })),
					field('per_chat', nums.per_chat, el('span', { className: 'muted small-text' }, t('agent.s.limit_hint'))),
					field('max_len', nums.max_len),
					field('history', nums.history),
					field('fallback_text', el('textarea', { id: 'agent-f-fallback_text', rows: 2 }), null, true),
					field('guard_text', el('textarea', { id: 'agent-f-guard_text', rows: 2 }), null, true),
					field('floor_text', el('textarea', { id: 'agent-f-floor_text', rows: 2 }), null, true),
					field('banned', el('textarea', { id: 'agent-f-banned', rows: 4, spellcheck: false }), null, true),
					el('div', { className: 'field wide' },
						el('span', null, t('agent.s.headers')),
						el('p', { className: 'hint' }, t('agent.s.headers_hint')),
						el('div', { id: 'agent-headers', className: 'agent-headers' }),
						el('div', null, el('button', { id: 'agent-header-add', type: 'button', className: 'small' },
							t('agent.s.header_add'))))),
				el('div', { className: 'agent-buttons' },
					el('button', { id: 'agent-save', type: 'button', className: 'primary' }, t('agent.s.save')),
					el('span', { id: 'agent-saved', className: 'saved', role: 'status', hidden: true })),
				el('p', { id: 'agent-save-error', className: 'error', role: 'alert', hidden: true })),

			el('h3', null, t('agent.i.title')),
			el('p', { className: 'hint' }, t('agent.i.hint')),
			el('p', { id: 'agent-items-error', className: 'error', role: 'alert', hidden: true }),
			el('div', { id: 'agent-items-wrap', className: 'table-wrap agent-table-wrap' },
				el('table', { id: 'agent-items-table', className: 'agent-table' },
					el('thead', null, el('tr', null,
						el('th', null, t('agent.i.col.item')), el('th', { className: 'num' }, t('agent.i.col.price')),
						el('th', null, t('agent.i.col.mode')), el('th', { className: 'num' }, t('agent.i.col.floor')),
						el('th', { className: 'num' }, t('agent.i.col.steps')), el('th', null, t('agent.i.col.notes')),
						el('th', null, ''))),
					el('tbody', { id: 'agent-items-body' }))),
			el('p', { id: 'agent-items-empty', className: 'muted', hidden: true }, t('agent.i.empty')),
			el('div', { className: 'agent-buttons' },
				el('button', { id: 'agent-item-add', type: 'button' }, t('agent.i.add')),
				el('span', { id: 'agent-items-result', className: 'saved', role: 'status', hidden: true })),
			el('div', { id: 'agent-item-editor', className: 'agent-item-editor', hidden: true },
				el('div', { className: 'grid' },
					el('label', { className: 'field' }, el('span', null, t('agent.i.pick')), el('select', { id: 'agent-ie-pick' })),
					el('label', { id: 'agent-ie-id-box', className: 'field' }, el('span', null, t('agent.i.id')),
						el('input', { id: 'agent-ie-id', type: 'text', autocomplete: 'off', spellcheck: false })),
					el('label', { className: 'field' }, el('span', null, t('agent.i.col.mode')),
						modeSelect('agent-ie-mode', ITEM_MODES, 'inherit', t('agent.i.col.mode'))),
					el('label', { className: 'field' }, el('span', null, t('agent.i.col.floor')),
						el('input', { id: 'agent-ie-floor', type: 'text', inputMode: 'decimal', autocomplete: 'off',
							placeholder: t('agent.i.floor_hint') })),
					el('label', { className: 'field' }, el('span', null, t('agent.i.col.steps')),
						el('input', { id: 'agent-ie-steps', type: 'number', min: 0, max: 20, step: 1,
							placeholder: t('agent.i.steps_hint') })),
					el('label', { className: 'field wide' }, el('span', null, t('agent.i.col.notes')),
						el('textarea', { id: 'agent-ie-notes', rows: 2 }))),
				el('div', { className: 'agent-buttons' },
					el('button', { id: 'agent-ie-save', type: 'button', className: 'primary' }, t('agent.i.save')),
					el('button', { id: 'agent-ie-cancel', type: 'button' }, t('agent.i.cancel'))),
				el('p', { id: 'agent-ie-error', className: 'error', role: 'alert', hidden: true })),

			el('h3', null, t('agent.p.title')),
			el('p', { className: 'hint' }, t('agent.p.hint')),
			el('p', { id: 'agent-prompts-readonly', className: 'hint agent-note', hidden: true }, t('agent.p.readonly')),
			el('p', { id: 'agent-prompts-dir', className: 'muted small-text mono' }),
			el('p', { id: 'agent-prompts-error', className: 'error', role: 'alert', hidden: true }),
			el('div', { id: 'agent-prompts', className: 'agent-prompts' }),

			el('div', { id: 'agent-decisions', className: 'agent-decisions' },
			el('h3', null, t('agent.d.title')),
			el('p', { id: 'agent-dec-error', className: 'error', role: 'alert', hidden: true }),
			el('div', { id: 'agent-dec-wrap', className: 'table-wrap agent-table-wrap' },
				el('table', { id: 'agent-dec-table', className: 'agent-table agent-dec-table' },
					el('thead', null, el('tr', null,
						el('th', null, t('agent.d.col.time')), el('th', null, t('agent.d.col.buyer')),
						el('th', null, t('agent.d.col.item')), el('th', null, t('agent.d.col.text')),
						el('th', null, t('agent.d.col.intent')), el('th', null, t('agent.d.col.verdict')),
						el('th', null, t('agent.d.col.reason')), el('th', null, t('agent.d.col.reply')),
						el('th', { className: 'num' }, t('agent.d.col.lowest')),
						el('th', { className: 'num' }, t('agent.d.col.latency')), el('th', null, ''))),
					el('tbody', { id: 'agent-dec-body' }))),
			el('p', { id: 'agent-dec-empty', className: 'muted', hidden: true }, t('agent.d.empty')))));

		$('agent-save').addEventListener('click', onSave);
		$('agent-key-clear').addEventListener('click', onKeyClear);
		$('agent-header-add').addEventListener('click', function () {
			$('agent-headers').appendChild(headerRow('', ''));
		});
		$('agent-item-add').addEventListener('click', function () { openEditor(null); });
		$('agent-ie-pick').addEventListener('change', onPick);
		$('agent-ie-save').addEventListener('click', saveItem);
		$('agent-ie-cancel').addEventListener('click', closeEditor);
		renderFrame();
		if (A.settings)
			renderSettings();
		if (A.prompts || A.promptsErr)
			renderPrompts();
		if (A.decisions || A.decErr)
			renderDecisions();
	}

	/* What the seller typed in the screen's fields, by id (kept across a
	 * language switch), with the header rows and the open editor. */
	function draft() {
		var d = { values: {}, headers: $('agent-headers') ? headerRows() : null, editing: A.editing };

		Array.prototype.forEach.call(document.querySelectorAll('#agent-box input[id], #agent-box textarea[id], ' +
			'#agent-box select[id]'), function (e) {
			d.values[e.id] = e.type === 'checkbox' ? e.checked : e.value;
		});
		return d;
	}

	function restore(d) {
		var loaded = $('agent-headers') && $('agent-headers').getAttribute('data-loaded');

		if (d.editing) {
			openEditor(agentItems().filter(function (x) { return str(x.item_id) === d.editing.item_id; })[0] || null);
			show('agent-ie-id-box', !d.values['agent-ie-pick']);
		}
		if (d.headers && $('agent-headers')) {
			renderHeaders(d.headers);
			if (loaded !== null)
				$('agent-headers').setAttribute('data-loaded', loaded);
		}
		Object.keys(d.values).forEach(function (id) {
			var e = $(id);

			if (!e || e.readOnly)
				return;
			if (e.type === 'checkbox')
				e.checked = d.values[id];
			else if (e.tagName !== 'SELECT' || Array.prototype.some.call(e.options, function (o) {
				return o.value === d.values[id];
			}))
				e.value = d.values[id];
		});
	}

	/* ---------------------------------------------------------------- hooks */

	/* A live event: agent.decided reads the decisions again (soon); items.*
	 * the items for the picker. */
	function onEvent(j) {
		if (!A.running || A.missing || !j || j.kind !== 'plugin')
			return;
		if (/^items\./.test(str(j.topic)) && A.settings && !A.soonItems)
			A.soonItems = setTimeout(function () {
				A.soonItems = null;
				refreshKnown();
			}, 1000);
		if (!/^agent\./.test(str(j.topic)))
			return;
		if (!A.soon)
			A.soon = setTimeout(function () {
				A.soon = null;
				refreshDecisions();
			}, 300);
	}

	function start() {
		stop();
		A.running = true;
		refresh();
		/* the decisions again while the screen is in view (and the tab shown) */
		A.timers.push(setInterval(function () {
			if (A.inView && !document.hidden && !A.missing && A.settings)
				refreshDecisions();
		}, LIST_MS));
	}

	function stop() {
		A.running = false;
		A.timers.forEach(clearInterval);
		A.timers = [];
		clearTimeout(A.soon);
		clearTimeout(A.soonItems);
		A.soon = A.soonItems = null;
		A.seq++;
	}

	function wire() {
		build();
		/* what the seller typed survives a language switch */
		k.wireScreen(A, 'sec-agent', 'agent-refresh',
			{ refresh: refresh, build: build, save: draft, restore: restore });
	}

	return { wire: wire, start: start, stop: stop, refresh: refresh, onEvent: onEvent, t: t, strings: STR,
		verdicts: VERDICTS };
};
