/* SPDX-License-Identifier: MIT */
/*
 * core/loader.h - opens a plugin's shared object and checks its descriptor
 * before any plugin code runs (plugins/plugin.h, LIFECYCLE).
 */
#ifndef SK_LOADER_H
#define SK_LOADER_H

#include <stddef.h>

#include "../plugins/plugin.h"

typedef struct {
	void *dl;                        /* dlopen handle */
	const sk_plugin_desc *desc;      /* borrowed from the object: valid until loader_close */
	char path[512];
} loader_obj;

/* Opens <dir>/<name>.so with dlopen(RTLD_NOW | RTLD_LOCAL) and checks the
 * exported `sk_plugin_entry`: present; abi_major == SK_ABI_MAJOR; abi_minor <=
 * SK_ABI_MINOR; size >= the 1.0 descriptor size; name a valid identifier
 * ([a-z][a-z0-9_]*, at most 32 bytes) equal to `name`; init present; every
 * declared config key valid; version a non-empty string; for a 1.1 descriptor,
 * commands and command both set or both NULL, every command name
 * [a-z][a-z0-9_-]* (at most 32 bytes), declared once and not one of the
 * core's (loader_core_command). Nothing of the plugin
 * runs (its constructors aside: RTLD_NOW runs ELF constructors, a documented
 * limit). Returns 0, or -1 with a one-line reason in err that names the file,
 * the problem and, for ABI mismatches, both versions (for a dlopen failure it
 * adds that a missing dependency is the usual cause). */
int loader_open(const char *dir, const char *name, loader_obj *o, char *err, size_t errlen);
/* The same for an explicit file (tests, the fake host): name may be NULL to
 * accept whatever valid name the descriptor has. */
int loader_open_file(const char *path, const char *name, loader_obj *o, char *err, size_t errlen);
void loader_close(loader_obj *o);

/* Whether s is a valid plugin name. */
int loader_valid_name(const char *s);

/* Whether s is one of the core's own commands (run, check, help, passwd,
 * secret, status), which no plugin may declare. */
int loader_core_command(const char *s);
/* The command names a checked descriptor declares (NULL-terminated), NULL
 * when none; a 1.0 descriptor has none (its slot is spare and never read). */
const char *const *loader_commands(const sk_plugin_desc *d);
/* Whether a checked descriptor declares command cmd. */
int loader_has_command(const sk_plugin_desc *d, const char *cmd);

#endif
