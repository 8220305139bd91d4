//! linux.seccomp: the profile compiled with libseccomp in the init before Ready (so a bad
//! profile fails `create`), exported as BPF and loaded with seccomp(2) and the profile's
//! flags as late as it can be. brig loads the program itself rather than through
//! libseccomp because libseccomp 2.5 cannot pass SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
//!
//! SCMP_ACT_NOTIFY: loading the filter returns a listener fd; the init passes it to brig
//! over the channel, and brig hands it, with the container's state, to the seccomp agent
//! listening at `linux.seccomp.listenerPath` (`send_to_listener`), as runc does.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use serde::Serialize;

use crate::error::{Context, Error, Result};

/// Every action brig applies, by its spec name (the `features` list).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// Every argument operator brig applies.
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// The architectures the spec names; which of them work depends on the libseccomp brig
/// runs with (`supported_archs`).
const ARCHES: &[&str] = &[
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];

/// The filter flags of the spec and their seccomp(2) bits.
const FLAGS: &[(&str, libc::c_ulong)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", libc::SECCOMP_FILTER_FLAG_TSYNC),
    ("SECCOMP_FILTER_FLAG_LOG", libc::SECCOMP_FILTER_FLAG_LOG),
    (
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    ),
    (
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
    ),
];

/// The kernel's limit on a filter program (BPF_MAXINSNS).
const MAX_INSTRUCTIONS: usize = 4096;

/// brig's init passes the listener fd to brig with this call right after loading the
/// filter: a rule that notified on it would wait for an agent that cannot have the fd yet.
const PASSES_THE_LISTENER: &str = "sendmsg";

/// The spec's name for an enum value ("SCMP_ACT_ERRNO", "SCMP_ARCH_X86_64", ...).
fn spec_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn action(a: LinuxSeccompAction, errno_ret: Option<u32>, default_errno: Option<u32>) -> ScmpAction {
    let errno = errno_ret.or(default_errno).unwrap_or(libc::EPERM as u32) as i32;
    match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno as u16),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    }
}

/// One argument condition; `field` names its index for the error.
fn compare(arg: &oci_spec::runtime::LinuxSeccompArg, field: &str) -> Result<ScmpArgCompare> {
    // Syscalls have six arguments; an index past u32 must not wrap to a small one.
    let index = u32::try_from(arg.index())
        .ok()
        .filter(|&i| i < 6)
        .ok_or_else(|| {
            Error::config(
                field,
                format!("argument index {} is not 0 to 5", arg.index()),
            )
        })?;
    let op = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        // The spec's value is the mask, valueTwo the value it must equal.
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(arg.value()),
    };
    let datum = match arg.op() {
        LinuxSeccompOperator::ScmpCmpMaskedEq => arg.value_two().unwrap_or(0),
        _ => arg.value(),
    };
    Ok(ScmpArgCompare::new(index, op, datum))
}

/// Build the libseccomp filter: default action, architectures and rules. Syscalls unknown
/// to libseccomp are skipped, as runc does, so one profile serves older and newer kernels.
/// The flags are `prepare`'s: they are not part of the program.
pub fn compile(s: &LinuxSeccomp) -> Result<ScmpFilterContext> {
    let default_errno = s.default_errno_ret();
    if s.default_action() == LinuxSeccompAction::ScmpActNotify {
        // The init's own sendmsg of the listener fd would wait for an agent without it.
        return Err(Error::config(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    let default = action(s.default_action(), None, default_errno);
    let lib = |field: &str, e: libseccomp::error::SeccompError| Error::config(field, e.to_string());
    let mut filter = ScmpFilterContext::new(default).map_err(|e| lib("linux.seccomp", e))?;
    for (i, arch) in s.architectures().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.architectures[{i}]");
        let arch: ScmpArch = spec_name(arch).parse().map_err(|e| lib(&field, e))?;
        // The native architecture is already in the filter.
        if arch != ScmpArch::native() {
            filter.add_arch(arch).map_err(|e| lib(&field, e))?;
        }
    }
    let rules = s.syscalls().as_deref().unwrap_or_default();
    if rules.len() > 32 {
        // A binary tree instead of a linear list of syscall numbers: long allow lists
        // (Docker's has some 350 names) cost every syscall less. Older libseccomp lacks
        // it, which only costs speed.
        let _ = filter.set_ctl_optimize(2);
    }
    for (i, rule) in rules.iter().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        if rule.action() == LinuxSeccompAction::ScmpActNotify {
            check_notify_rule(s, rule.names(), &field)?;
        }
        let act = action(rule.action(), rule.errno_ret(), default_errno);
        if act == default {
            continue;
        }
        let args = rule.args().as_deref().unwrap_or_default();
        let mut indexes: Vec<usize> = args.iter().map(|a| a.index()).collect();
        indexes.sort_unstable();
        indexes.dedup();
        for name in rule.names() {
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                continue;
            };
            if args.is_empty() {
                filter.add_rule(act, syscall).map_err(|e| lib(&field, e))?;
            } else if indexes.len() == args.len() {
                let cmps = args
                    .iter()
                    .enumerate()
                    .map(|(j, a)| compare(a, &format!("{field}.args[{j}].index")))
                    .collect::<Result<Vec<_>>>()?;
                filter
                    .add_rule_conditional(act, syscall, &cmps)
                    .map_err(|e| lib(&field, e))?;
            } else {
                // Several conditions on one argument cannot be ANDed by libseccomp: each
                // becomes a rule of its own, as runc does.
                for (j, a) in args.iter().enumerate() {
                    let cmp = compare(a, &format!("{field}.args[{j}].index"))?;
                    filter
                        .add_rule_conditional(act, syscall, &[cmp])
                        .map_err(|e| lib(&field, e))?;
                }
            }
        }
    }
    Ok(filter)
}

/// A NOTIFY rule needs an agent to answer it, and must not catch the call that gives the
/// agent its fd.
fn check_notify_rule(s: &LinuxSeccomp, names: &[String], field: &str) -> Result<()> {
    if s.listener_path()
        .as_deref()
        .is_none_or(|p| p.as_os_str().is_empty())
    {
        return Err(Error::config(
            "linux.seccomp.listenerPath",
            format!("must be set: {field} uses SCMP_ACT_NOTIFY"),
        ));
    }
    if let Some(j) = names.iter().position(|n| n == PASSES_THE_LISTENER) {
        return Err(Error::config(
            format!("{field}.names[{j}]"),
            format!(
                "SCMP_ACT_NOTIFY cannot apply to {PASSES_THE_LISTENER}: brig passes the \
                 listener its fd with it after loading the filter"
            ),
        ));
    }
    Ok(())
}

/// Whether the profile has a rule the agent at listenerPath answers.
fn notifies(s: &LinuxSeccomp) -> bool {
    s.syscalls()
        .iter()
        .flatten()
        .any(|r| r.action() == LinuxSeccompAction::ScmpActNotify)
}

/// A profile ready to load: the BPF program and the seccomp(2) flags.
pub struct Filter {
    program: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
}

/// Compile the profile and settle its flags against this kernel. Runs in the init before
/// Ready, so every error here fails `create`.
pub fn prepare(s: &LinuxSeccomp) -> Result<Filter> {
    let mut flags = filter_flags(s)?;
    let ctx = compile(s)?;
    if notifies(s) {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            // The kernel refuses TSYNC with a listener unless a failed sync reports ESRCH
            // (the return value is the listener fd, not a thread id).
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    } else {
        // Waiting killably for an agent only means something with one.
        flags &= !libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
    let program = export(&ctx)?;
    if program.len() > MAX_INSTRUCTIONS {
        return Err(Error::config(
            "linux.seccomp",
            format!(
                "the profile compiles to {} BPF instructions; the kernel takes at most {MAX_INSTRUCTIONS}",
                program.len()
            ),
        ));
    }
    Ok(Filter { program, flags })
}

/// `linux.seccomp.flags` as seccomp(2) bits, each checked against the running kernel.
fn filter_flags(s: &LinuxSeccomp) -> Result<libc::c_ulong> {
    let mut bits = 0;
    for (i, flag) in s.flags().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.flags[{i}]");
        let name = spec_name(flag);
        let (_, bit) = FLAGS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Error::config(&field, format!("unknown flag {name:?}")))?;
        if !flag_supported(*flag) {
            return Err(Error::config(
                field,
                format!("{name} is not supported by this kernel"),
            ));
        }
        bits |= bit;
    }
    Ok(bits)
}

fn flag_supported(flag: LinuxSeccompFilterFlag) -> bool {
    let name = spec_name(&flag);
    let Some((_, bit)) = FLAGS.iter().find(|(n, _)| *n == name) else {
        return false;
    };
    // The kernel only takes WAIT_KILLABLE_RECV together with NEW_LISTENER.
    let probe = match flag {
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
            bit | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
        }
        _ => *bit,
    };
    crate::sys::seccomp_flags_supported(probe)
}

/// The BPF program libseccomp generates, read back from a memfd (libseccomp 2.5 has no
/// export to memory).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>> {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    let fd = memfd_create(c"brig-seccomp", MFdFlags::MFD_CLOEXEC)
        .ctx(|| "memfd_create for the seccomp program")?;
    ctx.export_bpf(&fd)
        .map_err(|e| Error::config("linux.seccomp", format!("generate the BPF program: {e}")))?;
    let mut file = std::fs::File::from(fd);
    let mut bytes = Vec::new();
    file.rewind()
        .and_then(|_| file.read_to_end(&mut bytes))
        .ctx(|| "read back the seccomp program")?;
    Ok(bytes
        .chunks_exact(std::mem::size_of::<libc::sock_filter>())
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

impl Filter {
    /// Whether loading yields a listener fd that must reach the agent.
    pub fn notifies(&self) -> bool {
        self.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
    }

    /// Install the filter on this thread; the listener fd when the profile notifies.
    pub fn load(&self) -> Result<Option<OwnedFd>> {
        crate::sys::seccomp_set_mode_filter(self.flags, &self.program)
            .map_err(|e| Error::os("load the seccomp filter", e))
    }
}

/// The container's state as runc gives it to a seccomp agent: the OCI state, without
/// rootfs, created and owner.
#[derive(Serialize)]
pub struct ListenerState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: &'a str,
    /// The container's init.
    #[serde(skip_serializing_if = "is_zero")]
    pub pid: i32,
    pub bundle: &'a Path,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<&'a str, &'a str>,
}

fn is_zero(pid: &i32) -> bool {
    *pid == 0
}

/// The runtime-spec's ContainerProcessState: what the agent reads, with the listener fd
/// attached to it.
#[derive(Serialize)]
struct ContainerProcessState<'a> {
    #[serde(rename = "ociVersion")]
    oci_version: &'a str,
    /// Names of the fds passed along, in SCM_RIGHTS order.
    fds: [&'a str; 1],
    /// The process the filter belongs to (an exec'd process for `exec`).
    pid: i32,
    #[serde(skip_serializing_if = "str::is_empty")]
    metadata: &'a str,
    state: ListenerState<'a>,
}

/// Give the seccomp agent at `linux.seccomp.listenerPath` the listener fd of process
/// `pid`: one message on a new connection, the state JSON with the fd attached.
pub fn send_to_listener(
    s: &LinuxSeccomp,
    listener: BorrowedFd,
    pid: i32,
    state: ListenerState,
) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let path = s
        .listener_path()
        .as_deref()
        .ok_or_else(|| Error::config("linux.seccomp.listenerPath", "must be set"))?;
    let doc = ContainerProcessState {
        oci_version: crate::spec::OCI_VERSION,
        fds: ["seccompFd"],
        pid,
        metadata: s.listener_metadata().as_deref().unwrap_or_default(),
        state,
    };
    let json = serde_json::to_vec(&doc).map_err(|e| Error::msg(e.to_string()))?;
    let mut stream = std::os::unix::net::UnixStream::connect(path).ctx(|| {
        format!(
            "connect to the seccomp agent at linux.seccomp.listenerPath ({})",
            path.display()
        )
    })?;
    let fds = [listener.as_raw_fd()];
    let sent = sendmsg::<()>(
        stream.as_raw_fd(),
        &[std::io::IoSlice::new(&json)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .ctx(|| format!("send the seccomp listener fd to {}", path.display()))?;
    // A stream socket may take part of a long document; the rest follows without the fd.
    std::io::Write::write_all(&mut stream, &json[sent..])
        .ctx(|| format!("send the container state to {}", path.display()))
}

/// What `features` reports: only what this brig, with this libseccomp and kernel, applies.
pub fn features() -> serde_json::Value {
    let known: Vec<&str> = FLAGS.iter().map(|(n, _)| *n).collect();
    let supported: Vec<&str> = known
        .iter()
        .copied()
        .filter(|n| {
            serde_json::from_value::<LinuxSeccompFilterFlag>(serde_json::json!(n))
                .is_ok_and(flag_supported)
        })
        .collect();
    serde_json::json!({
        "enabled": true,
        "actions": ACTIONS,
        "operators": OPERATORS,
        "archs": supported_archs(),
        "knownFlags": known,
        "supportedFlags": supported,
    })
}

/// The architectures a profile can name here: those the installed libseccomp can add to
/// a filter for this machine (libseccomp refuses to mix byte orders in one filter).
fn supported_archs() -> Vec<&'static str> {
    ARCHES
        .iter()
        .copied()
        .filter(|name| {
            name.parse::<ScmpArch>().is_ok_and(|arch| {
                arch == ScmpArch::native()
                    || ScmpFilterContext::new(ScmpAction::Allow)
                        .is_ok_and(|mut f| f.add_arch(arch).is_ok())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_index(index: u64) -> LinuxSeccomp {
        serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": index, "value": 0, "op": "SCMP_CMP_EQ"}]}]
        }))
        .unwrap()
    }

    #[test]
    fn an_argument_index_past_five_is_refused_not_wrapped() {
        assert!(compile(&with_index(5)).is_ok());
        // 2^32 + 1 once became argument 1 (an `as u32`), silently filtering another argument.
        for index in [6, (1 << 32) + 1] {
            let err = compile(&with_index(index)).unwrap_err().to_string();
            assert!(
                err.contains("linux.seccomp.syscalls[0].args[0].index"),
                "{err}"
            );
        }
    }
}
