-- SPDX-License-Identifier: Apache-2.0
-- The sandbox Kubernetes API: routes requests (discovery, get, list, watch, create, update,
-- patch, delete, subresources) to the store, with kube-apiserver's metadata rules
-- (uid, resourceVersion, generation, creationTimestamp, managedFields, finalizers) and errors as
-- Status objects; who may ask (kip.sandbox.auth), /cacerts as k3s serves it, pod eviction
-- (kip.sandbox.eviction) and metrics.k8s.io (kip.sandbox.metrics). kip.sandbox.server puts it behind kip.server; controllers
-- (kip.sandbox.sim) change objects through the same write path. Uses kip.json, kip.sandbox.*.
local auth = require "kip.sandbox.auth"
local defaults = require "kip.sandbox.defaults"
local discovery = require "kip.sandbox.discovery"
local eviction = require "kip.sandbox.eviction"
local json = require "kip.json"
local managed = require "kip.sandbox.managed"
local patch = require "kip.sandbox.patch"
local resources = require "kip.sandbox.resources"
local selectors = require "kip.sandbox.selectors"
local server = require "kip.server"
local status = require "kip.sandbox.status"
local store_mod = require "kip.sandbox.store"
local tables = require "kip.util.tables"
local tabular = require "kip.sandbox.tables"
local validate = require "kip.sandbox.validate"
local yaml = require "kip.yaml"

local M = {}

local Api = {}
Api.__index = Api

local null = yaml.null

---@param opts {address: string, node_name?: string, log?: fun(msg: string), node_token?: string, ca_pem?: string}
---  node_token: when set, requests without a client certificate must carry it as a bearer token
---  (kip.sandbox.auth); ca_pem: served at /cacerts without authentication, as k3s does
function M.new(opts)
  local api = setmetatable({
    registry = resources.new(),
    store = store_mod.new(),
    address = opts.address or "127.0.0.1:6443",
    node_token = opts.node_token,
    ca_pem = opts.ca_pem,
    next_ip = 10,
    hooks = {},       -- functions called after every write: hook(api, def, obj, event)
    log = opts.log or function() end,
  }, Api)
  require("kip.sandbox.crds").install(api)
  for _, ns in ipairs({ "default", "kube-system", "kube-public", "kube-node-lease" }) do
    api:create(api.registry:get("", "v1", "namespaces"), nil, { metadata = { name = ns } }, { manager = "kube-apiserver" })
  end
  require("kip.sandbox.k3s").install(api)
  require("kip.sandbox.metrics").install(api)
  return api
end

---A new UUID (version 4).
function Api:uid()
  local b = {}
  for i = 1, 16 do b[i] = math.random(0, 255) end
  b[7] = (b[7] & 0x0f) | 0x40
  b[9] = (b[9] & 0x3f) | 0x80
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", table.unpack(b))
end

---Collects warnings for the response of the request being answered (a Warning header each).
function Api:warn(list)
  if not self.warnings then return end
  for _, w in ipairs(list) do self.warnings[#self.warnings + 1] = w end
end

function Api:allocate_cluster_ip()
  self.next_ip = self.next_ip + 1
  return string.format("10.43.%d.%d", self.next_ip // 250, self.next_ip % 250 + 1)
end

---Registers a function called after every change: hook(api, def, object, "ADDED"|"MODIFIED"|"DELETED").
function Api:on_change(hook)
  self.hooks[#self.hooks + 1] = hook
end

-- --- the write path shared by requests and controllers -----------------------------------------

local function has_spec_generation(def, obj)
  return def.crd or obj.spec ~= nil
end

local function notify(self, def, obj, event)
  for _, hook in ipairs(self.hooks) do hook(self, def, obj, event) end
end

local function check_name(def, name, field)
  if type(name) ~= "string" or name == "" then return end
  if #name > 253 or not name:match("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$") and not name:match("^[a-z0-9]$") then
    if not (name:match("^[a-z0-9][-a-z0-9.]*$") and name:match("[a-z0-9]$")) or #name > 253 then
      status.invalid(def, name, { { field = field, message = string.format(
        "Invalid value: %q: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", name) } })
    end
  end
end

---Creates obj in namespace ns (as a POST would). Returns the stored object.
---@param opts {manager?: string, dry_run?: boolean}
function Api:create(def, ns, obj, opts)
  opts = opts or {}
  if type(obj) ~= "table" or yaml.is_array(obj) then status.bad_request("the body must be an object") end
  obj = tables.copy(obj)
  obj.metadata = type(obj.metadata) == "table" and obj.metadata or {}
  local md = obj.metadata
  if obj.apiVersion ~= nil and obj.apiVersion ~= def.api_version or obj.kind ~= nil and obj.kind ~= def.kind then
    status.bad_request(string.format("the API version in the data (%s) does not match the expected API version (%s)",
      tostring(obj.apiVersion), def.api_version))
  end
  obj.apiVersion, obj.kind = def.api_version, def.kind
  if def.namespaced then
    if md.namespace ~= nil and md.namespace ~= "" and ns and md.namespace ~= ns then
      status.bad_request("the namespace of the provided object does not match the namespace sent on the request")
    end
    md.namespace = ns or md.namespace or "default"
    local ns_def = self.registry:get("", "v1", "namespaces")
    local namespace = self.store:get(ns_def, nil, md.namespace)
    if not namespace then status.not_found(ns_def, md.namespace) end
    if namespace.metadata.deletionTimestamp then
      status.forbidden(string.format("%s %q is forbidden: unable to create new content in namespace %s because it is being terminated",
        def.resource, md.name or "", md.namespace))
    end
  else
    md.namespace = nil
  end
  if (md.name == nil or md.name == "") and type(md.generateName) == "string" and md.generateName ~= "" then
    local chars = "bcdfghjklmnpqrstvwxz2456789"
    local suffix = {}
    for i = 1, 5 do
      local c = math.random(1, #chars)
      suffix[i] = chars:sub(c, c)
    end
    md.name = md.generateName .. table.concat(suffix)
  end
  if md.name == nil or md.name == "" then
    status.invalid(def, "", { { field = "metadata.name", reason = "FieldValueRequired",
      message = "Required value: name or generateName is required" } })
  end
  check_name(def, md.name, "metadata.name")
  if self.store:get(def, md.namespace, md.name) then status.already_exists(def, md.name) end
  -- as kube-apiserver's node strategy, a Node keeps the status it is created with (kubelets register so)
  if def.status and not opts.keep_status and def.kind ~= "Node" then obj.status = nil end
  defaults.apply(def, obj, nil, self)
  self:warn(validate.check(self, def, obj, self.field_validation))
  md.uid = self:uid()
  md.creationTimestamp = tabular.now()
  md.resourceVersion = nil
  md.deletionTimestamp = nil
  if has_spec_generation(def, obj) then md.generation = 1 else md.generation = nil end
  managed.record(obj, nil, opts.manager or "unknown", opts.operation or "Update", opts.applied)
  if opts.dry_run then
    md.resourceVersion = tostring(self.store.rv)
    return obj
  end
  md.resourceVersion = tostring(self.store:next_rv())
  self.store:put(def, obj, "ADDED")
  notify(self, def, obj, "ADDED")
  return obj
end

local function finish_delete(self, def, obj)
  local final = tables.copy(obj)
  final.metadata.resourceVersion = tostring(self.store:next_rv())
  self.store:remove(def, final)
  notify(self, def, final, "DELETED")
  return final
end

---Replaces the stored object with obj (as a PUT would). subresource "status" changes only the
---status; the main resource keeps the stored status of kinds with a status subresource.
---@param opts {manager?: string, subresource?: string, operation?: string, applied?: table, dry_run?: boolean}
function Api:update(def, ns, name, obj, opts)
  opts = opts or {}
  local old = self.store:get(def, ns, name)
  if not old then status.not_found(def, name) end
  if type(obj) ~= "table" or yaml.is_array(obj) then status.bad_request("the body must be an object") end
  obj = tables.copy(obj)
  obj.metadata = type(obj.metadata) == "table" and obj.metadata or {}
  local md = obj.metadata
  if md.name ~= nil and md.name ~= name then
    status.bad_request(string.format("the name of the object (%s) does not match the name on the URL (%s)", tostring(md.name), name))
  end
  local rv = md.resourceVersion
  if rv ~= nil and rv ~= "" and rv ~= old.metadata.resourceVersion then
    status.conflict(def, name, "the object has been modified; please apply your changes to the latest version and try again")
  end
  local new
  if opts.subresource == "status" then
    new = tables.copy(old)
    new.status = obj.status
    if opts.keep_metadata_from then new.metadata = opts.keep_metadata_from end
  else
    new = obj
    new.apiVersion, new.kind = def.api_version, def.kind
    if def.status then new.status = tables.copy(old.status) end
    -- fields the server owns
    md.name, md.namespace = old.metadata.name, old.metadata.namespace
    md.uid, md.creationTimestamp = old.metadata.uid, old.metadata.creationTimestamp
    md.deletionTimestamp = old.metadata.deletionTimestamp
    md.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds
    md.generation = old.metadata.generation
    md.managedFields = old.metadata.managedFields
    defaults.apply(def, new, old, self)
    self:warn(validate.check(self, def, new, self.field_validation))
    if has_spec_generation(def, new) then
      local changed
      if def.crd then
        local a, b = tables.copy(old), tables.copy(new)
        a.metadata, a.status, b.metadata, b.status = nil, nil, nil, nil
        changed = not tables.equal(a, b)
      else
        changed = not tables.equal(old.spec, new.spec)
      end
      md.generation = (old.metadata.generation or 0) + (changed and 1 or 0)
      if md.generation == 0 then md.generation = 1 end
    end
  end
  managed.record(new, old, opts.manager or "unknown", opts.operation or "Update", opts.applied, opts.subresource, opts.steal)
  -- nothing changed: no new resourceVersion, no event (as kube-apiserver does)
  local a, b = tables.copy(old), tables.copy(new)
  for _, x in ipairs({ a, b }) do
    x.metadata.resourceVersion = nil
    for _, mf in ipairs(x.metadata.managedFields or {}) do mf.time = nil end
  end
  if tables.equal(a, b) then return old end
  if opts.dry_run then return new end
  new.metadata.resourceVersion = tostring(self.store:next_rv())
  -- a deleted object whose last finalizer went away is gone
  if new.metadata.deletionTimestamp and (new.metadata.finalizers == nil or #new.metadata.finalizers == 0) then
    return finish_delete(self, def, new)
  end
  self.store:put(def, new, "MODIFIED")
  notify(self, def, new, "MODIFIED")
  return new
end

---Deletes an object: at once, or by setting deletionTimestamp when finalizers hold it.
---@param opts {propagation?: string, precondition_uid?: string, precondition_rv?: string, dry_run?: boolean}
function Api:delete(def, ns, name, opts)
  opts = opts or {}
  local obj = self.store:get(def, ns, name)
  if not obj then status.not_found(def, name) end
  if opts.precondition_uid and opts.precondition_uid ~= obj.metadata.uid then
    status.conflict(def, name, "Precondition failed: UID in precondition: " .. opts.precondition_uid ..
      ", UID in object meta: " .. obj.metadata.uid)
  end
  if opts.precondition_rv and opts.precondition_rv ~= obj.metadata.resourceVersion then
    status.conflict(def, name, "Precondition failed: ResourceVersion in precondition: " .. opts.precondition_rv ..
      ", ResourceVersion in object meta: " .. obj.metadata.resourceVersion)
  end
  if opts.dry_run then return obj end
  local finalizers = tables.copy(obj.metadata.finalizers) or yaml.array({})
  local propagation = opts.propagation or (def.kind == "Namespace" and "Background") or "Background"
  if propagation == "Foreground" then
    local has = false
    for _, f in ipairs(finalizers) do has = has or f == "foregroundDeletion" end
    if not has then finalizers[#finalizers + 1] = "foregroundDeletion" end
  elseif propagation == "Orphan" then
    local has = false
    for _, f in ipairs(finalizers) do has = has or f == "orphan" end
    if not has then finalizers[#finalizers + 1] = "orphan" end
  end
  local held = #finalizers > 0 or (def.kind == "Namespace")
  if not held then return finish_delete(self, def, obj) end
  if obj.metadata.deletionTimestamp then return obj end
  local new = tables.copy(obj)
  new.metadata.finalizers = yaml.array(finalizers)
  new.metadata.deletionTimestamp = tabular.now()
  new.metadata.deletionGracePeriodSeconds = 0
  if def.kind == "Namespace" then
    new.status = new.status or {}
    new.status.phase = "Terminating"
  end
  new.metadata.resourceVersion = tostring(self.store:next_rv())
  self.store:put(def, new, "MODIFIED")
  notify(self, def, new, "MODIFIED")
  return new
end

---Removes the object for good when nothing holds it any more (used by controllers).
function Api:purge(def, obj)
  if self.store:get(def, obj.metadata.namespace, obj.metadata.name) then
    return finish_delete(self, def, obj)
  end
end

-- --- HTTP ---------------------------------------------------------------------------------------

local function decode_query(q)
  local out = {}
  for pair in (q or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    local function unescape(s)
      return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
    end
    out[unescape(k)] = unescape(v)
  end
  return out
end
M.decode_query = decode_query

local function truthy(v) return v == "true" or v == "1" end

local function respond(code, body, content_type)
  local text = type(body) == "string" and body or assert(json.encode(body))
  return { status = code, headers = { ["Content-Type"] = content_type or "application/json",
    ["Cache-Control"] = "no-cache, private" }, body = text }
end

local function wants_table(req)
  local accept = req.headers.accept or ""
  return accept:find("as=Table", 1, true) ~= nil
end

local function manager_of(req, q, default)
  if q.fieldManager and q.fieldManager ~= "" then return q.fieldManager end
  local ua = req.headers["user-agent"] or ""
  local name = ua:match("^([^/%s]+)")
  return name or default
end

-- Parses the path into {group, version, namespace, resource, name, subresource}.
local function parse_path(path)
  local segs = {}
  for s in path:gmatch("[^/]+") do segs[#segs + 1] = s end
  local group, version, rest
  if segs[1] == "api" then
    group, version, rest = "", segs[2], 3
  elseif segs[1] == "apis" then
    group, version, rest = segs[2], segs[3], 4
  else
    return nil
  end
  local r = {}
  for i = rest, #segs do r[#r + 1] = segs[i] end
  local p = { group = group, version = version, segs = segs }
  if r[1] == "namespaces" and r[3] ~= nil and not (#r == 3 and (r[3] == "status" or r[3] == "finalize")) then
    p.namespace, p.resource, p.name, p.subresource = r[2], r[3], r[4], r[5]
  else
    p.resource, p.name, p.subresource = r[1], r[2], r[3]
  end
  if #r > (p.namespace and 5 or 3) then return nil end
  return p
end

local function body_of(req)
  local ct = (req.headers["content-type"] or "application/json"):match("^[^;]+")
  local text = req.body or ""
  if ct == "application/vnd.kubernetes.protobuf" then
    status.unsupported_media("the kip sandbox API reads JSON and YAML bodies, not protobuf; kubectl's typed generators " ..
      "(kubectl create namespace, kubectl create configmap, ...) send protobuf: write the object to a file and use " ..
      "kubectl create -f or kubectl apply -f")
  end
  if text == "" then return nil, ct end
  local value, err
  if ct == "application/apply-patch+yaml" or ct == "application/yaml" then
    value, err = yaml.decode(text)
  else
    value, err = json.decode(text)
  end
  if value == nil and err then status.bad_request("the request body could not be decoded: " .. err) end
  return value, ct
end

local function list_opts(q)
  local label, lerr = selectors.parse_labels(q.labelSelector)
  if not label then status.bad_request("unable to parse labelSelector: " .. lerr) end
  local field, ferr = selectors.parse_fields(q.fieldSelector)
  if not field then status.bad_request("unable to parse fieldSelector: " .. ferr) end
  return function(obj)
    return label(obj.metadata.labels) and field(obj)
  end
end

function Api:list(def, ns, q)
  local match = list_opts(q)
  local all = {}
  for _, obj in ipairs(self.store:list(def, ns)) do
    if match(obj) then all[#all + 1] = obj end
  end
  -- paging: continue holds the position after the last returned object
  local start = 1
  if q.continue and q.continue ~= "" then
    local n = tonumber(q.continue:match("^(%d+)$"))
    if not n then status.bad_request("invalid continue token") end
    start = n
  end
  local limit = tonumber(q.limit or "") or 0
  local items, continue = {}, nil
  local last = #all
  if limit > 0 and start + limit - 1 < #all then
    last = start + limit - 1
    continue = tostring(last + 1)
  end
  for i = start, last do items[#items + 1] = all[i] end
  return items, continue, #all - last
end

local function list_body(self, def, items, continue, remaining)
  return {
    kind = def.kind .. "List", apiVersion = def.api_version,
    metadata = { resourceVersion = tostring(self.store.rv), continue = continue,
      remainingItemCount = continue and remaining or nil },
    items = yaml.array(items),
  }
end

-- Streams watch events as JSON lines until the client leaves or the timeout passes.
function Api:watch(def, ns, q, req)
  local match = list_opts(q)
  local as_table = wants_table(req)
  local stream = server.stream()
  local sent_headers = false
  local function encode(kind, obj)
    local out = obj
    if as_table then
      out = tabular.table(def, { obj }, { include = q.includeObject, no_headers = sent_headers })
      sent_headers = true
    end
    return assert(json.encode({ type = kind, object = out })) .. "\n"
  end
  -- as kube-apiserver filters: an object that starts matching is ADDED, one that stops is DELETED
  local function send(ev)
    local now = match(ev.object)
    local kind = ev.type
    if kind == "MODIFIED" and ev.old then
      local before = match(ev.old)
      if before and not now then kind = "DELETED" elseif now and not before then kind = "ADDED" end
      if not before and not now then return true end
    elseif not now then
      return true
    end
    return stream:write(encode(kind, ev.object))
  end
  local rv = q.resourceVersion
  if rv == nil or rv == "" or rv == "0" then
    for _, obj in ipairs(self.store:list(def, ns)) do
      if match(obj) then stream:write(encode("ADDED", obj)) end
    end
  else
    local since = tonumber(rv)
    if not since then status.bad_request("invalid resourceVersion " .. rv) end
    local events = self.store:events_since(def, ns, since)
    if not events then
      stream:close()
      -- one ERROR event and the end of the watch, as kube-apiserver ends a watch it cannot serve
      return respond(200, assert(json.encode({ type = "ERROR", object = {
        kind = "Status", apiVersion = "v1", metadata = {}, status = "Failure",
        message = since > self.store.rv
          and string.format("resource version %s is newer than the API's %d: the sandbox API restarted without its state", rv, self.store.rv)
          or string.format("too old resource version: %s (%d)", rv, self.store.rv),
        reason = "Expired", code = 410 } })) .. "\n")
    end
    for _, ev in ipairs(events) do send(ev) end
  end
  local watcher = self.store:watch(def, ns, send)
  if truthy(q.allowWatchBookmarks) then
    self.bookmarks = self.bookmarks or {}
    self.bookmarks[#self.bookmarks + 1] = { stream = stream, def = def, watcher = watcher }
  end
  local timeout = tonumber(q.timeoutSeconds or "")
  return { status = 200, headers = { ["Content-Type"] = "application/json" }, stream = stream,
    stream_timeout = timeout and timeout > 0 and timeout or nil }
end

---Sends a BOOKMARK with the current resourceVersion to every watch that asked for them.
function Api:send_bookmarks()
  local keep = {}
  for _, b in ipairs(self.bookmarks or {}) do
    local obj = { kind = b.def.kind, apiVersion = b.def.api_version,
      metadata = { resourceVersion = tostring(self.store.rv) } }
    if b.stream:is_open() and b.stream:write(assert(json.encode({ type = "BOOKMARK", object = obj })) .. "\n") then
      keep[#keep + 1] = b
    else
      self.store:unwatch(b.watcher)
    end
  end
  self.bookmarks = keep
end

local function scale_of(def, obj)
  return { kind = "Scale", apiVersion = "autoscaling/v1",
    metadata = { name = obj.metadata.name, namespace = obj.metadata.namespace, uid = obj.metadata.uid,
      resourceVersion = obj.metadata.resourceVersion, creationTimestamp = obj.metadata.creationTimestamp },
    spec = { replicas = obj.spec and obj.spec.replicas or 0 },
    status = { replicas = obj.status and obj.status.replicas or 0,
      selector = def.kind ~= "" and obj.spec and obj.spec.selector and selectors.format(obj.spec.selector.matchLabels) or nil } }
end

function Api:patch_object(def, ns, name, req, q, sub)
  local body, ct = body_of(req)
  local manager = manager_of(req, q, "unknown")
  local force = truthy(q.force)
  local dry = q.dryRun == "All"
  if ct == "application/apply-patch+yaml" then
    if sub then status.bad_request("apply is not supported on the " .. sub .. " subresource") end
    if not q.fieldManager or q.fieldManager == "" then
      status.bad_request("PATCH, application/apply-patch+yaml requests require fieldManager to be set")
    end
    return managed.apply(self, def, ns, name, body, { manager = q.fieldManager, force = force, dry_run = dry })
  end
  local old = self.store:get(def, ns, name)
  if not old then status.not_found(def, name) end
  local base = sub == "scale" and scale_of(def, old) or old
  local new, err
  if ct == "application/merge-patch+json" then
    new = patch.merge(base, body)
  elseif ct == "application/json-patch+json" then
    new, err = patch.json(base, body)
  elseif ct == "application/strategic-merge-patch+json" then
    if def.crd then status.unsupported_media("strategic merge patch is not supported for custom resources; use --type merge") end
    new = patch.strategic(base, body)
  else
    status.unsupported_media("the body of the request was in an unknown format - accepted media types include: " ..
      "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json")
  end
  if not new then status.invalid(def, name, { { field = "patch", message = err } }) end
  if sub == "scale" then
    local target = tables.copy(old)
    target.spec = target.spec or {}
    target.spec.replicas = new.spec and new.spec.replicas
    local updated = self:update(def, ns, name, target, { manager = manager, dry_run = dry })
    return scale_of(def, updated)
  end
  -- a resourceVersion the patch itself sets is a precondition (a conflict when the object moved
  -- on), as kube-apiserver treats it; one left as it was is no condition
  if new.metadata and new.metadata.resourceVersion == old.metadata.resourceVersion then new.metadata.resourceVersion = nil end
  return self:update(def, ns, name, new, { manager = manager, subresource = sub, dry_run = dry })
end

function Api:handle_resource(req, p, q)
  local def = self.registry:get(p.group, p.version, p.resource)
  if not def then status.not_found_path(req.path) end
  if p.namespace and not def.namespaced then status.not_found_path(req.path) end
  local ns = def.namespaced and p.namespace or nil
  local method = req.method
  local sub = p.subresource
  auth.authorize(self.user, auth.verb(method, p.name, truthy(q.watch)), p)
  if def.metrics then return require("kip.sandbox.metrics").serve(self, def, ns, p.name, q, method) end
  if sub and not ((sub == "status" and def.status) or (sub == "scale" and def.scale) or (sub == "log" and def.log)
      or (sub == "finalize" and def.kind == "Namespace") or (sub == "eviction" and def.kind == "Pod")) then
    status.not_found_path(req.path)
  end
  if sub == "eviction" then
    if method ~= "POST" then status.method_not_allowed(method .. " is not supported on pods/eviction") end
    local result = eviction.evict(self, ns, p.name, body_of(req), { dry_run = q.dryRun == "All" })
    return respond(201, result)
  end
  local dry = q.dryRun == "All"
  if not p.name then
    if method == "GET" then
      if truthy(q.watch) then return self:watch(def, ns, q, req) end
      local items, continue, remaining = self:list(def, ns, q)
      if wants_table(req) then
        return respond(200, tabular.table(def, items, { include = q.includeObject,
          resource_version = tostring(self.store.rv), continue = continue }))
      end
      return respond(200, list_body(self, def, items, continue, remaining))
    elseif method == "POST" then
      local obj = body_of(req)
      return respond(201, self:create(def, ns, obj, { manager = manager_of(req, q, "unknown"), dry_run = dry }))
    elseif method == "DELETE" then
      local items = self:list(def, ns, q)
      for _, obj in ipairs(items) do self:delete(def, obj.metadata.namespace, obj.metadata.name, { dry_run = dry }) end
      return respond(200, list_body(self, def, items))
    end
    status.method_not_allowed(method .. " is not supported on a collection")
  end
  if sub == "log" then return require("kip.sandbox.logs").serve(self, def, ns, p.name, q) end
  if method == "GET" then
    local obj = self.store:get(def, ns, p.name)
    if not obj then status.not_found(def, p.name) end
    if sub == "scale" then return respond(200, scale_of(def, obj)) end
    if wants_table(req) then
      return respond(200, tabular.table(def, { obj }, { include = q.includeObject, resource_version = tostring(self.store.rv) }))
    end
    return respond(200, obj)
  elseif method == "PUT" then
    local obj = body_of(req)
    if sub == "scale" then
      local old = self.store:get(def, ns, p.name)
      if not old then status.not_found(def, p.name) end
      local target = tables.copy(old)
      target.spec.replicas = obj and obj.spec and obj.spec.replicas
      return respond(200, scale_of(def, self:update(def, ns, p.name, target, { manager = manager_of(req, q, "unknown") })))
    end
    return respond(200, self:update(def, ns, p.name, obj, { manager = manager_of(req, q, "unknown"),
      subresource = sub ~= "finalize" and sub or nil, dry_run = dry }))
  elseif method == "PATCH" then
    local existed = self.store:get(def, ns, p.name) ~= nil
    local result = self:patch_object(def, ns, p.name, req, q, sub)
    return respond(existed and 200 or 201, result)
  elseif method == "DELETE" then
    local opts = body_of(req) or {}
    local pre = type(opts.preconditions) == "table" and opts.preconditions or {}
    local result = self:delete(def, ns, p.name, {
      propagation = q.propagationPolicy or opts.propagationPolicy or (opts.orphanDependents and "Orphan") or nil,
      precondition_uid = pre.uid ~= null and pre.uid or nil,
      precondition_rv = pre.resourceVersion ~= null and pre.resourceVersion or nil,
      dry_run = dry or (type(opts.dryRun) == "table" and opts.dryRun[1] == "All"),
    })
    return respond(200, result)
  end
  status.method_not_allowed(method .. " is not supported")
end

function Api:route(req)
  local path = req.path
  local q = decode_query(req.query)
  -- what k3s's supervisor serves on the API port without authentication
  if path == "/cacerts" and self.ca_pem then return respond(200, self.ca_pem, "text/plain") end
  if path == "/ping" then return respond(200, "pong", "text/plain") end
  -- with a node token, the TLS layer lets clients without a certificate through: they need the token
  self.user = self.node_token and auth.authenticate(req, self.node_token) or auth.ADMIN
  local p = parse_path(path)
  if not (p and p.resource) then auth.authorize_path(self.user, req) end
  if path == "/version" or path == "/version/" then return respond(200, discovery.VERSION) end
  if path == "/healthz" or path == "/readyz" or path == "/livez" then return respond(200, "ok", "text/plain") end
  if path == "/api" or path == "/api/" then return respond(200, discovery.api_versions(self.address)) end
  if path == "/apis" or path == "/apis/" then return respond(200, discovery.api_group_list(self.registry)) end
  if path == "/openapi/v3" or path == "/openapi/v3/" then
    return respond(200, discovery.openapi_root(self.registry, tostring(self.registry.stamp or 0)))
  end
  local oa = path:match("^/openapi/v3/(.+)$")
  if oa then
    local g, v = oa:match("^apis/([^/]+)/([^/]+)$")
    if not g then g, v = "", oa:match("^api/([^/]+)$") end
    local doc = v and discovery.openapi_gv(self.registry, g, v, function(d)
      return d.openapi or (d.schema and validate.schema(d.schema)) or nil
    end)
    if not doc then status.not_found_path(path) end
    return respond(200, doc)
  end
  local group_only = path:match("^/apis/([^/]+)/?$")
  if group_only then
    local doc = discovery.api_group(self.registry, group_only)
    if not doc then status.not_found_path(path) end
    return respond(200, doc)
  end
  if not p or not p.version then status.not_found_path(path) end
  if not p.resource then
    local doc = discovery.resource_list(self.registry, p.group, p.version)
    if not doc then status.not_found_path(path) end
    return respond(200, doc)
  end
  return self:handle_resource(req, p, q)
end

---Answers one HTTP request (kip.server handler).
function Api:handle(req)
  self.warnings = {}
  self.field_validation = decode_query(req.query).fieldValidation
  local ok, result = xpcall(self.route, function(e)
    if status.is(e) then return e end
    return { internal = true, message = tostring(e), trace = debug.traceback(tostring(e), 2) }
  end, self, req)
  local warnings = self.warnings
  self.warnings, self.field_validation, self.user = nil, nil, nil
  if ok then
    self.log(string.format("%s %s%s -> %d", req.method, req.path, req.query ~= "" and ("?" .. req.query) or "", result.status))
    if #warnings > 0 then
      local parts = {}
      for _, w in ipairs(warnings) do parts[#parts + 1] = "299 - " .. assert(json.encode(w)) end
      result.headers = result.headers or {}
      result.headers.Warning = table.concat(parts, ", ")
    end
    return result
  end
  if result.internal then
    io.stderr:write("kip sandbox api: internal error: ", result.trace, "\n")
    return respond(500, { kind = "Status", apiVersion = "v1", metadata = {}, status = "Failure",
      message = "internal error: " .. result.message, reason = "InternalError", code = 500 })
  end
  self.log(string.format("%s %s -> %d %s", req.method, req.path, result.code, result.message))
  return respond(result.code, status.body(result))
end

return M
