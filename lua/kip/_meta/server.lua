---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.server"` (core/src/bind/l_server.c). Never loaded; for editors and docs.

---@class kip.server
local server = {}

---@class kip.server.Request
---@field method string
---@field path string percent-decoded
---@field query string raw, without "?"
---@field headers table<string, string> lower-case names; repeated headers joined with ", "
---@field body string
---@field remote_addr string
---@field remote_port integer
---@field client_subject string|nil the verified client certificate's subject ("/O=.../CN=...")
---@field websocket true|nil a WebSocket upgrade (GET with Upgrade: websocket); the offered
---subprotocols are in headers["sec-websocket-protocol"]

---@class kip.server.Response
---@field status? integer default 200
---@field headers? table<string, string|number>
---@field body? string
---@field stream? kip.server.Stream a long-lived chunked response fed by stream:write
---@field stream_timeout? number seconds after which the streamed response ends
---@field websocket? kip.server.Stream with status 101, accepts a WebSocket upgrade (see below)
---@field subprotocol? string with websocket: the Sec-WebSocket-Protocol answered (default: none)

-- WebSockets: an upgrade request reaches the same handler with req.websocket = true. The handler
-- refuses it with any ordinary response (401, 403, 404 ... with a body: the client gets that HTTP
-- response and no upgrade), or accepts it with {status = 101, websocket = stream, subprotocol =
-- "name"} (an open server.stream(); write to it before or after returning). Then each
-- stream:write(data) is sent as one text frame, in order; stream:close() sends what is queued and a
-- close frame (1000); srv:close() sends every open WebSocket a close frame with 1001 (going away).
-- When the client sends a close frame (answered with its code) or goes away, stream:is_open() turns
-- false and writes return false. Pings are answered and idle connections pinged (every 10 s; one
-- that answers none of 5 is dropped). Frames from the client are not read. Each open WebSocket
-- holds one of the server's threads (listen's threads) and a writer thread of its own.

---@class kip.server.Server
local Server = {}
---@return integer port the port listened on (useful with port 0)
function Server:port() end
---Serves until srv:stop(), SIGINT or SIGTERM, calling on_tick every tick seconds. With hup = true a
---SIGHUP returns "SIGHUP" (call run again to go on serving); without, a SIGHUP ends the process.
---@param opts? {tick?: number, on_tick?: fun(now: number), hup?: boolean}
---@return "stopped"|"SIGINT"|"SIGTERM"|"SIGHUP"
function Server:run(opts) end
---Makes run() return after the current tick.
function Server:stop() end
---Stops listening, ends open streams and waits for the server's threads.
function Server:close() end

---@class kip.server.Stream
local Stream = {}
---@param data string
---@return boolean written false once the reader went away or the stream was over its cap
function Stream:write(data) end
---@return boolean
function Stream:is_open() end
---Ends the response after what is queued.
function Stream:close() end

---Starts an HTTP server whose requests handler answers (on a server thread, holding the host
---lock). With cert_file it serves TLS 1.2+; with ca_file and require_client_cert, only clients
---whose certificate chains to that CA get through.
---@param opts {listen: string, handler: fun(req: kip.server.Request): kip.server.Response, cert_file?: string, ca_file?: string, require_client_cert?: boolean, threads?: integer, max_body?: integer}
---@return kip.server.Server|nil server
---@return string? message
---@return string? code
function server.listen(opts) end

---@param max_bytes? integer what may wait unread before writes fail (default 64 MiB)
---@return kip.server.Stream
function server.stream(max_bytes) end

---Sleeps without holding the host lock, so server threads can run meanwhile.
---@param seconds number
function server.sleep(seconds) end

return server
