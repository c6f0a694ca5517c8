#!/usr/bin/env bash
# Old code against new on the same machine, interleaved: POST /predict with the page's canvas PNG.
#
#   benchmarks/ab.sh REV [ROUNDS]     # e.g. benchmarks/ab.sh 251ffd8 2
#
# Checks REV out into a temporary worktree and, for each round and each configuration below, starts that
# version's server, loads it with wrk (2 s warm-up, then 6 s), stops it, then does the same for the working
# tree. Old and new alternate, so a machine that slows down or speeds up meanwhile hits both alike. Needs wrk
# and this checkout's virtual environment (.venv) with everything both versions import.
set -euo pipefail
rev=${1:?usage: benchmarks/ab.sh REV [ROUNDS]}
rounds=${2:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
old=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; git -C "$root" worktree remove --force "$old" >/dev/null 2>&1 || true' EXIT
git -C "$root" worktree add --detach --force "$old" "$rev" >/dev/null 2>&1
body=$(mktemp --suffix .json)
"$python" -c "import base64, json, sys; json.dump({'image': 'data:image/png;base64,' + base64.b64encode(open(sys.argv[1], 'rb').read()).decode()}, open(sys.argv[2], 'w'))" "$root/app/benchmark/canvas-chromium.png" "$body"
lua=$(mktemp --suffix .lua)
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal f = io.open("%s", "r"); wrk.body = f:read("*a"); f:close()\n' "$body" > "$lua"

run() {  # DIR LABEL "serve args" CONCURRENCY
  local port pid ready="" attempt
  # A server that exits before it is ready is started again (revisions before ef8f510 could abort in their
  # start-up check with several workers); after three tries the row says so and the script goes on.
  for attempt in 1 2 3; do
    port=$("$python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    (cd "$1" && TF_CPP_MIN_LOG_LEVEL=2 exec "$python" -m app.cli serve --port "$port" $3 >/dev/null 2>&1) &
    pid=$!
    for _ in $(seq 1 600); do
      if curl -sf "127.0.0.1:$port/readyz" 2>/dev/null | grep -q '"loading":\[\]'; then ready=$attempt; break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    [ -n "$ready" ] && break
    wait "$pid" 2>/dev/null || true
  done
  if [ -z "$ready" ]; then
    printf '| %s | %s | %s | did not start (3 tries) | | |\n' "$2" "$3" "$4"
    return
  fi
  wrk -t1 -c"$4" -d2s -s "$lua" "http://127.0.0.1:$port/predict" >/dev/null
  local out
  out=$(wrk -t1 -c"$4" -d6s -s "$lua" --latency "http://127.0.0.1:$port/predict")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "$3" "$4" "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(grep -c 'Non-2xx' <<<"$out" || true)"
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

echo "| version | serve | conc. | req/s | p50 | non-2xx lines |"
echo "|---|---|---:|---:|---:|---:|"
for _ in $(seq 1 "$rounds"); do
  for config in "--runtime keras|1" "--runtime keras --workers 2|16" "--runtime litert --workers 2|16"; do
    run "$old" "$rev" "${config%|*}" "${config#*|}"
    run "$root" "working tree" "${config%|*}" "${config#*|}"
  done
done
