#!/bin/bash
# Build brig_<version>_<arch>.deb with dpkg-deb from the release binary and brig-docs'
# output: the binary in /usr/bin, man pages (gzipped) in /usr/share/man/man8, the bash,
# zsh and fish completions, and the copyright file. Depends is computed by
# dpkg-shlibdeps (none for the static binary); Installed-Size by du.
#
#   packaging/deb/build.sh RELEASE_BINARY DOCS_DIR OUT_DIR
set -euo pipefail
BIN=$(realpath -e "$1")
DOCS=$(realpath -e "$2")
OUT=$(realpath -m "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=$("$BIN" --version | sed -n 's/^brig version //p')
ARCH=$(dpkg --print-architecture)
[ -n "$VERSION" ] || { echo "cannot read the version from $BIN" >&2; exit 1; }
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
P=$STAGE/brig
install -D -m 755 "$BIN" "$P/usr/bin/brig"
install -d "$P/usr/share/man/man8"
for page in "$DOCS"/man8/*.8; do
    gzip -9n <"$page" >"$P/usr/share/man/man8/$(basename "$page").gz"
done
chmod 644 "$P"/usr/share/man/man8/*
install -D -m 644 "$DOCS/completions/brig" "$P/usr/share/bash-completion/completions/brig"
install -D -m 644 "$DOCS/completions/_brig" "$P/usr/share/zsh/vendor-completions/_brig"
install -D -m 644 "$DOCS/completions/brig.fish" "$P/usr/share/fish/vendor_completions.d/brig.fish"
install -D -m 644 "$HERE/copyright" "$P/usr/share/doc/brig/copyright"
# Depends from the binary's shared libraries: dpkg-shlibdeps wants a debian/control.
mkdir -p "$STAGE/src/debian"
printf 'Source: brig\n\nPackage: brig\nArchitecture: any\n' >"$STAGE/src/debian/control"
deps=$(cd "$STAGE/src" && dpkg-shlibdeps -O "$P/usr/bin/brig" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
depends=""
[ -n "$deps" ] && depends="Depends: $deps\n"
size=$(du -sk --exclude=DEBIAN "$P" | cut -f1)
mkdir -p "$P/DEBIAN"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" "$HERE/control" >"$P/DEBIAN/control"
mkdir -p "$OUT"
deb=$OUT/brig_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group --build "$P" "$deb" >/dev/null
echo "$deb"
