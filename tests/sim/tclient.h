/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/tclient.h - a small blocking client that scripted tests use to talk
 * to the simulator (tests/sim) and to fake servers, on 127.0.0.1 only.
 *
 * Plain POSIX sockets, poll() for every wait, no libwebsockets. One thread; every
 * call blocks until done or until its timeout. Timeouts are in milliseconds: a
 * negative timeout waits forever, 0 only takes what has already arrived. Calls
 * without a timeout parameter (sends, tc_ctl) give up after TC_IO_MS.
 *
 * Ownership: every char * and cJSON * handed back is the caller's (free(),
 * cJSON_Delete(), or the matching tc_*_free()). Messages and response bodies are
 * capped at TC_MAX_MSG bytes. Sends use MSG_NOSIGNAL, so no SIGPIPE.
 */
#ifndef SK_TCLIENT_H
#define SK_TCLIENT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>

#define TC_MAX_MSG (64u << 20)   /* largest WS message / HTTP body accepted */
#define TC_IO_MS   10000         /* time limit of calls that take no timeout */

/*
 * The simulator as a child process: runs
 * "$SK_BUILD/shopkeep-sim --port 0 --ctl-port 0 [extra args...]" (SK_BUILD
 * defaults to "build") with stdout on a pipe and stderr inherited, and waits up
 * to 10 s for its line "shopkeep-sim: ready port=P ctl_port=C". Other stdout
 * lines before it are copied to stderr; nothing reads the pipe afterwards (the
 * simulator prints only that line). The child gets SIGTERM if the test dies.
 */
typedef struct {
	pid_t pid;      /* -1 when not running */
	int port;       /* platform port (HTTP + WebSocket) */
	int ctl_port;   /* JSON control port */
	int out_fd;     /* read end of the child's stdout, -1 when none */
} tc_sim;

/* Starts the simulator; extra_args is NULL-terminated or NULL. Returns 0, or -1 (child reaped, reason on stderr). */
int tc_sim_start(tc_sim *s, const char *const *extra_args);
/* SIGTERM, then waits up to 10 s before SIGKILL. Returns the exit status (0..255), 128+signal, or -1. */
int tc_sim_stop(tc_sim *s);

/*
 * HTTP/1.1 over a fresh connection with "Connection: close". The response is read
 * by Content-Length, chunked encoding, or until the server closes; interim 1xx
 * answers are skipped.
 */
typedef struct {
	int status;
	char *head;       /* status line and header lines, each ending "\r\n" (no blank line); NUL-terminated */
	char *body;       /* decoded body, NUL-terminated (never NULL after success) */
	size_t body_len;
} tc_http_resp;

/* Sends method path (extra_headers: "Name: v\r\n..." or NULL; body may be NULL) to 127.0.0.1:port.
 * Content-Length is sent when body is not NULL or the method is POST/PUT/PATCH.
 * Returns 0 with *r filled (any status), or -1 on I/O error, bad response or timeout (*r then empty). */
int tc_http(int port, const char *method, const char *path, const char *extra_headers,
            const char *body, size_t body_len, tc_http_resp *r, int timeout_ms);
/* Returns the nth (0-based) value of header name (case-insensitive), trimmed and malloc'd, or NULL. */
char *tc_http_header(const tc_http_resp *r, const char *name, int nth);
/* Frees what tc_http filled; r itself is the caller's. Safe on an empty or NULL r. */
void tc_http_free(tc_http_resp *r);

/* JSON control call: method path on ctl_port, json_body (or NULL) sent as application/json.
 * Returns the parsed response body (caller cJSON_Deletes) or NULL (I/O error, empty or non-JSON body);
 * *status (may be NULL) gets the HTTP status, 0 on I/O error. */
cJSON *tc_ctl(int ctl_port, const char *method, const char *path, const char *json_body, int *status);

/*
 * WebSocket client (RFC 6455). Frames it sends are masked with a random key.
 * tc_ws_recv reassembles fragmented messages, answers PING with PONG and counts
 * PONGs as they go by, so a PONG is only counted once a recv call has read it.
 * No extensions and no subprotocol are negotiated.
 */
typedef struct tc_ws tc_ws;

/* Opens a WebSocket to 127.0.0.1:port path and checks Sec-WebSocket-Accept.
 * Returns the connection, or NULL: then *http_status (may be NULL) gets the status the server answered
 * (101 means an upgrade with a wrong accept key), or 0 when it answered nothing (timeout, closed, refused). */
tc_ws *tc_ws_connect(int port, const char *path, const char *extra_headers, int timeout_ms, int *http_status);
/* Sends one text message in a single frame. Returns 0 or -1. */
int tc_ws_send_text(tc_ws *w, const char *s, size_t n);
/* Sends one raw frame: opcode's low 7 bits go in the first byte as they are (so 0x40|op sets RSV1),
 * fin sets the FIN bit. Sending opcode 8 counts as having sent our close. Returns 0 or -1. */
int tc_ws_send_frame(tc_ws *w, int opcode, int fin, const void *p, size_t n);
/* Sends a PING with a short payload. Returns 0 or -1. */
int tc_ws_send_ping(tc_ws *w);

/* Results of tc_ws_recv and tc_tcp_wait. */
enum { TC_MSG = 1, TC_CLOSE = 2, TC_EOF = 3, TC_RST = 4, TC_TIMEOUT = 5, TC_ERROR = 6 };

typedef struct {
	int opcode;        /* 1 text, 2 binary (of the first fragment); 8 for TC_CLOSE */
	char *data;        /* malloc'd, NUL-terminated: the message, or the close reason; NULL otherwise */
	size_t len;
	int close_code;    /* TC_CLOSE: the code, 1005 when the frame had none */
	int bad_protocol;  /* TC_ERROR: 1 for a protocol violation by the server, 0 for an I/O error */
} tc_frame;

/*
 * Waits for the next message. Returns TC_MSG (a complete text/binary message), TC_CLOSE (a close
 * frame, answered with a close echoing its code), TC_EOF (TCP FIN without a close frame), TC_RST
 * (ECONNRESET), TC_TIMEOUT (nothing complete yet; a partial frame is kept for the next call) or
 * TC_ERROR (reserved opcode or RSV bit, masked server frame, bad length or over TC_MAX_MSG, bad
 * fragmentation, fragmented or long control frame: bad_protocol=1; other I/O errors: 0).
 * TC_EOF, TC_RST and TC_ERROR are final: later calls return the same. *f is always reset first.
 */
int tc_ws_recv(tc_ws *w, int timeout_ms, tc_frame *f);
/* Frees f->data and clears f. */
void tc_frame_free(tc_frame *f);
/* Returns the next message parsed as JSON (caller deletes), or NULL when recv gave anything but a JSON TC_MSG. */
cJSON *tc_ws_recv_json(tc_ws *w, int timeout_ms);
/* Returns the number of PONGs received so far. */
int tc_ws_pongs(const tc_ws *w);
/* Returns the socket, for fault tests (SO_LINGER, shutdown...). */
int tc_ws_fd(const tc_ws *w);
/* Returns why the last TC_ERROR happened ("" when none). */
const char *tc_ws_error(const tc_ws *w);
/* With code > 0: sends a close with that code (unless one was sent already) and waits up to 1 s for the
 * server to close TCP, so it sees a clean close. With code <= 0: drops TCP without a close frame.
 * Then frees w. Safe on NULL. */
void tc_ws_close(tc_ws *w, int code);

/* Raw TCP to 127.0.0.1:port, TCP_NODELAY, blocking fd. Returns the fd or -1. */
int tc_tcp_connect(int port, int timeout_ms);
/* Waits for the peer to do something. Returns TC_MSG when bytes arrived (what is there is read and
 * discarded), TC_EOF, TC_RST, TC_TIMEOUT, or TC_ERROR on another socket error. */
int tc_tcp_wait(int fd, int timeout_ms);

/* Reads a dotted path ("body.data.0.data": array indexes as numbers) in a JSON
 * tree: the node, its string (NULL if not a string) or its number (-1 if not a number). */
cJSON *tc_jget(const cJSON *o, const char *path);
const char *tc_jstr(const cJSON *o, const char *path);
double tc_jnum(const cJSON *o, const char *path);

/* The next LWP response (a frame without lwp) whose headers.mid is mid; frames
 * on the way are skipped, pushes among them ACKed first when ack_pushes. NULL
 * after ms. */
cJSON *tc_lwp_await(tc_ws *w, const char *mid, int ms, int ack_pushes);

/* A signed mtop call to the simulator's API on port, with cookie ck: the md5 sign over
 * the exact form data, with tk as the signing token (NULL: the cookie's _m_h5_tk).
 * Returns the parsed envelope (NULL on I/O error or a body that is not JSON);
 * *status and *set_cookie (first Set-Cookie, malloc'd) when not NULL. */
cJSON *tc_mtop(int port, const char *ck, const char *api, const char *data, const char *tk, int *status,
	       char **set_cookie);

#endif
