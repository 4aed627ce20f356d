-- SPDX-License-Identifier: Apache-2.0
-- The sandbox's helm-controller, as k3s runs it: each HelmChart gets a `helm-install-NAME` Job
-- (which the Job controller completes; nothing is downloaded), and its status names the job with
-- k3s's JobCreated and Failed conditions. When the job completes, what the chart would install is
-- applied (field manager "helm", with Helm's release labels) from kip.sandbox.sim.charts; other
-- charts install nothing. Deleting a HelmChart deletes its job (garbage collection) and leaves
-- what it installed. Uses the sandbox API's write path and kip.sandbox.managed for apply.
local charts = require "kip.sandbox.sim.charts"
local managed = require "kip.sandbox.managed"
local tables = require "kip.util.tables"
local yaml = require "kip.yaml"

local M = {}

local function job_spec(hc, job_name)
  local md, spec = hc.metadata, hc.spec or {}
  return {
    metadata = { name = job_name, namespace = md.namespace,
      labels = { ["helmcharts.helm.cattle.io/chart"] = md.name },
      annotations = { ["helmcharts.helm.cattle.io/configHash"] = "simulated" },
      ownerReferences = yaml.array({ { apiVersion = hc.apiVersion, kind = hc.kind, name = md.name, uid = md.uid,
        controller = true, blockOwnerDeletion = true } }) },
    spec = { backoffLimit = 1000, template = {
      metadata = { labels = { ["helmcharts.helm.cattle.io/chart"] = md.name } },
      spec = { restartPolicy = "OnFailure", serviceAccountName = "helm-" .. md.name,
        containers = yaml.array({ { name = "helm", image = spec.jobImage or "rancher/klipper-helm:v0.9.4-build20250113",
          args = yaml.array({ "install" }),
          env = yaml.array({
            { name = "NAME", value = md.name }, { name = "VERSION", value = tostring(spec.version or "") },
            { name = "REPO", value = tostring(spec.repo or "") }, { name = "CHART", value = tostring(spec.chart or "") },
            { name = "TARGET_NAMESPACE", value = tostring(spec.targetNamespace or md.namespace) },
            { name = "KIP_SANDBOX", value = "simulated: nothing is downloaded; known charts are stood in for by kip sandbox" },
          }) } }) } } },
  }
end

local function complete(job)
  for _, c in ipairs(((job or {}).status or {}).conditions or {}) do
    if c.type == "Complete" and c.status == "True" then return true end
  end
  return false
end

-- k3s's status for a chart whose job exists.
local function chart_status(hc, job_name)
  return { jobName = job_name, conditions = yaml.array({
    { type = "JobCreated", status = "True", reason = "Job created",
      message = string.format("Applying HelmChart using Job %s/%s", hc.metadata.namespace, job_name) },
    { type = "Failed", status = "False" },
  }) }
end

-- Logs a message once per chart until it changes.
local function note(sim, key, message)
  sim.helm_notes = sim.helm_notes or {}
  if sim.helm_notes[key] ~= message then
    sim.helm_notes[key] = message
    if message then sim.api.log("sandbox: helm-controller: " .. message) end
  end
end

-- Applies what the chart installs; true once everything is there.
local function install(sim, hc)
  local api = sim.api
  local md, spec = hc.metadata, hc.spec or {}
  local target = spec.targetNamespace or md.namespace
  local objects = charts.objects(spec.chart, { namespace = target, release = md.name, version = tostring(spec.version or "") })
  if not objects then return true end
  local ns_def = api.registry:get("", "v1", "namespaces")
  if not api.store:get(ns_def, nil, target) then
    if not spec.createNamespace then
      note(sim, md.uid, string.format("chart %s/%s: namespace %q not found (set spec.createNamespace)", md.namespace, md.name, target))
      return false
    end
    api:create(ns_def, nil, { metadata = { name = target } }, { manager = "helm" })
  end
  local failed
  for _, obj in ipairs(objects) do
    obj.metadata.labels = obj.metadata.labels or {}
    obj.metadata.labels["app.kubernetes.io/managed-by"] = "Helm"
    obj.metadata.annotations = obj.metadata.annotations or {}
    obj.metadata.annotations["meta.helm.sh/release-name"] = md.name
    obj.metadata.annotations["meta.helm.sh/release-namespace"] = target
    local def = api.registry:by_kind(obj.apiVersion, obj.kind)
    local ok, err = pcall(function()
      if not def then error(string.format("no matches for kind %q in version %q", obj.kind, obj.apiVersion), 0) end
      managed.apply(api, def, def.namespaced and target or nil, obj.metadata.name, obj, { manager = "helm", force = true })
    end)
    if not ok then failed = string.format("chart %s/%s: %s %s: %s", md.namespace, md.name, obj.kind, obj.metadata.name, tostring(err)) end
  end
  note(sim, md.uid, failed)
  return failed == nil
end

function M.run(sim, engine)
  local api = sim.api
  local hc_def = api.registry:get("helm.cattle.io", "v1", "helmcharts")
  if not hc_def then return end
  local job_def = api.registry:get("batch", "v1", "jobs")
  sim.charts_installed = sim.charts_installed or {}
  for _, hc in ipairs(api.store:list(hc_def)) do
    local md = hc.metadata
    local job_name = "helm-install-" .. md.name
    if not md.deletionTimestamp then
      local job = api.store:get(job_def, md.namespace, job_name)
      if not job then
        local ok, err = pcall(api.create, api, job_def, md.namespace, job_spec(hc, job_name), { manager = "helm-controller" })
        if not ok then api.log("sandbox: cannot create " .. job_name .. ": " .. tostring(err)) end
        job = api.store:get(job_def, md.namespace, job_name)
      end
      local current = api.store:get(hc_def, md.namespace, md.name)
      local want = job and chart_status(hc, job_name)
      if current and want and not tables.equal(current.status, want) then
        local new = tables.copy(current)
        new.status = want
        api:update(hc_def, md.namespace, md.name, new, { manager = "helm-controller", subresource = "status" })
      end
      -- once per job run (and per change of the chart), what the chart installs
      local key = job and (job.metadata.uid .. "@" .. tostring(md.generation))
      if job and complete(job) and not sim.charts_installed[key] then
        if install(sim, hc) then
          sim.charts_installed[key] = true
        else
          engine.wake_at(sim, "helm", sim.now + 2) -- try again, as helm's job would
        end
      end
    end
  end
end

return M
