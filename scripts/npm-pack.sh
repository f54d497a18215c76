# Sourced by the vendor-*.sh scripts. npm_pack NAME VERSION LICENSE DIR
# packs NAME@VERSION from the npm registry into DIR (npm checks the tarball
# against the registry's integrity hash), unpacks it into DIR/package and
# fails unless its package.json says that name, version and licence.
npm_pack() {
  local name=$1 version=$2 license=$3 dir=$4 tgz got
  tgz=$(cd "$dir" && npm pack --silent "$name@$version")
  tar -xzf "$dir/$tgz" -C "$dir"
  got=$(node -p 'const p = require(process.argv[1]); p.name + "@" + p.version + " " + p.license' "$dir/package/package.json")
  if [ "$got" != "$name@$version $license" ]; then
    echo "npm_pack: the package is $got, want $name@$version $license" >&2
    return 1
  fi
}
