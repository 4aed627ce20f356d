-- SPDX-License-Identifier: Apache-2.0
-- kipper-gateway's registry: the cluster records in memory, the registry file (JSON, written
-- atomically with mode 0600 before any answer that depends on it), the lifecycle of self-registered
-- names (active, expired after the heartbeat TTL, deleted after the hold) as pure functions of a
-- clock, the routes the proxy gets, and the names and addresses it accepts. Uses kip.fs, kip.json
-- and kip.util.time.
local fs = require "kip.fs"
local json = require "kip.json"
local time = require "kip.util.time"

local M = {}

M.VERSION = 1
M.DAY = 86400
M.DEFAULT_TTL = 30 * M.DAY
M.DEFAULT_HOLD = 90 * M.DAY
-- a self-registration that never proved its claim is forgotten after this (or the TTL if shorter)
M.PENDING_TTL = M.DAY

local STATES = { pending = true, active = true, expired = true }
local SCHEMES = { http = true, https = true }
local OWNERS = { admin = true, self = true }

-- --- names, addresses and times ---------------------------------------------------------------

local function octet(s)
  if not s:match("^%d+$") or #s > 3 or (#s > 1 and s:sub(1, 1) == "0") then return nil end
  local n = tonumber(s)
  if n > 255 then return nil end
  return n
end

---A dotted IPv4 address as written canonically ("203.0.113.10"), or nil.
---@param ip any
---@return string|nil
function M.parse_ipv4(ip)
  if type(ip) ~= "string" then return nil end
  local a, b, c, d = ip:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  if not (octet(a) and octet(b) and octet(c) and octet(d)) then return nil end
  return ip
end

---The IPv4 address a cluster id names ("203-0-113-10" -> "203.0.113.10"), or nil.
---@param id any
---@return string|nil
function M.cluster_ip(id)
  if type(id) ~= "string" then return nil end
  local a, b, c, d = id:match("^(%d+)%-(%d+)%-(%d+)%-(%d+)$")
  if not a or not (octet(a) and octet(b) and octet(c) and octet(d)) then return nil end
  return table.concat({ a, b, c, d }, ".")
end

---The cluster id of an IPv4 address ("203.0.113.10" -> "203-0-113-10").
function M.dashed(ip)
  return (ip:gsub("%.", "-"))
end

---Unix seconds as RFC 3339 UTC ("2026-11-24T02:26:45Z").
M.format_time = time.format_rfc3339

---RFC 3339 UTC time ("2026-11-24T02:26:45Z", fractions ignored) as Unix seconds, or nil: the
---registry file's times are written in UTC with a Z, so no other zone is taken.
function M.parse_time(s)
  if type(s) ~= "string" or not s:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.?%d*Z$") then return nil end
  return time.parse_rfc3339(s)
end

-- --- the lifecycle (pure) ---------------------------------------------------------------------

local function limits(opts)
  opts = opts or {}
  local ttl = opts.ttl or M.DEFAULT_TTL
  return ttl, opts.hold or M.DEFAULT_HOLD, opts.pending or math.min(M.PENDING_TTL, ttl)
end

---When a record stops routing unless renewed (Unix seconds), or nil for one that never expires
---(registered by the operator).
---@param rec table
---@param opts? {ttl?: number, hold?: number}
function M.expires_at(rec, opts)
  if rec.owner == "admin" then return nil end
  local ttl, _, pending = limits(opts)
  if rec.state == "pending" then return rec.renewed_at + pending end
  return rec.renewed_at + ttl
end

---The state a record is in at `now`: "pending", "active", "expired" (held for its owner, not
---routed) or "gone" (free again: to be deleted).
---@param rec table
---@param now number Unix seconds
---@param opts? {ttl?: number, hold?: number, pending?: number}
---@return string
function M.state_at(rec, now, opts)
  if rec.owner == "admin" then return rec.state end
  local ttl, hold, pending = limits(opts)
  if rec.state == "pending" then
    return now >= rec.renewed_at + pending and "gone" or "pending"
  end
  if now >= rec.renewed_at + ttl + hold then return "gone" end
  if now >= rec.renewed_at + ttl then return "expired" end
  return "active"
end

---Moves every record to its state at `now`: changes states in place and removes the gone ones.
---@param records table<string, table> by cluster id
---@return {cluster: string, from: string, to: string}[] changes, sorted by cluster
function M.advance(records, now, opts)
  local changes = {}
  for id, rec in pairs(records) do
    local to = M.state_at(rec, now, opts)
    if to ~= rec.state then
      changes[#changes + 1] = { cluster = id, from = rec.state, to = to }
      if to == "gone" then records[id] = nil else rec.state = to end
    end
  end
  table.sort(changes, function(a, b) return a.cluster < b.cluster end)
  return changes
end

---The proxy's route table: {[cluster] = {ip, port, scheme, pin}} for the active records.
function M.routes(records)
  local routes = {}
  for id, rec in pairs(records) do
    if rec.state == "active" then
      routes[id] = { ip = rec.ip, port = rec.port, scheme = rec.scheme, pin = rec.pin }
    end
  end
  return routes
end

---A record as the API shows it: no token hash, times in RFC 3339.
function M.view(rec, opts)
  local exp = M.expires_at(rec, opts)
  return {
    cluster = rec.cluster, ip = rec.ip, port = rec.port, scheme = rec.scheme, owner = rec.owner,
    state = rec.state, pin = rec.pin,
    created_at = M.format_time(rec.created_at), renewed_at = M.format_time(rec.renewed_at),
    expires_at = exp and M.format_time(exp) or nil,
  }
end

-- --- the file ---------------------------------------------------------------------------------

local function check_record(id, r)
  local function bad(field, why) return nil, string.format("cluster %q: %s %s", id, field, why) end
  if type(r) ~= "table" then return nil, string.format("cluster %q: not an object", id) end
  if not M.cluster_ip(id) then return nil, string.format("%q is not a cluster id (a dashed IPv4 address)", id) end
  if not M.parse_ipv4(r.ip) then return bad("ip", "is not an IPv4 address") end
  if math.type(r.port) ~= "integer" or r.port < 1 or r.port > 65535 then return bad("port", "is not a port number") end
  if not SCHEMES[r.scheme] then return bad("scheme", "must be http or https") end
  if not OWNERS[r.owner] then return bad("owner", "must be admin or self") end
  if not STATES[r.state] then return bad("state", "must be pending, active or expired") end
  if r.owner == "self" and (type(r.token_sha256) ~= "string" or not r.token_sha256:match("^%x+$") or #r.token_sha256 ~= 64) then
    return bad("token_sha256", "must be 64 hex digits")
  end
  if r.pin ~= nil and r.pin ~= json.null and (type(r.pin) ~= "string" or not r.pin:match("^%x+$") or #r.pin ~= 64) then
    return bad("pin", "must be 64 hex digits")
  end
  local created, renewed = M.parse_time(r.created_at), M.parse_time(r.renewed_at)
  if not created then return bad("created_at", "is not an RFC 3339 UTC time") end
  if not renewed then return bad("renewed_at", "is not an RFC 3339 UTC time") end
  return {
    cluster = id, ip = r.ip, port = r.port, scheme = r.scheme, owner = r.owner,
    token_sha256 = r.owner == "self" and r.token_sha256:lower() or nil,
    pin = type(r.pin) == "string" and r.pin:lower() or nil,
    state = r.state, created_at = created, renewed_at = renewed,
  }
end

---Reads a registry file's text.
---@return table<string, table>|nil records by cluster id
---@return string|nil why
function M.decode(text)
  local doc, err = json.decode(text)
  if doc == nil then return nil, "not JSON: " .. tostring(err) end
  if type(doc) ~= "table" or json.is_array(doc) then return nil, "not a JSON object" end
  if doc.version ~= M.VERSION then return nil, string.format("version %s is not %d", tostring(doc.version), M.VERSION) end
  if type(doc.clusters) ~= "table" then return nil, "no \"clusters\" object" end
  if json.is_array(doc.clusters) and #doc.clusters > 0 then return nil, "\"clusters\" is an array, not an object" end
  local records = {}
  for id, r in pairs(doc.clusters) do
    local rec, why = check_record(id, r)
    if not rec then return nil, why end
    records[id] = rec
  end
  return records
end

---The registry file's text for records.
function M.encode(records)
  local out = {}
  for id, r in pairs(records) do
    out[id] = {
      ip = r.ip, port = r.port, scheme = r.scheme, owner = r.owner, token_sha256 = r.token_sha256,
      pin = r.pin, state = r.state, created_at = M.format_time(r.created_at), renewed_at = M.format_time(r.renewed_at),
    }
  end
  return assert(json.encode({ version = M.VERSION, clusters = out }, { indent = 2, sort = true })) .. "\n"
end

---Reads the registry file: a missing file is an empty registry.
---@return table<string, table>|nil records
---@return string|nil why (naming the path)
function M.load(path)
  local text, err, code = fs.read(path)
  if not text then
    if code == "notfound" then return {} end
    return nil, err
  end
  local records, why = M.decode(text)
  if not records then return nil, path .. ": " .. why end
  return records
end

-- --- the store: records in memory, saved on every change --------------------------------------

local Store = {}
Store.__index = Store

---Opens the registry file (a missing one is empty; a corrupt one is an error).
---@param path string
---@param opts? {ttl?: number, hold?: number, pending?: number}
---@return table|nil store
---@return string|nil why
function M.open(path, opts)
  local records, why = M.load(path)
  if not records then return nil, why end
  return setmetatable({ path = path, records = records, opts = opts or {} }, Store)
end

---Writes the records to the file (temp file, fsync, rename, fsync of the folder; mode 0600).
function Store:save()
  return fs.write(self.path, M.encode(self.records), { mode = "0600" })
end

---The record of a cluster, or nil. With `now`, as it stands then: nil once gone, and a copy with
---the new state when its state moved (the stored record moves on the next advance, which logs and
---saves it). Callers change records only through put, never in place.
function Store:get(id, now)
  local rec = self.records[id]
  if rec and now then
    local st = M.state_at(rec, now, self.opts)
    if st == "gone" then return nil end
    if st ~= rec.state then
      local copy = {}
      for k, v in pairs(rec) do copy[k] = v end
      copy.state = st
      return copy
    end
  end
  return rec
end

---Every record, sorted by cluster id.
function Store:list()
  local ids = {}
  for id in pairs(self.records) do ids[#ids + 1] = id end
  table.sort(ids)
  local out = {}
  for i, id in ipairs(ids) do out[i] = self.records[id] end
  return out
end

---Stores rec (replacing the record of its cluster) and saves; on a failed save memory is left as
---it was. Returns true, or nil and the reason.
function Store:put(rec)
  local old = self.records[rec.cluster]
  self.records[rec.cluster] = rec
  local ok, err = self:save()
  if not ok then
    self.records[rec.cluster] = old
    return nil, err
  end
  return true
end

---Removes a cluster and saves; on a failed save the record stays.
function Store:delete(id)
  local old = self.records[id]
  self.records[id] = nil
  local ok, err = self:save()
  if not ok then
    self.records[id] = old
    return nil, err
  end
  return true
end

---Brings every record to its state at `now`, saving when something changed.
---@return table[] changes (see M.advance)
---@return string|nil save_error
function Store:advance(now)
  local changes = M.advance(self.records, now, self.opts)
  if #changes > 0 then
    local ok, err = self:save()
    if not ok then return changes, err end
  end
  return changes
end

---Counts by state: {pending = n, active = n, expired = n}.
function Store:counts()
  local c = { pending = 0, active = 0, expired = 0 }
  for _, rec in pairs(self.records) do c[rec.state] = (c[rec.state] or 0) + 1 end
  return c
end

---What differs between two record sets: {added = {ids}, removed = {ids}, changed = {ids}}.
function M.diff(old, new)
  local d = { added = {}, removed = {}, changed = {} }
  for id, r in pairs(new) do
    local o = old[id]
    if not o then
      d.added[#d.added + 1] = id
    else
      for _, k in ipairs({ "ip", "port", "scheme", "owner", "token_sha256", "pin", "state", "created_at", "renewed_at" }) do
        if o[k] ~= r[k] then
          d.changed[#d.changed + 1] = id
          break
        end
      end
    end
  end
  for id in pairs(old) do
    if not new[id] then d.removed[#d.removed + 1] = id end
  end
  table.sort(d.added)
  table.sort(d.removed)
  table.sort(d.changed)
  return d
end

---Reads the file again and replaces memory with it; a bad file leaves memory as it was.
---@return table|nil diff (see M.diff)
---@return string|nil why
function Store:reload()
  local records, why = M.load(self.path)
  if not records then return nil, why end
  local d = M.diff(self.records, records)
  self.records = records
  return d
end

return M
