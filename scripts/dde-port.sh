#!/bin/sh
# All DDE build steps for one port: fetch the donor files, compile them,
# generate the stubs. Extra arguments are DDE objects/archives for the
# stub step.
#
#   scripts/dde-port.sh e1000
set -eu
cd "$(dirname "$0")/.."
port=${1:?usage: scripts/dde-port.sh PORT [DDE_OBJECT_OR_ARCHIVE...]}
scripts/donor-fetch.sh "$port"
scripts/dde-compile.sh "$port"
scripts/dde-stubs.sh "$@"
