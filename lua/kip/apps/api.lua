-- SPDX-License-Identifier: Apache-2.0
-- The CLI's access to Kipper's custom resources (kipper.run/v1alpha1 App, Service, Project): a
-- check that the cluster serves them, get with "not found" as nil, server-side apply with field
-- manager "kip", and failures turned into kip errors that name the object (with the status
-- kipperd's console API answers: 503 when the cluster's API failed). Uses kip.cli.errors and a
-- kip.k8s client.
local errors = require "kip.cli.errors"

local M = {}

M.API_VERSION = "kipper.run/v1alpha1"
M.FIELD_MANAGER = "kip"

-- How a kind is named in messages and hints.
local NOUNS = { App = "app", Service = "service", Project = "project" }

---The word for a kind in messages ("app" for App).
---@param kind string
function M.noun(kind)
  return NOUNS[kind] or kind:lower()
end

---"app web in namespace shop" / "project shop".
function M.describe(kind, name, namespace)
  if namespace then return string.format("%s %s in namespace %s", M.noun(kind), name, namespace) end
  return string.format("%s %s", M.noun(kind), name)
end

---Stops with a clear error when the cluster does not serve Kipper's kind.
---@param c table kip.k8s client
---@param kind string App, Service or Project
function M.require_kind(c, kind)
  local ok, err, code = c:resource(M.API_VERSION, kind)
  if ok then return end
  if code == "notfound" then
    errors.fail(string.format("the cluster does not serve Kipper's %s resources (%s): %s", M.noun(kind), M.API_VERSION, err),
      "Is Kipper installed there? 'kip status' shows its components; 'kip install' sets it up.")
  end
  errors.fail("cannot reach the cluster's API: " .. tostring(err), "Check the cluster with 'kip status'.", 503)
end

-- What kipperd's console API answers when the Kubernetes API refused a write with this code: the
-- request's fault (400, 404, 409) or the cluster's (503).
local STATUS = { invalid = 400, badrequest = 400, notfound = 404, conflict = 409, alreadyexists = 409, forbidden = 503 }

---The console API's status for a failed write's error code.
---@param code? string kip.k8s error code
---@return integer
function M.http_status(code)
  return STATUS[code] or 503
end

---Reads an object; nil when it does not exist.
---@param c table kip.k8s client
---@param api_version string
---@param kind string
---@param name string
---@param namespace? string
---@return table|nil object
function M.get(c, api_version, kind, name, namespace)
  local obj, err, code = c:get(api_version, kind, name, namespace)
  if obj then return obj end
  if code == "notfound" then
    if api_version == M.API_VERSION then M.require_kind(c, kind) end
    return nil
  end
  errors.fail(string.format("cannot read %s %s: %s", kind, name, tostring(err)), nil, 503)
end

---Reads a Kipper object that must exist.
---@return table object
function M.must_get(c, kind, name, namespace)
  local obj = M.get(c, M.API_VERSION, kind, name, namespace)
  if obj then return obj end
  local list_cmd = string.format("kip %s list", M.noun(kind))
  errors.fail(string.format("there is no %s", M.describe(kind, name, namespace)),
    namespace and string.format("Run '%s' to see them (add -n NAMESPACE or --project for another namespace).", list_cmd)
      or string.format("Run '%s' to see them.", list_cmd), 404)
end

---Server-side applies obj with field manager "kip" (forced: kip's intent wins over other
---writers of the same fields).
---@param c table kip.k8s client
---@param obj table a complete object
---@param opts? {dry_run?: boolean}
---@return table object what the server stored (or would store)
function M.apply(c, obj, opts)
  local out, err, code = c:apply(obj, { field_manager = M.FIELD_MANAGER, force = true, dry_run = opts and opts.dry_run })
  if not out then
    local md = obj.metadata or {}
    errors.fail(string.format("the cluster refused %s: %s",
      M.describe(obj.kind, md.name or "?", md.namespace), tostring(err)), nil, M.http_status(code))
  end
  return out
end

---Applies a JSON merge patch (field manager "kip").
---@return table object
function M.patch(c, api_version, kind, name, namespace, patch)
  local out, err, code = c:patch(api_version, kind, name, namespace, patch, { field_manager = M.FIELD_MANAGER })
  if not out then
    errors.fail(string.format("cannot change %s %s: %s", kind, name, tostring(err)), nil, M.http_status(code))
  end
  return out
end

---Deletes an object; false when it was already gone.
---@return boolean deleted
function M.delete(c, api_version, kind, name, namespace)
  local ok, err, code = c:delete(api_version, kind, name, namespace)
  if ok then return true end
  if code == "notfound" then return false end
  errors.fail(string.format("cannot delete %s %s: %s", kind, name, tostring(err)), nil, M.http_status(code))
end

---Lists objects (every page); fails with a clear error.
---@return table[] items
function M.list(c, api_version, kind, opts)
  opts = opts or {}
  opts.all = true
  local list, err, code = c:list(api_version, kind, opts)
  if not list then
    if code == "notfound" and api_version == M.API_VERSION then M.require_kind(c, kind) end
    errors.fail(string.format("cannot list %s: %s", kind, tostring(err)), nil, 503)
  end
  return list.items or {}
end

---Checks a name against the DNS-label rules; a usage error otherwise.
---@param what string "app", "service", "project", "namespace", ...
---@param name any
function M.check_name(what, name)
  local ok, why = require("kip.util.names").check_label(what, name)
  if not ok then errors.usage(why) end
  return name
end

return M
