/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench.c - `make bench`: the real bot (dedup + autoreply,
 * debounce and pacing off) against the simulator's load mode, one JSON object
 * per line on stdout, progress on stderr. README.md, "Benchmarks", has the
 * figures and what each line measures. Targets are reported ("met"), never
 * asserted: the exit status is 0 whenever every run finished.
 *
 *   start     fork -> the simulator counts the /reg: a first start (new
 *             state.db, token fetch) and a second one (cached token)
 *   pipeline  BENCH_N buyer messages (default 100000), each in its own chat,
 *             window BENCH_WINDOW (64): decode -> dedup -> autoreply -> send
 *             -> ACK -> the simulator's answer and echo (another event); the
 *             CPU time of both processes per message
 *   latency   BENCH_LAT_N messages (10000) one at a time (window 1): push ->
 *             reply, as the simulator sees it
 *   rss       VmRSS after the second start, VmRSS and VmHWM after the runs,
 *             and the private part (smaps_rollup): RSS counts every page of a
 *             shared library the process touched
 *   dedup     the real host and dedup.so in this process on a copy of the
 *             run's state.db whose dedup_seen holds 10k, then BENCH_DEDUP_IDS
 *             (10000000) ids, written directly with SQLite: BENCH_DEDUP_EV
 *             (20000) new ids, then as many known ones (at most half of those
 *             stored, each once: a re-push after a restart, not in the
 *             plugin's cache). BENCH_CACHE_KIB sets SQLite's page cache there
 *             (the bot has SQLite's default, 2000 KiB).
 *   idle_cpu  two idle bots for BENCH_IDLE_S (20) s: heartbeats every second,
 *             and none (the interval at 3600 s): per hour = the base rate *
 *             3600 + the cost of one heartbeat * 240 (the default 15 s)
 *
 * CPU times are the threads' on-CPU nanoseconds (/proc/<pid>/task/<tid>/
 * schedstat); utime + stime of /proc/<pid>/stat count 10 ms ticks, too coarse
 * for an idle process, and are given beside them. The default run takes about
 * three minutes (the pipeline half of it, the 10M prefill half a minute);
 * BENCH_QUICK=1 makes every count small (about 20 seconds); BENCH_KEEP=1
 * keeps the temp dir.
 */
#include "sim/tbot.h"
#include "util.h"
#include "host.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_UNB "2200000000009"
#define BENCH_TEXT "这个多少钱"
#define BENCH_REPLY "9.9元，包邮"

static tc_sim sim;
static const char *build_dir;

/* Targets (issue 9). */
#define T_EVENTS_PER_S 50000
#define T_P99_US 1000
#define T_RSS_KIB 8192
#define T_START_MS 50
#define T_DEDUP_RATIO 2.0

/* An integer from the environment, def when unset (or BENCH_QUICK's quick). */
static long env_long(const char *name, long def, long quick)
{
	const char *v = getenv(name), *q = getenv("BENCH_QUICK");

	if (v && *v)
		return strtol(v, NULL, 10);
	return q && *q && strcmp(q, "0") ? quick : def;
}

/* Prints one result line and frees it. */
static void emit(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	printf("%s\n", s ? s : "{}");
	fflush(stdout);
	free(s);
	cJSON_Delete(j);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A progress line on stderr. */
static void note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* The "field: N kB" line of a /proc file in kB, -1 when absent. */
static long proc_file_kib(const char *path, const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* A field of /proc/<pid>/status in kB ("VmRSS"), -1 when absent. */
static long proc_status_kib(pid_t pid, const char *field)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return proc_file_kib(path, field);
}

/* A field of /proc/<pid>/smaps_rollup in kB ("Pss"), -1 when absent. */
static long proc_rollup_kib(pid_t pid, const char *field)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	return proc_file_kib(path, field);
}

/* The process's CPU time: utime + stime of /proc/<pid>/stat in seconds
 * (clock ticks, 10 ms) into *ticks_s, and the sum of its threads' on-CPU
 * nanoseconds of /proc/<pid>/task/<tid>/schedstat (the precise one) as the
 * return value in seconds; -1 on failure. */
static double proc_cpu_s(pid_t pid, double *ticks_s)
{
	char path[96], buf[1024], *p;
	unsigned long long ut = 0, st = 0, ns, sum = 0;
	struct dirent *d;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	if (ticks_s)
		*ticks_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!(dir = opendir(path)))
		return -1;
	while ((d = readdir(dir))) {
		char tp[400];

		if (d->d_name[0] == '.')
			continue;
		snprintf(tp, sizeof tp, "/proc/%d/task/%s/schedstat", (int)pid, d->d_name);
		if ((f = fopen(tp, "r"))) {
			if (fscanf(f, "%llu", &ns) == 1)
				sum += ns;
			fclose(f);
		}
	}
	closedir(dir);
	return (double)sum / 1e9;
}

/* Writes the bot's config (and its rules file) for account id. */
static void bot_setup(tbot *b, const char *id, const char *unb, int hb_s, int web_port)
{
	char json[2048], rules[400], web[64];
	FILE *f;

	snprintf(rules, sizeof rules, "%s/rules.json", b->dir);
	if ((f = fopen(rules, "w"))) {
		fputs("{\"keyword_rules\":[{\"keywords\":[\"多少钱\"],\"reply\":\"" BENCH_REPLY "\"}]}\n", f);
		fclose(f);
	}
	if (web_port)
		snprintf(web, sizeof web, "127.0.0.1:%d", web_port);
	else
		snprintf(web, sizeof web, "off");
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"%s\",\"cookie\":\"unb=%s; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\","
		 "\"heartbeat_interval_s\":%d},\n"
		 " \"send\":{\"rate_per_s\":0,\"burst\":1000,\"queue_max\":100000},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"%s\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":0}}\n",
		 id, unb, hb_s, web, build_dir);
	tbot_config(b, json);
}

/* The simulator's count of successful /reg. */
static double reg_ok(void)
{
	return tsim_stat(&sim, "reg_ok");
}

/* Starts the bot and waits (polling every ms) until the simulator counts one
 * more /reg: the ms from fork to that, or -1 after 10 s. */
static double bot_start_timed(tbot *b)
{
	double before = reg_ok();
	int64_t t0 = util_mono_us();

	tbot_start(b);
	while (util_mono_us() - t0 < 10000000) {
		if (reg_ok() > before)
			return (double)(util_mono_us() - t0) / 1000.0;
		if (!tbot_alive(b))
			return -1;
		usleep(1000);
	}
	return -1;
}

/* A number of the bot's metrics (shopkeep status --json), -1 when it does not answer. */
static double bot_metric(const tbot *b, const char *name)
{
	char cmd[1200];
	cJSON *j;
	double v = -1;
	int st;

	snprintf(cmd, sizeof cmd, "timeout 10 '%s/shopkeep' status --json --config '%s' 2>/dev/null", build_dir,
		 b->cfg);
	j = cJSON_Parse(tbot_sh(cmd, &st));
	if (st == 0 && j)
		v = tc_jnum(cJSON_GetObjectItemCaseSensitive(j, "metrics"), name);
	cJSON_Delete(j);
	return v;
}

/* Runs POST /load n/window and waits until every message is answered (or
 * nothing moves for 15 s). Returns the final report (caller frees) or NULL. */
static cJSON *load_run(long n, long window)
{
	char body[128];
	double last = -1;
	int64_t moved = util_mono_us();
	cJSON *r = NULL;
	int st = 0;

	snprintf(body, sizeof body, "{\"n\":%ld,\"window\":%ld,\"text\":\"" BENCH_TEXT "\"}", n, window);
	cJSON_Delete(tc_ctl(sim.ctl_port, "POST", "/load", body, &st));
	if (st != 200) {
		note("POST /load %s -> %d", body, st);
		return NULL;
	}
	for (;;) {
		usleep(20000);
		cJSON_Delete(r);
		if (!(r = tc_ctl(sim.ctl_port, "GET", "/load", NULL, NULL)))
			continue;
		if (tc_jnum(r, "replied") >= n)
			return r;
		if (tc_jnum(r, "replied") != last) {
			last = tc_jnum(r, "replied");
			moved = util_mono_us();
		} else if (util_mono_us() - moved > 15000000) {
			note("load run stuck at %.0f of %ld replies (%.0f pushed, %.0f acked)", last, n,
			     tc_jnum(r, "pushed"), tc_jnum(r, "acked"));
			cJSON_Delete(r);
			return NULL;
		}
	}
}

/* ---- dedup: the real host and plugin in this process ------------------------ */

static int64_t be_now_ms(void *ud)
{
	(void)ud;
	return util_now_ms();
}

static int64_t be_mono_ms(void *ud)
{
	(void)ud;
	return util_mono_us() / 1000;
}

static void be_log(void *ud, int level, const char *plugin, const char *msg)
{
	(void)ud;
	if (level <= SK_LOG_WARN)
		note("%s: %s", plugin, msg);
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Stored id i of n: 32 hex digits like the platform's message ids, spread
 * evenly over the key space in increasing order (so the prefill appends to
 * the index) with a pseudo-random low half that can be made again. */
static void dedup_id(uint64_t i, uint64_t n, char out[33])
{
	uint64_t seed = i;

	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, (UINT64_MAX / n) * i, splitmix64(&seed));
}

/* Copies file from to to. 0 or -1. */
static int copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	size_t r;
	int rc = 0;

	if (!in || !out)
		rc = -1;
	while (!rc && (r = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, r, out) != r)
			rc = -1;
	if (in)
		fclose(in);
	if (out && fclose(out))
		rc = -1;
	return rc;
}

/* Replaces the ids in the dedup table of db with n ids, in one transaction.
 * Returns the seconds it took, or -1. */
static double dedup_prefill(const char *db, uint64_t n)
{
	int64_t t0 = util_mono_us(), now = util_now_ms();
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	char key[33];
	int ok = 0, fd;

	if (sqlite3_open(db, &h) != SQLITE_OK)
		goto out;
	/* No journal for a throwaway copy: the rows go to the file once (store_open
	 * puts it back in WAL mode). */
	if (sqlite3_exec(h, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; "
			 "BEGIN; DELETE FROM dedup_seen", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "INSERT INTO dedup_seen (key, seen_ms) VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		dedup_id(i, n, key);
		sqlite3_bind_text(st, 1, key, 32, SQLITE_STATIC);
		/* within the TTL (7 days): the prune at start deletes nothing */
		sqlite3_bind_int64(st, 2, now - 3600000 + (int64_t)(i * 3600000 / n));
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
		sqlite3_reset(st);
	}
	ok = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
out:
	if (!ok)
		note("prefill of %s: %s", db, h ? sqlite3_errmsg(h) : "cannot open");
	sqlite3_finalize(st);
	sqlite3_close(h);
	/* Wait for the kernel to write it all out: a gigabyte of dirty pages
	 * being flushed while the events are timed made them 2-3x slower. */
	if (ok && (fd = open(db, O_RDWR)) >= 0) {
		fdatasync(fd);
		close(fd);
	}
	return ok ? (double)(util_mono_us() - t0) / 1e6 : -1;
}

/* Dispatches ev chat texts with the ids made by mk and returns the mean
 * microseconds per event. */
static double dedup_time(host *h, long ev, void (*mk)(long i, char out[33], void *ud), void *ud)
{
	sk_event e;
	char id[33];
	int64_t t0;

	memset(&e, 0, sizeof e);
	e.size = sizeof e;
	e.type = SK_EV_CHAT_TEXT;
	e.chat_id = "1000001";
	e.sender_id = "5000001";
	e.sender_name = e.item_id = e.im_id = e.order_id = e.image_url = e.raw_json = "";
	e.reason = e.topic = e.payload_json = e.from_plugin = e.send_uuid = e.send_tag = "";
	e.text = BENCH_TEXT;
	e.message_id = id;
	t0 = util_mono_us();
	for (long i = 0; i < ev; i++) {
		mk(i, id, ud);
		e.created_ms = util_now_ms();
		host_dispatch(h, &e);
	}
	return (double)(util_mono_us() - t0) / (double)ev;
}

/* New ids: random, as pushes bring them. */
static void mk_new(long i, char out[33], void *ud)
{
	uint64_t *x = ud, a = splitmix64(x), b = splitmix64(x);

	(void)i;
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, a, b);
}

/* Known ids: the i-th of the n stored in a scattered order (a stride prime
 * to n), each once, so that the plugin's cache never answers. */
static void mk_known(long i, char out[33], void *ud)
{
	uint64_t n = *(uint64_t *)ud;

	dedup_id(((uint64_t)i * 2654435761ull + 12345) % n, n, out);
}

/* One dedup line: a copy of state_db with n ids, events timed through the
 * real host. base (NULL for the first line) holds the first line's figures,
 * for the ratio. Returns 0 with us[0] new-id and us[1] known-id microseconds
 * per event, or -1. */
static int bench_dedup(const char *dir, const char *state_db, uint64_t n, long ev, const double *base, double us[2])
{
	char db[400], wal[420], shm[420], err[256], plugin[600];
	host_backend be = { .now_ms = be_now_ms, .mono_ms = be_mono_ms, .log = be_log };
	host_config hc;
	cJSON *sections = cJSON_Parse("{\"dedup\":{}}"), *j;
	sbuf errs = { 0 };
	double fill_s;
	uint64_t x = 42 + n;
	long known = ev < (long)(n / 2) ? ev : (long)(n / 2), size_kib = 0;
	store *st = NULL;
	host *h = NULL;
	int rc = -1;
	FILE *f;

	snprintf(db, sizeof db, "%s/dedup-%" PRIu64 ".db", dir, n);
	snprintf(wal, sizeof wal, "%s-wal", db);
	snprintf(shm, sizeof shm, "%s-shm", db);
	snprintf(plugin, sizeof plugin, "%s/plugins/dedup.so", build_dir);
	note("dedup: a copy of state.db with %" PRIu64 " ids", n);
	if (copy_file(state_db, db) || (fill_s = dedup_prefill(db, n)) < 0)
		goto out;
	if ((f = fopen(db, "rb"))) {
		fseek(f, 0, SEEK_END);
		size_kib = ftell(f) / 1024;
		fclose(f);
	}
	if (!(st = store_open(db, err, sizeof err))) {
		note("dedup: %s", err);
		goto out;
	}
	if (getenv("BENCH_CACHE_KIB")) {
		/* a diagnostic: SQLite's page cache for this connection (the bot's is
		 * SQLite's default, 2000 KiB) */
		char sql[64];

		snprintf(sql, sizeof sql, "PRAGMA cache_size=-%ld", strtol(getenv("BENCH_CACHE_KIB"), NULL, 10));
		sqlite3_exec(store_db(st), sql, NULL, NULL, NULL);
	}
	memset(&hc, 0, sizeof hc);
	hc.account_id = "bench";
	hc.own_user_id = BENCH_UNB;
	hc.plugin_sections = sections;
	hc.db = store_db(st);
	if (!(h = host_new(&hc, &be)) || host_load_file(h, plugin, &errs)) {
		note("dedup: cannot load %s: %s", plugin, errs.p ? errs.p : "host_new failed");
		goto out;
	}
	dedup_time(h, ev / 10 + 1, mk_new, &x);     /* warm up */
	us[0] = dedup_time(h, ev, mk_new, &x);
	us[1] = dedup_time(h, known, mk_known, &n);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "bench", "dedup");
	cJSON_AddNumberToObject(j, "ids", (double)n);
	cJSON_AddNumberToObject(j, "us_per_event", us[0]);
	cJSON_AddNumberToObject(j, "known_us_per_event", us[1]);
	cJSON_AddNumberToObject(j, "events", (double)ev);
	cJSON_AddNumberToObject(j, "known_events", (double)known);
	cJSON_AddNumberToObject(j, "db_kib", (double)size_kib);
	cJSON_AddNumberToObject(j, "prefill_s", fill_s);
	if (base) {
		cJSON_AddNumberToObject(j, "ratio", us[0] / base[0]);
		cJSON_AddNumberToObject(j, "known_ratio", us[1] / base[1]);
		cJSON_AddNumberToObject(j, "target_ratio", T_DEDUP_RATIO);
		/* the target is for the events of the pipeline (new ids); a known id
		 * is a re-push, rare: reported on its own */
		cJSON_AddBoolToObject(j, "met", us[0] <= T_DEDUP_RATIO * base[0]);
		cJSON_AddBoolToObject(j, "known_met", us[1] <= T_DEDUP_RATIO * base[1]);
	}
	emit(j);
	rc = 0;
out:
	if (h) {
		host_unload_all(h);
		host_free(h);
	}
	store_close(st);
	cJSON_Delete(sections);
	sbuf_free(&errs);
	unlink(db);
	unlink(wal);
	unlink(shm);
	return rc;
}

/* ---- idle ---------------------------------------------------------------------- */

/* Two idle bots side by side: heartbeats every second, and none. */
static void bench_idle(long secs)
{
	tbot hb, quiet;
	double c0[2], c1[2], t0[2], t1[2], hb0, hb1, base_rate, per_hb, per_hour, ticks_hour;
	int64_t w0, w1;
	cJSON *j;

	if (tbot_init(&hb, &sim) || tbot_init(&quiet, &sim))
		return;
	bot_setup(&hb, "idle1", "2200000000011", 1, 0);
	bot_setup(&quiet, "idle2", "2200000000012", 3600, 0);
	if (bot_start_timed(&hb) < 0 || bot_start_timed(&quiet) < 0) {
		note("idle: a bot did not register");
		goto out;
	}
	note("idle: two bots for %ld s", secs);
	sleep(2);
	hb0 = tsim_stat(&sim, "heartbeats");
	w0 = util_mono_us();
	c0[0] = proc_cpu_s(hb.pid, &t0[0]);
	c0[1] = proc_cpu_s(quiet.pid, &t0[1]);
	sleep((unsigned)secs);
	c1[0] = proc_cpu_s(hb.pid, &t1[0]);
	c1[1] = proc_cpu_s(quiet.pid, &t1[1]);
	w1 = util_mono_us();
	hb1 = tsim_stat(&sim, "heartbeats");
	{
		double wall = (double)(w1 - w0) / 1e6, n = hb1 - hb0;

		base_rate = (c1[1] - c0[1]) / wall;
		per_hb = n > 0 ? ((c1[0] - c0[0]) - base_rate * wall) / n : 0;
		if (per_hb < 0)
			per_hb = 0;
		per_hour = base_rate * 3600 + per_hb * 3600 / 15;
		/* the same from the clock ticks of /proc/<pid>/stat (10 ms: coarse) */
		ticks_hour = (t1[1] - t0[1]) / wall * 3600 +
			     (n > 0 ? ((t1[0] - t0[0]) - (t1[1] - t0[1])) / n : 0) * 3600 / 15;
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "bench", "idle_cpu");
		cJSON_AddNumberToObject(j, "cpu_s_per_hour", per_hour);
		cJSON_AddNumberToObject(j, "ticks_cpu_s_per_hour", ticks_hour);
		cJSON_AddNumberToObject(j, "base_ms_per_hour", base_rate * 3600 * 1000);
		cJSON_AddNumberToObject(j, "us_per_heartbeat", per_hb * 1e6);
		cJSON_AddNumberToObject(j, "heartbeats", n);
		cJSON_AddNumberToObject(j, "seconds", wall);
		cJSON_AddNumberToObject(j, "interval_s", 15);
		emit(j);
	}
out:
	tbot_stop(&hb, SIGTERM);
	tbot_stop(&quiet, SIGTERM);
	tbot_done(&hb, 0);
	tbot_done(&quiet, 0);
}

/* ---- main ---------------------------------------------------------------------- */

/* Starts the bot twice (cold, then with the cached token), emits the "start" line and
 * stores its RSS and private memory after start; returns 0, or -1 if it did not register. */
static int bench_start(tbot *bot, long *rss_start, long *priv_start)
{
	double cold_ms, warm_ms;
	cJSON *j;

	/* start: a first start, then a second one with the cached token */
	cold_ms = bot_start_timed(bot);
	usleep(300000);
	tbot_stop(bot, SIGTERM);
	warm_ms = bot_start_timed(bot);
	if (cold_ms < 0 || warm_ms < 0) {
		note("the bot did not register (log: %s)", bot->log);
		return -1;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "bench", "start");
	cJSON_AddNumberToObject(j, "to_registered_ms", cold_ms);
	cJSON_AddNumberToObject(j, "cached_token_ms", warm_ms);
	cJSON_AddNumberToObject(j, "target_ms", T_START_MS);
	cJSON_AddBoolToObject(j, "met", cold_ms <= T_START_MS && warm_ms <= T_START_MS);
	emit(j);
	usleep(300000);
	*rss_start = proc_status_kib(bot->pid, "VmRSS");
	*priv_start = proc_rollup_kib(bot->pid, "Private_Clean") + proc_rollup_kib(bot->pid, "Private_Dirty");
	return 0;
}

/* Runs n messages with the given window through the bot and emits the "pipeline" line;
 * returns 0, or -1 if the load run failed. */
static int bench_pipeline(tbot *bot, long n, long window)
{
	double c0, c1, s0, s1, ms, commits0, commits1, batches0, batches1;
	cJSON *r, *j;

	/* the pipeline */
	note("pipeline: %ld messages, window %ld", n, window);
	commits0 = bot_metric(bot, "db_commits");
	batches0 = bot_metric(bot, "db_batches");
	c0 = proc_cpu_s(bot->pid, NULL);
	s0 = proc_cpu_s(sim.pid, NULL);
	if (!(r = load_run(n, window)))
		return -1;
	c1 = proc_cpu_s(bot->pid, NULL);
	s1 = proc_cpu_s(sim.pid, NULL);
	commits1 = bot_metric(bot, "db_commits");
	batches1 = bot_metric(bot, "db_batches");
	ms = tc_jnum(r, "elapsed_ms");
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "bench", "pipeline");
	cJSON_AddNumberToObject(j, "events", (double)n);
	cJSON_AddNumberToObject(j, "events_per_s", (double)n / (ms / 1000.0));
	cJSON_AddNumberToObject(j, "window", (double)window);
	cJSON_AddNumberToObject(j, "elapsed_ms", ms);
	/* per buyer message; each also brings the echo of its reply, a second event */
	cJSON_AddNumberToObject(j, "bot_cpu_us_per_event", (c1 - c0) * 1e6 / (double)n);
	cJSON_AddNumberToObject(j, "sim_cpu_us_per_event", (s1 - s0) * 1e6 / (double)n);
	/* what the bot's CPU time allows on a core of its own */
	cJSON_AddNumberToObject(j, "bot_capacity_per_s", c1 > c0 ? (double)n / (c1 - c0) : 0);
	cJSON_AddNumberToObject(j, "p50_us", tc_jnum(r, "p50_us"));
	cJSON_AddNumberToObject(j, "p99_us", tc_jnum(r, "p99_us"));
	/* SQLite commits per buyer message, and of them the session's batches */
	if (commits0 >= 0 && commits1 >= 0) {
		cJSON_AddNumberToObject(j, "db_commits_per_event", (commits1 - commits0) / (double)n);
		cJSON_AddNumberToObject(j, "db_batches_per_event", (batches1 - batches0) / (double)n);
	}
	cJSON_AddNumberToObject(j, "target", T_EVENTS_PER_S);
	cJSON_AddBoolToObject(j, "met", (double)n / (ms / 1000.0) >= T_EVENTS_PER_S);
	emit(j);
	cJSON_Delete(r);
	return 0;
}

/* Runs lat_n messages one at a time and emits the "latency" line; returns 0, or -1 if
 * the load run failed. */
static int bench_latency(long lat_n)
{
	cJSON *r, *j;

	/* latency: one message at a time */
	note("latency: %ld messages, window 1", lat_n);
	if (!(r = load_run(lat_n, 1)))
		return -1;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "bench", "latency");
	cJSON_AddNumberToObject(j, "events", (double)lat_n);
	cJSON_AddNumberToObject(j, "p50_us", tc_jnum(r, "p50_us"));
	cJSON_AddNumberToObject(j, "p90_us", tc_jnum(r, "p90_us"));
	cJSON_AddNumberToObject(j, "p99_us", tc_jnum(r, "p99_us"));
	cJSON_AddNumberToObject(j, "max_us", tc_jnum(r, "max_us"));
	cJSON_AddNumberToObject(j, "target_p99_us", T_P99_US);
	cJSON_AddBoolToObject(j, "met", tc_jnum(r, "p99_us") <= T_P99_US);
	emit(j);
	cJSON_Delete(r);
	return 0;
}

/* Emits the "rss" line: the bot's memory after the runs against rss_start/priv_start
 * (measured after start); returns nothing. */
static void bench_rss(tbot *bot, long rss_start, long priv_start)
{
	long rss_run, hwm_run, priv_run, pss_run;
	cJSON *j;

	rss_run = proc_status_kib(bot->pid, "VmRSS");
	hwm_run = proc_status_kib(bot->pid, "VmHWM");
	priv_run = proc_rollup_kib(bot->pid, "Private_Clean") + proc_rollup_kib(bot->pid, "Private_Dirty");
	pss_run = proc_rollup_kib(bot->pid, "Pss");
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "bench", "rss");
	cJSON_AddNumberToObject(j, "after_start_kib", (double)rss_start);
	cJSON_AddNumberToObject(j, "after_run_kib", (double)rss_run);
	cJSON_AddNumberToObject(j, "hwm_kib", (double)hwm_run);
	/* what is the process's own: RSS counts every shared library page it touched */
	cJSON_AddNumberToObject(j, "private_after_start_kib", (double)priv_start);
	cJSON_AddNumberToObject(j, "private_after_run_kib", (double)priv_run);
	cJSON_AddNumberToObject(j, "pss_after_run_kib", (double)pss_run);
	cJSON_AddNumberToObject(j, "target_kib", T_RSS_KIB);
	cJSON_AddBoolToObject(j, "met", rss_start <= T_RSS_KIB && rss_run <= T_RSS_KIB && hwm_run <= T_RSS_KIB);
	emit(j);
}

int main(void)
{
	const char *const sim_args[] = { "--no-record", NULL };
	long n = env_long("BENCH_N", 100000, 5000), lat_n = env_long("BENCH_LAT_N", 10000, 1000);
	long window = env_long("BENCH_WINDOW", 64, 64), idle_s = env_long("BENCH_IDLE_S", 20, 10);
	long dedup_ids = env_long("BENCH_DEDUP_IDS", 10000000, 200000), dedup_ev = env_long("BENCH_DEDUP_EV", 20000, 5000);
	const char *keep = getenv("BENCH_KEEP");
	double base_us[2], big_us[2];
	long rss_start, priv_start;
	char state_db[400], state_copy[400];
	tbot bot;
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);
	build_dir = getenv("SK_BUILD") ? getenv("SK_BUILD") : "build";
	if (tc_sim_start(&sim, sim_args) || tbot_init(&bot, &sim)) {
		note("cannot start the simulator");
		return 1;
	}
	bot_setup(&bot, "bench", BENCH_UNB, 15, tbot_free_port());
	snprintf(state_db, sizeof state_db, "%s/state.db", bot.dir);
	snprintf(state_copy, sizeof state_copy, "%s/state-copy.db", bot.dir);

	if (bench_start(&bot, &rss_start, &priv_start) || bench_pipeline(&bot, n, window) ||
	    bench_latency(lat_n))
		goto out;
	bench_rss(&bot, rss_start, priv_start);
	if (tbot_stop(&bot, SIGTERM) != 0)
		note("the bot did not exit 0 (log: %s)", bot.log);

	/* dedup: the run's state.db (closed: its WAL checkpointed) */
	if (copy_file(state_db, state_copy)) {
		note("cannot copy %s", state_db);
		goto out;
	}
	if (!bench_dedup(bot.dir, state_copy, 10000, dedup_ev, NULL, base_us))
		bench_dedup(bot.dir, state_copy, (uint64_t)dedup_ids, dedup_ev, base_us, big_us);
	unlink(state_copy);

	bench_idle(idle_s);
	rc = 0;
out:
	tbot_stop(&bot, SIGTERM);
	tc_sim_stop(&sim);
	tbot_done(&bot, keep && *keep && strcmp(keep, "0"));
	return rc;
}
