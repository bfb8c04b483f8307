#!/bin/sh
# Fetch the donor files of one port: installs the Debian packages its
# manifest names when they are missing (needs root), checks that kernel
# source and headers agree, extracts the files into build/donors/ and
# verifies them. Fast and idempotent when everything is present.
#
#   scripts/donor-fetch.sh e1000          # donors/linux/e1000.toml
#   scripts/donor-fetch.sh -deep e1000    # re-read the tarball regardless
set -eu
cd "$(dirname "$0")/.."
deep=
if [ "${1:-}" = -deep ]; then deep=-deep; shift; fi
port=${1:?usage: scripts/donor-fetch.sh [-deep] PORT}
. scripts/ddebuild.sh
$DDEBUILD fetch -install $deep "donors/linux/$port.toml"
