//! config.json mount options: kernel flags, propagation, recursive attributes, fs data.

use nix::mount::MsFlags;

use crate::support::sys::mount_attr as attr;

#[derive(Debug, Clone)]
pub struct MountOptions {
    /// Flags to set on the mount.
    pub flags: MsFlags,
    /// Flags the options explicitly clear (`rw`, `suid`, ...); matters for remounts.
    pub cleared: MsFlags,
    /// Propagation changes, applied after the mount in order.
    pub propagation: Vec<MsFlags>,
    /// Recursive attributes (`rro`, `rnosuid`, ...) for mount_setattr(AT_RECURSIVE).
    pub attr_set: u64,
    pub attr_clr: u64,
    /// Everything else, passed to the filesystem as its data string.
    pub data: Vec<String>,
    /// `idmap` (Some(false)) or `ridmap` (Some(true)): an idmapped bind mount.
    pub idmap: Option<bool>,
    /// crun's `idmap=uids=…;gids=…`: the mount's own id ranges.
    pub idmap_ranges: Option<IdRanges>,
    /// `tmpcopyup`: a tmpfs starts with a copy of the directory it covers.
    pub tmpcopyup: bool,
}

/// crun's spelling of a mount's id mapping, `idmap=uids=0-1-10#10-11-10;gids=0-100-10`:
/// ranges of containerID-hostID-size joined by `#`; `@` before a range makes its hostID an
/// id of the container (mapped through linux.uidMappings/gidMappings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdRanges {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub size: u32,
    pub relative: bool,
}

fn parse_id_ranges(value: &str) -> Result<IdRanges, String> {
    let bad = |why: &str| format!("mount option idmap={value:?}: {why}");
    let mut out = IdRanges::default();
    for part in value.split(';') {
        let (list, text) = match part.split_once('=') {
            Some(("uids", t)) => (&mut out.uids, t),
            Some(("gids", t)) => (&mut out.gids, t),
            _ => {
                return Err(bad(
                    "expected uids=RANGES and/or gids=RANGES, joined by ';'",
                ))
            }
        };
        if !list.is_empty() {
            return Err(bad("uids or gids given twice"));
        }
        for range in text.split('#') {
            let (relative, range) = match range.strip_prefix('@') {
                Some(r) => (true, r),
                None => (false, range),
            };
            let n: Vec<u32> = range
                .split('-')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| bad(&format!("{range:?} is not containerID-hostID-size")))?;
            let [container, host, size] = n[..] else {
                return Err(bad(&format!("{range:?} is not containerID-hostID-size")));
            };
            if size == 0
                || container.checked_add(size).is_none()
                || host.checked_add(size).is_none()
            {
                return Err(bad(&format!(
                    "{range:?}: the size must be positive and fit"
                )));
            }
            list.push(IdRange {
                container,
                host,
                size,
                relative,
            });
        }
    }
    // The kernel takes no overlapping ranges on either side of a map.
    for list in [&out.uids, &out.gids] {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                let overlap = |x: u32, y: u32| x < y + b.size && y < x + a.size;
                if overlap(a.container, b.container)
                    || (a.relative == b.relative && overlap(a.host, b.host))
                {
                    return Err(bad("ranges overlap"));
                }
            }
        }
    }
    Ok(out)
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            attr_set: 0,
            attr_clr: 0,
            data: Vec::new(),
            idmap: None,
            idmap_ranges: None,
            tmpcopyup: false,
        }
    }
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    pub fn data_string(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }

    /// Whether options act on the new mount through its fd once it is made (propagation,
    /// recursive attributes).
    pub fn act_on_mount(&self) -> bool {
        !self.propagation.is_empty() || self.attr_set != 0 || self.attr_clr != 0
    }

    /// Flags that need a remount to take effect on a bind mount.
    pub fn remount_flags(&self) -> MsFlags {
        self.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT)
    }
}

pub fn propagation(name: &str) -> Option<MsFlags> {
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// (name, clears?, flag)
const FLAGS: &[(&str, bool, MsFlags)] = &[
    ("ro", false, MsFlags::MS_RDONLY),
    ("rw", true, MsFlags::MS_RDONLY),
    ("nosuid", false, MsFlags::MS_NOSUID),
    ("suid", true, MsFlags::MS_NOSUID),
    ("nodev", false, MsFlags::MS_NODEV),
    ("dev", true, MsFlags::MS_NODEV),
    ("noexec", false, MsFlags::MS_NOEXEC),
    ("exec", true, MsFlags::MS_NOEXEC),
    ("sync", false, MsFlags::MS_SYNCHRONOUS),
    ("async", true, MsFlags::MS_SYNCHRONOUS),
    ("dirsync", false, MsFlags::MS_DIRSYNC),
    ("remount", false, MsFlags::MS_REMOUNT),
    ("mand", false, MsFlags::MS_MANDLOCK),
    ("nomand", true, MsFlags::MS_MANDLOCK),
    ("atime", true, MsFlags::MS_NOATIME),
    ("noatime", false, MsFlags::MS_NOATIME),
    ("diratime", true, MsFlags::MS_NODIRATIME),
    ("nodiratime", false, MsFlags::MS_NODIRATIME),
    ("relatime", false, MsFlags::MS_RELATIME),
    ("norelatime", true, MsFlags::MS_RELATIME),
    ("strictatime", false, MsFlags::MS_STRICTATIME),
    ("nostrictatime", true, MsFlags::MS_STRICTATIME),
    ("lazytime", false, MsFlags::MS_LAZYTIME),
    ("nolazytime", true, MsFlags::MS_LAZYTIME),
    ("silent", false, MsFlags::MS_SILENT),
    ("loud", true, MsFlags::MS_SILENT),
    ("iversion", false, MsFlags::MS_I_VERSION),
    ("noiversion", true, MsFlags::MS_I_VERSION),
    ("acl", false, MsFlags::MS_POSIXACL),
    ("noacl", true, MsFlags::MS_POSIXACL),
    ("bind", false, MsFlags::MS_BIND),
    ("defaults", false, MsFlags::empty()),
];

/// (name, clears?, attribute); the atime ones also reset the atime mask.
const RECURSIVE: &[(&str, bool, u64)] = &[
    ("rro", false, attr::RDONLY),
    ("rrw", true, attr::RDONLY),
    ("rnosuid", false, attr::NOSUID),
    ("rsuid", true, attr::NOSUID),
    ("rnodev", false, attr::NODEV),
    ("rdev", true, attr::NODEV),
    ("rnoexec", false, attr::NOEXEC),
    ("rexec", true, attr::NOEXEC),
    ("rnodiratime", false, attr::NODIRATIME),
    ("rdiratime", true, attr::NODIRATIME),
    ("rnosymfollow", false, attr::NOSYMFOLLOW),
    ("rsymfollow", true, attr::NOSYMFOLLOW),
];

const RECURSIVE_ATIME: &[(&str, u64)] = &[
    ("rrelatime", attr::RELATIME),
    ("rnoatime", attr::NOATIME),
    ("rstrictatime", attr::STRICTATIME),
];

/// Whether `parse` takes this option itself (never passing it as fs data): a name from
/// `known_names`, or an id mapping `idmap=…`/`ridmap=…`.
pub fn is_known(option: &str) -> bool {
    static KNOWN: std::sync::OnceLock<Vec<&str>> = std::sync::OnceLock::new();
    option.starts_with("idmap=")
        || option.starts_with("ridmap=")
        || KNOWN.get_or_init(known_names).contains(&option)
}

/// The names `features` reports, so it never claims what `parse` refuses.
pub fn known_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = FLAGS.iter().map(|f| f.0).collect();
    names.extend(RECURSIVE.iter().map(|f| f.0));
    names.extend(RECURSIVE_ATIME.iter().map(|f| f.0));
    names.extend([
        "rbind",
        "nosymfollow",
        "symfollow",
        "ratime",
        "rnorelatime",
        "rnostrictatime",
        "idmap",
        "ridmap",
        "tmpcopyup",
    ]);
    names.extend([
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "unbindable",
        "runbindable",
    ]);
    names.sort_unstable();
    names
}

pub fn parse(options: &[String]) -> Result<MountOptions, String> {
    let mut o = MountOptions::default();
    for opt in options {
        let name = opt.as_str();
        if let Some(&(_, clears, flag)) = FLAGS.iter().find(|f| f.0 == name) {
            if clears {
                o.flags.remove(flag);
                o.cleared.insert(flag);
            } else {
                o.flags.insert(flag);
            }
        } else if name == "rbind" {
            o.flags.insert(MsFlags::MS_BIND | MsFlags::MS_REC);
        } else if name == "nosymfollow" || name == "symfollow" {
            // MS_NOSYMFOLLOW (Linux 5.10) is not in every libc's MsFlags.
            let f = MsFlags::from_bits_retain(256);
            if name == "nosymfollow" {
                o.flags.insert(f)
            } else {
                o.flags.remove(f);
                o.cleared.insert(f)
            }
        } else if let Some(p) = propagation(name) {
            o.propagation.push(p);
        } else if let Some(&(_, clears, a)) = RECURSIVE.iter().find(|f| f.0 == name) {
            // The last of a pair (`rro` then `rrw`) wins.
            if clears {
                o.attr_set &= !a;
                o.attr_clr |= a
            } else {
                o.attr_clr &= !a;
                o.attr_set |= a
            }
        } else if let Some(&(_, a)) = RECURSIVE_ATIME.iter().find(|f| f.0 == name) {
            o.attr_clr |= attr::ATIME_MASK;
            o.attr_set = (o.attr_set & !attr::ATIME_MASK) | a;
        } else if name == "ratime" || name == "rnorelatime" || name == "rnostrictatime" {
            o.attr_clr |= attr::ATIME_MASK;
            o.attr_set &= !attr::ATIME_MASK;
        } else if name == "idmap" || name == "ridmap" {
            o.idmap = Some(name == "ridmap");
        } else if let Some((kind @ ("idmap" | "ridmap"), value)) = name.split_once('=') {
            o.idmap = Some(kind == "ridmap");
            o.idmap_ranges = Some(parse_id_ranges(value)?);
        } else if name == "tmpcopyup" {
            o.tmpcopyup = true;
        } else if name.is_empty() {
            return Err("empty mount option".into());
        } else {
            o.data.push(opt.clone());
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_propagation_and_data_are_separated() {
        let o = p(&[
            "nosuid",
            "strictatime",
            "mode=755",
            "size=65536k",
            "rslave",
            "rro",
        ]);
        assert!(o
            .flags
            .contains(MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME));
        assert_eq!(o.data_string().as_deref(), Some("mode=755,size=65536k"));
        assert_eq!(o.propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
        assert_eq!(o.attr_set, attr::RDONLY);
    }

    #[test]
    fn rw_clears_ro_and_rbind_is_recursive() {
        let o = p(&["ro", "rw", "rbind"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.cleared.contains(MsFlags::MS_RDONLY));
        assert!(o.flags.contains(MsFlags::MS_BIND | MsFlags::MS_REC));
    }

    #[test]
    fn crun_idmap_ranges_parse() {
        let o = p(&["rbind", "idmap=uids=0-1-10#10-11-10;gids=@0-100-10"]);
        assert_eq!(o.idmap, Some(false));
        let r = o.idmap_ranges.unwrap();
        let range = |container, host, size, relative| IdRange {
            container,
            host,
            size,
            relative,
        };
        assert_eq!(r.uids, [range(0, 1, 10, false), range(10, 11, 10, false)]);
        assert_eq!(r.gids, [range(0, 100, 10, true)]);
        assert_eq!(p(&["ridmap=uids=0-5-1"]).idmap, Some(true));
        assert!(p(&["ridmap=uids=0-5-1"])
            .idmap_ranges
            .unwrap()
            .gids
            .is_empty());
        for bad in [
            "idmap=uids=0-1",
            "idmap=uids=a-b-c",
            "idmap=uids=0-1-0",
            "idmap=users=0-1-10",
            "idmap=uids=0-1-10;uids=5-6-1",
            "idmap=uids=4294967295-1-10",
            "idmap=uids=0-1-10#5-20-10;gids=0-1-1",
            "idmap=uids=0-1-10#10-5-10;gids=0-1-1",
            "idmap=",
        ] {
            let err = parse(&[bad.to_string()]).unwrap_err();
            assert!(err.contains("idmap="), "{bad}: {err}");
        }
    }

    #[test]
    fn tmpcopyup_is_recognised() {
        assert!(p(&["tmpcopyup", "mode=755"]).tmpcopyup);
        assert_eq!(
            p(&["tmpcopyup", "mode=755"]).data_string().as_deref(),
            Some("mode=755")
        );
    }

    #[test]
    fn the_last_recursive_option_of_a_pair_wins() {
        let o = p(&["rro", "rrw"]);
        assert_eq!((o.attr_set, o.attr_clr), (0, attr::RDONLY));
        let o = p(&["rrw", "rro"]);
        assert_eq!((o.attr_set, o.attr_clr), (attr::RDONLY, 0));
        let o = p(&["rnoatime", "rstrictatime"]);
        assert_eq!(
            (o.attr_set, o.attr_clr),
            (attr::STRICTATIME, attr::ATIME_MASK)
        );
    }

    #[test]
    fn idmap_options_are_recognised() {
        assert_eq!(p(&["rbind", "idmap"]).idmap, Some(false));
        assert_eq!(p(&["rbind", "ridmap"]).idmap, Some(true));
        assert_eq!(p(&["rbind"]).idmap, None);
        let names = known_names();
        for name in [
            "idmap",
            "ridmap",
            "rro",
            "rnosymfollow",
            "nosymfollow",
            "ratime",
        ] {
            assert!(names.contains(&name), "{name}");
        }
    }
}
