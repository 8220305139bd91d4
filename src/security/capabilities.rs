//! The five capability sets, computed in the parent from the spec and applied in the init.

use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::support::error::{Context, Error, Result};
use crate::support::logging;

/// Capability sets as bit masks (bit N = capability number N).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
    /// The highest capability this kernel knows.
    pub last_cap: u32,
}

/// The highest capability number of the running kernel: PR_CAPBSET_READ answers EINVAL
/// past it, so two prctl calls usually tell (no walk to /proc/sys/kernel/cap_last_cap).
pub fn last_cap() -> u32 {
    // CAP_CHECKPOINT_RESTORE, the last of Linux 5.9 to 6.x.
    const LIKELY: u32 = 40;
    let known = |n: u32| capbset_read(n) != -1;
    if known(LIKELY) {
        (LIKELY + 1..64).find(|&n| !known(n)).map_or(63, |n| n - 1)
    } else {
        (0..LIKELY).rev().find(|&n| known(n)).unwrap_or(0)
    }
}

fn capbset_read(n: u32) -> libc::c_int {
    // SAFETY: PR_CAPBSET_READ takes an integer argument only and changes nothing.
    unsafe { libc::prctl(libc::PR_CAPBSET_READ, n as libc::c_ulong, 0, 0, 0) }
}

/// The number of a capability from its spec name (`CAP_KILL` → 5).
pub fn number(cap: &oci_spec::runtime::Capability) -> Result<u32> {
    let name = serde_json::to_value(cap)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    name.parse::<caps::Capability>()
        .map(|c| c.index() as u32)
        .map_err(|_| Error::msg(format!("unknown capability {name:?}")))
}

impl CapSets {
    /// Masks from the spec; capabilities this kernel lacks are skipped with a warning.
    /// A spec without a capabilities object gets none at all.
    pub fn from_spec(spec_caps: Option<&LinuxCapabilities>) -> CapSets {
        let last = last_cap();
        let mask = |set: &Option<Capabilities>, field: &str| -> u64 {
            let mut bits = 0u64;
            for cap in set.iter().flatten() {
                // A name the spec types know but the caps crate does not: skipped as one
                // this kernel lacks.
                let n = number(cap).unwrap_or(u32::MAX);
                if n > last {
                    logging::warn(&format!(
                        "process.capabilities.{field}: {cap} is not known to this kernel; skipped"
                    ));
                    continue;
                }
                bits |= 1 << n;
            }
            bits
        };
        let Some(c) = spec_caps else {
            return CapSets {
                last_cap: last,
                ..CapSets::default()
            };
        };
        CapSets {
            bounding: mask(c.bounding(), "bounding"),
            effective: mask(c.effective(), "effective"),
            permitted: mask(c.permitted(), "permitted"),
            inheritable: mask(c.inheritable(), "inheritable"),
            ambient: mask(c.ambient(), "ambient"),
            last_cap: last,
        }
    }

    /// Drop from the bounding set everything the spec does not list. Needs CAP_SETPCAP, so
    /// it runs before the user switch.
    pub fn drop_bounding(&self) -> Result<()> {
        for n in 0..=self.last_cap {
            if self.bounding & (1 << n) == 0 {
                drop_bounding_raw(n)?;
            }
        }
        Ok(())
    }

    /// Effective, permitted and inheritable in one capset, then ambient where allowed.
    pub fn apply(&self) -> Result<()> {
        crate::support::sys::capset(self.effective, self.permitted, self.inheritable)
            .map_err(|e| self.capset_error(e))?;
        // The kernel only allows ambient capabilities that are permitted and inheritable.
        let ambient = self.ambient & self.permitted & self.inheritable;
        for n in 0..=self.last_cap {
            if ambient & (1 << n) != 0 {
                nix::errno::Errno::result(prctl_ambient_raise(n))
                    .ctx(|| format!("raise ambient capability {n}"))?;
            }
        }
        Ok(())
    }

    /// What made capset refuse, in the spec's terms: a capability the init does not hold
    /// itself (brig's own bounding set lacks it, as CAP_SYS_RESOURCE on some sandboxes),
    /// or an effective one that is not permitted.
    fn capset_error(&self, e: std::io::Error) -> Error {
        let held = caps::read(None, caps::CapSet::Permitted)
            .map(|set| set.iter().fold(0u64, |m, c| m | 1 << c.index()))
            .unwrap_or(u64::MAX);
        let missing = self.permitted & !held;
        if missing != 0 {
            return Error::config(
                "process.capabilities.permitted",
                format!(
                    "{} cannot be granted: brig does not hold it (its own bounding set lacks it)",
                    names(missing)
                ),
            );
        }
        let unpermitted = self.effective & !self.permitted;
        if unpermitted != 0 {
            return Error::config(
                "process.capabilities.effective",
                format!("{} is not in the permitted set", names(unpermitted)),
            );
        }
        Error::os(
            format!(
                "capset (effective {:#x}, permitted {:#x}, inheritable {:#x})",
                self.effective, self.permitted, self.inheritable
            ),
            e,
        )
    }
}

/// "CAP_CHOWN, CAP_KILL" for a mask.
fn names(mask: u64) -> String {
    (0..64u8)
        .filter(|n| mask & (1 << n) != 0)
        .map(|n| {
            caps::all()
                .into_iter()
                .find(|c| c.index() == n)
                .map_or_else(|| format!("capability {n}"), |c| c.to_string())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One prctl per capability: caps::drop would build caps::all()'s HashSet for each (27
/// times for the default spec: the init's hottest brig symbol in a perf profile).
fn drop_bounding_raw(n: u32) -> Result<()> {
    // SAFETY: PR_CAPBSET_DROP takes an integer argument only.
    let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, n as libc::c_ulong, 0, 0, 0) };
    nix::errno::Errno::result(r)
        .map(drop)
        .ctx(|| format!("drop {} from the bounding set", names(1 << n)))
}

fn prctl_ambient_raise(n: u32) -> libc::c_int {
    // SAFETY: PR_CAP_AMBIENT_RAISE takes integer arguments only.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            n as libc::c_ulong,
            0,
            0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_capability_is_the_kernels() {
        let kernel: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(last_cap(), kernel);
    }

    #[test]
    fn spec_names_map_to_kernel_numbers() {
        let caps: LinuxCapabilities =
            serde_json::from_str(r#"{"bounding":["CAP_KILL","CAP_CHOWN"],"ambient":["CAP_KILL"]}"#)
                .unwrap();
        let sets = CapSets::from_spec(Some(&caps));
        assert_eq!(sets.bounding, (1 << 5) | 1);
        assert_eq!(sets.ambient, 1 << 5);
        assert_eq!(sets.inheritable, 0);
    }

    #[test]
    fn no_capabilities_object_means_none() {
        assert_eq!(CapSets::from_spec(None).bounding, 0);
    }
}
