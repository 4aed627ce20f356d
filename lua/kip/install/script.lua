-- SPDX-License-Identifier: Apache-2.0
-- Fetching k3s's install script on the machine kip runs on (the only download kip makes): from an
-- http(s) URL with kip.http, or from a local file (a path or file:// URL, for air-gapped sites).
-- Refuses what is not a shell script (an HTML error page, say). Uses kip.http and kip.fs.
local fs = require "kip.fs"
local http = require "kip.http"

local M = {}

---@param url string
---@return string|nil script
---@return string|nil message
function M.fetch(url)
  local text, err
  local path = url:match("^file://(/.*)$") or (url:match("^/") and url)
  if path then
    text, err = fs.read(path)
    if not text then return nil, string.format("cannot read k3s's install script: %s", err) end
  elseif url:match("^https?://") then
    local r, herr = http.request({ url = url, timeout = 120, connect_timeout = 20 })
    if not r then return nil, string.format("cannot download k3s's install script: %s", herr) end
    if r.status ~= 200 then
      return nil, string.format("cannot download k3s's install script: GET %s answered %d", url, r.status)
    end
    text = r.body
  else
    return nil, string.format("k3s.install_script_url %q is neither an http(s) URL nor a file path", url)
  end
  if not text:match("^#!") then
    return nil, string.format("%s is not a shell script (it does not start with #!)", url)
  end
  return text
end

return M
