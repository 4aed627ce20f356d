-- SPDX-License-Identifier: Apache-2.0
-- `kip sandbox agent`: joins a simulated node to a sandbox API (or anything that serves k3s's
-- /cacerts and takes its node token) as a k3s agent joins a server: the CA from /cacerts must
-- match the hash in the token; then, with the token as a bearer token, it registers the Node
-- (labels and status shaped by kip.sandbox.sim.node) and posts the Ready heartbeat until
-- SIGINT/SIGTERM, leaving the Node behind as a kubelet does. While the API is not up it retries
-- with a back-off. Uses kip.http, kip.k8s.client, kip.tls and kip.server (whose loop gives ticks
-- and signals; it also answers a kubelet-like /healthz on a free loopback port).
local auth = require "kip.sandbox.auth"
local client_mod = require "kip.k8s.client"
local http = require "kip.http"
local node = require "kip.sandbox.sim.node"
local server = require "kip.server"
local tls = require "kip.tls"

local M = {}

local RETRYABLE = { connect = true, timeout = true, io = true, unavailable = true, internal = true }

---@class kip.sandbox.agent.opts
---@field server string the API's URL (https://HOST:PORT)
---@field token string the node token (full K10... form, or just the password)
---@field node_name string
---@field labels? table<string, string> added to the k3s labels
---@field node_ip? string the InternalIP to report (default 127.0.0.1)
---@field arch? string kubernetes.io/arch (default amd64)
---@field kubelet_version? string
---@field interval? number seconds between heartbeats (default 10)
---@field say fun(line: string) progress output

local Agent = {}
Agent.__index = Agent

-- Fails for good: the loop stops and run() returns the message and a hint.
function Agent:fatal(message, hint)
  self.failure = { message = message, hint = hint }
  self.srv:stop()
end

-- Schedules the next attempt to join, doubling the wait up to 10 s.
function Agent:retry(now, why)
  self.backoff = math.min((self.backoff or 0.5) * 2, 10)
  self.next_at = now + self.backoff
  self.opts.say(string.format("kip sandbox agent: waiting for the API at %s (%s); trying again in %gs",
    self.opts.server, why, self.backoff))
end

-- The CA of the server, checked against the token. Returns the PEM, or nil and whether to retry.
function Agent:fetch_ca(now)
  local opts = self.opts
  local resp, err, code = http.request({ url = opts.server .. "/cacerts", insecure = true, connect_timeout = 5, timeout = 10 })
  if not resp then
    if RETRYABLE[code] then return self:retry(now, err) end
    return self:fatal(string.format("cannot fetch the CA of %s: %s", opts.server, err),
      "Is it a k3s server, or `kip sandbox api` started with --node-token-file?")
  end
  if resp.status ~= 200 then
    if resp.status >= 500 then return self:retry(now, "HTTP " .. resp.status .. " from /cacerts") end
    return self:fatal(string.format("%s/cacerts answered HTTP %d: it serves no CA to join with", opts.server, resp.status),
      "Is it a k3s server, or `kip sandbox api` started with --node-token-file?")
  end
  local pem = resp.body
  if self.parts.ca_hash then
    if not tls.equal(tls.sha256_hex(pem), self.parts.ca_hash) then
      return self:fatal(string.format("the CA of %s does not match the token", opts.server),
        "The token is for another server (or the server's CA changed): copy the server's node token again.")
    end
  elseif not self.warned_short then
    self.warned_short = true
    opts.say("kip sandbox agent: warning: the token has no CA hash; trusting the CA the server sent")
  end
  return pem
end

-- Answers a failed API call: retry when the API is away, stop on refusals.
function Agent:failed(now, what, err, code)
  if RETRYABLE[code] then return self:retry(now, err) end
  if code == "unauthorized" or code == "forbidden" then
    return self:fatal(string.format("the API at %s refused the token (%s): %s", self.opts.server,
      code == "unauthorized" and "401 Unauthorized" or "403 Forbidden", err),
      "Check --token-file: it must hold the server's node token (kip sandbox api --node-token-file).")
  end
  return self:fatal(string.format("%s: %s", what, err))
end

function Agent:status(previous)
  local opts = self.opts
  return node.status({ name = opts.node_name, ip = opts.node_ip or "127.0.0.1", arch = opts.arch,
    kubelet_version = opts.kubelet_version, previous = previous,
    note = "simulated by kip sandbox agent: no containers run on this node" })
end

function Agent:metadata()
  local opts = self.opts
  local labels = node.labels(opts.node_name, { arch = opts.arch })
  for k, v in pairs(opts.labels or {}) do labels[k] = v end
  return { name = opts.node_name, labels = labels, annotations = {
    ["k3s.io/hostname"] = opts.node_name, ["k3s.io/internal-ip"] = opts.node_ip or "127.0.0.1",
    ["node.alpha.kubernetes.io/ttl"] = "0", ["volumes.kubernetes.io/controller-managed-attach-detach"] = "true" } }
end

local QUERY = { fieldManager = "k3s" }

-- Creates the Node, or takes over an existing one (its labels and status become this agent's).
function Agent:register(now)
  local c, path = self.client, "/api/v1/nodes/" .. self.opts.node_name
  local current, err, code = c:request("GET", path)
  if not current and code ~= "notfound" then return self:failed(now, "GET " .. path, err, code) end
  local ok
  if not current then
    ok, err, code = c:request("POST", "/api/v1/nodes", { query = QUERY,
      body = { apiVersion = "v1", kind = "Node", metadata = self:metadata(), spec = {}, status = self:status() } })
  else
    ok, err, code = c:request("PATCH", path, { query = QUERY, content_type = "application/merge-patch+json",
      body = { metadata = self:metadata() } })
    if ok then
      ok, err, code = c:request("PATCH", path .. "/status", { query = QUERY, content_type = "application/merge-patch+json",
        body = { status = self:status((current.status or {}).conditions) } })
    end
  end
  if not ok then return self:failed(now, "registering node " .. self.opts.node_name, err, code) end
  self.registered, self.joined, self.backoff, self.next_at = true, true, nil, now + (self.opts.interval or 10)
  self.opts.say(string.format("kip sandbox agent: node %s %s %s: Ready (simulated kubelet: no container runs here)",
    self.opts.node_name, current and "took over its Node on" or "joined", self.opts.server))
end

-- Posts the Ready heartbeat; re-registers a Node that was deleted.
function Agent:heartbeat(now)
  local c, path = self.client, "/api/v1/nodes/" .. self.opts.node_name
  self.next_at = now + (self.opts.interval or 10)
  local current, err, code = c:request("GET", path)
  if not current and code == "notfound" then
    self.opts.say(string.format("kip sandbox agent: node %s was deleted from the API; registering it again", self.opts.node_name))
    self.registered = false
    return self:register(now)
  end
  local ok = current and c:request("PATCH", path .. "/status", { query = QUERY, content_type = "application/merge-patch+json",
    body = { status = self:status((current.status or {}).conditions) } })
  if not current or not ok then
    if code == "unauthorized" or code == "forbidden" then return self:failed(now, "heartbeat", err, code) end
    local why = err or "the heartbeat was refused"
    if self.last_error ~= why then self.opts.say("kip sandbox agent: warning: heartbeat failed: " .. why .. " (retrying)") end
    self.last_error = why
    return
  end
  if self.last_error then self.opts.say("kip sandbox agent: heartbeats go through again") end
  self.last_error = nil
end

function Agent:on_tick(now)
  if now < (self.next_at or 0) then return end
  if self.registered then return self:heartbeat(now) end
  if not self.client then
    local pem = self:fetch_ca(now)
    if not pem then return end
    self.client = client_mod.new({ server = self.opts.server, ca_data = pem, token = self.opts.token }, { timeout = 10,
      user_agent = "k3s/" .. (self.opts.kubelet_version or node.KUBELET_VERSION) .. " (kip sandbox agent)" })
  end
  self:register(now)
end

---Joins and heartbeats until a signal. Returns the signal's name, or nil, message, hint.
---@param opts kip.sandbox.agent.opts
---@return string|nil why "SIGINT"|"SIGTERM"
---@return string? message
---@return string? hint
---@return boolean? joined whether the node was registered before the signal
function M.run(opts)
  local parts, perr = auth.parse(opts.token)
  if not parts then return nil, "the node token is not usable: " .. perr, "Copy the server's node token file again." end
  opts.server = opts.server:gsub("/+$", "")
  opts.token = opts.token:match("^%s*(.-)%s*$")
  local self = setmetatable({ opts = opts, parts = parts }, Agent)
  local srv, err = server.listen({ listen = "127.0.0.1:0", threads = 2, handler = function(req)
    if req.path == "/healthz" then
      return { status = self.registered and 200 or 503, body = self.registered and "ok" or "not registered yet" }
    end
    return { status = 404, body = "not found" }
  end })
  if not srv then return nil, "cannot start the agent's loop: " .. tostring(err) end
  self.srv = srv
  local why = srv:run({ tick = 0.2, on_tick = function(now) self:on_tick(now) end })
  srv:close()
  if self.client then self.client:close() end
  if self.failure then return nil, self.failure.message, self.failure.hint end
  return why, nil, nil, self.joined
end

return M
