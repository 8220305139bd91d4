//! Each namespace really new, or really joined by path.

mod common;

use common::*;
use serde_json::{json, Value};

fn ns(report: &Value, name: &str) -> u64 {
    report["namespaces"][name].as_u64().unwrap()
}

#[test]
fn default_namespaces_are_new_and_others_are_shared() {
    let mut c = Ctx::new("ns-default");
    let r = c.probe(&[]);
    for name in ["mnt", "pid", "net", "uts", "ipc"] {
        assert_ne!(ns(&r, name), host_ns(name), "{name} should be new");
    }
    for name in ["user", "cgroup", "time"] {
        assert_eq!(ns(&r, name), host_ns(name), "{name} should be the host's");
    }
    assert_eq!(r["pid"], 1);
    c.assert_clean();
}

#[test]
fn cgroup_and_time_namespaces_are_new_when_asked() {
    let mut c = Ctx::new("ns-cgtime");
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .extend([json!({"type": "cgroup"}), json!({"type": "time"})]);
    let r = c.probe(&[]);
    assert_ne!(ns(&r, "cgroup"), host_ns("cgroup"));
    assert_ne!(ns(&r, "time"), host_ns("time"));
    assert_eq!(
        r["pid"], 1,
        "the time namespace's extra fork still makes the process PID 1"
    );
    // In its own cgroup namespace the container's cgroup is the root.
    for line in r["cgroup"].as_array().unwrap() {
        assert!(line.as_str().unwrap().ends_with(":/"), "{line}");
    }
    c.assert_clean();
}

#[test]
fn namespaces_are_joined_by_path() {
    let mut a = Ctx::new("ns-join-a");
    a.set_args(&["sleep", "30"]);
    a.write_config();
    a.run_detached();
    let pid = a.state()["pid"].as_i64().unwrap();

    let mut b = Ctx::new("ns-join-b");
    b.config["linux"]["namespaces"] = json!([
        {"type": "pid", "path": format!("/proc/{pid}/ns/pid")},
        {"type": "network", "path": format!("/proc/{pid}/ns/net")},
        {"type": "ipc", "path": format!("/proc/{pid}/ns/ipc")},
        {"type": "uts", "path": format!("/proc/{pid}/ns/uts")},
        {"type": "mount"}
    ]);
    b.config["hostname"] = json!("joined");
    let r = b.probe(&[]);
    for (name, file) in [
        ("pid", "pid"),
        ("net", "net"),
        ("ipc", "ipc"),
        ("uts", "uts"),
    ] {
        let inode = ns_inode(&pid.to_string(), file);
        assert_eq!(ns(&r, name), inode, "{name} joined");
    }
    assert_ne!(r["pid"], 1, "a joined pid namespace already has its PID 1");
    assert_eq!(r["hostname"], "joined");
    b.assert_clean();
    assert!(a.brig(&["delete", "--force", &a.id]).status.success());
    a.assert_clean();
}

#[test]
fn user_namespace_maps_root_to_the_configured_host_id() {
    let mut c = Ctx::new("ns-user");
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    let r = c.probe(&[]);
    assert_ne!(ns(&r, "user"), host_ns("user"));
    assert_eq!(r["uid"]["effective"], 0);
    let map: Vec<&str> = r["uid_map"].as_str().unwrap().split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"]);

    // Seen from the host, the container's root is uid 100000.
    c.set_args(&["sleep", "30"]);
    c.create_ok();
    let pid = c.state()["pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some("100000"),
        "{uid_line}"
    );
    assert!(c.brig(&["delete", &c.id]).status.success());
    c.assert_clean();
}

#[test]
fn hostname_and_domainname_are_set() {
    let mut c = Ctx::new("ns-uts");
    c.config["hostname"] = json!("box");
    c.config["domainname"] = json!("example.org");
    let r = c.probe(&[]);
    assert_eq!(r["hostname"], "box");
    assert_eq!(r["domainname"], "example.org");
    c.assert_clean();
}

#[test]
fn user_cgroup_and_time_namespaces_are_joined_by_path() {
    let mut a = Ctx::new("ns-join2-a");
    a.set_args(&["sleep", "30"]);
    a.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .extend([
            json!({"type": "user"}),
            json!({"type": "cgroup"}),
            json!({"type": "time"}),
        ]);
    a.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    a.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    a.write_config();
    // A detached container keeps create's stdio: no pipes here, or reading them would wait.
    a.run_detached();
    let pid = a.state()["pid"].as_i64().unwrap();
    let inode = |file: &str| ns_inode(&pid.to_string(), file);

    let mut b = Ctx::new("ns-join2-b");
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .extend([
            json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}),
            json!({"type": "cgroup", "path": format!("/proc/{pid}/ns/cgroup")}),
            json!({"type": "time", "path": format!("/proc/{pid}/ns/time")}),
        ]);
    let r = b.probe(&[]);
    for name in ["user", "cgroup", "time"] {
        assert_eq!(ns(&r, name), inode(name), "{name} joined");
    }
    assert_eq!(
        r["uid"]["effective"], 0,
        "root of the joined user namespace"
    );
    assert!(r["uid_map"].as_str().unwrap().contains("200000"));
    b.assert_clean();
    assert!(a.brig(&["delete", "--force", &a.id]).status.success());
    a.assert_clean();
}

fn host_clock(id: nix::time::ClockId) -> f64 {
    let t = nix::time::clock_gettime(id).unwrap();
    t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9
}

#[test]
fn time_offsets_shift_monotonic_and_boottime_inside() {
    use nix::time::ClockId;
    const MONO: f64 = 1_000_000.0;
    const BOOT: f64 = 2_000_000.5;
    let mut c = Ctx::new("ns-timeoffsets");
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    c.config["linux"]["timeOffsets"] = json!({
        "monotonic": {"secs": 1_000_000, "nanosecs": 0},
        "boottime": {"secs": 2_000_000, "nanosecs": 500_000_000}
    });
    let (mono_before, boot_before) = (
        host_clock(ClockId::CLOCK_MONOTONIC),
        host_clock(ClockId::CLOCK_BOOTTIME),
    );
    let r = c.probe(&["--try-read", "/proc/uptime"]);
    let (mono_after, boot_after) = (
        host_clock(ClockId::CLOCK_MONOTONIC),
        host_clock(ClockId::CLOCK_BOOTTIME),
    );
    assert_ne!(ns(&r, "time"), host_ns("time"));
    // Each value read inside lies between the host's readings before and after, shifted
    // by the offset (whole seconds inside, and /proc/uptime has two decimals).
    let uptime: f64 = r["readable"]["/proc/uptime"]["content"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        uptime >= boot_before + BOOT - 1.0 && uptime <= boot_after + BOOT + 1.0,
        "/proc/uptime {uptime}, host boottime {boot_before}..{boot_after}"
    );
    for (clock, before, after, offset) in [
        ("monotonic", mono_before, mono_after, MONO),
        ("boottime", boot_before, boot_after, BOOT),
    ] {
        let inside = r["clocks"][clock].as_f64().unwrap();
        assert!(
            inside >= (before + offset).floor() - 1.0 && inside <= after + offset + 1.0,
            "{clock}: {inside} inside, host {before}..{after}"
        );
    }
    c.assert_clean();
}

/// A new network namespace gets its loopback up, as runc and crun do: ctr and hand-written
/// bundles have no CNI plugin to do it. (/sys/class/net/lo/flags: 0x9 is UP|LOOPBACK.)
///
/// Checked against a broken brig: without `init::bring_loopback_up`, lo's flags read 0x8
/// (down) and the test failed.
#[test]
fn a_new_network_namespace_has_its_loopback_up() {
    let mut c = Ctx::new("ns-lo");
    let r = c.probe(&["--try-read", "/sys/class/net/lo/flags"]);
    let flags = r["readable"]["/sys/class/net/lo/flags"]["content"]
        .as_str()
        .unwrap()
        .trim()
        .to_string();
    let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "lo is up: {flags:#x}");
    c.assert_clean();
}

/// A veth pair on the host, removed (both ends) when dropped.
struct Veth(String);

impl Veth {
    fn new(tag: &str) -> Veth {
        let name = format!("b{tag}{}", std::process::id() % 100_000);
        let peer = format!("{name}p");
        let _ = ip(&["link", "del", &name]);
        ip(&["link", "add", &name, "type", "veth", "peer", "name", &peer]).unwrap();
        Veth(name)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.0]);
    }
}

/// iproute2's `ip` on the host; Err holds its stderr.
fn ip(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(stdout(&out))
    } else {
        Err(stderr(&out))
    }
}

/// `linux.netDevices` (runc 1.3): a host interface is moved into the container's network
/// namespace under the name asked, with its permanent global addresses (IPv4 and IPv6),
/// and up; `delete` moves it back to the host under its own name, addresses included. A
/// veth end would otherwise die with the namespace. A create that fails after the move
/// gives the device back too, and so does `delete` of a stopped container whose network
/// namespace was joined by path (it outlives the container).
///
/// Checked against the previous brig: it refused the field ("linux.netDevices is not
/// supported yet").
#[test]
fn net_devices_move_into_the_container_and_back_on_delete() {
    let veth = Veth::new("nd");
    let dev = veth.0.as_str();
    ip(&["addr", "add", "10.211.7.1/24", "dev", dev]).unwrap();
    ip(&["-6", "addr", "add", "fd00:211:7::1/64", "dev", dev, "nodad"]).unwrap();
    ip(&["link", "set", dev, "up"]).unwrap();

    let mut c = Ctx::new("ns-netdev");
    c.set_args(&["sleep", "60"]);
    c.config["linux"]["netDevices"] = json!({ dev: {"name": "eth7"} });
    c.run_detached();
    assert!(
        ip(&["link", "show", dev]).is_err(),
        "{dev} is still on the host"
    );
    let inside = c.brig_ok(&["exec", &c.id, "ip", "addr", "show", "eth7"]);
    let inside = stdout(&inside);
    for want in ["10.211.7.1/24", "fd00:211:7::1/64", ",UP"] {
        assert!(inside.contains(want), "inside lacks {want}: {inside}");
    }
    c.brig_ok(&["delete", "--force", &c.id]);
    c.assert_clean();
    let back = ip(&["addr", "show", dev]).expect("the device is back on the host");
    for want in ["10.211.7.1/24", "fd00:211:7::1/64", ",UP"] {
        assert!(
            back.contains(want),
            "back on the host without {want}: {back}"
        );
    }

    // A create that fails once the device is in (no such program) gives it back.
    let mut c = Ctx::new("ns-netdev-fail");
    c.set_args(&["/no/such/program"]);
    c.config["linux"]["netDevices"] = json!({ dev: {} });
    c.expect_create_error("no/such/program");
    let back = ip(&["addr", "show", dev]).expect("the device is back after a failed create");
    assert!(back.contains("10.211.7.1/24"), "{back}");

    // A namespace joined by path outlives the container: delete takes the device back
    // from it even once the init is gone.
    // `ip netns add` also makes /run/netns a mount (a shared bind of itself) the first
    // time: undone here when this test made it.
    struct NetNs(String, bool, bool);
    impl Drop for NetNs {
        fn drop(&mut self) {
            let _ = ip(&["netns", "del", &self.0]);
            let (was_mount, was_dir) = (self.1, self.2);
            let empty = std::fs::read_dir("/run/netns").is_ok_and(|mut d| d.next().is_none());
            if !was_mount && empty {
                let _ = nix::mount::umount2("/run/netns", nix::mount::MntFlags::MNT_DETACH);
                if !was_dir {
                    let _ = std::fs::remove_dir("/run/netns");
                }
            }
        }
    }
    let run_netns_is_mount = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/run/netns"));
    let netns = NetNs(
        format!("bnd{}", std::process::id()),
        run_netns_is_mount,
        std::path::Path::new("/run/netns").exists(),
    );
    ip(&["netns", "add", &netns.0]).unwrap();
    let mut c = Ctx::new("ns-netdev-joined");
    c.set_args(&["sleep", "60"]);
    for n in c.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if n["type"] == "network" {
            n["path"] = json!(format!("/run/netns/{}", netns.0));
        }
    }
    c.config["linux"]["netDevices"] = json!({ dev: {"name": "eth8"} });
    c.run_detached();
    let inside = ip(&["-n", &netns.0, "addr", "show", "eth8"]).expect("eth8 in the netns");
    assert!(inside.contains("10.211.7.1/24"), "{inside}");
    c.brig_ok(&["kill", &c.id, "KILL"]);
    c.wait_status("stopped");
    c.brig_ok(&["delete", &c.id]);
    c.assert_clean();
    let back = ip(&["addr", "show", dev]).expect("the device is back from the joined netns");
    assert!(back.contains("10.211.7.1/24"), "{back}");
    assert!(ip(&["-n", &netns.0, "link", "show", "eth8"]).is_err());
}
