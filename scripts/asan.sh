#!/usr/bin/env bash
# Builds divepy's C loops with AddressSanitizer and UndefinedBehaviorSanitizer and runs the tests that drive them.
#
#   scripts/asan.sh              # with python3
#   PYTHON=.venv/bin/python scripts/asan.sh [pytest args...]   # another interpreter (it needs the test extras)
#
# The build goes to a temporary copy of dive_py/ and tests/ (the checkout's own .so files are neither read nor
# replaced), and the tests run from there, so that only the sanitized loops are imported. The interpreter is
# not built with ASan: its runtime is preloaded (LD_PRELOAD), leaks are not reported (the interpreter keeps
# objects to its end), PYTHONMALLOC=malloc gives every object its own guarded allocation (pymalloc's arenas
# would hide an overflow past a small object) and allocator_may_return_null lets a huge request end in
# MemoryError, as it does without ASan. Any report aborts the run: the exit status is not 0.
set -euo pipefail
PYTHON=${PYTHON:-python3}
if [[ $PYTHON == */* ]]; then  # a path, from the caller's folder: absolute (the tests run from elsewhere)
    PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
fi
cd "$(dirname "$0")/.."
CC=${CC:-gcc}
command -v "$CC" >/dev/null || { echo "asan.sh: no $CC: cannot build the sanitized loops" >&2; exit 2; }
asan_runtime=$("$CC" -print-file-name=libasan.so)
[ -f "$asan_runtime" ] || { echo "asan.sh: $CC has no libasan.so (install its sanitizer runtime)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -c --exclude='*.so' --exclude=__pycache__ dive_py tests pyproject.toml | tar -x -C "$work"

include=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
suffix=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
flags=(-shared -fPIC -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       -Wall -Werror=implicit-function-declaration -I"$include")
for module in layers/_tarfast trees/_stack trees/_columns; do
    "$CC" "${flags[@]}" "dive_py/$module.c" -o "$work/dive_py/$module$suffix"
done

tests=(tests/layers/test_tarfast.py tests/layers/test_tarfast_extensions.py tests/layers/test_tarfast_checks.py
       tests/layers/test_make_entries.py tests/layers/test_scan_fast_path.py tests/layers/test_tar_hostile.py
       tests/trees/test_columns.py tests/trees/test_c_checks.py tests/trees/test_rows.py)
cd "$work"
export LD_PRELOAD="$asan_runtime${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
unset DIVEPY_PURE_PYTHON
# The sanitized loops, and not another build, are the ones imported.
"$PYTHON" -c '
import sys
from dive_py.layers import _tarfast
from dive_py.trees import _columns, _stack
built = [m.__file__ for m in (_tarfast, _stack, _columns)]
assert all(path.startswith(sys.argv[1]) for path in built), built
' "$work"
# --capture=sys: a report is written to file descriptor 2 as the process aborts; pytest's capture of the
# descriptor would swallow it.
"$PYTHON" -m pytest -q -p no:cacheprovider -n 0 --capture=sys "${tests[@]}" "$@"
