/* SPDX-License-Identifier: MIT */
/*
 * core/run.h - `shopkeep run`: one account in the foreground on one event loop
 * until SIGINT/SIGTERM.
 */
#ifndef SK_RUN_H
#define SK_RUN_H

#include "config.h"

/* Runs the account of a validated config; c stays owned by the caller and
 * outlives the call. SIGHUP loads c->path again and moves its live keys into c
 * (config_take_live). Returns the process exit status (0 after a clean shutdown). */
int run_main(config *c);

#endif
