-- SPDX-License-Identifier: Apache-2.0
-- A Service's credentials Secret NAME-credentials: the catalog entry's credentials (fixed values,
-- or random ones made with ctx.random once and read back from the Secret ever after), plus host,
-- port and the connection URL. Annotated kipper.run/retain, so the engine neither owns nor prunes
-- it: it outlives the Service with its volume. Uses kip.policy.secrets, .hosts and .labels.
local hosts = require "kip.policy.hosts"
local labels_mod = require "kip.policy.labels"
local secrets = require "kip.policy.secrets"

local M = {}

---@param service string the Service's name
---@return string
function M.secret_name(service)
  return service .. "-credentials"
end

---The credentials values and the Secret holding them.
---@param svc table the Service
---@param entry table its catalog entry
---@param ctx table the policy ctx (observed, random)
---@param labels table<string, string>
---@return {values: table<string, string>, object: table, generated: string[]}
---  generated: the keys made afresh this time (none once the Secret exists with them)
function M.build(svc, entry, ctx, labels)
  local name, ns = svc.metadata.name, svc.metadata.namespace
  local secret_name = M.secret_name(name)
  local existing = secrets.decode(ctx.observed("v1", "Secret", ns, secret_name))
  local keys = {}
  for k in pairs(entry.credentials) do keys[#keys + 1] = k end
  table.sort(keys) -- ctx.random is called in a stable order
  local values, generated = {}, {}
  for _, k in ipairs(keys) do
    local how = entry.credentials[k]
    if existing[k] and existing[k] ~= "" then
      values[k] = existing[k]
    elseif type(how) == "table" then
      values[k] = ctx.random(how.random)
      generated[#generated + 1] = k
    else
      values[k] = how
    end
  end
  values.host = hosts.service(name, ns)
  values.port = tostring(entry.port)
  values.url = (entry.url:gsub("{([^}]*)}", function(k) return values[k] end))
  local object = secrets.object(secret_name, ns, values, labels, { [labels_mod.RETAIN] = "true" })
  return { values = values, object = object, generated = generated }
end

return M
