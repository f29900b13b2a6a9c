/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim.h - the platform simulator's shared state (see tests/sim/README.md).
 *
 * One libwebsockets context, one thread. The platform port serves the mtop HTTP
 * API under /h5/ and the LWP WebSocket at /; the control port serves the JSON
 * control API used by tests, the demo scenario and the load mode. Both listening
 * sockets are our own, so faults can act before lws sees a connection.
 */
#ifndef SIM_H
#define SIM_H

#include <libwebsockets.h>
#include <cjson/cJSON.h>
#include <stdint.h>

#include "util.h"

#define SIM_MAX_FRAME (16u << 20)   /* largest frame the simulator accepts from a bot */

typedef struct sim_out {
	struct sim_out *next;
	size_t len;
	int raw;                 /* written unframed (protocol garbage) */
	int load_idx;            /* a load run's push (its latency starts when written), else -1 */
	unsigned char *buf;      /* LWS_PRE bytes, then len bytes */
} sim_out;

/* A push the bot has not ACKed yet. */
typedef struct sim_push {
	struct sim_push *next;
	char mid[32];
	char lwp[24];            /* offline: the items still to frame, "" for a framed push */
	char *text;              /* the frame as sent (or the items JSON while offline) */
	int raw, track;
	int64_t sent_us;
	int load_idx;            /* index in the load run, -1 otherwise */
} sim_push;

typedef struct sim_account sim_account;

/* Risk control variants (sim_risk.c). */
enum { SIM_RISK_RGV587, SIM_RISK_RRXVV, SIM_RISK_HASLOGIN };
#define SIM_RATE_RING 64         /* the token rate trigger looks at this many calls at most */

/* One WebSocket connection. */
typedef struct sim_conn {
	struct sim_conn *next;
	struct lws *wsi;
	int id;
	sim_account *acct;
	char sid[40];
	char did[160];           /* the device id it registered with */
	int registered;
	int stalled;
	int peer_close_code;     /* the code of the bot's close frame, 0 if none */
	int closing;             /* 0, or SIM_DROP_* to act on at the next writeable */
	int close_code;
	char close_reason[64];
	sim_out *q_head, *q_tail;
	sim_out *last;           /* written last: lws may still read it (permessage-deflate) */
	size_t q_bytes;
	sbuf rx;
	sim_push *pending;       /* pushes awaiting their ACK */
	lws_sorted_usec_list_t sul;  /* delayed close after a rejected /reg */
} sim_conn;

enum { SIM_DROP_NONE, SIM_DROP_FIN, SIM_DROP_RST, SIM_DROP_CLOSE };

/* An accepted send: its uuid's messageId (hashed in sim_account.sent). */
typedef struct sim_sent {
	struct sim_sent *next;
	char im[32];
	char uuid[];
} sim_sent;

#define SIM_SENT_BUCKETS 4096

/* A seller account, keyed by its unb. */
struct sim_account {
	sim_account *next;
	char unb[32];
	char h5tk[40];           /* the valid _m_h5_tk token, "" until first seen */
	char h5tk_old[40];       /* the rotated-out one, answered with TOKEN_EXOIRED */
	int expire_h5tk;         /* the next mtop call rotates the token */
	int session_expired;
	int64_t session_until_ms; /* the web session's end (session_ttl_ms), 0 until first seen (sim_session.c) */
	int64_t h5tk_exp_ms;     /* the _m_h5_tk's end (h5tk_ttl_ms), 0 until first seen */
	char sgcookie[40];       /* the last sgcookie a renewal gave, "" before the first */
	char sgcookie_old[40];   /* the one before it (still good) */
	int long_login;          /* setLoginSettings.do status=0 was called */
	char renew_unb[32];      /* fault renew_unb: the next hasLogin's Set-Cookie names this unb */
	int risk;                /* risk control on (sim_risk.c); hasLogin.do checks it too */
	int risk_variant;        /* SIM_RISK_*: which answer */
	int risk_until_x5sec;    /* clears only with the x5sec cookie and risk_ua */
	char risk_ua[256];       /* the User-Agent it is solved with ("" until the first risky call) */
	char risk_x5sec[48];     /* the x5sec cookie value that solves it */
	int risk_answers;        /* risk answers since it was turned on */
	int64_t token_calls_ms[SIM_RATE_RING];   /* recent login.token calls (the rate trigger) */
	int token_calls_pos;
	int send_fail_n;         /* the next N sends are refused */
	char send_fail_reason[32];
	int conv_ignore_n;       /* the next N /r/SingleChatConversation/create get no answer */
	sim_sent *sent[SIM_SENT_BUCKETS]; /* uuid -> messageId of accepted sends (a list
	                          * scanned per send made a long load run quadratic) */
	cJSON *history;          /* the last pushes sent, [{"lwp","items"}], for /replay */
	sim_push *offline;       /* pushes waiting for a registered connection */
	sim_push **offline_tail;
	int64_t reg_ms;          /* the last good /reg (sim_history.c: flow control after it) */
	int64_t hist_win_ms;     /* the start of the list calls' rate window */
	int hist_calls;          /* list calls in that window */
};

typedef struct sim_token {
	struct sim_token *next;
	char token[80];
	char did[160];
	char unb[32];
	int64_t expires_ms;
	int revoked;
} sim_token;

typedef struct sim_chat {
	struct sim_chat *next;
	struct sim_chat *hnext;  /* in S.chat_hash */
	char cid[24];
	char seller[32];
	char buyer[32];
	char buyer_name[128];     /* longer than the bot keeps: its cut is tested */
	char item_id[24];
	cJSON *hist;             /* sim_history.c: its messages (§4.3 shape), oldest first, or NULL */
	int64_t modify_ms;       /* createAt of its newest message, 0 when none */
} sim_chat;

typedef struct sim_order {
	struct sim_order *next;
	char id[24];
	char cid[24];
	char seller[32];
	char buyer[32];
	char buyer_name[128];     /* longer than the bot keeps: its cut is tested */
	char item_id[24];
	char spec[96];           /* "name:value" or "" */
	int quantity;
	int price;               /* fen */
	char status[24];
	char card_msg[32];       /* IM id of the last trade card (for update frames) */
	int consigns;            /* successful consign.dummy calls */
	int consign_calls;
	int detail_calls;        /* order.detail calls for it */
	/* What the order detail says, when it is not the order itself: the
	 * status before the last change until lag_until_ms (a detail that lags
	 * the cards), another buyer or item (a detail that disagrees). */
	char lag_status[24];
	int64_t lag_until_ms;
	char detail_buyer[32];
	char detail_item[24];
	int rates, rate_calls;   /* sim_rate.c: rate.create successes (1 at most) and calls */
	char rate_feedback[160];
	int64_t created_ms;      /* when it was placed (sold.get's createTime) */
} sim_order;

typedef struct sim_item {
	struct sim_item *next;
	char id[24];
	char title[128];
	char desc[256];
	int price;
	int quantity;
	cJSON *skus;             /* [{"spec":"颜色:红","price":n,"quantity":n}] or NULL */
	/* sim_items.c: the item list, pc.detail's pictures and status, polish */
	char pic_url[256];       /* main picture, "" = a made-up https://img.alicdn.com/ one */
	int status;              /* itemStatus: 0 on sale (listed), 1 delisted (not listed) */
	int deleted;             /* neither listed nor found by pc.detail */
	char polished_day[12];   /* the Beijing day of its last polish, "" never */
	int polishes, polish_calls, detail_calls;
} sim_item;

/* A generic injected mtop failure: the next n calls of api (or any) fail. */
typedef struct sim_mtop_fail {
	struct sim_mtop_fail *next;
	char api[96];            /* "" = any */
	int n;
	int status;              /* HTTP status, 200 = a ret failure */
	char ret[96];
} sim_mtop_fail;

typedef struct sim_stats {
	long ws_accepted, ws_rejected_nocookie, refused, blackholed;
	long reg_ok, reg_bad;
	long heartbeats, ackdiffs, requests, unknown_requests, bad_frames;
	long pushes, acks, dup_acks, unacked_at_close, redelivered;
	long sends, send_repeats, send_refused, conv_creates;
	long mtop_calls, mtop_bad_sign, mtop_token_expired, tokens_minted, consigns;
	long pings_seen;
	long renew_haslogin, renew_silent, renew_settings, renew_loginuser, session_expired;
	long history_calls, history_flow_limited, offline_dropped;
	long kicks, risk_answers, risk_triggered, risk_solved;
} sim_stats;

typedef struct sim_load {
	int running, n, window, pushed, acked, replied;
	char seller[32];
	char text[128];
	int64_t start_us, end_us;
	int64_t *push_us;        /* per message */
	int64_t *lat_us;         /* per message, -1 until replied */
} sim_load;

typedef struct sim {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	int plat_fd, ctl_fd, port, ctl_port;
	volatile int interrupted;
	int next_conn_id;
	uint64_t next_mid, next_im, next_cid, next_buyer, next_order;
	sim_conn *conns;
	sim_account *accounts;
	sim_token *tokens;
	sim_chat *chats;
	sim_chat *chat_hash[4096];
	sim_order *orders;
	sim_item *items;
	sim_mtop_fail *mtop_fails;
	int refuse_n, blackhole_n;
	int *holes;              /* black-holed sockets */
	int nholes;
	/* settings (POST /config) */
	int reg_reject_delay_ms;
	int64_t token_ttl_ms;
	int64_t session_ttl_ms;  /* the web session's lifetime without a renewal, 0 = never */
	int64_t h5tk_ttl_ms;     /* the _m_h5_tk's lifetime, 0 = never */
	int redeliver_unacked;
	int record;
	int no_pictures;         /* --no-pictures: items have no made-up picture (the demo stays offline) */
	int consign_pushes_card;
	int require_origin;
	int kick_on_second_reg;  /* a /reg with another device id kicks the account's other connections */
	int risk_token_max;      /* more token calls than this within risk_token_window_ms: risk (0 off) */
	int64_t risk_token_window_ms;
	/* everything bots sent, as rendered JSON entries */
	char **log;
	int nlog, caplog;
	sim_stats st;
	sim_load load;
	cJSON *scenario;         /* steps still to run */
	int scenario_on_register;
	lws_sorted_usec_list_t scen_sul;
	int64_t scen_next_at_us;
	int verbose;
} sim;

extern sim S;

/* Per-session data of both vhosts: an HTTP request, or a WebSocket connection. */
typedef struct sim_pss {
	sim_conn *conn;
	char path[256];
	char query[1024];
	int method;              /* LWSHUMETH_* */
	sbuf body;
	int body_too_big;
	char *resp;              /* LWS_PRE + resp_len */
	size_t resp_len;
	struct sim_llm_wait *llm; /* sim_llm.c: a delayed answer waiting, or NULL */
} sim_pss;

#define SIM_MAX_BODY (1u << 20)

/* sim_state.c */
/* A member of a JSON object, or def when it is missing or of another type. */
const char *sim_jstr(const cJSON *o, const char *k, const char *def);
double sim_jnum(const cJSON *o, const char *k, double def);
int sim_jbool(const cJSON *o, const char *k, int def);
#define sim_jstr2(o, k) sim_jstr((o), (k), NULL)
sim_account *sim_account_get(const char *unb, int create);
sim_account *sim_default_account(const char *unb);
sim_chat *sim_chat_find(const char *cid);
/* The messageId of the account's accepted send uuid, NULL when none. */
const char *sim_sent_find(const sim_account *a, const char *uuid);
/* Records it. 0 or -1 (out of memory). */
int sim_sent_add(sim_account *a, const char *uuid, const char *im);
sim_chat *sim_chat_get(const char *seller, const char *cid, const char *buyer,
		       const char *buyer_name, const char *item_id);
sim_order *sim_order_find(const char *id);
sim_item *sim_item_get(const char *id, int create);
sim_token *sim_token_find(const char *token);
void sim_log_add(int conn, const char *unb, const char *via, const char *what,
		 const char *frame, size_t frame_len, const cJSON *extra);
void sim_gen_hex(char *out, size_t nhex);
void sim_reset(void);
void sim_free_all(void);

/* sim_push.c: building pushes */
cJSON *sim_chat_message(const sim_chat *ch, const char *sender, const char *sender_nick,
			 int content_type, const char *display, const char *inner, const char *im_id,
			 int need_push, cJSON *info);
cJSON *sim_wrap_item(int biz_type, int object_type, const cJSON *tree, int as_json);
cJSON *sim_item_build(const cJSON *spec, sim_account *a, cJSON *info, char *err, size_t errlen);
int sim_push_send(sim_account *a, const char *lwp, cJSON *items, int load_idx, char *mid_out);
int sim_push_frame(sim_account *a, const char *text, size_t len, int raw, int track);
void sim_push_flush_offline(sim_account *a, sim_conn *c);
void sim_push_free(sim_push *p);
extern const char *const sim_order_statuses[];

/* sim_history.c: conversation and message history (README.md "History") */
/* Records the chat messages among a push's items (taken from their data) in
 * their chats' histories; load-run pushes are not recorded. */
void sim_history_note(const cJSON *items);
/* The body of the answer to a listNewestPagination or listUserMessages
 * request of account a (flow control included); NULL for another lwp. */
cJSON *sim_history_answer(sim_account *a, const char *lwp, const cJSON *body);
/* Whether a push for an account with no registered connection waits for one
 * (1, the default) or is only kept in history (POST /config offline_push). */
int sim_history_offline_push(void);
/* POST /config: takes key x when it is a history setting (1), else 0;
 * sim_history_config_out adds the settings to the answer. */
int sim_history_config(const cJSON *x);
void sim_history_config_out(cJSON *out);
void sim_history_chat_free(sim_chat *ch);

/* sim_ws.c */
int sim_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len);
void sim_conn_enqueue(sim_conn *c, const char *p, size_t n, int raw);
void sim_conn_act(sim_conn *c, int how, int code, const char *reason);
sim_conn *sim_conn_registered(sim_account *a);
void sim_conn_track_push(sim_conn *c, const char *mid, const char *text, int load_idx);

/* sim_http.c */
/* Queues an answer: status, content type, body, and up to SIM_MAX_SET_COOKIES
 * Set-Cookie values (a NULL-terminated list, may be NULL). Returns 0, or 1 to
 * close when the headers do not fit. */
#define SIM_MAX_SET_COOKIES 10
int sim_http_respond(struct lws *wsi, sim_pss *pss, unsigned status, const char *ctype, const char *body,
		     char *const *set_cookies);
int sim_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		      size_t len);
int sim_ctl_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len);
/* Runs one control call; returns the HTTP status and sets *out (caller deletes). */
int sim_ctl_call(const char *method, const char *path, const char *query, cJSON *body, cJSON **out);

/* sim_seller.c: the seller console's APIs (sold.get) */
/* Notes what a seller-console call must carry: valueType=string in the
 * query, the header idle_site_biz_code (mtop_call, before mtop_api). */
void sim_seller_note(struct lws *wsi, const char *query);
/* 1 when api is a seller-console API: *ret is its failure ret, or NULL with
 * *out the data; 0 for another api. */
int sim_seller_mtop(const char *api, sim_account *a, const cJSON *dj, cJSON **out, const char **ret);

/* sim_session.c: the web session's lifetime and its renewal */
int sim_session_alive(sim_account *a);
/* A new login (QR) of seller a: the session lives again and its lifetime starts over. */
void sim_session_renewed(sim_account *a);
int sim_session_h5tk_due(sim_account *a);
cJSON *sim_session_loginuser(sim_account *a);
int sim_session_http(const char *path, const char *cookie, const char *form, size_t flen, cJSON **out,
		     char **sc, int nsc);

/* sim_passport.c: the passport QR login service (protocol-account.md §1) */
/* Serves a passport path of the platform port; -1 when the path is not one. */
int sim_passport_http(struct lws *wsi, sim_pss *pss);
/* A /login… control call (404 when unknown); *out is set. */
int sim_passport_ctl(const char *method, const char *path, const cJSON *body, cJSON **out);
/* POST /fault of a qr_… kind; returns the status, *out set. */
int sim_passport_fault(const char *kind, const cJSON *body, cJSON **out);
/* POST /config: takes setting x when it is the passport's (1), else 0; with
 * x NULL adds the passport's settings to report. */
int sim_passport_config(const cJSON *x, cJSON *report);
void sim_passport_reset(void);
/* A passport answer (not an mtop envelope): {"content":{"data":data,
 * "status":0 or -1,"success":ok[,"titleMsg":title]},"hasError":false}; data
 * (NULL: {}) is taken, title may be NULL. */
cJSON *sim_passport_env(int ok, cJSON *data, const char *title);

/* sim_risk.c: risk control and kicks */
int sim_risk_fault(sim_account *a, const cJSON *b, cJSON **out);
int sim_risk_mtop(sim_account *a, const char *api, const char *cookie, const char *ua, const char **ret0,
		  const char **ret1, cJSON **data);
void sim_kick(sim_conn *c);
void sim_kick_on_reg(sim_conn *c, const char *did);
int sim_risk_config(const cJSON *x);
void sim_risk_config_out(cJSON *o);

/* sim_items.c: the seller's items (protocol-account.md §5, §7.1, §10.12) */
/* Runs api when it is an item API (item list, pc.detail, polish): 1 with
 * *ret the failure ret or NULL on success (*out the data), else 0. */
int sim_items_mtop(const char *api, sim_account *a, const cJSON *dj, cJSON **out, const char **ret);
/* POST /item (define or change an item) and GET /items; 404 for other paths. */
int sim_items_ctl(const char *method, const char *path, const cJSON *body, cJSON **out);

/* sim_webhook.c: POST/GET /webhook, the demo's alert receiver (README.md) */
int sim_webhook_http(struct lws *wsi, sim_pss *pss, const char *method);
void sim_webhook_reset(void);

/* sim_llm.c: the fake OpenAI-compatible model (README.md "Fake model") */
/* Serves .../chat/completions, /v1/models and /llm/... on the platform port;
 * -1 when the path is not one. */
int sim_llm_http(struct lws *wsi, sim_pss *pss, const char *method);
/* A /llm/ control call (the control port too): the status, *out set. */
int sim_llm_ctl(const char *method, const char *path, const cJSON *body, cJSON **out);
/* A connection closes: its delayed answer is cancelled. */
void sim_llm_drop(sim_pss *pss);
void sim_llm_reset(void);

/* sim_rate.c: rate.create 4.0 and merchant.rate.list (README.md) */
int sim_rate_api(const char *api);
const char *sim_rate_mtop(const char *api, const char *path, sim_account *a, const cJSON *dj, cJSON **out);
void sim_rate_nodes(cJSON *info, const sim_order *o);

/* sim_scenario.c */
int sim_scenario_load(cJSON *scn, char *err, size_t errlen);
void sim_scenario_on_register(void);
void sim_load_on_ack(int load_idx);
/* A load run's push left: its push -> reply latency starts now. */
void sim_load_on_write(int load_idx);
void sim_load_on_send(const char *cid);
int sim_load_start(cJSON *body, char *err, size_t errlen);
cJSON *sim_load_report(void);

#endif
