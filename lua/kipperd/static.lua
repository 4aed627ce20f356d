-- SPDX-License-Identifier: Apache-2.0
-- kipperd.static: serves the built console (a Vite build: index.html, assets/NAME-HASH.EXT and
-- FILE.gz copies) from one folder at /. Content types by extension; hashed assets cached for a year
-- (immutable), everything else revalidated (no-cache) with ETag and Last-Modified answered 304;
-- FILE.gz sent as Content-Encoding: gzip to clients that take it; browser navigations to paths
-- with no file (and no file extension) get index.html for the console's router (never under /api/
-- or /assets/); security headers (CSP, nosniff, no framing) on HTML. No path leaves the folder:
-- dot segments, hidden names, NUL and backslashes are refused and every file is checked with
-- realpath to be inside the folder (symlinks out of it are "not found"). Also finds the console's
-- folder (--console, $KIP_CONSOLE_DIR, PREFIX/share/kipper/console, the build tree's console/).
-- Uses kip.fs, kip.host and kip.util.time (HTTP dates).
local fs = require "kip.fs"
local host = require "kip.host"
local time = require "kip.util.time"

local M = {}

-- Content types by file extension.
M.TYPES = {
  html = "text/html; charset=utf-8", js = "text/javascript; charset=utf-8", mjs = "text/javascript; charset=utf-8",
  css = "text/css; charset=utf-8", svg = "image/svg+xml", png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg",
  gif = "image/gif", webp = "image/webp", ico = "image/x-icon", json = "application/json", map = "application/json",
  woff2 = "font/woff2", woff = "font/woff", ttf = "font/ttf", txt = "text/plain; charset=utf-8",
  webmanifest = "application/manifest+json", xml = "application/xml", wasm = "application/wasm",
}
M.DEFAULT_TYPE = "application/octet-stream"

-- A Vite build loads scripts, styles, fonts and images from its own origin only (small images and
-- fonts may be inlined as data: URLs; Vue sets :style through the CSSOM, which style-src allows);
-- the API and the logs WebSocket are same-origin too ('self' covers ws:/wss: to the same host in
-- CSP 3). No 'unsafe-inline' anywhere: console.e2e fails on any violation.
M.CSP = table.concat({ "default-src 'self'", "script-src 'self'", "style-src 'self'",
  "img-src 'self' data:", "font-src 'self' data:", "connect-src 'self'", "object-src 'none'",
  "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'" }, "; ")

M.IMMUTABLE = "public, max-age=31536000, immutable"
M.REVALIDATE = "no-cache"

-- Folder of the running program (PREFIX/bin, or the build tree's bin/).
local function exe_dir()
  local exe = host.exe()
  return exe and exe:match("^(.*)/[^/]+$") or nil
end

---Where the console may be when no folder is named, in the order searched: PREFIX/share/kipper/console
---beside the program's bin/ (an install), then console/ beside bin/ (the build tree).
---@return string[]
function M.candidates()
  local bin = exe_dir()
  if not bin then return {} end
  return { bin .. "/../share/kipper/console", bin .. "/../console" }
end

local function has_index(d)
  local st = fs.stat(d .. "/index.html")
  return st ~= nil and st.type == "file"
end

---Finds the console. A named folder (`dir`, the --console flag, else $KIP_CONSOLE_DIR) must hold an
---index.html; otherwise the first of `candidates` (default M.candidates()) holding one is taken.
---@param dir? string the --console flag
---@param candidates? string[]
---@return string|nil dir the folder, resolved
---@return string? message why none was found, naming the places looked at
---@return boolean? named true when the failure is about a named folder (a configuration error)
function M.find_dir(dir, candidates)
  local env = os.getenv("KIP_CONSOLE_DIR")
  dir = dir or (env ~= "" and env or nil)
  if dir then
    if has_index(dir) then return fs.realpath(dir) or dir end
    return nil, string.format("no console in %s: it has no index.html", dir), true
  end
  candidates = candidates or M.candidates()
  for _, d in ipairs(candidates) do
    if has_index(d) then return fs.realpath(d) or d end
  end
  return nil, "no console found (looked in " .. (#candidates > 0 and table.concat(candidates, ", ") or "no place") .. ")"
end

---True when the client takes gzip (Accept-Encoding names gzip, x-gzip or * with a q above 0).
---@param accept string|nil the Accept-Encoding header
---@return boolean
function M.accepts_gzip(accept)
  local gzip, star
  for item in (accept or ""):gmatch("[^,]+") do
    local name = item:match("^%s*([^;%s]+)"):lower()
    local q = tonumber(item:match(";%s*[qQ]%s*=%s*([%d.]+)")) or 1
    if name == "gzip" or name == "x-gzip" then gzip = math.max(gzip or 0, q)
    elseif name == "*" then star = q end
  end
  return (gzip or star or 0) > 0
end

---True for a build's hashed asset: under assets/, a name whose stem ends in -HASH (Vite's
---[name]-[hash]: 8 characters of [A-Za-z0-9_-], with a digit or capital so plain words do not count).
---@param rel string the path inside the folder, without a leading slash
---@return boolean
function M.is_hashed(rel)
  if not rel:match("^assets/") then return false end
  local stem = rel:match("([^/]*)$"):match("^([^.]+)%.") or ""
  local hash = stem:sub(-8)
  return #stem > 9 and stem:sub(-9, -9) == "-" and hash:match("^[%w_%-]+$") ~= nil and hash:match("[%d%u]") ~= nil
end

-- The extension of the last segment when it is one a file would have, else nil.
local function extension(rel)
  local ext = rel:match("%.(%w+)$")
  ext = ext and ext:lower()
  if ext and (M.TYPES[ext] or ext == "gz" or ext == "br") then return ext end
  return nil
end

-- The path inside the folder for a request path, or nil and a status (400 malformed, 404 hidden).
local function relative(path)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" or path:find("[%z\\]") then return nil, 400 end
  local segments = {}
  for seg in path:gmatch("[^/]+") do
    if seg == "." or seg == ".." then return nil, 400 end
    if seg:sub(1, 1) == "." then return nil, 404 end
    segments[#segments + 1] = seg
  end
  return table.concat(segments, "/")
end

local Console = {}
Console.__index = Console

---A handler for one folder.
---@param opts {root: string}
---@return table|nil console with :handle(req)
---@return string? message
function M.new(opts)
  local root, err = fs.realpath(opts.root)
  if not root then return nil, err end
  local st = fs.stat(root)
  if not st or st.type ~= "directory" then return nil, root .. " is not a folder" end
  return setmetatable({ root = root }, Console)
end

-- The real path of rel inside the root and its stat, or nil when it is missing, not a regular
-- file or (through a link) outside the root.
function Console:_file(rel)
  local real = fs.realpath(self.root .. "/" .. rel)
  if not real or real:sub(1, #self.root + 1) ~= self.root .. "/" then return nil end
  local st = fs.stat(real)
  if not st or st.type ~= "file" then return nil end
  return real, st
end

local function plain(status, body, extra)
  local h = { ["Content-Type"] = "text/plain; charset=utf-8", ["Cache-Control"] = "no-cache",
    ["X-Content-Type-Options"] = "nosniff" }
  for k, v in pairs(extra or {}) do h[k] = v end
  return { status = status, headers = h, body = body }
end

-- 304 when the client's copy (If-None-Match, else If-Modified-Since) is current.
local function not_modified(req, etag, mtime)
  local inm = req.headers["if-none-match"]
  if inm then
    for tag in inm:gmatch("[^,]+") do
      tag = tag:match("^%s*(.-)%s*$"):gsub("^W/", "")
      if tag == "*" or tag == etag then return true end
    end
    return false
  end
  local since = time.parse_http_date(req.headers["if-modified-since"])
  return since ~= nil and mtime <= since
end

-- Answers with the file rel (its real path and stat known).
function Console:_send(req, rel, real, st)
  local ext = rel:match("%.(%w+)$")
  ext = ext and ext:lower() or ""
  local headers = {
    ["Content-Type"] = M.TYPES[ext] or M.DEFAULT_TYPE,
    ["Cache-Control"] = M.is_hashed(rel) and M.IMMUTABLE or M.REVALIDATE,
    ["X-Content-Type-Options"] = "nosniff",
  }
  if ext == "html" then
    headers["Content-Security-Policy"] = M.CSP
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
  end
  local gz_real, gz_st = self:_file(rel .. ".gz")
  if gz_real then
    headers["Vary"] = "Accept-Encoding"
    if M.accepts_gzip(req.headers["accept-encoding"]) then
      real, st = gz_real, gz_st
      headers["Content-Encoding"] = "gzip"
    end
  end
  local etag = string.format('"%x-%x%s"', st.size, st.mtime, headers["Content-Encoding"] and "-gz" or "")
  headers["ETag"] = etag
  headers["Last-Modified"] = time.format_http_date(st.mtime)
  if not_modified(req, etag, st.mtime) then return { status = 304, headers = headers, body = "" } end
  local body = fs.read(real)
  if not body then return plain(404, "not found\n") end
  return { status = 200, headers = headers, body = body }
end

-- A browser navigation the console's router handles: GET/HEAD of a path with no file extension,
-- accepting HTML, outside /api and /assets.
local function is_navigation(req, rel)
  local accept = req.headers.accept or ""
  if not accept:find("text/html", 1, true) then return false end
  if rel == "api" or rel:match("^api/") or rel == "assets" or rel:match("^assets/") then return false end
  return extension(rel) == nil
end

---Answers a GET or HEAD for the console (any other method: 405).
---@param req kip.server.Request
---@return kip.server.Response
function Console:handle(req)
  if req.method ~= "GET" and req.method ~= "HEAD" then
    return plain(405, "method not allowed\n", { Allow = "GET, HEAD" })
  end
  local rel, status = relative(req.path)
  if not rel then return plain(status, status == 400 and "bad request path\n" or "not found\n") end
  if rel == "" then rel = "index.html" end
  local real, st = self:_file(rel)
  if not real and not extension(rel) then
    -- a folder's index.html (/sub/ -> sub/index.html)
    real, st = self:_file(rel .. "/index.html")
    if real then rel = rel .. "/index.html" end
  end
  if real then return self:_send(req, rel, real, st) end
  if is_navigation(req, rel) then
    real, st = self:_file("index.html")
    if real then return self:_send(req, "index.html", real, st) end
  end
  return plain(404, "not found\n")
end

return M
