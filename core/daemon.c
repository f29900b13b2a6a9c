/* SPDX-License-Identifier: MIT */
/*
 * core/daemon.c - `shopkeep run --daemon` for machines without systemd
 * (core/daemon.h).
 *
 * The classic double fork: the parent waits on a pipe until the daemon has
 * its pidfile locked and written and its log open, then exits 0 (or 1 with
 * the daemon's reason), so a failure to start is seen by whoever started it.
 * The pidfile is held with flock() for the daemon's life: a second start
 * finds it locked and refuses, and a stale file left by a crash (no lock)
 * is simply taken over. It is removed at a normal exit.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char daemon_pidpath[4096];
static int daemon_pidfd = -1;

/* atexit: the pidfile goes with the process (only the daemon registers it). */
static void daemon_cleanup(void)
{
	if (daemon_pidfd >= 0) {
		unlink(daemon_pidpath);
		close(daemon_pidfd);
		daemon_pidfd = -1;
	}
}

/* In the daemon: tells the waiting parent "ok" or why not, then closes the pipe. */
static void daemon_report(int fd, const char *msg)
{
	size_t n = strlen(msg);

	if (write(fd, msg, n) != (ssize_t)n)
		_exit(1);
	close(fd);
}

/* Takes the pidfile: locked, truncated, our pid. 0, or -1 with err set. */
static int daemon_pidfile(const char *path, char *err, size_t errlen)
{
	char buf[32];
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ssize_t n = read(fd, buf, sizeof buf - 1);

		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen, "already running (pid %s, pidfile %s)", buf[0] ? buf : "?", path);
		close(fd);
		return -1;
	}
	snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	/* 0600 also when an older version made it 0644 */
	if (fchmod(fd, 0600)) {
		snprintf(err, errlen, "pidfile %s: cannot make it 0600 (%s): it is not yours; remove it or choose "
			 "another --pidfile", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (ftruncate(fd, 0) || pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf) || fsync(fd)) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(daemon_pidpath, sizeof daemon_pidpath, "%s", path);
	daemon_pidfd = fd;
	return 0;
}

/* path made absolute against the current directory into out (the daemon
 * moves to /). 0, or -1 when it does not fit. */
static int daemon_abs(const char *path, char *out, size_t n)
{
	char cwd[4096];

	if (path[0] == '/')
		return snprintf(out, n, "%s", path) < (int)n ? 0 : -1;
	if (!getcwd(cwd, sizeof cwd))
		return -1;
	return snprintf(out, n, "%s/%s", cwd, path) < (int)n ? 0 : -1;
}

/* The daemon's log file (absolute), "" when not a daemon. */
static char daemon_logfile[4096];

int daemon_reopen_log(void)
{
	int fd;

	if (!daemon_logfile[0])
		return 0;
	fd = open(daemon_logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int daemon_start(const char *pidfile_in, const char *logfile_in, char *err, size_t errlen)
{
	char msg[600], pidfile[4096], logfile[4096];
	int p[2], fd, st;
	ssize_t n;
	pid_t pid;

	if (daemon_abs(pidfile_in, pidfile, sizeof pidfile) || daemon_abs(logfile_in, logfile, sizeof logfile)) {
		snprintf(err, errlen, "the pidfile or log path is too long");
		return -1;
	}
	if (pipe(p)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		/* the starting process: wait for the daemon's word */
		close(p[1]);
		n = read(p[0], msg, sizeof msg - 1);
		close(p[0]);
		waitpid(pid, &st, 0);
		msg[n > 0 ? n : 0] = '\0';
		if (!strcmp(msg, "ok"))
			return 1;
		snprintf(err, errlen, "%s", n > 0 ? msg : "the daemon died while starting");
		return -1;
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);   /* the session leader goes: the daemon can never get a terminal again */
	if (daemon_pidfile(pidfile, msg, sizeof msg)) {
		daemon_report(p[1], msg);
		_exit(1);
	}
	/* The log holds buyers' messages: the account's user's alone, also a
	 * log an older version made 0640. */
	fd = open(logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && fchmod(fd, 0600)) {
		snprintf(msg, sizeof msg, "log %s: cannot make it 0600 (%s): it is not yours; remove it or choose "
			 "another --log", logfile, strerror(errno));
		unlink(pidfile);
		daemon_report(p[1], msg);
		_exit(1);
	}
	if (fd < 0) {
		snprintf(msg, sizeof msg, "log %s: %s", logfile, strerror(errno));
		unlink(pidfile);
		daemon_report(p[1], msg);
		_exit(1);
	}
	umask(077);
	if (chdir("/") || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
		snprintf(msg, sizeof msg, "log %s: %s", logfile, strerror(errno));
		unlink(pidfile);
		daemon_report(p[1], msg);
		_exit(1);
	}
	close(fd);
	snprintf(daemon_logfile, sizeof daemon_logfile, "%s", logfile);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	atexit(daemon_cleanup);
	daemon_report(p[1], "ok");
	return 0;
}
