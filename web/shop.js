/* SPDX-License-Identifier: MIT */
/*
 * web/shop.js - the shop screens of the account's page: the items (items_list,
 * items_refresh, the polish chore), the cards and delivery rules, the buyer
 * notices and the rating chore (all in the rules document), and the stock of
 * each stock card (stock_list, stock_codes, stock_reveal, stock_delete,
 * stock_export; the import form of the stock section gets a file picker).
 * web/API.md has the commands.
 *
 * app.js makes it with its state and helpers (window.skShop(k)) and calls
 * what it returns. The rules document is S.doc, shared with the keyword rules
 * editor (web/rules.js): both edit it in place, both save it whole through
 * k.rules.save (PUT /api/rules), one dirty flag; a key is written only when
 * the seller changes it (a file that never had "notices" keeps none).
 * Strings go through t() of web/i18n.js (zh first). Like app.js: what comes
 * from the server reaches the page through textContent or properties only.
 *
 * k.itemRef(id[, node]) / k.itemLabel(id) are the shared item lookup: a span
 * showing the item's title (itemLabel: title and id) that is filled again
 * whenever the items are read, falling back to the id when it is unknown.
 */
'use strict';

window.skI18n.add('zh', {
	'shop.nav.items': '商品',
	'shop.nav.cards': '卡券与发货',
	'shop.items.title': '商品',
	'shop.items.hint': '从闲鱼同步的商品（启动时、每隔几小时、以及点击“从平台刷新”时）。勾选“擦亮”的商品每天擦亮一次。',
	'shop.items.refresh': '从平台刷新',
	'shop.items.refreshing': '正在从平台刷新…',
	'shop.items.synced': '同步于 {when}',
	'shop.items.never': '尚未同步',
	'shop.items.last_error': '上次刷新失败：{error}',
	'shop.items.search': '搜索商品（标题或编号）',
	'shop.items.empty': '还没有商品。点击“从平台刷新”。',
	'shop.items.none_match': '没有匹配的商品。',
	'shop.items.read_error': '无法读取商品：{error}',
	'shop.items.col.pic': '图片',
	'shop.items.col.item': '商品',
	'shop.items.col.price': '价格',
	'shop.items.col.stock': '库存',
	'shop.items.col.specs': '规格',
	'shop.items.col.status': '状态',
	'shop.items.col.polish': '擦亮',
	'shop.items.gone': '已不在列表中',
	'shop.items.no_pic': '无图',
	'shop.items.polished': '{day} 已擦亮',
	'shop.items.polish_item': '每天擦亮',
	'shop.items.polish_enabled': '启用每日擦亮',
	'shop.items.polish_hour': '擦亮时间（点）',
	'shop.items.polish_hint': '擦亮所选商品，每天一次，在这个小时之后。',
	'shop.items.count': '{n} 个商品',
	'shop.price': '¥{price}',
	'shop.save.save': '保存规则',
	'shop.save.discard': '放弃修改',
	'shop.save.dirty': '有未保存的修改',
	'shop.save.saved': '已于 {when} 保存，新规则已生效。',
	'shop.save.hint': '保存的是整个规则文件（包括关键词回复的修改）。',
	'shop.save.failed': '规则未保存：',
	'shop.cards.title': '卡券与发货规则',
	'shop.cards.hint': '买家付款后，发货规则为订单的商品和规格选择一张卡券；卡券决定发送的内容。',
	'shop.cards.cards': '卡券',
	'shop.cards.vars': '可用变量：',
	'shop.cards.vars_code': '（仅库存卡密）',
	'shop.cards.empty': '还没有卡券。',
	'shop.cards.add_stock': '+ 库存卡密',
	'shop.cards.add_text': '+ 固定文本',
	'shop.cards.add_image': '+ 图片',
	'shop.cards.type.stock': '库存卡密',
	'shop.cards.type.text': '固定文本',
	'shop.cards.type.image': '图片',
	'shop.cards.name': '名称',
	'shop.cards.type': '类型',
	'shop.cards.template': '发送内容',
	'shop.cards.template_stock_ph': '您的卡密：{code}',
	'shop.cards.delay': '延迟（秒）',
	'shop.cards.low': '库存低于此数时提醒',
	'shop.cards.url': '图片地址',
	'shop.cards.width': '宽',
	'shop.cards.height': '高',
	'shop.cards.ad_on': '使用自己的发货后提示',
	'shop.cards.ad_hint': '代替下方“发货后”的买家提示；只有该提示启用时才发送。',
	'shop.cards.ad_text': '发货后提示文字',
	'shop.cards.ad_image': '发货后提示图片地址',
	'shop.cards.rename_hint': '库存卡密的码按名称保存：改名后原来的码不会跟过来。',
	'shop.cards.used_by': '卡券“{name}”被 {n} 条发货规则使用，一并删除这些规则吗？',
	'shop.cards.delete_confirm': '删除卡券“{name}”？',
	'shop.delivery.title': '发货规则',
	'shop.delivery.hint': '每个商品（及规格）一条规则；同一商品的规格不能重叠，否则保存时会被拒绝。',
	'shop.delivery.empty': '还没有发货规则。',
	'shop.delivery.add': '+ 添加发货规则',
	'shop.delivery.rule': '发货规则 #{n}',
	'shop.delivery.search': '搜索商品',
	'shop.delivery.item': '商品',
	'shop.delivery.choose_item': '（选择商品）',
	'shop.delivery.other_id': '其他编号…',
	'shop.delivery.item_id': '商品编号',
	'shop.delivery.unknown_item': '{id}（不在商品列表中）',
	'shop.delivery.spec': '规格',
	'shop.delivery.no_spec': '无规格',
	'shop.delivery.unknown_spec': '{spec}（不在该商品的规格中）',
	'shop.delivery.spec_ph': '无规格',
	'shop.delivery.card': '卡券',
	'shop.delivery.choose_card': '（选择卡券）',
	'shop.delivery.unknown_card': '{card}（没有这张卡券）',
	'shop.delivery.quantity': '每件发送数量',
	'shop.delivery.delay': '延迟（秒，空 = 卡券的）',
	'shop.notices.title': '买家提示',
	'shop.notices.hint': '每个订单每种提示最多发送一次。留空则使用默认内容。可用变量：{order_id} {buyer_name} {item_id} {spec} {quantity} {item_title}',
	'shop.notices.waiting_stock': '等待补货时',
	'shop.notices.cannot_deliver': '无法自动发货时',
	'shop.notices.after_delivery': '发货后（如何兑换）',
	'shop.notices.text': '内容',
	'shop.notices.image': '图片地址（可选）',
	'shop.chores.rate_title': '自动评价',
	'shop.chores.rate_hint': '交易完成后用这段文字给买家好评。',
	'shop.chores.rate_enabled': '交易完成后自动评价买家',
	'shop.chores.rate_text': '评价内容',
	'shop.chores.default_rate': '不错的买家，欢迎再来',
	'shop.stock.title': '卡密管理',
	'shop.stock.card': '库存卡券',
	'shop.stock.none': '没有库存卡密类型的卡券。',
	'shop.stock.counts': '可用 {free} · 已预留 {reserved} · 已使用 {used}',
	'shop.stock.low': '低库存提醒阈值',
	'shop.stock.low_save': '保存阈值',
	'shop.stock.state': '显示',
	'shop.stock.state.free': '未使用',
	'shop.stock.state.reserved': '已预留',
	'shop.stock.state.used': '已使用',
	'shop.stock.state.all': '全部',
	'shop.stock.col.code': '卡密',
	'shop.stock.col.state': '状态',
	'shop.stock.col.order': '订单',
	'shop.stock.col.added': '添加时间',
	'shop.stock.reveal': '显示',
	'shop.stock.hide': '隐藏',
	'shop.stock.empty': '没有卡密。',
	'shop.stock.page': '{from}–{to} / 共 {total}',
	'shop.stock.prev': '上一页',
	'shop.stock.next': '下一页',
	'shop.stock.select_all': '全选本页未使用的卡密',
	'shop.stock.delete': '删除所选',
	'shop.stock.delete_confirm': '从“{card}”删除 {n} 个未使用的卡密？此操作不能撤销。',
	'shop.stock.deleted': '已删除 {deleted} 个，{refused} 个未删除（已不是未使用）。',
	'shop.stock.export': '导出未使用的卡密',
	'shop.stock.exported': '已导出 {n} 个未使用的卡密（{file}）。',
	'shop.stock.export_copy': '导出的卡密（可复制）',
	'shop.stock.error': '操作失败：{error}',
	'shop.stock.file': '从文件读取（.txt，每行一个）',
	'shop.stock.file_read': '已读取 {name}：{n} 行。',
	'shop.stock.file_error': '无法读取文件：{error}'
});

window.skI18n.add('en', {
	'shop.nav.items': 'Items',
	'shop.nav.cards': 'Cards & delivery',
	'shop.items.title': 'Items',
	'shop.items.hint': 'The items synced from Xianyu (at start, every few hours and on "Refresh from the platform"). Items ticked "polish" are polished once a day.',
	'shop.items.refresh': 'Refresh from the platform',
	'shop.items.refreshing': 'Refreshing from the platform…',
	'shop.items.synced': 'synced {when}',
	'shop.items.never': 'not synced yet',
	'shop.items.last_error': 'the last refresh failed: {error}',
	'shop.items.search': 'Search items (title or id)',
	'shop.items.empty': 'No items yet. Press "Refresh from the platform".',
	'shop.items.none_match': 'No item matches.',
	'shop.items.read_error': 'Could not read the items: {error}',
	'shop.items.col.pic': 'Picture',
	'shop.items.col.item': 'Item',
	'shop.items.col.price': 'Price',
	'shop.items.col.stock': 'Stock',
	'shop.items.col.specs': 'Specs',
	'shop.items.col.status': 'Status',
	'shop.items.col.polish': 'Polish',
	'shop.items.gone': 'no longer listed',
	'shop.items.no_pic': 'no picture',
	'shop.items.polished': 'polished {day}',
	'shop.items.polish_item': 'polish daily',
	'shop.items.polish_enabled': 'Daily polish on',
	'shop.items.polish_hour': 'Polish at (hour)',
	'shop.items.polish_hint': 'Polishes the ticked items once a day, after this hour.',
	'shop.items.count': '{n} items',
	'shop.save.save': 'Save rules',
	'shop.save.discard': 'Discard changes',
	'shop.save.dirty': 'Unsaved changes',
	'shop.save.saved': 'Saved at {when} – the new rules are in force.',
	'shop.save.hint': 'Saves the whole rules file (the keyword rules\' changes too).',
	'shop.save.failed': 'The rules were not saved: ',
	'shop.cards.title': 'Cards & delivery rules',
	'shop.cards.hint': 'When a buyer pays, the delivery rule of the order\'s item and spec picks a card; the card says what is sent.',
	'shop.cards.cards': 'Cards',
	'shop.cards.vars': 'Variables:',
	'shop.cards.vars_code': '(stock cards only)',
	'shop.cards.empty': 'No cards yet.',
	'shop.cards.add_stock': '+ Stock codes',
	'shop.cards.add_text': '+ Text',
	'shop.cards.add_image': '+ Image',
	'shop.cards.type.stock': 'stock codes',
	'shop.cards.type.text': 'text',
	'shop.cards.type.image': 'image',
	'shop.cards.name': 'Name',
	'shop.cards.type': 'Type',
	'shop.cards.template': 'Message',
	'shop.cards.template_stock_ph': 'Your code: {code}',
	'shop.cards.delay': 'Delay (s)',
	'shop.cards.low': 'Warn below (codes)',
	'shop.cards.url': 'Image URL',
	'shop.cards.width': 'Width',
	'shop.cards.height': 'Height',
	'shop.cards.ad_on': 'own after-delivery notice',
	'shop.cards.ad_hint': 'Replaces the "after delivery" buyer notice below; sent only while that notice is enabled.',
	'shop.cards.ad_text': 'After-delivery text',
	'shop.cards.ad_image': 'After-delivery image URL',
	'shop.cards.rename_hint': 'A stock card\'s codes are kept by its name: renamed, its codes stay with the old name.',
	'shop.cards.used_by': 'Card "{name}" is used by {n} delivery rules. Delete those rules too?',
	'shop.cards.delete_confirm': 'Delete card "{name}"?',
	'shop.delivery.title': 'Delivery rules',
	'shop.delivery.hint': 'One rule per item (and spec); specs of one item must not overlap, or the save is refused.',
	'shop.delivery.empty': 'No delivery rules yet.',
	'shop.delivery.add': '+ Add a delivery rule',
	'shop.delivery.rule': 'Delivery rule #{n}',
	'shop.delivery.search': 'Search items',
	'shop.delivery.item': 'Item',
	'shop.delivery.choose_item': '(choose an item)',
	'shop.delivery.other_id': 'another id…',
	'shop.delivery.item_id': 'Item id',
	'shop.delivery.unknown_item': '{id} (not in the item list)',
	'shop.delivery.spec': 'Spec',
	'shop.delivery.no_spec': 'no spec',
	'shop.delivery.unknown_spec': '{spec} (not a spec of this item)',
	'shop.delivery.spec_ph': 'no spec',
	'shop.delivery.card': 'Card',
	'shop.delivery.choose_card': '(choose a card)',
	'shop.delivery.unknown_card': '{card} (no such card)',
	'shop.delivery.quantity': 'Codes per item bought',
	'shop.delivery.delay': 'Delay (s, empty = the card\'s)',
	'shop.notices.title': 'Buyer notices',
	'shop.notices.hint': 'Each notice is sent at most once per order; empty: the default text. Variables: {order_id} {buyer_name} {item_id} {spec} {quantity} {item_title}',
	'shop.notices.waiting_stock': 'While waiting for stock',
	'shop.notices.cannot_deliver': 'When it cannot be delivered automatically',
	'shop.notices.after_delivery': 'After delivery (how to redeem)',
	'shop.notices.text': 'Text',
	'shop.notices.image': 'Image URL (optional)',
	'shop.chores.rate_title': 'Rating',
	'shop.chores.rate_hint': 'Rates the buyer with this text after a completed trade.',
	'shop.chores.rate_enabled': 'rate the buyer after a completed trade',
	'shop.chores.rate_text': 'Rating text',
	'shop.stock.title': 'Codes',
	'shop.stock.card': 'Stock card',
	'shop.stock.none': 'No card of type stock.',
	'shop.stock.counts': '{free} free · {reserved} reserved · {used} used',
	'shop.stock.low': 'Low-stock warning below',
	'shop.stock.low_save': 'Save threshold',
	'shop.stock.state': 'Show',
	'shop.stock.state.free': 'unused',
	'shop.stock.state.reserved': 'reserved',
	'shop.stock.state.used': 'used',
	'shop.stock.state.all': 'all',
	'shop.stock.col.code': 'Code',
	'shop.stock.col.state': 'State',
	'shop.stock.col.order': 'Order',
	'shop.stock.col.added': 'Added',
	'shop.stock.reveal': 'Reveal',
	'shop.stock.hide': 'Hide',
	'shop.stock.empty': 'No codes.',
	'shop.stock.page': '{from}–{to} of {total}',
	'shop.stock.prev': 'Previous',
	'shop.stock.next': 'Next',
	'shop.stock.select_all': 'Select this page\'s unused codes',
	'shop.stock.delete': 'Delete selected',
	'shop.stock.delete_confirm': 'Delete {n} unused codes of "{card}"? This cannot be undone.',
	'shop.stock.deleted': '{deleted} deleted, {refused} not (no longer unused).',
	'shop.stock.export': 'Export unused codes',
	'shop.stock.exported': '{n} unused codes exported ({file}).',
	'shop.stock.export_copy': 'The exported codes (to copy)',
	'shop.stock.error': 'Failed: {error}',
	'shop.stock.file': 'Read from a file (.txt, one a line)',
	'shop.stock.file_read': 'Read {name}: {n} lines.',
	'shop.stock.file_error': 'Could not read the file: {error}'
});

window.skShop = function (k) {
	var S = k.S, $ = k.$, busy = k.busy, clear = k.clear, control = k.control, el = k.el, errText = k.errText,
		fmtTime = k.fmtTime, num = k.num, rules = k.rules, setError = k.setError, show = k.show, str = k.str;
	var I18N = window.skI18n, t = I18N.t;

	var ITEMS_LIMIT = 500, POLL_MS = 1500, POLL_MAX = 200, CODES_PAGE = 50;
	var NOTICE_KINDS = ['waiting_stock', 'cannot_deliver', 'after_delivery'];
	var NOTICE_DEFAULT_ON = { waiting_stock: true, cannot_deliver: true, after_delivery: false };
	var VARS = ['{order_id}', '{buyer_name}', '{item_id}', '{spec}', '{quantity}'];
	/* what an absent notice sends (plugins/orders/orders_rules.c): the placeholders */
	var NOTICE_TEXTS = { waiting_stock: '库存补充中，补货后自动发货，请稍候～', cannot_deliver: '这个订单需要人工处理，卖家会尽快联系您。' };

	var H = {
		items: [],
		byId: {},
		itemsRead: false,
		refreshing: false,
		syncedMs: 0,
		lastError: '',
		polls: 0,
		pollTimer: null,
		stockCards: [],       /* stock_list's cards */
		card: '',             /* the stock card shown */
		state: 'free',
		offset: 0,
		total: 0,
		codes: [],
		revealed: {},         /* code id -> the code, while shown */
		picked: {},           /* code id -> true: selected for delete */
		saveFrom: '',         /* the section whose save button was pressed last */
		other: new WeakSet()  /* delivery rules whose item id is typed ("another id…") */
	};

	/* ------------------------------------------------------------- helpers */

	function field(label, input, cls) {
		return el('label', { className: 'field' + (cls ? ' ' + cls : '') }, el('span', null, label), input);
	}

	function isObj(v) {
		return !!v && typeof v === 'object' && !Array.isArray(v);
	}

	/* doc[key] as an object, made (and put into the document) when missing. */
	function objOf(parent, key) {
		if (!isObj(parent[key]))
			parent[key] = {};
		return parent[key];
	}

	function listOf(key) {
		if (!Array.isArray(S.doc[key]))
			S.doc[key] = [];
		return S.doc[key];
	}

	function dirty() {
		rules.setDirty(true);
	}

	/* A whole-number input: "" removes obj[key], digits set a number, anything
	 * else is kept as typed so that the validator names it. */
	function intInput(id, obj, key, attrs) {
		var a = attrs || {}, i;

		a.id = id;
		a.type = 'text';
		a.inputMode = 'numeric';
		a.spellcheck = false;
		i = el('input', a);
		i.value = obj[key] === undefined || obj[key] === null ? '' : str(obj[key]);
		i.addEventListener('input', function () {
			var v = i.value.trim();

			if (v === '')
				delete obj[key];
			else
				obj[key] = /^-?\d+$/.test(v) ? parseInt(v, 10) : v;
			dirty();
		});
		return i;
	}

	/* A text input or textarea (attrs.rows) writing obj[key]; nullable: ""
	 * is null. */
	function textInput(id, obj, key, nullable, attrs) {
		var a = attrs || {}, tag = a.rows ? 'textarea' : 'input', i;

		a.id = id;
		if (tag === 'input' && !a.type)
			a.type = 'text';
		i = el(tag, a);
		i.value = str(obj[key]);
		i.addEventListener('input', function () {
			obj[key] = nullable && i.value.trim() === '' ? null : i.value;
			dirty();
		});
		return i;
	}

	/* A text input writing obj[key], removed when empty (fields whose
	 * absence means "the default" and that refuse ""). */
	function optInput(id, obj, key, attrs) {
		var i = textInput(id, obj, key, false, attrs);

		i.addEventListener('input', function () {
			if (i.value.trim() === '')
				delete obj[key];
		});
		return i;
	}

	function checkbox(id, checked, onChange) {
		var c = el('input', { id: id, type: 'checkbox' });

		c.checked = !!checked;
		c.addEventListener('change', function () { onChange(c.checked); });
		return c;
	}

	function fmtPrice(p) {
		var s = str(p);

		return s === '' ? '–' : t('shop.price', { price: s });
	}

	function qtyText(q) {
		return num(q) === null ? '–' : String(q);
	}

	/* ------------------------------------------------------ the item lookup */

	function itemOf(id) {
		id = str(id);
		return id && Object.prototype.hasOwnProperty.call(H.byId, id) ? H.byId[id] : null;
	}

	/* The item's title, or its id when unknown (or "" for no id). */
	function itemTitle(id) {
		var it = itemOf(id);

		return it && str(it.title) ? str(it.title) : str(id);
	}

	/* Fills a data-item-ref span: mode "title" shows the title only (empty when
	 * unknown: beside an id input), "label" the title and the id. */
	function fillRef(node) {
		var id = node.getAttribute('data-item-ref') || '', it = itemOf(id), mode = node.getAttribute('data-item-mode');

		clear(node);
		node.title = id;
		if (mode === 'title') {
			node.textContent = it ? str(it.title) : '';
			return;
		}
		if (it && str(it.title)) {
			node.appendChild(el('span', { className: 'item-title' }, str(it.title)));
			node.appendChild(el('span', { className: 'muted mono item-id' }, ' ' + id));
		} else {
			node.appendChild(el('span', { className: 'mono' }, id));
		}
	}

	/* A span with the title of item id beside an input; node: the span to
	 * point at another id. */
	function itemRef(id, node) {
		node = node || el('span', { className: 'item-ref muted', 'data-item-mode': 'title' });
		node.setAttribute('data-item-ref', str(id).trim());
		fillRef(node);
		return node;
	}

	/* A span with the title and the id of item id (the id alone when unknown). */
	function itemLabel(id) {
		var node = el('span', { className: 'item-ref', 'data-item-mode': 'label', 'data-item-ref': str(id) });

		fillRef(node);
		return node;
	}

	function fillAllRefs() {
		Array.prototype.forEach.call(document.querySelectorAll('[data-item-ref]'), fillRef);
		fillItemChoices();
	}

	/* The <datalist id="item-choices"> behind every item id input (the
	 * keyword rules, the item defaults): the seller picks an item by its
	 * title, the input gets its id. */
	function fillItemChoices() {
		var dl = $('item-choices');

		if (!dl) {
			dl = el('datalist', { id: 'item-choices' });
			document.body.appendChild(dl);
		}
		clear(dl);
		(H.items || []).forEach(function (it) {
			if (it.gone !== true)
				dl.appendChild(el('option', { value: str(it.item_id), label: str(it.title) }));
		});
	}

	/* ------------------------------------------------------------ save bars */

	/* The save bar of a section that edits the rules document: prefix-save,
	 * -discard, -dirty, -saved and the error box -errors-box / -errors. */
	function saveBar(prefix) {
		var save = el('button', { type: 'button', id: prefix + '-save', className: 'primary', disabled: true },
			t('shop.save.save'));
		var discard = el('button', { type: 'button', id: prefix + '-discard', disabled: true }, t('shop.save.discard'));

		save.addEventListener('click', function () {
			H.saveFrom = prefix;
			rules.onRulesSave(save);
		});
		discard.addEventListener('click', function () {
			S.dirty = false;
			rules.loadRules();
		});
		return el('div', { className: 'shop-save' },
			el('div', { className: 'save-bar' }, save, discard,
				el('span', { id: prefix + '-dirty', className: 'dirty', hidden: !S.dirty }, t('shop.save.dirty')),
				el('span', { id: prefix + '-saved', className: 'saved', role: 'status', hidden: true }),
				el('span', { className: 'muted small-text' }, t('shop.save.hint'))),
			el('div', { id: prefix + '-errors-box', className: 'error-box', role: 'alert', hidden: true },
				el('strong', { id: prefix + '-errors-title' }), el('ul', { id: prefix + '-errors', className: 'error-list' })));
	}

	var BARS = ['items', 'cards'];

	function syncBars() {
		BARS.forEach(function (p) {
			if (!$(p + '-save'))
				return;
			$(p + '-save').disabled = !S.rulesLoaded;
			$(p + '-discard').disabled = !S.dirty;
			show(p + '-dirty', !!S.dirty);
			if (S.dirty)
				show(p + '-saved', false);
		});
	}

	function clearErrors() {
		BARS.forEach(function (p) {
			show(p + '-errors-box', false);
		});
		Array.prototype.forEach.call(document.querySelectorAll('.shop .error-list.at'), function (l) {
			clear(l);
			l.hidden = true;
		});
		Array.prototype.forEach.call(document.querySelectorAll('.shop .has-error'), function (n) {
			n.classList.remove('has-error');
		});
	}

	/* Where an error line of the validators points in these screens: the
	 * block (and its error list) and the input of the field it names. */
	function errorTarget(line) {
		var m = /(?:^|: )(cards|delivery)\[(\d+)\](?:\.(\w+))?/.exec(line), p, f, map;

		if (m) {
			p = (m[1] === 'cards' ? 'card-' : 'delivery-') + m[2];
			map = { template: 'template', name: 'name', type: 'type', url: 'url', width: 'width', height: 'height',
				delay_s: 'delay', low_stock: 'low', after_delivery: 'ad-text', item_id: 'item', spec: 'spec',
				card: 'card', quantity: 'quantity' };
			f = m[3] && map[m[3]] ? $(p + '-' + map[m[3]]) : null;
			return { block: $(p), list: $(p + '-errors'), input: f };
		}
		m = /(?:^|: )notices(?:\.(\w+))?/.exec(line);
		if (m)
			return { block: $('notices-box'), list: $('notices-errors'), input: m[1] ? $('notice-' + m[1] + '-text') : null };
		m = /(?:^|: )chores(?:\.(\w+))?/.exec(line);
		if (m && m[1] === 'polish')
			return { block: $('polish-box'), list: $('polish-errors'), input: null };
		if (m)
			return { block: $('rate-box'), list: $('rate-errors'), input: null };
		return null;
	}

	/* The validators' refusal: every line in the pressed section's box, each
	 * also beside the block and field it names; scrolls to the first. */
	function showErrors(title, lines) {
		var first = null, box = H.saveFrom || 'cards';

		clearErrors();
		if (!$(box + '-errors-box'))
			return;
		clear($(box + '-errors'));
		$(box + '-errors-title').textContent = t('shop.save.failed') + title;
		lines.forEach(function (line) {
			var to = errorTarget(line);

			$(box + '-errors').appendChild(el('li', null, line));
			if (!to)
				return;
			if (to.list) {
				to.list.appendChild(el('li', null, line));
				to.list.hidden = false;
			}
			if (to.block)
				to.block.classList.add('has-error');
			if (to.input)
				to.input.classList.add('has-error');
			if (!first)
				first = to.block;
		});
		show(box + '-errors-box', true);
		(first || $(box + '-errors-box')).scrollIntoView({ block: 'center' });
	}

	function onRulesEvent(what, arg) {
		if (what === 'dirty') {
			syncBars();
		} else if (what === 'loaded') {
			clearErrors();
			renderAll();
		} else if (what === 'saved') {
			clearErrors();
			syncBars();
			if ($(H.saveFrom + '-saved')) {
				$(H.saveFrom + '-saved').textContent = t('shop.save.saved', { when: fmtTime(Date.now()) });
				show(H.saveFrom + '-saved', true);
			}
			refreshStockList();
		} else if (what === 'errors') {
			if (H.saveFrom)
				showErrors(str(arg && arg.title), arg && Array.isArray(arg.lines) ? arg.lines : []);
		}
		if (what !== 'errors' && what !== 'dirty')
			H.saveFrom = '';
	}

	/* ------------------------------------------------------------ the items */

	function polish() {
		var c = isObj(S.doc && S.doc.chores) ? S.doc.chores : {};

		return isObj(c.polish) ? c.polish : {};
	}

	/* chores.polish, made when the seller changes one of its settings. */
	function polishEdit() {
		var p = objOf(objOf(S.doc, 'chores'), 'polish');

		if (!Array.isArray(p.items))
			p.items = [];
		if (p.enabled === undefined)
			p.enabled = false;
		return p;
	}

	function polished(id) {
		var items = polish().items;

		return Array.isArray(items) && items.map(str).indexOf(str(id)) >= 0;
	}

	function renderPolishSettings() {
		var box = $('polish-box'), p = polish(), hour, i;

		if (!box)
			return;
		clear(box);
		if (!S.doc)
			return;
		hour = el('select', { id: 'polish-hour' });
		for (i = 0; i < 24; i++)
			hour.appendChild(el('option', { value: String(i) }, (i < 10 ? '0' : '') + i + ':00'));
		if (num(p.hour) === null || p.hour < 0 || p.hour > 23 || Math.floor(p.hour) !== p.hour) {
			if (p.hour !== undefined && p.hour !== null)
				hour.appendChild(el('option', { value: str(p.hour) }, str(p.hour)));
			hour.value = p.hour !== undefined && p.hour !== null ? str(p.hour) : '9';
		} else {
			hour.value = String(p.hour);
		}
		hour.addEventListener('change', function () {
			polishEdit().hour = /^\d+$/.test(hour.value) ? parseInt(hour.value, 10) : hour.value;
			dirty();
		});
		box.appendChild(el('ul', { id: 'polish-errors', className: 'error-list at', hidden: true }));
		box.appendChild(el('div', { className: 'shop-inline' },
			el('label', { className: 'check' }, checkbox('polish-enabled', p.enabled === true, function (on) {
				polishEdit().enabled = on;
				dirty();
			}), t('shop.items.polish_enabled')),
			el('label', { className: 'inline' }, t('shop.items.polish_hour'), hour),
			el('span', { className: 'muted small-text' }, t('shop.items.polish_hint'))));
	}

	function setPolished(id, on) {
		var p = polishEdit(), i = p.items.map(str).indexOf(str(id));

		if (on && i < 0)
			p.items.push(str(id));
		else if (!on && i >= 0)
			p.items.splice(i, 1);
		dirty();
	}

	function specsOf(it) {
		return Array.isArray(it.skus) ? it.skus.filter(isObj) : [];
	}

	function itemMatches(it, q) {
		q = q.trim().toLowerCase();
		return !q || str(it.title).toLowerCase().indexOf(q) >= 0 || str(it.item_id).indexOf(q) >= 0;
	}

	function picture(it, cls) {
		var u = str(it && it.pic_url);

		/* the CSP lets only the platform's picture host through; others show the placeholder */
		if (/^https:\/\/img\.alicdn\.com\//.test(u))
			return el('img', { className: cls || 'item-pic', src: u, alt: '', loading: 'lazy', referrerPolicy: 'no-referrer' });
		return el('span', { className: (cls || 'item-pic') + ' no-pic' }, t('shop.items.no_pic'));
	}

	function td(label, cls) {
		var c = el.apply(null, ['td', { className: cls || '', 'data-label': label }].concat(
			Array.prototype.slice.call(arguments, 2)));

		return c;
	}

	function renderItems() {
		var body = $('items-body'), q = $('items-search') ? $('items-search').value : '', shown = 0, status;

		if (!body)
			return;
		clear(body);
		H.items.forEach(function (it) {
			var id = str(it.item_id), specs = el('ul', { className: 'specs' }), pol, st;

			if (!itemMatches(it, q))
				return;
			shown++;
			specsOf(it).forEach(function (s) {
				specs.appendChild(el('li', null, str(s.spec), el('span', { className: 'muted' }, ' · ' +
					fmtPrice(s.price) + ' · ' + qtyText(s.quantity))));
			});
			pol = checkbox('item-' + id + '-polish', polished(id), function (on) { setPolished(id, on); });
			pol.disabled = !S.doc;
			st = el('span', null, str(it.status_text) || str(it.status));
			body.appendChild(el('tr', { id: 'item-' + id, className: it.gone ? 'gone' : '', 'data-item': id },
				td(t('shop.items.col.pic'), 'pic', picture(it)),
				td(t('shop.items.col.item'), 'item-cell', el('div', { className: 'item-title' }, str(it.title) || id),
					el('div', { className: 'muted mono small-text' }, id)),
				td(t('shop.items.col.price'), 'num', fmtPrice(it.price)),
				td(t('shop.items.col.stock'), 'num', qtyText(it.quantity)),
				td(t('shop.items.col.specs'), 'specs-cell', specsOf(it).length ? specs : '–'),
				td(t('shop.items.col.status'), '', st, it.gone ? el('span', { className: 'badge bad' },
					t('shop.items.gone')) : null),
				td(t('shop.items.col.polish'), '', el('label', { className: 'check' }, pol, t('shop.items.polish_item')),
					str(it.polished_day) ? el('div', { className: 'muted small-text' },
						t('shop.items.polished', { day: str(it.polished_day) })) : null)));
		});
		show('items-empty', shown === 0);
		$('items-empty').textContent = H.items.length ? t('shop.items.none_match') : t('shop.items.empty');
		status = H.refreshing ? t('shop.items.refreshing') : H.syncedMs ? t('shop.items.synced',
			{ when: fmtTime(H.syncedMs) }) : t('shop.items.never');
		$('items-status').textContent = t('shop.items.count', { n: H.items.length }) + ' · ' + status;
		setError('items-sync-error', H.lastError ? t('shop.items.last_error', { error: H.lastError }) : '');
		$('items-refresh').disabled = H.refreshing;
	}

	/* items_list: keeps the items, fills every item title on the page, and
	 * polls again while the platform refresh runs. */
	function refreshItems() {
		if (!S.loggedIn)
			return Promise.resolve();
		return control('items_list', { limit: ITEMS_LIMIT }).then(function (d) {
			var byId = {};

			H.items = Array.isArray(d.items) ? d.items.filter(isObj) : [];
			H.items.forEach(function (it) { byId[str(it.item_id)] = it; });
			H.byId = byId;
			H.itemsRead = true;
			H.syncedMs = num(d.synced_ms) || 0;
			H.refreshing = d.refreshing === true;
			H.lastError = str(d.last_error);
			setError('items-error', '');
			renderItems();
			fillAllRefs();
			renderDeliveryPickers();
			schedulePoll();
		}, function (err) {
			if (err.status === 401)
				return;
			H.refreshing = false;
			/* without the items plugin (404) the page still works with ids */
			setError('items-error', t('shop.items.read_error', { error: errText(err) }));
		});
	}

	function schedulePoll() {
		clearTimeout(H.pollTimer);
		H.pollTimer = null;
		if (!H.refreshing || H.polls >= POLL_MAX)
			return;
		H.polls++;
		H.pollTimer = setTimeout(refreshItems, POLL_MS);
	}

	function onItemsRefresh() {
		var b = $('items-refresh');

		setError('items-error', '');
		H.polls = 0;
		busy(b, control('items_refresh', {})).then(function (d) {
			H.refreshing = d.refreshing !== false;
			renderItems();
			refreshItems();
		}, function (err) {
			if (err.status !== 401)
				setError('items-error', t('shop.items.read_error', { error: errText(err) }));
		});
	}

	/* ------------------------------------------------------------ the cards */

	function cardNames() {
		return (S.doc && Array.isArray(S.doc.cards) ? S.doc.cards : []).filter(isObj).map(function (c) {
			return str(c.name);
		}).filter(function (n) { return n !== ''; });
	}

	function typeSelect(id, c) {
		var s = el('select', { id: id }), v = str(c.type);

		['stock', 'text', 'image'].forEach(function (ty) {
			s.appendChild(el('option', { value: ty }, t('shop.cards.type.' + ty)));
		});
		if (['stock', 'text', 'image'].indexOf(v) < 0)
			s.appendChild(el('option', { value: v }, v));
		s.value = v;
		return s;
	}

	/* A card's type change: drops the fields the new type does not take. */
	function setCardType(c, ty) {
		c.type = ty;
		if (ty === 'image') {
			delete c.template;
			delete c.low_stock;
			if (c.url === undefined)
				c.url = '';
		} else {
			delete c.url;
			delete c.width;
			delete c.height;
			if (ty !== 'stock')
				delete c.low_stock;
			if (ty === 'stock' && (typeof c.template !== 'string' || c.template.indexOf('{code}') < 0))
				c.template = (typeof c.template === 'string' ? c.template : '') + '{code}';
			if (ty === 'text' && typeof c.template === 'string')
				c.template = c.template.replace(/\{code\}/g, '');
		}
	}

	function afterDeliveryFields(c, p) {
		var on = isObj(c.after_delivery), box = el('div', { className: 'grid', hidden: !on }), ad;
		var toggle = checkbox(p + 'ad-on', on, function (v) {
			if (v)
				c.after_delivery = {};
			else
				delete c.after_delivery;
			dirty();
			renderCards();
		});

		if (on) {
			ad = c.after_delivery;
			box.appendChild(field(t('shop.cards.ad_text'), optInput(p + 'ad-text', ad, 'text', { rows: 2 }), 'wide'));
			box.appendChild(field(t('shop.cards.ad_image'), optInput(p + 'ad-image', ad, 'image',
				{ type: 'url', placeholder: 'https://…' }), 'wide'));
		}
		return el('div', { className: 'card-ad' }, el('label', { className: 'check' }, toggle, t('shop.cards.ad_on')),
			on ? el('span', { className: 'muted small-text' }, ' ' + t('shop.cards.ad_hint')) : null, box);
	}

	function renderCard(c, i, list) {
		var p = 'card-' + i + '-', ty = str(c.type), grid, name, type, del, title;

		if (!isObj(c))
			return el('div', { className: 'rule', id: 'card-' + i }, el('strong', null, '#' + (i + 1) + ' ' + JSON.stringify(c)),
				el('ul', { id: p + 'errors', className: 'error-list at', hidden: true }));
		title = el('strong', { className: 'rule-title' }, str(c.name) || '#' + (i + 1));
		name = textInput(p + 'name', c, 'name', false, { spellcheck: false });
		name.addEventListener('change', (function (old) {
			/* the delivery rules follow a renamed card; their card pickers are
			 * filled again in place (change fires on blur: no re-render that
			 * would take the focus the seller just moved) */
			return function () {
				(Array.isArray(S.doc.delivery) ? S.doc.delivery : []).forEach(function (r) {
					if (isObj(r) && old !== '' && str(r.card) === old)
						r.card = c.name;
				});
				old = str(c.name);
				$('card-' + i).setAttribute('data-card', old);
				refreshCardSelects();
			};
		}(str(c.name))));
		name.addEventListener('input', function () { title.textContent = str(c.name) || '#' + (i + 1); });
		type = typeSelect(p + 'type', c);
		type.addEventListener('change', function () {
			setCardType(c, type.value);
			dirty();
			renderCards();
		});
		del = el('button', { type: 'button', id: p + 'delete', className: 'small danger' }, t('common.delete'));
		del.addEventListener('click', function () {
			var nm = str(c.name), used = (Array.isArray(S.doc.delivery) ? S.doc.delivery : []).filter(function (r) {
				return isObj(r) && nm !== '' && str(r.card) === nm;
			});

			if (used.length) {
				if (!window.confirm(t('shop.cards.used_by', { name: nm, n: used.length })))
					return;
				S.doc.delivery = S.doc.delivery.filter(function (r) { return used.indexOf(r) < 0; });
			} else if (!window.confirm(t('shop.cards.delete_confirm', { name: nm || '#' + (i + 1) }))) {
				return;
			}
			list.splice(i, 1);
			dirty();
			renderCards();
		});
		grid = el('div', { className: 'grid' },
			field(t('shop.cards.name'), name),
			field(t('shop.cards.type'), type),
			field(t('shop.cards.delay'), intInput(p + 'delay', c, 'delay_s', { placeholder: '0' })));
		if (ty === 'stock')
			grid.appendChild(field(t('shop.cards.low'), intInput(p + 'low', c, 'low_stock', { placeholder: '0' })));
		if (ty === 'image') {
			grid.appendChild(field(t('shop.cards.url'), textInput(p + 'url', c, 'url', false,
				{ type: 'url', placeholder: 'https://…' }), 'wide'));
			grid.appendChild(field(t('shop.cards.width'), intInput(p + 'width', c, 'width', { placeholder: '800' })));
			grid.appendChild(field(t('shop.cards.height'), intInput(p + 'height', c, 'height', { placeholder: '600' })));
		} else {
			grid.appendChild(field(t('shop.cards.template'), textInput(p + 'template', c, 'template', false,
				{ rows: 2, placeholder: ty === 'stock' ? t('shop.cards.template_stock_ph') : '' }), 'wide'));
		}
		return el('div', { className: 'rule card-rule', id: 'card-' + i, 'data-card': str(c.name) },
			el('div', { className: 'rule-head' }, title,
				el('span', { className: 'badge neutral' }, t('shop.cards.type.' + ty)),
				el('span', { className: 'spacer' }), del),
			el('ul', { id: p + 'errors', className: 'error-list at', hidden: true }),
			grid,
			ty === 'stock' ? el('p', { className: 'hint' }, t('shop.cards.rename_hint')) : null,
			afterDeliveryFields(c, p));
	}

	function newCardName(ty) {
		var names = cardNames(), n = 1;

		while (names.indexOf(ty + '-' + n) >= 0)
			n++;
		return ty + '-' + n;
	}

	function addCard(ty) {
		var list, c = { name: newCardName(ty), type: ty };

		if (!S.doc)
			return;
		list = listOf('cards');
		if (ty === 'stock')
			c.template = '{code}';
		else if (ty === 'text')
			c.template = '';
		else
			c.url = '';
		list.push(c);
		dirty();
		renderCards();
		$('card-' + (list.length - 1)).scrollIntoView({ block: 'nearest' });
		$('card-' + (list.length - 1) + '-name').focus();
	}

	/* ------------------------------------------------------- delivery rules */

	function itemSelect(p, r) {
		var s = el('select', { id: p + 'item' }), id = str(r.item_id), q = $(p + 'search') ? $(p + 'search').value : '';
		var known = false;

		s.appendChild(el('option', { value: '' }, t('shop.delivery.choose_item')));
		H.items.forEach(function (it) {
			var iid = str(it.item_id);

			if (iid === id)
				known = true;
			else if (!itemMatches(it, q))
				return;
			s.appendChild(el('option', { value: iid }, str(it.title) + ' (' + iid + ')'));
		});
		if (id && !known)
			s.appendChild(el('option', { value: id }, t('shop.delivery.unknown_item', { id: id })));
		s.appendChild(el('option', { value: '__other' }, t('shop.delivery.other_id')));
		s.value = id;
		return s;
	}

	function specPicker(p, r) {
		var it = itemOf(r.item_id), specs = it ? specsOf(it) : [], v = r.spec === null || r.spec === undefined ? '' : str(r.spec);
		var s, known = v === '';

		if (!it || !specs.length && v !== '') {
			/* an item the list does not know: the spec is typed */
			s = textInput(p + 'spec', r, 'spec', true, { placeholder: t('shop.delivery.spec_ph'), spellcheck: false });
			return s;
		}
		s = el('select', { id: p + 'spec' });
		s.appendChild(el('option', { value: '' }, t('shop.delivery.no_spec')));
		specs.forEach(function (sk) {
			if (str(sk.spec) === v)
				known = true;
			s.appendChild(el('option', { value: str(sk.spec) }, str(sk.spec)));
		});
		if (!known)
			s.appendChild(el('option', { value: v }, t('shop.delivery.unknown_spec', { spec: v })));
		s.value = v;
		s.addEventListener('change', function () {
			r.spec = s.value === '' ? null : s.value;
			dirty();
		});
		return s;
	}

	/* The options of a rule's card picker: the cards, and its own card when
	 * no card has that name. */
	function fillCardOptions(s, r) {
		var v = str(r.card), names = cardNames();

		clear(s);
		s.appendChild(el('option', { value: '' }, t('shop.delivery.choose_card')));
		names.forEach(function (n) { s.appendChild(el('option', { value: n }, n)); });
		if (v && names.indexOf(v) < 0)
			s.appendChild(el('option', { value: v }, t('shop.delivery.unknown_card', { card: v })));
		s.value = v;
	}

	function cardSelect(p, r) {
		var s = el('select', { id: p + 'card' });

		fillCardOptions(s, r);
		s.addEventListener('change', function () {
			r.card = s.value;
			dirty();
		});
		return s;
	}

	function refreshCardSelects() {
		(S.doc && Array.isArray(S.doc.delivery) ? S.doc.delivery : []).forEach(function (r, i) {
			var s = $('delivery-' + i + '-card');

			if (s && isObj(r))
				fillCardOptions(s, r);
		});
	}

	/* The item part of a delivery rule (search box, item select or typed id,
	 * the picture and the spec), made again when the item or the list changes. */
	function fillItemPart(box, p, r) {
		var search = $(p + 'search'), keep = search ? search.value : '', sel, other, idInput, it;

		clear(box);
		search = el('input', { id: p + 'search', type: 'search', placeholder: t('shop.delivery.search'),
			spellcheck: false });
		search.value = keep;
		other = H.other.has(r) || !H.items.length;
		box.appendChild(field(t('shop.delivery.search'), search));
		sel = itemSelect(p, r);
		if (other) {
			sel.value = '__other';
			idInput = textInput(p + 'item-id', r, 'item_id', false, { spellcheck: false, placeholder: '40004' });
			idInput.addEventListener('change', function () { fillItemPart(box, p, r); });
		}
		/* search narrows the select (the chosen item stays) */
		search.addEventListener('input', function () {
			var n = itemSelect(p, r);

			if (H.items.length)
				n.value = other ? '__other' : str(r.item_id);
			sel.parentNode.replaceChild(n, sel);
			wireSel(n);
			sel = n;
			/* one match: picked */
			var opts = Array.prototype.filter.call(n.options, function (o) { return o.value && o.value !== '__other'; });
			if (search.value.trim() && opts.length === 1 && str(r.item_id) !== opts[0].value) {
				n.value = opts[0].value;
				pick(n.value);
			}
		});
		function pick(v) {
			if (v === '__other') {
				H.other.add(r);
			} else {
				H.other.delete(r);
				if (str(r.item_id) !== v) {
					r.item_id = v;
					r.spec = null;
					dirty();
				}
			}
			fillItemPart(box, p, r);
		}
		function wireSel(s) {
			s.addEventListener('change', function () { pick(s.value); });
		}
		wireSel(sel);
		it = itemOf(r.item_id);
		box.appendChild(field(t('shop.delivery.item'), el('span', { className: 'item-pick' },
			it ? picture(it, 'item-thumb') : null, sel), 'item-field'));
		if (idInput)
			box.appendChild(field(t('shop.delivery.item_id'), idInput));
		box.appendChild(field(t('shop.delivery.spec'), specPicker(p, r)));
	}

	function renderRule(r, i, list) {
		var p = 'delivery-' + i + '-', del, itemBox, qty, delay;

		if (!isObj(r))
			return el('div', { className: 'rule', id: 'delivery-' + i }, el('strong', null, '#' + (i + 1) + ' ' + JSON.stringify(r)),
				el('ul', { id: p + 'errors', className: 'error-list at', hidden: true }));
		del = el('button', { type: 'button', id: p + 'delete', className: 'small danger' }, t('common.delete'));
		del.addEventListener('click', function () {
			list.splice(i, 1);
			dirty();
			renderCards();
		});
		itemBox = el('div', { className: 'grid item-part' });
		fillItemPart(itemBox, p, r);
		/* quantity 1 is the default: written only when the seller sets another */
		qty = intInput(p + 'quantity', r, 'quantity', { placeholder: '1' });
		delay = intInput(p + 'delay', r, 'delay_s', { placeholder: '' });
		return el('div', { className: 'rule delivery-rule', id: 'delivery-' + i },
			el('div', { className: 'rule-head' }, el('strong', { className: 'rule-title' },
				t('shop.delivery.rule', { n: i + 1 })), el('span', { className: 'spacer' }), del),
			el('ul', { id: p + 'errors', className: 'error-list at', hidden: true }),
			itemBox,
			el('div', { className: 'grid' },
				field(t('shop.delivery.card'), cardSelect(p, r)),
				field(t('shop.delivery.quantity'), qty),
				field(t('shop.delivery.delay'), delay)));
	}

	/* After the items were read: the pickers of the rules, unless the seller
	 * is typing in them. */
	function renderDeliveryPickers() {
		var list = S.doc && Array.isArray(S.doc.delivery) ? S.doc.delivery : [];
		var sec = $('sec-cards');

		if (sec && sec.contains(document.activeElement) && document.activeElement !== document.body)
			return;
		list.forEach(function (r, i) {
			var box = $('delivery-' + i) && $('delivery-' + i).querySelector('.item-part');

			if (box && isObj(r))
				fillItemPart(box, 'delivery-' + i + '-', r);
		});
	}

	/* ----------------------------------------------- notices and the rating */

	function noticeBlock(kind) {
		var n = isObj(S.doc.notices) && isObj(S.doc.notices[kind]) ? S.doc.notices[kind] : null;
		var on = n ? n.enabled !== false : NOTICE_DEFAULT_ON[kind], p = 'notice-' + kind + '-', text, grid;
		var edit = function () {
			var o = objOf(objOf(S.doc, 'notices'), kind);

			if (o.enabled === undefined)
				o.enabled = $(p + 'enabled').checked;
			return o;
		};

		text = el('textarea', { id: p + 'text', rows: 2, placeholder: NOTICE_TEXTS[kind] || '' });
		text.value = n ? str(n.text) : '';
		text.addEventListener('input', function () {
			/* empty: the default text (the validator refuses "") */
			if (text.value.trim() === '')
				delete edit().text;
			else
				edit().text = text.value;
			dirty();
		});
		grid = el('div', { className: 'grid' },
			field(t('shop.notices.text'), text, 'wide'));
		if (kind === 'after_delivery') {
			var img = el('input', { id: p + 'image', type: 'url', placeholder: 'https://…' });

			img.value = n ? str(n.image) : '';
			img.addEventListener('input', function () {
				edit().image = img.value.trim() === '' ? null : img.value;
				dirty();
			});
			grid.appendChild(field(t('shop.notices.image'), img, 'wide'));
		}
		return el('div', { className: 'rule notice', id: 'notice-' + kind },
			el('div', { className: 'rule-head' }, el('strong', null, t('shop.notices.' + kind)), el('span', { className: 'spacer' }),
				el('label', { className: 'check' }, checkbox(p + 'enabled', on, function (v) {
					edit().enabled = v;
					dirty();
				}), t('common.enabled'))),
			grid);
	}

	function renderNotices() {
		var box = $('notices-box');

		clear(box);
		box.appendChild(el('ul', { id: 'notices-errors', className: 'error-list at', hidden: true }));
		NOTICE_KINDS.forEach(function (kind) { box.appendChild(noticeBlock(kind)); });
	}

	function renderRate() {
		var box = $('rate-box'), c = isObj(S.doc.chores) ? S.doc.chores : {}, r = isObj(c.rate) ? c.rate : {}, text;
		var edit = function () {
			var o = objOf(objOf(S.doc, 'chores'), 'rate');

			if (o.enabled === undefined)
				o.enabled = $('rate-enabled').checked;
			return o;
		};

		clear(box);
		text = el('textarea', { id: 'rate-text', rows: 2, placeholder: t('shop.chores.default_rate') });
		text.value = str(r.text);
		text.addEventListener('input', function () {
			if (text.value.trim() === '')
				delete edit().text;
			else
				edit().text = text.value;
			dirty();
		});
		box.appendChild(el('ul', { id: 'rate-errors', className: 'error-list at', hidden: true }));
		box.appendChild(el('label', { className: 'check' }, checkbox('rate-enabled', r.enabled === true, function (v) {
			edit().enabled = v;
			dirty();
		}), t('shop.chores.rate_enabled')));
		box.appendChild(field(t('shop.chores.rate_text'), text, 'wide'));
	}

	/* Builds the cards section again from S.doc. Not re-entered: removing a
	 * focused input fires its change (blur) handlers, which may ask for it. */
	function renderCards() {
		if (H.rendering)
			return;
		H.rendering = true;
		try {
			renderCardsNow();
		} finally {
			H.rendering = false;
		}
	}

	function renderCardsNow() {
		var cbox = $('cards-list'), dbox = $('delivery-list'), cards, rulesList, vars;

		if (!cbox)
			return;
		clear(cbox);
		clear(dbox);
		if (!S.doc)
			return;
		vars = $('cards-vars');
		clear(vars);
		vars.appendChild(document.createTextNode(t('shop.cards.vars') + ' '));
		vars.appendChild(el('code', null, '{code}'));
		vars.appendChild(document.createTextNode(' ' + t('shop.cards.vars_code') + ' '));
		VARS.forEach(function (v) {
			vars.appendChild(el('code', null, v));
			vars.appendChild(document.createTextNode(' '));
		});
		cards = Array.isArray(S.doc.cards) ? S.doc.cards : [];
		cards.forEach(function (c, i) { cbox.appendChild(renderCard(c, i, cards)); });
		if (!cards.length)
			cbox.appendChild(el('p', { className: 'muted' }, t('shop.cards.empty')));
		rulesList = Array.isArray(S.doc.delivery) ? S.doc.delivery : [];
		rulesList.forEach(function (r, i) { dbox.appendChild(renderRule(r, i, rulesList)); });
		if (!rulesList.length)
			dbox.appendChild(el('p', { className: 'muted' }, t('shop.delivery.empty')));
		renderNotices();
		renderRate();
	}

	function addRule() {
		var list;

		if (!S.doc)
			return;
		list = listOf('delivery');
		list.push({ item_id: '', spec: null, card: cardNames()[0] || '' });
		dirty();
		renderCards();
		$('delivery-' + (list.length - 1)).scrollIntoView({ block: 'nearest' });
		$('delivery-' + (list.length - 1) + '-search').focus();
	}

	/* ------------------------------------------------------------ the stock */

	function stockCardNames() {
		return H.stockCards.filter(function (c) { return isObj(c) && (!c.type || c.type === 'stock'); });
	}

	/* Labels each cell of table with its column's heading (data-label: the
	 * phone layout shows it before the value). */
	function labelCells(table) {
		var heads = table ? table.querySelectorAll('thead th') : [];

		if (!table)
			return;
		Array.prototype.forEach.call(table.querySelectorAll('tbody tr'), function (tr) {
			Array.prototype.forEach.call(tr.children, function (c, i) {
				if (heads[i])
					c.setAttribute('data-label', heads[i].textContent);
			});
		});
	}

	/* app.js's stock_list answer (refreshStock, which drew the counts table):
	 * the table's phone labels, the card picker and counts. */
	function onStockList(cards) {
		var sel = $('stock-card'), list, names;

		labelCells($('stock-table'));
		H.stockCards = Array.isArray(cards) ? cards : [];
		if (!sel)
			return;
		list = stockCardNames();
		names = list.map(function (c) { return str(c.name); });
		clear(sel);
		list.forEach(function (c) { sel.appendChild(el('option', { value: str(c.name) }, str(c.name))); });
		if (names.indexOf(H.card) < 0) {
			H.card = names[0] || '';
			H.offset = 0;
			H.picked = {};
			H.revealed = {};
		}
		sel.value = H.card;
		show('stock-none', !list.length);
		show('stock-panel', list.length > 0);
		renderCounts();
		refreshCodes();
	}

	function refreshStockList() {
		if (k.refreshStock)
			k.refreshStock();
	}

	function cardDoc(name) {
		var list = S.doc && Array.isArray(S.doc.cards) ? S.doc.cards : [], i;

		for (i = 0; i < list.length; i++)
			if (isObj(list[i]) && str(list[i].name) === name)
				return list[i];
		return null;
	}

	function renderCounts() {
		var c = null, cd = cardDoc(H.card), low = $('stock-low');

		H.stockCards.forEach(function (x) {
			if (isObj(x) && str(x.name) === H.card)
				c = x;
		});
		$('stock-counts').textContent = c ? t('shop.stock.counts', { free: str(num(c.free) === null ? '–' : c.free),
			reserved: str(num(c.reserved) === null ? '–' : c.reserved), used: str(num(c.used) === null ? '–' : c.used) }) : '';
		if (document.activeElement !== low)
			low.value = cd && cd.low_stock !== undefined && cd.low_stock !== null ? str(cd.low_stock) : '';
		low.disabled = !cd;
		$('stock-low-save').disabled = !cd;
	}

	function stockError(err) {
		if (err.status !== 401)
			setError('stock-panel-error', t('shop.stock.error', { error: errText(err) }));
	}

	function refreshCodes() {
		if (!H.card || !S.loggedIn)
			return Promise.resolve();
		return control('stock_codes', { card: H.card, state: H.state, limit: CODES_PAGE, offset: H.offset }).then(function (d) {
			H.codes = Array.isArray(d.codes) ? d.codes.filter(isObj) : [];
			H.total = num(d.total) || 0;
			setError('stock-panel-error', '');
			renderCodes();
		}, stockError);
	}

	function renderCodes() {
		var body = $('stock-codes-body'), picks = 0;

		clear(body);
		H.codes.forEach(function (c) {
			var id = str(c.id), free = str(c.state) === 'free', pick, code, reveal, shown = Object.prototype.hasOwnProperty.call(H.revealed, id);

			pick = el('input', { type: 'checkbox', className: 'code-pick', disabled: !free, 'aria-label': id });
			pick.checked = free && !!H.picked[id];
			if (pick.checked)
				picks++;
			pick.addEventListener('change', function () {
				if (pick.checked)
					H.picked[id] = true;
				else
					delete H.picked[id];
				syncPicks();
			});
			code = el('span', { className: 'mono code-text' + (shown ? ' revealed' : '') }, shown ? H.revealed[id] : str(c.masked));
			reveal = el('button', { type: 'button', className: 'small code-reveal' }, shown ? t('shop.stock.hide') : t('shop.stock.reveal'));
			reveal.addEventListener('click', function () {
				if (Object.prototype.hasOwnProperty.call(H.revealed, id)) {
					delete H.revealed[id];
					renderCodes();
					return;
				}
				busy(reveal, control('stock_reveal', { id: c.id })).then(function (d) {
					H.revealed[id] = str(d.code);
					renderCodes();
				}, stockError);
			});
			body.appendChild(el('tr', { 'data-code-id': id, className: free ? '' : 'taken' },
				td('', 'pick', pick),
				td(t('shop.stock.col.code'), 'code-cell', code, ' ', reveal),
				td(t('shop.stock.col.state'), '', el('span', { className: 'badge ' + (free ? 'good' : str(c.state) === 'reserved'
					? 'warn' : 'neutral') }, t('shop.stock.state.' + str(c.state)))),
				td(t('shop.stock.col.order'), 'mono', str(c.order_id) || '–'),
				td(t('shop.stock.col.added'), 'nowrap', fmtTime(c.added_ms))));
		});
		show('stock-codes-empty', !H.codes.length);
		$('stock-page').textContent = H.total ? t('shop.stock.page', { from: H.offset + 1,
			to: H.offset + H.codes.length, total: H.total }) : '';
		$('stock-prev').disabled = H.offset <= 0;
		$('stock-next').disabled = H.offset + H.codes.length >= H.total;
		syncPicks();
	}

	function pickedIds() {
		return Object.keys(H.picked);
	}

	function syncPicks() {
		var n = pickedIds().length;

		$('stock-delete').disabled = n === 0;
		$('stock-delete').textContent = t('shop.stock.delete') + (n ? ' (' + n + ')' : '');
	}

	function onDelete() {
		var ids = pickedIds();

		if (!ids.length || !window.confirm(t('shop.stock.delete_confirm', { n: ids.length, card: H.card })))
			return;
		show('stock-result', false);
		busy($('stock-delete'), control('stock_delete', { card: H.card, ids: ids.map(function (x) {
			return /^\d+$/.test(x) ? parseInt(x, 10) : x;
		}) })).then(function (d) {
			H.picked = {};
			$('stock-result').textContent = t('shop.stock.deleted', { deleted: num(d.deleted) || 0, refused: num(d.refused) || 0 });
			show('stock-result', true);
			refreshStockList();
		}, stockError);
	}

	/* Exports the unused codes: a .txt download (a blob: URL; downloads are
	 * not subject to the page's CSP) and the same text to copy. */
	function onExport() {
		show('stock-result', false);
		busy($('stock-export'), control('stock_export', { card: H.card })).then(function (d) {
			var text = str(d.codes), file = (str(d.card) || H.card).replace(/[^\w.-]+/g, '_') + '-unused.txt', url, a;

			url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
			a = el('a', { href: url, download: file, hidden: true });
			document.body.appendChild(a);
			a.click();
			document.body.removeChild(a);
			setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
			$('stock-export-text').value = text;
			show('stock-export-box', true);
			$('stock-result').textContent = t('shop.stock.exported', { n: num(d.count) || 0, file: file });
			show('stock-result', true);
		}, stockError);
	}

	/* The low-stock threshold: written into the card and the document saved. */
	function onLowSave() {
		var cd = cardDoc(H.card), v = $('stock-low').value.trim();

		if (!cd)
			return;
		if (v === '')
			delete cd.low_stock;
		else
			cd.low_stock = /^\d+$/.test(v) ? parseInt(v, 10) : v;
		dirty();
		H.saveFrom = 'cards';
		rules.onRulesSave($('stock-low-save'));
	}

	/* The import form's file picker: the file's text into the codes box. */
	function onImportFile() {
		var f = $('import-file').files && $('import-file').files[0], r;

		if (!f)
			return;
		r = new FileReader();
		r.onload = function () {
			var box = $('import-codes'), txt = String(r.result || '');

			box.value = (box.value && !/\n$/.test(box.value) ? box.value + '\n' : box.value) + txt;
			box.dispatchEvent(new Event('input'));
			$('import-file-note').textContent = t('shop.stock.file_read', { name: f.name,
				n: txt.split(/\r?\n/).filter(function (l) { return l.trim() !== ''; }).length });
			$('import-file').value = '';
		};
		r.onerror = function () {
			$('import-file-note').textContent = t('shop.stock.file_error', { error: str(r.error && r.error.message) });
		};
		r.readAsText(f);
	}

	/* ------------------------------------------------------------- building */

	function build() {
		var items = $('items-box'), cards = $('cards-box'), stock = $('shop-stock'), stateSel, q;

		if (items) {
			clear(items);
			q = el('input', { id: 'items-search', type: 'search', placeholder: t('shop.items.search'), spellcheck: false });
			q.addEventListener('input', renderItems);
			var rb = el('button', { type: 'button', id: 'items-refresh', className: 'small' }, t('shop.items.refresh'));
			rb.addEventListener('click', onItemsRefresh);
			items.appendChild(el('div', { className: 'section-head' }, el('h2', null, t('shop.items.title')),
				el('span', { id: 'items-status', className: 'muted small-text' }), rb));
			items.appendChild(el('p', { className: 'hint' }, t('shop.items.hint')));
			items.appendChild(el('p', { id: 'items-error', className: 'error', role: 'alert', hidden: true }));
			items.appendChild(el('p', { id: 'items-sync-error', className: 'error', role: 'alert', hidden: true }));
			items.appendChild(el('div', { id: 'polish-box', className: 'polish-box' }));
			items.appendChild(q);
			items.appendChild(el('div', { className: 'table-wrap shop-table-wrap' },
				el('table', { id: 'items-table', className: 'shop-table' },
					el('thead', null, el('tr', null, el('th', null, t('shop.items.col.pic')), el('th', null, t('shop.items.col.item')),
						el('th', { className: 'num' }, t('shop.items.col.price')), el('th', { className: 'num' }, t('shop.items.col.stock')),
						el('th', null, t('shop.items.col.specs')), el('th', null, t('shop.items.col.status')),
						el('th', null, t('shop.items.col.polish')))),
					el('tbody', { id: 'items-body' }))));
			items.appendChild(el('p', { id: 'items-empty', className: 'muted', hidden: true }));
			items.appendChild(saveBar('items'));
		}
		if (cards) {
			clear(cards);
			var addS = el('button', { type: 'button', id: 'card-add-stock' }, t('shop.cards.add_stock'));
			var addT = el('button', { type: 'button', id: 'card-add-text' }, t('shop.cards.add_text'));
			var addI = el('button', { type: 'button', id: 'card-add-image' }, t('shop.cards.add_image'));
			var addR = el('button', { type: 'button', id: 'delivery-add' }, t('shop.delivery.add'));

			addS.addEventListener('click', function () { addCard('stock'); });
			addT.addEventListener('click', function () { addCard('text'); });
			addI.addEventListener('click', function () { addCard('image'); });
			addR.addEventListener('click', addRule);
			cards.appendChild(el('div', { className: 'section-head' }, el('h2', null, t('shop.cards.title'))));
			cards.appendChild(el('p', { className: 'hint' }, t('shop.cards.hint')));
			cards.appendChild(el('h3', null, t('shop.cards.cards')));
			cards.appendChild(el('p', { id: 'cards-vars', className: 'hint' }));
			cards.appendChild(el('div', { id: 'cards-list', className: 'rules-list' }));
			cards.appendChild(el('div', { className: 'button-row' }, addS, addT, addI));
			cards.appendChild(el('h3', null, t('shop.delivery.title')));
			cards.appendChild(el('p', { className: 'hint' }, t('shop.delivery.hint')));
			cards.appendChild(el('div', { id: 'delivery-list', className: 'rules-list' }));
			cards.appendChild(el('div', { className: 'button-row' }, addR));
			cards.appendChild(el('h3', null, t('shop.notices.title')));
			cards.appendChild(el('p', { className: 'hint' }, t('shop.notices.hint')));
			cards.appendChild(el('div', { id: 'notices-box', className: 'rules-list' }));
			cards.appendChild(el('h3', null, t('shop.chores.rate_title')));
			cards.appendChild(el('p', { className: 'hint' }, t('shop.chores.rate_hint')));
			cards.appendChild(el('div', { id: 'rate-box', className: 'rule stack' }));
			cards.appendChild(saveBar('cards'));
		}
		if (stock) {
			clear(stock);
			var sel = el('select', { id: 'stock-card' });
			sel.addEventListener('change', function () {
				H.card = sel.value;
				H.offset = 0;
				H.picked = {};
				H.revealed = {};
				show('stock-export-box', false);
				renderCounts();
				refreshCodes();
			});
			stateSel = el('select', { id: 'stock-state' });
			['free', 'reserved', 'used', 'all'].forEach(function (s) {
				stateSel.appendChild(el('option', { value: s }, t('shop.stock.state.' + s)));
			});
			stateSel.value = H.state;
			stateSel.addEventListener('change', function () {
				H.state = stateSel.value;
				H.offset = 0;
				H.picked = {};
				refreshCodes();
			});
			var low = el('input', { id: 'stock-low', type: 'text', inputMode: 'numeric', spellcheck: false, placeholder: '0' });
			var lowSave = el('button', { type: 'button', id: 'stock-low-save', className: 'small' }, t('shop.stock.low_save'));
			lowSave.addEventListener('click', onLowSave);
			var prev = el('button', { type: 'button', id: 'stock-prev', className: 'small' }, t('shop.stock.prev'));
			var next = el('button', { type: 'button', id: 'stock-next', className: 'small' }, t('shop.stock.next'));
			prev.addEventListener('click', function () {
				H.offset = Math.max(0, H.offset - CODES_PAGE);
				refreshCodes();
			});
			next.addEventListener('click', function () {
				H.offset += CODES_PAGE;
				refreshCodes();
			});
			var all = el('button', { type: 'button', id: 'stock-pick-all', className: 'small' }, t('shop.stock.select_all'));
			all.addEventListener('click', function () {
				H.codes.forEach(function (c) {
					if (str(c.state) === 'free')
						H.picked[str(c.id)] = true;
				});
				renderCodes();
			});
			var delB = el('button', { type: 'button', id: 'stock-delete', className: 'small danger', disabled: true },
				t('shop.stock.delete'));
			delB.addEventListener('click', onDelete);
			var expB = el('button', { type: 'button', id: 'stock-export', className: 'small' }, t('shop.stock.export'));
			expB.addEventListener('click', onExport);
			stock.appendChild(el('h3', null, t('shop.stock.title')));
			stock.appendChild(el('p', { id: 'stock-none', className: 'muted', hidden: true }, t('shop.stock.none')));
			stock.appendChild(el('div', { id: 'stock-panel', hidden: true },
				el('div', { className: 'shop-inline' },
					el('label', { className: 'inline' }, t('shop.stock.card'), sel),
					el('span', { id: 'stock-counts', className: 'stock-counts' })),
				el('div', { className: 'shop-inline' },
					el('label', { className: 'inline' }, t('shop.stock.low'), low), lowSave),
				el('p', { id: 'stock-panel-error', className: 'error', role: 'alert', hidden: true }),
				el('p', { id: 'stock-result', className: 'ok-text', role: 'status', hidden: true }),
				el('div', { className: 'shop-inline' },
					el('label', { className: 'inline' }, t('shop.stock.state'), stateSel), all, delB, expB),
				el('div', { className: 'table-wrap shop-table-wrap' },
					el('table', { id: 'stock-codes', className: 'shop-table codes-table' },
						el('thead', null, el('tr', null, el('th', null, ''), el('th', null, t('shop.stock.col.code')),
							el('th', null, t('shop.stock.col.state')), el('th', null, t('shop.stock.col.order')),
							el('th', null, t('shop.stock.col.added')))),
						el('tbody', { id: 'stock-codes-body' }))),
				el('p', { id: 'stock-codes-empty', className: 'muted', hidden: true }, t('shop.stock.empty')),
				el('div', { className: 'shop-inline' }, prev, el('span', { id: 'stock-page', className: 'muted small-text' }), next),
				el('div', { id: 'stock-export-box', hidden: true },
					el('label', { htmlFor: 'stock-export-text' }, t('shop.stock.export_copy')),
					el('textarea', { id: 'stock-export-text', rows: 5, readOnly: true, spellcheck: false }))));
		}
		if ($('import-file-label'))
			$('import-file-label').textContent = t('shop.stock.file');
		H.built = true;
	}

	function renderAll() {
		if (!H.built)
			build();
		renderPolishSettings();
		renderItems();
		renderCards();
		syncBars();
		if (H.stockCards.length)
			onStockList(H.stockCards);
		fillAllRefs();
	}

	/* A language switch: everything built again in the new language (the
	 * document's edits are in S.doc, not in the inputs). */
	function onLang() {
		H.built = false;
		renderAll();
	}

	/* -------------------------------------------------------------- wiring */

	function wire() {
		rules.listen(onRulesEvent);
		I18N.onChange(onLang);
		if ($('import-file'))
			$('import-file').addEventListener('change', onImportFile);
		build();
	}

	function start() {
		H.polls = 0;
		renderAll();
		refreshItems();
	}

	function stop() {
		clearTimeout(H.pollTimer);
		H.pollTimer = null;
	}

	return {
		wire: wire,
		start: start,
		stop: stop,
		refreshItems: refreshItems,
		onStockList: onStockList,
		itemTitle: itemTitle,
		itemRef: itemRef,
		itemLabel: itemLabel
	};
};
