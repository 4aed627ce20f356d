-- SPDX-License-Identifier: Apache-2.0
-- The Kubernetes API client of kip and its plugins: discovery (kind -> resource), get, list with
-- selectors and paging, create, update, status, delete with propagation, merge/JSON/strategic
-- patches, server-side apply, pod logs and a simple watch. Objects are plain tables; failures are
-- `nil, message, code, status` (kip.k8s.errors). Uses kip.http, kip.json and kip.host.
local errors = require "kip.k8s.errors"
local host = require "kip.host"
local http = require "kip.http"
local json = require "kip.json"

local M = {}

local Client = {}
Client.__index = Client

local function escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function query_string(q)
  local keys = {}
  for k, v in pairs(q or {}) do
    if v ~= nil and v ~= false and v ~= "" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = q[k]
    parts[#parts + 1] = escape(k) .. "=" .. escape(v == true and "true" or v)
  end
  return #parts > 0 and ("?" .. table.concat(parts, "&")) or ""
end

---A client for the API described by conn (see kip.k8s.kubeconfig.load).
---@param conn table {server, ca_data?, cert_data?, key_data?, token?, insecure?, namespace?}
---@param opts? {timeout?: number, user_agent?: string}
function M.new(conn, opts)
  opts = opts or {}
  local version = host.version()
  local h = http.client({ ca_data = conn.ca_data, cert_data = conn.cert_data, key_data = conn.key_data,
    token = conn.token, insecure = conn.insecure or nil, connect_timeout = 10,
    user_agent = opts.user_agent or ("kip/" .. version) })
  return setmetatable({ conn = conn, http = h, timeout = opts.timeout or 60, gv_cache = {},
    namespace = conn.namespace or "default" }, Client)
end

function Client:close()
  if self.http then self.http:close() end
  self.http = nil
end

---Sends a request; returns the decoded JSON body (or the raw text with opts.raw).
---@param opts? {query?: table, body?: string|table, content_type?: string, raw?: boolean, timeout?: number}
function Client:request(method, path, opts)
  opts = opts or {}
  local body = opts.body
  local headers = { Accept = "application/json" }
  if body ~= nil and type(body) ~= "string" then
    local text, err = json.encode(body)
    if not text then return nil, "cannot encode the request body: " .. err, "invalid" end
    body = text
  end
  if body ~= nil then headers["Content-Type"] = opts.content_type or "application/json" end
  local url = self.conn.server .. path .. query_string(opts.query)
  local resp, err, code = self.http:request({ method = method, url = url, headers = headers, body = body,
    timeout = opts.timeout or self.timeout })
  if not resp then return nil, err, code end
  local what = method .. " " .. path
  if resp.status >= 400 then return errors.from_response(what, resp) end
  if opts.raw then return resp.body end
  local value, derr = json.decode(resp.body)
  if value == nil then return nil, string.format("%s: the response is not JSON: %s", what, tostring(derr)), "invalid" end
  return value
end

local function gv_path(api_version)
  if api_version:find("/", 1, true) then return "/apis/" .. api_version end
  return "/api/" .. api_version
end

---The resource serving kind in api_version: {name, namespaced, kind, path} (discovery, cached).
function Client:resource(api_version, kind)
  if type(api_version) ~= "string" or type(kind) ~= "string" then
    error("kip.k8s: apiVersion and kind are required", 2)
  end
  local list = self.gv_cache[api_version]
  if not list then
    local doc, err, code = self:request("GET", gv_path(api_version))
    if not doc then
      if code == "notfound" then
        return nil, string.format("the server does not serve apiVersion %s (is its CRD installed?)", api_version), "notfound"
      end
      return nil, err, code
    end
    list = {}
    for _, r in ipairs(doc.resources or {}) do
      if not r.name:find("/", 1, true) then
        list[r.kind] = { name = r.name, namespaced = r.namespaced, kind = r.kind, path = gv_path(api_version) }
      end
    end
    self.gv_cache[api_version] = list
  end
  local res = list[kind]
  if not res then
    return nil, string.format("the server has no kind %q in %s", kind, api_version), "notfound"
  end
  return res
end

---Forgets discovery results (after CRDs change).
function Client:forget_discovery()
  self.gv_cache = {}
end

---The URL path of a resource, object or subresource.
function Client:path(api_version, kind, namespace, name, subresource)
  local res, err, code = self:resource(api_version, kind)
  if not res then return nil, err, code end
  local p = res.path
  if res.namespaced then
    p = p .. "/namespaces/" .. escape(namespace or self.namespace)
  end
  p = p .. "/" .. res.name
  if name then p = p .. "/" .. escape(name) end
  if subresource then p = p .. "/" .. subresource end
  return p, res
end

local function ident(obj)
  if type(obj) ~= "table" or type(obj.apiVersion) ~= "string" or type(obj.kind) ~= "string" then
    error("kip.k8s: the object needs apiVersion and kind", 3)
  end
  local md = type(obj.metadata) == "table" and obj.metadata or {}
  return obj.apiVersion, obj.kind, md.namespace, md.name
end

---@return table|nil object
function Client:get(api_version, kind, name, namespace)
  local p, err, code = self:path(api_version, kind, namespace, name)
  if not p then return nil, err, code end
  return self:request("GET", p)
end

---Lists objects; with opts.all, follows `continue` until the end and returns every item.
---@param opts? {namespace?: string, all_namespaces?: boolean, label_selector?: string,
---  field_selector?: string, limit?: integer, continue?: string, all?: boolean}
function Client:list(api_version, kind, opts)
  opts = opts or {}
  local res, err, code = self:resource(api_version, kind)
  if not res then return nil, err, code end
  local p = res.path
  if res.namespaced and not opts.all_namespaces then
    p = p .. "/namespaces/" .. escape(opts.namespace or self.namespace)
  end
  p = p .. "/" .. res.name
  local query = { labelSelector = opts.label_selector, fieldSelector = opts.field_selector,
    limit = opts.limit or (opts.all and 500) or nil, continue = opts.continue }
  local first, items = nil, {}
  repeat
    local page, perr, pcode, st = self:request("GET", p, { query = query })
    if not page then return nil, perr, pcode, st end
    first = first or page
    for _, it in ipairs(page.items or {}) do items[#items + 1] = it end
    query.continue = page.metadata and page.metadata.continue
    first.metadata = page.metadata
  until not opts.all or not query.continue or query.continue == ""
  if opts.all then
    first.items = json.array(items)
    first.metadata.continue = nil
  end
  return first
end

---Creates obj (in its namespace, or the client's).
---@param opts? {field_manager?: string, dry_run?: boolean}
function Client:create(obj, opts)
  opts = opts or {}
  local av, kind, ns = ident(obj)
  local p, err, code = self:path(av, kind, ns)
  if not p then return nil, err, code end
  return self:request("POST", p, { body = obj, query = { fieldManager = opts.field_manager or "kip",
    dryRun = opts.dry_run and "All" or nil, fieldValidation = "Strict" } })
end

---Replaces obj (PUT); its metadata.resourceVersion, if set, must match (else "conflict").
---@param opts? {subresource?: string, field_manager?: string}
function Client:update(obj, opts)
  opts = opts or {}
  local av, kind, ns, name = ident(obj)
  local p, err, code = self:path(av, kind, ns, name, opts.subresource)
  if not p then return nil, err, code end
  return self:request("PUT", p, { body = obj, query = { fieldManager = opts.field_manager or "kip", fieldValidation = "Strict" } })
end

---Replaces the status of obj through the status subresource.
function Client:update_status(obj, opts)
  opts = opts or {}
  opts.subresource = "status"
  return self:update(obj, opts)
end

local patch_types = {
  merge = "application/merge-patch+json", json = "application/json-patch+json",
  strategic = "application/strategic-merge-patch+json",
}

---Patches an object. type: "merge" (RFC 7386, default), "json" (RFC 6902) or "strategic".
---@param opts? {type?: string, subresource?: string, field_manager?: string}
function Client:patch(api_version, kind, name, namespace, patch, opts)
  opts = opts or {}
  local ct = patch_types[opts.type or "merge"]
  if not ct then error("kip.k8s: patch type must be merge, json or strategic", 2) end
  local p, err, code = self:path(api_version, kind, namespace, name, opts.subresource)
  if not p then return nil, err, code end
  return self:request("PATCH", p, { body = patch, content_type = ct,
    query = { fieldManager = opts.field_manager or "kip", fieldValidation = "Strict" } })
end

---Server-side apply of obj (the configuration this field manager wants), creating it if needed.
---@param opts? {field_manager?: string, force?: boolean, subresource?: string, dry_run?: boolean}
function Client:apply(obj, opts)
  opts = opts or {}
  local av, kind, ns, name = ident(obj)
  if not name then error("kip.k8s: apply needs metadata.name", 2) end
  local p, err, code = self:path(av, kind, ns, name, opts.subresource)
  if not p then return nil, err, code end
  return self:request("PATCH", p, { body = obj, content_type = "application/apply-patch+yaml",
    query = { fieldManager = opts.field_manager or "kip", force = opts.force and "true" or nil,
      dryRun = opts.dry_run and "All" or nil, fieldValidation = "Strict" } })
end

---Deletes an object. propagation: "Background" (default), "Foreground" or "Orphan".
---@param opts? {propagation?: string, uid?: string, resource_version?: string, grace_seconds?: integer}
function Client:delete(api_version, kind, name, namespace, opts)
  opts = opts or {}
  local p, err, code = self:path(api_version, kind, namespace, name)
  if not p then return nil, err, code end
  local body = { kind = "DeleteOptions", apiVersion = "v1", propagationPolicy = opts.propagation or "Background",
    gracePeriodSeconds = opts.grace_seconds }
  if opts.uid or opts.resource_version then
    body.preconditions = { uid = opts.uid, resourceVersion = opts.resource_version }
  end
  return self:request("DELETE", p, { body = body })
end

-- Opens a streamed GET; an HTTP error is read whole and returned as the API's Status. idle: seconds
-- the open may wait without a byte (the response head), then it fails with "timeout".
local function open_stream(self, p, query, timeout, accept, idle)
  local stream, err, code = self.http:open({ url = self.conn.server .. p .. query_string(query),
    timeout = timeout, idle_timeout = idle, headers = accept and { Accept = accept } or nil })
  if not stream then return nil, err, code end
  if stream:status() >= 400 then
    local body = {}
    for chunk in stream.read, stream do body[#body + 1] = chunk end
    stream:close()
    return errors.from_response("GET " .. p, { status = stream:status(), body = table.concat(body) })
  end
  return stream
end

-- Calls on_line for each line of the stream until it returns false; closes the stream.
-- A timeout ends the loop without an error.
local function each_line(stream, on_line)
  local ok, err = pcall(function()
    for line in stream:lines() do
      if on_line(line) == false then break end
    end
  end)
  stream:close()
  if not ok and not tostring(err):find("timed out", 1, true) then return nil, tostring(err), "io" end
  return true
end

---A pod's log. Without follow, returns the text; with follow, calls on_line(line) for each line
---until the log ends, on_line returns false, or timeout passes (then returns true). With follow
---and stream = true, returns the open kip.http.Stream instead, for the caller to read (with
---stream:readline(wait) to take turns on several) and close; open_timeout bounds the wait for the
---response head (seconds; a loop that must not stall passes one).
---@param opts? {container?: string, tail?: integer, since?: integer, timestamps?: boolean,
---  previous?: boolean, follow?: boolean, on_line?: fun(line: string): boolean|nil, timeout?: number,
---  stream?: boolean, open_timeout?: number}
function Client:logs(namespace, pod, opts)
  opts = opts or {}
  local p = "/api/v1/namespaces/" .. escape(namespace or self.namespace) .. "/pods/" .. escape(pod) .. "/log"
  local query = { container = opts.container, tailLines = opts.tail, sinceSeconds = opts.since,
    timestamps = opts.timestamps, previous = opts.previous, follow = opts.follow }
  if not opts.follow then
    return self:request("GET", p, { query = query, raw = true })
  end
  if opts.stream then return open_stream(self, p, query, opts.timeout, "*/*", opts.open_timeout) end
  assert(type(opts.on_line) == "function", "kip.k8s: logs with follow needs on_line")
  local stream, err, code, st = open_stream(self, p, query, opts.timeout, "*/*")
  if not stream then return nil, err, code, st end
  return each_line(stream, opts.on_line)
end

---Watches a resource: calls on_event(type, object) for each event until it returns false, the
---server ends the watch, or timeout passes. For long-running watches with caches, reconnects and
---relists, use kip.informer instead.
---@param opts {namespace?: string, all_namespaces?: boolean, resource_version?: string,
---  label_selector?: string, field_selector?: string, timeout?: number,
---  on_event: fun(type: string, obj: table): boolean|nil}
function Client:watch(api_version, kind, opts)
  local res, err, code = self:resource(api_version, kind)
  if not res then return nil, err, code end
  local p = res.path
  if res.namespaced and not opts.all_namespaces then p = p .. "/namespaces/" .. escape(opts.namespace or self.namespace) end
  p = p .. "/" .. res.name
  local query = { watch = "1", resourceVersion = opts.resource_version, labelSelector = opts.label_selector,
    fieldSelector = opts.field_selector, allowWatchBookmarks = "true",
    timeoutSeconds = opts.timeout and math.ceil(opts.timeout) or nil }
  local stream, serr, scode, sst = open_stream(self, p, query, opts.timeout and (opts.timeout + 5) or nil)
  if not stream then return nil, serr, scode, sst end
  local failure
  local ok, lerr, lcode = each_line(stream, function(line)
    local ev = json.decode(line)
    if ev and ev.type == "ERROR" then
      failure = { ev.object.message, ev.object.code == 410 and "gone" or "watch", ev.object }
      return false
    end
    if ev then return opts.on_event(ev.type, ev.object) end
  end)
  if not ok then return nil, lerr, lcode end
  if failure then return nil, failure[1], failure[2], failure[3] end
  return true
end

return M
