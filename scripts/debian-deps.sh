#!/bin/sh
# Installs the Debian packages GrailOS's build and tests use, when missing:
# ping and ip for the peer namespace of the machine's wire, gcc, make, xz
# and binutils for the donor driver build.
set -eu
need=""
command -v ping >/dev/null 2>&1 || need="$need iputils-ping"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
command -v nm >/dev/null 2>&1 || need="$need binutils"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$need (run as root to install them)" >&2
	exit 1
fi
echo "installing Debian packages:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $need >/dev/null 2>&1 || {
	apt-get update >/dev/null
	apt-get install -y --no-install-recommends $need >/dev/null
}
