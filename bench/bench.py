#!/usr/bin/env python3
"""brig, runc and crun side by side on the same bundles, interleaved, in one run.

Run by `make bench` (see BENCHMARKS.md for the method). It must run as root inside a
private mount namespace where /sys/fs/cgroup/unified is unmounted (crun 1.8 refuses
hybrid hosts); bench/run.sh sets that up so all three runtimes see the same host.

CPU time is user+sys of the runtime and every process it starts: this script is a child
subreaper, so container processes that outlive the runtime are reparented here, reaped
here and counted in the step that made them.
"""

import argparse
import ctypes
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

import containerd
import scale

PR_SET_CHILD_SUBREAPER = 36
WORK = "/run/brig-bench"
CGROUP_ROOT = "/sys/fs/cgroup"


def die(msg):
    sys.exit(f"bench: {msg}")


class Reaper:
    """Spawns processes and reaps every child (ours or orphaned to us), keeping rusage."""

    def __init__(self):
        self.exited = {}  # pid -> (exit status, cpu seconds) not yet claimed
        self.cpu = 0.0  # cpu of everything reaped, cumulative

    def spawn(self, argv, stdout=os.devnull, stderr=None):
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (
                os.POSIX_SPAWN_OPEN,
                2,
                stderr or os.devnull,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                0o644,
            ),
        ]
        return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)

    def _reap_one(self, flags=0):
        pid, status, ru = os.wait4(-1, flags)
        if pid == 0:
            return None
        cpu = ru.ru_utime + ru.ru_stime
        self.cpu += cpu
        self.exited[pid] = (os.waitstatus_to_exitcode(status), cpu)
        return pid

    def wait(self, pid):
        """Exit code of pid, reaping whatever else ends first."""
        while pid not in self.exited:
            self._reap_one()
        return self.exited.pop(pid)[0]

    def wait_any(self):
        return self._reap_one()

    def sweep(self):
        """Reap whatever has already ended (orphaned container processes)."""
        try:
            while self._reap_one(os.WNOHANG) is not None:
                pass
        except ChildProcessError:
            pass
        self.exited.clear()


REAPER = Reaper()


class Runtime:
    def __init__(self, name, binary, rootfs):
        self.name = name
        self.binary = binary
        self.root = f"{WORK}/{name}/state"
        self.bundles = f"{WORK}/{name}/bundles"
        self.rootfs = rootfs
        self.errors = 0
        self.err_file = f"{WORK}/{name}/stderr"
        os.makedirs(self.bundles, exist_ok=True)

    systemd = False  # --systemd: every call has --systemd-cgroup, every cgroup is a unit

    def cgroup(self, cid):
        if self.systemd:
            return f"brigbench.slice:{self.name}:{cid}"
        return f"/brig-bench-{cid}"

    def bundle(self, cid, args, template):
        path = f"{self.bundles}/{cid}"
        if not os.path.exists(path):
            os.makedirs(path)
            cfg = json.loads(json.dumps(template))
            cfg["root"]["path"] = self.rootfs
            cfg["process"]["args"] = args
            cfg["process"]["terminal"] = False
            cfg["linux"]["cgroupsPath"] = self.cgroup(cid)
            with open(f"{path}/config.json", "w") as f:
                json.dump(cfg, f)
        return path

    def argv(self, *args):
        driver = ["--systemd-cgroup"] if self.systemd else []
        return [self.binary, "--root", self.root, *driver, *args]

    def call(self, *args, stdout=os.devnull, err_file=None):
        """Run one runtime command to completion; returns True on success."""
        err_file = err_file or self.err_file
        pid = REAPER.spawn(self.argv(*args), stdout=stdout, stderr=err_file)
        code = REAPER.wait(pid)
        if code != 0:
            self.errors += 1
            with open(err_file, errors="replace") as f:
                text = f.read().strip().splitlines()
            print(
                f"  {self.name} {' '.join(args)}: exit {code}: {text[-1] if text else ''}",
                file=sys.stderr,
            )
        return code == 0

    def pid_of(self, cid):
        with open(f"{self.bundles}/{cid}/pid") as f:
            return int(f.read().strip())


class Floor(Runtime):
    """bench/floor.rs: the container work `run` and `exec` cannot avoid, and nothing else.
    It runs in the foreground only, so `create`, `start`, wait and `delete` are one floor
    run, and the container it execs into is made by brig."""

    def argv(self, cmd, *args):
        if cmd == "run":  # run --bundle B ID
            return [self.binary, args[1], args[2]]
        if cmd == "exec":  # exec ID ARGS...
            cid = args[0]
            return [self.binary, "exec", f"{self.bundles}/{cid}", str(self.pid_of(cid)),
                    *args[1:]]
        raise ValueError(f"brig-floor has no {cmd}")

    def call(self, cmd, *args, **kw):
        return cmd not in ("run", "exec") or super().call(cmd, *args, **kw)


class Timer:
    """Wall and CPU (of all children reaped meanwhile) for one measured step."""

    def __enter__(self):
        self.cpu0 = REAPER.cpu
        self.wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = REAPER.cpu - self.cpu0


class Results:
    def __init__(self):
        self.rows = {}  # scenario -> runtime -> {"cpu": [..], "wall": [..], "rss": [..]}
        self.notes = {}

    def add(self, scenario, rt, **figures):
        slot = self.rows.setdefault(scenario, {}).setdefault(rt, {})
        for k, v in figures.items():
            slot.setdefault(k, []).append(v)


def wait_for_exit(rt, cid):
    """The container's init: reaped here once the runtime is gone (we are its subreaper)."""
    try:
        REAPER.wait(rt.pid_of(cid))
    except (ChildProcessError, FileNotFoundError):
        pass


# --- scenarios; each does one measured iteration for one runtime -------------------------


def sc_run(rt, res, n, template):
    cid = f"{rt.name}-a{n}"
    b = rt.bundle(cid, ["true"], template)
    with Timer() as t:
        rt.call("run", "--bundle", b, cid)
    res.add("a", rt.name, cpu=t.cpu, wall=t.wall)
    rt.call("delete", "--force", cid)


def sc_lifecycle(rt, res, n, template):
    cid = f"{rt.name}-b{n}"
    b = rt.bundle(cid, ["true"], template)
    with Timer() as t:
        if isinstance(rt, Floor):
            rt.call("run", "--bundle", b, cid)
        else:
            rt.call("create", "--bundle", b, "--pid-file", f"{b}/pid", cid)
            rt.call("start", cid)
            wait_for_exit(rt, cid)
            rt.call("delete", cid)
    res.add("b", rt.name, cpu=t.cpu, wall=t.wall)


def sc_create_force_delete(rt, res, n, template):
    cid = f"{rt.name}-c{n}"
    b = rt.bundle(cid, ["sleep", "1000"], template)
    with Timer() as t:
        rt.call("create", "--bundle", b, "--pid-file", f"{b}/pid", cid)
        rt.call("delete", "--force", cid)
        wait_for_exit(rt, cid)
    res.add("c", rt.name, cpu=t.cpu, wall=t.wall)


def sc_force_delete_running(rt, res, n, template):
    cid = f"{rt.name}-r{n}"
    b = rt.bundle(cid, ["sleep", "1000"], template)
    rt.call("create", "--bundle", b, "--pid-file", f"{b}/pid", cid)
    rt.call("start", cid)
    with Timer() as t:
        rt.call("delete", "--force", cid)
        wait_for_exit(rt, cid)
    res.add("c2", rt.name, cpu=t.cpu, wall=t.wall)


def sc_exec(rt, res, n, template):
    cid = f"{rt.name}-exec"
    with Timer() as t:
        rt.call("exec", cid, "true")
    res.add("d", rt.name, cpu=t.cpu, wall=t.wall)


def sc_state_small(rt, res, n, template):
    with Timer() as t:
        rt.call("state", f"{rt.name}-exec")
    res.add("g3", rt.name, cpu=t.cpu, wall=t.wall)


def sc_hundred(rt, res, n, template, count):
    ids = [f"{rt.name}-e{n}-{i}" for i in range(count)]
    bundles = [rt.bundle(cid, ["sleep", "1000"], template) for cid in ids]
    with Timer() as t:
        for cid, b in zip(ids, bundles):
            rt.call("create", "--bundle", b, "--pid-file", f"{b}/pid", cid)
            rt.call("start", cid)
        rt.call("list")
        for cid in ids:
            rt.call("delete", "--force", cid)
            wait_for_exit(rt, cid)
    res.add("e", rt.name, cpu=t.cpu, wall=t.wall)


def sc_rss(rt, res, n, template):
    cid = f"{rt.name}-f{n}"
    b = rt.bundle(cid, ["true"], template)
    out = f"{WORK}/{rt.name}/time"
    pid = REAPER.spawn(
        ["/usr/bin/time", "-f", "%M", "-o", out, *rt.argv("run", "--bundle", b, cid)],
        stderr=rt.err_file,
    )
    if REAPER.wait(pid) != 0:
        rt.errors += 1
    with open(out) as f:
        res.add("f", rt.name, rss=int(f.read().split()[-1]))
    rt.call("delete", "--force", cid)


def populate(rt, count, template):
    """`count` stopped containers in rt's root (run -d of `true`, then reaped)."""
    ids = []
    for i in range(count):
        cid = f"{rt.name}-g{i}"
        b = rt.bundle(cid, ["true"], template)
        rt.call("run", "-d", "--bundle", b, "--pid-file", f"{b}/pid", cid)
        ids.append(cid)
    REAPER.sweep()
    return ids


def sc_list_many(rt, res, n, template):
    with Timer() as t:
        rt.call("list")
    res.add("g1", rt.name, cpu=t.cpu, wall=t.wall)


def sc_state_many(rt, res, n, template, cid):
    with Timer() as t:
        rt.call("state", cid)
    res.add("g2", rt.name, cpu=t.cpu, wall=t.wall)


def concurrent_loops(rt, res, n, loops, iterations, template):
    """`loops` create/start/wait/delete loops at once; one thread, driven by wait4."""
    plan = {}  # pid -> (loop index, step)
    steps = ["create", "start", "wait", "delete"]
    progress = [(0, 0)] * loops  # (iteration, step index)
    errors = 0

    def launch(i):
        it, s = progress[i]
        cid = f"{rt.name}-h{n}-{i}-{it}"
        b = rt.bundle(cid, ["true"], template)
        step = steps[s]
        if step == "create":
            argv = rt.argv("create", "--bundle", b, "--pid-file", f"{b}/pid", cid)
        elif step == "start":
            argv = rt.argv("start", cid)
        elif step == "wait":
            pid = rt.pid_of(cid)
            if pid in REAPER.exited:
                REAPER.exited.pop(pid)
                return advance(i, 0)
            plan[pid] = (i, step)
            return
        else:
            argv = rt.argv("delete", cid)
        pid = REAPER.spawn(argv, stderr=f"{WORK}/{rt.name}/err-h{i}")
        plan[pid] = (i, step)

    def advance(i, code):
        nonlocal errors
        it, s = progress[i]
        if code != 0 and steps[s] != "wait":
            errors += 1
            with open(f"{WORK}/{rt.name}/err-h{i}", errors="replace") as f:
                print(f"  {rt.name} loop {i}: {steps[s]}: {f.read().strip()}", file=sys.stderr)
        s += 1
        if s == len(steps):
            it, s = it + 1, 0
        progress[i] = (it, s)
        if it < iterations:
            launch(i)

    with Timer() as t:
        for i in range(loops):
            launch(i)
        while plan:
            pid = REAPER.wait_any()
            if pid in plan:
                i, _ = plan.pop(pid)
                code, _ = REAPER.exited.pop(pid)
                advance(i, code)
    rt.errors += errors
    res.add("h", rt.name, cpu=t.cpu, wall=t.wall, errors=errors)


# --- driver ------------------------------------------------------------------------------


def cgroup_mounts():
    with open("/proc/self/mounts") as f:
        return [ln.split()[1] for ln in f if ln.split()[2] in ("cgroup", "cgroup2")]


def leftovers(prefix="brig-bench"):
    found = []
    for d in cgroup_mounts():
        found += [os.path.join(d, e) for e in os.listdir(d) if e.startswith(prefix)]
    # crun, finding /sys/fs/cgroup/unified unmounted, makes plain directories in the tmpfs
    # underneath; they are invisible from the host but are removed all the same.
    hidden = f"{CGROUP_ROOT}/unified"
    if os.path.isdir(hidden) and not os.path.ismount(hidden):
        for e in os.listdir(hidden):
            if e.startswith(prefix):
                shutil.rmtree(os.path.join(hidden, e), ignore_errors=True)
    return found


def cleanup_runtime(rt):
    if os.path.isdir(rt.root):
        for cid in os.listdir(rt.root):
            subprocess.run(rt.argv("delete", "--force", cid), capture_output=True)
    REAPER.sweep()


def rotated(runtimes, n):
    """Round n's order: each runtime goes first in turn. Moving a process into a v1 cgroup
    waits for an RCU grace period unless another move happened just before, so a fixed
    order would favour whoever follows the slowest runtime."""
    k = n % len(runtimes)
    return runtimes[k:] + runtimes[:k]


def interleave(runtimes, rounds, fn, *args):
    for n in range(rounds):
        for rt in rotated(runtimes, n):
            fn(rt, RESULTS, n, *args)


def version(rt):
    out = subprocess.run([rt.binary, "--version"], capture_output=True, text=True).stdout
    lines = out.splitlines()
    # brig's second line is its commit.
    return ", ".join(lines[:2] if rt.name == "brig" else lines[:1]) or "?"


RESULTS = Results()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brig", required=True)
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--hundred", type=int, default=100)
    ap.add_argument("--hundred-rounds", type=int, default=3)
    ap.add_argument("--many", type=int, default=1000)
    ap.add_argument("--loops", type=int, default=20)
    ap.add_argument("--loop-iterations", type=int, default=5)
    ap.add_argument("--ctr-rounds", type=int, default=15)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--burst-rounds", type=int, default=3)
    ap.add_argument("--scale", type=int, default=500)
    ap.add_argument("--groups", default="runtime,containerd,scale",
                    help="runtime (a-h), containerd, scale")
    ap.add_argument("--floor", help="bench/floor.rs's binary (default: brig-floor beside brig)")
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--systemd",
        action="store_true",
        help="the systemd driver's scenarios only (on a host booted with systemd: make bench)",
    )
    a = ap.parse_args()
    # containerd's shim runs the runtime from another directory.
    a.brig, a.rootfs = os.path.abspath(a.brig), os.path.abspath(a.rootfs)
    a.floor = os.path.abspath(a.floor or os.path.join(os.path.dirname(a.brig), "brig-floor"))

    Runtime.systemd = a.systemd
    if a.systemd and not os.path.isdir("/run/systemd/system"):
        die("--systemd: systemd is not running here")
    if not a.systemd and os.path.ismount("/sys/fs/cgroup/unified"):
        die("run through bench/run.sh: /sys/fs/cgroup/unified must be unmounted here")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        die("cannot become a child subreaper")
    shutil.rmtree(WORK, ignore_errors=True)
    for stale in leftovers():
        os.rmdir(stale)

    brig_spec = f"{WORK}/spec"
    os.makedirs(brig_spec)
    subprocess.run([a.brig, "spec", "--bundle", brig_spec], check=True)
    with open(f"{brig_spec}/config.json") as f:
        template = json.load(f)
    # crun 1.8 knows spec versions 1.0.x only; the fields used here are all 1.0.
    template["ociVersion"] = "1.0.2"

    runtimes = [
        Runtime("brig", a.brig, a.rootfs),
        Runtime("crun", shutil.which("crun") or die("crun not installed"), a.rootfs),
        Runtime("runc", shutil.which("runc") or die("runc not installed"), a.rootfs),
    ]
    load_before = os.getloadavg()
    started = time.time()
    try:
        (run_systemd if a.systemd else run_all)(a, runtimes, template)
    finally:
        for rt in runtimes:
            cleanup_runtime(rt)
    left = leftover_units() if a.systemd else leftovers()
    if left:
        print("bench: cgroups left behind:\n  " + "\n  ".join(left), file=sys.stderr)
    for stale in [] if a.systemd else left:
        try:
            os.rmdir(stale)
        except OSError:
            pass
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "duration": time.time() - started,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        # 0: address-space randomisation off (the VM benches turn it off: bench/v2-vm.sh).
        "randomize_va_space": open("/proc/sys/kernel/randomize_va_space").read().strip(),
        "versions": {rt.name: version(rt) for rt in runtimes},
        "errors": {rt.name: rt.errors for rt in runtimes},
        "leftover_cgroups": len(left),
        "args": vars(a),
    }
    with open(a.out, "w") as f:
        json.dump({"meta": meta, "rows": RESULTS.rows}, f, indent=1)
    print(f"bench: results in {a.out} ({meta['duration']:.0f} s)")
    if any(meta["errors"].values()) or left:
        sys.exit(f"bench: errors {meta['errors']}, leftover cgroups {len(left)}")


def leftover_units():
    """The systemd driver's units left by any runtime (the bench's slice is stopped)."""
    patterns = [f"{rt}-*.scope" for rt in ("brig", "crun", "runc")]
    out = subprocess.run(
        ["systemctl", "list-units", "--all", "--plain", "--no-legend", *patterns],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    left = [line.split()[0] for line in out if line.strip()]
    subprocess.run(["systemctl", "stop", "brigbench.slice"], capture_output=True)
    subprocess.run(["systemctl", "reset-failed"], capture_output=True)
    return left


def run_systemd(a, runtimes, template):
    print("bench: (s1) run true, systemd driver", file=sys.stderr)
    interleave(runtimes, a.rounds, sc_run, template)
    print("bench: (s2) create, start, wait, delete, systemd driver", file=sys.stderr)
    interleave(runtimes, a.rounds, sc_lifecycle, template)
    RESULTS.rows = {{"a": "s1", "b": "s2"}[k]: v for k, v in RESULTS.rows.items()}


def run_all(a, runtimes, template):
    groups = a.groups.split(",")
    if "runtime" in groups:
        run_runtime(a, runtimes, template)
    if "containerd" in groups:
        containerd.run(a, runtimes, RESULTS)
    if "scale" in groups:
        scale.run(a, runtimes, RESULTS, template)


def run_runtime(a, runtimes, template):
    floor = Floor("floor", a.floor, a.rootfs)
    with_floor = runtimes + [floor]
    print("bench: (a) run true", file=sys.stderr)
    interleave(with_floor, a.rounds, sc_run, template)
    print("bench: (b) create, start, wait, delete", file=sys.stderr)
    interleave(with_floor, a.rounds, sc_lifecycle, template)
    print("bench: (c) create + delete --force; delete --force of a running container",
          file=sys.stderr)
    interleave(runtimes, a.rounds, sc_create_force_delete, template)
    interleave(runtimes, a.rounds, sc_force_delete_running, template)
    print("bench: (d) exec true", file=sys.stderr)
    for rt in runtimes:
        cid = f"{rt.name}-exec"
        b = rt.bundle(cid, ["sleep", "100000"], template)
        rt.call("run", "-d", "--bundle", b, "--pid-file", f"{b}/pid", cid)
    # The floor execs into a container of its own bundle, made (and deleted) by brig.
    b = floor.bundle("floor-exec", ["sleep", "100000"], template)
    runtimes[0].call("run", "-d", "--bundle", b, "--pid-file", f"{b}/pid", "floor-exec")
    interleave(with_floor, a.rounds, sc_exec, template)
    interleave(runtimes, a.rounds, sc_state_small, template)
    # (e), (g) and (h) are left out with a count of 0 (bench-v2: too slow under TCG).
    if a.hundred:
        print(f"bench: (e) {a.hundred} containers", file=sys.stderr)
        interleave(runtimes, a.hundred_rounds, sc_hundred, template, a.hundred)
    print("bench: (f) peak RSS of run", file=sys.stderr)
    interleave(with_floor, a.rounds, sc_rss, template)
    if a.many:
        print(f"bench: (g) list and state with {a.many} containers", file=sys.stderr)
        many = {rt.name: populate(rt, a.many, template) for rt in runtimes}
        interleave(runtimes, a.rounds, sc_list_many, template)
        for n in range(a.rounds):
            for rt in rotated(runtimes, n):
                sc_state_many(rt, RESULTS, n, template, many[rt.name][a.many // 2])
    for rt in runtimes:
        cleanup_runtime(rt)
    if a.loops:
        print(f"bench: (h) {a.loops} concurrent loops x {a.loop_iterations}", file=sys.stderr)
        interleave(runtimes, 2, concurrent_loops, a.loops, a.loop_iterations, template)


if __name__ == "__main__":
    main()
