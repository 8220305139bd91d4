//! `events`: runc's stats JSON read back from the container's cgroup (`--stats`), the
//! stream every `--interval` that ends with the container, and OOM notifications.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use common::*;
use serde_json::{json, Value};

/// Wait (bounded) until `brig ps` lists `n` processes; returns them.
fn wait_for_processes(c: &Ctx, n: usize) -> Vec<i64> {
    for _ in 0..500 {
        let out = c.brig(&["ps", "--format", "json", &c.id]);
        let pids: Vec<i64> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if pids.len() == n {
            return pids;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the container never had {n} processes");
}

/// Wait (bounded) for a child to exit, killing it if it does not.
fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..1000 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("the process did not exit within 10 s");
}

/// Wait (bounded) until a container started in the foreground runs.
fn wait_until_running(c: &Ctx) {
    for _ in 0..500 {
        let out = c.brig(&["state", &c.id]);
        if out.status.success() && stdout(&out).contains("\"running\"") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the container never ran");
}

fn parse_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

#[test]
fn stats_reads_limits_and_usage_back() {
    let mut c = Ctx::new("ev-stats");
    c.set_args(&["sh", "-c", "sleep 60 & sleep 60"]);
    c.config["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    c.config["linux"]["resources"]["pids"] = json!({"limit": 42});
    c.run_detached();
    let pids = wait_for_processes(&c, 2);

    let out = c.brig(&["events", "--stats", &c.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one JSON object: {text}");
    let ev = parse_line(text.trim());
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], c.id.as_str());
    let data = &ev["data"];
    assert_eq!(data["memory"]["usage"]["limit"], 67108864);
    assert!(data["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
    // memory.stat as the kernel names it: rss on v1, anon on v2.
    let anon_key = if cgroup_v2() { "anon" } else { "rss" };
    assert!(
        data["memory"]["raw"][anon_key].is_u64(),
        "memory.stat keys: {data}"
    );
    assert_eq!(data["pids"]["limit"], 42);
    assert_eq!(data["pids"]["current"], pids.len() as u64);
    assert!(
        data["cpu"]["usage"]["total"].as_u64().unwrap() > 0,
        "cpu usage: {data}"
    );
    // v2's cpu.stat has no per-cpu figures (runc leaves percpu out there too).
    if !cgroup_v2() {
        assert_eq!(
            data["cpu"]["usage"]["percpu"].as_array().unwrap().len(),
            std::thread::available_parallelism().unwrap().get(),
            "one entry per cpu: {data}"
        );
    }
    // runc's shape: every top-level group is there.
    for key in [
        "cpu",
        "cpuset",
        "memory",
        "pids",
        "blkio",
        "hugetlb",
        "intel_rdt",
    ] {
        assert!(data.get(key).is_some(), "{key} missing: {data}");
    }
    assert!(c.brig(&["delete", "--force", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn the_stream_prints_stats_until_the_container_stops() {
    let mut c = Ctx::new("ev-stream");
    c.set_args(&["sleep", "60"]);
    c.run_detached();
    let mut events = c
        .cmd()
        .args(["events", "--interval", "100ms", &c.id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(events.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        let line = lines.next().expect("a stats line").unwrap();
        let ev = parse_line(&line);
        assert_eq!(ev["type"], "stats");
        assert_eq!(ev["id"], c.id.as_str());
        assert_eq!(ev["data"]["pids"]["current"], 1);
    }
    assert!(c.brig(&["kill", &c.id, "KILL"]).status.success());
    // The stream ends by itself once the container is gone.
    for line in lines {
        assert_eq!(parse_line(&line.unwrap())["type"], "stats");
    }
    let status = wait_bounded(&mut events);
    assert!(status.success(), "events exits 0 when the container stops");
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn an_oom_kill_is_reported() {
    let mut c = Ctx::new("ev-oom");
    c.config["linux"]["resources"]["memory"] = json!({"limit": 8388608, "swap": 8388608});
    // The hog starts once the test writes a line, so `events` watches before it.
    c.set_args(&[
        "sh",
        "-c",
        "read go; x=aaaaaaaa; while true; do x=$x$x; done",
    ]);
    let mut run = c.run_cmd().stdin(Stdio::piped()).spawn().unwrap();
    wait_until_running(&c);
    let mut events = c
        .cmd()
        .args(["events", "--interval", "1h", &c.id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(events.stdout.take().unwrap()).lines();
    // The first stats line comes after the OOM watch is registered.
    let first = lines.next().expect("a first stats line").unwrap();
    assert_eq!(parse_line(&first)["type"], "stats");
    writeln!(run.stdin.as_mut().unwrap(), "go").unwrap();

    let rest: Vec<Value> = lines.map(|l| parse_line(&l.unwrap())).collect();
    assert!(
        rest.iter()
            .any(|e| e == &json!({"type": "oom", "id": c.id.as_str()})),
        "an oom event: {rest:?}"
    );
    assert!(wait_bounded(&mut events).success());
    assert_eq!(
        wait_bounded(&mut run).code(),
        Some(137),
        "the hog is killed by the kernel"
    );
    c.assert_clean();
}

#[test]
fn errors_match_runc() {
    let mut c = Ctx::new("ev-errors");
    let missing = c.brig(&["events", "--stats", "no-such-container"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("container does not exist"),
        "{}",
        stderr(&missing)
    );

    c.set_args(&["true"]);
    c.run_detached();
    c.wait_status("stopped");
    let stopped = c.brig(&["events", &c.id]);
    assert_eq!(stopped.status.code(), Some(1));
    assert!(
        stderr(&stopped).contains(&format!("container with id {} is not running", c.id)),
        "{}",
        stderr(&stopped)
    );

    let bad = c.brig(&["events", "--interval", "5 parsecs", &c.id]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("for flag -interval") && stderr(&bad).contains("parsecs"),
        "{}",
        stderr(&bad)
    );
    let zero = c.brig(&["events", "--interval", "0s", &c.id]);
    assert!(
        stderr(&zero).contains("duration interval must be greater than 0"),
        "{}",
        stderr(&zero)
    );
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}
