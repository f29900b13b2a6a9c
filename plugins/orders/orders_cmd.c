/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_cmd.c - the CLI commands (stock import/list/export,
 * orders list/show and the order actions) and the control commands
 * stock_list and stock_import with their table (od_controls); init
 * registers them, orders_view.c's, orders_action.c's and orders_stock.c's
 * through orders_controls_add.
 */

#include "orders_int.h"

static int od_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- commands ------------------------------------------------------------------------------ */

static const char od_stock_usage[] =
	"usage: shopkeep stock import --config FILE --card NAME CODES_FILE\n"
	"       shopkeep stock list --config FILE\n"
	"       shopkeep stock export --config FILE --card NAME\n"
	"\n"
	"import  adds the codes of CODES_FILE (one per line, - for stdin; surrounding\n"
	"        blanks are trimmed, blank lines and codes the card already has are\n"
	"        skipped) to the stock card NAME of the account's rules file, and prints\n"
	"        the counts. The running bot picks them up (orders waiting for stock\n"
	"        within retry_s).\n"
	"list    prints every card with its free, reserved and used codes.\n"
	"export  prints the free codes of the stock card NAME, one per line (what\n"
	"        import takes), and their count on stderr.\n";

static const char od_orders_usage[] =
	"usage: shopkeep orders list --config FILE [--limit N]\n"
	"       shopkeep orders show ORDER_ID --config FILE\n"
	"       shopkeep orders retry ORDER_ID --config FILE\n"
	"       shopkeep orders resend ORDER_ID --unit N --config FILE\n"
	"       shopkeep orders deliver ORDER_ID --text TEXT [--unit N] --config FILE\n"
	"       shopkeep orders ship ORDER_ID --config FILE\n"
	"\n"
	"list     prints the most recent orders (default 20): id, state, delivery,\n"
	"         shipment confirmation, item, quantity, and the reason of a failure.\n"
	"show     prints one order: its fields, its units (codes masked) and its\n"
	"         timeline.\n"
	"The actions run in the account's running process (through its control\n"
	"socket), as the page's buttons do; each is recorded in the order's timeline:\n"
	"retry    tries a failed delivery (waiting for stock, no rule, a refused\n"
	"         send...) or a failed shipment confirmation again now.\n"
	"resend   sends unit N's content (the same code) again in a new message.\n"
	"deliver  sends TEXT to the buyer as the hand delivery of unit N, or of every\n"
	"         unit not delivered yet (a code reserved for them is freed).\n"
	"ship     confirms the shipment now.\n"
	"Exit status: 0 done, 1 refused or failed (the reason on stderr), 2 usage.\n";

static const char *const od_type_names[] = { "text", "stock", "image" };

typedef struct {
	int64_t n[3];
} od_counts;

static int od_row_counts(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_counts *k = ud;
	int64_t s;

	(void)p;
	if (n >= 2 && (s = orders_int(&c[0])) >= 0 && s <= 2)
		k->n[s] = orders_int(&c[1]);
	return 0;
}

static od_counts od_stock_counts(sk_plugin *p, const char *card)
{
	sk_value v = SK_VTEXT(card);
	od_counts k = { { 0, 0, 0 } };

	sk_db_exec(p, "SELECT state, count(*) FROM orders_stock WHERE card = ? GROUP BY state", &v, 1, od_row_counts, &k);
	return k;
}

/* What an import did. */
typedef struct {
	size_t added, dup, blank;
} od_imported;

/* The stock card name of rs that codes may be imported into, or NULL with
 * the reason in why (shared by `shopkeep stock import` and stock_import). */
static const od_card *od_import_card(sk_plugin *p, const od_rules *rs, const char *name, char *why, size_t n)
{
	const od_card *c = orders_card_find(rs, name);

	if (!c)
		snprintf(why, n, "no card named \"%s\" in the rules file %s", name, sk_rules_path(p));
	else if (c->type != OD_STOCK)
		snprintf(why, n, "card \"%s\" is not a stock card (its type sends no codes)", name);
	return c && c->type == OD_STOCK ? c : NULL;
}

/* An import commits every OD_IMPORT_CHUNK codes: another writer (the
 * running bot's loop, when `shopkeep stock import` runs beside it) never
 * waits for a whole file, only for one chunk. The command then sleeps as
 * long as the chunk took (at least OD_IMPORT_PAUSE_MS, at most 200 ms), so
 * that a writer polling for the lock (SQLite's busy handler sleeps up to
 * 100 ms between tries) finds it free about half the time: with a fixed
 * 20 ms pause a writer under ASan once waited over a second. */
#define OD_IMPORT_CHUNK 2000
#define OD_IMPORT_PAUSE_MS 10

/* Adds the codes of fp, one per line, to the stock of card (checked with
 * od_import_card), OD_IMPORT_CHUNK codes a transaction, each begun at its
 * first code (a reader of a pipe that waits for more holds no lock); with
 * pause_ms (the command: OD_IMPORT_PAUSE_MS; on the loop 0) a pause after
 * each, as long as it took (see above).
 * Surrounding blanks are trimmed, blank lines and codes the card already has
 * are skipped and counted. The one import of `shopkeep stock import` and of
 * stock_import. Returns 0 with the counts in *k, or a negative sk_rc with the
 * reason in why: the chunks committed before it stay (their counts are in
 * *k; importing the file again skips them as duplicates). */
static int od_import(sk_plugin *p, const char *card, FILE *fp, int pause_ms, od_imported *k, char *why, size_t n)
{
	od_imported chunk = { 0, 0, 0 };
	size_t cap = 0, in_txn = 0;
	struct timespec t0 = { 0, 0 }, t1;
	char *line = NULL;
	ssize_t len;
	int rc = 0;

	memset(k, 0, sizeof *k);
	while ((len = getline(&line, &cap, fp)) >= 0) {
		char *s = line, *e = line + len;

		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		*e = '\0';
		if (s == e) {
			chunk.blank++;
			continue;
		}
		if (!in_txn) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			if ((rc = sk_db_begin(p)) < 0)
				break;
		}
		in_txn++;
		{
			int64_t now = sk_now_ms(p);
			sk_value v[3] = { SK_VTEXT(card), SK_VTEXT(s), SK_VINT(now) };

			if ((rc = sk_db_exec(p, "INSERT INTO orders_stock (card, code, added_ms, updated_ms) VALUES (?1, ?2, "
					     "?3, ?3) ON CONFLICT (card, code) DO NOTHING", v, 3, NULL, NULL)) < 0)
				break;
			if (sk_db_changes(p) > 0)
				chunk.added++;
			else
				chunk.dup++;
		}
		if (in_txn == OD_IMPORT_CHUNK) {
			if ((rc = sk_db_commit(p)) < 0)
				break;
			in_txn = 0;
			k->added += chunk.added;
			k->dup += chunk.dup;
			k->blank += chunk.blank;
			memset(&chunk, 0, sizeof chunk);
			if (pause_ms) {
				int64_t took_ms;

				clock_gettime(CLOCK_MONOTONIC, &t1);
				took_ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
				usleep((useconds_t)(took_ms < pause_ms ? pause_ms : took_ms > 200 ? 200 : took_ms) * 1000);
			}
		}
	}
	free(line);
	if (rc >= 0 && ferror(fp))
		rc = SK_ERR_IO;
	if (rc >= 0 && in_txn)
		rc = sk_db_commit(p);
	if (rc < 0) {
		if (in_txn)
			sk_db_rollback(p);
		if (k->added || k->dup)
			snprintf(why, n, "stopped after %zu codes (%zu added, %zu duplicates), the rest not imported: %s",
				 k->added + k->dup, k->added, k->dup, sk_strerror(p, rc));
		else
			snprintf(why, n, "nothing imported: %s", sk_strerror(p, rc));
		return rc;
	}
	k->added += chunk.added;
	k->dup += chunk.dup;
	k->blank += chunk.blank;
	return 0;
}

static int od_cmd_import(sk_plugin *p, const od_rules *rs, const char *name, const char *file)
{
	od_imported k;
	char why[512];
	FILE *fp;
	int rc;

	if (!od_import_card(p, rs, name, why, sizeof why)) {
		fprintf(stderr, "shopkeep stock import: %s\n", why);
		return 1;
	}
	if (!(fp = strcmp(file, "-") ? fopen(file, "r") : stdin)) {
		fprintf(stderr, "shopkeep stock import: %s: %m\n", file);
		return 1;
	}
	rc = od_import(p, name, fp, OD_IMPORT_PAUSE_MS, &k, why, sizeof why);
	if (fp != stdin)
		fclose(fp);
	if (rc < 0) {
		fprintf(stderr, "shopkeep stock import: %s\n", why);
		return 1;
	}
	printf("card %s: %zu codes added, %zu duplicates and %zu blank lines skipped; %lld free now\n", name, k.added,
	       k.dup, k.blank, (long long)od_stock_counts(p, name).n[0]);
	return 0;
}

static int od_row_name(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	const od_rules *rs = ud;

	(void)p;
	if (n > 0 && c[0].type == SK_TEXT && !orders_card_find(rs, c[0].s))
		printf("%-20s %-6s %8s %8s %8s  (not in the rules file)\n", c[0].s, "?", "", "", "");
	return 0;
}

static int od_cmd_list(sk_plugin *p, const od_rules *rs)
{
	printf("%-20s %-6s %8s %8s %8s\n", "card", "type", "free", "reserved", "used");
	for (size_t i = 0; i < rs->ncards; i++) {
		const od_card *c = &rs->cards[i];
		od_counts k = od_stock_counts(p, c->name);

		if (c->type == OD_STOCK)
			printf("%-20s %-6s %8lld %8lld %8lld%s\n", c->name, od_type_names[c->type], (long long)k.n[0],
			       (long long)k.n[1], (long long)k.n[2], k.n[0] < c->low_stock ? "  LOW" : "");
		else
			printf("%-20s %-6s %8s %8s %8s\n", c->name, od_type_names[c->type], "-", "-", "-");
	}
	sk_db_exec(p, "SELECT DISTINCT card FROM orders_stock ORDER BY card", NULL, 0, od_row_name, (void *)rs);
	return 0;
}

static int od_row_print(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	char f[8][256];

	(void)p;
	(void)ud;
	if (n < 8)
		return 1;
	for (int i = 0; i < 8; i++)
		orders_cp(f[i], sizeof f[i], &c[i]);
	printf("%-20s %-10s %-10s %-8s %-12s %4lld  %s\n", f[0], *f[1] ? f[1] : "-", f[2], f[3], *f[4] ? f[4] : "-",
	       (long long)orders_int(&c[5]), *f[6] ? f[6] : f[7]);
	return 0;
}

static int od_cmd_orders(sk_plugin *p, int64_t limit)
{
	sk_value v = SK_VINT(limit);

	printf("%-20s %-10s %-10s %-8s %-12s %4s  %s\n", "order", "state", "delivery", "confirm", "item", "qty",
	       "reason");
	return sk_db_exec(p, "SELECT order_id, state, delivery, confirm, item_id, quantity, reason, confirm_reason "
			  "FROM orders_order ORDER BY updated_ms DESC LIMIT ?", &v, 1, od_row_print, NULL) < 0;
}

/* Prints order oid, offline (`shopkeep orders show`): its fields, units
 * (masked) and timeline, as order_get gives them. 0, or 1 when there is no
 * such order. */
static int od_cmd_show(sk_plugin *p, const char *oid)
{
	static const char *const fields[] = { "state", "delivery", "confirm", "reason", "confirm_reason", "item_id", "spec",
		"quantity", "amount", "buyer_name", "buyer_id", "chat_id", "card", "source" };
	const cJSON *u;
	cJSON *o, *tl;
	int rc;

	if (!(o = orders_order_json(p, oid, &rc))) {
		fprintf(stderr, "shopkeep orders show: %s\n", rc == SK_ERR_NOTFOUND ? "no such order" : sk_strerror(p, rc));
		return 1;
	}
	if (!(tl = orders_timeline_json(p, oid, &rc))) {
		cJSON_Delete(o);
		fprintf(stderr, "shopkeep orders show: %s\n", sk_strerror(p, rc));
		return 1;
	}
	printf("order %s\n", oid);
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, fields[i]);

		if (cJSON_IsString(v) && *v->valuestring)
			printf("  %-15s %s\n", fields[i], v->valuestring);
		else if (cJSON_IsNumber(v))
			printf("  %-15s %lld\n", fields[i], (long long)v->valuedouble);
	}
	cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(o, "units")) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(u, "reason");

		printf("  unit %lld: %s, %s%s: %s%s%s\n",
		       (long long)cJSON_GetObjectItemCaseSensitive(u, "unit")->valuedouble,
		       cJSON_GetObjectItemCaseSensitive(u, "state")->valuestring,
		       cJSON_GetObjectItemCaseSensitive(u, "kind")->valuestring,
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "manual")) ? " (by hand)" : "",
		       cJSON_GetObjectItemCaseSensitive(u, "masked")->valuestring, *r->valuestring ? " - " : "",
		       r->valuestring);
	}
	printf("timeline:\n");
	cJSON_ArrayForEach(u, tl) {
		time_t t = (time_t)(cJSON_GetObjectItemCaseSensitive(u, "ms")->valuedouble / 1000);
		char when[32] = "?";
		struct tm tm;

		if (localtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		printf("  %s  %-8s %s\n", when, cJSON_GetObjectItemCaseSensitive(u, "kind")->valuestring,
		       cJSON_GetObjectItemCaseSensitive(u, "text")->valuestring);
	}
	cJSON_Delete(o);
	cJSON_Delete(tl);
	return 0;
}

/* Prints what a successful action answered (data d) in one line. */
static void od_cmd_said(const char *sub, const char *oid, const cJSON *d)
{
	const cJSON *dl = cJSON_GetObjectItemCaseSensitive(d, "delivery"), *r = cJSON_GetObjectItemCaseSensitive(d, "reason");
	const char *delivery = cJSON_IsString(dl) ? dl->valuestring : "?", *reason = cJSON_IsString(r) ? r->valuestring : "";

	if (!strcmp(sub, "resend")) {
		printf("order %s: unit %lld sent again in a new message (send %s)\n", oid,
		       (long long)cJSON_GetObjectItemCaseSensitive(d, "unit")->valuedouble,
		       cJSON_GetObjectItemCaseSensitive(d, "uuid")->valuestring);
	} else if (!strcmp(sub, "deliver")) {
		const cJSON *u;
		int first = 1;

		printf("order %s: delivered by hand: unit", oid);
		cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(d, "units")) {
			printf("%s%lld", first ? " " : ",", (long long)u->valuedouble);
			first = 0;
		}
		printf("; %lld reserved codes free again; delivery %s\n",
		       (long long)cJSON_GetObjectItemCaseSensitive(d, "released")->valuedouble, delivery);
	} else if (!strcmp(sub, "ship")) {
		printf("order %s: shipment confirmation asked for (confirm %s)\n", oid,
		       cJSON_GetObjectItemCaseSensitive(d, "confirm")->valuestring);
	} else {
		printf("order %s: tried again: delivery %s%s%s\n", oid, delivery, *reason ? ": " : "", reason);
	}
}

/* shopkeep orders retry|resend|deliver|ship ORDER_ID [--unit N] [--text T]:
 * the control command order_<sub> in the running process (sk_control_call).
 * 0 done, 1 refused or failed, 2 usage. */
static int od_cmd_action(sk_plugin *p, const char *sub, int argc, char **argv, const char *hint)
{
	const char *oid = NULL, *text = NULL;
	char command[32], *data, *ans = NULL;
	int64_t unit = 0;
	cJSON *d, *a;
	int rc, show = !strcmp(sub, "show");

	for (int i = 2; i < argc; i++) {
		const char *x = argv[i];

		if (!show && (!strcmp(x, "--unit") || !strncmp(x, "--unit=", 7))) {
			const char *v = x[6] ? x + 7 : i + 1 < argc ? argv[++i] : "";
			char *end;

			unit = strtoll(v, &end, 10);
			if (!*v || *end || unit < 1 || unit > 10000)
				return od_usage_error("shopkeep orders %s: --unit needs a unit number from 1 to 10000 (%s)\n",
						      sub, hint);
		} else if (!show && (!strcmp(x, "--text") || !strncmp(x, "--text=", 7))) {
			if (!x[6] && i + 1 >= argc)
				return od_usage_error("shopkeep orders %s: --text needs the TEXT (%s)\n", sub, hint);
			text = x[6] ? x + 7 : argv[++i];
		} else if (x[0] == '-' && x[1]) {
			return od_usage_error("shopkeep orders %s: unknown option '%s' (%s)\n", sub, x, hint);
		} else if (!oid) {
			oid = x;
		} else {
			return od_usage_error("shopkeep orders %s: unexpected argument '%s' (%s)\n", sub, x, hint);
		}
	}
	if (!oid || !*oid)
		return od_usage_error("shopkeep orders %s: which ORDER_ID? (%s)\n", sub, hint);
	if (show)
		return od_cmd_show(p, oid);
	if (!strcmp(sub, "resend") && !unit)
		return od_usage_error("shopkeep orders resend: --unit N is required: the unit to send again (%s)\n", hint);
	if (!strcmp(sub, "deliver") && (!text || !*text))
		return od_usage_error("shopkeep orders deliver: --text TEXT is required: what the buyer gets (%s)\n", hint);
	if ((unit && strcmp(sub, "resend") && strcmp(sub, "deliver")) || (text && strcmp(sub, "deliver")))
		return od_usage_error("shopkeep orders %s: %s is not an option of %s (%s)\n", sub, unit ? "--unit" : "--text",
				      sub, hint);
	if (!SK_HOST_HAS(p, control_call)) {
		fprintf(stderr, "shopkeep orders %s: this shopkeep cannot reach the running process (ABI 1.5 needed)\n", sub);
		return 1;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "order_id", oid);
	if (unit)
		cJSON_AddNumberToObject(d, "unit", (double)unit);
	if (text)
		cJSON_AddStringToObject(d, "text", text);
	cJSON_AddStringToObject(d, "actor", "cli");
	data = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	snprintf(command, sizeof command, "order_%s", sub);
	rc = data ? sk_control_call(p, command, data, &ans) : SK_ERR_NOMEM;
	free(data);
	if (rc == SK_ERR_IO) {
		fprintf(stderr, "shopkeep orders %s: the account's process is not running (start it, or use the page)\n", sub);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "shopkeep orders %s: the account's process cannot be asked: %s\n", sub, sk_strerror(p, rc));
		return 1;
	}
	a = cJSON_Parse(ans);
	sk_free(p, ans);
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "success"))) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(a, "error");

		fprintf(stderr, "shopkeep orders %s: %s\n", sub, cJSON_IsString(e) ? e->valuestring : "refused");
		cJSON_Delete(a);
		return 1;
	}
	od_cmd_said(sub, oid, cJSON_GetObjectItemCaseSensitive(a, "data"));
	cJSON_Delete(a);
	return 0;
}

/* shopkeep stock export --card NAME: the free codes on stdout. */
static int od_cmd_export(sk_plugin *p, const od_rules *rs, const char *name)
{
	char why[512];
	int n;

	if (!od_import_card(p, rs, name, why, sizeof why)) {
		fprintf(stderr, "shopkeep stock export: %s\n", why);
		return 1;
	}
	if ((n = orders_stock_export(p, name, stdout)) < 0) {
		fprintf(stderr, "shopkeep stock export: %s\n", sk_strerror(p, n));
		return 1;
	}
	fflush(stdout);
	fprintf(stderr, "card %s: %d free codes exported\n", name, n);
	return 0;
}

/* A usage error of `shopkeep stock|orders`: one line on stderr, then 2. */

static int od_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	return 2;
}

/* shopkeep stock ... / shopkeep orders ...: --help anywhere prints the usage
 * on stdout (0); a usage error is one line on stderr naming what is wrong
 * (2). */
int orders_command(sk_plugin *p, int argc, char **argv)
{
	const char *cmd = argv[0], *card = NULL, *file = NULL, *sub = argc > 1 ? argv[1] : "";
	int stock = !strcmp(cmd, "stock");
	const char *usage = stock ? od_stock_usage : od_orders_usage;
	const char *subs = stock ? "import, list or export" : "list, show, retry, resend, deliver or ship";
	const char *hint = stock ? "see shopkeep stock --help --config FILE" : "see shopkeep orders --help --config FILE";
	int64_t limit = 20;
	od_rules *rs;
	int rc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		}
	if (!*sub)
		return od_usage_error("shopkeep %s: which subcommand, %s? (%s)\n", cmd, subs, hint);
	if (*sub == '-')
		return od_usage_error("shopkeep %s: the subcommand (%s) comes before '%s' (%s)\n", cmd, subs, sub, hint);
	if (!stock && (!strcmp(sub, "show") || !strcmp(sub, "retry") || !strcmp(sub, "resend") ||
		       !strcmp(sub, "deliver") || !strcmp(sub, "ship")))
		return od_cmd_action(p, sub, argc, argv, hint);
	if (strcmp(sub, "list") && (!stock || (strcmp(sub, "import") && strcmp(sub, "export"))))
		return od_usage_error("shopkeep %s: unknown subcommand '%s': %s (%s)\n", cmd, sub, subs, hint);
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (stock && strcmp(sub, "list") && (!strcmp(a, "--card") || !strncmp(a, "--card=", 7))) {
			if (!a[6] && i + 1 >= argc)
				return od_usage_error("shopkeep stock %s: --card needs a NAME (%s)\n", sub, hint);
			card = a[6] ? a + 7 : argv[++i];
		} else if (!stock && (!strcmp(a, "--limit") || !strncmp(a, "--limit=", 8))) {
			const char *v = a[7] ? a + 8 : i + 1 < argc ? argv[++i] : "";
			char *end;

			limit = strtoll(v, &end, 10);
			if (!*v || *end || limit < 1 || limit > 100000)
				return od_usage_error("shopkeep orders list: --limit needs a whole number from 1 to 100000 "
						      "(%s)\n", hint);
		} else if (a[0] == '-' && a[1]) {
			return od_usage_error("shopkeep %s %s: unknown option '%s' (%s)\n", cmd, sub, a, hint);
		} else if (stock && !strcmp(sub, "import") && !file) {
			file = a;
		} else {
			return od_usage_error("shopkeep %s %s: unexpected argument '%s' (%s)\n", cmd, sub, a, hint);
		}
	}
	if (!stock)
		return od_cmd_orders(p, limit);
	if (!strcmp(sub, "import") && !card)
		return od_usage_error("shopkeep stock import: --card NAME is required: the stock card to add to (%s)\n",
				      hint);
	if (!strcmp(sub, "export") && !card)
		return od_usage_error("shopkeep stock export: --card NAME is required: the stock card to export (%s)\n",
				      hint);
	if (!strcmp(sub, "import") && !file)
		return od_usage_error("shopkeep stock import: which CODES_FILE? one code per line, - for stdin (%s)\n",
				      hint);
	if (!*sk_rules_path(p)) {
		fprintf(stderr, "shopkeep stock: the account has no rules file (config key \"rules\"): no cards\n");
		return 1;
	}
	if (!(rs = orders_load(p))) {
		fprintf(stderr, "shopkeep stock: the rules file %s has errors (above)\n", sk_rules_path(p));
		return 1;
	}
	rc = !strcmp(sub, "import") ? od_cmd_import(p, rs, card, file) :
	     !strcmp(sub, "export") ? od_cmd_export(p, rs, card) : od_cmd_list(p, rs);
	orders_rules_free(rs);
	return rc;
}

/* ---- control commands (web/API.md) --------------------------------------------------------- */

/* stock_list {}: every card of the rules in force with its codes, the
 * numbers of `shopkeep stock list`: free, reserved, used (null for a card
 * that is not a stock card) and the card's low_stock threshold. Answers
 * {"cards": [{"name", "type", "free", "reserved", "used", "low_stock"}]}. */
static int od_ctl_stock(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	cJSON *d, *o, *arr;

	(void)ud;
	if (!st)
		return SK_ERR_STATE;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	cJSON_Delete(d);
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "cards"))) {
		cJSON_Delete(o);
		return SK_ERR_NOMEM;
	}
	for (size_t i = 0; i < st->rules->ncards; i++) {
		const od_card *c = &st->rules->cards[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "name", c->name);
		cJSON_AddStringToObject(e, "type", od_type_names[c->type]);
		if (c->type == OD_STOCK) {
			od_counts k = od_stock_counts(p, c->name);

			cJSON_AddNumberToObject(e, "free", (double)k.n[0]);
			cJSON_AddNumberToObject(e, "reserved", (double)k.n[1]);
			cJSON_AddNumberToObject(e, "used", (double)k.n[2]);
		} else {
			cJSON_AddNullToObject(e, "free");
			cJSON_AddNullToObject(e, "reserved");
			cJSON_AddNullToObject(e, "used");
		}
		cJSON_AddNumberToObject(e, "low_stock", (double)c->low_stock);
		cJSON_AddItemToArray(arr, e);
	}
	return skctl_answer(p, o);
}

/* stock_import {"card", "codes"}: adds the codes (one a line) to a stock
 * card of the rules in force as `shopkeep stock import` does, then at once
 * delivers the orders that waited for them. Answers {"card", "added",
 * "duplicates", "blank", "free"}, free counted after those orders took
 * their codes. */
static int od_ctl_import(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	const cJSON *card, *codes;
	od_imported k;
	char why[512];
	cJSON *d, *o;
	FILE *fp;
	int rc;

	(void)ud;
	if (!st)
		return SK_ERR_STATE;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	card = cJSON_GetObjectItemCaseSensitive(d, "card");
	codes = cJSON_GetObjectItemCaseSensitive(d, "codes");
	if (!cJSON_IsString(card) || !*card->valuestring) {
		rc = skctl_fail(p, SK_ERR_INVAL, "%s: card must be the name of a stock card", command);
	} else if (!od_import_card(p, st->rules, card->valuestring, why, sizeof why)) {
		rc = skctl_fail(p, SK_ERR_INVAL, "%s: %s", command, why);
	} else if (!cJSON_IsString(codes)) {
		rc = skctl_fail(p, SK_ERR_INVAL, "%s: codes must be a string, one code a line", command);
	} else if (!(fp = fmemopen(codes->valuestring, strlen(codes->valuestring), "r"))) {
		rc = skctl_fail(p, SK_ERR_NOMEM, "%s: %s", command, sk_strerror(p, SK_ERR_NOMEM));
	} else {
		rc = od_import(p, card->valuestring, fp, 0, &k, why, sizeof why);
		fclose(fp);
		if (rc < 0)
			rc = skctl_fail(p, rc, "%s: %s", command, why);
	}
	if (rc < 0) {
		cJSON_Delete(d);
		return rc;
	}
	sk_log(p, SK_LOG_INFO, "card %s: %zu codes imported, %zu duplicates and %zu blank lines skipped (control command)",
	       card->valuestring, k.added, k.dup, k.blank);
	/* What the retry timer would find within retry_s, now. */
	if (k.added)
		orders_retry(p, 1);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "card", card->valuestring);
	cJSON_AddNumberToObject(o, "added", (double)k.added);
	cJSON_AddNumberToObject(o, "duplicates", (double)k.dup);
	cJSON_AddNumberToObject(o, "blank", (double)k.blank);
	cJSON_AddNumberToObject(o, "free", (double)od_stock_counts(p, card->valuestring).n[0]);
	cJSON_Delete(d);
	return skctl_answer(p, o);
}

static const skctl_row od_controls[] = {
	{ "stock_list", "every card with its free, reserved and used codes", od_ctl_stock },
	{ "stock_import", "{card, codes}: adds codes (one a line) to a stock card", od_ctl_import },
};

/* Registers the control commands of od_controls; one the host refuses (its
 * name taken) is logged and left out: orders delivers without it. */
void orders_controls_add(sk_plugin *p)
{
	skctl_add_all(p, od_controls, sizeof od_controls / sizeof od_controls[0]);
	orders_view_controls_add(p);
	orders_action_controls_add(p);
	orders_stock_controls_add(p);
	orders_stats_controls_add(p);
}
