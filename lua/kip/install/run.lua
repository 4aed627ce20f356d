-- SPDX-License-Identifier: Apache-2.0
-- What `kip install` and `kip node add` share: the recipe with its variables (--set, site recipes)
-- resolved before anything connects, the provider asked for the machine, the SSH connection, a
-- transcript file under $KIP_HOME/logs, the recipe run with progress, and a failure reported with
-- the step, the command, its exit status, the last lines of output and what to try. Uses
-- kip.recipe.*, kip.remote.connect, kip.provider and kip.cli.errors.
local config = require "kip.config"
local connect = require "kip.remote.connect"
local engine = require "kip.recipe.engine"
local errors = require "kip.cli.errors"
local fs = require "kip.fs"
local provider_mod = require "kip.provider"
local recipe_load = require "kip.recipe.load"
local ui_mod = require "kip.recipe.ui"

local M = {}

---The provider by name, or a failure.
function M.provider(name)
  local p, err = provider_mod.load(name or "baremetal")
  if not p then errors.fail(err, "Run 'kip plugins --kind provider' to see the providers kip finds.") end
  return p
end

---The recipe with its variables; a usage error for unknown --set keys.
---@return table recipe, table vars
function M.recipe(name, opts)
  local recipe, err = recipe_load.resolve(name, { file = opts.file, home = config.home() })
  if not recipe then errors.fail(err, "Check the recipe file; docs/recipes.md shows how a site recipe extends k3s.") end
  local vars, verr = engine.variables(recipe, opts.sets)
  if not vars then errors.usage(verr, "See the variables with 'kip install --plan' or in docs/recipes.md.") end
  return recipe, vars
end

---A provider function's answer, or a failure naming the provider.
function M.provider_value(p, fname, ...)
  local v, second = provider_mod.call(p, fname, ...)
  if not v then errors.fail(second or string.format("provider %s returned nothing from %s", p.name(), fname)) end
  return v, second
end

---Prints the recipe's variables and their values (for --plan).
function M.show_vars(out, recipe, vars)
  out:write("Variables (change with --set KEY=VALUE):\n")
  local keys = {}
  for k in pairs(vars) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local changed = vars[k] ~= recipe.vars[k] and "   (changed)" or ""
    out:write(string.format("  %-32s %s%s\n", k, tostring(vars[k]), changed))
  end
end

---Reads the sudo password from the first line of stdin.
function M.read_sudo_password()
  local line = io.stdin:read("l")
  if not line or line == "" then
    errors.usage("--sudo-password-stdin: standard input is empty", "Pipe the password in: kip install ... --sudo-password-stdin < pwfile")
  end
  return line
end

---A new transcript file: $KIP_HOME/logs/WHAT-NAME-TIME.log (folder 0700).
function M.transcript(what, name)
  local dir = config.home() .. "/logs"
  local ok, err = fs.mkdir(dir, { mode = config.DIR_MODE })
  if not ok then errors.fail("cannot create " .. dir .. ": " .. err) end
  return string.format("%s/%s-%s-%s.log", dir, what, name, os.date("!%Y%m%dT%H%M%SZ"))
end

---Provisions through the provider and connects.
---@param p table provider
---@param req table provision request (host, ssh_port, ssh_user, ssh_key, role, name, plan)
---@param flags table the command's flags (accept-host-key, sudo password)
---@return table target, table machine
function M.machine(p, req, flags)
  local machine = M.provider_value(p, "provision", req)
  local target = connect.connect({ host = machine.host, port = machine.ssh_port, user = machine.ssh_user,
    key = machine.ssh_key, accept_host_key = flags["accept-host-key"], sudo_password = flags.sudo_password })
  return target, machine
end

---Connects to a cluster's server as recorded in config.yaml (host, ssh-user, ssh-port, ssh-key).
---@param entry table the cluster's entry
---@param flags table accept-host-key, sudo_password
---@param key? string a key file to use instead of the entry's
function M.server_target(entry, flags, key)
  if not entry.host then
    errors.fail(string.format("kip does not know the server of cluster %q (no host in %s)", entry.name, config.path()),
      "Clusters kip did not install cannot be managed over SSH.")
  end
  return connect.connect({ host = entry.host, port = entry["ssh-port"], user = entry["ssh-user"], key = key or entry["ssh-key"],
    accept_host_key = flags["accept-host-key"], sudo_password = flags.sudo_password })
end

local function indent(lines)
  local out = {}
  for _, l in ipairs(lines or {}) do out[#out + 1] = "    | " .. l end
  return table.concat(out, "\n")
end

---Runs the recipe; on failure raises a kip error with everything needed to act on it.
---@param opts {recipe: table, vars: table, target: table, state: table, plan?: boolean, transcript: string, out?: file*, what: string}
---@return table summary {ran, skipped, seconds, commands}
function M.run(opts)
  local ui = ui_mod.new({ out = opts.out })
  local summary, failure = engine.run(opts.recipe, { target = opts.target, vars = opts.vars, plan = opts.plan,
    ui = ui, transcript = opts.transcript, state = opts.state })
  if not summary then
    local parts = { string.format("step %q failed: %s", failure.step or "?", failure.message) }
    if failure.command then parts[#parts + 1] = "  command: " .. failure.command:gsub("\n", "\n           ") end
    if failure.status then parts[#parts + 1] = "  exit status: " .. tostring(failure.status) end
    if failure.output and #failure.output > 0 then parts[#parts + 1] = "  last output:\n" .. indent(failure.output) end
    parts[#parts + 1] = "  transcript: " .. opts.transcript
    local hint = (failure.hint and (failure.hint .. "\n") or "") ..
      string.format("Then run the same command again: %s resumes, skipping the steps that are done.", opts.what)
    opts.target:close()
    errors.fail(table.concat(parts, "\n"), hint)
  end
  summary.commands = opts.target.commands
  return summary
end

return M
