//! The command line: clap definitions mirroring runc's, and the argv normaliser that lets
//! clap accept urfave/cli's spellings (`-root`, `-root=DIR`, `--detach=false`).

pub mod help;

use clap::{Arg, ArgAction, ArgMatches, Command};

/// A boolean flag written `--x`, `-x`, or `--x=true|false` (never `--x false`, as in runc).
/// An absent flag is false (`MatchesExt::bool`) without a default value: clap parses every
/// default through the value parser on each call (21,000 of the 700,000 instructions of
/// `run`'s own process, callgrind).
fn flag(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .help(help)
        .num_args(0..=1)
        .require_equals(true)
        .default_missing_value("true")
        .value_parser(parse_go_bool)
        .action(ArgAction::Set)
}

/// A flag that takes a value. As in urfave/cli, the next argument is the value even when
/// it starts with a dash (`update --memory -1`, `--cpu-quota -1`).
fn opt(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .help(help)
        .num_args(1)
        .allow_hyphen_values(true)
        .action(ArgAction::Set)
}

fn id_arg() -> Arg {
    Arg::new("id")
        .value_name("container-id")
        .required(true)
        .help("the container's id")
}

/// Go's strconv.ParseBool, which runc uses for `--flag=value`.
fn parse_go_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("invalid boolean value {v:?}")),
    }
}

fn create_args(cmd: Command) -> Command {
    cmd.arg(opt("bundle", "path to the root of the bundle directory, defaults to the current directory").short('b'))
        .arg(opt("console-socket", "path to an AF_UNIX socket which will receive the console's pseudoterminal master"))
        .arg(opt("pidfd-socket", "path to an AF_UNIX socket which will receive a pidfd of the container's init"))
        .arg(opt("pid-file", "file to write the process id to"))
        .arg(flag("no-pivot", "do not use pivot_root to jail the process inside the rootfs"))
        .arg(flag("no-new-keyring", "do not create a new session keyring for the container"))
        .arg(opt("preserve-fds", "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)").default_value("0").value_parser(clap::value_parser!(u32)))
        .arg(id_arg())
}

/// The flags runc's `checkpoint` and `restore` share.
fn criu_args(cmd: Command, image_help: &'static str) -> Command {
    cmd.arg(opt("image-path", image_help))
        .arg(opt("work-path", "path for saving work files and logs"))
        .arg(flag("tcp-established", "allow open tcp connections"))
        .arg(flag("ext-unix-sk", "allow external unix sockets"))
        .arg(flag("shell-job", "allow shell jobs"))
        .arg(flag("file-locks", "handle file locks, for safety"))
        .arg(flag(
            "lazy-pages",
            "use userfaultfd to lazily restore memory pages",
        ))
        .arg(opt(
            "manage-cgroups-mode",
            "cgroups mode: 'soft' (default), 'full', 'strict' or 'ignore'",
        ))
        .arg(many(
            "empty-ns",
            "create a namespace, but don't restore its properties (only 'network')",
        ))
        .arg(flag(
            "auto-dedup",
            "enable auto deduplication of memory images",
        ))
        .arg(id_arg())
}

fn checkpoint_args(cmd: Command) -> Command {
    criu_args(cmd, "path for saving criu image files (default: ./checkpoint)")
        .arg(opt("parent-path", "path for previous criu image files in pre-dump, relative to --image-path"))
        .arg(flag("leave-running", "leave the process running after checkpointing"))
        .arg(opt("status-fd", "criu writes \\0 to this FD once lazy-pages is ready").default_value("-1").value_parser(clap::value_parser!(i32)))
        .arg(opt("page-server", "ADDRESS:PORT of the page server"))
        .arg(flag("pre-dump", "dump container's memory information only, leave the container running after this"))
        .after_help("Saves the state of a running container with CRIU (criu swrk). Unless --leave-running or\n--pre-dump is given, the container is removed once the dump succeeds; a failed dump leaves it\nrunning.\n\nExample: brig checkpoint --image-path /var/lib/ck/web web")
}

fn restore_args(cmd: Command) -> Command {
    criu_args(cmd, "path to criu image files for restoring (default: ./checkpoint)")
        .arg(opt("console-socket", "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"))
        .arg(opt("bundle", "path to the root of the bundle directory").short('b'))
        .arg(flag("detach", "detach from the container's process").short('d'))
        .arg(opt("pid-file", "specify the file to write the process id to"))
        .arg(flag("no-subreaper", "disable the use of the subreaper used to reap reparented processes"))
        .arg(flag("no-pivot", "do not use pivot root to jail process inside rootfs (accepted; criu sets up the root)"))
        .arg(opt("lsm-profile", "specify an LSM profile to be used during restore in the form of TYPE:NAME"))
        .arg(opt("lsm-mount-context", "specify an LSM mount context to be used during restore"))
        .after_help("Restores a container from a checkpoint made with `brig checkpoint` (or runc's), under the given\nid, from the bundle's config.json. The container is then running; without --detach brig waits\nfor it and removes it when it exits.\n\nExample: brig restore -d --image-path /var/lib/ck/web --bundle /srv/web web")
}

/// `--format table|json` of `list` and `ps`.
fn format_arg() -> Arg {
    opt(
        "format",
        "select one of: table or json (default: \"table\")",
    )
    .short('f')
    .default_value("table")
    .value_parser(["table", "json"])
}

/// A repeatable flag with a value (`-e A=1 -e B=2`).
fn many(name: &'static str, help: &'static str) -> Arg {
    opt(name, help).action(ArgAction::Append)
}

fn update_args(cmd: Command) -> Command {
    cmd.arg(opt("resources", "path to the file containing the resources to update or '-' to read from the standard input").short('r'))
        .arg(opt("blkio-weight", "per cgroup weight, range is from 10 to 1000"))
        .arg(opt("cpu-period", "CPU CFS period to be used for hardcapping (in usecs)"))
        .arg(opt("cpu-quota", "CPU CFS hardcap limit (in usecs)"))
        .arg(opt("cpu-share", "CPU shares (relative weight vs. other containers)"))
        .arg(opt("cpu-rt-period", "CPU realtime period (in usecs)"))
        .arg(opt("cpu-rt-runtime", "CPU realtime hardcap limit (in usecs)"))
        .arg(opt("cpuset-cpus", "CPU(s) to use"))
        .arg(opt("cpuset-mems", "memory node(s) to use"))
        .arg(opt("memory", "memory limit (in bytes; k, m, g suffixes accepted)"))
        .arg(opt("memory-reservation", "memory reservation or soft_limit (in bytes)"))
        .arg(opt("memory-swap", "total memory usage (memory + swap); -1 for unlimited swap"))
        .arg(opt("pids-limit", "maximum number of pids allowed in the container"))
        .arg(opt("l3-cache-schema", "the string of Intel RDT/CAT L3 cache schema"))
        .arg(opt("mem-bw-schema", "the string of Intel RDT/MBA memory bandwidth schema"))
        .arg(id_arg())
}

fn exec_args(cmd: Command) -> Command {
    cmd.arg(opt(
        "console-socket",
        "path to an AF_UNIX socket which will receive the console's pseudoterminal master",
    ))
    .arg(opt(
        "pidfd-socket",
        "path to an AF_UNIX socket which will receive a pidfd of the new process",
    ))
    .arg(opt("cwd", "current working directory in the container"))
    .arg(many("env", "set environment variables").short('e'))
    .arg(flag("tty", "allocate a pseudo-TTY").short('t'))
    .arg(opt("user", "UID (format: <uid>[:<gid>])").short('u'))
    .arg(many("additional-gids", "additional gids").short('g'))
    .arg(opt("process", "path to the process.json").short('p'))
    .arg(flag("detach", "detach from the container's process").short('d'))
    .arg(opt(
        "pid-file",
        "specify the file to write the process id to",
    ))
    .arg(opt(
        "process-label",
        "set the asm process label for the process commonly used with selinux",
    ))
    .arg(opt("apparmor", "set the apparmor profile for the process"))
    .arg(flag(
        "no-new-privs",
        "set the no new privileges value for the process",
    ))
    .arg(
        many(
            "cap",
            "add a capability to the bounding set for the process",
        )
        .short('c'),
    )
    .arg(
        opt(
            "preserve-fds",
            "pass N additional file descriptors to the container",
        )
        .default_value("0")
        .value_parser(clap::value_parser!(u32)),
    )
    .arg(many(
        "cgroup",
        "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.",
    ))
    .arg(flag("ignore-paused", "allow exec in a paused container"))
    .arg(id_arg())
    .arg(
        Arg::new("command")
            .num_args(0..)
            .allow_hyphen_values(true)
            .trailing_var_arg(true)
            .help("the command and its arguments"),
    )
}

/// The global flags, without subcommands.
fn root() -> Command {
    Command::new("brig")
        // A flag given twice takes its last value, as urfave/cli does (podman passes
        // `--leave-running` twice); repeatable flags (`--env`) still gather every value.
        .args_override_self(true)
        .about("an OCI container runtime, a drop-in replacement for runc")
        .disable_version_flag(true)
        .subcommand_required(false)
        .arg(Arg::new("version").long("version").short('v').help("print the version").action(ArgAction::SetTrue))
        .arg(flag("debug", "enable debug logging"))
        .arg(opt("log", "set the log file to write brig logs to (default is '/dev/stderr')"))
        .arg(opt("log-format", "set the log format ('text' (default), or 'json')").default_value("text").value_parser(["text", "json"]))
        .arg(opt("root", "root directory for storage of container state (this should be located in tmpfs) (default: \"/run/brig\", or \"$XDG_RUNTIME_DIR/brig\" for a user other than root)"))
        .arg(opt("criu", "path to the criu binary used for checkpoint and restore").default_value("criu"))
        .arg(flag("systemd-cgroup", "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\""))
        .arg(opt("rootless", "ignore cgroup permission errors ('true', 'false', or 'auto')").default_value("auto").value_parser(["true", "false", "auto"]))
}

fn subcommand(name: &'static str, about: &'static str) -> Command {
    Command::new(name).about(about).args_override_self(true)
}

/// A subcommand: its name, its one-line help, and what adds its flags and arguments.
type Subcommand = (&'static str, &'static str, fn(Command) -> Command);

const SUBCOMMANDS: &[Subcommand] = &[
    ("create", "create a container", create_args),
    ("run", "create and run a container", |c| {
        create_args(c)
            .arg(flag("detach", "detach from the container's process").short('d'))
            .arg(flag("keep", "do not delete the container after it exits"))
            .arg(flag(
                "no-subreaper",
                "disable the use of the subreaper used to reap reparented processes",
            ))
    }),
    ("start", "start the process of a created container", |c| {
        c.arg(id_arg())
    }),
    ("state", "print the state of a container", |c| {
        c.arg(id_arg())
    }),
    (
        "kill",
        "send a signal (SIGTERM unless given) to the container's init, or to all its processes",
        |c| {
            c.arg(
                flag(
                    "all",
                    "send the specified signal to all processes inside the container",
                )
                .short('a'),
            )
            .arg(id_arg())
            .arg(
                Arg::new("signal")
                    .default_value("SIGTERM")
                    .help("signal name or number"),
            )
        },
    ),
    ("delete", "delete a container and all it holds", |c| {
        c.arg(
            flag(
                "force",
                "forcibly deletes the container if it is still running (uses SIGKILL)",
            )
            .short('f'),
        )
        .arg(id_arg())
    }),
    ("list", "list the containers in the state root", |c| {
        c.arg(format_arg())
            .arg(flag("quiet", "display only container IDs").short('q'))
    }),
    ("spec", "write a default config.json", |c| {
        c.arg(opt("bundle", "path to the root of the bundle directory").short('b'))
            .arg(flag(
                "rootless",
                "generate a configuration for a rootless container",
            ))
    }),
    ("features", "print what this build supports", |c| c),
    ("exec", "run another process inside a container", exec_args),
    ("ps", "list the processes of a container", |c| {
        c.arg(format_arg()).arg(id_arg()).arg(
            Arg::new("ps-args")
                .num_args(0..)
                .allow_hyphen_values(true)
                .trailing_var_arg(true)
                .help("arguments for ps(1), default -ef"),
        )
    }),
    ("pause", "freeze every process of a container", |c| {
        c.arg(id_arg())
    }),
    ("resume", "thaw a paused container", |c| c.arg(id_arg())),
    (
        "update",
        "change the resource limits of a container",
        update_args,
    ),
    (
        "events",
        "print resource usage and OOM events of a container",
        |c| {
            c.arg(opt("interval", "set the stats collection interval").default_value("5s"))
                .arg(flag("stats", "display the container's stats then exit"))
                .arg(id_arg())
        },
    ),
    (
        "checkpoint",
        "checkpoint a running container",
        checkpoint_args,
    ),
    (
        "restore",
        "restore a container from a previous checkpoint",
        restore_args,
    ),
];

/// The whole command line definition.
pub fn command() -> Command {
    root().subcommands(
        SUBCOMMANDS
            .iter()
            .map(|(name, about, args)| args(subcommand(name, about))),
    )
}

/// The definition needed to parse `argv`: the global flags and the invoked subcommand,
/// no other. Building all of clap's tree costs more than most commands' own work (even
/// the other subcommands as bare names were 22 KiB of heap for `run`).
pub fn command_for(argv: &[String]) -> Command {
    let globals = root();
    let Some((name, about, args)) = invoked_subcommand(argv, &globals) else {
        // No subcommand, `help`, or a mistake: clap answers from the whole tree.
        return command();
    };
    globals.subcommand(args(subcommand(name, about)))
}

/// The first argument after the global flags (and their values), if it names a subcommand.
fn invoked_subcommand(argv: &[String], root: &Command) -> Option<&'static Subcommand> {
    let mut it = argv.iter().skip(1);
    while let Some(arg) = it.next() {
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return SUBCOMMANDS.iter().find(|(name, _, _)| name == arg);
        };
        if !body.contains('=') && long_takes_value(root, body) {
            it.next();
        }
    }
    None
}

/// Rewrite urfave/cli spellings into clap's: `-root x` → `--root x`, `-root=x` → `--root=x`.
///
/// Only the flags before the first positional argument are rewritten, so the arguments of a
/// container process (`exec ID ps -ef`) pass through untouched.
pub fn normalise(argv: Vec<String>, root: &Command) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut it = argv.into_iter();
    out.extend(it.next());
    let mut cmd = root;
    let mut positional_seen = false;
    while let Some(arg) = it.next() {
        if positional_seen || arg == "--" {
            out.push(arg);
            positional_seen = positional_seen || out.last().is_some_and(|a| a == "--");
            continue;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let takes_value = !body.contains('=') && long_takes_value(cmd, body);
            out.push(arg);
            if takes_value {
                out.extend(it.next());
            }
        } else if let Some(body) = arg.strip_prefix('-').filter(|b| b.len() > 1) {
            let name = body.split('=').next().unwrap_or(body);
            if find_long(cmd, name).is_some() {
                let takes_value = !body.contains('=') && long_takes_value(cmd, name);
                out.push(format!("-{arg}"));
                if takes_value {
                    out.extend(it.next());
                }
            } else {
                out.push(arg);
            }
        } else if let Some(short) = arg.strip_prefix('-').and_then(|b| b.chars().next()) {
            let takes_value = cmd
                .get_arguments()
                .find(|a| a.get_short() == Some(short))
                .is_some_and(arg_takes_separate_value);
            out.push(arg);
            if takes_value {
                out.extend(it.next());
            }
        } else if let Some(sub) = (std::ptr::eq(cmd, root))
            .then(|| root.find_subcommand(&arg))
            .flatten()
        {
            cmd = sub;
            out.push(arg);
        } else {
            positional_seen = true;
            out.push(arg);
        }
    }
    out
}

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| a.get_long() == Some(name))
}

fn long_takes_value(cmd: &Command, name: &str) -> bool {
    find_long(cmd, name).is_some_and(arg_takes_separate_value)
}

/// A flag consumes the next argument unless it is a boolean (`require_equals`) or a switch.
fn arg_takes_separate_value(a: &Arg) -> bool {
    a.get_action().takes_values() && !a.is_require_equals_set()
}

/// Convenience accessors over clap's matches.
pub trait MatchesExt {
    fn bool(&self, name: &str) -> bool;
    fn str(&self, name: &str) -> Option<&str>;
}

impl MatchesExt for ArgMatches {
    fn bool(&self, name: &str) -> bool {
        self.get_one::<bool>(name).copied().unwrap_or(false)
    }
    fn str(&self, name: &str) -> Option<&str> {
        self.get_one::<String>(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg_ids(cmd: &Command, sub: &str) -> Vec<String> {
        cmd.find_subcommand(sub)
            .unwrap()
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect()
    }

    #[test]
    fn the_invoked_subcommand_is_built_in_full() {
        let full = command();
        for (name, _, _) in SUBCOMMANDS {
            for argv in [
                vec!["brig", name, "x"],
                vec!["brig", "--root", "/r", "-log-format", "json", name],
                vec!["brig", "-root=/r", "--debug", name, "--", "x"],
            ] {
                let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
                let lean = command_for(&argv);
                assert_eq!(arg_ids(&lean, name), arg_ids(&full, name), "{argv:?}");
            }
        }
        // The others are not built.
        let argv: Vec<String> = ["brig", "run", "x"].iter().map(|s| s.to_string()).collect();
        let lean = command_for(&argv);
        let built: Vec<&str> = lean.get_subcommands().map(|c| c.get_name()).collect();
        assert_eq!(built, ["run"]);
        // Not a subcommand (or `help`): the whole tree.
        let argv = vec!["brig".to_string(), "help".to_string()];
        assert_eq!(arg_ids(&command_for(&argv), "exec"), arg_ids(&full, "exec"));
    }

    fn norm(args: &[&str]) -> Vec<String> {
        normalise(args.iter().map(|s| s.to_string()).collect(), &command())
    }

    #[test]
    fn single_dash_long_flags_become_double_dash() {
        assert_eq!(
            norm(&[
                "brig",
                "-root",
                "/r",
                "create",
                "-bundle=/b",
                "-pid-file",
                "p",
                "x"
            ]),
            [
                "brig",
                "--root",
                "/r",
                "create",
                "--bundle=/b",
                "--pid-file",
                "p",
                "x"
            ]
        );
        assert_eq!(
            norm(&["brig", "run", "-no-subreaper", "-d", "-b", "/b", "x"]),
            ["brig", "run", "--no-subreaper", "-d", "-b", "/b", "x"]
        );
    }

    #[test]
    fn arguments_after_the_id_are_untouched() {
        assert_eq!(
            norm(&["brig", "exec", "x", "ps", "-root"]),
            ["brig", "exec", "x", "ps", "-root"]
        );
        assert_eq!(
            norm(&["brig", "kill", "x", "-9"]),
            ["brig", "kill", "x", "-9"]
        );
    }

    #[test]
    fn bool_flags_take_go_values() {
        let m = command()
            .try_get_matches_from(norm(&["brig", "run", "--detach=false", "-keep", "x"]))
            .unwrap();
        let (_, sub) = m.subcommand().unwrap();
        assert!(!sub.bool("detach"));
        assert!(sub.bool("keep"));
    }

    #[test]
    fn value_after_a_bool_flag_is_positional() {
        let m = command()
            .try_get_matches_from(norm(&["brig", "delete", "--force", "x"]))
            .unwrap();
        let (_, sub) = m.subcommand().unwrap();
        assert!(sub.bool("force"));
        assert_eq!(sub.str("id"), Some("x"));
    }
}
