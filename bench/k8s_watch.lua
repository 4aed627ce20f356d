-- SPDX-License-Identifier: Apache-2.0
-- Benchmark client: watches Pods through kip.k8s from the beginning (one ADDED event per existing
-- Pod) and stops after N events. Usage: kip lua bench/k8s_watch.lua KUBECONFIG N
local k8s = require "kip.k8s"
local c = assert(k8s.connect({ kubeconfig = arg[1] }))
local want, n = tonumber(arg[2]), 0
assert(c:watch("v1", "Pod", { all_namespaces = true, timeout = 120, on_event = function(_, obj)
  if obj.metadata then n = n + 1 end
  return n < want
end }))
print(n)
