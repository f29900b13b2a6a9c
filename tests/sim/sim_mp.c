/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_mp.c - the simulator's MessagePack encoder (cJSON -> msgpack).
 *
 * msgpuck's mp_encode_* are used for every header, always in the smallest
 * form, which is also what the platform (and python-msgpack) emit: encoding
 * the decoded docs/protocol.md §13 test vector gives back its exact bytes.
 * MP_SOURCE is not defined anywhere: the out-of-line copies of msgpuck's
 * inline functions come from -lmsgpuck.
 */
#include "sim_mp.h"
#include "util.h"

#include <errno.h>
#include <msgpuck.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Returns 1 when key is a decimal number without a leading zero that fits
 * uint32 (so it is written as an integer key) and stores it in *v; else 0. */
static int enc_int_key(const char *key, uint64_t *v)
{
	size_t i, n = strlen(key);

	if (n == 0 || n > 10 || (n > 1 && key[0] == '0'))
		return 0;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (key[i] < '0' || key[i] > '9')
			return 0;
		*v = *v * 10 + (uint64_t)(key[i] - '0');
	}
	return *v <= UINT32_MAX;
}

/* Appends the smallest integer encoding of an exact integer (neg tells whether
 * s or u holds it). */
static void enc_put_int(sbuf *b, int neg, uint64_t u, int64_t s)
{
	char tmp[16];
	char *e = neg ? mp_encode_int(tmp, s) : mp_encode_uint(tmp, u);

	sbuf_add(b, tmp, (size_t)(e - tmp));
}

/* Appends a number: an integer encoding when the double is integral and
 * exactly representable as int64/uint64, else float64. */
static void enc_put_number(sbuf *b, double d)
{
	char tmp[16], *e;

	if (d >= 0 && d < 18446744073709551616.0) {
		uint64_t u = (uint64_t)d;

		if ((double)u == d) {
			enc_put_int(b, 0, u, 0);
			return;
		}
	} else if (d < 0 && d >= -9223372036854775808.0) {
		int64_t s = (int64_t)d;

		if ((double)s == d) {
			enc_put_int(b, 1, 0, s);
			return;
		}
	}
	e = mp_encode_double(tmp, d);
	sbuf_add(b, tmp, (size_t)(e - tmp));
}

/* Appends a str of n bytes. Returns 0, -1 when n does not fit a str32. */
static int enc_put_str(sbuf *b, const char *s, size_t n)
{
	char tmp[8], *e;

	if (n > UINT32_MAX)
		return -1;
	e = mp_encode_strl(tmp, (uint32_t)n);
	sbuf_add(b, tmp, (size_t)(e - tmp));
	sbuf_add(b, s, n);
	return 0;
}

static int enc_put(sbuf *b, const cJSON *j);

/* Appends a cJSON raw item: an exact integer when the raw text is one
 * (cJSON_AddRawToObject is how big ids are kept exact), else the parsed JSON.
 * Returns 0, or -1 when the text is not JSON. */
static int enc_put_raw(sbuf *b, const char *raw)
{
	const char *p = raw[0] == '-' ? raw + 1 : raw;
	size_t i, n = strlen(p);
	cJSON *j;
	int rc;

	for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		;
	if (n && i == n && n <= 20) {
		char *end;

		errno = 0;
		if (raw[0] == '-') {
			long long s = strtoll(raw, &end, 10);

			if (!errno && !*end) {
				if (s < 0)
					enc_put_int(b, 1, 0, s);
				else
					enc_put_int(b, 0, 0, 0);
				return 0;
			}
		} else {
			unsigned long long u = strtoull(raw, &end, 10);

			if (!errno && !*end) {
				enc_put_int(b, 0, u, 0);
				return 0;
			}
		}
	}
	j = cJSON_Parse(raw);
	if (!j)
		return -1;
	rc = enc_put(b, j);
	cJSON_Delete(j);
	return rc;
}

/* Appends the encoding of j (recursively). Returns 0, -1 on an item that has
 * no MessagePack form. */
static int enc_put(sbuf *b, const cJSON *j)
{
	char tmp[16], *e = tmp;
	const cJSON *c;
	uint64_t k;
	int n = 0;

	if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
		for (c = j->child; c; c = c->next)
			n++;
		e = cJSON_IsObject(j) ? mp_encode_map(tmp, (uint32_t)n) :
					 mp_encode_array(tmp, (uint32_t)n);
		sbuf_add(b, tmp, (size_t)(e - tmp));
		for (c = j->child; c; c = c->next) {
			if (cJSON_IsObject(j)) {
				if (!c->string)
					return -1;
				if (enc_int_key(c->string, &k))
					enc_put_int(b, 0, k, 0);
				else if (enc_put_str(b, c->string, strlen(c->string)))
					return -1;
			}
			if (enc_put(b, c))
				return -1;
		}
		return 0;
	}
	if (cJSON_IsString(j))
		return j->valuestring ? enc_put_str(b, j->valuestring, strlen(j->valuestring)) : -1;
	if (cJSON_IsNumber(j)) {
		enc_put_number(b, j->valuedouble);
		return 0;
	}
	if (cJSON_IsRaw(j))
		return j->valuestring ? enc_put_raw(b, j->valuestring) : -1;
	if (cJSON_IsBool(j))
		e = mp_encode_bool(tmp, cJSON_IsTrue(j));
	else if (cJSON_IsNull(j))
		e = mp_encode_nil(tmp);
	else
		return -1;
	sbuf_add(b, tmp, (size_t)(e - tmp));
	return 0;
}

/* Returns the malloc'd MessagePack encoding of j and sets *outlen; NULL on OOM
 * or when j holds an item with no MessagePack form (an invalid item, a raw
 * that is not JSON). */
unsigned char *sim_mp_encode(const cJSON *j, size_t *outlen)
{
	sbuf b = {0};
	size_t n;

	if (outlen)
		*outlen = 0;
	if (!j || enc_put(&b, j)) {
		sbuf_free(&b);
		return NULL;
	}
	n = b.len;
	if (b.oom) {
		sbuf_free(&b);
		return NULL;
	}
	if (outlen)
		*outlen = n;
	return (unsigned char *)sbuf_take(&b);
}
