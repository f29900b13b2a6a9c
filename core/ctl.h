/* SPDX-License-Identifier: MIT */
/*
 * core/ctl.h - the local control socket: a unix-domain socket (control.socket,
 * by default <account id>.sock next to state.db) that the running process
 * serves on its lws loop, for `shopkeep status` and `shopkeep ctl` on the same
 * machine. It speaks the control envelope of the web API (web/API.md, POST
 * /api/control): one JSON request per line in, one JSON answer per line out,
 * answered by core/api.c. No password: the socket is mode 0600 and a peer
 * must be of the process's own uid, or root (SO_PEERCRED).
 */
#ifndef SK_CTL_H
#define SK_CTL_H

#include <sys/types.h>

#include <stddef.h>

#include "api.h"

struct lws_context;
typedef struct ctl ctl;

/* A request line, or the bytes sent before a newline, may be this long. */
#define CTL_MAX_LINE (64 * 1024)

/* Starts serving env->cfg's control.socket on ctx (a context made with
 * EXPLICIT_VHOSTS). Answers come from a, the web page's API, when it is not
 * NULL; else from an API of its own made from env (copied; the pointers in
 * it are borrowed and must outlive the ctl). A stale socket file (nobody listens) is
 * replaced; a file that is not a socket is left alone.
 * Returns 0 with *out set, NULL when control.socket is off or the socket
 * cannot be made (logged: the account runs without it); or -1 (logged)
 * when another process answers on the socket: the account is running
 * already, and this process must not run it too. */
int ctl_start(ctl **out, struct lws_context *ctx, api_ctx *a, const api_env *env);
/* After lws_context_destroy (which closed every connection): removes the
 * socket file if it is still the one this process made, logs the counters
 * and frees. NULL is ignored. */
void ctl_free(ctl *c);

/* The client side. ctl_call's results. */
enum { CTL_OK = 0, CTL_NOT_RUNNING = -1, CTL_FAIL = -2 };

/* Sends request (one line of JSON, no newline) to the socket at path and
 * reads one answer line, waiting at most timeout_ms in all. Returns CTL_OK
 * with *answer (malloc'd, without its newline), CTL_NOT_RUNNING when no
 * process listens there (no socket file, or a stale one), or CTL_FAIL; both
 * with the reason in err. */
int ctl_call(const char *path, const char *request, int timeout_ms, char **answer, char *err, size_t errlen);
/* Checks, before a client talks to the socket at path, who owns it: the
 * file (and a symlink at path, which is followed) must belong to the caller
 * (euid), to root, or to account_uid, the account's user (the owner of its
 * state.db; (uid_t)-1 when unknown). Whoever else owns it may have put it
 * there to read what is asked and answer lies, also to root (whom the
 * SO_PEERCRED check of ctl_call lets talk to anyone). Returns 0, also when
 * nothing is at path (ctl_call then says the account is not running), or -1
 * with the reason and the fix in err. */
int ctl_check_owner(const char *path, uid_t account_uid, char *err, size_t errlen);

#endif
