#!/usr/bin/env bash
# The ledger's `who` query side by side with SQLite (an indexed table) and ClickHouse (a MergeTree
# table), on the same records, in one run (issue #5). Prints load time, on-disk bytes per record, the
# cold query time (after dropping the page cache) and the warm ones (median of 3), wall-clock and CPU,
# and the ratios against the ledger; fails (exit 1) if the three answers differ.
#
# The machine may be shared: warm runs are interleaved (ledger, SQLite, ClickHouse, three rounds) so that
# other load falls on all three alike, and CPU-seconds per query are reported beside wall time (the
# ledger and ClickHouse use every core for this query, SQLite one).
#
#   bash scripts/setup-bench.sh                      # sqlite3, clickhouse-server/-client (apt)
#   cmake --preset release -B /work/build-ledgerbench && cmake --build /work/build-ledgerbench --target ledger_bench ledger_sqlite
#   bash bench/ledger_compare.sh --build /work/build-ledgerbench --data /var/tmp/vg-ledger-100m --records 100000000
#
# Options:
#   --build DIR        the release build directory (default: build/release)
#   --data DIR         the dataset directory; generated with `ledger_bench --generate` if it holds none
#                      (default: /var/tmp/vg-ledger-data)
#   --records N        records to generate (default 100000000), over 90 days, 8 vendors, 1 M subjects
#   --work DIR         where the SQLite file and ClickHouse's data go (default: /var/tmp/vg-ledger-compare)
#   --sqlite-timeout S give up loading SQLite after S seconds and report it (default 900: 15 minutes)
#   --skip-sqlite, --skip-clickhouse
#   --keep             keep the SQLite file and ClickHouse's data (default: removed at exit)
#   --reuse            reuse the SQLite file and ClickHouse's data a --keep run left (and their load times)
#
# The query: for vendor-3, the 16 days [t0 + 30 d, t0 + 46 d): per subject the OR of the category masks,
# the first and last time and the number of records (delivered or dead-lettered), as Ledger::Who answers.
# Each system answers the whole result to a client: the ledger in-process (ledger_bench --who), SQLite
# in-process through its C API (ledger_sqlite who, stepping every row), ClickHouse to clickhouse-client
# over TCP on 127.0.0.1 (FORMAT Null: rows received, not printed; the time is the client's --time).
# Cold runs need root to drop the page cache (and ClickHouse's mark cache); without it they are warm
# and the report says so.
set -euo pipefail

build=build/release
data=/var/tmp/vg-ledger-data
records=100000000
work=/var/tmp/vg-ledger-compare
sqlite_timeout=900
skip_sqlite=0
skip_clickhouse=0
keep=0
reuse=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --sqlite-timeout) sqlite_timeout=$2; shift 2 ;;
    --skip-sqlite) skip_sqlite=1; shift ;;
    --skip-clickhouse) skip_clickhouse=1; shift ;;
    --keep) keep=1; shift ;;
    --reuse) reuse=1; keep=1; shift ;;
    *) echo "ledger_compare: unknown option $1" >&2; exit 2 ;;
  esac
done

bench=$build/bench/ledger_bench
sqlite_tool=$build/bench/ledger_sqlite
for b in "$bench" "$sqlite_tool"; do
  [ -x "$b" ] || { echo "ledger_compare: $b not built (cmake --build $build --target ledger_bench ledger_sqlite)" >&2; exit 2; }
done
if [ "$skip_clickhouse" = 0 ]; then
  command -v clickhouse-server >/dev/null && command -v clickhouse-client >/dev/null ||
    { echo "ledger_compare: clickhouse-server/-client missing: bash scripts/setup-bench.sh" >&2; exit 2; }
fi

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

# Cold runs: drop the page cache if we may (root on a machine that allows it).
can_drop=0
if [ "$(id -u)" -eq 0 ] && sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then can_drop=1; fi
drop_caches() { [ "$can_drop" = 1 ] && sync && echo 3 > /proc/sys/vm/drop_caches; return 0; }

mkdir -p "$work"
ch_pid=""
ch_dir=""
cleanup() {
  if [ -n "$ch_pid" ]; then kill "$ch_pid" 2>/dev/null || true; wait "$ch_pid" 2>/dev/null || true; fi
  if [ "$keep" = 0 ]; then
    rm -f "$work/ledger.sqlite" "$work/ledger.sqlite.load_seconds"
    [ -n "$ch_dir" ] && rm -rf "$ch_dir"
  fi
}
trap cleanup EXIT

# --- the dataset ------------------------------------------------------------------------------------------
if [ ! -f "$data/dataset.env" ]; then
  log "generating $records records into $data (load $(load_avg))"
  "$bench" --generate "$data" --records "$records" --days 90 --vendors 8 --subjects 1000000 --seed 1
fi
# shellcheck disable=SC1091
. "$data/dataset.env"
vendor_name=vendor-3
vendor_id=$VG_VENDOR_ID_vendor_3
from_day=30
days=16
from_us=$((VG_T0_US + from_day * 86400000000))
to_us=$((VG_T0_US + (from_day + days) * 86400000000))
log "dataset: $VG_RECORDS records, $VG_DAYS days, $VG_VENDORS vendors, $VG_SUBJECTS subjects; query $vendor_name (id $vendor_id) [$from_us, $to_us)"

# Every query run prints "run=N seconds=S cpu_seconds=C subjects=A records=B categories_sum=S1
# first_sum=S2 last_sum=S3" (ClickHouse's checksum comes from a separate, untimed query).
field() { sed -n "s/.*\<$1=\([0-9.-]*\).*/\1/p"; }
checksum_of() { sed -n 's/.* subjects=\([0-9]*\) records=\([0-9]*\) categories_sum=\([0-9]*\) first_sum=\([0-9-]*\) last_sum=\([0-9-]*\)$/\1 \2|\3|\4|\5/p'; }
median3() { sort -g | sed -n 2p; }

systems=(ledger)
declare -A load_s bytes note lines

# --- loading ----------------------------------------------------------------------------------------------
load_s[ledger]=$VG_LEDGER_APPEND_SECONDS
bytes[ledger]=$VG_LEDGER_BYTES
note[ledger]="ledger files; load = Append+Close while generating"

db=$work/ledger.sqlite
if [ "$skip_sqlite" = 0 ]; then
  if [ "$reuse" = 1 ] && [ -f "$db" ] && [ -f "$db.load_seconds" ]; then
    log "sqlite: reusing $db"
  else
    rm -f "$db" "$db.load_seconds"
    log "sqlite: loading (timeout ${sqlite_timeout} s; load $(load_avg))"
    start=$(date +%s.%N)
    rc=0
    timeout "$sqlite_timeout" "$sqlite_tool" load "$db" "$data/records.csv" >&2 || rc=$?
    if [ "$rc" = 0 ]; then
      echo "$(date +%s.%N) - $start" | bc >"$db.load_seconds"
    elif [ "$rc" = 124 ]; then
      log "sqlite: load did not finish in $sqlite_timeout s at $VG_RECORDS records"
      note[sqlite]="load exceeded ${sqlite_timeout} s at $VG_RECORDS records: not measured"
      rm -f "$db"
    else
      echo "ledger_compare: SQLite load failed ($rc)" >&2
      exit 1
    fi
  fi
  if [ -f "$db" ]; then
    systems+=(sqlite)
    load_s[sqlite]=$(cat "$db.load_seconds")
    bytes[sqlite]=$(stat -c %s "$db")
    note[sqlite]="WITHOUT ROWID table, PRIMARY KEY (vendor, time, insert_id)"
  fi
fi

if [ "$skip_clickhouse" = 0 ]; then
  ch_dir=$work/clickhouse
  if [ "$reuse" = 1 ] && [ -f "$ch_dir/load_seconds" ]; then
    log "clickhouse: reusing $ch_dir"
    fresh=0
  else
    rm -rf "$ch_dir"
    fresh=1
  fi
  mkdir -p "$ch_dir/data" "$ch_dir/etc"
  port=${VG_CH_PORT:-19000}
  http_port=$((port + 1))
  cat >"$ch_dir/etc/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$ch_dir/server.log</log><errorlog>$ch_dir/server.err.log</errorlog><size>100M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$port</tcp_port>
  <http_port>$http_port</http_port>
  <path>$ch_dir/data/</path>
  <tmp_path>$ch_dir/data/tmp/</tmp_path>
  <user_files_path>$ch_dir/data/user_files/</user_files_path>
  <format_schema_path>$ch_dir/data/format_schemas/</format_schema_path>
  <mark_cache_size>5368709120</mark_cache_size>
  <max_concurrent_queries>16</max_concurrent_queries>
  <users_config>$ch_dir/etc/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
EOF
  cat >"$ch_dir/etc/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage><use_uncompressed_cache>0</use_uncompressed_cache></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
EOF
  clickhouse-server --config-file="$ch_dir/etc/config.xml" >"$ch_dir/stdout" 2>&1 &
  ch_pid=$!
  ch() { clickhouse-client --host 127.0.0.1 --port "$port" "$@"; }
  for _ in $(seq 1 60); do ch --query "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
  ch --query "SELECT 1" >/dev/null || { echo "ledger_compare: clickhouse-server did not start; see $ch_dir" >&2; exit 1; }
  if [ "$fresh" = 1 ]; then
    ch --query "CREATE DATABASE vg"
    # Sorted by the query's predicate (vendor, then time), so the primary index finds vendor-3's 16 days;
    # partitioned by UTC day, as the ledger's segments are (and as retention would drop them).
    ch --query "CREATE TABLE vg.disclosure (time Int64, vendor UInt16, subject String, categories UInt32,
        outcome UInt8, insert_id String) ENGINE = MergeTree
        PARTITION BY toYYYYMMDD(toDateTime(intDiv(time, 1000000))) ORDER BY (vendor, time)"
    log "clickhouse: loading (load $(load_avg))"
    start=$(date +%s.%N)
    ch --query "INSERT INTO vg.disclosure FORMAT CSV" <"$data/records.csv"
    echo "$(date +%s.%N) - $start" | bc >"$ch_dir/load_seconds"
  fi
  rows=$(ch --query "SELECT count() FROM vg.disclosure")
  [ "$rows" = "$VG_RECORDS" ] || { echo "ledger_compare: ClickHouse holds $rows rows, not $VG_RECORDS" >&2; exit 1; }
  # Let background merges finish (bounded), so they do not run during the queries.
  for _ in $(seq 1 300); do [ "$(ch --query "SELECT count() FROM system.merges")" = 0 ] && break; sleep 1; done
  parts=$(ch --query "SELECT count() FROM system.parts WHERE active AND database = 'vg' AND table = 'disclosure'")
  systems+=(clickhouse)
  load_s[clickhouse]=$(cat "$ch_dir/load_seconds")
  bytes[clickhouse]=$(du -sb "$ch_dir/data/data/vg/disclosure" | cut -f1)
  note[clickhouse]="MergeTree ORDER BY (vendor, time), PARTITION BY day; $parts parts"
  where="vendor = $vendor_id AND time >= $from_us AND time < $to_us AND outcome IN (0, 1)"
  ch_query="SELECT subject, groupBitOr(categories) AS cats, min(time) AS first, max(time) AS last, count() AS n
            FROM vg.disclosure WHERE $where GROUP BY subject"
  read -r a b c d e < <(ch --query "SELECT count(), sum(n), sum(cats), sum(first - $from_us), sum(last - $from_us) FROM ($ch_query)")
  ch_checksum="subjects=$a records=$b categories_sum=$c first_sum=$d last_sum=$e"
  clk_tck=$(getconf CLK_TCK)
fi

# --- the query, one run of one system ---------------------------------------------------------------------
# CPU: the ledger's and SQLite's own process (every thread); ClickHouse's server (from /proc, 1/CLK_TCK
# resolution) plus its client.
ch_server_ticks() { awk '{print $14 + $15}' "/proc/$ch_pid/stat"; }
run_once() {
  local sys=$1 r=$2 out
  case "$sys" in
    ledger)
      out=$("$bench" --who "$data" --vendor "$vendor_name" --from-day $from_day --days $days --runs 1)
      echo "$out" | sed -n 's/^open /ledger open /p' >&2
      echo "$out" | sed -n "s/^run=1 /run=$r /p" ;;
    sqlite)
      out=$("$sqlite_tool" who "$db" "$vendor_id" "$from_us" "$to_us" 1)
      [ "$r" = cold ] && echo "$out" | sed -n 's/^plan: /sqlite plan: /p' >&2
      echo "$out" | sed -n "s/^run=1 /run=$r /p" ;;
    clickhouse)
      local t0 t1 t client
      t0=$(ch_server_ticks)
      t=$( { /usr/bin/time -f '%U %S' -o "$ch_dir/client_time" clickhouse-client --host 127.0.0.1 --port "$port" \
             --time --format Null --query "$ch_query" >/dev/null; } 2>&1 | tail -1)
      t1=$(ch_server_ticks)
      [[ "$t" =~ ^[0-9]+\.[0-9]+$ ]] || { echo "ledger_compare: clickhouse query failed: $t" >&2; exit 1; }
      client=$(awk '{print $1 + $2}' "$ch_dir/client_time")
      echo "run=$r seconds=$t cpu_seconds=$(echo "scale=3; ($t1 - $t0) / $clk_tck + $client" | bc) $ch_checksum" ;;
  esac
}

# Cold: each system's first run after dropping the page cache (and ClickHouse's mark cache).
for sys in "${systems[@]}"; do
  drop_caches
  [ "$sys" = clickhouse ] && ch --query "SYSTEM DROP MARK CACHE"
  log "$sys: cold run (load $(load_avg))"
  line=$(run_once "$sys" cold)
  echo "  $sys: $line" >&2
  lines[$sys]="$line"
done
# Warm: three rounds, the systems interleaved.
for r in 1 2 3; do
  for sys in "${systems[@]}"; do
    log "$sys: warm run $r (load $(load_avg))"
    line=$(run_once "$sys" "$r")
    echo "  $sys: $line" >&2
    lines[$sys]+=$'\n'"$line"
  done
done

# --- report -----------------------------------------------------------------------------------------------
echo
echo "who: $vendor_name, 16 days of $VG_DAYS, over $VG_RECORDS records ($VG_SUBJECTS subjects, $VG_VENDORS vendors); $(nproc) cores; load average now $(load_avg)"
if [ "$can_drop" = 1 ]; then
  echo "cold = first run after dropping the page cache (ClickHouse: and its mark cache); warm = median of 3 interleaved runs"
else
  echo "cold runs NOT measured (cannot drop the page cache): 'cold' is just the first run; warm = median of 3 interleaved runs"
fi
printf '%-11s %8s %9s %8s %8s %8s %8s %9s %9s  %s\n' system "load s" "bytes/rec" "cold s" "warm s" "cold cpu" "warm cpu" \
  "wall×ldg" "cpu×ldg" notes
declare -A warm warm_cpu
status=0
ref_sum=$(echo "${lines[ledger]}" | head -1 | checksum_of)
for sys in ledger sqlite clickhouse; do
  [ -n "${note[$sys]:-}" ] || continue
  if [ -z "${lines[$sys]:-}" ]; then
    printf '%-11s %8s %9s %8s %8s %8s %8s %9s %9s  %s\n' "$sys" - - - - - - - - "${note[$sys]}"
    continue
  fi
  cold=$(echo "${lines[$sys]}" | grep '^run=cold ' | field seconds)
  cold_cpu=$(echo "${lines[$sys]}" | grep '^run=cold ' | field cpu_seconds)
  warm[$sys]=$(echo "${lines[$sys]}" | grep -v '^run=cold ' | field seconds | median3)
  warm_cpu[$sys]=$(echo "${lines[$sys]}" | grep -v '^run=cold ' | field cpu_seconds | median3)
  printf '%-11s %8.1f %9.1f %8.3f %8.3f %8.3f %8.3f %8.2f× %8.2f×  %s\n' "$sys" "${load_s[$sys]}" \
    "$(echo "scale=2; ${bytes[$sys]} / $VG_RECORDS" | bc)" "$cold" "${warm[$sys]}" "$cold_cpu" "${warm_cpu[$sys]}" \
    "$(echo "scale=3; ${warm[$sys]} / ${warm[ledger]}" | bc)" "$(echo "scale=3; ${warm_cpu[$sys]} / ${warm_cpu[ledger]}" | bc)" \
    "${note[$sys]}"
  # Every run of every system must give the ledger's answer.
  while read -r got; do
    if [ "$got" != "$ref_sum" ]; then
      echo "MISMATCH: $sys answered 'subjects records|categories_sum|first_sum|last_sum' = '$got';" \
        "the ledger answered '$ref_sum'" >&2
      status=1
    fi
  done < <(echo "${lines[$sys]}" | checksum_of)
done
if [ "$status" = 0 ]; then
  echo "answers agree in every run: ${ref_sum%% *} subjects, $(echo "${ref_sum#* }" | cut -d'|' -f1) records" \
    "(and the same sums of category unions and of first/last times)"
else
  echo "ANSWERS DIFFER (see above)" >&2
fi
exit $status
