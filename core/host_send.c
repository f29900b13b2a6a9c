/* SPDX-License-Identifier: MIT */
/*
 * core/host_send.c - plugin sends (sk_send_text, sk_send_image,
 * sk_send_status, sk_send_find): queued through the backend's outbox, their
 * results come back through host_send_result.
 */
#include "host_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sends --------------------------------------------------------------- */

/* Runs a send's callback and frees it: fn (when set) then free_ud. */
static void host_pend_finish(host_pend *s, int ok, const char *detail)
{
	host_plug *pl = s->pl;

	if (s->fn) {
		host_enter(pl);
		s->fn(&pl->pub, s->uuid, ok, detail ? detail : "", s->ud);
		host_leave(pl, "a send callback");
	}
	host_free_ud(s->free_ud, s->ud);
	free(s);
}

/* host_send_result, outside any backend send call. */
static void host_send_result_now(host *h, const char *uuid, int ok, const char *detail, const char *plugin,
				 const char *tag)
{
	host_pend **pp, *s;
	host_plug *pl;
	sk_event e;

	for (pp = &h->pends; (s = *pp); pp = &s->next)
		if (!strcmp(s->uuid, uuid)) {
			*pp = s->next;
			host_pend_finish(s, ok, detail);
			return;
		}
	/* Not made in this run: tell its plugin, if it is loaded. */
	if (!(pl = host_find(h, plugin)) || pl->state != PL_RUNNING)
		return;
	host_event_init(&e, SK_EV_SEND_RESULT);
	e.send_uuid = uuid;
	e.send_tag = tag ? tag : "";
	e.send_ok = ok ? 1 : 0;
	if (ok)
		e.message_id = detail ? detail : "";
	else
		e.reason = detail ? detail : "";
	host_deliver(h, &e, pl, NULL);
	if (!h->depth)
		host_settle(h);
}

void host_send_result(host *h, const char *uuid, int ok, const char *detail, const char *plugin, const char *tag)
{
	host_early *x;

	if (!h || !uuid || !host_on_loop(h, __func__))
		return;
	if (!h->in_send) {
		host_send_result_now(h, uuid, ok, detail, plugin, tag);
		return;
	}
	/* The backend answered from inside its send_text: keep it until the
	 * send is registered (host_send_flush). */
	if (!(x = calloc(1, sizeof *x)) || !(x->uuid = host_strdup(uuid)) ||
	    (detail && !(x->detail = host_strdup(detail))) || (plugin && !(x->plugin = host_strdup(plugin))) ||
	    (tag && !(x->tag = host_strdup(tag)))) {
		host_say(h, plugin, SK_LOG_ERR, "send %s: result lost (out of memory)", uuid);
		if (x) {
			free(x->uuid);
			free(x->detail);
			free(x->plugin);
		}
		free(x);
		return;
	}
	x->ok = ok;
	if (h->early_tail)
		h->early_tail->next = x;
	else
		h->early = x;
	h->early_tail = x;
}

/* Delivers the results that came in during a backend send call. */
static void host_send_flush(host *h)
{
	host_early *x;

	while (!h->in_send && (x = h->early)) {
		if (!(h->early = x->next))
			h->early_tail = NULL;
		host_send_result_now(h, x->uuid, x->ok, x->detail, x->plugin, x->tag);
		free(x->uuid);
		free(x->detail);
		free(x->plugin);
		free(x->tag);
		free(x);
	}
}

/* sk_send_text and sk_send_image. The backend copies the strings during the
 * call (ownership rule 2). Returns SK_OK with uuid_out set, or an error after
 * calling free_ud. */
static int host_send(sk_plugin *p, const char *fn_name, int image, const char *chat_id, const char *buyer_id,
		     const char *body, int w, int hgt, const char *tag, sk_send_fn fn, void *ud, sk_free_fn free_ud,
		     char *uuid_out)
{
	char uuid[40] = "";
	host_pend *s = NULL;
	host_plug *pl;
	host *h;
	int rc;

	if (uuid_out)
		uuid_out[0] = '\0';
	if ((rc = host_check(p, fn_name, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!chat_id || !*chat_id || !buyer_id || !body || (image && (!*body || w < 0 || hgt < 0)))
		goto fail;
	rc = SK_ERR_STATE;
	if (!host_alive(pl) || host_no_session(pl, image ? "send_image" : "send_text"))
		goto fail;
	/* The outbox row would join the open transaction: a rollback would erase
	 * it while the session already holds the message. Commit first. */
	if (h->txn_owner) {
		host_plog(pl, SK_LOG_WARN, "send refused: a transaction is open (commit before sending)");
		goto fail;
	}
	rc = SK_ERR_UNSUPPORTED;
	if (image ? !h->be.send_image : !h->be.send_text)
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(s = calloc(1, sizeof *s)))
		goto fail;
	h->in_send++;
	if (image)
		rc = h->be.send_image(h->be.ud, pl->name, tag ? tag : "", chat_id, buyer_id, body, w, hgt, uuid);
	else
		rc = h->be.send_text(h->be.ud, pl->name, tag ? tag : "", chat_id, buyer_id, body, uuid);
	h->in_send--;
	if (rc != SK_OK) {
		if (rc > 0)
			rc = SK_ERR_IO;
		free(s);
		host_free_ud(free_ud, ud);
		host_send_flush(h);
		return rc;
	}
	uuid[sizeof uuid - 1] = '\0';
	memcpy(s->uuid, uuid, sizeof s->uuid);
	s->pl = pl;
	s->fn = fn;
	s->ud = ud;
	s->free_ud = free_ud;
	s->next = h->pends;
	h->pends = s;
	h->stats.sends++;
	if (uuid_out)
		memcpy(uuid_out, uuid, sizeof uuid);
	host_send_flush(h);
	return SK_OK;
fail:
	free(s);
	host_free_ud(free_ud, ud);
	return rc;
}

/* sk_send_text; returns as host_send. */
int host_send_text(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *text, const char *tag,
		   sk_send_fn fn, void *ud, sk_free_fn free_ud, char *uuid_out)
{
	return host_send(p, __func__, 0, chat_id, buyer_id, text, 0, 0, tag, fn, ud, free_ud, uuid_out);
}

/* sk_send_image; returns as host_send. */
int host_send_image(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *url, int width,
		    int height, const char *tag, sk_send_fn fn, void *ud, sk_free_fn free_ud, char *uuid_out)
{
	return host_send(p, __func__, 1, chat_id, buyer_id, url, width, height, tag, fn, ud, free_ud, uuid_out);
}

/* sk_send_status: the backend's answer; *detail is malloc'd, so sk_free
 * (free) releases it. Returns SK_OK, SK_ERR_NOTFOUND or another error. */
int host_send_status(sk_plugin *p, const char *uuid, int *state, char **detail)
{
	host_plug *pl;
	char *d = NULL;
	int rc, st = 0;

	if (detail)
		*detail = NULL;
	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if (!uuid || !*uuid)
		return SK_ERR_INVAL;
	if (!pl->h->be.send_status)
		return SK_ERR_UNSUPPORTED;
	rc = pl->h->be.send_status(pl->h->be.ud, uuid, &st, detail ? &d : NULL);
	if (rc != SK_OK) {
		free(d);
		return rc > 0 ? SK_ERR_IO : rc;
	}
	if (state)
		*state = st;
	if (detail)
		*detail = d;
	return SK_OK;
}

/* sk_send_find: the backend's latest send of this plugin (by its own name:
 * another plugin's tags are never found) with tag; *detail is malloc'd.
 * Returns SK_OK, SK_ERR_NOTFOUND, SK_ERR_INVAL for a NULL or empty tag,
 * SK_ERR_UNSUPPORTED without a backend that can look, or another error. */
int host_send_find(sk_plugin *p, const char *tag, char *uuid_out, int *state, char **detail)
{
	char uuid[40] = "", *d = NULL;
	host_plug *pl;
	int rc, st = 0;

	if (uuid_out)
		uuid_out[0] = '\0';
	if (detail)
		*detail = NULL;
	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if (!tag || !*tag)
		return SK_ERR_INVAL;
	if (!pl->h->be.send_find)
		return SK_ERR_UNSUPPORTED;
	rc = pl->h->be.send_find(pl->h->be.ud, pl->name, tag, uuid, &st, detail ? &d : NULL);
	if (rc != SK_OK) {
		free(d);
		return rc > 0 ? SK_ERR_IO : rc;
	}
	uuid[sizeof uuid - 1] = '\0';
	if (uuid_out)
		memcpy(uuid_out, uuid, sizeof uuid);
	if (state)
		*state = st;
	if (detail)
		*detail = d;
	return SK_OK;
}

/* A plugin is unloaded: its sends in flight lose their callback (the sends
 * themselves stay in the outbox), each free_ud run. */
void host_send_drop(host *h, host_plug *pl)
{
	host_pend **sp, *s;

	for (sp = &h->pends; (s = *sp);) {
		if (s->pl == pl) {
			*sp = s->next;
			host_free_ud(s->free_ud, s->ud);
			free(s);
		} else {
			sp = &s->next;
		}
	}
}
