/* SPDX-License-Identifier: MIT */
/*
 * core/host_int.h - what the files of the plugin host share and nothing
 * outside them sees: struct host, the records of every registration a plugin
 * makes, and the functions one room of the host calls in another. The public
 * face is core/host.h.
 *
 * The rooms: core/host.c (lifecycle, the sk_host table, load and unload),
 * host_event.c (subscriptions, dispatch, the publish queue), host_timer.c,
 * host_send.c, host_config.c (config accessors and the rules file),
 * host_db.c (migrations, statements, transactions), host_work.c (the worker
 * queue), host_net.c (mtop and HTTP calls) and host_ctl.c (control commands).
 */
#ifndef SK_HOST_INT_H
#define SK_HOST_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "host.h"
#include "loader.h"


#define HOST_MAGIC 0x736b706cu          /* "skpl": a live host_plug */
#define HOST_PUB_MAX_GEN 8              /* published from a handler of a published event, this deep */
#define HOST_PUB_MAX_QUEUE 256          /* published events waiting for delivery */
#define HOST_STMT_MAX 64                /* cached statements per plugin */
#define HOST_WORKERS_MAX 16
#define HOST_TOPIC_MAX 128
#define HOST_CTL_NAME_MAX 40
#define HOST_HTTP_MAX 16                /* sk_http_post requests in flight per plugin */
#define HOST_HTTP_URL_MAX 2048
#define HOST_HTTP_HEADERS_MAX 2048      /* the extra header lines, as sent */
#define HOST_HTTP_BODY_MAX (1u << 20)
#define HOST_HTTP_TIMEOUT_MS 10000      /* timeout_ms 0 */
#define HOST_HTTP_TIMEOUT_MAX_MS 300000

/* PL_COMMAND: running its command-line command instead of init (host_command). */
enum { PL_LOADING, PL_INIT, PL_RUNNING, PL_FINI, PL_COMMAND, PL_DEAD };

typedef struct host_plug host_plug;

/* A cached prepared statement of a plugin, keyed by its SQL text. */
typedef struct {
	char *sql;
	sqlite3_stmt *st;
	int busy;                 /* stepping now (a row callback may run the same SQL again) */
	uint64_t used;            /* for evicting the least recently used */
} host_stmt;

/* A config value printed as JSON for sk_config_json, kept until unload. */
typedef struct host_json {
	struct host_json *next;
	char *key;
	char *json;
} host_json;

struct host_plug {
	sk_plugin pub;            /* first: the handle plugins get is a pointer to this */
	uint32_t magic;
	host *h;
	loader_obj obj;
	const sk_plugin_desc *desc;
	char name[40];
	int index;                /* load order: dispatch goes by it first */
	int state;                /* PL_* */
	const cJSON *section;     /* the plugin's config section, NULL when absent */
	int calls;                /* nesting of host calls into this plugin's code */
	int in_txn;               /* the plugin has a transaction open: 1 BEGIN, 2 a savepoint
	                           * of the core's batch (store_batch_begin) */
	int64_t last_changes, last_rowid;
	host_stmt *stmts;
	size_t nstmts;
	uint64_t stmt_clock;
	host_json *jcache;
	int work_running;         /* work items on a worker now; guarded by h->mu */
	int64_t events, handler_errors, txn_rollbacks;
};

typedef struct {
	uint64_t id;              /* also the registration order */
	host_plug *pl;
	uint32_t mask, flags;
	int priority;
	char *topic, *chat_id;    /* filters, NULL for none */
	sk_handler_fn fn;
	void *ud;
	sk_free_fn free_ud;
	int dead;                 /* unsubscribed: skipped, freed when the list settles */
	int ud_done;              /* free_ud already called */
} host_sub;

typedef struct host_timer {
	struct host_timer *next;
	uint64_t id;
	host_plug *pl;
	int64_t due;              /* monotonic ms */
	uint64_t repeat;          /* 0: one-shot */
	sk_timer_fn fn;
	void *ud;
	sk_free_fn free_ud;
	int cancelled;            /* cancelled from its own callback */
} host_timer;

/* A send made in this run, waiting for host_send_result. */
typedef struct host_pend {
	struct host_pend *next;
	char uuid[40];
	host_plug *pl;
	sk_send_fn fn;
	void *ud;
	sk_free_fn free_ud;
} host_pend;

/* A send result that arrived while the backend was still inside send_text. */
typedef struct host_early {
	struct host_early *next;
	char *uuid, *detail, *plugin, *tag;
	int ok;
} host_early;

/* A network call in flight: an mtop call (on h->mtops) or an sk_http_post
 * request (since 1.3, on h->https). An mtop record stays after its plugin's
 * unload, with pl NULL, until the backend calls back, since the backend holds
 * it; the plugin's unload cancels an HTTP request in the backend and frees
 * it, so there pl is always live. */
typedef struct host_netc {
	struct host_netc *prev, *next;
	struct host_netc **list;  /* &h->mtops or &h->https: the list it is on; NULL once off it */
	host *h;
	host_plug *pl;
	void *req;                /* HTTP: the backend's handle */
	union {
		sk_mtop_fn mtop;
		sk_http_fn http;
		sk_chat_fn chat;
	} fn;
	void *ud;
	sk_free_fn free_ud;
	int starting;             /* inside backend.mtop or backend.http_post */
	int early;                /* completed inside it (for HTTP, a backend that breaks its contract) */
	int result;               /* mtop: the sk_mtop result; HTTP: the status */
	char *ret, *body;         /* mtop: ret and data; HTTP: the body */
} host_netc;

typedef struct host_job {
	struct host_job *next;
	host_plug *pl;
	sk_work_fn work;
	sk_done_fn done;
	void *ud;
	sk_free_fn free_ud;
} host_job;

/* A control command a plugin registered (sk_control_add). */
typedef struct host_ctl {
	struct host_ctl *next;
	host_plug *pl;
	char name[HOST_CTL_NAME_MAX + 1];
	char *help;
	sk_control_fn fn;
	void *ud;
	sk_free_fn free_ud;
} host_ctl;

/* The control call in progress: where sk_control_result/error write. */
typedef struct {
	host_plug *pl;
	char *result, *error;
	int bad_result;
} host_ctl_call;

/* A published event waiting for the dispatch in progress to finish. */
typedef struct host_pub {
	struct host_pub *next;
	char *topic, *payload, *from;
	int gen;                  /* 1 when published outside a published event's delivery */
} host_pub;

struct host {
	host_config cfg;
	host_backend be;
	pthread_t loop;

	host_plug **plugs;        /* in load order */
	size_t nplugs, capplugs;
	const char **names;       /* NULL-terminated, for host_plugins */
	size_t capnames;
	int next_index;
	uint64_t next_id;

	host_sub **subs;          /* sorted: load index, priority, id */
	size_t nsubs, capsubs;
	host_sub **added;         /* subscribed while depth > 0 */
	size_t nadded, capadded;
	int subs_dirty;

	int depth, settling, cur_gen;
	host_pub *pubq, *pubq_tail;
	size_t npub;

	host_timer *timers;       /* sorted by due */
	host_timer *firing;

	host_pend *pends;
	int in_send;
	host_early *early, *early_tail;
	host_netc *mtops;         /* mtop calls in flight */
	host_netc *https;         /* sk_http_post requests in flight */
	host_netc *chats;         /* sk_chat_open calls in flight (since 1.5) */
	host_plug *txn_owner;
	int schema_ready;

	host_stats stats;

	host_ctl *ctls;           /* control commands, in registration order */
	int rules_state;          /* HOST_RULES_*, as host_rules_verify found the file */
	int rules_ever_ok;        /* a good file was loaded in this run */
	char *rules_problem;      /* why the file is refused, NULL when it is not */
	char *rules_who;          /* the plugins that refused it ("a, b"), NULL: all (unreadable, not JSON) */
	host_ctl_call *ctl_call;  /* the one running, or NULL */

	/* the worker pool */
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	pthread_t threads[HOST_WORKERS_MAX];
	int nthreads, started, stop;
	host_job *q, *q_tail, *done, *done_tail;
	int running;
};

#define host_plog(pl, level, ...) host_say((pl)->h, (pl)->name, (level), __VA_ARGS__)

/* core/host.c: logging and helpers */
void host_say(const host *h, const char *plugin, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
char *host_strdup(const char *s);
void host_free_ud(sk_free_fn free_ud, void *ud);
int host_on_loop(const host *h, const char *fn);
int host_check(sk_plugin *p, const char *fn, host_plug **out);
int host_alive(const host_plug *pl);
int host_no_session(host_plug *pl, const char *what);
int64_t host_mono(const host *h);
host_plug *host_find(const host *h, const char *name);
void host_enter(host_plug *pl);
void host_leave(host_plug *pl, const char *what);
const char *host_strerror(int rc);

/* core/host_event.c */
void host_event_drop(host *h, host_plug *pl);
void host_subs_compact(host *h);
void host_deliver(host *h, const sk_event *e, const host_plug *only, const char *except);
void host_event_init(sk_event *e, int type);
void host_settle(host *h);
int host_subscribe(sk_plugin *p, uint32_t type_mask, const sk_filter *filter, int priority, sk_handler_fn fn,
		   void *ud, sk_free_fn free_ud, uint64_t *id_out);
int host_unsubscribe(sk_plugin *p, uint64_t id);
int host_publish(sk_plugin *p, const char *topic, const char *payload_json);

/* core/host_timer.c */
void host_timer_drop(host *h, host_plug *pl);
int host_timer_add(sk_plugin *p, uint64_t delay_ms, uint64_t repeat_ms, sk_timer_fn fn, void *ud,
		   sk_free_fn free_ud, uint64_t *id_out);
int host_timer_cancel(sk_plugin *p, uint64_t id);

/* core/host_send.c */
void host_send_drop(host *h, host_plug *pl);
int host_send_text(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *text, const char *tag,
		   sk_send_fn fn, void *ud, sk_free_fn free_ud, char *uuid_out);
int host_send_image(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *url, int width,
		    int height, const char *tag, sk_send_fn fn, void *ud, sk_free_fn free_ud, char *uuid_out);
int host_send_status(sk_plugin *p, const char *uuid, int *state, char **detail);
int host_send_find(sk_plugin *p, const char *tag, char *uuid_out, int *state, char **detail);

/* core/host_config.c */
const char *host_config_str(sk_plugin *p, const char *key, const char *def);
int64_t host_config_int(sk_plugin *p, const char *key, int64_t def);
double host_config_num(sk_plugin *p, const char *key, double def);
int host_config_bool(sk_plugin *p, const char *key, int def);
size_t host_config_list_len(sk_plugin *p, const char *key);
const char *host_config_list_str(sk_plugin *p, const char *key, size_t i);
const char *host_config_json(sk_plugin *p, const char *key);
const char *host_rules_path(sk_plugin *p);
int host_config_check(const sk_plugin_desc *d, const cJSON *section, sbuf *out, const char *sep);
void host_jcache_free(host_plug *pl);

/* core/host_db.c */
void host_db_drop(host_plug *pl);
int host_migrate(host *h, host_plug *pl, char *why, size_t whylen);
void host_txn_end(host_plug *pl, int op);
int host_db_exec(sk_plugin *p, const char *sql, const sk_value *params, size_t nparams, sk_row_fn fn,
		 void *ud);
int64_t host_db_changes(sk_plugin *p);
int64_t host_db_last_rowid(sk_plugin *p);
int host_db_begin(sk_plugin *p);
int host_db_commit(sk_plugin *p);
int host_db_rollback(sk_plugin *p);

/* core/host_work.c */
int host_work(sk_plugin *p, sk_work_fn work, sk_done_fn done, void *ud, sk_free_fn free_ud);
void host_work_cancel(host *h, host_plug *pl);

/* core/host_net.c */
int host_mtop(sk_plugin *p, const char *api, const char *data_json, sk_mtop_fn fn, void *ud,
	      sk_free_fn free_ud);
int host_mtop_ex(sk_plugin *p, const char *api, const char *version, unsigned flags, const char *data_json,
		 sk_mtop_fn fn, void *ud, sk_free_fn free_ud);
void host_net_drop(host *h, host_plug *pl);
void host_net_free_all(host *h);
int host_chat_open(sk_plugin *p, const char *buyer_id, const char *item_id, sk_chat_fn fn, void *ud,
		   sk_free_fn free_ud);
int host_http_post(sk_plugin *p, const char *url, const char *headers, const char *body, size_t len,
		   int timeout_ms, sk_http_fn fn, void *ud, sk_free_fn free_ud);

/* core/host_ctl.c */
void host_ctl_drop(host *h, host_plug *pl);
int host_control_add(sk_plugin *p, const char *command, const char *help, sk_control_fn fn, void *ud,
		     sk_free_fn free_ud);
int host_control_result(sk_plugin *p, const char *json);
int host_control_error(sk_plugin *p, const char *text);
int host_control_call(sk_plugin *p, const char *command, const char *data_json, char **answer_json);
int host_control_run(sk_plugin *p, const char *command, const char *data_json, char **result_json,
		     char **error_out);

/* core/host_secret.c */
int host_seal(sk_plugin *p, const char *plaintext, char **sealed_out);
int host_unseal(sk_plugin *p, const char *sealed, char **plaintext_out);

#endif
