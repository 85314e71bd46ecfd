#!/usr/bin/env bash
# Installs what building and running Muon needs, and nothing when it is already there.
#   toolchain: the pinned Rust toolchain and targets (rust-toolchain.toml), a C linker
#              for host tools;
#   qemu:      qemu-system-aarch64 with raspi4b support (scripts/setup-qemu.sh);
#   gdb:       gdb-multiarch.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
        echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: please install $* with your system's package manager" >&2
        exit 1
    fi
    echo "setup: installing $* with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq "$@" >/dev/null
}

for step in "$@"; do
    case "$step" in
    toolchain)
        if ! command -v rustup >/dev/null 2>&1; then
            echo "setup: rustup is required (https://rustup.rs), then re-run" >&2
            exit 1
        fi
        # Installs the channel, components and targets named in rust-toolchain.toml.
        rustup toolchain install >/dev/null 2>&1 || rustup toolchain install
        command -v cc >/dev/null 2>&1 || apt_install gcc libc6-dev
        ;;
    qemu)
        scripts/setup-qemu.sh
        ;;
    gdb)
        command -v gdb-multiarch >/dev/null 2>&1 || apt_install gdb-multiarch
        ;;
    *)
        echo "setup: unknown step $step" >&2
        exit 2
        ;;
    esac
done
