# GrailOS. Two entry points for a fresh Debian 12 machine: `make demo` and
# `make test`. Build products go to build/ (git-ignored).

GO      ?= go
BIN     := build/bin
# Every binary: the grail command and the task binaries it starts.
CMDS    := ./cmd/grail ./servers/init ./servers/echo ./servers/pinger ./servers/probe ./servers/nicprobe ./servers/net ./servers/net/nettest \
           ./personalities/native/programs/fetch ./personalities/native/programs/httpd \
           ./bench/ipc/ipcbench ./bench/nic/nicbench ./bench/net/netbench ./arch/machine/cmd/machine
export CGO_ENABLED := 0

.PHONY: all build deps demo test test-short bench fuzz vet clean

all: build

# deps installs what the build needs on Debian 12 when it is missing: the Go
# toolchain is expected (go.mod names the version), modules come from the
# Go module proxy.
deps:
	@command -v $(GO) >/dev/null || { echo "Go is required (https://go.dev/dl, version in go.mod)"; exit 1; }
	@$(GO) mod download
	@scripts/debian-deps.sh

build: deps
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ $(CMDS)
	GO=$(GO) scripts/build-nic.sh e1000
	GO=$(GO) scripts/build-nic.sh rtl8139

# The main job: boot the default system, crash a server, watch it return.
demo: build
	$(BIN)/grail demo --bin $(BIN)

test: build
	$(GO) vet ./...
	GRAIL_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 15m ./...
	GO=$(GO) scripts/test-dde.sh

bench: build
	$(BIN)/grail bench ipc --bin $(BIN)

# A short run of every fuzz target.
fuzz:
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime 30s ./kernel/abi/
	$(GO) test -run XXX -fuzz FuzzPayloads -fuzztime 30s ./kernel/abi/
	$(GO) test -run XXX -fuzz FuzzQueuePop -fuzztime 30s ./kernel/ring/
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./servers/init/sysfile/
	$(GO) test -run XXX -fuzz FuzzServerPending -fuzztime 30s ./servers/nic/session/
	$(GO) test -run XXX -fuzz '^FuzzDecodeHeader$$' -fuzztime 30s ./servers/net/socket/
	$(GO) test -run XXX -fuzz '^FuzzDecodeAddr$$' -fuzztime 30s ./servers/net/socket/
	$(GO) test -run XXX -fuzz '^FuzzDecodeSocketArg$$' -fuzztime 30s ./servers/net/socket/
	$(GO) test -run XXX -fuzz FuzzRequest -fuzztime 30s ./servers/net/netserver/
	$(GO) test -run XXX -fuzz FuzzParseNote -fuzztime 30s ./dde/linux/fault/

clean:
	rm -rf build
