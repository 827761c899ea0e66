#!/usr/bin/env bash
# README command 2: install what is needed, build, and run the whole test suite (CTest, preset dev).
# Hardware tests (label hil) are excluded by the preset; set HILT_HIL_* variables and run
# `ctest --preset dev -L hil` on a bench to run them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset dev
cmake --build --preset dev -j "$(nproc)"
ctest --preset dev -j "$(nproc)"
