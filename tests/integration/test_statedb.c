/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_statedb.c - one state.db, one account, one process,
 * with the real bot against the simulator: a second account configured with
 * the same state.db is refused, running or not, naming both accounts and the
 * file; a second process of the account is refused with control.socket
 * "off" too; a CLI command writes beside the running process; shopkeep
 * backup copies the running process's state.db, and the copy restores; a
 * WAL deleted under the running process ends it with status 74 and a log
 * line naming the file; a delivery's commit is synced and counted (in
 * state.db and the lock file), a plain reply's is not; a damaged state.db
 * stops run (74) and stock list, naming the file; a state.db that cannot be
 * opened at start exits 74.
 */
#include "tap.h"
#include "sim/tbot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000811"

static tc_sim sim;
static tbot a, b, c;
static char build[300];

/* alice, with the orders plugin (for stock list); extra is more top-level keys. */
static void config(tbot *t, const char *id, const char *db, const char *extra)
{
	char json[2000], path[400];
	FILE *f;

	snprintf(path, sizeof path, "%s/rules.json", t->dir);
	if ((f = fopen(path, "w"))) {
		fputs("{\"cards\":[{\"name\":\"code\",\"type\":\"stock\",\"template\":\"Your code: {code}\"}],"
		      "\"delivery\":[{\"item_id\":\"50001\",\"card\":\"code\"}]}\n", f);
		fclose(f);
	}
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"%s\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"state\":{\"db\":\"%s\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"debug\":{\"reply_prefix\":\"%s says: \"}%s}\n", id, db, build, id, extra ? extra : "");
	tbot_config(t, json);
}

static void buyer(const char *cid, const char *text)
{
	char body[300];

	snprintf(body, sizeof body, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"9%s\",\"text\":\"%s\"}", cid, cid,
		 text);
	tsim_ctl(&sim, "/inject", body);
}

/* Runs `shopkeep <args> --config cfg` (at most 8 s) with its stdout and
 * stderr into out; the exit status (124: still running at the timeout). */
static int sk(const char *cfg, const char *args, const char *input, const char **out)
{
	char cmd[1500];
	int st;

	snprintf(cmd, sizeof cmd, "%s%s%stimeout 8 '%s/shopkeep' %s --config '%s' 2>&1", input ? "echo '" : "",
		 input ? input : "", input ? "' | " : "", build, args, cfg);
	*out = tbot_sh(cmd, &st);
	return st;
}

/* Waits (bounded) for t to exit; its exit status, or -1. */
static int wait_exit(tbot *t, int ms)
{
	int st;

	for (int i = 0; i < ms / 20; i++) {
		if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
			t->pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(20000);
	}
	return -1;
}

/* The first column of the first row of sql on the database at path ("" if none). */
static const char *db_text(const char *path, const char *sql)
{
	char cmd[1200];
	static char out[512];
	const char *o;
	int st;

	snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"%s\" 2>&1", path, sql);
	o = tbot_sh(cmd, &st);
	snprintf(out, sizeof out, "%s", o);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* Checks alice on her state.db: bob refused, passwd and backup beside her, a deleted WAL, the restore. */
static void statedb_check_alice(const char *db, const char *bk)
{
	char cmd[1200];
	const char *out;
	double reg;
	int st;

	/* alice runs and answers */
	tbot_start(&a);
	ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "alice registers");
	buyer("81101", "hi");
	ok(tsim_wait_delivered(&sim, "alice says: hi", 1, 5000), "alice answers her buyer");

	/* bob on alice's state.db, while she runs */
	st = sk(b.cfg, "run", NULL, &out);
	is_int(st, 1, "bob on alice's state.db, while she runs: exits 1");
	ok(strstr(out, "alice") && strstr(out, "bob") && strstr(out, db),
	   "naming both accounts and the file (%.300s)", out);
	is_int(tsim_stat(&sim, "reg_ok"), 1, "bob never connected");

	/* a CLI command that writes, beside the running process (not locked out) */
	st = sk(a.cfg, "passwd", "a-good-password", &out);
	ok(st == 0 && strstr(out, "is set"), "shopkeep passwd writes state.db while alice runs (%d: %.200s)", st, out);

	/* the online backup of the running process's state.db */
	snprintf(cmd, sizeof cmd, "backup '%s'", bk);
	st = sk(a.cfg, cmd, NULL, &out);
	ok(st == 0 && strstr(out, bk), "shopkeep backup while alice runs: exit 0 (%d: %.200s)", st, out);
	{
		struct stat bs;

		ok(!stat(bk, &bs) && (bs.st_mode & 0777) == 0600, "the backup is 0600");
	}
	is_str(db_text(bk, "SELECT v FROM kv WHERE k = 'core.account_id'"), "alice",
	       "the backup opens and records the account");
	is_str(db_text(bk, "SELECT count(*) FROM outbox WHERE payload = 'alice says: hi' AND state = 1"), "1",
	       "and has the answered reply");
	ok(strncmp(db_text(bk, "SELECT v FROM kv WHERE k = 'web.password_hash'"), "$argon2id$", 10) == 0,
	   "and the password set a moment before");

	/* the WAL deleted under the running process */
	snprintf(cmd, sizeof cmd, "rm -f '%s-wal'", db);
	is_int(system(cmd), 0, "state.db-wal deleted under alice");
	buyer("81102", "after the wal is gone");
	is_int(wait_exit(&a, 8000), 74, "alice's next commit ends her with status 74");
	ok(tbot_log_has(&a, "state.db-wal was deleted"), "and the log names the file");
	is_int(tsim_delivered(&sim, "alice says: after the wal is gone"), 0, "nothing of that turn went out");

	/* restore: the backup copied back, -wal and -shm removed */
	snprintf(cmd, sizeof cmd, "rm -f '%1$s-wal' '%1$s-shm' && cp '%2$s' '%1$s'", db, bk);
	is_int(system(cmd), 0, "the backup copied back over state.db");
	reg = tsim_stat(&sim, "reg_ok");
	tbot_start(&a);
	ok(tsim_wait_stat(&sim, "reg_ok", reg + 1, 5000) >= 0, "alice starts on the restored state.db");
	ok(tsim_wait_delivered(&sim, "alice says: after the wal is gone", 1, 5000),
	   "and answers the message that was not ACKed");
	is_int(tsim_delivered(&sim, "alice says: hi"), 1, "and not the one answered before the backup");
	is_int(tbot_stop(&a, SIGTERM), 0, "alice stops (SIGTERM)");

	/* bob, alice not running: the account recorded in state.db refuses him */
	st = sk(b.cfg, "run", NULL, &out);
	is_int(st, 1, "bob on alice's state.db, alice stopped: exits 1");
	ok(strstr(out, "belongs to account alice") && strstr(out, "bob") && strstr(out, db),
	   "naming both accounts and the file (%.300s)", out);
	st = sk(b.cfg, "stock list", NULL, &out);
	ok(st == 1 && strstr(out, "alice"), "bob's CLI commands are refused too (%d: %.200s)", st, out);
}

/* Checks carol: codes imported before her start, one process with control.socket off, a durable delivery. */
static void statedb_check_carol(const char *cdb)
{
	char cmd[1200];
	const char *out;
	double reg;
	int st;

	/* carol, a state.db of her own, codes imported before her first start */
	config(&c, "carol", cdb, ",\n \"control\":{\"socket\":\"off\"}");
	snprintf(cmd, sizeof cmd, "seq -f 'CODE-%%06g' 1 3000 > '%s/codes.txt'", c.dir);
	is_int(system(cmd), 0, "3000 codes");
	snprintf(cmd, sizeof cmd, "stock import --card code '%s/codes.txt'", c.dir);
	st = sk(c.cfg, cmd, NULL, &out);
	ok(st == 0 && strstr(out, "3000 free"), "imported into carol's state.db (%.200s)", out);

	/* control.socket off: still one process */
	reg = tsim_stat(&sim, "reg_ok");
	tbot_start(&c);
	ok(tsim_wait_stat(&sim, "reg_ok", reg + 1, 5000) >= 0, "carol runs with control.socket off");
	st = sk(c.cfg, "run", NULL, &out);
	is_int(st, 1, "a second carol with control.socket off: exits 1");
	ok(strstr(out, "account carol is running already"), "saying carol runs already (%.300s)", out);
	is_int(tsim_stat(&sim, "reg_ok"), reg + 1, "it never connected");

	/* a delivery's commit is durable: counted in state.db and in the lock file */
	buyer("81103", "a question");
	ok(tsim_wait_delivered(&sim, "carol says: a question", 1, 5000), "carol answers a question");
	is_str(db_text(cdb, "SELECT count(*) FROM kv WHERE k = 'core.durable_seq'"), "0",
	       "a plain reply's commit is not counted durable");
	tsim_ctl(&sim, "/order", "{\"seller\":\"" UNB "\",\"order_id\":\"2503688100000001\",\"cid\":\"81104\","
		 "\"buyer\":\"781104\",\"buyer_name\":\"b\",\"item_id\":\"50001\",\"quantity\":1,\"spec\":\"\","
		 "\"status\":\"placed\"}");
	tsim_ctl(&sim, "/order/status", "{\"order_id\":\"2503688100000001\",\"status\":\"paid\",\"set\":true}");
	ok(tsim_wait_delivered(&sim, "Your code: CODE-000001", 1, 8000), "carol delivers a code for a paid order");
	{
		char lpath[450], line[300] = "";
		FILE *f;

		snprintf(lpath, sizeof lpath, "%s.lock", cdb);
		for (int i = 0; i < 100; i++) {
			if ((f = fopen(lpath, "r"))) {
				if (!fgets(line, sizeof line, f))
					line[0] = '\0';
				fclose(f);
			}
			if (atoi(strchr(line, ' ') ? strchr(line, ' ') + 1 : "0") >= 1)
				break;
			usleep(20000);
		}
		ok(atoi(strchr(line, ' ') ? strchr(line, ' ') + 1 : "0") >= 1 && strstr(line, "carol"),
		   "the delivery's commit was synced and counted in the lock file (%s)", line);
		ok(atoi(db_text(cdb, "SELECT v FROM kv WHERE k = 'core.durable_seq'")) >= 1,
		   "and in state.db (%s)", db_text(cdb, "SELECT v FROM kv WHERE k = 'core.durable_seq'"));
	}
	is_int(tbot_stop(&c, SIGTERM), 0, "carol stops");
}

/* Checks a damaged state.db and one that cannot be opened: named, exit 74. */
static void statedb_check_damaged(const char *cdb)
{
	char cmd[1200], bad_db[400];
	const char *out;
	int st, root;

	/* a damaged state.db: stock list and run name it (stock list printed 0 0 0 and exited 0) */
	snprintf(cmd, sizeof cmd, "SELECT rootpage FROM sqlite_schema WHERE name = 'orders_stock'");
	root = atoi(db_text(cdb, cmd));
	snprintf(cmd, sizeof cmd, "printf 'garbage%%.0s' $(seq 1 600) | dd of='%s' bs=4096 seek=%d conv=notrunc "
		 "status=none", cdb, root - 1);
	ok(root > 1 && system(cmd) == 0, "the stock table's first page (%d) overwritten", root);
	st = sk(c.cfg, "stock list", NULL, &out);
	ok(st == 1 && strstr(out, cdb) && strstr(out, "damaged") && strstr(out, "backup"),
	   "stock list fails naming the file and the way back (%d: %.300s)", st, out);
	ok(!strstr(out, "reserved"), "and prints no table of counts");
	st = sk(c.cfg, "run", NULL, &out);
	is_int(st, 74, "run on it exits 74");
	ok(strstr(out, cdb) && strstr(out, "damaged"), "naming the file (%.300s)", out);

	/* a state.db that cannot be opened at start */
	snprintf(bad_db, sizeof bad_db, "%s/nodir/state.db", b.dir);
	config(&b, "bob", bad_db, NULL);
	st = sk(b.cfg, "run", NULL, &out);
	is_int(st, 74, "a state.db that cannot be opened: run exits 74, as a failed commit does");
	ok(strstr(out, "nodir/state.db"), "naming it (%.200s)", out);
}

int main(void)
{
	char db[400], cdb[400], bk[400];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!realpath(tbot_build_dir(), build))
		snprintf(build, sizeof build, "%s", tbot_build_dir());
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") ||
	    !ok(!tbot_init(&a, &sim) && !tbot_init(&b, &sim) && !tbot_init(&c, &sim), "three temp dirs"))
		return tap_done();
	snprintf(db, sizeof db, "%s/state.db", a.dir);
	snprintf(bk, sizeof bk, "%s/backup.db", b.dir);
	snprintf(cdb, sizeof cdb, "%s/state.db", c.dir);
	config(&a, "alice", db, NULL);
	config(&b, "bob", db, NULL);

	statedb_check_alice(db, bk);
	statedb_check_carol(cdb);
	statedb_check_damaged(cdb);

	tbot_done(&a, tap_failed > 0);
	tbot_done(&b, tap_failed > 0);
	tbot_done(&c, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
