---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.informer"` (core/src/bind/l_informer.c over core/src/k8s/watch.c,
-- cache.c and workqueue.c). Never loaded; for editors and docs.

---@class kip.informer
local informer = {}

---@class kip.informer.conn
---@field server string "https://host:port" of the API server
---@field ca_data? string PEM of the CA that verifies the server (or ca_file)
---@field cert_data? string client certificate PEM (or cert_file)
---@field key_data? string its key PEM (or key_file)
---@field ca_file? string
---@field cert_file? string
---@field key_file? string
---@field token? string bearer token
---@field insecure? boolean skip server certificate verification

---@class kip.informer.opts
---@field conn kip.informer.conn
---@field path string the collection: "/api/v1/pods", "/apis/apps/v1/namespaces/NS/deployments"
---@field label_selector? string "app=web,tier in (a,b)"
---@field field_selector? string "metadata.name=x"
---@field page_size? integer list page size (default 500)
---@field watch_timeout? number seconds each watch asks for (timeoutSeconds; default 300, plus up to 20 % jitter)
---@field backoff_min? number seconds of the first retry after a failure (default 0.5)
---@field backoff_max? number seconds of the longest one (default 30)

---@class kip.informer.handlers
---@field on_add? fun(obj: table)
---@field on_update? fun(old: table, new: table)
---@field on_delete? fun(obj: table) the final state the watch sent, or the last cached one

---@class kip.informer.stats
---@field lists integer complete lists
---@field pages integer list pages read
---@field relists integer lists after the first (410 Gone, a restart)
---@field watches integer watch requests answered with 200
---@field reconnects integer requests made again after a watch ended or a request failed
---@field events integer ADDED, MODIFIED and DELETED events applied
---@field bookmarks integer BOOKMARK events
---@field errors integer failed requests, bad watch lines, ERROR events but 410
---@field last_error string|nil the latest failure
---@field pending integer events queued for poll
---@field running boolean

---@class kip.informer.Informer
local Informer = {} -- luacheck: ignore 241 (methods are declared, never called)

---Starts the informer's thread: list (paged), then watch, reconnecting and relisting as needed.
---An informer stopped before may start again: it relists and reports what changed meanwhile.
---@return true|nil ok
---@return string? message
---@return string? code
function Informer:start() end

---Stops the thread (wakes it and waits for it). The cache and queued events stay.
function Informer:stop() end

---Stops it for good (also `__close`); later calls raise.
function Informer:close() end

---Waits up to timeout_s (default 0) for events, with the host lock released, then calls the
---handlers for the events queued. A handler's error is raised; later events stay queued.
---@param timeout_s? number
---@return integer delivered
function Informer:poll(timeout_s) end

---Sets the handlers (replacing earlier ones).
---@param handlers kip.informer.handlers
---@return kip.informer.Informer self
function Informer:on(handlers) end

---The cached object: get(ns, name), get("ns/name"), or get(name) for cluster-scoped objects.
---@param ns string
---@param name? string
---@return table|nil
function Informer:get(ns, name) end

---The cached objects (of namespace ns only, when given) sorted by namespace then name.
---@param ns? string
---@return table[]
function Informer:list(ns) end

---@return boolean synced whether the first list (of this start) completed
function Informer:synced() end

---@return string|nil rv the last resourceVersion seen
function Informer:resource_version() end

---@return kip.informer.stats
function Informer:stats() end

---@class kip.informer.Queue
local Queue = {} -- luacheck: ignore 241

---Queues key unless it is queued already; a key being processed is queued again on done.
---@param key string
function Queue:add(key) end

---Queues key after `seconds`; a key waiting already keeps the earlier time.
---@param key string
---@param seconds number
function Queue:add_after(key, seconds) end

---Queues key after base_delay * 2^failures (at most max_delay) and counts a failure.
---@param key string
---@return number delay seconds
function Queue:add_rate_limited(key) end

---Forgets key's failures.
---@param key string
function Queue:forget(key) end

---@param key string
---@return integer failures counted since the last forget
function Queue:failures(key) end

---Waits (host lock released) up to timeout_s (default: no limit) for a key.
---@param timeout_s? number
---@return string|nil key nil when the time ran out, or after shutdown once drained
---@return "shutdown"|nil why
function Queue:get(timeout_s) end

---Marks key as processed; queues it again if it was added meanwhile.
---@param key string
function Queue:done(key) end

---@return integer ready keys queued (not the delayed ones, nor those being processed)
function Queue:len() end

---Ignores later adds, drops delayed keys; getters get what is queued, then nil, "shutdown".
function Queue:shutdown() end

---@return boolean
function Queue:shutting_down() end

---Shuts it down for good (also `__close`); later calls raise.
function Queue:close() end

---A new informer (not started).
---@param opts kip.informer.opts
---@return kip.informer.Informer
function informer.new(opts) end

---A new work queue of string keys.
---@param opts? {base_delay?: number, max_delay?: number} seconds (defaults 0.005 and 300)
---@return kip.informer.Queue
function informer.queue(opts) end

return informer
