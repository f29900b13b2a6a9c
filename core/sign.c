/* SPDX-License-Identifier: MIT */
#include "sign.h"
#include "util.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sign_mtop(const char *token, const char *t, const char *app_key,
	       const char *data, size_t data_len, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	out[0] = '\0';
	if (!c)
		return;
	if (EVP_DigestInit_ex(c, EVP_md5(), NULL) == 1 &&
	    EVP_DigestUpdate(c, token, strlen(token)) == 1 &&
	    EVP_DigestUpdate(c, "&", 1) == 1 &&
	    EVP_DigestUpdate(c, t, strlen(t)) == 1 &&
	    EVP_DigestUpdate(c, "&", 1) == 1 &&
	    EVP_DigestUpdate(c, app_key, strlen(app_key)) == 1 &&
	    EVP_DigestUpdate(c, "&", 1) == 1 &&
	    EVP_DigestUpdate(c, data, data_len) == 1 &&
	    EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == 16) {
		for (i = 0; i < mdlen; i++) {
			out[2 * i] = hex[md[i] >> 4];
			out[2 * i + 1] = hex[md[i] & 15];
		}
		out[32] = '\0';
	}
	EVP_MD_CTX_free(c);
}

/* Finds cookie `name` (len nl) in s; sets *val and *vlen and returns the start of
 * the pair, or NULL. Pairs are separated by ';' and optional spaces. */
static const char *cookie_find(const char *s, const char *name, size_t nl,
			       const char **val, size_t *vlen)
{
	while (*s) {
		const char *end;

		while (*s == ' ' || *s == ';')
			s++;
		end = strchr(s, ';');
		if (!end)
			end = s + strlen(s);
		if ((size_t)(end - s) > nl && s[nl] == '=' && !memcmp(s, name, nl)) {
			*val = s + nl + 1;
			*vlen = (size_t)(end - *val);
			return s;
		}
		s = end;
	}
	return NULL;
}

char *cookie_get(const char *cookie, const char *name)
{
	const char *v;
	size_t vl;

	if (!cookie || !cookie_find(cookie, name, strlen(name), &v, &vl))
		return NULL;
	return util_strndup(v, vl);
}

int cookie_h5_token(const char *cookie, char *out, size_t outsz)
{
	const char *v, *us;
	size_t vl, n;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (!cookie || !cookie_find(cookie, "_m_h5_tk", 8, &v, &vl))
		return 0;
	us = memchr(v, '_', vl);
	n = us ? (size_t)(us - v) : vl;
	if (n + 1 > outsz)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

char *cookie_merge(const char *cookie, const char *set_cookie)
{
	const char *eq, *semi, *start, *v;
	size_t nl, pl, vl;
	sbuf b = {0};

	while (*set_cookie == ' ')
		set_cookie++;
	eq = strchr(set_cookie, '=');
	semi = strchr(set_cookie, ';');
	if (!semi)
		semi = set_cookie + strlen(set_cookie);
	if (!eq || eq > semi || eq == set_cookie)
		return NULL;
	nl = (size_t)(eq - set_cookie);
	pl = (size_t)(semi - set_cookie);
	start = cookie ? cookie_find(cookie, set_cookie, nl, &v, &vl) : NULL;
	if (start) {
		sbuf_add(&b, cookie, (size_t)(start - cookie));
		sbuf_add(&b, set_cookie, pl);
		sbuf_adds(&b, v + vl);
	} else {
		if (cookie && *cookie) {
			sbuf_adds(&b, cookie);
			sbuf_adds(&b, "; ");
		}
		sbuf_add(&b, set_cookie, pl);
	}
	return sbuf_take(&b);
}

int cookie_is_deletion(const char *set_cookie)
{
	const char *a = strchr(set_cookie, ';');

	/* the attributes, one by one: "; Max-Age=0", "; expires=Thu, 01 Jan 1970 ..." */
	while (a) {
		a++;
		while (*a == ' ' || *a == '\t')
			a++;
		if (!strncasecmp(a, "max-age=", 8)) {
			const char *v = a + 8;

			if (*v == '-' || (*v == '0' && (v[1] == '\0' || v[1] == ';' || v[1] == ' ')))
				return 1;
		} else if (!strncasecmp(a, "expires=", 8)) {
			const char *e = strchr(a, ';');
			size_t n = e ? (size_t)(e - a) : strlen(a);

			if (memmem(a, n, "1970", 4))
				return 1;
		}
		a = strchr(a, ';');
	}
	return 0;
}
