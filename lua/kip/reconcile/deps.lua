-- SPDX-License-Identifier: Apache-2.0
-- What each resource's last reconcile read through ctx.observed and ctx.observed_list, so a change
-- to one of those objects (a user's app-NAME-secrets, a bound Service's credentials, the pods of
-- an App) queues the resources that read it, though they do not own it. Pure.
local M = {}

local Deps = {}
Deps.__index = Deps

function M.new()
  -- gets[kind_key][object key][owner id] = true
  -- lists[kind_key][namespace or ""][pair][owner id] = {selector, ...}, pair: the selector's first
  --   "key=value" in sorted order ("" for an empty selector), so an object's labels find them
  -- by_owner[owner id] = {gets = {{kind_key, key}}, lists = {{kind_key, namespace, pair}}}
  return setmetatable({ gets = {}, lists = {}, by_owner = {} }, Deps)
end

---A recorder of one reconcile's reads; pass its `reads` to Deps:record.
---@return {get: fun(kind_key: string, key: string), list: fun(kind_key: string, namespace: string|nil, selector: table|nil), reads: table}
function M.recorder()
  local reads = { gets = {}, lists = {} }
  local r = { reads = reads }
  function r.get(kind_key, key)
    reads.gets[#reads.gets + 1] = { kind_key, key }
  end
  function r.list(kind_key, namespace, selector)
    local copy = {}
    for k, v in pairs(selector or {}) do copy[k] = v end
    reads.lists[#reads.lists + 1] = { kind_key, namespace, copy }
  end
  return r
end

local function first_pair(selector)
  local keys = {}
  for k in pairs(selector) do keys[#keys + 1] = k end
  if #keys == 0 then return "" end
  table.sort(keys)
  return keys[1] .. "=" .. selector[keys[1]]
end

-- t[a][b][c], made on the way
local function at(t, a, b, c)
  t[a] = t[a] or {}
  t[a][b] = t[a][b] or {}
  if c == nil then return t[a][b] end
  t[a][b][c] = t[a][b][c] or {}
  return t[a][b][c]
end

-- Removes t[a][b][c][id] and the tables it leaves empty.
local function drop(t, id, a, b, c)
  local ta = t[a]
  local tb = ta and ta[b]
  local set = tb
  if c ~= nil then set = tb and tb[c] end
  if not set then return end
  set[id] = nil
  if next(set) ~= nil then return end
  if c ~= nil then
    tb[c] = nil
    if next(tb) ~= nil then return end
  end
  ta[b] = nil
  if next(ta) == nil then t[a] = nil end
end

---Forgets what an owner read.
---@param id string the owner's id ("Kind|key")
function Deps:forget(id)
  local old = self.by_owner[id]
  if not old then return end
  for _, g in ipairs(old.gets) do drop(self.gets, id, g[1], g[2]) end
  for _, l in ipairs(old.lists) do drop(self.lists, id, l[1], l[2], l[3]) end
  self.by_owner[id] = nil
end

---Replaces what an owner read with `reads` (from a recorder).
---@param id string
---@param reads {gets: table, lists: table}
function Deps:record(id, reads)
  self:forget(id)
  local mine = { gets = {}, lists = {} }
  for _, g in ipairs(reads.gets) do
    at(self.gets, g[1], g[2])[id] = true
    mine.gets[#mine.gets + 1] = g
  end
  for _, l in ipairs(reads.lists) do
    local ns, pair = l[2] or "", first_pair(l[3])
    local set = at(self.lists, l[1], ns, pair)
    if set[id] then
      table.insert(set[id], l[3])
    else
      set[id] = { l[3] }
      mine.lists[#mine.lists + 1] = { l[1], ns, pair }
    end
  end
  self.by_owner[id] = mine
end

local function matches(labels, selector)
  for k, v in pairs(selector) do
    if labels[k] ~= v then return false end
  end
  return true
end

---The owners whose reads an object (of kind_key, at key, in namespace, with labels) is part of.
---@param kind_key string
---@param key string
---@param namespace string|nil
---@param labels table<string, string>|nil
---@param into? table<string, boolean> a set to add to
---@return table<string, boolean> ids
function Deps:readers(kind_key, key, namespace, labels, into)
  local out = into or {}
  local byk = self.gets[kind_key]
  for id in pairs(byk and byk[key] or {}) do out[id] = true end
  local lists = self.lists[kind_key]
  if not lists then return out end
  labels = labels or {}
  local function scan(by_pair)
    if not by_pair then return end
    local function check(set)
      for id, selectors in pairs(set or {}) do
        if not out[id] then
          for _, sel in ipairs(selectors) do
            if matches(labels, sel) then
              out[id] = true
              break
            end
          end
        end
      end
    end
    check(by_pair[""])
    for k, v in pairs(labels) do check(by_pair[k .. "=" .. v]) end
  end
  scan(lists[""])                                              -- lists of every namespace
  if namespace and namespace ~= "" then scan(lists[namespace]) end
  return out
end

return M
