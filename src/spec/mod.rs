//! Loading and validating config.json. Every check on the spec lives in this folder, once,
//! before any work starts; errors name the JSON path of the bad field. `validate` runs the
//! checks of `process`, `mounts` (and hooks), `linux` and `resources` in that order.

mod linux;
mod mounts;
mod process;
mod resources;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::support::error::{Error, Result};
pub use crate::support::oci::OCI_VERSION;
pub use process::{validate_user, MAX_ID};

/// A bundle directory with its validated config.
pub struct Bundle {
    /// Absolute path of the bundle directory.
    pub dir: PathBuf,
    /// Absolute, symlink-free path of the root filesystem.
    pub rootfs: PathBuf,
    pub spec: Spec,
    /// config.json as read, kept in the state for exec and checkpoint.
    pub raw: Box<serde_json::value::RawValue>,
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
        // Valid JSON, as it parsed.
        let raw = String::from_utf8(raw)
            .ok()
            .and_then(|text| serde_json::value::RawValue::from_string(text).ok())
            .ok_or_else(|| Error::msg("config.json: not a JSON document"))?;
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
    let failed = |e: std::io::Error| {
        Error::config(
            "root.path",
            format!(
                "{}: {}",
                rootfs.display(),
                crate::support::error::errno_text(&e)
            ),
        )
    };
    // The kernel's name for the opened directory is its resolved path: one lookup, where
    // canonicalize reads every component of the path as a link, each from the top.
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(rootfs)
        .map_err(failed)?;
    let is_dir = opened.metadata().map_err(failed)?.is_dir();
    let named = std::fs::read_link(crate::support::sys::fd_path(&opened));
    let rootfs = match named {
        // Not a path from our root (unreachable from it): resolve it by name instead.
        Ok(p) if p.is_absolute() => p,
        _ => std::fs::canonicalize(rootfs).map_err(failed)?,
    };
    if !is_dir {
        return Err(Error::config(
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }
    Ok(rootfs)
}

/// Open a file a caller handed us without blocking on a fifo, and stat it.
fn open_given(path: &Path) -> Result<(std::fs::File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let step = || format!("open {}", path.display());
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::os(step(), e))?;
    let meta = f.metadata().map_err(|e| Error::os(step(), e))?;
    Ok((f, meta))
}

fn read_file(f: std::fs::File, len: u64, path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    // Sized from the caller's fstat; through `take`, which asks no size hint, as File's
    // own read_to_end would fstat and lseek again for one.
    let mut bytes = Vec::with_capacity(len as usize + 1);
    f.take(u64::MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::os(format!("read {}", path.display()), e))?;
    Ok(bytes)
}

/// Read a JSON file a caller handed us. It must be a regular file: a fifo would block
/// brig and a device such as /dev/zero never ends.
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    let (f, meta) = open_given(path)?;
    if !meta.is_file() {
        return Err(Error::msg(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    read_file(f, meta.len(), path)
}

/// How long `read_stream` waits for a pipe's writer to say something.
const PIPE_WAIT_MS: u16 = 5_000;
/// The most of a process.json brig reads.
const STREAM_MAX: usize = 16 << 20;

/// Read a JSON document a caller hands us as a file or a pipe (`exec -p /dev/fd/3`,
/// `exec -p <(...)`, a named fifo), as runc takes it. A regular file is read as is; a pipe
/// until its writer closes it, waiting at most 5 s for each piece, so a fifo nobody writes
/// never hangs brig. A device or a directory is refused.
pub fn read_stream(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let (mut f, meta) = open_given(path)?;
    let kind = meta.file_type();
    if kind.is_file() {
        return read_file(f, meta.len(), path);
    }
    if !(kind.is_fifo() || kind.is_socket()) {
        return Err(Error::msg(format!(
            "{}: not a regular file or a pipe",
            path.display()
        )));
    }
    // Wait before each read: a fifo nobody has opened for writing reads as at its end at
    // once, but only polls readable once a writer comes (or has come and gone).
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let mut fds = [nix::poll::PollFd::new(
            f.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(PIPE_WAIT_MS)) {
            Ok(0) => {
                return Err(Error::msg(format!(
                    "{}: no writer sent anything within {}s",
                    path.display(),
                    PIPE_WAIT_MS / 1000
                )))
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Error::os(format!("wait for {}", path.display()), e)),
        }
        match f.read(&mut buf) {
            Ok(0) => return Ok(bytes),
            Ok(n) if bytes.len() + n > STREAM_MAX => {
                return Err(Error::msg(format!(
                    "{}: more than {} MiB",
                    path.display(),
                    STREAM_MAX >> 20
                )))
            }
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                ) => {}
            Err(e) => return Err(Error::os(format!("read {}", path.display()), e)),
        }
    }
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
    // A good document is parsed once, without the path tracking (a sixth of the instructions
    // of brig's own process in `run`); only a bad one is parsed again to name the field.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
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
    crate::support::logging::warn(&format!(
        "ignoring unknown or unavailable capabilities: [{}]",
        names.join(" ")
    ));
    serde_json::to_vec(&doc).ok()
}

/// Every check on config.json, before anything is created.
fn validate(spec: &Spec) -> Result<()> {
    process::validate_process(spec)?;
    mounts::validate_mounts(spec)?;
    mounts::validate_hooks(spec)?;
    if let Some(linux) = spec.linux() {
        linux::validate_linux(spec, linux)?;
    }
    Ok(())
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

    /// oci-spec checks the lists' shape with a regex (shims/regex: regex-lite, whose \d is
    /// ASCII); brig's own parse of the list comes later (`validate_process`).
    #[test]
    fn exec_cpu_affinity_lists_are_checked_in_the_parse() {
        let affinity = |list: &str| {
            let json = format!(
                r#"{{"ociVersion":"1.0.0","process":{{"cwd":"/","user":{{"uid":0,"gid":0}},"execCPUAffinity":{{"initial":"{list}"}}}}}}"#
            );
            parse(json.as_bytes()).map(drop).map_err(|e| e.to_string())
        };
        let good = affinity("0-3,7");
        assert!(good.is_ok(), "{good:?}");
        for bad in ["0-x", "1,", "\u{0663}"] {
            let err = affinity(bad).unwrap_err();
            assert!(
                err.contains("process.execCPUAffinity.initial"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn truncated_json_is_an_error() {
        assert!(parse(br#"{"ociVersion":"1.0"#).is_err());
        assert!(parse(b"\xff\xfe").is_err());
    }
}
