#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make bench`: the Kubernetes client benchmark. Starts the sandbox API with 10,000 Pods, then
# times (median of 3) and measures peak memory (max RSS, GNU time) of: listing them through kip.k8s,
# `kubectl get pods -A -o json` of the same list, and streaming 10,000 watch events through
# kip.k8s. Then the SSH side of kip install (bench/install_ssh.lua, needs root: a test host in its
# own namespaces), kipperd reconciling 1,000 Apps (bench/apps_reconcile.lua), kipperd's console API
# and live logs (bench/kipperd.lua), and kipper-gateway
# against nginx, HAProxy and Caddy (bench/gateway.lua). Prints Markdown sections for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
KIP=${KIP:-build/kip}
command -v kubectl >/dev/null || { echo "bench: kubectl is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: GNU time is missing: apt-get install time" >&2; exit 1; }
work=$(mktemp -d /tmp/kip-bench.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$KIP" lua bench/make_state.lua "$work/state.json" "$N"
"$KIP" sandbox api --listen 127.0.0.1:0 --kubeconfig-out "$work/kubeconfig" --certs-dir "$work/tls" \
  --state "$work/state.json" --node-name bench-node > "$work/api.log" 2>&1 < /dev/null &
pid=$!
for _ in $(seq 100); do
  kubectl --kubeconfig "$work/kubeconfig" get --raw /readyz >/dev/null 2>&1 && break
  sleep 0.1
done

# measure NAME COMMAND...: three runs; prints "NAME median_seconds max_rss_MiB"
measure() {
  local name=$1; shift
  local times=() rss=0
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
    read -r t m < "$work/time"
    times+=("$t")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  echo "$name $median $((rss / 1024)) $(head -c 40 "$work/out" | head -1)"
}

kip_list=$(measure kip.k8s-list "$KIP" lua bench/k8s_list.lua "$work/kubeconfig")
kubectl_list=$(measure kubectl-get-json kubectl --kubeconfig "$work/kubeconfig" get pods -A -o json)
kip_watch=$(measure kip.k8s-watch "$KIP" lua bench/k8s_watch.lua "$work/kubeconfig" "$N")

read -r _ kt km kn <<< "$kip_list"
read -r _ ct cm _ <<< "$kubectl_list"
read -r _ wt wm wn <<< "$kip_watch"
[ "$kn" = "$N" ] || { echo "bench: kip listed $kn pods, not $N" >&2; exit 1; }
[ "$wn" = "$N" ] || { echo "bench: kip watched $wn events, not $N" >&2; exit 1; }
ratio_t=$(awk -v a="$kt" -v b="$ct" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
ratio_m=$(awk -v a="$km" -v b="$cm" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
cat <<EOM
## Kubernetes client: list and watch ($(date -u +%Y-%m-%d))

Command: \`make bench\` (bench/run.sh). Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(free -g | awk '/Mem:/ {print $2}') GiB,
$(uname -sr). Server: \`kip sandbox api\` on loopback with $N Pods (bench/make_state.lua), the same for every
client. Median of 3 runs; memory is the client's peak RSS (GNU time). Both clients page by 500.

| what | time (s) | peak RSS (MiB) |
|---|---|---|
| kip.k8s: list $N Pods, decoded to Lua tables | $kt | $km |
| kubectl get pods -A -o json (same list) | $ct | $cm |
| kip.k8s: stream $N watch events, decoded | $wt | $wm |

kip.k8s / kubectl: time ${ratio_t}x, memory ${ratio_m}x. The server and its pages are the same for
both; the figures are end to end, server time included. kip.k8s decodes each page into Lua tables
and keeps them; kubectl decodes them into its own objects and prints them as indented JSON.
EOM

cat <<EOM

## kip install over SSH ($(date -u +%Y-%m-%d))

Command: \`make bench\` (bench/install_ssh.lua). Machine: as above. Server: a test host (this machine's
OpenSSH sshd in its own mount/UTS/PID namespaces, spec/helpers/testhost.lua) with the stand-in k3s
installer, whose k3s is the sandbox API, so the times are kip's and SSH's, not k3s's. Connections and
sessions are counted from sshd's own log; operations are kip's count of commands and file transfers.

| what | SSH connections | SSH sessions | kip operations | time (s) | notes |
|---|---|---|---|---|---|
EOM
"$KIP" lua bench/install_ssh.lua

# kipperd: N_APPS Apps (default 1,000) reconciled to Ready by the real App policy; prints its own section
"$KIP" lua bench/apps_reconcile.lua "${N_APPS:-1000}"

# kipperd's console API: memory idle and with 100 live log WebSockets, latency of /healthz and
# /api/v1/auth/me under wrk next to kubectl (bench/kipperd.lua); prints its own section
KIP_BIN="$KIP" "$KIP" lua bench/kipperd.lua

# kipper-gateway against nginx, HAProxy and Caddy, plain and TLS, and 10,000 idle connections
# (bench/gateway.lua; needs the Debian packages nginx-light, haproxy, caddy and wrk); prints its own section
"$KIP" lua bench/gateway.lua
