/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_tls.c - the real bot's TLS trust: the platform
 * vhost does not load the OS CA bundle at start (50 ms of OpenSSL 3 parsing,
 * make bench found it) but the OS CA directory, read per chain. A TLS server
 * of its own here, with a certificate from a CA made here: trusted when the
 * CA is in the CA directory (SSL_CERT_DIR, hashed name) or in
 * platform.ca_file, refused when it is in neither.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

/* A certificate for key, signed by ca_key (ca NULL: self-signed, a CA). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 2 : 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : X509_get_subject_name(x));
	X509V3_set_ctx(&v3, ca ? ca : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, ca ? NID_subject_alt_name : NID_basic_constraints,
				  ca ? "DNS:localhost,IP:127.0.0.1" : "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, ca_key ? ca_key : key, EVP_sha256());
	return x;
}

static void write_pem(const char *path, X509 *x, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	if (x)
		PEM_write_X509(f, x);
	if (key)
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* The TLS server (a child): accepts, and for each connection appends to log
 * "ok <request line>" or "failed", answers 500 and closes; until SIGTERM.
 * Returns then, for the child to free what it has and exit. */
static void serve(int lfd, const char *pem, const char *log)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	signal(SIGTERM, on_term);
	if (SSL_CTX_use_certificate_file(ctx, pem, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, pem, SSL_FILETYPE_PEM) != 1)
		stop = 1;
	while (!stop) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		char buf[2048] = "";
		FILE *f;
		SSL *ssl;
		int fd, n;

		if (poll(&pfd, 1, 100) != 1 || (fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		f = fopen(log, "a");
		if (SSL_accept(ssl) == 1 && (n = SSL_read(ssl, buf, sizeof buf - 1)) > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\r\n")] = '\0';
			if (f)
				fprintf(f, "ok %s\n", buf);
			static const char ans[] = "HTTP/1.1 500 x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

			SSL_write(ssl, ans, (int)sizeof ans - 1);
		} else if (f) {
			fprintf(f, "failed\n");
		}
		if (f)
			fclose(f);
		SSL_free(ssl);
		close(fd);
	}
	SSL_CTX_free(ctx);
}

/* Lines of file starting with prefix. */
static int count(const char *file, const char *prefix)
{
	char line[4096];
	FILE *f = fopen(file, "r");
	int n = 0;

	while (f && fgets(line, sizeof line, f))
		n += !strncmp(line, prefix, strlen(prefix));
	if (f)
		fclose(f);
	return n;
}

/* Runs the bot with SSL_CERT_DIR=cadir until the server logged a connection
 * (3 s at most). Returns 1 when the server saw the token call. */
static int run_bot(tbot *b, const char *cadir, const char *log)
{
	int64_t t0;
	int got;

	unlink(log);
	setenv("SSL_CERT_DIR", cadir, 1);
	tbot_start(b);
	for (t0 = util_mono_us(); util_mono_us() - t0 < 3000000 && !count(log, "ok") && !count(log, "failed");)
		usleep(20000);
	usleep(100000);
	got = count(log, "ok POST /h5/mtop.taobao.idlemessage.pc.login.token/");
	tbot_stop(b, SIGTERM);
	unsetenv("SSL_CERT_DIR");
	return got > 0;
}

int main(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	char path[300], trusted[200], empty[200], srv_pem[200], log[200], json[1024];
	EVP_PKEY *ca_key, *key;
	tc_sim fake = { .pid = -1, .out_fd = -1 };
	X509 *ca, *crt;
	tbot bot;
	pid_t srv;
	int lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(dir, sizeof dir, "/tmp/sk_test_tls.XXXXXX");
	if (!ok(mkdtemp(dir) != NULL, "temp dir"))
		return tap_done();
	ca_key = EVP_EC_gen("P-256");
	key = EVP_EC_gen("P-256");
	ca = make_cert(ca_key, "shopkeep test CA", NULL, NULL);
	crt = make_cert(key, "localhost", ca, ca_key);
	snprintf(trusted, sizeof trusted, "%s/trusted", dir);
	snprintf(empty, sizeof empty, "%s/empty", dir);
	snprintf(srv_pem, sizeof srv_pem, "%s/server.pem", dir);
	snprintf(log, sizeof log, "%s/server.log", dir);
	mkdir(trusted, 0700);
	mkdir(empty, 0700);
	/* a CA directory as c_rehash makes it: <subject hash>.0 */
	snprintf(path, sizeof path, "%s/%08lx.0", trusted, X509_NAME_hash_ex(X509_get_subject_name(ca), NULL, NULL, NULL));
	write_pem(path, ca, NULL);
	snprintf(path, sizeof path, "%s/ca.pem", dir);
	write_pem(path, ca, NULL);
	write_pem(srv_pem, crt, key);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ok(lfd >= 0 && !bind(lfd, (struct sockaddr *)&sa, sizeof sa) && !listen(lfd, 8) &&
		!getsockname(lfd, (struct sockaddr *)&sa, &sl), "a TLS server listens"))
		return tap_done();
	if ((srv = fork()) == 0) {
		serve(lfd, srv_pem, log);
		X509_free(ca);
		X509_free(crt);
		EVP_PKEY_free(ca_key);
		EVP_PKEY_free(key);
		close(lfd);
		_exit(0);
	}
	close(lfd);
	fake.port = ntohs(sa.sin_port);

	if (tbot_init(&bot, &fake))
		return tap_done();
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"tls\",\"cookie\":\"unb=2200000000066; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"wss://localhost:@PORT@/\",\"api_url\":\"https://localhost:@PORT@/h5/\"},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"}}\n");
	tbot_config(&bot, json);
	ok(run_bot(&bot, trusted, log), "the CA in the CA directory (SSL_CERT_DIR): the handshake verifies, the token call is made");
	ok(!run_bot(&bot, empty, log) && count(log, "failed") > 0, "the CA nowhere: the certificate is refused");
	ok(tbot_log_has(&bot, "unable to get local issuer certificate"), "and the log says why");
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"tls\",\"cookie\":\"unb=2200000000066; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"wss://localhost:@PORT@/\",\"api_url\":\"https://localhost:@PORT@/h5/\","
		 "\"ca_file\":\"%s/ca.pem\"},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"}}\n", dir);
	tbot_config(&bot, json);
	ok(run_bot(&bot, empty, log), "the CA in platform.ca_file: trusted as well");

	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	tbot_done(&bot, tap_failed);
	X509_free(ca);
	X509_free(crt);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path) != 0)
		diag("could not remove %s", dir);
	return tap_done();
}
