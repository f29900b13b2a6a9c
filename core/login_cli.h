/* SPDX-License-Identifier: MIT */
/*
 * core/login_cli.h - `shopkeep login --config FILE`: a QR-code login from
 * the terminal (core/login.c), its cookie sealed into the account's secret
 * file, and the running process of the account told to take it.
 */
#ifndef SK_LOGIN_CLI_H
#define SK_LOGIN_CLI_H

#include "config.h"

/* The exit statuses of shopkeep login. */
enum {
	LOGIN_CLI_OK = 0,         /* logged in; the cookie is sealed (and a running process took it) */
	LOGIN_CLI_FAILED = 1,     /* not logged in: expired, cancelled, refused, or the config/secret failed */
	LOGIN_CLI_USAGE = 2,
	LOGIN_CLI_NOT_TAKEN = 4   /* logged in and sealed, but the running process did not take it */
};

/* Runs the login for the config c (loaded with CONFIG_NO_COOKIE from
 * path). Prints the QR code and each state on stdout, errors on stderr,
 * never the cookie. Returns one of the statuses above. */
int login_cli_run(config *c, const char *path);

#endif
