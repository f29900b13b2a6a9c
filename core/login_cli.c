/* SPDX-License-Identifier: MIT */
/*
 * core/login_cli.c - `shopkeep login` (see login_cli.h): its own lws loop
 * with one client vhost, the login of core/login.c, the code drawn with
 * core/qr.c, the cookie checked as the running process checks it
 * (login_cookie_check) and sealed with core/secret.c, then cookie_reload
 * through the control socket.
 */
#include "login_cli.h"
#include "ctl.h"
#include "http.h"
#include "login.h"
#include "qr.h"
#include "relogin.h"
#include "secret.h"
#include "sign.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t cli_stop;
static struct lws_context *cli_ctx;

/* SIGINT/SIGTERM: the login is cancelled. */
static void cli_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
	if (cli_ctx)
		lws_cancel_service(cli_ctx);
}

typedef struct {
	login_state shown;
	int code_drawn;
	int color;
} cli_state;

/* Prints the code once it is made, and each state as it changes. */
static void cli_on_state(void *ud, login *l)
{
	cli_state *cs = ud;
	login_state st = login_get_state(l);

	if (st == LOGIN_NEW && !cs->code_drawn && *login_code_url(l)) {
		char *t = qr_terminal(login_code_url(l), cs->color, NULL);

		cs->code_drawn = 1;
		if (t) {
			fputs("\n", stdout);
			fputs(t, stdout);
			fputs("\n", stdout);
			free(t);
		} else {
			printf("(the QR code cannot be drawn; its content: %s)\n", login_code_url(l));
		}
	} else if (st == cs->shown) {
		return;
	}
	cs->shown = st;
	printf("[%s] %s / %s\n", login_state_name(st), login_message(l, 1), login_message(l, 0));
	if (st == LOGIN_VERIFY && *login_verify_url(l))
		printf("  验证链接 / verification link: %s\n", login_verify_url(l));
	fflush(stdout);
	lws_cancel_service(cli_ctx);
}

/* The unb of the cookie already sealed at target (the account's, for the
 * identity guard), "" when there is none or it cannot be read. */
static void cli_old_unb(const config *c, const char *target, char out[64])
{
	char *plain = NULL, *unb = NULL, err[600];

	out[0] = '\0';
	if (access(target, F_OK) || secret_get(c->key_file, target, &plain, err, sizeof err))
		return;
	unb = cookie_get(plain, "unb");
	if (unb && strlen(unb) < 64)
		snprintf(out, 64, "%s", unb);
	free(unb);
	secret_free(plain);
}

/* Tells the running process to take the new cookie (cookie_reload). Returns
 * LOGIN_CLI_OK (taken, or not running: said which) or LOGIN_CLI_NOT_TAKEN. */
static int cli_tell_process(const config *c)
{
	char err[700], *text = NULL;
	struct stat st;
	cJSON *ans, *data;
	int r;

	if (!c->ctl_socket) {
		printf("control.socket is off: a running process of account %s takes the new login when it is "
		       "started again\n", c->account_id);
		return LOGIN_CLI_OK;
	}
	if (ctl_check_owner(c->ctl_socket, stat(c->state_db, &st) ? (uid_t)-1 : st.st_uid, err, sizeof err)) {
		fprintf(stderr, "shopkeep login: the running process was not told: %s\n", err);
		return LOGIN_CLI_NOT_TAKEN;
	}
	r = ctl_call(c->ctl_socket, "{\"request_id\":1,\"command\":\"cookie_reload\"}", 10000, &text, err, sizeof err);
	if (r == CTL_NOT_RUNNING) {
		printf("account %s is not running: it uses the new login when started\n", c->account_id);
		return LOGIN_CLI_OK;
	}
	if (r) {
		fprintf(stderr, "shopkeep login: the running process was not told: %s; restart it to use the new "
			"login\n", err);
		return LOGIN_CLI_NOT_TAKEN;
	}
	ans = cJSON_Parse(text);
	free(text);
	data = cJSON_GetObjectItemCaseSensitive(ans, "data");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "success"))) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(data, "state");

		printf("the running process of account %s took the new login (session %s)\n", c->account_id,
		       cJSON_IsString(s) ? s->valuestring : "?");
		cJSON_Delete(ans);
		return LOGIN_CLI_OK;
	}
	{
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "error");

		fprintf(stderr, "shopkeep login: the running process refused the new login: %s; restart it to use "
			"it\n", cJSON_IsString(e) ? e->valuestring : "no answer");
	}
	cJSON_Delete(ans);
	return LOGIN_CLI_NOT_TAKEN;
}

/* The lws context and client vhost of the login's requests. 0, or -1. */
static int cli_lws(const config *c, struct lws_vhost **vh)
{
	static struct lws_protocols protocols[2];
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.fd_limit_per_thread = 64;
	if (!(cli_ctx = lws_create_context(&info)))
		return -1;
	memset(protocols, 0, sizeof protocols);
	protocols[0] = http_protocol;
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.vhost_name = "login";
	info.protocols = protocols;
	info.client_ssl_ca_filepath = c->ca_file;
	info.timeout_secs = (unsigned)c->connect_timeout_s;
	info.connect_timeout_secs = (unsigned)c->connect_timeout_s;
	if (!(*vh = lws_create_vhost(cli_ctx, &info)))
		return -1;
	return 0;
}

int login_cli_run(config *c, const char *path)
{
	char *target = NULL, old_unb[64], unb[64], err[1024];
	const char *why;
	struct lws_vhost *vh = NULL;
	cli_state cs = { LOGIN_IDLE, 0, isatty(STDOUT_FILENO) };
	login_opts o;
	login *l = NULL;
	int rc = LOGIN_CLI_FAILED, had_key;

	if (c->cookie || c->cookie_file) {
		fprintf(stderr, "shopkeep login: %s keeps the cookie in plaintext (%s): remove that key from the config "
			"first; the login then goes encrypted into account.cookie_secret (default <config dir>/%s.cookie.secret)"
			"\n", path, c->cookie_file ? "account.cookie_file" : "account.cookie", c->account_id);
		return LOGIN_CLI_FAILED;
	}
	if (!c->key_file || !(target = c->cookie_secret ? strdup(c->cookie_secret) : config_default_cookie_secret(c))) {
		fprintf(stderr, "shopkeep login: account.id is not a plain file name (letters, digits, '.', '_', '-'): "
			"set account.key_file and account.cookie_secret in %s\n", path);
		free(target);
		return LOGIN_CLI_FAILED;
	}
	cli_old_unb(c, target, old_unb);
	lws_set_log_level(LLL_ERR, NULL);
	if (cli_lws(c, &vh)) {
		fputs("shopkeep login: cannot start libwebsockets\n", stderr);
		goto out;
	}
	memset(&o, 0, sizeof o);
	o.ctx = cli_ctx;
	o.vh = vh;
	o.passport_url = c->passport_url;
	o.api_url = c->api_url;
	o.tls_verify = c->tls_verify;
	o.request_timeout_s = c->request_timeout_s;
	o.poll_ms = c->login_poll_ms;
	o.timeout_s = c->login_timeout_s;
	o.on_state = cli_on_state;
	o.ud = &cs;
	signal(SIGINT, cli_signal);
	signal(SIGTERM, cli_signal);
	printf("logging in account %s: scan the code with the Xianyu app (Ctrl-C stops)\n", c->account_id);
	printf("请用闲鱼 App 扫描下面的二维码登录账号 %s（Ctrl-C 退出）\n", c->account_id);
	fflush(stdout);
	if (!(l = login_start(&o))) {
		fputs("shopkeep login: out of memory\n", stderr);
		goto out;
	}
	while (!login_state_final(login_get_state(l))) {
		if (cli_stop) {
			login_cancel(l);
			break;
		}
		if (lws_service(cli_ctx, 0) < 0)
			break;
	}
	if (login_get_state(l) != LOGIN_DONE) {
		if (!login_state_final(login_get_state(l)))
			fputs("shopkeep login: the loop stopped\n", stderr);
		goto out;
	}
	if ((why = login_cookie_check(login_cookie(l), old_unb, unb))) {
		fprintf(stderr, "shopkeep login: the new login is not used: %s%s%s%s\n", why, *old_unb ? " (this account is unb " : "",
			old_unb, *old_unb ? ")" : "");
		goto out;
	}
	had_key = access(c->key_file, F_OK) == 0;
	if (secret_set(c->key_file, target, login_cookie(l), err, sizeof err)) {
		fprintf(stderr, "shopkeep login: the login could not be saved: %s\n", err);
		goto out;
	}
	printf("logged in as unb %s; the cookie is sealed into %s\n", unb, target);
	if (!had_key)
		printf("a new key was made: %s (mode 0600); keep it: without it the cookie cannot be decrypted\n",
		       c->key_file);
	fflush(stdout);
	rc = cli_tell_process(c);
out:
	login_free(l);
	if (cli_ctx)
		lws_context_destroy(cli_ctx);
	cli_ctx = NULL;
	http_free_all();
	free(target);
	return rc;
}
