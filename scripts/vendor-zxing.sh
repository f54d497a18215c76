#!/usr/bin/env bash
# Vendors the staff scanner's barcode decoder: npm packs
# @zxing/library@VERSION (npm checks the tarball against the registry's
# integrity hash), checks it is that version under Apache-2.0, then writes
# its UMD build (umd/index.min.js, as zxing.min.js), its LICENSE, VERSION
# and SHA256SUMS to internal/console/static/scan-zxing. passd embeds that
# folder and a test checks it against SHA256SUMS, so neither building nor
# running passd needs the network; only this script does.
set -euo pipefail
version=${1:?usage: vendor-zxing.sh VERSION (e.g. 0.23.0)}
cd "$(dirname "$0")/.."
dest=internal/console/static/scan-zxing
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. scripts/npm-pack.sh
npm_pack @zxing/library "$version" Apache-2.0 "$tmp"
pkg=$tmp/package

# The scanner needs the four formats passd's cards and tills use.
formats=$(node -e 'globalThis.window = globalThis; const Z = require(process.argv[1]);
  const need = ["QR_CODE", "PDF_417", "AZTEC", "CODE_128"].filter(f => Z.BarcodeFormat[f] === undefined);
  console.log(typeof Z.MultiFormatReader === "function" && need.length === 0 ? "ok" : "missing " + need.join(" "))' "$pkg/umd/index.min.js")
if [ "$formats" != "ok" ]; then
  echo "vendor-zxing: umd/index.min.js lacks the MultiFormatReader or formats: $formats" >&2
  exit 1
fi

mkdir -p "$dest"
cp "$pkg/umd/index.min.js" "$dest/zxing.min.js"
cp "$pkg/LICENSE" "$dest/LICENSE"
echo "$version" >"$dest/VERSION"
(cd "$dest" && sha256sum zxing.min.js LICENSE VERSION >SHA256SUMS && sha256sum --check --quiet SHA256SUMS)
echo "vendor-zxing: @zxing/library $version in $dest"
cat "$dest/SHA256SUMS"
