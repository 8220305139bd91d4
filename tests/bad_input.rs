//! The bad-input corpus (issue #8, part 1): malformed and hostile bundles and command
//! lines, one table. Every case must fail with a clear error naming the problem (for
//! config.json, the JSON path of the bad field), exit non-zero, leave a JSON error line in
//! the `--log` file, and leave nothing behind: no state directory, cgroup, process, fifo or
//! mount. A container started before the corpus must still be running after every case.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use serde_json::{json, Value};

/// How a case breaks things.
enum Break {
    /// Change config.json; the command is `create`.
    Config(fn(&mut Value)),
    /// Change the bundle on disk once config.json is written; the command is `create`.
    Bundle(fn(&mut Ctx)),
    /// A whole command line (after `--log L --log-format json`), from the case's context
    /// and the id of the healthy container.
    Argv(fn(&mut Ctx, &str) -> Vec<String>),
}

struct Case {
    name: &'static str,
    /// What the error must say (stderr and the log line).
    needle: &'static str,
    /// runc's exit code: 1, or 255 when an exec fails.
    code: i32,
    how: Break,
}

fn config(name: &'static str, needle: &'static str, f: fn(&mut Value)) -> Case {
    Case {
        name,
        needle,
        code: 1,
        how: Break::Config(f),
    }
}

fn bundle(name: &'static str, needle: &'static str, f: fn(&mut Ctx)) -> Case {
    Case {
        name,
        needle,
        code: 1,
        how: Break::Bundle(f),
    }
}

fn argv(name: &'static str, needle: &'static str, f: fn(&mut Ctx, &str) -> Vec<String>) -> Case {
    Case {
        name,
        needle,
        code: 1,
        how: Break::Argv(f),
    }
}

fn exec(name: &'static str, needle: &'static str, f: fn(&mut Ctx, &str) -> Vec<String>) -> Case {
    Case {
        name,
        needle,
        code: 255,
        how: Break::Argv(f),
    }
}

/// `--root R` followed by `rest`.
fn with_root(c: &Ctx, rest: &[&str]) -> Vec<String> {
    let mut v = vec!["--root".to_string(), c.root.display().to_string()];
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

/// `--root R create --bundle B` with extra flags, then the case's id.
fn create_with(c: &Ctx, flags: &[&str]) -> Vec<String> {
    let bundle = c.bundle.display().to_string();
    let mut v = with_root(c, &["create", "--bundle", &bundle]);
    v.extend(flags.iter().map(|s| s.to_string()));
    v.push(c.id.clone());
    v
}

fn create_id(c: &Ctx, id: &str) -> Vec<String> {
    let bundle = c.bundle.display().to_string();
    with_root(c, &["create", "--bundle", &bundle, id])
}

fn config_path(c: &Ctx) -> std::path::PathBuf {
    c.bundle.join("config.json")
}

fn write_raw(c: &Ctx, bytes: &[u8]) {
    std::fs::write(config_path(c), bytes).unwrap();
}

/// A file in the case's base directory, as a string.
fn base_file(c: &Ctx, name: &str, content: &[u8]) -> String {
    let p = c.base.join(name);
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

/// Append a mount; the default spec has seven, so it is `mounts[7]`.
fn push_mount(c: &mut Value, m: Value) {
    let mounts = c["mounts"].as_array_mut().unwrap();
    assert_eq!(mounts.len(), 7);
    mounts.push(m);
}

/// A hook of one kind, the only one.
fn hook(c: &mut Value, kind: &str, h: Value) {
    c["hooks"] = json!({ kind: [h] });
}

fn hang() -> Value {
    json!({"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1})
}

fn seccomp(rule: Value) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]})
}

fn user_ns(c: &mut Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
}

fn corpus() -> Vec<Case> {
    vec![
        // --- config.json that is not JSON, or not a file --------------------------------
        bundle("truncated", "config.json: process.args", |c| {
            write_raw(
                c,
                br#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "args": ["sh""#,
            )
        }),
        bundle("non-utf8", "config.json: hostname", |c| {
            c.config["hostname"] = json!("HOSTNAME-MARK");
            let text = serde_json::to_string(&c.config).unwrap();
            let bytes = text.replace("HOSTNAME-MARK", "\u{1}").into_bytes();
            let bytes: Vec<u8> = bytes
                .into_iter()
                .flat_map(|b| if b == 1 { vec![0xff, 0xfe] } else { vec![b] })
                .collect();
            write_raw(c, &bytes)
        }),
        bundle("empty-file", "config.json: EOF while parsing", |c| {
            write_raw(c, b"")
        }),
        bundle("top-null", "config.json: invalid type: null", |c| {
            write_raw(c, b"null")
        }),
        bundle("top-array", "config.json: invalid type: sequence", |c| {
            write_raw(c, b"[]")
        }),
        bundle("trailing-data", "config.json: trailing data", |c| {
            let mut text = serde_json::to_vec(&c.config).unwrap();
            text.extend_from_slice(b"}{");
            write_raw(c, &text)
        }),
        bundle(
            "byte-order-mark",
            "config.json: expected value at line 1",
            |c| {
                let mut text = b"\xef\xbb\xbf".to_vec();
                text.extend(serde_json::to_vec(&c.config).unwrap());
                write_raw(c, &text)
            },
        ),
        bundle(
            "deep-nesting",
            "config.json: annotations.x: invalid type",
            |c| {
                // Deep enough to overflow a recursive parser's stack without a limit.
                c.config["annotations"] = json!({"x": "DEEP-MARK"});
                let text = serde_json::to_string(&c.config).unwrap();
                let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
                write_raw(c, text.replace("\"DEEP-MARK\"", &deep).as_bytes())
            },
        ),
        bundle("no-config", "config.json: no such file or directory", |c| {
            std::fs::remove_file(config_path(c)).unwrap()
        }),
        bundle("config-is-dir", "config.json: not a regular file", |c| {
            std::fs::remove_file(config_path(c)).unwrap();
            std::fs::create_dir(config_path(c)).unwrap();
        }),
        bundle("config-dev-zero", "config.json: not a regular file", |c| {
            std::fs::remove_file(config_path(c)).unwrap();
            std::os::unix::fs::symlink("/dev/zero", config_path(c)).unwrap();
        }),
        bundle("config-fifo", "config.json: not a regular file", |c| {
            std::fs::remove_file(config_path(c)).unwrap();
            mkfifo(&config_path(c));
        }),
        argv(
            "no-bundle",
            "no-such-bundle/config.json: no such file or directory",
            |c, _| {
                let b = c.base.join("no-such-bundle").display().to_string();
                with_root(c, &["create", "--bundle", &b, &c.id])
            },
        ),
        // --- wrong types --------------------------------------------------------------
        config("args-string", "process.args: invalid type", |c| {
            c["process"]["args"] = json!("sh")
        }),
        config("env-object", "process.env: invalid type", |c| {
            c["process"]["env"] = json!({"PATH": "/bin"})
        }),
        config("terminal-string", "process.terminal: invalid type", |c| {
            c["process"]["terminal"] = json!("yes")
        }),
        config("root-string", "config.json: root: invalid type", |c| {
            c["root"] = json!("rootfs")
        }),
        config("mount-string", "mounts[0]: invalid type", |c| {
            c["mounts"][0] = json!("/proc")
        }),
        config("namespaces-object", "linux.namespaces: invalid type", |c| {
            c["linux"]["namespaces"] = json!({"type": "pid"})
        }),
        config("annotation-number", "annotations.x: invalid type", |c| {
            c["annotations"] = json!({"x": 1})
        }),
        config("version-number", "ociVersion: invalid type", |c| {
            c["ociVersion"] = json!(1.2)
        }),
        config(
            "gids-strings",
            "process.user.additionalGids[0]: invalid type",
            |c| c["process"]["user"]["additionalGids"] = json!(["wheel"]),
        ),
        config("hooks-object", "hooks.prestart: invalid type", |c| {
            c["hooks"] = json!({"prestart": {"path": "/bin/true"}})
        }),
        config("no-process", "config.json: process: missing", |c| {
            c.as_object_mut().unwrap().remove("process");
        }),
        // --- huge and negative values ---------------------------------------------------
        config("uid-huge", "process.user.uid: invalid value", |c| {
            c["process"]["user"]["uid"] = json!(1u64 << 40)
        }),
        config("gid-negative", "process.user.gid: invalid value", |c| {
            c["process"]["user"]["gid"] = json!(-1)
        }),
        config(
            "rlimit-negative",
            "process.rlimits[0].hard: invalid value",
            |c| c["process"]["rlimits"][0]["hard"] = json!(-1),
        ),
        config(
            "rlimit-float",
            "process.rlimits[0].soft: invalid type",
            |c| c["process"]["rlimits"][0]["soft"] = json!(1.5e21),
        ),
        config("memory-negative", "linux.resources.memory.limit", |c| {
            c["linux"]["resources"]["memory"] = json!({"limit": -5})
        }),
        config(
            "memory-huge",
            "linux.resources.memory.limit: invalid value",
            |c| c["linux"]["resources"]["memory"] = json!({"limit": u64::MAX}),
        ),
        config(
            "pids-float",
            "linux.resources.pids.limit: invalid type",
            |c| c["linux"]["resources"]["pids"] = json!({"limit": 1e30}),
        ),
        config(
            "shares-negative",
            "linux.resources.cpu.shares: invalid value",
            |c| c["linux"]["resources"]["cpu"] = json!({"shares": -1}),
        ),
        config("cpus-garbage", "linux.resources.cpu.cpus", |c| {
            c["linux"]["resources"]["cpu"] = json!({"cpus": "zero-to-three"})
        }),
        config("blkio-weight-huge", "linux.resources.blockIO", |c| {
            c["linux"]["resources"]["blockIO"] = json!({"weight": 5000})
        }),
        config(
            "cpus-absent",
            "linux.resources.cpu: write \"0-1000\"",
            |c| c["linux"]["resources"]["cpu"] = json!({"cpus": "0-1000"}),
        ),
        config("cpus-huge-range", "linux.resources.cpu.mems", |c| {
            c["linux"]["resources"]["cpu"] = json!({"mems": "0-99999999999"})
        }),
        config(
            "affinity-huge-range",
            "process.execCPUAffinity.final",
            |c| c["process"]["execCPUAffinity"] = json!({"final": "0-99999999999"}),
        ),
        config(
            "map-size-negative",
            "linux.uidMappings[0].size: invalid value",
            |c| {
                user_ns(c);
                c["linux"]["uidMappings"][0]["size"] = json!(-1);
            },
        ),
        config("oom-score-huge", "process.oomScoreAdj", |c| {
            c["process"]["oomScoreAdj"] = json!(5000)
        }),
        config("hostname-long", "config.json: hostname", |c| {
            c["hostname"] = json!("h".repeat(100))
        }),
        config(
            "console-negative",
            "process.consoleSize.height: invalid value",
            |c| c["process"]["consoleSize"] = json!({"height": -1, "width": 80}),
        ),
        // --- paths: `..`, symlinks, files where directories belong ------------------------
        config("mount-dest-dotdot", "mounts[7].destination", |c| {
            push_mount(
                c,
                json!({"destination": "../escape", "type": "tmpfs", "source": "tmpfs"}),
            )
        }),
        config("cwd-dotdot", "process.cwd", |c| {
            c["process"]["cwd"] = json!("../..")
        }),
        config("rootfs-dotdot", "root.path", |c| {
            c["root"]["path"] = json!("../../../../../../../../no-such-rootfs")
        }),
        config("cgroup-dotdot", "linux.cgroupsPath", |c| {
            c["linux"]["cgroupsPath"] = json!("/brig-test-x/../../escape")
        }),
        config("proc-bind-dotdot", "mounts[7]", |c| {
            push_mount(
                c,
                json!({"destination": "/tmp/../proc/sys", "type": "bind", "source": "/tmp", "options": ["bind"]}),
            )
        }),
        config("masked-relative", "linux.maskedPaths[0]", |c| {
            c["linux"]["maskedPaths"] = json!(["../etc/shadow"])
        }),
        config("readonly-relative", "linux.readonlyPaths[0]", |c| {
            c["linux"]["readonlyPaths"] = json!(["proc/sys"])
        }),
        config("device-relative", "linux.devices[0].path", |c| {
            c["linux"]["devices"] =
                json!([{"path": "../dev/evil", "type": "c", "major": 1, "minor": 3}])
        }),
        config(
            "sysctl-escape",
            "linux.sysctl.net.ipv4/../../kernel/core_pattern",
            |c| {
                // Should brig ever write it, it writes the current value back.
                let current = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
                c["linux"]["sysctl"] =
                    json!({"net.ipv4/../../kernel/core_pattern": current.trim_end()});
            },
        ),
        config("bind-source-missing", "mounts[7]", |c| {
            push_mount(
                c,
                json!({"destination": "/mnt", "type": "bind", "source": "/no/such/source", "options": ["bind"]}),
            )
        }),
        bundle("bind-into-proc-via-symlink", "mounts[7]", |c| {
            let rootfs = c.private_rootfs();
            std::os::unix::fs::symlink("/proc/sys", rootfs.join("evil")).unwrap();
            push_mount(
                &mut c.config,
                json!({"destination": "/evil/kernel", "type": "bind", "source": "/tmp", "options": ["bind"]}),
            );
            c.write_config();
        }),
        bundle("proc-on-symlink", "mounts[0]", |c| {
            let rootfs = c.private_rootfs();
            std::fs::remove_dir(rootfs.join("proc")).unwrap();
            std::os::unix::fs::symlink("/tmp", rootfs.join("proc")).unwrap();
            c.write_config();
        }),
        bundle("sysfs-on-symlink", "mounts[5]", |c| {
            let rootfs = c.private_rootfs();
            std::fs::remove_dir(rootfs.join("sys")).unwrap();
            std::os::unix::fs::symlink("../../../../../../sys", rootfs.join("sys")).unwrap();
            c.write_config();
        }),
        bundle("rootfs-symlink-to-file", "root.path", |c| {
            let file = c.base.join("a-file");
            std::fs::write(&file, "x").unwrap();
            let link = c.base.join("rootfs-link");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            c.config["root"]["path"] = json!(link);
            c.write_config();
        }),
        bundle("rootfs-dangling", "root.path", |c| {
            let link = c.base.join("rootfs-link");
            std::os::unix::fs::symlink("/no/such/dir", &link).unwrap();
            c.config["root"]["path"] = json!(link);
            c.write_config();
        }),
        config("rootfs-device", "root.path", |c| {
            c["root"]["path"] = json!("/dev/null")
        }),
        // --- namespaces -----------------------------------------------------------------
        config("ns-duplicate-net", "linux.namespaces[5].type", |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "network", "path": "/proc/self/ns/net"}))
        }),
        config("ns-uppercase", "linux.namespaces[0].type", |c| {
            c["linux"]["namespaces"][0]["type"] = json!("PID")
        }),
        config("ns-number", "linux.namespaces[2].type", |c| {
            c["linux"]["namespaces"][2]["type"] = json!(2)
        }),
        config("ns-path-dir", "linux.namespaces[1].path", |c| {
            c["linux"]["namespaces"][1]["path"] = json!("/tmp")
        }),
        config("ns-path-device", "linux.namespaces[2].path", |c| {
            c["linux"]["namespaces"][2]["path"] = json!("/dev/null")
        }),
        config("ns-wrong-kind", "linux.namespaces[3].path", |c| {
            c["linux"]["namespaces"][3]["path"] = json!("/proc/self/ns/net")
        }),
        config("ns-path-relative", "linux.namespaces[1].path", |c| {
            c["linux"]["namespaces"][1]["path"] = json!("proc/self/ns/net")
        }),
        bundle("ns-path-fifo", "linux.namespaces[1].path", |c| {
            let fifo = c.base.join("ns-fifo");
            mkfifo(&fifo);
            c.config["linux"]["namespaces"][1]["path"] = json!(fifo);
            c.write_config();
        }),
        config("ns-no-mount", "linux.namespaces", |c| {
            c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "uts"}])
        }),
        config("domainname-no-uts", "domainname", |c| {
            c.as_object_mut().unwrap().remove("hostname");
            c["domainname"] = json!("example.org");
            c["linux"]["namespaces"] = json!([{"type": "mount"}]);
        }),
        // --- user namespaces and id maps ------------------------------------------------
        config("map-size-zero", "linux.gidMappings[0].size", |c| {
            user_ns(c);
            c["linux"]["gidMappings"][0]["size"] = json!(0);
        }),
        config("maps-without-userns", "linux.uidMappings", |c| {
            user_ns(c);
            c["linux"]["namespaces"].as_array_mut().unwrap().pop();
        }),
        config("userns-without-maps", "linux.uidMappings", |c| {
            user_ns(c);
            c["linux"].as_object_mut().unwrap().remove("uidMappings");
            c["linux"].as_object_mut().unwrap().remove("gidMappings");
        }),
        config("userns-no-gid-map", "linux.gidMappings", |c| {
            user_ns(c);
            c["linux"].as_object_mut().unwrap().remove("gidMappings");
        }),
        config("map-overflow", "linux.uidMappings[0]", |c| {
            user_ns(c);
            c["linux"]["uidMappings"][0] =
                json!({"containerID": 0, "hostID": 4294967000u32, "size": 65536});
        }),
        // --- capabilities ---------------------------------------------------------------
        config("cap-number", "process.capabilities.permitted", |c| {
            c["process"]["capabilities"]["permitted"] = json!([21])
        }),
        config("cap-not-list", "process.capabilities.inheritable", |c| {
            c["process"]["capabilities"]["inheritable"] = json!("CAP_SYS_ADMIN")
        }),
        // --- seccomp --------------------------------------------------------------------
        config(
            "seccomp-default-action",
            "linux.seccomp.defaultAction",
            |c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_BOGUS"}),
        ),
        config(
            "seccomp-rule-action",
            "linux.seccomp.syscalls[0].action",
            |c| c["linux"]["seccomp"] = seccomp(json!({"names": ["getpid"], "action": "KILL"})),
        ),
        config("seccomp-notify", "SCMP_ACT_NOTIFY", |c| {
            c["linux"]["seccomp"] =
                seccomp(json!({"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}))
        }),
        config("seccomp-arch", "linux.seccomp.architectures[0]", |c| {
            c["linux"]["seccomp"] =
                json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PDP11"]})
        }),
        config(
            "seccomp-operator",
            "linux.seccomp.syscalls[0].args[0].op",
            |c| {
                c["linux"]["seccomp"] =
                    seccomp(json!({"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}))
            },
        ),
        config("seccomp-arg-index", "linux.seccomp.syscalls[0]", |c| {
            c["linux"]["seccomp"] = seccomp(json!({"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}))
        }),
        config("seccomp-flag", "linux.seccomp.flags[0]", |c| {
            c["linux"]["seccomp"] =
                json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]})
        }),
        // --- mounts ---------------------------------------------------------------------
        config("mount-unknown-option", "mounts[7]", |c| {
            push_mount(
                c,
                json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["bogusopt"]}),
            )
        }),
        config("mount-empty-option", "mounts[1].options", |c| {
            c["mounts"][1]["options"] = json!(["nosuid", ""])
        }),
        config("mount-idmap-no-userns", "mounts[7].uidMappings", |c| {
            push_mount(
                c,
                json!({"destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"]}),
            )
        }),
        config("mount-idmap-half", "mounts[7].gidMappings", |c| {
            push_mount(
                c,
                json!({"destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"],
                       "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 10}]}),
            )
        }),
        config("mount-idmap-not-bind", "mounts[7].options", |c| {
            push_mount(
                c,
                json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
                       "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 10}],
                       "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 10}]}),
            )
        }),
        config("mount-idmap-syntax", "mounts[7].options", |c| {
            push_mount(
                c,
                json!({"destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap=uids=0-1-10"]}),
            )
        }),
        config("mount-unknown-type", "mounts[7]", |c| {
            push_mount(
                c,
                json!({"destination": "/mnt", "type": "bogusfs", "source": "none"}),
            )
        }),
        config("mount-bad-size", "mounts[7]", |c| {
            push_mount(
                c,
                json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["size=-1"]}),
            )
        }),
        // --- devices --------------------------------------------------------------------
        config("device-type-x", "linux.devices[0].type", |c| {
            c["linux"]["devices"] =
                json!([{"path": "/dev/evil", "type": "x", "major": 1, "minor": 3}])
        }),
        config("device-type-a", "linux.devices[0].type", |c| {
            c["linux"]["devices"] =
                json!([{"path": "/dev/evil", "type": "a", "major": 1, "minor": 3}])
        }),
        config("device-mode-string", "linux.devices[0].fileMode", |c| {
            c["linux"]["devices"] = json!([{"path": "/dev/evil", "type": "c", "major": 1,
                "minor": 3, "fileMode": "rw"}])
        }),
        config(
            "cgroup-device-type",
            "linux.resources.devices[1].type",
            |c| {
                c["linux"]["resources"]["devices"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"allow": true, "type": "z", "access": "rwm"}))
            },
        ),
        // --- hooks ----------------------------------------------------------------------
        config(
            "prestart-hangs",
            "prestart hook #0 (/bin/sleep): timed out after 1s",
            |c| hook(c, "prestart", hang()),
        ),
        config(
            "create-runtime-hangs",
            "createRuntime hook #0 (/bin/sleep): timed out after 1s",
            |c| hook(c, "createRuntime", hang()),
        ),
        config(
            "create-container-hangs",
            "createContainer hook #0 (/bin/sleep): timed out after 1s",
            |c| hook(c, "createContainer", hang()),
        ),
        config(
            "prestart-missing",
            "prestart hook #0 (/no/such/hook): no such file or directory",
            |c| hook(c, "prestart", json!({"path": "/no/such/hook"})),
        ),
        config(
            "create-runtime-missing",
            "createRuntime hook #0 (/no/such/hook): no such file or directory",
            |c| hook(c, "createRuntime", json!({"path": "/no/such/hook"})),
        ),
        config(
            "create-container-missing",
            "createContainer hook #0 (/no/such/hook): no such file or directory",
            |c| hook(c, "createContainer", json!({"path": "/no/such/hook"})),
        ),
        config(
            "hook-fails",
            "prestart hook #0 (/bin/sh): exit status: 3",
            |c| {
                hook(
                    c,
                    "prestart",
                    json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}),
                )
            },
        ),
        config("hook-relative", "hooks.poststop[0].path", |c| {
            hook(c, "poststop", json!({"path": "bin/true"}))
        }),
        config("hook-timeout-zero", "hooks.createRuntime[0].timeout", |c| {
            hook(
                c,
                "createRuntime",
                json!({"path": "/bin/true", "timeout": 0}),
            )
        }),
        // --- process --------------------------------------------------------------------
        config("args-empty-string", "process.args[0]", |c| {
            c["process"]["args"] = json!([""])
        }),
        config("args-nul", "process.args[1]", |c| {
            c["process"]["args"] = json!(["probe", "a\u{0}b"])
        }),
        config("env-no-equals", "process.env[2]", |c| {
            c["process"]["env"]
                .as_array_mut()
                .unwrap()
                .push(json!("JUSTANAME"))
        }),
        config("env-no-name", "process.env[0]", |c| {
            c["process"]["env"][0] = json!("=value")
        }),
        config("rlimit-type-number", "process.rlimits[0].type", |c| {
            c["process"]["rlimits"][0]["type"] = json!(7)
        }),
        config("rlimit-soft-above-hard", "process.rlimits[0]", |c| {
            c["process"]["rlimits"][0] = json!({"type": "RLIMIT_NPROC", "soft": 10, "hard": 5})
        }),
        config("rlimit-above-host", "process.rlimits[0]", |c| {
            // The bounding set here lacks CAP_SYS_RESOURCE: the hard limit cannot rise.
            c["process"]["rlimits"][0] =
                json!({"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1u64 << 40})
        }),
        config("io-priority-class", "process.ioPriority.class", |c| {
            c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_FAST", "priority": 1})
        }),
        config("scheduler-policy", "process.scheduler.policy", |c| {
            c["process"]["scheduler"] = json!({"policy": "SCHED_FASTEST"})
        }),
        config("cpu-affinity", "process.execCPUAffinity.initial", |c| {
            c["process"]["execCPUAffinity"] = json!({"initial": "0-x"})
        }),
        config("personality-domain", "linux.personality.domain", |c| {
            c["linux"]["personality"] = json!({"domain": "LINUX13"})
        }),
        config("propagation", "linux.rootfsPropagation", |c| {
            c["linux"]["rootfsPropagation"] = json!("sideways")
        }),
        // --- sysctl and cgroupsPath -----------------------------------------------------
        config("sysctl-not-namespaced", "linux.sysctl.kernel.bogus", |c| {
            c["linux"]["sysctl"] = json!({"kernel.bogus": "1"})
        }),
        config(
            "sysctl-needs-netns",
            "linux.sysctl.net.ipv4.ip_forward",
            |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "network");
                c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
            },
        ),
        config("sysctl-unknown-net", "linux.sysctl.net.bogus.key", |c| {
            c["linux"]["sysctl"] = json!({"net.bogus.key": "1"})
        }),
        config("sysctl-empty-part", "linux.sysctl.net..ipv4", |c| {
            c["linux"]["sysctl"] = json!({"net..ipv4": "1"})
        }),
        config("cgroup-under-file", "linux.cgroupsPath", |c| {
            c["linux"]["cgroupsPath"] = json!("/cgroup.procs/brig-bad-input")
        }),
        config("cgroup-root", "linux.cgroupsPath: \"/\" names the root cgroup", |c| {
            c["linux"]["cgroupsPath"] = json!("/")
        }),
        config("cgroup-callers-own", "linux.cgroupsPath: \".\" names the root cgroup", |c| {
            c["linux"]["cgroupsPath"] = json!(".")
        }),
        config(
            "sysctl-host-netns",
            "linux.sysctl.net.ipv4.ip_forward: sysctl \"net.ipv4.ip_forward\" is not allowed in the hosts network namespace",
            |c| {
                for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
                    if ns["type"] == "network" {
                        ns["path"] = json!("/proc/self/ns/net");
                    }
                }
                c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
            },
        ),
        config("uid-minus-one", "process.user.uid: 4294967295: uids and gids must be in range", |c| {
            c["process"]["user"]["uid"] = json!(4294967295u32)
        }),
        config("cgroup-nul", "linux.cgroupsPath", |c| {
            c["linux"]["cgroupsPath"] = json!("/brig-bad\u{0}input")
        }),
        config("cgroup-number", "linux.cgroupsPath: invalid type", |c| {
            c["linux"]["cgroupsPath"] = json!(42)
        }),
        // --- features refused by name ---------------------------------------------------
        config("time-offsets-clock", "linux.timeOffsets.realtime", |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "time"}));
            c["linux"]["timeOffsets"] = json!({"realtime": {"secs": 1, "nanosecs": 0}})
        }),
        config("time-offsets-no-timens", "linux.timeOffsets", |c| {
            c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1, "nanosecs": 0}})
        }),
        config("intel-rdt", "linux.intelRdt", |c| {
            c["linux"]["intelRdt"] = json!({"closID": "x"})
        }),
        config("net-devices-no-netns", "linux.netDevices", |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "network");
            c["linux"]["netDevices"] = json!({"eth0": {}})
        }),
        config("net-devices-bad-name", "linux.netDevices.eth0.name", |c| {
            c["linux"]["netDevices"] = json!({"eth0": {"name": "a/b"}})
        }),
        config("net-devices-same-name", "linux.netDevices", |c| {
            c["linux"]["netDevices"] = json!({"eth0": {"name": "x"}, "eth1": {"name": "x"}})
        }),
        // --- ids ------------------------------------------------------------------------
        argv("id-empty", "invalid container ID format", |c, _| {
            create_id(c, "")
        }),
        argv("id-too-long", "invalid container ID format", |c, _| {
            create_id(c, &"i".repeat(1025))
        }),
        argv("id-non-ascii", "invalid container ID format", |c, _| {
            create_id(c, "caf\u{e9}")
        }),
        argv("id-newline", "invalid container ID format", |c, _| {
            create_id(c, "a\nb")
        }),
        argv("id-dot", "invalid container ID format", |c, _| {
            create_id(c, ".")
        }),
        argv(
            "id-exists",
            "container with given ID already exists",
            |c, healthy| create_id(c, healthy),
        ),
        // --- terminals, pid files, preserved fds, the rest of the command line ----------
        config(
            "terminal-no-socket",
            "cannot allocate tty if brig will detach without setting console socket",
            |c| c["process"]["terminal"] = json!(true),
        ),
        argv(
            "console-socket-missing",
            "no such file or directory",
            |c, _| {
                c.config["process"]["terminal"] = json!(true);
                c.write_config();
                let s = c.base.join("no-such.sock").display().to_string();
                create_with(c, &["--console-socket", &s])
            },
        ),
        argv("console-socket-file", "connection refused", |c, _| {
            c.config["process"]["terminal"] = json!(true);
            c.write_config();
            let s = base_file(c, "not-a.sock", b"");
            create_with(c, &["--console-socket", &s])
        }),
        argv("console-socket-no-tty", "console socket", |c, _| {
            let s = base_file(c, "unused.sock", b"");
            create_with(c, &["--console-socket", &s])
        }),
        argv("pid-file-no-dir", "no-such-dir/pid", |c, _| {
            let p = c.base.join("no-such-dir/pid").display().to_string();
            create_with(c, &["--pid-file", &p])
        }),
        argv("pid-file-is-dir", "is a directory", |c, _| {
            let p = c.base.join("piddir");
            std::fs::create_dir_all(p.join("x")).unwrap();
            create_with(c, &["--pid-file", &p.display().to_string()])
        }),
        argv(
            "preserve-fds-word",
            "invalid value 'abc' for '--preserve-fds",
            |c, _| create_with(c, &["--preserve-fds", "abc"]),
        ),
        argv(
            "preserve-fds-negative",
            "invalid value '-1' for '--preserve-fds",
            |c, _| create_with(c, &["--preserve-fds", "-1"]),
        ),
        argv("preserve-fds-huge", "--preserve-fds", |c, _| {
            create_with(c, &["--preserve-fds", "4294967295"])
        }),
        argv("preserve-fds-closed", "--preserve-fds", |c, _| {
            create_with(c, &["--preserve-fds", "100"])
        }),
        argv(
            "unknown-command",
            "unrecognized subcommand 'explode'",
            |c, _| with_root(c, &["explode", &c.id]),
        ),
        argv(
            "unknown-flag",
            "unexpected argument '--frobnicate'",
            |c, _| create_with(c, &["--frobnicate"]),
        ),
        argv(
            "create-no-id",
            "required arguments were not provided",
            |c, _| {
                let b = c.bundle.display().to_string();
                with_root(c, &["create", "--bundle", &b])
            },
        ),
        argv("bad-boolean", "invalid boolean value", |c, _| {
            create_with(c, &["--no-pivot=maybe"])
        }),
        argv(
            "rootless-maybe",
            "invalid value 'maybe' for '--rootless",
            |c, _| {
                let mut v = vec!["--rootless=maybe".to_string()];
                v.extend(create_with(c, &[]));
                v
            },
        ),
        argv("systemd-cgroup", "systemd is not running", |c, _| {
            let mut v = vec!["--systemd-cgroup".to_string()];
            v.extend(create_with(c, &[]));
            v
        }),
        argv("root-is-file", "create state root", |c, _| {
            let f = base_file(c, "root-file", b"");
            let b = c.bundle.display().to_string();
            vec![
                "--root".into(),
                f,
                "create".into(),
                "--bundle".into(),
                b,
                c.id.clone(),
            ]
        }),
        // --- commands on ids that do not exist ------------------------------------------
        argv("start-unknown", "container does not exist", |c, _| {
            with_root(c, &["start", &c.id])
        }),
        argv("kill-unknown", "container does not exist", |c, _| {
            with_root(c, &["kill", &c.id, "9"])
        }),
        argv("delete-unknown", "container does not exist", |c, _| {
            with_root(c, &["delete", &c.id])
        }),
        argv("state-unknown", "container does not exist", |c, _| {
            with_root(c, &["state", &c.id])
        }),
        argv("state-traversal", "container does not exist", |c, _| {
            with_root(c, &["state", "../../etc"])
        }),
        argv("pause-unknown", "container does not exist", |c, _| {
            with_root(c, &["pause", &c.id])
        }),
        argv("resume-unknown", "container does not exist", |c, _| {
            with_root(c, &["resume", &c.id])
        }),
        argv("ps-unknown", "container does not exist", |c, _| {
            with_root(c, &["ps", &c.id])
        }),
        argv("update-unknown", "container does not exist", |c, _| {
            with_root(c, &["update", "--pids-limit", "10", &c.id])
        }),
        exec("exec-unknown", "container does not exist", |c, _| {
            with_root(c, &["exec", &c.id, "true"])
        }),
        // --- wrong commands for the running neighbour (which must not notice) -----------
        argv(
            "start-running",
            "cannot start an already running container",
            |c, h| with_root(c, &["start", h]),
        ),
        argv("delete-running", "that is not stopped: running", |c, h| {
            with_root(c, &["delete", h])
        }),
        argv("resume-running", "container not paused", |c, h| {
            with_root(c, &["resume", h])
        }),
        argv("kill-name", "unknown signal \"SIGFOO\"", |c, h| {
            with_root(c, &["kill", h, "SIGFOO"])
        }),
        argv("kill-65", "unknown signal \"65\"", |c, h| {
            with_root(c, &["kill", h, "65"])
        }),
        argv("kill-rt-range", "unknown signal \"RTMIN+100\"", |c, h| {
            with_root(c, &["kill", h, "RTMIN+100"])
        }),
        argv("kill-all-bogus", "unknown signal \"BOGUS\"", |c, h| {
            with_root(c, &["kill", "--all", h, "BOGUS"])
        }),
        argv("update-bad-json", "memory.limit", |c, h| {
            let f = base_file(c, "resources.json", br#"{"memory": {"limit": "lots"}}"#);
            with_root(c, &["update", "--resources", &f, h])
        }),
        exec(
            "exec-missing-binary",
            "no such file or directory",
            |c, h| with_root(c, &["exec", h, "/no/such/bin"]),
        ),
        exec("exec-no-command", "no command given", |c, h| {
            with_root(c, &["exec", h])
        }),
        exec("exec-process-missing", "no-such-process.json", |c, h| {
            let p = c.base.join("no-such-process.json").display().to_string();
            with_root(c, &["exec", "--process", &p, h])
        }),
        exec("exec-process-truncated", "process.json", |c, h| {
            let p = base_file(c, "process.json", br#"{"args": ["true"], "cwd": "/"#);
            with_root(c, &["exec", "--process", &p, h])
        }),
        exec("exec-process-wrong-type", "user.uid", |c, h| {
            let p = base_file(
                c,
                "process.json",
                br#"{"args": ["true"], "cwd": "/", "user": {"uid": "root", "gid": 0}}"#,
            );
            with_root(c, &["exec", "--process", &p, h])
        }),
        exec("exec-process-fifo", "no writer sent anything within 5s", |c, h| {
            let p = c.base.join("process.json");
            mkfifo(&p);
            with_root(c, &["exec", "--process", &p.display().to_string(), h])
        }),
        exec(
            "exec-cwd-relative",
            "cwd \"tmp\" is not an absolute path",
            |c, h| with_root(c, &["exec", "--cwd", "tmp", h, "true"]),
        ),
        exec("exec-user-name", "expected uid[:gid] as numbers", |c, h| {
            with_root(c, &["exec", "--user", "nobody", h, "true"])
        }),
        exec(
            "exec-user-minus-one",
            "exec --user 4294967295:4294967295: 4294967295: uids and gids must be in range 0-2147483647",
            |c, h| with_root(c, &["exec", "--user", "4294967295:4294967295", h, "true"]),
        ),
        exec(
            "exec-preserve-fds-closed",
            "--preserve-fds 50: fd",
            |c, h| with_root(c, &["exec", "--preserve-fds", "50", h, "true"]),
        ),
        exec("exec-pid-file-no-dir", "no-such-dir/pid", |c, h| {
            let p = c.base.join("no-such-dir/pid").display().to_string();
            with_root(
                c,
                &["exec", "--detach", "--pid-file", &p, h, "sleep", "100"],
            )
        }),
    ]
}

/// Lines of our mountinfo naming a path.
fn mounts_naming(paths: &[&Path]) -> usize {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| paths.iter().any(|p| l.contains(&*p.to_string_lossy())))
        .count()
}

/// Every fifo under a directory.
fn fifos_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_fifo() {
            found.push(e.path().display().to_string());
        } else if t.is_dir() {
            found.extend(fifos_under(&e.path()));
        }
    }
    found
}

/// The healthy container's status and host pids.
fn health(h: &Ctx) -> (String, Value) {
    let status = h.state()["status"].as_str().unwrap().to_string();
    let out = h.brig(&["ps", "--format", "json", &h.id]);
    assert!(out.status.success(), "ps: {}", stderr(&out));
    (status, serde_json::from_slice(&out.stdout).unwrap())
}

/// Run one case; Err says everything that was wrong with brig's answer.
fn run_case(case: &Case, healthy: &Ctx, baseline: &(String, Value)) -> Result<(), String> {
    let mut c = Ctx::new(&format!("bi-{}", case.name));
    // One state root for the corpus and the healthy container.
    c.root = healthy.root.clone();
    let args = match case.how {
        Break::Config(f) => {
            f(&mut c.config);
            c.write_config();
            create_with(&c, &[])
        }
        Break::Bundle(f) => {
            c.write_config();
            f(&mut c);
            create_with(&c, &[])
        }
        Break::Argv(f) => {
            c.write_config();
            f(&mut c, &healthy.id)
        }
    };
    let fixture = fixture_rootfs();
    let watched = [c.base.as_path(), fixture.as_path()];
    let mounts_before = mounts_naming(&watched);
    let log = c.base.join("log.json");
    // brig's output goes to files: a leaked container process could hold a pipe open.
    let out_path = c.base.join("brig.out");
    let err_path = c.base.join("brig.err");
    let status = Command::new(BRIG)
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json"])
        .args(&args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    let mut problems = Vec::new();
    if status.code() != Some(case.code) {
        problems.push(format!(
            "exit {:?}, want {} (stderr: {err})",
            status.code(),
            case.code
        ));
    }
    if !err.contains(case.needle) {
        problems.push(format!("stderr does not mention {:?}: {err}", case.needle));
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    match text.lines().last().map(serde_json::from_str::<Value>) {
        Some(Ok(line)) => {
            // Shown with --nocapture or when the corpus fails: what each case answered.
            eprintln!("{}: {}", case.name, line["msg"].as_str().unwrap_or(""));
            if line["level"] != "error" {
                problems.push(format!("last log line is not an error: {line}"));
            }
            if !line["msg"].as_str().unwrap_or("").contains(case.needle) {
                problems.push(format!(
                    "log msg does not mention {:?}: {line}",
                    case.needle
                ));
            }
            if !line["time"].as_str().is_some_and(|t| t.ends_with('Z')) {
                problems.push(format!("log line without a time: {line}"));
            }
        }
        Some(Err(e)) => problems.push(format!("last log line is not JSON ({e}): {text}")),
        None => problems.push("no log line".into()),
    }
    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.assert_clean())) {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        problems.push(format!("not clean: {msg}"));
    }
    let mut left: Vec<String> = std::fs::read_dir(&healthy.root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| *n != healthy.id)
        .collect();
    // The root's staging directory (`~staging`) may stay, empty.
    let staging = healthy.root.join("~staging");
    if std::fs::read_dir(&staging).is_ok_and(|mut d| d.next().is_none()) {
        left.retain(|n| n != "~staging");
    }
    left.sort();
    if !left.is_empty() {
        problems.push(format!("left in the state root: {left:?}"));
    }
    let fifos = fifos_under(&healthy.root);
    if !fifos.is_empty() {
        problems.push(format!("fifos left: {fifos:?}"));
    }
    let mounts_after = mounts_naming(&watched);
    if mounts_after != mounts_before {
        problems.push(format!(
            "mounts naming the bundle or rootfs: {mounts_before} before, {mounts_after} after"
        ));
    }
    let now = health(healthy);
    if &now != baseline {
        problems.push(format!(
            "the healthy container changed: {baseline:?} -> {now:?}"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

#[test]
fn the_bad_input_corpus() {
    let mut healthy = Ctx::new("bi-healthy");
    healthy.set_args(&["sleep", "1000"]);
    assert!(healthy.create().status.success(), "create the healthy one");
    let out = healthy.brig(&["start", &healthy.id]);
    assert!(out.status.success(), "start: {}", stderr(&out));
    let baseline = health(&healthy);
    assert_eq!(baseline.0, "running");
    assert_eq!(baseline.1.as_array().unwrap().len(), 1, "{:?}", baseline.1);
    let cgroups = healthy.cgroup_dirs();

    let cases = corpus();
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        assert!(names.insert(case.name), "two cases named {}", case.name);
    }
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = run_case(case, &healthy, &baseline) {
            failures.push(format!("{}:\n    {why}", case.name));
        }
    }
    eprintln!(
        "bad input corpus: {} cases run, {} failed",
        cases.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // The neighbour ran through all of it.
    let (status, pids) = health(&healthy);
    assert_eq!(status, "running");
    assert_eq!(pids, baseline.1);
    assert_eq!(healthy.cgroup_dirs(), cgroups);
    let out = healthy.brig(&["delete", "--force", &healthy.id]);
    assert!(out.status.success(), "delete: {}", stderr(&out));
    healthy.assert_clean();
}
