/* SPDX-License-Identifier: MIT */
/*
 * core/commands.h - the core's two command tables, one row per command.
 *
 * Each table is an X-macro: a file that needs the commands defines X for the
 * columns it wants and expands the table, so the dispatch, the help, and the
 * names reserved against the plugins come from the same rows and cannot drift
 * apart (Redis's command table, split so that the core library, which has no
 * handlers, sees the names too).
 *
 * Adding a control command: one row in CORE_CONTROL_COMMANDS and its handler
 * api_cmd_<name> in core/api.c; the web page's /api/control, shopkeep ctl,
 * the "help" command's list and the names plugins may not register
 * (core/host_ctl.c) follow. Document it in web/API.md.
 *
 * Adding a command-line command: one row in CORE_CLI_COMMANDS and its
 * handler main_<name>(argc, argv) in core/main.c (argv after the command's
 * name); `shopkeep --help` and the names plugins may not declare
 * (core/loader.c) follow. Document it in README.md.
 */
#ifndef SK_COMMANDS_H
#define SK_COMMANDS_H

/* The control commands of the core (web/API.md), in the order "help" lists
 * them: X(name, one-line help). A plugin's commands come after these. */
#define CORE_CONTROL_COMMANDS(X) \
	X(status, "state, metrics, last error, plugins") \
	X(send, "{chat_id, buyer_id, text} or {chat_id, buyer_id, image_url, width, height}: the seller's reply from the page (pauses auto-reply: core.seller_reply)") \
	X(list_chats, "{limit, before_ms}: the stored chats, waiting ones first, then by last activity") \
	X(chat_messages, "{chat_id, before_id, limit}: a page of a chat's stored messages, oldest first") \
	X(chat_read, "{chat_id}: the chat's messages are read (unread 0)") \
	X(chat_stats, "{days}: per Beijing day, the buyers', the bot's and the seller's messages") \
	X(reload_rules, "reload the rules file (as SIGHUP)") \
	X(setup_token, "a fresh setup token for the page while no admin password is set") \
	X(login_qr_start, "start a QR-code login (the Xianyu app scans it); replaces one running") \
	X(login_qr_state, "the QR login's state, message, code (svg, code_url)") \
	X(login_qr_cancel, "stop the QR login") \
	X(cookie_set, "{cookie}: take a new login's cookie (sealed; the session reconnects)") \
	X(cookie_reload, "take the cookie of the secret file again (after shopkeep login)") \
	X(help, "this list")

/* The command-line commands of the core, in the order `shopkeep --help`
 * lists them: X(name, arguments, one-line help). A NULL help keeps a command
 * out of the list (help itself). Any other word is looked up among the
 * plugins' commands. */
#define CORE_CLI_COMMANDS(X) \
	X(run, "--config FILE", "run one account in the foreground until SIGINT/SIGTERM") \
	X(check, "--config FILE", "validate a config: prints \"config OK\" or one error per line") \
	X(passwd, "--config FILE", "set the admin password of the account's web page (read from stdin)") \
	X(login, "--config FILE", "log the account in by QR code: scan it with the Xianyu app") \
	X(secret, "set --config FILE cookie", \
	  "encrypt the account's cookie (read from stdin) for account.cookie_secret") \
	X(status, "--config FILE [--json]", \
	  "ask the running process of the account for its state (exit 3: not running)") \
	X(ctl, "--config FILE COMMAND [DATA]", "run one control command (web/API.md) in the running process") \
	X(backup, "--config FILE DEST", "copy the account's state.db into DEST, also while it runs") \
	X(help, NULL, NULL)

#endif
