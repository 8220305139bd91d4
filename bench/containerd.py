"""Through containerd: `ctr run --rm` of `true` with each runtime as the shim's runc.

A private containerd (config, root, state, socket in a temp dir under bench.py's work
directory; /run/containerd only gets the shims' socket directory, which the shim fixes
there, removed again if it was not there before), as tests/containerd/run.sh starts it.
Containers use the fixture as `--rootfs`, as bench.py's bundles do.

CPU of a step: everything bench.py reaps meanwhile (ctr, and the shims: containerd's
`shim start` exits, so the shim daemon is reparented to bench.py, the subreaper, and its
rusage holds the runtime calls and the container it reaped) plus containerd's own
utime+stime+cutime+cstime delta (cutime: the `shim start` processes it waits for).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# bench.py runs as a script: importing it by name would make a second Reaper.
import __main__ as bench

NS = "brigbench"
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SHIM_SOCKETS = "/run/containerd/s"


def proc_stat(pid):
    """Fields of /proc/pid/stat after the command name (field 3 is index 0)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def children(ppid):
    """Pids whose parent is ppid."""
    found = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if int(proc_stat(p)[1]) == ppid:
                    found.append(int(p))
            except (OSError, IndexError):
                pass
    return found


class Containerd:
    def __init__(self, rootfs):
        self.rootfs = rootfs
        self.dir = tempfile.mkdtemp(prefix="containerd.", dir=bench.WORK)
        self.sock = f"{self.dir}/containerd.sock"
        self.pid = None
        self.made_run_dirs = [d for d in ("/run/containerd", SHIM_SOCKETS) if not os.path.exists(d)]
        self.tick = os.sysconf("SC_CLK_TCK")

    def start(self):
        for d in ("root", "state", "fifo", "opt"):
            os.makedirs(f"{self.dir}/{d}")
        with open(f"{self.dir}/config.toml", "w") as f:
            f.write(
                f'version = 2\nroot = "{self.dir}/root"\nstate = "{self.dir}/state"\n'
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                f'[grpc]\n  address = "{self.sock}"\n'
                f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{self.dir}/opt"\n'
            )
        argv = [shutil.which("containerd") or bench.die("containerd not installed"),
                "--config", f"{self.dir}/config.toml"]
        log = f"{self.dir}/containerd.log"
        self.pid = bench.REAPER.spawn(argv, stdout=log, stderr=log)
        for _ in range(200):
            if subprocess.run(self.ctr("version"), capture_output=True, timeout=5).returncode == 0:
                return
            time.sleep(0.1)
        with open(log, errors="replace") as f:
            tail = "".join(f.readlines()[-20:])
        bench.die(f"containerd did not answer on {self.sock}:\n{tail}")

    def ctr(self, *args):
        return ["/usr/bin/ctr", "--address", self.sock, "--namespace", NS, *args]

    def quiet(self, *args):
        """ctr's output, for the cleanup: errors ignored, bounded."""
        try:
            out = subprocess.run(self.ctr(*args), capture_output=True, text=True, timeout=30)
            return out.stdout
        except subprocess.TimeoutExpired:
            return ""

    def run_argv(self, rt, cid, *cmd):
        return self.ctr(
            "run", "--rm", "--runc-binary", rt.binary, "--runc-root", f"{self.dir}/root-{rt.name}",
            "--fifo-dir", f"{self.dir}/fifo", "--env", PATH, "--cgroup", f"/brig-bench-{cid}",
            "--rootfs", self.rootfs, cid, *cmd)

    def cpu(self):
        """containerd's CPU so far, itself and the children it reaped."""
        f = proc_stat(self.pid)
        return sum(int(x) for x in f[11:15]) / self.tick

    def settle(self, timeout=20):
        """Reap the shims (our children other than containerd) once they exit."""
        deadline = time.monotonic() + timeout
        while [p for p in children(os.getpid()) if p != self.pid]:
            if time.monotonic() > deadline:
                print("  containerd: a shim did not exit", file=sys.stderr)
                return
            bench.REAPER.sweep()
            time.sleep(0.002)
        bench.REAPER.sweep()

    def stop(self):
        """Tasks and containers left by a failure, containerd, shims, cgroups, the dir."""
        if self.pid:
            for cid in self.quiet("task", "ls", "-q").split():
                self.quiet("task", "kill", "-a", "-s", "SIGKILL", cid)
                self.quiet("task", "rm", "-f", cid)
            for cid in self.quiet("container", "ls", "-q").split():
                self.quiet("container", "rm", cid)
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while self.pid in children(os.getpid()) and time.monotonic() < deadline:
                bench.REAPER.sweep()
                time.sleep(0.05)
            for pid in children(os.getpid()):  # containerd if it hung, shims still running
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
            bench.REAPER.sweep()
        for d in reversed(self.made_run_dirs):
            try:
                os.rmdir(d)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def sc_ctr_run(rt, res, n, cd):
    cid = f"{rt.name}-ctr{n}"
    c0 = cd.cpu()
    with bench.Timer() as t:
        pid = bench.REAPER.spawn(cd.run_argv(rt, cid, "true"), stderr=rt.err_file)
        code = bench.REAPER.wait(pid)
        wall = time.perf_counter() - t.wall0
        cd.settle()
    if code != 0:
        report(rt, cid, code)
    res.add("ctr", rt.name, cpu=t.cpu + cd.cpu() - c0, wall=wall)


def sc_ctr_burst(rt, res, n, cd, count):
    """`count` ctr runs at once, the pod-start burst a kubelet sends."""
    c0 = cd.cpu()
    errors = 0
    with bench.Timer() as t:
        pids = {}
        for i in range(count):
            cid = f"{rt.name}-burst{n}-{i}"
            err = f"{bench.WORK}/{rt.name}/err-burst{i}"
            pids[bench.REAPER.spawn(cd.run_argv(rt, cid, "true"), stderr=err)] = (cid, err)
        for pid, (cid, err) in pids.items():
            code = bench.REAPER.wait(pid)
            if code != 0:
                errors += 1
                report(rt, cid, code, err)
        wall = time.perf_counter() - t.wall0
        cd.settle()
    rt.errors += errors
    res.add("burst", rt.name, cpu=t.cpu + cd.cpu() - c0, wall=wall, errors=errors)


def report(rt, cid, code, err_file=None):
    if err_file is None:
        rt.errors += 1
    with open(err_file or rt.err_file, errors="replace") as f:
        text = f.read().strip().splitlines()
    print(f"  {rt.name} ctr run {cid}: exit {code}: {text[-1] if text else ''}", file=sys.stderr)


def run(a, runtimes, res):
    cd = Containerd(a.rootfs)
    try:
        cd.start()
        print("bench: (ctr) ctr run --rm true through containerd", file=sys.stderr)
        for n in range(a.ctr_rounds):
            for rt in bench.rotated(runtimes, n):
                sc_ctr_run(rt, res, n, cd)
        print(f"bench: (burst) {a.burst} ctr run --rm true at once", file=sys.stderr)
        for n in range(a.burst_rounds):
            for rt in bench.rotated(runtimes, n):
                sc_ctr_burst(rt, res, n, cd, a.burst)
    finally:
        cd.stop()
