#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: starts the platform simulator with the demo scenario on 127.0.0.1 and,
# once the core exists, a demo account's bot against it. Ctrl-C stops everything.
set -u
B=${1:-build}
log=$(mktemp -d)/sim.log
"$B/shopkeep-sim" --scenario config/demo-scenario.json > "$log.out" 2> "$log" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null; exit 0' INT TERM EXIT
for _ in $(seq 50); do grep -q ready "$log.out" 2>/dev/null && break; sleep 0.1; done
line=$(grep ready "$log.out") || { echo "demo: the simulator did not start:"; cat "$log"; exit 1; }
port=$(sed 's/.* port=\([0-9]*\).*/\1/' <<<"$line")
ctl=$(sed 's/.*ctl_port=\([0-9]*\).*/\1/' <<<"$line")
cat <<MSG
shopkeep demo
  simulated platform:  ws://127.0.0.1:$port/  (mtop API http://127.0.0.1:$port/h5/)
  simulator control:   http://127.0.0.1:$ctl/state   (see tests/sim/README.md)
  simulator log:       $log
MSG
if "$B/shopkeep" run --help >/dev/null 2>&1 && [ -f config/demo.json ]; then
	echo "  starting the demo account's bot (config/demo.json)"
else
	cat <<MSG
  The bot itself (build/shopkeep) is not built yet: the scenario (a buyer asks questions,
  orders and pays) starts as soon as a bot registers. Meanwhile try the simulator by hand:
    curl -s http://127.0.0.1:$ctl/state
    curl -s -XPOST http://127.0.0.1:$ctl/inject -d '{"seller":"2200000000001","text":"hi"}'
    curl -s 'http://127.0.0.1:$ctl/sent?since=0'
MSG
fi
echo "Ctrl-C to stop."
wait $sim
