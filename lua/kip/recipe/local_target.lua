-- SPDX-License-Identifier: Apache-2.0
-- A recipe target on this machine, through kip.proc and kip.fs: what specs (and `kip lua`
-- experiments) run recipes against when no server is at hand. The SSH target has the same methods.
local fs = require "kip.fs"
local proc = require "kip.proc"

local M = {}

local Target = {}
Target.__index = Target

---@param opts? {root?: string} root: a folder that stands for / (paths are rewritten below it)
function M.new(opts)
  opts = opts or {}
  return setmetatable({ root = opts.root, description = "this machine" }, Target)
end

function Target:path(p)
  return self.root and (self.root .. p) or p
end

function Target:exec(command, opts)
  opts = opts or {}
  return proc.run(command, { shell = true, stdin = opts.stdin, timeout = opts.timeout,
    env = self.root and { KIP_ROOT = self.root } or nil })
end

function Target:upload(path, data, opts)
  local full = self:path(path)
  local dir = full:match("^(.*)/[^/]*$")
  if dir and dir ~= "" then
    local ok, err = fs.mkdir(dir)
    if not ok then return nil, err end
  end
  return fs.write(full, data, { mode = opts and opts.mode or "0644" })
end

function Target:download(path)
  return fs.read(self:path(path))
end

return M
