-- SPDX-License-Identifier: Apache-2.0
-- kipperd.logs: the live log sessions behind GET /api/v1/projects/P/apps/A/logs (WebSocket). A
-- request handler (on a server thread) opens a session: a kip.server stream that feeds the
-- WebSocket. Everything else happens on kipperd's main loop (hub:step from on_tick), never blocking
-- for long: the App's pods are listed when a session starts and every `rescan` seconds (one list per
-- namespace and selector for all sessions), each session follows its pods' logs with its own
-- kip.k8s client (kip.apps.logs follower: lines read without waiting), and each line is written as
-- one frame "[POD] text". A session ends when its client leaves (stream no longer open): its log
-- streams and connections are closed at the next step. With previous, each pod's previous
-- container log is sent once and the WebSocket closes. Uses kip.apps.logs, kip.apps.pods, kip.k8s,
-- kip.server and kip.log.
local k8s = require "kip.k8s"
local log = require "kip.log"
local logs = require "kip.apps.logs"
local pods = require "kip.apps.pods"
local server = require "kip.server"

local M = {}

M.MAX_SESSIONS = 128     -- open log WebSockets at a time (each holds a server thread)
M.QUEUE_BYTES = 1 << 20  -- unsent bytes a session may queue; a client that falls further behind is ended
M.RESCAN = 2             -- seconds between pod lists (new pods are followed within this)
M.PUMP = 0.05            -- seconds between reads of the log streams
M.MAX_LINES = 500        -- lines read per log stream and pump (a chatty pod cannot starve the loop)
M.STARTS = 8             -- sessions started per step (each lists pods and opens their logs)
M.OPEN_TIMEOUT = 5       -- seconds a log open may wait for the API's answer (the loop waits meanwhile)

local Hub = {}
Hub.__index = Hub

---The session hub; call hub:step(now) from the main loop and hub:close() when stopping.
---@param opts {conn: table, max_sessions?: integer, rescan?: number, user_agent?: string, metrics?: table}
---conn: the kip.k8s connection (a client's .conn) the log streams are opened with; metrics: a
---kip.reconcile.metrics registry for kipperd_log_sessions, kipperd_log_streams and kipperd_log_sessions_total
function M.new(opts)
  local self = setmetatable({ conn = assert(opts.conn, "kipperd.logs: conn is required"),
    max = opts.max_sessions or M.MAX_SESSIONS, rescan = opts.rescan or M.RESCAN,
    user_agent = opts.user_agent or ("kipperd/" .. require("kip.host").version()), metrics = opts.metrics,
    incoming = {}, sessions = {}, next_scan = 0, next_pump = 0, opened = 0 }, Hub)
  if self.metrics then
    self.metrics:gauge("kipperd_log_sessions", "live log WebSockets open")
    self.metrics:gauge("kipperd_log_streams", "pod logs followed for the live log WebSockets")
    self.metrics:counter("kipperd_log_sessions_total", "live log WebSockets opened")
  end
  return self
end

-- Sets the gauges (and the counter) from the sessions now.
function Hub:_measure()
  if not self.metrics then return end
  local st = self:stats()
  self.metrics:set("kipperd_log_sessions", nil, st.sessions)
  self.metrics:set("kipperd_log_streams", nil, st.streams)
  self.metrics:set("kipperd_log_sessions_total", nil, st.opened)
end

function Hub:_client()
  return k8s.client.new(self.conn, { timeout = 30, user_agent = self.user_agent })
end

---How many sessions are open (or about to start).
function Hub:count()
  return #self.sessions + #self.incoming
end

---Opens a session (any thread): the stream to answer the WebSocket with, or nil when there are
---M.MAX_SESSIONS already.
---@param opts {namespace: string, app: string, selector: string, tail?: integer, previous?: boolean}
---@return table|nil stream kip.server stream
function Hub:open(opts)
  if self:count() >= self.max then return nil end
  local stream = server.stream(M.QUEUE_BYTES)
  self.incoming[#self.incoming + 1] = { stream = stream, namespace = opts.namespace, app = opts.app,
    selector = opts.selector, tail = opts.tail, previous = opts.previous, fresh = true }
  self.opened = self.opened + 1
  return stream
end

-- Ends a session: its log streams, its connections, its WebSocket (a close frame when still open).
function Hub:_end(s)
  if s.follower then s.follower:close() end
  if s.client then s.client:close() end
  s.follower, s.client = nil, nil
  s.stream:close()
end

-- Starts a session on the main loop: its client and follower (or its previous logs, then the end).
function Hub:_start(s, list)
  s.client = self:_client()
  local function send(pod, line)
    if not s.stream:write(logs.prefix(pod, line)) then s.gone = true end
  end
  if s.previous then
    logs.read(s.client, list, { namespace = s.namespace, tail = s.tail, previous = true }, send)
    s.done = true
    return
  end
  s.follower = logs.follower(s.client, { namespace = s.namespace, tail = s.tail, on_line = send,
    open_timeout = M.OPEN_TIMEOUT,
    notice = function(text) log.debug("live logs: " .. text, { namespace = s.namespace, app = s.app }) end })
  s.follower:update(list)
end

---One step of the main loop: takes new sessions, drops those whose client left, lists pods when
---due and passes on the lines that arrived.
---@param now number seconds (monotonic)
function Hub:step(now)
  if #self.incoming > 0 then
    local new = self.incoming
    self.incoming = {}
    for _, s in ipairs(new) do self.sessions[#self.sessions + 1] = s end
  end
  if #self.sessions == 0 then
    if self.measured ~= 0 then self:_measure() end
    self.measured = 0
    return
  end
  self.measured = nil
  local rescan = now >= self.next_scan
  if rescan then self.next_scan = now + self.rescan end
  local lists = {} -- namespace \0 selector -> pods, this step
  local keep = {}
  local starts = 0
  for _, s in ipairs(self.sessions) do
    if s.gone or s.done or not s.stream:is_open() then
      self:_end(s)
    else
      if (s.fresh and starts < M.STARTS) or (rescan and not s.fresh) then
        local key = s.namespace .. "\0" .. s.selector
        local list = lists[key] or pods.list(self:_lister(), s.namespace, s.app, s.selector)
        lists[key] = list
        if s.fresh then
          s.fresh = false
          starts = starts + 1
          self:_start(s, list)
        else
          s.follower:update(list)
        end
      end
      keep[#keep + 1] = s
    end
  end
  self.sessions = keep
  if now >= self.next_pump then
    self.next_pump = now + M.PUMP
    for _, s in ipairs(self.sessions) do
      if s.follower then s.follower:pump(M.MAX_LINES) end
    end
  end
  self:_measure()
end

-- The client pods are listed with (the main loop's own).
function Hub:_lister()
  self.lister = self.lister or self:_client()
  return self.lister
end

---Ends every session (kipperd stops).
function Hub:close()
  for _, list in ipairs({ self.sessions, self.incoming }) do
    for _, s in ipairs(list) do self:_end(s) end
  end
  self.sessions, self.incoming = {}, {}
  if self.lister then self.lister:close() end
  self.lister = nil
  self:_measure()
end

---Numbers for /metrics and the benchmark: open sessions, log streams followed, sessions opened.
function Hub:stats()
  local streams = 0
  for _, s in ipairs(self.sessions) do
    if s.follower then streams = streams + s.follower:count() end
  end
  return { sessions = self:count(), streams = streams, opened = self.opened }
end

return M
