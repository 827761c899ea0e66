#!/usr/bin/env bash
# README command 1: install what is needed, build (release), and run the main job: a
# qualification sequence on the emulated bench, with a summary on the terminal and a report file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)"
db="${HILT_DB:-qualification.db}"
status=0
build/release/hilt run sequences/library/smoke.yaml --db "$db" || status=$?
run=$(build/release/hilt runs --db "$db" --last)
build/release/hilt show "$run" --db "$db" --markdown > report.md
echo "report: $(pwd)/report.md (run $run in $db)"
exit "$status"
