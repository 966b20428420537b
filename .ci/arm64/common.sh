# shellcheck shell=bash
# Shared helpers for the ARM64 (aarch64, QEMU user-mode) image and test run.
# Sourced by build-image.sh and test-arm64.sh; not meant to be run on its own.

# Bump when the way the image is built changes: it is part of the cache key.
ARM64_SCRIPT_VERSION=4

ARM64_SUITE=bookworm
ARM64_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARM64_REPO="$(cd "$ARM64_DIR/../.." && pwd)"
ARM64_REQUIREMENTS="$ARM64_DIR/requirements-arm64.txt"
ARM64_CACHE_ROOT="${ARM64_CACHE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/awaitify/arm64}"
# Inside the image.
ARM64_VENV=/opt/venv
ARM64_CA_IN_IMAGE=/usr/local/share/awaitify/host-ca-bundle.crt

log() { printf '[arm64] %s\n' "$*" >&2; }
die() {
    printf '[arm64] ERROR: %s\n' "$1" >&2
    shift
    local line
    for line in "$@"; do printf '[arm64]   %s\n' "$line" >&2; done
    exit 1
}

now() { date +%s; }

# ---- host checks -------------------------------------------------------------------------------

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root: debootstrap, chroot and mount need it." \
        "run it as root (e.g. 'sudo make $1'), or in CI on a machine where the job runs as root."
}

# The host is x86_64 (or anything not aarch64): we need qemu-user-static + binfmt_misc.
host_needs_qemu() { [[ $(uname -m) != aarch64 ]]; }

ensure_host_packages() {
    local missing=() need
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    if host_needs_qemu; then
        command -v qemu-aarch64-static >/dev/null 2>&1 || missing+=(qemu-user-static)
        command -v update-binfmts >/dev/null 2>&1 || missing+=(binfmt-support)
    fi
    command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    need="${missing[*]}"
    command -v apt-get >/dev/null 2>&1 || die "missing host tools ($need) and no apt-get to install them." \
        "install the packages '$need' with your distribution's package manager."
    log "installing host packages: $need (apt-get update + install)"
    if ! apt-get update -q >/tmp/awaitify-arm64-apt.log 2>&1; then
        tail -n 15 /tmp/awaitify-arm64-apt.log >&2 || true
        die "'apt-get update' failed: the Debian mirror is not reachable (log: /tmp/awaitify-arm64-apt.log)." \
            "this step needs network access to the host's apt sources; or pre-install: apt-get install $need"
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >>/tmp/awaitify-arm64-apt.log 2>&1; then
        tail -n 15 /tmp/awaitify-arm64-apt.log >&2 || true
        die "'apt-get install $need' failed (log: /tmp/awaitify-arm64-apt.log)." \
            "install them by hand: apt-get install $need"
    fi
}

# Register qemu-aarch64 with binfmt_misc (flag F: the interpreter is opened at registration time, so
# it also works inside a chroot that has no qemu binary of its own).
ensure_binfmt() {
    host_needs_qemu || return 0
    if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
        grep -qw binfmt_misc /proc/filesystems 2>/dev/null || modprobe binfmt_misc 2>/dev/null || true
        grep -qw binfmt_misc /proc/filesystems 2>/dev/null || die \
            "this kernel has no binfmt_misc support, so aarch64 binaries cannot run under QEMU here." \
            "needed: a kernel with CONFIG_BINFMT_MISC (module binfmt_misc), or run on an aarch64 host."
        mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || die \
            "cannot mount binfmt_misc on /proc/sys/fs/binfmt_misc." \
            "in a container this needs --privileged (or the host registering qemu-aarch64 with flag F)."
    fi
    if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
        update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64 \
            >/dev/null 2>&1 || true
    fi
    local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
    [[ -e $entry ]] || die "qemu-aarch64 is not registered with binfmt_misc." \
        "try: apt-get install --reinstall qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64"
    grep -qx enabled "$entry" || echo 1 >"$entry" || die "the qemu-aarch64 binfmt entry is disabled."
    grep -q '^flags:.*F' "$entry" || die "qemu-aarch64 is registered without flag F (fix-binary)," \
        "so it will not work inside a chroot. Debian's qemu-user-static registers it with 'PF':" \
        "update-binfmts --disable qemu-aarch64; update-binfmts --enable qemu-aarch64"
}

# The Debian mirror from the host's apt sources (deb822 .sources or one-line sources.list),
# overridable with ARM64_MIRROR.
host_debian_mirror() {
    if [[ -n ${ARM64_MIRROR:-} ]]; then
        echo "$ARM64_MIRROR"
        return
    fi
    local f uri
    shopt -s nullglob
    for f in /etc/apt/sources.list.d/*.sources; do
        # First stanza whose Suites has the plain codename (not -security/-updates) and Components main.
        uri=$(awk -v suite="$ARM64_SUITE" '
            BEGIN { RS=""; FS="\n" }
            {
                u=""; s=0; m=0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, a, /[ \t]+/); u=a[1] }
                    if ($i ~ /^Suites:/) { n=split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == suite) s=1 }
                    if ($i ~ /^Components:.*[ \t]main([ \t]|$)/) m=1
                    if ($i ~ /^Enabled:[ \t]*no/) s=0
                }
                if (u != "" && s && m) { print u; exit }
            }' "$f")
        if [[ -n $uri ]]; then
            shopt -u nullglob
            echo "$uri"
            return
        fi
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        uri=$(awk -v suite="$ARM64_SUITE" '
            $1 == "deb" {
                i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i+1) == suite) { print $i; exit }
            }' "$f")
        if [[ -n $uri ]]; then
            shopt -u nullglob
            echo "$uri"
            return
        fi
    done
    shopt -u nullglob
    echo "http://deb.debian.org/debian"
}

# Fail early, with a clear message, when the Debian mirror or PyPI cannot be reached.
check_url() { # url what hint
    local url=$1 what=$2 hint=$3
    python3 - "$url" <<'EOF' >/dev/null 2>&1 || die "$what is not reachable ($url)." "$hint"
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=30).read(256)
EOF
}

# ---- cache -------------------------------------------------------------------------------------

# Cache key: script version + suite + the exact dependency list.
image_hash() {
    {
        echo "script-version=$ARM64_SCRIPT_VERSION"
        echo "suite=$ARM64_SUITE arch=arm64 venv=$ARM64_VENV"
        grep -v -E '^[[:space:]]*(#|$)' "$ARM64_REQUIREMENTS"
    } | sha256sum | cut -c1-16
}

image_dir() { echo "$ARM64_CACHE_ROOT/$(image_hash)"; }

# A finished image: <dir>/rootfs plus <dir>/manifest.txt written last, then the directory renamed
# into place; anything else (a .build-* dir) is an unfinished build.
image_complete() { [[ -f $1/manifest.txt && -x $1/rootfs$ARM64_VENV/bin/python ]]; }

# ---- mounts ------------------------------------------------------------------------------------

# Mounts whose target is at or below $1 (deepest first).
mounts_under() {
    local root
    root=$(realpath -m "$1")
    findmnt -rn -o TARGET | awk -v r="$root" '$0 == r || index($0, r "/") == 1' | sort -r
}

# Unmount everything at or below $1; returns non-zero when something is still mounted.
umount_under() {
    local root=$1 m tries
    for tries in 1 2 3; do
        while read -r m; do
            [[ -n $m ]] || continue
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done < <(mounts_under "$root")
        [[ -z $(mounts_under "$root") ]] && return 0
        sleep 1
    done
    log "still mounted under $root:"
    mounts_under "$root" >&2
    return 1
}

# rm -rf, but never through a mount point.
safe_rm_rf() {
    local dir=$1
    [[ -e $dir ]] || return 0
    if [[ -n $(mounts_under "$dir") ]]; then
        umount_under "$dir" || die "refusing to delete $dir: something is still mounted under it" \
            "check with: findmnt -R $dir"
    fi
    rm -rf --one-file-system "$dir"
}

# Mount the pseudo file systems a chroot needs. Call inside a private mount namespace (unshare -m),
# and unmount with umount_under in an EXIT trap.
mount_chroot_basics() {
    local r=$1
    mkdir -p "$r/proc" "$r/dev" "$r/sys"
    mount -t proc proc "$r/proc"
    mount --bind /dev "$r/dev"
    mount -t tmpfs -o mode=1777,nosuid,nodev shm "$r/dev/shm"
    mount --bind /sys "$r/sys"
    mount -o remount,bind,ro "$r/sys"
}

ca_bundle() {
    local c
    for c in "${SSL_CERT_FILE:-}" "${PIP_CERT:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
        [[ -n $c && -f $c ]] && { echo "$c"; return; }
    done
    die "no CA bundle found on the host (looked at SSL_CERT_FILE, PIP_CERT, /etc/ssl/certs/ca-certificates.crt)." \
        "install it: apt-get install ca-certificates"
}

# Copy the host's resolver config and CA bundle into the root file system (pip inside needs both).
copy_host_net_config() {
    local r=$1
    mkdir -p "$r/etc" "$(dirname "$r$ARM64_CA_IN_IMAGE")"
    rm -f "$r/etc/resolv.conf"
    cp -L /etc/resolv.conf "$r/etc/resolv.conf"
    cp -L "$(ca_bundle)" "$r$ARM64_CA_IN_IMAGE"
}
