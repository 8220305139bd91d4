#!/usr/bin/env bash
# Builds brig's test root filesystem: Debian's static busybox with all its
# applet links, a few users and groups, and the static probe as /bin/probe.
#
# usage: rootfs-fixtures/build-rootfs.sh OUTDIR
#
# Environment: CARGO (cargo to use, default "cargo"), PROBE_TARGET_DIR
# (cargo target dir for the probe, default "$(dirname OUTDIR)/probe-target").
# OUTDIR is rebuilt from scratch each time in OUTDIR.tmp.PID, then swapped in.
set -euo pipefail

die() {
    echo "build-rootfs: $*" >&2
    exit 1
}

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 OUTDIR"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
busybox=/bin/busybox
umask 022

# True when the ELF file $1 needs no dynamic loader.
is_static() {
    local out
    out=$(LC_ALL=C ldd "$1" 2>&1 || true)
    [[ $out == *"not a dynamic executable"* || $out == *"statically linked"* ]]
}

if ! [[ -x $busybox ]] || ! is_static "$busybox"; then
    die "busybox-static is not installed (apt-get install busybox-static)"
fi

name=$(basename "$1")
[[ $name != / && $name != . && $name != .. ]] || die "refusing to use $1 as OUTDIR"
mkdir -p "$(dirname "$1")"
parent=$(cd "$(dirname "$1")" && pwd)
out="${parent%/}/$name"

# Never delete through a mount (e.g. a proc left mounted by a failed test).
if awk -v dir="$out" '$5 == dir || index($5, dir "/") == 1 { found = 1 } END { exit !found }' \
    /proc/self/mountinfo; then
    die "something is mounted at or under $out; unmount it first"
fi

# Serialise concurrent builds of the same OUTDIR (e.g. parallel tests).
exec 9>"$parent/.$name.lock"
flock 9

tmp="$out.tmp.$$"
old="$out.old.$$"
cleanup() { rm -rf --one-file-system "$tmp" "$old"; }
trap cleanup EXIT

# --- the probe --------------------------------------------------------------
target_dir=${PROBE_TARGET_DIR:-$parent/probe-target}
env -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET \
    RUSTFLAGS="-C target-feature=+crt-static" \
    "${CARGO:-cargo}" build --quiet --release \
    --manifest-path "$here/probe/Cargo.toml" --target-dir "$target_dir"
probe="$target_dir/release/probe"
is_static "$probe" || die "$probe is not statically linked"

# --- the tree ---------------------------------------------------------------
rm -rf --one-file-system "$tmp"
mkdir "$tmp"
chmod 0755 "$tmp"
(
    cd "$tmp"
    mkdir -p bin sbin usr/bin usr/sbin proc sys dev etc home/user var run mnt tmp root
    chmod 1777 tmp
    chmod 0700 root
    install -m 0755 "$busybox" bin/busybox
    install -m 0755 "$probe" bin/probe

    # One absolute symlink per applet, e.g. usr/bin/env -> /bin/busybox.
    "$busybox" --list-full | while read -r applet; do
        applet=${applet#/}
        [[ -n $applet && $applet != bin/busybox && ! -e $applet ]] || continue
        mkdir -p "$(dirname "$applet")"
        ln -s /bin/busybox "$applet"
    done

    cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
EOF
    cat >etc/group <<'EOF'
root:x:0:
nogroup:x:65534:
user:x:1000:
extra:x:2000:user
EOF
    cat >etc/os-release <<'EOF'
NAME="brig test rootfs"
ID=brig-test
PRETTY_NAME="brig test rootfs (busybox)"
EOF
    chmod 0644 etc/passwd etc/group etc/os-release
    if [[ $EUID -eq 0 ]]; then
        chown 1000:1000 home/user
    else
        echo "build-rootfs: not root, /home/user left owned by $EUID" >&2
    fi
)

# --- swap it in -------------------------------------------------------------
if [[ -e $out || -L $out ]]; then
    mv -T "$out" "$old"
fi
mv -T "$tmp" "$out"

size=$(du -sh "$out" | cut -f1)
echo "rootfs: $out ($size)"
