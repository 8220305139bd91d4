#!/usr/bin/env bash
# End-to-end test: drive brig through a real containerd (Debian's package) with ctr.
#
#   tests/containerd/run.sh BRIG_BINARY ROOTFS_FIXTURE
#
# With CONTAINERD_SYSTEMD=1 (on a host where systemd is PID 1: `make systemd-test` runs it
# in the systemd VM) every task uses the systemd cgroup driver, as a node with
# SystemdCgroup = true does: ctr's --runc-systemd-cgroup and a "system.slice:NS:ID"
# cgroup, and the checks add that each container's cgroup is its scope unit and that no
# unit is left.
#
# With CONTAINERD_CRIU=1 (where criu works: `make criu-test` runs it in the CRIU VM) it
# also checkpoints a running task and restores it: `ctr task checkpoint --image-path`, then
# `ctr container checkpoint --task` and `ctr container restore --live` of a container made
# from an image built offline from the fixture (ctr 1.6 has no `run --checkpoint`).
# CONTAINERD_ONLY_CHECKPOINT=1 runs only the first check and the checkpoint ones.
#
# Starts a private containerd (config, root, state and socket in a temp dir), runs
# containers with `ctr ... --runc-binary SHIM`, where SHIM runs brig and logs each call
# (argv, exit status, brig's error), and prints TAP-style results ("ok N - ...",
# "not ok N - ..."; "# TODO" lines are known gaps and are not counted as failures), then
# "P passed, F failed". Everything it starts or creates (tasks, containers, containerd,
# mounts, cgroups, the temp dir) is removed on exit. Needs root, containerd/ctr (installed
# from Debian if missing), python3 and script(1).
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
if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
    echo "# installing Debian's containerd" >&2
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        # Another apt/dpkg may hold the lock for a moment: retry a few times.
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd >/dev/null; then
            break
        fi
        [ "$attempt" = 10 ] && { echo "could not install containerd" >&2; exit 2; }
        sleep 3
    done
fi
for tool in python3 script timeout; do
    command -v "$tool" >/dev/null || { echo "$0 needs $tool" >&2; exit 2; }
done

START_SECONDS=$SECONDS
NS="brigtest$$"
# CONTAINERD_TMP: where the temp dir goes (the CRIU VM wants a tmpfs: criu binds unix
# sockets in its work directory).
T=$(mktemp -d "${CONTAINERD_TMP:-/tmp}/brig-containerd.XXXXXX")
SOCK="$T/containerd.sock"
SHIM="$T/brig-logging-shim"
SHIM_LOG="$T/brig-calls.log"
CONTAINERD_LOG="$T/containerd.log"
CONTAINERD_PID=""
REAPER_PID=""
CREATED_IDS=()
RUN_CONTAINERD_EXISTED=0
[ -e /run/containerd ] && RUN_CONTAINERD_EXISTED=1
RUN_CONTAINERD_S_EXISTED=0
[ -e /run/containerd/s ] && RUN_CONTAINERD_S_EXISTED=1

CTR=(ctr --address "$SOCK" --namespace "$NS")
# Runtime options for every task: brig via the logging shim, its state and the IO fifos
# inside the temp dir (ctr's defaults are under /run/containerd).
RUNC_OPTS=(--runc-binary "$SHIM" --runc-root "$T/runc-root" --fifo-dir "$T/fifo")
SYSTEMD=${CONTAINERD_SYSTEMD:-}
CRIU=${CONTAINERD_CRIU:-}
if [ -n "$SYSTEMD" ]; then
    [ -d /run/systemd/system ] || { echo "CONTAINERD_SYSTEMD: systemd is not running here" >&2; exit 2; }
    RUNC_OPTS+=(--runc-systemd-cgroup)
fi
CONTAINER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# --- cleanup ---------------------------------------------------------------------------
# Pids of processes whose parent is $1.
children_of() {
    local stat pid rest ppid
    for stat in /proc/[0-9]*/stat; do
        { read -r rest < "$stat"; } 2>/dev/null || continue
        pid=${rest%% *}
        rest=${rest##*) }     # after "(comm) "
        ppid=$(echo "$rest" | cut -d' ' -f2)
        [ "$ppid" = "$1" ] && echo "$pid"
    done
    return 0
}

cleanup() {
    local rc=$? id i pid dir mnt
    set +e
    trap - EXIT INT TERM
    # Tasks and containers this test created, if containerd still answers.
    if [ -n "$CONTAINERD_PID" ] && kill -0 "$CONTAINERD_PID" 2>/dev/null; then
        for id in "${CREATED_IDS[@]}"; do
            if timeout 10 "${CTR[@]}" task ls -q 2>/dev/null | grep -qx "$id"; then
                timeout 10 "${CTR[@]}" task kill -a -s SIGKILL "$id" >/dev/null 2>&1
                for i in $(seq 50); do
                    timeout 10 "${CTR[@]}" task ls 2>/dev/null |
                        awk -v id="$id" '$1 == id && $3 != "STOPPED" {f=1} END {exit !f}' || break
                    sleep 0.1
                done
                timeout 10 "${CTR[@]}" task rm -f "$id" >/dev/null 2>&1
            fi
            if timeout 10 "${CTR[@]}" container ls -q 2>/dev/null | grep -qx "$id"; then
                timeout 10 "${CTR[@]}" container rm "$id" >/dev/null 2>&1
            fi
        done
        timeout 10 "${CTR[@]}" namespace rm "$NS" >/dev/null 2>&1
    fi
    # containerd, by its pid: TERM, then KILL after a bounded wait.
    if [ -n "$CONTAINERD_PID" ]; then
        kill -TERM "$CONTAINERD_PID" 2>/dev/null
        for i in $(seq 100); do
            kill -0 "$CONTAINERD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$CONTAINERD_PID" 2>/dev/null
    fi
    # The reaper (containerd's parent, and the subreaper of the shims containerd starts)
    # exits once it has no children left; kill what it still adopted (by pid), then it.
    if [ -n "$REAPER_PID" ]; then
        for i in $(seq 50); do
            kill -0 "$REAPER_PID" 2>/dev/null || break
            [ "$i" = 30 ] && for pid in $(children_of "$REAPER_PID"); do kill -KILL "$pid" 2>/dev/null; done
            sleep 0.1
        done
        kill -KILL "$REAPER_PID" 2>/dev/null
        wait "$REAPER_PID" 2>/dev/null
    fi
    # Processes still in the test's cgroups were started by this test.
    for dir in /sys/fs/cgroup/"$NS" /sys/fs/cgroup/*/"$NS"; do
        [ -d "$dir" ] || continue
        # shellcheck disable=SC2044 # pids only
        for pid in $(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
    done
    # Mounts left under the temp dir (deepest first).
    for i in 1 2 3; do
        mnt=$(awk -v t="$T" '$2 == t || index($2, t "/") == 1 {print $2}' /proc/self/mounts | sort -r)
        [ -z "$mnt" ] && break
        for dir in $mnt; do umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null; done
    done
    # The test's cgroups: /NS/ID (and /NS) in every hierarchy; nothing else is touched.
    for dir in /sys/fs/cgroup/"$NS" /sys/fs/cgroup/*/"$NS"; do
        [ -d "$dir" ] || continue
        for i in $(seq 20); do
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$dir" ] || break
            sleep 0.1
        done
        [ -d "$dir" ] && echo "# cleanup: could not remove $dir" >&2
    done
    # systemd mode: the containers' scope units (stopped, failed ones forgotten).
    if [ -n "$SYSTEMD" ]; then
        systemctl stop "$NS-*.scope" >/dev/null 2>&1
        systemctl reset-failed "$NS-*.scope" >/dev/null 2>&1
    fi
    # The shim-socket directory containerd-shim-runc-v2 uses (fixed at /run/containerd/s).
    [ "$RUN_CONTAINERD_S_EXISTED" = 0 ] && rmdir /run/containerd/s 2>/dev/null
    [ "$RUN_CONTAINERD_EXISTED" = 0 ] && rmdir /run/containerd 2>/dev/null
    rm -rf --one-file-system "$T"
    [ -e "$T" ] && echo "# cleanup: could not remove $T" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- results -----------------------------------------------------------------------------
N=0 PASSED=0 FAILED=0 TODO=0
ok()     { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
not_ok() {
    N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
    return 0
}
# A known gap: printed, not counted. $1: 0 if the check passed, $2 description, $3 reason.
todo() {
    N=$((N + 1)); TODO=$((TODO + 1))
    if [ "$1" = 0 ]; then echo "ok $N - $2 # TODO $TODO_REASON"
    else
        echo "not ok $N - $2 # TODO $TODO_REASON"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
    fi
    return 0
}
TODO_REASON=""

# Run a command with a time limit; its stdout+stderr in $OUT, its exit status in $RC.
capture() {
    set +e
    OUT=$(timeout -k 5 30 "$@" 2>&1 </dev/null)
    RC=$?
    set -e
}
# The same, under a pty (script(1)), for -t: no terminal in CI. Args form one shell line.
capture_tty() {
    local line
    line=$(printf '%q ' "$@")
    set +e
    # pipefail: the status is script's (which is the command's, with -e) unless tr fails.
    OUT=$(timeout -k 5 30 script -qec "$line" /dev/null 2>&1 </dev/null | tr -d '\r')
    RC=$?
    set -e
}
describe() { printf 'exit %s, output:\n%s' "$RC" "$OUT"; }

# The argv of a ctr run with the common options, in RUN: run_args [ctr run flags...] -- ID CMD...
# (It also makes the container's rootfs copy and remembers the id for the cleanup.)
run_args() {
    local flags=() id
    while [ "$1" != "--" ]; do flags+=("$1"); shift; done
    shift
    id=$1
    shift
    CREATED_IDS+=("$id")
    cp -a "$FIXTURE" "$T/rootfs-$id"
    # ctr run --rootfs sets no environment (no image config), so give the process a PATH;
    # without it `sh` is not found (runc behaves the same).
    [ -n "$SYSTEMD" ] && flags+=(--cgroup "system.slice:$NS:$id")
    RUN=("${CTR[@]}" run "${RUNC_OPTS[@]}" --env "PATH=$CONTAINER_PATH" "${flags[@]}"
         --rootfs "$T/rootfs-$id" "$id" "$@")
}
# FROZEN or THAWED: the freezer state of the cgroup a process is in (v1 or v2).
freezer_state_of_pid() {
    local cg
    cg=$(awk -F: '$2 ~ /(^|,)freezer(,|$)/ {print $3}' "/proc/$1/cgroup" 2>/dev/null)
    if [ -n "$cg" ]; then
        cat "/sys/fs/cgroup/freezer$cg/freezer.state" 2>/dev/null
    else
        cg=$(awk -F: '$1 == 0 {print $3}' "/proc/$1/cgroup" 2>/dev/null)
        case "$(cat "/sys/fs/cgroup$cg/cgroup.freeze" 2>/dev/null)" in
            1) echo FROZEN ;; 0) echo THAWED ;;
        esac
    fi
}
# The memory limit of the cgroup a process is in (v1 memory controller, or v2), as
# "limit cgroup-path".
memory_limit_of_pid() {
    local cg
    cg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' "/proc/$1/cgroup" 2>/dev/null)
    if [ -n "$cg" ]; then
        echo "$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes" 2>/dev/null) memory:$cg"
    else
        cg=$(awk -F: '$1 == 0 {print $3}' "/proc/$1/cgroup" 2>/dev/null)
        echo "$(cat "/sys/fs/cgroup$cg/memory.max" 2>/dev/null) $cg"
    fi
}
task_status() {
    "${CTR[@]}" task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'
}

# --- private containerd --------------------------------------------------------------------
mkdir -p "$T/root" "$T/state" "$T/runc-root" "$T/fifo" "$T/opt"
cat > "$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$SOCK"

[debug]
  level = "debug"

[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
EOF

# The logging shim: runs brig with the same argv and stdio, then appends one line per call:
# exit status, argv (shell-quoted), and on failure the last line of the --log file (where
# brig writes its error for containerd).
cat > "$SHIM" <<EOF
#!/bin/bash
line=\$(printf '%q ' "\$@")
$(printf '%q' "$BRIG") "\$@"
rc=\$?
log= prev= msg=
for a in "\$@"; do [ "\$prev" = --log ] && log=\$a; prev=\$a; done
[ "\$rc" != 0 ] && [ -f "\$log" ] && msg=\$(tail -n 1 "\$log")
printf '%s\t%s\t%s\n' "\$rc" "\$line" "\$msg" >> $(printf '%q' "$SHIM_LOG")
exit "\$rc"
EOF
chmod 755 "$SHIM"

# containerd runs under a small reaper: containerd-shim-runc-v2 daemonizes, and PID 1 on
# some hosts does not reap orphans, so a subreaper adopts the shims and reaps them.
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

python3 "$T/reaper.py" "$T/containerd.pid" containerd --config "$T/config.toml" \
    </dev/null >"$CONTAINERD_LOG" 2>&1 &
REAPER_PID=$!
for i in $(seq 200); do
    [ -s "$T/containerd.pid" ] && break
    sleep 0.05
done
CONTAINERD_PID=$(cat "$T/containerd.pid" 2>/dev/null || true)
[ -n "$CONTAINERD_PID" ] || { echo "containerd did not start" >&2; exit 1; }
ready=0
for i in $(seq 200); do   # up to ~20 s
    if timeout 2 ctr --address "$SOCK" version >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$CONTAINERD_PID" 2>/dev/null || break
    sleep 0.1
done
if [ "$ready" != 1 ]; then
    echo "containerd did not answer on $SOCK; its log:" >&2
    tail -n 30 "$CONTAINERD_LOG" >&2
    exit 1
fi
echo "# containerd $(containerd --version | awk '{print $3}') pid $CONTAINERD_PID, namespace $NS, dir $T"
echo "# brig: $BRIG"

# --- checks ---------------------------------------------------------------------------------
# a. output and exit status
run_args --rm -- "$NS-hello" sh -c 'echo hello'
capture "${RUN[@]}"
if [ "$RC" = 0 ] && [ "$OUT" = hello ]; then ok "ctr run prints hello and exits 0"
else not_ok "ctr run prints hello and exits 0" "$(describe)"; fi

# CONTAINERD_ONLY_CHECKPOINT=1 (the CRIU VM, where TCG makes every call slow: make test runs
# the rest on the host and under systemd) skips from here to the checkpoint checks.
if [ "${CONTAINERD_ONLY_CHECKPOINT:-}" != 1 ]; then
# b. exit code propagation
run_args --rm -- "$NS-exit3" sh -c 'exit 3'
capture "${RUN[@]}"
if [ "$RC" = 3 ]; then ok "exit status 3 inside the container is ctr's exit status"
else not_ok "exit status 3 inside the container is ctr's exit status" "$(describe)"; fi

# c. stdin
# ctr closes the task's stdin on EOF only if the EOF comes after the task was created
# (containerd/containerd#4489: the closer is installed after NewTask returns, so with an
# instant `echo` the EOF is lost and cat waits forever, with runc too). So the EOF is
# held back until containerd reports the task RUNNING (bounded).
run_args --rm -- "$NS-stdin" cat
set +e
OUT=$({
        echo piped
        for i in $(seq 100); do [ "$(task_status "$NS-stdin")" = RUNNING ] && break; sleep 0.1; done
    } | timeout -k 5 30 "${RUN[@]}" 2>&1)
RC=$?
set -e
if [ "$RC" = 0 ] && [ "$OUT" = piped ]; then ok "stdin reaches the container (echo piped | ctr run ... cat)"
else not_ok "stdin reaches the container (echo piped | ctr run ... cat)" "$(describe)"; fi

# d. -t: a terminal inside the container
run_args --rm -t -- "$NS-tty" sh -c 'tty'
capture_tty "${RUN[@]}"
if [ "$RC" = 0 ] && grep -q '/dev/pts/[0-9]' <<<"$OUT"; then ok "ctr run -t: the process's stdin is a /dev/pts terminal"
else not_ok "ctr run -t: the process's stdin is a /dev/pts terminal" "$(describe)"; fi

# e. a long-running container: exec (plain and -t), ps
LONG="$NS-long"
run_args -d -- "$LONG" sleep 1000
capture "${RUN[@]}"
status=$(task_status "$LONG")
if [ "$RC" = 0 ] && [ "$status" = RUNNING ]; then ok "ctr run -d: the task is RUNNING"
else not_ok "ctr run -d: the task is RUNNING" "$(describe); task status: ${status:-none}"; fi

capture "${CTR[@]}" task exec --fifo-dir "$T/fifo" --exec-id x1 "$LONG" sh -c 'echo exec-ok'
if [ "$RC" = 0 ] && [ "$OUT" = exec-ok ]; then ok "ctr task exec prints exec-ok"
else not_ok "ctr task exec prints exec-ok" "$(describe)"; fi

capture_tty "${CTR[@]}" task exec --fifo-dir "$T/fifo" -t --exec-id x2 "$LONG" tty
if [ "$RC" = 0 ] && grep -q '/dev/pts/[0-9]' <<<"$OUT"; then ok "ctr task exec -t: a /dev/pts terminal"
else not_ok "ctr task exec -t: a /dev/pts terminal" "$(describe)"; fi

init_pid=$("${CTR[@]}" task ls 2>/dev/null | awk -v id="$LONG" '$1 == id {print $2}')
if [ -n "$SYSTEMD" ]; then
    # The init is in the scope unit systemd made for it, delegated.
    unit="$NS-$LONG.scope"
    cg=$(awk -F: '$1 == 0 || $2 == "name=systemd" {print $3; exit}' "/proc/$init_pid/cgroup" 2>/dev/null)
    state=$(systemctl show -p ActiveState --value "$unit" 2>/dev/null)
    delegate=$(systemctl show -p Delegate --value "$unit" 2>/dev/null)
    if [ "$cg" = "/system.slice/$unit" ] && [ "$state" = active ] && [ "$delegate" = yes ]; then
        ok "SystemdCgroup: the init is in the active, delegated unit $unit"
    else not_ok "SystemdCgroup: the init is in the active, delegated unit $unit" \
        "init ${init_pid:-unknown} in ${cg:-unknown}; unit state ${state:-none}, Delegate=${delegate:-none}"; fi
fi
capture "${CTR[@]}" task ps "$LONG"
if [ "$RC" = 0 ] && [ -n "$init_pid" ] && awk 'NR > 1 {print $1}' <<<"$OUT" | grep -qx "$init_pid"; then
    ok "ctr task ps lists the init (pid $init_pid)"
else not_ok "ctr task ps lists the init (pid ${init_pid:-unknown})" "$(describe)"; fi

# f. pause / resume. While brig answers "not implemented yet" this is a known gap (TODO);
# once pause exists, it must work: containerd says PAUSED and the cgroup is frozen.
TODO_REASON="pause/resume land with the cgroups milestone"
capture "${CTR[@]}" task pause "$LONG"
pause_rc=$RC pause_out=$OUT
status=$(task_status "$LONG") frozen=$(freezer_state_of_pid "${init_pid:-0}")
pause_todo=1
grep -q 'not implemented yet' <<<"$pause_out" || pause_todo=0
if [ "$pause_rc" = 0 ] && [ "$status" = PAUSED ] && [ "$frozen" = FROZEN ]; then
    ok "ctr task pause: the task is PAUSED and its cgroup FROZEN"
else
    why="exit $pause_rc, status ${status:-none}, freezer ${frozen:-unknown}, output:
$pause_out"
    if [ "$pause_todo" = 1 ]; then todo 1 "ctr task pause: the task is PAUSED and its cgroup FROZEN" "$why"
    else not_ok "ctr task pause: the task is PAUSED and its cgroup FROZEN" "$why"; fi
fi
capture "${CTR[@]}" task resume "$LONG"
status=$(task_status "$LONG") frozen=$(freezer_state_of_pid "${init_pid:-0}")
if [ "$RC" = 0 ] && [ "$status" = RUNNING ] && [ "$frozen" = THAWED ]; then
    ok "ctr task resume: the task is RUNNING and its cgroup THAWED"
else
    why="$(describe); status ${status:-none}, freezer ${frozen:-unknown}"
    if [ "$pause_todo" = 1 ]; then todo 1 "ctr task resume: the task is RUNNING and its cgroup THAWED" "$why"
    else not_ok "ctr task resume: the task is RUNNING and its cgroup THAWED" "$why"; fi
fi

# g. kill: TERM, then -a -s SIGKILL if it still runs; rm; gone from task ls
capture "${CTR[@]}" task kill "$LONG"
term_rc=$RC term_out=$OUT
for i in $(seq 20); do [ "$(task_status "$LONG")" = STOPPED ] && break; sleep 0.1; done
after_term=$(task_status "$LONG")
if [ "$term_rc" = 0 ]; then ok "ctr task kill (SIGTERM) is delivered (task then ${after_term:-gone})"
else not_ok "ctr task kill (SIGTERM) is delivered" "exit $term_rc, output:
$term_out"; fi
if [ "$after_term" != STOPPED ]; then
    capture "${CTR[@]}" task kill -a -s SIGKILL "$LONG"
    kill_rc=$RC kill_out=$OUT
    for i in $(seq 50); do [ "$(task_status "$LONG")" = STOPPED ] && break; sleep 0.1; done
    status=$(task_status "$LONG")
    if [ "$kill_rc" = 0 ] && [ "$status" = STOPPED ]; then ok "ctr task kill -a -s SIGKILL stops the task"
    else not_ok "ctr task kill -a -s SIGKILL stops the task" "exit $kill_rc, status ${status:-none}, output:
$kill_out"; fi
else
    ok "ctr task kill -a -s SIGKILL not needed: SIGTERM stopped the task # SKIP"
fi
capture "${CTR[@]}" task rm "$LONG"
rm_out=$OUT rm_rc=$RC
capture "${CTR[@]}" container rm "$LONG"
crm_out=$OUT crm_rc=$RC
listed=$("${CTR[@]}" task ls -q 2>/dev/null | grep -cx "$LONG" || true)
if [ "$rm_rc" = 0 ] && [ "$crm_rc" = 0 ] && [ "$listed" = 0 ]; then
    ok "ctr task rm + container rm: ctr task ls no longer lists it"
else not_ok "ctr task rm + container rm: ctr task ls no longer lists it" "task rm exit $rm_rc: $rm_out
container rm exit $crm_rc: $crm_out
listed in task ls: $listed"; fi

# h. --memory-limit: seen from the host in the container's memory cgroup while it runs.
# While brig refuses linux.resources.memory ("not supported yet") this is a known gap
# (TODO), and the refusal must reach ctr's output with brig's message.
TODO_REASON="memory limits land with the cgroups milestone"
MEM="$NS-mem"
run_args -d --memory-limit 67108864 -- "$MEM" sleep 1000
capture "${RUN[@]}"
if [ "$RC" = 0 ]; then
    ok "--memory-limit: brig accepts linux.resources.memory and the container runs"
    mem_pid=$("${CTR[@]}" task ls 2>/dev/null | awk -v id="$MEM" '$1 == id {print $2}')
    read -r limit mem_cg <<<"$(memory_limit_of_pid "${mem_pid:-0}") " || true
    # The container's own cgroup: .../ID, or its unit with the systemd driver.
    want_cg=$MEM
    [ -n "$SYSTEMD" ] && want_cg="$NS-$MEM.scope"
    if [ "$limit" = 67108864 ] && [ "${mem_cg##*/}" = "$want_cg" ]; then
        ok "--memory-limit 67108864 is the limit of the container's cgroup ($mem_cg)"
    else not_ok "--memory-limit 67108864 is the limit of the container's cgroup" \
        "init pid ${mem_pid:-unknown}, its cgroup ${mem_cg:-unknown}, limit ${limit:-unreadable}"; fi
    capture "${CTR[@]}" task kill -a -s SIGKILL "$MEM"
    for i in $(seq 50); do [ "$(task_status "$MEM")" = STOPPED ] && break; sleep 0.1; done
    capture "${CTR[@]}" task rm "$MEM"
    capture "${CTR[@]}" container rm "$MEM"
elif grep -q 'linux.resources.memory is not supported yet' <<<"$OUT"; then
    mem_todo=1
    ok "--memory-limit: brig's refusal (\"not supported yet\") reaches ctr's output"
    todo 1 "--memory-limit 67108864 is the limit of the container's cgroup" "$(describe)"
else
    not_ok "--memory-limit: brig accepts linux.resources.memory and the container runs" "$(describe)"
    not_ok "--memory-limit 67108864 is the limit of the container's cgroup" "not run"
fi

# i. an error inside create reaches ctr with brig's message
run_args --rm -- "$NS-missing" /no/such/binary
capture "${RUN[@]}"
if [ "$RC" != 0 ] && grep -qi 'no such file or directory' <<<"$OUT"; then
    ok "missing executable: ctr fails with brig's \"no such file or directory\""
    printf '%s\n' "$OUT" | sed 's/^/#   output: /'
else not_ok "missing executable: ctr fails with brig's \"no such file or directory\"" "$(describe)"; fi

fi # CONTAINERD_ONLY_CHECKPOINT

# j. checkpoint and restore through containerd (CONTAINERD_CRIU=1, where criu works)
if [ -n "$CRIU" ]; then
    # An image of the fixture, made offline: an OCI archive with one uncompressed layer.
    python3 - "$FIXTURE" "$T/fixture-image.tar" <<'PY'
import hashlib, io, json, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    t.add(src, arcname=".")
layer = buf.getvalue()
blobs = {}
def add(data, media):
    d = hashlib.sha256(data).hexdigest()
    blobs[d] = data
    return {"mediaType": media, "digest": "sha256:" + d, "size": len(data)}
ldesc = add(layer, "application/vnd.oci.image.layer.v1.tar")
config = {"architecture": "amd64", "os": "linux",
          "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
          "rootfs": {"type": "layers", "diff_ids": [ldesc["digest"]]}}
cdesc = add(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": cdesc, "layers": [ldesc]}
mdesc = add(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
mdesc["annotations"] = {"io.containerd.image.name": "docker.io/brig/fixture:test",
                        "org.opencontainers.image.ref.name": "test"}
index = {"schemaVersion": 2, "manifests": [mdesc]}
with tarfile.open(out, "w") as t:
    def put(name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    put("index.json", json.dumps(index).encode())
    for d, data in blobs.items():
        put("blobs/sha256/" + d, data)
PY
    IMG=docker.io/brig/fixture:test
    capture "${CTR[@]}" image import --snapshotter native "$T/fixture-image.tar"
    if [ "$RC" = 0 ]; then ok "an image of the fixture, made offline, imports"
    else not_ok "an image of the fixture, made offline, imports" "$(describe)"; fi
    CK=$NS-ck
    CREATED_IDS+=("$CK")
    count_of() { capture "${CTR[@]}" task exec --exec-id "c$1" "$CK" cat /count; echo "${OUT:-0}"; }
    wait_count() { # $1: at least this; echoes the count, or "" after ~60 s
        local i n
        for i in $(seq 120); do
            n=$(count_of "w$i")
            [ "$n" -ge "$1" ] 2>/dev/null && { echo "$n"; return; }
            sleep 0.5
        done
    }
    capture "${CTR[@]}" run -d --snapshotter native "${RUNC_OPTS[@]}" "$IMG" "$CK" \
        sh -c 'i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.2; done'
    before=$(wait_count 25)
    if [ "$RC" = 0 ] && [ -n "$before" ]; then ok "ctr run -d of a counting container from the image (count $before)"
    else not_ok "ctr run -d of a counting container from the image" "$(describe)"; fi

    capture "${CTR[@]}" task checkpoint --image-path "$T/ck-images" --work-path "$T/ck-work" "$CK"
    status=$(task_status "$CK")
    if [ "$RC" = 0 ] && [ "$status" = RUNNING ] && [ -s "$T/ck-images/pstree.img" ]; then
        ok "ctr task checkpoint --image-path: criu's images written, the task still RUNNING"
    else not_ok "ctr task checkpoint --image-path: criu's images written, the task still RUNNING" \
        "$(describe); status ${status:-none}; images: $(ls "$T/ck-images" 2>&1 | tr '\n' ' ')"; fi

    REF=checkpoint/$CK:1
    at=$(count_of at)
    capture "${CTR[@]}" container checkpoint --task "$CK" "$REF"
    ck_rc=$RC ck_out=$OUT
    capture "${CTR[@]}" task kill -s SIGKILL "$CK"
    for i in $(seq 100); do [ "$(task_status "$CK")" = STOPPED ] && break; sleep 0.1; done
    capture "${CTR[@]}" task rm "$CK"
    capture "${CTR[@]}" container rm "$CK"
    RC=$ck_rc OUT=$ck_out
    if [ "$RC" = 0 ]; then ok "ctr container checkpoint --task makes a checkpoint image (count $at)"
    else not_ok "ctr container checkpoint --task makes a checkpoint image" "$(describe)"; fi

    # ctr container restore --live: the shim's create with the checkpoint, then start,
    # which runs brig's restore; ctr waits for the task, so it runs in the background.
    timeout -k 5 120 "${CTR[@]}" container restore --live "$CK" "$REF" </dev/null >"$T/restore.out" 2>&1 &
    restore_pid=$!
    for i in $(seq 300); do [ "$(task_status "$CK")" = RUNNING ] && break; sleep 0.2; done
    status=$(task_status "$CK")
    after=$(wait_count "$at")
    if [ "$status" = RUNNING ] && [ -n "$after" ] && [ "$after" -lt $((at + 150)) ]; then
        ok "ctr container restore --live: RUNNING again, counting on from $at ($after)"
    else not_ok "ctr container restore --live: RUNNING again, counting on from $at" \
        "status ${status:-none}, count ${after:-none}; ctr said: $(cat "$T/restore.out")"; fi
    capture "${CTR[@]}" task exec --exec-id after "$CK" echo exec-after-restore
    if [ "$RC" = 0 ] && [ "$OUT" = exec-after-restore ]; then ok "ctr task exec in the restored task"
    else not_ok "ctr task exec in the restored task" "$(describe)"; fi
    capture "${CTR[@]}" task kill -s SIGKILL "$CK"
    wait "$restore_pid" 2>/dev/null || true
    for i in $(seq 100); do [ "$(task_status "$CK")" = STOPPED ] && break; sleep 0.1; done
    capture "${CTR[@]}" task rm "$CK"
    capture "${CTR[@]}" container rm "$CK"
    if [ -z "$(task_status "$CK")" ] && ! "${CTR[@]}" container ls -q | grep -qx "$CK"; then
        ok "the restored task is killed and removed"
    else not_ok "the restored task is killed and removed" "$("${CTR[@]}" task ls)"; fi
fi

# k. every command containerd sent to brig worked, except the ones meant to fail: the
# missing executable's create, and known gaps reported as TODO above.
expected_fail=" $NS-missing "
[ "${pause_todo:-0}" = 1 ] && expected_fail="$expected_fail| (pause|resume) "
[ "${mem_todo:-0}" = 1 ] && expected_fail="$expected_fail| $NS-mem "
unexpected=$(awk -F'\t' '$1 != 0' "$SHIM_LOG" 2>/dev/null | grep -Ev -- "$expected_fail" || true)
if [ -s "$SHIM_LOG" ] && [ -z "$unexpected" ]; then
    ok "every brig command containerd sent exited 0, except the expected failures"
else not_ok "every brig command containerd sent exited 0, except the expected failures" \
    "$( [ -s "$SHIM_LOG" ] && printf '%s' "$unexpected" || echo "no brig call was logged")"; fi

# systemd mode: every task is gone, and so is every unit (none failed either).
if [ -n "$SYSTEMD" ]; then
    left=$(systemctl list-units --all --plain --no-legend "$NS-*.scope" 2>/dev/null | awk '{print $1, $3, $4}')
    if [ -z "$left" ]; then ok "SystemdCgroup: no scope unit is left once the tasks are removed"
    else not_ok "SystemdCgroup: no scope unit is left once the tasks are removed" "$left"; fi
fi

# --- what containerd sent to brig ------------------------------------------------------------
calls=$(wc -l < "$SHIM_LOG" 2>/dev/null || echo 0)
failed_calls=$(awk -F'\t' '$1 != 0' "$SHIM_LOG" 2>/dev/null | wc -l)
echo "# containerd called brig $calls times ($failed_calls failed); distinct command shapes (calls, exit statuses, argv):"
# Values become placeholders: paths under the temp dir, container and exec ids, pids.
normalize() {
    sed -e "s#$T/state/io.containerd.runtime.v2.task/$NS/[^/ ]*#BUNDLE#g" \
        -e "s#$T/runc-root/$NS#RUNC_ROOT#g" \
        -e "s#$T/#TMP/#g" \
        -e "s#/tmp/runc-process[0-9]*#PROCESS_JSON#g" \
        -e "s#/tmp/pty[0-9]*/pty.sock#CONSOLE_SOCKET#g" \
        -e "s#$NS-[a-z0-9]*#ID#g" \
        -e "s#BUNDLE/x[0-9]\.pid#BUNDLE/EXEC_ID.pid#g"
}
normalize < "$SHIM_LOG" 2>/dev/null | awk -F'\t' '
    { key = $2; c[key]++; st[key, $1]++
      if (!(key in seen)) { seen[key] = 1; order[++n] = key }
      if (!(($1) in seenrc)) { seenrc[$1] = 1; rcs[++m] = $1 } }
    END { for (i = 1; i <= n; i++) {
            k = order[i]; s = ""
            for (j = 1; j <= m; j++) if ((k, rcs[j]) in st) s = s (s == "" ? "" : ",") "exit " rcs[j] " x" st[k, rcs[j]]
            printf "#   %3d  %-20s %s\n", c[k], s, k } }'
if [ "$failed_calls" != 0 ]; then
    echo "# brig calls that failed (exit status, argv, last line of the --log file):"
    awk -F'\t' '$1 != 0' "$SHIM_LOG" | normalize | sed 's/^/#   /'
fi

echo "1..$N"
echo "# todo (known gaps, not counted): $TODO; took $((SECONDS - START_SECONDS)) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
