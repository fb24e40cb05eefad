#!/usr/bin/env bash
# Runs each named fuzz target of the edgeauth-fuzz binary for SECONDS, on its corpus in
# .build-fuzz/corpus/<target> (kept between runs, seeded by seed.py), and prints one line per
# target: executions, seconds, result. Any crash, leak, time-out or violated property fails
# the run; the input is kept in .build-fuzz/findings/<target>/ (Fuzz/README.md).
# Usage: Fuzz/run.sh BINARY SECONDS TARGET...
set -uo pipefail
binary=$1; seconds=$2; shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/.build-fuzz
python3 "$root/Fuzz/seed.py" "$work/seeds"
failed=0
total=0
printf '%-22s %14s %8s  %s\n' target executions seconds result
for target in "$@"; do
  corpus=$work/corpus/$target
  findings=$work/findings/$target
  mkdir -p "$corpus" "$findings"
  case $target in
    http-request|http-response) dict=http.dict ;;
    token|base64url|authorization) dict=token.dict ;;
    *) dict=json.dict ;;
  esac
  log=$work/logs/$target.log
  mkdir -p "$work/logs"
  seeds=()
  [ -d "$work/seeds/$target" ] && seeds=("$work/seeds/$target")
  (cd "$root" && EDGEAUTH_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=1 SWIFT_BACKTRACE=enable=no "$binary" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=16384 -print_final_stats=1 \
    -dict="$root/Fuzz/dictionaries/$dict" -artifact_prefix="$findings/" "$corpus" "${seeds[@]}") > "$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  runs=${runs:-0}
  total=$((total + runs))
  if [ $status -eq 0 ]; then
    result=ok
  else
    result="FAILED (status $status): $log"
    failed=1
  fi
  printf '%-22s %14s %8s  %s\n' "$target" "$runs" "$seconds" "$result"
done
printf '%-22s %14s\n' total "$total"
if [ $failed -ne 0 ]; then
  echo "a target failed: its log names the input, kept under $work/findings" >&2
  exit 1
fi
