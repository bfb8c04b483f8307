#!/bin/sh
# Vets and tests the cgo packages that link donor code (build tag dde):
# the DDE runtime, the shared driver-server main and the NIC ports, after
# scripts/build-nic.sh built them. Each port links its own provenance, so
# each is tested with its own build ID. The e1000 tests read their own
# symbol table (fault injection places faults in donor functions by
# symbol) and their debug info (data faults find structures in DWARF),
# hence -s=false -w=false: go test strips both otherwise.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
flags="-tags dde,netgo,osusergo"
CGO_ENABLED=1 $GO vet $flags ./dde/linux/ ./servers/nic/ddenic/ ./servers/nic/e1000/ ./servers/nic/rtl8139/
id=$(build/bin/ddebuild provenance build/dde/e1000/libe1000.a)
CGO_ENABLED=1 $GO test -count=1 $flags -ldflags "-X grailos/dde/linux.BuildID=$id -s=false -w=false" ./dde/linux/ ./servers/nic/e1000/
id=$(build/bin/ddebuild provenance build/dde/rtl8139/librtl8139.a)
CGO_ENABLED=1 $GO test -count=1 $flags -ldflags "-X grailos/dde/linux.BuildID=$id" ./servers/nic/rtl8139/
