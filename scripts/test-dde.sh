#!/bin/sh
# Vets and tests the cgo packages that link donor code (build tag dde):
# the DDE runtime and the NIC ports, after scripts/build-nic.sh built them.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
id=$(build/bin/ddebuild provenance build/dde/e1000/libe1000.a)
flags="-tags dde,netgo,osusergo"
CGO_ENABLED=1 $GO vet $flags ./dde/linux/ ./servers/nic/e1000/
CGO_ENABLED=1 $GO test -count=1 $flags -ldflags "-X grailos/dde/linux.BuildID=$id" ./dde/linux/ ./servers/nic/e1000/
