/* SPDX-License-Identifier: MIT */
/*
 * plugins/common/skmask.h - how the plugins shipped with shopkeep show a
 * secret on the web page (header-only, static, like sktext.h: not part of
 * the ABI). The full value never leaves the process; what these make does.
 *
 *   skmask_url  a URL: scheme, host and path kept; a user:password@ becomes
 *               "****@", each query value "ab****yz" (its first and last 2
 *               characters; 1 and 1 for 5 to 7 bytes, none for 4 or fewer),
 *               a bare query token too, a fragment "#****"
 *   skmask_key  an API key: "sk-a****yz" (its first 4 and last 2 bytes) when
 *               it has 12 bytes or more, else "****"
 *
 * Both write into a caller's buffer and give "" when the result does not fit.
 */
#ifndef SK_PLUGINS_SKMASK_H
#define SK_PLUGINS_SKMASK_H

#include <stddef.h>
#include <string.h>

/* A bounded output: over is set (and nothing more written) once it is full. */
typedef struct {
	char *p;
	size_t len, cap;
	int over;
} skmask_out;

/* Appends the n bytes at s to o. */
static inline void skmask_put(skmask_out *o, const char *s, size_t n)
{
	if (o->over || n >= o->cap - o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* Appends the masked form of the n bytes at s (a query value) to o. */
static inline void skmask_part(skmask_out *o, const char *s, size_t n)
{
	size_t keep = n >= 8 ? 2 : n >= 5 ? 1 : 0;

	skmask_put(o, s, keep);
	skmask_put(o, "****", 4);
	skmask_put(o, s + n - keep, keep);
}

/* Writes the url as the page may see it (see the top of the file) to out
 * (n bytes; "" when it does not fit or is not scheme://...). */
static inline void skmask_url(const char *url, char *out, size_t n)
{
	skmask_out o = { out, 0, n, 0 };
	const char *s, *auth, *end, *at, *q;
	size_t len;

	if (!n)
		return;
	*out = '\0';
	if (!(s = strstr(url, "://")) || s - url > 12)
		return;
	s += 3;
	skmask_put(&o, url, (size_t)(s - url));
	auth = s;
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (at) {
		/* the last '@' before the path: a password may hold one */
		while ((q = memchr(at + 1, '@', (size_t)(end - at - 1))))
			at = q;
		skmask_put(&o, "****@", 5);
		auth = at + 1;
	}
	len = strcspn(auth, "?#");
	skmask_put(&o, auth, len);
	s = auth + len;
	if (*s == '?') {
		skmask_put(&o, "?", 1);
		for (q = s + 1; *q && *q != '#';) {
			size_t all = strcspn(q, "&#"), name = strcspn(q, "=&#");

			if (name < all) {
				skmask_put(&o, q, name + 1);
				skmask_part(&o, q + name + 1, all - name - 1);
			} else {
				/* a bare token: a value too */
				skmask_part(&o, q, all);
			}
			q += all;
			if (*q == '&') {
				skmask_put(&o, "&", 1);
				q++;
			}
		}
		s = q;
	}
	if (*s == '#')
		skmask_put(&o, "#****", 5);
	if (o.over)
		*out = '\0';
}

/* Writes key as the page may see it (see the top of the file) to out (n
 * bytes, 11 or more; "" for a NULL or empty key). */
static inline void skmask_key(const char *key, char *out, size_t n)
{
	skmask_out o = { out, 0, n, 0 };
	size_t len = key ? strlen(key) : 0;

	if (!n)
		return;
	*out = '\0';
	if (!len)
		return;
	if (len >= 12) {
		skmask_put(&o, key, 4);
		skmask_put(&o, "****", 4);
		skmask_put(&o, key + len - 2, 2);
	} else {
		skmask_put(&o, "****", 4);
	}
	if (o.over)
		*out = '\0';
}

#endif
