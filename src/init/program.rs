//! The program the init becomes: its working directory (checked to be inside the root),
//! its environment (HOME from the image's /etc/passwd, read with care), the executable
//! found as runc finds it, and the execve.

use std::convert::Infallible;
use std::ffi::CString;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::InitConfig;
use crate::support::error::{Context, Error, Result};

/// chdir into the configured cwd as root (it was created inside the rootfs if missing).
pub fn enter_cwd(cwd: &Path) -> Result<()> {
    nix::unistd::chdir(cwd).ctx(|| format!("chdir to cwd ({}) set in config.json", cwd.display()))
}

/// The cwd must be inside the container's root: a cwd reached through an fd of the host
/// would be outside it (CVE-2024-21626). The kernel shows such a cwd as "(unreachable)",
/// which glibc's getcwd reports as ENOENT.
pub fn check_cwd(cwd: &Path) -> Result<()> {
    let outside = || {
        Error::msg(format!(
            "current working directory is outside of container root: {}",
            cwd.display()
        ))
    };
    match nix::unistd::getcwd() {
        Err(nix::errno::Errno::ENOENT) => Err(outside()),
        Err(e) => Err(Error::os("getcwd after entering cwd", e)),
        Ok(real) if !real.is_absolute() => Err(outside()),
        Ok(_) => Ok(()),
    }
}

/// The process environment: the spec's, then LISTEN_FDS, then HOME if it is missing.
pub fn environment(cfg: &InitConfig) -> Result<Vec<String>> {
    let process = cfg.spec.process().as_ref().expect("validated");
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    env.extend(cfg.extra_env.iter().cloned());
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let home = home_of(process.user().uid()).unwrap_or_else(|| "/".into());
        env.push(format!("HOME={home}"));
    }
    Ok(env)
}

/// The user's home from the container's /etc/passwd, as runc sets it.
fn home_of(uid: u32) -> Option<String> {
    let passwd = read_user_db(Path::new("/etc/passwd"))?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
    })
}

/// The most of a user database (/etc/passwd) the init reads.
const USER_DB_MAX: u64 = 16 << 20;

/// A user database of the image, read only if it is a regular file of sane size: a hostile
/// image's /etc/passwd can be /dev/zero or a pipe, which would be read until the memory
/// runs out (or forever). A refused file is named in a warning and treated as missing.
fn read_user_db(path: &Path) -> Option<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    let refused = |why: &str| {
        crate::support::logging::warn(&format!(
            "{} in the container {why}; not read (HOME defaults to /)",
            path.display()
        ));
        None
    };
    if !meta.is_file() {
        return refused("is not a regular file");
    }
    let mut text = String::with_capacity(meta.len().min(USER_DB_MAX) as usize + 1);
    let read = file.take(USER_DB_MAX + 1).read_to_string(&mut text).ok()?;
    if read as u64 > USER_DB_MAX {
        return refused(&format!("is larger than {} MiB", USER_DB_MAX >> 20));
    }
    Some(text)
}

/// Resolve args[0] like exec.LookPath inside the container, with runc's error texts,
/// so a missing binary fails `create` and not `start`.
pub fn find_executable(arg0: &str, env: &[String]) -> Result<PathBuf> {
    let check = |p: &Path| -> std::io::Result<()> {
        let meta = std::fs::metadata(p)?;
        if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 {
            return Err(std::io::Error::from_raw_os_error(libc::EACCES));
        }
        Ok(())
    };
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return match check(&p) {
            Ok(()) => Ok(p),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                Err(Error::msg(format!("exec: {arg0:?}: permission denied")))
            }
            Err(e) => Err(Error::msg(format!(
                "exec: {arg0:?}: stat {arg0}: {}",
                crate::support::error::errno_text(&e)
            ))),
        };
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("");
    let mut denied = false;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(arg0);
        match check(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => denied = true,
            Err(_) => {}
        }
    }
    if denied {
        return Err(Error::msg(format!("exec: {arg0:?}: permission denied")));
    }
    Err(Error::msg(format!(
        "exec: {arg0:?}: executable file not found in $PATH"
    )))
}

pub fn exec(exe: &Path, args: &[String], env: &[String]) -> Result<Infallible> {
    let cstr = |s: &str| {
        CString::new(s).map_err(|_| Error::config("process", format!("{s:?} contains a NUL byte")))
    };
    let path = cstr(&exe.to_string_lossy())?;
    let argv = args.iter().map(|a| cstr(a)).collect::<Result<Vec<_>>>()?;
    let envp = env.iter().map(|e| cstr(e)).collect::<Result<Vec<_>>>()?;
    let err = nix::unistd::execve(&path, &argv, &envp).unwrap_err();
    // After `start` nobody reads the channel; say it on the container's stderr too.
    let msg = format!(
        "exec {}: {}",
        exe.display(),
        crate::support::error::errno_text(&err.into())
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("brig: {msg}\n").as_bytes());
    Err(Error::msg(msg))
}
