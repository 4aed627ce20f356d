-- SPDX-License-Identifier: Apache-2.0
-- kipper-gateway's settings: the command-line flags, the config file (YAML or JSON, the same keys
-- as the flags; flags given on the command line win), and their validation into one table.
-- Raises kip.cli.errors usage errors (exit 2). Uses kip.cli.args/errors, kip.fs, kip.yaml, kip.json.
local args = require "kip.cli.args"
local errors = require "kip.cli.errors"
local fs = require "kip.fs"
local json = require "kip.json"
local suggest = require "kip.util.suggest"
local yaml = require "kip.yaml"

local M = {}

M.flags = {
  { name = "config", arg = "FILE", help = "read settings from this YAML or JSON file (keys as the flags; flags win)" },
  { name = "listen", arg = "ADDRESS:PORT", help = "plain HTTP proxy listener" },
  { name = "tls-listen", arg = "ADDRESS:PORT", help = "HTTPS proxy listener (needs --cert and --key)" },
  { name = "cert", arg = "FILE", repeated = true, help = "a certificate chain (PEM), with the --key in the same position; one pair per name set" },
  { name = "key", arg = "FILE", repeated = true, help = "the private key of the --cert in the same position" },
  { name = "zone", arg = "ZONE", help = "the DNS zone the gateway serves, e.g. kipper.run" },
  { name = "registry", arg = "FILE", help = "the registry file (JSON; created when missing)" },
  { name = "api-listen", arg = "ADDRESS:PORT", help = "registration API, /healthz and /metrics" },
  { name = "api-cert", arg = "FILE", help = "serve the API over TLS with this PEM file (certificate chain and its key)" },
  { name = "admin-token-file", arg = "FILE", help = "a file holding the operators' bearer token (mode 0600 or stricter)" },
  { name = "workers", arg = "N", default = "1", help = "proxy worker threads" },
  { name = "allow-private-upstreams", help = "route to and register private, loopback and link-local addresses (tests, labs)" },
  { name = "access-log", arg = "FILE", help = "JSON access log lines to FILE, or - for standard output" },
  { name = "heartbeat-ttl", arg = "DURATION", default = "30d", help = "a self-registered name stops routing when not renewed for this long" },
  { name = "hold", arg = "DURATION", default = "90d", help = "after that, how long the name stays held for its owner" },
  { name = "drain-timeout", arg = "SECONDS", default = "30", help = "on SIGTERM, how long open connections may finish" },
  { name = "api-rate", arg = "N", default = "5", help = "API requests a second per client IP (POSTs cost 4, proofs 10)" },
  { name = "api-burst", arg = "N", default = "20", help = "API request burst per client IP" },
  { name = "log-format", arg = "FORMAT", choices = { "text", "json" }, default = "text", help = "text or json log lines" },
  { name = "verbose", short = "v", help = "log every API request" },
  { name = "help", short = "h", help = "show this help" },
}

-- config-file keys beyond the flags
local EXTRA_KEYS = { certs = true, timeouts = true }
local TIMEOUTS = { header = true, idle = true, connect = true, upstream = true, drain = true }

local function flag_by_name()
  local t = {}
  for _, f in ipairs(M.flags) do t[f.name] = f end
  return t
end

---A duration ("30d", "12h", "5m", "10s", or a plain number of days) in seconds, or nil.
function M.parse_duration(s)
  if math.type(s) or type(s) == "number" then s = tostring(s) end
  if type(s) ~= "string" then return nil end
  local n, unit = s:match("^(%d+%.?%d*)([smhd]?)$")
  n = tonumber(n)
  if not n or n <= 0 then return nil end
  local mult = ({ s = 1, m = 60, h = 3600, d = 86400, [""] = 86400 })[unit]
  return n * mult
end

local function valid_address(a)
  if type(a) ~= "string" then return false end
  local host, port = a:match("^(.*):(%d+)$")
  return host ~= nil and host ~= "" and tonumber(port) <= 65535
end

local function valid_zone(z)
  if type(z) ~= "string" or #z > 200 or z == "" then return false end
  for label in (z .. "."):gmatch("([^.]*)%.") do
    if not label:match("^[a-z0-9]$") and not label:match("^[a-z0-9][a-z0-9-]*[a-z0-9]$") then return false end
    if #label > 63 then return false end
  end
  return true
end

---Reads a config file into a table keyed like the flags (underscores read as dashes).
---@param path string
---@return table
function M.read_file(path) -- may raise a usage error
  local text, err = fs.read(path)
  if not text then errors.usage("cannot read the config file: " .. tostring(err)) end
  local doc, derr
  if path:match("%.json$") then
    doc, derr = json.decode(text)
  else
    doc, derr = yaml.decode(text)
  end
  if doc == nil and derr then errors.usage(string.format("%s: %s", path, derr)) end
  if doc == nil then doc = {} end
  if type(doc) ~= "table" or (json.is_array(doc) and #doc > 0) then
    errors.usage(path .. ": the config file must be a mapping of settings")
  end
  local flags, out = flag_by_name(), {}
  local known = {}
  for name in pairs(flags) do if name ~= "config" and name ~= "help" then known[#known + 1] = name end end
  for name in pairs(EXTRA_KEYS) do known[#known + 1] = name end
  table.sort(known)
  for k, v in pairs(doc) do
    local name = type(k) == "string" and k:gsub("_", "-") or tostring(k)
    if (not flags[name] or name == "config" or name == "help") and not EXTRA_KEYS[name] then
      local guess = suggest.closest(name, known)
      errors.usage(string.format("%s: unknown setting %q", path, tostring(k)),
        guess and string.format("Did you mean %s?", guess) or ("Settings: " .. table.concat(known, ", ") .. "."))
    end
    local f = flags[name]
    if f and f.repeated then
      if type(v) == "string" then v = { v } end
      if type(v) ~= "table" then errors.usage(string.format("%s: %s must be a file name or a list of them", path, name)) end
    elseif f and not f.arg then
      if type(v) ~= "boolean" then errors.usage(string.format("%s: %s must be true or false", path, name)) end
    elseif f then
      if math.type(v) or type(v) == "number" then v = tostring(v) end
      if type(v) ~= "string" then errors.usage(string.format("%s: %s must be a string", path, name)) end
    end
    out[name] = v
  end
  return out
end

---Parses the command line (and the config file it names) into settings.
---@param argv string[] argv[1..] the arguments
---@return table|nil settings; nil when --help was asked for
function M.parse(argv) -- may raise a usage error
  local tokens = table.move(argv, 1, #argv, 1, {})
  for _, t in ipairs(tokens) do
    if t == "--help" or t == "-h" then return nil end
  end
  -- defaults are applied after the config file, so the file can set what the flags default
  local specs = {}
  for i, f in ipairs(M.flags) do
    specs[i] = { name = f.name, short = f.short, arg = f.arg, choices = f.choices, repeated = f.repeated }
  end
  local given = args.parse(tokens, { flags = specs, args = {}, command = "kipper-gateway" })
  local merged = {}
  if given.config then
    for k, v in pairs(M.read_file(given.config)) do merged[k] = v end
  end
  for k, v in pairs(given) do merged[k] = v end
  for _, f in ipairs(M.flags) do
    if merged[f.name] == nil and f.default ~= nil then merged[f.name] = f.default end
  end
  return M.validate(merged)
end

---Checks merged settings and returns them normalized:
---{listen, tls_listen, certs = {{cert, key}}, zone, registry, api_listen, api_cert, admin_token_file, workers,
--- allow_private, access_log, ttl, hold, drain_timeout, timeouts, api_rate, api_burst, log_format, verbose}
function M.validate(s) -- may raise a usage error
  local c = {}
  local function need(name)
    if s[name] == nil or s[name] == "" then
      errors.usage("--" .. name .. " is required", "Run 'kipper-gateway --help' for its flags and an example.")
    end
    return s[name]
  end
  for _, name in ipairs({ "listen", "tls-listen", "api-listen" }) do
    if s[name] ~= nil and not valid_address(s[name]) then
      errors.usage(string.format("--%s takes ADDRESS:PORT, not %q", name, tostring(s[name])))
    end
  end
  c.api_listen = need("api-listen")
  c.api_cert = s["api-cert"]
  if c.api_cert ~= nil and (type(c.api_cert) ~= "string" or not fs.exists(c.api_cert)) then
    errors.usage(string.format("no such file: %s (--api-cert)", tostring(c.api_cert)))
  end
  c.listen, c.tls_listen = s.listen, s["tls-listen"]
  c.zone = need("zone")
  if not valid_zone(c.zone) then
    errors.usage(string.format("--zone takes a DNS name such as kipper.run or localhost (lower case), not %q", c.zone))
  end
  c.registry = need("registry")
  c.admin_token_file = s["admin-token-file"]
  local certs = {}
  if s.certs ~= nil then
    if type(s.certs) ~= "table" then errors.usage("certs must be a list of {cert, key}") end
    for i, p in ipairs(s.certs) do
      if type(p) ~= "table" or type(p.cert) ~= "string" or type(p.key) ~= "string" then
        errors.usage(string.format("certs[%d] must have cert and key (file names)", i))
      end
      certs[#certs + 1] = { cert = p.cert, key = p.key }
    end
  end
  local cert_list, key_list = s.cert or {}, s.key or {}
  if #cert_list ~= #key_list then
    errors.usage(string.format("%d --cert but %d --key: give them in pairs", #cert_list, #key_list),
      "Each --cert FILE goes with the --key FILE in the same position.")
  end
  for i = 1, #cert_list do certs[#certs + 1] = { cert = cert_list[i], key = key_list[i] } end
  for _, p in ipairs(certs) do
    for _, f in ipairs({ p.cert, p.key }) do
      if type(f) ~= "string" or not fs.exists(f) then errors.usage(string.format("no such file: %s", tostring(f))) end
    end
  end
  c.certs = certs
  if c.tls_listen and #certs == 0 then
    errors.usage("--tls-listen needs at least one --cert FILE --key FILE pair")
  end
  c.workers = math.tointeger(tonumber(s.workers))
  if not c.workers or c.workers < 1 or c.workers > 256 then
    errors.usage(string.format("--workers takes a number from 1 to 256, not %q", tostring(s.workers)))
  end
  c.allow_private = s["allow-private-upstreams"] == true
  c.access_log = s["access-log"]
  c.ttl = M.parse_duration(s["heartbeat-ttl"])
  if not c.ttl then errors.usage(string.format("--heartbeat-ttl takes a duration such as 30d, 12h or 90s, not %q", tostring(s["heartbeat-ttl"]))) end
  c.hold = M.parse_duration(s.hold)
  if not c.hold then errors.usage(string.format("--hold takes a duration such as 90d, 12h or 90s, not %q", tostring(s.hold))) end
  c.drain_timeout = tonumber(s["drain-timeout"])
  if not c.drain_timeout or c.drain_timeout < 0 then
    errors.usage(string.format("--drain-timeout takes a number of seconds, not %q", tostring(s["drain-timeout"])))
  end
  c.api_rate, c.api_burst = tonumber(s["api-rate"]), tonumber(s["api-burst"])
  if not c.api_rate or c.api_rate <= 0 then errors.usage(string.format("--api-rate takes a positive number, not %q", tostring(s["api-rate"]))) end
  if not c.api_burst or c.api_burst < 1 then errors.usage(string.format("--api-burst takes a number of 1 or more, not %q", tostring(s["api-burst"]))) end
  c.timeouts = {}
  if s.timeouts ~= nil then
    if type(s.timeouts) ~= "table" then errors.usage("timeouts must be a mapping such as {header: 10, idle: 60}") end
    for k, v in pairs(s.timeouts) do
      if not TIMEOUTS[k] then errors.usage(string.format("unknown timeout %q (header, idle, connect, upstream, drain)", tostring(k))) end
      if type(v) ~= "number" or v <= 0 then errors.usage(string.format("timeouts.%s must be a positive number of seconds", k)) end
      c.timeouts[k] = v
    end
  end
  c.timeouts.drain = c.timeouts.drain or c.drain_timeout
  c.log_format = s["log-format"]
  if c.log_format ~= "text" and c.log_format ~= "json" then
    errors.usage(string.format("--log-format must be text or json, not %q", tostring(c.log_format)))
  end
  c.verbose = s.verbose == true
  return c
end

---Reads the admin token file: refuses a file others may read or write, an empty one, or one too
---short to be a secret.
---@return string token
function M.read_admin_token(path) -- may raise a failure
  local st, err = fs.stat(path)
  if not st then errors.fail("cannot read the admin token file: " .. tostring(err)) end
  if st.mode & 63 ~= 0 then -- 0077
    errors.fail(string.format("the admin token file %s can be read or written by others (mode %o)", path, st.mode),
      string.format("Run 'chmod 600 %s' (in Kubernetes, mount the Secret with defaultMode 0400).", path))
  end
  local text, rerr = fs.read(path)
  if not text then errors.fail("cannot read the admin token file: " .. tostring(rerr)) end
  local token = text:match("^%s*(.-)%s*$")
  if token == "" then errors.fail("the admin token file " .. path .. " is empty", "Put a long random token in it: openssl rand -hex 32.") end
  if token:find("%s") then errors.fail("the admin token in " .. path .. " has white space inside", "Keep the token on one line.") end
  if #token < 16 then errors.fail("the admin token in " .. path .. " is shorter than 16 characters", "Use a long random token: openssl rand -hex 32.") end
  return token
end

return M
