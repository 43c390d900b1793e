#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing.
# Works as root (or through sudo) on a fresh Debian 12 machine.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost1.81-dev
  rapidjson-dev
  libyaml-cpp-dev
  prometheus-cpp-dev
  catch2
  libssl-dev
  zlib1g-dev
  libdeflate-dev
  libsqlite3-dev
  python3
  openssl
)
# Optional tools used by the test command (fuzzing, sanitizer runtimes, formatting) and by
# bench/run.sh (strace counts the relay's system calls).
if [ "${RELAY_WITH_DEV_TOOLS:-1}" = "1" ]; then
  packages+=(clang libclang-rt-dev clang-format strace)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
