/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_store_guard.c - what core/store.c does to keep state.db
 * whole and its own: a batch that queues a send syncs the WAL before its
 * commit returns (observed through a VFS shim that counts the syncs of each
 * file), a WAL or database file deleted, replaced or truncated under an open
 * store fails the next commit naming the file, a damaged file is refused at
 * open naming the file and the way back, a failing checkpoint is counted and
 * logged, the run lock and the account record refuse a second process and
 * another account, durable commits lost with a WAL truncated after a crash
 * are noticed at the next start, and the online backup copies a store that
 * is being written.
 */
#include "store.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[64];

/* ---- the VFS shim: the default VFS, counting syncs, failing main-db writes on demand */

typedef struct {
	sqlite3_file base;
	sqlite3_file *real;        /* the unix VFS's file, right after this struct */
	int kind;                  /* 0 main db, 1 WAL, 2 other */
} shim_file;

static sqlite3_vfs *shim_real;
static int shim_wal_syncs, shim_db_syncs, shim_fail_db_writes, shim_db_write_fails;

static int shim_close(sqlite3_file *f)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xClose(p->real);
}
static int shim_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xRead(p->real, b, n, o);
}
static int shim_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	shim_file *p = (shim_file *)f;

	if (p->kind == 0 && __atomic_load_n(&shim_fail_db_writes, __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&shim_db_write_fails, 1, __ATOMIC_SEQ_CST);
		return SQLITE_IOERR_WRITE;
	}
	return p->real->pMethods->xWrite(p->real, b, n, o);
}
static int shim_truncate(sqlite3_file *f, sqlite3_int64 sz)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xTruncate(p->real, sz);
}
static int shim_sync(sqlite3_file *f, int flags)
{
	shim_file *p = (shim_file *)f;

	if (p->kind == 1)
		__atomic_add_fetch(&shim_wal_syncs, 1, __ATOMIC_SEQ_CST);
	else if (p->kind == 0)
		__atomic_add_fetch(&shim_db_syncs, 1, __ATOMIC_SEQ_CST);
	return p->real->pMethods->xSync(p->real, flags);
}
static int shim_size(sqlite3_file *f, sqlite3_int64 *sz)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xFileSize(p->real, sz);
}
static int shim_lock(sqlite3_file *f, int l)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xLock(p->real, l);
}
static int shim_unlock(sqlite3_file *f, int l)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xUnlock(p->real, l);
}
static int shim_reserved(sqlite3_file *f, int *r)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xCheckReservedLock(p->real, r);
}
static int shim_fcntl(sqlite3_file *f, int op, void *a)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xFileControl(p->real, op, a);
}
static int shim_sector(sqlite3_file *f)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xSectorSize(p->real);
}
static int shim_devchar(sqlite3_file *f)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xDeviceCharacteristics(p->real);
}
static int shim_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xShmMap(p->real, pg, sz, ext, pp);
}
static int shim_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xShmLock(p->real, off, n, flags);
}
static void shim_shm_barrier(sqlite3_file *f)
{
	shim_file *p = (shim_file *)f;

	p->real->pMethods->xShmBarrier(p->real);
}
static int shim_shm_unmap(sqlite3_file *f, int del)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xShmUnmap(p->real, del);
}
static int shim_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xFetch(p->real, o, n, pp);
}
static int shim_unfetch(sqlite3_file *f, sqlite3_int64 o, void *pp)
{
	shim_file *p = (shim_file *)f;

	return p->real->pMethods->xUnfetch(p->real, o, pp);
}

static const sqlite3_io_methods shim_io = {
	3, shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_size, shim_lock, shim_unlock,
	shim_reserved, shim_fcntl, shim_sector, shim_devchar, shim_shm_map, shim_shm_lock, shim_shm_barrier,
	shim_shm_unmap, shim_fetch, shim_unfetch,
};

static int shim_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
	shim_file *p = (shim_file *)f;
	int rc;

	(void)v;
	p->real = (sqlite3_file *)(p + 1);
	p->kind = flags & SQLITE_OPEN_MAIN_DB ? 0 : flags & SQLITE_OPEN_WAL ? 1 : 2;
	rc = shim_real->xOpen(shim_real, name, p->real, flags, out);
	p->base.pMethods = p->real->pMethods ? &shim_io : NULL;
	return rc;
}

static sqlite3_vfs shim_vfs;

/* Makes the shim the default VFS. */
static void shim_install(void)
{
	shim_real = sqlite3_vfs_find(NULL);
	shim_vfs = *shim_real;
	shim_vfs.zName = "shim";
	shim_vfs.szOsFile = (int)sizeof(shim_file) + shim_real->szOsFile;
	shim_vfs.xOpen = shim_open;
	sqlite3_vfs_register(&shim_vfs, 1);
}

/* ---- helpers ------------------------------------------------------------ */

static store *open_at(const char *name, char *path, size_t n)
{
	char err[512] = "";
	store *s;

	snprintf(path, n, "%s/%s", tmpdir, name);
	s = store_open(path, err, sizeof err);
	if (!s)
		diag("store_open(%s): %s", path, err);
	return s;
}

/* One batch with one kv write (and a send when send); the commit's result. */
static int batch(store *s, const char *k, int send, char *err, size_t errlen)
{
	static int n;
	char uuid[40];

	err[0] = '\0';
	if (store_batch_begin(s) != 0)
		return -2;
	store_kv_set(s, k, "v");
	if (send) {
		snprintf(uuid, sizeof uuid, "uuid-%d-%d", (int)getpid(), ++n);
		if (store_outbox_add(s, uuid, "10001", "20002", "text", "Your code: ABC", "orders", "order:1", 1) < 0)
			return -3;
	}
	return store_batch_commit_err(s, err, errlen);
}

/* Runs cmd in sh; its exit status. */
static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- tests -------------------------------------------------------------- */

/* A batch that queues a send is synced (the WAL's fdatasync) before commit
 * returns; one that only writes state is not (synchronous=NORMAL). */
static void test_durable(void)
{
	char path[160], err[256];
	store *s = open_at("durable.db", path, sizeof path);
	int w0, w1, w2;

	if (!ok(s != NULL, "durable: open"))
		return;
	w0 = __atomic_load_n(&shim_wal_syncs, __ATOMIC_SEQ_CST);
	is_int(batch(s, "plain", 0, err, sizeof err), 0, "a batch without a send commits");
	w1 = __atomic_load_n(&shim_wal_syncs, __ATOMIC_SEQ_CST);
	is_int(w1 - w0, 0, "and its commit does not sync the WAL (synchronous=NORMAL)");
	is_int(batch(s, "delivery", 1, err, sizeof err), 0, "a batch with a send (a code delivered) commits");
	w2 = __atomic_load_n(&shim_wal_syncs, __ATOMIC_SEQ_CST);
	ok(w2 - w1 >= 1, "and the WAL is synced before commit returns, as synchronous=FULL would (%d syncs)", w2 - w1);
	is_int((int)store_durable_commits(s), 1, "store_durable_commits counts it");
	is_int(batch(s, "plain2", 0, err, sizeof err), 0, "the next plain batch");
	is_int(__atomic_load_n(&shim_wal_syncs, __ATOMIC_SEQ_CST) - w2, 0, "is NORMAL again");
	/* state.sync_sends: whose sends */
	{
		static const struct {
			const char *spec, *plugin;
			int synced;
		} cases[] = {
			{ "orders", "orders", 1 }, { "orders", "autoreply", 0 }, { "orders", NULL, 0 },
			{ " autoreply , orders", "orders", 1 }, { "order", "orders", 0 }, { "ordersx", "orders", 0 },
			{ "orders,core", NULL, 1 }, { "all", "autoreply", 1 }, { "none", "orders", 0 },
		};
		size_t i;

		for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			char uuid[40];
			int w, rc;

			store_sync_sends(s, cases[i].spec);
			snprintf(uuid, sizeof uuid, "spec-%zu", i);
			w = __atomic_load_n(&shim_wal_syncs, __ATOMIC_SEQ_CST);
			store_batch_begin(s);
			store_outbox_add(s, uuid, "10001", "20002", "text", "a reply", cases[i].plugin, NULL, 1);
			rc = store_batch_commit_err(s, err, sizeof err);
			ok(rc == 0 && (__atomic_load_n(&shim_wal_syncs, __ATOMIC_SEQ_CST) > w) == cases[i].synced,
			   "sync_sends \"%s\": a send of %s is %s", cases[i].spec,
			   cases[i].plugin ? cases[i].plugin : "the core", cases[i].synced ? "synced" : "not synced");
		}
		store_sync_sends(s, NULL);
	}
	/* outside a batch the insert is its own commit: synced at once */
	w2 = __atomic_load_n(&shim_wal_syncs, __ATOMIC_SEQ_CST);
	ok(store_outbox_add(s, "lone-uuid", "10001", "20002", "text", "Your code: X", NULL, NULL, 1) > 0,
	   "a send queued outside a batch");
	ok(__atomic_load_n(&shim_wal_syncs, __ATOMIC_SEQ_CST) - w2 >= 1, "is synced too");
	store_close(s);
}

/* The WAL deleted, replaced or truncated, or the database file replaced,
 * under an open store: the next commit fails naming the file. */
static void test_watch(void)
{
	static const struct {
		const char *what, *cmd, *want;
	} cases[] = {
		{ "the WAL deleted", "rm -f '%s-wal'", "-wal was deleted" },
		{ "the WAL replaced", "cp '%1$s-wal' '%1$s-wal.x' && mv '%1$s-wal.x' '%1$s-wal'", "-wal was replaced" },
		{ "the WAL truncated", "truncate -s 0 '%s-wal'", "-wal was truncated" },
		{ "the database file replaced", "cp '%1$s' '%1$s.x' && mv '%1$s.x' '%1$s'", "was deleted or replaced" },
	};
	char path[160], cmd[600], err[512], name[32];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		store *s;
		int rc;

		snprintf(name, sizeof name, "watch%zu.db", i);
		if (!ok((s = open_at(name, path, sizeof path)) != NULL, "%s: open", cases[i].what))
			continue;
		is_int(batch(s, "before", 0, err, sizeof err), 0, "%s: a commit before", cases[i].what);
		snprintf(cmd, sizeof cmd, cases[i].cmd, path);
		is_int(sh(cmd), 0, "%s: %s", cases[i].what, cmd);
		rc = batch(s, "after", 1, err, sizeof err);
		ok(rc == -1 && strstr(err, path) && strstr(err, cases[i].want), "%s: the next commit fails naming it: %s",
		   cases[i].what, err);
		store_close(s);
	}
	/* and an untouched store goes on committing */
	{
		store *s = open_at("watch-ok.db", path, sizeof path);
		int n = 0;

		for (i = 0; s && i < 50; i++)
			n += batch(s, "k", (int)(i & 1), err, sizeof err) == 0;
		is_int(n, 50, "untouched: 50 commits all pass the check");
		store_close(s);
	}
}

/* A file damaged past its first page: store_open refuses it naming the file
 * and the way back (before, it opened and queries failed one by one). */
static void test_damaged(void)
{
	char path[160], err[600], cmd[400], k[32], v[400];
	store *s = open_at("damaged.db", path, sizeof path);
	int i;

	if (!ok(s != NULL, "damaged: open"))
		return;
	memset(v, 'x', sizeof v - 1);
	v[sizeof v - 1] = '\0';
	store_batch_begin(s);
	for (i = 0; i < 2000; i++) {
		snprintf(k, sizeof k, "key%05d", i);
		store_kv_set(s, k, v);
	}
	store_batch_commit(s);
	store_close(s);
	/* page 3 onwards: the kv table's B-tree, zeroed and scribbled over */
	snprintf(cmd, sizeof cmd, "printf 'garbage%%.0s' $(seq 1 2000) | dd of='%s' bs=4096 seek=4 conv=notrunc "
		 "status=none", path);
	is_int(sh(cmd), 0, "pages in the middle of the file overwritten");
	err[0] = '\0';
	s = store_open(path, err, sizeof err);
	ok(!s && strstr(err, path) && strstr(err, "damaged") && strstr(err, "backup"),
	   "store_open refuses it, naming the file and the backup: %s", err);
	store_close(s);
}

/* A checkpoint that fails is counted and logged (it was silent). */
static void test_ckpt_failure(void)
{
	char path[160], errlog[200], k[32], v[3000], err[256];
	store *s = open_at("ckpt.db", path, sizeof path);
	int i, saved, fd, n = 0;
	FILE *f;
	char line[1024];

	if (!ok(s != NULL, "ckpt: open"))
		return;
	snprintf(errlog, sizeof errlog, "%s/stderr.log", tmpdir);
	fflush(stderr);
	saved = dup(2);
	fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	memset(v, 'y', sizeof v - 1);
	v[sizeof v - 1] = '\0';
	__atomic_store_n(&shim_fail_db_writes, 1, __ATOMIC_SEQ_CST);
	/* 1000 WAL pages wake the checkpoint thread: ~1500 rows of 3 KB */
	for (i = 0; i < 1500; i++) {
		snprintf(k, sizeof k, "big%05d", i);
		if (store_batch_begin(s) == 0) {
			store_kv_set(s, k, v);
			store_batch_commit_err(s, err, sizeof err);
		}
	}
	for (i = 0; i < 300 && store_ckpt_failures(s) == 0; i++)
		usleep(10000);
	ok(store_ckpt_failures(s) > 0, "a checkpoint that cannot write the database file counts as failed (%lld)",
	   (long long)store_ckpt_failures(s));
	ok(__atomic_load_n(&shim_db_write_fails, __ATOMIC_SEQ_CST) > 0, "(the shim refused its writes)");
	__atomic_store_n(&shim_fail_db_writes, 0, __ATOMIC_SEQ_CST);
	store_close(s);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if ((f = fopen(errlog, "r"))) {
		while (fgets(line, sizeof line, f))
			if (strstr(line, "checkpoint") && strstr(line, "failed") && strstr(line, path))
				n++;
		fclose(f);
	}
	ok(n >= 1, "and logged, naming the file (%d lines)", n);
}

/* The run lock: one holder per state.db; the second is told who holds it. */
static void test_lock(void)
{
	char path[160], err[600];
	int a, b, i;
	struct stat st;

	snprintf(path, sizeof path, "%s/lock.db", tmpdir);
	a = store_lock(path, "alice", err, sizeof err);
	ok(a >= 0, "the first takes the lock");
	err[0] = '\0';
	b = store_lock(path, "bob", err, sizeof err);
	ok(b == -1 && strstr(err, "alice") && strstr(err, "bob") && strstr(err, path),
	   "another account is refused, naming both and the file: %s", err);
	err[0] = '\0';
	b = store_lock(path, "alice", err, sizeof err);
	ok(b == -1 && strstr(err, "account alice is running already"), "the same account again: %s", err);
	snprintf(err, sizeof err, "%s.lock", path);
	i = stat(err, &st);
	ok(!i && (st.st_mode & 0777) == 0600, "the lock file is 0600 (%o)", st.st_mode & 0777);
	close(a);
	b = store_lock(path, "bob", err, sizeof err);
	ok(b >= 0, "once released, it can be taken");
	close(b);
}

/* A child that makes n durable commits under the run lock and dies without
 * closing (its WAL left as after a crash). Returns its exit status. */
static int crash_child(const char *path, int n)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char err[600], k[16];
		store *s = store_open(path, err, sizeof err);
		int fd = store_lock(path, "alice", err, sizeof err), i;

		if (!s || fd < 0 || store_use_lock(s, fd, "alice", err, sizeof err))
			_exit(2);
		for (i = 0; i < n; i++) {
			snprintf(k, sizeof k, "d%d", i);
			if (batch(s, k, 1, err, sizeof err))
				_exit(3);
		}
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Deliveries lost with a WAL truncated after a crash: the lock file counted
 * them, the database does not have them; the start is refused (it went on
 * silently, and the codes were handed out again). */
static void test_lost_commits(void)
{
	char path[160], err[900], cmd[400];
	store *s;
	int fd;

	snprintf(path, sizeof path, "%s/lost.db", tmpdir);
	is_int(crash_child(path, 3), 0, "a process makes 3 durable commits (deliveries) and dies");
	s = store_open(path, err, sizeof err);
	fd = store_lock(path, "alice", err, sizeof err);
	ok(s && fd >= 0 && store_use_lock(s, fd, "alice", err, sizeof err) == 0,
	   "with its WAL intact, the next start goes on");
	store_close(s);
	if (fd >= 0)
		close(fd);

	is_int(crash_child(path, 2), 0, "2 more, then it dies again");
	snprintf(cmd, sizeof cmd, "truncate -s 0 '%s-wal'", path);
	is_int(sh(cmd), 0, "the WAL truncated after the crash");
	s = store_open(path, err, sizeof err);
	ok(s != NULL, "the database still opens (SQLite drops what the WAL lost, silently)");
	fd = store_lock(path, "alice", err, sizeof err);
	err[0] = '\0';
	ok(s && fd >= 0 && store_use_lock(s, fd, "alice", err, sizeof err) == -1 && strstr(err, path) &&
	   strstr(err, "lost") && strstr(err, ".lock"), "the start is refused, naming the file and the way on: %s", err);
	store_close(s);
	if (fd >= 0)
		close(fd);

	snprintf(cmd, sizeof cmd, "rm -f '%s.lock'", path);
	is_int(sh(cmd), 0, "the lock file removed (the seller checked the stock)");
	s = store_open(path, err, sizeof err);
	fd = store_lock(path, "alice", err, sizeof err);
	ok(s && fd >= 0 && store_use_lock(s, fd, "alice", err, sizeof err) == 0, "then it starts");
	store_close(s);
	if (fd >= 0)
		close(fd);
}

/* The account a database belongs to. */
static void test_account(void)
{
	char path[160], err[600];
	store *s = open_at("acct.db", path, sizeof path);

	if (!ok(s != NULL, "account: open"))
		return;
	is_int(store_account(s, "alice", err, sizeof err), 0, "the first account is recorded");
	is_int(store_account(s, "alice", err, sizeof err), 0, "and accepted again");
	store_close(s);
	s = open_at("acct.db", path, sizeof path);
	err[0] = '\0';
	ok(s && store_account(s, "bob", err, sizeof err) == -1 && strstr(err, "alice") && strstr(err, "bob") &&
	   strstr(err, path), "another account is refused after a reopen, naming both and the file: %s", err);
	store_close(s);
}

/* The online backup, while another connection writes. */
static void test_backup(void)
{
	char path[160], dest[200], err[600], sql[64];
	store *s = open_at("bk.db", path, sizeof path), *w;
	struct stat st;
	sqlite3 *db;
	sqlite3_stmt *q;
	int i, n = -1;

	if (!ok(s != NULL, "backup: open"))
		return;
	store_batch_begin(s);
	for (i = 0; i < 3000; i++) {
		snprintf(sql, sizeof sql, "k%d", i);
		store_kv_set(s, sql, "value");
	}
	store_batch_commit(s);
	/* a writer with a batch open (the write lock held) while the copy runs */
	w = open_at("bk.db", path, sizeof path);
	ok(w && store_batch_begin(w) == 0 && store_kv_set(w, "uncommitted", "x") == 0, "a writer holds the write lock");
	snprintf(dest, sizeof dest, "%s/copy.db", tmpdir);
	i = store_backup(path, dest, err, sizeof err);
	is_int(i, 0, "store_backup beside it%s%s", i ? ": " : "", i ? err : "");
	store_batch_commit(w);
	store_close(w);
	store_close(s);
	i = stat(dest, &st);
	ok(!i && (st.st_mode & 0777) == 0600, "the copy is 0600 (%o)", st.st_mode & 0777);
	if (sqlite3_open_v2(dest, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM kv WHERE k LIKE 'k%'", -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			n = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	is_int(n, 3000, "the copy opens and has the committed rows");
	ok(store_backup("/nonexistent/x.db", dest, err, sizeof err) == -1 && strstr(err, "/nonexistent/x.db"),
	   "a missing source fails naming it: %s", err);
	snprintf(sql, sizeof sql, "%s/nodir/c.db", tmpdir);
	ok(store_backup(path, sql, err, sizeof err) == -1, "an impossible destination fails: %s", err);
}

int main(void)
{
	char cmd[128];

	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk_test_guard.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	shim_install();
	test_durable();
	test_watch();
	test_damaged();
	test_ckpt_failure();
	test_lock();
	test_lost_commits();
	test_account();
	test_backup();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return tap_done();
}
