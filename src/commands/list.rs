use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;

use clap::ArgMatches;
use serde::Serialize;

use super::Globals;
use crate::cli::MatchesExt;
use crate::lifecycle::status;
use crate::support::error::{Error, Result};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    oci_version: String,
    id: String,
    pid: i32,
    status: &'static str,
    bundle: String,
    rootfs: String,
    created: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    annotations: std::collections::BTreeMap<String, String>,
    owner: String,
}

pub fn run(g: &Globals, m: &ArgMatches) -> Result<i32> {
    let ids = g.root.ids()?;
    if m.bool("quiet") {
        for id in ids {
            println!("{id}");
        }
        return Ok(0);
    }
    let mut names = HashMap::new();
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        let dir = g.root.dir().join(&id);
        // A container mid-create or mid-delete may have no state file: skip it, as runc does.
        let Ok(state) = g.root.peek(&id) else {
            continue;
        };
        let status = status::status(&dir, &state);
        let uid = std::fs::metadata(&dir).map(|m| m.uid()).unwrap_or(0);
        let owner = names.entry(uid).or_insert_with(|| user_name(uid)).clone();
        entries.push(Entry {
            oci_version: state.oci_version,
            id: state.id,
            pid: if status == status::Status::Stopped {
                0
            } else {
                state.pid
            },
            status: status.as_str(),
            bundle: state.bundle.display().to_string(),
            rootfs: state.rootfs.display().to_string(),
            created: state.created,
            annotations: state.annotations,
            owner,
        });
    }
    if m.str("format") == Some("json") {
        // runc prints null for an empty list (a nil Go slice).
        let json = if entries.is_empty() {
            "null".to_string()
        } else {
            serde_json::to_string(&entries).map_err(|e| Error::msg(e.to_string()))?
        };
        println!("{json}");
    } else {
        print!("{}", table(&entries));
    }
    Ok(0)
}

/// runc's tabwriter layout: columns at least 12 wide, 3 spaces of padding, last unpadded.
fn table(entries: &[Entry]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for e in entries {
        rows.push([
            e.id.clone(),
            e.pid.to_string(),
            e.status.to_string(),
            e.bundle.clone(),
            e.created.clone(),
            e.owner.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in &rows {
        for (c, w) in widths.iter().enumerate() {
            out.push_str(&format!("{:<w$}", r[c], w = w));
        }
        out.push_str(&r[5]);
        out.push('\n');
    }
    out
}

fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("#{uid}"))
}
