#!/usr/bin/env bash
# Install hakeep as a systemd service, as root, from a clone or from the packed tarball:
#
#   bash scripts/install.sh                         # in a clone (after git clone, or npm ci)
#   bash scripts/install.sh hakeep-0.1.0.tgz        # the tarball `npm pack` made
#   tar xzf hakeep-0.1.0.tgz && bash package/scripts/install.sh    # the same, unpacked
#
# What it does, each step printed:
#   /usr/lib/hakeep        the built daemon (dist/), the native addon, production dependencies only;
#                          replaced as a whole (built beside it first, then swapped in)
#   /usr/sbin/hakeep       a wrapper: exec node /usr/lib/hakeep/bin/hakeep.js "$@"
#   /etc/systemd/system/hakeep.service   examples/hakeep.service (local changes go in drop-ins)
#   /etc/hakeep/hakeep.ini               only when missing (log format text, for the journal)
#   /etc/hakeep/keepalived.conf          only when neither it nor /etc/keepalived/keepalived.conf
#                                        exists: a config that runs nothing yet
# An existing config is never touched. Running it again is safe (it rebuilds and reinstalls).
# It does not enable or start the service: it prints the commands.
#
# Options:
#   --prefix DIR    install the package there instead of /usr/lib/hakeep
#   --destdir DIR   stage everything under DIR (packaging; no root needed, systemctl not called)
#   --no-apt        do not install missing system packages with apt-get; fail and name them
set -euo pipefail

PREFIX=/usr/lib/hakeep
DESTDIR=
USE_APT=1
TARBALL=
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --destdir) DESTDIR=${2:?--destdir needs a directory}; shift 2 ;;
    --no-apt) USE_APT=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "install: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [ -z "$TARBALL" ] || { echo "install: one tarball at most" >&2; exit 2; }; TARBALL=$1; shift ;;
  esac
done
case "$PREFIX" in /*) ;; *) echo "install: --prefix must be an absolute path" >&2; exit 2 ;; esac
if [ -n "$DESTDIR" ]; then mkdir -p "$DESTDIR"; DESTDIR=$(cd "$DESTDIR" && pwd); fi

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
  die "run it as root (it writes $PREFIX, /usr/sbin/hakeep, /etc/systemd/system and /etc/hakeep), or stage with --destdir DIR"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hakeep-install.XXXXXX")
STAGE=
cleanup() {
  rm -rf "$TMP"
  if [ -n "$STAGE" ]; then rm -rf "$STAGE"; fi
}
trap cleanup EXIT

# --- where the sources are ------------------------------------------------------------------------
if [ -n "$TARBALL" ]; then
  [ -f "$TARBALL" ] || die "$TARBALL: no such file"
  tar -xzf "$TARBALL" -C "$TMP" || die "$TARBALL: not a tarball made by npm pack"
  SRC=$TMP/package
  say "unpacked $TARBALL"
else
  SRC=$(cd "$(dirname "$0")/.." && pwd)
fi
[ -f "$SRC/package.json" ] && grep -q '"name": *"hakeep"' "$SRC/package.json" \
  || die "$SRC is not a hakeep source tree (no package.json naming hakeep)"

# --- prerequisites --------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node is missing: install Node.js 20 or later (Debian 12: from NodeSource or nodejs.org; Debian 13/Ubuntu 24.04: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm is missing: install it with Node.js (apt-get install npm)"
NODE=$(command -v node)
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "node $(node --version) is too old: hakeep needs Node.js 20 or later"
case "$NODE" in
  /root/*|/home/*) say "warning: node is $NODE, under a home directory; the service will run it from there" ;;
esac

# The daemon runs ip, ipvsadm and modprobe; building it needs make, g++ and python3 (node-gyp).
need_pkgs() {
  local missing=() cmd pkg
  for pair in "$@"; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$USE_APT" = 1 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
      apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    } || die "apt-get install ${missing[*]} failed"
  else
    die "missing: ${missing[*]}; install them first (Debian/Ubuntu: apt-get install -y ${missing[*]})"
  fi
}
need_pkgs ip:iproute2 ipvsadm:ipvsadm modprobe:kmod
BUILD_TOOLS=(make:make g++:g++ python3:python3)

# --- build the tree to install, beside its final place --------------------------------------------
TARGET=$DESTDIR$PREFIX
mkdir -p "$(dirname "$TARGET")"
STAGE=$(mktemp -d "$(dirname "$TARGET")/.hakeep-new.XXXXXX")
chmod 0755 "$STAGE"
VERSION=$(node -p "require('$SRC/package.json').version")

copy_common() {  # what every install carries besides dist/, the addon and node_modules
  cp -p "$SRC/package.json" "$STAGE/"
  [ -f "$SRC/package-lock.json" ] && cp -p "$SRC/package-lock.json" "$STAGE/"
  cp -pR "$SRC/bin" "$STAGE/bin"
  mkdir -p "$STAGE/examples"
  cp -p "$SRC"/examples/* "$STAGE/examples/"
  for f in README.md LICENSE; do [ -f "$SRC/$f" ] && cp -p "$SRC/$f" "$STAGE/"; done
  return 0
}

addon_fresh() {  # the clone's addon exists and is newer than its sources
  local a=$SRC/native/build/Release/hakeep_native.node
  [ -f "$a" ] || return 1
  [ -z "$(find "$SRC/native/src" "$SRC/native/binding.gyp" -newer "$a" -print -quit)" ]
}

build_addon_in() {  # $1: a directory with package.json, native/ and scripts/native-build-failed.js
  need_pkgs "${BUILD_TOOLS[@]}"
  # npm run-script puts npm's own node-gyp on PATH, as npm install does for the install script.
  (cd "$1" && npm run-script --silent install) >"$TMP/addon-build.log" 2>&1 || {
    tail -n 30 "$TMP/addon-build.log" >&2
    die "building the native addon failed (log above)"
  }
}

if [ -x "$SRC/node_modules/.bin/tsc" ] && (cd "$SRC" && npm ls --omit=dev --parseable --all >/dev/null 2>&1); then
  # A clone where npm ci/npm install has run: compile its sources into the stage (the clone's own
  # dist/ is neither used nor touched) and copy the production dependencies it has.
  say "building hakeep $VERSION from the clone $SRC"
  copy_common
  (cd "$SRC" && node_modules/.bin/tsc -p tsconfig.json --outDir "$STAGE/dist") || die "TypeScript build failed"
  mkdir -p "$STAGE/native/build/Release"
  if addon_fresh; then
    cp -p "$SRC/native/build/Release/hakeep_native.node" "$STAGE/native/build/Release/"
  else
    say "the clone's native addon is missing or older than native/src: building it"
    mkdir -p "$TMP/addon/scripts"
    cp -p "$SRC/package.json" "$TMP/addon/"
    cp -pR "$SRC/native" "$TMP/addon/native"
    rm -rf "$TMP/addon/native/build"
    cp -p "$SRC/scripts/native-build-failed.js" "$TMP/addon/scripts/"
    build_addon_in "$TMP/addon"
    cp -p "$TMP/addon/native/build/Release/hakeep_native.node" "$STAGE/native/build/Release/"
  fi
  # Production dependencies only, as npm resolved them in the clone (outermost directories first;
  # a package's own nested node_modules comes with it).
  copied=()
  while IFS= read -r p; do
    [ "$p" = "$SRC" ] && continue
    rel=${p#"$SRC"/}
    skip=0
    for c in "${copied[@]+"${copied[@]}"}"; do case "$rel" in "$c"/*) skip=1; break ;; esac; done
    [ $skip = 1 ] && continue
    mkdir -p "$STAGE/$(dirname "$rel")"
    cp -pR "$p" "$STAGE/$rel"
    copied+=("$rel")
  done < <(cd "$SRC" && npm ls --omit=dev --parseable --all 2>/dev/null | sort)
else
  # A tarball, or a clone without node_modules: install every dependency in the stage (the
  # install script builds the addon), compile, then drop the development dependencies.
  say "building hakeep $VERSION from $SRC with npm (needs the npm registry)"
  need_pkgs "${BUILD_TOOLS[@]}"
  copy_common
  cp -p "$SRC/tsconfig.json" "$STAGE/"
  cp -pR "$SRC/src" "$STAGE/src"
  mkdir -p "$STAGE/scripts"
  cp -p "$SRC/scripts/native-build-failed.js" "$STAGE/scripts/"
  cp -pR "$SRC/native" "$STAGE/native"
  rm -rf "$STAGE/native/build"
  if [ -f "$STAGE/package-lock.json" ]; then npm_install=(ci); else npm_install=(install --no-save); fi
  (cd "$STAGE" && npm "${npm_install[@]}" --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1 || {
    tail -n 40 "$TMP/npm.log" >&2
    die "npm ${npm_install[*]} failed (log above)"
  }
  (cd "$STAGE" && node_modules/.bin/tsc -p tsconfig.json) || die "TypeScript build failed"
  (cd "$STAGE" && npm prune --omit=dev --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1 || {
    tail -n 20 "$TMP/npm.log" >&2
    die "npm prune failed (log above)"
  }
  # prune leaves the development packages' scope directories behind, empty.
  find "$STAGE/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete
  addon=$STAGE/native/build/Release/hakeep_native.node
  [ -f "$addon" ] || die "the native addon was not built (npm output: $TMP/npm.log)"
  mv "$addon" "$TMP/hakeep_native.node"
  rm -rf "$STAGE/src" "$STAGE/tsconfig.json" "$STAGE/scripts" "$STAGE/native"
  mkdir -p "$STAGE/native/build/Release"
  mv "$TMP/hakeep_native.node" "$STAGE/native/build/Release/"
fi

# The staged tree must run: the CLI loads, and the addon loads and can talk to systemd.
node "$STAGE/bin/hakeep.js" --version >/dev/null || die "the built hakeep does not start (node $STAGE/bin/hakeep.js --version)"
node --input-type=module -e "
  const { native } = await import('$STAGE/dist/net/native.js');
  if (typeof native().sdNotify !== 'function') throw new Error('the addon has no sdNotify');
" || die "the built native addon does not load"

# --- swap it in -----------------------------------------------------------------------------------
if [ -e "$TARGET" ]; then
  OLD=$(mktemp -d "$(dirname "$TARGET")/.hakeep-old.XXXXXX")
  rmdir "$OLD"
  mv "$TARGET" "$OLD"
  mv "$STAGE" "$TARGET"
  rm -rf "$OLD"
  say "replaced $TARGET (hakeep $VERSION, node $(node --version))"
else
  mv "$STAGE" "$TARGET"
  say "installed $TARGET (hakeep $VERSION, node $(node --version))"
fi
STAGE=

# --- wrapper, unit, configuration -----------------------------------------------------------------
install_file() {  # install_file MODE SOURCE DEST: write DEST when its content differs
  local mode=$1 src=$2 dest=$3
  mkdir -p "$(dirname "$dest")"
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    say "unchanged $dest"
  else
    local verb=installed; [ -e "$dest" ] && verb=updated
    install -m "$mode" "$src" "$dest.hakeep-tmp"
    mv -f "$dest.hakeep-tmp" "$dest"
    say "$verb $dest"
  fi
}

{
  echo '#!/bin/sh'
  echo '# hakeep launcher, written by hakeep'"'"'s scripts/install.sh.'
  printf 'exec %s %s/bin/hakeep.js "$@"\n' "$NODE" "$PREFIX"
} > "$TMP/hakeep"
install_file 0755 "$TMP/hakeep" "$DESTDIR/usr/sbin/hakeep"

sed -e "s#file:///usr/lib/hakeep/#file://$PREFIX/#" "$SRC/examples/hakeep.service" > "$TMP/hakeep.service"
install_file 0644 "$TMP/hakeep.service" "$DESTDIR/etc/systemd/system/hakeep.service"

ETC=$DESTDIR/etc/hakeep
mkdir -p "$ETC"
chmod 0755 "$ETC"
if [ -e "$ETC/hakeep.ini" ]; then
  say "kept $ETC/hakeep.ini (exists)"
else
  # journald timestamps and indexes the lines itself: plain text reads best there.
  sed -e 's/^format = json$/format = text/' "$SRC/examples/hakeep.ini" > "$TMP/hakeep.ini"
  install -m 0644 "$TMP/hakeep.ini" "$ETC/hakeep.ini"
  say "installed $ETC/hakeep.ini (log format text)"
fi
CONF=
if [ -e "$ETC/keepalived.conf" ]; then
  CONF=/etc/hakeep/keepalived.conf
  say "kept $ETC/keepalived.conf (exists)"
elif [ -e "$DESTDIR/etc/keepalived/keepalived.conf" ]; then
  CONF=/etc/keepalived/keepalived.conf
  say "kept /etc/keepalived/keepalived.conf: hakeep will run it (there is no /etc/hakeep/keepalived.conf)"
else
  CONF=/etc/hakeep/keepalived.conf
  cat > "$TMP/keepalived.conf" <<EOF
! hakeep configuration (keepalived.conf syntax), written by hakeep's scripts/install.sh because
! there was none. It runs nothing yet: add vrrp_instance and virtual_server blocks (examples in
! $PREFIX/examples/), check the file with \`hakeep -t\`, then \`systemctl reload hakeep\`.
! An existing keepalived.conf works as it is: put it here, or in /etc/keepalived/.

global_defs {
    router_id $(hostname -s 2>/dev/null || echo hakeep)
}
EOF
  install -m 0640 "$TMP/keepalived.conf" "$ETC/keepalived.conf"
  say "installed $ETC/keepalived.conf (runs nothing yet; examples in $PREFIX/examples/)"
fi

# --- systemd ----------------------------------------------------------------------------------------
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  say "systemctl daemon-reload done"
  if systemctl is-active --quiet hakeep 2>/dev/null; then
    say "hakeep is running the previous version: systemctl restart hakeep  (to run $VERSION)"
  fi
elif [ -z "$DESTDIR" ]; then
  say "systemd is not running on this machine: the unit is installed but cannot be started here"
fi

if [ -z "$DESTDIR" ]; then
  if out=$(/usr/sbin/hakeep -t -f "$CONF" 2>&1); then
    say "$CONF: $(printf '%s\n' "$out" | tail -n 1 | sed 's/^hakeep: [^:]*: //')"
  else
    printf '%s\n' "$out" | sed 's/^/  /' >&2
    say "warning: $CONF has errors (above): hakeep will not start until they are fixed"
  fi
fi

cat <<EOF

hakeep $VERSION is installed. Next:
  hakeep -t                      # check the configuration ($CONF)
  systemctl enable --now hakeep  # start it now and at boot
  systemctl status hakeep        # state, and a STATUS line such as "VI_1 MASTER, 2/2 real servers up"
  journalctl -u hakeep -f        # follow its log (state transitions, IPVS changes)
EOF
