/* SPDX-License-Identifier: MIT */
/*
 * core/secret.h - secrets at rest (the account's cookie): each one encrypted
 * in a file of its own with a key kept in another file.
 *
 * The key file holds 32 random bytes (crypto_secretbox_keygen) as one line of
 * standard base64 with padding (44 characters, then "\n"). secret_set makes it
 * on first use with mode 0600 whatever the umask; a key file that group or
 * others may access (any bit of 077) is refused, with the fix in the error
 * ("chmod 600 FILE"). Losing the key loses every secret encrypted with it.
 *
 * A secret file (e.g. <name>.secret next to the key) is one line of standard
 * base64 of nonce (24 random bytes, new at every write) || ciphertext, where
 * the ciphertext is crypto_secretbox_easy's (XSalsa20-Poly1305): a 16-byte
 * MAC, then the encrypted secret. It is written atomically (a temp file in the
 * same folder, fsync, rename, fsync of the folder) with mode 0600.
 *
 * What it protects against: the config or a secret file alone (a backup, a
 * paste, a repository) shows nothing. Whoever can read both the key file and
 * a secret file can decrypt it. The secret file names nothing: secrets made
 * with one key can be swapped for each other unnoticed.
 *
 * Error text names the file and the reason, never the secret. Keys and
 * plaintext buffers are wiped (sodium_memzero) before they are freed.
 */
#ifndef SK_SECRET_H
#define SK_SECRET_H

#include <stddef.h>

/* The largest secret, in bytes. */
#define SECRET_MAX (1024 * 1024)

/* Results: 0, or which file is at fault. */
enum {
	SECRET_OK = 0,
	SECRET_EKEY = -1,     /* the key file: missing, unreadable, accessible by others, not a key */
	SECRET_EMISSING = -2, /* the secret file does not exist */
	SECRET_EIO = -3,      /* the secret file cannot be read or written, or is too large */
	SECRET_EBAD = -4,     /* the secret file cannot be decrypted: tampered with, truncated, another key */
	SECRET_ESYS = -5      /* out of memory, libsodium cannot start */
};

/* Encrypts plaintext (a string, at most SECRET_MAX bytes) into the file path
 * with the key of keyfile, which is made when it does not exist. Returns 0,
 * or one of the SECRET_E* codes with the reason in err; on failure path is
 * left as it was. */
int secret_set(const char *keyfile, const char *path, const char *plaintext, char *err, size_t errlen);

/* Decrypts the file path with the key of keyfile (never made here). Returns
 * 0 with *plaintext_out a malloc'd string (free it with secret_free), or one
 * of the SECRET_E* codes with *plaintext_out NULL and the reason in err, e.g.
 * "<path>: cannot be decrypted: tampered with, or another key". */
int secret_get(const char *keyfile, const char *path, char **plaintext_out, char *err, size_t errlen);

/* Encrypts plaintext with the key of keyfile (made when it does not exist)
 * into a malloc'd line of base64 without "\n", the content of a secret file:
 * for a secret kept elsewhere than in a file of its own (a database row).
 * Returns 0 with *b64_out set (plain free), or a SECRET_E* code. */
int secret_seal(const char *keyfile, const char *plaintext, char **b64_out, char *err, size_t errlen);

/* Decrypts what secret_seal made (b64, len bytes; trailing white space is
 * ignored). what names the source in errors ("<what>: cannot be decrypted:
 * ..."). Returns 0 with *plaintext_out set (free it with secret_free), or a
 * SECRET_E* code with *plaintext_out NULL. */
int secret_open(const char *keyfile, const char *what, const char *b64, size_t len, char **plaintext_out,
		char *err, size_t errlen);

/* Wipes the string s and frees it; NULL is fine. */
void secret_free(char *s);

#endif
