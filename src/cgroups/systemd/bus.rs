//! The calls brig makes to systemd's manager over D-Bus (through zbus): start a transient
//! unit and wait for its job, set unit properties, stop a unit and wait, reset a failed
//! one. Every wait ends: by systemd's JobRemoved signal for the job, or by a timeout that
//! names the unit and what was awaited; every method call has the same timeout.
//!
//! zbus runs helper threads: a connection is made only after the container's init has been
//! forked (the init runs Rust code after the fork, which threads holding locks would break).

use std::sync::mpsc;
use std::time::Duration;

use zbus::blocking::{Connection, MessageIterator};
use zbus::zvariant::{OwnedObjectPath, Value};

use crate::support::error::{Error, Result};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// As runc: systemd is given 30 s to start or stop a unit.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// A unit property: its name and value (D-Bus type as systemd documents it).
pub type Property = (String, Value<'static>);

pub struct Bus {
    conn: Connection,
}

/// A job systemd queued, with the signals that will tell its end.
pub struct Job {
    path: OwnedObjectPath,
    signals: MessageIterator,
}

/// A D-Bus error reply, or a failure to talk to the bus at all.
fn bus_error(what: &str, e: zbus::Error) -> Error {
    match e {
        zbus::Error::MethodError(name, detail, _) => Error::msg(format!(
            "{what}: systemd refused: {}{}",
            name.as_str(),
            detail.map(|d| format!(": {d}")).unwrap_or_default()
        )),
        e => Error::msg(format!("{what}: D-Bus: {e}")),
    }
}

/// The D-Bus error name of a refusal, if `e` is one.
fn error_name(e: &zbus::Error) -> Option<&str> {
    match e {
        zbus::Error::MethodError(name, _, _) => Some(name.as_str()),
        _ => None,
    }
}

impl Bus {
    /// The system bus, or (rootless) the user's own bus, where the user's systemd instance
    /// answers: $DBUS_SESSION_BUS_ADDRESS, else the socket in $XDG_RUNTIME_DIR or in
    /// /run/user/<uid> (as runc looks for it).
    pub fn connect(user: bool) -> Result<Bus> {
        use zbus::blocking::connection::Builder;
        let builder = match user.then(user_bus_socket).flatten() {
            Some(socket) => Builder::address(format!("unix:path={}", socket.display()).as_str()),
            None if user => Builder::session(),
            None => Builder::system(),
        };
        let conn = builder.and_then(|b| b.method_timeout(JOB_TIMEOUT).build());
        let conn = conn.map_err(|e| {
            Error::msg(format!(
                "cannot connect to the {} D-Bus (systemd cgroup driver): {e}",
                if user { "user's" } else { "system" }
            ))
        })?;
        Ok(Bus { conn })
    }

    fn call<B>(&self, method: &str, body: &B) -> zbus::Result<zbus::Message>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.conn
            .call_method(Some(DEST), PATH, Some(MANAGER), method, body)
    }

    /// Listen for the end of this unit's jobs before asking for one, so that the signal
    /// cannot be missed. Only the unit's own (argument 2 is the unit's name): the queue is
    /// not read until the call returns, and a busy host's other jobs would fill it.
    fn job_removed(&self, unit: &str) -> Result<MessageIterator> {
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(DEST)
            .and_then(|b| b.interface(MANAGER))
            .and_then(|b| b.member("JobRemoved"))
            .and_then(|b| b.path(PATH))
            .and_then(|b| b.arg(2, unit))
            .map(|b| b.build())
            .map_err(|e| bus_error("JobRemoved match rule", e))?;
        MessageIterator::for_match_rule(rule, &self.conn, None)
            .map_err(|e| bus_error("subscribe to systemd's JobRemoved", e))
    }

    /// StartTransientUnit in "replace" mode: Ok(None) when a unit of that name exists
    /// already (the caller decides), else the job to `wait_started` for.
    pub fn start_transient_unit(&self, unit: &str, props: &[Property]) -> Result<Option<Job>> {
        let signals = self.job_removed(unit)?;
        let aux: Vec<(&str, Vec<(&str, Value)>)> = Vec::new();
        let props: Vec<(&str, &Value)> = props.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let reply = match self.call("StartTransientUnit", &(unit, "replace", props, aux)) {
            Err(e) if error_name(&e) == Some("org.freedesktop.systemd1.UnitExists") => {
                return Ok(None)
            }
            other => other.map_err(|e| bus_error(&format!("start unit {unit}"), e))?,
        };
        Ok(Some(Job {
            path: job_path(&reply, unit)?,
            signals,
        }))
    }

    /// Wait for a start job: an error when it ends other than "done" or does not end in
    /// time (the unit is then reset, as runc does; the caller stops it).
    pub fn wait_started(&self, unit: &str, job: Job) -> Result<()> {
        let result = wait_job(job.signals, &job.path, unit, "start");
        match result {
            Ok(r) if r == "done" => Ok(()),
            Ok(r) => {
                self.reset_failed_unit(unit);
                Err(Error::msg(format!(
                    "error creating systemd unit `{unit}`: got `{r}`"
                )))
            }
            Err(e) => {
                self.reset_failed_unit(unit);
                Err(e)
            }
        }
    }

    /// StopUnit and wait for the job; a unit systemd no longer knows is stopped already.
    pub fn stop_unit(&self, unit: &str) -> Result<()> {
        let signals = self.job_removed(unit)?;
        let reply = match self.call("StopUnit", &(unit, "replace")) {
            Err(e) if error_name(&e) == Some("org.freedesktop.systemd1.NoSuchUnit") => {
                return Ok(())
            }
            other => other.map_err(|e| bus_error(&format!("stop unit {unit}"), e))?,
        };
        let job = job_path(&reply, unit)?;
        let result = wait_job(signals, &job, unit, "stop")?;
        if result != "done" {
            return Err(Error::msg(format!(
                "error stopping systemd unit `{unit}`: got `{result}`"
            )));
        }
        Ok(())
    }

    /// ResetFailedUnit, so that a unit that failed is forgotten and its name free again;
    /// a unit that is not there or did not fail is fine.
    pub fn reset_failed_unit(&self, unit: &str) {
        if let Err(e) = self.call("ResetFailedUnit", &(unit,)) {
            if !matches!(
                error_name(&e),
                Some(
                    "org.freedesktop.systemd1.NoSuchUnit"
                        | "org.freedesktop.DBus.Error.UnknownObject"
                )
            ) {
                crate::support::logging::debug(|| format!("reset-failed {unit}: {e}"));
            }
        }
    }

    /// SetUnitProperties at runtime (not persisted across a reboot, as the unit is not).
    pub fn set_unit_properties(&self, unit: &str, props: &[Property]) -> Result<()> {
        if props.is_empty() {
            return Ok(());
        }
        let props: Vec<(&str, &Value)> = props.iter().map(|(k, v)| (k.as_str(), v)).collect();
        self.call("SetUnitProperties", &(unit, true, props))
            .map(drop)
            .map_err(|e| bus_error(&format!("set properties of unit {unit}"), e))
    }

    /// systemd's version number (252 of "252.38-1~deb12u1"), 0 when unknown.
    pub fn systemd_version(&self) -> u32 {
        self.string_property(PATH, MANAGER, "Version")
            .ok()
            .flatten()
            .and_then(|v| {
                let digits: String = v
                    .trim_start_matches('v')
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            })
            .unwrap_or(0)
    }

    /// The unit's ActiveState ("active", "failed", ...), None when systemd does not know it.
    pub fn active_state(&self, unit: &str) -> Result<Option<String>> {
        let reply = match self.call("GetUnit", &(unit,)) {
            Err(e) if error_name(&e) == Some("org.freedesktop.systemd1.NoSuchUnit") => {
                return Ok(None)
            }
            other => other.map_err(|e| bus_error(&format!("look up unit {unit}"), e))?,
        };
        let path: OwnedObjectPath = reply
            .body()
            .deserialize()
            .map_err(|e| bus_error(&format!("look up unit {unit}"), e))?;
        self.string_property(
            path.as_str(),
            "org.freedesktop.systemd1.Unit",
            "ActiveState",
        )
        .map_err(|e| bus_error(&format!("read the state of unit {unit}"), e))
    }

    /// A string property of a systemd object (None when it is not a string).
    fn string_property(&self, path: &str, iface: &str, name: &str) -> zbus::Result<Option<String>> {
        let reply = self.conn.call_method(
            Some(DEST),
            path,
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &(iface, name),
        )?;
        let value: zbus::zvariant::OwnedValue = reply.body().deserialize()?;
        Ok(String::try_from(value).ok())
    }
}

/// The user's bus socket when no address is in the environment.
fn user_bus_socket() -> Option<std::path::PathBuf> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return None;
    }
    let uid = nix::unistd::geteuid();
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain([std::path::PathBuf::from(format!("/run/user/{uid}"))])
        .map(|dir| dir.join("bus"))
        .find(|socket| socket.exists())
}

fn job_path(reply: &zbus::Message, unit: &str) -> Result<OwnedObjectPath> {
    reply
        .body()
        .deserialize()
        .map_err(|e| bus_error(&format!("the job for unit {unit}"), e))
}

/// Wait for JobRemoved(id, job, unit, result) of `job`, and return its result ("done",
/// "failed", "canceled", ...).
fn wait_job(
    signals: MessageIterator,
    job: &OwnedObjectPath,
    unit: &str,
    what: &str,
) -> Result<String> {
    let (tx, rx) = mpsc::channel();
    let want = job.clone();
    // The iterator blocks without a timeout: it is read on a thread, and the wait is here.
    std::thread::spawn(move || {
        for msg in signals {
            let Ok(msg) = msg else { break };
            if let Ok((_, path, _, result)) = msg
                .body()
                .deserialize::<(u32, OwnedObjectPath, String, String)>()
            {
                if path == want {
                    let _ = tx.send(result);
                    return;
                }
            }
        }
    });
    rx.recv_timeout(JOB_TIMEOUT).map_err(|_| {
        Error::msg(format!(
            "timeout waiting for systemd to {what} {unit} (its job {} did not end within {} s)",
            job.as_str(),
            JOB_TIMEOUT.as_secs()
        ))
    })
}
