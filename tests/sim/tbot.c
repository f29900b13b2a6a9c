/* SPDX-License-Identifier: MIT */
#include "tbot.h"
#include "util.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int tbot_init(tbot *b, tc_sim *sim)
{
	char tmpl[] = "/tmp/sk-bot-XXXXXX";

	memset(b, 0, sizeof *b);
	b->sim = sim;
	b->pid = -1;
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(b->dir, sizeof b->dir, "%s", tmpl);
	snprintf(b->cfg, sizeof b->cfg, "%s/account.json", b->dir);
	snprintf(b->evlog, sizeof b->evlog, "%s/events.jsonl", b->dir);
	snprintf(b->log, sizeof b->log, "%s/bot.log", b->dir);
	return 0;
}

void tbot_config(tbot *b, const char *json)
{
	FILE *f = fopen(b->cfg, "w");
	char port[16];
	const char *p = json, *q;

	if (!f)
		return;
	snprintf(port, sizeof port, "%d", b->sim->port);
	while ((q = strstr(p, "@PORT@"))) {
		fwrite(p, 1, (size_t)(q - p), f);
		fputs(port, f);
		p = q + 6;
	}
	fputs(p, f);
	fclose(f);
}

const char *tbot_build_dir(void)
{
	const char *b = getenv("SK_BUILD");

	return b ? b : "build";
}

const char *tbot_root_dir(void)
{
	const char *r = getenv("SK_ROOT");

	return r ? r : ".";
}

void tbot_start(tbot *b)
{
	char exe[512];

	snprintf(exe, sizeof exe, "%s/shopkeep", tbot_build_dir());
	b->pid = fork();
	if (b->pid == 0) {
		int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(exe, exe, "run", "--config", b->cfg, (char *)NULL);
		_exit(127);
	}
}

int tbot_stop(tbot *b, int sig)
{
	int st, i;

	if (b->pid <= 0)
		return -1;
	kill(b->pid, sig);
	for (i = 0; i < 500; i++) {
		if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
			b->pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(10000);
	}
	kill(b->pid, SIGKILL);
	waitpid(b->pid, &st, 0);
	b->pid = -1;
	return -1;
}

int tbot_alive(tbot *b)
{
	return b->pid > 0 && waitpid(b->pid, NULL, WNOHANG) == 0;
}

/* Reads the file at path into buf (at most n - 1 bytes). */
void tbot_slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(buf, 1, n - 1, f) : 0;

	buf[len] = '\0';
	if (f)
		fclose(f);
}

/* Counts the lines of file holding every needle. */
static int count_lines(const char *file, const char *n1, const char *n2, const char *n3)
{
	FILE *f = fopen(file, "r");
	char line[8192];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (strstr(line, n1) && (!n2 || strstr(line, n2)) && (!n3 || strstr(line, n3)))
			n++;
	fclose(f);
	return n;
}

int tbot_evcount(tbot *b, const char *n1, const char *n2, const char *n3)
{
	return count_lines(b->evlog, n1, n2, n3);
}

int tbot_wait_ev(tbot *b, const char *n1, const char *n2, const char *n3, int want, int timeout_ms)
{
	int64_t t0 = util_mono_us();

	while (util_mono_us() - t0 < (int64_t)timeout_ms * 1000) {
		if (tbot_evcount(b, n1, n2, n3) >= want)
			return 1;
		usleep(20000);
	}
	return 0;
}

int tbot_log_has(tbot *b, const char *needle)
{
	return count_lines(b->log, needle, NULL, NULL) > 0;
}

void tbot_done(tbot *b, int keep)
{
	char cmd[600];

	if (b->pid > 0)
		tbot_stop(b, SIGKILL);
	if (keep) {
		snprintf(cmd, sizeof cmd, "tail -n 40 %s | sed 's/^/# bot: /'", b->log);
		if (system(cmd) < 0)
			printf("# cannot show %s\n", b->log);
		return;
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", b->dir);
	if (system(cmd) < 0)
		printf("# cannot remove %s\n", b->dir);
}

double tsim_stat(tc_sim *s, const char *name)
{
	cJSON *st = tc_ctl(s->ctl_port, "GET", "/state", NULL, NULL);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, "stats"), name);
	double r = cJSON_IsNumber(v) ? v->valuedouble : -1;

	cJSON_Delete(st);
	return r;
}

long tsim_wait_stat(tc_sim *s, const char *name, double want, int timeout_ms)
{
	int64_t t0 = util_mono_us();

	while (util_mono_us() - t0 < (int64_t)timeout_ms * 1000) {
		if (tsim_stat(s, name) >= want)
			return (long)((util_mono_us() - t0) / 1000);
		usleep(20000);
	}
	return -1;
}

int tsim_ctl(tc_sim *s, const char *path, const char *body)
{
	int st = 0;

	cJSON_Delete(tc_ctl(s->ctl_port, "POST", path, body, &st));
	if (st != 200)
		printf("# control %s %s -> %d\n", path, body, st);
	return st;
}

int tsim_delivered(tc_sim *s, const char *text)
{
	cJSON *r = tc_ctl(s->ctl_port, "GET", "/sent?since=0&what=/r/MessageSend/sendByReceiverScope", NULL, NULL);
	cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames")) {
		const cJSON *txt = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "content"), "text"), "text");
		const cJSON *mid = cJSON_GetObjectItemCaseSensitive(e, "message_id");

		if (cJSON_IsString(txt) && !strcmp(txt->valuestring, text) && cJSON_IsString(mid) &&
		    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "repeat")))
			n++;
	}
	cJSON_Delete(r);
	return n;
}

const char *tsim_said(tc_sim *s, const char *cid, int *n)
{
	static char buf[4096];
	cJSON *r = tc_ctl(s->ctl_port, "GET", "/sent?since=0&what=/r/MessageSend/sendByReceiverScope", NULL, NULL), *e;
	size_t len = 0;
	int k = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames")) {
		const char *c = tc_jstr(e, "cid"), *t = tc_jstr(e, "content.text.text");

		if (!c || strcmp(c, cid) || !t || !tc_jstr(e, "message_id") ||
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "repeat")))
			continue;
		k++;
		if (len < sizeof buf)
			len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? "|" : "", t);
	}
	cJSON_Delete(r);
	if (n)
		*n = k;
	return buf;
}

int tsim_wait_delivered(tc_sim *s, const char *text, int want, int timeout_ms)
{
	int64_t t0 = util_mono_us();

	while (util_mono_us() - t0 < (int64_t)timeout_ms * 1000) {
		if (tsim_delivered(s, text) >= want)
			return 1;
		usleep(30000);
	}
	return 0;
}

int tbot_db_text(const char *path, const char *sql, char *out, size_t n)
{
	sqlite3 *d = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	*out = '\0';
	if (sqlite3_open_v2(path, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(d, 3000);
	if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		snprintf(out, n, "%s", t ? (const char *)t : "");
		rc = 0;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(d);
	return rc;
}

const char *tbot_order_col(const char *path, const char *oid, const char *col)
{
	static char v[600];
	char sql[200];

	snprintf(sql, sizeof sql, "SELECT %s FROM orders_order WHERE order_id = '%s'", col, oid);
	if (tbot_db_text(path, sql, v, sizeof v))
		snprintf(v, sizeof v, "(no order)");
	return v;
}

int tbot_wait_order(const char *path, const char *oid, const char *col, const char *want, int timeout_ms)
{
	int64_t t0 = util_mono_us();

	while (util_mono_us() - t0 < (int64_t)timeout_ms * 1000) {
		if (!strcmp(tbot_order_col(path, oid, col), want))
			return 1;
		usleep(30000);
	}
	return 0;
}

int tbot_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &n))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

void tbot_setup_token(const tbot *b, char *out, size_t n)
{
	char line[1024];
	FILE *f = fopen(b->log, "r");

	*out = '\0';
	while (f && fgets(line, sizeof line, f)) {
		char *p = strstr(line, "setup token ");

		if (p)
			snprintf(out, n, "%.*s", (int)strcspn(p + 12, " \n"), p + 12);
	}
	if (f)
		fclose(f);
}

const char *tbot_sh(const char *cmd, int *status)
{
	static char out[8192];
	size_t n = 0, r;
	FILE *p = popen(cmd, "r");
	int st;

	out[0] = '\0';
	if (!p) {
		*status = -1;
		return out;
	}
	while (n < sizeof out - 1 && (r = fread(out + n, 1, sizeof out - 1 - n, p)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

const char *tbot_ctl(tbot *b, const char *command, const char *data, int *status)
{
	char cmd[1500];

	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' ctl --config '%s' %s '%s' 2>&1", tbot_build_dir(), b->cfg,
		 command, data ? data : "{}");
	return tbot_sh(cmd, status);
}
