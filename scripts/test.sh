#!/usr/bin/env bash
# README command 2: install what is needed, build, and run the whole test suite (CTest, preset dev).
# Hardware tests (label hil) are excluded by the preset; set HILT_HIL_* variables and run
# `ctest --preset dev -L hil` on a bench to run them.
#
#   scripts/test.sh                  the dev preset (debug, warnings as errors): README command 2
#   scripts/test.sh --preset asan    the same suite built with AddressSanitizer + UBSan (build/asan)
#   scripts/test.sh --preset tsan    the same suite built with ThreadSanitizer (build/tsan)
#   scripts/test.sh --help
#
# .ci/run runs the dev suite, then the asan one.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,11s/^# \{0,1\}//p' "$0"
}

preset=dev
while [ $# -gt 0 ]; do
  case "$1" in
    --preset)
      [ $# -ge 2 ] || { echo "test.sh: --preset needs a name (dev, release, asan, tsan)" >&2; exit 2; }
      preset="$2"
      shift 2
      ;;
    --preset=*)
      preset="${1#--preset=}"
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "test.sh: unknown argument '$1' (see scripts/test.sh --help)" >&2
      exit 2
      ;;
  esac
done
case "$preset" in
  dev | release | asan | tsan) ;;
  *)
    echo "test.sh: unknown preset '$preset': expected dev, release, asan or tsan" >&2
    exit 2
    ;;
esac

scripts/setup.sh
cmake --preset "$preset"
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"
