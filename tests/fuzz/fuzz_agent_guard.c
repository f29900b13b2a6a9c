/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_agent_guard.c - libFuzzer target: a model's answer (any
 * bytes, UTF-8 or not) through the agent plugin's guard
 * (plugins/agent/agent_guard.c, pure functions linked in), with a floor and
 * a list price taken from the input's first bytes.
 *
 * Besides the sanitizers it checks the guard's contract: the verdict is one
 * of AG_V_*, the detail is NUL-terminated and never holds a whole phone
 * number, lowest_fen is -1 or an amount, below_floor means lowest < floor and
 * ok means no amount below the floor; the guard's lowest amount is the
 * lowest agent_money_scan finds (in an answer of AG_ANSWER_MAX bytes at
 * most); the same answer gets the same verdict; agent_cn_number uses no more
 * than it was given; what agent_yuan_parse accepts agent_yuan_fmt gives back
 * and it parses again to the same fen.
 *
 * Seeds: tests/fuzz/corpus/agent_guard/ (answers of the unit test's kinds);
 * tests/fuzz/agent_guard.dict has the words the guard looks for.
 */
#include "agent/agent_int.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const banned[] = {"QQ", "闲鱼币"};
	ag_guard_in g = {-1, -1, 0, banned, 2};
	ag_verdict v, w;
	int64_t fen[64], low = -1, f2;
	size_t n, i, used;
	char *s, buf[32];

	if (size < 2)
		return 0;
	/* the first two bytes: a floor and a price (or none), a length cap */
	g.floor_fen = data[0] & 1 ? (int64_t)(data[0] >> 1) * 1000 : -1;
	g.price_fen = data[1] & 1 ? (int64_t)(data[1] >> 1) * 2000 : -1;
	g.max_chars = data[1] & 2 ? 200 : 0;
	data += 2;
	size -= 2;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	FUZZ_CHECK(agent_guard(&g, s, &v) == v.verdict);
	FUZZ_CHECK(v.verdict >= AG_V_OK && v.verdict <= AG_V_BANNED);
	FUZZ_CHECK(memchr(v.detail, '\0', sizeof v.detail) != NULL);
	FUZZ_CHECK(v.lowest_fen >= -1);
	if (v.verdict == AG_V_BELOW_FLOOR)
		FUZZ_CHECK(g.floor_fen >= 0 && v.lowest_fen >= 0 && v.lowest_fen < g.floor_fen);
	if (v.verdict == AG_V_OK && g.floor_fen >= 0)
		FUZZ_CHECK(v.lowest_fen < 0 || v.lowest_fen >= g.floor_fen);
	if (v.verdict == AG_V_CONTACT && (!strncmp(v.detail, "phone", 5) || !strncmp(v.detail, "landline", 8)))
		FUZZ_CHECK(strstr(v.detail, "****") != NULL);
	/* the same answer, the same verdict */
	agent_guard(&g, s, &w);
	FUZZ_CHECK(w.verdict == v.verdict && w.lowest_fen == v.lowest_fen && !strcmp(w.detail, v.detail));
	/* the guard's lowest amount is money_scan's (but for an empty answer) */
	n = agent_money_scan(s, g.price_fen, fen, 64);
	for (i = 0; i < n && i < 64; i++) {
		FUZZ_CHECK(fen[i] >= 0);
		if (low < 0 || fen[i] < low)
			low = fen[i];
	}
	if (n <= 64 && v.verdict != AG_V_EMPTY && size <= AG_ANSWER_MAX)
		FUZZ_CHECK(low == v.lowest_fen);
	/* Chinese numerals: never past the end */
	if (!agent_cn_number(s, size, &f2, &used))
		FUZZ_CHECK(used > 0 && used <= size && f2 >= 0);
	/* yuan: parse, format, parse again */
	if (!agent_yuan_parse(s, &f2)) {
		int64_t f3;

		FUZZ_CHECK(f2 >= 0);
		agent_yuan_fmt(f2, buf, sizeof buf);
		FUZZ_CHECK(!agent_yuan_parse(buf, &f3) && f3 == f2);
	}
	free(s);
	return 0;
}
