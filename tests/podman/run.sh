#!/usr/bin/env bash
# End-to-end test: Podman (Debian's 4.3) with brig as its OCI runtime, checkpoint and
# restore included.
#
#   tests/podman/run.sh BRIG_BINARY ROOTFS_FIXTURE
#
# A private podman: --root, --runroot, --tmpdir, its own containers.conf, storage.conf and
# registries.conf (CONTAINERS_CONF, ...: the machine's files are not read), file locks,
# the events log and brig's state root, all in a temp dir (a tmpfs mounted on a mktemp
# -d); --cgroup-manager cgroupfs with --cgroup-parent /brig-podman-PID, the overlay
# storage driver (vfs where the kernel has no overlayfs), --network none and no registry:
# the image is the fixture rootfs, made with `podman import`. The runtime is a logging
# wrapper named "brig" that runs brig and logs each call (argv, exit status, brig's
# error), so the output shows what podman and conmon passed.
#
# Checks (TAP: "ok N - ...", "not ok N - ..."), then "P passed, F failed": run --rm output
# and exit status, a detached counting container (running, brig saw its create), exec;
# run -i with stdin piped, run -t and exec -it under script(1) (a /dev/pts terminal);
# --cap-drop ALL --cap-add NET_RAW (CapEff), --read-only, --user 1000:1000, a missing
# binary (exit 127); --memory, --cpus and --pids-limit in the container's cgroup files on
# the host (v1 or v2), podman stats, update --memory, top, pause and unpause (the freezer
# cgroup), kill (137), stop of a container that ignores SIGTERM (killed after --time,
# 137) and of one that exits on it (at once); then checkpoint (the container exited,
# checkpointed), restore (running again, counting on from where it was, exec works),
# checkpoint --leave-running, checkpoint --export and restore --import --name (a second
# container counting on from the export), rm -f of everything and no brig state or
# container cgroup left behind, and every brig call exited 0 (but the create of the
# missing binary).
# The checkpoint checks need a kernel where `criu check` passes; elsewhere they are
# reported as "# SKIP", unless PODMAN_REQUIRE_CRIU=1 (the CRIU VM sets it), which runs
# them whatever `criu check` says.
#
# Everything it starts or creates (containers, conmon processes, mounts, cgroups, the
# temp dir) is removed on exit, even on failure; a podman the machine already has is
# never touched (nothing under /var/lib/containers, /run/containers, /run/libpod, no
# /dev/shm lock). Needs root, podman and conmon (installed from Debian if missing),
# python3 (a subreaper that adopts the daemonized conmons), script(1) (a terminal for
# -t and -it), criu for the checkpoint checks. Environment: PODMAN_TMP (where the temp dir
# goes, default /tmp), PODMAN_STORAGE_DRIVER (overlay or vfs), PODMAN_REQUIRE_CRIU,
# PODMAN_ONLY_CHECKPOINT (1: only the run, exec and checkpoint checks).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BRIG_BINARY ROOTFS_FIXTURE" >&2
    exit 2
fi
BRIG=$(realpath -e "$1")
FIXTURE=$(realpath -e "$2")
[ -x "$BRIG" ] || { echo "$BRIG is not executable" >&2; exit 2; }
[ -x "$FIXTURE/bin/sh" ] || { echo "$FIXTURE has no /bin/sh" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0 must run as root" >&2; exit 2; }

# --- prerequisites ---------------------------------------------------------------------
if ! command -v podman >/dev/null || ! command -v conmon >/dev/null; then
    echo "# installing Debian's podman" >&2
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        # Without recommends: buildah, fuse-overlayfs, slirp4netns, netavark are not used.
        # Another apt/dpkg may hold the lock for a moment: retry a few times.
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            podman conmon >/dev/null; then
            break
        fi
        [ "$attempt" = 10 ] && { echo "could not install podman" >&2; exit 2; }
        sleep 3
    done
fi
for tool in python3 timeout tar script; do
    command -v "$tool" >/dev/null || { echo "$0 needs $tool" >&2; exit 2; }
done

# --- a subreaper -----------------------------------------------------------------------
# conmon daemonizes (its parent exits), and PID 1 may not reap orphans (a test VM's init
# does not): a zombie conmon would look alive to podman. So the script runs under a small
# subreaper that adopts them; once the script has exited it waits up to 10 s for what it
# adopted, then kills it (by pid: only processes this test started end up there).
if [ "${BRIG_PODMAN_REAPER:-}" != "$PPID" ]; then
    exec python3 -c '
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:   # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
os.environ["BRIG_PODMAN_REAPER"] = str(os.getpid())
child = os.fork()
if child == 0:
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):   # python ignores them; a shell must not
        signal.signal(sig, signal.SIG_DFL)
    os.execvp(sys.argv[1], sys.argv[1:])
def forward(sig, frame):
    try:
        os.kill(child, sig)
    except ProcessLookupError:
        pass
signal.signal(signal.SIGINT, forward)
signal.signal(signal.SIGTERM, forward)
def adopted():
    me, out = str(os.getpid()), []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == me:
                        out.append(int(d))
            except (OSError, IndexError):
                pass
    return out
status, deadline = 1, None
while True:
    try:
        pid, st = os.waitpid(-1, os.WNOHANG if deadline else 0)
    except ChildProcessError:
        break
    if pid == child:
        status = os.waitstatus_to_exitcode(st)
        status = status if status >= 0 else 128 - status
        deadline = time.monotonic() + 10
    elif pid == 0:
        if time.monotonic() > deadline:
            for p in adopted():
                print("# subreaper: killing leftover pid %d" % p, file=sys.stderr)
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
        time.sleep(0.1)
sys.exit(status)
' bash "$0" "$BRIG" "$FIXTURE"
fi

START_SECONDS=$SECONDS
CG="brig-podman-$$"        # --cgroup-parent of every container (and of its conmon)
T=$(mktemp -d "${PODMAN_TMP:-/tmp}/brig-podman.XXXXXX")
SHIM_DIR="$T/bin"
SHIM="$SHIM_DIR/brig"      # the logging wrapper; podman names the runtime after it
SHIM_LOG="$T/brig-calls.log"
BRIG_ROOT="$T/brig-root"   # brig's --root (the wrapper adds it)
IMAGE=localhost/brig-podman-rootfs:latest
# Storage: overlay where the kernel has it (what podman uses by default), else vfs.
DRIVER=${PODMAN_STORAGE_DRIVER:-}
if [ -z "$DRIVER" ]; then
    DRIVER=vfs
    grep -qw overlay /proc/filesystems && DRIVER=overlay
fi
REQUIRE_CRIU=${PODMAN_REQUIRE_CRIU:-}
TIMEOUT=120                # seconds for one podman command (TCG VMs are slow)

# --- cleanup ---------------------------------------------------------------------------
PODMAN=()
cleanup() {
    local rc=$? i pid dir mnt id
    set +e
    trap - EXIT INT TERM
    # Every container of this private podman (its own root), then brig's own state.
    if [ "${#PODMAN[@]}" -gt 0 ] && [ -d "$T/root" ]; then
        timeout -k 5 60 "${PODMAN[@]}" rm -f -a -t 0 >/dev/null 2>&1
    fi
    if [ -d "$BRIG_ROOT" ]; then
        for id in $(timeout 10 "$BRIG" --root "$BRIG_ROOT" list -q 2>/dev/null); do
            timeout 10 "$BRIG" --root "$BRIG_ROOT" delete --force "$id" >/dev/null 2>&1
        done
    fi
    # Processes still in the test's cgroups were started by this test.
    for dir in /sys/fs/cgroup/"$CG" /sys/fs/cgroup/*/"$CG"; do
        [ -d "$dir" ] || continue
        for pid in $(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
    done
    # conmon processes the subreaper adopted (it is our parent): they belong to this test.
    for pid in $(children_of "$PPID"); do
        [ "$pid" = $$ ] || kill -KILL "$pid" 2>/dev/null
    done
    # Mounts under the temp dir, deepest first (the tmpfs on the temp dir itself last).
    for i in 1 2 3; do
        mnt=$(awk -v t="$T" '$2 == t || index($2, t "/") == 1 {print $2}' /proc/self/mounts | sort -r)
        [ -z "$mnt" ] && break
        for dir in $mnt; do umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null; done
    done
    # The test's cgroups: /brig-podman-PID and all below it, in every hierarchy.
    for dir in /sys/fs/cgroup/"$CG" /sys/fs/cgroup/*/"$CG"; do
        [ -d "$dir" ] || continue
        for i in $(seq 20); do
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$dir" ] || break
            sleep 0.1
        done
        [ -d "$dir" ] && echo "# cleanup: could not remove $dir" >&2
    done
    rm -rf --one-file-system "$T"
    [ -e "$T" ] && echo "# cleanup: could not remove $T" >&2
    exit "$rc"
}
# Pids of processes whose parent is $1.
children_of() {
    local stat rest
    for stat in /proc/[0-9]*/stat; do
        read -r rest < "$stat" 2>/dev/null || continue
        local pid=${rest%% *}
        rest=${rest##*) }     # after "(comm) "
        set -- "$1" $rest
        [ "$3" = "$1" ] && echo "$pid"
    done
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A tmpfs on the temp dir: the same filesystem on a host and in the VM (whose /tmp is an
# overlay on 9p); criu binds unix sockets in its work directory, and 9p refuses them.
mount -t tmpfs -o mode=700 brig-podman "$T"
mkdir -p "$T/root" "$T/runroot" "$T/tmp" "$T/tmp/images" "$T/net" "$SHIM_DIR" "$BRIG_ROOT"

# --- results ---------------------------------------------------------------------------
# A failed check also shows the brig calls that failed since the check before it: the
# wrapper's log lines (exit status, argv as podman or conmon gave it, brig's error).
N=0 PASSED=0 FAILED=0 SKIPPED=0 LOG_SEEN=0
log_lines() { if [ -f "$SHIM_LOG" ]; then wc -l < "$SHIM_LOG"; else echo 0; fi; }
ok()     { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; LOG_SEEN=$(log_lines); }
not_ok() {
    local n
    N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
    n=$(log_lines)
    [ "$n" -gt "$LOG_SEEN" ] && sed -n "$((LOG_SEEN + 1)),${n}p" "$SHIM_LOG" |
        awk -F'\t' '$1 != 0 {print "#   brig exited " $1 ": " $2; print "#     its error: " $3}'
    LOG_SEEN=$n
    return 0
}
skip()   { N=$((N + 1)); SKIPPED=$((SKIPPED + 1)); echo "ok $N - $1 # SKIP $2"; LOG_SEEN=$(log_lines); }
# check DESCRIPTION CONDITION-STATUS [DIAGNOSTICS]
check() { if [ "$2" = 0 ]; then ok "$1"; else not_ok "$1" "${3:-}"; fi; }

# Run a command with a time limit; its stdout+stderr in $OUT, its exit status in $RC.
capture() {
    OUT=$(timeout -k 5 "$TIMEOUT" "$@" 2>&1 </dev/null) && RC=0 || RC=$?
}
describe() { printf 'exit %s, output:\n%s' "$RC" "$OUT"; }

# --- private podman --------------------------------------------------------------------
# The logging wrapper: runs brig with the same argv and stdio, then appends one line per
# call: exit status, argv as podman or conmon gave it (shell-quoted), and on failure
# brig's error: the last line of the --log file, or its stderr for the commands whose
# stdio is not the container's. Podman passes no --root to a runtime when it runs as root
# (runc would use /run/runc), and --runtime-flag does not reach every call (not the
# cleanup podman that conmon runs when a container exits), so the wrapper adds
# `--root BRIG_ROOT` when it was given none: brig's state stays in the temp dir.
{
    echo '#!/bin/bash'
    printf 'BRIG=%q BRIG_ROOT=%q LOG=%q TMPD=%q\n' "$BRIG" "$BRIG_ROOT" "$SHIM_LOG" "$T/tmp"
    cat <<'EOF'
line=$(printf '%q ' "$@")
log= prev= cmd= skipnext=0 root=(--root "$BRIG_ROOT")
for a in "$@"; do
    case $prev in --log) log=$a ;; esac
    case $a in --log=*) log=${a#--log=} ;; esac
    if [ -z "$cmd" ]; then
        case $a in --root | --root=*) root=() ;; esac
        if [ "$skipnext" = 1 ]; then skipnext=0
        else case $a in
            --root | --log | --log-format | --criu | --rootless) skipnext=1 ;;
            -*) ;;
            *) cmd=$a ;;
        esac; fi
    fi
    prev=$a
done
msg=
case $cmd in
    create | run | exec | restore)
        # stdio is the container's (conmon's pipes): leave it alone.
        "$BRIG" "${root[@]}" "$@"
        rc=$?
        [ "$rc" != 0 ] && [ -f "$log" ] && msg=$(tail -n 1 "$log")
        ;;
    *)
        err=$(mktemp "$TMPD/brig-stderr.XXXXXX")
        "$BRIG" "${root[@]}" "$@" 2>"$err"
        rc=$?
        cat "$err" >&2
        [ "$rc" != 0 ] && msg=$(tr '\n' ' ' < "$err")
        [ "$rc" != 0 ] && [ -z "$msg" ] && [ -f "$log" ] && msg=$(tail -n 1 "$log")
        rm -f "$err"
        ;;
esac
printf '%s\t%s\t%s\n' "$rc" "$line" "$msg" >> "$LOG"
exit "$rc"
EOF
} > "$SHIM"
chmod 755 "$SHIM"

# Private configuration: with CONTAINERS_CONF / CONTAINERS_STORAGE_CONF /
# CONTAINERS_REGISTRIES_CONF set, podman reads these files only. File locks (in tmp_dir)
# rather than the machine-wide /dev/shm/libpod_lock; every directory podman writes is in
# the temp dir. runtime_supports_json lists brig as it lists runc: podman then passes it
# --log-format=json, as it does runc (brig is a drop-in replacement).
# As root podman gives every container RLIMIT_NOFILE 1048576 and a large RLIMIT_NPROC,
# which needs CAP_SYS_RESOURCE when that is above the runtime's hard limit: in a sandbox
# without it (this kind of host) every create fails, with runc too ("error setting
# rlimits", EPERM). There, the containers get limits the runtime already has: the current
# hard RLIMIT_NOFILE, and RLIMIT_NPROC at most 32768 (podman lowers its own to that at
# start, so brig inherits no more: seen with strace).
ULIMITS=""
cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
if [ $(( 0x$cap_eff >> 24 & 1 )) = 0 ]; then
    nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
    [ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ] && nofile=1048576
    [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
    ULIMITS="\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\""
    echo "# no CAP_SYS_RESOURCE here: containers get the current hard limits (default_ulimits = [$ULIMITS])"
fi
cat > "$T/containers.conf" <<EOF
[containers]
log_driver = "k8s-file"
default_sysctls = ["net.ipv4.ping_group_range=0 0"]
default_ulimits = [$ULIMITS]

[network]
network_config_dir = "$T/net"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/tmp"
static_dir = "$T/root/libpod"
volume_path = "$T/root/volumes"
image_copy_tmp_dir = "$T/tmp/images"
lock_type = "file"
pull_policy = "never"
runtime = "brig"
runtime_supports_json = ["crun", "runc", "brig"]

[engine.runtimes]
brig = ["$SHIM"]
EOF
cat > "$T/storage.conf" <<EOF
[storage]
driver = "$DRIVER"
runroot = "$T/runroot"
graphroot = "$T/root"
EOF
cat > "$T/registries.conf" <<EOF
unqualified-search-registries = []
EOF
export CONTAINERS_CONF="$T/containers.conf"
export CONTAINERS_STORAGE_CONF="$T/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$T/registries.conf"
export TMPDIR="$T/tmp"
export XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data"
PODMAN=(podman --root "$T/root" --runroot "$T/runroot" --tmpdir "$T/tmp"
        --cgroup-manager cgroupfs --events-backend file --runtime "$SHIM"
        --storage-driver "$DRIVER")
RUN_FLAGS=(--network none --cgroup-parent "/$CG")

echo "# $(podman --version), $(conmon --version | head -1), storage $DRIVER, dir $T, cgroup parent /$CG"
echo "# brig: $BRIG ($("$BRIG" --version | head -1))"

# criu: the checkpoint checks run where `criu check` passes, or when required.
CRIU_WHY=""
if ! command -v criu >/dev/null; then
    CRIU_WHY="criu is not installed"
elif ! criu_out=$(timeout 60 criu check 2>&1); then
    CRIU_WHY="criu check fails on this kernel ($(uname -r))"
    echo "# criu check: $(printf '%s' "$criu_out" | grep -i error | head -3 | tr '\n' ' ')"
fi
[ -n "$CRIU_WHY" ] || echo "# criu check passes: $(criu --version | head -1)"
RUN_CRIU=1
if [ -n "$CRIU_WHY" ]; then
    if [ "$REQUIRE_CRIU" = 1 ]; then
        echo "# PODMAN_REQUIRE_CRIU=1: running the checkpoint checks although $CRIU_WHY"
    else
        RUN_CRIU=0
    fi
fi

# Helpers on podman's view of a container.
status_of() { timeout 30 "${PODMAN[@]}" inspect -f '{{.State.Status}}' "$1" 2>/dev/null || echo none; }
checkpointed_of() { timeout 30 "${PODMAN[@]}" inspect -f '{{.State.Checkpointed}}' "$1" 2>/dev/null || true; }
# "TOKEN COUNT" from the counting container's /count (an empty read, while the loop
# rewrites it, is retried).
count_of() {
    local i out
    for i in 1 2 3 4 5; do
        out=$(timeout 60 "${PODMAN[@]}" exec "$1" cat /count 2>/dev/null) || true
        [ -n "$out" ] && { echo "$out"; return 0; }
        sleep 0.2
    done
    return 1
}
# Wait (up to $2 s) until the counter of $1 is above $3; prints the last "TOKEN COUNT".
wait_count_above() {
    local id=$1 secs=$2 min=$3 c="" start=$SECONDS
    while [ $((SECONDS - start)) -lt "$secs" ]; do
        c=$(count_of "$id") || c=""
        [ -n "$c" ] && [ "${c#* }" -gt "$min" ] 2>/dev/null && break
        sleep 0.3
    done
    echo "$c"
}
# criu's log of the last checkpoint or restore of $1 (dump.log, restore.log in its
# userdata directory, when written since the command began: $T/criu-stamp): its errors
# and last lines.
criu_logs() {
    local dir f
    dir=$(timeout 30 "${PODMAN[@]}" inspect -f '{{.StaticDir}}' "$1" 2>/dev/null) || return 0
    for f in "$dir"/dump.log "$dir"/restore.log; do
        [ -s "$f" ] && [ "$f" -nt "$T/criu-stamp" ] || continue
        echo "--- $f: errors, then the last lines"
        grep -E 'Error|Warn' "$f" | tail -n 10
        tail -n 6 "$f"
    done
}

# "TOKEN COUNT" in the rootfs of a stopped (checkpointed) container: the last count its
# process wrote.
rootfs_count() {
    local dir
    dir=$(timeout 30 "${PODMAN[@]}" mount "$1" 2>/dev/null) && cat "$dir/count" 2>/dev/null
    timeout 30 "${PODMAN[@]}" umount "$1" >/dev/null 2>&1
    return 0
}

# --- the image, offline -----------------------------------------------------------------
# From here on a failing command is a failed check, not the end of the run: no errexit.
set +e
# containers/image keeps a blob-info cache for root in /var/lib/containers/cache (a path
# compiled in: podman 4.3 does not move it under --root), which `podman import` writes.
# So the import runs in a mount namespace of its own (private propagation) where that
# directory is one of the temp dir; where /var/lib/containers does not exist, a tmpfs on
# /var/lib stands in for that one command, so nothing is created on the host.
mkdir -p "$T/var-lib-containers"
tar -C "$FIXTURE" -cf "$T/rootfs.tar" .
capture unshare --mount --propagation private sh -c '
    if [ -d /var/lib/containers ]; then mount --bind "$1" /var/lib/containers
    else mount -t tmpfs -o mode=755 brig-podman /var/lib && mkdir -m 700 /var/lib/containers
    fi || exit 125
    shift
    exec "$@"' sh "$T/var-lib-containers" "${PODMAN[@]}" import "$T/rootfs.tar" "$IMAGE"
import_rc=$RC
check "podman import of the fixture rootfs makes $IMAGE (no registry)" "$RC" "$(describe)"
if [ "$import_rc" != 0 ]; then
    echo "1..$N"
    echo "$PASSED passed, $FAILED failed"
    exit 1
fi

# --- run --rm: output, exit status ---------------------------------------------------------
capture "${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" "$IMAGE" sh -c 'echo hello'
[ "$RC" = 0 ] && [ "$OUT" = hello ]
check "podman run --rm prints hello and exits 0" $? "$(describe)"

capture "${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" "$IMAGE" sh -c 'exit 3'
[ "$RC" = 3 ]
check "exit status 3 inside the container is podman run's exit status" $? "$(describe)"

# --- a detached counting container ----------------------------------------------------------
# Its counter lives in the shell's memory, with a random token drawn at start: after a
# restore, the same token and a larger count show the process went on, not restarted.
COUNT_SH='t=$RANDOM$RANDOM; i=0; while :; do i=$((i+1)); echo "$t $i" > /count; sleep 0.2; done'
capture "${PODMAN[@]}" run -d --name brig-count "${RUN_FLAGS[@]}" "$IMAGE" sh -c "$COUNT_SH"
run_rc=$RC run_out=$OUT
C1=$(timeout 30 "${PODMAN[@]}" inspect -f '{{.Id}}' brig-count 2>/dev/null || true)
st=$(status_of brig-count)
[ "$run_rc" = 0 ] && [ -n "$C1" ] && [ "$st" = running ]
check "podman run -d: the counting container is running" $? \
    "exit $run_rc, output:
$run_out
status: $st"
creates=$(awk -F'\t' -v id="$C1" '$2 ~ /(^| )create / && index($2, id) {n++} END {print n + 0}' "$SHIM_LOG" 2>/dev/null)
[ -n "$C1" ] && [ "$creates" -ge 1 ]
check "brig is the runtime: the wrapper logged brig create for it" $? \
    "creates logged for ${C1:-?}: $creates; wrapper log:
$(cat "$SHIM_LOG" 2>/dev/null)"

c0=$(wait_count_above brig-count 60 4)
c0n=${c0#* }
[ -n "$c0" ] && [ "$c0n" -gt 4 ] 2>/dev/null
check "podman exec cat /count: the counter runs (${c0:-nothing read})" $? \
    "read: '${c0}'"

capture "${PODMAN[@]}" exec brig-count sh -c 'echo exec-ok'
[ "$RC" = 0 ] && [ "$OUT" = exec-ok ]
check "podman exec prints exec-ok" $? "$(describe)"

capture "${PODMAN[@]}" exec brig-count sh -c 'exit 5'
[ "$RC" = 5 ]
check "podman exec: exit status 5 is podman exec's" $? "$(describe)"

# PODMAN_ONLY_CHECKPOINT=1 (the CRIU VM, where TCG makes every podman call slow: make
# test runs the rest on the host) skips from here to the checkpoint checks.
if [ "${PODMAN_ONLY_CHECKPOINT:-}" != 1 ]; then
# --- stdin, terminals --------------------------------------------------------------------------
# Like capture, with $1 (and a newline) piped to the command's stdin.
capture_in() {
    local input=$1
    shift
    OUT=$( { printf '%s\n' "$input" || true; } | timeout -k 5 "$TIMEOUT" "$@" 2>&1) && RC=0 || RC=$?
}
# Like capture, under script(1) (CI has no terminal): the command's stdin, stdout and
# stderr are a new pseudo-terminal. Its output without the terminal's carriage returns.
# script's own stdin is a FIFO it holds open (read-write), so it never reads an end of
# file: at one, script types an EOF character into the terminal, which podman exec -it
# passes on to the container's terminal, and that echoes it ("^@") into the output.
capture_tty() {
    local cmd
    cmd=$(printf '%q ' "$@")
    [ -p "$T/tty-stdin" ] || mkfifo "$T/tty-stdin"
    OUT=$(SHELL=/bin/bash timeout -k 5 "$TIMEOUT" script -qefc "$cmd" /dev/null 2>&1 <>"$T/tty-stdin") && RC=0 || RC=$?
    OUT=${OUT//$'\r'/}
}
TTY_SH='tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-a-tty'
# The output of TTY_SH in a terminal: a /dev/pts device, then stdio-is-a-tty.
is_tty_out() { printf '%s\n' "$1" | head -n 1 | grep -qx '/dev/pts/[0-9]*' && [ "$(printf '%s\n' "$1" | sed -n 2p)" = stdio-is-a-tty ]; }

capture_in piped "${PODMAN[@]}" run -i --rm "${RUN_FLAGS[@]}" "$IMAGE" cat
[ "$RC" = 0 ] && [ "$OUT" = piped ]
check "echo piped | podman run -i --rm IMAGE cat: prints piped, exits 0 at the end of stdin" $? "$(describe)"

capture_tty "${PODMAN[@]}" run --rm -t "${RUN_FLAGS[@]}" "$IMAGE" sh -c "$TTY_SH"
tty_name=${OUT%%$'\n'*}
[ "$RC" = 0 ] && is_tty_out "$OUT"
check "podman run -t (under script): the process's stdio is a terminal, $tty_name" $? "$(describe)"

capture_tty "${PODMAN[@]}" exec -it brig-count sh -c "$TTY_SH"
tty_name=${OUT%%$'\n'*}
[ "$RC" = 0 ] && is_tty_out "$OUT"
check "podman exec -it (under script): the process's stdio is a terminal, $tty_name" $? "$(describe)"

# --- security options ----------------------------------------------------------------------
want_capeff=$(printf '%016x' $((1 << 13)))       # CAP_NET_RAW is capability 13
capture "${PODMAN[@]}" run --rm --cap-drop ALL --cap-add NET_RAW "${RUN_FLAGS[@]}" "$IMAGE" grep '^CapEff:' /proc/self/status
capeff=$(printf '%s\n' "$OUT" | awk '/^CapEff:/ {print $2}')
[ "$RC" = 0 ] && [ "$capeff" = "$want_capeff" ]
check "--cap-drop ALL --cap-add NET_RAW: CapEff is $want_capeff (CAP_NET_RAW only): ${capeff:-none}" $? "$(describe)"

# A write to / fails with EROFS; /tmp, where podman mounts a tmpfs on it (--read-only-tmpfs,
# podman's default), is writable.
RO_SH='touch /brig-ro-test 2>&1 && echo root-writable
if grep -q " /tmp " /proc/mounts; then touch /tmp/brig-ro-test && echo tmp-writable; else echo no-tmp-mount; fi'
capture "${PODMAN[@]}" run --rm --read-only "${RUN_FLAGS[@]}" "$IMAGE" sh -c "$RO_SH"
tmp_line=$(printf '%s\n' "$OUT" | tail -n 1)
[ "$RC" = 0 ] && printf '%s\n' "$OUT" | head -n 1 | grep -q 'Read-only file system' &&
    ! printf '%s\n' "$OUT" | grep -q root-writable &&
    { [ "$tmp_line" = tmp-writable ] || [ "$tmp_line" = no-tmp-mount ]; }
check "--read-only: a write to / fails (read-only file system), /tmp: $tmp_line" $? "$(describe)"

capture "${PODMAN[@]}" run --rm --user 1000:1000 "${RUN_FLAGS[@]}" "$IMAGE" sh -c 'echo "$(id -u):$(id -g)"'
[ "$RC" = 0 ] && [ "$OUT" = 1000:1000 ]
check "--user 1000:1000: id -u, id -g are 1000:1000 inside" $? "$(describe)"

capture "${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" "$IMAGE" /no/such/binary
[ "$RC" = 127 ]
check "podman run --rm IMAGE /no/such/binary exits 127" $? "$(describe)"
echo "# podman run of a missing binary said: $(printf '%s' "$OUT" | tr '\n' ' ')"

# --- resource limits, seen on the host ---------------------------------------------------------
# The directory of process $1's cgroup for controller $2, as "v1 DIR" (the controller's own
# hierarchy: cgroup v1, or hybrid) or "v2 DIR" (the unified hierarchy).
cgroup_dir() {
    local pid=$1 ctl=$2 path ver=v1 root="" mnt=""
    path=$(awk -F: -v c="$ctl" '{ n = split($2, a, ",")
        for (i = 1; i <= n; i++) if (a[i] == c) { sub(/^[^:]*:[^:]*:/, ""); print; exit } }' \
        "/proc/$pid/cgroup" 2>/dev/null)
    if [ -z "$path" ]; then
        ver=v2
        path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)
    fi
    [ -n "$path" ] || return 1
    # (A here-string, not a process substitution: the VM's /dev has no /dev/fd.)
    read -r root mnt <<<"$(awk -v v="$ver" -v c="$ctl" '{
        for (i = 7; $i != "-"; i++) ;
        if (v == "v2") { if ($(i + 1) == "cgroup2") { print $4, $5; exit }; next }
        if ($(i + 1) != "cgroup") next
        n = split($(i + 3), a, ",")
        for (j = 1; j <= n; j++) if (a[j] == c) { print $4, $5; exit } }' /proc/self/mountinfo)"
    [ -n "$mnt" ] || return 1
    [ "$root" = / ] || path=${path#"$root"}
    echo "$ver $mnt${path%/}"
}
# The limit or state $2 (memory, cpu, pids, freezer) of process $1's cgroup, read on the
# host, in CGV: memory in bytes, cpu "QUOTA PERIOD", pids a number, freezer FROZEN or
# THAWED (v1 memory.limit_in_bytes, cpu.cfs_quota_us and cpu.cfs_period_us, pids.max,
# freezer.state; v2 memory.max, cpu.max, pids.max, cgroup.freeze). The files in CGF.
cg_value() {
    local pid=$1 what=$2 ver="" dir=""
    CGV="" CGF=""
    read -r ver dir <<<"$(cgroup_dir "$pid" "$what")"
    if [ -z "$dir" ]; then
        CGF="(no $what cgroup found for pid '$pid': $(tr '\n' ' ' 2>&1 < "/proc/$pid/cgroup"))"
        return 1
    fi
    case $ver/$what in
        v1/memory) CGF=$dir/memory.limit_in_bytes; CGV=$(cat "$CGF") ;;
        v2/memory) CGF=$dir/memory.max; CGV=$(cat "$CGF") ;;
        v1/cpu) CGF="$dir/cpu.cfs_quota_us $dir/cpu.cfs_period_us"
                CGV="$(cat "$dir/cpu.cfs_quota_us") $(cat "$dir/cpu.cfs_period_us")" ;;
        v2/cpu) CGF=$dir/cpu.max; CGV=$(cat "$CGF") ;;
        */pids) CGF=$dir/pids.max; CGV=$(cat "$CGF") ;;
        v1/freezer) CGF=$dir/freezer.state; CGV=$(cat "$CGF") ;;
        v2/freezer) CGF=$dir/cgroup.freeze
                    case $(cat "$CGF") in 1) CGV=FROZEN ;; 0) CGV=THAWED ;; esac ;;
    esac 2>/dev/null
}
pid_of() { timeout 30 "${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$1" 2>/dev/null || true; }
exit_code_of() { timeout 30 "${PODMAN[@]}" inspect -f '{{.State.ExitCode}}' "$1" 2>/dev/null || true; }
# Wait (up to $2 s) until podman reports container $1 exited.
wait_exited() {
    local start=$SECONDS
    while [ $((SECONDS - start)) -lt "$2" ] && [ "$(status_of "$1")" != exited ]; do sleep 0.2; done
}

capture "${PODMAN[@]}" run -d --name brig-res --memory 64m --cpus 0.5 --pids-limit 50 \
    "${RUN_FLAGS[@]}" "$IMAGE" sleep 1000
res_rc=$RC res_out=$OUT
RES_PID=$(pid_of brig-res)
echo "# brig-res (--memory 64m --cpus 0.5 --pids-limit 50): pid ${RES_PID:-none}, its memory cgroup: $(cgroup_dir "${RES_PID:-none}" memory || echo none)"
res_diag() { printf 'podman run -d exit %s, output:\n%s\npid %s; read %s: %s' "$res_rc" "$res_out" "${RES_PID:-none}" "$CGF" "${CGV:-nothing}"; }

cg_value "$RES_PID" memory
[ "$res_rc" = 0 ] && [ "$CGV" = 67108864 ]
check "--memory 64m: the container's memory cgroup limit is 67108864 on the host (${CGV:-none})" $? "$(res_diag)"
cg_value "$RES_PID" cpu
[ "$res_rc" = 0 ] && [ "$CGV" = "50000 100000" ]
check "--cpus 0.5: the container's CFS quota and period are 50000 100000 on the host (${CGV:-none})" $? "$(res_diag)"
cg_value "$RES_PID" pids
[ "$res_rc" = 0 ] && [ "$CGV" = 50 ]
check "--pids-limit 50: the container's pids.max is 50 on the host (${CGV:-none})" $? "$(res_diag)"

# podman stats: the usage and the pid count come from the container's cgroup; the limit is
# the one in podman's config of the container (which podman 4.3's update leaves as it was:
# so this comes before the update).
capture "${PODMAN[@]}" stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' brig-res
stats_line=${OUT%%$'\n'*}
[ "$RC" = 0 ] && printf '%s\n' "$OUT" | awk '$1 == "brig-res" && $2 ~ /^[0-9.]+[kMG]?B$/ && $2 !~ /^[0.]+[kMG]?B$/ &&
    $3 == "/" && $4 == "67.11MB" && $5 == 1 {found = 1} END {exit !found}'
check "podman stats --no-stream: brig-res uses memory, of 67.11MB, and has 1 pid ($stats_line)" $? "$(describe)"

capture "${PODMAN[@]}" update --memory 128m brig-res
cg_value "$RES_PID" memory
[ "$RC" = 0 ] && [ "$CGV" = 134217728 ]
check "podman update --memory 128m: the memory cgroup limit becomes 134217728 (${CGV:-none})" $? \
    "$(describe)
read $CGF: ${CGV:-nothing}"

capture "${PODMAN[@]}" top brig-res
[ "$RC" = 0 ] && printf '%s\n' "$OUT" | head -n 1 | grep -qw PID && printf '%s\n' "$OUT" | grep -q 'sleep 1000'
check "podman top: the header, and the container's sleep 1000" $? "$(describe)"

capture "${PODMAN[@]}" pause brig-res
st=$(status_of brig-res)
cg_value "$RES_PID" freezer
[ "$RC" = 0 ] && [ "$st" = paused ] && [ "$CGV" = FROZEN ]
check "podman pause: the container paused, its freezer cgroup ${CGV:-?}" $? "$(describe)
status $st; read $CGF: ${CGV:-nothing}"

capture "${PODMAN[@]}" unpause brig-res
st=$(status_of brig-res)
cg_value "$RES_PID" freezer
[ "$RC" = 0 ] && [ "$st" = running ] && [ "$CGV" = THAWED ]
check "podman unpause: the container running, its freezer cgroup ${CGV:-?}" $? "$(describe)
status $st; read $CGF: ${CGV:-nothing}"

capture "${PODMAN[@]}" kill brig-res
wait_exited brig-res 30
st=$(status_of brig-res) ec=$(exit_code_of brig-res)
[ "$RC" = 0 ] && [ "$st" = exited ] && [ "$ec" = 137 ]
check "podman kill: the container exited, exit code 137 (${ec:-?})" $? "$(describe)
status $st, exit code ${ec:-?}"

# --- podman stop ------------------------------------------------------------------------------
# One shell ignores SIGTERM (podman stop --time 2 ends in SIGKILL, exit code 137), the other
# exits on it: exit code 0 (not 137: no SIGKILL), well before --time 30 (at once on the
# host; about 5 s under TCG, where podman alone takes 4 s). The wait for the disposition
# on the host (/proc/PID/status SigIgn, SigCgt: bit 14 is SIGTERM) makes sure the trap
# is set.
# Wait (up to $3 s) until process $1 has SIGTERM in /proc/PID/status field $2.
wait_sigterm_in() {
    local start=$SECONDS mask
    while [ $((SECONDS - start)) -lt "$3" ]; do
        mask=$(awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null)
        [ -n "$mask" ] && [ $(( 0x$mask >> 14 & 1 )) = 1 ] && return 0
        sleep 0.1
    done
    return 1
}
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
capture "${PODMAN[@]}" run -d --name brig-noterm "${RUN_FLAGS[@]}" "$IMAGE" sh -c "trap '' TERM; while :; do sleep 1; done"
noterm_rc=$RC
capture "${PODMAN[@]}" run -d --name brig-term "${RUN_FLAGS[@]}" "$IMAGE" sh -c "trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done"
term_rc=$RC
wait_sigterm_in "$(pid_of brig-noterm)" SigIgn 30
wait_sigterm_in "$(pid_of brig-term)" SigCgt 30

t0=$(ms_now)
capture "${PODMAN[@]}" stop --time 2 brig-noterm
ms=$(( $(ms_now) - t0 ))
st=$(status_of brig-noterm) ec=$(exit_code_of brig-noterm)
[ "$noterm_rc" = 0 ] && [ "$RC" = 0 ] && [ "$st" = exited ] && [ "$ec" = 137 ] && [ "$ms" -ge 2000 ]
check "podman stop --time 2 of a shell that ignores SIGTERM: killed after the timeout (${ms} ms), exit code 137 (${ec:-?})" $? \
    "podman run -d exit $noterm_rc; $(describe)
status $st, exit code ${ec:-?}, took $ms ms"

t0=$(ms_now)
capture "${PODMAN[@]}" stop --time 30 brig-term
ms=$(( $(ms_now) - t0 ))
st=$(status_of brig-term) ec=$(exit_code_of brig-term)
[ "$term_rc" = 0 ] && [ "$RC" = 0 ] && [ "$st" = exited ] && [ "$ec" = 0 ] && [ "$ms" -lt 15000 ]
check "podman stop --time 30 of a shell that exits on SIGTERM: stopped in ${ms} ms, exit code 0 (${ec:-?})" $? \
    "podman run -d exit $term_rc; $(describe)
status $st, exit code ${ec:-?}, took $ms ms"

fi # PODMAN_ONLY_CHECKPOINT

# --- checkpoint / restore -------------------------------------------------------------------
CRIU_CHECKS=(
    "podman container checkpoint: exit 0, the container exited and checkpointed"
    "podman container restore: exit 0, the container running again"
    "after the restore, the counter goes on from the checkpoint (same token, larger count)"
    "podman exec works in the restored container"
    "podman container checkpoint --leave-running: exit 0, the container keeps running and counting"
    "podman container checkpoint --export FILE.tar.gz --compress gzip: exit 0, the archive written, the container exited"
    "podman container restore --import FILE.tar.gz --name brig-count2: a second container, running"
    "the imported container counts on from the exported checkpoint"
)
C2=""
if [ "$RUN_CRIU" = 1 ]; then
    tok=${c0% *}           # the counting shell's token, drawn when it started
    # 1. checkpoint: the container stops, podman marks it checkpointed.
    before=$(count_of brig-count || true)
    touch "$T/criu-stamp"
    capture "${PODMAN[@]}" container checkpoint brig-count
    cp_rc=$RC cp_out=$OUT
    st=$(status_of brig-count) cpd=$(checkpointed_of brig-count)
    cp_ok=0
    [ "$cp_rc" = 0 ] && [ "$st" = exited ] && [ "$cpd" = true ] && cp_ok=1
    check "${CRIU_CHECKS[0]}" $((1 - cp_ok)) "exit $cp_rc, output:
$cp_out
status $st, checkpointed '$cpd'
$(criu_logs brig-count)"
    # The count at the dump: the last one the process wrote (/count stays in the rootfs).
    at_dump=$(rootfs_count brig-count)
    echo "# count before the checkpoint: '$before', in the rootfs after it: '$at_dump'"

    # 2. restore: running again.
    rs_ok=0
    if [ "$cp_ok" = 1 ]; then
        touch "$T/criu-stamp"
        capture "${PODMAN[@]}" container restore brig-count
        rs_rc=$RC rs_out=$OUT
        st=$(status_of brig-count)
        [ "$rs_rc" = 0 ] && [ "$st" = running ] && rs_ok=1
        check "${CRIU_CHECKS[1]}" $((1 - rs_ok)) "exit $rs_rc, output:
$rs_out
status $st
$(criu_logs brig-count)"
    else
        not_ok "${CRIU_CHECKS[1]}" "not run: the checkpoint failed"
    fi

    # 3. the counter went on: same token, a count above the one at the dump.
    if [ "$rs_ok" = 1 ]; then
        n0=${at_dump#* }
        after=$(wait_count_above brig-count 60 "${n0:-0}")
        r=1
        [ -n "$at_dump" ] && [ -n "$after" ] && [ "${after% *}" = "$tok" ] && [ "${after#* }" -gt "$n0" ] 2>/dev/null && r=0
        check "${CRIU_CHECKS[2]} ('$at_dump' -> '$after')" $r \
            "at the checkpoint: '$at_dump', after the restore: '$after' (a restart would show a new token and a count from 1)"
    else
        not_ok "${CRIU_CHECKS[2]}" "not run: no restore"
    fi

    # 4. exec in the restored container.
    if [ "$rs_ok" = 1 ]; then
        capture "${PODMAN[@]}" exec brig-count sh -c 'echo exec-ok'
        r=1
        [ "$RC" = 0 ] && [ "$OUT" = exec-ok ] && r=0
        check "${CRIU_CHECKS[3]}" $r "$(describe)"
    else
        not_ok "${CRIU_CHECKS[3]}" "not run: no restore"
    fi

    # 5. checkpoint --leave-running: still running, still counting (on from before).
    if [ "$(status_of brig-count)" = running ]; then
        touch "$T/criu-stamp"
        capture "${PODMAN[@]}" container checkpoint --leave-running brig-count
        lr_rc=$RC lr_out=$OUT
        st=$(status_of brig-count)
        c=$(count_of brig-count || true)
        c_after=""
        [ -n "$c" ] && c_after=$(wait_count_above brig-count 60 "${c#* }")
        r=1
        [ "$lr_rc" = 0 ] && [ "$st" = running ] && [ -n "$c_after" ] && [ "${c_after% *}" = "$tok" ] &&
            [ "${c_after#* }" -gt "${c#* }" ] 2>/dev/null && r=0
        check "${CRIU_CHECKS[4]} ('$c' -> '$c_after')" $r "exit $lr_rc, output:
$lr_out
status $st, count '$c' then '$c_after'
$(criu_logs brig-count)"
    else
        not_ok "${CRIU_CHECKS[4]}" "not run: the container is not running"
    fi

    # 6. checkpoint --export: the archive holds the images and the rootfs diff.
    ex_ok=0 exported=""
    if [ "$(status_of brig-count)" = running ]; then
        # --compress gzip: podman's default for the archive is zstd.
        touch "$T/criu-stamp"
        capture "${PODMAN[@]}" container checkpoint --export "$T/checkpoint.tar.gz" --compress gzip brig-count
        ex_rc=$RC ex_out=$OUT
        st=$(status_of brig-count)
        exported=$(rootfs_count brig-count)
        [ "$ex_rc" = 0 ] && [ -s "$T/checkpoint.tar.gz" ] && [ "$st" = exited ] && ex_ok=1
        check "${CRIU_CHECKS[5]}" $((1 - ex_ok)) "exit $ex_rc, output:
$ex_out
status $st, archive: $(ls -l "$T/checkpoint.tar.gz" 2>&1)
$(criu_logs brig-count)"
        [ -s "$T/checkpoint.tar.gz" ] &&
            echo "# archive: $(du -k "$T/checkpoint.tar.gz" | cut -f1) KiB, holding: $(tar -tzf "$T/checkpoint.tar.gz" 2>&1 | sed 's#^\./##' | cut -d/ -f1 | sort -u | tr '\n' ' ')"
    else
        not_ok "${CRIU_CHECKS[5]}" "not run: the container is not running"
    fi

    # 7. restore --import --name: a new container from the archive.
    im_ok=0
    if [ "$ex_ok" = 1 ]; then
        touch "$T/criu-stamp"
        capture "${PODMAN[@]}" container restore --import "$T/checkpoint.tar.gz" --name brig-count2
        im_rc=$RC im_out=$OUT
        C2=$(timeout 30 "${PODMAN[@]}" inspect -f '{{.Id}}' brig-count2 2>/dev/null || true)
        st=$(status_of brig-count2)
        [ "$im_rc" = 0 ] && [ -n "$C2" ] && [ "$C2" != "$C1" ] && [ "$st" = running ] && im_ok=1
        check "${CRIU_CHECKS[6]}" $((1 - im_ok)) "exit $im_rc, output:
$im_out
id ${C2:-none}, status $st
$(criu_logs brig-count2)"
    else
        not_ok "${CRIU_CHECKS[6]}" "not run: no exported checkpoint"
    fi

    # 8. and it counts on from the export.
    if [ "$im_ok" = 1 ]; then
        after2=$(wait_count_above brig-count2 60 "${exported#* }")
        r=1
        [ -n "$exported" ] && [ -n "$after2" ] && [ "${after2% *}" = "$tok" ] &&
            [ "${after2#* }" -gt "${exported#* }" ] 2>/dev/null && r=0
        check "${CRIU_CHECKS[7]} ('$exported' -> '$after2')" $r \
            "in the exported rootfs: '$exported', in the imported container: '$after2'"
    else
        not_ok "${CRIU_CHECKS[7]}" "not run: no imported container"
    fi
else
    for d in "${CRIU_CHECKS[@]}"; do skip "$d" "$CRIU_WHY"; done
fi

# --- rm -f of everything --------------------------------------------------------------------
IDS=$(timeout 30 "${PODMAN[@]}" ps -aq --no-trunc 2>/dev/null || true)
capture "${PODMAN[@]}" rm -f -a -t 0
rm_rc=$RC rm_out=$OUT
left=$(timeout 30 "${PODMAN[@]}" ps -aq 2>&1 || true)
[ "$rm_rc" = 0 ] && [ -z "$left" ]
check "podman rm -f -a: no container left" $? "exit $rm_rc, output:
$rm_out
podman ps -a: $left"

brig_left=$(timeout 10 "$BRIG" --root "$BRIG_ROOT" list -q 2>&1 || true)
[ -z "$brig_left" ]
check "no brig container left in its state root" $? "brig list: $brig_left"

# Each container's own cgroup (libpod-ID below the parent) is gone; conmon's stays until
# the cleanup removes the parent.
cg_left=""
for id in $IDS; do
    cg_left="$cg_left $(ls -d /sys/fs/cgroup/"$CG"/libpod-"$id"* /sys/fs/cgroup/*/"$CG"/libpod-"$id"* 2>/dev/null | tr '\n' ' ')"
done
cg_left=$(echo $cg_left)
[ -z "$cg_left" ]
check "no container cgroup left below /$CG" $? "left: $cg_left"

# --- what podman sent to brig -----------------------------------------------------------------
normalize() {
    local d=${DRIVER}
    sed -e "s#$T/#TMP/#g" \
        -e "s#TMP/root/$d-containers/[0-9a-f]\{64\}/userdata#USERDATA#g" \
        -e "s#TMP/runroot/$d-containers/[0-9a-f]\{64\}/userdata#RUNDATA#g" \
        -e 's#USERDATA/[0-9a-f]\{64\}#USERDATA/EXEC_ID#g' \
        -e 's#[0-9a-f]\{64\}#ID#g' -e 's#exec-process-[0-9]*#exec-process-N#g' \
        -e 's#/conmon-term\.[A-Za-z0-9]*#/conmon-term.XXXXXX#g' -e 's#TMP/tmp/podman[0-9]*#TMP/tmp/podmanN#g'
}
# The create of /no/such/binary fails, as it must (podman's exit 127 comes from its error).
expected=$(awk -F'\t' '$1 != 0 && $2 ~ /(^| )create / && index($3, "/no/such/binary")' "$SHIM_LOG" 2>/dev/null || true)
unexpected=$(awk -F'\t' '$1 != 0 && !($2 ~ /(^| )create / && index($3, "/no/such/binary"))' "$SHIM_LOG" 2>/dev/null || true)
calls=$(wc -l < "$SHIM_LOG" 2>/dev/null || echo 0)
failed_calls=$(awk -F'\t' '$1 != 0' "$SHIM_LOG" 2>/dev/null | grep -c . || true)
ALL_OK_DESC="every brig command podman and conmon sent exited 0 ($calls calls), but the create of /no/such/binary"
if [ -s "$SHIM_LOG" ] && [ -z "$unexpected" ]; then
    ok "$ALL_OK_DESC"
else not_ok "$ALL_OK_DESC" \
    "$( [ -s "$SHIM_LOG" ] && printf '%s' "$unexpected" | normalize || echo "no brig call was logged")"; fi

[ -n "$expected" ] && printf '%s\n' "$expected" | normalize |
    awk -F'\t' '{print "# failed as expected: exit " $1 ", " $2 "\n#   brig: " $3}'
echo "# podman and conmon called brig $calls times ($failed_calls failed); distinct command shapes (calls, exit statuses, argv):"
normalize < "$SHIM_LOG" 2>/dev/null | awk -F'\t' '
    { key = $2; c[key]++; st[key, $1]++
      if (!(key in seen)) { seen[key] = 1; order[++n] = key }
      if (!(($1) in seenrc)) { seenrc[$1] = 1; rcs[++m] = $1 } }
    END { for (i = 1; i <= n; i++) {
            k = order[i]; s = ""
            for (j = 1; j <= m; j++) if ((k, rcs[j]) in st) s = s (s == "" ? "" : ",") "exit " rcs[j] " x" st[k, rcs[j]]
            printf "#   %3d  %-12s %s\n", c[k], s, k } }'

if awk -F'\t' '$2 ~ /(^| )(checkpoint|restore) / && $2 !~ / --help/' "$SHIM_LOG" 2>/dev/null | grep -q .; then
    echo "# the checkpoint and restore calls in full (exit status, argv):"
    awk -F'\t' '$2 ~ /(^| )(checkpoint|restore) / && $2 !~ / --help/ {print "#   " $1 "  " $2}' "$SHIM_LOG"
fi

echo "1..$N"
echo "# skipped: $SKIPPED; took $((SECONDS - START_SECONDS)) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
