#!/usr/bin/env bash
# Build (or reuse) the Debian bookworm arm64 root file system with /opt/venv holding the test
# dependencies, cached in ~/.cache/awaitify/arm64/<hash>/ (hash of requirements-arm64.txt + script version).
#
#   .ci/arm64/build-image.sh            build if needed; prints the image directory on stdout
#
# Environment: ARM64_CACHE_ROOT (default ~/.cache/awaitify/arm64), ARM64_MIRROR (default: the host's
# apt source for bookworm), ARM64_PIP_INDEX_URL (default https://pypi.org/simple).
# The build goes into <cache>/.build-<hash>-<pid>/ and is renamed to <cache>/<hash>/ only when complete,
# so an interrupted build is never taken for an image; leftovers are removed by the next run.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PIP_INDEX="${ARM64_PIP_INDEX_URL:-https://pypi.org/simple}"

# ---- stage run inside a private mount namespace (unshare -m): every mount made here vanishes with
# the namespace even if this process is killed; the EXIT trap unmounts them in the normal case. -----
INNER_ROOTFS=
inner() {
    local rootfs=$1 mirror=$2 timings=$3 wheels=$4
    INNER_ROOTFS=$rootfs # global: the EXIT trap runs after this function's locals are gone
    trap '[[ -z $INNER_ROOTFS ]] || umount_under "$INNER_ROOTFS" || true' EXIT
    local t0 t1 t2
    t0=$(now)
    log "debootstrap $ARM64_SUITE arm64 (minbase) from $mirror -> $rootfs"
    mkdir -p "$ARM64_CACHE_ROOT/debs"
    if ! debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip \
        --cache-dir="$ARM64_CACHE_ROOT/debs" "$ARM64_SUITE" "$rootfs" "$mirror" \
        >"$rootfs.debootstrap.log" 2>&1; then
        tail -n 20 "$rootfs.debootstrap.log" >&2 || true
        [[ -f $rootfs/debootstrap/debootstrap.log ]] && tail -n 20 "$rootfs/debootstrap/debootstrap.log" >&2
        die "debootstrap failed (log above; full log: $rootfs.debootstrap.log)." \
            "check that $mirror is reachable and serves arm64 ($ARM64_SUITE), and that qemu-aarch64 binfmt works."
    fi
    umount_under "$rootfs" # debootstrap's own /proc, /sys if it left any
    t1=$(now)
    log "debootstrap done in $((t1 - t0))s"

    local machine
    machine=$(chroot "$rootfs" /usr/bin/python3 -c 'import platform; print(platform.machine())') ||
        die "cannot run the image's python3 under QEMU." "is qemu-aarch64 registered with flag F? cat /proc/sys/fs/binfmt_misc/qemu-aarch64"
    [[ $machine == aarch64 ]] || die "the image's python3 reports machine '$machine', expected aarch64."

    mount_chroot_basics "$rootfs"
    copy_host_net_config "$rootfs"
    cp "$ARM64_REQUIREMENTS" "$rootfs/tmp/requirements-arm64.txt"
    chroot "$rootfs" /usr/bin/python3 -m venv "$ARM64_VENV"
    local -a source_args
    if [[ -n $wheels ]]; then
        # Wheels fetched by the host's pip (native speed); the emulated pip only unpacks them.
        mkdir -p "$rootfs/tmp/wheels"
        mount --bind "$wheels" "$rootfs/tmp/wheels"
        mount -o remount,bind,ro "$rootfs/tmp/wheels"
        source_args=(--no-index --find-links /tmp/wheels)
        log "installing $(grep -c -v -E '^[[:space:]]*(#|$)' "$ARM64_REQUIREMENTS") pinned packages into $ARM64_VENV from the host-downloaded aarch64 wheels"
    else
        source_args=(--index-url "$PIP_INDEX")
        log "installing $(grep -c -v -E '^[[:space:]]*(#|$)' "$ARM64_REQUIREMENTS") pinned packages into $ARM64_VENV from $PIP_INDEX by the image's pip (aarch64 wheels only)"
    fi
    if ! chroot "$rootfs" /usr/bin/env -i PATH="$ARM64_VENV/bin:/usr/bin:/bin" HOME=/root LANG=C.UTF-8 \
        PIP_CERT="$ARM64_CA_IN_IMAGE" SSL_CERT_FILE="$ARM64_CA_IN_IMAGE" PIP_CONFIG_FILE=/dev/null \
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=120 PIP_RETRIES=5 \
        "$ARM64_VENV/bin/python" -m pip install --no-cache-dir --only-binary=:all: "${source_args[@]}" \
        -r /tmp/requirements-arm64.txt >"$rootfs.pip.log" 2>&1; then
        tail -n 25 "$rootfs.pip.log" >&2 || true
        die "pip install inside the arm64 image failed (log above; full log: $rootfs.pip.log)." \
            "'No matching distribution' means a package has no aarch64/cp311 wheel: see requirements-arm64.txt;" \
            "a connection error means PyPI ($PIP_INDEX) is not reachable from this host."
    fi
    t2=$(now)
    log "pip install done in $((t2 - t1))s"
    chroot "$rootfs" "$ARM64_VENV/bin/python" -m pip freeze --all >"$rootfs.freeze.txt"
    rm -f "$rootfs/tmp/requirements-arm64.txt"
    [[ -z $wheels ]] || { umount "$rootfs/tmp/wheels"; rmdir "$rootfs/tmp/wheels"; }
    rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"* 2>/dev/null || true
    printf 'debootstrap_seconds=%s\npip_install_seconds=%s\n' "$((t1 - t0))" "$((t2 - t1))" >"$timings"
    umount_under "$rootfs"
    INNER_ROOTFS=
}

# Download the aarch64/cp311 wheels with the host's pip (fast, native), into a cache shared by builds.
# Prints the wheel directory, or nothing when the host has no usable pip (the image's pip then downloads).
host_download_wheels() {
    local dir="$ARM64_CACHE_ROOT/wheels" py
    py=$(command -v python3 || true)
    if [[ -z $py ]] || ! "$py" -m pip --version >/dev/null 2>&1 || [[ ${ARM64_PIP_IN_IMAGE:-0} == 1 ]]; then
        log "wheels: downloaded by the image's pip (host pip unavailable or ARM64_PIP_IN_IMAGE=1)"
        return 0
    fi
    mkdir -p "$dir"
    local t0
    t0=$(now)
    # Plain PyPI: ignore the host's pip config (constraints, local find-links / extra indexes).
    if ! env -u PIP_FIND_LINKS -u PIP_CONSTRAINT -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_NO_INDEX \
        PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_RETRIES=5 \
        "$py" -m pip download --quiet --only-binary=:all: --index-url "$PIP_INDEX" \
        --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
        --platform manylinux_2_36_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 \
        --platform manylinux2014_aarch64 --platform linux_aarch64 --platform any \
        -d "$dir" -r "$ARM64_REQUIREMENTS" >"$ARM64_CACHE_ROOT/wheels.log" 2>&1; then
        tail -n 20 "$ARM64_CACHE_ROOT/wheels.log" >&2
        die "downloading the aarch64 wheels from $PIP_INDEX failed (log above: $ARM64_CACHE_ROOT/wheels.log)." \
            "'No matching distribution' = no aarch64/cp311 wheel for a pin in requirements-arm64.txt;" \
            "a connection error = the package index is not reachable from this host."
    fi
    log "wheels: $(find "$dir" -name '*.whl' | wc -l) aarch64 wheels ready in $dir ($(($(now) - t0))s, host pip)"
    echo "$dir"
}

if [[ ${1:-} == --inner ]]; then
    shift
    inner "$@"
    exit 0
fi

# ---- outer: checks, cache, lock, atomic rename ------------------------------------------------
require_root arm64-image
mkdir -p "$ARM64_CACHE_ROOT"
HASH=$(image_hash)
DEST="$ARM64_CACHE_ROOT/$HASH"

if image_complete "$DEST"; then
    log "cache hit: $DEST"
    echo "$DEST"
    exit 0
fi

# One build at a time per cache; the second caller waits, then finds the image.
exec 9>"$ARM64_CACHE_ROOT/.lock"
if ! flock -n 9; then
    log "another build holds $ARM64_CACHE_ROOT/.lock; waiting (up to 60 min)"
    flock -w 3600 9 || die "timed out waiting for the lock $ARM64_CACHE_ROOT/.lock"
fi
if image_complete "$DEST"; then
    log "cache hit: $DEST (built by a concurrent run)"
    echo "$DEST"
    exit 0
fi

# Leftovers of interrupted builds (we hold the lock, so none of them is running).
shopt -s nullglob
for stale in "$ARM64_CACHE_ROOT"/.build-*; do
    log "removing unfinished build $stale"
    safe_rm_rf "$stale"
done
shopt -u nullglob
[[ -e $DEST ]] && { log "removing incomplete image $DEST"; safe_rm_rf "$DEST"; }

ensure_host_packages
ensure_binfmt
MIRROR=$(host_debian_mirror)
check_url "${MIRROR%/}/dists/$ARM64_SUITE/Release" "the Debian mirror" \
    "debootstrap needs it; set ARM64_MIRROR=<url> to use another Debian mirror."
check_url "${PIP_INDEX%/}/pip/" "the Python package index" \
    "the image's wheels come from it; set ARM64_PIP_INDEX_URL=<url> to use another index."

BUILD="$ARM64_CACHE_ROOT/.build-$HASH-$$"
mkdir -p "$BUILD"
cleanup_build() {
    local rc=$?
    if [[ $rc -ne 0 && -d $BUILD ]]; then
        log "build failed or interrupted; removing $BUILD"
        safe_rm_rf "$BUILD" || log "could not remove $BUILD; the next run retries"
    fi
}
trap cleanup_build EXIT
trap 'exit 130' INT TERM

log "cache miss: building image $HASH (script version $ARM64_SCRIPT_VERSION)"
T0=$(now)
WHEELS=$(host_download_wheels)
T_WHEELS=$(($(now) - T0))
unshare --mount --propagation private -- bash "$ARM64_DIR/build-image.sh" --inner \
    "$BUILD/rootfs" "$MIRROR" "$BUILD/timings.txt" "$WHEELS"
[[ -z $(mounts_under "$BUILD") ]] || die "mounts left under $BUILD after the build" "see: findmnt -R $BUILD"
T1=$(now)
{
    echo "hash=$HASH"
    echo "script_version=$ARM64_SCRIPT_VERSION"
    echo "suite=$ARM64_SUITE"
    echo "mirror=$MIRROR"
    echo "pip_index=$PIP_INDEX"
    echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "wheel_download_seconds=$T_WHEELS"
    echo "wheels_from=${WHEELS:-image pip}"
    cat "$BUILD/timings.txt"
    echo "total_build_seconds=$((T1 - T0))"
    echo "python=$(chroot "$BUILD/rootfs" "$ARM64_VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')"
    echo "size=$(du -sh --one-file-system "$BUILD/rootfs" | cut -f1)"
} >"$BUILD/manifest.tmp"
mv "$BUILD/manifest.tmp" "$BUILD/manifest.txt"
mv -T "$BUILD" "$DEST" # atomic: the image appears complete or not at all
trap - EXIT
log "image ready in $((T1 - T0))s: $DEST"
sed 's/^/[arm64]   /' "$DEST/manifest.txt" >&2
echo "$DEST"
