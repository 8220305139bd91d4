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

use crate::support::error::{Context, Error, Result};

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
    let mut program = export(&ctx)?;
    if let Some(sections) = enosys_sections(s) {
        program = with_enosys_stub(&sections, program);
    }
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

/// The kernel's AUDIT_ARCH_* values (seccomp_data.arch) of the architectures the ENOSYS
/// stub covers. x32 shares x86_64's value; its syscall numbers have bit 30 set.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
const AUDIT_ARCH_RISCV64: u32 = 0xc000_00f3;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One architecture (or ABI: x86_64 and x32 share an AUDIT_ARCH) of the ENOSYS stub:
/// syscall numbers above `last`, the highest the profile names there, get ENOSYS.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StubSection {
    audit_arch: u32,
    /// For AUDIT_ARCH_X86_64: whether the section is x32's (bit 30 set) or x86_64's.
    x32: Option<bool>,
    last: u32,
}

/// Where an architecture's numbers are told apart in the stub; None for those it leaves
/// alone (s390's multiplexed numbers and MIPS's offsets need more than one comparison).
fn stub_arch(arch: ScmpArch) -> Option<(u32, Option<bool>)> {
    match arch {
        ScmpArch::X8664 => Some((AUDIT_ARCH_X86_64, Some(false))),
        ScmpArch::X32 => Some((AUDIT_ARCH_X86_64, Some(true))),
        ScmpArch::X86 => Some((AUDIT_ARCH_I386, None)),
        ScmpArch::Aarch64 => Some((AUDIT_ARCH_AARCH64, None)),
        ScmpArch::Arm => Some((AUDIT_ARCH_ARM, None)),
        ScmpArch::Riscv64 => Some((AUDIT_ARCH_RISCV64, None)),
        _ => None,
    }
}

/// The ENOSYS stub runc puts in front of the filter: a syscall newer than every one the
/// profile names is unknown to whoever wrote it, so it gets ENOSYS (libc then falls back,
/// clone3 → clone, faccessat2 → faccessat) rather than the default errno or kill. Only
/// when the default refuses (not ALLOW or LOG) and is not ENOSYS already. One section per
/// architecture of the filter (the native one and those the profile lists) that
/// `stub_arch` knows and for which the profile names at least one syscall.
fn enosys_sections(s: &LinuxSeccomp) -> Option<Vec<StubSection>> {
    if matches!(
        s.default_action(),
        LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
    ) || (s.default_action() == LinuxSeccompAction::ScmpActErrno
        && s.default_errno_ret() == Some(libc::ENOSYS as u32))
    {
        return None;
    }
    let mut arches = vec![ScmpArch::native()];
    for arch in s.architectures().iter().flatten() {
        if let Ok(arch) = spec_name(arch).parse::<ScmpArch>() {
            if !arches.contains(&arch) {
                arches.push(arch);
            }
        }
    }
    let names: Vec<&String> = s
        .syscalls()
        .iter()
        .flatten()
        .flat_map(|r| r.names())
        .collect();
    let sections: Vec<StubSection> = arches
        .into_iter()
        .filter_map(|arch| {
            let (audit_arch, x32) = stub_arch(arch)?;
            let last = names
                .iter()
                .filter_map(|n| ScmpSyscall::from_name_by_arch(n, arch).ok())
                .map(i32::from)
                .filter(|&nr| nr >= 0)
                .max()?;
            Some(StubSection {
                audit_arch,
                x32,
                last: last as u32,
            })
        })
        .collect();
    (!sections.is_empty()).then_some(sections)
}

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_JGT_K: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const BPF_JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
/// Offsets in struct seccomp_data.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// `program` with the stub in front. Per section:
///
/// ```text
///   ld  [arch]
///   jeq AUDIT_ARCH, 0, next         ; another architecture: next section
///   ld  [nr]
///   jset X32_SYSCALL_BIT, …          ; x86_64/x32 only: the other ABI goes to next
///   jgt LAST, enosys, next
/// ```
///
/// then `enosys: ret ERRNO(ENOSYS)` and the program, which the last section's `next`
/// reaches. Jumps are relative and only forward, so the program's own jumps are unchanged;
/// the stub is a few instructions per architecture, far from the 255 a jump can skip.
fn with_enosys_stub(
    sections: &[StubSection],
    program: Vec<libc::sock_filter>,
) -> Vec<libc::sock_filter> {
    let len = |s: &StubSection| if s.x32.is_some() { 5 } else { 4 };
    let enosys: usize = sections.iter().map(len).sum();
    let mut stub = Vec::with_capacity(enosys + 1 + program.len());
    let jump = |from: usize, to: usize| -> u8 {
        u8::try_from(to - from - 1).expect("the ENOSYS stub is short")
    };
    for s in sections {
        // The next section, or past the ENOSYS return into the program after the last.
        let mut next = stub.len() + len(s);
        if next == enosys {
            next += 1;
        }
        stub.push(stmt(BPF_LD_W_ABS, DATA_ARCH));
        let pc = stub.len();
        stub.push(libc::sock_filter {
            code: BPF_JEQ_K,
            jt: 0,
            jf: jump(pc, next),
            k: s.audit_arch,
        });
        stub.push(stmt(BPF_LD_W_ABS, DATA_NR));
        if let Some(x32) = s.x32 {
            let pc = stub.len();
            let (jt, jf) = if x32 {
                (0, jump(pc, next))
            } else {
                (jump(pc, next), 0)
            };
            stub.push(libc::sock_filter {
                code: BPF_JSET_K,
                jt,
                jf,
                k: X32_SYSCALL_BIT,
            });
        }
        let pc = stub.len();
        stub.push(libc::sock_filter {
            code: BPF_JGT_K,
            jt: jump(pc, enosys),
            jf: jump(pc, next),
            k: s.last,
        });
    }
    debug_assert_eq!(stub.len(), enosys);
    stub.push(stmt(
        BPF_RET_K,
        libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
    ));
    stub.extend(program);
    stub
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
    crate::support::sys::seccomp_flags_supported(probe)
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
    /// Install the filter on this thread; the listener fd when the profile notifies.
    pub fn load(&self) -> Result<Option<OwnedFd>> {
        crate::support::sys::seccomp_set_mode_filter(self.flags, &self.program)
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
        oci_version: crate::support::oci::OCI_VERSION,
        fds: ["seccompFd"],
        pid,
        metadata: s.listener_metadata().as_deref().unwrap_or_default(),
        state,
    };
    let json = serde_json::to_vec(&doc).map_err(|e| Error::msg(e.to_string()))?;
    let mut stream = std::os::unix::net::UnixStream::connect(path).ctx(|| {
        format!(
            "failed to connect with seccomp agent specified in the seccomp profile (linux.seccomp.listenerPath {})",
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

/// The libseccomp linked into brig, as `--version` prints it ("2.5.4").
pub fn library_version() -> String {
    libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a program returns for a call: a small interpreter of the instructions the
    /// stub uses (the rest of the program is one `ret` here).
    fn run(program: &[libc::sock_filter], arch: u32, nr: u32) -> u32 {
        let (mut pc, mut a) = (0, 0u32);
        loop {
            let i = program[pc];
            pc += 1;
            let taken = match i.code {
                BPF_LD_W_ABS => {
                    a = if i.k == DATA_NR { nr } else { arch };
                    continue;
                }
                BPF_RET_K => return i.k,
                BPF_JEQ_K => a == i.k,
                BPF_JGT_K => a > i.k,
                BPF_JSET_K => a & i.k != 0,
                code => panic!("instruction {code:#x} at {}", pc - 1),
            };
            pc += usize::from(if taken { i.jt } else { i.jf });
        }
    }

    const FILTER: u32 = 0x7fff_0001;
    const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

    fn profile(default: &str, arches: &[&str], names: &[&str]) -> LinuxSeccomp {
        serde_json::from_value(serde_json::json!({
            "defaultAction": default,
            "architectures": arches,
            "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]
        }))
        .unwrap()
    }

    #[test]
    fn the_enosys_stub_answers_only_numbers_above_the_profiles_last_per_abi() {
        let sections = [
            StubSection {
                audit_arch: AUDIT_ARCH_X86_64,
                x32: Some(false),
                last: 437,
            },
            StubSection {
                audit_arch: AUDIT_ARCH_I386,
                x32: None,
                last: 300,
            },
            StubSection {
                audit_arch: AUDIT_ARCH_X86_64,
                x32: Some(true),
                last: X32_SYSCALL_BIT | 100,
            },
        ];
        let program = with_enosys_stub(&sections, vec![stmt(BPF_RET_K, FILTER)]);
        let x32 = |nr: u32| X32_SYSCALL_BIT | nr;
        for (arch, nr, want) in [
            (AUDIT_ARCH_X86_64, 0, FILTER),
            (AUDIT_ARCH_X86_64, 437, FILTER),
            (AUDIT_ARCH_X86_64, 438, ENOSYS),
            (AUDIT_ARCH_X86_64, 1000, ENOSYS),
            (AUDIT_ARCH_X86_64, x32(100), FILTER),
            (AUDIT_ARCH_X86_64, x32(101), ENOSYS),
            (AUDIT_ARCH_I386, 300, FILTER),
            (AUDIT_ARCH_I386, 301, ENOSYS),
            // Not in the stub: the filter's own bad-architecture action decides.
            (AUDIT_ARCH_AARCH64, 5000, FILTER),
        ] {
            assert_eq!(run(&program, arch, nr), want, "arch {arch:#x} nr {nr:#x}");
        }
        // Without the x32 section, x32 numbers are left to the filter (libseccomp's
        // x86_64 filter refuses them), never answered by the x86_64 comparison.
        let program = with_enosys_stub(&sections[..1], vec![stmt(BPF_RET_K, FILTER)]);
        assert_eq!(run(&program, AUDIT_ARCH_X86_64, x32(1000)), FILTER);
        assert_eq!(run(&program, AUDIT_ARCH_X86_64, 438), ENOSYS);
        assert_eq!(run(&program, AUDIT_ARCH_I386, 1000), FILTER);
    }

    #[test]
    fn the_stub_is_only_for_refusing_defaults_with_the_profiles_last_number() {
        let arches = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
        let names = ["read", "openat2", "no_such_syscall_name"];
        let sections = enosys_sections(&profile("SCMP_ACT_ERRNO", &arches, &names)).unwrap();
        let x86_64 = sections.iter().find(|s| s.x32 == Some(false)).unwrap();
        assert_eq!(x86_64.last, 437, "openat2 on x86_64");
        let x32 = sections.iter().find(|s| s.x32 == Some(true)).unwrap();
        assert_eq!(x32.last, X32_SYSCALL_BIT | 437, "openat2 on x32");
        let i386 = sections
            .iter()
            .find(|s| s.audit_arch == AUDIT_ARCH_I386)
            .unwrap();
        assert_eq!(i386.last, 437, "openat2 on i386");
        // The native architecture is covered without being listed.
        let native = enosys_sections(&profile("SCMP_ACT_KILL", &[], &names)).unwrap();
        assert_eq!(native.len(), 1);
        for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"] {
            assert!(enosys_sections(&profile(default, &arches, &names)).is_none());
        }
        let mut enosys = profile("SCMP_ACT_ERRNO", &arches, &names);
        enosys.set_default_errno_ret(Some(38));
        assert!(enosys_sections(&enosys).is_none(), "ENOSYS already");
        // A compiled profile loads with the stub in front (prepare checks the length).
        assert!(prepare(&profile("SCMP_ACT_ERRNO", &arches, &names)).is_ok());
    }

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
