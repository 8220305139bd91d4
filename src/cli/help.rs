//! Help and version text in runc's layout (urfave/cli's sections: NAME, USAGE, VERSION,
//! COMMANDS, GLOBAL OPTIONS or OPTIONS), drawn from the clap definitions so that every
//! flag is listed as it is parsed. The program is called by the name it was run as, so a
//! `runc` symlink to brig answers as runc.

use clap::{Arg, Command};

use super::{find_long, long_takes_value, SUBCOMMANDS};

/// What a command line asks help for.
#[derive(Debug, PartialEq, Eq)]
pub enum Topic {
    /// `-h`, `--help`, `help` or `h`: the whole program.
    Program,
    /// `CMD -h` or `help CMD`.
    Command(&'static str),
    /// `foo -h` or `help foo` for a command that does not exist: runc's "No help topic".
    Unknown(String),
}

/// The help asked for, if any: global flags (and their values) are skipped; a subcommand's
/// `-h` counts only before its first argument, which may belong to a container process.
pub fn requested(argv: &[String], root: &Command) -> Option<Topic> {
    let is_help = |a: &str| matches!(a, "-h" | "--help" | "-help");
    let mut it = argv.iter().skip(1);
    while let Some(arg) = it.next() {
        if is_help(arg) {
            return Some(Topic::Program);
        }
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            let rest: Vec<&String> = it.collect();
            if arg == "help" || arg == "h" {
                return Some(match rest.first() {
                    None => Topic::Program,
                    Some(name) => topic_for(name),
                });
            }
            let before_args = rest.iter().take_while(|a| a.starts_with('-'));
            let mut wants_help = false;
            for a in before_args {
                wants_help |= is_help(a);
            }
            let unknown = !SUBCOMMANDS.iter().any(|(n, _, _)| n == arg);
            // An unknown command's help is asked for wherever the -h stands.
            if unknown && rest.iter().any(|a| is_help(a)) {
                return Some(Topic::Unknown(arg.clone()));
            }
            return wants_help.then(|| topic_for(arg));
        };
        if !body.contains('=') && find_long(root, body).is_some() && long_takes_value(root, body) {
            it.next();
        }
    }
    None
}

fn topic_for(name: &str) -> Topic {
    SUBCOMMANDS.iter().find(|(n, _, _)| *n == name).map_or_else(
        || Topic::Unknown(name.to_string()),
        |(n, _, _)| Topic::Command(n),
    )
}

/// The name brig was run as (argv[0]'s last component).
pub fn program_name(argv0: &str) -> &str {
    argv0
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("brig")
}

/// `--version`: runc's lines, with the libseccomp brig was built with.
pub fn version(program: &str) -> String {
    format!(
        "{program} version {}\ncommit: {}\nspec: {}\nlibseccomp: {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("BRIG_COMMIT"),
        crate::support::oci::OCI_VERSION,
        crate::security::seccomp::library_version(),
    )
}

/// The help text of the program, with every command and global flag.
pub fn program(program: &str, root: &Command) -> String {
    let mut out = format!(
        "NAME:\n   {program} - {}\n\nUSAGE:\n   {program} [global options] command [command options] [arguments...]\n\nVERSION:\n   {}",
        root.get_about().map(|a| a.to_string()).unwrap_or_default(),
        version(program)
            .split_once("version ")
            .map_or("", |(_, v)| v),
    );
    out.push_str("\nCOMMANDS:\n");
    let mut names: Vec<(String, String)> = SUBCOMMANDS
        .iter()
        .map(|(n, about, _)| (n.to_string(), about.to_string()))
        .collect();
    names.push((
        "help, h".into(),
        "Shows a list of commands or help for one command".into(),
    ));
    out.push_str(&columns(&names));
    out.push_str("\nGLOBAL OPTIONS:\n");
    let mut opts = options(root);
    opts.push(("--help, -h".into(), "show help".into()));
    out.push_str(&columns(&opts));
    out
}

/// The help text of one command: its usage, and every option it takes.
pub fn command(program: &str, cmd: &Command) -> String {
    let name = cmd.get_name();
    let opts = options(cmd);
    let positionals: Vec<String> = cmd
        .get_positionals()
        .map(|a| {
            let n = a
                .get_value_names()
                .and_then(|v| v.first().map(|s| s.to_string()))
                .unwrap_or_else(|| a.get_id().to_string());
            if a.is_required_set() {
                format!("<{n}>")
            } else {
                format!("[{n}...]")
            }
        })
        .collect();
    let mut out = format!(
        "NAME:\n   {program} {name} - {}\n\nUSAGE:\n   {program} {name}{}{}\n",
        cmd.get_about().map(|a| a.to_string()).unwrap_or_default(),
        if opts.is_empty() {
            ""
        } else {
            " [command options]"
        },
        positionals
            .iter()
            .map(|p| format!(" {p}"))
            .collect::<String>(),
    );
    if !opts.is_empty() {
        out.push_str("\nOPTIONS:\n");
        out.push_str(&columns(&opts));
    }
    out
}

/// Each flag as urfave/cli lists it: `--name value, -n value` and its help, with its
/// default.
fn options(cmd: &Command) -> Vec<(String, String)> {
    cmd.get_arguments()
        .filter(|a| a.get_long().is_some())
        .map(|a| (spelling(a), describe(a)))
        .collect()
}

fn spelling(a: &Arg) -> String {
    let value = if a.get_action().takes_values() && !a.is_require_equals_set() {
        " value"
    } else {
        ""
    };
    let long = format!("--{}{value}", a.get_long().unwrap_or_default());
    match a.get_short() {
        Some(s) => format!("{long}, -{s}{value}"),
        None => long,
    }
}

fn describe(a: &Arg) -> String {
    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    let default = a
        .get_default_values()
        .first()
        .map(|d| d.to_string_lossy().into_owned())
        .filter(|d| !d.is_empty());
    match default {
        Some(d) if !help.contains("(default") => format!("{help} (default: {d:?})"),
        _ => help,
    }
}

/// Two columns, the first padded to its widest entry plus two spaces, each row indented
/// by three.
fn columns(rows: &[(String, String)]) -> String {
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(l, r)| format!("   {l:<width$}  {r}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn help_is_found_where_runc_finds_it() {
        let root = super::super::command();
        let t = |s: &str| requested(&argv(s), &root);
        assert_eq!(t("brig -h"), Some(Topic::Program));
        assert_eq!(t("brig help"), Some(Topic::Program));
        assert_eq!(t("brig --root /x --help"), Some(Topic::Program));
        assert_eq!(t("brig create -h"), Some(Topic::Command("create")));
        assert_eq!(t("brig help create"), Some(Topic::Command("create")));
        assert_eq!(
            t("brig --root /x kill --help"),
            Some(Topic::Command("kill"))
        );
        assert_eq!(t("brig foo -h"), Some(Topic::Unknown("foo".into())));
        assert_eq!(t("brig help foo"), Some(Topic::Unknown("foo".into())));
        // The container process's own -h is not brig's.
        assert_eq!(t("brig exec ID ls -h"), None);
        assert_eq!(t("brig state ID"), None);
    }

    #[test]
    fn the_name_is_the_one_brig_was_run_as() {
        assert_eq!(program_name("/usr/local/sbin/runc"), "runc");
        assert_eq!(program_name("brig"), "brig");
        assert!(version("runc").starts_with("runc version "));
        assert!(version("brig").contains("\nlibseccomp: "));
    }
}
