//! `brig-docs OUTDIR`: brig's man pages (OUTDIR/man8: brig.8 and brig-COMMAND.8) and shell
//! completions (OUTDIR/completions: bash, zsh, fish), generated from the same clap
//! definitions brig parses its command line with, so they never drift from it. Container
//! ids are completed from `brig list -q` (with the `--root` typed so far) for the commands
//! that take an existing container.

use std::io::Write;
use std::path::Path;

use clap::{Arg, Command};
use clap_complete::Shell;
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;

/// The commands whose argument is an existing container's id.
const TAKE_AN_ID: &[&str] = &[
    "start",
    "state",
    "kill",
    "delete",
    "exec",
    "ps",
    "pause",
    "resume",
    "update",
    "events",
    "checkpoint",
];

/// Examples for the man pages of the commands runc's pages give them for.
fn examples(name: &str) -> Option<&'static str> {
    match name {
        "create" => Some(
            "Create a container from the bundle in /srv/web, waiting for start:\n\
             \n    brig create --bundle /srv/web web\n    brig start web\n\
             \nWith a terminal, the pty master goes to a console socket:\n\
             \n    brig create --bundle /srv/web --console-socket /run/web.sock web",
        ),
        "run" => Some(
            "Run the bundle in the current directory in the foreground, deleted when it exits:\n\
             \n    brig run demo\n\
             \nIn the background, keeping the pid:\n\
             \n    brig run -d --pid-file /run/web.pid --bundle /srv/web web",
        ),
        "exec" => Some(
            "Run a shell in a running container with a terminal:\n\
             \n    brig exec -t web sh\n\
             \nRun a command as another user with an extra environment variable:\n\
             \n    brig exec --user 1000:1000 --env DEBUG=1 web ls -l /",
        ),
        _ => None,
    }
}

fn main() {
    let out = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            eprintln!("usage: brig-docs OUTDIR");
            std::process::exit(2)
        });
    let version = env!("CARGO_PKG_VERSION");
    let root = brig::cli::command().version(version);
    let man = out.join("man8");
    std::fs::create_dir_all(&man).expect("mkdir man8");
    write(&man.join("brig.8"), &page(root.clone(), "brig", None));
    for sub in root.get_subcommands() {
        let name = sub.get_name();
        let cmd = sub
            .clone()
            // clap's names are &'static str without its `string` feature; this runs once.
            .name(&*format!("brig-{name}").leak())
            .bin_name(format!("brig {name}"));
        write(
            &man.join(format!("brig-{name}.8")),
            &page(cmd, &format!("brig-{name}"), Some(name)),
        );
    }
    let comp = out.join("completions");
    std::fs::create_dir_all(&comp).expect("mkdir completions");
    let mut bash = generate(Shell::Bash, &root);
    bash.push_str(&bash_ids(&root));
    write(&comp.join("brig"), &bash);
    write(&comp.join("_brig"), &zsh_ids(&generate(Shell::Zsh, &root)));
    let mut fish = generate(Shell::Fish, &root);
    fish.push_str(&fish_ids());
    write(&comp.join("brig.fish"), &fish);
}

fn write(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(text.as_bytes()).expect("write");
}

/// A man page in runc's shape: NAME, SYNOPSIS, DESCRIPTION, OPTIONS (and COMMANDS for
/// brig(8)), EXAMPLES where there are some, SEE ALSO.
fn page(cmd: Command, title: &str, sub: Option<&str>) -> String {
    let man = Man::new(cmd.clone())
        .title(title.to_uppercase())
        .section("8")
        .manual("brig manual")
        .source(format!("brig {}", env!("CARGO_PKG_VERSION")));
    let mut buf = Vec::new();
    man.render_title(&mut buf).unwrap();
    man.render_name_section(&mut buf).unwrap();
    man.render_synopsis_section(&mut buf).unwrap();
    man.render_description_section(&mut buf).unwrap();
    if cmd.get_arguments().next().is_some() {
        man.render_options_section(&mut buf).unwrap();
    }
    if cmd.get_subcommands().next().is_some() {
        man.render_subcommands_section(&mut buf).unwrap();
    }
    if cmd.get_after_help().is_some() || cmd.get_after_long_help().is_some() {
        man.render_extra_section(&mut buf).unwrap();
    }
    let mut roff = Roff::new();
    if let Some(text) = sub.and_then(examples) {
        roff.control("SH", ["EXAMPLES"]);
        for para in text.split("\n\n") {
            if let Some(code) = para.strip_prefix("    ") {
                roff.control("PP", [])
                    .control("nf", [])
                    .control("RS", ["4"]);
                roff.text([roman(code.replace("\n    ", "\n"))]);
                roff.control("RE", []).control("fi", []);
            } else {
                roff.control("PP", []).text([roman(para)]);
            }
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    let see = match sub {
        Some(_) => "brig(8), runc(8)".to_string(),
        None => "runc(8), brig-create(8), brig-run(8), brig-exec(8), and brig-COMMAND(8) for each command above".to_string(),
    };
    roff.text([roman(see)]);
    let mut text = String::from_utf8(buf).unwrap();
    text.push_str(&roff.render());
    text
}

fn generate(shell: Shell, root: &Command) -> String {
    let mut cmd = root.clone();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "brig", &mut buf);
    String::from_utf8(buf).unwrap()
}

/// An option that takes the next word as its value (`--root DIR`), not `--x[=BOOL]`.
fn takes_value(a: &Arg) -> bool {
    a.get_long().is_some()
        && a.get_action().takes_values()
        && !a.is_require_equals_set()
        && a.get_num_args().is_some_and(|n| n.min_values() > 0)
}

/// Every spelling of the options of `cmd` that take a value: `--x`, runc's `-x`, `-s`.
fn value_spellings(cmd: &Command) -> Vec<String> {
    let mut out = Vec::new();
    for a in cmd.get_arguments().filter(|a| takes_value(a)) {
        let long = a.get_long().unwrap();
        out.push(format!("--{long}"));
        out.push(format!("-{long}"));
        if let Some(s) = a.get_short() {
            out.push(format!("-{s}"));
        }
    }
    out
}

/// bash: before clap's completion, offer the ids of existing containers where a command
/// that takes one expects it (`brig kill <TAB>`), listed with the `--root` typed so far.
fn bash_ids(root: &Command) -> String {
    let global = value_spellings(root)
        .into_iter()
        .filter(|s| !s.ends_with("root"))
        .collect::<Vec<_>>()
        .join("|");
    let mut per_sub = Vec::new();
    for sub in root.get_subcommands() {
        for s in value_spellings(sub) {
            per_sub.push(format!("\"{} {s}\"", sub.get_name()));
        }
    }
    format!(
        r#"
# Container ids (brig-docs): from `brig list -q` with the --root typed so far, where a
# command that takes an existing container expects its id.
_brig_container_ids() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} root= sub= i w npos=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${{COMP_WORDS[i]}}
        if [ -z "$sub" ]; then
            case $w in
                --root | -root) root=${{COMP_WORDS[i + 1]}}; i=$((i + 1)); continue ;;
                --root=* | -root=*) root=${{w#*=}}; continue ;;
                {global}) i=$((i + 1)); continue ;;
                -*) continue ;;
                *) sub=$w; continue ;;
            esac
        fi
        case "$sub $w" in
            {per_sub}) i=$((i + 1)); continue ;;
        esac
        case $w in -*) continue ;; esac
        npos=$((npos + 1))
    done
    # The current word is an option's value: clap's completion knows what it is.
    if [ "$i" -gt "$COMP_CWORD" ]; then
        _brig "$@"
        return
    fi
    case $sub in
        {ids})
            if [ "$npos" = 0 ] && [[ $cur != -* ]]; then
                COMPREPLY=($(compgen -W "$("${{COMP_WORDS[0]}}" ${{root:+--root "$root"}} list -q 2>/dev/null)" -- "$cur"))
                return 0
            fi
            ;;
    esac
    _brig "$@"
}}
complete -F _brig_container_ids -o bashdefault -o default brig
"#,
        ids = TAKE_AN_ID.join(" | "),
        per_sub = per_sub.join(" | "),
    )
}

/// zsh: clap's completion, with the container-id argument completed from `brig list -q`.
fn zsh_ids(generated: &str) -> String {
    let default = ":id -- the container's id:_default";
    let quoted = default.replace('\'', r"'\''");
    assert!(
        generated.contains(&quoted),
        "clap's zsh script no longer has the id argument as expected: update brig-docs"
    );
    let mut text = generated.replace(
        &quoted,
        &":id -- the container's id:_brig_container_ids".replace('\'', r"'\''"),
    );
    let helper = r#"
# Container ids (brig-docs), with the --root typed so far.
_brig_container_ids() {
    local -a ids root
    local i
    for ((i = 2; i < CURRENT; i++)); do
        case ${words[i]} in
            --root | -root) root=(--root "${words[i + 1]}") ;;
            --root=* | -root=*) root=(--root "${words[i]#*=}") ;;
        esac
    done
    ids=(${(f)"$(${words[1]} $root list -q 2>/dev/null)"})
    compadd -a ids
}
"#;
    // Defined before clap's function, which the script calls at its end.
    let at = text.find("\n_brig()").unwrap_or(0);
    text.insert_str(at, helper);
    text
}

/// fish: ids for the commands that take one, listed with the --root on the line.
fn fish_ids() -> String {
    format!(
        r#"
# Container ids (brig-docs), with the --root typed so far.
function __brig_container_ids
    set -l tokens (commandline -opc)
    set -l root
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --root -root
                set root --root $tokens[(math $i + 1)]
            case '--root=*' '-root=*'
                set root --root (string split -m1 = -- $tokens[$i])[2]
        end
    end
    $tokens[1] $root list -q 2>/dev/null
end
complete -c brig -n "__fish_seen_subcommand_from {}" -f -a "(__brig_container_ids)"
"#,
        TAKE_AN_ID.join(" ")
    )
}
