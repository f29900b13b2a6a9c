/* SPDX-License-Identifier: MIT */
/*
 * core/codec.h - payload decoding (docs/protocol.md §5): base64 -> MessagePack or JSON -> cJSON.
 *
 * Untrusted input throughout: every declared length or count is bounded by the
 * bytes that remain, nesting is capped at CODEC_MAX_DEPTH, nothing reads past the
 * buffer, and a failure returns NULL with a short static reason in *err.
 */
#ifndef SK_CODEC_H
#define SK_CODEC_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define CODEC_MAX_DEPTH 32
/* Integers with a magnitude above 2^53 cannot be exact as cJSON numbers:
 * the decoder writes them as strings of their exact decimal digits. */
#define CODEC_MAX_EXACT_INT 9007199254740992.0

typedef enum {
	CODEC_NONE = 0,
	CODEC_MSGPACK = 1,  /* base64 of MessagePack (the usual chat payload) */
	CODEC_JSON = 2      /* base64 of plain UTF-8 JSON (e.g. /s/vulcan items) */
} codec_kind;

/* Standard padded base64 (libsodium ORIGINAL; '\r', '\n' and ' ' ignored).
 * Returns a malloc'd buffer (NUL-terminated for convenience, not counted in *outlen),
 * NULL on bad input. */
unsigned char *codec_b64_decode(const char *s, size_t len, size_t *outlen);
/* Returns a malloc'd NUL-terminated standard padded base64 of n bytes, NULL on OOM. */
char *codec_b64_encode(const void *p, size_t n);

/* Decodes exactly one MessagePack value filling buf[0..len) into a cJSON tree.
 * Map keys: strings as they are, integers as decimal strings ("1", "10"); any other
 * key type is an error. Integers beyond +-2^53 become exact decimal strings; str
 * must be valid UTF-8 (else error); bin becomes a string when valid UTF-8, else an
 * error; float32/64 numbers; nil null; bool; ext and 0xc1 are errors; trailing
 * bytes are an error. */
cJSON *codec_msgpack_to_json(const unsigned char *buf, size_t len, const char **err);

/* Parses JSON text of exactly len bytes (trailing whitespace allowed, other trailing
 * bytes rejected). Integer literals with more than 15 digits are kept exact as
 * strings. Depth capped at CODEC_MAX_DEPTH. */
cJSON *codec_json_parse(const char *buf, size_t len, const char **err);

/* Decodes one push item's `data` field: base64, then JSON when the bytes are a
 * UTF-8 JSON object or array, else MessagePack. Sets *kind. */
cJSON *codec_decode_item(const char *b64, size_t len, codec_kind *kind, const char **err);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, nothing above
 * U+10FFFF) without a NUL byte; 0 otherwise. */
int codec_utf8_valid(const char *s, size_t n);

#endif
