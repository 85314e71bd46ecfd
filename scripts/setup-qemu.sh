#!/usr/bin/env bash
# Makes sure qemu-system-aarch64 exists and knows the three machines Muon boots on
# (virt, raspi3b, raspi4b). raspi4b needs QEMU >= 9.0: on Debian bookworm that means
# qemu-system-arm from bookworm-backports. Installs with apt when it can, otherwise says
# exactly what to do. Safe to run again: does nothing when QEMU is already suitable.
set -euo pipefail

have_suitable_qemu() {
    command -v qemu-system-aarch64 >/dev/null 2>&1 || return 1
    local machines
    machines=$(qemu-system-aarch64 -M help 2>/dev/null) || return 1
    grep -qw raspi4b <<<"$machines" && grep -qw raspi3b <<<"$machines" && grep -qw virt <<<"$machines"
}

if have_suitable_qemu; then
    exit 0
fi

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
        echo "setup-qemu: need root (or sudo) to run: $*" >&2; exit 1; fi
}

. /etc/os-release 2>/dev/null || true
echo "setup-qemu: qemu-system-aarch64 with raspi4b support is missing; installing (${PRETTY_NAME:-unknown system})" >&2

if ! command -v apt-get >/dev/null 2>&1; then
    cat >&2 <<MSG
setup-qemu: this system has no apt-get. Install QEMU >= 9.0 with the aarch64 system
emulator yourself (Fedora: dnf install qemu-system-aarch64; Arch: pacman -S qemu-system-aarch64;
macOS: brew install qemu), make sure 'qemu-system-aarch64 -M help' lists raspi4b, then re-run.
MSG
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    # bookworm's own QEMU is 7.2 (no raspi4b); bookworm-backports carries 10.x.
    src=/etc/apt/sources.list.d/muon-bookworm-backports.sources
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        as_root tee "$src" >/dev/null <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    as_root apt-get update -qq
    as_root apt-get install -y -qq -t bookworm-backports qemu-system-arm >/dev/null
else
    as_root apt-get update -qq
    as_root apt-get install -y -qq qemu-system-arm >/dev/null
fi

if ! have_suitable_qemu; then
    cat >&2 <<MSG
setup-qemu: installed QEMU ($(qemu-system-aarch64 --version 2>/dev/null | head -1)) but it does
not know the raspi4b machine (needs QEMU >= 9.0). On Ubuntu use 24.10 or newer, or a QEMU
built from source; on Debian use trixie or bookworm-backports.
MSG
    exit 1
fi
echo "setup-qemu: $(qemu-system-aarch64 --version | head -1)" >&2
