# Muon: the two commands are `make run` and `make test`; both install what they lack.
#   make run   [BOARD=qemu-virt|rpi3|rpi4] [FEATURES=...]   boot in QEMU (quit: Ctrl-A X)
#   make test                                                every test on every board
#   make image BOARD=rpi3|rpi4 [FEATURES=mini-uart]          kernel8.img + config.txt
#   make gdb   [BOARD=...]                                   QEMU halted + gdb-multiarch

BOARD ?= qemu-virt
FEATURES ?=
export PATH := $(HOME)/.cargo/bin:$(PATH)

RUNNER = cargo run --quiet --release -p muon-runner --
BOARD_ARGS = --board $(BOARD) $(if $(FEATURES),--features $(FEATURES))

.PHONY: all setup toolchain run test image gdb fmt clippy

all: test

toolchain:
	@scripts/setup.sh toolchain

setup:
	@scripts/setup.sh toolchain qemu

run: setup
	$(RUNNER) run $(BOARD_ARGS)

test: setup
	$(RUNNER) test

image: toolchain
	$(RUNNER) image $(BOARD_ARGS)

gdb: setup
	@scripts/setup.sh gdb
	$(RUNNER) gdb $(BOARD_ARGS)

fmt: toolchain
	cargo fmt --all

clippy: toolchain
	cargo clippy --workspace --exclude muon-board-qemu-virt --exclude muon-board-rpi3 --exclude muon-board-rpi4
