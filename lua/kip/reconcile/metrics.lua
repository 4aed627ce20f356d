-- SPDX-License-Identifier: Apache-2.0
-- Counters, gauges and histograms with labels, written in the Prometheus text format (version
-- 0.0.4) for kipperd's /metrics. Pure.
local M = {}

M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
-- seconds: from a skipped reconcile (no request) to a slow API
M.DEFAULT_BUCKETS = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }

local Registry = {}
Registry.__index = Registry

function M.new()
  return setmetatable({ families = {}, order = {} }, Registry)
end

local function family(self, name, typ, help, buckets)
  local f = self.families[name]
  if f then
    assert(f.type == typ, "metric " .. name .. " is a " .. f.type)
    return f
  end
  f = { name = name, type = typ, help = help, series = {}, keys = {}, buckets = buckets }
  self.families[name] = f
  self.order[#self.order + 1] = name
  return f
end

local function escape(v)
  return (tostring(v):gsub("\\", "\\\\"):gsub("\n", "\\n"):gsub('"', '\\"'))
end

-- '{a="x",b="y"}' with the label names sorted, or "" without labels.
local function label_text(labels)
  if not labels or next(labels) == nil then return "" end
  local names = {}
  for k in pairs(labels) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for _, k in ipairs(names) do parts[#parts + 1] = string.format('%s="%s"', k, escape(labels[k])) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function series(f, labels)
  local key = label_text(labels)
  local s = f.series[key]
  if not s then
    s = { labels = labels or {}, value = 0 }
    if f.buckets then
      s.counts, s.sum, s.count = {}, 0, 0
      for i = 1, #f.buckets do s.counts[i] = 0 end
    end
    f.series[key] = s
    f.keys[#f.keys + 1] = key
    table.sort(f.keys)
  end
  return s
end

---Declares a counter (values only go up).
function Registry:counter(name, help) family(self, name, "counter", help) end
---Declares a gauge.
function Registry:gauge(name, help) family(self, name, "gauge", help) end
---Declares a histogram with upper bounds `buckets` (seconds, ascending; default M.DEFAULT_BUCKETS).
function Registry:histogram(name, help, buckets) family(self, name, "histogram", help, buckets or M.DEFAULT_BUCKETS) end

---Adds n (default 1) to a counter or gauge.
---@param name string
---@param labels table<string, string>|nil
---@param n? number
function Registry:inc(name, labels, n)
  local f = assert(self.families[name], "no metric " .. name)
  local s = series(f, labels)
  s.value = s.value + (n or 1)
end

---Sets a gauge.
function Registry:set(name, labels, value)
  local f = assert(self.families[name], "no metric " .. name)
  series(f, labels).value = value
end

---Records one observation in a histogram.
function Registry:observe(name, labels, value)
  local f = assert(self.families[name], "no metric " .. name)
  local s = series(f, labels)
  for i, bound in ipairs(f.buckets) do
    if value <= bound then s.counts[i] = s.counts[i] + 1 end
  end
  s.sum, s.count = s.sum + value, s.count + 1
end

---The value of a counter or gauge series (0 when never set).
function Registry:value(name, labels)
  local f = self.families[name]
  local s = f and f.series[label_text(labels)]
  return s and s.value or 0
end

local function number(v)
  if v == math.huge then return "+Inf" end
  if math.type(v) == "integer" or (v == math.floor(v) and math.abs(v) < 2 ^ 53) then
    return string.format("%d", v)
  end
  return string.format("%.9g", v)
end

-- labels plus one more, as text
local function with(labels, k, v)
  local copy = {}
  for a, b in pairs(labels) do copy[a] = b end
  copy[k] = v
  return label_text(copy)
end

---Everything, in the Prometheus text format.
---@return string
function Registry:render()
  local out = {}
  for _, name in ipairs(self.order) do
    local f = self.families[name]
    out[#out + 1] = string.format("# HELP %s %s", name, (f.help:gsub("\\", "\\\\"):gsub("\n", "\\n")))
    out[#out + 1] = string.format("# TYPE %s %s", name, f.type)
    for _, key in ipairs(f.keys) do
      local s = f.series[key]
      if f.type == "histogram" then
        for i, bound in ipairs(f.buckets) do
          out[#out + 1] = string.format("%s_bucket%s %s", name, with(s.labels, "le", number(bound)), number(s.counts[i]))
        end
        out[#out + 1] = string.format("%s_bucket%s %s", name, with(s.labels, "le", "+Inf"), number(s.count))
        out[#out + 1] = string.format("%s_sum%s %s", name, key, number(s.sum))
        out[#out + 1] = string.format("%s_count%s %s", name, key, number(s.count))
      else
        out[#out + 1] = string.format("%s%s %s", name, key, number(s.value))
      end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

---Reads the samples of a Prometheus text exposition: {["name{labels}"] = value}.
---@param text string
---@return table<string, number>
function M.parse(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, 1) ~= "#" then
      local series_name, value = line:match("^(%S+)%s+(%S+)$")
      if series_name then out[series_name] = value == "+Inf" and math.huge or tonumber(value) end
    end
  end
  return out
end

return M
