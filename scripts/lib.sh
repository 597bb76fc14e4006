# Shared by the scripts in this folder: sourced, not run.
# Puts the project's own Node 24 (the `node` devDependency) first on PATH, installing packages if needed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/.bin:$PATH"

log() { printf '\033[1m[herald]\033[0m %s\n' "$*" >&2; }

ensure_packages() {
  local stamp="$ROOT/node_modules/.herald-install-stamp"
  # Patches to dependencies (patches/, applied by patch-package at install) count as the lock file does.
  if [[ ! -x "$ROOT/node_modules/.bin/node" || ! -f "$stamp" || "$ROOT/package-lock.json" -nt "$stamp" ||
    -n "$(find "$ROOT/patches" -newer "$stamp" 2>/dev/null)" ]]; then
    command -v npm >/dev/null || { log "npm is required (any Node >= 18 with npm); Node 24 itself comes from the project"; exit 1; }
    log "installing npm packages"
    # `npm ci`: exactly the lock file, which it never rewrites. The lock names every platform's optional
    # binaries (biome, buf, nx, esbuild); npm fetches only this platform's. After changing a package.json,
    # run `npm install` yourself and commit the lock file it updates.
    # package.json's allowScripts lists the dependencies whose install scripts npm may run (newer npm
    # skips the rest): `node` fetches the Node 24 binary, esbuild, buf and nx their platform binaries.
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
  local version
  version="$("$ROOT/node_modules/.bin/node" --version)"
  [[ "$version" == v24.* ]] || { log "expected Node 24 from node_modules, got $version"; exit 1; }
}

# True if something accepts TCP connections on host $1 port $2.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_for_port() { # host port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_open "$1" "$2" && return 0
    sleep 0.1
  done
  return 1
}
