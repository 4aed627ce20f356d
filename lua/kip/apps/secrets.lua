-- SPDX-License-Identifier: Apache-2.0
-- An App's secret variables: Secret app-NAME-secrets in the App's namespace (keys are the
-- variable names), which kipperd reads into the App's environment. Values are asked without echo
-- on a terminal when only a key is given, travel only in request bodies (never in an argv, a
-- message or a log line) and are never printed back. Uses kip.host, kip.tls (base64), kip.json,
-- kip.apps.api and kip.cli.errors.
local api = require "kip.apps.api"
local errors = require "kip.cli.errors"
local host = require "kip.host"
local json = require "kip.json"
local tls = require "kip.tls"

local M = {}

---The Secret's name for an app.
function M.name(app)
  return "app-" .. app .. "-secrets"
end

---Fills in the values of entries given as a key alone, asking on the terminal without echo.
---Refuses without a terminal.
---@param entries {key: string, value?: string}[]
---@param app string
function M.ask_missing(entries, app)
  for _, e in ipairs(entries) do
    if e.value == nil then
      if not (host.isatty("stdin") and host.isatty("stderr")) then
        errors.usage(string.format("secret %s has no value, and there is no terminal to ask for it", e.key),
          string.format("Run it on a terminal to type the value unseen, or give it as %s=VALUE.", e.key))
      end
      local value, err, code = host.ask(string.format("Value of secret %s for app %s (not shown): ", e.key, app), { secret = true })
      if not value then
        errors.fail(code == "cancelled" and "no value was typed; nothing was changed" or ("cannot ask for the value: " .. tostring(err)))
      end
      e.value = value
    end
  end
end

---The Secret, or nil when it does not exist.
function M.get(c, namespace, app)
  return api.get(c, "v1", "Secret", M.name(app), namespace)
end

---The names of the variables the Secret holds, sorted.
---@return string[]
function M.keys(secret)
  local keys = {}
  for k in pairs(secret and secret.data or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

---Writes the entries into the Secret (created when missing; other keys are kept).
---@param c table kip.k8s client
---@param namespace string
---@param app string
---@param entries {key: string, value: string}[]
---@return string what "created" or "updated"
function M.set(c, namespace, app, entries)
  local data = {}
  for _, e in ipairs(entries) do data[e.key] = tls.base64_encode(e.value) end
  local name = M.name(app)
  if not M.get(c, namespace, app) then
    local ok, err, code = c:create({ apiVersion = "v1", kind = "Secret", type = "Opaque",
      metadata = { name = name, namespace = namespace,
        labels = { ["app.kubernetes.io/name"] = app, ["app.kubernetes.io/part-of"] = "kipper",
          ["app.kubernetes.io/managed-by"] = "kip" } },
      data = data }, { field_manager = api.FIELD_MANAGER })
    if ok then return "created" end
    if code ~= "alreadyexists" then
      errors.fail(string.format("cannot create Secret %s in namespace %s: %s", name, namespace, tostring(err)))
    end
  end
  api.patch(c, "v1", "Secret", name, namespace, { data = data })
  return "updated"
end

---Removes keys from the Secret.
---@return string[] removed the keys that were there
function M.remove(c, namespace, app, keys)
  local secret = M.get(c, namespace, app)
  local data, removed = {}, {}
  for _, k in ipairs(keys) do
    if secret and secret.data and secret.data[k] ~= nil then
      data[k] = json.null
      removed[#removed + 1] = k
    end
  end
  if #removed > 0 then api.patch(c, "v1", "Secret", M.name(app), namespace, { data = data }) end
  return removed
end

---Makes the App an owner of its Secret, so deleting the App deletes it too.
---@param c table kip.k8s client
---@param app table the App object (with uid)
function M.own(c, app)
  local md = app.metadata
  local secret = M.get(c, md.namespace, md.name)
  if not secret or not md.uid then return end
  local refs = json.array({})
  for _, r in ipairs(secret.metadata.ownerReferences or {}) do
    if r.uid == md.uid then return end
    refs[#refs + 1] = r
  end
  refs[#refs + 1] = { apiVersion = api.API_VERSION, kind = "App", name = md.name, uid = md.uid }
  api.patch(c, "v1", "Secret", M.name(md.name), md.namespace, { metadata = { ownerReferences = refs } })
end

return M
