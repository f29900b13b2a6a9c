/* SPDX-License-Identifier: MIT */
/*
 * web/orders.js - the orders screen of the account's page: the orders with
 * the item's title and picture, spec, quantity, amount, buyer, the order's
 * state and its delivery in words (the reason too, where it is a known
 * kind), the codes sent (masked), a filter (all / needs attention); an
 * order opened (order_get) shows each unit with a reveal button
 * (order_reveal: the process logs each reveal and puts it in the timeline),
 * its send state, its manual and resent marks, and the order's timeline;
 * the actions retry / resend a unit / deliver by hand / confirm shipment
 * (order_retry, order_resend, order_deliver, order_ship) each ask first in
 * a small dialog and show the answer or the error, then the list refreshes.
 * web/API.md has the commands. app.js makes it with its state and helpers
 * (window.skOrders(k)) and calls what it returns: refresh on its timers and
 * on the live events orders.* and items.*.
 *
 * Every string goes through t() (web/i18n.js; this file adds its own keys,
 * zh and en). A desktop shows a table; at phone width (style.css) each row
 * becomes a card with the column's name before each value. Everything from
 * the server is set as text, never as HTML; a picture is shown only from
 * the platform's image host (the one host the page's CSP allows).
 */
'use strict';

window.skOrders = function (k) {
	var S = k.S, $ = k.$, el = k.el, clear = k.clear, show = k.show, setError = k.setError, str = k.str,
		num = k.num, fmtTime = k.fmtTime, control = k.control, busy = k.busy, errText = k.errText;

	var ITEMS_MAX_AGE_MS = 60000, ITEMS_RETRY_MS = 300000, CONTENT_SHOWN = 60;
	var PIC_HOST = 'https://img.alicdn.com/';

	/* ------------------------------------------------------------ strings */

	var STR = {
		zh: {
			'orders.nav': '订单',
			'orders.title': '订单',
			'orders.refresh': '刷新',
			'orders.filter': '显示',
			'orders.filter.all': '全部订单',
			'orders.filter.attention': '需要处理的',
			'orders.empty': '还没有订单。',
			'orders.empty.attention': '没有需要处理的订单。',
			'orders.col.item': '商品',
			'orders.col.qty': '数量',
			'orders.col.amount': '金额',
			'orders.col.buyer': '买家',
			'orders.col.state': '订单状态',
			'orders.col.delivery': '发货',
			'orders.col.codes': '已发送',
			'orders.col.updated': '更新时间',
			'orders.col.order': '订单号',
			'orders.open': '详情',
			'orders.close': '收起',
			'orders.read_error': '无法读取订单：',
			'orders.detail_error': '无法读取订单详情：',
			'orders.loading': '加载中…',
			'orders.spec': '规格',
			'orders.card': '卡券',
			'orders.source.pull': '从已售订单补录',
			'orders.units': '发货内容',
			'orders.unit': '第 {n} 份',
			'orders.no_units': '还没有发送任何内容。',
			'orders.reveal': '显示',
			'orders.hide': '隐藏',
			'orders.reveal_error': '无法显示：',
			'orders.manual': '手动发货',
			'orders.resent': '已重发',
			'orders.timeline': '时间线',
			'orders.no_timeline': '没有记录。',
			'orders.actions': '操作',
			'orders.retry': '立即重试',
			'orders.resend': '重发',
			'orders.deliver': '手动发货',
			'orders.ship': '确认发货',
			'orders.kind.stock': '卡密',
			'orders.kind.text': '文本',
			'orders.kind.image': '图片',
			'orders.notices': '已通知买家',
			'orders.notice.waiting_stock': '补货中通知',
			'orders.notice.cannot_deliver': '无法自动发货通知',
			'orders.notice.after_delivery': '发货后说明',
			'orders.tl.state': '状态',
			'orders.tl.delivery': '发货',
			'orders.tl.unit': '发送',
			'orders.tl.action': '操作',
			'orders.tl.notice': '通知',
			'orders.tl.reveal': '查看',
			'orders.confirm.retry.title': '立即重试发货？',
			'orders.confirm.retry.text': '订单 {order} 现在再尝试自动发货一次。',
			'orders.confirm.resend.title': '重发第 {n} 份？',
			'orders.confirm.resend.text': '把同一内容（{code}）用一条新消息再发给买家 {buyer}。',
			'orders.confirm.deliver.title': '手动发货',
			'orders.confirm.deliver.text': '输入要发给买家 {buyer} 的内容（如卡密）。它会作为本订单的发货记录。',
			'orders.confirm.deliver.label': '发送的内容',
			'orders.confirm.deliver.empty': '请输入要发送的内容。',
			'orders.confirm.ship.title': '确认发货？',
			'orders.confirm.ship.text': '在闲鱼上把订单 {order} 标记为已发货。',
			'orders.confirm.ok': '确定',
			'orders.confirm.cancel': '取消',
			'orders.done.retry': '订单 {order}：已重新开始发货。',
			'orders.done.resend': '订单 {order}：第 {n} 份已重新发送。',
			'orders.done.deliver': '订单 {order}：手动发货的内容已发送。',
			'orders.done.ship': '订单 {order}：已确认发货。',
			'orders.failed': '没有完成：',
			'orders.state.': '—',
			'orders.state.placed': '已拍下',
			'orders.state.paid': '已付款',
			'orders.state.shipped': '已发货',
			'orders.state.completed': '交易成功',
			'orders.state.closed': '已关闭',
			'orders.state.refunding': '退款中',
			'orders.delivery.none': '未开始',
			'orders.delivery.pending': '准备发货',
			'orders.delivery.delivering': '发货中',
			'orders.delivery.delivered': '已发货',
			'orders.delivery.failed': '失败',
			'orders.delivery.cancelled': '已取消',
			'orders.delivery.waiting_stock': '等待补货',
			'orders.delivery.waiting_paid': '等待付款确认',
			'orders.confirm_state.none': '',
			'orders.confirm_state.pending': '确认发货中',
			'orders.confirm_state.skipped': '不确认发货',
			'orders.confirm_state.done': '已确认发货',
			'orders.confirm_state.failed': '确认发货失败',
			'orders.unit_state.reserved': '已预留',
			'orders.unit_state.sending': '发送中',
			'orders.unit_state.sent': '已发送',
			'orders.unit_state.done': '已发送',
			'orders.unit_state.failed': '失败',
			'orders.unit_state.cancelled': '已取消',
			'orders.reason.no_rule': '没有匹配的发货规则',
			'orders.reason.ambiguous': '多条发货规则匹配',
			'orders.reason.out_of_stock': '库存不足',
			'orders.reason.detail': '读取订单详情失败',
			'orders.reason.unpaid': '订单未付款',
			'orders.reason.mismatch': '订单与聊天的买家或商品不符',
			'orders.reason.quantity': '购买数量超过上限',
			'orders.reason.refused': '平台拒绝了消息',
			'orders.reason.send': '发送失败',
			'orders.reason.cancelled': '已取消',
			'orders.reason.confirm': '确认发货失败',
			'orders.reason.waiting': '等待订单显示已付款'
		},
		en: {
			'orders.nav': 'Orders',
			'orders.title': 'Orders',
			'orders.refresh': 'Refresh',
			'orders.filter': 'Show',
			'orders.filter.all': 'all orders',
			'orders.filter.attention': 'needs attention',
			'orders.empty': 'No orders yet.',
			'orders.empty.attention': 'No order needs attention.',
			'orders.col.item': 'Item',
			'orders.col.qty': 'Qty',
			'orders.col.amount': 'Amount',
			'orders.col.buyer': 'Buyer',
			'orders.col.state': 'Order',
			'orders.col.delivery': 'Delivery',
			'orders.col.codes': 'Sent',
			'orders.col.updated': 'Updated',
			'orders.col.order': 'Order no.',
			'orders.open': 'Details',
			'orders.close': 'Close',
			'orders.read_error': 'Could not read the orders: ',
			'orders.detail_error': 'Could not read the order: ',
			'orders.loading': 'Loading…',
			'orders.spec': 'Spec',
			'orders.card': 'Card',
			'orders.source.pull': 'found in the sold-orders list',
			'orders.units': 'What was sent',
			'orders.unit': 'unit {n}',
			'orders.no_units': 'Nothing sent yet.',
			'orders.reveal': 'Reveal',
			'orders.hide': 'Hide',
			'orders.reveal_error': 'Could not reveal: ',
			'orders.manual': 'by hand',
			'orders.resent': 'resent',
			'orders.timeline': 'Timeline',
			'orders.no_timeline': 'Nothing recorded.',
			'orders.actions': 'Actions',
			'orders.retry': 'Retry now',
			'orders.resend': 'Resend',
			'orders.deliver': 'Deliver by hand',
			'orders.ship': 'Confirm shipment',
			'orders.kind.stock': 'code',
			'orders.kind.text': 'text',
			'orders.kind.image': 'image',
			'orders.notices': 'Buyer told',
			'orders.notice.waiting_stock': 'waiting for stock',
			'orders.notice.cannot_deliver': 'cannot deliver automatically',
			'orders.notice.after_delivery': 'after delivery',
			'orders.tl.state': 'state',
			'orders.tl.delivery': 'delivery',
			'orders.tl.unit': 'send',
			'orders.tl.action': 'action',
			'orders.tl.notice': 'notice',
			'orders.tl.reveal': 'reveal',
			'orders.confirm.retry.title': 'Retry the delivery now?',
			'orders.confirm.retry.text': 'Order {order} is tried again at once.',
			'orders.confirm.resend.title': 'Resend unit {n}?',
			'orders.confirm.resend.text': 'The same content ({code}) goes to buyer {buyer} again, in a new message.',
			'orders.confirm.deliver.title': 'Deliver by hand',
			'orders.confirm.deliver.text': 'Type what buyer {buyer} gets (a code, say). It is recorded as this order\'s delivery.',
			'orders.confirm.deliver.label': 'The text to send',
			'orders.confirm.deliver.empty': 'Type the text to send.',
			'orders.confirm.ship.title': 'Confirm the shipment?',
			'orders.confirm.ship.text': 'Order {order} is marked as shipped on Xianyu.',
			'orders.confirm.ok': 'OK',
			'orders.confirm.cancel': 'Cancel',
			'orders.done.retry': 'Order {order}: the delivery started again.',
			'orders.done.resend': 'Order {order}: unit {n} was sent again.',
			'orders.done.deliver': 'Order {order}: the text delivered by hand was sent.',
			'orders.done.ship': 'Order {order}: the shipment is confirmed.',
			'orders.failed': 'Not done: ',
			'orders.state.': '—',
			'orders.state.placed': 'placed',
			'orders.state.paid': 'paid',
			'orders.state.shipped': 'shipped',
			'orders.state.completed': 'completed',
			'orders.state.closed': 'closed',
			'orders.state.refunding': 'refunding',
			'orders.delivery.none': 'not started',
			'orders.delivery.pending': 'preparing',
			'orders.delivery.delivering': 'delivering',
			'orders.delivery.delivered': 'delivered',
			'orders.delivery.failed': 'failed',
			'orders.delivery.cancelled': 'cancelled',
			'orders.delivery.waiting_stock': 'waiting for stock',
			'orders.delivery.waiting_paid': 'waiting for the payment',
			'orders.confirm_state.none': '',
			'orders.confirm_state.pending': 'confirming shipment',
			'orders.confirm_state.skipped': 'shipment not confirmed',
			'orders.confirm_state.done': 'shipment confirmed',
			'orders.confirm_state.failed': 'shipment confirmation failed',
			'orders.unit_state.reserved': 'reserved',
			'orders.unit_state.sending': 'sending',
			'orders.unit_state.sent': 'sent',
			'orders.unit_state.done': 'sent',
			'orders.unit_state.failed': 'failed',
			'orders.unit_state.cancelled': 'cancelled',
			'orders.reason.no_rule': 'no delivery rule matches',
			'orders.reason.ambiguous': 'several delivery rules match',
			'orders.reason.out_of_stock': 'out of stock',
			'orders.reason.detail': 'the order detail could not be read',
			'orders.reason.unpaid': 'not paid',
			'orders.reason.mismatch': 'the order does not match the chat\'s buyer or item',
			'orders.reason.quantity': 'more units than allowed',
			'orders.reason.refused': 'the platform refused the message',
			'orders.reason.send': 'the send failed',
			'orders.reason.cancelled': 'cancelled',
			'orders.reason.confirm': 'the shipment confirmation failed',
			'orders.reason.waiting': 'waiting until the order shows paid'
		}
	};

	/* This file's strings join web/i18n.js's tables (zh the default); the
	 * static texts marked data-i18n (the nav's link) are set again, since
	 * i18n.js applied them before this file's keys were there. */
	if (window.skI18n) {
		window.skI18n.add('zh', STR.zh);
		window.skI18n.add('en', STR.en);
		window.skI18n.apply();
	}

	/* The text of key in the page's language with {name} replaced by
	 * vars[name] (web/i18n.js; Chinese from STR when it is not loaded). */
	function t(key, vars) {
		if (window.skI18n)
			return window.skI18n.t(key, vars);
		return str(STR.zh[key] !== undefined ? STR.zh[key] : key).replace(/\{(\w+)\}/g, function (m, n) {
			return vars && vars[n] !== undefined ? str(vars[n]) : m;
		});
	}

	/* Whether key is one of this file's strings (a state this page does not
	 * know is shown as the machine says it, without a missing-key warning). */
	function has(key) {
		return Object.prototype.hasOwnProperty.call(STR.zh, key);
	}

	/* -------------------------------------------------------------- state */

	var O = {
		orders: [],           /* the last orders_list answer */
		items: {},            /* item_id -> {title, pic_url} from items_list */
		itemsMs: 0,           /* when items_list answered (0: never) */
		itemsTried: 0,        /* when items_list was last asked */
		itemsBusy: false,
		open: {},             /* order_id -> true: opened */
		details: {},          /* order_id -> the order_get answer */
		shown: {},            /* "order_id:unit" -> the revealed content */
		gen: 0,               /* bumped per refresh: late answers dropped */
		dialog: null          /* the action waiting for its confirmation */
	};

	/* ------------------------------------------------------------ words */

	/* The kind of a machine reason "kind: text" ("" when it has none). */
	function reasonKind(r) {
		var m = /^([a-z_]+):/.exec(str(r));

		return m ? m[1] : '';
	}

	/* A known reason in words, with the machine's text after it; an
	 * unknown one as it is. */
	function reasonWords(r) {
		var kind = reasonKind(r), key = 'orders.reason.' + kind, rest;

		if (!r)
			return '';
		if (!kind || !has(key))
			return str(r);
		rest = str(r).slice(kind.length + 1).trim();
		return t(key) + (rest ? ' (' + rest + ')' : '');
	}

	/* The order's delivery as [words, css class]: waiting for stock and for
	 * the payment are named for what they are. */
	function deliveryWords(o) {
		var d = str(o.delivery), kind = reasonKind(o.reason), key;

		if (d === 'failed' && kind === 'out_of_stock')
			return [t('orders.delivery.waiting_stock'), 'warn'];
		if (d === 'pending' && kind === 'waiting')
			return [t('orders.delivery.waiting_paid'), 'warn'];
		key = 'orders.delivery.' + d;
		return [!has(key) ? d : t(key), d === 'delivered' ? 'good' : d === 'failed' || d === 'cancelled' ? 'bad'
			: d === 'none' || !d ? 'neutral' : 'warn'];
	}

	/* The order's state (the trade cards') as [words, css class]. */
	function stateWords(s) {
		var key = 'orders.state.' + str(s);

		return [!has(key) ? str(s) : t(key), s === 'completed' || s === 'shipped' ? 'good'
			: s === 'closed' || s === 'refunding' ? 'bad' : s === 'paid' ? 'warn' : 'neutral'];
	}

	/* A unit's send state as [words, css class]. */
	function unitWords(s) {
		var key = 'orders.unit_state.' + str(s);

		return [!has(key) ? str(s) : t(key), s === 'sent' || s === 'done' ? 'good'
			: s === 'failed' || s === 'cancelled' ? 'bad' : 'warn'];
	}

	function badge(w, extra) {
		return w[0] ? el('span', { className: 'badge ' + w[1] + (extra ? ' ' + extra : '') }, w[0]) : null;
	}

	/* Needs attention (as orders_list's filter "attention"): the delivery
	 * failed (waiting for stock, cannot be delivered), the shipment
	 * confirmation failed, or it waits for the payment to show. */
	function attention(o) {
		return o.delivery === 'failed' || o.confirm === 'failed' || reasonKind(o.reason) === 'waiting';
	}

	/* A row shown as a problem: something failed. */
	function problem(o) {
		return o.delivery === 'failed' || o.confirm === 'failed';
	}

	/* "¥12.50" for a yuan string, "–" when unknown. */
	function amountText(a) {
		return str(a) ? '¥' + str(a) : '–';
	}

	/* What a unit shows in the list: a masked code, or the start of a text. */
	function unitShort(u) {
		var m = str(u.masked);

		if (!m)
			return '';
		return m.length > CONTENT_SHOWN ? m.slice(0, CONTENT_SHOWN) + '…' : m;
	}

	/* Units as sent (sent or done), the ones a resend can repeat. */
	function unitSent(u) {
		return u.state === 'sent' || u.state === 'done';
	}

	/* The item's picture (only from the platform's image host) or null. */
	function picture(item, cls) {
		var url = item && str(item.pic_url);

		if (!url || url.indexOf(PIC_HOST) !== 0)
			return null;
		var img = el('img', { className: cls || 'order-pic', src: url, alt: '', loading: 'lazy', referrerPolicy: 'no-referrer' });
		img.addEventListener('error', function () { img.hidden = true; });
		return img;
	}

	/* -------------------------------------------------------------- items */

	/* Asks items_list when the titles are older than a minute (items.* events
	 * clear them); a process without the items plugin is asked again only
	 * after five minutes. Redraws the list when titles arrive. */
	function loadItems(force) {
		var now = Date.now();

		if (O.itemsBusy || (!force && O.itemsMs && now - O.itemsMs < ITEMS_MAX_AGE_MS) ||
			(!force && !O.itemsMs && O.itemsTried && now - O.itemsTried < ITEMS_RETRY_MS))
			return;
		O.itemsBusy = true;
		O.itemsTried = now;
		control('items_list', { limit: 500 }).then(function (d) {
			var m = {};

			O.itemsBusy = false;
			(Array.isArray(d.items) ? d.items : []).forEach(function (it) {
				if (it && it.item_id !== undefined)
					m[str(it.item_id)] = { title: str(it.title), pic_url: str(it.pic_url) };
			});
			O.items = m;
			O.itemsMs = Date.now();
			render();
		}, function () {
			O.itemsBusy = false;   /* no titles: the ids show */
		});
	}

	/* The item's title from items_list, its id when unknown. */
	function itemTitle(id) {
		var it = O.items[str(id)];

		return it && it.title ? it.title : str(id);
	}

	/* "Buyer told: waiting for stock 04:40" for the notices the buyer got
	 * (orders_notice), or null. */
	function noticesLine(o) {
		var list = Array.isArray(o.notices) ? o.notices : [];

		if (!list.length)
			return null;
		return el('div', { className: 'muted small-text order-notices' }, t('orders.notices') + ': ' +
			list.map(function (n) {
				var key = 'orders.notice.' + str(n.kind);

				return (has(key) ? t(key) : str(n.kind)) + ' ' + fmtTime(n.ms);
			}).join(', '));
	}

	/* --------------------------------------------------------------- list */

	/* Reads orders_list (the filter chosen) and draws it; the opened orders'
	 * details are read again too. A late answer of an older call is dropped. */
	function refresh() {
		var gen;

		if (!S.loggedIn)
			return;
		gen = ++O.gen;
		loadItems(false);
		control('orders_list', { limit: 100, filter: $('orders-filter').value === 'attention' ? 'attention' : 'all' })
			.then(function (d) {
				if (gen !== O.gen)
					return;
				setError('orders-error', '');
				O.orders = Array.isArray(d.orders) ? d.orders : [];
				render();
				Object.keys(O.open).forEach(function (id) {
					loadDetail(id);
				});
			}, function (err) {
				if (err.status !== 401 && gen === O.gen)
					setError('orders-error', t('orders.read_error') + errText(err));
			});
	}

	/* One table cell with the column's name for the phone's card layout. */
	function cell(label, cls) {
		var td = el('td', { className: cls || '', 'data-label': label }), i;

		for (i = 2; i < arguments.length; i++)
			if (arguments[i] !== null && arguments[i] !== undefined && arguments[i] !== false)
				td.appendChild(typeof arguments[i] === 'object' ? arguments[i] : document.createTextNode(String(arguments[i])));
		return td;
	}

	/* The table's headings, in the page's language. */
	function headers() {
		var tr = $('orders-head');

		clear(tr);
		['orders.col.item', 'orders.col.qty', 'orders.col.amount', 'orders.col.buyer', 'orders.col.state',
			'orders.col.delivery', 'orders.col.codes', 'orders.col.updated', ''].forEach(function (key) {
			tr.appendChild(el('th', { className: key === 'orders.col.qty' || key === 'orders.col.amount' ? 'num' : '' },
				key ? t(key) : ''));
		});
	}

	/* Draws O.orders (filtered when "needs attention" is chosen: a
	 * process that does not filter itself is filtered here too). */
	function render() {
		var body = $('orders-body'), want = $('orders-filter').value === 'attention', list;

		headers();
		clear(body);
		list = O.orders.filter(function (o) { return o && (!want || attention(o)); });
		list.forEach(function (o) {
			var id = str(o.order_id), units = Array.isArray(o.units) ? o.units : [], codes = el('ul', { className: 'units' });
			var item = O.items[str(o.item_id)], dw = deliveryWords(o), open = !!O.open[id], cw, btn;

			units.forEach(function (u) {
				codes.appendChild(el('li', { className: 'mono' }, unitShort(u) || '#' + str(u.unit),
					u.manual ? el('span', { className: 'badge neutral' }, t('orders.manual')) : null));
			});
			cw = str(o.confirm) && o.confirm !== 'none' ? ['orders.confirm_state.' + o.confirm, o.confirm === 'done' ? 'good'
				: o.confirm === 'failed' ? 'bad' : 'neutral'] : null;
			btn = el('button', { type: 'button', className: 'small', id: 'order-' + id + '-open',
				'aria-expanded': open ? 'true' : 'false' }, open ? t('orders.close') : t('orders.open'));
			btn.addEventListener('click', function () { toggle(id); });
			body.appendChild(el('tr', { className: 'order-row' + (problem(o) ? ' problem' : '') + (open ? ' open' : ''),
				id: 'order-' + id,
				'data-order': id },
				cell(t('orders.col.item'), 'order-item', el('div', { className: 'order-item-box' },
					picture(item),
					el('div', { className: 'order-item-text' },
						el('div', { className: 'order-title' }, itemTitle(o.item_id)),
						str(o.spec) ? el('div', { className: 'muted small-text' }, str(o.spec)) : null,
						el('div', { className: 'muted small-text mono order-id' }, id)))),
				cell(t('orders.col.qty'), 'num', str(o.quantity || '')),
				cell(t('orders.col.amount'), 'num nowrap order-amount', amountText(o.amount)),
				cell(t('orders.col.buyer'), 'order-buyer', str(o.buyer_name) || str(o.buyer_id)),
				cell(t('orders.col.state'), '', badge(stateWords(o.state))),
				cell(t('orders.col.delivery'), 'order-delivery', badge(dw, 'order-delivery-state'),
					cw ? badge([has(cw[0]) ? t(cw[0]) : str(o.confirm), cw[1]]) : null,
					o.reason ? el('div', { className: 'reason small-text' }, reasonWords(o.reason)) : null,
					o.confirm_reason ? el('div', { className: 'reason small-text' },
						t('orders.confirm_state.failed') + ': ' + str(o.confirm_reason)) : null,
					noticesLine(o)),
				cell(t('orders.col.codes'), 'order-codes', units.length ? codes : '–'),
				cell(t('orders.col.updated'), 'nowrap', fmtTime(o.updated_ms)),
				cell('', 'actions', btn)));
			if (open)
				body.appendChild(detailRow(id));
		});
		$('orders-empty').textContent = want ? t('orders.empty.attention') : t('orders.empty');
		show('orders-empty', list.length === 0);
	}

	/* ------------------------------------------------------------- detail */

	/* Opens order id (reads order_get) or closes it (its revealed codes are
	 * forgotten). */
	function toggle(id) {
		if (O.open[id]) {
			delete O.open[id];
			delete O.details[id];
			Object.keys(O.shown).forEach(function (key) {
				if (key.indexOf(id + ':') === 0)
					delete O.shown[key];
			});
		} else {
			O.open[id] = true;
			loadDetail(id);
		}
		render();
	}

	/* order_get for an opened order; redraws with the answer or its error. */
	function loadDetail(id) {
		control('order_get', { order_id: id }).then(function (d) {
			if (!O.open[id])
				return;
			O.details[id] = d && typeof d === 'object' ? d : {};
			render();
		}, function (err) {
			if (!O.open[id] || err.status === 401)
				return;
			O.details[id] = { error: errText(err) };
			render();
		});
	}

	/* The row under an opened order: its units, actions and timeline. */
	function detailRow(id) {
		var d = O.details[id], box = el('div', { className: 'order-detail', id: 'order-' + id + '-detail' });

		if (!d)
			box.appendChild(el('p', { className: 'muted' }, t('orders.loading')));
		else if (d.error)
			box.appendChild(el('p', { className: 'error', role: 'alert' }, t('orders.detail_error') + d.error));
		else
			fillDetail(box, id, d);
		return el('tr', { className: 'order-detail-row' }, el('td', { colSpan: 9 }, box));
	}

	/* Fills box with the order_get answer d: the order's facts, each unit
	 * (content masked or revealed, state, marks, reveal and resend buttons),
	 * the order's action buttons and the timeline. */
	function fillDetail(box, id, d) {
		var o = d.order && typeof d.order === 'object' ? d.order : (O.orders.filter(function (x) {
			return str(x.order_id) === id;
		})[0] || {});
		var units = Array.isArray(o.units) ? o.units : [], tl = Array.isArray(d.timeline) ? d.timeline : [];
		var facts = el('dl', { className: 'order-facts' }), ul, acts;

		function fact(label, v) {
			if (v)
				facts.appendChild(el('div', null, el('dt', null, label), el('dd', null, v)));
		}
		fact(t('orders.col.order'), el('span', { className: 'mono' }, id));
		fact(t('orders.spec'), str(o.spec));
		fact(t('orders.card'), str(o.card));
		fact(t('orders.col.buyer'), str(o.buyer_name) + (o.buyer_id ? ' (' + str(o.buyer_id) + ')' : ''));
		if (o.source === 'pull')
			fact('', t('orders.source.pull'));
		box.appendChild(facts);

		/* the units */
		box.appendChild(el('h4', null, t('orders.units')));
		if (!units.length)
			box.appendChild(el('p', { className: 'muted' }, t('orders.no_units')));
		ul = el('ul', { className: 'order-units' });
		units.forEach(function (u) {
			var n = str(u.unit), key = id + ':' + n, shown = O.shown[key] !== undefined, kindKey = 'orders.kind.' + str(u.kind);
			var reveal = el('button', { type: 'button', className: 'small', id: 'order-' + id + '-reveal-' + n },
				shown ? t('orders.hide') : t('orders.reveal'));
			var resend = el('button', { type: 'button', className: 'small', id: 'order-' + id + '-resend-' + n,
				disabled: !unitSent(u) }, t('orders.resend'));

			reveal.addEventListener('click', function () { onReveal(id, n, reveal); });
			resend.addEventListener('click', function () {
				ask('resend', id, o, { unit: u.unit, n: n, code: str(u.masked) });
			});
			ul.appendChild(el('li', { className: 'order-unit', 'data-unit': n },
				el('span', { className: 'muted' }, t('orders.unit', { n: n })),
				u.kind ? el('span', { className: 'badge neutral' }, !has(kindKey) ? str(u.kind) : t(kindKey)) : null,
				el('code', { className: 'unit-content' + (shown ? ' revealed' : ''), id: 'order-' + id + '-unit-' + n },
					shown ? O.shown[key] : str(u.masked) || '–'),
				badge(unitWords(u.state)),
				u.manual ? el('span', { className: 'badge neutral' }, t('orders.manual')) : null,
				num(u.attempt) > 1 || u.resent ? el('span', { className: 'badge neutral' }, t('orders.resent')) : null,
				u.sent_ms ? el('span', { className: 'muted small-text' }, fmtTime(u.sent_ms)) : null,
				u.reason ? el('span', { className: 'reason small-text' }, reasonWords(u.reason)) : null,
				el('span', { className: 'unit-buttons' }, u.masked || unitSent(u) ? reveal : null, resend)));
		});
		if (units.length)
			box.appendChild(ul);

		/* the actions of the order */
		acts = el('div', { className: 'order-actions' });
		[['retry', canRetry(o)], ['deliver', canDeliver(o)], ['ship', canShip(o)]].forEach(function (a) {
			var b = el('button', { type: 'button', className: 'small', id: 'order-' + id + '-' + a[0], disabled: !a[1] },
				t('orders.' + a[0]));

			b.addEventListener('click', function () { ask(a[0], id, o, {}); });
			acts.appendChild(b);
		});
		box.appendChild(acts);

		/* the timeline */
		box.appendChild(el('h4', null, t('orders.timeline')));
		if (!tl.length) {
			box.appendChild(el('p', { className: 'muted' }, t('orders.no_timeline')));
			return;
		}
		ul = el('ul', { className: 'timeline', id: 'order-' + id + '-timeline' });
		tl.forEach(function (e) {
			var key = 'orders.tl.' + str(e.kind);

			ul.appendChild(el('li', null, el('span', { className: 'tl-time' }, fmtTime(e.ms)),
				el('span', { className: 'tl-kind' }, !has(key) ? str(e.kind) : t(key)),
				el('span', { className: 'tl-text' }, str(e.text))));
		});
		box.appendChild(ul);
	}

	/* Which actions make sense (as orders_action.c allows them; the process
	 * still decides, a 409 shows its reason). Retry: a delivery that failed
	 * or never started of a paid order, or a failed shipment confirmation. */
	function canRetry(o) {
		return (o.confirm === 'failed' && o.delivery === 'delivered') ||
			(o.state === 'paid' && (o.delivery === 'failed' || o.delivery === 'cancelled' || o.delivery === 'none'));
	}

	/* By hand: a paid order that is not delivered nor being delivered. */
	function canDeliver(o) {
		return (o.state === 'paid' || o.state === 'shipped' || o.state === 'completed') &&
			['delivered', 'delivering', 'pending'].indexOf(str(o.delivery)) < 0;
	}

	/* Confirm shipment: a paid order not confirmed nor being confirmed. */
	function canShip(o) {
		return o.state === 'paid' && o.confirm !== 'done' && o.confirm !== 'pending';
	}

	/* Shows unit n's content (order_reveal, which the process logs and puts
	 * in the timeline), or hides it again. */
	function onReveal(id, n, button) {
		var key = id + ':' + n;

		if (O.shown[key] !== undefined) {
			delete O.shown[key];
			render();
			return;
		}
		setError('orders-error', '');
		busy(button, control('order_reveal', { order_id: id, unit: parseInt(n, 10) })).then(function (d) {
			O.shown[key] = str(d.content);
			render();
			loadDetail(id);      /* the reveal is in the timeline now */
		}, function (err) {
			if (err.status !== 401)
				setError('orders-error', t('orders.reveal_error') + errText(err));
		});
	}

	/* -------------------------------------------------------------- dialog */

	/* The confirmation dialog (made once, kept at the end of the body). */
	function dialog() {
		var d = $('order-dialog'), ok, cancel;

		if (d)
			return d;
		ok = el('button', { type: 'button', className: 'primary', id: 'order-dialog-ok' });
		cancel = el('button', { type: 'button', id: 'order-dialog-cancel' });
		d = el('div', { className: 'modal', id: 'order-dialog', hidden: true },
			el('div', { className: 'modal-box card', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'order-dialog-title' },
				el('h2', { id: 'order-dialog-title' }),
				el('p', { id: 'order-dialog-text', className: 'dialog-text' }),
				el('label', { htmlFor: 'order-dialog-input', id: 'order-dialog-label', hidden: true }),
				el('textarea', { id: 'order-dialog-input', rows: 3, spellcheck: false, hidden: true }),
				el('p', { id: 'order-dialog-error', className: 'error', role: 'alert', hidden: true }),
				el('div', { className: 'dialog-buttons' }, cancel, ok)));
		ok.addEventListener('click', onDialogOk);
		d.querySelector('textarea').addEventListener('input', function () {
			setError('order-dialog-error', '');
		});
		cancel.addEventListener('click', closeDialog);
		d.addEventListener('keydown', function (ev) {
			if (ev.key === 'Escape')
				closeDialog();
		});
		d.addEventListener('click', function (ev) {
			if (ev.target === d)
				closeDialog();
		});
		document.body.appendChild(d);
		return d;
	}

	/* Asks to confirm action what on order id (o its row, x: unit, n, code). */
	function ask(what, id, o, x) {
		var d = dialog(), vars = { order: id, buyer: str(o.buyer_name) || str(o.buyer_id), n: x.n, code: x.code };
		var input = $('order-dialog-input');

		O.dialog = { what: what, id: id, unit: x.unit };
		$('order-dialog-title').textContent = t('orders.confirm.' + what + '.title', vars);
		$('order-dialog-text').textContent = t('orders.confirm.' + what + '.text', vars);
		$('order-dialog-label').textContent = t('orders.confirm.deliver.label');
		$('order-dialog-ok').textContent = what === 'deliver' ? t('orders.deliver') : t('orders.confirm.ok');
		$('order-dialog-ok').disabled = false;
		$('order-dialog-cancel').textContent = t('orders.confirm.cancel');
		show('order-dialog-label', what === 'deliver');
		show(input, what === 'deliver');
		input.value = '';
		setError('order-dialog-error', '');
		show(d, true);
		document.documentElement.classList.add('has-modal');
		(what === 'deliver' ? input : $('order-dialog-ok')).focus();
	}

	function closeDialog() {
		O.dialog = null;
		show('order-dialog', false);
		document.documentElement.classList.remove('has-modal');
	}

	/* Runs the confirmed action; the answer goes above the list, an error
	 * stays in the dialog. */
	function onDialogOk() {
		var a = O.dialog, data, text;

		if (!a)
			return;
		data = { order_id: a.id };
		if (a.what === 'resend')
			data.unit = a.unit;
		if (a.what === 'deliver') {
			text = $('order-dialog-input').value;
			if (!text.trim())
				return setError('order-dialog-error', t('orders.confirm.deliver.empty'));
			data.text = text;
		}
		setError('order-dialog-error', '');
		busy($('order-dialog-ok'), control('order_' + a.what, data)).then(function () {
			if (O.dialog !== a)
				return;
			closeDialog();
			$('orders-result').textContent = t('orders.done.' + a.what, { order: a.id, n: a.unit });
			show('orders-result', true);
			setError('orders-error', '');
			refresh();
		}, function (err) {
			if (err.status !== 401 && O.dialog === a)
				setError('order-dialog-error', t('orders.failed') + errText(err));
		});
	}

	/* ------------------------------------------------------------- wiring */

	/* The static texts of the section, in the page's language. */
	function texts() {
		var f = $('orders-filter'), keep = f.value || 'all';

		$('orders-title').textContent = t('orders.title');
		$('orders-refresh').textContent = t('orders.refresh');
		$('orders-filter-label').textContent = t('orders.filter');
		clear(f);
		f.appendChild(el('option', { value: 'all' }, t('orders.filter.all')));
		f.appendChild(el('option', { value: 'attention' }, t('orders.filter.attention')));
		f.value = keep;
	}

	/* Sets the section's texts and its listeners (once, at the page's start). */
	function wire() {
		texts();
		$('orders-refresh').addEventListener('click', function () {
			show('orders-result', false);
			loadItems(true);
			refresh();
		});
		$('orders-filter').addEventListener('change', function () {
			render();      /* at once from the list at hand, then as the process filters */
			refresh();
		});
		if (window.skI18n)
			window.skI18n.onChange(function () {
				texts();
				render();
			});
	}

	/* A live event of the page's feed: item titles changed. */
	function onItems() {
		O.itemsMs = 0;
		O.itemsTried = 0;
		loadItems(true);
	}

	/* The app stops (logout, session ended): no dialog stays open. */
	function stop() {
		closeDialog();
	}

	return { refresh: refresh, wire: wire, onItems: onItems, stop: stop, t: t, strings: STR };
};
