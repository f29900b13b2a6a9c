/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_payload.c - libFuzzer target: one push item's payload,
 * decoded the way core/session.c's handle_push does it.
 *
 * The input is the bytes inside an item's base64 `data` (MessagePack, or
 * UTF-8 JSON text for /s/vulcan items). It is base64'd and goes through
 * codec_decode_item, then event_from_item for each objectType the event code
 * treats apart (a chat item 40000, typing 40006, read 40103), then what the
 * session and the web page do with an event: event_json, feed_event_line,
 * convo_note_event (the conversation store, on a database in memory). The input is also tried as the
 * base64 text itself and straight through codec_msgpack_to_json and
 * codec_json_parse.
 *
 * Besides the sanitizers it checks: a decoded tree prints, a MessagePack
 * decode and the item decode agree, and every event string is terminated
 * inside its storage (tests/fuzz/fuzz.h).
 *
 * Seeds: tests/fuzz/corpus/payload/ (the simulator's items of every kind,
 * written by tests/fuzz/gen_corpus.c, and the crashes found so far).
 */
#include "codec.h"
#include "convo.h"
#include "event.h"
#include "feed.h"
#include "fuzz.h"

#define OWN_UNB "2200000000001"

static convo *cv;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static config cfg;
	char err[256];
	store *st = store_open(":memory:", err, sizeof err);

	(void)argc;
	(void)argv;
	cfg.chats_store = 1;
	cv = st ? convo_new(st, &cfg) : NULL;
	return cv ? 0 : -1;
}

/* Makes the events of tree as the session would, and checks them. */
static void events_of(const cJSON *tree, int plain)
{
	static const int objs[] = {EV_OBJ_CHAT, EV_OBJ_TYPING, EV_OBJ_READ};
	char oid[40];
	size_t i;

	for (i = 0; i < sizeof objs / sizeof objs[0]; i++) {
		ev e;
		char *line;

		event_from_item(tree, objs[i], plain, OWN_UNB, &e);
		fuzz_check_event(&e, tree);
		line = feed_event_line(&e);
		free(line);
		convo_note_event(cv, &e);
	}
	if (!event_order_id(tree, oid, sizeof oid))
		FUZZ_CHECK(oid[0] && !oid[strspn(oid, "0123456789")]);
}

/* Checks that two trees print the same (cJSON_Compare fails on NaN). */
static void same_tree(const cJSON *a, const cJSON *b)
{
	char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);

	FUZZ_CHECK(ta && tb && !strcmp(ta, tb));
	free(ta);
	free(tb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *err = NULL;
	codec_kind kind = CODEC_NONE;
	char *b64 = codec_b64_encode(data, size), *txt;
	cJSON *tree, *mp;

	FUZZ_CHECK(b64 != NULL);
	tree = codec_decode_item(b64, strlen(b64), &kind, &err);
	free(b64);
	FUZZ_CHECK(tree ? kind != CODEC_NONE : kind == CODEC_NONE && err != NULL);
	if (tree) {
		txt = cJSON_PrintUnformatted(tree);
		FUZZ_CHECK(txt != NULL);
		free(txt);
		events_of(tree, kind == CODEC_JSON);
	}
	/* The same bytes as MessagePack: when the item decoder chose MessagePack,
	 * it must have got the same answer. */
	mp = codec_msgpack_to_json(data, size, &err);
	if (kind == CODEC_MSGPACK) {
		FUZZ_CHECK(mp != NULL);
		same_tree(mp, tree);
	} else if (!tree && mp) {
		/* Only bytes that look like JSON are not tried as MessagePack. */
		size_t i = 0;

		while (i < size && strchr(" \t\r\n", data[i]) && data[i])
			i++;
		FUZZ_CHECK(i < size && (data[i] == '{' || data[i] == '['));
	}
	cJSON_Delete(mp);
	cJSON_Delete(tree);

	/* The bytes as the base64 text of an item (what a hostile frame sends). */
	tree = codec_decode_item((const char *)data, size, &kind, &err);
	if (tree)
		events_of(tree, kind == CODEC_JSON);
	cJSON_Delete(tree);
	tree = codec_json_parse((const char *)data, size, &err);
	cJSON_Delete(tree);
	return 0;
}
