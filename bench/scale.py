"""Scale: N containers running `sleep` at once, one runtime after the other.

Create + start of each is timed as the count grows (it must not grow with it); with all
N running, `list`, `state` and `ps --format json` (what containerd's shim calls) of one
container; then `delete --force` of all. Memory per container is MemAvailable before
less MemAvailable with all N running, over N: the containers' inits, their kernel
objects (namespaces, cgroups, mounts) and whatever the runtime keeps alive; other work on
the machine moves it by megabytes, so the median charge of the containers' memory
cgroups is kept too (stable, but blind to what is charged elsewhere). Processes
left behind: bench.py is the subreaper, so anything a runtime leaves running ends up in
its process tree; every such process that is not in a container's cgroup, or whose
executable is the runtime's, is counted (not the whole host's: other work runs here).
"""

import os
import statistics
import sys
import time

# bench.py runs as a script: importing it by name would make a second Reaper.
import __main__ as bench

CALLS = 10


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])  # KiB
    return 0


def charged_kib(rt, cid):
    """What the container's v1 memory cgroup is charged (its processes, kernel memory)."""
    try:
        with open(f"{bench.CGROUP_ROOT}/memory{rt.cgroup(cid)}/memory.usage_in_bytes") as f:
            return int(f.read()) / 1024
    except OSError:
        return float("nan")


def processes():
    """pid -> (ppid, exe, cgroup lines) of every process we may read."""
    found = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{p}/cgroup") as f:
                cgroups = f.read()
            try:
                exe = os.readlink(f"/proc/{p}/exe")
            except OSError:
                exe = ""  # kernel threads
            found[int(p)] = (ppid, exe, cgroups)
        except (OSError, IndexError, ValueError):
            pass
    return found


def left_behind(rt):
    """Processes the runtime left running besides the containers' inits."""
    procs = processes()
    me = os.getpid()
    real = os.path.realpath(rt.binary)
    # runc runs container setup from a sealed memfd copy of itself (/memfd:runc_cloned...).
    names = (real, f"{real} (deleted)")
    left = []
    for pid, (ppid, exe, cgroups) in procs.items():
        if pid == me:
            continue
        ours, p = False, ppid
        for _ in range(64):
            if p == me:
                ours = True
                break
            if p not in procs:
                break
            p = procs[p][0]
        runtime = exe in names or (rt.name in exe and "memfd" in exe)
        if ours and (runtime or ":/brig-bench-" not in cgroups):
            left.append(f"{pid} {exe}")
    return left


def run_one(rt, res, n, template):
    ids = [f"{rt.name}-s{i}" for i in range(n)]
    bundles = [rt.bundle(cid, ["sleep", "100000"], template) for cid in ids]
    bench.REAPER.sweep()
    before = mem_available()
    for cid, b in zip(ids, bundles):
        with bench.Timer() as t:
            rt.call("create", "--bundle", b, "--pid-file", f"{b}/pid", cid)
            rt.call("start", cid)
        res.add("scale_create", rt.name, cpu=t.cpu, wall=t.wall)
    time.sleep(1)  # let freed pages of the last calls come back
    during = mem_available()
    charged = statistics.median(charged_kib(rt, cid) for cid in ids)
    left = left_behind(rt)
    for line in left:
        print(f"  {rt.name}: left behind: {line}", file=sys.stderr)
    one = ids[n // 2]
    for key, args in (("scale_list", ("list",)), ("scale_state", ("state", one)),
                      ("scale_ps", ("ps", "--format", "json", one))):
        for _ in range(CALLS):
            with bench.Timer() as t:
                rt.call(*args)
            res.add(key, rt.name, cpu=t.cpu, wall=t.wall)
    with bench.Timer() as t:
        for cid in ids:
            rt.call("delete", "--force", cid)
            bench.wait_for_exit(rt, cid)
    res.add("scale_delete", rt.name, cpu=t.cpu, wall=t.wall)
    res.add("scale", rt.name, mem_kib=(before - during) / n, charged_kib=charged, left=len(left))


def run(a, runtimes, res, template):
    print(f"bench: (scale) {a.scale} containers running sleep", file=sys.stderr)
    for rt in runtimes:
        try:
            run_one(rt, res, a.scale, template)
        finally:
            bench.cleanup_runtime(rt)

