-- SPDX-License-Identifier: Apache-2.0
-- The logs of every pod of an App, each line prefixed "[POD] ", shared by `kip app logs` and
-- kipperd's live logs (kipperd.logs). Without follow, each pod's log in turn (or its previous
-- container's). With follow, a Follower keeps one log stream per running pod and reads them
-- without waiting (stream:readline(0)), so a caller's loop can take turns with other work; pods
-- that start later are added by calling follower:update(pods) again. M.follow is the CLI's loop on
-- it. Uses a kip.k8s client, kip.apps.pods and kip.server (sleep).
local pods = require "kip.apps.pods"

local M = {}

---The pod's first container (an App's pods run one; naming it keeps the API from refusing a pod
---that has sidecars).
function M.container(pod)
  local cs = pod.spec and pod.spec.containers
  return cs and cs[1] and cs[1].name or nil
end

---A log line as shown: "[POD] text".
function M.prefix(pod_name, line)
  return "[" .. pod_name .. "] " .. line
end

---Calls on_line(line) for each line of a log text (a last line without "\n" too).
local function each_line(text, on_line)
  for line in text:gmatch("([^\n]*)\n") do on_line(line) end
  local last = text:match("([^\n]+)$")
  if last then on_line(last) end
end

---Reads the log of each pod once, in order, calling on_line(pod_name, line).
---@param c table kip.k8s client
---@param list table[] the pods (kip.apps.pods.list)
---@param opts {namespace: string, tail?: integer, since?: integer, previous?: boolean}
---@param on_line fun(pod: string, line: string)
---@return string[] problems messages for pods whose log could not be read
function M.read(c, list, opts, on_line)
  local problems = {}
  for _, pod in ipairs(list) do
    local name = pod.metadata.name
    local text, err = c:logs(opts.namespace, name, { container = M.container(pod), tail = opts.tail, since = opts.since,
      previous = opts.previous or nil })
    if text then
      each_line(text, function(line) on_line(name, line) end)
    else
      problems[#problems + 1] = string.format("%s: %s", name, tostring(err))
    end
  end
  return problems
end

---Prints the logs of the App's pods once.
---@param c table kip.k8s client
---@param opts {namespace: string, app: string, tail?: integer, since?: integer, previous?: boolean, out?: file*}
---@return integer count pods read
---@return string[] problems messages for pods whose log could not be read
function M.print(c, opts)
  local out = opts.out or io.stdout
  local list = pods.list(c, opts.namespace, opts.app)
  local problems = M.read(c, list, opts, function(name, line) out:write(M.prefix(name, line), "\n") end)
  out:flush()
  return #list, problems
end

local Follower = {}
Follower.__index = Follower

-- How often the pod's (first) container restarted.
local function restarts(pod)
  local cs = pod.status and pod.status.containerStatuses
  return cs and cs[1] and cs[1].restartCount or 0
end

---A follower of pod logs. on_line(pod, line) gets every line; notice(text) what a person may want
---to know (a pod followed later, a log that broke). Nothing is opened until update().
---@param c table kip.k8s client (its transfers are read with readline(0): use it on one thread)
---@param opts {namespace: string, tail?: integer, since?: integer, on_line: fun(pod: string, line: string),
---  notice?: fun(text: string), open_timeout?: number}
---open_timeout: seconds an open may wait for the API's answer (the pod is tried again at the next update)
function M.follower(c, opts)
  return setmetatable({ c = c, namespace = opts.namespace, tail = opts.tail, since = opts.since,
    open_timeout = opts.open_timeout,
    on_line = assert(opts.on_line, "logs.follower: on_line is required"), notice = opts.notice or function() end,
    streams = {}, started = {}, first = true }, Follower)
end

---Opens a log stream for each pod in the list that runs (or ran) and is not followed yet (a pod
---whose container restarted counts as new once its old log ended). On the first call tail/since
---apply; pods and containers found later are shown from their start.
---@param list table[] the App's pods now
---@return integer opened
function Follower:update(list)
  local opened = 0
  for _, pod in ipairs(list) do
    local name = pod.metadata.name
    -- a container that restarted is a new log: followed again from its start once the old one ended
    local key = pod.metadata.uid .. "#" .. restarts(pod)
    local phase = pod.status and pod.status.phase
    if not self.started[key] and not self.streams[name] and (phase == "Running" or phase == "Succeeded" or phase == "Failed") then
      local s, err = self.c:logs(self.namespace, name, { follow = true, stream = true, container = M.container(pod),
        tail = self.first and self.tail or nil, since = self.first and self.since or nil, open_timeout = self.open_timeout })
      if s then
        self.streams[name], self.started[key] = s, true
        opened = opened + 1
        if not self.first then self.notice(string.format("following new pod %s", name)) end
      else
        self.notice(string.format("cannot read the log of %s yet: %s", name, tostring(err)))
      end
    end
  end
  self.first = false
  return opened
end

-- Handles what readline gave for one stream: true when a line was passed on.
function Follower:_take(name, s, line, err)
  if line then
    self.on_line(name, line)
    return true
  end
  if line == nil then -- the log ended (the container stopped) or broke
    s:close()
    self.streams[name] = nil
    if err then self.notice(string.format("the log of %s broke: %s", name, err)) end
  end
  return false
end

---Passes on the lines that have arrived, without waiting; at most max lines per stream (default
---no limit), so a chatty pod cannot starve the caller. Ended logs are closed.
---@param max? integer
---@return integer lines passed on
function Follower:pump(max)
  local n = 0
  local names = {}
  for name in pairs(self.streams) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local s = self.streams[name]
    local got = 0
    while s and (not max or got < max) do
      local line, err = s:readline(0)
      if not self:_take(name, s, line, err) then break end
      got = got + 1
    end
    n = n + got
  end
  return n
end

---Waits up to seconds for a line on one of the streams (moving every transfer of the client along);
---passes it on. Sleeps when nothing is followed.
function Follower:wait(seconds)
  local name, s = next(self.streams)
  if not s then
    require("kip.server").sleep(seconds)
    return
  end
  local line, err = s:readline(seconds)
  self:_take(name, s, line, err)
end

---How many logs are followed now.
function Follower:count()
  local n = 0
  for _ in pairs(self.streams) do n = n + 1 end
  return n
end

---Closes every log stream.
function Follower:close()
  for name, s in pairs(self.streams) do
    s:close()
    self.streams[name] = nil
  end
end

---Follows the logs of the App's pods until interrupted (or opts.duration passes, for tests).
---@param c table kip.k8s client
---@param opts {namespace: string, app: string, tail?: integer, since?: integer, out?: file*,
---  notice?: fun(text: string), rescan?: number, duration?: number}
function M.follow(c, opts)
  local out = opts.out or io.stdout
  local f = M.follower(c, { namespace = opts.namespace, tail = opts.tail, since = opts.since, notice = opts.notice,
    on_line = function(name, line) out:write(M.prefix(name, line), "\n") end })
  local next_scan = 0
  local stop_at = opts.duration and (os.time() + opts.duration) or nil
  while not stop_at or os.time() < stop_at do
    if os.time() >= next_scan then
      f:update(pods.list(c, opts.namespace, opts.app))
      next_scan = os.time() + (opts.rescan or 2)
    end
    if f:pump() > 0 then
      out:flush()
    else
      f:wait(0.2) -- nothing waiting: block a little on one stream, which moves every transfer along
      out:flush()
    end
  end
  f:close()
end

return M
