/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_install.c - `make install` into a temporary prefix, then an
 * out-of-tree plugin built only through pkg-config: a copy of
 * tests/plugins/good/good.c compiled with
 *   cc $(pkg-config --cflags shopkeep-plugin) -fPIC -shared -fvisibility=hidden -Wl,-z,defs
 * must pass the real loader. Also DESTDIR staging.
 *
 * The repository is $SK_ROOT (set by `make test`), else the parent of
 * $SK_BUILD ("build" or "build/san"). A build dir named san means the
 * install runs with SAN=1, so it installs the binaries of that build and
 * rebuilds nothing of the other. Every command runs under timeout(1); the
 * temporary directory is removed at the end whatever happened.
 */
#include "tap.h"
#include "loader.h"

#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[PATH_MAX], tmp[PATH_MAX], logpath[PATH_MAX + 16];
static int san;

/* Formats a shell command, runs it with its output appended to the log and
 * returns its exit status (-1 if it could not run or was killed). On failure
 * the log's tail goes to the TAP stream as comments. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[8192], tail[PATH_MAX + 64];
	size_t n;
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	n = strlen(cmd);
	snprintf(cmd + n, sizeof(cmd) - n, " >>'%s' 2>&1 </dev/null", logpath);
	st = system(cmd);
	st = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (st != 0) {
		diag("command failed (%d): %.*s", st, (int)n, cmd);
		snprintf(tail, sizeof(tail), "tail -n 20 '%s' | sed 's/^/#   /'", logpath);
		fflush(stdout);
		if (system(tail) == -1)
			diag("cannot show the log");
	}
	return st;
}

/* Runs a shell command and keeps the first line of its output in out
 * (newline stripped). Returns its exit status, or -1. */
static int capture(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	int st;

	out[0] = '\0';
	if (!p)
		return -1;
	if (fgets(out, (int)outlen, p)) {
		size_t n = strcspn(out, "\n");

		/* pkg-config ends its answers with a space. */
		while (n && out[n - 1] == ' ')
			n--;
		out[n] = '\0';
	}
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Reads a whole (small) file into a malloc'd string; NULL on error. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (s = malloc((size_t)n + 1))) {
		if (fread(s, 1, (size_t)n, f) != (size_t)n) {
			free(s);
			s = NULL;
		} else {
			s[n] = '\0';
		}
	}
	fclose(f);
	return s;
}

/* Whether path is a regular file with mode bits mode set. */
static int is_file(const char *path, mode_t mode)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & mode) == mode;
}

/* nftw callback of rm_rf: removes one entry. Returns 0 to go on. */
static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes the tree at path (depth first, not following symlinks). */
static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Finds the repository and whether the build is the SAN one; 0 or -1. */
static int find_root(void)
{
	const char *r = getenv("SK_ROOT"), *b = getenv("SK_BUILD");
	char build[PATH_MAX], probe[PATH_MAX + 32];
	char *slash;

	if (!realpath(b && *b ? b : "build", build)) {
		diag("no build dir %s", b && *b ? b : "build");
		return -1;
	}
	slash = strrchr(build, '/');
	san = slash && !strcmp(slash + 1, "san");
	if (r && *r) {
		if (!realpath(r, root))
			return -1;
	} else {
		if (san)
			*slash = '\0';
		slash = strrchr(build, '/');
		if (!slash || slash == build)
			return -1;
		*slash = '\0';
		snprintf(root, sizeof(root), "%s", build);
	}
	snprintf(probe, sizeof(probe), "%s/tests/run.sh", root);
	if (access(probe, R_OK) != 0 || strchr(root, '\'')) {
		diag("no repository at %s", root);
		return -1;
	}
	return 0;
}

/* Runs `make install` with the extra arguments; returns its status. */
static int make_install(const char *args)
{
	/* The make that runs `make test` passes its flags (and jobserver) down
	 * through the environment: this install is a make of its own. */
	return run("timeout -k 5 240 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s -C '%s' "
		   "install %s %s", root, san ? "SAN=1" : "", args);
}

/* The installed tree under prefix: the binary, the header, and every
 * in-tree plugin, which also passes the loader there. */
static void check_tree(const char *prefix)
{
	char path[PATH_MAX + 128], dir[PATH_MAX + 64], err[512], *mine, *theirs;
	loader_obj o;
	glob_t g;
	size_t i;

	snprintf(path, sizeof(path), "%s/bin/shopkeep", prefix);
	ok(is_file(path, S_IXUSR), "bin/shopkeep installed, executable");
	snprintf(path, sizeof(path), "%s/bin/shopkeep-sim", prefix);
	ok(access(path, F_OK) != 0, "the simulator is not installed");
	snprintf(path, sizeof(path), "%s/include/shopkeep/plugin.h", prefix);
	mine = slurp(path);
	snprintf(path, sizeof(path), "%s/plugins/plugin.h", root);
	theirs = slurp(path);
	ok(mine && theirs && !strcmp(mine, theirs), "include/shopkeep/plugin.h is plugins/plugin.h");
	free(mine);
	free(theirs);

	snprintf(dir, sizeof(dir), "%s/lib/shopkeep/plugins", prefix);
	snprintf(path, sizeof(path), "%s/plugins/*/*.c", root);
	if (glob(path, 0, NULL, &g) != 0)
		return;
	for (i = 0; i < g.gl_pathc; i++) {
		/* plugins/<name>/<file>.c: the folder names the plugin. */
		char name[128], *end, *start;

		snprintf(path, sizeof(path), "%s", g.gl_pathv[i]);
		if (!(end = strrchr(path, '/')))
			continue;
		*end = '\0';
		start = strrchr(path, '/');
		snprintf(name, sizeof(name), "%s", start ? start + 1 : path);
		/* A plugin of several files: check it once. */
		if (i > 0 && !strncmp(g.gl_pathv[i - 1], path, strlen(path)) && g.gl_pathv[i - 1][strlen(path)] == '/')
			continue;
		/* The hello<x> examples (plugins/README.md) are built and tested, not installed. */
		if (!strncmp(name, "hello", 5) && name[5]) {
			snprintf(path, sizeof(path), "%s/%s.so", dir, name);
			ok(access(path, F_OK) != 0, "the example %s is not installed", name);
			continue;
		}
		if (!ok(loader_open(dir, name, &o, err, sizeof(err)) == 0, "installed plugin %s loads", name))
			diag("%s", err);
		loader_close(&o);
	}
	globfree(&g);
}

/* PREFIX=<tmp>/prefix, then the out-of-tree plugin. */
static void test_prefix(void)
{
	char prefix[PATH_MAX + 16], pcdir[PATH_MAX + 64], path[PATH_MAX + 64], want[PATH_MAX + 64];
	char cmd[PATH_MAX * 3 + 512], got[PATH_MAX + 64], cflags[PATH_MAX + 64], err[512], *text;
	loader_obj o;

	snprintf(prefix, sizeof(prefix), "%s/prefix", tmp);
	snprintf(pcdir, sizeof(pcdir), "%s/lib/pkgconfig", prefix);
	snprintf(cmd, sizeof(cmd), "PREFIX='%s'", prefix);
	if (!ok(make_install(cmd) == 0, "make install PREFIX=<tmp>/prefix"))
		return;
	check_tree(prefix);

	snprintf(path, sizeof(path), "%s/shopkeep-plugin.pc", pcdir);
	text = slurp(path);
	snprintf(want, sizeof(want), "prefix=%s\n", prefix);
	ok(text && strstr(text, want) && !strstr(text, "@"), "shopkeep-plugin.pc has the prefix substituted");
	free(text);

	/* PKG_CONFIG_LIBDIR, not _PATH: only this prefix's file can answer. */
	snprintf(cmd, sizeof(cmd), "PKG_CONFIG_LIBDIR='%s' timeout 30 pkg-config --cflags shopkeep-plugin", pcdir);
	is_int(capture(cmd, cflags, sizeof(cflags)), 0, "pkg-config --cflags shopkeep-plugin");
	snprintf(want, sizeof(want), "-I%s/include/shopkeep", prefix);
	is_str(cflags, want, "Cflags: -I${includedir}/shopkeep");
	snprintf(cmd, sizeof(cmd), "PKG_CONFIG_LIBDIR='%s' timeout 30 pkg-config --libs shopkeep-plugin", pcdir);
	is_int(capture(cmd, got, sizeof(got)), 0, "pkg-config --libs shopkeep-plugin");
	is_str(got, "", "Libs: empty (a plugin links nothing of shopkeep)");
	snprintf(cmd, sizeof(cmd), "PKG_CONFIG_LIBDIR='%s' timeout 30 pkg-config --modversion shopkeep-plugin", pcdir);
	capture(cmd, got, sizeof(got));
	snprintf(want, sizeof(want), "%d.%d", SK_ABI_MAJOR, SK_ABI_MINOR);
	is_str(got, want, "Version: the header's ABI version");
	snprintf(cmd, sizeof(cmd), "PKG_CONFIG_LIBDIR='%s' timeout 30 pkg-config --variable=plugindir shopkeep-plugin",
		 pcdir);
	capture(cmd, got, sizeof(got));
	snprintf(want, sizeof(want), "%s/lib/shopkeep/plugins", prefix);
	is_str(got, want, "plugindir variable");

	/* The plugin author's build: a copy of good.c alone in a directory, the
	 * include path only from pkg-config, strict warnings. */
	snprintf(path, sizeof(path), "%s/src", tmp);
	if (!ok(mkdir(path, 0700) == 0, "out-of-tree source dir"))
		return;
	is_int(run("cp '%s/tests/plugins/good/good.c' '%s/good.c'", root, path), 0, "good.c copied out of tree");
	is_int(run("cd '%s' && PKG_CONFIG_LIBDIR='%s' timeout 60 sh -c 'cc $(pkg-config --cflags shopkeep-plugin) "
		   "-std=gnu11 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden -Wl,-z,defs good.c -o good.so'",
		   path, pcdir), 0, "cc $(pkg-config --cflags shopkeep-plugin) -fPIC -shared ... good.c");
	snprintf(path, sizeof(path), "%s/src/good.so", tmp);
	if (!ok(loader_open_file(path, "good", &o, err, sizeof(err)) == 0, "the loader accepts the out-of-tree plugin"))
		diag("%s", err);
	ok(o.desc && !strcmp(o.desc->version, "1.2.3"), "with its descriptor");
	loader_close(&o);

	/* the page and the service */
	snprintf(path, sizeof(path), "%s/share/shopkeep/web/index.html", prefix);
	ok(is_file(path, S_IRUSR), "the web page's files under share/shopkeep/web");
	snprintf(path, sizeof(path), "%s/lib/systemd/system/shopkeep@.service", prefix);
	text = slurp(path);
	snprintf(want, sizeof(want), "ExecStart=%s/bin/shopkeep run --config", prefix);
	ok(text && strstr(text, want) && strstr(text, "Restart=on-failure") && strstr(text, "NoNewPrivileges=yes") &&
	   strstr(text, "ProtectSystem=strict") && strstr(text, "ProtectHome=yes") && strstr(text, "PrivateTmp=yes") &&
	   strstr(text, "StateDirectory="), "shopkeep@.service: ExecStart of this prefix, restart, state dir, hardening");
	free(text);
	/* verify an instance: systemd-analyze reads the unit and checks ExecStart is there */
	is_int(run("command -v systemd-analyze >/dev/null || { echo 'no systemd-analyze'; exit 1; }; "
		   "d='%s/units'; mkdir -p \"$d\" && cp '%s' \"$d/shopkeep@test.service\" && "
		   "timeout 60 systemd-analyze verify \"$d/shopkeep@test.service\"", tmp, path), 0,
	       "systemd-analyze verify shopkeep@test.service");
	/* The unit's exposure as systemd-analyze scores it (lower is better):
	 * 1.6 before LimitCORE=0, ProcSubset=pid, PrivateUsers, PrivateMounts
	 * and SystemCallFilter=~@privileged @resources; 1.1 with them
	 * (systemd 252). What is left is the network (PrivateNetwork,
	 * IPAddressDeny, AF_INET/AF_UNIX), which the bot needs. */
	snprintf(cmd, sizeof(cmd), "timeout 60 systemd-analyze security --offline=true '%s/units/shopkeep@test.service' "
		 "2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \\([0-9][0-9.]*\\).*/\\1/p'", tmp);
	capture(cmd, got, sizeof(got));
	printf("# systemd-analyze security: %s\n", got[0] ? got : "?");
	ok(got[0] && strtod(got, NULL) <= 1.1, "systemd-analyze security --offline=true: exposure %s <= 1.1",
	   got[0] ? got : "unknown");
	text = slurp(path);
	ok(text && strstr(text, "LimitCORE=0") && strstr(text, "UMask=0077") &&
	   strstr(text, "SystemCallFilter=~@privileged @resources") && strstr(text, "ProcSubset=pid"),
	   "shopkeep@.service: no core files, umask 077, no privileged or resource syscalls, /proc subset");
	free(text);
}

/* DESTDIR=<tmp>/stage PREFIX=/opt/sk: files under the stage, the .pc still
 * says /opt/sk. */
static void test_destdir(void)
{
	char args[PATH_MAX + 64], path[PATH_MAX + 128], *text;

	snprintf(args, sizeof(args), "DESTDIR='%s/stage' PREFIX=/opt/sk", tmp);
	if (!ok(make_install(args) == 0, "make install DESTDIR=<tmp>/stage PREFIX=/opt/sk"))
		return;
	snprintf(path, sizeof(path), "%s/stage/opt/sk/include/shopkeep/plugin.h", tmp);
	ok(is_file(path, S_IRUSR), "the header under DESTDIR");
	snprintf(path, sizeof(path), "%s/stage/opt/sk/bin/shopkeep", tmp);
	ok(is_file(path, S_IXUSR), "the binary under DESTDIR");
	snprintf(path, sizeof(path), "%s/stage/opt/sk/lib/pkgconfig/shopkeep-plugin.pc", tmp);
	text = slurp(path);
	ok(text && strstr(text, "prefix=/opt/sk\n") && !strstr(text, "stage"), "the .pc names PREFIX, not DESTDIR");
	free(text);
}

int main(void)
{
	if (!ok(find_root() == 0, "the repository (SK_ROOT or the parent of SK_BUILD)"))
		return tap_done();
	snprintf(tmp, sizeof(tmp), "%s", "/tmp/sk_test_install.XXXXXX");
	if (!ok(mkdtemp(tmp) != NULL, "temp dir"))
		return tap_done();
	snprintf(logpath, sizeof(logpath), "%s/log", tmp);
	diag("repository %s%s, scratch %s", root, san ? " (SAN=1)" : "", tmp);
	test_prefix();
	test_destdir();
	rm_rf(tmp);
	ok(access(tmp, F_OK) != 0, "temp dir removed");
	return tap_done();
}
