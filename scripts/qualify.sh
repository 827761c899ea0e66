#!/usr/bin/env bash
# README command 1: install what is needed, build (release), and run the main job: the
# qualification sequence on the emulated bench (virtual time), with the summary on the terminal
# and a Markdown report in report.md.
#
# The shipped bench holds one deliberately marginal module (slot 8) that fails BER at the hot
# corner, so the run ends "failed" (hilt exit 1) by design; this script then still exits 0.
# Any other exit code (bad input 2, device error 3, interrupted 130) is passed on.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)" --target hilt hilt_sample_plugin
db="${HILT_DB:-qualification.db}"
status=0
build/release/hilt run sequences/library/qualification.yaml --db "$db" || status=$?
run=$(build/release/hilt runs --db "$db" --last)
build/release/hilt show "$run" --db "$db" --markdown > report.md
echo "report: $(pwd)/report.md (run $run in $db)"
if [ "$status" -eq 1 ]; then
  echo "run $run: a DUT failed a limit (expected on the shipped bench: slot 8 is built to fail hot)"
  exit 0
fi
exit "$status"
