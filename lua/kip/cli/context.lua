-- SPDX-License-Identifier: Apache-2.0
-- What a running command gets: its parsed flags and arguments, kip's configuration (loaded on
-- first use), the cluster chosen for this command (--cluster, KIP_CLUSTER, then the current one)
-- a Kubernetes client for it, and output in the format the user asked for. Uses kip.config,
-- kip.k8s, kip.output and kip.cli.errors.
local config = require "kip.config"
local errors = require "kip.cli.errors"
local output = require "kip.output"

local Context = {}
Context.__index = Context

local M = {}

---@param fields {command: string, flags: table, args: table, argv0: string}
function M.new(fields)
  return setmetatable(fields, Context)
end

---kip's configuration; a file that cannot be read or parsed stops the command.
---@return table cfg see kip.config
function Context:config()
  if not self._config then
    local cfg, err = config.load()
    if not cfg then
      errors.fail(err, string.format("Fix or move %s; kip does not overwrite a file it cannot read.", config.path()))
    end
    self._config = cfg
  end
  return self._config
end

---Writes the configuration back (atomically, 0600).
function Context:save_config()
  local ok, err = config.save(self:config())
  if not ok then errors.fail(err) end
end

---The cluster this command works on.
---@return table cluster the entry from config.yaml
function Context:cluster()
  local cfg = self:config()
  local name, source = self.flags.cluster, "--cluster"
  if not name then name, source = os.getenv("KIP_CLUSTER"), "KIP_CLUSTER" end
  if name == "" then name = nil end
  if not name then name, source = cfg.current, "the current cluster" end
  if not name then
    if #cfg.clusters == 0 then
      errors.fail("kip knows no cluster yet", "Install one with 'kip install --host IP'.")
    end
    errors.fail("no cluster is selected", "Pick one with 'kip cluster use NAME' or pass --cluster NAME.")
  end
  local cluster = config.find(cfg, name)
  if not cluster then
    errors.fail(string.format("no cluster named %q (from %s)", name, source),
      "Run 'kip cluster list' to see the clusters kip knows.")
  end
  return cluster
end

---A Kubernetes client (kip.k8s) for the cluster this command works on.
function Context:client()
  if not self._client then
    local cluster = self:cluster()
    if not cluster.kubeconfig then
      errors.fail(string.format("cluster %q has no kubeconfig in %s", cluster.name, config.path()),
        "Run 'kip install' for it again, which fetches the kubeconfig.")
    end
    local c, err = require("kip.k8s").connect({ kubeconfig = cluster.kubeconfig, timeout = 30 })
    if not c then errors.fail(string.format("cannot use cluster %q: %s", cluster.name, err)) end
    self._client = c
  end
  return self._client
end

---Prints value in the format chosen with -o.
---@param value any an object or, for table output, a list of rows
---@param columns table|nil the table columns (see kip.output.table)
function Context:show(value, columns)
  io.stdout:write(output.render(self.flags.output or "table", value, columns))
end

---Prints a line to standard output.
function Context:say(fmt, ...)
  io.stdout:write(string.format(fmt, ...), "\n")
end

return M
