---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.http"` (core/src/bind/l_http.c over core/src/net/http_client.c).
-- Never loaded; for editors and docs.

---@class kip.http
local http = {}

---@class kip.http.client_opts
---@field ca_file? string PEM bundle that verifies servers, instead of the system's CAs
---@field ca_data? string the PEM text itself (exclusive with ca_file)
---@field cert_file? string client certificate (PEM)
---@field cert_data? string client certificate PEM text (exclusive with cert_file)
---@field key_file? string its key (PEM); default: read from the certificate's PEM
---@field key_data? string the key's PEM text (exclusive with key_file)
---@field insecure? boolean skip certificate and host name verification
---@field token? string sent as "Authorization: Bearer TOKEN"; never in messages
---@field headers? table<string, string|false> sent with every request (a request's own header wins)
---@field connect_timeout? number seconds (default: libcurl's 300)
---@field user_agent? string default "kip/VERSION"
---@field local_address? string numeric IP address connections are made from (default: the system's choice)

---@class kip.http.request
---@field url string http:// or https://
---@field method? string GET (default), HEAD, POST, PUT, PATCH, DELETE, OPTIONS (any case)
---@field headers? table<string, string|false> false: do not send a header curl would add
---@field body? string
---@field timeout? number seconds for the whole transfer (default: none)
---@field idle_timeout? number seconds without any byte received while waiting (default: none)
---@field max_body? integer byte cap of a buffered body (default 64 MiB); more fails with "nomem"

---@class kip.http.response
---@field status integer any status (404, 500, ...) is a response, not an error
---@field headers table<string, string> lower-cased names; repeated headers joined with ", "
---@field header_list string[][] every header as {name, value}, in order, repeats kept
---@field body string|nil nil for streams

---@class kip.http.Client
local Client = {} -- luacheck: ignore 241 (methods are declared, never called)

---@class kip.http.Stream
local Stream = {} -- luacheck: ignore 241

---Creates a client: one connection cache (keep-alive) and TLS settings for all its requests.
---Raises for bad options; returns nil, msg, code only if libcurl cannot be set up.
---@param opts? kip.http.client_opts
---@return kip.http.Client|nil client
---@return string? message
---@return string? code
function http.client(opts) end

---One-shot request: a client made from the client options in req, used once and closed.
---@param req kip.http.request|kip.http.client_opts
---@return kip.http.response|nil response
---@return string? message "GET https://host/path: what happened"
---@return string? code "connect", "tls", "timeout", "io", "nomem", "invalid"
function http.request(req) end

---Sends req and waits for the whole response.
---@param req kip.http.request
---@return kip.http.response|nil response
---@return string? message "GET https://host/path: what happened" (never the token)
---@return string? code "connect", "tls", "timeout", "io", "nomem", "invalid"
function Client:request(req) end

---Calls on_chunk(chunk) for each piece of the body as it arrives; on_chunk returning false stops
---the transfer. An error raised by on_chunk propagates after the transfer is cleaned up.
---@param req kip.http.request
---@param on_chunk fun(chunk: string): boolean?
---@return kip.http.response|nil response status and headers, no body
---@return string? message
---@return string? code
function Client:stream(req, on_chunk) end

---Starts req and returns once the response headers arrived.
---@param req kip.http.request
---@return kip.http.Stream|nil stream
---@return string? message
---@return string? code
function Client:open(req) end

---`for chunk in client:chunks(req) do ... end`: opens a stream closed when the loop ends (break
---included). Raises on failures, as io.lines does.
---@param req kip.http.request
---@return fun(s: kip.http.Stream): string|nil iterator
---@return kip.http.Stream stream
---@return nil
---@return kip.http.Stream closing
function Client:chunks(req) end

---Closes the connections and aborts the client's open streams. Idempotent; also on __gc/__close.
function Client:close() end

---The next chunk of the body, nil at its end, or nil, msg, code on a failure. With wait (seconds,
---fractions allowed), false when nothing came within it; without, it waits as long as it takes.
---@param wait? number
---@return string|false|nil chunk
---@return string? message
---@return string? code
function Stream:read(wait) end

---The next complete line of the body (without "\n"; a last line without one too), nil at its end,
---or nil, msg, code on a failure. With wait (seconds), false when no whole line came within it.
---Reads and readlines may be mixed.
---@param wait? number
---@return string|false|nil line
---@return string? message
---@return string? code
function Stream:readline(wait) end

---Iterator over the complete lines of the body (without "\n"; a last line without one too),
---whatever the chunk boundaries. Raises on failures, as io.lines does.
---@return fun(): string|nil
function Stream:lines() end

---@return integer status
function Stream:status() end

---@return table<string, string> headers repeated headers joined with ", "
---@return string[][] header_list every header as {name, value}
function Stream:headers() end

---Aborts the transfer if still running. Idempotent; also on __gc/__close.
function Stream:close() end

return http
