/* SPDX-License-Identifier: MIT */
/*
 * core/host_work.c - the worker queue (sk_work): work runs on a pool of
 * threads, its completion comes back on the loop through host_work_poll.
 * h->mu guards the queues; nothing else of the host is touched off the loop.
 */
#include "host_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- work ---------------------------------------------------------------- */

/* A worker thread: runs queued work until the host stops. */
static void *host_worker(void *arg)
{
	host *h = arg;
	host_job *j;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->stop && !h->q)
			pthread_cond_wait(&h->cv_work, &h->mu);
		if (h->stop)
			break;
		j = h->q;
		if (!(h->q = j->next))
			h->q_tail = NULL;
		j->next = NULL;
		j->pl->work_running++;
		h->running++;
		pthread_mutex_unlock(&h->mu);
		j->work(j->ud);
		pthread_mutex_lock(&h->mu);
		j->pl->work_running--;
		h->running--;
		if (h->done_tail)
			h->done_tail->next = j;
		else
			h->done = j;
		h->done_tail = j;
		pthread_cond_broadcast(&h->cv_done);
		if (h->be.wake_loop) {
			pthread_mutex_unlock(&h->mu);
			h->be.wake_loop(h->be.ud);
			pthread_mutex_lock(&h->mu);
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Starts the worker threads on first use. Returns 0 when at least one runs. */
static int host_workers_start(host *h)
{
	while (h->started < h->nthreads) {
		if (pthread_create(&h->threads[h->started], NULL, host_worker, h))
			break;
		h->started++;
	}
	return h->started ? 0 : -1;
}

/* sk_work: work(ud) on a worker, then done(p, ud) and free_ud(ud) on the loop
 * (host_work_poll). Returns SK_OK, or an error after calling free_ud. */
int host_work(sk_plugin *p, sk_work_fn work, sk_done_fn done, void *ud, sk_free_fn free_ud)
{
	host_plug *pl;
	host_job *j;
	host *h;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!work)
		goto fail;
	rc = SK_ERR_STATE;
	if (!host_alive(pl) || host_no_session(pl, "work"))
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(j = calloc(1, sizeof *j)))
		goto fail;
	if (host_workers_start(h)) {
		free(j);
		host_plog(pl, SK_LOG_ERR, "work: cannot start a worker thread");
		rc = SK_ERR_STATE;
		goto fail;
	}
	j->pl = pl;
	j->work = work;
	j->done = done;
	j->ud = ud;
	j->free_ud = free_ud;
	pthread_mutex_lock(&h->mu);
	if (h->q_tail)
		h->q_tail->next = j;
	else
		h->q = j;
	h->q_tail = j;
	pthread_cond_signal(&h->cv_work);
	pthread_mutex_unlock(&h->mu);
	return SK_OK;
fail:
	host_free_ud(free_ud, ud);
	return rc;
}

void host_work_poll(host *h)
{
	host_job *list, *j;

	if (!h || !host_on_loop(h, __func__))
		return;
	pthread_mutex_lock(&h->mu);
	list = h->done;
	h->done = h->done_tail = NULL;
	pthread_mutex_unlock(&h->mu);
	while ((j = list)) {
		host_plug *pl = j->pl;

		list = j->next;
		if (j->done && host_alive(pl)) {
			host_enter(pl);
			j->done(&pl->pub, j->ud);
			host_leave(pl, "a work completion");
		}
		host_free_ud(j->free_ud, j->ud);
		free(j);
		h->stats.work_done++;
	}
}

void host_work_drain(host *h)
{
	int more;

	if (!h || !host_on_loop(h, __func__))
		return;
	do {
		pthread_mutex_lock(&h->mu);
		while (h->q || h->running)
			pthread_cond_wait(&h->cv_done, &h->mu);
		more = h->done != NULL;
		pthread_mutex_unlock(&h->mu);
		/* Completions may queue more work: go round until none is left. */
		if (more)
			host_work_poll(h);
	} while (more);
}

/* Takes the plugin's work out of the pool: queued items are dropped, running
 * ones waited for (their code is in the plugin's object), finished ones not
 * completed. Each free_ud is called; no done. */
void host_work_cancel(host *h, host_plug *pl)
{
	host_job *drop = NULL, **pp, *j;

	pthread_mutex_lock(&h->mu);
	for (pp = &h->q; (j = *pp);) {
		if (j->pl == pl) {
			*pp = j->next;
			j->next = drop;
			drop = j;
		} else {
			pp = &j->next;
		}
	}
	h->q_tail = NULL;
	for (j = h->q; j; j = j->next)
		h->q_tail = j;
	while (pl->work_running)
		pthread_cond_wait(&h->cv_done, &h->mu);
	for (pp = &h->done; (j = *pp);) {
		if (j->pl == pl) {
			*pp = j->next;
			j->next = drop;
			drop = j;
		} else {
			pp = &j->next;
		}
	}
	h->done_tail = NULL;
	for (j = h->done; j; j = j->next)
		h->done_tail = j;
	pthread_mutex_unlock(&h->mu);
	while ((j = drop)) {
		drop = j->next;
		host_free_ud(j->free_ud, j->ud);
		free(j);
	}
}
