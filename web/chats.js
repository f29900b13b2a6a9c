/* SPDX-License-Identifier: MIT */
/*
 * web/chats.js - the conversations screen of the account's page: the chat
 * list by last activity (list_chats: "waiting for you" chats first and
 * highlighted, unread counts, buyer, item title, last text, time, state),
 * one conversation (chat_messages, paged back with before_id; buyer, bot
 * and seller bubbles, pictures, trade cards, the rule or delivery that sent
 * a bot reply, failed sends with their reason; opening it calls chat_read),
 * the reply box (text or a picture URL through send, the seller's quick
 * phrases kept in the rules document's quick_phrases), and one-click
 * resume_chat / pause_chat. web/API.md has the commands.
 *
 * app.js makes it with its state and helpers (window.skChats(k)) and calls
 * start, stop, wire and onEvent (each live event of /api/events: a chat's
 * message, a send's answer, a plugin topic) of what it returns. Live
 * changes refetch the list and the open conversation, throttled; nothing
 * reloads the page.
 *
 * Strings go through t() of web/i18n.js (zh first, en). Everything from the
 * server (buyer texts above all) reaches the page through textContent or
 * properties, never innerHTML; a picture is shown only from the platform's
 * image host (the one host the page's CSP allows), another http(s) URL is a
 * link, anything else plain text. At phone width (style.css) the list and
 * the conversation are one column: opening a chat shows it with a back
 * button.
 */
'use strict';

window.skI18n.add('zh', {
	'chats.nav': '对话',
	'chats.title': '对话',
	'chats.refresh': '刷新',
	'chats.empty': '还没有对话。',
	'chats.none_open': '选择左侧的一个对话。',
	'chats.read_error': '无法读取对话列表：{error}',
	'chats.msgs_error': '无法读取消息：{error}',
	'chats.state.auto': '自动',
	'chats.state.paused': '已暂停',
	'chats.state.waiting': '等你回复',
	'chats.why.page': '已暂停：你在页面回复了',
	'chats.why.manual': '已暂停：你手动暂停或在闲鱼回复了',
	'chats.why.handover': '已暂停：买家要求人工，已转给你',
	'chats.why.waiting': '等你回复：买家要求人工',
	'chats.why.other': '已暂停',
	'chats.why.until': '（到 {when}）',
	'chats.why.auto': '自动回复中',
	'chats.you': '你：',
	'chats.unread': '{n} 条未读',
	'chats.back': '‹ 对话列表',
	'chats.older': '更早的消息',
	'chats.loading': '加载中…',
	'chats.resume': '恢复自动回复',
	'chats.pause': '暂停',
	'chats.pause_for': '暂停时长',
	'chats.pause.600': '10 分钟',
	'chats.pause.3600': '1 小时',
	'chats.pause.86400': '1 天',
	'chats.action_failed': '操作失败：{error}',
	'chats.sender.buyer': '买家',
	'chats.sender.bot': '机器人',
	'chats.sender.seller_app': '你（闲鱼 App）',
	'chats.sender.seller_page': '你（页面）',
	'chats.label.rule': '规则：{rule}',
	'chats.label.handover': '转人工的回复',
	'chats.label.order': '发货：订单 {order_id}',
	'chats.label.unit': '第 {unit} 件',
	'chats.state_msg.queued': '发送中…',
	'chats.state_msg.failed': '发送失败：{reason}',
	'chats.state_msg.failed_plain': '发送失败',
	'chats.image': '[图片]',
	'chats.image_link': '[图片] 打开图片',
	'chats.image_blocked': '[图片] 不能显示的地址',
	'chats.trade.order': '订单 {order_id}',
	'chats.trade.open': '在订单中查看',
	'chats.trade.placed': '买家已拍下，待付款',
	'chats.trade.paid': '买家已付款，等待发货',
	'chats.trade.remind': '提醒发货',
	'chats.trade.shipped': '已发货',
	'chats.trade.completed': '交易成功',
	'chats.trade.closed': '交易关闭',
	'chats.trade.refunding': '买家申请退款',
	'chats.trade.refund_cancelled': '退款已取消',
	'chats.trade.none': '交易消息',
	'chats.reply.text': '回复',
	'chats.reply.placeholder': '输入回复，Ctrl+Enter 发送',
	'chats.reply.image': '或发送图片（https:// 链接）',
	'chats.reply.send': '发送',
	'chats.reply.sent': '已发送，这个对话的自动回复已暂停。',
	'chats.reply.empty': '请输入回复内容或图片链接。',
	'chats.reply.bad_image': '图片链接必须以 https:// 开头。',
	'chats.reply.no_buyer': '不知道这个对话的买家，无法回复。',
	'chats.reply.failed': '未发送：{error}',
	'chats.phrases.title': '常用语',
	'chats.phrases.none': '还没有常用语。',
	'chats.phrases.manage': '管理常用语',
	'chats.phrases.done': '完成',
	'chats.phrases.new': '新常用语',
	'chats.phrases.add': '添加',
	'chats.phrases.remove': '删除常用语“{text}”',
	'chats.phrases.saved': '常用语已保存。',
	'chats.phrases.failed': '常用语未保存：{error}',
	'chats.phrases.too_many': '最多 {n} 条常用语。',
	'chats.phrases.too_long': '每条常用语 1 到 500 字节。',
	'chats.phrases.duplicate': '已有这条常用语。',
	'chats.phrases.no_rules': '规则文件还没读到，暂时不能修改常用语。'
});

window.skI18n.add('en', {
	'chats.nav': 'Chats',
	'chats.title': 'Chats',
	'chats.refresh': 'Refresh',
	'chats.empty': 'No chats yet.',
	'chats.none_open': 'Choose a chat from the list.',
	'chats.read_error': 'Could not read the chats: {error}',
	'chats.msgs_error': 'Could not read the messages: {error}',
	'chats.state.auto': 'auto',
	'chats.state.paused': 'paused',
	'chats.state.waiting': 'waiting for you',
	'chats.why.page': 'Paused: you replied from the page',
	'chats.why.manual': 'Paused: by you or by your reply in the Xianyu app',
	'chats.why.handover': 'Paused: the buyer asked for a person',
	'chats.why.waiting': 'Waiting for you: the buyer asked for a person',
	'chats.why.other': 'Paused',
	'chats.why.until': ' (until {when})',
	'chats.why.auto': 'Answered automatically',
	'chats.you': 'you: ',
	'chats.unread': '{n} unread',
	'chats.back': '‹ All chats',
	'chats.older': 'Earlier messages',
	'chats.loading': 'Loading…',
	'chats.resume': 'Resume auto-reply',
	'chats.pause': 'Pause',
	'chats.pause_for': 'Pause for',
	'chats.pause.600': '10 minutes',
	'chats.pause.3600': '1 hour',
	'chats.pause.86400': '1 day',
	'chats.action_failed': 'Failed: {error}',
	'chats.sender.buyer': 'buyer',
	'chats.sender.bot': 'bot',
	'chats.sender.seller_app': 'you (Xianyu app)',
	'chats.sender.seller_page': 'you (page)',
	'chats.label.rule': 'rule: {rule}',
	'chats.label.handover': 'hand-over reply',
	'chats.label.order': 'delivery: order {order_id}',
	'chats.label.unit': 'unit {unit}',
	'chats.state_msg.queued': 'sending…',
	'chats.state_msg.failed': 'not sent: {reason}',
	'chats.state_msg.failed_plain': 'not sent',
	'chats.image': '[picture]',
	'chats.image_link': '[picture] open it',
	'chats.image_blocked': '[picture] an address that cannot be shown',
	'chats.trade.order': 'Order {order_id}',
	'chats.trade.open': 'See it in the orders',
	'chats.trade.placed': 'placed, not paid yet',
	'chats.trade.paid': 'paid, waiting for delivery',
	'chats.trade.remind': 'asks for the delivery',
	'chats.trade.shipped': 'shipped',
	'chats.trade.completed': 'completed',
	'chats.trade.closed': 'closed',
	'chats.trade.refunding': 'refund requested',
	'chats.trade.refund_cancelled': 'refund cancelled',
	'chats.trade.none': 'trade message',
	'chats.reply.text': 'Reply',
	'chats.reply.placeholder': 'Write a reply, Ctrl+Enter sends',
	'chats.reply.image': 'or send a picture (an https:// link)',
	'chats.reply.send': 'Send',
	'chats.reply.sent': 'Sent; auto-reply is paused in this chat.',
	'chats.reply.empty': 'Write a reply or give a picture link.',
	'chats.reply.bad_image': 'The picture link must start with https://.',
	'chats.reply.no_buyer': 'The buyer of this chat is unknown: no reply possible.',
	'chats.reply.failed': 'Not sent: {error}',
	'chats.phrases.title': 'Quick phrases',
	'chats.phrases.none': 'No quick phrases yet.',
	'chats.phrases.manage': 'Edit quick phrases',
	'chats.phrases.done': 'Done',
	'chats.phrases.new': 'New quick phrase',
	'chats.phrases.add': 'Add',
	'chats.phrases.remove': 'Delete the quick phrase "{text}"',
	'chats.phrases.saved': 'Quick phrases saved.',
	'chats.phrases.failed': 'Quick phrases not saved: {error}',
	'chats.phrases.too_many': 'At most {n} quick phrases.',
	'chats.phrases.too_long': 'Each quick phrase is 1 to 500 bytes.',
	'chats.phrases.duplicate': 'That quick phrase exists already.',
	'chats.phrases.no_rules': 'The rules are not read yet: quick phrases cannot be changed now.'
});

window.skChats = function (k) {
	var S = k.S, $ = k.$, el = k.el, clear = k.clear, show = k.show, setError = k.setError, str = k.str,
		num = k.num, control = k.control, api = k.api, busy = k.busy, errText = k.errText, shop = k.shop,
		rules = k.rules;
	var I18N = window.skI18n, t = I18N.t;

	var LIST_LIMIT = 100, PAGE = 50, PHRASES_MAX = 50, PHRASE_BYTES = 500;
	var PIC = /^https:\/\/img\.alicdn\.com\//, LINK = /^https?:\/\/[^\s]+$/i;
	var HM = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
	var TRADES = ['placed', 'paid', 'remind', 'shipped', 'completed', 'closed', 'refunding', 'refund_cancelled'];

	var C = {
		chats: [],            /* list_chats' chats, in its order */
		listRead: false,
		open: '',             /* the chat shown, '' none */
		msgs: [],             /* its messages read so far, oldest first */
		more: false,          /* older ones exist (chat_messages' "more") */
		loading: false,       /* an older page is being read */
		seq: 0,               /* the open chat's read generation: late answers of another chat are dropped */
		editing: false,       /* the quick phrases editor is open */
		pauseS: '3600',       /* the pause length chosen (kept across redraws) */
		timers: {},
		built: false
	};

	/* ------------------------------------------------------------ helpers */

	/* Runs fn at most once per ms for name (trailing call). */
	function later(name, ms, fn) {
		if (C.timers[name])
			return;
		C.timers[name] = setTimeout(function () {
			C.timers[name] = null;
			fn();
		}, ms);
	}

	function chatOf(id) {
		for (var i = 0; i < C.chats.length; i++)
			if (str(C.chats[i].chat_id) === id)
				return C.chats[i];
		return null;
	}

	/* "waiting", "paused" or "auto" for a list_chats row (an older core that
	 * says only "paused" too). */
	function stateOf(c) {
		var s = str(c && c.state);

		if (s === 'waiting' || s === 'paused' || s === 'auto')
			return s;
		return c && c.paused ? 'paused' : 'auto';
	}

	/* The time of ms in the browser's locale: the time of day for today,
	 * else the date too. */
	function when(ms) {
		var d, now;

		if (!num(ms) || ms <= 0)
			return '';
		d = new Date(ms);
		now = new Date();
		if (d.toDateString() === now.toDateString())
			return d.toLocaleTimeString([], HM);
		return d.toLocaleDateString([], { month: 'numeric', day: 'numeric' }) + ' ' + d.toLocaleTimeString([], HM);
	}

	/* Whether the open conversation is on the screen (what comes in there
	 * is read then). */
	function inSight() {
		var box = $('chat-messages'), r;

		if (document.hidden || !box)
			return false;
		r = box.getBoundingClientRect();
		return r.height > 0 && r.bottom > 0 && r.top < (window.innerHeight || 0);
	}

	function bytes(s) {
		return window.TextEncoder ? new TextEncoder().encode(s).length : unescape(encodeURIComponent(s)).length;
	}

	/* The one line saying why a chat is paused (or that it is not). */
	function whyText(c) {
		var st = stateOf(c), r = str(c && c.pause_reason), s;

		if (st === 'auto')
			return t('chats.why.auto');
		if (st === 'waiting')
			s = t('chats.why.waiting');
		else if (r === 'page' || r === 'manual' || r === 'handover')
			s = t('chats.why.' + r);
		else
			s = t('chats.why.other');
		if (num(c.paused_until_ms) && c.paused_until_ms > 0)
			s += t('chats.why.until', { when: when(c.paused_until_ms) });
		return s;
	}

	function statePill(c) {
		var st = stateOf(c);

		return el('span', { className: 'badge chat-state ' + (st === 'waiting' ? 'bad' : st === 'paused' ? 'warn' : 'good') },
			t('chats.state.' + st));
	}

	/* ---------------------------------------------------------------- list */

	/* Reads list_chats and redraws the list (and the open chat's head). */
	function refresh() {
		if (!S.loggedIn)
			return Promise.resolve();
		return control('list_chats', { limit: LIST_LIMIT }).then(function (d) {
			C.chats = Array.isArray(d.chats) ? d.chats.filter(function (c) { return c && c.chat_id !== undefined; }) : [];
			C.listRead = true;
			/* the open chat was just read: what came since is read too */
			var o = C.open ? chatOf(C.open) : null;
			if (o && num(o.unread) > 0 && inSight()) {
				o.unread = 0;
				markRead(C.open);
			}
			setError('chats-error', '');
			renderList();
			renderHead();
		}, function (err) {
			if (err.status !== 401)
				setError('chats-error', t('chats.read_error', { error: errText(err) }));
		});
	}

	function renderList() {
		var list = $('chats-list');

		if (!list)
			return;
		clear(list);
		C.chats.forEach(function (c) {
			var id = str(c.chat_id), st = stateOf(c), unread = num(c.unread) || 0, li;

			li = el('li', {
				className: 'chat-row ' + st + (id === C.open ? ' active' : '') + (unread ? ' has-unread' : ''),
				id: 'chat-' + id, 'data-chat': id, 'data-state': st, tabIndex: 0, role: 'button'
			},
			el('div', { className: 'chat-row-top' },
				el('span', { className: 'chat-buyer' }, str(c.buyer_name) || str(c.buyer_id) || id),
				unread ? el('span', { className: 'chat-unread', title: t('chats.unread', { n: unread }) }, String(unread)) : null,
				el('span', { className: 'spacer' }),
				el('span', { className: 'chat-time' }, when(c.last_ms))),
			c.item_id ? el('div', { className: 'chat-item' }, shop.itemLabel(c.item_id)) : null,
			el('div', { className: 'chat-row-bottom' },
				el('span', { className: 'chat-last' }, c.own ? t('chats.you') : '', str(c.last_text)),
				statePill(c)));
			li.addEventListener('click', function () { openChat(id); });
			li.addEventListener('keydown', function (ev) {
				if (ev.key === 'Enter' || ev.key === ' ') {
					ev.preventDefault();
					openChat(id);
				}
			});
			list.appendChild(li);
		});
		show('chats-empty', C.listRead && C.chats.length === 0);
	}

	/* ------------------------------------------------------- conversation */

	/* Opens chat id: reads its newest page, marks it read. */
	function openChat(id) {
		var c = chatOf(id);

		C.open = id;
		C.msgs = [];
		C.more = false;
		C.seq++;
		C.editing = false;
		setError('chat-error', '');
		setError('reply-error', '');
		show('reply-result', false);
		show('phrases-result', false);
		$('reply-text').value = '';
		$('reply-image').value = '';
		$('chats-box').classList.add('chat-open');
		if (c && num(c.unread) > 0)
			c.unread = 0;
		renderList();
		renderHead();
		renderMessages(true);
		loadNewest(true);
		markRead(id);
	}

	/* Back to the list (the phone's one column). */
	function closeChat() {
		C.open = '';
		C.msgs = [];
		C.seq++;
		$('chats-box').classList.remove('chat-open');
		renderList();
		renderHead();
		renderMessages(false);
	}

	function markRead(id) {
		control('chat_read', { chat_id: id }).then(function () { /* the list shows 0 already */ }, function () {
			/* an older core without the store: nothing to mark */
		});
	}

	/* Merges rows (oldest first) into the open chat's messages by id. */
	function merge(rows) {
		var byId = {}, out = [];

		C.msgs.concat(rows).forEach(function (m) {
			if (!m || num(m.id) === null)
				return;
			if (!byId[m.id])
				out.push(m);
			byId[m.id] = m;
		});
		out = out.map(function (m) { return byId[m.id]; });
		out.sort(function (a, b) { return a.id - b.id; });
		C.msgs = out;
	}

	/* Reads the open chat's newest page and merges it; bottom: scroll to the
	 * newest message after (always when the view was at the bottom). */
	function loadNewest(bottom) {
		var id = C.open, seq = C.seq;

		if (!id)
			return;
		control('chat_messages', { chat_id: id, limit: PAGE }).then(function (d) {
			var box = $('chat-messages'), atEnd;

			if (seq !== C.seq)
				return;
			atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
			if (!C.msgs.length)
				C.more = d.more === true;
			merge(Array.isArray(d.messages) ? d.messages : []);
			setError('chat-error', '');
			renderMessages(bottom || atEnd);
		}, function (err) {
			if (seq === C.seq && err.status !== 401)
				setError('chat-error', t('chats.msgs_error', { error: errText(err) }));
		});
	}

	/* Reads the page before the oldest message shown, keeping the view where
	 * it was. */
	function loadOlder() {
		var id = C.open, seq = C.seq, first = C.msgs.length ? C.msgs[0].id : 0, box = $('chat-messages');
		var b = $('chat-older');

		if (!id || !first || C.loading)
			return;
		C.loading = true;
		busy(b, control('chat_messages', { chat_id: id, before_id: first, limit: PAGE })).then(function (d) {
			var h = box.scrollHeight, top = box.scrollTop;

			C.loading = false;
			if (seq !== C.seq)
				return;
			C.more = d.more === true;
			merge(Array.isArray(d.messages) ? d.messages : []);
			renderMessages(false);
			box.scrollTop = top + (box.scrollHeight - h);
		}, function (err) {
			C.loading = false;
			if (seq === C.seq && err.status !== 401)
				setError('chat-error', t('chats.msgs_error', { error: errText(err) }));
		});
	}

	/* The open chat's head: buyer, item, state in words, resume / pause. */
	function renderHead() {
		var head = $('chat-head'), c = C.open ? chatOf(C.open) : null, st, resume, pause, sel;

		if (!head)
			return;
		clear(head);
		show('chat-pane-empty', !C.open);
		show('chat-pane', !!C.open);
		if (!C.open)
			return;
		c = c || { chat_id: C.open };
		st = stateOf(c);
		resume = el('button', { type: 'button', id: 'chat-resume', className: 'small primary', hidden: st === 'auto' },
			t('chats.resume'));
		resume.addEventListener('click', function () {
			act(resume, 'resume_chat', { chat_id: C.open });
		});
		sel = el('select', { id: 'chat-pause-seconds', 'aria-label': t('chats.pause_for') });
		['600', '3600', '86400'].forEach(function (s) { sel.appendChild(el('option', { value: s }, t('chats.pause.' + s))); });
		sel.value = C.pauseS;
		sel.addEventListener('change', function () { C.pauseS = sel.value; });
		pause = el('button', { type: 'button', id: 'chat-pause', className: 'small' }, t('chats.pause'));
		pause.addEventListener('click', function () {
			act(pause, 'pause_chat', { chat_id: C.open, seconds: parseInt(sel.value, 10) || 3600 });
		});
		head.appendChild(el('button', { type: 'button', id: 'chat-back', className: 'small chat-back' }, t('chats.back')));
		head.lastChild.addEventListener('click', closeChat);
		head.appendChild(el('div', { className: 'chat-head-main' },
			el('div', { className: 'chat-head-top' },
				el('strong', { className: 'chat-buyer', id: 'chat-buyer' }, str(c.buyer_name) || str(c.buyer_id) || C.open),
				statePill(c)),
			c.item_id ? el('div', { className: 'chat-item' }, shop.itemLabel(c.item_id)) : null,
			el('div', { id: 'chat-why', className: 'chat-why ' + st }, whyText(c))));
		head.appendChild(el('div', { className: 'chat-actions' }, resume,
			el('span', { className: 'chat-pause-box', hidden: st !== 'auto' }, sel, pause)));
	}

	/* resume_chat / pause_chat, then the list again. */
	function act(button, cmd, data) {
		setError('chat-error', '');
		busy(button, control(cmd, data)).then(function () {
			refresh();
		}, function (err) {
			if (err.status !== 401)
				setError('chat-error', t('chats.action_failed', { error: errText(err) }));
		});
	}

	/* A picture: an <img> from the platform's host, a link for another
	 * http(s) address, the bare text otherwise. */
	function picture(url) {
		var u = str(url);

		if (PIC.test(u))
			return el('img', { className: 'msg-pic', src: u, alt: t('chats.image'), loading: 'lazy',
				referrerPolicy: 'no-referrer' });
		if (LINK.test(u))
			return el('a', { className: 'msg-pic-link', href: u, target: '_blank', rel: 'noopener noreferrer' },
				t('chats.image_link'));
		return el('span', { className: 'msg-pic-link muted' }, t('chats.image_blocked'));
	}

	/* A link to the order in the orders screen (its row when listed). */
	function orderLink(id) {
		var a = el('a', { className: 'msg-order-link', href: '#sec-orders' }, t('chats.trade.open'));

		a.addEventListener('click', function (ev) {
			var row = document.getElementById('order-' + id);

			if (row) {
				ev.preventDefault();
				row.scrollIntoView({ block: 'center' });
				row.classList.add('flash');
				setTimeout(function () { row.classList.remove('flash'); }, 1500);
			}
		});
		return a;
	}

	function tradeCard(m) {
		var tr = str(m.trade), oid = str(m.order_id);

		return el('div', { className: 'msg-trade' },
			el('div', { className: 'msg-trade-state' }, t(TRADES.indexOf(tr) >= 0 ? 'chats.trade.' + tr : 'chats.trade.none')),
			oid ? el('div', { className: 'msg-trade-order mono' }, t('chats.trade.order', { order_id: oid })) : null,
			str(m.text) ? el('div', { className: 'msg-trade-text muted' }, str(m.text)) : null,
			oid ? orderLink(oid) : null);
	}

	/* What sent a bot reply: the rule, the delivery, or the plugin's label. */
	function labelOf(m) {
		var l = m.label && typeof m.label === 'object' ? m.label : null, parts = [];

		if (/^handover:/.test(str(m.tag)))
			parts.push(t('chats.label.handover'));
		else if (l && str(l.rule))
			parts.push(t('chats.label.rule', { rule: str(l.rule) }));
		if (l && str(l.order_id))
			parts.push(t('chats.label.order', { order_id: str(l.order_id) }) +
				(num(l.unit) ? ' · ' + t('chats.label.unit', { unit: l.unit }) : ''));
		if (!parts.length && l && str(l.text))
			parts.push(str(l.text));
		if (!parts.length && str(m.plugin))
			parts.push(str(m.plugin));
		return parts.join(' · ');
	}

	function bubble(m) {
		var sender = str(m.sender) || (m.dir === 'out' ? 'bot' : 'buyer'), kind = str(m.kind) || 'text';
		var out = str(m.dir) === 'out', body, meta, label, state = str(m.state);

		if (kind === 'system')
			return el('li', { className: 'msg system', 'data-id': m.id }, el('span', null, str(m.text)),
				el('span', { className: 'msg-time' }, ' · ' + when(m.ms)));
		if (kind === 'image')
			body = el('div', { className: 'msg-body' }, picture(m.image_url));
		else if (kind === 'trade')
			body = el('div', { className: 'msg-body' }, tradeCard(m));
		else
			body = el('div', { className: 'msg-body msg-text' }, str(m.text));
		label = sender === 'bot' ? labelOf(m) : '';
		meta = el('div', { className: 'msg-meta' },
			el('span', { className: 'msg-sender' }, t('chats.sender.' + (['buyer', 'bot', 'seller_app', 'seller_page']
				.indexOf(sender) >= 0 ? sender : 'buyer'))),
			label ? el('span', { className: 'msg-label' }, label) : null,
			el('span', { className: 'msg-time' }, when(m.ms)),
			state === 'queued' ? el('span', { className: 'msg-queued' }, t('chats.state_msg.queued')) : null);
		return el('li', { className: 'msg ' + (out ? 'out ' : 'in ') + sender + ' k-' + kind + (state === 'failed' ? ' failed' : ''),
			'data-id': m.id, 'data-sender': sender },
		el('div', { className: 'msg-bubble' }, body,
			state === 'failed' ? el('div', { className: 'msg-failed', role: 'note' }, str(m.reason)
				? t('chats.state_msg.failed', { reason: str(m.reason) }) : t('chats.state_msg.failed_plain')) : null),
		meta);
	}

	/* Redraws the open chat's messages; bottom: scroll to the newest. */
	function renderMessages(bottom) {
		var list = $('chat-list'), box = $('chat-messages');

		if (!list)
			return;
		clear(list);
		show('chat-older', !!C.open && C.more);
		C.msgs.forEach(function (m) { list.appendChild(bubble(m)); });
		if (bottom)
			box.scrollTop = box.scrollHeight;
	}

	/* --------------------------------------------------------------- reply */

	function onSend(ev) {
		var c = chatOf(C.open), text = $('reply-text').value, img = $('reply-image').value.trim(), sends = [];
		var b = $('reply-send');

		if (ev)
			ev.preventDefault();
		show('reply-result', false);
		if (!C.open)
			return;
		if (!c || !str(c.buyer_id))
			return setError('reply-error', t('chats.reply.no_buyer'));
		if (!text.trim() && !img)
			return setError('reply-error', t('chats.reply.empty'));
		if (img && !/^https:\/\/\S+$/i.test(img))
			return setError('reply-error', t('chats.reply.bad_image'));
		setError('reply-error', '');
		if (text.trim())
			sends.push({ chat_id: C.open, buyer_id: str(c.buyer_id), text: text });
		if (img)
			sends.push({ chat_id: C.open, buyer_id: str(c.buyer_id), image_url: img });
		/* one after the other: the order the buyer sees */
		var chain = sends.reduce(function (p, data) {
			return p.then(function () {
				return control('send', data).then(function () {
					if (data.text !== undefined)
						$('reply-text').value = '';
					else
						$('reply-image').value = '';
				});
			});
		}, Promise.resolve());
		busy(b, chain).then(function () {
			$('reply-result').textContent = t('chats.reply.sent');
			show('reply-result', true);
			loadNewest(true);
			refresh();
			/* the pause comes with the core's seller_reply topic: read again */
			later('afterSend', 1000, refresh);
		}, function (err) {
			if (err.status !== 401)
				setError('reply-error', t('chats.reply.failed', { error: errText(err) }));
			loadNewest(true);
		});
	}

	/* ------------------------------------------------------- quick phrases */

	function phrases() {
		var q = S.doc && Array.isArray(S.doc.quick_phrases) ? S.doc.quick_phrases : [];

		return q.filter(function (p) { return typeof p === 'string'; });
	}

	/* Puts phrase p into the reply box at the cursor. */
	function usePhrase(p) {
		var ta = $('reply-text'), s = ta.selectionStart, e = ta.selectionEnd, v = ta.value;

		if (typeof s !== 'number' || document.activeElement !== ta)
			s = e = v.length;
		ta.value = v.slice(0, s) + p + v.slice(e);
		ta.focus();
		ta.selectionStart = ta.selectionEnd = s + p.length;
	}

	function renderPhrases() {
		var box = $('phrases'), edit = $('phrases-edit'), list = phrases();

		if (!box)
			return;
		clear(box);
		clear(edit);
		list.forEach(function (p, i) {
			var b = el('button', { type: 'button', className: 'small phrase', id: 'phrase-' + i, title: p }, p);

			b.addEventListener('click', function () { usePhrase(p); });
			box.appendChild(b);
		});
		if (!list.length)
			box.appendChild(el('span', { className: 'muted small-text', id: 'phrases-none' }, t('chats.phrases.none')));
		$('phrases-manage').textContent = C.editing ? t('chats.phrases.done') : t('chats.phrases.manage');
		show('phrases-editor', C.editing);
		list.forEach(function (p, i) {
			var del = el('button', { type: 'button', className: 'small danger', id: 'phrase-' + i + '-delete',
				'aria-label': t('chats.phrases.remove', { text: p }) }, '✕');

			del.addEventListener('click', function () {
				savePhrases(list.filter(function (x, j) { return j !== i; }), del);
			});
			edit.appendChild(el('li', null, el('span', { className: 'phrase-text' }, p), del));
		});
	}

	function onPhraseAdd(ev) {
		var input = $('phrase-new'), p = input.value.trim(), list = phrases();

		if (ev)
			ev.preventDefault();
		show('phrases-result', false);
		if (!p || bytes(p) > PHRASE_BYTES)
			return setError('phrases-error', t('chats.phrases.too_long'));
		if (list.length >= PHRASES_MAX)
			return setError('phrases-error', t('chats.phrases.too_many', { n: PHRASES_MAX }));
		if (list.indexOf(p) >= 0)
			return setError('phrases-error', t('chats.phrases.duplicate'));
		savePhrases(list.concat([p]), $('phrase-add')).then(function (saved) {
			if (saved)
				input.value = '';
		});
	}

	/* Saves list as the rules document's quick_phrases: the saved document is
	 * read again (GET /api/rules) and only that key changes in what is put
	 * back, so edits not yet saved in the other sections stay unsaved there;
	 * S.doc gets the same list. Resolves true when saved. */
	function savePhrases(list, button) {
		setError('phrases-error', '');
		show('phrases-result', false);
		if (!S.doc || !S.rulesLoaded) {
			setError('phrases-error', t('chats.phrases.no_rules'));
			return Promise.resolve(false);
		}
		return busy(button, api('GET', '/api/rules').then(function (ans) {
			var doc = ans && ans.rules && typeof ans.rules === 'object' && !Array.isArray(ans.rules) ? ans.rules : {};

			doc.quick_phrases = list;
			return api('PUT', '/api/rules', doc);
		})).then(function () {
			S.doc.quick_phrases = list.slice();
			renderPhrases();
			$('phrases-result').textContent = t('chats.phrases.saved');
			show('phrases-result', true);
			return true;
		}, function (err) {
			var lines = err && err.status === 422 && err.body && Array.isArray(err.body.errors) ? err.body.errors.map(str) : [];

			if (!err || err.status !== 401)
				setError('phrases-error', t('chats.phrases.failed', { error: lines.length ? lines.join('; ') : errText(err) }));
			return false;
		});
	}

	/* ---------------------------------------------------------- the screen */

	/* Builds the section's parts in the page's language (again at a switch). */
	function build() {
		var box = $('chats-box'), refreshB, form, send, manage, add;

		if (!box)
			return;
		clear(box);
		refreshB = el('button', { type: 'button', id: 'chats-refresh', className: 'small' }, t('chats.refresh'));
		refreshB.addEventListener('click', function () {
			refresh();
			loadNewest(false);
		});
		send = el('button', { type: 'submit', id: 'reply-send', className: 'primary' }, t('chats.reply.send'));
		form = el('form', { id: 'reply-form', className: 'reply-form', noValidate: true },
			el('div', { className: 'phrases-row' },
				el('span', { className: 'label' }, t('chats.phrases.title')),
				el('div', { id: 'phrases', className: 'phrases' }),
				manage = el('button', { type: 'button', id: 'phrases-manage', className: 'small link-button' })),
			el('div', { id: 'phrases-editor', className: 'phrases-editor', hidden: true },
				el('ul', { id: 'phrases-edit', className: 'phrases-edit' }),
				el('div', { className: 'phrase-add-row' },
					el('input', { id: 'phrase-new', type: 'text', maxLength: 500, placeholder: t('chats.phrases.new'),
						'aria-label': t('chats.phrases.new') }),
					add = el('button', { type: 'button', id: 'phrase-add', className: 'small' }, t('chats.phrases.add')))),
			el('p', { id: 'phrases-error', className: 'error', role: 'alert', hidden: true }),
			el('p', { id: 'phrases-result', className: 'ok-text', role: 'status', hidden: true }),
			el('label', { htmlFor: 'reply-text', className: 'sr-only' }, t('chats.reply.text')),
			el('textarea', { id: 'reply-text', rows: 2, placeholder: t('chats.reply.placeholder') }),
			el('div', { className: 'reply-row' },
				el('input', { id: 'reply-image', type: 'url', placeholder: t('chats.reply.image'),
					'aria-label': t('chats.reply.image'), spellcheck: false }),
				send),
			el('p', { id: 'reply-error', className: 'error', role: 'alert', hidden: true }),
			el('p', { id: 'reply-result', className: 'ok-text', role: 'status', hidden: true }));
		manage.addEventListener('click', function () {
			C.editing = !C.editing;
			renderPhrases();
			if (C.editing)
				$('phrase-new').focus();
		});
		add.addEventListener('click', onPhraseAdd);
		form.addEventListener('submit', onSend);
		box.appendChild(el('div', { className: 'section-head' },
			el('h2', null, t('chats.title')), refreshB));
		box.appendChild(el('p', { id: 'chats-error', className: 'error', role: 'alert', hidden: true }));
		box.appendChild(el('div', { className: 'chats-layout' },
			el('div', { className: 'chats-side' },
				el('ul', { id: 'chats-list', className: 'chats-list' }),
				el('p', { id: 'chats-empty', className: 'muted', hidden: true }, t('chats.empty'))),
			el('div', { className: 'chat-main' },
				el('p', { id: 'chat-pane-empty', className: 'muted chat-pane-empty' }, t('chats.none_open')),
				el('div', { id: 'chat-pane', className: 'chat-pane', hidden: true },
					el('div', { id: 'chat-head', className: 'chat-head' }),
					el('p', { id: 'chat-error', className: 'error', role: 'alert', hidden: true }),
					el('div', { id: 'chat-messages', className: 'chat-messages' },
						el('button', { type: 'button', id: 'chat-older', className: 'small chat-older', hidden: true },
							t('chats.older')),
						el('ul', { id: 'chat-list', className: 'chat-msgs' })),
					form))));
		$('chat-older').addEventListener('click', loadOlder);
		$('phrase-new').addEventListener('keydown', function (ev) {
			if (ev.key === 'Enter') {
				ev.preventDefault();
				onPhraseAdd();
			}
		});
		$('reply-text').addEventListener('keydown', function (ev) {
			if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey))
				onSend(ev);
		});
		if (C.open)
			box.classList.add('chat-open');
		C.built = true;
	}

	/* A language switch: built again, the chat and the reply kept. */
	function onLang() {
		var text = $('reply-text') ? $('reply-text').value : '', img = $('reply-image') ? $('reply-image').value : '';
		var top = $('chat-messages') ? $('chat-messages').scrollTop : 0;

		build();
		$('reply-text').value = text;
		$('reply-image').value = img;
		renderAll(false);
		$('chat-messages').scrollTop = top;
	}

	function renderAll(bottom) {
		renderList();
		renderHead();
		renderMessages(bottom);
		renderPhrases();
	}

	/* ------------------------------------------------------------ the app */

	function wire() {
		build();
		renderAll(false);
		I18N.onChange(onLang);
		if (rules && rules.listen)
			rules.listen(function (what) {
				if (what === 'loaded' || what === 'saved')
					renderPhrases();
			});
	}

	function start() {
		refresh();
		renderPhrases();
		if (C.open)
			loadNewest(false);
	}

	function stop() {
		Object.keys(C.timers).forEach(function (n) {
			clearTimeout(C.timers[n]);
			C.timers[n] = null;
		});
	}

	/* A live event of /api/events: a chat's message or a send's answer
	 * refetches the list (and the open chat); a pause or hand-over topic the
	 * list. */
	function onEvent(j) {
		if (!j || typeof j !== 'object')
			return;
		if (j.kind === 'event' && j.chat_id !== undefined) {
			later('list', 600, refresh);
			if (C.open && str(j.chat_id) === C.open)
				later('open', 400, function () { loadNewest(false); });
		} else if (j.kind === 'send') {
			later('list', 600, refresh);
			if (C.open)
				later('open', 400, function () { loadNewest(false); });
		} else if (j.kind === 'plugin' && /^(core\.seller_reply|autoreply\.)/.test(str(j.topic))) {
			later('list', 300, refresh);
		}
	}

	return {
		wire: wire,
		start: start,
		stop: stop,
		refresh: refresh,
		onEvent: onEvent,
		open: openChat
	};
};
