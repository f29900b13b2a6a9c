/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz.h - what the libFuzzer targets of tests/fuzz share: the
 * entry point's prototype, an invariant check that crashes (so libFuzzer
 * keeps the input), and the checks every decoded event must pass.
 */
#ifndef SK_FUZZ_H
#define SK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant that does not hold is a finding: abort with where. */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		fflush(stderr); \
		abort(); \
	} \
} while (0)

/* Checks what event.h promises of e (made from tree): every string non-NULL and
 * NUL-terminated (inside e->buf when it points there), e->used within the
 * buffer, raw the tree; and that its JSON line prints. */
static inline void fuzz_check_event(const ev *e, const cJSON *tree)
{
	const char *const s[] = {e->chat_id, e->sender_id, e->sender_name, e->text, e->item_id,
				 e->message_id, e->im_id, e->order_id, e->image_url, e->red_reminder};
	cJSON *j;
	char *txt;
	size_t i;

	FUZZ_CHECK(e->used <= sizeof e->buf);
	FUZZ_CHECK(e->raw == tree);
	for (i = 0; i < sizeof s / sizeof s[0]; i++) {
		FUZZ_CHECK(s[i] != NULL);
		if (s[i] >= e->buf && s[i] < e->buf + sizeof e->buf)
			FUZZ_CHECK(memchr(s[i], '\0', (size_t)(e->buf + sizeof e->buf - s[i])) != NULL);
		else
			(void)strlen(s[i]);   /* ASan: a string in the tree must be terminated */
	}
	FUZZ_CHECK(e->order_id[strspn(e->order_id, "0123456789")] == '\0');
	j = event_json(e);
	txt = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	free(txt);
}

#endif
