#!/usr/bin/env bash
# The test suite once per Keras backend (`make test`). Each backend-independent test runs in one pass
# only, its home (tests/conftest.py: TensorFlow unless its marker names another). With two or more cores the three passes run side by side, one framework
# thread each; each pass writes its own log, printed when all are done. Exits non-zero if any backend failed.
# Usage: tests/run_backends.sh PYTHON [pytest args...]
set -u
PY=$1
shift
LOGS=.cache/test-logs
BASE=$(mktemp -d -t colorkit-tests-XXXXXX)  # each pass's own pytest temporary folder under it
mkdir -p "$LOGS"

pass() {  # backend, pytest args...
    local backend=$1
    shift
    KERAS_BACKEND=$backend COLORKIT_ONE_PASS_PER_BACKEND=1 "$PY" -m pytest -q -p no:cacheprovider \
        --basetemp="$BASE/$backend" --durations=25 "$@" > "$LOGS/$backend.log" 2>&1
    echo $? > "$LOGS/$backend.rc"
}

start=$SECONDS
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
if [ "$cores" -ge 2 ]; then
    export OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1
    # Three passes at once. The backend-independent tests are spread over them (their home pass) so that
    # the three end close together and the cores stay busy to the end.
    echo "testing tensorflow, jax and torch side by side ($cores cores)"
    pass tensorflow "$@" &
    pass jax "$@" &
    pass torch "$@" &
    wait
else
    for backend in tensorflow jax torch; do
        pass "$backend" "$@"
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
