# ARM64 (aarch64, QEMU user-mode) image and test run. Included from the top Makefile:
#     include .ci/arm64/arm64.mk
# Relies on VENV/BIN and the `install` target of the top Makefile (defaults below for standalone use).
# Needs root (debootstrap, chroot, mount); see .ci/arm64/README.md.

VENV ?= .venv
BIN ?= $(VENV)/bin
ARM64_CI := .ci/arm64

.PHONY: arm64-image test-arm64 test-arm64-native

## Debian bookworm arm64 rootfs + /opt/venv, cached in ~/.cache/awaitify/arm64/<hash>/ ("cache hit" on reuse)
arm64-image:
	bash $(ARM64_CI)/build-image.sh >/dev/null

## Migrate a copy of target_backend/, run tests/backend (+ tests/arm64 smoke) with pytest -n auto on aarch64
test-arm64: install arm64-image
	BIN=$(BIN) bash $(ARM64_CI)/test-arm64.sh

## The same tests on the host, for the emulated/native time ratio
test-arm64-native: install
	BIN=$(BIN) bash $(ARM64_CI)/test-arm64.sh --native
