#!/bin/bash
# The demo: dse-dpud switching real traffic between two VMs.
#
# Builds three network namespaces — a DPU running dse-dpud and two VMs whose
# eth0 is a veth pair into the DPU — configures a segment over JSON-RPC,
# then shows ping, an iperf3 TCP stream, the port and drop counters, and how
# much CPU the idle datapath uses.  Everything it makes is removed at the
# end, also when it fails.  Addresses are from 198.18.0.0/15 only.
set -u
BUILD=${1:-build}
DPUD="$BUILD/dse-dpud"
RPC="./scripts/dse_rpc.py"
P="dse-demo$$"
DPU="$P-dpu" VM1="$P-vm1" VM2="$P-vm2"
TMP=$(mktemp -d /tmp/dse-demo.XXXXXX)
SOCK="$TMP/dpud.sock"
DPUD_PID=
FAILS=0 CHECKS=0

cleanup() {
	if [ -n "$DPUD_PID" ]; then
		kill "$DPUD_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$DPUD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$DPUD_PID" 2>/dev/null
	fi
	for ns in "$VM1" "$VM2" "$DPU"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$TMP" "/var/run/dpdk/$P"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
check() { # check NAME CONDITION-COMMAND...
	local name=$1; shift
	CHECKS=$((CHECKS + 1))
	if "$@"; then echo "  [ok]   $name"; else echo "  [FAIL] $name"; FAILS=$((FAILS + 1)); fi
}
rpc() { ip netns exec "$DPU" "$RPC" "$SOCK" "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces)"; exit 1; }
[ -x "$DPUD" ] || { echo "no $DPUD: run make first"; exit 1; }

say "Building the lab: a DPU namespace and two VMs"
ip netns add "$DPU" && ip netns add "$VM1" && ip netns add "$VM2" || exit 1
for i in 1 2; do
	vm="$P-vm$i"
	ip link add "vm$i" netns "$DPU" type veth peer name eth0 netns "$vm" || exit 1
	ip -n "$DPU" link set "vm$i" up
	ip netns exec "$DPU" sysctl -qw "net.ipv6.conf.vm$i.disable_ipv6=1"
	ip netns exec "$vm" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$vm" link set lo up
	ip -n "$vm" link set eth0 address "02:00:00:00:00:0$i" up
	ip -n "$vm" addr add "198.18.0.$i/24" dev eth0
	# AF_PACKET would see the kernel's unfinished checksums otherwise.
	ip netns exec "$vm" ethtool -K eth0 tx off >/dev/null 2>&1
	echo "  VM$i: eth0 02:00:00:00:00:0$i 198.18.0.$i/24  <->  DPU port vm$i"
done

cat >"$TMP/config.json" <<JSON
[
 {"method": "segment.add", "params": {"name": "web", "vlan": 100}},
 {"method": "port.add", "params": {"name": "vm1", "devargs": "net_af_packet0,iface=vm1", "segment": "web"}},
 {"method": "port.add", "params": {"name": "vm2", "devargs": "net_af_packet1,iface=vm2", "segment": "web"}}
]
JSON

say "Starting dse-dpud on the DPU (--lab: no hugepages, adaptive idle sleep)"
ip netns exec "$DPU" "$DPUD" --file-prefix="$P" -- --lab --rpc "$SOCK" \
	--config "$TMP/config.json" >"$TMP/dpud.log" 2>&1 &
DPUD_PID=$!
for _ in $(seq 100); do
	rpc dp.info >/dev/null 2>&1 && break
	kill -0 "$DPUD_PID" 2>/dev/null || break
	sleep 0.1
done
if ! rpc dp.info >/dev/null 2>&1; then
	echo "dse-dpud did not start:"; cat "$TMP/dpud.log"; exit 1
fi
rpc segment.list | jq -r '.[] | "  segment \(.name) vlan \(.vlan): ports \(.ports | join(", "))"'

say "ping VM1 -> VM2"
ip netns exec "$VM1" ping -c 5 -i 0.2 -W 2 198.18.0.2 | sed 's/^/  /'
check "ping: 5 of 5 replies" \
	sh -c "ip netns exec $VM1 ping -c 5 -i 0.2 -W 2 -q 198.18.0.2 | grep -q ' 0% packet loss'"

say "iperf3 TCP VM1 -> VM2 for 5 s"
ip netns exec "$VM2" iperf3 -s -1 -B 198.18.0.2 >/dev/null 2>&1 &
for _ in $(seq 50); do ip netns exec "$VM2" ss -ltn | grep -q 5201 && break; sleep 0.1; done
ip netns exec "$VM1" iperf3 -c 198.18.0.2 -t 5 -J >"$TMP/iperf.json" 2>&1
GBPS=$(jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$TMP/iperf.json" 2>/dev/null)
echo "  received: ${GBPS:-?} Gbit/s"
check "iperf3 moved data" sh -c "[ \"\$(jq -r '.end.sum_received.bytes' $TMP/iperf.json 2>/dev/null)\" -gt 0 ]"

say "Port counters"
rpc port.list | jq -r '.[] | "  \(.name)  rx \(.stats.rx_packets) pkts  tx \(.stats.tx_packets) pkts  link \(.link)"'
say "Where packets went (graph nodes) and drops by reason"
rpc stats.get | jq -r '.nodes[] | select(.packets > 0) | "  \(.name): \(.packets) pkts, \(.cycles / .packets | floor) cycles/pkt"'
rpc stats.get | jq -r '"  flow cache: \(.flow_cache.hits) hits, \(.flow_cache.misses) misses, \(.flow_cache.entries) entries"'
rpc stats.get | jq -r '.drops | to_entries | map(select(.value > 0)) | if length == 0 then "  no drops" else .[] | "  drop \(.key): \(.value)" end'
rpc fdb.show | jq -r '.[] | "  fdb: \(.mac) on \(.port) (segment \(.segment), age \(.age) s)"'

say "CPU used by the idle datapath over 3 s"
HZ=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' "/proc/$DPUD_PID/stat")
sleep 3
t1=$(awk '{print $14 + $15}' "/proc/$DPUD_PID/stat")
PCT=$(( (t1 - t0) * 100 / HZ / 3 ))
echo "  dse-dpud: ${PCT}% of one core (all its threads)"
check "idle datapath under 5% of a core" [ "$PCT" -lt 5 ]

say "Summary"
if [ "$FAILS" -eq 0 ]; then
	echo "  PASS: $CHECKS of $CHECKS checks"
else
	echo "  FAIL: $FAILS of $CHECKS checks failed; dse-dpud log:"
	tail -20 "$TMP/dpud.log" | sed 's/^/    /'
fi
[ "$FAILS" -eq 0 ]
