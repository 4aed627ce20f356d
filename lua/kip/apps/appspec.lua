-- SPDX-License-Identifier: Apache-2.0
-- The App spec from `kip app deploy|update` flags or from a console API body (the same checks,
-- messages naming the flag or the field), usage errors before anything is sent; the merge of
-- what was given into the live App's spec, so that only what was given changes anything; edits
-- of its environment. Also the App object kip applies. Uses kip.cli.errors, kip.platform.schema
-- (profiles), kip.util.tables and kip.yaml.
local errors = require "kip.cli.errors"
local schema = require "kip.platform.schema"
local tables = require "kip.util.tables"
local yaml = require "kip.yaml"

local M = {}

-- A value quoted for a message, whatever its type.
local function quoted(v)
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

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
  { name = "autotune", arg = "MODE", choices = { "off", "recommend", "auto" },
    help = "the auto-tuner: off, recommend (record what it would change; the default) or auto (change the resources)" },
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

---How the CLI names a value in messages: its flag ("--port").
function M.flag_label(name) return "--" .. name end
---How the console API names a value in messages: its field ("port").
function M.field_label(name) return name end

---Checks a quantity flag; returns it.
---@param label? fun(name: string): string how the value is named (default M.flag_label)
function M.check_quantity(flag, text, label)
  if not M.is_quantity(text) then
    errors.usage(string.format("%s takes a quantity such as 250m, 1.5 or 512Mi, not %s", (label or M.flag_label)(flag), quoted(text)))
  end
  return text
end

---An integer flag within bounds (text may also be a number, from a JSON body).
---@param label? fun(name: string): string how the value is named (default M.flag_label)
function M.check_int(flag, text, min, max, label)
  local n = (type(text) == "string" or type(text) == "number") and math.tointeger(tonumber(text)) or nil
  if not n or n < min or (max and n > max) then
    errors.usage(string.format("%s takes a whole number %s, not %s", (label or M.flag_label)(flag),
      max and string.format("from %d to %d", min, max) or string.format("of at least %d", min), quoted(text)))
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
    errors.usage(string.format("invalid %s name %s: use letters, digits, '_', '-' and '.', not starting with a digit", what,
      quoted(name)))
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

-- The changes every caller may ask for (flags or body fields of the same names), checked.
local function common_changes(f, label)
  local ch = {}
  if f.image ~= nil then
    if type(f.image) ~= "string" or f.image == "" or f.image:find("%s") then
      errors.usage(string.format("%s takes an image reference, not %s", label("image"), quoted(f.image)))
    end
    ch.image = f.image
  end
  if f.port ~= nil then ch.port = M.check_int("port", f.port, 1, 65535, label) end
  if f.replicas ~= nil then ch.replicas = M.check_int("replicas", f.replicas, 0, 10000, label) end
  local res = {}
  if f.memory ~= nil then res.memory = M.check_quantity("memory", f.memory, label) end
  if f.cpu ~= nil then res.cpu = M.check_quantity("cpu", f.cpu, label) end
  if next(res) then ch.resources = res end
  if f.domain ~= nil then
    if not M.is_host(f.domain) then
      errors.usage(string.format("%s takes a host name such as api.example.com (lowercase), not %s", label("domain"),
        quoted(f.domain)))
    end
    ch.host = f.domain
  end
  return ch
end

---The changes the flags ask for; every value is checked. Secrets come back separately.
---@param f table the parsed flags
---@return table changes {image?, port?, replicas?, env?: table, resources?: table, host?: string}
---@return {key: string, value?: string}[] secrets
function M.changes(f)
  local ch = common_changes(f, M.flag_label)
  if f.env then ch.env = M.parse_pairs(f.env, "--env") end
  if f.profile then
    ch.resources = ch.resources or {}
    ch.resources.profile = f.profile
  end
  if f.autotune then ch.autotune = { mode = f.autotune } end
  return ch, M.parse_secrets(f.secret)
end

M.AUTOTUNE_MODES = { off = true, recommend = true, auto = true }

---The changes a console API body asks for ({image?, port?, replicas?, env?: {K: V}, cpu?, memory?,
---domain?, health_path?, autotune?: {mode, max_memory?}}): the flags' checks, messages naming
---the field; unknown fields are refused.
---@param body table the decoded JSON object
---@return table changes as M.changes, plus health_path?, autotune?
function M.body_changes(body)
  local label = M.field_label
  local known = { name = true, image = true, port = true, replicas = true, env = true, cpu = true, memory = true,
    domain = true, health_path = true, autotune = true }
  for k in pairs(body) do
    if not known[k] then errors.usage(string.format("unknown field %s", quoted(k)),
      "An app takes name, image, port, replicas, env, cpu, memory, domain, health_path and autotune.") end
  end
  local ch = common_changes(body, label)
  if body.env ~= nil then
    if type(body.env) ~= "table" then errors.usage("env takes an object of NAME: value") end
    ch.env = {}
    for k, v in pairs(body.env) do
      M.check_env_name("variable", k)
      if type(v) ~= "string" then errors.usage(string.format("env.%s takes a string, not %s", k, quoted(v))) end
      ch.env[k] = v
    end
  end
  if body.health_path ~= nil then
    if type(body.health_path) ~= "string" or not body.health_path:match("^/[%g]*$") then
      errors.usage(string.format("health_path takes a path starting with /, not %s", quoted(body.health_path)))
    end
    ch.health_path = body.health_path
  end
  local at = body.autotune
  if at ~= nil then
    if type(at) ~= "table" or not M.AUTOTUNE_MODES[at.mode] then
      errors.usage(string.format("autotune.mode takes off, recommend or auto, not %s",
        quoted(type(at) == "table" and at.mode or at)))
    end
    ch.autotune = { mode = at.mode }
    if at.max_memory ~= nil then ch.autotune.maxMemory = M.check_quantity("autotune.max_memory", at.max_memory, label) end
  end
  return ch
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
  if ch.health_path then
    spec.healthCheck = spec.healthCheck or {}
    spec.healthCheck.path = ch.health_path
  end
  if ch.autotune then
    spec.autotune = spec.autotune or {}
    for k, v in pairs(ch.autotune) do spec.autotune[k] = v end
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

---The spec with variables set and others removed (a new table), and the keys to remove that
---it did not have.
---@param live table the live App's spec
---@param set? table<string, string>
---@param unset? string[]
---@return table spec
---@return string[] absent
function M.edit_env(live, set, unset)
  local spec = M.merge(live, set and next(set) and { env = set } or {})
  local absent = {}
  if unset and #unset > 0 then
    spec.env = spec.env or {}
    for _, k in ipairs(unset) do
      if spec.env[k] == nil then absent[#absent + 1] = k end
      spec.env[k] = nil
    end
  end
  return spec, absent
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
