/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_helloctl.c - plugins/helloctl through the fake host: the
 * control command answers with its data and a call count, refuses empty data
 * with the plugin's error text, and is gone after unload.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

int main(void)
{
	char so[512];
	const char *out;
	fh *f = fh_new("{\"helloctl\":{}}", NULL);

	if (!ok(f != NULL, "fake host created"))
		return tap_done();
	fh_build_path(so, sizeof so, "plugins/helloctl.so");
	if (!ok(fh_load(f, so, NULL) == 0, "helloctl.so loads")) {
		diag("%s: %s", so, fh_error(f));
		fh_free(f);
		return tap_done();
	}
	is_int(fh_control(f, "hello_echo", "{\"a\":[1,\"x\"]}", &out), SK_OK, "hello_echo answers");
	is_str(out, "{\"calls\":1,\"echo\":{\"a\":[1,\"x\"]}}", "with the data and the call count");
	is_int(fh_control(f, "hello_echo", "7", &out), SK_OK, "any JSON value is echoed");
	is_str(out, "{\"calls\":2,\"echo\":7}", "the count goes on");
	is_int(fh_control(f, "hello_echo", NULL, &out), SK_ERR_INVAL, "no data (\"{}\") is refused: SK_ERR_INVAL");
	is_str(out, "give some data to echo", "with the plugin's error text");
	is_int(fh_log_find(f, "not JSON"), 0, "no bad result logged");

	fh_unload(f);
	is_int(fh_control(f, "hello_echo", "1", &out), SK_ERR_NOTFOUND, "after unload the command is gone");
	fh_free(f);
	return tap_done();
}
