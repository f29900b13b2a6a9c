/* SPDX-License-Identifier: MIT */
/*
 * core/store_guard.c - what keeps state.db safe (see store.h and
 * store_int.h): the quick_check at open, bounded in time; the watch that
 * state.db and its -wal are still the files SQLite has open; the count of
 * durable commits in kv and in the run lock file; the run lock itself; the
 * account a database belongs to; the online backup.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* How long the quick_check at open may take: on a large database it stops
 * there, having checked what it got to (README, Benchmarks: ~0.3 s for a
 * 230 MB file in the page cache, 3 s from a cold disk). */
#define STORE_CHECK_MS 500

/* The quick_check's watchdog: SQLite 3.40 runs the check as one VDBE
 * opcode, so a progress handler is never called inside it, but
 * sqlite3_interrupt() (safe from another thread) stops it. */
typedef struct {
	sqlite3 *db;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
} store_watchdog;

/* The watchdog thread: interrupts the check at STORE_CHECK_MS unless it is
 * done before. */
static void *store_watchdog_main(void *ud)
{
	store_watchdog *w = ud;
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += STORE_CHECK_MS / 1000;
	until.tv_nsec += (STORE_CHECK_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT) {
			if (!w->done)
				sqlite3_interrupt(w->db);
			break;
		}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* PRAGMA quick_check, stopped after STORE_CHECK_MS. Returns 0 when it found
 * nothing (also when it ran out of time), -1 with err set when it found damage
 * or could not run. */
int store_quick_check(sqlite3 *db, char *err, size_t errlen)
{
	store_watchdog w = { .db = db };
	pthread_condattr_t ca;
	pthread_t th;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, bad = 0, watching;

	err[0] = '\0';
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check(3)", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "quick_check: %s", sqlite3_errmsg(db));
		return -1;
	}
	pthread_mutex_init(&w.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cv, &ca);
	pthread_condattr_destroy(&ca);
	watching = pthread_create(&th, NULL, store_watchdog_main, &w) == 0;   /* else unbounded */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (t && !strcmp(t, "ok"))
			continue;
		bad = 1;
		if (n < errlen)
			n += (size_t)snprintf(err + n, errlen - n, "%s%s", n ? "; " : "quick_check: ", t ? t : "?");
	}
	if (watching) {
		pthread_mutex_lock(&w.mu);
		w.done = 1;
		pthread_cond_signal(&w.cv);
		pthread_mutex_unlock(&w.mu);
		pthread_join(th, NULL);
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	for (char *p = err; *p; p++)
		if (*p == '\n')
			*p = ' ';      /* "*** in database main ***\nPage 6: ..." on one log line */
	if (rc != SQLITE_DONE && rc != SQLITE_INTERRUPT && !bad)
		snprintf(err, errlen, "quick_check: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return bad || (rc != SQLITE_DONE && rc != SQLITE_INTERRUPT) ? -1 : 0;
}

/* 1 when SQLite's last error on db says the file is damaged or no database. */
int store_damaged(sqlite3 *db)
{
	int rc = sqlite3_errcode(db) & 0xff;

	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* Notes the inodes of the database file and of its WAL (once it exists) and
 * the WAL's size, for store_watch_check. */
void store_watch_note(store *s)
{
	struct stat a;
	char wal[4200];

	if (!s->path)
		return;
	if (!s->db_ino && !stat(s->path, &a)) {
		s->db_dev = a.st_dev;
		s->db_ino = a.st_ino;
	}
	snprintf(wal, sizeof wal, "%s-wal", s->path);
	if (!s->watch && !stat(wal, &a)) {
		s->wal_dev = a.st_dev;
		s->wal_ino = a.st_ino;
		s->wal_size = a.st_size;
		s->watch = 1;
	}
}

/* Checks that the database file and its WAL are still the files SQLite has
 * open, and that the WAL did not shrink (SQLite never truncates it while a
 * connection is open: no journal_size_limit, no TRUNCATE checkpoints). A WAL
 * deleted, replaced or cut under the process loses the commits it held for
 * any later start: their effects must not leave the process. Two stat()s.
 * Returns 0, or -1 with err set naming the file. */
int store_watch_check(store *s, char *err, size_t errlen)
{
	struct stat a;
	char wal[4200];

	if (!s->path || !s->db_ino)
		return 0;
	if (stat(s->path, &a) || a.st_dev != s->db_dev || a.st_ino != s->db_ino) {
		snprintf(err, errlen, "%s was deleted or replaced under the running process (%s)", s->path,
			 errno == ENOENT ? "gone" : "another file now");
		return -1;
	}
	snprintf(wal, sizeof wal, "%s-wal", s->path);
	if (!s->watch) {
		store_watch_note(s);
		return 0;
	}
	if (stat(wal, &a)) {
		snprintf(err, errlen, "%s was deleted under the running process: the commits in it are lost for any "
			 "later start", wal);
		return -1;
	}
	if (a.st_dev != s->wal_dev || a.st_ino != s->wal_ino) {
		snprintf(err, errlen, "%s was replaced under the running process: the commits in it are lost for any "
			 "later start", wal);
		return -1;
	}
	if (a.st_size < s->wal_size) {
		snprintf(err, errlen, "%s was truncated under the running process (%lld to %lld bytes): the commits "
			 "in it are lost for any later start", wal, (long long)s->wal_size, (long long)a.st_size);
		return -1;
	}
	s->wal_size = a.st_size;
	return 0;
}

/* Syncs the WAL file the connection has open (what synchronous=FULL does at
 * every commit; PRAGMA synchronous cannot change inside the transaction
 * where we learn that it matters). Returns 0, or -1 with err set. */
static int store_sync_wal(store *s, char *err, size_t errlen)
{
	sqlite3_file *f = NULL;
	int rc;

	if (!s->path)
		return 0;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods) {
		snprintf(err, errlen, "%s-wal: the WAL file is not open: cannot sync it", s->path);
		return -1;
	}
	if ((rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL)) != SQLITE_OK) {
		snprintf(err, errlen, "%s-wal: sync: %s", s->path, sqlite3_errstr(rc));
		return -1;
	}
	s->durable_commits++;
	return 0;
}

/* Counts one more durable commit in kv (inside the transaction that makes
 * it). Returns 0, or -1 with err set. */
int store_seq_bump(store *s, char *err, size_t errlen)
{
	char v[24];

	snprintf(v, sizeof v, "%lld", (long long)(s->durable_seq + 1));
	if (store_kv_set(s, STORE_KV_SEQ, v)) {
		snprintf(err, errlen, "%s: recording a durable commit: %s", s->path ? s->path : ":memory:",
			 sqlite3_errmsg(s->db));
		return -1;
	}
	s->durable_seq++;
	return 0;
}

/* Writes the run lock's line: "pid seq account". 0 or -1. */
static int store_lock_write(int fd, int64_t seq, const char *account)
{
	char buf[300];
	int n = snprintf(buf, sizeof buf, "%ld %lld %s\n", (long)getpid(), (long long)seq, account);

	if (n >= (int)sizeof buf)
		n = (int)sizeof buf - 1;
	/* The line first, then the cut: a crash between leaves a line, and
	 * whatever followed it after its newline. */
	return pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) ? -1 : 0;
}

/* After a durable commit: the WAL synced, then the count in the lock file
 * (no sync: it is only ever behind the database after a power cut, never
 * ahead), which the next start compares (store_use_lock). 0 or -1. */
int store_durable_done(store *s, char *err, size_t errlen)
{
	if (store_sync_wal(s, err, errlen))
		return -1;
	if (s->lockfd >= 0 && store_lock_write(s->lockfd, s->durable_seq, s->lock_account))
		log_warn("store", "%s.lock: cannot write: %s", s->path, strerror(errno));
	return 0;
}
/* Reads the run lock's line "pid seq account" of fd into buf: *pid and
 * *account point into buf ("" when absent), *seq is 0 when absent. */
static void store_lock_read(int fd, char *buf, size_t n, const char **pid, int64_t *seq, const char **account)
{
	ssize_t got = pread(fd, buf, n - 1, 0);
	char *p, *e;

	buf[got > 0 ? got : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	*pid = buf;
	*account = "";
	*seq = 0;
	if (!(p = strchr(buf, ' ')))
		return;
	*p++ = '\0';
	*seq = strtoll(p, &e, 10);
	if (e != p && *e == ' ')
		*account = e + 1;
	else
		*seq = 0;
}

/* Takes the run lock of the database at path: flock() on "<path>.lock"
 * (0600), not on the database, whose POSIX locks SQLite holds and any close()
 * of another descriptor of it would drop. The file names the holder for the
 * next one's error and keeps the count of durable commits (store_use_lock):
 * "pid seq account". Returns the descriptor, to keep open for the life of
 * the process, or with err set -1 when another process holds it (who), -2
 * when the lock file cannot be made or locked. */
int store_lock(const char *path, const char *account, char *err, size_t errlen)
{
	char lpath[4200], buf[300];
	const char *pid, *holder;
	int64_t seq;
	int fd;

	if (!strcmp(path, ":memory:"))
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(lpath, sizeof lpath, "%s.lock", path);
	if ((fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errlen, "state.db %s: cannot make its lock file %s: %s", path, lpath, strerror(errno));
		return -2;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		store_lock_read(fd, buf, sizeof buf, &pid, &seq, &holder);
		close(fd);
		if (e != EWOULDBLOCK) {
			snprintf(err, errlen, "state.db %s: cannot lock %s: %s", path, lpath, strerror(e));
			return -2;
		}
		if (!*holder)
			snprintf(err, errlen, "state.db %s is in use by another process (%s holds %s)", path,
				 *pid ? pid : "?", lpath);
		else if (!strcmp(holder, account))
			snprintf(err, errlen, "account %s is running already on state.db %s (pid %s holds %s); this one "
				 "stops", account, path, pid, lpath);
		else
			snprintf(err, errlen, "state.db %s is in use by account %s (pid %s holds %s): account %s cannot "
				 "run on it; give each account its own state.db", path, holder, pid, lpath, account);
		return -1;
	}
	store_lock_read(fd, buf, sizeof buf, &pid, &seq, &holder);
	if (store_lock_write(fd, seq, account)) {
		snprintf(err, errlen, "state.db %s: cannot write its lock file %s: %s", path, lpath, strerror(errno));
		close(fd);
		return -2;
	}
	return fd;
}

/* Hands the run lock (store_lock's fd, kept by the caller) to the store:
 * each durable commit writes its count there. First compares the counts: a
 * database that has had fewer durable commits than the lock file saw lost
 * them - its WAL deleted or truncated after a crash, or an older copy put
 * back - and codes sent by them would be handed out again. Returns 0, or -1
 * with err set (the store is not to be run). */
int store_use_lock(store *s, int fd, const char *account, char *err, size_t errlen)
{
	char buf[300];
	const char *pid, *holder;
	int64_t seq;

	if (!s->path)
		return 0;
	store_lock_read(fd, buf, sizeof buf, &pid, &seq, &holder);
	if (seq > s->durable_seq) {
		snprintf(err, errlen, "%s has lost commits: %lld durable commits (deliveries) were made, it holds %lld "
			 "(its -wal was deleted or truncated after a crash, or an older copy was put back); codes those "
			 "deliveries sent may be free again in it. Restore the latest backup or check the stock against "
			 "the platform's orders (shopkeep orders list), then remove %s.lock to start anyway", s->path,
			 (long long)seq, (long long)s->durable_seq, s->path);
		return -1;
	}
	free(s->lock_account);
	if (!(s->lock_account = util_strndup(account, strlen(account)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->lockfd = fd;
	if (seq < s->durable_seq && store_lock_write(fd, s->durable_seq, account))
		log_warn("store", "%s.lock: cannot write: %s", s->path, strerror(errno));
	return 0;
}

#define STORE_KV_ACCOUNT "core.account_id"

/* The account a database belongs to: recorded at its first open by a
 * command that names one; another account is refused, since its process
 * would answer the first's buyers with the first's stock. Returns 0, or -1
 * with err set naming both accounts and the file. */
int store_account(store *s, const char *account, char *err, size_t errlen)
{
	char *v = NULL;
	int rc = store_kv_get(s, STORE_KV_ACCOUNT, &v);

	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read its account: %s", s->path ? s->path : ":memory:",
			 sqlite3_errmsg(s->db));
		return -1;
	}
	if (rc == 1 || !v) {
		free(v);
		if (store_kv_set(s, STORE_KV_ACCOUNT, account)) {
			snprintf(err, errlen, "%s: cannot record its account: %s", s->path ? s->path : ":memory:",
				 sqlite3_errmsg(s->db));
			return -1;
		}
		return 0;
	}
	if (strcmp(v, account)) {
		snprintf(err, errlen, "%s belongs to account %s, not to account %s (this config's "
			 "account.id): give each account its own state.db", s->path ? s->path : ":memory:", v, account);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

#define STORE_BACKUP_PAGES 256     /* pages per step: 1 MiB of 4 KiB pages */
#define STORE_BACKUP_SLEEP_MS 2    /* between steps, so the copy does not hog the disk */

/* Copies the database at path into dest with SQLite's online backup API,
 * safe beside a running process: one read transaction held on the source
 * for the whole copy (in WAL mode it blocks no writer; the copy is that
 * moment's state and never starts over), steps of STORE_BACKUP_PAGES
 * pages. dest is written as a temp file (0600) in its folder, synced,
 * checked, and renamed over dest. Returns 0, or -1 with err set. */
int store_backup(const char *path, const char *dest, char *err, size_t errlen)
{
	char tmp[4200], dir[4200], why[256], *slash;
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	int fd, rc, done = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", dest) >= (int)sizeof tmp) {
		snprintf(err, errlen, "%s: the name is too long", dest);
		return -1;
	}
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, src ? sqlite3_errmsg(src) : "out of memory");
		sqlite3_close(src);
		return -1;
	}
	sqlite3_busy_timeout(src, 5000);
	if (sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(src));
		sqlite3_close(src);
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		sqlite3_close(src);
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    !(b = sqlite3_backup_init(dst, "main", src, "main"))) {
		snprintf(err, errlen, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
		goto fail;
	}
	while ((rc = sqlite3_backup_step(b, STORE_BACKUP_PAGES)) == SQLITE_OK || rc == SQLITE_BUSY ||
	       rc == SQLITE_LOCKED)
		sqlite3_sleep(STORE_BACKUP_SLEEP_MS);
	done = rc == SQLITE_DONE;
	rc = sqlite3_backup_finish(b);
	if (!done || rc != SQLITE_OK) {
		snprintf(err, errlen, "copying %s into %s: %s", path, tmp, sqlite3_errmsg(dst));
		goto fail;
	}
	sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(src);
	src = NULL;
	/* The copy must be a sound database before it replaces anything. */
	if (store_quick_check(dst, why, sizeof why)) {
		snprintf(err, errlen, "%s: the copy does not check out: %s", tmp, why);
		goto fail;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", tmp, sqlite3_errmsg(dst));
		goto fail;
	}
	dst = NULL;
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);
	if (rename(tmp, dest)) {
		snprintf(err, errlen, "%s: %s", dest, strerror(errno));
		goto fail;
	}
	snprintf(dir, sizeof dir, "%s", dest);
	if ((slash = strrchr(dir, '/')))
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
fail:
	sqlite3_close(dst);
	sqlite3_close(src);
	unlink(tmp);
	return -1;
}
