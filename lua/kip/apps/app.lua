-- SPDX-License-Identifier: Apache-2.0
-- The steps the app commands and kipperd's console API share: applying a new spec for an App
-- (server-side apply of the whole merged spec, field manager "kip"; variables removed from env or
-- secrets are also removed when another writer still holds them), deploy (create or change, with
-- secret variables), scale, restart, delete; then, for the CLI, waiting for it to be Ready with
-- progress and printing its URL, or reporting why not. Uses kip.apps.{api,appspec,format,secrets,
-- wait}, kip.json and kip.cli.errors.
local api = require "kip.apps.api"
local appspec = require "kip.apps.appspec"
local errors = require "kip.cli.errors"
local format = require "kip.apps.format"
local json = require "kip.json"
local secrets = require "kip.apps.secrets"
local time = require "kip.util.time"
local wait = require "kip.apps.wait"

local M = {}

---The --timeout flag in seconds ("300", "5m").
function M.timeout(ctx)
  local t = format.parse_duration(ctx.flags.timeout or tostring(wait.DEFAULT_TIMEOUT))
  if not t or t <= 0 then
    errors.usage(string.format("--timeout takes seconds or a duration such as 90s or 5m, not %q", tostring(ctx.flags.timeout)))
  end
  return t
end

-- Keys of a that b lacks.
local function missing(a, b)
  local out = {}
  for k in pairs(a or {}) do if (b or {})[k] == nil then out[#out + 1] = k end end
  table.sort(out)
  return out
end

---Applies spec (and annotations) to the App and tells what happened.
---@param c table kip.k8s client
---@param namespace string
---@param name string
---@param live? table the App as read before (nil: a new App)
---@param spec table the whole new spec
---@param annotations? table<string, string>
---@return table app what the server stored
---@return string what "created", "configured" or "unchanged"
function M.write(c, namespace, name, live, spec, annotations)
  local out = api.apply(c, appspec.object(name, namespace, spec, live, annotations))
  -- a variable another writer (kubectl apply, GitOps) also set survives kip dropping it: remove it
  local patch = {}
  if live then
    local gone_env = missing(live.spec.env, spec.env)
    for _, k in ipairs(gone_env) do
      if out.spec.env and out.spec.env[k] ~= nil then
        patch.env = patch.env or {}
        patch.env[k] = json.null
      end
    end
    local want = {}
    for _, k in ipairs(spec.secrets or {}) do want[k] = true end
    local keep, extra = json.array({}), false
    for _, k in ipairs(out.spec.secrets or {}) do
      if want[k] then keep[#keep + 1] = k else extra = true end
    end
    if extra then patch.secrets = keep end
  end
  if next(patch) then out = api.patch(c, api.API_VERSION, "App", name, namespace, { spec = patch }) end
  local what = "configured"
  if not live then
    what = "created"
  elseif out.metadata.generation == live.metadata.generation and
      require("kip.util.tables").equal(out.metadata.annotations or {}, live.metadata.annotations or {}) then
    what = "unchanged"
  end
  return out, what
end

---Writes secret entries (if any) into the App's Secret, then the App, then makes the App own its
---Secret.
---@param entries {key: string, value: string}[]
---@return table app
---@return string what "created", "configured" or "unchanged"
function M.write_with_secrets(c, namespace, name, live, spec, entries)
  if #entries > 0 then secrets.set(c, namespace, name, entries) end
  local app, what = M.write(c, namespace, name, live, spec)
  if #entries > 0 then
    secrets.own(c, app)
    if what == "unchanged" then what = "configured" end
  end
  return app, what
end

---Creates or changes an App: only what changes names changes (the rest of the live App is kept);
---secret entries go into its Secret. `kip app deploy|update` and the console API's deploy.
---@param c table kip.k8s client
---@param namespace string
---@param name string
---@param changes table from appspec.changes or appspec.body_changes
---@param entries {key: string, value?: string}[] secret variables
---@param opts? {must_exist?: boolean, ask?: fun(entries: table, name: string), label?: fun(name: string): string}
---  must_exist: fail when the App does not exist; ask: fills in secret values before writing;
---  label: how values are named in messages (default appspec.flag_label, with the CLI's hints)
---@return table app
---@return string what "created", "configured" or "unchanged"
function M.deploy(c, namespace, name, changes, entries, opts)
  opts = opts or {}
  local label = opts.label or appspec.flag_label
  local live = api.get(c, api.API_VERSION, "App", name, namespace)
  if not live then
    if opts.must_exist then api.must_get(c, "App", name, namespace) end
    if not changes.image then
      errors.usage(string.format("%s is required to create app %s", label("image"), name),
        label == appspec.flag_label and string.format("kip app deploy --name %s --image IMAGE [--port PORT]", name) or nil)
    end
  end
  if opts.ask then opts.ask(entries, name) end
  local keys = {}
  for _, e in ipairs(entries) do keys[#keys + 1] = e.key end
  return M.write_with_secrets(c, namespace, name, live, appspec.merge(live and live.spec, changes, keys), entries)
end

---Sets how many instances the App runs.
---@param live table the App
---@param replicas integer
---@return table app
---@return string what
function M.scale(c, live, replicas)
  local md = live.metadata
  return M.write(c, md.namespace, md.name, live, appspec.merge(live.spec, { replicas = replicas }))
end

---Restarts every instance of the App: sets annotation appspec.RESTARTED_AT to the current time,
---which kipperd copies into the pod template (a rolling restart).
---@param live table the App
---@return table app
---@return string stamp the time written
function M.restart(c, live)
  local md = live.metadata
  local stamp = time.format_rfc3339()
  local app = M.write(c, md.namespace, md.name, live, live.spec, { [appspec.RESTARTED_AT] = stamp })
  return app, stamp
end

---Deletes the App and its Secret of secret variables.
---@return boolean deleted false when the App was already gone
function M.delete(c, namespace, name)
  local deleted = api.delete(c, api.API_VERSION, "App", name, namespace)
  api.delete(c, "v1", "Secret", secrets.name(name), namespace)
  return deleted
end

---Where the App is reached, as a sentence.
local function url_line(app)
  local st = app.status or {}
  if st.url and st.url ~= "" then return string.format("App %s is ready at %s", app.metadata.name, st.url) end
  return string.format("App %s is ready. It has no URL: the cluster has no clusterId in kipper-config " ..
    "and the app no --domain.", app.metadata.name)
end

---Ends an app command after a change: waits for the App unless --no-wait (progress on standard
---output, or standard error with -o json|yaml), prints its URL, or reports the failure (exit 1).
---@param ctx table the command context (flags no-wait, timeout, output)
---@param c table kip.k8s client
---@param app table the App as written
---@param what string "created", "configured" or "unchanged"
---@param opts? {title?: string, extra?: fun(obj: table): boolean, string|nil}
---@return integer status
function M.finish(ctx, c, app, what, opts)
  opts = opts or {}
  local md = app.metadata
  local structured = (ctx.flags.output or "table") ~= "table"
  local out = structured and io.stderr or io.stdout
  out:write(string.format("App %s %s in namespace %s.\n", md.name, what, md.namespace))
  if ctx.flags["no-wait"] then
    if structured then ctx:show(app) else
      out:write(string.format("Not waiting for it (--no-wait): 'kip app status %s' shows how it is doing.\n", md.name))
    end
    return 0
  end
  local timeout = M.timeout(ctx)
  local obj, verdict, state = wait.ready(c, { kind = "App", name = md.name, namespace = md.namespace, timeout = timeout,
    title = opts.title or ("Deploying " .. md.name), out = out, extra = opts.extra })
  if verdict ~= "ready" then wait.fail(c, obj, verdict, state, timeout) end
  if structured then ctx:show(obj) else out:write(url_line(obj), "\n") end
  return 0
end

return M
