#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Each libFuzzer target for a few seconds (FUZZ_SMOKE_SECONDS, 10) from its
# seed corpus: any crash, leak or sanitizer report fails.  `make fuzz` is
# the long run.  TAP (tools/fuzz prints it).
set -u
cd "$(dirname "$0")/../.."
if ! tools/fuzz check >/dev/null 2>&1; then
    echo "1..0 # SKIP clang cannot link libFuzzer (libclang-rt-14-dev)"
    exit 0
fi
exec tools/fuzz run "${FUZZ_SMOKE_SECONDS:-10}"
