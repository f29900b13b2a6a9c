/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_private.c - what the account keeps is its user's
 * alone, with a umask of 022 in the caller: the running bot and the CLI
 * commands (status, passwd, secret set, stock import, run --daemon) make
 * every file 0600 (state.db and its -wal and -shm, the control socket, the
 * event log, the key and the secret, the pidfile and the daemon's log) and
 * every folder 0700; a state.db that group or others can read is refused by
 * run, passwd and a plugin's command, naming the file and the chmod; the
 * running bot is not dumpable (its /proc files belong to root) and its
 * core file limit is 0; a buyer's control characters reach the log escaped,
 * on one line; and, as root, status refuses a control socket that belongs
 * to another user.
 *
 * Run as root, the bot and the commands run as uid 65534 (nobody), so that
 * "not dumpable" can be seen: a dumpable process's /proc files belong to
 * its own user, a non-dumpable one's to root.
 */
#include "tap.h"
#include "sim/tbot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000077"
#define NOBODY 65534

static tc_sim sim;
static tbot bot;
static int as_nobody;          /* the test is root: the account runs as NOBODY */
static char exe[PATH_MAX];     /* the shopkeep binary, absolute */
static char out[16384];

/* The files the test itself writes into the bot's folder (not the bot's). */
static const char *const test_files[] = { "account.json", "account2.json", "rules.json", "codes.txt", "bot.log",
					  "cmd.in", "cmd.out", "fake.sock", NULL };

/* In a child: becomes the account's user (NOBODY when the test is root) with
 * the umask 022 the test is about. */
static void become_account(void)
{
	umask(022);
	if (as_nobody && (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)))
		_exit(126);
}

/* Writes text to <bot dir>/name (0644: the test's umask). */
static void put(const char *name, const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", bot.dir, name);
	if ((f = fopen(path, "w"))) {
		fputs(text, f);
		fclose(f);
	}
}

/* Runs `shopkeep <args>` as the account's user in the bot's folder, stdin
 * the text in (NULL: empty); out gets its stdout and stderr. Returns its
 * exit status, -1 when it did not exit. */
static int sk(const char *args, const char *in)
{
	char cmd[2048], inp[400], outp[400];
	pid_t pid;
	int st;

	put("cmd.in", in ? in : "");
	snprintf(inp, sizeof inp, "%s/cmd.in", bot.dir);
	snprintf(outp, sizeof outp, "%s/cmd.out", bot.dir);
	unlink(outp);
	snprintf(cmd, sizeof cmd, "cd '%s' && timeout 20 '%s' %s <'%s' >'%s' 2>&1", bot.dir, exe, args, inp, outp);
	/* cmd.out is made here, before the child is someone else. */
	close(open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0666));
	if (as_nobody && chown(outp, NOBODY, NOBODY))
		diag("chown %s: %s", outp, strerror(errno));
	if ((pid = fork()) == 0) {
		become_account();
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	tbot_slurp(outp, out, sizeof out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts `shopkeep run --config <cfg>` as the account's user, its output
 * to bot.log (tbot_start, but as that user). */
static void start_bot(void)
{
	bot.pid = fork();
	if (bot.pid == 0) {
		int fd = open(bot.log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		become_account();
		execl(exe, exe, "run", "--config", bot.cfg, (char *)NULL);
		_exit(127);
	}
}

/* Whether name is one of the test's own files. */
static int test_file(const char *name)
{
	for (int i = 0; test_files[i]; i++)
		if (!strcmp(name, test_files[i]))
			return 1;
	return 0;
}

/* is_int, and whether it passed. */
static int is_int_ok(int got, int want, const char *what)
{
	is_int(got, want, "%s", what);
	return got == want;
}

/* Every entry of the bot's folder that the bot or a command made is 0600 (a
 * folder 0700); each of the NULL-ended names must be there. */
static void all_private(const char *when, ...)
{
	char path[600];
	struct dirent *e;
	struct stat st;
	va_list ap;
	const char *want;
	DIR *d = opendir(bot.dir);
	int n = 0, bad = 0;

	if (!ok(d != NULL, "%s: the folder can be read", when))
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || test_file(e->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", bot.dir, e->d_name);
		if (lstat(path, &st))
			continue;
		n++;
		if ((st.st_mode & 0777) != (S_ISDIR(st.st_mode) ? 0700 : 0600)) {
			diag("%s: %s is %04o", when, e->d_name, (unsigned)(st.st_mode & 07777));
			bad++;
		}
	}
	closedir(d);
	ok(n > 0 && !bad, "%s: all %d files the account made are 0600 (folders 0700)", when, n);
	va_start(ap, when);
	while ((want = va_arg(ap, const char *))) {
		snprintf(path, sizeof path, "%s/%s", bot.dir, want);
		if (!ok(lstat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "%s: %s is there, 0600", when, want))
			diag("%s: %s", want, strerror(errno));
	}
	va_end(ap);
}

/* The bot: registered, answering; its files, its dumpability, its core
 * limit, the escaped log line; the CLI commands beside it. */
static void test_running(void)
{
	char path[400], limits[4096], *core, line[1024];
	struct stat st;
	int found = 0;
	FILE *f;

	start_bot();
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 10000) >= 0, "the bot registers"))
		return;
	/* A buyer's text that would clear the screen and forge a log line. */
	tsim_ctl(&sim, "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"7001\",\"buyer\":\"57001\",\"buyer_name\":\"b\","
		 "\"text\":\"hi\\u001b[2J\\r\\nINFO session: forged \\u5361\"}");
	ok(tbot_wait_ev(&bot, "forged", NULL, NULL, 1, 10000), "the buyer's message arrives");
	for (int i = 0; i < 100 && !(found = tbot_log_has(&bot, "text=hi\\x1b[2J\\r\\nINFO session: forged \xe5\x8d\xa1"));
	     i++)
		usleep(50000);
	ok(found, "the message is logged with its controls escaped, on one line, the UTF-8 kept");
	tbot_slurp(bot.log, out, sizeof out);
	ok(!strchr(out, '\x1b') && !strstr(out, "\r"), "no raw ESC or CR in the log");
	f = fopen(bot.log, "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "INFO session: forged", 20))
			found = 0;
	if (f)
		fclose(f);
	ok(found, "no log line starts with the forged text");

	is_int(sk("status --config account.json", NULL), 0, "shopkeep status answers");
	if (!ok(sk("passwd --config account.json", "correct horse 1\n") == 0, "shopkeep passwd"))
		diag("%s", out);
	if (!ok(sk("secret set --config account.json cookie", "unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\n")
		== 0, "shopkeep secret set cookie"))
		diag("%s", out);
	put("codes.txt", "CODE-1\nCODE-2\n");
	if (!ok(sk("stock import --card code codes.txt --config account.json", NULL) == 0, "shopkeep stock import"))
		diag("%s", out);
	all_private("while running", "state.db", "state.db-wal", "state.db-shm", "pv.sock", "events.jsonl", "pv.key",
		    "pv.cookie.secret", NULL);

	/* Core dumps: the limit, and not dumpable (its /proc files are root's). */
	snprintf(path, sizeof path, "/proc/%d/limits", (int)bot.pid);
	tbot_slurp(path, limits, sizeof limits);
	core = strstr(limits, "Max core file size");
	ok(core != NULL, "/proc/<pid>/limits has the core file size");
	if (core) {
		unsigned long long soft = 1, hard = 1;

		core[strcspn(core, "\n")] = '\0';
		if (!ok(sscanf(core, "Max core file size %llu %llu", &soft, &hard) == 2 && soft == 0 && hard == 0,
			"/proc/<pid>/limits: Max core file size 0 0"))
			diag("%s", core);
	}
	if (as_nobody || geteuid() != 0) {
		snprintf(path, sizeof path, "/proc/%d/environ", (int)bot.pid);
		if (!ok(stat(path, &st) == 0 && st.st_uid == 0, "the bot is not dumpable: its /proc files belong to root"))
			diag("%s belongs to uid %d", path, (int)st.st_uid);
	} else {
		skip("not dumpable: needs a bot that is not root");
	}
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM: the bot exits 0");
	all_private("after the bot", "state.db", "events.jsonl", NULL);
}

/* The pid in the daemon's pidfile <bot dir>/name, -1 when none. */
static long daemon_pid(const char *name)
{
	char path[400];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", bot.dir, name);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

/* SIGTERM to the daemon of pidfile name, then waits (10 s) for it to end.
 * Returns 1 when it ended (or there was none), else 0 after a SIGKILL. */
static int stop_daemon_at(const char *name)
{
	long pid = daemon_pid(name);

	if (pid <= 0)
		return 1;
	kill((pid_t)pid, SIGTERM);
	for (int i = 0; i < 200 && kill((pid_t)pid, 0) == 0; i++)
		usleep(50000);
	if (kill((pid_t)pid, 0) != 0)
		return 1;
	kill((pid_t)pid, SIGKILL);
	return 0;
}

/* stop_daemon_at the default pidfile. */
static int stop_daemon(void)
{
	return stop_daemon_at("pv.pid");
}

/* run --daemon: the pidfile and the log are 0600 too, also when an older
 * version left them 0644 and 0640. */
static void test_daemon(void)
{
	char path[400];

	is_int(sk("run --config account.json --daemon --pidfile old.pid --log old.log", NULL), 0,
	       "run --daemon with an old pidfile and log (made below)");
	stop_daemon_at("old.pid");
	snprintf(path, sizeof path, "%s/old.log", bot.dir);
	ok(chmod(path, 0640) == 0, "old.log made 0640");
	snprintf(path, sizeof path, "%s/old.pid", bot.dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	ok(chmod(path, 0644) == 0 && (!as_nobody || chown(path, NOBODY, NOBODY) == 0), "old.pid made 0644");
	is_int(sk("run --config account.json --daemon --pidfile old.pid --log old.log", NULL), 0,
	       "run --daemon takes them again");
	all_private("the daemon with old files", "old.pid", "old.log", NULL);
	stop_daemon_at("old.pid");
	if (!ok(sk("run --config account.json --daemon", NULL) == 0, "run --daemon starts"))
		diag("%s", out);
	ok(daemon_pid("pv.pid") > 0, "its pidfile names it");
	all_private("the daemon", "pv.pid", "pv.log", "state.db", NULL);
	ok(stop_daemon(), "SIGTERM ends the daemon");
}

/* A state.db that group or others can read is refused by every command
 * that opens it, naming it and the chmod. */
static void test_refused(void)
{
	char db[400], fix[500];
	struct stat st;

	snprintf(db, sizeof db, "%s/state.db", bot.dir);
	snprintf(fix, sizeof fix, "chmod 600 %s", db);
	if (!ok(chmod(db, 0644) == 0, "state.db made 0644 (as an older version or a copy left it)"))
		return;
	is_int(sk("run --config account.json", NULL), 1, "run: exit 1");
	if (!ok(strstr(out, fix) && strstr(out, "group or others") && strstr(out, "0644"),
		"run: names the file, its mode and the fix (%s)", fix))
		diag("%s", out);
	if (!is_int_ok(sk("run --config account.json --daemon", NULL), 1, "run --daemon: exit 1, before it detaches"))
		stop_daemon();   /* never leave one behind */
	ok(strstr(out, fix) != NULL, "run --daemon: the fix");
	is_int(sk("passwd --config account.json", "correct horse 2\n"), 1, "passwd: exit 1");
	ok(strstr(out, fix) != NULL, "passwd: the fix");
	is_int(sk("stock list --config account.json", NULL), 1, "stock list (a plugin's command): exit 1");
	ok(strstr(out, fix) != NULL, "stock list: the fix");
	ok(stat(db, &st) == 0 && (st.st_mode & 0777) == 0644, "the file is left as it was");
	chmod(db, 0600);
	is_int(sk("stock list --config account.json", NULL), 0, "once it is 0600, stock list works");
}

/* As root, status does not talk to a control socket of another user (root
 * passes the server's SO_PEERCRED check, so only the file's owner tells):
 * a fake server's socket of uid 4242 is refused; given to the account's
 * user (the owner of state.db), it is asked, and the last error it sends
 * is printed with its control characters escaped. */
static void test_socket_owner(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cmd[1500], path[400];
	pid_t srv;
	int fd, st;

	snprintf(path, sizeof path, "%s/fake.sock", bot.dir);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (!ok(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof sa) && !listen(fd, 4), "a fake control socket"))
		return;
	if ((srv = fork()) == 0) {
		static const char ans[] = "{\"request_id\":\"status\",\"success\":true,\"data\":{\"account\":\"evil\","
					  "\"state\":\"CONNECTED\",\"metrics\":{},\"last_error\":\"boom\\u001b[2J\"}}\n";

		for (;;) {
			char buf[4096];
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				_exit(0);
			if (read(c, buf, sizeof buf) > 0 && write(c, ans, sizeof ans - 1) < 0)
				_exit(1);
			close(c);
		}
	}
	close(fd);
	put("account2.json", "{\"account\":{\"id\":\"pv\",\"cookie\":\"unb=" UNB "; "
	    "_m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
	    " \"state\":{\"db\":\"state.db\"}, \"web\":{\"listen\":\"off\"}, \"control\":{\"socket\":\"fake.sock\"}}\n");
	snprintf(cmd, sizeof cmd, "cd '%s' && timeout 20 '%s' status --config account2.json 2>&1", bot.dir, exe);
	if (geteuid() == 0 && ok(chown(path, 4242, 4242) == 0, "the fake socket given to uid 4242")) {
		snprintf(out, sizeof out, "%s", tbot_sh(cmd, &st));
		is_int(st, 1, "root: status refuses a socket of uid 4242");
		if (!ok(strstr(out, path) && strstr(out, "uid 4242") && !strstr(out, "evil"), "naming it and its owner, "
			"nothing of the answer printed"))
			diag("%s", out);
	} else {
		skip("a control socket of another user (chown needs root)");
	}
	/* The account's user: NOBODY (owner of state.db) as root, else the test's user. */
	if (geteuid() == 0 && chown(path, NOBODY, NOBODY))
		diag("chown %s: %s", path, strerror(errno));
	snprintf(out, sizeof out, "%s", tbot_sh(cmd, &st));
	if (!ok(st == 0 && strstr(out, "evil"), "a socket of the account's user is asked"))
		diag("%s", out);
	ok(strstr(out, "last error:   boom\\x1b[2J") && !strchr(out, '\x1b'), "the answer's last error is printed "
	   "with its ESC escaped");
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
}

int main(void)
{
	char json[2048], plugins[PATH_MAX + 16], rel[PATH_MAX];

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	as_nobody = geteuid() == 0;
	snprintf(rel, sizeof rel, "%s/shopkeep", tbot_build_dir());
	if (!ok(realpath(rel, exe) != NULL, "the shopkeep binary"))
		return tap_done();
	snprintf(rel, sizeof rel, "%s/plugins", tbot_build_dir());
	if (!realpath(rel, plugins))
		snprintf(plugins, sizeof plugins, "%s", rel);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(tbot_init(&bot, &sim) == 0, "temp dir"))
		return tap_done();
	diag("%s; the account runs as %s", bot.dir, as_nobody ? "uid 65534 (the test is root)" : "the test's user");
	if (as_nobody && chown(bot.dir, NOBODY, NOBODY))
		diag("chown %s: %s", bot.dir, strerror(errno));
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"pv\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"log\":{\"level\":\"debug\"},\n"
		 " \"plugins\":{\"dir\":\"%s\",\"load\":[\"dedup\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n", plugins);
	tbot_config(&bot, json);
	put("rules.json", "{\"cards\":[{\"name\":\"code\",\"type\":\"stock\",\"template\":\"Your code: {code}\"}],\n"
	    " \"delivery\":[{\"item_id\":\"50001\",\"card\":\"code\"}]}\n");
	test_running();
	test_daemon();
	test_refused();
	test_socket_owner();
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
