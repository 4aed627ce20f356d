-- SPDX-License-Identifier: Apache-2.0
-- `kip apply -f FILE|-`: Kipper's resources from YAML or JSON files (GitOps): Apps, Services,
-- Projects and app Secrets, server-side applied with field manager "kip". Every document is
-- checked first (locally, then by the server in a dry run), so a bad file changes nothing.
-- Projects go first; objects in the namespaces they make wait for kipperd to make them. Uses
-- kip.apps.{api,manifest,namespace}, kip.fs and kip.util.tables.
local api = require "kip.apps.api"
local errors = require "kip.cli.errors"
local fs = require "kip.fs"
local json = require "kip.json"
local manifest = require "kip.apps.manifest"
local namespace = require "kip.apps.namespace"
local tables = require "kip.util.tables"

local LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

-- What a change is judged by: the desired state and the labels and annotations.
local function view(obj)
  if not obj then return nil end
  local md = obj.metadata or {}
  local ann = tables.copy(md.annotations or {})
  ann[LAST_APPLIED] = nil
  return { spec = obj.spec, data = obj.data, type = obj.type, labels = md.labels or {}, annotations = ann }
end

local function read_input(file)
  if file == "-" then
    local text = io.stdin:read("a")
    if not text then errors.fail("cannot read standard input") end
    return text
  end
  local text, err = fs.read(file)
  if not text then errors.fail(string.format("cannot read %s: %s", file, tostring(err))) end
  return text
end

-- The namespaces the Projects of the file will have.
local function project_namespaces(entries)
  local out = {}
  for _, e in ipairs(entries) do
    if e.object.kind == "Project" then
      local p = e.object
      local envs = p.spec and p.spec.environments or {}
      if #envs == 0 then out[p.metadata.name] = true end
      for _, env in ipairs(envs) do out[namespace.for_environment(p.metadata.name, env.name)] = true end
    end
  end
  return out
end

local function namespace_exists(c, ns)
  return api.get(c, "v1", "Namespace", ns) ~= nil
end

-- Waits for kipperd to make a new Project's namespace.
local function wait_namespace(c, ns, timeout)
  io.stderr:write(string.format("Waiting for kipperd to create namespace %s ...\n", ns))
  local deadline = os.time() + timeout
  while not namespace_exists(c, ns) do
    if os.time() >= deadline then
      errors.fail(string.format("namespace %s did not appear within %ds", ns, timeout),
        "kipperd makes a Project's namespaces: is it running? 'kip status' shows it. The documents before were applied.")
    end
    require("kip.server").sleep(0.5)
  end
  return true
end

-- Fails naming the document when the server refuses it.
local function apply_one(c, e, file, dry_run)
  local out, err = c:apply(e.object, { field_manager = api.FIELD_MANAGER, force = true, dry_run = dry_run })
  if not out then
    errors.fail(string.format("%s: %s (%s %s): %s", file, e.where, e.object.kind, e.object.metadata.name, tostring(err)),
      dry_run and "Nothing was applied." or "The documents before it were applied; fix this one and apply the file again.")
  end
  return out
end

return {
  summary = "Create or update Kipper's resources (apps, services, projects) from YAML or JSON files",
  description = "Reads kipper.run/v1alpha1 App, Service and Project resources (and v1 Secrets named\n" ..
    "app-NAME-secrets) from FILE, or standard input with -f -, several documents per file, and applies\n" ..
    "each with server-side apply (field manager kip): what the file sets wins. Every document is\n" ..
    "checked before anything changes; a document of another kind, or an invalid one, is an error that\n" ..
    "names it and the field. Namespaced documents without a namespace go to the current project's\n" ..
    "namespace (or -n/--project/--environment, else default). Prints each as created, configured or unchanged.",
  output = true,
  flags = namespace.with_flags({
    { name = "filename", short = "f", arg = "FILE", help = "the file to apply, or - for standard input (required)" },
    { name = "dry-run", help = "show what would change, and have the server check it, without changing anything" },
    { name = "timeout", arg = "SECONDS", default = "120", help = "how long to wait for the namespaces of new projects" },
  }),
  examples = {
    "kip apply -f kipper.yaml",
    "kip apply -f app.yaml --dry-run",
    "cat apps/*.yaml | kip apply -f - --project webshop --environment staging",
  },
  run = function(ctx)
    local f = ctx.flags
    if not f.filename then errors.usage("-f FILE is required", "kip apply -f FILE (or -f - to read standard input)") end
    local timeout = math.tointeger(tonumber(f.timeout))
    if not timeout or timeout < 0 then errors.usage(string.format("--timeout takes seconds, not %q", f.timeout)) end
    local file = f.filename
    local entries, problems = manifest.parse(read_input(file), file)
    if not entries then errors.fail(problems, "Nothing was applied. kip apply takes kipper.run/v1alpha1 App, Service and " ..
      "Project, and v1 Secrets named app-NAME-secrets.") end

    -- namespaces: the document's, else the command's (which must agree with -n when both are given)
    local default_ns
    for _, e in ipairs(entries) do
      if e.kind.namespaced then
        local md = e.object.metadata
        if f.namespace and md.namespace and md.namespace ~= f.namespace then
          errors.fail(string.format("%s: %s (%s %s) is for namespace %s, not %s (-n)", file, e.where, e.object.kind, md.name,
            md.namespace, f.namespace), "Drop -n, or make them agree. Nothing was applied.")
        end
        if not md.namespace then
          default_ns = default_ns or namespace.resolve(ctx)
          md.namespace = default_ns
        end
      end
    end
    local c = ctx:client()
    local seen_kind = {}
    for _, e in ipairs(entries) do
      if e.object.apiVersion == api.API_VERSION and not seen_kind[e.object.kind] then
        api.require_kind(c, e.object.kind)
        seen_kind[e.object.kind] = true
      end
    end

    -- Projects first, then the rest in file order
    local ordered = {}
    for _, e in ipairs(entries) do if e.object.kind == "Project" then ordered[#ordered + 1] = e end end
    for _, e in ipairs(entries) do if e.object.kind ~= "Project" then ordered[#ordered + 1] = e end end
    local before = {}
    for i, e in ipairs(ordered) do
      local md = e.object.metadata
      before[i] = api.get(c, e.object.apiVersion, e.object.kind, md.name, md.namespace)
    end

    -- the server checks everything it can before anything is written
    local coming = project_namespaces(entries)
    local exists, later = {}, {}
    for _, e in ipairs(ordered) do
      local ns = e.object.metadata.namespace
      if ns and exists[ns] == nil then exists[ns] = namespace_exists(c, ns) end
      if ns and not exists[ns] then
        if not coming[ns] then
          errors.fail(string.format("%s: %s (%s %s): namespace %s does not exist", file, e.where, e.object.kind,
            e.object.metadata.name, ns), "Create it with a Project (kip project create), or pick another with -n. Nothing was applied.")
        end
        later[e] = true
      end
    end
    local dry = {}
    for i, e in ipairs(ordered) do
      if not later[e] then dry[i] = apply_one(c, e, file, true) end
    end

    local results = json.array({})
    local structured = f.output ~= "table"
    for i, e in ipairs(ordered) do
      local out = dry[i]
      if not f["dry-run"] then
        local ns = e.object.metadata.namespace
        if later[e] and not exists[ns] then exists[ns] = wait_namespace(c, ns, timeout) end
        out = apply_one(c, e, file, false)
      end
      local what
      if not before[i] then what = "created"
      elseif out and tables.equal(view(before[i]), view(out)) then what = "unchanged"
      else what = "configured" end
      local line = manifest.ref(e) .. " " .. what .. (f["dry-run"] and " (dry run)" or "")
      if structured then io.stderr:write(line, "\n") else ctx:say("%s", line) end
      results[#results + 1] = out or e.object
    end
    if structured then ctx:show(results) end
    return 0
  end,
}
