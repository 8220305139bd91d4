//! linux.seccomp: the profile compiled with libseccomp at create (so a bad profile fails
//! `create`), loaded by the init as late as it can be.

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use crate::error::{Error, Result};

/// The spec's name for an enum value ("SCMP_ACT_ERRNO", "SCMP_ARCH_X86_64", ...).
fn spec_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn action(
    a: LinuxSeccompAction,
    errno_ret: Option<u32>,
    default_errno: Option<u32>,
    field: &str,
) -> Result<ScmpAction> {
    let errno = errno_ret.or(default_errno).unwrap_or(libc::EPERM as u32) as i32;
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno as u16),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(Error::Unsupported(format!("{field}: SCMP_ACT_NOTIFY")));
        }
    })
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

/// Build the filter. Syscalls unknown to libseccomp are skipped, as runc does, so one
/// profile serves older and newer kernels.
pub fn compile(s: &LinuxSeccomp) -> Result<ScmpFilterContext> {
    let default_errno = s.default_errno_ret();
    let default = action(
        s.default_action(),
        None,
        default_errno,
        "linux.seccomp.defaultAction",
    )?;
    let lib = |field: &str, e: libseccomp::error::SeccompError| Error::config(field, e.to_string());
    let mut filter = ScmpFilterContext::new(default).map_err(|e| lib("linux.seccomp", e))?;
    // brig sets no_new_privs itself, as the spec says; libseccomp must not.
    filter
        .set_ctl_nnp(false)
        .map_err(|e| lib("linux.seccomp", e))?;
    for (i, arch) in s.architectures().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.architectures[{i}]");
        let arch: ScmpArch = spec_name(arch).parse().map_err(|e| lib(&field, e))?;
        // The native architecture is already in the filter.
        if arch != ScmpArch::native() {
            filter.add_arch(arch).map_err(|e| lib(&field, e))?;
        }
    }
    for flag in s.flags().iter().flatten() {
        let res = match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => filter.set_ctl_log(true),
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => filter.set_ctl_tsync(true),
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => filter.set_ctl_ssb(true),
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                return Err(Error::Unsupported(
                    "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV".into(),
                ))
            }
        };
        res.map_err(|e| lib("linux.seccomp.flags", e))?;
    }
    if s.listener_path().is_some() {
        return Err(Error::Unsupported("linux.seccomp.listenerPath".into()));
    }
    for (i, rule) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(
            rule.action(),
            rule.errno_ret(),
            default_errno,
            &format!("{field}.action"),
        )?;
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

pub fn load(filter: &ScmpFilterContext) -> Result<()> {
    filter
        .load()
        .map_err(|e| Error::msg(format!("load the seccomp filter: {e}")))
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
