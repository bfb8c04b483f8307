#!/bin/sh
# Compile the donor files of one port with the DDE's user-space flags:
# derives build/dde/cflags.txt from Kbuild of the installed headers (only
# when the headers changed), then compiles each donor .c into
# build/dde/PORT/*.o (each with a .json provenance record) and archives
# them as build/dde/PORT/libPORT.a. Run scripts/donor-fetch.sh PORT first.
#
#   scripts/dde-compile.sh e1000
set -eu
cd "$(dirname "$0")/.."
port=${1:?usage: scripts/dde-compile.sh PORT}
. scripts/ddebuild.sh
$DDEBUILD cflags
$DDEBUILD compile "donors/linux/$port.toml"
