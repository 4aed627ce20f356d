-- SPDX-License-Identifier: Apache-2.0
-- Pod logs in the sandbox API: there are no containers, so every line is simulated and says
-- so. Supports container, tailLines, sinceSeconds, timestamps, previous (for a container whose
-- status shows a restart: its lines say "previous") and follow (new lines streamed every second
-- while the pod and its container live: a followed log ends when the pod goes or its restart count
-- changes, as a real container's does). Uses kip.server streams.
local server = require "kip.server"
local status = require "kip.sandbox.status"

local M = {}

local LINES_BEFORE = 20 -- lines a pod has "printed" when first asked

local function line(pod, container, n, stamp, previous)
  local text = string.format("[kip sandbox] simulated log line %d from pod %s %scontainer %s (no real container runs here)",
    n, pod.metadata.name, previous and "previous " or "", container)
  if stamp then text = os.date("!%Y-%m-%dT%H:%M:%S.000000000Z") .. " " .. text end
  return text .. "\n"
end

local function container_of(pod, q)
  local names = {}
  for _, c in ipairs((pod.spec or {}).containers or {}) do names[#names + 1] = c.name end
  if q.container and q.container ~= "" then
    for _, n in ipairs(names) do if n == q.container then return n end end
    status.bad_request(string.format("container %s is not valid for pod %s", q.container, pod.metadata.name))
  end
  if #names == 1 then return names[1] end
  status.bad_request(string.format("a container name must be specified for pod %s, choose one of: [%s]",
    pod.metadata.name, table.concat(names, " ")))
end

-- How often the container restarted, from the pod's status.
local function restarts(pod, container)
  for _, cs in ipairs((pod.status or {}).containerStatuses or {}) do
    if cs.name == container then return cs.restartCount or 0 end
  end
  return 0
end

---Answers GET .../pods/NAME/log.
function M.serve(api, def, ns, name, q)
  local pod = api.store:get(def, ns, name)
  if not pod then status.not_found(def, name) end
  local container = container_of(pod, q)
  local previous = q.previous == "true"
  if previous and restarts(pod, container) == 0 then
    status.bad_request(string.format("previous terminated container %q in pod %q not found", container, name))
  end
  local phase = pod.status and pod.status.phase
  if phase == "Pending" then
    status.bad_request(string.format("container %q in pod %q is waiting to start: ContainerCreating", container, name))
  end
  local stamp = q.timestamps == "true"
  local total = LINES_BEFORE
  local from = 1
  local tail = tonumber(q.tailLines or "")
  if tail and tail >= 0 then from = math.max(1, total - tail + 1) end
  local since = tonumber(q.sinceSeconds or "")
  if since and since < total then from = math.max(from, total - since + 1) end
  local text = {}
  for n = from, total do text[#text + 1] = line(pod, container, n, stamp, previous) end
  if q.follow ~= "true" or previous then -- a terminated container's log just ends
    return { status = 200, headers = { ["Content-Type"] = "text/plain" }, body = table.concat(text) }
  end
  local stream = server.stream()
  stream:write(table.concat(text))
  api.followers = api.followers or {}
  api.followers[#api.followers + 1] = { stream = stream, def = def, ns = ns, name = name, uid = pod.metadata.uid,
    container = container, n = total, stamp = stamp, restarts = restarts(pod, container) }
  return { status = 200, headers = { ["Content-Type"] = "text/plain" }, stream = stream }
end

---Writes one more line to every followed log (called each second); ends those whose pod is gone or
---whose container restarted.
function M.tick(api)
  local keep = {}
  for _, f in ipairs(api.followers or {}) do
    local pod = api.store:get(f.def, f.ns, f.name)
    if pod and pod.metadata.uid == f.uid and restarts(pod, f.container) == f.restarts and f.stream:is_open() then
      f.n = f.n + 1
      if f.stream:write(line(pod, f.container, f.n, f.stamp)) then keep[#keep + 1] = f end
    elseif f.stream:is_open() then
      f.stream:close()
    end
  end
  api.followers = keep
end

return M
