-- SPDX-License-Identifier: Apache-2.0
-- The recent Events about a Kipper object and what it made (its Deployment, ReplicaSets, Pods,
-- StatefulSet: objects named NAME or NAME-...), newest last, as rows and as text lines. Uses a
-- kip.k8s client and kip.apps.format.
local format = require "kip.apps.format"

local M = {}

local function when(ev)
  return ev.lastTimestamp or ev.eventTime or (ev.series and ev.series.lastObservedTime) or ev.firstTimestamp
    or (ev.metadata and ev.metadata.creationTimestamp)
end

local function related(ev, name)
  local o = ev.involvedObject or ev.regarding or {}
  local n = o.name
  return type(n) == "string" and (n == name or n:sub(1, #name + 1) == name .. "-")
end

---The newest events about name and the objects named after it.
---@param c table kip.k8s client
---@param namespace string
---@param name string
---@param limit? integer default 10
---@return table[] rows {age, type, reason, object, message, count, time}; empty when none or unreadable
function M.recent(c, namespace, name, limit)
  local list = c:list("v1", "Event", { namespace = namespace, all = true })
  local rows = {}
  for _, ev in ipairs(list and list.items or {}) do
    if related(ev, name) then
      local o = ev.involvedObject or ev.regarding or {}
      rows[#rows + 1] = { time = when(ev), age = format.age(when(ev)), type = ev.type or "Normal", reason = ev.reason or "",
        object = string.format("%s/%s", (o.kind or "?"):lower(), o.name or "?"), message = ev.message or ev.note or "",
        count = ev.count }
    end
  end
  table.sort(rows, function(a, b)
    return (format.parse_time(a.time) or 0) < (format.parse_time(b.time) or 0)
  end)
  limit = limit or 10
  while #rows > limit do table.remove(rows, 1) end
  return rows
end

---The events as indented text lines ("" when none).
---@param rows table[] from M.recent
function M.text(rows)
  local out = {}
  for _, r in ipairs(rows) do
    out[#out + 1] = string.format("  %-6s %-8s %-20s %-28s %s", r.age, r.type, r.reason, r.object, r.message)
  end
  return table.concat(out, "\n")
end

return M
