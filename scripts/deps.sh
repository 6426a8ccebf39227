#!/bin/sh
# Installs the Debian packages that building, testing, benchmarking and the
# demo need, when any is missing.  Idempotent and quiet when all is present.
set -eu

PKGS="build-essential meson ninja-build pkg-config clang
libdpdk-dev dpdk dpdk-dev libjansson-dev libcmocka-dev libssl-dev
libsqlite3-dev libarchive-dev libyaml-dev libpcap-dev
python3 python3-pytest python3-scapy
iproute2 ethtool iperf3 iputils-ping procps jq tshark
openvswitch-switch-dpdk"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run 'make deps' as root to install them" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# tshark asks whether non-root users may capture; the answer does not matter here.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# openvswitch-switch-dpdk starts the system OVS service on install; dse's
# benchmark runs its own private instance, so the system one is stopped.
if command -v systemctl >/dev/null 2>&1; then
	systemctl stop openvswitch-switch >/dev/null 2>&1 || true
fi
