//! `checkpoint` and `restore`: read runc's flags, call the library.

use std::path::{Path, PathBuf};

use clap::ArgMatches;

use super::{id, Globals};
use crate::cli::MatchesExt;
use crate::lifecycle::checkpoint::{checkpoint, CheckpointOptions};
use crate::lifecycle::criu_plan::{self, Shared};
use crate::lifecycle::restore::{restore, RestoreOptions};
use crate::support::error::{Error, Result};

/// The flags both commands share.
fn shared(m: &ArgMatches) -> Result<Shared> {
    let empty: Vec<String> = m
        .get_many::<String>("empty-ns")
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    Ok(Shared {
        image_path: criu_plan::image_path(m.str("image-path"))?,
        work_path: m
            .str("work-path")
            .filter(|p| !p.is_empty())
            .map(std::path::absolute)
            .transpose()
            .map_err(|e| Error::os("--work-path", e))?,
        tcp_established: m.bool("tcp-established"),
        ext_unix_sk: m.bool("ext-unix-sk"),
        shell_job: m.bool("shell-job"),
        file_locks: m.bool("file-locks"),
        lazy_pages: m.bool("lazy-pages"),
        auto_dedup: m.bool("auto-dedup"),
        manage_cgroups_mode: m
            .str("manage-cgroups-mode")
            .filter(|s| !s.is_empty())
            .map(criu_plan::cgroups_mode)
            .transpose()?,
        empty_ns: criu_plan::empty_ns_mask(&empty)?,
    })
}

/// `--page-server ADDRESS:PORT`, as runc splits it.
fn page_server(v: &str) -> Result<(String, i32)> {
    let bad = || Error::msg("Use --page-server ADDRESS:PORT to specify page server");
    let (address, port) = v.rsplit_once(':').ok_or_else(bad)?;
    let address = address.trim_start_matches('[').trim_end_matches(']');
    if address.is_empty() || port.is_empty() {
        return Err(bad());
    }
    let port = port
        .parse::<i32>()
        .map_err(|_| Error::msg("Invalid port number"))?;
    Ok((address.to_string(), port))
}

fn criu(g: &Globals) -> PathBuf {
    g.criu.clone()
}

fn warn_rootless() {
    if !nix::unistd::geteuid().is_root() {
        crate::support::logging::warn("brig checkpoint is untested with rootless containers");
    }
}

pub fn run_checkpoint(g: &Globals, m: &ArgMatches) -> Result<i32> {
    warn_rootless();
    let criu = criu(g);
    let opts = CheckpointOptions {
        id: id(m),
        criu: &criu,
        shared: shared(m)?,
        parent_path: m
            .str("parent-path")
            .filter(|p| !p.is_empty())
            .map(String::from),
        leave_running: m.bool("leave-running"),
        pre_dump: m.bool("pre-dump"),
        page_server: m
            .str("page-server")
            .filter(|p| !p.is_empty())
            .map(page_server)
            .transpose()?,
        status_fd: m.get_one::<i32>("status-fd").copied().filter(|&fd| fd >= 0),
    };
    checkpoint(&g.root, &opts)?;
    Ok(0)
}

pub fn run_restore(g: &Globals, m: &ArgMatches) -> Result<i32> {
    warn_rootless();
    let criu = criu(g);
    let opts = RestoreOptions {
        id: id(m),
        criu: &criu,
        shared: shared(m)?,
        bundle: Path::new(m.str("bundle").filter(|b| !b.is_empty()).unwrap_or(".")),
        detach: m.bool("detach"),
        pid_file: m.str("pid-file").map(Path::new),
        console_socket: m.str("console-socket").map(Path::new),
        no_subreaper: m.bool("no-subreaper"),
        systemd_cgroup: g.systemd_cgroup,
        rootless: g.rootless(),
        lsm_profile: m.str("lsm-profile").filter(|s| !s.is_empty()),
        lsm_mount_context: m.str("lsm-mount-context").filter(|s| !s.is_empty()),
    };
    restore(&g.root, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_server_addresses_split_as_runc_splits_them() {
        assert_eq!(page_server("10.0.0.1:27").unwrap(), ("10.0.0.1".into(), 27));
        assert_eq!(page_server("[::1]:27").unwrap(), ("::1".into(), 27));
        assert!(page_server("host").is_err());
        assert!(page_server(":27").is_err());
        assert_eq!(
            page_server("host:x").unwrap_err().to_string(),
            "Invalid port number"
        );
    }
}
