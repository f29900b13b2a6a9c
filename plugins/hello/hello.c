/* SPDX-License-Identifier: MIT */
/* plugins/hello/hello.c - the template to copy: replies to chat texts that say
 * "hello". Copy the folder, rename hello everywhere, see plugins/README.md. */
#include <strings.h>

#include "plugin.h"

/* Replies when the text contains "hello" in any case, and stops the chain. */
static int hello_on_text(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	for (const char *s = e->text; *s; s++) {
		if (strncasecmp(s, "hello", 5) == 0) {
			int rc = sk_reply(p, e, "hello! (from the hello plugin)", NULL, NULL, NULL);

			return rc < 0 ? rc : SK_STOP;  /* negative: the host logs it */
		}
	}
	return SK_PASS;
}

/* Runs once at load. SK_F_SKIP_OWN: not our own messages (nor our reply's echo). */
static int hello_init(sk_plugin *p)
{
	sk_filter f = { .flags = SK_F_SKIP_OWN };  /* copied by the host */

	return sk_subscribe(p, SK_MASK(SK_EV_CHAT_TEXT), &f, 0, hello_on_text, NULL, NULL, NULL);
}

SK_PLUGIN(.name = "hello", .version = "1.0", .description = "Replies to hello", .init = hello_init);
