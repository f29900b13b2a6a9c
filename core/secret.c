/* SPDX-License-Identifier: MIT */
/*
 * core/secret.c - secrets at rest: crypto_secretbox (XSalsa20-Poly1305) with
 * a key file of mode 0600 (docs/libraries.md §6). The formats are in secret.h.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_KEYBYTES crypto_secretbox_KEYBYTES
#define SECRET_NONCEBYTES crypto_secretbox_NONCEBYTES
#define SECRET_MACBYTES crypto_secretbox_MACBYTES
#define SECRET_B64 sodium_base64_VARIANT_ORIGINAL
/* The longest secret file: the base64 of the largest secret, a line break. */
#define SECRET_MAX_FILE (sodium_base64_ENCODED_LEN(SECRET_NONCEBYTES + SECRET_MACBYTES + SECRET_MAX, SECRET_B64) + 2)

static void secret_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Formats the reason of a failure into err (when given). */
static void secret_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Starts libsodium once; returns 0 or SECRET_ESYS. */
static int secret_init(char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		secret_err(err, errlen, "libsodium cannot be initialised");
		return SECRET_ESYS;
	}
	return 0;
}

/* Writes n bytes of p to fd, through short writes and EINTR. 0 or -1 with errno. */
static int secret_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!w)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads at most max bytes of fd into buf; returns the count, or -1 with errno
 * (EFBIG when the file holds more than max). */
static ssize_t secret_read_all(int fd, char *buf, size_t max)
{
	size_t n = 0;
	char extra;

	while (n < max) {
		ssize_t r = read(fd, buf + n, max - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (!r)
			return (ssize_t)n;
		n += (size_t)r;
	}
	for (;;) {
		ssize_t r = read(fd, &extra, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r) {
			errno = EFBIG;
			return -1;
		}
		return (ssize_t)n;
	}
}

/* Flushes the folder of path, so that a new name in it survives a crash.
 * Best effort: some file systems refuse to fsync a folder. */
static void secret_fsync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Returns the length of s[0..n) without its trailing white space. */
static size_t secret_trim(const char *s, size_t n)
{
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/* Makes a new key file: O_EXCL so that an existing one is never replaced,
 * mode 0600 by fchmod whatever the umask. Returns 0 with key set, 1 when the
 * file appeared meanwhile (read it instead), or SECRET_EKEY. */
static int secret_key_create(const char *keyfile, unsigned char *key, char *err, size_t errlen)
{
	char text[sodium_base64_ENCODED_LEN(SECRET_KEYBYTES, SECRET_B64) + 1];
	size_t n;
	int fd, e;

	fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return 1;
		secret_err(err, errlen, "key file %s: cannot create: %s", keyfile, strerror(errno));
		return SECRET_EKEY;
	}
	crypto_secretbox_keygen(key);
	sodium_bin2base64(text, sizeof text - 1, key, SECRET_KEYBYTES, SECRET_B64);
	n = strlen(text);
	text[n++] = '\n';
	if (fchmod(fd, 0600) || secret_write_all(fd, text, n) || fsync(fd)) {
		e = errno;
		close(fd);
		unlink(keyfile);
		sodium_memzero(text, sizeof text);
		sodium_memzero(key, SECRET_KEYBYTES);
		secret_err(err, errlen, "key file %s: cannot write: %s", keyfile, strerror(e));
		return SECRET_EKEY;
	}
	sodium_memzero(text, sizeof text);
	if (close(fd)) {
		e = errno;
		unlink(keyfile);
		sodium_memzero(key, SECRET_KEYBYTES);
		secret_err(err, errlen, "key file %s: cannot write: %s", keyfile, strerror(e));
		return SECRET_EKEY;
	}
	secret_fsync_dir(keyfile);
	return 0;
}

/* Reads the key of keyfile into key (SECRET_KEYBYTES); with create, a missing
 * key file is made. Refuses a key file that group or others can access.
 * Returns 0 or SECRET_EKEY (key wiped). */
static int secret_key_load(const char *keyfile, int create, unsigned char *key, char *err, size_t errlen)
{
	char text[128];
	struct stat st;
	size_t kl = 0;
	ssize_t n;
	int fd, tries;

	for (tries = 0;; tries++) {
		fd = open(keyfile, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0 || errno != ENOENT || !create || tries)
			break;
		n = secret_key_create(keyfile, key, err, errlen);
		if (n != 1)
			return (int)n;
	}
	if (fd < 0) {
		secret_err(err, errlen, "key file %s: cannot read: %s", keyfile, strerror(errno));
		return SECRET_EKEY;
	}
	if (fstat(fd, &st)) {
		secret_err(err, errlen, "key file %s: cannot read: %s", keyfile, strerror(errno));
		close(fd);
		return SECRET_EKEY;
	}
	if (!S_ISREG(st.st_mode)) {
		secret_err(err, errlen, "key file %s: not a regular file", keyfile);
		close(fd);
		return SECRET_EKEY;
	}
	if (st.st_mode & 077) {
		secret_err(err, errlen, "key file %s: group or others have access to it (mode %04o); fix it: chmod 600 %s",
			   keyfile, (unsigned)(st.st_mode & 07777), keyfile);
		close(fd);
		return SECRET_EKEY;
	}
	n = secret_read_all(fd, text, sizeof text - 1);
	close(fd);
	if (n < 0 && errno != EFBIG) {
		secret_err(err, errlen, "key file %s: cannot read: %s", keyfile, strerror(errno));
		return SECRET_EKEY;
	}
	/* Strict: standard base64 with padding, nothing but a line break after. */
	if (n < 0 || sodium_base642bin(key, SECRET_KEYBYTES, text, secret_trim(text, (size_t)n), NULL, &kl, NULL,
				       SECRET_B64) || kl != SECRET_KEYBYTES) {
		sodium_memzero(text, sizeof text);
		sodium_memzero(key, SECRET_KEYBYTES);
		secret_err(err, errlen, "key file %s: not a key (one line: 32 bytes in base64)", keyfile);
		return SECRET_EKEY;
	}
	sodium_memzero(text, sizeof text);
	return 0;
}

/* Encrypts plaintext with keyfile's key (made when missing) into a malloc'd
 * base64 line. Returns 0 or a SECRET_E* code. */
int secret_seal(const char *keyfile, const char *plaintext, char **b64_out, char *err, size_t errlen)
{
	unsigned char key[SECRET_KEYBYTES], *box;
	size_t mlen = strlen(plaintext), blen, elen;
	char *b64;
	int rc;

	*b64_out = NULL;
	if ((rc = secret_init(err, errlen)))
		return rc;
	if (mlen > SECRET_MAX) {
		secret_err(err, errlen, "the secret is larger than %d bytes", SECRET_MAX);
		return SECRET_EIO;
	}
	blen = SECRET_NONCEBYTES + SECRET_MACBYTES + mlen;
	elen = sodium_base64_ENCODED_LEN(blen, SECRET_B64);
	box = malloc(blen);
	b64 = malloc(elen);
	if (!box || !b64) {
		free(box);
		free(b64);
		secret_err(err, errlen, "out of memory");
		return SECRET_ESYS;
	}
	if ((rc = secret_key_load(keyfile, 1, key, err, errlen))) {
		free(box);
		free(b64);
		return rc;
	}
	/* A new random nonce for every write: 24 bytes are enough to never repeat. */
	randombytes_buf(box, SECRET_NONCEBYTES);
	crypto_secretbox_easy(box + SECRET_NONCEBYTES, (const unsigned char *)plaintext, mlen, box, key);
	sodium_memzero(key, sizeof key);
	sodium_bin2base64(b64, elen, box, blen, SECRET_B64);
	free(box);
	*b64_out = b64;
	return 0;
}

/* Decrypts a secret_seal line. Returns 0 or a SECRET_E* code. */
int secret_open(const char *keyfile, const char *what, const char *b64, size_t len, char **plaintext_out,
		char *err, size_t errlen)
{
	unsigned char key[SECRET_KEYBYTES], *box;
	size_t blen = 0, max, mlen;
	char *m;
	int rc;

	*plaintext_out = NULL;
	if ((rc = secret_init(err, errlen)))
		return rc;
	len = secret_trim(b64, len);
	if (len > SECRET_MAX_FILE) {
		secret_err(err, errlen, "%s: larger than a secret of %d bytes", what, SECRET_MAX);
		return SECRET_EIO;
	}
	if ((rc = secret_key_load(keyfile, 0, key, err, errlen)))
		return rc;
	max = len / 4 * 3 + 3;
	if (!(box = malloc(max))) {
		sodium_memzero(key, sizeof key);
		secret_err(err, errlen, "out of memory");
		return SECRET_ESYS;
	}
	/* Bad base64 and a short box are what truncation and tampering make too:
	 * one answer for all. open_easy checks the MAC before it decrypts. */
	if (sodium_base642bin(box, max, b64, len, NULL, &blen, NULL, SECRET_B64) ||
	    blen < SECRET_NONCEBYTES + SECRET_MACBYTES) {
		sodium_memzero(key, sizeof key);
		free(box);
		secret_err(err, errlen, "%s: cannot be decrypted: tampered with, or another key", what);
		return SECRET_EBAD;
	}
	mlen = blen - SECRET_NONCEBYTES - SECRET_MACBYTES;
	if (!(m = malloc(mlen + 1))) {
		sodium_memzero(key, sizeof key);
		free(box);
		secret_err(err, errlen, "out of memory");
		return SECRET_ESYS;
	}
	rc = crypto_secretbox_open_easy((unsigned char *)m, box + SECRET_NONCEBYTES, blen - SECRET_NONCEBYTES, box, key);
	sodium_memzero(key, sizeof key);
	free(box);
	if (rc) {
		sodium_memzero(m, mlen + 1);
		free(m);
		secret_err(err, errlen, "%s: cannot be decrypted: tampered with, or another key", what);
		return SECRET_EBAD;
	}
	m[mlen] = '\0';
	if (strlen(m) != mlen) {
		sodium_memzero(m, mlen + 1);
		free(m);
		secret_err(err, errlen, "%s: the secret contains a NUL byte", what);
		return SECRET_EBAD;
	}
	*plaintext_out = m;
	return 0;
}

/* Writes text and a line break to path atomically, mode 0600: a temp file
 * next to it, fsync, rename over path, fsync of the folder. 0 or -1 with errno. */
static int secret_write_atomic(const char *path, const char *text)
{
	char *tmp;
	int fd, e;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		errno = ENOMEM;
		return -1;
	}
	/* mkstemp opens with O_CREAT|O_EXCL and mode 0600 less the umask. */
	if ((fd = mkstemp(tmp)) < 0) {
		e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	if (fchmod(fd, 0600) || secret_write_all(fd, text, strlen(text)) || secret_write_all(fd, "\n", 1) ||
	    fsync(fd)) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) || rename(tmp, path)) {
		e = errno;
		goto fail;
	}
	free(tmp);
	secret_fsync_dir(path);
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	errno = e;
	return -1;
}

/* Encrypts plaintext into path. Returns 0 or a SECRET_E* code. */
int secret_set(const char *keyfile, const char *path, const char *plaintext, char *err, size_t errlen)
{
	char *b64;
	int rc;

	if ((rc = secret_seal(keyfile, plaintext, &b64, err, errlen)))
		return rc;
	rc = 0;
	if (secret_write_atomic(path, b64)) {
		secret_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		rc = SECRET_EIO;
	}
	free(b64);
	return rc;
}

/* Decrypts the file path. Returns 0 or a SECRET_E* code. */
int secret_get(const char *keyfile, const char *path, char **plaintext_out, char *err, size_t errlen)
{
	char *text;
	ssize_t n;
	int fd, rc;

	*plaintext_out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		rc = errno == ENOENT ? SECRET_EMISSING : SECRET_EIO;
		secret_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return rc;
	}
	if (!(text = malloc(SECRET_MAX_FILE))) {
		close(fd);
		secret_err(err, errlen, "out of memory");
		return SECRET_ESYS;
	}
	n = secret_read_all(fd, text, SECRET_MAX_FILE);
	close(fd);
	if (n < 0) {
		if (errno == EFBIG)
			secret_err(err, errlen, "%s: larger than a secret of %d bytes", path, SECRET_MAX);
		else
			secret_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		free(text);
		return SECRET_EIO;
	}
	rc = secret_open(keyfile, path, text, (size_t)n, plaintext_out, err, errlen);
	free(text);
	return rc;
}

/* Wipes and frees s. */
void secret_free(char *s)
{
	if (!s)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}
