#!/bin/sh
# Generate build/dde/PORT/stubs_generated.c: one stub per symbol the
# compiled donor objects use that neither they nor the given DDE objects or
# archives define; each stops the server naming the symbol. Prints the
# report (count, class, referencing objects), compiles the file and checks
# that donor objects + stubs link with nothing else missing.
# Run scripts/dde-compile.sh PORT first.
#
#   scripts/dde-stubs.sh e1000                       # before the DDE exists
#   scripts/dde-stubs.sh e1000 build/dde/libdde.a    # less what the DDE defines
set -eu
cd "$(dirname "$0")/.."
port=${1:?usage: scripts/dde-stubs.sh PORT [DDE_OBJECT_OR_ARCHIVE...]}
shift
. scripts/ddebuild.sh
dde=
for f in "$@"; do dde="$dde -dde $f"; done
# shellcheck disable=SC2086 # $dde is a list of flags
$DDEBUILD stubs -report -port "$port" $dde \
	-regen "scripts/dde-stubs.sh $port${*:+ $*}" \
	-o "build/dde/$port/stubs_generated.c" "build/dde/$port/lib$port.a"
