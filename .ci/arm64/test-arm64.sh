#!/usr/bin/env bash
# Run the converted backend's test suite on aarch64, inside the cached Debian arm64 image, under QEMU.
#
#   .ci/arm64/test-arm64.sh             image (cached) -> migrate a copy of target_backend/ on the host
#                                       -> chroot into the image (overlay, so the cache stays pristine)
#                                       -> platform.machine() must be aarch64 -> pytest -n auto
#   .ci/arm64/test-arm64.sh --native    the same tests, same tree, on the host venv (for the time ratio)
#
# Environment:
#   BIN                  host venv bin directory (default .venv/bin), runs `python -m codemods migrate`
#   AWAITIFY_PG_URL      passed through: the suite's PostgreSQL leg runs when it is set (host PG on
#                        127.0.0.1 is reachable: the chroot shares the host's network)
#   CI, AWAITIFY_*       passed through into the image
#   ARM64_TESTS          test paths, relative to the repo (default "tests/arm64 tests/backend")
#   ARM64_PYTEST_ARGS    default "-n auto -q"
#   ARM64_TEST_TIMEOUT   seconds for the pytest run (default 3000)
#   ARM64_TREE           "migrated" (default) or "original": DEVELOPMENT ONLY - skip the migration and
#                        run against an unmigrated copy of target_backend/ (for working on this script
#                        while the engine is unfinished). Never set it in CI.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TESTS="${ARM64_TESTS:-tests/arm64 tests/backend}"
PYTEST_ARGS="${ARM64_PYTEST_ARGS:--n auto -q}"
TEST_TIMEOUT="${ARM64_TEST_TIMEOUT:-3000}"
TREE_MODE="${ARM64_TREE:-migrated}"
IN_REPO=/work/repo
IN_TREE=/work/migrated
TREE_NAME=target_backend

# The environment of the test run (same inside the image and natively), as NAME=VALUE words.
test_env() {
    local tree_root=$1 v
    echo "CI=${CI:-}"
    echo "LANG=C.UTF-8"
    echo "PYTHONDONTWRITEBYTECODE=1"
    echo "AWAITIFY_ARM64_SMOKE=1"
    echo "AWAITIFY_MIGRATED_TREE=$tree_root/$TREE_NAME"
    echo "AWAITIFY_TREE_MODE=$TREE_MODE"
    while IFS= read -r v; do
        case $v in AWAITIFY_MIGRATED_TREE | AWAITIFY_ARM64_SMOKE | AWAITIFY_TREE_MODE | AWAITIFY_EXPECT_MACHINE) ;;
        *) echo "$v=${!v}" ;; esac
    done < <(compgen -e | grep '^AWAITIFY_' || true)
}

summary_of() { # pytest output file -> its closing summary line
    grep -E '(^|=+ )[0-9]+ (passed|failed|errors?|skipped|deselected|xfailed|xpassed)|no tests ran' "$1" |
        tail -n 1 | sed -E 's/^=+ //; s/ =+$//'
}

# ---- inside a private mount namespace -----------------------------------------------------------
INNER_ROOT=
cleanup_inner() {
    local p
    [[ -n $INNER_ROOT ]] || return 0
    # Processes still running in our chroot (a server a test forgot): stop them, then unmount.
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/root" 2>/dev/null) == "$INNER_ROOT" ]] && kill -9 "${p#/proc/}" 2>/dev/null || true
    done
    umount_under "$INNER_ROOT" || true
}
inner() {
    local image=$1 work=$2
    local root="$work/root"
    INNER_ROOT=$root # global: the EXIT trap runs after this function's locals are gone
    trap cleanup_inner EXIT
    mkdir -p "$work/upper" "$work/ovl" "$root"
    mount -t overlay overlay -o "lowerdir=$image/rootfs,upperdir=$work/upper,workdir=$work/ovl" "$root" ||
        die "cannot mount an overlay over the image (kernel without overlayfs?)."
    mount_chroot_basics "$root"
    copy_host_net_config "$root"
    cp -L /etc/hosts "$root/etc/hosts" 2>/dev/null || true
    mkdir -p "$root$IN_REPO" "$root$IN_TREE"
    mount --bind "$ARM64_REPO" "$root$IN_REPO"
    mount -o remount,bind,ro "$root$IN_REPO" || log "warning: could not make the repo mount read-only"
    mount --bind "$work/tree" "$root$IN_TREE"

    local -a env_words
    mapfile -t env_words < <(test_env "$IN_TREE")
    env_words+=("PATH=$ARM64_VENV/bin:/usr/local/bin:/usr/bin:/bin" "HOME=/root" "TMPDIR=/tmp"
        "AWAITIFY_EXPECT_MACHINE=aarch64")
    run_in() { chroot "$root" /usr/bin/env -i "${env_words[@]}" /bin/sh -c 'cd "$0" && exec "$@"' "$IN_REPO" "$@"; }

    local machine
    machine=$(run_in python -c 'import platform; print(platform.machine())') ||
        die "cannot run python inside the image (QEMU/binfmt broken?)."
    echo "[arm64] platform.machine() inside the image: $machine"
    [[ $machine == aarch64 ]] || die "expected aarch64 inside the image, got '$machine'."

    local t0 rc=0
    t0=$(now)
    # shellcheck disable=SC2086
    timeout --kill-after=30 "$TEST_TIMEOUT" chroot "$root" /usr/bin/env -i "${env_words[@]}" \
        /bin/sh -c 'cd "$0" && exec "$@"' "$IN_REPO" python -m pytest $TESTS $PYTEST_ARGS \
        2>&1 | tee "$work/pytest.out" || rc=${PIPESTATUS[0]}
    echo "pytest_seconds=$(($(now) - t0)) rc=$rc" >"$work/result"
    [[ $rc -ne 124 && $rc -ne 137 ]] || log "pytest timed out after ${TEST_TIMEOUT}s (ARM64_TEST_TIMEOUT)"
    return 0
}

if [[ ${1:-} == --inner ]]; then
    shift
    inner "$@"
    exit 0
fi

NATIVE=0
[[ ${1:-} == --native ]] && NATIVE=1
BIN="${BIN:-.venv/bin}"
[[ $BIN == /* ]] || BIN="$ARM64_REPO/$BIN"
cd "$ARM64_REPO"

# ---- 1. the image -----------------------------------------------------------------------------
if [[ $NATIVE -eq 0 ]]; then
    require_root test-arm64
    IMAGE=$(bash "$ARM64_DIR/build-image.sh")
    image_complete "$IMAGE" || die "image $IMAGE is not complete"
    ensure_host_packages # cheap when present; the image may outlive the host tools
    ensure_binfmt        # ... or the binfmt registration (lost at reboot)
fi

for t in $TESTS; do
    [[ -e $t ]] || die "test path '$t' does not exist in $ARM64_REPO." \
        "the converted backend's suite (tests/backend) is not in this tree yet; set ARM64_TESTS to run others."
done
[[ -d target_backend ]] || die "target_backend/ not found in $ARM64_REPO"
[[ -x $BIN/python ]] || die "host venv python $BIN/python not found: run 'make install' first."

# ---- 2. a fresh migrated copy of target_backend/ (outside the work tree) ---------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/awaitify-arm64.XXXXXX")
cleanup() {
    local rc=$?
    if [[ -n $(mounts_under "$WORK") ]]; then
        umount_under "$WORK" || { log "leaving $WORK in place: still mounted"; exit "$rc"; }
    fi
    rm -rf --one-file-system "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/tree"
cp -a target_backend "$WORK/tree/$TREE_NAME"
find "$WORK/tree" -name __pycache__ -prune -exec rm -rf {} +

T_MIG=$(now)
case $TREE_MODE in
original)
    log "WARNING: ARM64_TREE=original - running against the UNMIGRATED target_backend (development only)"
    ;;
migrated)
    probe_rc=0
    "$BIN/python" - <<'EOF' || probe_rc=$?
import sys
try:
    from codemods.engine import migrate_sources
    from codemods.model import EngineOptions
except Exception as exc:  # noqa: BLE001
    print(f"cannot import the engine: {exc!r}", file=sys.stderr)
    sys.exit(4)
try:
    migrate_sources({"probe.py": "x = 1\n"}, EngineOptions())
except NotImplementedError as exc:
    print(f"codemods.engine.migrate_sources raises NotImplementedError: {exc}", file=sys.stderr)
    sys.exit(3)
EOF
    case $probe_rc in
    0) ;;
    3) die "the migration engine is not finished yet: codemods.engine.migrate_sources raises NotImplementedError." \
        "there is no migrated tree to test. (Developing this script? ARM64_TREE=original runs the unmigrated tree.)" ;;
    *) die "cannot import the migration engine with $BIN/python (exit $probe_rc): run 'make install'." ;;
    esac
    log "migrating a copy of target_backend/: $BIN/python -m codemods migrate $WORK/tree/$TREE_NAME"
    # awaitify's exit codes (ruff's convention): 0 clean, 1 done with review items, 2 errors.
    mig_rc=0
    "$BIN/python" -m codemods migrate "$WORK/tree/$TREE_NAME" >"$WORK/migrate.log" 2>&1 || mig_rc=$?
    if [[ $mig_rc -gt 1 ]] || grep -q '^Traceback' "$WORK/migrate.log"; then
        tail -n 30 "$WORK/migrate.log" >&2
        die "'python -m codemods migrate' failed on the copy of target_backend/ (exit $mig_rc, output above)."
    fi
    tail -n 5 "$WORK/migrate.log" | sed 's/^/[arm64] migrate: /' >&2
    if diff -rq target_backend "$WORK/tree/$TREE_NAME" -x __pycache__ >/dev/null; then
        die "'python -m codemods migrate' changed nothing in the copy of target_backend/." \
            "expected the sync Session code to be rewritten to AsyncSession."
    fi
    ;;
*) die "ARM64_TREE must be 'migrated' or 'original', not '$TREE_MODE'" ;;
esac
log "tree ready in $(($(now) - T_MIG))s"

if [[ -n ${AWAITIFY_PG_URL:-} ]]; then
    log "legs: SQLite + PostgreSQL (AWAITIFY_PG_URL is set)"
else
    log "legs: SQLite only - AWAITIFY_PG_URL is not set, so the PostgreSQL leg is NOT run"
fi

# ---- 3. run ----------------------------------------------------------------------------------
if [[ $NATIVE -eq 1 ]]; then
    log "NATIVE run on the host ($(uname -m)), for comparison: $BIN/python -m pytest $TESTS $PYTEST_ARGS"
    mapfile -t ENV_WORDS < <(test_env "$WORK/tree")
    t0=$(now)
    rc=0
    # shellcheck disable=SC2086
    env "${ENV_WORDS[@]}" timeout "$TEST_TIMEOUT" "$BIN/python" -m pytest $TESTS $PYTEST_ARGS 2>&1 |
        tee "$WORK/pytest.out" || rc=${PIPESTATUS[0]}
    echo "pytest_seconds=$(($(now) - t0)) rc=$rc" >"$WORK/result"
else
    log "running in the arm64 image $(basename "$IMAGE") under QEMU: pytest $TESTS $PYTEST_ARGS"
    unshare --mount --propagation private -- bash "$ARM64_DIR/test-arm64.sh" --inner "$IMAGE" "$WORK"
    [[ -z $(mounts_under "$WORK") ]] || die "mounts left under $WORK after the run" "see: findmnt -R $WORK"
fi

[[ -f $WORK/result ]] || die "the test run produced no result."
# shellcheck disable=SC1091
source <(sed -E 's/ /\n/' "$WORK/result")
SUMMARY=$(summary_of "$WORK/pytest.out")
where=$([[ $NATIVE -eq 1 ]] && echo "native $(uname -m)" || echo "aarch64 (QEMU)")
log "$where pytest time: ${pytest_seconds}s, exit code $rc"
case $rc in
0) ;;
5) die "pytest collected no tests ($TESTS): nothing was checked." ;;
124 | 137) die "pytest timed out after ${TEST_TIMEOUT}s." ;;
*) log "FAILED: pytest exit code $rc" ;;
esac
[[ -n $SUMMARY ]] || die "no pytest summary line found in the output."
log "$where pytest summary (next line, verbatim):"
echo "$SUMMARY"
exit "$rc"
