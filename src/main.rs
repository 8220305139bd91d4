//! The brig binary: normalise argv, parse it, set up logging, dispatch, and turn an error
//! into runc's exit code and log line.

#![no_main]

use std::path::Path;

use brig::cli::{self, MatchesExt};
use brig::support::logging;

/// The C entry point, without Rust's runtime set-up before `main`: of it brig needs only
/// standard fds that are open (`open_standard_fds`); the rest (the main thread's stack
/// guard, found by reading /proc/self/maps, and a signal stack) cost every call about
/// 35,000 instructions and ten system calls (callgrind and strace of `run`). Arguments still come from std (glibc hands
/// them to its .init_array hook), and `std::process::exit`, which every path ends in,
/// flushes stdout.
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    brig::support::sys::open_standard_fds();
    // A panic exits 101, as from a Rust main (release builds abort on it).
    let code = std::panic::catch_unwind(run).unwrap_or(101);
    std::process::exit(code)
}

fn run() -> i32 {
    // SIGPIPE's default: `brig state | head -1` ends quietly, as runc and C tools do.
    let _ = brig::support::sys::default_disposition(nix::sys::signal::Signal::SIGPIPE);
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut cmd = cli::command_for(&argv);
    let argv = cli::normalise(argv, &cmd);
    let program = cli::help::program_name(&argv[0]).to_string();
    if let Some(topic) = cli::help::requested(&argv, &cmd) {
        help(&program, topic);
    }
    let matches = match cmd.try_get_matches_from_mut(&argv) {
        Ok(m) => m,
        Err(e) => usage_error(e, cmd, &argv),
    };
    // Not freed: the process exits when the command returns, and taking clap's trees
    // apart first cost `run` about 26,000 instructions (callgrind).
    std::mem::forget(cmd);
    let matches = std::mem::ManuallyDrop::new(matches);
    if matches.get_flag("version") {
        print!("{}", cli::help::version(&program));
        return 0;
    }
    let format = match matches.str("log-format") {
        Some("json") => logging::Format::Json,
        _ => logging::Format::Text,
    };
    if let Err(e) = logging::init(
        matches.str("log").map(Path::new),
        format,
        matches.bool("debug"),
    ) {
        // The error still reaches the caller, on stderr in the format it asked for.
        let _ = logging::init(None, format, false);
        logging::fatal(&format!(
            "open log file {}: {e}",
            matches.str("log").unwrap_or_default()
        ));
        std::process::exit(1);
    }
    // `exec` runs from a read-only image of brig (CVE-2019-5736; security/exe.rs); `create`
    // and `run` do when the container could reach it, decided once its config is read.
    if matches.subcommand_name() == Some("exec") {
        if let Err(e) = brig::security::exe::reexec_read_only() {
            logging::fatal(&e.to_string());
            std::process::exit(1);
        }
    }
    match brig::commands::dispatch(&matches) {
        Ok(code) => code,
        Err(e) => {
            logging::fatal(&e.to_string());
            1
        }
    }
}

/// A usage error, as runc reports it: the message and usage on stderr, an error line in
/// the log (containerd reads only the log), exit 1. Help and --version exit as clap says.
fn usage_error(e: clap::Error, cmd: clap::Command, argv: &[String]) -> ! {
    if !e.use_stderr() {
        e.exit()
    }
    // The global flags, as far as they parse, say where the log goes.
    let partial = cmd.ignore_errors(true).try_get_matches_from(argv).ok();
    let flag = |name| partial.as_ref().and_then(|m| m.str(name));
    let format = match flag("log-format") {
        Some("json") => logging::Format::Json,
        _ => logging::Format::Text,
    };
    let _ = logging::init(flag("log").map(Path::new), format, false);
    let _ = e.print();
    // The message is the first paragraph ("... not provided:" and the missing names).
    let rendered = e.render().to_string();
    let msg: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let msg = msg.join(" ");
    logging::log(
        logging::Level::Error,
        msg.strip_prefix("error: ").unwrap_or(&msg),
    );
    std::process::exit(1);
}

/// Help in runc's layout, under the name brig was run as; runc's answer and exit status 3
/// for a command that does not exist.
fn help(program: &str, topic: cli::help::Topic) -> ! {
    use cli::help::Topic;
    let text = match topic {
        Topic::Program => cli::help::program(program, &cli::command()),
        Topic::Command(name) => {
            let root = cli::command();
            let cmd = root.find_subcommand(name).expect("a listed command");
            cli::help::command(program, cmd)
        }
        Topic::Unknown(name) => {
            let _ = logging::init(None, logging::Format::Text, false);
            logging::log(
                logging::Level::Error,
                &format!("No help topic for '{name}'"),
            );
            std::process::exit(3);
        }
    };
    print!("{text}");
    std::process::exit(0)
}
