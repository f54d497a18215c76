#!/usr/bin/env bash
# Vendors axe-core's built file for the browser test's accessibility check:
# npm packs axe-core@VERSION into a temporary folder, checks the package is
# that version under MPL-2.0 and that axe.min.js matches the SRI hash the
# package itself records for that version, then writes axe.min.js, its
# licences, VERSION and SHA256SUMS to internal/web/testdata/axe. The test
# checks the file against SHA256SUMS before injecting it, so it never needs
# the network; only this script does.
set -euo pipefail
version=${1:?usage: vendor-axe.sh VERSION (e.g. 4.14.1)}
cd "$(dirname "$0")/.."
dest=internal/web/testdata/axe
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. scripts/npm-pack.sh
npm_pack axe-core "$version" MPL-2.0 "$tmp"
pkg=$tmp/package

want=$(node -p 'require(process.argv[1])[process.argv[2]]["axe.min.js"]' "$pkg/sri-history.json" "$version")
sri="sha256-$(openssl dgst -sha256 -binary "$pkg/axe.min.js" | base64)"
if [ "$sri" != "$want" ]; then
  echo "vendor-axe: axe.min.js is $sri, the package's sri-history.json says $want" >&2
  exit 1
fi

mkdir -p "$dest"
cp "$pkg/axe.min.js" "$pkg/LICENSE" "$pkg/LICENSE-3RD-PARTY.txt" "$dest/"
echo "$version" >"$dest/VERSION"
(cd "$dest" && sha256sum axe.min.js LICENSE LICENSE-3RD-PARTY.txt VERSION >SHA256SUMS && sha256sum --check --quiet SHA256SUMS)
echo "vendor-axe: axe-core $version in $dest"
cat "$dest/SHA256SUMS"
