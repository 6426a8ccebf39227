#!/bin/bash
# The demo: the whole system in the lab, unattended.
#
# dse-lab builds an emulated data centre (host 1 with two DPUs, host 2 with
# one, two VMs each), dse-hostd on each host discovers its DPUs over mutual
# TLS; a host profile applied with 'dsectl apply' creates a switch with two
# segments on each host; then VMs talk across hosts (ping, iperf3) through
# the DPUs' datapaths and the fabric, and the demo shows the inventory, the
# counters, and the CPU the hosts spent against the DPUs.  The lab is torn
# down at the end, also when something fails.  Addresses: 198.18.0.0/15 and
# 169.254.0.0/16 only, inside the lab's namespaces.
set -u
BUILD=${1:-build}
LAB="$BUILD/src/lab/dse-lab"
DSECTL="$BUILD/src/ctl/dsectl"
RPC=./scripts/dse_rpc.py
TMP=$(mktemp -d /tmp/dse-demo.XXXXXX)
STATE="$TMP/lab"
FAILS=0 CHECKS=0
T0=$(date +%s)

cleanup() {
	"$LAB" down --state "$STATE" --purge >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
check() { # check NAME COMMAND...: runs COMMAND, counts and prints the result
	local name=$1; shift
	CHECKS=$((CHECKS + 1))
	if "$@" >/dev/null 2>&1; then echo "  [ok]   $name"; else echo "  [FAIL] $name"; FAILS=$((FAILS + 1)); fi
}
ctl() { local h=$1; shift; "$DSECTL" -s "$STATE/$h/hostd.sock" "$@"; }
vm() { local m=$1; shift; "$LAB" exec --state "$STATE" "$m" -- "$@"; }
dpu() { local d=$1; shift; "$RPC" "$STATE/$d/run/dpud.sock" "$@"; }
# CPU seconds (user + system) of the processes whose pid files are given.
cpu_of() {
	local hz t=0 pid
	hz=$(getconf CLK_TCK)
	for f in "$@"; do
		pid=$(cat "$f" 2>/dev/null) || continue
		[ -r "/proc/$pid/stat" ] || continue
		t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
	done
	echo "$t $hz" | awk '{printf "%.2f", $1 / $2}'
}

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces)"; exit 1; }
for b in "$LAB" "$DSECTL" "$BUILD/dse-dpud" "$BUILD/src/hostd/dse-hostd"; do
	[ -x "$b" ] || { echo "no $b: run make first"; exit 1; }
done

cat >"$TMP/topology.json" <<'JSON'
{"hosts": [
  {"dpus": [{"vendor": "NVIDIA", "model": "BlueField-2", "hw_version": "B0", "fw_version": "24.35.1012", "serial": "MT2231X00001", "pci": "0000:3b:00.0"},
            {"vendor": "NVIDIA", "model": "BlueField-2", "hw_version": "B0", "fw_version": "24.35.1012", "serial": "MT2231X00002", "pci": "0000:af:00.0"}],
   "vms": 2},
  {"dpus": [{"vendor": "NVIDIA", "model": "BlueField-2", "hw_version": "B0", "fw_version": "24.35.1012", "serial": "MT2231X00003", "pci": "0000:3b:00.0"}],
   "vms": 2}
]}
JSON

say "dse-lab up: 2 hosts (host 1 with two DPUs, host 2 with one), 2 VMs each"
"$LAB" up --state "$STATE" --topology "$TMP/topology.json" 2>&1 | tail -3 | sed 's/^/  /'
check "lab up: every host reports its DPUs connected" "$LAB" status --state "$STATE"

say "dsectl dpu list (host 1)"
ctl h1 dpu list | sed 's/^/  /'

# One profile per host: a switch on DPU 1 with its two uplinks, a segment
# per VM.  'app' stands for the overlay segment until Geneve lands: it is
# VLAN-backed for now.
for h in 1 2; do
	cat >"$TMP/h$h.yaml" <<YAML
switches:
  - {name: sw1, mode: single, dpus: [h$h-d1], uplinks: [vmnic0, vmnic1]}
segments:
  - {name: web, switch: sw1, vlan: 100}
  - {name: app, switch: sw1, vlan: 200}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:0$h:01", segment: web, vm: vm1}
  - {name: vm2-eth0, mac: "02:00:00:00:0$h:02", segment: app, vm: vm2}
YAML
done
say "dsectl apply -f (the host profile: switch sw1, segments web and app)"
sed 's/^/  /' "$TMP/h1.yaml"
for h in 1 2; do
	ctl h$h apply -f "$TMP/h$h.yaml" | sed "s/^/  h$h: /"
done
check "applying the same profile again changes nothing" \
	sh -c "'$DSECTL' -s '$STATE/h1/hostd.sock' -j apply -f '$TMP/h1.yaml' | jq -e '.changes | length == 0'"
for _ in $(seq 100); do
	n=0
	for h in 1 2; do
		ctl h$h -j dpu list | jq -e '[.[] | select(.name | endswith("-d1")) | .config == "in-sync"] | all' >/dev/null && n=$((n + 1))
	done
	[ "$n" -eq 2 ] && break
	sleep 0.1
done
check "both hosts pushed the profile to their DPUs (config in-sync)" [ "$n" -eq 2 ]

say "ping across hosts: h1-vm1 -> h2-vm1 (segment web)"
vm h1-vm1 ping -c 3 -i 0.2 -W 2 198.18.2.1 | sed 's/^/  /'
check "web: h1-vm1 reaches h2-vm1" vm h1-vm1 ping -c 3 -i 0.2 -W 2 -q 198.18.2.1
check "app: h1-vm2 reaches h2-vm2" vm h1-vm2 ping -c 3 -i 0.2 -W 2 -q 198.18.2.2
check "isolation: h1-vm1 (web) cannot reach h2-vm2 (app)" \
	sh -c "! '$LAB' exec --state '$STATE' h1-vm1 -- ping -c 2 -i 0.2 -W 1 -q 198.18.2.2"
check "isolation: a VM cannot reach the internal network (169.254.1.6, its DPU)" \
	sh -c "'$LAB' exec --state '$STATE' h1-vm1 -- ip addr add 169.254.1.99/16 dev eth0 &&
	       ! '$LAB' exec --state '$STATE' h1-vm1 -- ping -c 2 -i 0.2 -W 1 -q 169.254.1.6"

say "iperf3 TCP h1-vm1 -> h2-vm1 for 5 s"
vm h2-vm1 iperf3 -s -1 -B 198.18.2.1 >/dev/null 2>&1 &
for _ in $(seq 50); do vm h2-vm1 ss -ltn 2>/dev/null | grep -q 5201 && break; sleep 0.1; done
HOST_PIDS=("$STATE"/h1/run/*.pid "$STATE"/h2/run/*.pid)
DPU_PIDS=("$STATE"/h1-d*/run/*.pid "$STATE"/h2-d*/run/*.pid)
h0=$(cpu_of "${HOST_PIDS[@]}") d0=$(cpu_of "${DPU_PIDS[@]}")
vm h1-vm1 iperf3 -c 198.18.2.1 -t 5 -J >"$TMP/iperf.json" 2>&1
h1=$(cpu_of "${HOST_PIDS[@]}") d1=$(cpu_of "${DPU_PIDS[@]}")
GBPS=$(jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$TMP/iperf.json" 2>/dev/null)
echo "  received: ${GBPS:-?} Gbit/s"
check "iperf3 moved data across hosts" \
	sh -c "[ \"\$(jq -r '.end.sum_received.bytes' '$TMP/iperf.json')\" -gt 0 ]"

say "Per-port counters on the DPUs that carried it"
for d in h1-d1 h2-d1; do
	dpu "$d" port.list | jq -r --arg d "$d" '.[] | "  \($d) \(.name): rx \(.stats.rx_packets) tx \(.stats.tx_packets) pkts"'
	dpu "$d" stats.get | jq -r --arg d "$d" '"  \($d) drops: \(.drops_total), flow cache hits \(.flow_cache.hits), misses \(.flow_cache.misses)"'
done

say "CPU during the iperf3 stream: host side vs DPUs (the point of offload)"
echo "$h0 $h1 $d0 $d1" | awk '{printf "  host daemons (dse-hostd, both hosts): %.2f s\n  DPU datapaths (dse-dpud, all DPUs):   %.2f s\n", $2 - $1, $4 - $3}'
echo "  The switching, the segments and the counters ran on the DPUs; the hosts"
echo "  only kept the desired state and watched their DPUs."

say "CPU of the idle datapaths over 2 s (adaptive idle sleep)"
i0=$(cpu_of "${DPU_PIDS[@]}")
sleep 2
i1=$(cpu_of "${DPU_PIDS[@]}")
IDLE=$(echo "$i0 $i1 ${#DPU_PIDS[@]}" | awk '{printf "%.1f", ($2 - $1) / 2 / $3 * 100}')
echo "  ${IDLE}% of a core per DPU"
check "an idle datapath uses under 5% of a core" awk "BEGIN {exit !($IDLE < 5)}"

say "dse-lab down"
"$LAB" down --state "$STATE" --purge >/dev/null 2>&1
check "lab down removed every namespace" sh -c "! ip netns list | grep -qE '^dse-(fabric|h[0-9])'"

say "Summary ($(( $(date +%s) - T0 )) s)"
if [ "$FAILS" -eq 0 ]; then
	echo "  PASS: $CHECKS of $CHECKS checks"
else
	echo "  FAIL: $FAILS of $CHECKS checks failed"
fi
[ "$FAILS" -eq 0 ]
