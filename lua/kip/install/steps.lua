-- SPDX-License-Identifier: Apache-2.0
-- The recipe steps the k3s server and agent recipes share: the preflight check of the server, and
-- k3s installed through its install script (fetched here, uploaded, run with the pinned version,
-- skipped when `k3s --version` already shows it). Uses kip.install.preflight, kip.install.script
-- and kip.install.k3s_files.
local files = require "kip.install.k3s_files"
local preflight = require "kip.install.preflight"
local script = require "kip.install.script"
local strings = require "kip.util.strings"

local M = {}

local INSTALLER = "/var/lib/rancher/kipper-k3s-install.sh"

---The preflight step; skipped once k3s is installed (installed: the shell test for that).
---@param role "server"|"agent"
function M.preflight(role, installed)
  return {
    name = "preflight", title = "Check the server",
    check = function(ctx) return ctx:test(installed) and "k3s is installed already" end,
    run = function(ctx)
      local facts = preflight.parse(ctx:sh(preflight.SCRIPT).stdout)
      local errs, warnings = preflight.evaluate(facts, ctx.vars, { role = role })
      for _, w in ipairs(warnings) do ctx:say("warning: " .. w) end
      if #errs > 0 then ctx:fail(preflight.describe(errs)) end
      ctx.state.facts = facts
    end,
  }
end

---The k3s-install step: INSTALL_K3S_EXEC is `role` plus k3s.exec_args.
---@param role "server"|"agent"
---@param version fun(ctx): string the version to install
---@param opts {title: string, hint: string}
function M.install(role, version, opts)
  return {
    name = "k3s-install", title = opts.title, hint = opts.hint,
    check = function(ctx)
      local r = ctx:sh(files.BIN .. " --version", { allow_fail = true })
      return r.status == 0 and files.has_version(r.stdout, version(ctx))
    end,
    run = function(ctx)
      local url = ctx.vars["k3s.install_script_url"]
      ctx:say("fetching k3s's install script from " .. url)
      local text, err = script.fetch(url)
      if not text then ctx:fail(err, "Check --set k3s.install_script_url, or point it at a local copy of the script (a file path).") end
      ctx:upload(INSTALLER, text, "0700")
      local q = strings.shell_quote
      ctx:sh(string.format("INSTALL_K3S_VERSION=%s INSTALL_K3S_EXEC=%s sh %s; s=$?; rm -f %s; exit $s", q(version(ctx)),
        q(strings.trim(role .. " " .. ctx.vars["k3s.exec_args"])), INSTALLER, INSTALLER), { timeout = ctx.vars["wait.timeout"] })
    end,
  }
end

return M
