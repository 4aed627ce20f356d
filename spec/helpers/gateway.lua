-- SPDX-License-Identifier: Apache-2.0
-- Shared by the kipper-gateway specs: the program under test (bin/kipper-gateway beside the kip
-- under test) started with its files in a folder and stopped by signal, random loopback addresses
-- 127.0.0.2..250 for clusters, and `openssl s_server -www` standing in for a cluster's HTTPS
-- ingress. Uses helpers, kip.proc and kip.fs.
local fs = require "kip.fs"
local helpers = require "helpers"
local proc = require "kip.proc"

local M = {}

---Path of the kipper-gateway under test.
function M.bin()
  local build = os.getenv("KIP_BUILD_DIR")
  if build and build ~= "" then return build .. "/bin/kipper-gateway" end
  local dir = helpers.kip_bin():match("^(.*)/[^/]+$") or "."
  if fs.exists(dir .. "/bin/kipper-gateway") then return dir .. "/bin/kipper-gateway" end
  return dir .. "/kipper-gateway"
end

-- distinct random loopback addresses 127.0.0.2..250 for this run
local used = {}

---A loopback address not handed out before in this run.
function M.loopback()
  for _ = 1, 1000 do
    local n = math.random(2, 250)
    if not used[n] then
      used[n] = true
      return "127.0.0." .. n
    end
  end
  error("no free loopback address")
end

local Gateway = {}
Gateway.__index = Gateway
local starts = 0

---Starts kipper-gateway with its registry in dir (and dir/admin-token when it exists), plus args;
---waits until it serves. Fields: port (the API), listen and tls_listen (the proxy's ports, when
---asked for), log (its output file), p (the kip.proc process).
---@param dir string
---@param args? string[]
function M.start(dir, args)
  starts = starts + 1
  local self = setmetatable({ dir = dir, log = string.format("%s/gateway-%d.log", dir, starts) }, Gateway)
  local argv = { M.bin(), "--zone", "kipper.run", "--registry", dir .. "/registry.json", "--api-listen", "127.0.0.1:0", "-v" }
  if fs.exists(dir .. "/admin-token") then
    argv[#argv + 1] = "--admin-token-file"
    argv[#argv + 1] = dir .. "/admin-token"
  end
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  self.p = assert(proc.spawn(argv, { stdout = self.log, stderr = "stdout" }))
  local started = helpers.eventually(function()
    return (fs.read(self.log) or ""):match("started ([^\n]*)") or (not self.p:alive() and "")
  end, 15)
  assert(started and started ~= "", "kipper-gateway did not start: " .. tostring(fs.read(self.log)))
  self.port = tonumber(started:match("api=127%.0%.0%.1:(%d+)"))
  self.listen = tonumber(started:match(" listen=[%d.]+:(%d+)"))
  self.tls_listen = tonumber(started:match(" tls_listen=[%d.]+:(%d+)"))
  return self
end

function Gateway:url(path)
  return string.format("http://127.0.0.1:%d%s", self.port, path or "")
end

function Gateway:output()
  return fs.read(self.log) or ""
end

---How many times text occurs in the output so far.
function Gateway:count(text)
  local n, at, out = 0, 1, self:output()
  while true do
    local _, e = out:find(text, at, true)
    if not e then return n end
    n, at = n + 1, e + 1
  end
end

---Sends a signal and returns the exit result once it has stopped (SIGKILL after 20 s, and an error).
function Gateway:stop(signal)
  if self.result then return self.result end
  self.p:kill(signal or "TERM")
  self.result = self.p:wait(20)
  if not self.result then
    self.p:kill("KILL")
    self.result = self.p:wait()
    error("kipper-gateway did not stop on " .. tostring(signal) .. ": " .. self:output())
  end
  return self.result
end

---Starts `openssl s_server -www` on ip:port (default 443, which needs root) with a certificate and
---its key (PEM files); it answers GET with a status page over HTTP/1.0, one connection at a time.
---Waits until it answers; stop it with :stop().
---@param opts {ip: string, port?: integer, cert: string, key: string, log: string}
function M.s_server(opts)
  local addr = opts.ip .. ":" .. (opts.port or 443)
  local p = assert(proc.spawn({ "openssl", "s_server", "-accept", addr, "-cert", opts.cert, "-key", opts.key,
    "-www", "-quiet" }, { stdout = opts.log, stderr = "stdout" }))
  local up = helpers.eventually(function()
    if not p:alive() then return "dead" end
    local r = proc.run({ "curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "https://" .. addr .. "/" })
    return r and r.stdout == "200" and "up"
  end, 10)
  if up ~= "up" then
    p:kill("KILL")
    p:wait(5)
    error("openssl s_server did not start on " .. addr .. ": " .. tostring(fs.read(opts.log)))
  end
  local s = { p = p, address = addr }
  function s.stop()
    if s.p then
      s.p:kill("TERM")
      if not s.p:wait(5) then s.p:kill("KILL"); s.p:wait(5) end
      s.p = nil
    end
  end
  return s
end

return M
