-- SPDX-License-Identifier: Apache-2.0
-- The App reconcile policy: from an App (kipper.run/v1alpha1) to its env Secret, Deployment,
-- ClusterIP Service, Ingress, autoscaler, disruption budget and ControllerRevisions, and its status
-- from the observed Deployment and pods (keeping the auto-tuner's status.autotune and AutoTuned
-- condition). Pure: reads only the App and ctx (see docs on reconcile policies). Uses kip.policy.*.
local appenv = require "kip.policy.appenv"
local bindings = require "kip.policy.bindings"
local deployment = require "kip.policy.deployment"
local invalid = require "kip.policy.invalid"
local labels = require "kip.policy.labels"
local resources = require "kip.policy.resources"
local revisions = require "kip.policy.revisions"
local routing = require "kip.policy.routing"
local scaling = require "kip.policy.scaling"
local status = require "kip.policy.status"

local AUTOTUNED = "AutoTuned"

local M = {
  api_version = "kipper.run/v1alpha1",
  kind = "App",
  owns = {
    { "apps/v1", "Deployment" }, { "v1", "Service" }, { "networking.k8s.io/v1", "Ingress" },
    { "autoscaling/v2", "HorizontalPodAutoscaler" }, { "policy/v1", "PodDisruptionBudget" }, { "v1", "Secret" },
  },
  -- Deployment and v1 Service also here (watched whole, not only kipperd's): a user's object of the
  -- App's name must be seen, so the App reports NameTaken instead of taking it over
  reads = {
    { "v1", "Secret" }, { "apps/v1", "ControllerRevision" }, { "v1", "Pod" }, { "kipper.run/v1alpha1", "Service" },
    { "apps/v1", "Deployment" }, { "v1", "Service" },
  },
  finalizer = nil,
}

-- The App with its namespace and the CRD's defaults filled in (an App read before its CRD had them).
local function normalized(app)
  local spec = {}
  for k, v in pairs(app.spec or {}) do spec[k] = v end
  spec.port = spec.port or 8080
  spec.replicas = spec.replicas or 1
  local md = {}
  for k, v in pairs(app.metadata) do md[k] = v end
  md.namespace = md.namespace or "default"
  return { apiVersion = app.apiVersion, kind = app.kind or "App", metadata = md, spec = spec, status = app.status }
end

-- Refuses names another owner's Deployment or Service already has.
local function check_names(app, ctx)
  for _, k in ipairs({ { "apps/v1", "Deployment" }, { "v1", "Service" } }) do
    local obj = ctx.observed(k[1], k[2], app.metadata.namespace, app.metadata.name)
    if obj and not labels.controlled_by(obj, app) then
      invalid.raise("NameTaken", "%s %s already exists in namespace %s and is not this App's: rename the App, or delete the %s",
        k[2], app.metadata.name, app.metadata.namespace, k[2])
    end
  end
end

-- Profile variables (JAVA_TOOL_OPTIONS) not set by the user, then the bindings' variables.
local function container_env(profile_env, user_keys, bound)
  local env = {}
  local names = {}
  for k in pairs(profile_env) do
    if not user_keys[k] then names[#names + 1] = k end
  end
  table.sort(names)
  for _, k in ipairs(names) do env[#env + 1] = { name = k, value = profile_env[k] } end
  for _, e in ipairs(bound) do env[#env + 1] = e end
  return env
end

---@param resource table the App
---@param ctx table the policy context
---@return {objects: table[], status: table, delete: table[]}
function M.reconcile(resource, ctx)
  local app = normalized(resource)
  local name, ns, spec = app.metadata.name, app.metadata.namespace, app.spec
  check_names(app, ctx)
  local selector = labels.selector(name, "app")
  local common = labels.common(name, "app")
  local env = appenv.build(app, ctx, common)
  local bound, binding_problems = bindings.env(spec, ns, ctx)
  local res, profile_env = resources.build(spec.resources)
  local bounds = scaling.bounds(spec)
  local pods = ctx.observed_list("v1", "Pod", ns, selector) or {}
  local plan = revisions.plan(name, ns, { image = spec.image, env = spec.env or {}, port = spec.port, replicas = spec.replicas },
    ctx.observed_list("apps/v1", "ControllerRevision", ns, { [labels.REVISION_OF] = name }) or {},
    labels.common(name, "app", nil, { [labels.REVISION_OF] = name }))
  local d, template_hash = deployment.build(app, { env_secret = env.name, resources = res, selector = selector,
    labels = common, revision = plan.number, env = container_env(profile_env, env.keys, bound) })
  local host_list, host_problem = routing.hosts(app, ctx.cluster or {})

  local objects = { env.object }
  for _, s in ipairs(appenv.in_use(app, pods, env.name, ctx)) do objects[#objects + 1] = s end
  objects[#objects + 1] = d
  objects[#objects + 1] = routing.service(app, selector, common)
  objects[#objects + 1] = routing.ingress(app, host_list, ctx.cluster or {}, common)
  objects[#objects + 1] = scaling.hpa(app, bounds, common)
  objects[#objects + 1] = scaling.pdb(app, bounds and bounds.min or spec.replicas, selector, common)
  objects[#objects + 1] = plan.object

  local observed = ctx.observed("apps/v1", "Deployment", ns, name)
  local want = spec.replicas
  if bounds then want = observed and observed.spec and observed.spec.replicas or bounds.min end
  local w = status.workload("Deployment", observed, { name = name, want = want, template_hash = template_hash, pods = pods,
    logs = "kip app logs " .. name })
  local problems = {}
  for _, p in ipairs(env.problems) do problems[#problems + 1] = { reason = p.reason, message = p.message, blocking = true, phase = "Failed" } end
  for _, p in ipairs(binding_problems) do problems[#problems + 1] = { reason = p.reason, message = p.message, blocking = true, phase = "Pending" } end
  if host_problem then problems[#problems + 1] = { reason = "HostTooLong", message = host_problem } end
  local phase, conditions = status.summarize(w, problems)
  local previous = resource.status or {}
  -- the auto-tuner's part of the status (kipperd.autotune writes it) stays as it is
  for _, c in ipairs(previous.conditions or {}) do
    if c.type == AUTOTUNED then conditions[#conditions + 1] = c end
  end
  return {
    objects = objects,
    delete = plan.delete,
    status = {
      phase = phase,
      url = routing.url(app, host_list, ctx.cluster or {}),
      replicas = w.replicas, readyReplicas = w.readyReplicas,
      image = (phase == "Ready") and spec.image or previous.image,
      conditions = conditions,
      autotune = previous.autotune,
    },
  }
end

return M
