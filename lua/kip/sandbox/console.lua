-- SPDX-License-Identifier: Apache-2.0
-- The sandbox's console login: one admin (admin@sandbox.local) in the console's users (the same
-- kipperd.auth.users as `kip user add`), with a generated password kept in the sandbox folder
-- (console-admin, mode 0600) so every `kip sandbox up` prints the same login. Without that file the
-- admin gets a new password (made or reset); with it, a missing admin (a fresh state) is made again
-- with the kept password. Uses kip.fs, kip.config and kipperd.auth.users.
local config = require "kip.config"
local fs = require "kip.fs"
local users = require "kipperd.auth.users"

local M = {}

M.EMAIL = "admin@sandbox.local"
M.FILE = "console-admin"

---Makes sure the sandbox's console admin exists with the kept password.
---@param client table a kip.k8s client of the sandbox API
---@param dir string the sandbox folder
---@return {email: string, password: string, file: string, changed?: boolean}|nil login changed: the
---  admin exists but its password is no longer the kept one (changed in the console)
---@return string? message
function M.ensure_admin(client, dir)
  local file = dir .. "/" .. M.FILE
  local kept = (fs.read(file) or ""):match("^%s*(%S+)")
  local password = kept or users.generate_password()
  local existing, gerr, gcode = users.get(client, M.EMAIL)
  if not existing and gcode ~= "notfound" then return nil, "cannot read the console's users: " .. tostring(gerr) end
  local login = { email = M.EMAIL, password = password, file = file }
  if existing and kept then
    -- kept login: check it still works (the admin may have changed their password in the console)
    local ok = users.authenticate(client, M.EMAIL, password)
    login.changed = not ok or nil
    return login
  end
  local ok, err
  if existing then
    ok, err = users.set_password(client, M.EMAIL, password)
  else
    ok, err = users.add(client, M.EMAIL, "admin", password)
  end
  if not ok then return nil, "cannot set up the console's admin: " .. tostring(err) end
  if not kept then
    local wok, werr = fs.write(file, password .. "\n", { mode = config.FILE_MODE })
    if not wok then return nil, werr end
  end
  return login
end

return M
