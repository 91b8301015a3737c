#!/usr/bin/env bash
# The test suite once per Keras backend (`make test`). Each backend-independent test runs in one pass
# only, its home (tests/conftest.py: TensorFlow unless its marker names another). With two or more cores the
# passes run side by side, one framework thread each; the whole suite (no pytest arguments) with the TensorFlow
# pass, the longest, as two halves split by test file, so that the cores stay busy to the end. Each pass writes
# its own log, printed when all are done.
# Exits non-zero if any backend failed.
# Usage: tests/run_backends.sh PYTHON [pytest args...]
set -u
PY=$1
shift
LOGS=.cache/test-logs
BASE=$(mktemp -d -t colorkit-tests-XXXXXX)  # each pass's own pytest temporary folder under it
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.rc
# The second half of the TensorFlow pass: its GAN training tests (TensorFlow traces each step, the slowest
# of the three); about as long as the rest of that pass.
TF_SECOND_HALF=(tests/test_gan.py tests/test_distribution.py tests/test_precision.py tests/test_callbacks.py
                tests/test_checkpoints.py tests/test_prior.py tests/test_hints.py)

pass() {  # log name, backend, pytest args...
    local name=$1 backend=$2
    shift 2
    KERAS_BACKEND=$backend COLORKIT_ONE_PASS_PER_BACKEND=1 "$PY" -m pytest -q -p no:cacheprovider \
        --basetemp="$BASE/$name" --durations=25 "$@" > "$LOGS/$name.log" 2>&1
    echo $? > "$LOGS/$name.rc"
}

start=$SECONDS
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
if [ "$cores" -lt 2 ]; then
    for backend in tensorflow jax torch; do
        pass "$backend" "$backend" "$@"
    done
    names="tensorflow jax torch"
else
    export OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1
    if [ $# -eq 0 ]; then
        # Four at once. The backend-independent tests are spread over them (their home pass) so that they end
        # close together.
        echo "testing tensorflow (in two halves), jax and torch side by side ($cores cores)"
        pass tensorflow tensorflow "${TF_SECOND_HALF[@]/#/--ignore=}" &
        pass tensorflow-2 tensorflow "${TF_SECOND_HALF[@]}" &
        pass jax jax &
        pass torch torch &
        names="tensorflow tensorflow-2 jax torch"
    else  # pytest arguments (PYTEST_ARGS): one pass per backend
        echo "testing tensorflow, jax and torch side by side ($cores cores)"
        for backend in tensorflow jax torch; do
            pass "$backend" "$backend" "$@" &
        done
        names="tensorflow jax torch"
    fi
    wait
fi

failed=""
for name in $names; do
    echo "==== $name (KERAS_BACKEND=${name%-2})"
    cat "$LOGS/$name.log"
    [ "$(cat "$LOGS/$name.rc")" = 0 ] || failed="$failed $name"
done
echo "all passes: $((SECONDS - start)) s"
if [ -n "$failed" ]; then
    echo "FAILED on:$failed"
    exit 1
fi
echo "all backends passed"
