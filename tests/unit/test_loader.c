/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_loader.c - core/loader.c against the deliberately broken
 * plugins of tests/plugins/: each is rejected with a reason that names the
 * file, the problem and (for ABI mismatches) both versions; the good one
 * loads with the descriptor it declared; names are checked; close is clean.
 *
 * The plugins are found at $SK_BUILD/tests/plugins/<name>.so (SK_BUILD
 * defaults to "build").
 */
#include "tap.h"
#include "loader.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char plugdir[PATH_MAX];

/* The path of test plugin name (a static buffer, overwritten by the next call). */
static const char *plug(const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s.so", plugdir, name);
	return path;
}

/* Whether err holds every one of the NULL-terminated substrings; prints the
 * missing ones. Returns 1 or 0. */
static int has_all(const char *err, ...)
{
	va_list ap;
	const char *s;
	int all = 1;

	va_start(ap, err);
	while ((s = va_arg(ap, const char *)))
		if (!strstr(err, s)) {
			diag("missing \"%s\" in: %s", s, err);
			all = 0;
		}
	va_end(ap);
	return all;
}

/* Opens test plugin name (checked against want_name, may be NULL) and checks
 * that it is rejected: rc -1, o zeroed, one line that starts "plugin ",
 * names the file and holds every NULL-terminated substring. */
static void rejects(const char *name, const char *want_name, const char *what, ...)
{
	char err[512], path[PATH_MAX + 64];
	loader_obj o;
	va_list ap;
	const char *s;
	int rc, all = 1;

	snprintf(path, sizeof(path), "%s", plug(name));
	memset(&o, 0x5a, sizeof(o));
	rc = loader_open_file(path, want_name, &o, err, sizeof(err));
	is_int(rc, -1, "%s: rejected (%s)", name, what);
	ok(o.dl == NULL && o.desc == NULL && o.path[0] == '\0', "%s: the object is zeroed", name);
	ok(!strncmp(err, "plugin ", 7) && strstr(err, path) && !strchr(err, '\n'),
	   "%s: one line naming the file", name);
	va_start(ap, what);
	while ((s = va_arg(ap, const char *)))
		if (!strstr(err, s)) {
			diag("missing \"%s\"", s);
			all = 0;
		}
	va_end(ap);
	if (!ok(all, "%s: the reason says %s", name, what))
		diag("reason: %s", err);
	else
		diag("%s", err);
}

/* Copies file from to to; returns 0 or -1. */
static int copy_file(const char *from, const char *to)
{
	char buf[8192];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	int rc = in && out ? 0 : -1;

	while (!rc && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

/* good.so: loads through both entry points with the descriptor it declared. */
static void test_good(void)
{
	char err[512] = "x";
	loader_obj o, o2;
	const sk_plugin_desc *d;

	is_int(loader_open_file(plug("good"), "good", &o, err, sizeof(err)), 0, "good: loads");
	is_str(err, "", "good: no reason");
	d = o.desc;
	ok(o.dl != NULL && d != NULL, "good: handle and descriptor");
	if (!d)
		return;
	is_str(o.path, plug("good"), "good: path kept");
	is_int(d->abi_major, SK_ABI_MAJOR, "good: abi_major");
	is_int(d->abi_minor, SK_ABI_MINOR, "good: abi_minor");
	is_int(d->size, sizeof(sk_plugin_desc), "good: size");
	is_str(d->name, "good", "good: name");
	is_str(d->version, "1.2.3", "good: version");
	is_str(d->description, "a minimal valid plugin", "good: description");
	ok(d->init != NULL && d->fini == NULL, "good: init, no fini");
	ok(d->config_keys && d->config_keys[0].key && !strcmp(d->config_keys[0].key, "greeting") &&
	   d->config_keys[0].type == SK_CFG_STR && !strcmp(d->config_keys[1].key, "max_replies") &&
	   d->config_keys[1].type == SK_CFG_INT && d->config_keys[2].key == NULL, "good: config keys");
	ok(d->migrations && !strncmp(d->migrations[0], "CREATE TABLE good_", 18) && d->migrations[1] == NULL,
	   "good: migrations");

	/* dlopen counts references: a second open gives the same object, and
	 * closing one leaves the other usable. Uniqueness is the host's job. */
	is_int(loader_open_file(plug("good"), NULL, &o2, err, sizeof(err)), 0, "good: opens again, any name");
	ok(o2.desc == o.desc, "good: the same object both times (dlopen refcount)");
	loader_close(&o2);
	ok(o2.dl == NULL && o2.desc == NULL, "close zeroes the object");
	is_str(o.desc->name, "good", "good: still mapped after the other close");
	loader_close(&o);
	loader_close(&o);
	ok(o.dl == NULL, "a second close is harmless");

	is_int(loader_open(plugdir, "good", &o, err, sizeof(err)), 0, "loader_open(dir, \"good\")");
	ok(o.desc && !strcmp(o.desc->name, "good"), "loader_open: the descriptor");
	loader_close(&o);
}

/* Every broken plugin, each with the words its reason must hold. */
static void test_rejects(void)
{
	char v_new[16], v_old[16], v_minor[16];

	snprintf(v_new, sizeof(v_new), "%d.0", SK_ABI_MAJOR + 1);
	snprintf(v_old, sizeof(v_old), "%d.%d", SK_ABI_MAJOR, SK_ABI_MINOR);
	snprintf(v_minor, sizeof(v_minor), "%d.%d", SK_ABI_MAJOR, SK_ABI_MINOR + 1);

	rejects("wrong_major", "wrong_major", "both versions", "wrong_major", v_new, v_old, "rebuild",
		"plugins/plugin.h", NULL);
	rejects("newer_minor", "newer_minor", "both versions", v_minor, v_old, "newer", NULL);
	rejects("no_descriptor", "no_descriptor", "no sk_plugin_entry", "sk_plugin_entry", "SK_PLUGIN", NULL);
	rejects("small_size", "small_size", "the size", "size", "smaller", NULL);
	rejects("bad_name", NULL, "the bad name", "\"Bad-Name\"", "not valid", NULL);
	rejects("bad_name", "bad_name", "the bad name", "\"Bad-Name\"", "not valid", NULL);
	rejects("no_init", "no_init", "no init", "no init", NULL);
	rejects("bad_config_key", "bad_config_key", "the bad key", "\"Bad-Key\"", "config key", NULL);
	rejects("dup_config_key", "dup_config_key", "the duplicate", "\"reply\"", "twice", NULL);
	rejects("bad_config_type", "bad_config_type", "the bad type", "\"weird\"", "type", NULL);
	rejects("many_migrations", "many_migrations", "the limit", "migrations", "1000", NULL);
	rejects("missing_dep", "missing_dep", "dlopen's error and the usual cause", "dlopen", "sk_no_such_symbol",
		"missing dependency", NULL);
	rejects("good", "other", "the two names", "\"good\"", "\"other\"", NULL);
	rejects("no_such_plugin", "no_such_plugin", "no such file", "no such file", NULL);
}

/* loader_open on a file whose name is not the descriptor's: a copy of
 * good.so saved as renamed.so. */
static void test_renamed(void)
{
	char dir[] = "/tmp/sk_test_loader.XXXXXX", path[sizeof(dir) + 32], err[512];
	loader_obj o;

	if (!ok(mkdtemp(dir) != NULL, "temp dir"))
		return;
	snprintf(path, sizeof(path), "%s/renamed.so", dir);
	ok(copy_file(plug("good"), path) == 0, "good.so copied as renamed.so");
	is_int(loader_open(dir, "renamed", &o, err, sizeof(err)), -1, "loader_open(dir, \"renamed\"): rejected");
	ok(has_all(err, "plugin renamed", path, "\"good\"", "\"renamed\"", NULL), "the reason names both");
	diag("%s", err);
	unlink(path);
	rmdir(dir);
}

/* loader_core_command: every command of the core's command line is
 * reserved, since core/main.c runs its own before it looks among the
 * plugins' ("backup" was not, so a plugin's backup was never reached). */
static void test_core_commands(void)
{
	static const char *const core[] = { "run", "check", "help", "passwd", "secret", "status", "ctl", "backup" };
	static const char *const free_[] = { "stock", "orders", "backups", "", NULL };

	for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
		ok(loader_core_command(core[i]), "\"%s\" is the core's command", core[i]);
	for (size_t i = 0; i < sizeof(free_) / sizeof(free_[0]); i++)
		ok(!loader_core_command(free_[i]), "\"%s\" is free for a plugin", free_[i] ? free_[i] : "(null)");
}

/* loader_valid_name, and names checked before they reach a path. */
static void test_names(void)
{
	static const char *const good[] = { "a", "good", "auto_reply", "x9", "a_", "abcdefghijklmnopqrstuvwxyz012345" };
	static const char *const bad[] = { "", "Good", "1abc", "_a", "a-b", "a.b", "a b", "../good", "good/",
					   "abcdefghijklmnopqrstuvwxyz0123456", "caf\xc3\xa9" };
	char err[512];
	loader_obj o;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(loader_valid_name(good[i]), "valid name \"%s\"", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!loader_valid_name(bad[i]), "invalid name \"%s\"", bad[i]);
	ok(!loader_valid_name(NULL), "NULL is not a name");

	/* The name is checked before it becomes a path. */
	is_int(loader_open(plugdir, "../plugins/good", &o, err, sizeof(err)), -1, "loader_open: a path is no name");
	ok(has_all(err, "not a valid plugin name", NULL) && o.dl == NULL, "the reason says so");
	is_int(loader_open(plugdir, NULL, &o, err, sizeof(err)), -1, "loader_open: NULL name");
	is_int(loader_open_file(plug("good"), "Good", &o, err, sizeof(err)), -1, "loader_open_file: a bad name");
	ok(has_all(err, "not a valid plugin name", NULL), "the reason says so");
}

/* Small or missing err buffers, bad paths, close twice, bare file names. */
static void test_edges(void)
{
	char small[24], err[512], cwd[PATH_MAX];
	loader_obj o;

	memset(small, 'x', sizeof(small));
	is_int(loader_open_file(plug("wrong_major"), NULL, &o, small, sizeof(small)), -1, "a small err buffer");
	ok(memchr(small, '\0', sizeof(small)) != NULL && !strncmp(small, "plugin wrong_major", 18),
	   "the reason is cut and terminated");
	is_int(loader_open_file(plug("wrong_major"), NULL, &o, NULL, 0), -1, "no err buffer");
	is_int(loader_open_file("", NULL, &o, err, sizeof(err)), -1, "an empty path");
	is_int(loader_open_file(NULL, NULL, &o, err, sizeof(err)), -1, "a NULL path");
	memset(&o, 0, sizeof(o));
	loader_close(&o);
	loader_close(NULL);
	ok(1, "close of a zeroed object and of NULL");

	/* A bare file name means ./name, never a library path search. */
	if (getcwd(cwd, sizeof(cwd)) && chdir(plugdir) == 0) {
		is_int(loader_open_file("good.so", "good", &o, err, sizeof(err)), 0, "a bare file name is ./name");
		is_str(o.path, "./good.so", "the path kept is ./good.so");
		loader_close(&o);
		is_int(loader_open_file("libc.so.6", NULL, &o, err, sizeof(err)), -1,
		       "a bare library name does not search the library path");
		if (chdir(cwd) != 0)
			diag("chdir back failed");
	} else {
		ok(0, "chdir to the plugin dir");
	}
}

/* loader_open(dir, "good") is refused with every substring (NULL-ended) in
 * the reason; what names the case. */
static void unsafe(const char *dir, const char *what, ...)
{
	char err[1024];
	loader_obj o;
	va_list ap;
	const char *s;
	int all = 1;

	memset(&o, 0x5a, sizeof(o));
	is_int(loader_open(dir, "good", &o, err, sizeof(err)), -1, "%s: refused", what);
	ok(o.dl == NULL && o.desc == NULL, "%s: nothing loaded", what);
	va_start(ap, what);
	while ((s = va_arg(ap, const char *)))
		if (!strstr(err, s)) {
			diag("missing \"%s\"", s);
			all = 0;
		}
	va_end(ap);
	if (!ok(all && !strchr(err, '\n'), "%s: one line naming the path and the fix", what))
		diag("reason: %s", err);
	else
		diag("%s", err);
}

/* Code that someone else could have written is never loaded: a plugin or a
 * plugins folder writable by group or others, or owned by a user other
 * than root and this process's (that case needs root to chown: skipped
 * otherwise). A symlink does not hide the real file's folder. */
static void test_unsafe(void)
{
	char dir[] = "/tmp/sk_test_loader_perm.XXXXXX", other[] = "/tmp/sk_test_loader_other.XXXXXX";
	char path[64], fix[128], opath[64], err[1024];
	loader_obj o;

	if (!ok(mkdtemp(dir) != NULL && mkdtemp(other) != NULL, "temp dirs"))
		return;
	snprintf(path, sizeof(path), "%s/good.so", dir);
	ok(copy_file(plug("good"), path) == 0 && chmod(path, 0755) == 0 && chmod(dir, 0755) == 0,
	   "good.so copied into a 0755 folder, 0755");
	if (!ok(loader_open(dir, "good", &o, err, sizeof(err)) == 0, "it loads from there"))
		diag("%s", err);
	loader_close(&o);

	ok(chmod(path, 0666) == 0, "the plugin made 0666");
	snprintf(fix, sizeof(fix), "chmod go-w %s", path);
	unsafe(dir, "a 0666 plugin", path, "writable by group or others", "0666", fix, NULL);
	ok(chmod(path, 0775) == 0, "the plugin made 0775");
	unsafe(dir, "a group-writable plugin", path, "0775", fix, NULL);
	chmod(path, 0755);

	ok(chmod(dir, 0777) == 0, "the folder made 0777");
	snprintf(fix, sizeof(fix), "chmod go-w %s", dir);
	unsafe(dir, "a 0777 plugins folder", dir, "plugins folder", "0777", fix, NULL);
	ok(chmod(dir, 01777) == 0, "the folder made 1777 (like /tmp)");
	unsafe(dir, "a sticky world-writable plugins folder", dir, "1777", fix, NULL);
	chmod(dir, 0755);

	/* A symlink in a safe folder to a plugin in an unsafe one. */
	snprintf(opath, sizeof(opath), "%s/real.so", other);
	ok(rename(path, opath) == 0 && symlink(opath, path) == 0 && chmod(other, 0777) == 0,
	   "good.so a symlink to a plugin in a 0777 folder");
	snprintf(fix, sizeof(fix), "chmod go-w %s", other);
	unsafe(dir, "a symlink into a 0777 folder", other, "0777", fix, NULL);
	chmod(other, 0755);
	if (!ok(loader_open(dir, "good", &o, err, sizeof(err)) == 0, "once that folder is 0755 it loads"))
		diag("%s", err);
	loader_close(&o);
	unlink(path);
	ok(rename(opath, path) == 0, "the plugin back in place");

	if (geteuid() == 0) {
		ok(chown(path, 65534, 65534) == 0, "the plugin given to uid 65534 (nobody)");
		unsafe(dir, "a plugin of another user", path, "uid 65534", "chown root", NULL);
		ok(chown(path, 0, 0) == 0 && chown(dir, 65534, 65534) == 0, "the folder given to uid 65534");
		unsafe(dir, "a plugins folder of another user", dir, "uid 65534", "chown root", NULL);
		chown(dir, 0, 0);
		if (!ok(loader_open(dir, "good", &o, err, sizeof(err)) == 0, "root's again: it loads"))
			diag("%s", err);
		loader_close(&o);
	} else {
		skip("a plugin of another user (chown needs root)");
		skip("a plugins folder of another user (chown needs root)");
	}
	unlink(path);
	rmdir(dir);
	rmdir(other);
}

/* init_fails is a valid plugin as far as the loader can see: its init fails
 * only when the host runs it (the host tests check the cleanup). */
static void test_init_fails(void)
{
	char err[512];
	loader_obj o;

	is_int(loader_open_file(plug("init_fails"), "init_fails", &o, err, sizeof(err)), 0,
	       "init_fails: loads (its init fails later, in the host)");
	ok(o.desc && o.desc->init, "init_fails: has an init");
	loader_close(&o);
}

int main(void)
{
	const char *b = getenv("SK_BUILD");
	char rel[PATH_MAX];

	/* The copies below are made 0644 and 0755 whatever the caller's umask
	 * (a group-writable copy would be refused for that). */
	umask(022);
	snprintf(rel, sizeof(rel), "%s/tests/plugins", b && *b ? b : "build");
	if (!realpath(rel, plugdir)) {
		ok(0, "test plugins at %s (build them with make)", rel);
		return tap_done();
	}
	test_good();
	test_rejects();
	test_renamed();
	test_names();
	test_core_commands();
	test_edges();
	test_init_fails();
	test_unsafe();
	return tap_done();
}
