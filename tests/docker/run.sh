#!/usr/bin/env bash
# End-to-end test: Docker (Debian's docker.io, 20.10) with brig as its OCI runtime.
#
#   tests/docker/run.sh BRIG_BINARY ROOTFS_FIXTURE
#
# Starts a private dockerd (--data-root, --exec-root, --pidfile, -H unix://SOCK all in a
# temp dir; --storage-driver vfs; no bridge, no iptables; its own daemon.json), which
# starts its own managed containerd under its exec-root. brig is registered in
# daemon.json as the runtime "brig" (and is the default runtime); what docker registers is
# a logging wrapper that runs brig and logs each call (argv, exit status, brig's error
# from its --log file), so the output shows what docker passed. The image is the fixture
# rootfs, made offline with `docker import`; every container runs with --network none.
#
# Checks (TAP: "ok N - ...", "not ok N - ..."), then "P passed, F failed": run --rm output
# and exit status, stdin (-i), a terminal (-t, under script(1)), exec (plain and -it),
# --memory/--cpus/--pids-limit in the container's cgroup files, docker top, docker stats,
# pause/unpause (the freezer cgroup FROZEN/THAWED), docker update, --cap-drop/--cap-add,
# --read-only, --user, docker stop (SIGTERM, then SIGKILL after --time), docker kill
# (a signal, then SIGKILL), a missing executable (exit 127), every brig call exited 0 but
# the expected failure, and at the end that nothing is left: no container, no brig state,
# dockerd and its containerd stopped, no mount, no cgroup, no temp dir.
#
# Isolation: dockerd 20.10 uses /run/containerd/containerd.sock whenever that path exists
# (a machine containerd) instead of starting its own, containerd's shims put their
# sockets in /run/containerd/s, and the managed containerd makes /opt/containerd. So
# dockerd runs in a private mount namespace with a tmpfs on /run and on /opt: it always
# starts its own containerd, and nothing is created under the host's /run or /opt.
# The trust key goes to the temp dir (daemon.json "deprecated-key-path"), the
# client reads its config from the temp dir (DOCKER_CONFIG). Containers' cgroups are
# under /brigdockerPID (daemon.json "cgroup-parent") in every hierarchy. A docker the
# machine already runs is never touched.
#
# Needs root, dockerd (installed from Debian's docker.io if missing), containerd,
# python3 (a subreaper that adopts containerd's daemonized shims), util-linux (unshare,
# mount, script), tar. Environment: DOCKER_TMP (where the temp dir goes, default /tmp),
# DOCKER_CLI (the docker client; default Debian's /usr/bin/docker, else docker on PATH).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BRIG_BINARY ROOTFS_FIXTURE" >&2
    exit 2
fi
BRIG_ARG=$(realpath -e "$1")
FIXTURE=$(realpath -e "$2")
[ -x "$BRIG_ARG" ] || { echo "$BRIG_ARG is not executable" >&2; exit 2; }
[ -x "$FIXTURE/bin/sh" ] || { echo "$FIXTURE has no /bin/sh" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0 must run as root" >&2; exit 2; }

# --- prerequisites ---------------------------------------------------------------------
if ! command -v dockerd >/dev/null; then
    echo "# installing Debian's docker.io" >&2
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        # Without recommends: apparmor, needrestart (which would restart services), git...
        # are not used. Another apt/dpkg may hold the lock for a moment: retry a few times.
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            docker.io >/dev/null; then
            break
        fi
        [ "$attempt" = 10 ] && { echo "could not install docker.io" >&2; exit 2; }
        sleep 3
    done
fi
for tool in dockerd containerd containerd-shim-runc-v2 python3 script timeout unshare mount tar; do
    command -v "$tool" >/dev/null || { echo "$0 needs $tool" >&2; exit 2; }
done
# The client: the one packaged with dockerd (another on PATH may be a different version).
DOCKER_BIN=${DOCKER_CLI:-}
if [ -z "$DOCKER_BIN" ]; then
    if [ -x /usr/bin/docker ]; then DOCKER_BIN=/usr/bin/docker
    else DOCKER_BIN=$(command -v docker || true); fi
fi
[ -n "$DOCKER_BIN" ] && [ -x "$DOCKER_BIN" ] || { echo "$0 needs the docker client" >&2; exit 2; }

START_SECONDS=$SECONDS
CG_PARENT="brigdocker$$"
T=$(mktemp -d "${DOCKER_TMP:-/tmp}/brig-docker.XXXXXX")
SOCK="$T/docker.sock"
DATA_ROOT="$T/data"
EXEC_ROOT="$T/exec"
WRAPPER="$T/brig-logging-wrapper"
CALL_LOG="$T/brig-calls.log"
DOCKERD_LOG="$T/dockerd.log"
REAPER_PID="" DOCKERD_PID="" CONTAINERD_PID=""
TORN_DOWN=0
OPT_EXISTED=1
# Where a docker or containerd keeps things by default: none of it may appear.
HOST_PATHS=(/run/containerd /run/docker /run/docker.sock /run/docker.pid /var/lib/docker
            /var/lib/containerd /opt/containerd /etc/docker/key.json /etc/containerd/config.toml
            "$HOME/.docker")
HOST_PATHS_BEFORE=$(ls -d "${HOST_PATHS[@]}" 2>/dev/null || true)
IMG=brig/fixture:test

BRIG="$T/brig"
# Every client call: the private daemon, the client config of the temp dir.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
export DOCKER_CONFIG="$T/client-config"
DOCKER=("$DOCKER_BIN" -H "unix://$SOCK")

# --- cleanup ---------------------------------------------------------------------------
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# Pids of processes whose parent is $1.
children_of() {
    local stat pid rest ppid
    for stat in /proc/[0-9]*/stat; do
        { read -r rest < "$stat"; } 2>/dev/null || continue
        pid=${rest%% *}
        rest=${rest##*) }     # after "(comm) ": state, ppid, ...
        read -r _ ppid _ <<<"$rest"
        [ "$ppid" = "$1" ] && echo "$pid"
    done
    return 0
}
# TERM, then KILL after $2 tenths of a second; says so on stderr if it had to KILL.
stop_pid() {
    local pid=$1 tenths=$2 what=$3 i
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq "$tenths"); do alive "$pid" || return 0; sleep 0.1; done
    echo "# cleanup: $what (pid $pid) still running $((tenths / 10)) s after SIGTERM: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
    for i in $(seq 50); do alive "$pid" || return 0; sleep 0.1; done
    echo "# cleanup: $what (pid $pid) still there 5 s after SIGKILL" >&2
}
# The test's cgroups: /CG_PARENT in every hierarchy (v1 controllers, name=systemd, v2).
test_cgroups() {
    local dir
    for dir in /sys/fs/cgroup/"$CG_PARENT" /sys/fs/cgroup/*/"$CG_PARENT"; do
        [ -d "$dir" ] && echo "$dir"
    done
    return 0
}
# Mounts under the temp dir in the mount namespace of pid $1 (self: the host's).
mounts_under_t() {
    awk -v t="$T" '$2 == t || index($2, t "/") == 1 {print $2}' "/proc/$1/mounts" 2>/dev/null | sort -r
}

# Removes everything the test started or created, but the temp dir. Idempotent.
teardown() {
    local i pid dir mnt ids
    [ "$TORN_DOWN" = 1 ] && return 0
    TORN_DOWN=1
    # Containers, while dockerd answers (it is private: all of them are the test's).
    if alive "$DOCKERD_PID"; then
        ids=$(timeout 15 "${DOCKER[@]}" ps -aq 2>/dev/null || true)
        # shellcheck disable=SC2086 # ids
        [ -n "$ids" ] && timeout 60 "${DOCKER[@]}" rm -f $ids >/dev/null 2>&1
    fi
    # dockerd by its pid (it stops its containerd), then containerd by its pid.
    stop_pid "$DOCKERD_PID" 300 dockerd
    stop_pid "$CONTAINERD_PID" 100 "dockerd's containerd"
    # Shims the reaper adopted (started by this test's containerd), then the reaper, which
    # exits once it has no children left.
    if alive "$REAPER_PID"; then
        for i in $(seq 50); do alive "$REAPER_PID" || break; sleep 0.1; done
        for pid in $(children_of "$REAPER_PID"); do
            echo "# cleanup: killing pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) left under the reaper" >&2
            kill -KILL "$pid" 2>/dev/null
        done
        for i in $(seq 50); do alive "$REAPER_PID" || break; sleep 0.1; done
        kill -KILL "$REAPER_PID" 2>/dev/null
    fi
    [ -n "$REAPER_PID" ] && wait "$REAPER_PID" 2>/dev/null
    # Processes still in the test's cgroups were started by this test.
    for dir in $(test_cgroups); do
        for pid in $(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null); do
            echo "# cleanup: killing pid $pid left in $dir" >&2
            kill -KILL "$pid" 2>/dev/null
        done
    done
    # Mounts under the temp dir in the host's namespace (deepest first); those in dockerd's
    # namespace went with it.
    for i in 1 2 3; do
        mnt=$(mounts_under_t self)
        [ -z "$mnt" ] && break
        for dir in $mnt; do umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null; done
    done
    [ "$OPT_EXISTED" = 0 ] && rmdir /opt 2>/dev/null
    # The cgroups (children first), with a bounded wait for the killed to go.
    for dir in $(test_cgroups); do
        for i in $(seq 30); do
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$dir" ] || break
            sleep 0.1
        done
        [ -d "$dir" ] && echo "# cleanup: could not remove $dir" >&2
    done
    return 0
}
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    teardown
    if [ -d "$T" ]; then
        rm -rf --one-file-system "$T"
        [ -e "$T" ] && echo "# cleanup: could not remove $T" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# brig is copied into the temp dir: the binary under test stays the same for the whole
# run even if it is rebuilt meanwhile.
cp "$BRIG_ARG" "$BRIG"
mkdir -p "$DOCKER_CONFIG"

# --- results ---------------------------------------------------------------------------
N=0 PASSED=0 FAILED=0
ok()     { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
not_ok() {
    N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
    return 0
}
# $1: 0 for ok; $2: description; $3: details when not ok.
check() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2" "${3:-}"; fi; }

# Run a command with a time limit; its stdout+stderr in $OUT, its exit status in $RC.
# (The checks run without errexit: each command's status is looked at.)
capture() {
    OUT=$(timeout -k 5 60 "$@" 2>&1 </dev/null)
    RC=$?
}
# The same with $1 as stdin.
capture_in() {
    local input=$1
    shift
    OUT=$(printf '%s\n' "$input" | timeout -k 5 60 "$@" 2>&1)
    RC=$?
}
# The same under a pty (script(1)), for -t: no terminal in CI. Args form one shell line.
capture_tty() {
    local line
    line=$(printf '%q ' "$@")
    # pipefail: the status is script's (which is the command's, with -e) unless tr fails.
    OUT=$(timeout -k 5 60 script -qec "$line" /dev/null 2>&1 </dev/null | tr -d '\r')
    RC=$?
}
describe() { printf 'exit %s, output:\n%s' "$RC" "$OUT"; }
# brig's failures logged by the wrapper for container $1 (full id), for a not-ok detail.
brig_errors_for() {
    [ -n "${1:-}" ] || return 0
    awk -F'\t' -v id="$1" '$1 != 0 && index($2, id) {print "brig exit " $1 ": " $2 "\n  error: " $3}' \
        "$CALL_LOG" 2>/dev/null || true
}

# Docker helpers (all bounded).
inspect() { timeout 15 "${DOCKER[@]}" inspect -f "$2" "$1" 2>/dev/null || true; }
id_of() { inspect "$1" '{{.Id}}'; }
state_of() { inspect "$1" '{{.State.Status}}'; }
# Waits up to $3 s for container $1 to be in state $2 (running, exited, paused...).
wait_state() {
    local end=$((SECONDS + $3))
    while [ "$SECONDS" -le "$end" ]; do
        [ "$(state_of "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    echo "# timed out after $3 s waiting for container $1 to be $2 (it is $(state_of "$1"))"
    return 1
}
# Waits up to $3 s for container $1's log to have a line $2.
wait_log() {
    local end=$((SECONDS + $3))
    while [ "$SECONDS" -le "$end" ]; do
        timeout 10 "${DOCKER[@]}" logs "$1" 2>&1 | grep -qx -- "$2" && return 0
        sleep 0.1
    done
    echo "# timed out after $3 s waiting for container $1 to print \"$2\""
    return 1
}
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

# The cgroup of pid $1 for v1 controller $2 (the v2 path on a pure v2 host).
cgroup_of_pid() {
    local cg
    cg=$(awk -F: -v c="$2" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' \
        "/proc/$1/cgroup" 2>/dev/null)
    [ -n "$cg" ] || cg=$(awk -F: '$1 == 0 {print $3}' "/proc/$1/cgroup" 2>/dev/null)
    echo "$cg"
}
# The content of a cgroup file of pid $1: v1 controller $2 and file $3, or v2 file $4.
cgroup_file_of_pid() {
    local cg
    cg=$(awk -F: -v c="$2" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' \
        "/proc/$1/cgroup" 2>/dev/null)
    if [ -n "$cg" ]; then
        cat "/sys/fs/cgroup/$2$cg/$3" 2>/dev/null || echo "unreadable:/sys/fs/cgroup/$2$cg/$3"
    else
        cg=$(awk -F: '$1 == 0 {print $3}' "/proc/$1/cgroup" 2>/dev/null)
        cat "/sys/fs/cgroup$cg/$4" 2>/dev/null || echo "unreadable:/sys/fs/cgroup$cg/$4"
    fi
}
# FROZEN or THAWED: the freezer state of the cgroup of pid $1 (v1 or v2).
freezer_state_of_pid() {
    case "$(cgroup_file_of_pid "$1" freezer freezer.state cgroup.freeze)" in
        FROZEN|1) echo FROZEN ;; THAWED|0) echo THAWED ;; FREEZING) echo FREEZING ;; *) echo unknown ;;
    esac
}
# "memory cpu-quota cpu-period pids" of pid $1's cgroups (v1 files, or v2 equivalents).
limits_of_pid() {
    local mem quota period pids cpumax
    mem=$(cgroup_file_of_pid "$1" memory memory.limit_in_bytes memory.max)
    pids=$(cgroup_file_of_pid "$1" pids pids.max pids.max)
    if grep -qE '(^|,)cpu(,|$)' <(cut -d: -f2 "/proc/$1/cgroup" 2>/dev/null); then
        quota=$(cgroup_file_of_pid "$1" cpu cpu.cfs_quota_us cpu.max)
        period=$(cgroup_file_of_pid "$1" cpu cpu.cfs_period_us cpu.max)
    else
        cpumax=$(cgroup_file_of_pid "$1" cpu cpu.cfs_quota_us cpu.max)
        quota=${cpumax% *} period=${cpumax#* }
    fi
    echo "$mem $quota $period $pids"
}

# --- the logging wrapper ---------------------------------------------------------------
# What docker registers as the runtime: runs brig with the same argv and stdio, then
# appends one line per call: exit status, argv (shell-quoted), and on failure the last
# line of the --log file (where brig writes its error for containerd's shim).
cat > "$WRAPPER" <<EOF
#!/bin/bash
line=\$(printf '%q ' "\$@")
$(printf '%q' "$BRIG") "\$@"
rc=\$?
log= prev= msg=
for a in "\$@"; do [ "\$prev" = --log ] && log=\$a; prev=\$a; done
[ "\$rc" != 0 ] && [ -f "\$log" ] && msg=\$(tail -n 1 "\$log")
printf '%s\t%s\t%s\n' "\$rc" "\$line" "\$msg" >> $(printf '%q' "$CALL_LOG")
exit "\$rc"
EOF
chmod 755 "$WRAPPER"

# --- private dockerd -------------------------------------------------------------------
mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
cat > "$T/daemon.json" <<EOF
{
  "runtimes": {"brig": {"path": "$WRAPPER"}},
  "default-runtime": "brig",
  "cgroup-parent": "/$CG_PARENT",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "deprecated-key-path": "$T/key.json",
  "log-level": "debug"
}
EOF

# The subreaper: containerd-shim-runc-v2 daemonizes, and PID 1 on some hosts does not
# reap orphans, so dockerd runs under a small subreaper that adopts the shims and reaps
# them. It exits once it has no children left.
cat > "$T/reaper.py" <<'EOF'
import ctypes, os, sys
PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
pidfile, argv = sys.argv[1], sys.argv[2:]
child = os.fork()
if child == 0:
    os.execvp(argv[0], argv)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(child))
os.rename(pidfile + ".tmp", pidfile)
status = 0
while True:
    try:
        pid, st = os.wait()
    except ChildProcessError:
        break
    if pid == child:
        status = os.waitstatus_to_exitcode(st)
sys.exit(status if status >= 0 else 128 - status)
EOF

# In the private mount namespace: a tmpfs on /run (see the header), then the reaper and
# dockerd. The namespace's mounts are private: nothing mounted there reaches the host.
# The same on /opt: the managed containerd makes /opt/containerd/{bin,lib} (its "opt"
# plugin, which dockerd gives no other path). Where the host has no /opt, the mount point
# is made and removed at cleanup.
OPT_EXISTED=0
[ -e /opt ] && OPT_EXISTED=1
cat > "$T/in-namespace.sh" <<'EOF'
#!/bin/sh
set -e
mount -t tmpfs -o mode=0755,size=64m brig-docker-run /run
mkdir -p /opt
mount -t tmpfs -o mode=0755,size=1m brig-docker-opt /opt
T=$1
shift
exec python3 "$T/reaper.py" "$T/dockerd.child-pid" "$@"
EOF
chmod 755 "$T/in-namespace.sh"

# TMPDIR: the shims write each exec's process.json and the -t console sockets there.
mkdir -p "$T/tmp"
TMPDIR="$T/tmp" unshare --mount --propagation private -- "$T/in-namespace.sh" "$T" \
    dockerd --config-file "$T/daemon.json" \
    --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$T/dockerd.pid" \
    -H "unix://$SOCK" --storage-driver vfs \
    --bridge none --iptables=false --ip6tables=false --ip-masq=false \
    </dev/null >"$DOCKERD_LOG" 2>&1 &
REAPER_PID=$!
for i in $(seq 100); do
    [ -s "$T/dockerd.child-pid" ] && break
    alive "$REAPER_PID" || break
    sleep 0.05
done
DOCKERD_PID=$(cat "$T/dockerd.child-pid" 2>/dev/null || true)
if [ -z "$DOCKERD_PID" ]; then
    echo "dockerd did not start (timed out after 5 s waiting for the reaper's pid file); its output:" >&2
    tail -n 30 "$DOCKERD_LOG" >&2
    exit 1
fi
ready=0
end=$((SECONDS + 30))
while [ "$SECONDS" -le "$end" ]; do
    if timeout 5 "${DOCKER[@]}" version >/dev/null 2>&1; then ready=1; break; fi
    alive "$DOCKERD_PID" || break
    sleep 0.1
done
if [ "$ready" != 1 ]; then
    echo "dockerd did not answer on $SOCK within 30 s; its log:" >&2
    tail -n 30 "$DOCKERD_LOG" >&2
    exit 1
fi
# The managed containerd: dockerd's child, with its config under the exec-root.
for pid in $(children_of "$DOCKERD_PID"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = containerd ] && CONTAINERD_PID=$pid
done
echo "# dockerd $(dockerd --version | sed 's/^Docker version //') pid $DOCKERD_PID, client $("$DOCKER_BIN" --version | sed 's/^Docker version //'), dir $T"
echo "# brig: $BRIG_ARG (copied to the temp dir)"

# --- checks ----------------------------------------------------------------------------
# No errexit from here on: every check looks at the statuses itself, and a failure must
# not stop the others.
set +e
# 1. dockerd runs its own containerd: a child of dockerd, socket under the exec-root.
cd_args=$(tr '\0' ' ' < "/proc/${CONTAINERD_PID:-0}/cmdline" 2>/dev/null || true)
cd_sock=$(grep -o '^ *address = "[^"]*"' "$EXEC_ROOT/containerd/containerd.toml" 2>/dev/null | head -n 1 | cut -d'"' -f2 || true)
[ -n "$CONTAINERD_PID" ] && [ -S "$EXEC_ROOT/containerd/containerd.sock" ] && \
    grep -q "$EXEC_ROOT/containerd/containerd.toml" <<<"$cd_args"
check $? "dockerd started its own containerd (pid ${CONTAINERD_PID:-none}), its socket under the exec-root" \
    "containerd child of dockerd: ${CONTAINERD_PID:-none} ($cd_args); socket in its config: ${cd_sock:-none}
$(ls -la "$EXEC_ROOT/containerd" 2>&1)
dockerd log: $(grep -i containerd "$DOCKERD_LOG" | head -n 5)"

# 2. brig is registered, and is the default runtime.
capture "${DOCKER[@]}" info -f '{{.DefaultRuntime}}|{{range $k, $v := .Runtimes}}{{$k}}={{$v.Path}} {{end}}|{{.CgroupDriver}}|{{.Driver}}'
[ "$RC" = 0 ] && [[ "$OUT" == "brig|"*"brig=$WRAPPER "*"|cgroupfs|vfs" ]]
check $? "docker info: runtime brig registered (the logging wrapper) and the default; cgroupfs, vfs" "$(describe)"

# 3. The image, made offline from the fixture.
OUT=$(tar -C "$FIXTURE" -c . | timeout -k 5 60 "${DOCKER[@]}" import - "$IMG" 2>&1)
RC=$?
[ "$RC" = 0 ] && [ -n "$(timeout 15 "${DOCKER[@]}" images -q "$IMG" 2>/dev/null)" ]
check $? "docker import of the fixture rootfs makes $IMG" "$(describe)"

RUN=("${DOCKER[@]}" run --network none)

# 4. output and exit status; the runtime named explicitly.
capture "${RUN[@]}" --runtime brig --name exit3 "$IMG" sh -c 'echo hello; exit 3'
id=$(id_of exit3)
runtime=$(inspect exit3 '{{.HostConfig.Runtime}}')
[ "$RC" = 3 ] && [ "$OUT" = hello ] && [ "$runtime" = brig ]
check $? "docker run --runtime brig sh -c 'echo hello; exit 3': prints hello, exits 3" \
    "$(describe)
runtime: ${runtime:-unknown}
$(brig_errors_for "$id")"
capture "${DOCKER[@]}" rm exit3

# 5. --rm; the default runtime is brig (its create is in the wrapper's log).
capture "${RUN[@]}" --rm --cidfile "$T/rm.cid" "$IMG" sh -c 'echo bye'
id=$(cat "$T/rm.cid" 2>/dev/null || true)
gone=1
for i in $(seq 50); do
    [ -z "$(timeout 10 "${DOCKER[@]}" ps -aq --no-trunc -f "id=$id" 2>/dev/null)" ] && { gone=0; break; }
    sleep 0.1
done
[ "$gone" = 1 ] && echo "# timed out after 5 s waiting for the --rm container ${id:-?} to be removed"
[ "$RC" = 0 ] && [ "$OUT" = bye ] && [ -n "$id" ] && [ "$gone" = 0 ] && \
    awk -F'\t' -v id="$id" '$1 == 0 && index($2, " create ") && index($2, id) {f = 1} END {exit !f}' "$CALL_LOG"
check $? "docker run --rm without --runtime: brig (the default) runs it, and it is removed" \
    "$(describe)
id ${id:-unknown}, removed: $([ "$gone" = 0 ] && echo yes || echo no)
brig calls for it: $(grep -c -- "${id:-none}" "$CALL_LOG" 2>/dev/null)"

# 6. stdin
capture_in piped "${RUN[@]}" --rm -i "$IMG" cat
[ "$RC" = 0 ] && [ "$OUT" = piped ]
check $? "stdin reaches the container (echo piped | docker run -i ... cat)" "$(describe)"

# 7. -t: a terminal inside the container
capture_tty "${RUN[@]}" --rm -it "$IMG" tty
[ "$RC" = 0 ] && grep -q '/dev/pts/[0-9]' <<<"$OUT"
check $? "docker run -it: the process's stdin is a /dev/pts terminal" "$(describe)"

# 8. A long-running container with resource limits: exec, cgroups, top, stats, pause,
# update, kill.
capture "${RUN[@]}" -d --name long --memory 64m --cpus 0.5 --pids-limit 50 "$IMG" sleep 1000
long_rc=$RC long_out=$OUT
LONG_ID=$(id_of long)
wait_state long running 10 || true
LONG_PID=$(inspect long '{{.State.Pid}}')
[ "$long_rc" = 0 ] && [ "$(state_of long)" = running ] && [ "${LONG_PID:-0}" -gt 0 ]
check $? "docker run -d --memory 64m --cpus 0.5 --pids-limit 50: running (init pid ${LONG_PID:-none})" \
    "exit $long_rc, output:
$long_out
state: $(state_of long)
$(brig_errors_for "$LONG_ID")"
LONG_PID=${LONG_PID:-0}

# 9-10. exec, plain (output and exit status) and -it
capture "${DOCKER[@]}" exec long sh -c 'echo exec-ok; exit 5'
[ "$RC" = 5 ] && [ "$OUT" = exec-ok ]
check $? "docker exec: prints exec-ok, its exit status 5 is docker's" "$(describe)
$(brig_errors_for "$LONG_ID")"
capture_tty "${DOCKER[@]}" exec -it long tty
[ "$RC" = 0 ] && grep -q '/dev/pts/[0-9]' <<<"$OUT"
check $? "docker exec -it: a /dev/pts terminal" "$(describe)"

# 11. the limits, read from the host in the container's cgroups
mem_cg=$(cgroup_of_pid "$LONG_PID" memory)
read -r mem quota period pids <<<"$(limits_of_pid "$LONG_PID")"
[ "$mem_cg" = "/$CG_PARENT/$LONG_ID" ] && [ "$mem" = 67108864 ] && [ "$quota" = 50000 ] && \
    [ "$period" = 100000 ] && [ "$pids" = 50 ]
check $? "the container's cgroup /$CG_PARENT/ID: memory limit 64 MiB, CFS quota 50000/100000, pids.max 50" \
    "init pid $LONG_PID in ${mem_cg:-unknown}; memory $mem, cpu quota $quota period $period, pids $pids"

# 12. docker top (brig ps)
capture "${DOCKER[@]}" top long
[ "$RC" = 0 ] && awk -v p="$LONG_PID" 'NR > 1 && $2 == p && /sleep 1000/ {f = 1} END {exit !f}' <<<"$OUT"
check $? "docker top lists the init (pid $LONG_PID, sleep 1000)" "$(describe)"

# 13. docker stats (the shim reads the cgroups)
capture "${DOCKER[@]}" stats --no-stream --format '{{.Name}}|{{.MemUsage}}|{{.PIDs}}' long
[ "$RC" = 0 ] && [[ "$OUT" == "long|"*" / 64MiB|1" ]]
check $? "docker stats --no-stream: 64MiB limit, 1 pid" "$(describe)"

# 14-15. pause / unpause
capture "${DOCKER[@]}" pause long
status=$(inspect long '{{.State.Status}} {{.State.Paused}}') frozen=$(freezer_state_of_pid "$LONG_PID")
[ "$RC" = 0 ] && [ "$status" = "paused true" ] && [ "$frozen" = FROZEN ]
check $? "docker pause: the container is paused and its freezer cgroup FROZEN" \
    "$(describe)
state: ${status:-unknown}, freezer: $frozen
$(brig_errors_for "$LONG_ID")"
capture "${DOCKER[@]}" unpause long
status=$(inspect long '{{.State.Status}} {{.State.Paused}}') frozen=$(freezer_state_of_pid "$LONG_PID")
[ "$RC" = 0 ] && [ "$status" = "running false" ] && [ "$frozen" = THAWED ]
check $? "docker unpause: running again, the freezer cgroup THAWED" \
    "$(describe)
state: ${status:-unknown}, freezer: $frozen
$(brig_errors_for "$LONG_ID")"

# 16. docker update (brig update --resources -)
capture "${DOCKER[@]}" update --memory 96m --cpus 0.25 --pids-limit 40 long
read -r mem quota period pids <<<"$(limits_of_pid "$LONG_PID")"
[ "$RC" = 0 ] && [ "$mem" = 100663296 ] && [ "$quota" = 25000 ] && [ "$period" = 100000 ] && [ "$pids" = 40 ]
check $? "docker update --memory 96m --cpus 0.25 --pids-limit 40: the cgroup files change" \
    "$(describe)
memory $mem, cpu quota $quota period $period, pids $pids
$(brig_errors_for "$LONG_ID")"

# 17. docker kill: SIGKILL by default, exit 137
capture "${DOCKER[@]}" kill long
wait_state long exited 10 || true
code=$(inspect long '{{.State.ExitCode}}')
[ "$RC" = 0 ] && [ "$(state_of long)" = exited ] && [ "$code" = 137 ]
check $? "docker kill: the container exits with 137 (SIGKILL)" \
    "$(describe)
state $(state_of long), exit code ${code:-unknown}
$(brig_errors_for "$LONG_ID")"
capture "${DOCKER[@]}" rm long

# 18. docker kill -s HUP: the signal reaches the container's trap
capture "${RUN[@]}" -d --name hup "$IMG" sh -c 'trap "echo got-hup; exit 9" HUP; echo ready; while :; do sleep 0.1; done'
wait_log hup ready 10 || true
capture "${DOCKER[@]}" kill -s HUP hup
wait_state hup exited 10 || true
code=$(inspect hup '{{.State.ExitCode}}')
logs=$(timeout 10 "${DOCKER[@]}" logs hup 2>&1 || true)
[ "$RC" = 0 ] && [ "$code" = 9 ] && grep -qx got-hup <<<"$logs"
check $? "docker kill -s HUP: the container's trap runs (got-hup, exit 9)" \
    "$(describe)
state $(state_of hup), exit code ${code:-unknown}, logs:
$logs
$(brig_errors_for "$(id_of hup)")"
capture "${DOCKER[@]}" rm -f hup

# 19. docker stop of a container that exits on SIGTERM: quick
capture "${RUN[@]}" -d --name quick "$IMG" sh -c 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'
wait_log quick ready 10 || true
t0=$(now)
capture "${DOCKER[@]}" stop --time 10 quick
took=$(elapsed "$t0" "$(now)")
code=$(inspect quick '{{.State.ExitCode}}')
[ "$RC" = 0 ] && [ "$(state_of quick)" = exited ] && [ "$code" = 7 ] && awk -v s="$took" 'BEGIN {exit !(s < 5)}'
check $? "docker stop --time 10 of a container that exits on SIGTERM: stopped in ${took} s, exit 7 from its trap" \
    "$(describe)
state $(state_of quick), exit code ${code:-unknown}, took $took s
$(brig_errors_for "$(id_of quick)")"
capture "${DOCKER[@]}" rm -f quick

# 20. docker stop of a container that ignores SIGTERM: SIGKILL after --time 2, exit 137
capture "${RUN[@]}" -d --name stubborn "$IMG" sh -c "trap '' TERM; echo ready; sleep 1000"
wait_log stubborn ready 10 || true
t0=$(now)
capture "${DOCKER[@]}" stop --time 2 stubborn
took=$(elapsed "$t0" "$(now)")
code=$(inspect stubborn '{{.State.ExitCode}}')
[ "$RC" = 0 ] && [ "$(state_of stubborn)" = exited ] && [ "$code" = 137 ] && \
    awk -v s="$took" 'BEGIN {exit !(s >= 2 && s < 10)}'
check $? "docker stop --time 2 of a container ignoring SIGTERM: SIGKILL after ${took} s, exit 137" \
    "$(describe)
state $(state_of stubborn), exit code ${code:-unknown}, took $took s
$(brig_errors_for "$(id_of stubborn)")"
capture "${DOCKER[@]}" rm -f stubborn

# 21. --cap-drop ALL --cap-add NET_RAW: only CAP_NET_RAW (bit 13) is effective
capture "${RUN[@]}" --rm --cap-drop ALL --cap-add NET_RAW "$IMG" grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status
eff=$(awk '$1 == "CapEff:" {print $2}' <<<"$OUT") bnd=$(awk '$1 == "CapBnd:" {print $2}' <<<"$OUT")
[ "$RC" = 0 ] && [ "$eff" = 0000000000002000 ] && [ "$bnd" = 0000000000002000 ]
check $? "--cap-drop ALL --cap-add NET_RAW: CapEff and CapBnd are 0000000000002000" "$(describe)"

# 22. --read-only: / is not writable (and says so), /dev still is
capture "${RUN[@]}" --rm --read-only "$IMG" sh -c 'touch /probe; echo "touch: $?"; grep " / " /proc/mounts'
[ "$RC" = 0 ] && grep -q 'Read-only file system' <<<"$OUT" && grep -qx 'touch: 1' <<<"$OUT" && \
    grep -qE '^[^ ]+ / [^ ]+ ro[, ]' <<<"$OUT"
check $? "--read-only: writing to / fails (EROFS), / is mounted ro" "$(describe)"

# 23. --user 1000:1000
capture "${RUN[@]}" --rm --user 1000:1000 "$IMG" sh -c 'id -u; id -g; id -G'
[ "$RC" = 0 ] && [ "$OUT" = $'1000\n1000\n1000' ]
check $? "--user 1000:1000: uid, gid and groups are 1000" "$(describe)"

# 24. a missing executable: exit 127 with brig's error
capture "${RUN[@]}" --name missing "$IMG" /no/such/binary
MISSING_ID=$(id_of missing)
[ "$RC" = 127 ] && grep -qi 'no such file or directory' <<<"$OUT"
check $? "docker run of /no/such/binary: exit 127, brig's \"no such file or directory\" reaches docker" \
    "$(describe)"
[ "$RC" = 127 ] && printf '%s\n' "$OUT" | sed 's/^/#   output: /'
capture "${DOCKER[@]}" rm -f missing

# 25. every brig call docker made exited 0, except the missing executable's create (and a
# delete of that container that can follow it).
unexpected=$(awk -F'\t' -v id="${MISSING_ID:-none}" '$1 != 0 && !index($2, id)' "$CALL_LOG" 2>/dev/null || true)
missing_create=$(awk -F'\t' -v id="${MISSING_ID:-none}" '$1 != 0 && index($2, id) && index($2, " create ")' "$CALL_LOG" 2>/dev/null || true)
[ -s "$CALL_LOG" ] && [ -z "$unexpected" ] && [ -n "$missing_create" ]
check $? "every brig call docker made exited 0, except the missing executable's create" \
    "$( [ -s "$CALL_LOG" ] || echo "no brig call was logged")$unexpected$( [ -n "$missing_create" ] ||
        printf '\n(no failed create logged for the missing executable)')"

# --- what docker sent to brig ----------------------------------------------------------
calls=$(wc -l < "$CALL_LOG" 2>/dev/null || echo 0)
failed_calls=$(awk -F'\t' '$1 != 0' "$CALL_LOG" 2>/dev/null | wc -l)
echo "# docker called brig $calls times ($failed_calls failed); distinct command shapes (calls, exit statuses, argv):"
# Values become placeholders: paths under the temp dir, container and exec ids.
normalize() {
    sed -e "s#$EXEC_ROOT/containerd/daemon/io.containerd.runtime.v2.task/moby/[0-9a-f]\{64\}#BUNDLE#g" \
        -e "s#$EXEC_ROOT/runtime-[^/ ]*/moby#BRIG_ROOT#g" \
        -e "s#$T/#TMP/#g" \
        -e "s#[^ ]*/runc-process[0-9]*#PROCESS_JSON#g" \
        -e "s#[^ ]*/pty[0-9]*/pty.sock#CONSOLE_SOCKET#g" \
        -e "s#BUNDLE/[0-9a-f]\{64\}\.pid#BUNDLE/EXEC_ID.pid#g" \
        -e "s#[0-9a-f]\{64\}#ID#g"
}
normalize < "$CALL_LOG" 2>/dev/null | awk -F'\t' '
    { key = $2; c[key]++; st[key, $1]++
      if (!(key in seen)) { seen[key] = 1; order[++n] = key }
      if (!(($1) in seenrc)) { seenrc[$1] = 1; rcs[++m] = $1 } }
    END { for (i = 1; i <= n; i++) {
            k = order[i]; s = ""
            for (j = 1; j <= m; j++) if ((k, rcs[j]) in st) s = s (s == "" ? "" : ",") "exit " rcs[j] " x" st[k, rcs[j]]
            printf "#   %3d  %-20s %s\n", c[k], s, k } }'
if [ "$failed_calls" != 0 ]; then
    echo "# brig calls that failed (exit status, argv, last line of the --log file):"
    awk -F'\t' '$1 != 0' "$CALL_LOG" | normalize | sed 's/^/#   /'
fi

# --- the end: nothing left -------------------------------------------------------------
# 26. no container, no brig state, no container mount in dockerd's namespace
capture "${DOCKER[@]}" ps -aq
left_containers=$OUT
# brig's state roots: the --root docker's shim passed (dockerd 20.10 gives every runtime
# EXEC_ROOT/runtime-runc, plus the containerd namespace).
brig_roots=$(awk -F'\t' '{n = split($2, a, " "); for (i = 1; i < n; i++) if (a[i] == "--root") print a[i + 1]}' \
    "$CALL_LOG" 2>/dev/null | sort -u)
brig_state=""
for root in $brig_roots; do
    brig_state="$brig_state$("$BRIG" --root "$root" list -q 2>&1)"
done
ns_mounts=$(mounts_under_t "$REAPER_PID" | grep -v -x -e "$DATA_ROOT" -e "$EXEC_ROOT" || true)
[ -z "$left_containers" ] && [ -n "$brig_roots" ] && [ -z "$brig_state" ] && [ -z "$ns_mounts" ]
check $? "no container left: docker ps -a, brig list and the mounts in dockerd's namespace are empty" \
    "containers: $left_containers
brig list --root ${brig_roots:-(no --root in the log)}: $brig_state
mounts in dockerd's namespace under $T: $ns_mounts"

# 27. stop dockerd (by pid: SIGTERM, SIGKILL after 30 s), its containerd, the shims
TORN_DOWN=0
teardown 2>"$T/teardown.err"
left_pids=""
for pid in "$DOCKERD_PID" "$CONTAINERD_PID" "$REAPER_PID"; do alive "$pid" && left_pids="$left_pids $pid"; done
[ -z "$left_pids" ] && [ ! -s "$T/teardown.err" ]
check $? "dockerd and its containerd stop on SIGTERM, the reaper has nothing left to reap" \
    "still running:${left_pids:- none}
$(cat "$T/teardown.err")"

# 28. no mount under the temp dir, no cgroup left
host_mounts=$(mounts_under_t self)
cgroups_left=$(test_cgroups)
[ -z "$host_mounts" ] && [ -z "$cgroups_left" ]
check $? "no mount under $T and no cgroup /$CG_PARENT left" "mounts: $host_mounts
cgroups: $cgroups_left"

# 29. nothing made where a docker or containerd keeps things by default
made=$(comm -13 <(echo "$HOST_PATHS_BEFORE" | sort) <(ls -d "${HOST_PATHS[@]}" 2>/dev/null | sort))
[ -z "$made" ]
check $? "nothing created in the host's /run/containerd, /run/docker*, /var/lib/docker, /opt/containerd, /etc/docker..." \
    "created: $made"

# 30. the temp dir removed
rm -rf --one-file-system "$T"
[ ! -e "$T" ]
check $? "the temp dir is removed" "$(ls -la "$T" 2>&1 | head)"

echo "1..$N"
echo "# took $((SECONDS - START_SECONDS)) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
