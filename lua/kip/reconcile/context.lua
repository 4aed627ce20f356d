-- SPDX-License-Identifier: Apache-2.0
-- The ctx a reconcile policy gets: the cluster settings, the live objects of the kinds it
-- reconciles, owns or reads (from the engine's caches, each read recorded so a change to what it
-- read queues it again), random bytes, the time and the service catalog. Policies do no I/O of
-- their own. Uses kip.tls (random), kip.util.{tables,time} and the engine's cache and deps recorder.
local tables = require "kip.util.tables"
local time = require "kip.util.time"
local tls = require "kip.tls"

local M = {}

---The current time as RFC 3339 UTC ("2026-11-23T21:07:39Z").
---@return string
function M.now()
  return time.format_rfc3339()
end

---n random bytes as 2n lowercase hex digits.
---@param n integer
---@return string
function M.random_hex(n)
  assert(math.type(n) == "integer" and n > 0 and n <= 4096, "ctx.random takes a number of bytes from 1 to 4096")
  return (tls.random(n):gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

---A ctx for one reconcile.
---@param opts {cache: table, recorder: table, cluster: table, catalog: any, allowed: table<string, boolean>, policy: string}
---  allowed: "apiVersion|Kind" the policy may read (its kind, owns and reads)
---@return table ctx
function M.new(opts)
  local cache, recorder = opts.cache, opts.recorder
  local function check(api_version, kind)
    if type(api_version) ~= "string" or type(kind) ~= "string" then
      error("ctx.observed: apiVersion and kind are required", 3)
    end
    local kk = api_version .. "|" .. kind
    if not opts.allowed[kk] then
      error(string.format("policy %s reads %s %s, which is not in its owns or reads", opts.policy, api_version, kind), 3)
    end
    return kk
  end
  local ctx = {
    cluster = tables.copy(opts.cluster),
    catalog = opts.catalog,
    random = M.random_hex,
    now = M.now,
  }
  function ctx.observed(api_version, kind, namespace, name)
    local kk = check(api_version, kind)
    local k = cache:kind(api_version, kind)
    local ns = (k and k.namespaced ~= false) and namespace or nil
    recorder.get(kk, ns and ns ~= "" and (ns .. "/" .. name) or name)
    return cache:get(api_version, kind, ns, name)
  end
  function ctx.observed_list(api_version, kind, namespace, selector)
    local kk = check(api_version, kind)
    recorder.list(kk, namespace, selector)
    return cache:list(api_version, kind, namespace, selector)
  end
  return ctx
end

return M
