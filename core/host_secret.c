/* SPDX-License-Identifier: MIT */
/*
 * core/host_secret.c - sk_seal and sk_unseal (ABI 1.6): a plugin's secrets
 * (an API key) encrypted with the account's key file, as the cookie is
 * (core/secret.c). What is sealed is "sk-plugin:<name>\n" then the secret,
 * so one plugin's sealed text does not open as another's; a secret file made
 * by `shopkeep secret set` (no such first line) opens for any plugin.
 */
#include "host_int.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_SEAL_MARK "sk-plugin:"

/* The plugin of p and the account's key file, or an sk_rc (logged). */
static int host_secret_key(sk_plugin *p, const char *fn, host_plug **pl, const char **key)
{
	int rc;

	if ((rc = host_check(p, fn, pl)))
		return rc;
	*key = (*pl)->h->cfg.key_file;
	if (!*key || !**key) {
		host_plog(*pl, SK_LOG_WARN, "%s: the account has no key file (account.key_file)", fn);
		return SK_ERR_CONFIG;
	}
	return SK_OK;
}

int host_seal(sk_plugin *p, const char *plaintext, char **sealed_out)
{
	char err[600] = "", *buf;
	const char *key;
	host_plug *pl;
	size_t n;
	int rc;

	if (sealed_out)
		*sealed_out = NULL;
	if ((rc = host_secret_key(p, __func__, &pl, &key)))
		return rc;
	if (!sealed_out || !plaintext || (n = strlen(plaintext)) > SECRET_MAX - 64)
		return SK_ERR_INVAL;
	if (!(buf = malloc(sizeof HOST_SEAL_MARK + strlen(pl->name) + 1 + n)))
		return SK_ERR_NOMEM;
	sprintf(buf, "%s%s\n%s", HOST_SEAL_MARK, pl->name, plaintext);
	rc = secret_seal(key, buf, sealed_out, err, sizeof err);
	secret_free(buf);
	if (rc) {
		host_plog(pl, SK_LOG_ERR, "seal: %s", err);
		return rc == SECRET_ESYS ? SK_ERR_NOMEM : SK_ERR_IO;
	}
	return SK_OK;
}

int host_unseal(sk_plugin *p, const char *sealed, char **plaintext_out)
{
	char err[600] = "", *plain = NULL, *nl;
	const char *key, *body;
	host_plug *pl;
	size_t n;
	int rc;

	if (plaintext_out)
		*plaintext_out = NULL;
	if ((rc = host_secret_key(p, __func__, &pl, &key)))
		return rc;
	if (!plaintext_out || !sealed)
		return SK_ERR_INVAL;
	if ((rc = secret_open(key, "sealed text", sealed, strlen(sealed), &plain, err, sizeof err))) {
		host_plog(pl, SK_LOG_WARN, "unseal: %s", err);
		return rc == SECRET_ESYS ? SK_ERR_NOMEM : rc == SECRET_EKEY ? SK_ERR_IO : SK_ERR_INVAL;
	}
	body = plain;
	if (!strncmp(plain, HOST_SEAL_MARK, sizeof HOST_SEAL_MARK - 1)) {
		n = strlen(pl->name);
		nl = strchr(plain, '\n');
		if (!nl || (size_t)(nl - plain) != sizeof HOST_SEAL_MARK - 1 + n ||
		    strncmp(plain + sizeof HOST_SEAL_MARK - 1, pl->name, n)) {
			host_plog(pl, SK_LOG_WARN, "unseal: sealed for another plugin");
			secret_free(plain);
			return SK_ERR_INVAL;
		}
		body = nl + 1;
	}
	*plaintext_out = host_strdup(body);
	secret_free(plain);
	return *plaintext_out ? SK_OK : SK_ERR_NOMEM;
}
