/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int threshold = LOG_INFO;

int log_set_level(const char *name)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(name, names[i])) {
			threshold = i;
			return 0;
		}
	return -1;
}

int log_level(void)
{
	return threshold;
}

void log_msg(int level, const char *mod, const char *fmt, ...)
{
	static const char *const tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
	char line[2048];
	va_list ap;
	int n;

	if (level > threshold)
		return;
	n = snprintf(line, sizeof line, "%s %s: ", tags[level], mod);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	/* one event, one line */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s\n", line);
}
