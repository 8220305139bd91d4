//! Per-task kernel attributes from the spec: personality, I/O priority, scheduler, CPU
//! affinity (execCPUAffinity) and the NUMA memory policy (linux.memoryPolicy).

use oci_spec::runtime::{
    IOPriorityClass, LinuxPersonalityDomain, LinuxSchedulerFlag, LinuxSchedulerPolicy, Spec,
};

use crate::support::error::{Context, Error, Result};

/// `linux.personality`: the execution domain (LINUX or LINUX32).
pub fn set_personality(spec: &Spec) -> Result<()> {
    let Some(p) = spec.linux().as_ref().and_then(|l| l.personality().as_ref()) else {
        return Ok(());
    };
    let domain = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    crate::support::sys::personality(domain).ctx(|| format!("personality {domain:#x}"))
}

/// `process.ioPriority`: ioprio_set for this process.
pub fn set_io_priority(spec: &Spec) -> Result<()> {
    let Some(io) = spec
        .process()
        .as_ref()
        .and_then(|p| p.io_priority().as_ref())
    else {
        return Ok(());
    };
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    crate::support::sys::ioprio_set(class, io.priority() as u32)
        .ctx(|| format!("ioprio_set class {class} priority {}", io.priority()))
}

/// `process.scheduler`: sched_setattr for this process.
pub fn set_scheduler(spec: &Spec) -> Result<()> {
    let Some(s) = spec.process().as_ref().and_then(|p| p.scheduler().as_ref()) else {
        return Ok(());
    };
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => 4,
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    };
    let flags = s.flags().iter().flatten().fold(0u64, |acc, f| {
        acc | match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        }
    });
    let attr = crate::support::sys::SchedAttr {
        size: std::mem::size_of::<crate::support::sys::SchedAttr>() as u32,
        sched_policy: policy,
        sched_flags: flags,
        sched_nice: s.nice().unwrap_or(0),
        sched_priority: s.priority().unwrap_or(0) as u32,
        sched_runtime: s.runtime().unwrap_or(0),
        sched_deadline: s.deadline().unwrap_or(0),
        sched_period: s.period().unwrap_or(0),
        sched_util_min: 0,
        sched_util_max: 0,
    };
    crate::support::sys::sched_setattr(&attr).ctx(|| format!("sched_setattr policy {policy}"))
}

/// `process.execCPUAffinity.initial` (at the start of setup) or `.final` (right before
/// execve): the CPUs this process may run on.
pub fn set_cpu_affinity(spec: &Spec, final_set: bool) -> Result<()> {
    let Some(a) = spec
        .process()
        .as_ref()
        .and_then(|p| p.exec_cpu_affinity().as_ref())
    else {
        return Ok(());
    };
    let list = if final_set {
        a.cpu_affinity_final()
    } else {
        a.initial()
    };
    let Some(list) = list.as_deref().filter(|l| !l.is_empty()) else {
        return Ok(());
    };
    let field = if final_set {
        "process.execCPUAffinity.final"
    } else {
        "process.execCPUAffinity.initial"
    };
    let mut set = nix::sched::CpuSet::new();
    for cpu in crate::support::oci::parse_cpu_list(list).map_err(|e| Error::config(field, e))? {
        set.set(cpu)
            .map_err(|_| Error::config(field, format!("CPU {cpu} is out of range")))?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .ctx(|| format!("sched_setaffinity {list}"))
}

/// `linux.memoryPolicy` (runc 1.3): the NUMA policy the process starts with, set by
/// set_mempolicy(2) in the init, inherited across execve.
pub fn set_memory_policy(spec: &Spec) -> Result<()> {
    let Some(policy) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    else {
        return Ok(());
    };
    let (mode, mask) = memory_policy(policy).map_err(|e| Error::config("linux.memoryPolicy", e))?;
    crate::support::sys::set_mempolicy(mode, &mask).map_err(|e| {
        Error::config(
            "linux.memoryPolicy",
            format!("set_mempolicy: {}", crate::support::error::errno_text(&e)),
        )
    })
}

/// The policy as set_mempolicy takes it: the mode with its flags, and the node mask.
pub fn memory_policy(
    p: &oci_spec::runtime::LinuxMemoryPolicy,
) -> std::result::Result<(libc::c_int, Vec<libc::c_ulong>), String> {
    use oci_spec::runtime::{MemoryPolicyFlagType as F, MemoryPolicyModeType as M};
    let mut mode = match p.mode() {
        M::MpolDefault => 0,
        M::MpolPreferred => 1,
        M::MpolBind => 2,
        M::MpolInterleave => 3,
        M::MpolLocal => 4,
        M::MpolPreferredMany => 5,
        M::MpolWeightedInterleave => 6,
    };
    for flag in p.flags().iter().flatten() {
        mode |= match flag {
            F::MpolFNumaBalancing => 1 << 13,
            F::MpolFRelativeNodes => 1 << 14,
            F::MpolFStaticNodes => 1 << 15,
        };
    }
    let nodes = match p.nodes().as_deref().filter(|n| !n.is_empty()) {
        Some(list) => crate::support::oci::parse_cpu_list(list)
            .map_err(|e| e.replace("CPU list", "node list"))?,
        None => Vec::new(),
    };
    let needs_nodes = matches!(
        p.mode(),
        M::MpolBind | M::MpolInterleave | M::MpolPreferredMany | M::MpolWeightedInterleave
    );
    if needs_nodes && nodes.is_empty() {
        return Err(format!("{} needs nodes", p.mode()));
    }
    if matches!(p.mode(), M::MpolDefault | M::MpolLocal) && !nodes.is_empty() {
        return Err(format!("{} takes no nodes", p.mode()));
    }
    let bits = libc::c_ulong::BITS as usize;
    let mut mask = vec![0; nodes.iter().max().map_or(0, |&n| n / bits + 1)];
    for n in nodes {
        mask[n / bits] |= 1 << (n % bits);
    }
    Ok((mode, mask))
}
