#!/bin/bash
# Run brig's cgroup integration tests on a pure cgroup v2 host: a QEMU (TCG) VM booting
# Debian's kernel with cgroup_no_v1=all, the host's / shared read-only over 9p, and the
# test binary (built here, on the host) run inside it. See tests/v2vm/README.md.
#
#   tests/v2vm/run.sh [ARGS FOR THE TEST BINARY...]
#
# Environment: V2VM_TIMEOUT (seconds per step, default 600), V2VM_MEM (MiB, default 1024),
# V2VM_SMP (default 2), V2VM_CPU (QEMU's -cpu, default qemu64: see boot below),
# V2VM_TEST (integration test name, default cgroups),
# BRIG_TEST_ROOTFS (default target/fixtures/rootfs), CARGO (default cargo),
# V2VM_SCRIPT (an executable to run in the guest instead of a test binary; the
# arguments go to it), V2VM_ENV ("NAME=value ..." exported in the guest), V2VM_STEPS
# (several tests or scripts in one boot, each with its own environment: see "the steps"
# below), V2VM_SYSTEMD (unset: the guest's init runs the tests on a lone cgroup2; unified or
# hybrid: the host's systemd boots as PID 1 on an overlay root, with the system D-Bus,
# in that cgroup layout, and runs them as a service; see systemd-init), V2VM_CRIU (1:
# for checkpoint/restore tests, the init also loads the modules CRIU needs (CRIU_MODULES
# below), brings lo up, makes /tmp writable (an overlay on the host's) and writes
# "network-lock nftables" to the guest's /etc/criu/default.conf; README.md).
# Exit status: the first failing step's (each step's is on the console as "V2-TEST-STEP
# NAME: exit N"), or 124 when the VM timed out, 125 when it stopped
# without reporting one.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$REPO/target/v2vm
TIMEOUT=${V2VM_TIMEOUT:-600}
MEM=${V2VM_MEM:-1024}
SMP=${V2VM_SMP:-2}
CPU=${V2VM_CPU:-qemu64}
TEST=${V2VM_TEST:-cgroups}
ROOTFS=${BRIG_TEST_ROOTFS:-$REPO/target/fixtures/rootfs}
CARGO=${CARGO:-cargo}
SYSTEMD=${V2VM_SYSTEMD:-}
CRIU=${V2VM_CRIU:-}
# The kernel modules the guest needs (their dependencies are added from each .ko's
# modinfo): virtio over PCI, the 9p filesystem over virtio, and a virtio disk so the
# guest has a block device for the blockIO test.
MODULES="virtio_pci 9pnet_virtio 9p virtio_blk"
# Packed too but loaded only under V2VM_SYSTEMD: overlayfs, for its writable root, and
# autofs, which systemd loads at start (and its binfmt_misc automount uses).
SYSTEMD_MODULES="overlay autofs4"
# Packed too but loaded only under V2VM_CRIU=1: CRIU finds a task's sockets through the
# sock_diag netlink families (unix, inet with tcp/udp/raw, packet, netlink), and locks a
# container's network namespace during a dump with an nftables table (network-lock
# nftables, through the libnftables criu links: no iptables binary, no xtables modules).
# Every dump of a net namespace, even runc's --empty-ns network, also reads its conntrack
# table through ctnetlink (nf_conntrack_netlink: without it nfnetlink answers EINVAL and
# the dump fails). raw_diag is the one optional diag (needed only for a raw socket).
# crc32c_generic first: libcrc32c (under nf_tables) asks the crypto API for "crc32c" as
# it loads, a soft dependency modinfo does not list as depends=, and the guest cannot
# autoload it. overlay: the init makes /tmp writable for CRIU with it (see init).
CRIU_MODULES="unix_diag inet_diag tcp_diag udp_diag raw_diag af_packet_diag netlink_diag crc32c_generic nf_tables nf_conntrack_netlink overlay"

say() { echo "v2vm: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

for cmd in qemu-system-x86_64 busybox xz apt-get dpkg timeout; do
    command -v "$cmd" >/dev/null || die "$cmd not found (make v2-test installs what it needs)"
done
[ -e "$ROOTFS/bin/probe" ] || die "no fixture rootfs at $ROOTFS (make fixtures)"
case $SYSTEMD in
    '') ;;
    unified | hybrid)
        [ -x /lib/systemd/systemd ] && [ -x /usr/bin/dbus-daemon ] ||
            die "V2VM_SYSTEMD needs the systemd and dbus packages on the host (the guest boots them)"
        ;;
    *) die "V2VM_SYSTEMD must be unified or hybrid, not '$SYSTEMD'" ;;
esac
case $CRIU in
    '' | 0) CRIU= ;;
    1) command -v criu >/dev/null || die "V2VM_CRIU needs criu on the host (the guest runs it through 9p)" ;;
    *) die "V2VM_CRIU must be 1 or unset, not '$CRIU'" ;;
esac
mkdir -p "$OUT"

# --- kernel: Debian's current linux-image-*-amd64, unpacked under target/v2vm/kernel ---
KDIR=$OUT/kernel
if ! ls "$KDIR"/boot/vmlinuz-* >/dev/null 2>&1; then
    kpkg() {
        apt-cache depends linux-image-amd64 2>/dev/null |
            sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1
    }
    pkg=$(kpkg)
    [ -n "$pkg" ] || { apt-get update -qq && pkg=$(kpkg); }
    [ -n "$pkg" ] || die "cannot resolve linux-image-amd64 to a kernel package"
    say "fetching $pkg"
    rm -rf "$OUT/deb" "$KDIR.tmp"
    mkdir -p "$OUT/deb"
    (cd "$OUT/deb" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
    deb=$(ls "$OUT"/deb/"$pkg"_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || die "apt-get download $pkg failed"
    dpkg -x "$deb" "$KDIR.tmp"
    rm -rf "$KDIR" && mv "$KDIR.tmp" "$KDIR" && rm -rf "$OUT/deb"
fi
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -1)
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR=$KDIR/lib/modules/$KVER/kernel

# The uncompressed ELF kernel boots faster under TCG (QEMU enters it through its PVH
# note, skipping the decompressor). Debian's is xz-compressed inside the bzImage.
KERNEL=$VMLINUZ
if [ ! -s "$OUT/vmlinux" ]; then
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | head -1 | cut -d: -f1 || true)
    # (tail dies of SIGPIPE when xz stops at the end of the stream: judge by the output)
    [ -n "$off" ] && { tail -c +$((off + 1)) "$VMLINUZ" | xz -dcq --single-stream >"$OUT/vmlinux.tmp" 2>/dev/null || true; }
    if [ -s "$OUT/vmlinux.tmp" ] && [ "$(head -c 4 "$OUT/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
    else
        rm -f "$OUT/vmlinux.tmp"
    fi
fi
[ -s "$OUT/vmlinux" ] && KERNEL=$OUT/vmlinux

# --- initramfs: busybox-static, the modules, and an init that chroots into the host ---
modfile() { find "$MODDIR" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -1; }
moddeps() { # modinfo -F depends, read straight from the .modinfo strings
    local f; f=$(modfile "$1")
    [ -n "$f" ] || die "module $1 not in $MODDIR"
    case $f in
        *.xz) xz -dc "$f" ;;
        *) cat "$f" ;;
    esac | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '
}
ORDER=""
add_mod() { # depth first: dependencies before the module
    case " $ORDER " in *" $1 "*) return ;; esac
    local d
    for d in $(moddeps "$1"); do add_mod "$d"; done
    ORDER="$ORDER $1"
}
for m in $MODULES; do add_mod "$m"; done
BASE_ORDER=$ORDER
# One image for both modes; a module built into the kernel has no file and is skipped.
for m in $SYSTEMD_MODULES; do [ -z "$(modfile "$m")" ] || add_mod "$m"; done
SD_ORDER=${ORDER#"$BASE_ORDER"}
# order.criu is CRIU_MODULES' own closure less the base list: it may share modules with
# order.systemd (overlay), and the init loads a module only when it is not loaded yet.
ALL_ORDER=$ORDER
ORDER=$BASE_ORDER
for m in $CRIU_MODULES; do [ -z "$(modfile "$m")" ] || add_mod "$m"; done
CRIU_ORDER=${ORDER#"$BASE_ORDER"}
for m in $CRIU_ORDER; do case " $ALL_ORDER " in *" $m "*) ;; *) ALL_ORDER="$ALL_ORDER $m" ;; esac; done
ORDER=$ALL_ORDER

INITRD=$OUT/initramfs.cpio.gz
STAMP="$KVER $ORDER criu:$CRIU_ORDER $(sha256sum "$REPO"/tests/v2vm/{init,systemd-init} /bin/busybox | cut -c1-16 | tr '\n' ' ')"
if [ ! -s "$INITRD" ] || [ "$(cat "$OUT/initramfs.stamp" 2>/dev/null)" != "$STAMP" ]; then
    say "building initramfs (modules:$ORDER)"
    tree=$OUT/initramfs
    rm -rf "$tree" && mkdir -p "$tree"/{bin,dev,proc,sys,host,lib/modules}
    cp /bin/busybox "$tree/bin/busybox"
    ln -s busybox "$tree/bin/sh"
    install -m 755 "$REPO/tests/v2vm/init" "$tree/init"
    install -m 644 "$REPO/tests/v2vm/systemd-init" "$tree/systemd-init"
    for m in $ORDER; do
        f=$(modfile "$m")
        case $f in # busybox's insmod reads plain .ko files only
            *.xz) xz -dc "$f" >"$tree/lib/modules/$m.ko" ;;
            *.zst) zstd -dcq "$f" >"$tree/lib/modules/$m.ko" ;;
            *) cp "$f" "$tree/lib/modules/$m.ko" ;;
        esac
    done
    echo "$BASE_ORDER" >"$tree/lib/modules/order"
    echo "$SD_ORDER" >"$tree/lib/modules/order.systemd"
    echo "$CRIU_ORDER" >"$tree/lib/modules/order.criu"
    (cd "$tree" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$INITRD.tmp"
    mv "$INITRD.tmp" "$INITRD"
    echo "$STAMP" >"$OUT/initramfs.stamp"
fi

# A small sparse disk: the guest's only block device (the blockIO test wants one).
[ -e "$OUT/disk.img" ] || truncate -s 64M "$OUT/disk.img"

# --- the steps: what the guest runs, one after another, in this one boot ---
# V2VM_STEPS is "[NAME=value ...] test NAME [ARGS...]; [NAME=value ...] script PATH
# [ARGS...]; ..." (words without spaces); without it the one step is V2VM_ENV, then
# V2VM_SCRIPT or V2VM_TEST, and this script's arguments. A boot costs 10 to 15 s under
# TCG, so make test runs each VM configuration's steps in one.
say "building brig"
(cd "$REPO" && $CARGO build -q)
STEPS_SH=$OUT/steps.sh
: >"$STEPS_SH"
NAMES="" NSTEPS=0
test_binary() {
    local bin
    bin=$(cd "$REPO" && $CARGO test --no-run --test "$1" --message-format=json 2>"$OUT/build.err" |
        grep '"kind":\["test"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1 || true)
    if [ -z "$bin" ] || [ ! -x "$bin" ]; then
        tail -30 "$OUT/build.err" >&2
        die "could not build the $1 test binary"
    fi
    echo "$bin"
}
add_step() { # "NAME=value ..." test|script TARGET [ARGS...]
    local env=$1 kind=$2 target=$3 bin name v a
    shift 3
    case $kind in
        test) say "building the $target test binary"; bin=$(test_binary "$target") name=$target ;;
        script) bin=$(realpath "$target") name=$(basename "$target")
            [ -x "$bin" ] || die "script $target is not executable" ;;
        *) die "a step is 'test NAME' or 'script PATH', not '$kind $target'" ;;
    esac
    NAMES="${NAMES:+$NAMES, }$name" NSTEPS=$((NSTEPS + 1))
    {
        echo '('
        for v in $env; do printf 'export %q\n' "$v"; done
        printf 'cd /tmp/brig-it && exec %q' "$bin"
        for a in "$@"; do printf ' %q' "$a"; done
        echo ' 2>&1'
        echo ')'
        echo 'src=$?'
        # The test kit's leftover check looks for the container's cgroup one level below
        # each v1 controller directory; on v2 that misses /sys/fs/cgroup/brig-test-*.
        # With systemd the root may be a tmpfs of v1 hierarchies (hybrid), and cgroupfs
        # paths may land below a slice: look one level further down there. systemd's
        # own cgroups (brig-vm-test.service among them) never match brig-test-*.
        if [ -z "$SYSTEMD" ]; then
            echo 'left=$(ls -d /sys/fs/cgroup/brig-test-* 2>/dev/null | tr "\n" " ")'
        else
            echo 'left=$(ls -d /sys/fs/cgroup/brig-test-* /sys/fs/cgroup/*/brig-test-* 2>/dev/null | tr "\n" " ")'
        fi
        echo 'if [ -n "$left" ]; then echo "V2-TEST-LEFTOVER-CGROUPS: $left"; [ $src = 0 ] && src=1; fi'
        printf 'echo "V2-TEST-STEP %s: exit $src"\n' "$name"
        echo '[ $rc != 0 ] || rc=$src'
    } >>"$STEPS_SH"
}
if [ -n "${V2VM_STEPS:-}" ]; then
    IFS=';' read -ra steps <<<"$V2VM_STEPS"
    for step in "${steps[@]}"; do
        read -ra words <<<"$step"
        [ ${#words[@]} -gt 0 ] || continue
        env=""
        while [ ${#words[@]} -gt 0 ] && [[ ${words[0]} == *=* ]]; do env="$env ${words[0]}" words=("${words[@]:1}"); done
        [ ${#words[@]} -ge 2 ] || die "V2VM_STEPS: '$step' names no test or script"
        add_step "$env" "${words[@]}"
    done
elif [ -n "${V2VM_SCRIPT:-}" ]; then
    add_step "${V2VM_ENV:-}" script "$V2VM_SCRIPT" "$@"
else
    add_step "${V2VM_ENV:-}" test "$TEST" "$@"
fi
[ "$NSTEPS" -gt 0 ] || die "V2VM_STEPS names no step"
TEST=$NAMES
# The hang guard stays per suite: a boot running several has their sum.
TIMEOUT=$((TIMEOUT * NSTEPS))

# The guest runs this script (through 9p) chrooted in the host's /, after its init has
# mounted the guest's own /proc, /sys, cgroup2, /dev, /tmp/brig-it and /run. Under
# V2VM_SYSTEMD, systemd runs it as brig-vm-test.service on the overlay root instead.
# The tmpfs goes on the kit's directory only, which must exist on the host (9p is read-only).
mkdir -p /tmp/brig-it
GUEST=$OUT/guest.sh
{
    echo '#!/bin/sh'
    if [ -z "$SYSTEMD" ]; then
        echo 'echo "V2-TEST-CONTROLLERS=$(cat /sys/fs/cgroup/cgroup.controllers)"'
        echo 'echo "V2-TEST-SUBTREE=$(cat /sys/fs/cgroup/cgroup.subtree_control)"'
    else
        # Under systemd (a service of brig-vm-test.target): the boot time to here, the
        # system's state once the boot has settled (running, or degraded with the failed
        # units listed), and the cgroup layout systemd mounted. The cgroup2 controllers
        # are systemd's choice here: nothing enables the rest.
        echo 'echo "V2-TEST-START: $(cut -d" " -f1 /proc/uptime)s after boot"'
        echo 'echo "V2-TEST-SYSTEMD=$(timeout 120 systemctl is-system-running --wait)"'
        echo 'systemctl --failed --no-legend --plain | sed "s/^/V2-TEST-FAILED-UNIT: /"'
        echo 'u=/sys/fs/cgroup; l=legacy'
        echo 'if [ "$(stat -fc %T $u)" = cgroup2fs ]; then l=unified; elif [ "$(stat -fc %T $u/unified 2>/dev/null)" = cgroup2fs ]; then l=hybrid u=$u/unified; fi'
        echo 'echo "V2-TEST-CGROUP-LAYOUT=$l"'
        echo 'echo "V2-TEST-CGROUP-MOUNTS: $(grep -E "^cgroup2? " /proc/mounts | cut -d" " -f2-4 | tr "\n" ";")"'
        echo 'echo "V2-TEST-CGROUP-SELF: $(tr "\n" ";" </proc/self/cgroup)"'
        echo 'echo "V2-TEST-CONTROLLERS=$(cat $u/cgroup.controllers)"'
        echo 'echo "V2-TEST-SUBTREE=$(cat $u/cgroup.subtree_control)"'
    fi
    echo 'echo "V2-TEST-MOUNTS: $(grep -E " / | /sys| /tmp| /run| /dev" /proc/mounts | cut -d" " -f1-3 | tr "\n" ";")"'
    printf 'export BRIG_TEST_ROOTFS=%q\n' "$ROOTFS"
    echo 'export RUST_BACKTRACE=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp/brig-it'
    # tests/systemd.rs skips on a host without systemd; here its absence is a failure.
    [ -z "$SYSTEMD" ] || echo 'export BRIG_REQUIRE_SYSTEMD=1'
    echo 'rc=0'
    cat "$STEPS_SH"
    echo 'echo "V2-TEST-EXIT=$rc"'
} >"$GUEST"
chmod 755 "$GUEST"

# --- boot ---
# -cpu qemu64, not max: with max the guest's glibc picks its AVX2 string functions, which
# TCG emulates slowly. As qemu64, make v2-test's four boots took 565 s against 771 (both
# beside a build at nice 19), the rootless suite alone 28 s against 32.
# A guest soft lockup panics the guest at once (softlockup_panic=1) rather than idling
# until the timeout. A VM that hangs or stops without a result is booted once more: under
# TCG the guest kernel was seen, once in a dozen runs, stuck in two tasks on both vCPUs
# with no brig error to show. The first console log is kept as console.1.log.
LOG=$OUT/console.log
APPEND="console=ttyS0 cgroup_no_v1=all panic=-1 softlockup_panic=1 quiet loglevel=4 v2vm.run=$GUEST"
# systemd.unit= picks the test target systemd-init writes. unified: v1 stays off in the
# kernel too. hybrid: systemd mounts the v1 controllers, its name=systemd tree and a
# cgroup2 at /sys/fs/cgroup/unified (legacy_systemd_cgroup_controller=0 is 252's default
# there, spelled out); v1 must not be disabled. show_status=error: boot progress lines
# would interleave with the tests' output on the console.
SD_APPEND="v2vm.systemd=$SYSTEMD systemd.unit=brig-vm-test.target systemd.show_status=error"
case $SYSTEMD in
    unified) APPEND="$APPEND $SD_APPEND systemd.unified_cgroup_hierarchy=1" ;;
    hybrid) APPEND="${APPEND/ cgroup_no_v1=all/} $SD_APPEND systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=0" ;;
esac
# v2vm.criu=1: the init loads order.criu's modules and brings lo up (either init).
[ -z "$CRIU" ] || APPEND="$APPEND v2vm.criu=1"
boot() {
    say "booting $KVER ($(basename "$KERNEL"))${SYSTEMD:+ with systemd ($SYSTEMD cgroups)}${CRIU:+ with the CRIU modules}, timeout ${TIMEOUT}s, log $LOG"
    start=$(date +%s)
    set +e
    timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
        -accel tcg,thread=multi -cpu "$CPU" -m "$MEM" -smp "$SMP" \
        -kernel "$KERNEL" -initrd "$INITRD" \
        -append "$APPEND" \
        -display none -monitor none -serial stdio -no-reboot \
        -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
        -drive file="$OUT/disk.img",format=raw,if=virtio,cache=unsafe \
        -nic none </dev/null 2>&1 | tr -d '\r' | tee "$LOG"
    rc=${PIPESTATUS[0]}
    set -e
    secs=$(($(date +%s) - start))
    code=$(sed -n 's/^V2-TEST-EXIT=\([0-9]*\)$/\1/p' "$LOG" | tail -1)
}

boot
if [ -z "$code" ]; then
    mv "$LOG" "$OUT/console.1.log"
    say "the VM stopped (qemu status $rc) after ${secs}s without a result (console.1.log); booting it once more"
    boot
fi
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    say "FAILED: the VM did not finish within ${TIMEOUT}s (V2VM_TIMEOUT); console in $LOG"
    exit 124
fi
if [ -z "$code" ]; then
    say "FAILED: the VM stopped (qemu status $rc) after ${secs}s without reporting a result; console in $LOG"
    exit 125
fi
ON="cgroup v2"
[ -z "$SYSTEMD" ] || ON="systemd with $SYSTEMD cgroups"
if [ "$code" = 0 ]; then
    say "$TEST tests passed on $ON (${secs}s)"
else
    say "FAILED: $TEST tests exited $code on $ON (${secs}s); console in $LOG"
fi
exit "$code"
