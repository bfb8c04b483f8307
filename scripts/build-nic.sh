#!/bin/sh
# Builds a NIC driver server from its donor: fetch the donor files from
# Debian's linux-source package (installed when missing), compile them
# unmodified in DDE form, build the DDE runtime, generate stubs for whatever
# the runtime lacks, record provenance, and link the server statically.
# Usage: scripts/build-nic.sh PORT  (e.g. e1000) -> build/bin/nic-PORT
set -eu
port=${1:?usage: scripts/build-nic.sh PORT}
cd "$(dirname "$0")/.."
GO=${GO:-go}
CGO_ENABLED=0 $GO build -trimpath -o build/bin/ddebuild ./dde/linux/recipe/cmd/ddebuild
scripts/donor-fetch.sh "$port"
scripts/dde-compile.sh "$port"
build/bin/ddebuild runtime
scripts/dde-stubs.sh "$port" build/dde/libdde.a "$(gcc -print-file-name=libc.a)"
id=$(build/bin/ddebuild provenance "build/dde/$port/lib$port.a")
CGO_ENABLED=1 $GO build -trimpath -tags dde,netgo,osusergo -ldflags "-X grailos/dde/linux.BuildID=$id" \
	-o "build/bin/nic-$port" "./servers/nic/$port"
echo "built build/bin/nic-$port (build $id)"
