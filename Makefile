# brig: build, fixtures, tests, demo. Every target installs what it needs, so a fresh
# machine with only the Rust toolchain can run `make test` or `make demo`.

CARGO    ?= cargo
FIXTURES := $(CURDIR)/target/fixtures
ROOTFS   := $(FIXTURES)/rootfs
BRIG     := $(CURDIR)/target/debug/brig
# Debian packages: the fixture's busybox, and runc to compare against in the tests.
PACKAGES := busybox-static pkg-config libseccomp-dev runc python3 containerd

.PHONY: all deps build fixtures test unit-test integration-test containerd-test lint demo clean

all: build

deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(CARGO) build

fixtures: deps
	rootfs-fixtures/build-rootfs.sh $(ROOTFS)

lint: deps
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

unit-test: build
	$(CARGO) test --lib --bins

integration-test: build fixtures
	BRIG_TEST_ROOTFS=$(ROOTFS) $(CARGO) test --tests

# A real containerd (Debian's) driving brig through ctr: tests/containerd/README.md.
containerd-test: build fixtures
	tests/containerd/run.sh $(BRIG) $(ROOTFS)

# Everything CI runs.
test: lint build fixtures
	BRIG_TEST_ROOTFS=$(ROOTFS) $(CARGO) test
	tests/containerd/run.sh $(BRIG) $(ROOTFS)

# Run one container from the fixture bundle: its hostname, ps showing itself as PID 1,
# and its namespaces next to the host's.
demo: build fixtures
	rootfs-fixtures/demo.sh $(BRIG) $(ROOTFS)

clean:
	$(CARGO) clean
