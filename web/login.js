/* SPDX-License-Identifier: MIT */
/*
 * web/login.js - the Xianyu login of the account's page: the QR login dialog
 * (login_qr_start / login_qr_state / login_qr_cancel, polled every poll_ms),
 * the paste-a-cookie fallback (cookie_set), the banner of a FAILED account by
 * its fail kind (login / risk / kicked) and the "last renewed" line of the
 * status (web/API.md has the commands and the status fields). app.js makes it
 * with its state and helpers (window.skLogin(k)) and calls what it returns.
 *
 * The QR is an SVG the process made (libqrencode). It is shown as an <img>
 * with a data: URI: an SVG image cannot run scripts or load anything, and the
 * page's CSP already allows img-src data: (nothing loosened). Chinese first,
 * English beside it. The pasted cookie is a secret: a password field, cleared
 * after each submit, never echoed, never in an error text of the page.
 */
'use strict';

window.skLogin = function (k) {
	var S = k.S, $ = k.$, control = k.control, errText = k.errText, fmtTime = k.fmtTime, num = k.num,
		refreshStatus = k.refreshStatus, setBanner = k.setBanner, setError = k.setError, show = k.show,
		str = k.str, t = window.skI18n.t;

	var POLL_MIN_MS = 500, POLL_MAX_MS = 10000, POLL_DEFAULT_MS = 2000;
	var LOCAL_GIVE_UP_MS = 600000;      /* stop polling a QR nobody scans (the process expires it sooner) */
	var WATCH_MS = 1000, WATCH_MAX_MS = 90000;
	var SVG_MAX = 512 * 1024;

	/* The states of login_qr_state (their words: 'login.qr.<STATE>' in
	 * web/app_i18n.js). final: polling stops. */
	var QR_STATES = {
		IDLE: { final: true, cls: 'off' },
		NEW: { cls: 'off' },
		SCANED: { cls: 'warn' },
		CONFIRMED: { cls: 'warn' },
		VERIFY: { cls: 'bad' },
		EXPIRED: { final: true, cls: 'bad' },
		CANCELED: { final: true, cls: 'bad' },
		ERROR: { final: true, cls: 'bad' },
		DONE: { final: true, cls: 'good' }
	};

	var L = {
		running: false,   /* a QR login of this page is being polled */
		gen: 0,           /* bumped at each start/stop: late answers of an old run are dropped */
		pollMs: POLL_DEFAULT_MS,
		pollTimer: null,
		startedMs: 0,
		watchTimer: null, /* after a login: refreshes the status until CONNECTED */
		watchUntil: 0,
		watching: false,
		lastState: '',
		msgZh: '',        /* the process's words about the state (message_zh, message_en) */
		msgEn: '',
		svg: ''           /* the SVG shown */
	};

	/* ------------------------------------------------------------- helpers */

	/* "N 分钟前" ("N min ago") for a past wall-clock time in ms. */
	function ago(ms) {
		var s = Math.max(0, Math.round((Date.now() - ms) / 1000)), m = Math.floor(s / 60), h = Math.floor(m / 60);

		if (s < 60)
			return t('login.ago.now');
		if (m < 60)
			return t('login.ago.min', { n: m });
		if (h < 48)
			return t('login.ago.h', { n: h });
		return t('login.ago.d', { n: Math.floor(h / 24) });
	}

	/* "HH:MM:SS（N 分钟后）" for a future wall-clock time in ms. */
	function when(ms) {
		var m = Math.max(0, Math.round((ms - Date.now()) / 60000));

		return fmtTime(ms) + (m > 0 ? t('login.in_min', { n: m }) : '');
	}

	/* The connection state's words ('app.state.<STATE>'), the name when unknown. */
	function stateText(state) {
		var key = 'app.state.' + state;

		return t(key) !== key ? t(key) : state;
	}

	/* Only an http(s) URL becomes a link (never javascript: or data:). */
	function safeUrl(u) {
		u = str(u);
		return /^https?:\/\/[^\s]+$/i.test(u) ? u : '';
	}

	/* The status's session object, {} when the process has none. */
	function sess(d) {
		return d && d.session && typeof d.session === 'object' ? d.session : {};
	}

	/* ---------------------------------------------------------- the dialog */

	function dialogOpen() {
		return !$('qr-dialog').hidden;
	}

	function openDialog() {
		show('qr-dialog', true);
		document.documentElement.classList.add('has-modal');
	}

	/* Closes the dialog; a QR login still running is canceled. */
	function closeDialog() {
		if (L.running)
			cancelQr();
		stopWatch();
		show('qr-dialog', false);
		document.documentElement.classList.remove('has-modal');
		$('cookie-input').value = '';
	}

	function resetRun() {
		var box = $('qr-box');

		k.clear(box);
		box.appendChild(k.el('span', { id: 'qr-placeholder', className: 'muted' }, t('login.qr.making')));
		box.classList.remove('stale');
		L.svg = '';
		$('qr-state').textContent = '';
		$('qr-state').className = 'qr-state';
		show('qr-verify', false);
		show('qr-message', false);
		show('qr-conn', false);
		show('qr-success', false);
		$('qr-success').textContent = '';
		$('qr-conn').textContent = '';
		$('qr-conn').removeAttribute('data-state');
		setError('qr-error', '');
		show('qr-new', false);
		show('qr-cancel', false);
	}

	/* Puts the process's SVG into the box as an <img> (data: URI), unless it
	 * shows that one already. The answers of a state without a code (the
	 * code still being made, or gone: CONFIRMED and after) have svg "": the
	 * box keeps what it shows. false when svg is no SVG (an error when not ""). */
	function showQr(svg) {
		var box = $('qr-box'), img;

		svg = str(svg).trim();
		if (!svg)
			return false;
		if (!/^(<\?xml[^>]*>\s*)?<svg[\s>]/.test(svg) || svg.length > SVG_MAX) {
			setError('qr-error', t('login.qr.not_svg'));
			return false;
		}
		if (svg === L.svg)
			return true;
		L.svg = svg;
		img = k.el('img', { id: 'qr-img', alt: t('login.qr.alt'), width: 240, height: 240,
			src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg) });
		k.clear(box);
		box.appendChild(img);
		return true;
	}

	/* The words of a QR login state in the current language. */
	function qrWords(st) {
		if (st === 'NEW' && !L.svg)
			return t('login.qr.making');
		return QR_STATES[st] ? t('login.qr.' + st) : t('login.qr.unknown', { state: st });
	}

	/* The process's own words about the QR login, in the page's language
	 * when it gave both ('' when none). */
	function qrMessage() {
		return window.skI18n.lang() === 'en' ? L.msgEn || L.msgZh : L.msgZh || L.msgEn;
	}

	/* A language switch: the dialog's state line and message again. */
	window.skI18n.onChange(function () {
		if (!L.lastState)
			return;
		$('qr-state').textContent = qrWords(L.lastState);
		$('qr-message').textContent = qrMessage();
	});

	/* Shows a login_qr_state answer (or the start's) in the dialog. */
	function renderQr(d) {
		var st = str(d.state), def = QR_STATES[st], words, url, final, msg;

		L.lastState = st;
		showQr(d.svg);
		words = qrWords(st);
		/* the process's own words under it, when it has some (an error's reason above all) */
		L.msgZh = st === 'NEW' || st === 'DONE' ? '' : str(d.message_zh);
		L.msgEn = st === 'NEW' || st === 'DONE' ? '' : str(d.message_en);
		msg = qrMessage();
		$('qr-message').textContent = msg;
		show('qr-message', !!msg);
		$('qr-state').textContent = words;
		$('qr-state').className = 'qr-state ' + (def ? def.cls : 'warn');
		$('qr-state').setAttribute('data-state', st);
		url = st === 'VERIFY' ? safeUrl(d.verify_url) : '';
		$('qr-verify-link').href = url || '#';
		show('qr-verify', !!url);
		final = !!(def && def.final);
		$('qr-box').classList.toggle('stale', final || st === 'CONFIRMED' || st === 'VERIFY');
		show('qr-new', final && st !== 'DONE');
		show('qr-cancel', !final);
		if (st === 'DONE') {
			$('qr-success').textContent = t(d.unb ? 'login.qr.done_unb' : 'login.qr.done', { unb: str(d.unb) });
			show('qr-success', true);
			startWatch();
		}
	}

	function stopPoll() {
		L.running = false;
		L.gen++;
		clearTimeout(L.pollTimer);
		L.pollTimer = null;
	}

	function schedulePoll(gen) {
		clearTimeout(L.pollTimer);
		L.pollTimer = setTimeout(function () { poll(gen); }, L.pollMs);
	}

	/* One login_qr_state; schedules the next one until a final state. */
	function poll(gen) {
		if (gen !== L.gen || !S.loggedIn)
			return;
		if (Date.now() - L.startedMs > LOCAL_GIVE_UP_MS) {
			cancelQr();
			setError('qr-error', t('login.qr.gave_up'));
			show('qr-new', true);
			return;
		}
		control('login_qr_state').then(function (d) {
			var def;

			if (gen !== L.gen)
				return;
			setError('qr-error', '');
			renderQr(d);
			def = QR_STATES[str(d.state)];
			if (def && def.final)
				stopPoll();
			else
				schedulePoll(gen);
		}, function (err) {
			if (gen !== L.gen || err.status === 401)
				return;
			/* the bot may be busy or restarting: say so and keep asking */
			setError('qr-error', t('login.qr.read_failed', { err: errText(err) }));
			schedulePoll(gen);
		});
	}

	/* Starts a QR login in the process (one running is replaced) and polls it. */
	function startQr() {
		var gen;

		stopPoll();
		stopWatch();
		resetRun();
		gen = L.gen;
		$('qr-new').disabled = true;
		control('login_qr_start').then(function (d) {
			$('qr-new').disabled = false;
			if (gen !== L.gen)
				return;
			L.pollMs = Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, num(d.poll_ms) || POLL_DEFAULT_MS));
			L.running = true;
			L.startedMs = Date.now();
			renderQr(d);
			if (QR_STATES[L.lastState] && QR_STATES[L.lastState].final)
				stopPoll();
			else
				schedulePoll(gen);
		}, function (err) {
			$('qr-new').disabled = false;
			if (gen !== L.gen || err.status === 401)
				return;
			$('qr-state').textContent = '';
			setError('qr-error', t('login.qr.start_failed', { err: errText(err) }));
			show('qr-new', true);
		});
	}

	/* Cancels the page's QR login (in the process too). */
	function cancelQr() {
		var wasRunning = L.running;

		stopPoll();
		show('qr-cancel', false);
		if (!wasRunning)
			return;
		control('login_qr_cancel').then(function () {
			if (!dialogOpen() || L.running)
				return;
			renderQr({ state: 'CANCELED' });
		}, function (err) {
			if (err.status !== 401 && dialogOpen())
				setError('qr-error', t('login.qr.cancel_failed', { err: errText(err) }));
		});
	}

	/* ----------------------------------------------- after a login: reconnecting */

	function stopWatch() {
		L.watching = false;
		clearInterval(L.watchTimer);
		L.watchTimer = null;
	}

	/* Refreshes the status every second until the account is CONNECTED (the
	 * dialog shows each state on the way), for at most WATCH_MAX_MS. */
	function startWatch() {
		stopWatch();
		L.watching = true;
		L.watchUntil = Date.now() + WATCH_MAX_MS;
		show('qr-conn', true);
		$('qr-conn').textContent = t('login.conn', { state: S.lastState ? stateText(S.lastState) : '…' });
		refreshStatus();
		L.watchTimer = setInterval(function () {
			if (Date.now() > L.watchUntil) {
				stopWatch();
				setError('qr-error', t('login.not_connected'));
				return;
			}
			refreshStatus();
		}, WATCH_MS);
	}

	/* The account's connection state, from the status or a live event. */
	function onState(state) {
		state = str(state);
		if (!L.watching || !state)
			return;
		$('qr-conn').textContent = t('login.conn', { state: stateText(state) });
		$('qr-conn').setAttribute('data-state', state);
		if (state === 'CONNECTED') {
			stopWatch();
			$('qr-success').textContent = t('login.connected_again');
			show('qr-success', true);
			$('cookie-result').textContent = t('login.cookie_connected');
		}
	}

	/* ----------------------------------------------------- paste a cookie */

	/* cookie_set with the pasted cookie; the field is cleared whatever the answer. */
	function onCookieSubmit() {
		var input = $('cookie-input'), cookie = input.value.trim();

		input.value = '';
		show('cookie-result', false);
		if (!cookie) {
			setError('cookie-error', t('login.cookie.empty'));
			return;
		}
		setError('cookie-error', '');
		k.busy($('cookie-submit'), control('cookie_set', { cookie: cookie })).then(function (d) {
			$('cookie-result').textContent = t(d.unb ? 'login.cookie.saved_unb' : 'login.cookie.saved',
				{ unb: str(d.unb), state: d.state ? stateText(str(d.state)) : '…' });
			show('cookie-result', true);
			if (L.running)
				cancelQr();
			startWatch();
		}, function (err) {
			if (err.status !== 401)
				setError('cookie-error', t('login.cookie.refused', { err: errText(err) }));
		});
	}

	/* ---------------------------------------------------------------- entries */

	/* Opens the dialog and starts a QR login. */
	function openQr() {
		$('cookie-box').open = false;
		openDialog();
		$('qr-close').focus();
		startQr();
	}

	/* Opens the dialog on the paste field (no QR login is started). */
	function openCookie() {
		stopPoll();
		stopWatch();
		resetRun();
		$('qr-state').textContent = '';
		show('qr-new', true);
		setError('cookie-error', '');
		show('cookie-result', false);
		$('cookie-box').open = true;
		openDialog();
		$('cookie-input').focus();
	}

	/* The "last renewed" lines of the header and the status section. */
	function renderSession(d) {
		var s = sess(d), last = num(s.last_renewed_ms), next = num(s.next_renew_ms), parts = [], top;

		if (last === null) {
			show('top-renewed', false);
			$('status-session').textContent = d && d.unb ? 'unb ' + str(d.unb) : '–';
			return;
		}
		top = last > 0 ? ago(last) : '';
		k.clear($('top-renewed'));
		$('top-renewed').appendChild(k.el('span', null, last > 0 ? t('login.renewed', { ago: top })
			: t('login.not_renewed')));
		$('top-renewed').title = last > 0 ? fmtTime(last) : '';
		show('top-renewed', true);
		if (d.unb)
			parts.push('unb ' + str(d.unb));
		parts.push(last > 0 ? t('login.last_renewed', { time: fmtTime(last), ago: ago(last) })
			: t('login.not_renewed'));
		if (next > 0)
			parts.push(t('login.next', { when: when(next) }));
		if (num(s.renewals) !== null)
			parts.push(t('login.renewals', { n: s.renewals }) +
				(num(s.renew_failures) ? t('login.renew_failed', { n: s.renew_failures }) : ''));
		$('status-session').textContent = parts.join(' · ');
	}

	/* The banner of a FAILED account, by the kind of failure: what stopped and
	 * the one thing that brings it back. */
	function failedBanner(d) {
		var s = sess(d), kind = str(s.fail_kind), last = d.last_error ? t('login.last_error', { err: str(d.last_error) }) : '';
		var punish = safeUrl(s.punish_url), next = num(s.next_check_ms);
		var stopped = t('login.stopped');

		if (!kind)
			kind = d.needs_relogin === true ? 'login' : 'retries';
		if (kind === 'risk') {
			setBanner(t('login.risk.title'), stopped + t('login.risk.text') + last);
			$('banner-punish').href = punish || '#';
			show('banner-punish', !!punish);
			$('banner-next').textContent = next > Date.now() ? t('login.risk.next', { when: when(next) })
				: t('login.risk.later');
			show('banner-next', true);
			show('banner-qr', false);
			show('banner-paste', false);
		} else if (kind === 'kicked') {
			setBanner(t('login.kicked.title'), stopped + t('login.kicked.text') + last);
			show('banner-qr', true);
			show('banner-paste', true);
		} else if (kind === 'login') {
			setBanner(t('login.expired.title'), stopped + t('login.expired.text') + last);
			show('banner-qr', true);
			show('banner-paste', true);
		} else {
			setBanner(t('login.failed.title'), stopped + last + t('login.failed.text'));
			show('banner-qr', true);
			show('banner-paste', true);
		}
		show('banner-actions', true);
	}

	/* Everything of this module that follows the status. */
	function render(d) {
		renderSession(d);
		onState(d && d.state);
	}

	/* Logout: nothing keeps running. */
	function stop() {
		stopPoll();
		stopWatch();
		show('qr-dialog', false);
		document.documentElement.classList.remove('has-modal');
		$('cookie-input').value = '';
	}

	function wire() {
		$('banner-qr').addEventListener('click', openQr);
		$('banner-paste').addEventListener('click', openCookie);
		$('login-qr-open').addEventListener('click', openQr);
		$('login-cookie-open').addEventListener('click', openCookie);
		$('qr-new').addEventListener('click', startQr);
		$('qr-cancel').addEventListener('click', cancelQr);
		$('qr-close').addEventListener('click', closeDialog);
		$('cookie-submit').addEventListener('click', onCookieSubmit);
		$('cookie-input').addEventListener('keydown', function (ev) {
			if (ev.key === 'Enter') {
				ev.preventDefault();
				onCookieSubmit();
			}
		});
		document.addEventListener('keydown', function (ev) {
			if (ev.key === 'Escape' && dialogOpen())
				closeDialog();
		});
	}

	return { wire: wire, render: render, onState: onState, failedBanner: failedBanner, stop: stop,
		openQr: openQr, openCookie: openCookie };
};
