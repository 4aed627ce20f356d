-- SPDX-License-Identifier: Apache-2.0
-- A client of a kipper-gateway's registration API (docs/domains.md): JSON requests with the
-- cluster's renewal token as bearer, short timeouts, and every failure turned into a message that
-- names what failed and a hint saying what to do (409 a name held by another owner, 403 with the
-- gateway's reason, 429 with Retry-After, an unreachable gateway). Uses kip.http and kip.json.
local http = require "kip.http"
local json = require "kip.json"

local M = {}

M.DEFAULT_URL = "https://api.kipper.run"
M.DEFAULT_ZONE = "kipper.run"

local Api = {}
Api.__index = Api

---The gateway URL without a trailing slash, or nil and why it is not one.
---@param url string
function M.check_url(url)
  if type(url) ~= "string" or not url:match("^https?://[^/%s]+") or url:find("[%s?#]") then
    return nil, string.format("%q is not a gateway URL (http:// or https:// and a host, e.g. %s)", tostring(url), M.DEFAULT_URL)
  end
  return (url:gsub("/+$", ""))
end

---A client for the gateway at url.
---@param opts {url: string, local_address?: string, timeout?: number, connect_timeout?: number}
---@return table|nil api
---@return string|nil err
function M.new(opts)
  local url, err = M.check_url(opts.url)
  if not url then return nil, err end
  local c, cerr = http.client({ connect_timeout = opts.connect_timeout or 10, local_address = opts.local_address,
    headers = { Accept = "application/json" } })
  if not c then return nil, cerr end
  return setmetatable({ url = url, http = c, timeout = opts.timeout or 30 }, Api)
end

function Api:close()
  if self.http then self.http:close() end
  self.http = nil
end

local REASONS = {
  [400] = "invalid", [401] = "unauthorized", [403] = "refused", [404] = "notfound", [409] = "conflict",
  [413] = "invalid", [429] = "ratelimited",
}

---Turns a response into the decoded body (2xx), or nil, message, code, hint.
---@param r {status: integer, headers: table, body: string}
---@param what string what was asked ("registering 203-0-113-10")
function M.result(r, what)
  local body = r.body and r.body ~= "" and json.decode(r.body) or nil
  if r.status >= 200 and r.status < 300 then
    if r.body and r.body ~= "" and type(body) ~= "table" then
      return nil, string.format("%s: the gateway answered %d with something that is not JSON", what, r.status), "http"
    end
    return body or {}, nil, nil, nil
  end
  local code = REASONS[r.status] or "http"
  local reason = type(body) == "table" and type(body.error) == "string" and body.error or nil
  local hint = type(body) == "table" and type(body.hint) == "string" and body.hint or nil
  local msg = string.format("%s: the gateway answered %d%s", what, r.status, reason and (": " .. reason) or "")
  if code == "ratelimited" then
    local after = r.headers and r.headers["retry-after"]
    hint = string.format("The gateway limits how often one address may ask; try again%s.",
      after and (" in " .. after .. " seconds") or " in a minute")
  elseif code == "unauthorized" and not hint then
    hint = "The stored token is not this cluster's any more: 'kip domain unregister --yes' forgets it, then register again."
  elseif r.status >= 500 and not hint then
    hint = "The gateway failed; try again later."
  end
  return nil, msg, code, hint
end

---Sends a request and returns the decoded answer, or nil, message, code, hint (code
---"unreachable" when no answer came).
---@param method string
---@param path string "/v1/clusters/203-0-113-10"
---@param opts? {body?: table, token?: string, what?: string}
function Api:call(method, path, opts)
  opts = opts or {}
  local headers = {}
  if opts.token then headers.Authorization = "Bearer " .. opts.token end
  local body
  if opts.body then
    body = assert(json.encode(opts.body))
    headers["Content-Type"] = "application/json"
  end
  local what = opts.what or (method .. " " .. path)
  local r, err = self.http:request({ method = method, url = self.url .. path, headers = headers, body = body,
    timeout = self.timeout })
  if not r then
    return nil, string.format("%s: cannot reach the gateway at %s: %s", what, self.url, err), "unreachable",
      "Check the gateway URL (--gateway) and this machine's connection; 'curl " .. self.url .. "/healthz' should answer ok."
  end
  return M.result(r, what)
end

return M
