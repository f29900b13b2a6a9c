/* SPDX-License-Identifier: MIT */
/*
 * core/config.c - one account's JSON config: load, validate, defaults.
 *
 * The known keys live in one table (config_fields) with their type, range and
 * place in the config struct; everything else is checked after the table pass
 * (account, plugins.load, plugin sections, cross-field rules). Every problem is
 * reported, not only the first. Error text names keys and reasons and never
 * quotes a value from the file: the cookie and URLs can carry secrets.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "secret.h"

/* Where plugins are looked for when plugins.dir is not set. */
#ifndef SK_PLUGIN_DIR
#define SK_PLUGIN_DIR "/usr/local/lib/shopkeep/plugins"
#endif

/* Where the web page's files are looked for when web.root is not set. */
#ifndef SK_WEB_ROOT
#define SK_WEB_ROOT "/usr/local/share/shopkeep/web"
#endif

#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_PLUGIN_NAME 32

typedef enum {
	F_STR,      /* a non-empty string */
	F_SECRET,   /* a non-empty string that is never shown (account.cookie) */
	F_PATH,     /* a non-empty string, resolved against the config's directory */
	F_INT,      /* an integer in [min, max] */
	F_NUM,      /* a number in [min, max] */
	F_BOOL,     /* true or false */
	F_WS_URL,   /* ws:// or wss:// */
	F_HTTP_URL, /* http:// or https://, stored with a trailing '/' */
	F_LEVEL,    /* a log level */
	F_PLUGINS   /* plugins.load: handled by config_plugins_load */
} config_ftype;

typedef struct {
	const char *sec;    /* section, NULL for a top-level scalar */
	const char *key;
	config_ftype t;
	size_t off;         /* offset of the field in config */
	double min, max;
} config_field;

#define OFF(f) offsetof(config, f)
#define OFFI(f, i) (offsetof(config, f) + (i) * sizeof(int))

static const config_field config_fields[] = {
	{ "account", "id", F_STR, OFF(account_id) },
	{ "account", "cookie", F_SECRET, OFF(cookie) },
	{ "account", "cookie_file", F_PATH, OFF(cookie_file) },
	{ "account", "cookie_secret", F_PATH, OFF(cookie_secret) },
	{ "account", "key_file", F_PATH, OFF(key_file) },
	{ "platform", "ws_url", F_WS_URL, OFF(ws_url) },
	{ "platform", "api_url", F_HTTP_URL, OFF(api_url) },
	{ "platform", "passport_url", F_HTTP_URL, OFF(passport_url) },
	{ "platform", "tls_verify", F_BOOL, OFF(tls_verify) },
	{ "platform", "ca_file", F_PATH, OFF(ca_file) },
	{ "platform", "heartbeat_interval_s", F_INT, OFF(heartbeat_interval_s), 1, 3600 },
	{ "platform", "heartbeat_timeout_s", F_INT, OFF(heartbeat_timeout_s), 1, 7200 },
	{ "platform", "connect_timeout_s", F_INT, OFF(connect_timeout_s), 1, 600 },
	{ "platform", "request_timeout_s", F_INT, OFF(request_timeout_s), 1, 600 },
	{ "reconnect", "network_base_ms", F_INT, OFFI(reconnect_base_ms, 0), 1, 3600000 },
	{ "reconnect", "network_cap_ms", F_INT, OFFI(reconnect_cap_ms, 0), 1, 3600000 },
	{ "reconnect", "closed_base_ms", F_INT, OFFI(reconnect_base_ms, 1), 1, 3600000 },
	{ "reconnect", "closed_cap_ms", F_INT, OFFI(reconnect_cap_ms, 1), 1, 3600000 },
	{ "reconnect", "other_base_ms", F_INT, OFFI(reconnect_base_ms, 2), 1, 3600000 },
	{ "reconnect", "other_cap_ms", F_INT, OFFI(reconnect_cap_ms, 2), 1, 3600000 },
	{ "reconnect", "jitter_pct", F_INT, OFF(reconnect_jitter_pct), 0, 90 },
	{ "reconnect", "healthy_s", F_INT, OFF(reconnect_healthy_s), 1, 86400 },
	{ "reconnect", "max_retries", F_INT, OFF(reconnect_max_retries), 0, 1000000 },
	{ "reconnect", "risk_backoff_s", F_INT, OFF(reconnect_risk_backoff_s), 1, 604800 },
	{ "reconnect", "kick_max", F_INT, OFF(reconnect_kick_max), 0, SESS_KICK_MAX },
	{ "reconnect", "kick_window_s", F_INT, OFF(reconnect_kick_window_s), 1, 86400 },
	{ "token", "refresh_before_s", F_INT, OFF(token_refresh_s), 1, 86400 },
	{ "token", "relogin_check_s", F_INT, OFF(relogin_check_s), 1, 86400 },
	{ "login", "poll_ms", F_INT, OFF(login_poll_ms), 100, 60000 },
	{ "login", "timeout_s", F_INT, OFF(login_timeout_s), 5, 3600 },
	{ "session", "renew_min_s", F_INT, OFF(renew_min_s), 0, 86400 },   /* 0: no keep-alive */
	{ "session", "renew_max_s", F_INT, OFF(renew_max_s), 0, 86400 },
	{ "session", "long_login", F_BOOL, OFF(renew_long_login) },
	{ "session", "chat_open_timeout_ms", F_INT, OFF(chat_open_timeout_ms), 100, 600000 },
	{ "send", "rate_per_s", F_NUM, OFF(send_rate), 0, 1000 },   /* 0: no pacing (benchmarks) */
	{ "send", "burst", F_INT, OFF(send_burst), 1, 1000 },
	{ "send", "queue_max", F_INT, OFF(send_queue_max), 1, 1000000 },
	{ "send", "backlog_max", F_INT, OFF(send_backlog_max), 1, 100000000 },
	{ "send", "stop_flush_s", F_INT, OFF(send_stop_flush_s), 0, 600 },
	{ "send", "outbox_keep_days", F_INT, OFF(send_outbox_keep_days), 1, 36500 },
	{ "backfill", "enabled", F_BOOL, OFF(backfill_enabled) },
	{ "backfill", "delay_ms", F_INT, OFF(backfill_delay_ms), 0, 600000 },
	{ "backfill", "max_pages", F_INT, OFF(backfill_max_pages), 1, 1000 },
	{ "backfill", "max_convs", F_INT, OFF(backfill_max_convs), 1, 10000 },
	{ "backfill", "max_messages", F_INT, OFF(backfill_max_messages), 1, 100000 },
	{ "backfill", "flow_backoff_ms", F_INT, OFF(backfill_flow_backoff_ms), 1, 600000 },
	{ "chats", "retention_days", F_INT, OFF(chats_retention_days), 0, 3650 },   /* 0: kept forever */
	{ "chats", "store", F_BOOL, OFF(chats_store) },
	{ "state", "db", F_PATH, OFF(state_db) },
	{ "state", "sync_sends", F_STR, OFF(state_sync_sends) },
	{ "plugins", "dir", F_PATH, OFF(plugins_dir) },
	{ "plugins", "load", F_PLUGINS, 0 },
	{ NULL, "rules", F_PATH, OFF(rules) },
	{ "log", "level", F_LEVEL, OFF(log_level) },
	{ "debug", "event_log", F_PATH, OFF(event_log) },
	{ "debug", "reply_prefix", F_STR, OFF(reply_prefix) },
	{ "debug", "kill_at", F_STR, OFF(kill_at) },
	{ "web", "listen", F_STR, OFF(web_listen) },
	{ "web", "root", F_PATH, OFF(web_root) },
	{ "web", "session_idle_s", F_INT, OFF(web_session_idle_s), 60, 30 * 86400 },
	{ "web", "session_max_s", F_INT, OFF(web_session_max_s), 5, 365 * 86400 },
	{ "web", "setup_token_s", F_INT, OFF(web_setup_token_s), 5, 7 * 86400 },
	{ "web", "login_delay_max_ms", F_INT, OFF(web_login_delay_max_ms), 10, 20000 },
	{ "web", "pwhash_min", F_BOOL, OFF(web_pwhash_min) },
	{ "web", "header_timeout_s", F_INT, OFF(web_header_timeout_s), 1, 300 },
	{ "control", "socket", F_STR, OFF(ctl_socket) },
};

#define N_FIELDS (sizeof config_fields / sizeof config_fields[0])

static const char *const config_levels[] = { "error", "warn", "info", "debug" };

/* Parsing context: the config being filled, where errors go, the base
 * directory, and which table keys were present (valid or not, so that a bad
 * value is not also reported as missing); then the flags, the config file's
 * name for the hints ("FILE" when there is none) and the warnings. */
typedef struct {
	config *c;
	sbuf *errs;
	const char *base_dir;
	int nerr;
	unsigned char seen[N_FIELDS];
	int flags;
	const char *src;
	sbuf warns;
} config_ctx;

static void config_err(config_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends one error line "<key>: <reason>" to the list. */
static void config_err(config_ctx *x, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	sbuf_adds(x->errs, line);
	sbuf_adds(x->errs, "\n");
	x->nerr++;
}

/* Returns 1 when the key sec.key was present with a non-null value. */
static int config_seen(const config_ctx *x, const char *sec, const char *key)
{
	size_t i;

	for (i = 0; i < N_FIELDS; i++)
		if (config_fields[i].sec && !strcmp(config_fields[i].sec, sec) &&
		    !strcmp(config_fields[i].key, key))
			return x->seen[i];
	return 0;
}

/* Returns a malloc'd copy of s, NULL on OOM. */
static char *config_strdup(const char *s)
{
	return util_strndup(s, strlen(s));
}

/* Returns the malloc'd absolute or base-relative form of path, NULL on OOM. */
static char *config_resolve(const char *base_dir, const char *path)
{
	sbuf b = { 0 };

	if (path[0] == '/' || !base_dir || !base_dir[0])
		return config_strdup(path);
	sbuf_adds(&b, base_dir);
	if (b.len && b.p[b.len - 1] != '/')
		sbuf_adds(&b, "/");
	sbuf_adds(&b, path);
	return sbuf_take(&b);
}

/* Returns 1 when s holds a control character (a line break in a header value). */
static int config_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Returns 1 when s is a usable plugin name: [a-z][a-z0-9_]*, at most 32 bytes. */
static int config_plugin_name_ok(const char *s)
{
	size_t i;

	if (!(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (i = 1; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return i <= CONFIG_MAX_PLUGIN_NAME;
}

/* Returns 1 when name is a core section (or top-level key) of the table. */
static int config_is_section(const char *name)
{
	size_t i;

	for (i = 0; i < N_FIELDS; i++)
		if (config_fields[i].sec ? !strcmp(config_fields[i].sec, name)
					 : !strcmp(config_fields[i].key, name))
			return 1;
	return 0;
}

/* Returns 1 when name is in plugins.load. */
static int config_is_plugin(const config *c, const char *name)
{
	int i;

	for (i = 0; i < c->n_plugins; i++)
		if (!strcmp(c->plugins_load[i], name))
			return 1;
	return 0;
}

/* Returns 1 when an earlier sibling of item has the same key (cJSON keeps both;
 * lookups would silently use the first). */
static int config_dup_key(const cJSON *item)
{
	const cJSON *p;

	for (p = item->prev; p && p->next; p = p->prev) {
		if (p->string && !strcmp(p->string, item->string))
			return 1;
		if (p == item)
			break;
	}
	return 0;
}

/* Replaces the string field at off with v (taken). */
static void config_set_str(config *c, size_t off, char *v)
{
	char **slot = (char **)((char *)c + off);

	free(*slot);
	*slot = v;
}

/* Checks a URL of one of two schemes with a host; returns NULL or the reason. */
static const char *config_url_check(const char *u, const char *s1, const char *s2)
{
	size_t n1 = strlen(s1), n2 = strlen(s2), n;
	const char *host;

	if (!strncmp(u, s1, n1))
		host = u + n1;
	else if (!strncmp(u, s2, n2))
		host = u + n2;
	else
		return "scheme";
	n = strcspn(host, "/?#");
	if (!n || host[0] == ':')
		return "host";
	if (config_has_ctl(u) || strchr(u, ' '))
		return "space";
	return NULL;
}

/* Validates one value of the table and stores it. Errors go to x. */
static void config_field_set(config_ctx *x, const config_field *f, const cJSON *v, const char *name)
{
	config *c = x->c;
	const char *why;
	char *s;

	if (cJSON_IsNull(v))
		return; /* null: keep the default */
	switch (f->t) {
	case F_STR:
	case F_SECRET:
	case F_PATH:
	case F_WS_URL:
	case F_HTTP_URL:
	case F_LEVEL:
		if (!cJSON_IsString(v) || !v->valuestring[0]) {
			config_err(x, "%s: must be a non-empty string", name);
			return;
		}
		break;
	default:
		break;
	}
	switch (f->t) {
	case F_STR:
		if (config_has_ctl(v->valuestring)) {
			config_err(x, "%s: must not contain control characters", name);
			return;
		}
		/* fallthrough */
	case F_SECRET:
		s = config_strdup(v->valuestring);
		break;
	case F_PATH:
		s = config_resolve(x->base_dir, v->valuestring);
		break;
	case F_WS_URL:
		if ((why = config_url_check(v->valuestring, "ws://", "wss://"))) {
			config_err(x, "%s: %s", name, !strcmp(why, "scheme") ? "must start with ws:// or wss://"
						 : !strcmp(why, "host") ? "has no host"
						 : "must not contain spaces or control characters");
			return;
		}
		s = config_strdup(v->valuestring);
		break;
	case F_HTTP_URL: {
		sbuf b = { 0 };

		if ((why = config_url_check(v->valuestring, "http://", "https://"))) {
			config_err(x, "%s: %s", name, !strcmp(why, "scheme") ? "must start with http:// or https://"
						 : !strcmp(why, "host") ? "has no host"
						 : "must not contain spaces or control characters");
			return;
		}
		if (strchr(v->valuestring, '?') || strchr(v->valuestring, '#')) {
			config_err(x, "%s: must be a base URL without '?' or '#'", name);
			return;
		}
		/* The API name is appended to it, so it ends with '/'. */
		sbuf_adds(&b, v->valuestring);
		if (b.p && b.p[b.len - 1] != '/')
			sbuf_adds(&b, "/");
		s = sbuf_take(&b);
		break;
	}
	case F_LEVEL: {
		size_t i;

		for (i = 0; i < sizeof config_levels / sizeof config_levels[0]; i++)
			if (!strcmp(v->valuestring, config_levels[i]))
				break;
		if (i == sizeof config_levels / sizeof config_levels[0]) {
			config_err(x, "%s: must be one of error, warn, info, debug", name);
			return;
		}
		s = config_strdup(v->valuestring);
		break;
	}
	case F_BOOL:
		if (!cJSON_IsBool(v)) {
			config_err(x, "%s: must be true or false", name);
			return;
		}
		*(int *)((char *)c + f->off) = cJSON_IsTrue(v);
		return;
	case F_INT:
		/* valueint saturates; check the double. */
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
		    v->valuedouble < f->min || v->valuedouble > f->max) {
			config_err(x, "%s: must be an integer from %.0f to %.0f", name, f->min, f->max);
			return;
		}
		*(int *)((char *)c + f->off) = (int)v->valuedouble;
		return;
	case F_NUM:
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
		    v->valuedouble < f->min || v->valuedouble > f->max) {
			config_err(x, "%s: must be a number from %g to %g", name, f->min, f->max);
			return;
		}
		*(double *)((char *)c + f->off) = v->valuedouble;
		return;
	default:
		return;
	}
	if (!s) {
		config_err(x, "%s: out of memory", name);
		return;
	}
	config_set_str(c, f->off, s);
}

/* Reads plugins.load (an ordered list of unique plugin names) into c. */
static void config_plugins_load(config_ctx *x, const cJSON *v)
{
	config *c = x->c;
	const cJSON *e;
	char **list;
	int n, i = 0;

	if (!v || cJSON_IsNull(v))
		return;
	if (!cJSON_IsArray(v)) {
		config_err(x, "plugins.load: must be a list of plugin names");
		return;
	}
	n = cJSON_GetArraySize(v);
	list = calloc((size_t)n + 1, sizeof *list);
	if (!list) {
		config_err(x, "plugins.load: out of memory");
		return;
	}
	free(c->plugins_load);
	c->plugins_load = list;
	c->n_plugins = 0;
	cJSON_ArrayForEach(e, v) {
		const char *s = cJSON_IsString(e) ? e->valuestring : NULL;

		if (!s || !config_plugin_name_ok(s)) {
			/* Plugin names are not secret, but an arbitrary string could be: don't echo it. */
			config_err(x, "plugins.load[%d]: must be a plugin name: a lower-case letter, then "
				   "lower-case letters, digits or '_', at most %d", i, CONFIG_MAX_PLUGIN_NAME);
		} else if (config_is_plugin(c, s)) {
			config_err(x, "plugins.load[%d]: plugin %s is listed twice", i, s);
		} else if (config_is_section(s)) {
			config_err(x, "plugins.load[%d]: %s is a core config section, not a plugin name", i, s);
		} else if (!(list[c->n_plugins] = config_strdup(s))) {
			config_err(x, "plugins.load: out of memory");
		} else {
			c->n_plugins++;
		}
		i++;
	}
}

/* Validates one core section (an object, or the top-level scalar "rules"). */
static void config_section(config_ctx *x, const cJSON *sec)
{
	const cJSON *v;
	char name[256];
	size_t i;

	for (i = 0; i < N_FIELDS; i++)
		if (!config_fields[i].sec && !strcmp(config_fields[i].key, sec->string)) {
			x->seen[i] = !cJSON_IsNull(sec);
			config_field_set(x, &config_fields[i], sec, sec->string);
			return;
		}
	if (cJSON_IsNull(sec))
		return;
	if (!cJSON_IsObject(sec)) {
		config_err(x, "%s: must be an object", sec->string);
		return;
	}
	cJSON_ArrayForEach(v, sec) {
		const config_field *f = NULL;

		snprintf(name, sizeof name, "%s.%s", sec->string, v->string);
		if (config_dup_key(v)) {
			config_err(x, "%s: duplicate key", name);
			continue;
		}
		for (i = 0; i < N_FIELDS; i++)
			if (config_fields[i].sec && !strcmp(config_fields[i].sec, sec->string) &&
			    !strcmp(config_fields[i].key, v->string))
				f = &config_fields[i];
		if (!f) {
			config_err(x, "%s: unknown key", name);
			continue;
		}
		x->seen[f - config_fields] = !cJSON_IsNull(v);
		if (f->t != F_PLUGINS)
			config_field_set(x, f, v, name);
	}
}

/* Returns the value of the cookie pair "name=value" in a "; "-separated cookie
 * string, malloc'd; NULL when absent (or on OOM). */
static char *config_cookie_get(const char *cookie, const char *name)
{
	size_t nl = strlen(name);
	const char *p = cookie;

	while (*p) {
		size_t n;

		while (*p == ' ' || *p == ';')
			p++;
		n = strcspn(p, ";");
		if (n > nl && p[nl] == '=' && !strncmp(p, name, nl)) {
			const char *v = p + nl + 1;
			size_t vl = n - nl - 1;

			while (vl && v[vl - 1] == ' ')
				vl--;
			return util_strndup(v, vl);
		}
		p += n;
	}
	return NULL;
}

/* Reads the cookie file into c->cookie, trimming trailing white space (the
 * newline an editor adds). Returns 0 or -1 with an error added. */
static int config_read_cookie_file(config_ctx *x)
{
	config *c = x->c;
	const char *why = NULL;
	FILE *f;
	char *buf;
	size_t n = 0;

	buf = malloc(CONFIG_MAX_COOKIE + 2);
	if (!buf) {
		config_err(x, "account.cookie_file: out of memory");
		return -1;
	}
	f = fopen(c->cookie_file, "r");
	if (!f) {
		why = strerror(errno);
	} else {
		n = fread(buf, 1, CONFIG_MAX_COOKIE + 1, f);
		if (ferror(f))
			why = strerror(errno ? errno : EIO);
		fclose(f);
	}
	buf[n] = '\0';
	if (why)
		config_err(x, "account.cookie_file: cannot read %s: %s", c->cookie_file, why);
	else if (n > CONFIG_MAX_COOKIE)
		config_err(x, "account.cookie_file: %s is larger than %d bytes", c->cookie_file, CONFIG_MAX_COOKIE);
	else if (strlen(buf) != n)
		config_err(x, "account.cookie_file: %s contains a NUL byte", c->cookie_file);
	if (why || n > CONFIG_MAX_COOKIE || strlen(buf) != n) {
		explicit_bzero(buf, n);
		free(buf);
		return -1;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	free(c->cookie);
	c->cookie = buf;
	return 0;
}

/* Checks a cookie string; returns NULL with *unb set, or the reason. */
const char *config_cookie_check(const char *cookie, char **unb)
{
	*unb = NULL;
	if (!cookie[0])
		return "the cookie is empty";
	if (config_has_ctl(cookie))
		return "the cookie contains a line break or another control character";
	*unb = config_cookie_get(cookie, "unb");
	if (!*unb || !(*unb)[0]) {
		free(*unb);
		*unb = NULL;
		return "the cookie has no unb (the seller's user id): copy the whole cookie string of a logged-in "
		       "browser session";
	}
	return NULL;
}

/* Returns 1 when id can name a file: letters, digits, '.', '_', '-', not
 * starting with '.', at most 128 bytes. */
static int config_id_is_filename(const char *id)
{
	size_t i;

	if (!id || !id[0] || id[0] == '.')
		return 0;
	for (i = 0; id[i]; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '.' || id[i] == '_' || id[i] == '-'))
			return 0;
	return i <= 128;
}

/* Returns the malloc'd "<dir>/<account id><suffix>", NULL when the id cannot
 * name a file (or on OOM). */
static char *config_account_file(const char *dir, const char *id, const char *suffix)
{
	sbuf b = { 0 };
	char *name, *path;

	if (!config_id_is_filename(id))
		return NULL;
	sbuf_adds(&b, id);
	sbuf_adds(&b, suffix);
	if (!(name = sbuf_take(&b)))
		return NULL;
	path = config_resolve(dir, name);
	free(name);
	return path;
}

/* Returns the default path of the encrypted cookie, malloc'd, or NULL. */
char *config_default_cookie_secret(const config *c)
{
	return config_account_file(c->dir, c->account_id, ".cookie.secret");
}

char *config_default_agent_key(const config *c)
{
	return config_account_file(c->dir, c->account_id, ".agent_key.secret");
}

/* Decrypts the cookie_secret file with the key file into c->cookie. Returns 0
 * or -1 with an error added that names the file at fault and the reason. */
static int config_read_cookie_secret(config_ctx *x)
{
	config *c = x->c;
	char err[1024], *plain = NULL;
	int rc;

	if (!c->key_file) {
		if (!config_seen(x, "account", "key_file"))
			config_err(x, "account.key_file: required with account.cookie_secret when account.id is not "
				   "a plain file name (letters, digits, '.', '_', '-')");
		return -1; /* else a bad value, already reported */
	}
	rc = secret_get(c->key_file, c->cookie_secret, &plain, err, sizeof err);
	if (rc == SECRET_EKEY)
		config_err(x, "account.key_file: %s", err);
	else if (rc == SECRET_EMISSING)
		config_err(x, "account.cookie_secret: %s (write it with `shopkeep secret set --config %s cookie`)",
			   err, x->src);
	else if (rc == SECRET_EBAD)
		config_err(x, "account.cookie_secret: %s (key file %s)", err, c->key_file);
	else if (rc)
		config_err(x, "account.cookie_secret: %s", err);
	if (rc)
		return -1;
	if (strlen(plain) > CONFIG_MAX_COOKIE) {
		config_err(x, "account.cookie_secret: the cookie is larger than %d bytes", CONFIG_MAX_COOKIE);
		secret_free(plain);
		return -1;
	}
	secret_free(c->cookie);
	c->cookie = plain;
	return 0;
}

/* Account rules that span keys: id required, the key file's default, exactly
 * one cookie source, the cookie's unb, a warning for a plaintext cookie.
 * Never shows the cookie. */
static void config_account(config_ctx *x)
{
	config *c = x->c;
	int has_cookie = config_seen(x, "account", "cookie");
	int has_file = config_seen(x, "account", "cookie_file");
	int has_secret = config_seen(x, "account", "cookie_secret");
	const char *key = has_secret ? "account.cookie_secret" : has_file ? "account.cookie_file" : "account.cookie";
	const char *why;
	char *unb;

	if (!config_seen(x, "account", "id"))
		config_err(x, "account.id: required");
	if (!config_seen(x, "account", "key_file") && c->account_id && !c->key_file)
		c->key_file = config_account_file(x->base_dir, c->account_id, ".key");
	if (x->flags & CONFIG_NO_COOKIE)
		return;
	if (has_cookie + has_file + has_secret > 1) {
		if (!has_secret)
			config_err(x, "account.cookie_file: set account.cookie or account.cookie_file, not both");
		else
			config_err(x, "account.cookie_secret: set one of account.cookie, account.cookie_file and "
				   "account.cookie_secret, not several");
		return;
	}
	if (!has_cookie && !has_file && !has_secret) {
		/* No cookie key: the default secret file (made by shopkeep login or
		 * secret set) when it exists, else no cookie yet (the account needs
		 * a login before it can run). */
		char *def = config_default_cookie_secret(c);

		if (def && access(def, F_OK) == 0) {
			c->cookie_secret = def;
			has_secret = 1;
			key = "account.cookie_secret";
		} else {
			free(def);
			sbuf_addf(&x->warns, "account.cookie: no cookie yet: log in with `shopkeep login --config %s` "
				  "(or on the page); until then the account runs as FAILED (needs login)\n", x->src);
			return;
		}
	}
	if (has_file && c->cookie_file && config_read_cookie_file(x))
		return;
	if (has_secret && (!c->cookie_secret || config_read_cookie_secret(x)))
		return;
	if (!c->cookie)
		return; /* a bad value, already reported */
	if ((why = config_cookie_check(c->cookie, &unb))) {
		config_err(x, "%s: %s", key, why);
		return;
	}
	free(c->unb);
	c->unb = unb;
	if (!has_secret)
		sbuf_addf(&x->warns, "%s: the cookie is stored in plaintext; encrypt it with "
			  "`shopkeep secret set --config %s cookie`\n", key, x->src);
}

/* control.socket: "off", a path (resolved against the config's folder) or,
 * when not set, <account id>.sock in state.db's folder. A unix socket's path
 * has at most sizeof sun_path - 1 bytes: a longer one that was set is an
 * error, a longer default a warning (and the socket is off). */
static void config_control_socket(config_ctx *x)
{
	const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	config *c = x->c;
	int set = config_seen(x, "control", "socket");
	char *p = NULL;

	if (c->ctl_socket && !strcmp(c->ctl_socket, "off")) {
		free(c->ctl_socket);
		c->ctl_socket = NULL;
		return;
	}
	if (c->ctl_socket) {
		p = config_resolve(x->base_dir, c->ctl_socket);
	} else if (!set && c->state_db && c->account_id) {
		const char *slash = strrchr(c->state_db, '/');
		char *dir = slash ? util_strndup(c->state_db, slash == c->state_db ? 1 : (size_t)(slash - c->state_db))
				  : NULL;

		if (slash && !dir) {
			config_err(x, "control.socket: out of memory");
			return;
		}
		p = config_account_file(dir, c->account_id, ".sock");
		free(dir);
		if (!p)
			return;   /* account.id is not a plain file name: off unless set */
	} else {
		return;           /* a bad value (reported), or no state.db (reported) */
	}
	free(c->ctl_socket);
	c->ctl_socket = p;
	if (!p) {
		config_err(x, "control.socket: out of memory");
	} else if (strlen(p) > max) {
		if (set)
			config_err(x, "control.socket: the path is %zu bytes long, a unix socket's can be at most %zu: "
				   "choose a shorter one (or \"off\")", strlen(p), max);
		else
			sbuf_addf(&x->warns, "control.socket: the default path (<account id>.sock next to state.db) is "
				  "%zu bytes long, a unix socket's can be at most %zu: the control socket is off and "
				  "`shopkeep status` cannot reach the process; set control.socket to a shorter path\n",
				  strlen(p), max);
		free(c->ctl_socket);
		c->ctl_socket = NULL;
	}
}

/* Splits web.listen and tells a loopback address (config.h). The port is
 * digits only (strtoul alone would take a sign or blanks); inet_pton is
 * strict dotted-quad / IPv6 text. */
int config_web_addr(const char *listen, char *host, size_t hostlen, int *port)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL, *h = listen;
	size_t hl;
	unsigned long p = 0;
	struct in6_addr a6;
	struct in_addr a4;

	if (!colon || !colon[1] || strlen(colon + 1) > 5 || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	p = strtoul(colon + 1, NULL, 10);
	hl = (size_t)(colon - listen);
	if (p < 1 || p > 65535 || !hl)
		return -1;
	if (listen[0] == '[') {
		if (hl < 3 || colon[-1] != ']')
			return -1;
		h++;
		hl -= 2;
	}
	if (hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	if (listen[0] == '[') {
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -1;
		return IN6_IS_ADDR_LOOPBACK(&a6) ? AF_INET6 : 0;
	}
	if (inet_pton(AF_INET, host, &a4) != 1)
		return -1;
	return (ntohl(a4.s_addr) >> 24) == 127 ? AF_INET : 0;
}

/* Rules that span keys after the table pass. */
/* platform.passport_url when it is not set: the platform's passport host,
 * unless platform.api_url points at a loopback host (the simulator of the
 * tests and the demo), whose root then serves the passport too: a test or
 * the demo that forgets the key must not renew its session against the real
 * platform. */
static void config_passport_default(config_ctx *x)
{
	config *c = x->c;
	const char *u = c->api_url, *h;
	char *root;
	size_t n;

	if (config_seen(x, "platform", "passport_url") || !u || strncmp(u, "http://", 7))
		return;
	h = u + 7;
	if (strncmp(h, "127.", 4) && strncmp(h, "localhost:", 10) && strncmp(h, "localhost/", 10) &&
	    strncmp(h, "[::1]", 5))
		return;
	n = strcspn(h, "/");
	if (asprintf(&root, "http://%.*s/", (int)n, h) < 0) {
		config_err(x, "platform.passport_url: out of memory");
		return;
	}
	free(c->passport_url);
	c->passport_url = root;
}

static void config_finish(config_ctx *x)
{
	static const char *const cls[3] = { "network", "closed", "other" };
	config *c = x->c;
	int i;

	config_account(x);
	config_passport_default(x);
	if (c->web_listen && strcmp(c->web_listen, "off")) {
		char host[64];
		int port, fam = config_web_addr(c->web_listen, host, sizeof host, &port);

		if (fam < 0)
			config_err(x, "web.listen: must be \"<IPv4 address>:<port>\" (e.g. 127.0.0.1:8080), "
				   "\"[::1]:<port>\" or \"off\"");
		else if (!fam)
			config_err(x, "web.listen: %s is not a loopback address: the page listens on 127.0.0.0/8 or "
				   "[::1] only; to reach it from another machine use an SSH tunnel (ssh -L %d:127.0.0.1:%d "
				   "host) or a TLS reverse proxy on this machine", host, port, port);
		else
			c->web_port = port;
	}
	if (c->kill_at && strcmp(c->kill_at, "commit"))
		config_err(x, "debug.kill_at: must be \"commit\" (tests only)");
	if (!config_seen(x, "state", "db"))
		config_err(x, "state.db: required");
	config_control_socket(x);
	for (i = 0; i < 3; i++)
		if (c->reconnect_cap_ms[i] < c->reconnect_base_ms[i])
			config_err(x, "reconnect.%s_cap_ms: must not be less than reconnect.%s_base_ms",
				   cls[i], cls[i]);
	if (!c->heartbeat_timeout_s)
		c->heartbeat_timeout_s = 2 * c->heartbeat_interval_s + 5;
	if (c->renew_max_s < c->renew_min_s || (c->renew_min_s == 0) != (c->renew_max_s == 0))
		config_err(x, "session.renew_max_s: must not be less than session.renew_min_s (both 0 turn keep-alive off)");
}

/* Sets every default; returns 0 or -1 on OOM. */
static int config_defaults(config *c)
{
	static const int base[3] = { 2000, 1000, 2000 }, cap[3] = { 60000, 15000, 30000 };
	int i;

	memset(c, 0, sizeof *c);
	c->ws_url = config_strdup("wss://wss-goofish.dingtalk.com/");
	c->api_url = config_strdup("https://h5api.m.goofish.com/h5/");
	c->passport_url = config_strdup("https://passport.goofish.com/");
	c->plugins_dir = config_strdup(SK_PLUGIN_DIR);
	c->log_level = config_strdup("info");
	c->plugins_load = calloc(1, sizeof *c->plugins_load);
	c->plugin_sections = cJSON_CreateObject();
	c->tls_verify = 1;
	c->heartbeat_interval_s = 15;
	c->heartbeat_timeout_s = 0; /* 2 * interval + 5 unless set */
	c->connect_timeout_s = 10;
	c->request_timeout_s = 10;
	for (i = 0; i < 3; i++) {
		c->reconnect_base_ms[i] = base[i];
		c->reconnect_cap_ms[i] = cap[i];
	}
	c->reconnect_jitter_pct = 25;
	c->reconnect_healthy_s = 60;
	c->reconnect_max_retries = 0;
	c->reconnect_risk_backoff_s = 1800;
	c->reconnect_kick_max = 3;
	c->reconnect_kick_window_s = 600;
	c->token_refresh_s = 3600;
	c->relogin_check_s = 1800;
	c->login_poll_ms = 2500;
	c->login_timeout_s = 300;
	c->renew_min_s = 600;
	c->renew_max_s = 1200;
	c->renew_long_login = 1;
	c->chat_open_timeout_ms = 15000;
	c->send_rate = 1;
	c->send_burst = 3;
	c->send_queue_max = 1000;
	c->send_backlog_max = 1000000;
	c->send_stop_flush_s = 5;
	c->send_outbox_keep_days = 7;
	c->chats_retention_days = 90;
	c->chats_store = 1;
	c->backfill_enabled = 1;
	c->backfill_delay_ms = 3000;
	c->backfill_max_pages = 10;
	c->backfill_max_convs = 100;
	c->backfill_max_messages = 1000;
	c->backfill_flow_backoff_ms = 2000;
	c->web_listen = config_strdup("127.0.0.1:8080");
	c->web_root = config_strdup(SK_WEB_ROOT);
	c->web_session_idle_s = 43200;
	c->web_session_max_s = 7 * 86400;
	c->web_setup_token_s = 3600;
	c->web_login_delay_max_ms = 8000;
	c->web_header_timeout_s = 10;
	if (!c->web_listen || !c->web_root || !c->ws_url || !c->api_url || !c->passport_url || !c->plugins_dir || !c->log_level || !c->plugins_load ||
	    !c->plugin_sections)
		return -1;
	return 0;
}

/* Reports a JSON syntax error at err (inside text) with its line and column
 * (counted in characters). cJSON's error pointer is at the bad character or
 * just past it, depending on where its parser stopped. The text near it is
 * not shown: it may be a secret. */
static void config_syntax_error(config_ctx *x, const char *what, const char *text, size_t len, const char *err)
{
	const char *p;
	int line = 1, col = 1;

	if (!err || err < text || err > text + len)
		err = text + len;
	for (p = text; p < err; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)*p & 0xC0) != 0x80) {
			col++;
		}
	}
	config_err(x, "%s: JSON syntax error at line %d, column %d", what, line, col);
}

/* Parses text (len bytes) into c; what names the source in a syntax error,
 * src the config file in hints. Returns 0 or -1 with the errors in errs. */
static int config_parse_named(const char *text, size_t len, const char *what, const char *src,
			      const char *base_dir, int flags, config *c, sbuf *errs)
{
	config_ctx x = { c, errs, base_dir, 0 };
	const char *end = NULL;
	cJSON *root, *v, *next;

	x.flags = flags;
	x.src = src;
	if (config_defaults(c) || (base_dir && !(c->dir = config_strdup(base_dir)))) {
		config_err(&x, "%s: out of memory", what);
		return -1;
	}
	if (strlen(text) != len) {
		config_err(&x, "%s: contains a NUL byte", what);
		return -1;
	}
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (!root) {
		config_syntax_error(&x, what, text, len, end ? end : cJSON_GetErrorPtr());
		return -1;
	}
	if (!cJSON_IsObject(root)) {
		config_err(&x, "%s: must be a JSON object", what);
		cJSON_Delete(root);
		return -1;
	}
	/* plugins.load first: it decides which other top-level keys are plugin sections. */
	v = cJSON_GetObjectItemCaseSensitive(root, "plugins");
	if (cJSON_IsObject(v))
		config_plugins_load(&x, cJSON_GetObjectItemCaseSensitive(v, "load"));
	for (v = root->child; v; v = next) {
		next = v->next;
		if (config_dup_key(v)) {
			config_err(&x, "%s: duplicate key", v->string);
		} else if (config_is_section(v->string)) {
			config_section(&x, v);
		} else if (config_is_plugin(c, v->string)) {
			if (!cJSON_IsObject(v)) {
				config_err(&x, "%s: must be an object (the settings of plugin %s)", v->string, v->string);
				continue;
			}
			cJSON_DetachItemViaPointer(root, v);
			cJSON_AddItemToObject(c->plugin_sections, v->string, v);
		} else {
			config_err(&x, "%s: unknown key%s", v->string,
				   config_plugin_name_ok(v->string) ? " (not a core section, nor a plugin in plugins.load)" : "");
		}
	}
	config_finish(&x);
	cJSON_Delete(root);
	if (x.warns.len)
		c->warnings = sbuf_take(&x.warns);
	sbuf_free(&x.warns);
	if (errs->oom)
		return -1;
	return x.nerr ? -1 : 0;
}

/* Parses JSON text; returns 0 or -1 with the errors in errs. */
int config_parse(const char *text, const char *base_dir, config *c, sbuf *errs)
{
	return config_parse_named(text, strlen(text), "config", "FILE", base_dir, 0, c, errs);
}

/* Reads and parses the file at path (at most 1 MiB); returns 0 or -1 with the
 * errors in errs. Relative paths inside resolve against the file's directory. */
int config_load(const char *path, config *c, sbuf *errs)
{
	return config_load_flags(path, 0, c, errs);
}

/* config_load with flags (CONFIG_NO_COOKIE). */
int config_load_flags(const char *path, int flags, config *c, sbuf *errs)
{
	config_ctx x = { c, errs, NULL, 0 };
	char *text = NULL, *dir = NULL, *abs = NULL;
	const char *slash;
	FILE *f;
	size_t n = 0;
	int rc = -1;

	if (config_defaults(c)) {
		config_err(&x, "%s: out of memory", path);
		return -1;
	}
	f = fopen(path, "r");
	if (!f) {
		config_err(&x, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	text = malloc(CONFIG_MAX_FILE + 1);
	if (text)
		n = fread(text, 1, CONFIG_MAX_FILE + 1, f);
	if (!text || ferror(f)) {
		config_err(&x, "%s: cannot read: %s", path, text ? strerror(errno) : "out of memory");
	} else if (n > CONFIG_MAX_FILE) {
		config_err(&x, "%s: larger than %d bytes", path, CONFIG_MAX_FILE);
	} else {
		text[n] = '\0';
		/* Relative paths in the file are relative to the file's directory, made
		 * absolute so that they don't depend on the working directory later. */
		slash = strrchr(path, '/');
		dir = slash ? util_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : config_strdup(".");
		abs = dir ? realpath(dir, NULL) : NULL;
		config_free(c);
		rc = config_parse_named(text, n, path, path, abs ? abs : dir, flags, c, errs);
	}
	fclose(f);
	if (text) {
		explicit_bzero(text, n < CONFIG_MAX_FILE + 1 ? n : CONFIG_MAX_FILE + 1);
		free(text);
	}
	free(c->path);
	if (!(c->path = realpath(path, NULL)))
		c->path = config_strdup(path);
	free(dir);
	free(abs);
	return rc;
}

static int config_str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

static void config_swap_str(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

void config_take_live(config *c, config *next, sbuf *restart)
{
	const char *sep = "";
	int i, nd = 0;
	cJSON *t;

	/* restart-only keys: named when they differ */
#define CFG_RESTART(differs, key) do { if (differs) { sbuf_addf(restart, "%s%s", sep, key); sep = ", "; } } while (0)
	CFG_RESTART(config_str_differs(c->account_id, next->account_id), "account.id");
	CFG_RESTART(config_str_differs(c->cookie, next->cookie) || config_str_differs(c->cookie_file, next->cookie_file) ||
		    config_str_differs(c->cookie_secret, next->cookie_secret), "account.cookie");
	CFG_RESTART(config_str_differs(c->key_file, next->key_file), "account.key_file");
	CFG_RESTART(config_str_differs(c->ws_url, next->ws_url), "platform.ws_url");
	CFG_RESTART(config_str_differs(c->api_url, next->api_url), "platform.api_url");
	CFG_RESTART(config_str_differs(c->passport_url, next->passport_url), "platform.passport_url");
	CFG_RESTART(c->tls_verify != next->tls_verify, "platform.tls_verify");
	CFG_RESTART(config_str_differs(c->ca_file, next->ca_file), "platform.ca_file");
	CFG_RESTART(c->connect_timeout_s != next->connect_timeout_s, "platform.connect_timeout_s");
	CFG_RESTART(config_str_differs(c->state_db, next->state_db), "state.db");
	CFG_RESTART(config_str_differs(c->state_sync_sends, next->state_sync_sends), "state.sync_sends");
	CFG_RESTART(config_str_differs(c->plugins_dir, next->plugins_dir), "plugins.dir");
	for (i = 0; c->plugins_load[i] && next->plugins_load[i]; i++)
		nd += strcmp(c->plugins_load[i], next->plugins_load[i]) != 0;
	CFG_RESTART(nd || c->plugins_load[i] || next->plugins_load[i], "plugins.load");
	CFG_RESTART(config_str_differs(c->rules, next->rules), "rules");
	CFG_RESTART(config_str_differs(c->event_log, next->event_log), "debug.event_log");
	CFG_RESTART(config_str_differs(c->kill_at, next->kill_at), "debug.kill_at");
	CFG_RESTART(config_str_differs(c->web_listen, next->web_listen), "web.listen");
	CFG_RESTART(config_str_differs(c->web_root, next->web_root), "web.root");
	CFG_RESTART(c->web_pwhash_min != next->web_pwhash_min, "web.pwhash_min");
	CFG_RESTART(c->web_header_timeout_s != next->web_header_timeout_s, "web.header_timeout_s");
	CFG_RESTART(config_str_differs(c->ctl_socket, next->ctl_socket), "control.socket");
#undef CFG_RESTART
	/* live keys: taken */
	c->heartbeat_interval_s = next->heartbeat_interval_s;
	c->heartbeat_timeout_s = next->heartbeat_timeout_s;
	c->request_timeout_s = next->request_timeout_s;
	memcpy(c->reconnect_base_ms, next->reconnect_base_ms, sizeof c->reconnect_base_ms);
	memcpy(c->reconnect_cap_ms, next->reconnect_cap_ms, sizeof c->reconnect_cap_ms);
	c->reconnect_jitter_pct = next->reconnect_jitter_pct;
	c->reconnect_healthy_s = next->reconnect_healthy_s;
	c->reconnect_max_retries = next->reconnect_max_retries;
	c->reconnect_risk_backoff_s = next->reconnect_risk_backoff_s;
	c->reconnect_kick_max = next->reconnect_kick_max;
	c->reconnect_kick_window_s = next->reconnect_kick_window_s;
	c->token_refresh_s = next->token_refresh_s;
	c->relogin_check_s = next->relogin_check_s;
	c->login_poll_ms = next->login_poll_ms;
	c->login_timeout_s = next->login_timeout_s;
	c->renew_min_s = next->renew_min_s;
	c->renew_max_s = next->renew_max_s;
	c->renew_long_login = next->renew_long_login;
	c->chat_open_timeout_ms = next->chat_open_timeout_ms;
	c->send_rate = next->send_rate;
	c->send_burst = next->send_burst;
	c->send_queue_max = next->send_queue_max;
	c->send_backlog_max = next->send_backlog_max;
	c->send_stop_flush_s = next->send_stop_flush_s;
	c->send_outbox_keep_days = next->send_outbox_keep_days;
	c->chats_retention_days = next->chats_retention_days;
	c->chats_store = next->chats_store;
	c->backfill_enabled = next->backfill_enabled;
	c->backfill_delay_ms = next->backfill_delay_ms;
	c->backfill_max_pages = next->backfill_max_pages;
	c->backfill_max_convs = next->backfill_max_convs;
	c->backfill_max_messages = next->backfill_max_messages;
	c->backfill_flow_backoff_ms = next->backfill_flow_backoff_ms;
	c->web_session_idle_s = next->web_session_idle_s;
	c->web_session_max_s = next->web_session_max_s;
	c->web_setup_token_s = next->web_setup_token_s;
	c->web_login_delay_max_ms = next->web_login_delay_max_ms;
	config_swap_str(&c->log_level, &next->log_level);
	config_swap_str(&c->reply_prefix, &next->reply_prefix);
	t = c->plugin_sections;
	c->plugin_sections = next->plugin_sections;
	next->plugin_sections = t;
}

/* Frees every field (wiping the cookie first) and zeroes c. */
void config_free(config *c)
{
	int i;

	if (c->cookie) {
		explicit_bzero(c->cookie, strlen(c->cookie));
		free(c->cookie);
	}
	free(c->account_id);
	free(c->cookie_file);
	free(c->cookie_secret);
	free(c->key_file);
	free(c->dir);
	free(c->warnings);
	free(c->unb);
	free(c->ws_url);
	free(c->api_url);
	free(c->passport_url);
	free(c->ca_file);
	free(c->state_db);
	free(c->state_sync_sends);
	free(c->plugins_dir);
	if (c->plugins_load)
		for (i = 0; c->plugins_load[i]; i++)
			free(c->plugins_load[i]);
	free(c->plugins_load);
	free(c->rules);
	free(c->log_level);
	free(c->event_log);
	free(c->reply_prefix);
	free(c->kill_at);
	free(c->web_listen);
	free(c->web_root);
	free(c->ctl_socket);
	cJSON_Delete(c->plugin_sections);
	free(c->path);
	memset(c, 0, sizeof *c);
}
