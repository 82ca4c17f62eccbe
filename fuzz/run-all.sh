#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) seconds, one after another,
# one libFuzzer process at a time (one core), and prints a results table.
#
#   bash fuzz/run-all.sh [SECONDS] [TARGET...]
#   KEEP_GOING=1 bash fuzz/run-all.sh ...   # go on past crashes (-fork=1 -ignore_crashes=1:
#                                           # still one child process at a time)
#
# Stable Rust: RUSTC_BOOTSTRAP=1 lets it accept cargo-fuzz's -Zsanitizer flag
# (see docs/fuzzing.md). Logs go to fuzz/target/logs/, crashes to fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
export RUSTC_BOOTSTRAP=1
python3 seeds.py >/dev/null
mkdir -p target/logs
cargo fuzz build >target/logs/build.log 2>&1
printf '| target | seconds | executions | cov | corpus | crashes |\n|---|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
  log="target/logs/$t.log"
  status=0
  extra=()
  if [ -n "${KEEP_GOING:-}" ]; then extra=(-fork=1 -ignore_crashes=1); fi
  cargo fuzz run "$t" -- -max_total_time="$seconds" "${extra[@]}" >"$log" 2>&1 || status=$?
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+(\/[0-9]+[a-zA-Z]+)?).*/\1/p' <<<"$last")
  crashes=$(grep -c 'Test unit written to' "$log" || true)
  printf '| %s | %s | %s | %s | %s | %s%s |\n' "$t" "$seconds" "$execs" "$cov" "$corp" "$crashes" \
    "$([ "$status" -ne 0 ] && echo " (exit $status, see $log)" || true)"
done
