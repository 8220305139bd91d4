#!/usr/bin/env python3
"""Turn bench.py's JSON into BENCHMARKS.md: figures, ratios and the targets of issues #7, #17."""

import collections
import json
import statistics
import sys

SCENARIOS = [
    ("a", "`run` of `true`"),
    ("b", "`create`, `start`, wait, `delete`"),
    ("c", "`create`, then `delete --force`"),
    ("c2", "`delete --force` of a running container"),
    ("d", "`exec true` into a running container"),
    ("e", "{hundred} containers created and started, `list`, all `delete --force`d"),
    ("g1", "`list` with {many} containers in the root"),
    ("g2", "`state` with {many} containers in the root"),
    ("g3", "`state` with 1 container in the root"),
    ("h", "{loops} concurrent create/start/wait/delete loops x {iters}"),
]

# (scenario, what, test) -> a sentence and whether it is met
CPU_TARGET = 0.8
FLOOR_TARGET = 1.3
CPU_TARGET_17 = 0.6


def med(v):
    return statistics.median(v) if v else float("nan")


def ms(v):
    return f"{v * 1000:.1f}"


def main():
    if sys.argv[1] == "--v2-only":
        with open(sys.argv[3], "w") as out:
            v2_section(out.write, json.load(open(sys.argv[2])))
        return
    data = json.load(open(sys.argv[1]))
    out = open(sys.argv[2], "w")
    meta, rows = data["meta"], data["rows"]
    args = meta["args"]
    fmt = {
        "hundred": args["hundred"],
        "many": args["many"],
        "loops": args["loops"],
        "iters": args["loop_iterations"],
    }
    w = out.write
    w("# Benchmarks\n\n")
    w("Written by `make bench` (bench/run.sh, bench/bench.py, bench/report.py); do not edit by hand.\n\n")
    w(f"- Date: {meta['date']}; the run took {meta['duration']:.0f} s.\n")
    w(f"- Machine: {meta['cpus']} CPUs, Linux {meta['kernel']}; load average before "
      f"{meta['load_before'][0]:.2f}, after {meta['load_after'][0]:.2f} (1 min).\n")
    for name, v in meta["versions"].items():
        w(f"- {name}: {v}\n")
    w(f"- Rounds: {args['rounds']} per scenario (e: {args['hundred_rounds']}, h: 2), "
      "the runtimes interleaved, each going first in turn.\n")
    w(f"- Errors: {meta['errors']}; cgroups left behind: {meta['leftover_cgroups']}.\n\n")

    w("## Method\n\n")
    w("All three runtimes run the same bundles: `brig spec` (runc's default spec) with the\n"
      "fixture busybox rootfs, `terminal: false`, an absolute cgroupsPath per container, and\n"
      "`ociVersion` 1.0.2 (crun 1.8 knows no later one). crun 1.8 refuses this hybrid cgroup\n"
      "host, so the whole run happens in a private mount namespace where\n"
      "/sys/fs/cgroup/unified is unmounted: every runtime sees the same cgroup v1 host, and\n"
      "no per-call wrapper adds its cost to the figures.\n\n"
      "CPU is user+sys time of the runtime and every process it starts, container processes\n"
      "included: the driver is a child subreaper, so a container init that outlives the\n"
      "runtime is reaped by it and counted in the step that made it. Wall time is from\n"
      "spawn to reap. CPU time is the stable figure on this shared 2-core machine; wall time\n"
      "is noisy. Peak RSS is `/usr/bin/time -f %M` around `run`: the largest resident set\n"
      "of the runtime and its children. \"wait\" in (b) is a wait4 on the container's init,\n"
      "no polling.\n\n"
      "Wall time on this kernel is dominated by one wait all three runtimes share: the first\n"
      "write of a pid to a v1 cgroup.procs waits for an RCU grace period (3 to 20 ms here,\n"
      "seen with strace -T on brig and crun alike) unless another move happened just\n"
      "before. The order of the runtimes rotates each round so none is favoured.\n\n"
      "What that wait is, and why brig does not overlap it (issue #17): `strace -f -T -e\n"
      "trace=write` of five `run`s each on 2026-12-02 gave, for the first cgroup.procs write,\n"
      "9.1, 15.8, 4.3, 15.6 and 18.4 ms in brig and 15.2, 11.6, 10.1, 11.8 and 16.1 ms in\n"
      "crun; every later write of the same run (the other eight hierarchies) took 8 to 460\n"
      "µs. The write takes the cgroup threadgroup rwsem for writing, whose percpu fast path\n"
      "must be switched off first (an RCU grace period) unless a writer left it within the\n"
      "last grace period. Joining from the parent before the fork moves brig itself and\n"
      "then back, the same wait. Letting the child mount while the parent writes would\n"
      "charge its kernel memory to the caller's memory cgroup and check its mknods against\n"
      "the caller's device cgroup, so brig keeps runc's order: the child waits in its\n"
      "cgroup's place until it is moved. On cgroup v2 the wait is gone: the child is born\n"
      "in its cgroup (clone3 with CLONE_INTO_CGROUP).\n\n"
      "CVE-2019-5736 protection is in the figures: crun re-executes itself through a read-\n"
      "only bind mount of its binary on every call, runc copies itself (a sealed memfd) for\n"
      "every container process; brig re-executes once from a read-only clone of its own mount\n"
      "(no copy) before `exec`, and before `create`/`run` only when the container could reach\n"
      "its image (no user namespace and CAP_SYS_PTRACE, or a shared pid namespace), which the\n"
      "default spec here cannot. The re-exec costs brig about 1 ms of CPU: measured on `run\n"
      "true` with the container given CAP_SYS_PTRACE (re-exec) against the same binary on a\n"
      "read-only bind mount (none), 30 pairs interleaved, CPU ratio 1.13; and in (d), 0.54 of\n"
      "crun's CPU before it, 0.62-0.69 after.\n\n")

    w("## Results (medians; min in brackets)\n\n")
    results_table(w, rows, fmt)
    f = rows.get("f")
    if f:
        rss = {rt: med(f[rt]["rss"]) for rt in f}
        w(f"\n(f) Peak RSS during `run`, KiB (median): brig {rss['brig']:.0f}, crun "
          f"{rss['crun']:.0f}, runc {rss['runc']:.0f}; brig/crun {rss['brig'] / rss['crun']:.2f}.\n")
    h = rows.get("h")
    if h:
        w("\n(h) errors per runtime: "
          + ", ".join(f"{rt} {sum(h[rt]['errors'])}" for rt in h) + ".\n")

    floor_section(w, rows)
    rss_attempts(w)
    containerd_section(w, rows, args)
    scale_section(w, rows, args)

    w("\n## Targets (issues #7, #17)\n\n| target | figure | met |\n|---|---|---|\n")

    def target(text, figure, ok):
        w(f"| {text} | {figure} | {'yes' if ok else '**no**'} |\n")

    def cpu_ratio(key):
        return med(rows[key]["brig"]["cpu"]) / med(rows[key]["crun"]["cpu"])

    def wall(key, rt):
        return med(rows[key][rt]["wall"])

    for key in ("a", "b", "d"):
        if key in rows:
            r = cpu_ratio(key)
            target(f"({key}) brig/crun CPU ≤ {CPU_TARGET}", f"{r:.2f}", r <= CPU_TARGET)
    if "a" in rows:
        r = cpu_ratio("a")
        target(f"(a) brig/crun CPU ≤ {CPU_TARGET_17} (issue #17)", f"{r:.2f}", r <= CPU_TARGET_17)
    if "floor" in rows.get("a", {}):
        r = med(rows["a"]["brig"]["cpu"]) / med(rows["a"]["floor"]["cpu"])
        target(f"(a) brig CPU ≤ {FLOOR_TARGET} × the floor's", f"{r:.2f}", r <= FLOOR_TARGET)
    for key in ("a", "b", "c", "d", "e"):
        if key in rows:
            b, c = wall(key, "brig"), wall(key, "crun")
            target(f"({key}) wall ≤ crun", f"{ms(b)} vs {ms(c)} ms", b <= c)
            MISSED["wall"] = MISSED.get("wall", False) or b > c
    if "c2" in rows:
        b = wall("c2", "brig")
        target("`delete --force` of a running container < 15 ms wall", f"{ms(b)} ms", b < 0.015)
    if f:
        target("(f) peak RSS ≤ crun", f"{rss['brig']:.0f} vs {rss['crun']:.0f} KiB",
               rss["brig"] <= rss["crun"])
        MISSED["rss"] = rss["brig"] > rss["crun"]
    if "g1" in rows:
        b = wall("g1", "brig")
        target(f"(g) `list` with {fmt['many']} containers < 50 ms", f"{ms(b)} ms", b < 0.050)
    if "g2" in rows and "g3" in rows:
        many, one = med(rows["g2"]["brig"]["cpu"]), med(rows["g3"]["brig"]["cpu"])
        target(f"(g) `state` CPU independent of the number of containers ({fmt['many']} vs 1)",
               f"{ms(many)} vs {ms(one)} ms", many <= one * 1.25 + 0.0005)
    if h:
        errs = sum(h["brig"]["errors"])
        target("(h) zero errors and no leftovers",
               f"{errs} errors, {meta['leftover_cgroups']} cgroups left",
               errs == 0 and meta["leftover_cgroups"] == 0)
    if "ctr" in rows:
        b, c = wall("ctr", "brig"), wall("ctr", "crun")
        target("(ctr) containerd `ctr run --rm` wall ≤ crun", f"{ms(b)} vs {ms(c)} ms", b <= c)
    if "scale_create" in rows:
        bk = buckets(rows["scale_create"]["brig"]["wall"])
        size = max(1, args["scale"] // 10)
        target(f"(scale) `create` + `start` wall does not grow with the count: median of the "
               f"last {size} ≤ 1.25 × the first {size}'s", f"{ms(bk[-1])} vs {ms(bk[0])} ms",
               bk[-1] <= bk[0] * 1.25)
        left = sum(rows["scale"]["brig"]["left"])
        target(f"(scale) brig leaves no process besides the containers' inits "
               f"({args['scale']} running)",
               f"{left}", left == 0)
    if len(sys.argv) > 4:
        v2_section(w, json.load(open(sys.argv[4])))
    if len(sys.argv) > 3:
        systemd_section(w, json.load(open(sys.argv[3])))
    if "floor" in rows.get("a", {}):
        w("\n## Where brig's CPU above the floor goes\n\n")
        w(CPU_ABOVE_FLOOR.format(floor=ms(med(rows["a"]["floor"]["cpu"])),
                                 goal=ms(CPU_TARGET_17 * med(rows["a"]["crun"]["cpu"])))
          + "\n")
    misses = [k for k, ok in MISSED.items() if ok]
    if misses:
        w("\n## What bounds the targets not met\n\n")
        for k in misses:
            w(BOUNDS[k] + "\n\n")
    out.close()


def results_table(w, rows, fmt):
    """The runtime scenarios present in rows, one line each (titles filled from fmt)."""
    w("| scenario | brig CPU ms | crun CPU ms | runc CPU ms | brig wall ms | crun wall ms "
      "| runc wall ms | brig/crun CPU | brig/runc CPU | brig/crun wall |\n")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for key, title in SCENARIOS:
        if key in rows:
            w(table_row(f"({key}) {title.format_map(collections.defaultdict(str, fmt))}",
                        rows[key], "crun"))


def table_row(title, r, wall_vs):
    """One scenario: CPU and wall medians [min] per runtime, then brig/crun and brig/runc
    CPU and brig's wall against `wall_vs`."""
    cells = [title]
    for fig in ("cpu", "wall"):
        for rt in ("brig", "crun", "runc"):
            v = r[rt][fig]
            cells.append(f"{ms(med(v))} [{ms(min(v))}]")
    b, c, u = (med(r[rt]["cpu"]) for rt in ("brig", "crun", "runc"))
    cells += [f"{b / c:.2f}", f"{b / u:.2f}",
              f"{med(r['brig']['wall']) / med(r[wall_vs]['wall']):.2f}"]
    return "| " + " | ".join(cells) + " |\n"


def buckets(values, count=10):
    """Medians of `count` consecutive slices of values, in creation order."""
    size = max(1, len(values) // count)
    return [med(values[i:i + size]) for i in range(0, len(values), size)]


def floor_section(w, rows, heading="## Against the floor"):
    """brig against bench/floor.rs, the work the kernel makes unavoidable."""
    keys = [k for k in ("a", "b", "d") if "floor" in rows.get(k, {})]
    if not keys:
        return
    w(f"\n{heading}\n\n")
    w("`brig-floor` (bench/floor.rs, built with brig, statically) does for the same bundle only\n"
      "what the kernel makes unavoidable: the cgroup (directories, device rules), a clone into\n"
      "the spec's namespaces, loopback up, session keyring, the spec's mounts, devices,\n"
      "pivot_root, hostname, masked and read-only paths, rlimits, user, capabilities,\n"
      "no_new_privs, seccomp (none in this spec), execve, the wait and the cgroup's removal;\n"
      "no state, no checks, no error handling. It runs in the foreground, so in (b) it is one\n"
      "run; in (d) it joins the namespaces and cgroup of a container brig made, where brig\n"
      "also re-executes itself from a read-only image first (CVE-2019-5736, about 1 ms:\n"
      "Method). It was interleaved with the runtimes above, in the same rounds.\n\n")
    w("| scenario | brig CPU ms | floor CPU ms | brig/floor CPU | crun/floor CPU "
      "| brig wall ms | floor wall ms | brig/floor wall |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for key in keys:
        r = rows[key]
        b, f, c = (med(r[rt]["cpu"]) for rt in ("brig", "floor", "crun"))
        bw, fw = med(r["brig"]["wall"]), med(r["floor"]["wall"])
        title = dict(SCENARIOS)[key]
        w(f"| ({key}) {title} | {ms(b)} | {ms(f)} | {b / f:.2f} | {c / f:.2f} | {ms(bw)} "
          f"| {ms(fw)} | {bw / fw:.2f} |\n")
    f = rows.get("f", {})
    if "floor" in f:
        w(f"\n(f) Peak RSS of `run`, KiB: brig {med(f['brig']['rss']):.0f}, floor "
          f"{med(f['floor']['rss']):.0f}.\n")


def rss_attempts(w):
    """What was tried for peak RSS (issue #17), measured once; the figures are not rerun."""
    w("\n## Peak RSS: what was tried (issue #17, measured 2026-12-02 and 03)\n\n")
    w("Each attempt was built as `make release` builds (static glibc and libseccomp, LTO, the\n"
      "symbol-order file) from the same tree and run interleaved with crun 1.8, 15 rounds,\n"
      "`/usr/bin/time -f %M` around `run` of `true` with this bench's bundle; medians in KiB.\n"
      "brig's figure is the same every round (the same pages fault with a warm page cache);\n"
      "crun's varies by about 100 KiB. Where the memory went was read from /proc/PID/smaps\n"
      "brig process held at its execve or exit (strace delay injection).\n\n")
    w("| attempt | what it changes | brig | crun | kept |\n|---|---|---:|---:|---|\n")
    for row in RSS_ATTEMPTS:
        w("| " + " | ".join(row) + " |\n")
    w("\nLeft (2026-12-03): of the 219 KiB of relocated read-only data every static-PIE start\n"
      "writes, 84 KiB remain (4,917 relocated words, after regex's Unicode tables went): mostly\n"
      "pointers to string constants of LTO-internalised tables, format strings and panic\n"
      "locations; the lever for those (`-Z location-detail=none`) needs a nightly compiler.\n")


RSS_ATTEMPTS = [
    ("before (91db4a3)", "—", "4284", "3356-3408", "—"),
    ("`-z pack-relative-relocs`", "11614 relative relocations become DT_RELR (.rela.dyn "
     "273 KB → 0.8 KB plus 3.6 KB of .relr.dyn; glibc 2.36 applies it in the static-PIE "
     "start-up): the parent's read-only mappings shrink by 256 KiB", "4156", "3372", "yes"),
    ("hot list by exact symbol", "build/hot-functions.txt had lost the symbol hashes, so "
     "every instance of a listed generic was linked first (1202 symbols, 1.6 MB of the 5.6 MB "
     "of text); with the hashes, 778 symbols (860 KB). Measured alone", "2684", "3356", "yes"),
    ("both", "the parent's resident text 3192 → 1464 KiB", "2428", "3356-3408", "yes"),
    ("hot list from call stacks (2026-12-03)", "build/hot-functions.sh also records with "
     "DWARF call graphs, and every brig function on a sampled stack counts (530 of 726): the "
     "brief ones that call into the kernel sat in 64 KiB windows of their own. `make bench` "
     "at 8183442", "1988", "3312", "yes"),
    ("fewer relocated pointers: regex-lite for oci-spec's regex (2026-12-03)", "shims/regex: "
     "regex's Unicode tables, 135 KB of .data.rel.ro and 6,700 of the 11,640 relocations, "
     "gone; binary 8.3 → 7.0 MB. The rest looked at, not changed: see below. `make bench` "
     "at 2aaed00", "1612", "3364", "yes"),
    ("lazy command-line definition", "already so: `cli::command_for` builds only the "
     "subcommand run", "—", "—", "—"),
    ("the init's code first, and no clap stubs (2026-12-03)", "build/hot-functions.sh puts "
     "the functions on the forked init's stacks first (the init maps its code anew: 13 code "
     "faults became 8); `cli::command_for` no longer builds the other subcommands as bare "
     "names (32 Command structs, 22 KiB of heap). `make bench` at dd68682", "1384", "3364",
     "yes"),
]


def containerd_section(w, rows, args):
    """(ctr) and (burst): bench/containerd.py."""
    if "ctr" not in rows and "burst" not in rows:
        return
    w("\n## Through containerd\n\n")
    w("A private containerd (Debian's 1.6, its own root, state and socket) runs each container\n"
      "with `ctr run --rm --runc-binary RUNTIME --rootfs FIXTURE --cgroup /ID ID true`, the\n"
      "runtimes interleaved. Wall is ctr's, spawn to exit. CPU is ctr, the shim (reparented to\n"
      "the bench, which reaps it with the runtime calls and the container in its rusage) and\n"
      "containerd's own user+sys (and its reaped `shim start`), read from /proc before and\n"
      f"after. (burst): {args.get('burst')} of those at once per runtime, the pod-start burst a\n"
      "kubelet sends; wall until the last ctr exits.\n\n")
    w("| scenario | brig CPU ms | crun CPU ms | runc CPU ms | brig wall ms | crun wall ms "
      "| runc wall ms | brig/crun CPU | brig/runc CPU | brig/crun wall |\n")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    if "ctr" in rows:
        w(table_row(f"(ctr) `ctr run --rm` of `true`, {args.get('ctr_rounds')} rounds",
                    rows["ctr"], "crun"))
    b = rows.get("burst")
    if b:
        w(table_row(f"(burst) {args.get('burst')} `ctr run --rm` at once, "
                    f"{args.get('burst_rounds')} rounds", b, "crun"))
        w("\n(burst) errors per runtime: "
          + ", ".join(f"{rt} {sum(b[rt]['errors'])}" for rt in b) + ".\n")


def scale_section(w, rows, args):
    """(scale): bench/scale.py."""
    if "scale_create" not in rows:
        return
    n = args["scale"]
    w(f"\n## Scale: {n} containers running\n\n")
    w(f"Per runtime, one after the other: {n} containers running `sleep` (`create` + `start`\n"
      "each, timed one by one); with all running, `list`, `state` and `ps --format json` (what\n"
      "containerd's shim calls) of one of them, 10 calls each; then `delete --force` of all.\n"
      "Memory per container is MemAvailable before less MemAvailable with all running, over\n"
      f"{n}: the inits, their kernel objects and anything the runtime keeps alive; other work\n"
      "on this machine moves it by megabytes either way, so the median of what each\n"
      "container's memory cgroup is charged (steady, but blind to memory charged elsewhere)\n"
      "follows it. Processes left: in the bench's process tree (it is the subreaper, so\n"
      "anything a runtime leaves running lands there) and not in a container's cgroup, or\n"
      "running the runtime's binary.\n\n")
    create = rows["scale_create"]
    size = max(1, n // 10)
    w(f"`create` + `start`, median per {size} containers, in creation order:\n\n")
    w("| containers | brig CPU ms | crun CPU ms | runc CPU ms | brig wall ms | crun wall ms "
      "| runc wall ms |\n|---|---:|---:|---:|---:|---:|---:|\n")
    cols = {(rt, fig): buckets(create[rt][fig]) for rt in create for fig in ("cpu", "wall")}
    for i in range(len(cols["brig", "cpu"])):
        cells = [f"{i * size}-{min(n, (i + 1) * size) - 1}"]
        cells += [ms(cols[rt, fig][i]) for fig in ("cpu", "wall")
                  for rt in ("brig", "crun", "runc")]
        w("| " + " | ".join(cells) + " |\n")
    w(f"\nWith {n} running (medians; min in brackets):\n\n")
    w("| command | brig CPU ms | crun CPU ms | runc CPU ms | brig wall ms | crun wall ms "
      "| runc wall ms | brig/crun CPU | brig/runc CPU | brig/crun wall |\n")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for key, title in (("scale_list", "`list`"), ("scale_state", "`state ID`"),
                       ("scale_ps", "`ps --format json ID`"),
                       ("scale_delete", f"`delete --force` of all {n}, total")):
        if key in rows:
            w(table_row(title, rows[key], "crun"))
    d, sc = rows["scale_delete"], rows["scale"]
    rts = ("brig", "crun", "runc")
    w("\n`delete --force` per container, ms CPU / wall: "
      + ", ".join(f"{rt} {ms(d[rt]['cpu'][0] / n)} / {ms(d[rt]['wall'][0] / n)}" for rt in rts)
      + ".\nMemory per running container, KiB, MemAvailable / charged to its memory cgroup: "
      + ", ".join(f"{rt} {sc[rt]['mem_kib'][0]:.0f} / {sc[rt]['charged_kib'][0]:.0f}"
                  for rt in rts)
      + ".\nProcesses left behind with all running: "
      + ", ".join(f"{rt} {sc[rt]['left'][0]}" for rt in rts) + ".\n")


def tcg_aslr(meta):
    """How the VM bench ran with respect to address-space randomisation (bench/v2-vm.sh)."""
    if meta.get("randomize_va_space", "2") == "0":
        return ("address-space randomisation off in the guest (bench/v2-vm.sh: QEMU 7.2's TCG "
                "translates a process's code anew at each random load address, a cost real CPUs "
                "and KVM do not have; with it on, brig's `run` took twice the CPU)")
    return ("address-space randomisation on in the guest, so QEMU's translation of each "
            "process's code at its random address is in every figure (bench/v2-vm.sh)")


def v2_section(w, data):
    """The runtime scenarios on pure cgroup v2, in the v2 VM (bench/v2-vm.sh)."""
    meta, rows = data["meta"], data["rows"]
    w("\n## Pure cgroup v2 (in the v2 VM)\n\n")
    w(f"- Date: {meta['date']}; the run took {meta['duration']:.0f} s; {meta['cpus']} vCPUs "
      f"under QEMU TCG, Linux {meta['kernel']}, cgroup2 alone (tests/v2vm, `make bench-v2`); "
      f"{tcg_aslr(meta)}.\n")
    for name, v in meta["versions"].items():
        w(f"- {name}: {v}\n")
    w(f"- Rounds: {meta['args']['rounds']} per scenario, interleaved, each runtime first in "
      f"turn (the floor too); errors {meta['errors']}, cgroups left behind: "
      f"{meta['leftover_cgroups']}.\n")
    w("- The same bundles and method as above. brig's init is born in its cgroup (clone3 with\n"
      "  CLONE_INTO_CGROUP), so no cgroup.procs write and no wait for the cgroup lock; crun\n"
      "  1.8 and runc 1.1 write cgroup.procs. Under TCG everything is slow: the ratios, from\n"
      "  one interleaved run, are what count.\n\n")
    results_table(w, rows, {})
    f = rows.get("f")
    if f:
        w(f"\n(f) Peak RSS during `run`, KiB (median): "
          + ", ".join(f"{rt} {med(f[rt]['rss']):.0f}" for rt in f) + ".\n")
    floor_section(w, rows, "### Against the floor, on v2")
    w("\nTargets (issue #17, v2):\n\n| target | figure | met |\n|---|---|---|\n")
    for key in ("a", "b"):
        if key not in rows:
            continue
        r = rows[key]
        cpu = med(r["brig"]["cpu"]) / med(r["crun"]["cpu"])
        wall = med(r["brig"]["wall"]) / med(r["crun"]["wall"])
        w(f"| ({key}) brig/crun CPU ≤ 0.6 | {cpu:.2f} | {'yes' if cpu <= 0.6 else '**no**'} |\n")
        w(f"| ({key}) brig/crun wall ≤ 0.8 | {wall:.2f} | {'yes' if wall <= 0.8 else '**no**'} |\n")
    if "floor" in rows.get("a", {}):
        r = rows["a"]
        b, c, f = (med(r[rt]["cpu"]) for rt in ("brig", "crun", "floor"))
        walls = [k for k in ("a", "b") if k in rows
                 and med(rows[k]["brig"]["wall"]) <= 0.8 * med(rows[k]["crun"]["wall"])]
        met = " and ".join(f"({k})" for k in walls) or "neither (a) nor (b)"
        w(f"\nWhat bounds them: in (a) brig takes {b / f:.2f} and crun {c / f:.2f} times the "
          f"floor's CPU;\n0.6 of crun would be {0.6 * c / f:.2f} times the floor. The birth in the "
          f"cgroup removes the\ncgroup.procs wait, which is what the wall goals were about: "
          f"{met} meet it.\n")
        w(V2_ABOVE_FLOOR)


def systemd_section(w, data):
    """The systemd driver's scenarios, run in the systemd VM (bench/systemd-vm.sh)."""
    meta, rows = data["meta"], data["rows"]
    w("\n## The systemd cgroup driver (in the systemd VM)\n\n")
    w(f"- Date: {meta['date']}; {meta['cpus']} vCPUs under QEMU TCG, Linux {meta['kernel']}, "
      f"systemd 252 as PID 1 on pure cgroup v2 (tests/v2vm, V2VM_SYSTEMD=unified); "
      f"{tcg_aslr(meta)}.\n")
    w(f"- Rounds: {meta['args']['rounds']} per scenario, interleaved, each runtime first in turn; "
      f"errors {meta['errors']}, units left behind: {meta['leftover_cgroups']}.\n")
    w("- Every call has `--systemd-cgroup`, every cgroupsPath is `brigbench.slice:<runtime>:<id>`:\n"
      "  each container is a transient scope that the runtime asks systemd for over D-Bus and\n"
      "  waits for. CPU counts the runtime and its children, not systemd's own work. Under TCG\n"
      "  everything is slow: the ratios, from one interleaved run, are what count.\n\n")
    w("| scenario | brig CPU ms | crun CPU ms | runc CPU ms | brig wall ms | crun wall ms "
      "| runc wall ms | brig/crun CPU | brig/runc CPU | brig/runc wall |\n")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    titles = {"s1": "`run` of `true`", "s2": "`create`, `start`, wait, `delete`"}
    for key, title in titles.items():
        if key in rows:
            w(table_row(f"({key}) {title}", rows[key], "runc"))
    r = rows.get("s2")
    if r:
        b, u = med(r["brig"]["wall"]), med(r["runc"]["wall"])
        w(f"\nTarget (issue #15): brig's wall below runc's for a systemd create, start and delete: "
          f"{ms(b)} vs {ms(u)} ms, {'met' if b < u else '**not met**'}.\n")


# Explanations of a missed target, measured when it was first missed (see issue #7's note).
MISSED = {}
BOUNDS = {
    "wall": "Wall time of `run`/`create`: the first write of the init's pid to a v1\n"
    "`cgroup.procs` waits for an RCU grace period (`strace -T`: 9-15 ms in brig, 14.7 ms in\n"
    "crun, the same write in both). It is most of a `run`'s wall time and varies with what\n"
    "the machine did just before, so medians of a few milliseconds' difference swing\n"
    "either way between runs; the minimums, and CPU, show brig's own work is smaller.\n"
    "The child cannot set itself up meanwhile: it must be in its cgroup before it\n"
    "allocates anything or unshares its cgroup namespace.",
    "rss": "Peak RSS: the largest of brig's processes is the parent; its resident text is\n"
    "what the code it runs touches, widened by the kernel's 64 KiB fault-around, so the\n"
    "release binary is linked with the sampled hot functions first (build/hot-functions.txt,\n"
    "by exact symbol) and the relocations packed (DT_RELR). A stale hot list (a new rustc\n"
    "or dependency changes the symbol hashes) falls back to address order: `make\n"
    "hot-functions` samples it again.",
}


V2_ABOVE_FLOOR = (
    "\nWhere brig's CPU above the floor goes in the guest: `perf record -a -g` of 40 runs\n"
    "each of brig (at 20f4a35) and the floor, interleaved in one recording (2026-12-03), each\n"
    "sample put under its process and system call, per run with sampling: brig 62.6 ms, the\n"
    "floor 45.0. Of the 17.6 ms between them: opening, closing and stating files +4.2\n"
    "(openat2 with RESOLVE_IN_ROOT for each destination and path list entry, the fds then\n"
    "closed, the state's files); page faults +3.6 (copy-on-write after the fork: 95 samples\n"
    "in brig's parent against the floor's 26, as brig's parent goes on working after it;\n"
    "code faults, 124 against 81); user code +3.2 (malloc and free a fifth of it, the\n"
    "config.json parse, clap); system call entry and exit +2.4 (brig makes about 390 system\n"
    "calls a run, the floor about 210); mounts +1.6; the init channel +1.1; the state's and\n"
    "cgroup's files +0.7. The same recording of the code before this session's second round\n"
    "(at 4e31a68) counted 9% more samples for brig (getrusage over 120 runs each: 5% less\n"
    "CPU). What went: the LSM files read on every create, pivot_root's directories opened\n"
    "for reading (now O_PATH), a second open of the cgroup directory, two opens of / in\n"
    "`finalize`, the reopen of each read-only path (now a detached copy, made read-only and\n"
    "moved onto it), a stat before loading a container's state, clap's stubs of the other\n"
    "subcommands (22 KiB of heap), and five of the forked init's thirteen code faults (its\n"
    "functions first in the link order); after the recording (dd68682), the cwd's walk when\n"
    "it is / and the exec fifo's unlink after `run`. Tried and dropped: MADV_POPULATE of the\n"
    "hot code, the stack and the heap at start (fewer faults, the same CPU: populating\n"
    "costs what the faults did).\n"
    "\nA third round (2026-12-04, df1c3bf to f629bd8), each step measured in the guest by\n"
    "getrusage of `run`, the old binary and the new one alternating, as the median of the\n"
    "per-pair ratios: `run` deletes with the state it made rather than reading it back, the\n"
    "cgroup2 directory is made before it is looked for, the default devices are not chowned\n"
    "to the owner mknod already gave them, and root.path is resolved by one O_PATH open and\n"
    "its /proc/self/fd name where realpath read each component as a link (-2.7%, 300\n"
    "pairs); state.json holds the saved config.json, a file fewer to write and to unlink\n"
    "(-0.8%); the init stops allocating std's 8 KiB stdin buffer just to fstat fd 0 and\n"
    "/proc/PID/stat is read on the stack (-1%); an init born in its cgroup with nothing else\n"
    "to wait for no longer waits for Go (-0.6%, 600 pairs). From the first to the third step\n"
    "together: -2.4% (750 pairs; halves -2.7% and -2.1%), so the steps' figures, each within\n"
    "about 1.5% of noise, do not simply add. A page fault costs about 60 µs here. Per `run`\n"
    "(this host, `perf record -e page-faults -d`), brig's parent still faults in 26 pages of\n"
    "relocated pointers at start (4917 of them: panic locations' file names, vtables), 16\n"
    "stack pages (serde's visitor for the spec has a 17 KiB frame), 17 heap pages (clap's\n"
    "table of arguments grows to 9.6 KiB) and 21 of code and read-only data. Two runs of\n"
    "this part at 2bb17ce (40 rounds each, 2026-12-04) gave (a) 0.58 and 0.59 of crun's CPU,\n"
    "1.25 and 1.28 of the floor's (crun/floor 2.16 and 2.17); the table above is the second.\n"
    "Before the round, at c02cffd, it was 0.62 (1.27; crun/floor 2.03).\n"
)

CPU_ABOVE_FLOOR = (
    "CPU of `run` against crun's and the floor's (issue #17 asks 0.6 and 1.3): the floor's\n"
    "CPU is {floor} ms and 0.6 of crun's is {goal} ms, so the two goals ask about the same.\n"
    "Most of a `run` is kernel work every runtime does (namespaces, about 40 mounts, the\n"
    "cgroup in nine hierarchies, exec and exit). Where brig's extra CPU goes, from\n"
    "`perf record -g` of 150 runs each of brig (at c2a0972) and the floor, interleaved in\n"
    "one recording on 2026-12-03, each sample put under its process and system call (per\n"
    "run, sampling included, which inflates system calls: brig 7.35 ms, the floor 5.52):\n"
    "- user time, +0.53 ms: 0.80 in brig's parent, 0.42 in its init, against the floor's\n"
    "  0.70. callgrind counts 0.52 million instructions in the parent: the config.json\n"
    "  parse 18%, relocation 12%, the v1 cgroup layout from mountinfo 12%, clap 10%, malloc\n"
    "  and free throughout. Few instructions, slowly run: a new process's cold caches.\n"
    "  glibc's static start-up is paid by the floor as much: its cache detection by cpuid\n"
    "  (which traps in this VM, about 0.14 ms a process);\n"
    "- page faults, +0.33 ms: the relocated data's pages (84 KiB, 26 pages against the\n"
    "  floor's 12; panic locations are 1,500 of brig's 4,917 relocations, and removing them\n"
    "  needs a nightly compiler), heap growth, and copy-on-write in the forked init;\n"
    "- opening files, +0.40 ms: openat2 with RESOLVE_IN_ROOT for every destination, and\n"
    "  the state's files created on this host's ext4 /run;\n"
    "- the state's other work on ext4, about +0.3 ms: unlinks and closes that free inodes\n"
    "  (the container directory's block is discarded synchronously: /run is mounted with\n"
    "  `discard`), renames, the lock (the usual /run is a tmpfs);\n"
    "- the socket the parent and the init step each other through, +0.12 ms.\n"
    "What went this session (2026-12-03): a readlink pair per mount for the /proc rule (a\n"
    "destination that resolves without a symlink is not read back), a procfs walk per\n"
    "mount(2) (`.` after an fchdir to the target instead of /proc/self/fd/N), two fds per v1\n"
    "hierarchy in the container (bound by name), and the staging directory's sweep on\n"
    "every create (read only when its link count says it has entries): 548 system calls a\n"
    "run became 508. The checks and the state are what runc's behaviour asks of brig; the\n"
    "rest is the price of a general program against one that handles only this bundle.\n"
    "How steady the two ratios are: two runs of the host part at ff6b486 (the same binary,\n"
    "2026-12-03) gave (a) 0.57 and 0.62 of crun, 1.21 and 1.17 of the floor. brig/floor\n"
    "holds; brig/crun moves with crun's own spread (crun/floor 1.89 and 2.12), so the goal\n"
    "of 0.6 is near the line. The second round of cuts (listed in the v2 section) touches\n"
    "the host's run as much: at dd68682 (a) was 0.56 of crun and 1.20 of the floor, at\n"
    "c02cffd 0.59 and 1.17 (crun/floor 2.14 and 2.00). After the third round (at 2bb17ce,\n"
    "2026-12-04), two runs of the host part gave 0.54 and 0.57 of crun, 1.16 and 1.19 of the\n"
    "floor (crun/floor 2.17 and 2.09). The first of them missed the (scale) row (the last 50\n"
    "creates 8.2 ms against the first 50's 6.1), the second met it (6.8 against 6.4); 500\n"
    "creates alone on the machine, outside the bench, took 5.40 and 5.46 ms (the first and\n"
    "last 50's medians)."
)


if __name__ == "__main__":
    main()
