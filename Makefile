# Muon: the two commands are `make run` and `make test`; both install what they lack.
#   make run   [BOARD=qemu-virt|rpi3|rpi4] [IMAGE=default]  boot in QEMU (quit: Ctrl-A X)
#   make test                                                every test on every board
#   make bench                                               IPC benchmarks (instructions, QEMU -icount)
#   make image BOARD=rpi3|rpi4 [FEATURES=mini-uart]          kernel8.img + config.txt
#   make gdb   [BOARD=...]                                   QEMU halted + gdb-multiarch

BOARD ?= qemu-virt
IMAGE ?= default
FEATURES ?=
export PATH := $(HOME)/.cargo/bin:$(PATH)

RUNNER = cargo run --quiet --release -p muon-runner --
BOARD_ARGS = --board $(BOARD) --image $(IMAGE) $(if $(FEATURES),--features $(FEATURES))

.PHONY: all setup toolchain run test bench image gdb fmt clippy

all: test

toolchain:
	@scripts/setup.sh toolchain

setup:
	@scripts/setup.sh toolchain qemu

run: setup
	$(RUNNER) run $(BOARD_ARGS)

test: setup
	$(RUNNER) test

bench: setup
	$(RUNNER) bench

image: toolchain
	$(RUNNER) image $(BOARD_ARGS)

gdb: setup
	@scripts/setup.sh gdb
	$(RUNNER) gdb $(BOARD_ARGS)

fmt: toolchain
	cargo fmt --all

clippy: toolchain
	cargo clippy
	cargo clippy --release --target aarch64-unknown-none-softfloat -p muon-board-qemu-virt -p muon-board-rpi3 -p muon-board-rpi4
	cargo clippy --release --target aarch64-unknown-none -p userlib -p hello -p proc -p proc-peer -p systest -p systest-child -p ipc-peer -p bench-peer -p pipe -p mqueue -p console -p shell -p utils -p ramfs -p bench -p demo-checksum -p demo-timer -p demo-shm -p demo-pi
