/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/gen_corpus.c - writes the seeds of the payload and frame
 * fuzzers from the simulator's own item builders (tests/sim/sim_push.c), so
 * the seeds are the shapes the platform sends: every push kind, a card and
 * an update frame of every order status, typing, the three read receipts,
 * a /s/vulcan JSON item, and the frames around them.
 *
 *     make build/fuzz_gen && build/fuzz_gen tests/fuzz/corpus
 *
 * writes <dir>/payload/sim-<kind>.bin (an item's decoded data) and
 * <dir>/frame/sim-<kind>.json (the push frame that carries it). Run it again
 * when the simulator learns a new kind; the files are committed.
 */
#include "codec.h"
#include "sign.h"
#include "sim/sim.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNB "2200000000001"

static const char *out_dir;

/* Writes n bytes to <out_dir>/<sub>/<name>; exits on failure. */
static void put(const char *sub, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s/%s", out_dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* The push frame around one item, as the simulator frames pushes. */
static char *frame_of(const cJSON *item)
{
	cJSON *f = cJSON_CreateObject(), *h, *body, *pkg, *items;
	char *s;

	cJSON_AddStringToObject(f, "lwp", "/s/para");
	h = cJSON_AddObjectToObject(f, "headers");
	cJSON_AddStringToObject(h, "app-key", SIGN_IM_APPKEY);
	cJSON_AddStringToObject(h, "mid", "0000002a 0");
	cJSON_AddStringToObject(h, "ua", "Mozilla/5.0 DingTalk(2.1.5) DingWeb/2.1.5 IMPaaS");
	cJSON_AddStringToObject(h, "sid", "sid-1");
	body = cJSON_AddObjectToObject(f, "body");
	pkg = cJSON_AddObjectToObject(body, "syncPushPackage");
	cJSON_AddNumberToObject(pkg, "startSeq", 1);
	cJSON_AddNumberToObject(pkg, "endSeq", 2);
	items = cJSON_AddArrayToObject(pkg, "data");
	cJSON_AddItemToArray(items, cJSON_Duplicate(item, 1));
	cJSON_AddNumberToObject(pkg, "hasMore", 0);
	s = cJSON_PrintUnformatted(f);
	cJSON_Delete(f);
	return s;
}

/* Builds the item of spec and writes its payload and frame seeds as name. */
static void seed(sim_account *a, const char *name, const char *spec_json)
{
	cJSON *spec = cJSON_Parse(spec_json), *info = cJSON_CreateObject(), *it;
	const cJSON *d;
	unsigned char *bin;
	char err[160], file[160], *fr;
	size_t n = 0;

	it = spec ? sim_item_build(spec, a, info, err, sizeof err) : NULL;
	if (!it) {
		fprintf(stderr, "gen_corpus: %s: %s\n", spec_json, spec ? err : "bad spec");
		exit(1);
	}
	d = cJSON_GetObjectItemCaseSensitive(it, "data");
	bin = codec_b64_decode(d->valuestring, strlen(d->valuestring), &n);
	snprintf(file, sizeof file, "sim-%s.bin", name);
	put("payload", file, bin, n);
	fr = frame_of(it);
	snprintf(file, sizeof file, "sim-%s.json", name);
	put("frame", file, fr, strlen(fr));
	free(fr);
	free(bin);
	cJSON_Delete(it);
	cJSON_Delete(info);
	cJSON_Delete(spec);
}

/* Makes an order in a new chat (as POST /order does, without pushing). */
static sim_order *order(const char *id)
{
	sim_chat *ch = sim_chat_get(UNB, NULL, NULL, NULL, NULL);
	sim_order *o = calloc(1, sizeof *o);

	if (!ch || !o)
		exit(1);
	snprintf(o->id, sizeof o->id, "%s", id);
	snprintf(o->cid, sizeof o->cid, "%s", ch->cid);
	snprintf(o->seller, sizeof o->seller, "%s", UNB);
	snprintf(o->buyer, sizeof o->buyer, "%s", ch->buyer);
	snprintf(o->buyer_name, sizeof o->buyer_name, "%s", ch->buyer_name);
	snprintf(o->item_id, sizeof o->item_id, "%s", ch->item_id);
	o->quantity = 1;
	o->price = 990;
	snprintf(o->status, sizeof o->status, "placed");
	o->next = S.orders;
	S.orders = o;
	return o;
}

int main(int argc, char **argv)
{
	static const char *const kinds[][2] = {
		{"text", "{\"kind\":\"text\",\"text\":\"你好，在吗？price?\"}"},
		{"text-seller", "{\"kind\":\"text\",\"text\":\"好的\",\"from_seller\":true}"},
		{"text-mobile", "{\"kind\":\"text\",\"text\":\"多少钱\",\"mobile\":true}"},
		{"image", "{\"kind\":\"image\"}"},
		{"audio", "{\"kind\":\"audio\"}"},
		{"tip", "{\"kind\":\"tip\",\"text\":\"[注意！小心假客服骗钱！]\"}"},
		{"payment", "{\"kind\":\"payment\"}"},
		{"payment-closed", "{\"kind\":\"payment\",\"red\":\"交易关闭\"}"},
		{"typing", "{\"kind\":\"typing\"}"},
		{"receipt-1", "{\"kind\":\"receipt\",\"variant\":1}"},
		{"receipt-2", "{\"kind\":\"receipt\",\"variant\":2}"},
		{"receipt-3", "{\"kind\":\"receipt\",\"variant\":3}"},
		{"vulcan", "{\"kind\":\"vulcan\",\"text\":\"宝贝还在吗？\"}"},
	};
	sim_account *a;
	sim_order *o;
	char spec[256], name[64];
	size_t i;

	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: fuzz_gen CORPUS_DIR (with payload/ and frame/ in it)\n");
		return 2;
	}
	out_dir = argv[1];
	S.next_im = 3416565274542ull;
	S.next_cid = 47983389096ull;
	S.next_buyer = 2200000100001ull;
	S.next_order = 2503688126356636370ull;
	a = sim_account_get(UNB, 1);
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		seed(a, kinds[i][0], kinds[i][1]);
	o = order("2503688126356639001");
	snprintf(spec, sizeof spec, "{\"kind\":\"order_ctx\",\"order_id\":\"%s\"}", o->id);
	seed(a, "order_ctx", spec);
	for (i = 0; sim_order_statuses[i]; i++) {
		snprintf(spec, sizeof spec, "{\"kind\":\"card\",\"order_id\":\"%s\",\"status\":\"%s\"}", o->id,
			 sim_order_statuses[i]);
		snprintf(name, sizeof name, "card-%s", sim_order_statuses[i]);
		seed(a, name, spec);
		snprintf(spec, sizeof spec, "{\"kind\":\"update\",\"order_id\":\"%s\",\"status\":\"%s\"}", o->id,
			 sim_order_statuses[i]);
		snprintf(name, sizeof name, "update-%s", sim_order_statuses[i]);
		seed(a, name, spec);
	}
	sim_free_all();
	return 0;
}
