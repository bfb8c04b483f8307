#!/bin/sh
# Installs the Debian packages GrailOS's build, demo and tests use, when
# missing: ping and ip for the peer namespace of the machine's wire; gcc,
# make, xz and binutils for the donor driver build; nginx (the demo's HTTP
# server in the peer namespace), curl and ab (apache2-utils) as real
# clients of the native personality's servers.
set -eu
need=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have ping || need="$need iputils-ping"
have ip || need="$need iproute2"
have gcc || need="$need gcc"
have xz || need="$need xz-utils"
have nm || need="$need binutils"
have nginx || need="$need nginx"
have curl || need="$need curl"
have ab || need="$need apache2-utils"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$need (run as root to install them)" >&2
	exit 1
fi
echo "installing Debian packages:$need"
export DEBIAN_FRONTEND=noninteractive
# Installing nginx must not start the distribution's nginx service: the demo
# runs its own instance in a namespace. policy-rc.d says so to invoke-rc.d
# (only if no policy is in place already).
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod +x "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get install -y --no-install-recommends $need >/dev/null 2>&1 || {
	apt-get update >/dev/null
	apt-get install -y --no-install-recommends $need >/dev/null
}
