/* SPDX-License-Identifier: MIT */
/*
 * core/recent.c - the last lines of the live event feed (core/recent.h).
 */
#include "recent.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct recent {
	char *event_log;             /* NULL: none */
	char *ring[RECENT_RING];     /* oldest at head */
	int head, n;
};

recent *recent_new(const char *event_log)
{
	recent *r = calloc(1, sizeof *r);

	if (r && event_log && !(r->event_log = strdup(event_log))) {
		free(r);
		return NULL;
	}
	return r;
}

void recent_free(recent *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n; i++)
		free(r->ring[(r->head + i) % RECENT_RING]);
	free(r->event_log);
	free(r);
}

void recent_add(recent *r, const char *line, int plugin)
{
	char *c;

	/* the event log has the other lines */
	if (!r || !line || (r->event_log && !plugin) || !(c = strdup(line)))
		return;
	if (r->n == RECENT_RING) {
		free(r->ring[r->head]);
		r->ring[r->head] = c;
		r->head = (r->head + 1) % RECENT_RING;
		return;
	}
	r->ring[(r->head + r->n) % RECENT_RING] = c;
	r->n++;
}

/* The "ms" of a feed object, 0 when none. */
static double recent_ms(const cJSON *o)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "ms");

	return cJSON_IsNumber(m) ? m->valuedouble : 0;
}

/* Whether o is a line the page shows: an object of kind event (but read
 * receipts and typing), state, send or plugin. */
static int recent_shown(const cJSON *o)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind"), *t;

	if (!cJSON_IsObject(o) || !cJSON_IsString(k))
		return 0;
	if (!strcmp(k->valuestring, "event")) {
		t = cJSON_GetObjectItemCaseSensitive(o, "type");
		return !(cJSON_IsString(t) && (!strcmp(t->valuestring, "read") || !strcmp(t->valuestring, "typing")));
	}
	return !strcmp(k->valuestring, "state") || !strcmp(k->valuestring, "send") || !strcmp(k->valuestring, "plugin");
}

/* The event log's last RECENT_TAIL bytes, whole lines only, parsed into
 * arr (oldest first); 0, or -1 when it cannot be read (arr stays empty). */
static int recent_tail(const char *path, cJSON *arr)
{
	FILE *fp = fopen(path, "rb");
	struct stat sb;
	long off = 0;
	size_t len;
	char *buf, *s, *nl;

	if (!fp)
		return -1;
	if (fstat(fileno(fp), &sb) || !S_ISREG(sb.st_mode)) {
		fclose(fp);
		return -1;
	}
	if (sb.st_size > RECENT_TAIL)
		off = (long)(sb.st_size - RECENT_TAIL);
	if (!(buf = malloc(RECENT_TAIL + 1)) || fseek(fp, off, SEEK_SET)) {
		free(buf);
		fclose(fp);
		return -1;
	}
	len = fread(buf, 1, RECENT_TAIL, fp);
	fclose(fp);
	buf[len] = '\0';
	s = buf;
	/* a cut first line is not a line */
	if (off > 0) {
		if (!(s = memchr(buf, '\n', len))) {
			free(buf);
			return 0;
		}
		s++;
	}
	/* the last line counts only when it ends (the writer may be half way) */
	for (; (nl = strchr(s, '\n')); s = nl + 1) {
		cJSON *o;

		*nl = '\0';
		if ((o = cJSON_Parse(s)) && recent_shown(o))
			cJSON_AddItemToArray(arr, o);
		else
			cJSON_Delete(o);
	}
	free(buf);
	return 0;
}

cJSON *recent_json(recent *r, int limit)
{
	cJSON *file = cJSON_CreateArray(), *all = cJSON_CreateArray();
	cJSON *a, *b;
	int n;

	if (!file || !all || !r) {
		cJSON_Delete(file);
		if (r) {
			cJSON_Delete(all);
			return NULL;
		}
		return all;
	}
	if (r->event_log)
		recent_tail(r->event_log, file);
	/* merge by ms: the file's lines and the ring's, each in order */
	a = file->child;
	for (int i = 0; i < r->n; i++) {
		cJSON *o = cJSON_Parse(r->ring[(r->head + i) % RECENT_RING]);

		if (!o || !recent_shown(o)) {
			cJSON_Delete(o);
			continue;
		}
		while (a && recent_ms(a) <= recent_ms(o)) {
			b = a->next;
			cJSON_AddItemToArray(all, cJSON_DetachItemViaPointer(file, a));
			a = b;
		}
		cJSON_AddItemToArray(all, o);
	}
	while (a) {
		b = a->next;
		cJSON_AddItemToArray(all, cJSON_DetachItemViaPointer(file, a));
		a = b;
	}
	cJSON_Delete(file);
	/* the last limit of them */
	n = cJSON_GetArraySize(all);
	while (n > limit) {
		cJSON_DeleteItemFromArray(all, 0);
		n--;
	}
	return all;
}
