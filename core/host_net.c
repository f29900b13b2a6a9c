/* SPDX-License-Identifier: MIT */
/*
 * core/host_net.c - a plugin's network calls: signed mtop calls (sk_mtop) and
 * HTTP POSTs (sk_http_post, since 1.3) and chat opens (sk_chat_open, since
 * 1.5), all started by the backend and completed on the loop. Each call in
 * flight is one host_netc record.
 */
#include "host_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A new record of a call of pl, first on *list (&h->mtops or &h->https),
 * holding ud and free_ud. Returns it, or NULL when out of memory. */
static host_netc *host_net_new(host_plug *pl, host_netc **list, void *ud, sk_free_fn free_ud)
{
	host_netc *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->h = pl->h;
	c->pl = pl;
	c->ud = ud;
	c->free_ud = free_ud;
	c->list = list;
	c->next = *list;
	if (*list)
		(*list)->prev = c;
	*list = c;
	return c;
}

/* Takes a record out of the list of calls in flight it is on; nothing when
 * it is out already (an HTTP record leaves before its callback runs, which
 * may start another request at the head of the list). */
static void host_net_unlink(host_netc *c)
{
	if (!c->list)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		*c->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->list = NULL;
}

/* Unlinks and frees a record (not its ud: that is the caller's business). */
static void host_net_free(host_netc *c)
{
	host_net_unlink(c);
	free(c->ret);
	free(c->body);
	free(c);
}

/* A plugin is unloaded: its mtop calls stay for the backend's callback,
 * without their plugin, and its HTTP requests are cancelled in the backend
 * and freed. Each free_ud runs here, exactly once. */
void host_net_drop(host *h, host_plug *pl)
{
	for (host_netc *c = h->mtops; c; c = c->next)
		if (c->pl == pl) {
			c->pl = NULL;
			host_free_ud(c->free_ud, c->ud);
		}
	for (host_netc *hc = h->https, *hn; hc; hc = hn) {
		hn = hc->next;
		if (hc->pl != pl)
			continue;
		h->be.http_cancel(h->be.ud, hc->req);
		host_free_ud(hc->free_ud, hc->ud);
		host_net_free(hc);
	}
	for (host_netc *cc = h->chats, *cn; cc; cc = cn) {
		cn = cc->next;
		if (cc->pl != pl)
			continue;
		h->be.chat_cancel(h->be.ud, cc->req);
		host_free_ud(cc->free_ud, cc->ud);
		host_net_free(cc);
	}
}

/* host_free: frees the records left when every plugin is gone (they have no
 * free_ud left to call), and logs the mtop calls the backend never finished. */
void host_net_free_all(host *h)
{
	int n = 0;

	while (h->mtops) {
		host_net_free(h->mtops);
		n++;
	}
	if (n)
		host_say(h, NULL, SK_LOG_WARN, "%d mtop calls never completed (the backend must finish them "
			 "before host_free)", n);
	/* Unloading cancelled every HTTP request and chat open; none can be left. */
	while (h->https)
		host_net_free(h->https);
	while (h->chats)
		host_net_free(h->chats);
}

/* An mtop call finished: the plugin's fn (if it is still loaded) and free_ud. */
static void host_mtop_finish(host_netc *c, int result, const char *ret, const char *data_json)
{
	host_plug *pl = c->pl;

	if (pl) {
		if (c->fn.mtop) {
			host_enter(pl);
			c->fn.mtop(&pl->pub, result, ret ? ret : "", data_json ? data_json : "", c->ud);
			host_leave(pl, "an mtop callback");
		}
		host_free_ud(c->free_ud, c->ud);
	}
	host_net_free(c);
}

/* The backend's completion (host_mtop_done). */
static void host_mtop_cb(void *ctx, int result, const char *ret, const char *data_json)
{
	host_netc *c = ctx;

	if (!c)
		return;
	if (c->starting) {
		/* Inside backend.mtop still: host_mtop sorts it out on return. */
		c->early = 1;
		c->result = result;
		c->ret = host_strdup(ret ? ret : "");
		c->body = host_strdup(data_json ? data_json : "");
		return;
	}
	host_mtop_finish(c, result, ret, data_json);
}

/* An mtop API version: [0-9][0-9.]{0,7} (mtop_version_ok, which the host
 * does not link). */
static int host_version_ok(const char *v)
{
	size_t n = strlen(v);

	return n >= 1 && n <= 8 && v[0] >= '0' && v[0] <= '9' && strspn(v, "0123456789.") == n;
}

/* sk_mtop. Returns SK_OK (fn then runs once, later), or an error after
 * calling free_ud: SK_ERR_IO when the call could not start (the backend
 * answered SK_MTOP_TRANSPORT at once). Another immediate answer runs fn
 * before this returns. */
int host_mtop(sk_plugin *p, const char *api, const char *data_json, sk_mtop_fn fn, void *ud,
	      sk_free_fn free_ud)
{
	return host_mtop_ex(p, api, NULL, 0, data_json, fn, ud, free_ud);
}

/* sk_mtop_ex (since 1.5): sk_mtop with a version and flags. SK_ERR_INVAL for
 * a version that is not [0-9][0-9.]{0,7} or an unknown flag. */
int host_mtop_ex(sk_plugin *p, const char *api, const char *version, unsigned flags, const char *data_json,
		 sk_mtop_fn fn, void *ud, sk_free_fn free_ud)
{
	host_netc *c;
	host_plug *pl;
	cJSON *j;
	host *h;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!api || !*api || !data_json || (version && !host_version_ok(version)) || (flags & ~SK_MTOP_SELLER))
		goto fail;
	if (!(j = cJSON_ParseWithOpts(data_json, NULL, 1))) {
		host_plog(pl, SK_LOG_WARN, "mtop %s: data is not valid JSON", api);
		goto fail;
	}
	cJSON_Delete(j);
	rc = SK_ERR_STATE;
	if (!host_alive(pl) || host_no_session(pl, "mtop"))
		goto fail;
	rc = SK_ERR_UNSUPPORTED;
	if (!h->be.mtop)
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(c = host_net_new(pl, &h->mtops, ud, free_ud)))
		goto fail;
	c->fn.mtop = fn;
	c->starting = 1;
	h->be.mtop(h->be.ud, api, version ? version : "1.0", flags, data_json, host_mtop_cb, c);
	c->starting = 0;
	if (c->early) {
		if (c->result == SK_MTOP_TRANSPORT) {
			host_net_free(c);
			rc = SK_ERR_IO;
			goto fail;
		}
		host_mtop_finish(c, c->result, c->ret, c->body);
	}
	return SK_OK;
fail:
	host_free_ud(free_ud, ud);
	return rc;
}

/* ---- HTTP POST (since 1.3) -------------------------------------------------- */

/* A request finished: the plugin's fn (a status outside 100..599 that is
 * not an sk_rc becomes SK_ERR_IO), its free_ud, then the record is freed. */
static void host_http_finish(host_netc *c, int status, const char *body)
{
	host_plug *pl = c->pl;

	host_net_unlink(c);
	if (status >= 0 && (status < 100 || status > 599))
		status = SK_ERR_IO;
	if (c->fn.http) {
		host_enter(pl);
		c->fn.http(&pl->pub, status, body ? body : "", c->ud);
		host_leave(pl, "an HTTP callback");
	}
	host_free_ud(c->free_ud, c->ud);
	host_net_free(c);
}

/* The backend's completion (host_http_done). */
static void host_http_cb(void *ctx, int status, const char *body)
{
	host_netc *c = ctx;

	if (!c)
		return;
	if (c->starting) {
		/* The backend must not answer inside http_post; if it does,
		 * host_http_post delivers the answer when the backend returns. */
		c->early = 1;
		c->result = status;
		c->body = host_strdup(body ? body : "");
		return;
	}
	host_http_finish(c, status, body);
}

/* Whether c may be part of a header name (an RFC 9110 token character). */
static int host_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Checks a URL for sk_http_post: http:// or https:// (lower case: the core's
 * client tells TLS by that), a host, no user:password@ (use a header), no
 * space or control byte, at most HOST_HTTP_URL_MAX bytes. Returns 0, or -1
 * with *why set. */
static int host_http_url_ok(const char *url, const char **why)
{
	const char *rest, *s;

	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
		*why = "the url must start with http:// or https://";
		return -1;
	}
	rest = url + (url[4] == 's' ? 8 : 7);
	if (strlen(url) > HOST_HTTP_URL_MAX) {
		*why = "the url is longer than 2048 bytes";
		return -1;
	}
	if (!*rest || *rest == '/' || *rest == ':' || *rest == '?' || *rest == '#') {
		*why = "the url has no host";
		return -1;
	}
	for (s = url; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
			*why = "the url has a space or a control character";
			return -1;
		}
	for (s = rest; *s && *s != '/' && *s != '?' && *s != '#'; s++)
		if (*s == '@') {
			*why = "user:password@ in the url is not supported (send an Authorization header)";
			return -1;
		}
	return 0;
}

/* Turns a plugin's extra header lines ("Name: value", separated by '\n';
 * NULL or "" for none) into what the backend sends: each line checked and
 * ended with CRLF, then Content-Type: application/json and a User-Agent
 * unless the plugin gave its own. The names the host or the client write
 * (Host, Content-Length, Transfer-Encoding, Connection) are refused, and so
 * is any control byte but a tab in a value (CR and LF included: no header
 * injection). Returns 0, or -1 with *why set (never quoting a value: it may
 * be a secret). */
static int host_http_headers(const char *in, sbuf *out, const char **why)
{
	static const char *const taken[] = { "host", "content-length", "transfer-encoding", "connection", NULL };
	const char *s = in ? in : "";
	int has_ct = 0, has_ua = 0;

	while (*s) {
		const char *e = strchr(s, '\n'), *colon, *v, *ve;
		size_t len = e ? (size_t)(e - s) : strlen(s), nlen, i;

		if (!len) {
			if (!s[1])
				break;        /* the last line ended with a newline */
			*why = "an empty header line";
			return -1;
		}
		if (!(colon = memchr(s, ':', len)) || colon == s) {
			*why = "a header line is not \"Name: value\"";
			return -1;
		}
		nlen = (size_t)(colon - s);
		for (i = 0; i < nlen; i++)
			if (!host_tchar((unsigned char)s[i])) {
				*why = "a header name has a character that is not allowed (CR, LF and spaces included)";
				return -1;
			}
		for (v = colon + 1; v < s + len; v++)
			if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f) {
				*why = "a header value has a control character (CR and LF included)";
				return -1;
			}
		for (i = 0; taken[i]; i++)
			if (strlen(taken[i]) == nlen && !strncasecmp(s, taken[i], nlen)) {
				*why = "Host, Content-Length, Transfer-Encoding and Connection are set by the host";
				return -1;
			}
		has_ct |= nlen == 12 && !strncasecmp(s, "content-type", 12);
		has_ua |= nlen == 10 && !strncasecmp(s, "user-agent", 10);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (ve = s + len; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		sbuf_addf(out, "%.*s: %.*s\r\n", (int)nlen, s, (int)(ve - v), v);
		s += len + (e ? 1 : 0);
	}
	if (!has_ct)
		sbuf_adds(out, "Content-Type: application/json\r\n");
	if (!has_ua)
		sbuf_addf(out, "User-Agent: shopkeep (plugin ABI %d.%d)\r\n", SK_ABI_MAJOR, SK_ABI_MINOR);
	if (out->oom) {
		*why = "out of memory";
		return -1;
	}
	if (out->len > HOST_HTTP_HEADERS_MAX) {
		*why = "the headers are longer than 2048 bytes";
		return -1;
	}
	return 0;
}

/* sk_http_post (see plugins/plugin.h, HTTP POST). Returns SK_OK (fn then
 * runs once, later, unless the plugin is unloaded first), or an error after
 * calling free_ud: SK_ERR_INVAL (logged with the reason), SK_ERR_STATE (a
 * command, or not running), SK_ERR_FULL, SK_ERR_UNSUPPORTED (no backend),
 * SK_ERR_NOMEM, SK_ERR_IO (the backend could not start it). */
int host_http_post(sk_plugin *p, const char *url, const char *headers, const char *body, size_t len,
		   int timeout_ms, sk_http_fn fn, void *ud, sk_free_fn free_ud)
{
	const char *why = NULL;
	sbuf hdr = { 0 };
	host_netc *c;
	host_plug *pl;
	size_t n = 0;
	host *h;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (host_http_url_ok(url, &why) || host_http_headers(headers, &hdr, &why))
		goto bad;
	if (!body && len) {
		why = "no body but a length";
		goto bad;
	}
	if (len > HOST_HTTP_BODY_MAX) {
		why = "the body is larger than 1 MiB";
		goto bad;
	}
	if (timeout_ms < 0 || timeout_ms > HOST_HTTP_TIMEOUT_MAX_MS) {
		why = "timeout_ms must be from 0 (the default, 10 s) to 300000";
		goto bad;
	}
	rc = SK_ERR_STATE;
	if (!host_alive(pl) || host_no_session(pl, "http_post"))
		goto fail;
	rc = SK_ERR_UNSUPPORTED;
	if (!h->be.http_post || !h->be.http_cancel)
		goto fail;
	for (c = h->https; c; c = c->next)
		n += c->pl == pl;
	rc = SK_ERR_FULL;
	if (n >= HOST_HTTP_MAX) {
		host_plog(pl, SK_LOG_WARN, "http_post refused: %d requests in flight already", HOST_HTTP_MAX);
		goto fail;
	}
	rc = SK_ERR_NOMEM;
	if (!(c = host_net_new(pl, &h->https, ud, free_ud)))
		goto fail;
	c->fn.http = fn;
	c->starting = 1;
	c->req = h->be.http_post(h->be.ud, url, hdr.p, body ? body : "", len,
				 timeout_ms ? timeout_ms : HOST_HTTP_TIMEOUT_MS, host_http_cb, c);
	c->starting = 0;
	sbuf_free(&hdr);
	if (!c->req) {
		host_net_free(c);
		host_free_ud(free_ud, ud);
		return SK_ERR_IO;
	}
	if (c->early)
		host_http_finish(c, c->result, c->body);
	return SK_OK;
bad:
	host_plog(pl, SK_LOG_WARN, "http_post refused: %s", why);
fail:
	sbuf_free(&hdr);
	host_free_ud(free_ud, ud);
	return rc;
}

/* ---- chats (since 1.5) ------------------------------------------------------ */

#define HOST_CHAT_ID_MAX 31      /* the longest buyer id the session's frames take */

/* The backend's completion of a chat open: the plugin's fn, its free_ud, the
 * record freed. */
static void host_chat_cb(void *ctx, int rc, const char *chat_id)
{
	host_netc *c = ctx;
	host_plug *pl = c->pl;

	host_net_unlink(c);
	if (c->fn.chat) {
		host_enter(pl);
		c->fn.chat(&pl->pub, rc, rc == SK_OK && chat_id ? chat_id : "", c->ud);
		host_leave(pl, "a chat open callback");
	}
	host_free_ud(c->free_ud, c->ud);
	host_net_free(c);
}

/* sk_chat_open (see plugins/plugin.h, CHATS). Returns SK_OK (fn then runs
 * once, later, unless the plugin is unloaded first), or an error after
 * calling free_ud: SK_ERR_INVAL, SK_ERR_STATE (not connected, a command
 * process), SK_ERR_UNSUPPORTED (no backend), SK_ERR_NOMEM. */
int host_chat_open(sk_plugin *p, const char *buyer_id, const char *item_id, sk_chat_fn fn, void *ud,
		   sk_free_fn free_ud)
{
	host_netc *c;
	host_plug *pl;
	host *h;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!buyer_id || !*buyer_id || strlen(buyer_id) > HOST_CHAT_ID_MAX || (item_id && strlen(item_id) > 63))
		goto fail;
	rc = SK_ERR_STATE;
	if (!host_alive(pl) || host_no_session(pl, "chat_open"))
		goto fail;
	rc = SK_ERR_UNSUPPORTED;
	if (!h->be.chat_open || !h->be.chat_cancel)
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(c = host_net_new(pl, &h->chats, ud, free_ud)))
		goto fail;
	c->fn.chat = fn;
	if ((rc = h->be.chat_open(h->be.ud, buyer_id, item_id ? item_id : "", host_chat_cb, c, &c->req)) < 0) {
		host_net_free(c);
		goto fail;
	}
	return SK_OK;
fail:
	host_free_ud(free_ud, ud);
	return rc;
}
