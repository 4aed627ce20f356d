-- SPDX-License-Identifier: Apache-2.0
-- The App spec from `kip app deploy|update` flags: the flags themselves, their checks (usage
-- errors before anything is sent), and the merge of what was given into the live App's spec, so
-- that only the flags given change anything. Also the App object kip applies. Uses
-- kip.cli.errors, kip.platform.schema (profiles), kip.util.tables and kip.yaml.
local errors = require "kip.cli.errors"
local schema = require "kip.platform.schema"
local tables = require "kip.util.tables"
local yaml = require "kip.yaml"

local M = {}

-- Annotations kip writes on an App and keeps on every later apply.
M.RESTARTED_AT = "kipper.run/restarted-at"

---The flags of deploy and update that describe the App (deploy adds --name).
M.flags = {
  { name = "image", arg = "IMAGE", help = "the container image, e.g. ghcr.io/acme/api:1.4.2 (required for a new app)" },
  { name = "port", arg = "PORT", help = "the port the container listens on (default for a new app: 8080)" },
  { name = "replicas", arg = "N", help = "how many instances to run (default for a new app: 1)" },
  { name = "env", arg = "KEY=VALUE", repeated = true, help = "set an environment variable" },
  { name = "secret", arg = "KEY=VALUE|KEY", repeated = true,
    help = "set a secret variable (kept in Secret app-NAME-secrets); KEY alone asks for the value without echo" },
  { name = "memory", arg = "QUANTITY", help = "memory request, e.g. 256Mi" },
  { name = "cpu", arg = "QUANTITY", help = "CPU request, e.g. 250m" },
  { name = "profile", arg = "PROFILE", choices = schema.PROFILES,
    help = "a sizing profile: " .. table.concat(schema.PROFILES, ", ") },
  { name = "domain", arg = "HOST", help = "also serve the app on this host name (with HTTPS when the cluster has certificates)" },
}

---The flags of commands that wait for the App to be Ready.
M.wait_flags = {
  { name = "no-wait", help = "return once the change is accepted, without waiting for the app to be ready" },
  { name = "timeout", arg = "SECONDS", default = "300", help = "how long to wait for the app to be ready" },
}

---Returns the lists joined into a new one.
function M.concat(...)
  local out = {}
  for _, list in ipairs({ ... }) do
    for _, x in ipairs(list) do out[#out + 1] = x end
  end
  return out
end

-- resource.Quantity: digits with an optional fraction, then a suffix or an exponent.
local SUFFIXES = { [""] = true, Ki = true, Mi = true, Gi = true, Ti = true, Pi = true, Ei = true,
  n = true, u = true, m = true, k = true, M = true, G = true, T = true, P = true, E = true }

---Whether text is a Kubernetes quantity ("250m", "1.5Gi", "2").
function M.is_quantity(text)
  if type(text) ~= "string" then return false end
  local body = text:gsub("^[+-]", "")
  local num, suffix = body:match("^(%d+%.?%d*)(.*)$")
  if not num then num, suffix = body:match("^(%.%d+)(.*)$") end
  if not num then return false end
  if SUFFIXES[suffix] then return true end
  return suffix:match("^[eE][+-]?%d+$") ~= nil
end

---Checks a quantity flag; returns it.
function M.check_quantity(flag, text)
  if not M.is_quantity(text) then
    errors.usage(string.format("--%s takes a quantity such as 250m, 1.5 or 512Mi, not %q", flag, text))
  end
  return text
end

---An integer flag within bounds.
function M.check_int(flag, text, min, max)
  local n = math.tointeger(tonumber(text))
  if not n or n < min or (max and n > max) then
    errors.usage(string.format("--%s takes a whole number %s, not %q", flag,
      max and string.format("from %d to %d", min, max) or string.format("of at least %d", min), text))
  end
  return n
end

---Whether name is a valid environment variable name (as Kubernetes checks them).
function M.is_env_name(name)
  return type(name) == "string" and #name <= 253 and name:match("^[-._a-zA-Z][-._a-zA-Z0-9]*$") ~= nil
end

---Checks an environment variable name; a usage error naming the flag otherwise.
function M.check_env_name(what, name)
  if not M.is_env_name(name) then
    errors.usage(string.format("invalid %s name %q: use letters, digits, '_', '-' and '.', not starting with a digit", what, name))
  end
  return name
end

---Parses KEY=VALUE words into a map (the last one of a key wins).
---@param words string[]
---@param what string "--env" or "variable", for messages
---@return table<string, string> map
---@return string[] keys in the order given
function M.parse_pairs(words, what)
  local map, keys = {}, {}
  for _, w in ipairs(words or {}) do
    local k, v = w:match("^([^=]*)=(.*)$")
    if not k then errors.usage(string.format("%s takes KEY=VALUE, not %q", what, w)) end
    M.check_env_name("variable", k)
    if map[k] == nil then keys[#keys + 1] = k end
    map[k] = v
  end
  return map, keys
end

---Parses --secret words: KEY=VALUE or KEY (value asked later).
---@return {key: string, value?: string}[]
function M.parse_secrets(words)
  local out, index = {}, {}
  for _, w in ipairs(words or {}) do
    local k, v = w:match("^([^=]*)=(.*)$")
    k = k or w
    M.check_env_name("secret", k)
    if index[k] then out[index[k]].value = v else
      out[#out + 1] = { key = k, value = v }
      index[k] = #out
    end
  end
  return out
end

---Whether host is a DNS name (lowercase labels separated by dots).
function M.is_host(host)
  if type(host) ~= "string" or #host == 0 or #host > 253 then return false end
  for label in (host .. "."):gmatch("([^.]*)%.") do
    if #label == 0 or #label > 63 or not label:match("^[a-z0-9][-a-z0-9]*$") or label:sub(-1) == "-" then return false end
  end
  return host:find(".", 1, true) ~= nil
end

---The changes the flags ask for; every value is checked. Secrets come back separately.
---@param f table the parsed flags
---@return table changes {image?, port?, replicas?, env?: table, resources?: table, host?: string}
---@return {key: string, value?: string}[] secrets
function M.changes(f)
  local ch = {}
  if f.image ~= nil then
    if f.image == "" or f.image:find("%s") then errors.usage(string.format("--image takes an image reference, not %q", f.image)) end
    ch.image = f.image
  end
  if f.port ~= nil then ch.port = M.check_int("port", f.port, 1, 65535) end
  if f.replicas ~= nil then ch.replicas = M.check_int("replicas", f.replicas, 0, 10000) end
  if f.env then ch.env = M.parse_pairs(f.env, "--env") end
  local res = {}
  if f.memory then res.memory = M.check_quantity("memory", f.memory) end
  if f.cpu then res.cpu = M.check_quantity("cpu", f.cpu) end
  if f.profile then res.profile = f.profile end
  if next(res) then ch.resources = res end
  if f.domain ~= nil then
    if not M.is_host(f.domain) then
      errors.usage(string.format("--domain takes a host name such as api.example.com (lowercase), not %q", f.domain))
    end
    ch.host = f.domain
  end
  return ch, M.parse_secrets(f.secret)
end

---The live spec with the changes merged in (a new table; the live one is not touched).
---@param live? table the live App's spec (nil for a new App)
---@param ch table from M.changes
---@param secret_keys? string[] keys to add to spec.secrets
---@return table spec
function M.merge(live, ch, secret_keys)
  local spec = tables.copy(live or {})
  if ch.image then spec.image = ch.image end
  if ch.port then spec.port = ch.port end
  if ch.replicas then spec.replicas = ch.replicas end
  if ch.env then
    spec.env = spec.env or {}
    for k, v in pairs(ch.env) do spec.env[k] = v end
  end
  if ch.resources then
    spec.resources = spec.resources or {}
    for k, v in pairs(ch.resources) do spec.resources[k] = v end
  end
  if ch.host then
    spec.route = spec.route or {}
    spec.route.host = ch.host
  end
  if secret_keys and #secret_keys > 0 then
    local have, list = {}, yaml.array({})
    for _, k in ipairs(spec.secrets or {}) do have[k] = true list[#list + 1] = k end
    for _, k in ipairs(secret_keys) do
      if not have[k] then have[k] = true list[#list + 1] = k end
    end
    spec.secrets = list
  end
  return spec
end

---The App object kip applies: the whole spec, and the live annotations (only the flags given
---change: an annotation set by `kip apply -f` with the same field manager stays).
---@param name string
---@param namespace string
---@param spec table
---@param live? table the live App, whose annotations kip keeps (not kubectl's last-applied copy)
---@param annotations? table<string, string> more annotations to set
function M.object(name, namespace, spec, live, annotations)
  local ann = {}
  for k, v in pairs(live and live.metadata.annotations or {}) do
    if k ~= "kubectl.kubernetes.io/last-applied-configuration" then ann[k] = v end
  end
  for k, v in pairs(annotations or {}) do ann[k] = v end
  local md = { name = name, namespace = namespace }
  if next(ann) then md.annotations = ann end
  return { apiVersion = "kipper.run/v1alpha1", kind = "App", metadata = md, spec = spec }
end

return M
