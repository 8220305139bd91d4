//! `linux.netDevices` (runc 1.3): host interfaces moved into the container's network
//! namespace at create, renamed as asked, with their permanent global addresses, and up;
//! and moved back under their own names by `delete` (or a failed create) while that
//! namespace is alive: the init's, or one joined by path. Once a new namespace is gone the
//! kernel has returned a physical device itself, under its container name, and destroyed
//! a virtual one (a veth pair).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::support::error::{Error, Result};
use crate::support::netlink::Rtnl;

/// Host name → name in the container.
pub type Devices = BTreeMap<String, String>;

/// The devices the spec asks for (names checked by `spec::linux`).
pub fn from_spec(spec: &Spec) -> Devices {
    spec.linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .map(|devices| {
            devices
                .iter()
                .map(|(host, d)| {
                    let inside = d.name().clone().filter(|n| !n.is_empty());
                    (host.clone(), inside.unwrap_or_else(|| host.clone()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A network namespace the container joined by path, and its inode: it outlives the
/// container, so `delete` can take the devices back from it after the init is gone.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JoinedNamespace {
    pub path: PathBuf,
    pub inode: u64,
}

impl JoinedNamespace {
    /// The spec's network namespace path, if it joins one.
    pub fn from_spec(spec: &Spec) -> Option<JoinedNamespace> {
        use std::os::unix::fs::MetadataExt;
        let path =
            crate::support::oci::namespace(spec, oci_spec::runtime::LinuxNamespaceType::Network)?
                .path()
                .clone()?;
        let inode = std::fs::metadata(&path).ok()?.ino();
        Some(JoinedNamespace { path, inode })
    }

    /// The namespace, held open, if the path still names the one the container joined.
    pub fn open(&self) -> Option<OwnedFd> {
        use std::os::unix::fs::MetadataExt;
        let f = std::fs::File::open(&self.path).ok()?;
        (f.metadata().ok()?.ino() == self.inode).then(|| f.into())
    }
}

/// The network namespace of process `pid`, held open: while it is, the namespace (and
/// every device in it) outlives the process.
pub fn hold_namespace(pid: i32) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/ns/net");
    std::fs::File::open(&path)
        .map(OwnedFd::from)
        .map_err(|e| Error::os(format!("open {path}"), e))
}

/// Move each device into the namespace `ns`. If one fails, those already moved go back
/// before the error is returned.
pub fn move_in(devices: &Devices, ns: BorrowedFd) -> Result<()> {
    let host_ns = hold_namespace(std::process::id() as i32)?;
    let mut host = Rtnl::open().map_err(|e| Error::os("open a netlink socket", e))?;
    let mut inside =
        Rtnl::open_in(ns).map_err(|e| Error::os("open a netlink socket in the container", e))?;
    for (n, (name, new_name)) in devices.iter().enumerate() {
        if let Err(e) = transfer(&mut host, &mut inside, ns, name, new_name) {
            let done: Devices = devices
                .iter()
                .take(n)
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect();
            let _ = move_back_with(&done, &mut inside, &mut host, host_ns.as_fd());
            return Err(e.wrap(&format!(
                "move netDevice {name} to the container's network namespace"
            )));
        }
    }
    Ok(())
}

/// Move each device from the namespace `ns` back to brig's, under its host name. Every
/// device is tried; the first error is returned.
pub fn move_out(devices: &Devices, ns: BorrowedFd) -> Result<()> {
    let host_ns = hold_namespace(std::process::id() as i32)?;
    let mut host = Rtnl::open().map_err(|e| Error::os("open a netlink socket", e))?;
    let mut inside =
        Rtnl::open_in(ns).map_err(|e| Error::os("open a netlink socket in the container", e))?;
    move_back_with(devices, &mut inside, &mut host, host_ns.as_fd())
}

fn move_back_with(
    devices: &Devices,
    inside: &mut Rtnl,
    host: &mut Rtnl,
    host_ns: BorrowedFd,
) -> Result<()> {
    let mut first = None;
    for (name, inside_name) in devices {
        if let Err(e) = transfer(inside, host, host_ns, inside_name, name) {
            first.get_or_insert(e.wrap(&format!("move netDevice {name} back to the host")));
        }
    }
    first.map_or(Ok(()), Err)
}

/// One device from the namespace of `from` to `to_ns` (where `to` lives), renamed: its
/// addresses noted, down, moved, the addresses added back, up.
fn transfer(
    from: &mut Rtnl,
    to: &mut Rtnl,
    to_ns: BorrowedFd,
    name: &str,
    new_name: &str,
) -> Result<()> {
    let link = from
        .link(name)
        .map_err(|e| Error::os(format!("link not found for interface {name}"), e))?;
    // Noted before the link goes down, which drops its IPv6 addresses.
    let addresses = from
        .permanent_global_addresses(link.index)
        .map_err(|e| Error::os("fail to get ip addresses", e))?;
    from.set_up(link.index, false)
        .map_err(|e| Error::os("fail to set link down", e))?;
    from.move_link(link.index, new_name, to_ns)
        .map_err(|e| Error::os(format!("fail to move network device {name}"), e))?;
    let moved = to.link(new_name).map_err(|e| {
        Error::os(
            format!("link not found for interface {new_name} after the move"),
            e,
        )
    })?;
    for a in &addresses {
        to.add_address(moved.index, a).map_err(|e| {
            Error::os(
                format!("fail to set up address {}/{}", a.address, a.prefix_len),
                e,
            )
        })?;
    }
    to.set_up(moved.index, true)
        .map_err(|e| Error::os(format!("fail to set up interface {new_name}"), e))
}
