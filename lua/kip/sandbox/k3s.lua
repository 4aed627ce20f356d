-- SPDX-License-Identifier: Apache-2.0
-- What k3s adds to a cluster that Kipper relies on, served by the sandbox like k3s serves it: the
-- helm.cattle.io CustomResourceDefinitions (HelmChart, HelmChartConfig) and k3s.cattle.io's Addon
-- registered at start, and storage class local-path. The simulated helm-controller is
-- kip.sandbox.sim.helm; the auto-deploy folder that keeps Addons is kip.sandbox.deploy.
local yaml = require "kip.yaml"

local M = {}

local function crd(kind, plural, spec_props, group)
  group = group or "helm.cattle.io"
  return {
    apiVersion = "apiextensions.k8s.io/v1", kind = "CustomResourceDefinition",
    metadata = { name = plural .. "." .. group },
    spec = {
      group = group, scope = "Namespaced",
      names = { kind = kind, plural = plural, singular = kind:lower(), listKind = kind .. "List" },
      versions = yaml.array({ {
        name = "v1", served = true, storage = true, subresources = kind == "HelmChart" and { status = {} } or nil,
        additionalPrinterColumns = kind == "HelmChart" and yaml.array({
          { name = "Job", type = "string", jsonPath = ".status.jobName" },
          { name = "Chart", type = "string", jsonPath = ".spec.chart" },
          { name = "TargetNamespace", type = "string", jsonPath = ".spec.targetNamespace" },
          { name = "Version", type = "string", jsonPath = ".spec.version" },
          { name = "Repo", type = "string", jsonPath = ".spec.repo" },
          { name = "HelmVersion", type = "string", jsonPath = ".spec.helmVersion" },
          { name = "Bootstrap", type = "string", jsonPath = ".spec.bootstrap" },
        }) or kind == "Addon" and yaml.array({
          { name = "Source", type = "string", jsonPath = ".spec.source" },
          { name = "Checksum", type = "string", jsonPath = ".spec.checksum" },
        }) or nil,
        schema = { openAPIV3Schema = { type = "object", properties = {
          spec = { type = "object", properties = spec_props, ["x-kubernetes-preserve-unknown-fields"] = true },
          status = { type = "object", ["x-kubernetes-preserve-unknown-fields"] = true },
        } } },
      } }),
    },
  }
end

local string_t = { type = "string" }

---Registers k3s's resources on the sandbox API (as objects, so they show in `kubectl get crd`).
function M.install(api)
  local crd_def = api.registry:get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
  api:create(crd_def, nil, crd("HelmChart", "helmcharts", {
    chart = string_t, repo = string_t, version = string_t, targetNamespace = string_t,
    createNamespace = { type = "boolean" }, valuesContent = string_t, helmVersion = string_t,
    bootstrap = { type = "boolean" }, jobImage = string_t, timeout = string_t, chartContent = string_t,
    repoCA = string_t, authSecret = { type = "object", ["x-kubernetes-preserve-unknown-fields"] = true },
    set = { type = "object", ["x-kubernetes-preserve-unknown-fields"] = true },
  }), { manager = "k3s" })
  api:create(crd_def, nil, crd("HelmChartConfig", "helmchartconfigs", { valuesContent = string_t }),
    { manager = "k3s" })
  -- what k3s's deploy controller keeps for each file of its manifests folder
  api:create(crd_def, nil, crd("Addon", "addons", { source = string_t, checksum = string_t }, "k3s.cattle.io"),
    { manager = "k3s" })
  local sc = api.registry:get("storage.k8s.io", "v1", "storageclasses")
  api:create(sc, nil, { metadata = { name = "local-path",
    annotations = { ["storageclass.kubernetes.io/is-default-class"] = "true" } },
    provisioner = "rancher.io/local-path", reclaimPolicy = "Delete", volumeBindingMode = "WaitForFirstConsumer" },
    { manager = "k3s" })
end

return M
