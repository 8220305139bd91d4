//! Device access rules: the spec's `linux.resources.devices` followed by runc's default
//! allow list, which Docker and ctr containers rely on.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// 'a', 'c' or 'b'.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

impl DeviceRule {
    /// The line the v1 devices controller takes: `c 1:3 rwm`, `a *:* rwm`.
    pub fn v1_line(&self) -> String {
        let num = |n: Option<i64>| {
            n.filter(|&n| n >= 0)
                .map_or("*".to_string(), |n| n.to_string())
        };
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

fn rule(kind: char, major: Option<i64>, minor: Option<i64>, access: &str) -> DeviceRule {
    DeviceRule {
        allow: true,
        kind,
        major,
        minor,
        access: access.into(),
    }
}

/// runc's default allowed devices: mknod of anything, and the standard nodes.
pub fn default_allowed() -> Vec<DeviceRule> {
    vec![
        rule('c', None, None, "m"),
        rule('b', None, None, "m"),
        rule('c', Some(1), Some(3), "rwm"),    // null
        rule('c', Some(1), Some(8), "rwm"),    // random
        rule('c', Some(1), Some(7), "rwm"),    // full
        rule('c', Some(5), Some(0), "rwm"),    // tty
        rule('c', Some(1), Some(5), "rwm"),    // zero
        rule('c', Some(1), Some(9), "rwm"),    // urandom
        rule('c', Some(5), Some(1), "rwm"),    // console
        rule('c', Some(136), None, "rwm"),     // pts
        rule('c', Some(5), Some(2), "rwm"),    // ptmx
        rule('c', Some(10), Some(200), "rwm"), // tun
    ]
}

/// The spec's rules in order, then the defaults.
pub fn rules(spec_rules: &[LinuxDeviceCgroup]) -> Vec<DeviceRule> {
    let mut out: Vec<DeviceRule> = spec_rules
        .iter()
        .map(|d| DeviceRule {
            allow: d.allow(),
            kind: match d.typ() {
                Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
                Some(LinuxDeviceType::B) => 'b',
                _ => 'a',
            },
            major: d.major(),
            minor: d.minor(),
            access: d
                .access()
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "rwm".into()),
        })
        .collect();
    out.extend(default_allowed());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_stars_for_any() {
        assert_eq!(rule('c', Some(136), None, "rwm").v1_line(), "c 136:* rwm");
        assert_eq!(rule('a', None, None, "rwm").v1_line(), "a *:* rwm");
    }
}
