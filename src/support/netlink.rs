//! A small blocking rtnetlink client on the netlink-packet crates: the link and address
//! requests `linux.netDevices` needs, in the network namespace its socket was opened in.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

pub struct Rtnl {
    socket: Socket,
    seq: u32,
}

impl Rtnl {
    /// A socket in this thread's network namespace.
    pub fn open() -> io::Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl { socket, seq: 0 })
    }

    /// A socket in the network namespace `ns` (an nsfs fd). A netlink socket stays in the
    /// namespace it was made in, so a short-lived thread enters `ns` to make it and brig's
    /// own threads never leave theirs.
    pub fn open_in(ns: BorrowedFd) -> io::Result<Rtnl> {
        let ns = ns.try_clone_to_owned()?;
        std::thread::scope(|s| {
            s.spawn(move || {
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)?;
                Rtnl::open()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("netlink thread panicked")))
        })
    }

    /// Send one request and collect its replies until the kernel's ack (or the end of a
    /// dump); an error reply is the request's error.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0)?;

        let mut replies = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = self.socket.recv(&mut &mut buf[..], 0)?;
            let mut at = 0;
            while at < n {
                let reply: NetlinkMessage<RouteNetlinkMessage> =
                    NetlinkMessage::deserialize(&buf[at..n])
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = reply.header.length as usize;
                if reply.header.sequence_number == self.seq {
                    match reply.payload {
                        NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                        NetlinkPayload::Error(_) | NetlinkPayload::Done(_) => return Ok(replies),
                        NetlinkPayload::InnerMessage(m) => replies.push(m),
                        _ => {}
                    }
                }
                if len == 0 {
                    break;
                }
                at += len;
            }
        }
    }

    /// The link named `name`: its index and whether it is up.
    pub fn link(&mut self, name: &str) -> io::Result<Link> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let replies = self.request(RouteNetlinkMessage::GetLink(msg), 0)?;
        replies
            .into_iter()
            .find_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(Link {
                    index: l.header.index,
                    up: l.header.flags.contains(LinkFlags::Up),
                }),
                _ => None,
            })
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))
    }

    pub fn set_up(&mut self, index: u32, up: bool) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.change_mask = LinkFlags::Up;
        if up {
            msg.header.flags = LinkFlags::Up;
        }
        self.request(RouteNetlinkMessage::SetLink(msg), 0).map(drop)
    }

    /// Move the link into the network namespace `ns`, named `new_name` there: one request,
    /// so the name is never taken in between.
    pub fn move_link(&mut self, index: u32, new_name: &str, ns: BorrowedFd) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::IfName(new_name.to_string()));
        msg.attributes.push(LinkAttribute::NetNsFd(ns.as_raw_fd()));
        self.request(RouteNetlinkMessage::NewLink(msg), 0).map(drop)
    }

    /// The link's permanent addresses of global scope: the ones a user configured, which
    /// the kernel drops when the link changes namespace (as runc, dynamic and link-local
    /// ones are left to the new namespace).
    pub fn permanent_global_addresses(&mut self, index: u32) -> io::Result<Vec<Address>> {
        let replies = self.request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewAddress(a) => Some(a),
                _ => None,
            })
            .filter(|a| a.header.index == index && a.header.scope == AddressScope::Universe)
            .filter(|a| {
                let flags = a.attributes.iter().find_map(|n| match n {
                    AddressAttribute::Flags(f) => Some(*f),
                    _ => None,
                });
                match flags {
                    Some(f) => f.contains(AddressFlags::Permanent),
                    None => a.header.flags.contains(AddressHeaderFlags::Permanent),
                }
            })
            .filter_map(|a| {
                let find = |want: fn(&AddressAttribute) -> Option<IpAddr>| {
                    a.attributes.iter().find_map(want)
                };
                let local = find(|n| match n {
                    AddressAttribute::Local(ip) => Some(*ip),
                    _ => None,
                });
                let address = find(|n| match n {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })?;
                Some(Address {
                    address,
                    local,
                    prefix_len: a.header.prefix_len,
                })
            })
            .collect())
    }

    pub fn add_address(&mut self, index: u32, a: &Address) -> io::Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = match a.address {
            IpAddr::V4(_) => netlink_packet_route::AddressFamily::Inet,
            IpAddr::V6(_) => netlink_packet_route::AddressFamily::Inet6,
        };
        msg.header.prefix_len = a.prefix_len;
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Address(a.address));
        if let Some(local) = a.local {
            msg.attributes.push(AddressAttribute::Local(local));
        }
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }
}

pub struct Link {
    pub index: u32,
    pub up: bool,
}

/// An address as `ip addr add` takes it: the address (the peer's on a point-to-point
/// link), the local one, the prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub address: IpAddr,
    pub local: Option<IpAddr>,
    pub prefix_len: u8,
}
