-- SPDX-License-Identifier: Apache-2.0
-- Backing services (kipper.run/v1alpha1 Service) as `kip service` and kipperd's console API both
-- handle them: the checks on what is asked for (type from the catalog, name, version tag, storage
-- size; messages name the field as the caller spells it: "--version" for the CLI, "version" for
-- the API), the spec written on create or change, the connection details read from the
-- credentials Secret, the apps bound to a service, and delete (keeping the volume and credentials
-- unless asked). Uses kip.apps.api, kip.apps.appspec, kip.apps.catalog, kip.policy.credentials,
-- kip.cli.errors, kip.tls and kip.util.tables.
local api = require "kip.apps.api"
local appspec = require "kip.apps.appspec"
local catalog = require "kip.apps.catalog"
local credentials = require "kip.policy.credentials"
local errors = require "kip.cli.errors"
local tables = require "kip.util.tables"
local tls = require "kip.tls"

local M = {}

M.DELETE_DATA = "kipper.run/delete-data"
M.TAG = "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"

---@class kip.apps.ServiceRequest
---@field type string a catalog type
---@field name string
---@field version? string an image tag
---@field storage? string a quantity such as 10Gi

---Checks a service request; raises a usage error naming the field (label(field): "--version" or
---"version"). Returns the checked name.
---@param req kip.apps.ServiceRequest
---@param label fun(field: string): string how the caller names a field
---@param type_hint? string the hint for an unknown type
---@return string name
function M.check(req, label, type_hint)
  local t = req.type
  if type(t) ~= "string" or t == "" then errors.usage(label("type") .. " is required") end
  local known, why = catalog.check(t)
  if not known then errors.usage(why, type_hint) end
  if req.name == nil then errors.usage(label("name") .. " is required") end
  local name = api.check_name("service", req.name)
  local v = req.version
  if v ~= nil and (type(v) ~= "string" or #v > 128 or not v:match(M.TAG)) then
    errors.usage(string.format("%s takes an image tag such as 16 or 7.4, not %q", label("version"), tostring(v)))
  end
  local s = req.storage
  if s ~= nil and not appspec.is_quantity(s) then
    errors.usage(string.format("%s takes a quantity such as 250m, 1.5 or 512Mi, not %q", label("storage"), tostring(s)))
  end
  return name
end

---The Service object to apply: the live one's spec (if any) with the request's fields. Fails when
---a service of that name exists with another type.
---@param live table|nil the Service as stored
---@param req kip.apps.ServiceRequest checked with M.check
---@param namespace string
---@param delete_hint string what to suggest when the name is taken by another type
---@return table object
function M.object(live, req, namespace, delete_hint)
  if live and live.spec.type ~= req.type then
    errors.fail(string.format("service %s in namespace %s already exists as a %s service", req.name, namespace, live.spec.type),
      delete_hint)
  end
  local spec = tables.copy(live and live.spec or {})
  spec.type = req.type
  if req.version then spec.version = req.version end
  if req.storage then spec.storage = req.storage end
  return { apiVersion = api.API_VERSION, kind = "Service", metadata = { name = req.name, namespace = namespace }, spec = spec }
end

---The name of a Service's credentials Secret (its status says, else the rule).
function M.secret_name(svc)
  local st = svc.status or {}
  return st.credentialsSecret or credentials.secret_name(svc.metadata.name)
end

---The decoded data of a Service's credentials Secret ({} when it does not exist yet) and its name.
---@param c table kip.k8s client
---@param svc table the Service
---@return table<string, string> values
---@return string secret the Secret's name
function M.credentials(c, svc)
  local name = M.secret_name(svc)
  local secret = api.get(c, "v1", "Secret", name, svc.metadata.namespace)
  local out = {}
  for k, v in pairs(secret and secret.data or {}) do out[k] = tls.base64_decode(v) end
  return out, name
end

---The connection details of a Service: host, port, username, password (only with show), URL
---(masked without show), database and the Secret's name.
---@param svc table the Service
---@param creds table<string, string> from M.credentials
---@param show boolean include the password
function M.connection(svc, creds, show)
  local st = svc.status or {}
  local url = creds.url
  if url and not show then url = catalog.mask(url, creds.password) end
  return { host = st.host or creds.host, port = st.port or tonumber(creds.port), username = creds.username,
    password = show and creds.password or nil, database = creds.database, url = url, secret = M.secret_name(svc) }
end

---The names of the apps in namespace bound to service name.
---@return string[]
function M.bound_apps(c, namespace, name)
  local out = {}
  for _, a in ipairs(api.list(c, api.API_VERSION, "App", { namespace = namespace })) do
    for _, b in ipairs(a.spec.serviceBindings or {}) do
      if b.service == name then out[#out + 1] = a.metadata.name end
    end
  end
  table.sort(out)
  return out
end

---Deletes a Service; with delete_data it is first annotated so kipperd also deletes its volume
---and credentials.
---@return boolean deleted false when it was already gone
function M.delete(c, namespace, name, delete_data)
  if delete_data then
    api.patch(c, api.API_VERSION, "Service", name, namespace, { metadata = { annotations = { [M.DELETE_DATA] = "true" } } })
  end
  return api.delete(c, api.API_VERSION, "Service", name, namespace)
end

return M
