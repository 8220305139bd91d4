//! The systemd driver's `cgroupsPath` form, "slice:prefix:name", and where such a unit
//! lives in the cgroup tree.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::support::error::{Error, Result};

const FIELD: &str = "linux.cgroupsPath";

/// A container's systemd unit: the slice it goes in and its own unit name, saved in the
/// state so that later commands use the driver without being told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub slice: String,
    pub name: String,
    /// Rootless: the unit belongs to the user's own systemd instance.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub user: bool,
}

impl Unit {
    /// "slice:prefix:name"; empty means ":runc:<id>" as in runc. An empty slice is
    /// system.slice (user.slice for the user's instance); the unit is
    /// "<prefix>-<name>.scope", or `name` itself when it is a slice.
    pub fn parse(cgroups_path: &str, id: &str, user: bool) -> Result<Unit> {
        let (slice, prefix, name) = if cgroups_path.is_empty() {
            ("", "runc", id)
        } else {
            let parts: Vec<&str> = cgroups_path.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                return Err(Error::config(
                    FIELD,
                    format!("{cgroups_path:?}: the systemd driver expects \"slice:prefix:name\""),
                ));
            };
            (slice, prefix, name)
        };
        if name.is_empty() || [prefix, name].iter().any(|s| s.contains('/')) {
            return Err(Error::config(
                FIELD,
                format!("{cgroups_path:?}: the unit's prefix and name must be non-empty names without \"/\""),
            ));
        }
        // As runc: "<prefix>-<name>.scope" even with an empty prefix.
        let name = if name.ends_with(".slice") {
            name.to_string()
        } else {
            format!("{prefix}-{name}.scope")
        };
        let slice = match slice {
            "" if user => "user.slice",
            "" => "system.slice",
            slice => slice,
        };
        expand_slice(slice)?;
        Ok(Unit {
            slice: slice.to_string(),
            name,
            user,
        })
    }

    /// A slice unit rather than a scope: it holds the init without owning it.
    pub fn is_slice(&self) -> bool {
        self.name.ends_with(".slice")
    }

    /// The unit's cgroup, relative to a hierarchy's root: /system.slice/docker-abc.scope;
    /// for the user's instance, below its user@UID.service.
    pub fn cgroup_path(&self) -> Result<PathBuf> {
        let base = if self.user {
            let uid = nix::unistd::geteuid();
            PathBuf::from(format!("/user.slice/user-{uid}.slice/user@{uid}.service"))
        } else {
            PathBuf::from("/")
        };
        let slice = expand_slice(&self.slice)?;
        Ok(base.join(slice.trim_start_matches('/')).join(&self.name))
    }
}

/// A slice name as a path of nested slices, as systemd lays them out: each "-" opens a
/// sub-slice, so "a-b.slice" is /a.slice/a-b.slice; "-.slice" is the root.
pub fn expand_slice(slice: &str) -> Result<String> {
    let bad = |why: &str| Error::config(FIELD, format!("slice {slice:?}: {why}"));
    let stem = slice
        .strip_suffix(".slice")
        .ok_or_else(|| bad("a slice name ends in \".slice\""))?;
    if slice.contains('/') {
        return Err(bad(
            "a slice name has no \"/\" (nesting is spelled with \"-\")",
        ));
    }
    if stem == "-" {
        return Ok("/".into());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(bad("empty part (a leading, trailing or doubled \"-\")"));
        }
        path.push_str(&format!("/{prefix}{part}.slice"));
        prefix.push_str(part);
        prefix.push('-');
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> String {
        Unit::parse(p, "ctr", false)
            .and_then(|u| u.cgroup_path())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn slice_prefix_name_becomes_a_scope_in_its_slice() {
        assert_eq!(
            path("system.slice:docker:abc"),
            "/system.slice/docker-abc.scope"
        );
        assert_eq!(
            Unit::parse("system.slice:docker:abc", "x", false).unwrap(),
            Unit {
                slice: "system.slice".into(),
                name: "docker-abc.scope".into(),
                user: false,
            }
        );
        assert_eq!(path(""), "/system.slice/runc-ctr.scope");
        assert_eq!(path(":crio:abc"), "/system.slice/crio-abc.scope");
        assert_eq!(path("a-b.slice::abc"), "/a.slice/a-b.slice/-abc.scope");
        assert_eq!(
            path("kubepods-besteffort.slice:cri-containerd:abc"),
            "/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope"
        );
        assert_eq!(path("-.slice:p:abc"), "/p-abc.scope");
        assert_eq!(path("a.slice:p:b.slice"), "/a.slice/b.slice");
        let user = Unit::parse("", "ctr", true).unwrap();
        let uid = nix::unistd::geteuid();
        assert_eq!(
            user.cgroup_path().unwrap(),
            PathBuf::from(format!(
                "/user.slice/user-{uid}.slice/user@{uid}.service/user.slice/runc-ctr.scope"
            ))
        );
    }

    #[test]
    fn slices_expand_to_nested_directories() {
        assert_eq!(expand_slice("a-b.slice").unwrap(), "/a.slice/a-b.slice");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        for bad in [
            "a",
            "a/b.slice",
            "-a.slice",
            "a-.slice",
            "a--b.slice",
            ".slice",
        ] {
            let err = expand_slice(bad).unwrap_err().to_string();
            assert!(err.contains("linux.cgroupsPath"), "{bad}: {err}");
        }
    }

    #[test]
    fn malformed_systemd_paths_name_the_field() {
        for bad in [
            "/brig/x",
            "a:b",
            "a:b:c:d",
            "system.slice:p:",
            "system.slice:p:a/b",
            "x:p:n",
        ] {
            assert!(
                path(bad).contains("linux.cgroupsPath"),
                "{bad}: {}",
                path(bad)
            );
        }
    }
}
