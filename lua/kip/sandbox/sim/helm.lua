-- SPDX-License-Identifier: Apache-2.0
-- The sandbox's helm-controller, as k3s runs it: each HelmChart gets a `helm-install-NAME` Job
-- (which the Job controller completes; nothing is downloaded or installed), and its status names
-- the job. Deleting a HelmChart deletes its job. Uses the sandbox API's write path.
local tables = require "kip.util.tables"
local yaml = require "kip.yaml"

local M = {}

function M.run(sim)
  local api = sim.api
  local hc_def = api.registry:get("helm.cattle.io", "v1", "helmcharts")
  if not hc_def then return end
  local job_def = api.registry:get("batch", "v1", "jobs")
  for _, hc in ipairs(api.store:list(hc_def)) do
    local md = hc.metadata
    local job_name = "helm-install-" .. md.name
    if not md.deletionTimestamp and not api.store:get(job_def, md.namespace, job_name) then
      local spec = hc.spec or {}
      local ok, err = pcall(api.create, api, job_def, md.namespace, {
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
                { name = "KIP_SANDBOX", value = "simulated: no chart is downloaded or installed" },
              }) } }) } } },
      }, { manager = "helm-controller" })
      if not ok then api.log("sandbox: cannot create " .. job_name .. ": " .. tostring(err)) end
    end
    local current = api.store:get(hc_def, md.namespace, md.name)
    if current and not md.deletionTimestamp and (current.status or {}).jobName ~= job_name then
      local new = tables.copy(current)
      new.status = { jobName = job_name }
      api:update(hc_def, md.namespace, md.name, new, { manager = "helm-controller", subresource = "status" })
    end
  end
end

return M
