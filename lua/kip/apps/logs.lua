-- SPDX-License-Identifier: Apache-2.0
-- The logs of every pod of an App, each line prefixed "[POD] ". Without follow, each pod's log in
-- turn; with follow, one stream per running pod read in turns (stream:readline with a short
-- wait), and pods that start later are picked up as they appear. Uses a kip.k8s client,
-- kip.apps.pods and kip.server (sleep).
local pods = require "kip.apps.pods"

local M = {}

-- The pod's first container (an App's pods run one; naming it keeps the API from refusing a pod
-- that has sidecars).
local function container(pod)
  local cs = pod.spec and pod.spec.containers
  return cs and cs[1] and cs[1].name or nil
end

local function emit(out, pod, line)
  out:write("[", pod, "] ", line, "\n")
end

---Prints the logs of the App's pods once.
---@param c table kip.k8s client
---@param opts {namespace: string, app: string, tail?: integer, since?: integer, out?: file*}
---@return integer count pods read
---@return string[] problems messages for pods whose log could not be read
function M.print(c, opts)
  local out = opts.out or io.stdout
  local problems = {}
  local list = pods.list(c, opts.namespace, opts.app)
  for _, pod in ipairs(list) do
    local name = pod.metadata.name
    local text, err = c:logs(opts.namespace, name, { container = container(pod), tail = opts.tail, since = opts.since })
    if text then
      for line in text:gmatch("([^\n]*)\n") do emit(out, name, line) end
      local last = text:match("([^\n]+)$")
      if last then emit(out, name, last) end
    else
      problems[#problems + 1] = string.format("%s: %s", name, tostring(err))
    end
  end
  out:flush()
  return #list, problems
end

---Follows the logs of the App's pods until interrupted (or opts.duration passes, for tests).
---@param c table kip.k8s client
---@param opts {namespace: string, app: string, tail?: integer, since?: integer, out?: file*,
---  notice?: fun(text: string), rescan?: number, duration?: number}
function M.follow(c, opts)
  local out = opts.out or io.stdout
  local notice = opts.notice or function() end
  local sleep = require("kip.server").sleep
  local streams, started = {}, {}   -- pod name -> stream; pod uid -> true once followed
  local first_scan = true
  local next_scan = 0
  local stop_at = opts.duration and (os.time() + opts.duration) or nil
  while not stop_at or os.time() < stop_at do
    if os.time() >= next_scan then
      for _, pod in ipairs(pods.list(c, opts.namespace, opts.app)) do
        local name, uid = pod.metadata.name, pod.metadata.uid
        local phase = pod.status and pod.status.phase
        if not started[uid] and not streams[name] and (phase == "Running" or phase == "Succeeded" or phase == "Failed") then
          -- pods there from the start honour --tail/--since; later ones are shown from their start
          local s, err = c:logs(opts.namespace, name, { follow = true, stream = true, container = container(pod),
            tail = first_scan and opts.tail or nil, since = first_scan and opts.since or nil })
          if s then
            streams[name], started[uid] = s, true
            if not first_scan then notice(string.format("following new pod %s", name)) end
          else
            notice(string.format("cannot read the log of %s yet: %s", name, tostring(err)))
          end
        end
      end
      first_scan = false
      next_scan = os.time() + (opts.rescan or 2)
    end
    local any = false
    for name, s in pairs(streams) do
      while true do
        local line, err = s:readline(0)
        if line then
          emit(out, name, line)
          any = true
        else
          if line == nil then   -- the log ended (the container stopped) or broke
            s:close()
            streams[name] = nil
            if err then notice(string.format("the log of %s broke: %s", name, err)) end
          end
          break
        end
      end
    end
    if any then
      out:flush()
    else
      -- nothing waiting: block a little on one stream, which moves every transfer along
      local name, s = next(streams)
      if s then
        local line = s:readline(0.2)
        if line then
          emit(out, name, line)
          out:flush()
        end   -- nil (the end) comes back on the next turn, where it is handled
      else
        sleep(0.2)
      end
    end
  end
  for _, s in pairs(streams) do s:close() end
end

return M
