-- SPDX-License-Identifier: Apache-2.0
-- Secret data for policies: plain strings to a Secret's base64 `data` and back, the key rule
-- Kubernetes applies, and a Secret object built from plain values. Uses kip.tls for base64.
local tls = require "kip.tls"

local M = {}

-- What a Secret data key may be (validation.IsConfigMapKey).
M.KEY_PATTERN = "^[-._a-zA-Z0-9]+$"

---Whether s can be a Secret data key.
function M.valid_key(s)
  return type(s) == "string" and #s <= 253 and s:match(M.KEY_PATTERN) ~= nil
end

---@param values table<string, string> plain values
---@return table<string, string> data the same values base64-encoded
function M.encode(values)
  local data = {}
  for k, v in pairs(values) do data[k] = tls.base64_encode(v) end
  return data
end

---The plain values of an observed Secret (keys whose data does not decode are left out).
---@param secret table|nil
---@return table<string, string>
function M.decode(secret)
  local out = {}
  for k, v in pairs(secret and secret.data or {}) do
    local plain = tls.base64_decode(v)
    if plain then out[k] = plain end
  end
  return out
end

---An Opaque Secret holding plain values.
---@param name string
---@param namespace string
---@param values table<string, string>
---@param labels? table<string, string>
---@param annotations? table<string, string>
---@return table secret
function M.object(name, namespace, values, labels, annotations)
  return { apiVersion = "v1", kind = "Secret", type = "Opaque",
    metadata = { name = name, namespace = namespace, labels = labels, annotations = annotations },
    data = M.encode(values) }
end

return M
