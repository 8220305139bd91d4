#!/usr/bin/env bash
# Install test: `make install` into a temporary DESTDIR (every file where it belongs, the
# binary runs), the man pages checked against the command line (each subcommand has a
# page that renders, and each flag of `brig SUB --help` is in it), the bash completion
# (`brig de<TAB>` offers delete, `brig kill <TAB>` the running containers' ids), then
# `make deb`: its file list, `dpkg -i`, `brig --version` and a container run from the
# installed /usr/bin/brig, and `dpkg -r` leaving none of its files. Run from the repo
# after `make release docs fixtures`:
#
#   tests/install/run.sh ROOTFS_FIXTURE
#
# Prints TAP lines and "P passed, F failed". Everything it makes is removed on exit; the
# package is removed even when a check fails, and a brig package the machine already had
# is left alone (the package checks are skipped).
set -euo pipefail
FIXTURE=$(realpath -e "$1")
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
[ "$(id -u)" = 0 ] || { echo "$0 must run as root" >&2; exit 2; }
T=$(mktemp -d /tmp/brig-install.XXXXXX)
DEB_INSTALLED=0
ID=brig-install-$$
cleanup() {
    local rc=$?
    set +e
    for root in "$T/state" "$T/state-deb"; do
        [ -d "$root" ] && "$REPO/target/debug/brig" --root "$root" delete --force "$ID" >/dev/null 2>&1
    done
    [ "$DEB_INSTALLED" = 1 ] && dpkg -r brig >/dev/null 2>&1
    for d in /sys/fs/cgroup/brig-install-$$ /sys/fs/cgroup/*/brig-install-$$; do
        [ -d "$d" ] && rmdir "$d" 2>/dev/null
    done
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT

N=0 PASSED=0 FAILED=0
ok() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
not_ok() {
    N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
    return 0
}
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc" "$out"; fi
}

# A bundle running `sleep`, with its own cgroup.
bundle() { # bundle DIR
    "$REPO/target/debug/brig" spec --bundle "$1"
    python3 - "$1/config.json" "$FIXTURE" "/brig-install-$$" <<'PY'
import json, sys
path, rootfs, cgroup = sys.argv[1:]
c = json.load(open(path))
c["root"]["path"] = rootfs
c["process"]["terminal"] = False
c["process"]["args"] = ["sleep", "100"]
c["linux"]["cgroupsPath"] = cgroup
json.dump(c, open(path, "w"))
PY
}

# --- make install into DESTDIR -------------------------------------------------------
D=$T/dest
# The recipes of `make install` and `make deb`, without their build steps (`make
# install-test` has built the release binary and the docs first).
make -s install-files DESTDIR="$D" PREFIX=/usr/local >"$T/install.log" 2>&1 ||
    { cat "$T/install.log"; not_ok "make install DESTDIR=... PREFIX=/usr/local"; exit 1; }
ok "make install DESTDIR=... PREFIX=/usr/local"
BIN=$D/usr/local/bin/brig
VERSION=$("$BIN" --version | sed -n 's/^brig version //p')
SUBS=$("$BIN" --help | sed -n '/^COMMANDS:/,/^$/p' | awk 'NR > 1 && $1 != "help," && NF {print $1}')
want=(usr/local/bin/brig usr/local/share/man/man8/brig.8
      usr/local/share/bash-completion/completions/brig
      usr/local/share/zsh/site-functions/_brig
      usr/local/share/fish/vendor_completions.d/brig.fish)
for s in $SUBS; do want+=("usr/local/share/man/man8/brig-$s.8"); done
missing="" extra=""
for f in "${want[@]}"; do [ -f "$D/$f" ] || missing="$missing $f"; done
for f in $(cd "$D" && find . -type f | sed 's|^\./||'); do
    printf '%s\n' "${want[@]}" | grep -qxF "$f" || extra="$extra $f"
done
if [ -z "$missing$extra" ]; then ok "installed exactly: the binary, $(echo "$SUBS" | wc -w) + 1 man pages, 3 completions"
else not_ok "installed exactly: the binary, the man pages, 3 completions" "missing:$missing; unexpected:$extra"; fi
mode=$(stat -c %a "$BIN")
if [ "$mode" = 755 ] && ldd "$BIN" 2>&1 | grep -qE 'not a dynamic executable|statically linked'; then
    ok "the binary is the static release build, mode 755"
else not_ok "the binary is the static release build, mode 755" "mode $mode; $(ldd "$BIN" 2>&1)"; fi
check "the installed binary runs: brig --version" "$BIN" --version

# --- man pages against the command line ----------------------------------------------
bad=""
for s in brig $SUBS; do
    page=$D/usr/local/share/man/man8/brig.8
    [ "$s" = brig ] || page=$D/usr/local/share/man/man8/brig-$s.8
    text=$(MANWIDTH=200 man --warnings -l "$page" 2>"$T/man.err") || { bad="$bad $s(render)"; continue; }
    [ -s "$T/man.err" ] && bad="$bad $s(warnings: $(head -c 200 "$T/man.err"))"
    if [ "$s" = brig ]; then
        for sub in $SUBS; do grep -q "brig-$sub(8)" <<<"$text" || bad="$bad brig.8:$sub"; done
        flags=$("$BIN" --help | sed -n '/^GLOBAL OPTIONS:/,$p' | grep -o -- '--[a-z][a-z-]*' | sort -u || true)
    else
        grep -q "^SYNOPSIS" <<<"$text" && grep -qE "brig +$s" <<<"$text" || bad="$bad $s(synopsis)"
        flags=$("$BIN" "$s" --help | sed -n '/^OPTIONS:/,$p' | grep -o -- '--[a-z][a-z-]*' | sort -u || true)
    fi
    for f in $flags; do grep -qF -- "$f" <<<"$text" || bad="$bad $s:$f"; done
done
for s in create run exec; do
    MANWIDTH=200 man -l "$D/usr/local/share/man/man8/brig-$s.8" | grep -q '^EXAMPLES' || bad="$bad $s(examples)"
done
if [ -z "$bad" ]; then ok "every man page renders without warnings and lists every subcommand and flag; create, run, exec have examples"
else not_ok "every man page renders without warnings and lists every subcommand and flag; create, run, exec have examples" "$bad"; fi

# --- bash completion --------------------------------------------------------------------
mkdir -p "$T/state" "$T/b1"
bundle "$T/b1"
"$BIN" --root "$T/state" run -d --bundle "$T/b1" "$ID" </dev/null >/dev/null 2>"$T/run.err" ||
    not_ok "a container to complete" "$(cat "$T/run.err")"
comp=$(PATH="$(dirname "$BIN"):$PATH" bash -c '
source "$1"
t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
      _brig_container_ids brig "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
      echo "${COMPREPLY[*]}"; }
t brig de
t brig --root "$2" kill ""
' _ "$D/usr/local/share/bash-completion/completions/brig" "$T/state")
if [ "$(sed -n 1p <<<"$comp")" = delete ]; then ok "bash: brig de<TAB> offers delete"
else not_ok "bash: brig de<TAB> offers delete" "$comp"; fi
if [ "$(sed -n 2p <<<"$comp")" = "$ID" ]; then ok "bash: brig --root R kill <TAB> offers the running container's id"
else not_ok "bash: brig --root R kill <TAB> offers the running container's id" "$comp"; fi
"$BIN" --root "$T/state" delete --force "$ID" >/dev/null 2>&1 || true

make -s uninstall DESTDIR="$D" PREFIX=/usr/local >/dev/null 2>&1
left=$(cd "$D" && find . -type f)
if [ -z "$left" ]; then ok "make uninstall removes every installed file"
else not_ok "make uninstall removes every installed file" "$left"; fi

# --- the Debian package ----------------------------------------------------------------
if dpkg -s brig >/dev/null 2>&1; then
    echo "ok $((N + 1)) - the Debian package # SKIP a brig package is already installed here"
    N=$((N + 1))
else
    deb=$(make -s deb-files 2>"$T/deb.err" | tail -1)
    if [ -f "$deb" ]; then ok "make deb builds $(basename "$deb")"
    else not_ok "make deb builds brig_<version>_<arch>.deb" "$(cat "$T/deb.err")"; exit 1; fi
    list=$(dpkg-deb -c "$deb" | awk '{print $NF}' | grep -v '/$' | sed 's|^\./||' | sort)
    expect=$( { echo usr/bin/brig; echo usr/share/doc/brig/copyright
                echo usr/share/bash-completion/completions/brig
                echo usr/share/zsh/vendor-completions/_brig
                echo usr/share/fish/vendor_completions.d/brig.fish
                echo usr/share/man/man8/brig.8.gz
                for s in $SUBS; do echo "usr/share/man/man8/brig-$s.8.gz"; done; } | sort)
    if [ "$list" = "$expect" ]; then ok "the package holds exactly the binary, the man pages, the completions and the copyright file"
    else not_ok "the package holds exactly the binary, the man pages, the completions and the copyright file" "$(diff <(echo "$expect") <(echo "$list"))"; fi
    fields=$(dpkg-deb -f "$deb" Package Version Architecture Suggests Installed-Size)
    if grep -q '^Suggests: criu, uidmap' <<<"$fields" && grep -q "^Version: $VERSION" <<<"$fields"; then
        ok "control: version from the binary, Suggests criu and uidmap"
    else not_ok "control: version from the binary, Suggests criu and uidmap" "$fields"; fi
    if dpkg -i "$deb" >"$T/dpkg.log" 2>&1; then DEB_INSTALLED=1; ok "dpkg -i installs it"
    else not_ok "dpkg -i installs it" "$(cat "$T/dpkg.log")"; fi
    check "/usr/bin/brig --version from the package" /usr/bin/brig --version
    mkdir -p "$T/state-deb" "$T/b2"
    bundle "$T/b2"
    sed -i 's/"sleep", "100"/"echo", "from-the-package"/' "$T/b2/config.json"
    out=$(/usr/bin/brig --root "$T/state-deb" run --bundle "$T/b2" "$ID" </dev/null 2>&1)
    if [ "$out" = from-the-package ]; then ok "the packaged brig runs a container"
    else not_ok "the packaged brig runs a container" "$out"; fi
    check "man brig-run finds the packaged page" env MANWIDTH=100 man -P cat brig-run
    if dpkg -r brig >"$T/dpkg.log" 2>&1; then DEB_INSTALLED=0; fi
    left=""
    for f in $list; do [ -e "/$f" ] && left="$left /$f"; done
    if [ "$DEB_INSTALLED" = 0 ] && [ -z "$left" ] && ! dpkg -s brig >/dev/null 2>&1; then ok "dpkg -r removes it cleanly"
    else not_ok "dpkg -r removes it cleanly" "left:$left; $(cat "$T/dpkg.log")"; fi
fi

echo "1..$N"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
