//! Loading and validating config.json. Every check on the spec lives here, once, before
//! any work starts; errors name the JSON path of the bad field.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result};

/// The runtime-spec version brig implements (reported by `--version`, `spec`, `features`).
pub const OCI_VERSION: &str = "1.2.0";

/// A bundle directory with its validated config.
pub struct Bundle {
    /// Absolute path of the bundle directory.
    pub dir: PathBuf,
    /// Absolute, symlink-free path of the root filesystem.
    pub rootfs: PathBuf,
    pub spec: Spec,
    /// config.json as read, kept in the state for exec.
    pub raw: Vec<u8>,
}

impl Bundle {
    pub fn load(dir: &Path) -> Result<Bundle> {
        let dir = std::path::absolute(dir)
            .map_err(|e| Error::os(format!("bundle {}", dir.display()), e))?;
        let config = dir.join("config.json");
        let bytes = read_regular(&config)?;
        Bundle::from_config(dir, bytes, resolve_rootfs)
    }

    /// Parse and validate config.json's bytes. `rootfs` turns `root.path` (joined to the
    /// bundle directory) into the root filesystem's path: `load` resolves it on disk, while
    /// the fuzz target passes it through, so the config is checked without a bundle.
    pub fn from_config(
        dir: PathBuf,
        raw: Vec<u8>,
        rootfs: impl FnOnce(&Path) -> Result<PathBuf>,
    ) -> Result<Bundle> {
        let spec = parse(&raw)?;
        let root = spec
            .root()
            .as_ref()
            .ok_or_else(|| Error::config("root", "missing (the bundle needs a root filesystem)"))?;
        let rootfs = rootfs(&dir.join(root.path()))?;
        validate(&spec)?;
        Ok(Bundle {
            dir,
            rootfs,
            spec,
            raw,
        })
    }
}

/// `root.path` on disk: absolute, symlink-free, and a directory.
fn resolve_rootfs(rootfs: &Path) -> Result<PathBuf> {
    let rootfs = std::fs::canonicalize(rootfs).map_err(|e| {
        Error::config(
            "root.path",
            format!("{}: {}", rootfs.display(), crate::error::errno_text(&e)),
        )
    })?;
    if !rootfs.is_dir() {
        return Err(Error::config(
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }
    Ok(rootfs)
}

/// Read a JSON file a caller handed us. It must be a regular file: a fifo would block
/// brig and a device such as /dev/zero never ends.
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let step = || format!("open {}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::os(step(), e))?;
    let meta = f.metadata().map_err(|e| Error::os(step(), e))?;
    if !meta.is_file() {
        return Err(Error::msg(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes)
        .map_err(|e| Error::os(format!("read {}", path.display()), e))?;
    Ok(bytes)
}

/// Parse config.json bytes into the OCI types, naming the field on a type error.
pub fn parse(bytes: &[u8]) -> Result<Spec> {
    // serde would fill the struct from an array's items in field order.
    if bytes.trim_ascii_start().first() == Some(&b'[') {
        return Err(Error::config(
            "",
            "invalid type: sequence, expected a JSON object",
        ));
    }
    deserialize_lenient::<Spec>(bytes, "/process/capabilities").map_err(|e| match e {
        Lenient::Field(e) => Error::config(e.path().to_string(), e.into_inner().to_string()),
        Lenient::Trailing(e) => Error::config("", format!("trailing data: {e}")),
    })
}

/// Why a JSON document did not deserialize: a field (with its path), or data after it.
pub enum Lenient {
    Field(serde_path_to_error::Error<serde_json::Error>),
    Trailing(serde_json::Error),
}

/// Deserialize a config.json or process.json, naming the field of a type error. Capability
/// names oci-spec does not know (newer than it, or misspelt) are dropped with runc's
/// warning rather than failing: runtime-spec 1.1 says a runtime SHOULD NOT fail on one.
/// `caps` is the JSON pointer of the capabilities object. Unknown names are looked for
/// only once the strict parse failed, so a good document is parsed once.
pub fn deserialize_lenient<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    caps: &str,
) -> std::result::Result<T, Lenient> {
    let strict = |bytes: &[u8]| {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(Lenient::Field)?;
        de.end().map_err(Lenient::Trailing)?;
        Ok(value)
    };
    match strict(bytes) {
        Err(Lenient::Field(e)) => match without_unknown_capabilities(bytes, caps) {
            Some(cleaned) => strict(&cleaned),
            None => Err(Lenient::Field(e)),
        },
        other => other,
    }
}

/// The document with unknown capability names removed from every set under `pointer`,
/// after runc's warning; None when there are none to remove.
fn without_unknown_capabilities(bytes: &[u8], pointer: &str) -> Option<Vec<u8>> {
    let mut doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let sets = doc.pointer_mut(pointer)?.as_object_mut()?;
    let mut unknown = std::collections::BTreeSet::new();
    for list in sets.values_mut().filter_map(|v| v.as_array_mut()) {
        list.retain(|cap| {
            let known = !cap.is_string()
                || serde_json::from_value::<oci_spec::runtime::Capability>(cap.clone()).is_ok();
            if !known {
                unknown.insert(cap.as_str().unwrap_or_default().to_string());
            }
            known
        });
    }
    if unknown.is_empty() {
        return None;
    }
    let names: Vec<String> = unknown.into_iter().collect();
    crate::logging::warn(&format!(
        "ignoring unknown or unavailable capabilities: [{}]",
        names.join(" ")
    ));
    serde_json::to_vec(&doc).ok()
}

fn ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

/// True when the spec asks for this namespace, new or joined.
pub fn has_namespace(spec: &Spec, t: LinuxNamespaceType) -> bool {
    namespace(spec, t).is_some()
}

pub fn namespace(spec: &Spec, t: LinuxNamespaceType) -> Option<&oci_spec::runtime::LinuxNamespace> {
    spec.linux()
        .as_ref()?
        .namespaces()
        .as_ref()?
        .iter()
        .find(|n| n.typ() == t)
}

fn validate(spec: &Spec) -> Result<()> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing (nothing to run)"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::config("process.args", "must not be empty"));
    }
    validate_strings(process)?;
    if !process.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("{:?} is not an absolute path", process.cwd()),
        ));
    }
    for (i, rl) in process.rlimits().iter().flatten().enumerate() {
        if rl.soft() > rl.hard() {
            return Err(Error::config(
                format!("process.rlimits[{i}]"),
                "soft limit is greater than the hard limit",
            ));
        }
    }
    validate_process_extras(process)?;
    validate_user(process.user(), "process.user")?;

    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(Error::config(
                format!("mounts[{i}].destination"),
                format!("{:?} is not an absolute path", m.destination()),
            ));
        }
        let opts = crate::mountopts::parse(m.options().as_deref().unwrap_or_default())
            .map_err(|e| Error::config(format!("mounts[{i}].options"), e))?;
        validate_idmapped_mount(spec, i, m, &opts)?;
    }
    for kind in crate::hooks::Kind::ALL {
        for (i, hook) in kind.of(spec).iter().enumerate() {
            if !hook.path().is_absolute() {
                return Err(Error::config(
                    format!("hooks.{}[{i}].path", kind.name()),
                    format!("{:?} is not an absolute path", hook.path()),
                ));
            }
            if hook.timeout().is_some_and(|t| t <= 0) {
                return Err(Error::config(
                    format!("hooks.{}[{i}].timeout", kind.name()),
                    "must be a positive number of seconds",
                ));
            }
        }
    }
    if let Some(linux) = spec.linux() {
        validate_linux(spec, linux)?;
    }
    Ok(())
}

/// args and env become C strings for execve: no NUL bytes, an executable name, and env
/// entries of the form NAME=value (runc's rules).
fn validate_strings(p: &oci_spec::runtime::Process) -> Result<()> {
    let args = p.args().as_deref().unwrap_or_default();
    if args.first().is_some_and(|a| a.is_empty()) {
        return Err(Error::config("process.args[0]", "must not be empty"));
    }
    for (i, a) in args.iter().enumerate() {
        if a.contains('\0') {
            return Err(Error::config(
                format!("process.args[{i}]"),
                "contains a NUL byte",
            ));
        }
    }
    for (i, e) in p.env().iter().flatten().enumerate() {
        let field = format!("process.env[{i}]");
        let problem = match e.split_once('=') {
            _ if e.contains('\0') => "contains a NUL byte",
            None => "missing '=' (expected NAME=value)",
            Some(("", _)) => "the variable name is empty",
            Some(_) => continue,
        };
        return Err(Error::config(field, format!("{e:?}: {problem}")));
    }
    Ok(())
}

/// The largest uid or gid a process may be given, as runc allows: -1 (4294967295) would
/// make setresuid leave the id unchanged, so the process would keep running as root.
pub const MAX_ID: u32 = i32::MAX as u32;

/// `process.user` (or an exec's): every id within 0..=MAX_ID.
pub fn validate_user(user: &oci_spec::runtime::User, field: &str) -> Result<()> {
    let out_of_range = |name: String, id: u32| {
        Error::config(
            format!("{field}.{name}"),
            format!("{id}: uids and gids must be in range 0-{MAX_ID}"),
        )
    };
    if user.uid() > MAX_ID {
        return Err(out_of_range("uid".into(), user.uid()));
    }
    if user.gid() > MAX_ID {
        return Err(out_of_range("gid".into(), user.gid()));
    }
    for (i, &g) in user.additional_gids().iter().flatten().enumerate() {
        if g > MAX_ID {
            return Err(out_of_range(format!("additionalGids[{i}]"), g));
        }
    }
    Ok(())
}

fn validate_process_extras(p: &oci_spec::runtime::Process) -> Result<()> {
    if let Some(adj) = p.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(Error::config(
                "process.oomScoreAdj",
                format!("{adj} is outside -1000..1000"),
            ));
        }
    }
    crate::security::lsm::check_apparmor(
        "process.apparmorProfile",
        p.apparmor_profile().as_deref(),
    )?;
    crate::security::lsm::check_selinux("process.selinuxLabel", p.selinux_label().as_deref())?;
    if let Some(io) = p.io_priority() {
        if !(0..=7).contains(&io.priority()) {
            return Err(Error::config(
                "process.ioPriority.priority",
                "must be between 0 and 7",
            ));
        }
    }
    if let Some(a) = p.exec_cpu_affinity() {
        for (field, list) in [("initial", a.initial()), ("final", a.cpu_affinity_final())] {
            if let Some(list) = list {
                crate::process::attrs::parse_cpu_list(list)
                    .map_err(|e| Error::config(format!("process.execCPUAffinity.{field}"), e))?;
            }
        }
    }
    Ok(())
}

fn validate_linux(spec: &Spec, linux: &oci_spec::runtime::Linux) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(Error::config(
                format!("linux.namespaces[{i}].type"),
                format!("duplicate namespace {:?}", ns_name(ns.typ())),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(Error::config(
                    format!("linux.namespaces[{i}].path"),
                    format!("{p:?} is not an absolute path"),
                ));
            }
            // Namespace files are regular files (nsfs); opening a fifo would block.
            if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) {
                return Err(Error::config(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} is not a {} namespace", p.display(), ns.typ()),
                ));
            }
        }
    }
    let user = namespace(spec, LinuxNamespaceType::User);
    let new_user = user.is_some_and(|n| n.path().is_none());
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_user && !has_maps {
        return Err(Error::config(
            "linux.uidMappings",
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    if !new_user && has_maps {
        return Err(Error::config(
            "linux.uidMappings",
            "id mappings are only valid with a new user namespace",
        ));
    }
    if new_user {
        for (field, maps) in [
            ("linux.uidMappings", linux.uid_mappings()),
            ("linux.gidMappings", linux.gid_mappings()),
        ] {
            if maps.as_ref().is_none_or(|m| m.is_empty()) {
                return Err(Error::config(
                    field,
                    "missing (a new user namespace needs both mappings)",
                ));
            }
            for (i, m) in maps.iter().flatten().enumerate() {
                if m.size() == 0 {
                    return Err(Error::config(
                        format!("{field}[{i}].size"),
                        "must not be zero",
                    ));
                }
                // Ids are 32 bits and the kernel refuses a range that wraps around.
                let end = |first: u32| u64::from(first) + u64::from(m.size());
                if end(m.container_id()).max(end(m.host_id())) > u64::from(u32::MAX) {
                    return Err(Error::config(
                        format!("{field}[{i}]"),
                        "the range runs past the largest id (4294967294)",
                    ));
                }
            }
        }
    }
    for (field, name) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if name.as_ref().is_some_and(|n| n.len() > 64) {
            return Err(Error::config(field, "longer than 64 bytes"));
        }
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty())
        && !has_namespace(spec, LinuxNamespaceType::Uts)
    {
        return Err(Error::config(
            "hostname",
            "unable to set hostname without a private UTS namespace",
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty())
        && !has_namespace(spec, LinuxNamespaceType::Uts)
    {
        return Err(Error::config(
            "domainname",
            "unable to set domainname without a private UTS namespace",
        ));
    }
    if !has_namespace(spec, LinuxNamespaceType::Mount) {
        return Err(Error::config(
            "linux.namespaces",
            "a mount namespace is required (brig sets the root filesystem up in it)",
        ));
    }
    for (name, _) in linux.sysctl().iter().flatten() {
        check_sysctl(spec, name)?;
    }
    for (field, paths) in [
        ("linux.maskedPaths", linux.masked_paths()),
        ("linux.readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, p) in paths.iter().flatten().enumerate() {
            if !p.starts_with('/') {
                return Err(Error::config(
                    format!("{field}[{i}]"),
                    format!("{p:?} is not an absolute path"),
                ));
            }
        }
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() {
            return Err(Error::config(
                format!("linux.devices[{i}].path"),
                format!("{:?} is not an absolute path", d.path()),
            ));
        }
        if d.typ() == oci_spec::runtime::LinuxDeviceType::A {
            return Err(Error::config(
                format!("linux.devices[{i}].type"),
                "must be one of c, b, u, p",
            ));
        }
    }
    if let Some(p) = linux.rootfs_propagation() {
        if crate::mountopts::propagation(p).is_none() {
            return Err(Error::config(
                "linux.rootfsPropagation",
                format!(
                    "unknown propagation {p:?} (shared, slave, private, unbindable, or r-prefixed)"
                ),
            ));
        }
    }
    if linux
        .personality()
        .as_ref()
        .and_then(|p| p.flags().as_ref())
        .is_some_and(|f| !f.is_empty())
    {
        return Err(Error::Unsupported("linux.personality.flags".into()));
    }
    crate::security::lsm::check_selinux("linux.mountLabel", linux.mount_label().as_deref())?;
    if let Some(res) = linux.resources() {
        crate::cgroups::check_supported(res)?;
        validate_resources(res)?;
    }
    validate_time_offsets(spec, linux)?;
    let later = [
        ("linux.intelRdt", linux.intel_rdt().is_some()),
        ("linux.netDevices", linux.net_devices().is_some()),
        ("linux.memoryPolicy", linux.memory_policy().is_some()),
    ];
    if let Some((field, _)) = later.iter().find(|(_, set)| *set) {
        return Err(Error::Unsupported((*field).into()));
    }
    Ok(())
}

/// `linux.timeOffsets`: only the clocks a time namespace offsets, and only for a new one.
fn validate_time_offsets(spec: &Spec, linux: &oci_spec::runtime::Linux) -> Result<()> {
    let Some(offsets) = linux.time_offsets() else {
        return Ok(());
    };
    for (clock, offset) in offsets {
        if clock != "monotonic" && clock != "boottime" {
            return Err(Error::config(
                format!("linux.timeOffsets.{clock}"),
                "unknown clock (only \"monotonic\" and \"boottime\" can be offset)",
            ));
        }
        if offset.nanosecs().is_some_and(|n| n >= 1_000_000_000) {
            return Err(Error::config(
                format!("linux.timeOffsets.{clock}.nanosecs"),
                "must be less than 1000000000",
            ));
        }
    }
    let time = namespace(spec, LinuxNamespaceType::Time);
    if offsets.is_empty() || time.is_some_and(|n| n.path().is_none()) {
        return Ok(());
    }
    Err(Error::config(
        "linux.timeOffsets",
        if time.is_some() {
            "offsets cannot be set on a time namespace joined by path"
        } else {
            "offsets need a new time namespace (linux.namespaces has no \"time\" entry)"
        },
    ))
}

/// An idmapped mount (`idmap`/`ridmap`, or `uidMappings`/`gidMappings` on the mount): a
/// bind mount with both mappings, or the container's own when it has a new user namespace.
fn validate_idmapped_mount(
    spec: &Spec,
    i: usize,
    m: &oci_spec::runtime::Mount,
    opts: &crate::mountopts::MountOptions,
) -> Result<()> {
    let given = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        maps.as_ref().is_some_and(|v| !v.is_empty())
    };
    let (mut uid, mut gid) = (given(m.uid_mappings()), given(m.gid_mappings()));
    let options = format!("mounts[{i}].options");
    if opts.tmpcopyup && (opts.is_bind() || m.typ().as_deref() != Some("tmpfs")) {
        return Err(Error::config(options, "tmpcopyup is for tmpfs mounts"));
    }
    if let Some(r) = &opts.idmap_ranges {
        if uid || gid {
            return Err(Error::config(
                options,
                "idmap=uids=…;gids=… and the mount's uidMappings/gidMappings both give its mapping: keep one",
            ));
        }
        if r.uids.is_empty() || r.gids.is_empty() {
            return Err(Error::config(
                options,
                "idmap= needs both uids=… and gids=…",
            ));
        }
        let relative = r.uids.iter().chain(&r.gids).any(|x| x.relative);
        let linux = spec.linux().as_ref();
        let own = |maps: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| {
            maps.is_some_and(|v| !v.is_empty())
        };
        if relative
            && !(own(linux.and_then(|l| l.uid_mappings().as_ref()))
                && own(linux.and_then(|l| l.gid_mappings().as_ref())))
        {
            return Err(Error::config(
                options,
                "an idmap= range with @ maps through the container's uidMappings/gidMappings, and it has none",
            ));
        }
        (uid, gid) = (true, true);
    }
    if opts.idmap.is_none() && !uid && !gid {
        return Ok(());
    }
    if uid != gid {
        let missing = if uid { "gidMappings" } else { "uidMappings" };
        return Err(Error::config(
            format!("mounts[{i}].{missing}"),
            "missing (an idmapped mount needs both uidMappings and gidMappings)",
        ));
    }
    if !opts.is_bind() {
        return Err(Error::config(
            format!("mounts[{i}].options"),
            "only bind mounts (bind or rbind) can be idmapped",
        ));
    }
    if !uid {
        let new_user =
            namespace(spec, LinuxNamespaceType::User).is_some_and(|n| n.path().is_none());
        if !new_user {
            return Err(Error::config(
                format!("mounts[{i}].uidMappings"),
                "idmap without uidMappings/gidMappings needs a new user namespace to take the mappings from",
            ));
        }
    }
    for (field, maps) in [
        ("uidMappings", m.uid_mappings()),
        ("gidMappings", m.gid_mappings()),
    ] {
        for (j, map) in maps.iter().flatten().enumerate() {
            if map.size() == 0 {
                return Err(Error::config(
                    format!("mounts[{i}].{field}[{j}].size"),
                    "must not be zero",
                ));
            }
            let end = |first: u32| u64::from(first) + u64::from(map.size());
            if end(map.container_id()).max(end(map.host_id())) > u64::from(u32::MAX) {
                return Err(Error::config(
                    format!("mounts[{i}].{field}[{j}]"),
                    "the range runs past the largest id (4294967294)",
                ));
            }
        }
    }
    Ok(())
}

/// Values the cgroup files would refuse with a bare EINVAL, named here instead.
fn validate_resources(res: &oci_spec::runtime::LinuxResources) -> Result<()> {
    if let Some(m) = res.memory() {
        for (name, v) in [
            ("limit", m.limit()),
            ("reservation", m.reservation()),
            ("swap", m.swap()),
        ] {
            if v.is_some_and(|v| v < -1) {
                return Err(Error::config(
                    format!("linux.resources.memory.{name}"),
                    "must be a number of bytes, or -1 for unlimited",
                ));
            }
        }
    }
    if let Some(c) = res.cpu() {
        for (name, list) in [("cpus", c.cpus()), ("mems", c.mems())] {
            if let Some(list) = list.as_deref().filter(|l| !l.is_empty()) {
                crate::process::attrs::parse_cpu_list(list)
                    .map_err(|e| Error::config(format!("linux.resources.cpu.{name}"), e))?;
            }
        }
    }
    for (i, d) in res.devices().iter().flatten().enumerate() {
        let access = d.access().as_deref().unwrap_or_default();
        if !access.chars().all(|c| "rwm".contains(c)) {
            return Err(Error::config(
                format!("linux.resources.devices[{i}].access"),
                format!("{access:?}: only r, w and m are allowed"),
            ));
        }
    }
    Ok(())
}

/// The namespace a sysctl belongs to, as runc decides it; None for a host-wide one.
pub fn sysctl_namespace(name: &str) -> Option<LinuxNamespaceType> {
    let ipc = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if ipc.contains(&name) || name.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if name.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if name == "kernel.hostname" || name == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

/// Which namespace makes a sysctl safe to set, as runc decides it. Whether a joined one
/// is the host's is checked on the opened namespace (`namespaces::refuse_host_writes`).
fn check_sysctl(spec: &Spec, name: &str) -> Result<()> {
    let field = format!("linux.sysctl.{name}");
    // The name becomes a path under /proc/sys: a `/` or an empty part (`net..x`) could
    // climb out of the namespaced tree, e.g. `net.ipv4/../../kernel/core_pattern`.
    if name.contains('/') || name.split('.').any(str::is_empty) {
        return Err(Error::config(
            field,
            "invalid sysctl name (dot-separated parts, no \"/\" and no empty part)",
        ));
    }
    let Some(needs) = sysctl_namespace(name) else {
        return Err(Error::config(
            field,
            "sysctl is not in a separate kernel namespace",
        ));
    };
    match namespace(spec, needs) {
        Some(_) => Ok(()),
        None => Err(Error::config(
            field,
            format!(
                "sysctl {name:?} is not allowed in the hosts {} namespace (it needs a private one)",
                ns_name(needs)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_type_names_the_field() {
        let err = parse(br#"{"ociVersion":"1.0.0","process":{"user":{"uid":"x"},"cwd":"/"}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("config.json: process.user.uid: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_namespace_names_the_field() {
        let err = parse(
            br#"{"ociVersion":"1.0.0","linux":{"namespaces":[{"type":"pid"},{"type":"bogus"}]}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("linux.namespaces[1].type"), "{err}");
    }

    #[test]
    fn truncated_json_is_an_error() {
        assert!(parse(br#"{"ociVersion":"1.0"#).is_err());
        assert!(parse(b"\xff\xfe").is_err());
    }
}
