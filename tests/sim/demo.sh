#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: starts the platform simulator with the demo scenario on 127.0.0.1
# and two demo accounts against it - two shopkeep processes, each with its own
# state, rules and web page - and prints where the pages are and their setup
# tokens. The bots' logs go to this terminal (and to build/demo/<id>/bot.log).
# Their notify plugin posts alerts to the simulator's POST /webhook (a local
# receiver: GET /webhook lists what arrived).
# Ctrl-C stops everything. Files of the run are kept in build/demo/.
set -u
B=${1:-build}
run=build/demo
web1=${SK_DEMO_WEB_PORT:-8080}
web2=$((web1 + 1))
mkdir -p "$run"
"$B/shopkeep-sim" --no-pictures --scenario config/demo-scenario.json > "$run/sim.out" 2> "$run/sim.log" &
sim=$!
bots=()
cleanup() {
	for p in "${bots[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${bots[@]}"; do wait "$p" 2>/dev/null; done
	kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null
	exit 0
}
trap cleanup INT TERM EXIT
for _ in $(seq 50); do grep -q ready "$run/sim.out" 2>/dev/null && break; sleep 0.1; done
line=$(grep ready "$run/sim.out") || { echo "demo: the simulator did not start:"; cat "$run/sim.log"; exit 1; }
port=$(sed 's/.* port=\([0-9]*\).*/\1/' <<<"$line")
ctl=$(sed 's/.*ctl_port=\([0-9]*\).*/\1/' <<<"$line")

# One account: a made-up cookie with its unb, the simulator's URLs, its state in
# build/demo/<id>, its own copy of the example rules (its page saves into it),
# its page on its own port, stock for the example's two stock cards (kept across
# runs: duplicates are skipped). Starts the bot; prints nothing.
start_account() {
	local id=$1 unb=$2 wport=$3 dir=$run/$1
	mkdir -p "$dir"
	rm -f "$dir/events.jsonl" "$dir/bot.log"
	[ -f "$dir/rules.json" ] || cp config/rules.example.json "$dir/rules.json"
	sed -e "s/@PORT@/$port/g" -e "s#@PLUGINS@#$PWD/$B/plugins#g" -e "s#@RULES@#$PWD/$dir/rules.json#g" \
	    -e "s#@WEBPORT@#$wport#g" -e "s#@WEBROOT@#$PWD/web#g" -e "s/@ID@/$id/g" -e "s/@UNB@/$unb/g" \
	    config/demo.json > "$dir/account.json"
	"$B/shopkeep" stock import --config "$dir/account.json" --card vip-month config/demo-codes-vip.txt >/dev/null || exit 1
	"$B/shopkeep" stock import --config "$dir/account.json" --card game-50 config/demo-codes-game50.txt >/dev/null || exit 1
	"$B/shopkeep" run --config "$dir/account.json" 2> >(sed -u "s/^/[$id] /" | tee "$dir/bot.log" >&2) &
	bots+=($!)
}

# Where an account's page is and how to log in the first time.
page_of() {
	local id=$1 wport=$2 dir=$run/$1 token
	for _ in $(seq 50); do grep -q 'web: the page is at\|web page is NOT running' "$dir/bot.log" 2>/dev/null && break; sleep 0.1; done
	token=$(sed -n 's/.*setup token \([A-Za-z0-9_-]*\).*/\1/p' "$dir/bot.log" | tail -n 1)
	if grep -q 'web page is NOT running' "$dir/bot.log"; then
		echo "  $id: its page is NOT running (port $wport busy? SK_DEMO_WEB_PORT=9080 make demo)"
	else
		echo "  $id: http://127.0.0.1:$wport/"
	fi
	if [ -n "$token" ]; then
		echo "      setup token $token  (the page asks for it once, with a new password)"
	else
		echo "      log in with the password set earlier (or: $B/shopkeep passwd --config $dir/account.json)"
	fi
	echo "      from a shell: $B/shopkeep status --config $dir/account.json"
}

start_account demo 2200000000001 "$web1"
start_account demo2 2200000000002 "$web2"
pages=$(page_of demo "$web1"; page_of demo2 "$web2")
cat <<MSG

shopkeep demo: two accounts, two processes, two pages
$pages
  simulated platform:  ws://127.0.0.1:$port/  (mtop API http://127.0.0.1:$port/h5/)
  simulator control:   http://127.0.0.1:$ctl/state   (see tests/sim/README.md)
  alerts received:     http://127.0.0.1:$port/webhook  (notify's webhook: the simulator keeps each POST)
  what the bots sent:  curl -s 'http://127.0.0.1:$ctl/sent?what=/r/MessageSend/sendByReceiverScope'
  each account:        $run/<id>/ has its config (account.json), rules.json, state.db, events.jsonl, bot.log
  simulator log:       $run/sim.log
What to look at (the page is in Chinese; EN in its header switches to English):
  概览 (dashboard): today's buyer messages, automatic replies, hand-overs, orders paid,
    delivered and failed, revenue, cards running low - it fills over the first two minutes
    while the buyers of config/demo-scenario.json ask, order and pay in account demo
  对话 (chats): every conversation; 张阿姨 asks for 人工 (a human): auto-reply stops in her
    chat, which waits at the top for you; answer her on the page, or resume auto-reply
  AI 议价 (the agent plugin, item 40006, list 100元, floor 80元): in 对话, 小张's chat (10007)
    bargains - 能便宜点吗 / 80卖不卖 / 70呢 / 最低多少; the simulator's fake model
    (demo-bargainer) drops 10% per ask and would go below the floor, the guard stops it:
    90元, 八十一, then 这已经是最低价啦 (floor_text). Each turn with its verdict:
      $B/shopkeep ctl --config $run/demo/account.json agent_decisions '{"limit":10}'
    what the model was asked:  curl -s http://127.0.0.1:$port/llm/requests
  提醒 (alerts): what notify sent - the hand-over, the order that failed (a 100元 card has no
    delivery rule), the card that ran out; the alerts the receiver got:
      curl -s http://127.0.0.1:$port/webhook
Both accounts run dedup, notify, autoreply with their own rules.json (edit the rules on the
page: saved and applied at once), orders (each paid order gets its card codes once, then the
shipment is confirmed), items and agent (AI replies for item 40006 only: config/demo.json's
agent section; tests/sim/README.md "Fake model"). Be a buyer yourself:
  curl -s -X POST http://127.0.0.1:$ctl/inject -d '{"seller":"2200000000002","cid":"20009","text":"多少钱"}'
  curl -s -X POST http://127.0.0.1:$ctl/inject -d '{"seller":"2200000000001","cid":"10008","item_id":"40006","text":"60行吗"}'
Kill one (kill \$(pgrep -f 'demo2/account.json')): the other goes on. Stock and orders:
  $B/shopkeep stock list --config $run/demo/account.json
  $B/shopkeep orders list --config $run/demo/account.json
Ctrl-C to stop.

MSG
wait "${bots[@]}"
