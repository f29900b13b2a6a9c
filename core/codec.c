/* SPDX-License-Identifier: MIT */
/*
 * core/codec.c - payload decoding (docs/protocol.md §5): base64, a bounded
 * MessagePack -> cJSON decoder and a JSON parser that keeps big ids exact.
 *
 * The MessagePack side is an own cursor walker rather than msgpuck's mp_check:
 * mp_check accepts an array32 header with a count of 2^31 or more and nothing
 * behind it (docs/libraries.md §9). Here every declared length or count is checked
 * against the bytes that remain before anything is read or allocated, so a
 * tree can never hold more nodes than the input has bytes.
 *
 * Temporary copies go through cJSON_malloc/cJSON_free, so a test that installs
 * failing cJSON hooks reaches every allocation of the decoders.
 */
#include "codec.h"
#include "util.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int utf8_valid(const unsigned char *s, size_t n, int allow_nul)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t more, k;

		if (c < 0x80) {
			if (c == 0 && !allow_nul)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;  /* overlong */
			else if (c == 0xed)
				hi = 0x9f;  /* UTF-16 surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;  /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;  /* above U+10FFFF */
		} else {
			return 0;
		}
		if (n - i - 1 < more)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k <= more; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += more + 1;
	}
	return 1;
}

int codec_utf8_valid(const char *s, size_t n)
{
	return utf8_valid((const unsigned char *)s, n, 0);
}

/* Initialises libsodium once; returns 0, or -1 when it cannot be initialised. */
static int codec_sodium_init(void)
{
	static int done;

	if (!done) {
		if (sodium_init() < 0)
			return -1;
		done = 1;
	}
	return 0;
}

/* Returns the decoded bytes of standard padded base64 (malloc'd, NUL-terminated),
 * NULL on bad input or OOM. A NUL byte in s is refused explicitly: libsodium's
 * ignore test is strchr(), which would treat it as an ignored character. */
unsigned char *codec_b64_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char *out;
	const char *end = NULL;
	size_t max, n = 0;

	if (outlen)
		*outlen = 0;
	if (!s || codec_sodium_init() || memchr(s, '\0', len))
		return NULL;
	max = len / 4 * 3 + 3;
	out = malloc(max + 1);
	if (!out)
		return NULL;
	if (sodium_base642bin(out, max, s, len, " \r\n", &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	if (outlen)
		*outlen = n;
	return out;
}

/* Returns a malloc'd NUL-terminated padded base64 of p[0..n), NULL on OOM. */
char *codec_b64_encode(const void *p, size_t n)
{
	size_t sz;
	char *out;

	if (codec_sodium_init() || n > SIZE_MAX / 2)
		return NULL;
	sz = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	out = malloc(sz);
	if (!out)
		return NULL;
	sodium_bin2base64(out, sz, p, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* The MessagePack cursor: the next byte, the end, and the first error. */
typedef struct {
	const unsigned char *p, *end;
	const char *err;
} mpd_in;

/* Returns 0 when n more bytes remain, else sets the error and returns -1. */
static int mpd_need(mpd_in *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->err = "truncated";
		return -1;
	}
	return 0;
}

/* Returns the n-byte big-endian unsigned value at p (the caller checked bounds). */
static uint64_t mpd_be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads the integer that starts with tag (already consumed) into *u or *s,
 * *neg telling which one. Returns 1 when tag is an integer type, 0 when it is
 * not (nothing consumed), -1 on truncation. */
static int mpd_read_int(mpd_in *r, unsigned char tag, int *neg, uint64_t *u, int64_t *s)
{
	size_t n;

	*neg = 0;
	if (tag <= 0x7f) {
		*u = tag;
		return 1;
	}
	if (tag >= 0xe0) {
		*neg = 1;
		*s = (int8_t)tag;
		return 1;
	}
	if (tag >= 0xcc && tag <= 0xcf) {
		n = (size_t)1 << (tag - 0xcc);
		if (mpd_need(r, n))
			return -1;
		*u = mpd_be(r->p, n);
		r->p += n;
		return 1;
	}
	if (tag >= 0xd0 && tag <= 0xd3) {
		uint64_t v;

		n = (size_t)1 << (tag - 0xd0);
		if (mpd_need(r, n))
			return -1;
		v = mpd_be(r->p, n);
		r->p += n;
		/* Sign-extend from n bytes without shifting into the sign bit. */
		if (n < 8 && (v >> (8 * n - 1)))
			v |= ~(uint64_t)0 << (8 * n);
		if (v >> 63) {
			*neg = 1;
			*s = v == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)(~v + 1);
		} else {
			*u = v;
		}
		return 1;
	}
	return 0;
}

/* Returns a cJSON number for |v| <= 2^53, else a string of its exact digits;
 * NULL on OOM. */
static cJSON *mpd_make_int(int neg, uint64_t u, int64_t s)
{
	char num[24];

	if (!neg && u <= (uint64_t)CODEC_MAX_EXACT_INT)
		return cJSON_CreateNumber((double)u);
	if (neg && s >= -(int64_t)CODEC_MAX_EXACT_INT)
		return cJSON_CreateNumber((double)s);
	if (neg)
		snprintf(num, sizeof num, "%" PRId64, s);
	else
		snprintf(num, sizeof num, "%" PRIu64, u);
	return cJSON_CreateString(num);
}

/* Returns a NUL-terminated copy of p[0..n) from cJSON's allocator, NULL on OOM. */
static char *mpd_strdup(const unsigned char *p, size_t n)
{
	char *c = cJSON_malloc(n + 1);

	if (!c)
		return NULL;
	memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

/* For a str or bin tag (consumed), sets *p and *n to the payload and advances past
 * it. Returns 1 when tag is str/bin, 0 when not, -1 on error. A NUL byte is an
 * error too: cJSON strings are C strings and would be cut short silently. */
static int mpd_read_str(mpd_in *r, unsigned char tag, const unsigned char **p, size_t *n)
{
	size_t hl;

	if (tag >= 0xa0 && tag <= 0xbf) {
		hl = 0;
		*n = tag & 0x1f;
	} else if (tag == 0xd9 || tag == 0xc4) {
		hl = 1;
	} else if (tag == 0xda || tag == 0xc5) {
		hl = 2;
	} else if (tag == 0xdb || tag == 0xc6) {
		hl = 4;
	} else {
		return 0;
	}
	if (hl) {
		if (mpd_need(r, hl))
			return -1;
		*n = (size_t)mpd_be(r->p, hl);
		r->p += hl;
	}
	if (mpd_need(r, *n))
		return -1;
	*p = r->p;
	r->p += *n;
	if (!utf8_valid(*p, *n, 0)) {
		r->err = "invalid UTF-8 or NUL in string";
		return -1;
	}
	return 1;
}

static cJSON *mpd_value(mpd_in *r, int depth);

/* The kinds of MessagePack container; each value is also the fewest bytes
 * one element takes (a value; a key and a value). */
enum { MPD_ARRAY = 1, MPD_MAP = 2 };

/* Reads a container header whose tag is consumed: sets *count and returns
 * MPD_ARRAY or MPD_MAP, 0 for another type, -1 on error. A count that the
 * remaining bytes cannot hold (one byte per element, two per pair) is an error. */
static int mpd_read_container(mpd_in *r, unsigned char tag, size_t *count)
{
	int kind;
	size_t hl = 0;

	if (tag >= 0x80 && tag <= 0x8f) {
		kind = MPD_MAP;
		*count = tag & 0x0f;
	} else if (tag >= 0x90 && tag <= 0x9f) {
		kind = MPD_ARRAY;
		*count = tag & 0x0f;
	} else if (tag == 0xdc || tag == 0xdd) {
		kind = MPD_ARRAY;
		hl = tag == 0xdc ? 2 : 4;
	} else if (tag == 0xde || tag == 0xdf) {
		kind = MPD_MAP;
		hl = tag == 0xde ? 2 : 4;
	} else {
		return 0;
	}
	if (hl) {
		if (mpd_need(r, hl))
			return -1;
		*count = (size_t)mpd_be(r->p, hl);
		r->p += hl;
	}
	if (*count > (size_t)(r->end - r->p) / (size_t)kind) {
		r->err = "count exceeds input";
		return -1;
	}
	return kind;
}

/* Decodes count map pairs into a new object. Returns it, NULL on error. */
static cJSON *mpd_map(mpd_in *r, size_t count, int depth)
{
	cJSON *obj = cJSON_CreateObject();
	size_t i;

	if (!obj) {
		r->err = "out of memory";
		return NULL;
	}
	for (i = 0; i < count; i++) {
		const unsigned char *kp = NULL;
		size_t kn = 0;
		char num[24], *key;
		unsigned char tag;
		uint64_t u = 0;
		int64_t s = 0;
		int neg, rc;
		cJSON *val;

		if (mpd_need(r, 1))
			goto fail;
		tag = *r->p++;
		rc = mpd_read_int(r, tag, &neg, &u, &s);
		if (rc < 0)
			goto fail;
		if (rc > 0) {
			if (neg)
				snprintf(num, sizeof num, "%" PRId64, s);
			else
				snprintf(num, sizeof num, "%" PRIu64, u);
			key = num;
		} else {
			/* bin keys are refused along with every non-str, non-int key. */
			if (tag == 0xc4 || tag == 0xc5 || tag == 0xc6 ||
			    (rc = mpd_read_str(r, tag, &kp, &kn)) == 0) {
				r->err = "map key is neither string nor integer";
				goto fail;
			}
			if (rc < 0)
				goto fail;
			key = mpd_strdup(kp, kn);
			if (!key) {
				r->err = "out of memory";
				goto fail;
			}
		}
		val = mpd_value(r, depth);
		if (!val) {
			if (key != num)
				cJSON_free(key);
			goto fail;
		}
		/* cJSON copies the key; on failure val stays ours. */
		rc = cJSON_AddItemToObject(obj, key, val);
		if (key != num)
			cJSON_free(key);
		if (!rc) {
			cJSON_Delete(val);
			r->err = "out of memory";
			goto fail;
		}
	}
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}

/* Decodes one value at r->p; depth is the number of enclosing containers.
 * Returns a new cJSON tree, NULL with r->err set on error. */
static cJSON *mpd_value(mpd_in *r, int depth)
{
	const unsigned char *sp;
	unsigned char tag;
	uint64_t u = 0;
	int64_t s = 0;
	size_t n, i;
	cJSON *v;
	char *str;
	int neg, rc;

	if (mpd_need(r, 1))
		return NULL;
	tag = *r->p++;
	rc = mpd_read_int(r, tag, &neg, &u, &s);
	if (rc < 0)
		return NULL;
	if (rc > 0) {
		v = mpd_make_int(neg, u, s);
		goto made;
	}
	rc = mpd_read_str(r, tag, &sp, &n);
	if (rc < 0)
		return NULL;
	if (rc > 0) {
		str = mpd_strdup(sp, n);
		if (!str) {
			r->err = "out of memory";
			return NULL;
		}
		v = cJSON_CreateString(str);
		cJSON_free(str);
		goto made;
	}
	rc = mpd_read_container(r, tag, &n);
	if (rc < 0)
		return NULL;
	if (rc > 0) {
		if (depth >= CODEC_MAX_DEPTH) {
			r->err = "nested too deep";
			return NULL;
		}
		if (rc == MPD_MAP)
			return mpd_map(r, n, depth + 1);
		v = cJSON_CreateArray();
		if (!v) {
			r->err = "out of memory";
			return NULL;
		}
		for (i = 0; i < n; i++) {
			cJSON *e = mpd_value(r, depth + 1);

			if (!e) {
				cJSON_Delete(v);
				return NULL;
			}
			cJSON_AddItemToArray(v, e);
		}
		return v;
	}
	switch (tag) {
	case 0xc0:
		v = cJSON_CreateNull();
		break;
	case 0xc2:
	case 0xc3:
		v = cJSON_CreateBool(tag == 0xc3);
		break;
	case 0xca: {
		uint32_t bits;
		float f;

		if (mpd_need(r, 4))
			return NULL;
		bits = (uint32_t)mpd_be(r->p, 4);
		r->p += 4;
		memcpy(&f, &bits, 4);
		v = cJSON_CreateNumber(f);
		break;
	}
	case 0xcb: {
		double d;

		if (mpd_need(r, 8))
			return NULL;
		u = mpd_be(r->p, 8);
		r->p += 8;
		memcpy(&d, &u, 8);
		v = cJSON_CreateNumber(d);
		break;
	}
	case 0xc1:
		r->err = "reserved byte 0xc1";
		return NULL;
	default:
		/* What remains: ext 0xc7-0xc9 and fixext 0xd4-0xd8. */
		r->err = "ext type not supported";
		return NULL;
	}
made:
	if (!v)
		r->err = "out of memory";
	return v;
}

/* Returns the tree of the one MessagePack value filling buf[0..len), NULL with
 * a static reason in *err (when err is not NULL) on any error. */
cJSON *codec_msgpack_to_json(const unsigned char *buf, size_t len, const char **err)
{
	mpd_in r = { buf, buf + len, NULL };
	cJSON *j;

	if (!buf) {
		if (err)
			*err = "no input";
		return NULL;
	}
	j = mpd_value(&r, 0);
	if (j && r.p != r.end) {
		cJSON_Delete(j);
		j = NULL;
		r.err = "trailing bytes";
	}
	if (!j && err)
		*err = r.err ? r.err : "decode failed";
	return j;
}

/* Returns 1 for JSON whitespace. */
static int json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies buf[0..len) into out with every integer literal of more than 15
 * digits (optional '-', no leading zero, no fraction or exponent) quoted, so
 * cJSON keeps it as an exact string. Also counts [ and { outside strings.
 * Returns 0, or -1 with *err set when nesting exceeds CODEC_MAX_DEPTH. */
static int json_prepass(const char *buf, size_t len, sbuf *out, const char **err)
{
	size_t i = 0, j;
	int depth = 0;

	while (i < len) {
		char c = buf[i];

		if (c == '"') {
			for (j = i + 1; j < len && buf[j] != '"'; j++)
				if (buf[j] == '\\')
					j++;
			j = j < len ? j + 1 : len;
			sbuf_add(out, buf + i, j - i);
			i = j;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t d0 = c == '-' ? i + 1 : i, k;
			int plain = 1;

			for (j = i + 1; j < len && buf[j] && strchr("0123456789+-.eE", buf[j]); j++)
				;
			for (k = d0; k < j; k++)
				if (buf[k] < '0' || buf[k] > '9')
					plain = 0;
			if (plain && j - d0 > 15 && buf[d0] != '0') {
				sbuf_add(out, "\"", 1);
				sbuf_add(out, buf + i, j - i);
				sbuf_add(out, "\"", 1);
			} else {
				sbuf_add(out, buf + i, j - i);
			}
			i = j;
		} else {
			if (c == '[' || c == '{') {
				if (++depth > CODEC_MAX_DEPTH) {
					*err = "nested too deep";
					return -1;
				}
			} else if ((c == ']' || c == '}') && depth > 0) {
				depth--;
			}
			sbuf_add(out, &c, 1);
			i++;
		}
	}
	return 0;
}

/* Returns the tree of the JSON text buf[0..len), NULL with a static reason in
 * *err on error. The text must be UTF-8 without NUL bytes; only whitespace may
 * follow the value. */
cJSON *codec_json_parse(const char *buf, size_t len, const char **err)
{
	const char *dummy, *end = NULL;
	sbuf b = {0};
	cJSON *j;

	if (!err)
		err = &dummy;
	if (!buf) {
		*err = "no input";
		return NULL;
	}
	if (!utf8_valid((const unsigned char *)buf, len, 0)) {
		*err = "invalid UTF-8 or NUL in JSON";
		return NULL;
	}
	if (json_prepass(buf, len, &b, err)) {
		sbuf_free(&b);
		return NULL;
	}
	if (b.oom || !b.p) {
		*err = b.oom ? "out of memory" : "empty JSON";
		sbuf_free(&b);
		return NULL;
	}
	j = cJSON_ParseWithLengthOpts(b.p, b.len, &end, 0);
	if (!j) {
		/* cJSON does not tell OOM apart from bad syntax. */
		*err = "invalid JSON";
		sbuf_free(&b);
		return NULL;
	}
	while (end < b.p + b.len && json_ws(*end))
		end++;
	if (end != b.p + b.len) {
		cJSON_Delete(j);
		*err = "trailing bytes after JSON";
		j = NULL;
	}
	sbuf_free(&b);
	return j;
}

/* Returns the decoded tree of one push item's base64 `data`, NULL on error.
 * *kind is CODEC_JSON when the bytes are UTF-8 text starting (after
 * whitespace) with '{' or '[' - such text never falls back to MessagePack -
 * CODEC_MSGPACK otherwise, and CODEC_NONE on any error. */
cJSON *codec_decode_item(const char *b64, size_t len, codec_kind *kind, const char **err)
{
	const char *dummy;
	codec_kind k = CODEC_MSGPACK;
	unsigned char *bin;
	size_t n = 0, i = 0;
	cJSON *j;

	if (!err)
		err = &dummy;
	if (kind)
		*kind = CODEC_NONE;
	bin = codec_b64_decode(b64, len, &n);
	if (!bin) {
		*err = "bad base64";
		return NULL;
	}
	while (i < n && json_ws((char)bin[i]))
		i++;
	if (i < n && (bin[i] == '{' || bin[i] == '[') && utf8_valid(bin, n, 0))
		k = CODEC_JSON;
	if (k == CODEC_JSON)
		j = codec_json_parse((const char *)bin, n, err);
	else
		j = codec_msgpack_to_json(bin, n, err);
	free(bin);
	if (j && kind)
		*kind = k;
	return j;
}
