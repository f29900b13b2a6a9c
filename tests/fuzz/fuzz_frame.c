/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_frame.c - libFuzzer target: one LWP text frame from the
 * platform, handled as core/session.c's handle_frame handles it.
 *
 * handle_frame and handle_push are static in session.c and tied to a live
 * connection, so this target runs the same steps on the exported pieces, in
 * the same order: codec_json_parse of the frame; for a frame that is not a
 * JSON object, the lenient cJSON_ParseWithLength and lwp_ack of its headers
 * (the ACK of an unreadable push); for a push ("lwp" a string), lwp_ack of
 * its headers and, under "/s/", every item of body.syncPushPackage.data
 * through event_from_push_item (the decoder and the events, as session.c);
 * for an answer, the lookups handle_response and send_answered make. Keep it
 * in step with session.c.
 *
 * Besides the sanitizers it checks that every ACK is a JSON object, with
 * code 200 and the push's mid when it had one as a string (for a readable
 * frame: one our own strict parser reads back, so valid UTF-8), and the event
 * invariants of tests/fuzz/fuzz.h.
 *
 * Seeds: tests/fuzz/corpus/frame/ (the simulator's push frames, written by
 * tests/fuzz/gen_corpus.c, server answers, and the crashes found so far).
 */
#include "codec.h"
#include "event.h"
#include "fuzz.h"
#include "lwp.h"

#define OWN_UNB "2200000000001"

/* Builds the ACK of headers (any JSON, or NULL) and checks it; strict: the
 * frame was valid UTF-8 (the ACK, a WebSocket text frame, always must be). */
static void ack_of(const cJSON *headers, int strict)
{
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(headers, "mid");
	char *ack = lwp_ack(headers);
	const cJSON *h;
	cJSON *a;

	FUZZ_CHECK(ack != NULL);
	a = strict ? codec_json_parse(ack, strlen(ack), NULL) : cJSON_Parse(ack);
	FUZZ_CHECK(cJSON_IsObject(a));
	FUZZ_CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "code")) == 200);
	h = cJSON_GetObjectItemCaseSensitive(a, "headers");
	FUZZ_CHECK(cJSON_IsObject(h) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(h, "mid")));
	/* the push's mid is echoed when it is text; one that is not UTF-8 (a frame
	 * only the fallback parse could read) gets a fresh one, and the ACK is
	 * valid UTF-8 either way */
	FUZZ_CHECK(codec_utf8_valid(ack, strlen(ack)));
	if (cJSON_IsString(mid) && codec_utf8_valid(mid->valuestring, strlen(mid->valuestring)))
		FUZZ_CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "mid")), mid->valuestring));
	cJSON_Delete(a);
	free(ack);
}

/* handle_push: every item of the push through the decoder and the events. */
static void push_of(const cJSON *f)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "body"), "syncPushPackage"), "data");
	const cJSON *it;

	cJSON_ArrayForEach(it, items) {
		const char *err;
		cJSON *tree;
		ev e;

		if (event_from_push_item(it, OWN_UNB, &e, &tree, &err)) {
			FUZZ_CHECK(err != NULL && tree == NULL);
			continue;
		}
		fuzz_check_event(&e, tree);
		cJSON_Delete(tree);
	}
}

/* handle_response and send_answered: the members they read, as they read them. */
static void answer_of(const cJSON *f)
{
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "headers"), "mid");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(f, "code");
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(f, "body");
	const cJSON *bmid = cJSON_GetObjectItemCaseSensitive(body, "messageId");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(body, "reason");
	char why[160];

	if (cJSON_IsString(mid))
		FUZZ_CHECK(mid->valuestring != NULL);
	if (cJSON_IsString(bmid))
		FUZZ_CHECK(bmid->valuestring != NULL);
	if (cJSON_IsString(reason))
		snprintf(why, sizeof why, "%s", reason->valuestring);
	else
		snprintf(why, sizeof why, "refused (code %d)", cJSON_IsNumber(code) ? code->valueint : -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *txt = (const char *)data, *err = NULL;
	cJSON *f = codec_json_parse(txt, size, &err);
	const cJSON *lwp;

	if (!cJSON_IsObject(f)) {
		FUZZ_CHECK(f || err);
		cJSON_Delete(f);
		f = cJSON_ParseWithLength(txt, size);
		lwp = cJSON_GetObjectItemCaseSensitive(f, "lwp");
		if (cJSON_IsString(lwp) && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(f, "headers")))
			ack_of(cJSON_GetObjectItemCaseSensitive(f, "headers"), 0);
		cJSON_Delete(f);
		return 0;
	}
	lwp = cJSON_GetObjectItemCaseSensitive(f, "lwp");
	if (cJSON_IsString(lwp)) {
		ack_of(cJSON_GetObjectItemCaseSensitive(f, "headers"), 1);
		if (!strncmp(lwp->valuestring, "/s/", 3))
			push_of(f);
	} else {
		answer_of(f);
	}
	cJSON_Delete(f);
	return 0;
}
