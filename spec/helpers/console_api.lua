-- SPDX-License-Identifier: Apache-2.0
-- The console API under test, for integration specs: a sandbox API, Kipper's CRDs and settings,
-- console users made with kipperd.auth.users (real passwords and scrypt parameters), the real
-- kipperd with its real policies (--insecure-cookies: it serves plain HTTP), and a JSON client
-- over kip.http that logs each user in once through POST /api/v1/auth/login. Uses
-- helpers.sandbox, helpers.kipperd, kip.http, kip.json, kip.k8s and kipperd.auth.users.
local http = require "kip.http"
local json = require "kip.json"
local k8s = require "kip.k8s"
local kipperd = require "helpers.kipperd"
local sandbox = require "helpers.sandbox"
local users = require "kipperd.auth.users"

local M = {}

M.eventually = sandbox.eventually

local Env = {}
Env.__index = Env

---Starts everything; call env:stop() in teardown. users: made before kipperd starts (none: no
---users); policies: kipperd's --policies (default: all of them); sandbox: helpers.sandbox's
---options (verbose: the sandbox API logs every request).
---@param opts {users?: {email: string, role: string, password: string}[], args?: string[], policies?: string, sandbox?: table}
function M.start(opts)
  local self = setmetatable({ passwords = {}, tokens = {} }, Env)
  self.sb = sandbox.start(opts.sandbox)
  self.c = assert(k8s.connect({ kubeconfig = self.sb.kubeconfig }))
  kipperd.prepare(self.c)
  for _, u in ipairs(opts.users or {}) do
    assert(users.add(self.c, u.email, u.role, u.password))
    self.passwords[u.email] = u.password
  end
  local args = { "--insecure-cookies" }
  for _, a in ipairs(opts.args or {}) do args[#args + 1] = a end
  self.kd = kipperd.start({ kubeconfig = self.sb.kubeconfig, plugin_path = false, policies = opts.policies, args = args })
  assert(self.kd:wait_ready(30), "kipperd is not ready: " .. self.kd:output())
  self.base = string.format("http://127.0.0.1:%d", self.kd.port)
  self.client = http.client({})
  -- the signing key is loaded after the cluster settings: auth answers 401 (not 503) then
  assert(M.eventually(function() return self:call("GET", "/api/v1/auth/me") == 401 end, 20),
    "the auth API did not start: " .. self.kd:output())
  return self
end

function Env:stop()
  if self.client then self.client:close() end
  if self.kd and self.kd:running() then self.kd:stop() end
  if self.c then self.c:close() end
  if self.sb then self.sb:stop() end
end

---One request. body: a table is sent as JSON, a string as it is; as: an e-mail (its token, logged
---in once) or nil (no token); headers: more headers (a Content-Type here wins).
---@return integer status
---@return any doc the decoded JSON body (nil when none)
---@return table response
function Env:call(method, path, body, as, headers)
  local h = { ["Content-Type"] = "application/json" }
  if as then h.Authorization = "Bearer " .. self:token(as) end
  for k, v in pairs(headers or {}) do h[k] = v end
  local r = assert(self.client:request({ method = method, url = self.base .. path, timeout = 30, headers = h,
    body = type(body) == "table" and json.encode(body) or body }))
  local ok, doc = pcall(json.decode, r.body or "")
  return r.status, ok and doc or nil, r
end

---One request with an access token as it is (or none), for specs that log in themselves.
---@return table response
---@return any doc the decoded JSON body (nil when none)
function Env:request(method, path, body, token, headers)
  local h = { Authorization = token and ("Bearer " .. token) or nil }
  for k, v in pairs(headers or {}) do h[k] = v end
  local _, doc, r = self:call(method, path, body, nil, h)
  return r, doc
end

---A new login of a user: its access token (asserts 200).
---@param password? string default: the one the user was made with
---@return string token
function Env:login(email, password)
  local status, doc, r = self:call("POST", "/api/v1/auth/login", { email = email,
    password = password or assert(self.passwords[email], "no password for " .. email) })
  assert(status == 200, "login of " .. email .. ": " .. status .. " " .. tostring(r.body) .. "\n" .. self.kd:output())
  return doc.token
end

---The access token of a user (logged in at the first use).
function Env:token(email)
  if not self.tokens[email] then self.tokens[email] = self:login(email) end
  return self.tokens[email]
end

---A response header, by case-insensitive name.
function M.header(r, name)
  for k, v in pairs(r.headers or {}) do
    if k:lower() == name:lower() then return v end
  end
end

---Waits until a Project exists and is Ready; returns it.
function Env:project_ready(name, seconds)
  return M.eventually(function()
    local p = self.c:get("kipper.run/v1alpha1", "Project", name)
    for _, cond in ipairs(p and p.status and p.status.conditions or {}) do
      if cond.type == "Ready" and cond.status == "True" then return p end
    end
  end, seconds or 20)
end

return M
