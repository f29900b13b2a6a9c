#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: starts the platform simulator with the demo scenario on 127.0.0.1
# and a demo account's bot against it; the bot's log goes to this terminal.
# Ctrl-C stops both. Files of the run are kept in build/demo/.
set -u
B=${1:-build}
run=build/demo
mkdir -p "$run"
rm -f "$run/events.jsonl"
"$B/shopkeep-sim" --scenario config/demo-scenario.json > "$run/sim.out" 2> "$run/sim.log" &
sim=$!
bot=
cleanup() {
	[ -n "$bot" ] && kill "$bot" 2>/dev/null && wait "$bot" 2>/dev/null
	kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null
	exit 0
}
trap cleanup INT TERM EXIT
for _ in $(seq 50); do grep -q ready "$run/sim.out" 2>/dev/null && break; sleep 0.1; done
line=$(grep ready "$run/sim.out") || { echo "demo: the simulator did not start:"; cat "$run/sim.log"; exit 1; }
port=$(sed 's/.* port=\([0-9]*\).*/\1/' <<<"$line")
ctl=$(sed 's/.*ctl_port=\([0-9]*\).*/\1/' <<<"$line")
# The demo account: a made-up cookie, the simulator's URLs, the state in build/demo,
# its own copy of the example rules (the web page saves into it), its page on
# 127.0.0.1:${SK_DEMO_WEB_PORT:-8080}.
web_port=${SK_DEMO_WEB_PORT:-8080}
[ -f "$run/rules.json" ] || cp config/rules.example.json "$run/rules.json"
sed -e "s/@PORT@/$port/g" -e "s#@PLUGINS@#$PWD/$B/plugins#g" -e "s#@RULES@#$PWD/$run/rules.json#g" \
    -e "s#@WEBPORT@#$web_port#g" -e "s#@WEBROOT@#$PWD/web#g" config/demo.json > "$run/account.json"
# Stock for the two stock cards of the example rules (kept across runs: duplicates are skipped).
"$B/shopkeep" stock import --config "$run/account.json" --card vip-month config/demo-codes-vip.txt || exit 1
"$B/shopkeep" stock import --config "$run/account.json" --card game-50 config/demo-codes-game50.txt || exit 1
"$B/shopkeep" run --config "$run/account.json" 2> >(tee "$run/bot.log" >&2) &
bot=$!
for _ in $(seq 50); do grep -q 'web: the page is at\|web page is NOT running' "$run/bot.log" 2>/dev/null && break; sleep 0.1; done
token=$(sed -n 's/.*setup token \([A-Za-z0-9_-]*\).*/\1/p' "$run/bot.log" | tail -n 1)
if grep -q 'web page is NOT running' "$run/bot.log"; then
	page="NOT running (port $web_port busy? SK_DEMO_WEB_PORT=8081 make demo)"
else
	page="http://127.0.0.1:$web_port/"
fi
cat <<MSG

shopkeep demo
  the account's page:  $page
  $( [ -n "$token" ] && echo "setup token:         $token   (the page asks for it once, with a new password)" || echo "log in with the password set earlier (or: $B/shopkeep passwd --config $run/account.json)" )
  simulated platform:  ws://127.0.0.1:$port/  (mtop API http://127.0.0.1:$port/h5/)
  simulator control:   http://127.0.0.1:$ctl/state   (see tests/sim/README.md)
  what the bot sent:   curl -s 'http://127.0.0.1:$ctl/sent?what=/r/MessageSend/sendByReceiverScope'
  the bot's events:    $run/events.jsonl      its config: $run/account.json   its log: $run/bot.log
  simulator log:       $run/sim.log
A buyer greets, asks the price, orders and pays (config/demo-scenario.json). The demo
account runs dedup, hello (answers "hello"), autoreply with $run/rules.json (edit the
keyword rules on the page: saved and applied at once) and orders: each paid order gets
its card codes once, then the shipment is confirmed. Talk to the bot as a buyer:
  curl -s -X POST http://127.0.0.1:$ctl/inject -d '{"cid":"10001","text":"多少钱"}'
Stock and orders while it runs (also on the page):
  $B/shopkeep stock list --config $run/account.json
  $B/shopkeep orders list --config $run/account.json
Ctrl-C to stop.

MSG
wait "$bot"
