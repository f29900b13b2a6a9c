/* SPDX-License-Identifier: MIT */
/*
 * core/main.c - the shopkeep command line: `check` validates a config, `run`
 * loads one and hands it to run_main (core/run.c), `passwd` sets the web
 * page's password, `secret set` encrypts the cookie (core/secret.c),
 * `status` and `ctl` ask the running process over its local control socket
 * (core/ctl.c); any other command is a plugin's (plugins/plugin.h,
 * COMMANDS), run through host_command. Every command takes --help (usage on
 * stdout, exit 0). Exit status: 0 success, 1 a bad config or another
 * failure, 2 a usage error (one line on stderr naming what is wrong), 3 for
 * status/ctl when the account is not running (or whatever run_main or the
 * plugin's command returns).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "commands.h"
#include "config.h"
#include "ctl.h"
#include "daemon.h"
#include "host.h"
#include "log.h"
#include "login_cli.h"
#include "run.h"
#include "secret.h"
#include "store.h"
#include "util.h"

/* shopkeep --help: this head, a line for each command of main_commands,
 * then main_usage_tail. */
static const char main_usage_head[] =
	"usage: shopkeep <command> [options]\n"
	"\n"
	"commands:\n";

static const char main_usage_tail[] =
	"\n"
	"Plugins add commands of their own: `shopkeep <command> --config FILE [args]`\n"
	"runs the first plugin in the config's plugins.load that provides it. stock\n"
	"and orders come from the orders plugin: shopkeep stock --help --config FILE\n"
	"\n"
	"`shopkeep <command> --help` describes a command.\n";

static const char main_run_usage[] =
	"usage: shopkeep run --config FILE [--daemon [--pidfile PATH] [--log PATH]]\n"
	"\n"
	"Runs the account of FILE (JSON) in the foreground until SIGINT or SIGTERM.\n"
	"The config is validated first, as by `shopkeep check`; a bad config exits 1.\n"
	"\n"
	"--daemon detaches from the terminal (for machines without systemd; with\n"
	"systemd use shopkeep@.service instead): the process's log is appended to\n"
	"--log (default: <account id>.log next to state.db), its pid is written to\n"
	"--pidfile (default: <account id>.pid next to state.db), which stays locked\n"
	"while it runs, so a second start of the same account exits 1. The command\n"
	"returns 0 once the daemon is up; stop it with kill -TERM $(cat PIDFILE).\n";

static const char main_check_usage[] =
	"usage: shopkeep check --config FILE\n"
	"\n"
	"Validates FILE (JSON). Prints \"config OK\" and exits 0, or prints every\n"
	"problem, one \"<key>: <reason>\" per line on stderr, and exits 1.\n";

static const char main_passwd_usage[] =
	"usage: shopkeep passwd --config FILE\n"
	"\n"
	"Sets the admin password of the account's web page (web.listen). It is read\n"
	"from stdin: on a terminal it is asked for twice without echo; otherwise the\n"
	"first line is the password. At least 8 characters. It is stored hashed\n"
	"(argon2id) in the account's state database; a running process uses it at\n"
	"its next login. Exits 0, 1 on a failure, 2 on a usage error.\n";

static const char main_secret_usage[] =
	"usage: shopkeep secret set --config FILE cookie\n"
	"\n"
	"Keeps the account's cookie encrypted at rest instead of in plaintext in the\n"
	"config (account.cookie) or in a file (account.cookie_file). `secret set`\n"
	"encrypts it into the file of account.cookie_secret, which a config then\n"
	"names instead of account.cookie: see shopkeep secret set --help.\n";

static const char main_secret_set_usage[] =
	"usage: shopkeep secret set --config FILE cookie\n"
	"\n"
	"Encrypts the account's cookie (libsodium crypto_secretbox: XSalsa20-Poly1305)\n"
	"into the file of account.cookie_secret, by default <config dir>/<account\n"
	"id>.cookie.secret, with the key of account.key_file, by default <config\n"
	"dir>/<account id>.key, which is made on first use with mode 0600. Without\n"
	"the key file the cookie cannot be decrypted; whoever reads both has it.\n"
	"\n"
	"The cookie is read from stdin: on a terminal it is asked for without echo;\n"
	"otherwise the first line is the cookie. It must hold unb=... like\n"
	"account.cookie. A terminal cuts a line at 4095 bytes: give a longer cookie\n"
	"through a pipe or a file (shopkeep secret set --config FILE cookie < cookie.txt).\n"
	"\n"
	"FILE itself is not changed: the command says what to change in it. A\n"
	"running process uses the new cookie when it is started again.\n"
	"Exits 0, 1 on a failure, 2 on a usage error.\n";

static const char main_backup_usage[] =
	"usage: shopkeep backup --config FILE DEST\n"
	"\n"
	"Copies the account's state database (state.db) into DEST with SQLite's\n"
	"online backup: safe while `shopkeep run` runs (the copy is the state of one\n"
	"moment, whatever it commits meanwhile). DEST is written with mode 0600 under\n"
	"a temporary name in its folder, checked, synced and renamed, so it is\n"
	"either the old file or the whole new copy. To restore: stop the account,\n"
	"remove state.db-wal and state.db-shm, copy DEST over state.db, start it\n"
	"(README, \"Backup and restore\"). Exits 0, 1 on a failure, 2 on a usage error.\n";

static const char main_status_usage[] =
	"usage: shopkeep status --config FILE [--json] [--timeout SECONDS]\n"
	"\n"
	"Asks the running process of the account of FILE for its status over its\n"
	"local control socket (control.socket, by default <account id>.sock next to\n"
	"state.db; only the account's user and root may use it) and prints the\n"
	"account, the session's state and since when, the last frame received, the\n"
	"sends pending, the plugins running, the page's address and the pid. --json\n"
	"prints the status as one JSON object instead (the data of the control\n"
	"command status, web/API.md). --timeout: how long to wait for the answer\n"
	"(default 5 seconds).\n"
	"\n"
	"Exits 0 when the process answered, 3 when the account is not running (no\n"
	"process listens on the socket), 1 on another failure, 2 on a usage error.\n";

static const char main_ctl_usage[] =
	"usage: shopkeep ctl --config FILE [--timeout SECONDS] COMMAND [DATA]\n"
	"\n"
	"Runs one control command in the running process of the account of FILE,\n"
	"over its local control socket (as shopkeep status does), and prints the\n"
	"answer's data as JSON. The commands are those of the web page's control API\n"
	"(web/API.md): the core's own and the plugins' (shopkeep ctl --config FILE\n"
	"help lists them). DATA is the command's arguments as a JSON object, e.g.\n"
	"'{\"limit\":10}'.\n"
	"\n"
	"Exits 0 when the command succeeded, 1 when it failed (the reason on stderr)\n"
	"or on another failure, 3 when the account is not running, 2 on a usage error.\n";

/* Which options a command takes besides --config FILE and --help. */
enum { MAIN_OPT_JSON = 1, MAIN_OPT_TIMEOUT = 2 };

/* The options of a command: --config FILE (or --config=FILE), --help, --json
 * (MAIN_OPT_JSON) and --timeout SECONDS (MAIN_OPT_TIMEOUT) when opts has them,
 * and at most nmax arguments into args. Returns 0 with *path set, 1 when help
 * was printed, 2 on a usage error (reported). */
static int main_ctl_options(const char *cmd, const char *usage, int opts, int argc, char **argv,
			    const char **path, int *json, int *timeout_s, const char **args, int nmax, int *nargs)
{
	*path = NULL;
	*json = 0;
	*timeout_s = 5;
	*nargs = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 1;
		} else if (!strcmp(a, "--config") || !strcmp(a, "-c")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "shopkeep %s: %s needs a FILE (try shopkeep %s --help)\n", cmd, a, cmd);
				return 2;
			}
			*path = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			*path = a + 9;
		} else if ((opts & MAIN_OPT_JSON) && !strcmp(a, "--json")) {
			*json = 1;
		} else if ((opts & MAIN_OPT_TIMEOUT) && (!strcmp(a, "--timeout") || !strncmp(a, "--timeout=", 10))) {
			const char *v = a[9] == '=' ? a + 10 : i + 1 < argc ? argv[++i] : "";
			char *end;
			long t = strtol(v, &end, 10);

			if (!*v || *end || t < 1 || t > 3600) {
				fprintf(stderr, "shopkeep %s: --timeout needs a whole number of seconds from 1 to 3600 "
					"(try shopkeep %s --help)\n", cmd, cmd);
				return 2;
			}
			*timeout_s = (int)t;
		} else if (a[0] == '-') {
			fprintf(stderr, "shopkeep %s: unknown option '%s' (try shopkeep %s --help)\n", cmd, a, cmd);
			return 2;
		} else if (*nargs < nmax) {
			args[(*nargs)++] = a;
		} else {
			fprintf(stderr, "shopkeep %s: unexpected argument '%s' (try shopkeep %s --help)\n", cmd, a, cmd);
			return 2;
		}
	}
	if (!*path || !**path) {
		fprintf(stderr, "shopkeep %s: --config FILE is required (try shopkeep %s --help)\n", cmd, cmd);
		return 2;
	}
	return 0;
}

/* The options of a command with only --config FILE and --help and, when arg
 * is not NULL, one argument (*arg NULL when absent): main_ctl_options. */
static int main_options(const char *cmd, const char *usage, int argc, char **argv, const char **path,
			const char **arg)
{
	const char *args[1] = { NULL };
	int json, timeout_s, n, rc = main_ctl_options(cmd, usage, 0, argc, argv, path, &json, &timeout_s, args,
						       arg ? 1 : 0, &n);

	if (arg)
		*arg = args[0];
	return rc;
}

/* Loads and validates path (config_load_flags); prints the errors to stderr.
 * Returns 0 or 1. */
static int main_load(const char *path, int flags, config *c)
{
	sbuf errs = { 0 };
	int rc = config_load_flags(path, flags, c, &errs);

	if (rc) {
		fputs(errs.p ? errs.p : "", stderr);
		if (errs.oom || !errs.len)
			fprintf(stderr, "%s: invalid config (out of memory while reporting)\n", path);
	}
	sbuf_free(&errs);
	return rc ? 1 : 0;
}

/* Appends path to out for a shell command line: as it is when it holds only
 * [A-Za-z0-9/._+-], else in single quotes ('\'' for a quote). */
static void main_shell_word(sbuf *out, const char *path)
{
	if (path[strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+-")] == '\0' &&
	    *path) {
		sbuf_adds(out, path);
		return;
	}
	sbuf_adds(out, "'");
	for (; *path; path++)
		if (*path == '\'')
			sbuf_adds(out, "'\\''");
		else
			sbuf_addf(out, "%c", *path);
	sbuf_adds(out, "'");
}

/* Refuses a state database that group or others have access to: it holds
 * the platform's IM token, every card code and the page's password hash.
 * Checks db and, when they exist, its -wal and -shm (SQLite makes those with
 * the database file's mode, whatever the umask). A database that does not
 * exist yet is fine: it is made 0600 (umask 077, main). Returns 0, or 1
 * after printing on stderr which file it is and the chmod that fixes it. */
static int main_db_private(const char *cmd, const char *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char path[4200], bad[4200] = "";
	sbuf fix = { 0 };
	mode_t mode = 0;
	struct stat st;
	int i, refuse = 0;

	sbuf_adds(&fix, "chmod 600");
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s%s", db, suffix[i]);
		if (stat(path, &st))
			continue;
		sbuf_adds(&fix, " ");
		main_shell_word(&fix, path);
		if ((st.st_mode & 077) && !refuse) {
			refuse = 1;
			mode = st.st_mode & 07777;
			snprintf(bad, sizeof bad, "%s", path);
		}
	}
	if (refuse)
		fprintf(stderr, "shopkeep %s: %s: group or others have access to it (mode %04o), and it holds the "
			"IM token, the card codes and the password hash; not opened. Fix it: %s\n", cmd, bad,
			(unsigned)mode, fix.oom ? "chmod 600 <state.db and its -wal and -shm>" : fix.p);
	sbuf_free(&fix);
	return refuse;
}

/* Whatever the process or a command makes is its user's alone (files 0600,
 * folders 0700, whatever the caller's umask), and a crash leaves no core
 * file with the cookie, the IM token or card codes in it: the process is
 * not dumpable (nor ptrace-attachable by its own user without
 * CAP_SYS_PTRACE) and RLIMIT_CORE is 0. The limit is only lowered when it is
 * not 0 already (LimitCORE=0 in the unit), so a seccomp filter without
 * @resources never sees a setrlimit. */
static void main_private(void)
{
	struct rlimit rl;

	umask(077);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (getrlimit(RLIMIT_CORE, &rl) || rl.rlim_cur || rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max = 0;
		setrlimit(RLIMIT_CORE, &rl);   /* lowering a limit cannot fail */
	}
}

static int64_t main_now_ms(void *ud)
{
	(void)ud;
	return util_now_ms();
}

static int64_t main_mono_ms(void *ud)
{
	(void)ud;
	return util_mono_us() / 1000;
}

/* Prints a host_command's errs (one line each) to stderr. */
static void main_errs(const sbuf *errs)
{
	if (errs->oom)
		fputs("shopkeep: out of memory\n", stderr);
	else if (errs->len)
		fputs(errs->p, stderr);
}

/* The backend's control_call of a command process (sk_control_call, ABI
 * 1.5): the request to the account's control socket (ud: its config), as
 * `shopkeep ctl` sends it. 0 with *answer, SK_ERR_IO when no process
 * listens, SK_ERR_CONFIG (no socket, or not the account's), SK_ERR_STATE
 * (no answer in time, a broken socket); the reason in err. */
static int main_control_call(void *ud, const char *request, int timeout_ms, char **answer, char *err, size_t errlen)
{
	const config *c = ud;
	struct stat st;
	int r;

	if (!c->ctl_socket) {
		snprintf(err, errlen, "account %s has no control socket: control.socket is off", c->account_id);
		return SK_ERR_CONFIG;
	}
	if (ctl_check_owner(c->ctl_socket, stat(c->state_db, &st) ? (uid_t)-1 : st.st_uid, err, errlen))
		return SK_ERR_CONFIG;
	r = ctl_call(c->ctl_socket, request, timeout_ms, answer, err, errlen);
	return r == CTL_OK ? SK_OK : r == CTL_NOT_RUNNING ? SK_ERR_IO : SK_ERR_STATE;
}

/* A command that is not built in: a plugin's. Takes --config FILE,
 * --config=FILE and -c FILE out of the arguments wherever they are (up to a
 * "--", after which everything is the command's, "--" included) and hands
 * the rest, argv[0] the command, to host_command on a host over the
 * account's state database. There is no session: the backend has clocks
 * only. Returns the exit status. */
static int main_plugin_command(const char *cmd, int argc, char **argv)
{
	const char *path = NULL;
	char **args, err[600];
	host_backend be = { .now_ms = main_now_ms, .mono_ms = main_mono_ms };
	host_config hc = { .worker_threads = 1 };
	sbuf errs = { 0 };
	int i, n = 0, rc, raw = 0;
	store *st = NULL;
	host *h = NULL;
	config c;

	if (!(args = calloc((size_t)argc + 1, sizeof *args))) {
		fputs("shopkeep: out of memory\n", stderr);
		return 1;
	}
	args[n++] = (char *)cmd;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (raw) {
			args[n++] = argv[i];
		} else if (!strcmp(a, "--config") || !strcmp(a, "-c")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "shopkeep %s: %s needs a FILE\n", cmd, a);
				free(args);
				return 2;
			}
			path = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			path = a + 9;
		} else {
			raw = !strcmp(a, "--");
			args[n++] = argv[i];
		}
	}
	if (!path || !*path) {
		/* Which plugin provides cmd, if any, is the config's plugins.load: its help needs it. */
		for (i = 1; i < n && strcmp(args[i], "--"); i++)
			if (!strcmp(args[i], "--help") || !strcmp(args[i], "-h")) {
				printf("shopkeep %s is not a built-in command: if it exists, a plugin provides it (stock and\n"
				       "orders are the orders plugin's), and the plugins are the account's config's\n"
				       "(plugins.load). For its help, name the config: shopkeep %s --help --config FILE\n"
				       "The built-in commands: shopkeep --help\n", cmd, cmd);
				free(args);
				return 0;
			}
		fprintf(stderr, "shopkeep: unknown command '%s' (a plugin's command needs --config FILE; "
			"try shopkeep --help)\n", cmd);
		free(args);
		return 2;
	}
	if (main_load(path, 0, &c)) {
		config_free(&c);
		free(args);
		return 1;
	}
	/* The command prints what it has to say: the log is for trouble. log.level
	 * "debug" or "error" is kept; "info", also the default, becomes "warn". */
	log_set_level(c.log_level && (!strcmp(c.log_level, "debug") || !strcmp(c.log_level, "error")) ?
		      c.log_level : "warn");
	rc = -1;
	if (c.n_plugins) {
		if (main_db_private(cmd, c.state_db)) {
			rc = 1;
			goto out;
		}
		if (!(st = store_open(c.state_db, err, sizeof err)) || store_account(st, c.account_id, err, sizeof err)) {
			fprintf(stderr, "shopkeep %s: state.db %s\n", cmd, err);
			rc = 1;
			goto out;
		}
		hc.account_id = c.account_id;
		hc.own_user_id = c.unb;
		hc.rules_path = c.rules;
		hc.key_file = c.key_file;
		hc.plugin_sections = c.plugin_sections;
		hc.db = store_db(st);
		be.ud = &c;
		be.control_call = main_control_call;
		if (!(h = host_new(&hc, &be))) {
			fputs("shopkeep: out of memory\n", stderr);
			rc = 1;
			goto out;
		}
		rc = host_command(h, c.plugins_dir, c.plugins_load, n, args, &errs);
		main_errs(&errs);
	}
	if (rc < 0) {
		fprintf(stderr, "shopkeep: unknown command '%s' (no plugin in plugins.load provides it)\n", cmd);
		rc = 2;
	}
out:
	host_free(h);
	store_close(st);
	sbuf_free(&errs);
	config_free(&c);
	free(args);
	return rc;
}

/* Reads one line of stdin into buf without its newline; on a terminal with
 * echo off after printing prompt. Returns 0, -1 at EOF or on an error, or -2
 * when the line does not fit in buf. */
static int main_read_secret(const char *prompt, char *buf, size_t n)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), rc = 0;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else {
			tty = 0;
		}
	}
	if (!fgets(buf, (int)n, stdin))
		rc = -1;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputs("\n", stderr);
	}
	if (!rc) {
		size_t l = strcspn(buf, "\r\n");

		if (!buf[l] && l == n - 1 && !feof(stdin)) {
			sodium_memzero(buf, n);
			return -2;
		}
		buf[l] = '\0';
	}
	return rc;
}

/* shopkeep passwd: the web page's admin password into the state database. */
static int main_passwd(int argc, char **argv)
{
	char pw[AUTH_MAX_PASSWORD + 2], again[AUTH_MAX_PASSWORD + 2], err[600];
	const char *path;
	store *st;
	config c;
	int rc;

	if ((rc = main_options("passwd", main_passwd_usage, argc, argv, &path, NULL)))
		return rc == 1 ? 0 : 2;
	if (main_load(path, 0, &c)) {
		config_free(&c);
		return 1;
	}
	rc = main_read_secret("New password: ", pw, sizeof pw);
	if (rc) {
		fputs(rc == -2 ? "shopkeep passwd: the password is too long\n"
		      : "shopkeep passwd: no password given on stdin\n", stderr);
		rc = 1;
		goto out;
	}
	rc = 1;
	if (isatty(STDIN_FILENO) && (main_read_secret("Again: ", again, sizeof again) || strcmp(pw, again))) {
		fputs("shopkeep passwd: the two passwords differ; nothing changed\n", stderr);
		goto out;
	}
	if (main_db_private("passwd", c.state_db))
		goto out;
	if (!(st = store_open(c.state_db, err, sizeof err)) || store_account(st, c.account_id, err, sizeof err)) {
		fprintf(stderr, "shopkeep passwd: state.db %s\n", err);
		store_close(st);
		goto out;
	}
	if (auth_set_password(st, pw, c.web_pwhash_min, err, sizeof err))
		fprintf(stderr, "shopkeep passwd: %s; nothing changed\n", err);
	else {
		printf("the admin password of account %s is set\n", c.account_id);
		rc = 0;
	}
	store_close(st);
out:
	sodium_memzero(pw, sizeof pw);
	sodium_memzero(again, sizeof again);
	config_free(&c);
	return rc;
}

/* shopkeep backup --config FILE DEST: store_backup of the config's state.db. */
static int main_backup(int argc, char **argv)
{
	const char *path, *dest;
	char err[1024];
	config c;
	int rc;

	if ((rc = main_options("backup", main_backup_usage, argc, argv, &path, &dest)))
		return rc == 1 ? 0 : 2;
	if (!dest || !*dest) {
		fputs("shopkeep backup: where to? give DEST (try shopkeep backup --help)\n", stderr);
		return 2;
	}
	if (main_load(path, CONFIG_NO_COOKIE, &c)) {
		config_free(&c);
		return 1;
	}
	rc = store_backup(c.state_db, dest, err, sizeof err);
	if (rc)
		fprintf(stderr, "shopkeep backup: %s; nothing written to %s\n", err, dest);
	else
		printf("state.db %s copied into %s\n", c.state_db, dest);
	config_free(&c);
	return rc ? 1 : 0;
}

/* Prints the config's warnings, one line each, on stderr. */
static void main_warnings(const config *c)
{
	const char *p = c->warnings;

	while (p && *p) {
		size_t n = strcspn(p, "\n");

		fprintf(stderr, "warning: %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* Logs the config's warnings (log_warn), one event per line. */
static void main_log_warnings(const config *c)
{
	const char *p = c->warnings;

	while (p && *p) {
		size_t n = strcspn(p, "\n");

		log_warn("config", "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* The terminal's line discipline keeps at most this much of a line (Linux
 * N_TTY_BUF_SIZE less the newline); what is pasted beyond it is dropped. */
#define MAIN_TTY_LINE_MAX 4095

/* shopkeep secret set --config FILE cookie: reads the cookie from stdin,
 * checks it like config_load, encrypts it into account.cookie_secret (or its
 * default) and says what to change in FILE. Never rewrites FILE. */
static int main_secret_set(int argc, char **argv)
{
	const size_t cap = CONFIG_MAX_COOKIE + 2;
	char err[1024], *buf = NULL, *target = NULL, *unb = NULL, *s;
	const char *path, *name, *why;
	int rc, had_key;
	size_t n;
	config c;

	if ((rc = main_options("secret set", main_secret_set_usage, argc, argv, &path, &name)))
		return rc == 1 ? 0 : 2;
	if (!name) {
		fputs("shopkeep secret set: which secret? the only one is cookie (try shopkeep secret set --help)\n",
		      stderr);
		return 2;
	}
	if (strcmp(name, "cookie")) {
		fprintf(stderr, "shopkeep secret set: unknown secret '%s': the only one is cookie\n", name);
		return 2;
	}
	/* The cookie as the config has it is not needed: this command replaces it. */
	if (main_load(path, CONFIG_NO_COOKIE, &c)) {
		config_free(&c);
		return 1;
	}
	rc = 1;
	if (!c.key_file) {
		fprintf(stderr, "shopkeep secret set: account.id is not a plain file name (letters, digits, '.', "
			"'_', '-'): set account.key_file in %s\n", path);
		goto out;
	}
	if (!(target = c.cookie_secret ? strdup(c.cookie_secret) : config_default_cookie_secret(&c))) {
		fprintf(stderr, "shopkeep secret set: account.id is not a plain file name (letters, digits, '.', "
			"'_', '-'): set account.cookie_secret in %s\n", path);
		goto out;
	}
	if (!(buf = malloc(cap))) {
		fputs("shopkeep: out of memory\n", stderr);
		goto out;
	}
	switch (main_read_secret("Cookie: ", buf, cap)) {
	case 0:
		break;
	case -2:
		fprintf(stderr, "shopkeep secret set: the cookie is larger than %d bytes; nothing changed\n",
			CONFIG_MAX_COOKIE);
		goto out;
	default:
		fputs("shopkeep secret set: no cookie given on stdin; nothing changed\n", stderr);
		goto out;
	}
	/* The white space around a pasted value is not part of it. */
	for (s = buf; *s == ' ' || *s == '\t'; s++)
		;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (isatty(STDIN_FILENO) && n >= MAIN_TTY_LINE_MAX - 1) {
		fprintf(stderr, "shopkeep secret set: the terminal may have cut the cookie at %d bytes; give it "
			"through a pipe or a file: shopkeep secret set --config %s cookie < cookie.txt; nothing changed\n",
			MAIN_TTY_LINE_MAX, path);
		goto out;
	}
	if ((why = config_cookie_check(s, &unb))) {
		fprintf(stderr, "shopkeep secret set: %s; nothing changed\n", why);
		goto out;
	}
	had_key = access(c.key_file, F_OK) == 0;
	if (secret_set(c.key_file, target, s, err, sizeof err)) {
		fprintf(stderr, "shopkeep secret set: %s; nothing changed\n", err);
		goto out;
	}
	printf("the cookie of account %s is encrypted into %s\n", c.account_id, target);
	if (!had_key)
		printf("a new key was made: %s (mode 0600); keep it, and a copy apart from the cookie: "
		       "without it the cookie cannot be decrypted\n", c.key_file);
	if (!c.cookie_secret) {
		const char *slash = strrchr(target, '/');

		/* The default is in the config's folder: its name alone resolves there. */
		printf("to use it, set in %s: \"account\": {\"cookie_secret\": \"%s\"}\n", path, slash ? slash + 1 : target);
	} else {
		printf("account.cookie_secret of %s names it: the account uses it when it is started again\n", path);
	}
	if (c.cookie)
		printf("and remove account.cookie from %s: it holds the cookie in plaintext\n", path);
	if (c.cookie_file)
		printf("and remove account.cookie_file from %s, then delete %s: it holds the cookie in plaintext\n",
		       path, c.cookie_file);
	rc = 0;
out:
	if (buf) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	free(unb);
	free(target);
	config_free(&c);
	return rc;
}

/* shopkeep secret: only `set` for now. */
static int main_secret(int argc, char **argv)
{
	if (argc < 1) {
		fputs("shopkeep secret: which subcommand? the only one is set (try shopkeep secret --help)\n", stderr);
		return 2;
	}
	if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
		fputs(main_secret_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[0], "set"))
		return main_secret_set(argc - 1, argv + 1);
	fprintf(stderr, "shopkeep secret: unknown %s '%s' (try shopkeep secret --help)\n",
		argv[0][0] == '-' ? "option" : "subcommand", argv[0]);
	return 2;
}

/* Sends one control request (a JSON line) to the running process of c.
 * Returns 0 with *ans the answer (owned), 3 when the account is not running
 * (said on stdout when human, else on stderr), 1 on another failure (said
 * on stderr). */
static int main_ask(const char *cmd, const config *c, const char *request, int timeout_s, int human, cJSON **ans)
{
	char err[700], *text = NULL;
	struct stat st;
	int r;

	*ans = NULL;
	if (!c->ctl_socket) {
		fprintf(stderr, "shopkeep %s: account %s has no control socket: control.socket is off (or account.id is "
			"not a plain file name: then set control.socket)\n", cmd, c->account_id);
		return 1;
	}
	/* The account's user is the owner of its state.db (a DynamicUser of
	 * systemd, for root asking). */
	if (ctl_check_owner(c->ctl_socket, stat(c->state_db, &st) ? (uid_t)-1 : st.st_uid, err, sizeof err)) {
		fprintf(stderr, "shopkeep %s: account %s: %s\n", cmd, c->account_id, err);
		return 1;
	}
	r = ctl_call(c->ctl_socket, request, timeout_s * 1000, &text, err, sizeof err);
	if (r == CTL_NOT_RUNNING) {
		fprintf(human ? stdout : stderr, "account %s is not running: %s\n", c->account_id, err);
		return 3;
	}
	if (r) {
		fprintf(stderr, "shopkeep %s: account %s: %s\n", cmd, c->account_id, err);
		return 1;
	}
	*ans = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(*ans)) {
		fprintf(stderr, "shopkeep %s: account %s answered something that is not a JSON object\n", cmd,
			c->account_id);
		cJSON_Delete(*ans);
		*ans = NULL;
		return 1;
	}
	return 0;
}

/* A duration of ms as "3d 04h", "2h 05m", "4m 12s" or "9s" into buf. */
static const char *main_span(int64_t ms, char *buf, size_t n)
{
	long long t = ms < 0 ? 0 : (long long)(ms / 1000);

	if (t >= 86400)
		snprintf(buf, n, "%lldd %02lldh", t / 86400, t % 86400 / 3600);
	else if (t >= 3600)
		snprintf(buf, n, "%lldh %02lldm", t / 3600, t % 3600 / 60);
	else if (t >= 60)
		snprintf(buf, n, "%lldm %02llds", t / 60, t % 60);
	else
		snprintf(buf, n, "%llds", t);
	return buf;
}

/* A wall-clock time in ms as "YYYY-MM-DD HH:MM:SS (4m 12s ago)" (local time) into buf. */
static const char *main_when(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	char d[32] = "?", span[32];
	struct tm tm;

	if (localtime_r(&t, &tm))
		strftime(d, sizeof d, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, n, "%s (%s ago)", d, main_span(util_now_ms() - ms, span, sizeof span));
	return buf;
}

/* A number member of o (0 when absent). */
static double main_num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A string member of o ("" when absent). */
static const char *main_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Prints why a FAILED account failed and what the seller does, in words
 * (the status's session.fail_kind and punish_url); nothing when it did not. */
static void main_status_fail(const cJSON *d)
{
	const cJSON *so = cJSON_GetObjectItemCaseSensitive(d, "session");
	const char *kind = main_str(so, "fail_kind"), *url = main_str(so, "punish_url");

	if (!strcmp(kind, "login"))
		printf("              needs login: the platform says the session expired; log in again "
		       "(shopkeep login, or the page's QR) - no restart needed\n");
	else if (!strcmp(kind, "risk"))
		printf("              risk control: the platform asks for a check; open %s in a browser "
		       "logged in to the account and pass it (tried again every reconnect.risk_backoff_s)\n",
		       *url ? url : "goofish.com");
	else if (!strcmp(kind, "kicked"))
		printf("              kicked: another client (a browser logged in to this account?) keeps "
		       "taking the connection; close it (tried again every token.relogin_check_s)\n");
	else if (!strcmp(kind, "retries"))
		printf("              gave up after reconnect.max_retries failed attempts (tried again every "
		       "token.relogin_check_s)\n");
}

/* Prints the status command's data d for a person. */
static void main_status_print(const cJSON *d)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(d, "metrics"), *p;
	const cJSON *ren = cJSON_GetObjectItemCaseSensitive(d, "session");
	const char *state = main_str(d, "state"), *err = main_str(d, "last_error"), *url = main_str(d, "web_url");
	int64_t conn = (int64_t)main_num(m, "connected_ms"), last = (int64_t)main_num(m, "last_msg_ms");
	char w[96], span[32];
	int first = 1;

	printf("account:      %s (unb %s)\n", main_str(d, "account"), main_str(d, "unb"));
	if (!strcmp(state, "CONNECTED") && conn)
		printf("state:        CONNECTED since %s\n", main_when(conn, w, sizeof w));
	else
		printf("state:        %s (retry %.0f; %s%s)\n", state, main_num(m, "retry"),
		       conn ? "last connected " : "never connected", conn ? main_when(conn, w, sizeof w) : "");
	main_status_fail(d);
	printf("last message: %s\n", last ? main_when(last, w, sizeof w) : "none yet");
	if (cJSON_IsObject(ren)) {
		int64_t at = (int64_t)main_num(ren, "last_renewed_ms"), next = (int64_t)main_num(ren, "next_renew_ms");

		printf("renewed:      %s (%.0f renewals, %.0f failed)", at ? main_when(at, w, sizeof w) : "not yet",
		       main_num(ren, "renewals"), main_num(ren, "renew_failures"));
		if (next > util_now_ms())
			printf(", next in %s", main_span(next - util_now_ms(), span, sizeof span));
		printf("%s\n", next ? "" : ", keep-alive off");
	}
	printf("sends:        %.0f pending (%.0f waiting in the outbox), %.0f acked, %.0f refused\n",
	       main_num(m, "sends_pending"), main_num(m, "sends_backlog"), main_num(m, "sends_acked"),
	       main_num(m, "sends_refused"));
	printf("plugins:      ");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(d, "plugins")) {
		if (cJSON_IsString(p)) {
			printf("%s%s", first ? "" : ", ", p->valuestring);
			first = 0;
		}
	}
	printf("%s\n", first ? "none" : "");
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(d, "rules")))
		printf("rules:        %s\n", main_str(cJSON_GetObjectItemCaseSensitive(d, "rules"), "summary"));
	printf("page:         %s\n", *url ? url : "off");
	printf("process:      pid %.0f, up %s, %.0f reconnects\n", main_num(d, "pid"),
	       main_span((int64_t)main_num(d, "uptime_s") * 1000, span, sizeof span), main_num(m, "reconnects"));
	if (*err) {
		/* the platform's words: nothing a terminal would act on */
		char *esc = malloc(4 * strlen(err) + 1);

		if (esc)
			log_escape(err, esc, 4 * strlen(err) + 1);
		printf("last error:   %s\n", esc ? esc : "(out of memory)");
		free(esc);
	}
}

/* shopkeep status: the running process's status, for a person or as JSON. */
static int main_status(int argc, char **argv)
{
	const char *path, *args[1];
	int json, timeout_s, nargs, rc;
	cJSON *ans = NULL, *d;
	config c;

	if ((rc = main_ctl_options("status", main_status_usage, MAIN_OPT_JSON | MAIN_OPT_TIMEOUT, argc, argv, &path,
				   &json, &timeout_s, args, 0, &nargs)))
		return rc == 1 ? 0 : 2;
	/* The cookie is the running process's business. */
	if (main_load(path, CONFIG_NO_COOKIE, &c)) {
		config_free(&c);
		return 1;
	}
	rc = main_ask("status", &c, "{\"request_id\":\"status\",\"command\":\"status\"}", timeout_s, !json, &ans);
	d = cJSON_GetObjectItemCaseSensitive(ans, "data");
	if (!rc && (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "success")) || !cJSON_IsObject(d))) {
		fprintf(stderr, "shopkeep status: account %s: %s\n", c.account_id,
			*main_str(ans, "error") ? main_str(ans, "error") : "the answer has no status");
		rc = 1;
	} else if (!rc && json) {
		char *s = cJSON_PrintUnformatted(d);

		if (s)
			puts(s);
		else
			rc = 1;
		cJSON_free(s);
	} else if (!rc) {
		main_status_print(d);
	}
	cJSON_Delete(ans);
	config_free(&c);
	return rc;
}

/* shopkeep ctl: one control command in the running process; prints its data. */
static int main_ctl(int argc, char **argv)
{
	const char *path, *args[2];
	int json, timeout_s, nargs, rc;
	cJSON *req, *data = NULL, *ans = NULL;
	char *line;
	config c;

	if ((rc = main_ctl_options("ctl", main_ctl_usage, MAIN_OPT_TIMEOUT, argc, argv, &path, &json, &timeout_s, args,
				   2, &nargs)))
		return rc == 1 ? 0 : 2;
	if (!nargs) {
		fputs("shopkeep ctl: which command? (shopkeep ctl --config FILE help lists them; try shopkeep ctl "
		      "--help)\n", stderr);
		return 2;
	}
	if (nargs > 1 && !cJSON_IsObject(data = cJSON_Parse(args[1]))) {
		fprintf(stderr, "shopkeep ctl: DATA must be a JSON object, e.g. '{\"limit\":10}' (try shopkeep ctl "
			"--help)\n");
		cJSON_Delete(data);
		return 2;
	}
	if (main_load(path, CONFIG_NO_COOKIE, &c)) {
		cJSON_Delete(data);
		config_free(&c);
		return 1;
	}
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "request_id", "ctl");
	cJSON_AddStringToObject(req, "command", args[0]);
	if (data)
		cJSON_AddItemToObject(req, "data", data);
	line = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!line) {
		fputs("shopkeep: out of memory\n", stderr);
		config_free(&c);
		return 1;
	}
	rc = main_ask("ctl", &c, line, timeout_s, 0, &ans);
	cJSON_free(line);
	if (!rc && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "success"))) {
		char *s = cJSON_Print(cJSON_GetObjectItemCaseSensitive(ans, "data"));

		if (s)
			puts(s);
		else
			rc = 1;
		cJSON_free(s);
	} else if (!rc) {
		fprintf(stderr, "shopkeep ctl %s: %s\n", args[0], *main_str(ans, "error") ? main_str(ans, "error") :
			"failed");
		rc = 1;
	}
	cJSON_Delete(ans);
	config_free(&c);
	return rc;
}

/* shopkeep check: validates the config of --config FILE, each plugin's
 * section and the rules file; prints "config OK" or the problems. Returns
 * the exit status. */
static int main_check(int argc, char **argv)
{
	const char *path;
	config c;
	int rc;

	rc = main_options("check", main_check_usage, argc, argv, &path, NULL);
	if (rc)
		return rc == 1 ? 0 : 2;
	rc = main_load(path, 0, &c);
	if (!rc && c.n_plugins) {
		/* each plugin's section against the keys it declares */
		sbuf errs = { 0 };

		if (host_check_config(c.plugins_dir, c.plugins_load, c.plugin_sections, &errs)) {
			fputs(errs.p ? errs.p : "plugins: cannot check\n", stderr);
			rc = 1;
		}
		sbuf_free(&errs);
	}
	if (!rc && c.rules) {
		/* the rules file, by every plugin's own validator (as run loads it) */
		sbuf errs = { 0 };

		if (host_check_rules(c.plugins_dir, c.plugins_load, c.rules, &errs)) {
			fputs(errs.p ? errs.p : "rules: cannot check\n", stderr);
			rc = 1;
		}
		sbuf_free(&errs);
	}
	if (!rc)
		puts("config OK");
	/* For a person at a terminal: scripts compare the output above. */
	if (!rc && isatty(STDERR_FILENO))
		main_warnings(&c);
	config_free(&c);
	return rc;
}

/* shopkeep run: runs the account of --config FILE until SIGINT/SIGTERM, in
 * the background with --daemon. Returns the exit status. */
static int main_run(int argc, char **argv)
{
	const char *path, *pidfile = NULL, *logfile = NULL;
	int rc, nrest = 0, daemonize = 0;
	char *rest[8];
	config c;

	/* --daemon, --pidfile, --log here; the rest is main_options's */
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--daemon")) {
			daemonize = 1;
		} else if (!strcmp(argv[i], "--pidfile") || !strcmp(argv[i], "--log")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "shopkeep run: %s needs a PATH (try shopkeep run --help)\n", argv[i]);
				return 2;
			}
			*(!strcmp(argv[i], "--log") ? &logfile : &pidfile) = argv[i + 1];
			i++;
		} else if (nrest < 8) {
			rest[nrest++] = argv[i];
		} else {
			fprintf(stderr, "shopkeep run: too many arguments (try shopkeep run --help)\n");
			return 2;
		}
	}
	rc = main_options("run", main_run_usage, nrest, rest, &path, NULL);
	if (rc)
		return rc == 1 ? 0 : 2;
	if ((pidfile || logfile) && !daemonize) {
		fprintf(stderr, "shopkeep run: --pidfile and --log go with --daemon (try shopkeep run --help)\n");
		return 2;
	}
	rc = main_load(path, 0, &c);
	if (!rc)
		rc = main_db_private("run", c.state_db);
	if (!rc && daemonize) {
		char pdef[4200], ldef[4200], dir[4096], err[700];
		char *slash;

		snprintf(dir, sizeof dir, "%s", c.state_db);
		if ((slash = strrchr(dir, '/')))
			*slash = '\0';
		else
			snprintf(dir, sizeof dir, ".");
		snprintf(pdef, sizeof pdef, "%s/%s.pid", dir, c.account_id);
		snprintf(ldef, sizeof ldef, "%s/%s.log", dir, c.account_id);
		rc = daemon_start(pidfile ? pidfile : pdef, logfile ? logfile : ldef, err, sizeof err);
		if (rc < 0) {
			fprintf(stderr, "shopkeep run --daemon: %s\n", err);
			config_free(&c);
			return 1;
		}
		if (rc > 0) {
			printf("shopkeep: account %s runs in the background (log %s, pidfile %s)\n", c.account_id,
			       logfile ? logfile : ldef, pidfile ? pidfile : pdef);
			config_free(&c);
			return 0;
		}
	}
	if (!rc) {
		log_set_level(c.log_level ? c.log_level : "info");
		main_log_warnings(&c);
		rc = run_main(&c);
	}
	config_free(&c);
	return rc;
}

static const char main_login_usage[] =
	"usage: shopkeep login --config FILE\n"
	"\n"
	"Logs the account in by QR code: the code is drawn in the terminal; scan it\n"
	"with the Xianyu app (闲鱼 App) and confirm on the phone. Each state is printed\n"
	"as it changes, in Chinese and English. The new cookie is encrypted into\n"
	"account.cookie_secret (default <config dir>/<account id>.cookie.secret, made\n"
	"if missing, mode 0600, key account.key_file) and never printed. A config that\n"
	"keeps its cookie in plaintext (account.cookie, account.cookie_file) is\n"
	"refused: remove that key first. A running process of the account is told\n"
	"(control command cookie_reload) and takes the new login at once.\n"
	"Exits 0 when logged in, 1 when not (expired, cancelled, refused, failed),\n"
	"2 on a usage error, 4 when logged in but the running process did not take\n"
	"the new login (restart it).\n";

/* shopkeep login --config FILE: core/login_cli.c. */
static int main_login(int argc, char **argv)
{
	const char *path;
	config c;
	int rc = main_options("login", main_login_usage, argc, argv, &path, NULL);

	if (rc)
		return rc == 1 ? 0 : 2;
	/* the cookie the config has is not needed: this command makes a new one */
	if (main_load(path, CONFIG_NO_COOKIE, &c)) {
		config_free(&c);
		return 1;
	}
	rc = login_cli_run(&c, path);
	config_free(&c);
	return rc;
}

static int main_help(int argc, char **argv);

/* A command of the command line: its name, its arguments and one line of
 * help for shopkeep --help (NULL: not listed), its handler (argv after the
 * command's name; returns the exit status). */
typedef struct {
	const char *name, *args, *help;
	int (*fn)(int argc, char **argv);
} main_command;

/* The core's commands, one row each (core/commands.h). */
#define MAIN_ROW(name, args, help) { #name, args, help, main_##name },
static const main_command main_commands[] = { CORE_CLI_COMMANDS(MAIN_ROW) };
#undef MAIN_ROW

/* shopkeep --help: the usage, with a line for each listed command (its help
 * on the line below when the synopsis is long). Returns 0. */
static int main_help(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs(main_usage_head, stdout);
	for (size_t i = 0; i < sizeof main_commands / sizeof main_commands[0]; i++) {
		const main_command *m = &main_commands[i];
		char syn[128];

		if (!m->help)
			continue;
		snprintf(syn, sizeof syn, "%s %s", m->name, m->args);
		if (strlen(syn) <= 20)
			printf("  %-22s%s\n", syn, m->help);
		else
			printf("  %s\n%24s%s\n", syn, "", m->help);
	}
	fputs(main_usage_tail, stdout);
	return 0;
}

/* Returns the exit status of the command line: the core's command of that
 * name, else a plugin's. */
int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		fputs("usage: shopkeep <command> [options] (shopkeep --help lists the commands)\n", stderr);
		return 2;
	}
	main_private();
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return main_help(argc - 2, argv + 2);
	for (size_t i = 0; i < sizeof main_commands / sizeof main_commands[0]; i++)
		if (!strcmp(cmd, main_commands[i].name))
			return main_commands[i].fn(argc - 2, argv + 2);
	if (cmd[0] == '-') {
		fprintf(stderr, "shopkeep: unknown option '%s' (try shopkeep --help)\n", cmd);
		return 2;
	}
	return main_plugin_command(cmd, argc - 2, argv + 2);
}
