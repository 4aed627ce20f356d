-- SPDX-License-Identifier: Apache-2.0
-- Server-side Table output (meta.k8s.io/v1 Table), which `kubectl get` asks for: the columns
-- kube-apiserver prints for each built-in kind, CRD additionalPrinterColumns, and ages as
-- kubectl shows them ("5m", "2d3h"). Uses kip.util.tables, kip.util.time and kip.sandbox.jsonpath
-- (the JSONPath of printer columns).
local jsonpath = require "kip.sandbox.jsonpath"
local tables = require "kip.util.tables"
local time = require "kip.util.time"
local yaml = require "kip.yaml"

local M = {}

---Parses an RFC 3339 timestamp ("2026-11-23T21:07:39Z", "2026-11-23T22:07:39.5+01:00") into Unix
---seconds.
M.parse_time = time.parse_rfc3339

---@return string now as RFC 3339 UTC
function M.now()
  return time.format_rfc3339()
end

---kubectl's short human duration (apimachinery's HumanDuration): 45s, 5m, 3h, 2d3h, 400d; a time
---more than a second ahead is "<invalid>".
function M.age(seconds)
  if not seconds then return "<unknown>" end
  seconds = seconds < 0 and math.ceil(seconds) or math.floor(seconds)
  if seconds < -1 then return "<invalid>" end
  if seconds < 0 then return "0s" end
  if seconds < 120 then return seconds .. "s" end
  local minutes = seconds // 60
  if minutes < 10 then
    local s = seconds % 60
    return s == 0 and (minutes .. "m") or string.format("%dm%ds", minutes, s)
  end
  if minutes < 180 then return minutes .. "m" end
  local hours = minutes // 60
  if hours < 8 then
    local m = minutes % 60
    return m == 0 and (hours .. "h") or string.format("%dh%dm", hours, m)
  end
  if hours < 48 then return hours .. "h" end
  local days = hours // 24
  if days < 8 then
    local h = hours % 24
    return h == 0 and (days .. "d") or string.format("%dd%dh", days, h)
  end
  if days < 730 then return days .. "d" end
  return (days // 365) .. "y" .. (days % 365) .. "d"
end

local function age_of(obj)
  local t = M.parse_time(obj.metadata and obj.metadata.creationTimestamp)
  return t and M.age(os.time() - t) or "<unknown>"
end

local function count(t)
  local n = 0
  for _ in pairs(type(t) == "table" and t or {}) do n = n + 1 end
  return n
end

local function ready_containers(pod)
  local total = #((pod.spec or {}).containers or {})
  local ready = 0
  for _, cs in ipairs((pod.status or {}).containerStatuses or {}) do
    if cs.ready then ready = ready + 1 end
  end
  return string.format("%d/%d", ready, total)
end

local function restarts(pod)
  local n = 0
  for _, cs in ipairs((pod.status or {}).containerStatuses or {}) do n = n + (cs.restartCount or 0) end
  return n
end

local function pod_status(pod)
  if pod.metadata.deletionTimestamp then return "Terminating" end
  local st = pod.status or {}
  for _, cs in ipairs(st.containerStatuses or {}) do
    local waiting = cs.state and cs.state.waiting
    if waiting and waiting.reason then return waiting.reason end
    local term = cs.state and cs.state.terminated
    if term and term.reason and st.phase ~= "Succeeded" then return term.reason end
  end
  if st.phase == "Succeeded" then return "Completed" end
  return st.phase or "Pending"
end

local function service_ports(svc)
  local parts = {}
  for _, p in ipairs((svc.spec or {}).ports or {}) do
    local s = tostring(p.port)
    if p.nodePort then s = s .. ":" .. p.nodePort end
    parts[#parts + 1] = s .. "/" .. (p.protocol or "TCP")
  end
  return #parts > 0 and table.concat(parts, ",") or "<none>"
end

local function node_ready(node)
  local out = "Unknown"
  for _, c in ipairs((node.status or {}).conditions or {}) do
    if c.type == "Ready" then out = c.status == "True" and "Ready" or "NotReady" end
  end
  if (node.spec or {}).unschedulable then out = out .. ",SchedulingDisabled" end
  return out
end

local function node_roles(node)
  local roles = {}
  for k in pairs(node.metadata.labels or {}) do
    local r = k:match("^node%-role%.kubernetes%.io/(.+)$")
    if r then roles[#roles + 1] = r end
  end
  table.sort(roles)
  return #roles > 0 and table.concat(roles, ",") or "<none>"
end

local function job_completions(job)
  local want = (job.spec or {}).completions or 1
  return string.format("%d/%d", (job.status or {}).succeeded or 0, want)
end

local function job_status(job)
  for _, c in ipairs((job.status or {}).conditions or {}) do
    if c.status == "True" and (c.type == "Complete" or c.type == "Failed") then return c.type end
  end
  return "Running"
end

local function ingress_hosts(ing)
  local hosts = {}
  for _, r in ipairs((ing.spec or {}).rules or {}) do hosts[#hosts + 1] = r.host or "*" end
  return #hosts > 0 and table.concat(hosts, ",") or "*"
end

local function ingress_ports(ing)
  return (ing.spec or {}).tls and "80, 443" or "80"
end

local function get(path, default)
  return function(obj)
    local v = tables.get(obj, path)
    if v == nil or v == yaml.null then return default end
    return v
  end
end

local function col(name, value, typ, priority)
  return { name = name, value = value, type = typ or "string", priority = priority or 0 }
end

local NAME = col("Name", function(o) return o.metadata.name end)
local AGE = col("Age", age_of)

local by_kind = {
  Namespace = { NAME, col("Status", get("status.phase", "Active")), AGE },
  Node = { NAME, col("Status", node_ready), col("Roles", node_roles), AGE,
    col("Version", get("status.nodeInfo.kubeletVersion", "")),
    col("Internal-IP", function(n)
      for _, a in ipairs((n.status or {}).addresses or {}) do
        if a.type == "InternalIP" then return a.address end
      end
      return "<none>"
    end, "string", 1) },
  Pod = { NAME, col("Ready", ready_containers), col("Status", pod_status), col("Restarts", restarts, "integer"), AGE,
    col("IP", get("status.podIP", "<none>"), "string", 1), col("Node", get("spec.nodeName", "<none>"), "string", 1) },
  Service = { NAME, col("Type", get("spec.type", "ClusterIP")), col("Cluster-IP", get("spec.clusterIP", "<none>")),
    col("External-IP", function(s)
      local ips = {}
      for _, i in ipairs(((s.status or {}).loadBalancer or {}).ingress or {}) do ips[#ips + 1] = i.ip or i.hostname end
      return #ips > 0 and table.concat(ips, ",") or "<none>"
    end), col("Port(s)", service_ports), AGE },
  ConfigMap = { NAME, col("Data", function(o) return count(o.data) + count(o.binaryData) end, "integer"), AGE },
  Secret = { NAME, col("Type", get("type", "Opaque")), col("Data", function(o) return count(o.data) end, "integer"), AGE },
  ServiceAccount = { NAME, AGE },
  PersistentVolumeClaim = { NAME, col("Status", get("status.phase", "Pending")), col("Volume", get("spec.volumeName", "")),
    col("Capacity", get("status.capacity.storage", "")),
    col("Access Modes", function(p)
      local short = { ReadWriteOnce = "RWO", ReadOnlyMany = "ROX", ReadWriteMany = "RWX", ReadWriteOncePod = "RWOP" }
      local out = {}
      for _, m in ipairs(((p.status or {}).accessModes) or {}) do out[#out + 1] = short[m] or m end
      return table.concat(out, ",")
    end), col("StorageClass", get("spec.storageClassName", "<unset>")), AGE },
  Deployment = { NAME,
    col("Ready", function(d) return string.format("%d/%d", (d.status or {}).readyReplicas or 0, (d.spec or {}).replicas or 1) end),
    col("Up-to-date", get("status.updatedReplicas", 0), "integer"), col("Available", get("status.availableReplicas", 0), "integer"), AGE },
  ReplicaSet = { NAME, col("Desired", get("spec.replicas", 1), "integer"), col("Current", get("status.replicas", 0), "integer"),
    col("Ready", get("status.readyReplicas", 0), "integer"), AGE },
  StatefulSet = { NAME,
    col("Ready", function(d) return string.format("%d/%d", (d.status or {}).readyReplicas or 0, (d.spec or {}).replicas or 1) end), AGE },
  DaemonSet = { NAME, col("Desired", get("status.desiredNumberScheduled", 0), "integer"),
    col("Current", get("status.currentNumberScheduled", 0), "integer"), col("Ready", get("status.numberReady", 0), "integer"), AGE },
  Job = { NAME, col("Status", job_status), col("Completions", job_completions), AGE },
  CronJob = { NAME, col("Schedule", get("spec.schedule", "")), col("Suspend", get("spec.suspend", false)),
    col("Active", function(c) return #(((c.status or {}).active) or {}) end, "integer"),
    col("Last Schedule", get("status.lastScheduleTime", "<none>")), AGE },
  Ingress = { NAME, col("Class", get("spec.ingressClassName", "<none>")), col("Hosts", ingress_hosts),
    col("Address", function(i)
      local a = {}
      for _, x in ipairs(((i.status or {}).loadBalancer or {}).ingress or {}) do a[#a + 1] = x.ip or x.hostname end
      return table.concat(a, ",")
    end), col("Ports", ingress_ports), AGE },
  HorizontalPodAutoscaler = { NAME, col("Reference", function(h)
      local r = (h.spec or {}).scaleTargetRef or {}
      return (r.kind or "") .. "/" .. (r.name or "")
    end), col("MinPods", get("spec.minReplicas", 1), "integer"), col("MaxPods", get("spec.maxReplicas", 0), "integer"),
    col("Replicas", get("status.currentReplicas", 0), "integer"), AGE },
  PodDisruptionBudget = { NAME, col("Min Available", get("spec.minAvailable", "N/A")),
    col("Max Unavailable", get("spec.maxUnavailable", "N/A")),
    col("Allowed Disruptions", get("status.disruptionsAllowed", 0), "integer"), AGE },
  CustomResourceDefinition = { NAME, col("Created At", get("metadata.creationTimestamp", "")) },
  Event = { col("Last Seen", function(e) local t = M.parse_time(e.lastTimestamp or e.metadata.creationTimestamp) return t and M.age(os.time() - t) or "" end),
    col("Type", get("type", "")), col("Reason", get("reason", "")),
    col("Object", function(e) local i = e.involvedObject or {} return (i.kind or ""):lower() .. "/" .. (i.name or "") end),
    col("Message", get("message", "")) },
}

-- A CRD column's cell as kube-apiserver's table convertor makes it: the first value the JSONPath
-- selects (nothing, or a path it cannot evaluate, is a null cell); "string" columns print it as
-- client-go's jsonpath does, the other types keep a value of their type or are null.
local function crd_cell(c)
  local steps = jsonpath.parse(c.jsonPath or "")
  local typ = c.type or "string"
  return function(o)
    local values = steps and jsonpath.find(o, steps)
    if not values or #values == 0 then return yaml.null end
    local v = values[1]
    if typ == "string" then return jsonpath.text(v) end
    local t = type(v)
    if typ == "integer" and t == "number" then
      return math.type(v) == "integer" and v or math.tointeger(v >= 0 and math.floor(v) or math.ceil(v)) or yaml.null
    elseif typ == "number" and t == "number" then
      return v + 0.0
    elseif typ == "boolean" and t == "boolean" then
      return v
    elseif typ == "date" and t == "string" then
      if v == "" or v == "null" then return "<unknown>" end
      local at = M.parse_time(v)
      return at and M.age(os.time() - at) or "<invalid>"
    end
    return yaml.null
  end
end

-- Columns a CRD declares (additionalPrinterColumns); one without columns shows Age, as in
-- kube-apiserver. Unlike kube-apiserver, the sandbox also adds Age to columns that lack it.
local function crd_columns(def)
  local cols = { NAME }
  local declared = def.printer_columns or {}
  if #declared == 0 then declared = { { name = "Age", type = "date", jsonPath = ".metadata.creationTimestamp" } } end
  local has_age = false
  for _, c in ipairs(declared) do
    local typ = c.type or "string"
    cols[#cols + 1] = col(c.name, crd_cell(c), typ, c.priority or 0)
    has_age = has_age or c.name == "Age"
  end
  if not has_age then cols[#cols + 1] = AGE end
  return cols
end

local function columns_for(def)
  if def.crd or def.printer_columns then return crd_columns(def) end
  return by_kind[def.kind] or { NAME, AGE }
end

local function partial(obj, include)
  if include == "Object" then return obj end
  if include == "None" then return nil end
  return { kind = "PartialObjectMetadata", apiVersion = "meta.k8s.io/v1", metadata = obj.metadata }
end

---A Table of the objects.
---@param def table the resource
---@param objects table[]
---@param opts {include?: string, resource_version?: string, continue?: string, no_headers?: boolean}
function M.table(def, objects, opts)
  local cols = columns_for(def)
  local defs = yaml.array({})
  if not opts.no_headers then
    for _, c in ipairs(cols) do
      defs[#defs + 1] = { name = c.name, type = c.type, format = c.name == "Name" and "name" or "",
        description = c.name, priority = c.priority }
    end
  end
  local rows = yaml.array({})
  for _, obj in ipairs(objects) do
    local cells = yaml.array({})
    for i, c in ipairs(cols) do
      local ok, v = pcall(c.value, obj)
      if not ok then v = "<error>" end
      cells[i] = v == nil and "" or v
    end
    rows[#rows + 1] = { cells = cells, object = partial(obj, opts.include) }
  end
  return {
    kind = "Table", apiVersion = "meta.k8s.io/v1",
    metadata = { resourceVersion = opts.resource_version, continue = opts.continue },
    columnDefinitions = defs, rows = rows,
  }
end

return M
