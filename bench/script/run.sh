#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Script node executions/s and memory of one worker process (script_bench.c),
# this tree's engine (V8) and, with BASE=<tree built with Duktape>, that
# tree's wk_script.c for comparison.  usage: bench/script/run.sh [N [C]]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-500} c=${2:-8}
out=build/bench-script
mkdir -p "$out"
make -s build/worker/wk_v8.o build/libwh.a
eval "$(make -s -p -n 2>/dev/null | grep -E '^V8_LIBS :?=' | head -1 \
    | sed 's/^V8_LIBS :*= */v8_libs="/; s/$/"/')"
cc -O2 -Isrc/core -Isrc -Isrc/worker -o "$out/v8" bench/script/script_bench.c \
    src/worker/wk_script.c build/worker/wk_v8.o build/libwh.a $v8_libs -lm
echo "V8:      $("$out/v8" "$n" "$c")"
if [ -n "${BASE:-}" ]; then
    cc -O2 -I"$BASE/src/core" -I"$BASE/src/worker" -o "$out/duktape" \
        bench/script/script_bench.c "$BASE/src/worker/wk_script.c" -lduktape -lm
    echo "Duktape: $("$out/duktape" "$n" "$c")"
fi
