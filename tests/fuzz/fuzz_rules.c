/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_rules.c - libFuzzer target: a rules file (the document the
 * web page's PUT /api/rules sends), through the rules_check of the
 * autoreply and orders plugins' descriptors, as host_rules_check calls them.
 *
 * Both plugins are compiled into this program (the Makefile renames each
 * descriptor to sk_plugin_entry_<name>); rules_check is pure (plugin.h: it
 * must not call the host), so no host is needed. Each check runs twice: with
 * the host's error buffer (4096 bytes) and with a 16-byte one, where lines
 * that do not fit are left out.
 *
 * Besides the sanitizers it checks the rules_check contract: 0 or -1, errs
 * NUL-terminated within errlen, empty on 0 and (with the host's buffer) not
 * empty on -1, and the same verdict with either buffer.
 *
 * Seeds: tests/fuzz/corpus/rules/ (config/rules.example.json, the shapes the
 * plugin tests use, and the crashes found so far); tests/fuzz/rules.dict has
 * the keys.
 */
#include "plugin.h"
#include "fuzz.h"

extern const sk_plugin_desc sk_plugin_entry_autoreply;
extern const sk_plugin_desc sk_plugin_entry_orders;

/* Runs one plugin's rules_check with an errlen-byte buffer; returns its verdict. */
static int check(const sk_plugin_desc *d, const uint8_t *data, size_t size, size_t errlen)
{
	char errs[4096 + 1];
	int rc;

	errs[errlen] = 'x';
	memset(errs, 'x', errlen);
	rc = d->rules_check((const char *)data, size, errs, errlen);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(errs[errlen] == 'x' && memchr(errs, '\0', errlen));
	/* A line that does not fit a small buffer is left out whole. */
	FUZZ_CHECK(rc == 0 ? errs[0] == '\0' : errs[0] != '\0' || errlen < 4096);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const sk_plugin_desc *const plugins[] = {&sk_plugin_entry_autoreply, &sk_plugin_entry_orders};
	size_t i;

	for (i = 0; i < sizeof plugins / sizeof plugins[0]; i++) {
		FUZZ_CHECK(plugins[i]->rules_check != NULL);
		FUZZ_CHECK(check(plugins[i], data, size, 4096) == check(plugins[i], data, size, 16));
	}
	return 0;
}
