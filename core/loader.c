/* SPDX-License-Identifier: MIT */
/*
 * core/loader.c - opens a plugin's shared object and checks its descriptor
 * before any plugin code runs (core/loader.h).
 *
 * The checks run in this order, so that the first reason given is the most
 * useful one:
 *
 *   0. Before anything is mapped: the file, its folder (and the real file's
 *      folder behind a symlink) belong to root or to this process's user and
 *      are not writable by group or others (loader_safe).
 *   1. dlopen(RTLD_NOW | RTLD_LOCAL). RTLD_NOW resolves every symbol up front,
 *      so a plugin linked against something absent fails here and not at its
 *      first call; RTLD_LOCAL keeps its symbols out of the global scope, so two
 *      plugins' helpers never bind to each other.
 *   2. dlsym(handle, "sk_plugin_entry"). A plugin built with
 *      -fvisibility=hidden that defined its descriptor without SK_EXPORT (that
 *      is, not with SK_PLUGIN) has no such dynamic symbol and lands here.
 *   3. The ABI: abi_major and abi_minor are the first members of every
 *      descriptor, past and future, so they are read before anything else and
 *      before trusting the rest of the layout.
 *   4. The size field, then (when the dynamic symbol table records it) the
 *      real size of the exported object, so nothing is read past its end.
 *   5. The name, init, version, the declared config keys and the migrations,
 *      and from a 1.1 descriptor on its commands (plugins/plugin.h, COMMANDS).
 *
 * Pointers in the descriptor come from the plugin's static initialisers and
 * point into loaded objects; a pointer that dladdr cannot place in any loaded
 * object is rejected instead of dereferenced. That is a sanity check, not a
 * proof: a wild pointer that happens to land in a mapped object still passes.
 */
#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"

/* The size of the 1.0 descriptor: everything up to migrations, then void
 * *spare[8]. Later minors only append or use spare slots (1.1 took two for
 * commands and command), so this never changes; it is spelled out from the
 * 1.0 layout because spare[] itself shrinks as slots are used. */
#define LOADER_DESC_SIZE_1_0 \
	(offsetof(sk_plugin_desc, migrations) + sizeof(const char *const *) + 8 * sizeof(void *))
#if SK_ABI_MAJOR == 1 && SK_ABI_MINOR <= 3
/* 1.3 only grew the host table (http_post): the descriptor is 1.2's. */
_Static_assert(LOADER_DESC_SIZE_1_0 == sizeof(sk_plugin_desc), "1.1 to 1.3 keep the 1.0 descriptor size");
_Static_assert(offsetof(sk_plugin_desc, commands) == offsetof(sk_plugin_desc, migrations) + sizeof(void *) &&
	       offsetof(sk_plugin_desc, rules_check) == offsetof(sk_plugin_desc, commands) + 2 * sizeof(void *) &&
	       offsetof(sk_plugin_desc, spare) == offsetof(sk_plugin_desc, rules_check) + sizeof(void *),
	       "commands, command and rules_check are the 1.0 descriptor's spare[0], [1] and [2]");
#endif

/* Enough of a descriptor to read abi_major, abi_minor and size. */
#define LOADER_DESC_HEAD (offsetof(sk_plugin_desc, size) + sizeof(size_t))

#define LOADER_NAME_MAX 32
#define LOADER_COMMAND_MAX 32
#define LOADER_KEY_MAX 64
#define LOADER_STR_MAX 4096
#define LOADER_LIST_MAX 1000

/* Formats "plugin <label> (<path>): <fmt...>" into err as a single line:
 * newlines (dlerror can hold anything) become spaces. */
static void loader_err(char *err, size_t errlen, const char *label, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void loader_err(char *err, size_t errlen, const char *label, const char *path, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	char *c;

	if (!err || !errlen)
		return;
	snprintf(err, errlen, "plugin %s (%s): ", label, path);
	n = strlen(err);
	if (n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	for (c = err; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

/* Whether p lies in some loaded object (the plugin, libc, ...): the best
 * cheap evidence that a descriptor pointer is readable. */
static int loader_mapped(const void *p)
{
	Dl_info info;

	return p && dladdr(p, &info) != 0;
}

/* The length of s if it is NUL-terminated within max bytes, else -1. Only
 * called on pointers loader_mapped accepted. */
static long loader_strlen(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	return n <= max ? (long)n : -1;
}

/* Copies a string for a message (a readable one: callers check plugin
 * pointers first): at most 40 bytes, anything that is not printable ASCII
 * shown as '?'. Returns out, or "(null)". */
static const char *loader_shown(const char *s, char *out, size_t outlen)
{
	size_t i;

	if (!s)
		return "(null)";
	for (i = 0; i + 1 < outlen && i < 40 && s[i]; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	return out;
}

/* Whether s is [a-z][a-z0-9_]* of 1..max bytes. */
static int loader_ident(const char *s, size_t max)
{
	size_t i;

	if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (i = 1; s[i]; i++) {
		if (i >= max)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return 1;
}

/* Returns 1 if s is a valid plugin name, else 0. */
int loader_valid_name(const char *s)
{
	return loader_ident(s, LOADER_NAME_MAX);
}

/* The core's own commands (core/commands.h): core/main.c never looks these
 * up among the plugins, so a plugin may not declare them. */
#define LOADER_CORE_NAME(name, args, help) #name,
static const char *const loader_core_commands[] = { CORE_CLI_COMMANDS(LOADER_CORE_NAME) NULL };
#undef LOADER_CORE_NAME

/* Returns 1 if s is one of the core's commands, else 0. */
int loader_core_command(const char *s)
{
	size_t i;

	for (i = 0; s && loader_core_commands[i]; i++)
		if (!strcmp(s, loader_core_commands[i]))
			return 1;
	return 0;
}

/* Whether s is [a-z][a-z0-9_-]* of 1..LOADER_COMMAND_MAX bytes: a word that
 * cannot be taken for an option or a path on the command line. */
static int loader_command_name(const char *s)
{
	size_t i;

	if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (i = 1; s[i]; i++) {
		if (i >= LOADER_COMMAND_MAX)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* The commands a descriptor declares: its commands member from 1.1 on (a
 * 1.0 descriptor's slot is spare and never read), NULL when none. */
const char *const *loader_commands(const sk_plugin_desc *d)
{
	return d && d->abi_minor >= 1 ? d->commands : NULL;
}

/* Returns 1 if the (checked) descriptor declares command cmd, else 0. */
int loader_has_command(const sk_plugin_desc *d, const char *cmd)
{
	const char *const *c = loader_commands(d);

	for (; c && *c && cmd; c++)
		if (!strcmp(*c, cmd))
			return 1;
	return 0;
}

/* The size the dynamic symbol table records for the object at addr, or 0
 * when unknown (no symbol size, or dladdr1 cannot tell). */
static size_t loader_symsize(const void *addr)
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;

	if (!dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || info.dli_saddr != addr)
		return 0;
	return sym->st_size;
}

/* Checks the declared config keys; returns NULL or a static reason with
 * the offending key in bad (shown form). */
static const char *loader_check_keys(const sk_config_key *keys, char *bad, size_t badlen)
{
	size_t n, j;

	snprintf(bad, badlen, "%s", "");
	if (!loader_mapped(keys))
		return "config_keys is not a readable pointer";
	for (n = 0; n < LOADER_LIST_MAX; n++) {
		const sk_config_key *k = &keys[n];

		if (!loader_mapped(k))
			return "config_keys runs off its object (no {NULL} end?)";
		if (!k->key)
			return NULL;
		snprintf(bad, badlen, "#%zu", n);
		if (!loader_mapped(k->key) || loader_strlen(k->key, LOADER_KEY_MAX) < 0)
			return "config key name is not a readable string";
		loader_shown(k->key, bad, badlen);
		if (!loader_ident(k->key, LOADER_KEY_MAX))
			return "config key name is not [a-z][a-z0-9_]* (at most 64 bytes)";
		if (k->type < SK_CFG_STR || k->type > SK_CFG_JSON)
			return "config key has an unknown type (want an sk_cfg_type)";
		if (k->help && (!loader_mapped(k->help) || loader_strlen(k->help, LOADER_STR_MAX) < 0))
			return "config key help is not a readable string";
		for (j = 0; j < n; j++)
			if (!strcmp(keys[j].key, k->key))
				return "config key is declared twice";
	}
	snprintf(bad, badlen, "%s", "");
	return "config_keys has no {NULL} end within 1000 entries";
}

/* Checks the migrations array as far as possible (NULL-terminated within
 * LOADER_LIST_MAX readable strings); returns NULL or a static reason. */
static const char *loader_check_migrations(const char *const *m)
{
	size_t n;

	if (!loader_mapped(m))
		return "migrations is not a readable pointer";
	for (n = 0; n < LOADER_LIST_MAX; n++) {
		if (!loader_mapped(&m[n]))
			return "migrations runs off its object (no NULL end?)";
		if (!m[n])
			return NULL;
		if (!loader_mapped(m[n]))
			return "a migration is not a readable string";
	}
	return "migrations has no NULL end within 1000 steps";
}

/* Checks the command names (a 1.1 descriptor's commands): NULL-terminated
 * readable strings, each a valid command name, not one of the core's, and
 * none twice. Returns NULL or a static reason with the offending name in bad
 * (shown form). */
static const char *loader_check_commands(const char *const *c, char *bad, size_t badlen)
{
	size_t n, j;

	snprintf(bad, badlen, "%s", "");
	if (!loader_mapped(c))
		return "commands is not a readable pointer";
	for (n = 0; n < LOADER_LIST_MAX; n++) {
		if (!loader_mapped(&c[n]))
			return "commands runs off its object (no NULL end?)";
		if (!c[n])
			return n ? NULL : "commands lists no command (leave it and command NULL instead)";
		snprintf(bad, badlen, "#%zu", n);
		if (!loader_mapped(c[n]) || loader_strlen(c[n], LOADER_STR_MAX) < 0)
			return "a command name is not a readable string";
		loader_shown(c[n], bad, badlen);
		if (!loader_command_name(c[n]))
			return "command name is not [a-z][a-z0-9_-]* (at most 32 bytes)";
		if (loader_core_command(c[n]))
			return "command name is one of the core's own commands (run, check, help, passwd, secret, "
			       "status)";
		for (j = 0; j < n; j++)
			if (!strcmp(c[j], c[n]))
				return "command is declared twice";
	}
	snprintf(bad, badlen, "%s", "");
	return "commands has no NULL end within 1000 names";
}

/* Runs every descriptor check on d (exported by the object at path, whose
 * ELF symbol is symsize bytes, 0 if unknown). Returns 0, or -1 with the
 * reason in err. label names the plugin in messages until its own name is
 * known good. */
static int loader_check(const sk_plugin_desc *d, size_t symsize, const char *path, const char *name,
			const char *label, char *err, size_t errlen)
{
	char shown[48], bad[48];
	const char *why;

	if (symsize && symsize < LOADER_DESC_HEAD) {
		loader_err(err, errlen, label, path, "sk_plugin_entry is %zu bytes, too small for a descriptor; "
			   "define it with SK_PLUGIN", symsize);
		return -1;
	}
	if (d->abi_major != SK_ABI_MAJOR) {
		loader_err(err, errlen, label, path, "ABI %u.%u but this host is %d.%d; rebuild it against plugins/plugin.h",
			   (unsigned)d->abi_major, (unsigned)d->abi_minor, SK_ABI_MAJOR, SK_ABI_MINOR);
		return -1;
	}
	if (d->abi_minor > SK_ABI_MINOR) {
		loader_err(err, errlen, label, path,
			   "ABI %u.%u is newer than this host's %d.%d; upgrade shopkeep or rebuild it against "
			   "plugins/plugin.h", (unsigned)d->abi_major, (unsigned)d->abi_minor, SK_ABI_MAJOR,
			   SK_ABI_MINOR);
		return -1;
	}
	if (d->size < LOADER_DESC_SIZE_1_0) {
		loader_err(err, errlen, label, path,
			   "descriptor size %zu is smaller than the %d.0 descriptor (%zu bytes); define it with "
			   "SK_PLUGIN", d->size, SK_ABI_MAJOR, (size_t)LOADER_DESC_SIZE_1_0);
		return -1;
	}
	if (symsize && symsize < d->size) {
		loader_err(err, errlen, label, path, "descriptor says %zu bytes but sk_plugin_entry is %zu bytes",
			   d->size, symsize);
		return -1;
	}
	if (!d->name) {
		loader_err(err, errlen, label, path, "descriptor has no name");
		return -1;
	}
	if (!loader_mapped(d->name) || loader_strlen(d->name, LOADER_STR_MAX) < 0) {
		loader_err(err, errlen, label, path, "descriptor name is not a readable string");
		return -1;
	}
	if (!loader_valid_name(d->name)) {
		loader_err(err, errlen, label, path, "name \"%s\" is not valid ([a-z][a-z0-9_]*, at most %d bytes)",
			   loader_shown(d->name, shown, sizeof(shown)), LOADER_NAME_MAX);
		return -1;
	}
	if (name && strcmp(d->name, name)) {
		loader_err(err, errlen, label, path, "descriptor names it \"%s\", not \"%s\"; the file must be "
			   "<name>.so", d->name, name);
		return -1;
	}
	/* From here on the plugin's own name is good and says more. */
	label = d->name;
	if (!d->init) {
		loader_err(err, errlen, label, path, "descriptor has no init function");
		return -1;
	}
	if (!d->version || !loader_mapped(d->version) || loader_strlen(d->version, LOADER_STR_MAX) <= 0) {
		loader_err(err, errlen, label, path, "descriptor has no version string");
		return -1;
	}
	if (d->description && (!loader_mapped(d->description) || loader_strlen(d->description, LOADER_STR_MAX) < 0)) {
		loader_err(err, errlen, label, path, "description is not a readable string");
		return -1;
	}
	if (d->config_keys && (why = loader_check_keys(d->config_keys, bad, sizeof(bad)))) {
		loader_err(err, errlen, label, path, "%s%s%s%s", why, *bad ? " (\"" : "", bad, *bad ? "\")" : "");
		return -1;
	}
	if (d->migrations && (why = loader_check_migrations(d->migrations))) {
		loader_err(err, errlen, label, path, "%s", why);
		return -1;
	}
	/* 1.1: a 1.0 descriptor's slots are spare, whatever they hold. */
	if (d->abi_minor >= 1) {
		if (d->commands && !d->command) {
			loader_err(err, errlen, label, path, "descriptor has commands but no command function");
			return -1;
		}
		if (d->command && !d->commands) {
			loader_err(err, errlen, label, path, "descriptor has a command function but no commands");
			return -1;
		}
		if (d->commands && (why = loader_check_commands(d->commands, bad, sizeof(bad)))) {
			loader_err(err, errlen, label, path, "%s%s%s%s", why, *bad ? " (\"" : "", bad,
				   *bad ? "\")" : "");
			return -1;
		}
	}
	return 0;
}

/* The label for messages before the descriptor is trusted: the expected
 * name, else the file's name without directory and ".so". Returns out. */
static const char *loader_label(const char *path, const char *name, char *out, size_t outlen)
{
	const char *base = strrchr(path, '/');
	size_t n;

	if (name)
		return name;
	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 3 && !strcmp(base + n - 3, ".so"))
		n -= 3;
	snprintf(out, outlen, "%.*s", (int)(n < outlen ? n : outlen - 1), base);
	return out;
}

/* Whether the file or folder path (followed if a symlink) is safe to load
 * code from: owned by root or by this process's user (euid) and not
 * writable by group or others. Whoever else could write it could run code
 * as the account (which holds the cookie, the IM token and the card codes).
 * what is "plugin" or "plugins folder". Returns 0, or -1 with the reason,
 * the path and the fix in err. */
static int loader_safe_one(const char *path, const char *what, const char *label, const char *shown_path,
			   char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		loader_err(err, errlen, label, shown_path, "cannot check the %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		loader_err(err, errlen, label, shown_path, "the %s %s belongs to uid %d, neither root nor this "
			   "process's user (uid %d): its owner could run code as this account; not loaded. Fix it: "
			   "chown root %s (or install it as root)", what, path, (int)st.st_uid, (int)geteuid(), path);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		loader_err(err, errlen, label, shown_path, "the %s %s is writable by group or others (mode %04o): "
			   "they could run code as this account; not loaded. Fix it: chmod go-w %s", what, path,
			   (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* The checks of loader_safe_one before dlopen: on the file at path, on the
 * folder that holds it (the plugins folder: who can write there can put in
 * a plugin of their own), and when path leads through symlinks on the real
 * file's folder too. Returns 0 or -1 with the reason in err. */
static int loader_safe(const char *path, const char *label, char *err, size_t errlen)
{
	char dir[PATH_MAX], real[PATH_MAX], *slash;

	if (loader_safe_one(path, "plugin", label, path, err, errlen))
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (loader_safe_one(dir, "plugins folder", label, path, err, errlen))
		return -1;
	if (!realpath(path, real)) {
		loader_err(err, errlen, label, path, "cannot check the plugin %s: %s", path, strerror(errno));
		return -1;
	}
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return strcmp(real, dir) ? loader_safe_one(real, "plugins folder", label, path, err, errlen) : 0;
}

/* Opens path and checks its descriptor; see core/loader.h. Returns 0 with o
 * filled, or -1 with o zeroed and the reason in err. */
int loader_open_file(const char *path, const char *name, loader_obj *o, char *err, size_t errlen)
{
	char label[64], shown[48];
	const sk_plugin_desc *d;
	struct stat st;
	const char *lbl;
	void *dl;
	int n;

	memset(o, 0, sizeof(*o));
	if (err && errlen)
		err[0] = '\0';
	if (!path || !*path) {
		loader_err(err, errlen, name ? name : "?", "", "no file given");
		return -1;
	}
	lbl = loader_label(path, name, label, sizeof(label));
	if (name && !loader_valid_name(name)) {
		loader_err(err, errlen, loader_shown(name, shown, sizeof(shown)), path,
			   "not a valid plugin name ([a-z][a-z0-9_]*, at most %d bytes)", LOADER_NAME_MAX);
		return -1;
	}
	/* Without a slash dlopen would search the library path: never do that. */
	n = snprintf(o->path, sizeof(o->path), "%s%s", strchr(path, '/') ? "" : "./", path);
	if (n < 0 || (size_t)n >= sizeof(o->path)) {
		memset(o, 0, sizeof(*o));
		loader_err(err, errlen, lbl, path, "path longer than %zu bytes", sizeof(o->path) - 1);
		return -1;
	}
	/* Name the common mistake plainly instead of through dlerror. */
	if (stat(o->path, &st) != 0) {
		loader_err(err, errlen, lbl, path, "no such file");
		memset(o, 0, sizeof(*o));
		return -1;
	}
	/* Nothing of a file someone else could have written runs. */
	if (loader_safe(o->path, lbl, err, errlen)) {
		memset(o, 0, sizeof(*o));
		return -1;
	}
	dlerror();
	dl = dlopen(o->path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *e = dlerror();
		size_t pl = strlen(o->path);

		/* glibc says "<path>: <what>"; the path is in the message already. */
		if (e && !strncmp(e, o->path, pl) && !strncmp(e + pl, ": ", 2))
			e += pl + 2;
		loader_err(err, errlen, lbl, path, "dlopen failed: %s (a missing dependency - an undefined symbol "
			   "or a library not found - is the usual cause)", e ? e : "unknown error");
		memset(o, 0, sizeof(*o));
		return -1;
	}
	dlerror();
	d = dlsym(dl, "sk_plugin_entry");
	if (!d) {
		loader_err(err, errlen, lbl, path, "no exported sk_plugin_entry (not a shopkeep plugin, or the "
			   "descriptor was not defined with SK_PLUGIN)");
		dlclose(dl);
		memset(o, 0, sizeof(*o));
		return -1;
	}
	if (loader_check(d, loader_symsize(d), path, name, lbl, err, errlen) != 0) {
		dlclose(dl);
		memset(o, 0, sizeof(*o));
		return -1;
	}
	o->dl = dl;
	o->desc = d;
	return 0;
}

/* Opens <dir>/<name>.so; see core/loader.h. Returns 0 or -1 with the reason
 * in err. The name is checked before it becomes part of a path, so "../x"
 * never reaches the file system. */
int loader_open(const char *dir, const char *name, loader_obj *o, char *err, size_t errlen)
{
	char path[sizeof(o->path)], shown[48];
	int n;

	memset(o, 0, sizeof(*o));
	if (!loader_valid_name(name)) {
		loader_err(err, errlen, loader_shown(name, shown, sizeof(shown)), dir ? dir : "",
			   "not a valid plugin name ([a-z][a-z0-9_]*, at most %d bytes)", LOADER_NAME_MAX);
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/%s.so", dir && *dir ? dir : ".", name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		loader_err(err, errlen, name, dir, "path longer than %zu bytes", sizeof(path) - 1);
		return -1;
	}
	return loader_open_file(path, name, o, err, errlen);
}

/* Unloads the object (if any) and zeroes o; safe on a zeroed or closed o. */
void loader_close(loader_obj *o)
{
	if (!o)
		return;
	if (o->dl)
		dlclose(o->dl);
	memset(o, 0, sizeof(*o));
}
