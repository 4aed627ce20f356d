-- SPDX-License-Identifier: Apache-2.0
-- Benchmark client: lists every Pod through kip.k8s (pages of 500, decoded into Lua tables) and
-- prints how many it got. Usage: kip lua bench/k8s_list.lua KUBECONFIG
local k8s = require "kip.k8s"
local c = assert(k8s.connect({ kubeconfig = arg[1] }))
local list = assert(c:list("v1", "Pod", { all_namespaces = true, all = true }))
print(#list.items)
