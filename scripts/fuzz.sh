#!/usr/bin/env bash
# Longer libFuzzer campaigns than the 20 s `ctest --preset fuzz` runs (docs/fuzzing.md).
#
#   scripts/fuzz.sh                       every target, 300 s each
#   scripts/fuzz.sh cmis_eeprom 3600      one target for an hour
#   scripts/fuzz.sh all 600               every target, 10 min each
#   JOBS=2 scripts/fuzz.sh scpi_reply 600 two fuzzing processes (libFuzzer -fork)
#   MERGE=1 scripts/fuzz.sh ...           afterwards, merge new coverage into tests/fuzz/corpus/
#
# Targets: sequence_loader fixture_loader cmis_eeprom scpi_reply modbus_registers.
# The working corpus lives in build/fuzz/campaign/<target>/corpus (seeded from the committed
# corpus, kept between campaigns); crashes land in build/fuzz/campaign/<target>/crash-*.
# Reproduce one: build/fuzz/tests/fuzz/fuzz_<target> build/fuzz/campaign/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

all=(sequence_loader fixture_loader cmis_eeprom scpi_reply modbus_registers)
target="${1:-all}"
seconds="${2:-300}"
jobs="${JOBS:-1}"
if [ "$target" = all ]; then targets=("${all[@]}"); else targets=("$target"); fi
for t in "${targets[@]}"; do
  if [[ ! " ${all[*]} " =~ " $t " ]]; then
    echo "fuzz.sh: unknown target '$t'; targets: ${all[*]}" >&2
    exit 2
  fi
done

# clang and libFuzzer (Debian 12: clang 14, libclang-rt-14-dev).
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "fuzz.sh: installing clang and libclang-rt-14-dev"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]/#/fuzz_}"

declare -A max_len=([sequence_loader]=8192 [fixture_loader]=8192 [cmis_eeprom]=36000
                    [scpi_reply]=4096 [modbus_registers]=8192)
declare -A dict=([sequence_loader]=yaml.dict [fixture_loader]=yaml.dict [modbus_registers]=yaml.dict
                 [scpi_reply]=scpi.dict)
status=0
for t in "${targets[@]}"; do
  work="build/fuzz/campaign/$t"
  mkdir -p "$work/corpus"
  cp -n tests/fuzz/corpus/"$t"/* "$work/corpus/" 2>/dev/null || true
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -max_len="${max_len[$t]}" -artifact_prefix="$work/")
  if [ -n "${dict[$t]:-}" ]; then args+=(-dict="tests/fuzz/${dict[$t]}"); fi
  if [ "$jobs" -gt 1 ]; then args+=(-fork="$jobs" -ignore_crashes=1); fi
  echo "== $t: ${seconds}s"
  if ! "build/fuzz/tests/fuzz/fuzz_$t" "${args[@]}" "$work/corpus" 2>"$work/log.txt"; then
    status=1
    echo "fuzz.sh: $t FAILED; see $work/log.txt and $work/crash-* / leak-* / timeout-*"
  fi
  grep -E "^stat::|^Done" "$work/log.txt" || true
  if [ "${MERGE:-0}" = 1 ]; then
    # Adds to the committed corpus only inputs that bring new coverage.
    "build/fuzz/tests/fuzz/fuzz_$t" -merge=1 -max_len="${max_len[$t]}" \
      "tests/fuzz/corpus/$t" "$work/corpus" 2>>"$work/log.txt"
  fi
done
exit $status
