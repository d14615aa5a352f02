# berth — build, test, lint and benchmark.
#
#   make run     build berth and run bundles/hello (prints a greeting)
#   make test    lint, then unit + integration tests (as root)
#   make bench   berth vs crun vs runc (bench/bench.sh), writes bench/RESULTS.md;
#                make bench BENCH_QUICK=1 checks the script in a few minutes; then
#                containerd-shim-berth-v2 vs containerd-shim-runc-v2 (bench/shim.sh: memory
#                per container, ctr run latency)
#   make fuzz    the property tests of the parsers with many cases (FUZZ_CASES)
#   make conformance
#                runtime-tools' validation suite and runc 1.1.5's bats suite against
#                berth, compared with conformance/expected.txt (RUNTIME=runc to compare;
#                archives from CONFORMANCE_SRC; about 6 minutes once built)
#   make critest cri-tools' critest (Kubernetes' CRI validation) through containerd 1.6's CRI
#                plugin, with runc and with berth as the runtime binary, in private namespaces
#                (conformance/critest.sh; about 5 minutes, 3 more the first time to build it)
#   make stress  N containers (default 50) at once through their whole lifecycle, M
#                rounds (default 3), then a check that nothing was left behind
#
# `deps` installs what is missing with apt-get (Debian); it is a no-op when
# everything is already installed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO  ?= cargo
# The berth that `make build` makes and everything here runs: a static-pie executable, glibc
# and libseccomp linked in (libc6-dev's libc.a, libseccomp-dev's libseccomp.a). No dynamic
# loader, no shared libraries to map and relocate at each of the many short runs an engine
# makes, and a cheap re-exec for the binary's protection. A static build needs an explicit
# --target (so that proc-macros still build for the host), hence its own directory.
# pack-relative-relocs turns ~10,000 relocations into a 1 KB table; no unwind tables for
# berth's own code, since it aborts on panic (std's and glibc's come prebuilt with them:
# build.rs has the linker drop those from this build, crt-static and release).
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
# Panic locations name the crates.io sources by their full path in cargo's registry
# (~50 bytes of prefix each): relative to it, they say as much in 2.5 KB less. Computed
# when a recipe runs, after `cargo fetch` has filled the registry.
REMAP := $$(for d in $${CARGO_HOME:-$$HOME/.cargo}/registry/src/*/; do printf -- ' --remap-path-prefix=%s=' "$$d"; done)
STATIC_ENV := RUSTFLAGS="-C target-feature=+crt-static -C force-unwind-tables=no -C link-arg=-Wl,-z,pack-relative-relocs $(REMAP)" \
              LIBSECCOMP_LINK_TYPE=static \
              LIBSECCOMP_LIB_PATH=$$(pkg-config --variable=libdir libseccomp)
BERTH_RELEASE := $(CURDIR)/target/$(HOST_TRIPLE)/release/berth
ROOTFS := $(CURDIR)/bundles/rootfs

# Debian packages the build, the tests, the benchmark and `make conformance` need. podman, conmon,
# containerd and docker.io are the real engines integration/engines/ drives berth
# with (their daemons are started by the tests themselves, never as services).
DEB_PACKAGES := busybox-static runc crun hyperfine jq libseccomp-dev pkg-config \
                uidmap bats time file podman conmon containerd docker.io \
                gawk gcc libc6-dev debootstrap python3-venv containernetworking-plugins \
                iptables iproute2 gnuplot-nox strace

# The conformance suites' source archives (see NOTES.md there).
CONFORMANCE_SRC ?= $(CURDIR)/../shared/conformance

# Extra arguments for `cargo test`, e.g. make test TEST_ARGS='-- --nocapture'.
TEST_ARGS ?=

# Cases per property for `make fuzz` (`make test` runs each with a few dozen).
FUZZ_CASES ?= 20000

export BERTH_BIN    := $(BERTH_RELEASE)
export BERTH_ROOTFS := $(ROOTFS)

.PHONY: all deps build rootfs run test lint bench fuzz conformance critest stress clean

all: build

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' \
	        || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing:$$missing"; \
	    apt-get update -q; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "deps: cargo not found (install Rust)" >&2; exit 1; }

build:
	$(CARGO) fetch -q
	$(STATIC_ENV) $(CARGO) build --release --target $(HOST_TRIPLE) --workspace --bins

rootfs:
	bash bundles/mkrootfs.sh $(ROOTFS)

run: deps build rootfs
	$(BERTH_RELEASE) --root /run/berth run --bundle bundles/hello hello-$$$$

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	python3 tools/structure.py src
	python3 tools/structure.py shim/src
	python3 tools/modcycles.py > /dev/null || { python3 tools/modcycles.py | grep -B3 CYCLE; exit 1; }

# The integration tests run $(BERTH_BIN), the static build, and containerd-shim-berth-v2
# (shim/) built beside it, which the engine tests run through containerd as the runtime
# io.containerd.berth.v2; --workspace: the shim's unit tests too.
test: deps rootfs lint build
	$(CARGO) test --release --workspace $(TEST_ARGS)
	bash integration/cgroup-leaks.sh

# The `proptests` modules (src/**/proptests.rs): random and structured inputs for the
# pure parsers. A debug build, so integer overflow panics too; no root needed.
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --lib proptests -- --test-threads=2

# BENCH_QUICK=1: few runs, results in /tmp/berth-bench-quick (bench/RESULTS.md untouched).
BENCH_QUICK ?= 0

bench: deps build rootfs
	BERTH=$(BERTH_RELEASE) BENCH_QUICK=$(BENCH_QUICK) bash bench/bench.sh
	SHIM=$(dir $(BERTH_RELEASE))containerd-shim-berth-v2 bash bench/shim.sh

conformance: build rootfs
	CONFORMANCE_SRC=$(CONFORMANCE_SRC) bash conformance/run.sh

critest: build rootfs
	CONFORMANCE_SRC=$(CONFORMANCE_SRC) bash conformance/critest.sh

stress: deps build rootfs
	bash integration/stress.sh

clean:
	$(CARGO) clean
	rm -rf $(ROOTFS)
