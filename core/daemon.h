/* SPDX-License-Identifier: MIT */
/*
 * core/daemon.h - detaching `shopkeep run --daemon` from its terminal: a
 * locked pidfile and a log file.
 */
#ifndef SK_DAEMON_H
#define SK_DAEMON_H

#include <stddef.h>

/* Detaches: returns 0 in the daemon (its stdout and stderr appended to
 * logfile, stdin /dev/null, cwd /, the pidfile locked with its pid and
 * removed at exit), 1 in the starting process once the daemon is up, or -1
 * there with the reason in err (already running, the pidfile or the log
 * cannot be opened). */
int daemon_start(const char *pidfile, const char *logfile, char *err, size_t errlen);
/* SIGHUP in a daemon: opens its log file again (after logrotate moved it).
 * 0, also when not a daemon; -1 (errno) when it cannot: the old one stays. */
int daemon_reopen_log(void);

#endif
