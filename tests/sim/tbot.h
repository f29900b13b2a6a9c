/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/tbot.h - integration-test helpers: run the real build/shopkeep
 * against a running simulator and look at what happened (the simulator's
 * counters and sent log, the bot's event log and stderr).
 */
#ifndef SK_TBOT_H
#define SK_TBOT_H

#include <stddef.h>
#include <sys/types.h>

#include "tclient.h"

typedef struct {
	tc_sim *sim;
	char dir[256];           /* a temp dir: config, state.db, logs */
	char cfg[300];           /* <dir>/account.json */
	char evlog[300];         /* <dir>/events.jsonl */
	char log[300];           /* <dir>/bot.log: the bot's stdout and stderr */
	pid_t pid;
} tbot;

/* $SK_BUILD (the build directory, default "build") and $SK_ROOT (the
 * checkout, default "."). */
const char *tbot_build_dir(void);
const char *tbot_root_dir(void);
/* Makes the temp dir. 0 or -1. */
int tbot_init(tbot *b, tc_sim *sim);
/* Writes the config: json with every "@PORT@" replaced by the simulator's port. */
void tbot_config(tbot *b, const char *json);
/* Starts "$SK_BUILD/shopkeep run --config <cfg>". */
void tbot_start(tbot *b);
/* Sends sig and waits (5 s, then SIGKILL): the exit status, 128+signal, or -1. */
int tbot_stop(tbot *b, int sig);
int tbot_alive(tbot *b);
/* Lines of the event log holding every given needle (b, c may be NULL). */
int tbot_evcount(tbot *b, const char *n1, const char *n2, const char *n3);
int tbot_wait_ev(tbot *b, const char *n1, const char *n2, const char *n3, int want, int timeout_ms);
/* Whether the bot's log has a line containing needle. */
int tbot_log_has(tbot *b, const char *needle);
/* Runs a shell command line: its output (what it writes to stdout; add 2>&1
 * for stderr) in a static buffer, *status its exit status (-1 when it did not
 * exit). */
const char *tbot_sh(const char *cmd, int *status);
/* Runs "shopkeep ctl --config <cfg> COMMAND 'DATA'" (data NULL: {}) against
 * the bot, 20 s at most: its output (static, as tbot_sh), the exit status in
 * *status. */
const char *tbot_ctl(tbot *b, const char *command, const char *data, int *status);
/* A loopback port nothing listens on now (bound to 0, read, closed), 0 on failure. */
int tbot_free_port(void);
/* Reads the file at path into buf (at most n - 1 bytes, NUL-terminated; "" when it cannot be read). */
void tbot_slurp(const char *path, char *buf, size_t n);
/* The web page's setup token the bot logged (its last one) into out, "" if none. */
void tbot_setup_token(const tbot *b, char *out, size_t n);
/* Removes the temp dir unless keep (then prints the log's tail as TAP comments). */
void tbot_done(tbot *b, int keep);

/* A counter of the simulator's GET /state stats, -1 if absent. */
double tsim_stat(tc_sim *s, const char *name);
/* Polls until the counter reaches want: the ms it took, or -1. */
long tsim_wait_stat(tc_sim *s, const char *name, double want, int timeout_ms);
/* A POST control call; returns the HTTP status (logs non-200 as a TAP comment). */
int tsim_ctl(tc_sim *s, const char *path, const char *body);
/* How many accepted sends (not repeats, not refused) of exactly this text the
 * simulator recorded: what the buyer saw. */
int tsim_delivered(tc_sim *s, const char *text);
/* The texts delivered (accepted, not repeats) in chat cid, in order, joined
 * by "|" (a static buffer); *n (may be NULL) their count. */
const char *tsim_said(tc_sim *s, const char *cid, int *n);
/* Waits until tsim_delivered(text) reaches want: 1, or 0 after timeout_ms. */
int tsim_wait_delivered(tc_sim *s, const char *text, int want, int timeout_ms);

/* The first column of sql's first row in the state database at path (read
 * only, waiting up to 3 s for a lock) into out: 0, or -1 with out "". */
int tbot_db_text(const char *path, const char *sql, char *out, size_t n);
/* The column col of order oid in orders_order, "(no order)" when none
 * (a static buffer: the next call overwrites it). */
const char *tbot_order_col(const char *path, const char *oid, const char *col);
/* Waits until tbot_order_col is want: 1, or 0 after timeout_ms. */
int tbot_wait_order(const char *path, const char *oid, const char *col, const char *want, int timeout_ms);

#endif
