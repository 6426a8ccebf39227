#!/bin/bash
# The demo: the whole system in the lab, unattended.
#
# dse-lab builds an emulated data centre (host 1 with two DPUs, host 2 with
# one, two VMs each), dse-hostd on each host discovers its DPUs over mutual
# TLS; a host profile applied with 'dsectl config apply' creates on each host a
# switch with a tunnel endpoint (TEP), a VLAN segment 'web' with a
# default-deny firewall that allows ICMP and TCP 5201, and an overlay segment
# 'app' (Geneve, VNI 5001) whose peer is the other host's TEP.  Then VMs talk
# across hosts (ping, iperf3) through the DPUs' datapaths and the fabric, on
# both segments; the firewall stops another port; and the demo shows the
# inventory, the firewall's rules and connections, the counters, and the CPU
# the hosts spent against the DPUs.  The lab is torn down at the end, also
# when something fails.  Addresses: 198.18.0.0/15 (VMs 198.18.H.V, TEPs
# 198.19.H.1) and 169.254.0.0/16 only, inside the lab's namespaces.
set -u
BUILD=${1:-build}
LAB="$BUILD/src/lab/dse-lab"
DSECTL="$BUILD/src/ctl/dsectl"
RPC=./scripts/dse_rpc.py
TMP=$(mktemp -d /tmp/dse-demo.XXXXXX)
STATE="$TMP/lab"
FAILS=0 CHECKS=0
T0=$(date +%s)

SERVERS=()
cleanup() {
	for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null; done
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
# Starts an iperf3 server in VM $1 on address $2, port $3, and waits until it listens.
serve() {
	vm "$1" iperf3 -s -1 -B "$2" -p "$3" >/dev/null 2>&1 &
	SERVERS+=($!)
	for _ in $(seq 50); do vm "$1" ss -Hltn 2>/dev/null | grep -q ":$3 " && return; sleep 0.1; done
}
# Prints how a TCP connection from VM $1 to $2 port $3 ends: connected, refused or timed out.
tcp_probe() {
	vm "$1" /usr/bin/python3 -c "import socket; s = socket.socket(); s.settimeout(1.5)
try:
    s.connect(('$2', $3)); print('connected')
except socket.timeout:
    print('timed out')
except OSError as e:
    print('refused' if e.errno == 111 else e.strerror)"
}
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

# One profile per host: a switch on DPU 1 with its two uplinks and a TEP
# (198.19.H.1, on the first uplink), a segment per VM: web on VLAN 100 with a
# firewall, app an overlay segment whose peer is the other host's TEP.
for h in 1 2; do
	cat >"$TMP/h$h.yaml" <<YAML
switches:
  - {name: sw1, mode: single, dpus: [h$h-d1], uplinks: [vmnic0, vmnic1],
     tep: {ip: 198.19.$h.1}}
segments:
  - {name: web, switch: sw1, vlan: 100}
  - {name: app, switch: sw1, vni: 5001, peers: [198.19.$((3 - h)).1]}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:0$h:01", segment: web, vm: vm1}
  - {name: vm2-eth0, mac: "02:00:00:00:0$h:02", segment: app, vm: vm2}
firewall:
  policies:
    - {segment: web, default: deny}
  rules:
    - {id: 10, segment: web, proto: icmp, action: allow}
    - {id: 20, segment: web, proto: tcp, dport: 5201, action: allow}
YAML
done
say "dsectl config apply -f (host 1's profile; host 2's has its own TEP and peer)"
sed 's/^/  /' "$TMP/h1.yaml"
# --wait: dsectl returns once every DPU of the host holds the profile.
for h in 1 2; do
	ctl h$h config apply --prune --wait -f "$TMP/h$h.yaml" | sed "s/^/  h$h: /"
done
check "applying the same profile again changes nothing" \
	sh -c "'$DSECTL' -s '$STATE/h1/hostd.sock' -j config apply --prune -f '$TMP/h1.yaml' | jq -e '.changes | length == 0'"
n=0
for h in 1 2; do
	ctl h$h -j dpu list | jq -e '[.[] | select(.name | endswith("-d1")) | .config == "in-sync"] | all' >/dev/null && n=$((n + 1))
done
check "both hosts pushed the profile to their DPUs (config in-sync)" [ "$n" -eq 2 ]

say "web (VLAN 100, firewall: deny but ICMP and TCP 5201): h1-vm1 -> h2-vm1"
vm h1-vm1 ping -c 3 -i 0.2 -W 2 198.18.2.1 | sed 's/^/  /'
check "web: h1-vm1 pings h2-vm1 (rule 10 allows ICMP)" vm h1-vm1 ping -c 3 -i 0.2 -W 2 -q 198.18.2.1
serve h2-vm1 198.18.2.1 7000
PROBE=$(tcp_probe h1-vm1 198.18.2.1 7000)
echo "  TCP to 198.18.2.1:7000, where a server listens: ${PROBE:-?}"
check "web: the firewall stops TCP to port 7000 (default deny)" \
	sh -c "[ '$PROBE' = 'timed out' ] || [ '$PROBE' = refused ]"

say "app (overlay VNI 5001, Geneve between TEPs 198.19.1.1 and 198.19.2.1): h1-vm2 -> h2-vm2"
# Geneve adds 50 bytes: on a 1500-byte fabric the overlay's VMs take MTU 1450.
vm h1-vm2 ip link set eth0 mtu 1450 && vm h2-vm2 ip link set eth0 mtu 1450
for _ in $(seq 50); do
	dpu h1-d1 tep.show | jq -e '[.peers[].mac] | all' >/dev/null &&
		dpu h2-d1 tep.show | jq -e '[.peers[].mac] | all' >/dev/null && break
	sleep 0.1
done
vm h1-vm2 ping -c 3 -i 0.2 -W 2 198.18.2.2 | sed 's/^/  /'
check "app: h1-vm2 pings h2-vm2 over the overlay" vm h1-vm2 ping -c 3 -i 0.2 -W 2 -q 198.18.2.2
serve h2-vm2 198.18.2.2 5201
vm h1-vm2 iperf3 -c 198.18.2.2 -t 2 -J >"$TMP/iperf-app.json" 2>&1
GBPS=$(jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$TMP/iperf-app.json" 2>/dev/null)
echo "  iperf3 TCP h1-vm2 -> h2-vm2 for 2 s: ${GBPS:-?} Gbit/s"
check "app: iperf3 moved data over the overlay" \
	sh -c "[ \"\$(jq -r '.end.sum_received.bytes' '$TMP/iperf-app.json')\" -gt 0 ]"
for d in h1-d1 h2-d1; do
	dpu "$d" tep.show | jq -r --arg d "$d" '"  \($d): TEP \(.ip) on \(.uplink), peer \([.peers[] | "\(.ip) at \(.mac)"] | join(", "))"'
done

say "Isolation"
check "isolation: h1-vm1 (web) cannot reach h2-vm2 (app)" \
	sh -c "! '$LAB' exec --state '$STATE' h1-vm1 -- ping -c 2 -i 0.2 -W 1 -q 198.18.2.2"
check "isolation: a VM cannot reach the internal network (169.254.1.6, its DPU)" \
	sh -c "'$LAB' exec --state '$STATE' h1-vm1 -- ip addr add 169.254.1.99/16 dev eth0 &&
	       ! '$LAB' exec --state '$STATE' h1-vm1 -- ping -c 2 -i 0.2 -W 1 -q 169.254.1.6"

say "iperf3 TCP h1-vm1 -> h2-vm1 for 5 s (web: rule 20 allows TCP 5201)"
serve h2-vm1 198.18.2.1 5201
HOST_PIDS=("$STATE"/h1/run/*.pid "$STATE"/h2/run/*.pid)
DPU_PIDS=("$STATE"/h1-d*/run/*.pid "$STATE"/h2-d*/run/*.pid)
h0=$(cpu_of "${HOST_PIDS[@]}") d0=$(cpu_of "${DPU_PIDS[@]}")
vm h1-vm1 iperf3 -c 198.18.2.1 -t 5 -J >"$TMP/iperf.json" 2>&1
h1=$(cpu_of "${HOST_PIDS[@]}") d1=$(cpu_of "${DPU_PIDS[@]}")
GBPS=$(jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$TMP/iperf.json" 2>/dev/null)
echo "  received: ${GBPS:-?} Gbit/s"
check "web: iperf3 moved data across hosts through the firewall" \
	sh -c "[ \"\$(jq -r '.end.sum_received.bytes' '$TMP/iperf.json')\" -gt 0 ]"

say "dsectl fw rule list (host 1)"
ctl h1 fw rule list | sed 's/^/  /'
check "the firewall counted hits on both allow rules" \
	sh -c "'$DSECTL' -s '$STATE/h1/hostd.sock' -j fw rule list | jq -e '[.rules[] | .hits > 0] | all and length == 2'"
say "dsectl fw conn list (host 1)"
ctl h1 fw conn list | sed 's/^/  /'
check "the iperf3 connection is tracked" \
	sh -c "'$DSECTL' -s '$STATE/h1/hostd.sock' -j fw conn list --port 5201 | jq -e '.total > 0'"

say "dsectl port list, tep list and drop list (host 1): what its DPUs hold and counted"
ctl h1 port list | sed 's/^/  /'
ctl h1 tep list | sed 's/^/  /'
ctl h1 drop list | sed 's/^/  /'
check "host 1's VM ports are up on its DPU" \
	sh -c "'$DSECTL' -s '$STATE/h1/hostd.sock' -j port list | jq -e '[.[] | .state == \"up\"] | all'"
for d in h1-d1 h2-d1; do
	dpu "$d" stats.show | jq -r --arg d "$d" '"  \($d) flow cache hits \(.flow_cache.hits), misses \(.flow_cache.misses)"'
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

say "Failover: host 1's switch on both its DPUs (active-standby), then h1-d1 crashes"
# The same profile with the pair: h1-d1 active (vmnic0/1), h1-d2 standby (vmnic2/3).
sed 's/mode: single, dpus: \[h1-d1\], uplinks: \[vmnic0, vmnic1\]/mode: active-standby, dpus: [h1-d1, h1-d2], uplinks: [vmnic0, vmnic1, vmnic2, vmnic3]/' \
	"$TMP/h1.yaml" >"$TMP/h1-pair.yaml"
ctl h1 config apply --prune --wait -f "$TMP/h1-pair.yaml" | sed 's/^/  /'
ctl h1 ha status | sed 's/^/  /'
# A ping every 10 ms from h1-vm1 to h2-vm1 (web, VLAN 100, across the fabric)
# while dse-dpud of the active DPU is killed.
vm h1-vm1 ping -n -q -i 0.01 -c 400 -W 1 198.18.2.1 >"$TMP/ping-failover.txt" 2>&1 &
PING=$!
sleep 1
"$LAB" fault --state "$STATE" h1-d1 kill | sed 's/^/  /'
wait "$PING"
LOST=$(awk '/packets transmitted/ {print $1 - $4}' "$TMP/ping-failover.txt")
echo "  ping every 10 ms: ${LOST:-?} of 400 lost (about $(( ${LOST:-0} * 10 )) ms without traffic)"
ctl h1 ha events | sed 's/^/  /'
check "failover: h1-d2 took over from the crashed h1-d1" \
	sh -c "'$DSECTL' -s '$STATE/h1/hostd.sock' -j ha status | jq -e '.[0].active == \"h1-d2\" and .[0].last.kind == \"crash\"'"
check "failover: the ping went on (under 1 s of it lost)" sh -c "[ '${LOST:-400}' -lt 100 ]"
"$LAB" fault --state "$STATE" h1-d1 restart >/dev/null 2>&1
for _ in $(seq 100); do
	ctl h1 -j ha status | jq -e '.[0].ready' >/dev/null 2>&1 && break
	sleep 0.1
done
check "failover: the restarted h1-d1 rejoined as a ready standby" \
	sh -c "'$DSECTL' -s '$STATE/h1/hostd.sock' -j ha status | jq -e '.[0].standby == \"h1-d1\" and .[0].ready'"

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
