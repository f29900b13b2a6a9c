/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/autoreply_fixture.h - what the autoreply test programs share:
 * a rules file in a temporary directory, plugins/autoreply.so loaded into a
 * fake host, a buyer's text and the reply it got, core.reload, and the
 * plugin's rules_check called straight from the .so. Used by
 * tests/unit/test_autoreply.c and tests/unit/test_autoreply_regex.c.
 */
#ifndef SK_AUTOREPLY_FIXTURE_H
#define SK_AUTOREPLY_FIXTURE_H

#include "fakehost/fakehost.h"
#include "tap.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define NODEB "{\"autoreply\":{\"debounce_ms\":0}}"

static char tmpdir[256];
static char rules[300];

/* Writes text to the rules file; returns 1 on success. */
static inline int write_rules(const char *text)
{
	FILE *fp = fopen(rules, "w");

	if (!fp)
		return 0;
	fputs(text, fp);
	return fclose(fp) == 0;
}

/* Returns a fake host with autoreply.so loaded under sections and the rules
 * file (rules_path NULL: none), or NULL after reporting why. */
static inline fh *start(const char *sections, const char *rules_path)
{
	char so[512];
	fh *f = fh_new(sections, rules_path);

	if (!f)
		return NULL;
	if (fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) != 0) {
		diag("load: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

/* A buyer's text in chat about item (may be "") from buyer1 "Alice". */
static inline void say(fh *f, const char *chat, const char *item, const char *text)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.chat_id = chat;
	e.sender_id = "buyer1";
	e.sender_name = "Alice";
	e.item_id = item;
	e.text = text;
	fh_dispatch(f, &e);
}

/* The text of the last send, "" when there is none. */
static inline const char *last(fh *f)
{
	size_t n = fh_nsends(f);

	return n ? fh_send_at(f, n - 1)->text : "";
}

/* Sends one text and returns the reply it got ("" when none), clearing sends. */
static inline const char *ask(fh *f, const char *chat, const char *item, const char *text)
{
	static char buf[512];

	fh_clear_sends(f);
	say(f, chat, item, text);
	snprintf(buf, sizeof buf, "%s", fh_nsends(f) ? last(f) : "");
	if (fh_nsends(f) > 1)
		snprintf(buf, sizeof buf, "(%zu sends)", fh_nsends(f));
	return buf;
}

/* Dispatches core.reload as the core does on SIGHUP. */
static inline void reload(fh *f, const char *from)
{
	sk_event e = fh_event(f, SK_EV_PLUGIN);

	e.topic = "core.reload";
	e.payload_json = "{}";
	e.from_plugin = from;
	fh_dispatch(f, &e);
}

/* The problems of a rules document by the plugin's own rules_check, called
 * straight from the .so with no host and no init. Returns its rc (-2 when it
 * cannot be called), the lines in errs. */
static inline int direct_check(const char *json, size_t len, char *errs, size_t n)
{
	char so[512];
	void *h = dlopen(fh_build_path(so, sizeof so, "plugins/autoreply.so"), RTLD_NOW | RTLD_LOCAL);
	const sk_plugin_desc *d = h ? dlsym(h, "sk_plugin_entry") : NULL;
	int rc = d && d->abi_minor >= 2 && d->rules_check ? d->rules_check(json, len, errs, n) : -2;

	if (h)
		dlclose(h);
	return rc;
}

#endif
