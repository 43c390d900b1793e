#!/usr/bin/env bash
# Builds the relay's image with podman and tests it (tests/container/test_image.py): read-only
# root filesystem with no tmpfs, uid/gid 10001, the spool on a volume, /healthz and /readyz on
# the admin listener, an execute delivered to a stand-in Segment on 127.0.0.1, SIGTERM -> exit 0,
# and a new container on the same volume delivering what the first one left queued.
#
# Without a registry: when debian:12 or debian:12-slim is not in podman's storage, it is made
# here with mmdebstrap from the Debian mirror apt is configured with (/etc/apt/sources.list and
# sources.list.d), then imported with `podman import`; the slim one is the same minbase with
# docs, man pages and locales removed and excluded from later installs, as Debian's slim images.
# Installs podman and mmdebstrap with apt when they are missing (as root). Every step is bounded;
# every container, volume and process started here is removed on exit, whatever happens.
#
#   bash scripts/container-test.sh            # LSR_IMAGE=name:tag to choose the image's name
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
image="${LSR_IMAGE:-localhost/looker-segment-relay:test}"
label="lsr-container-test=$$-$(date +%s%N)"
work=$(mktemp -d)
test_pid=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$test_pid" ] && kill -0 "$test_pid" 2>/dev/null; then
    kill "$test_pid" 2>/dev/null || true
    wait "$test_pid" 2>/dev/null || true
  fi
  if command -v podman >/dev/null; then
    for c in $(timeout 30 podman ps -aq --filter "label=$label" 2>/dev/null); do
      timeout 60 podman rm -f -t 0 "$c" >/dev/null 2>&1 || true
    done
    for v in $(timeout 30 podman volume ls -q --filter "label=$label" 2>/dev/null); do
      timeout 60 podman volume rm -f "$v" >/dev/null 2>&1 || true
    done
  fi
  # The bases' root trees may hold files only root can remove; they are ours (mktemp).
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

elapsed() { echo "$(( $(date +%s) - started )) s"; }
die() { echo "container-test: FAIL: $*" >&2; exit 1; }
# Runs a step with a time limit; shows its output only when it fails.
bounded() {
  local limit=$1 name=$2
  shift 2
  local t0
  t0=$(date +%s)
  if timeout --kill-after=15 "$limit" "$@" >"$work/step.log" 2>&1; then
    echo "== $name: $(( $(date +%s) - t0 )) s"
  else
    local rc=$?
    tail -n 60 "$work/step.log" >&2
    [ "$rc" = 124 ] && die "$name took more than $limit s"
    die "$name (exit $rc)"
  fi
}

# -- tools
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v python3 >/dev/null || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need[*]} (apt-get install ${need[*]}, as root)"
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } \
    || die "cannot install ${need[*]}"
fi

# Explicit limits on every container, within this machine's hard limits.
cap() { local hard=$1 want=$2; if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then echo "$want"; else echo "$hard"; fi; }
nofile=$(cap "$(ulimit -Hn)" 65536)
nproc=$(cap "$(ulimit -Hu)" 4096)
ulimits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

# -- base images, made locally when absent (no registry here)
# The Debian mirrors apt uses on this machine, as apt source files for mmdebstrap.
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -s "$f" ] || continue
    grep -qE '^[^#]*(bookworm|stable)' "$f" || continue
    grep -qE '^[^#]*debian' "$f" || continue
    echo "$f"
  done
}

make_bases() {
  local root="$work/rootfs"
  mapfile -t sources < <(apt_sources)
  [ "${#sources[@]}" -gt 0 ] || die "no Debian bookworm source in /etc/apt/sources.list(.d)"
  echo "mmdebstrap bookworm minbase from ${sources[*]}"
  # One bootstrap for both: debian:12 is the minbase; debian:12-slim is the same tree slimmed.
  # /usr merged by the setup hook, so usr-is-merged stands for usrmerge (which pulls in perl),
  # as in Debian's own images.
  mmdebstrap --variant=minbase --mode=root --format=directory --quiet \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --include=usr-is-merged \
    bookworm "$root" "${sources[@]}"
  if ! podman image exists debian:12; then
    tar --numeric-owner --xattrs -C "$root" -c . \
      | podman import --change 'CMD ["bash"]' - docker.io/library/debian:12 >/dev/null
  fi
  if ! podman image exists debian:12-slim; then
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    rm -rf "$root"/usr/share/groff/* "$root"/usr/share/info/* "$root"/usr/share/linda/* \
      "$root"/usr/share/lintian/overrides/* "$root"/usr/share/locale/* "$root"/usr/share/man/*
    find "$root/usr/share/doc" -mindepth 1 ! -type d ! -path '*/copyright' -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    tar --numeric-owner --xattrs -C "$root" -c . \
      | podman import --change 'CMD ["bash"]' - docker.io/library/debian:12-slim >/dev/null
  fi
  rm -rf "$root"
}
if podman image exists debian:12 && podman image exists debian:12-slim; then
  echo "== base images: present"
else
  export work
  export -f make_bases apt_sources die
  bounded 600 "base images (mmdebstrap, podman import)" bash -euo pipefail -c make_bases
fi

# -- the image
version=$(sed -n 's/^project(looker-segment-relay VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || die "no VERSION in CMakeLists.txt's project()"
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
source_url=$(git remote get-url origin 2>/dev/null | sed -E 's#//[^/@]*@#//#' || true)
bounded 1200 "podman build $image" \
  podman build --runtime runc --network host --pull=never "${ulimits[@]}" \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --build-arg "SOURCE=${source_url:-unknown}" -t "$image" -f Dockerfile .
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image $image: $(( size / 1000000 )) MB ($size bytes), version $version, revision $revision"

# -- the tests
export LSR_IMAGE="$image" LSR_TEST_LABEL="$label"
export LSR_PODMAN_RUN_ARGS="--runtime runc ${ulimits[*]}"
echo "== tests/container/test_image.py"
timeout --kill-after=15 600 python3 tests/container/test_image.py &
test_pid=$!
wait "$test_pid" || die "tests/container/test_image.py (exit $?)"
test_pid=""
echo "container-test: image $(( size / 1000000 )) MB; passed in $(elapsed)"
