/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_config.c - libFuzzer target: an account's config file,
 * through config_parse (core/config.c) as config_load reads it, and the
 * input as a cookie string through config_cookie_check.
 *
 * Relative paths in the config resolve against an empty temporary folder,
 * so cookie_file, cookie_secret and key_file mostly name nothing; absolute
 * ones are read (never written): run it with stdin from /dev/null, as make
 * fuzz and test_fuzz do, or a "/dev/stdin" cookie_file waits for input.
 *
 * Besides the sanitizers it checks that a config that fails has an error
 * line, one that passes has the fields config.h promises (account id, cookie,
 * unb, a port when the web page is on), and config_free leaves nothing.
 *
 * Seeds: tests/fuzz/corpus/config/ (config/demo.json with its placeholders
 * filled, the shapes tests/unit/test_config.c uses, and the crashes found so
 * far); tests/fuzz/config.dict has the keys.
 */
#include "config.h"
#include "fuzz.h"
#include "log.h"

#include <unistd.h>

static char dir[] = "/tmp/sk-fuzz-config-XXXXXX";

static void cleanup(void)
{
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level("error");
	if (!mkdtemp(dir))
		return -1;
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *unb = NULL;
	sbuf errs = {0};
	config c;
	int rc;

	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&c, 0, sizeof c);
	rc = config_parse(text, dir, &c, &errs);
	if (rc)
		FUZZ_CHECK(errs.oom || (errs.p && errs.len > 0));
	else
		/* no cookie yet is valid (issue 20: it waits for a login); a cookie has its unb */
		FUZZ_CHECK(c.account_id && (c.cookie ? c.unb && c.unb[0] : !c.unb) &&
			   (c.web_port > 0 || !strcmp(c.web_listen, "off")));
	config_free(&c);
	sbuf_free(&errs);
	if (!config_cookie_check(text, &unb))
		FUZZ_CHECK(unb && unb[0]);
	else
		FUZZ_CHECK(!unb);
	free(unb);
	free(text);
	return 0;
}
