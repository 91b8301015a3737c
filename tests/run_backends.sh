#!/usr/bin/env bash
# The test suite once per Keras backend (`make test`). The backend-independent tests run in the
# TensorFlow pass only. With two or more cores the three passes run side by side, one framework
# thread each; each pass writes its own log, printed when all are done. Exits non-zero if any backend failed.
# Usage: tests/run_backends.sh PYTHON [pytest args...]
set -u
PY=$1
shift
LOGS=.cache/test-logs
BASE=$(mktemp -d -t colorkit-tests-XXXXXX)  # each pass's own pytest temporary folder under it
mkdir -p "$LOGS"

pass() {  # backend, skip-backend-independent (0|1), pytest args...
    local backend=$1 skip=$2
    shift 2
    KERAS_BACKEND=$backend COLORKIT_SKIP_BACKEND_INDEPENDENT=$skip "$PY" -m pytest -q -p no:cacheprovider \
        --basetemp="$BASE/$backend" --durations=25 "$@" > "$LOGS/$backend.log" 2>&1
    echo $? > "$LOGS/$backend.rc"
}

start=$SECONDS
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
if [ "$cores" -ge 2 ]; then
    export OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1
    # Three passes at once: the short PyTorch pass shares the cores first, then TensorFlow and JAX (the
    # long ones, close in length) have one each, so the cores stay busy to the end.
    echo "testing tensorflow, jax and torch side by side ($cores cores)"
    pass tensorflow 0 "$@" &
    pass jax 1 "$@" &
    pass torch 1 "$@" &
    wait
else
    for backend in tensorflow jax torch; do
        pass "$backend" "$([ "$backend" = tensorflow ] && echo 0 || echo 1)" "$@"
    done
fi

failed=""
for backend in tensorflow jax torch; do
    echo "==== KERAS_BACKEND=$backend"
    cat "$LOGS/$backend.log"
    [ "$(cat "$LOGS/$backend.rc")" = 0 ] || failed="$failed $backend"
done
echo "all passes: $((SECONDS - start)) s"
if [ -n "$failed" ]; then
    echo "FAILED on:$failed"
    exit 1
fi
echo "all backends passed"
