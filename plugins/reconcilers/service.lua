-- SPDX-License-Identifier: Apache-2.0
-- The Service reconcile policy: from a Service (kipper.run/v1alpha1) of a catalog type to its
-- StatefulSet, headless Service and credentials Secret, and its status from the observed
-- StatefulSet, pods and volume. With finalizer kipper.run/service-data: on delete its volume and
-- credentials go only when it has annotation kipper.run/delete-data: "true". Pure: reads only the
-- Service and ctx. Uses kip.catalog.services and kip.policy.*.
local catalog_mod = require "kip.catalog.services"
local credentials = require "kip.policy.credentials"
local invalid = require "kip.policy.invalid"
local labels = require "kip.policy.labels"
local resources = require "kip.policy.resources"
local stateful = require "kip.policy.stateful"
local status = require "kip.policy.status"
local yaml = require "kip.yaml"

local M = {
  api_version = "kipper.run/v1alpha1",
  kind = "Service",
  owns = { { "apps/v1", "StatefulSet" }, { "v1", "Service" } },
  -- StatefulSet and v1 Service watched whole: a user's object of the same name means NameTaken
  reads = { { "v1", "Secret" }, { "v1", "Pod" }, { "v1", "PersistentVolumeClaim" }, { "apps/v1", "StatefulSet" }, { "v1", "Service" } },
  finalizer = "kipper.run/service-data",
}

local TAG = "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"

local function normalized(svc)
  local md = {}
  for k, v in pairs(svc.metadata) do md[k] = v end
  md.namespace = md.namespace or "default"
  return { apiVersion = svc.apiVersion, kind = svc.kind or "Service", metadata = md, spec = svc.spec or {}, status = svc.status }
end

local function entry_of(svc, ctx)
  local entry, why = catalog_mod.get(ctx.catalog or catalog_mod.load(), svc.spec.type)
  if not entry then invalid.raise("UnknownType", "%s", why) end
  return entry
end

-- Refuses a name another owner's StatefulSet or Service has, and a change of type.
local function check_existing(svc, sts, ctx)
  local ns, name = svc.metadata.namespace, svc.metadata.name
  for _, obj in ipairs({ sts or false, ctx.observed("v1", "Service", ns, name) or false }) do
    if obj and not labels.controlled_by(obj, svc) then
      invalid.raise("NameTaken", "%s %s already exists in namespace %s and is not this Service's: rename the Service, or delete the %s",
        obj.kind, name, ns, obj.kind)
    end
  end
  local was = sts and sts.spec and sts.spec.selector and sts.spec.selector.matchLabels and sts.spec.selector.matchLabels[labels.NAME]
  if was and was ~= svc.spec.type then
    invalid.raise("TypeChanged", "Service %s is a %s and cannot become a %s: delete it and add a new one (its data would not fit)",
      name, was, tostring(svc.spec.type))
  end
end

-- The volume size and class: the spec's, or the existing claim template's (which cannot change).
local function volume(svc, entry, sts, ctx)
  local want = { storage = svc.spec.storage or entry.storage, class = (ctx.cluster or {}).storageClass }
  if want.class == "" then want.class = nil end
  local tpl = sts and sts.spec and sts.spec.volumeClaimTemplates and sts.spec.volumeClaimTemplates[1]
  if not tpl then return want end
  local have = { storage = tpl.spec.resources.requests.storage, class = tpl.spec.storageClassName }
  if svc.spec.storage and svc.spec.storage ~= have.storage then
    return have, string.format("the volume was made with %s and its size cannot change here (spec.storage is %s): "
      .. "resize the claim %s, or move the data to a new Service", have.storage, svc.spec.storage, stateful.claim_name(svc.metadata.name))
  end
  return have
end

---@param resource table the Service
---@param ctx table the policy context
---@return {objects: table[], status: table}
function M.reconcile(resource, ctx)
  local svc = normalized(resource)
  local name, ns, spec = svc.metadata.name, svc.metadata.namespace, svc.spec
  local entry = entry_of(svc, ctx)
  local version = spec.version or entry.version
  if type(version) ~= "string" or #version > 128 or not version:match(TAG) then
    invalid.raise("InvalidVersion", "version %q is not an image tag: use letters, digits, '.', '_' and '-', e.g. %q", tostring(version), entry.version)
  end
  local observed = ctx.observed("apps/v1", "StatefulSet", ns, name)
  check_existing(svc, observed, ctx)
  local selector = labels.selector(name, "service", spec.type)
  local common = labels.common(name, "service", spec.type)
  local creds = credentials.build(svc, entry, ctx, common)
  local res = resources.build(spec.resources, entry.profile)
  local vol, vol_problem = volume(svc, entry, observed, ctx)
  local sts, template_hash = stateful.statefulset(svc, entry, { image = entry.image .. ":" .. version, resources = res,
    selector = selector, labels = common, storage = vol.storage, storage_class = vol.class, secret = creds.object.metadata.name })

  local pods = ctx.observed_list("v1", "Pod", ns, selector) or {}
  local w = status.workload("StatefulSet", observed, { name = name, want = 1, template_hash = template_hash, pods = pods,
    logs = string.format("kubectl logs -n %s %s-0", ns, name) })
  local problems = {}
  local claim = ctx.observed("v1", "PersistentVolumeClaim", ns, stateful.claim_name(name))
  if w.phase == "Progressing" and claim and (claim.status or {}).phase == "Pending" then
    problems[#problems + 1] = { reason = "VolumePending", blocking = true, phase = "Progressing", message = string.format(
      "volume %s is waiting to be provisioned (storage class %s)", claim.metadata.name, claim.spec.storageClassName or "default") }
  end
  if vol_problem then problems[#problems + 1] = { reason = "StorageFixed", message = vol_problem } end
  local phase, conditions = status.summarize(w, problems)
  return {
    objects = { creds.object, sts, stateful.headless(svc, entry, selector, common) },
    status = {
      phase = phase,
      host = creds.values.host,
      port = entry.port,
      credentialsSecret = creds.object.metadata.name,
      conditions = conditions,
    },
  }
end

---On delete: the volume claims and the credentials Secret, when the Service has annotation
---kipper.run/delete-data: "true"; else nothing (they stay for a Service of the same name).
---@param resource table the Service
---@param ctx table the policy context
---@return {delete: table[], message: string}
function M.finalize(resource, ctx)
  local svc = normalized(resource)
  local name, ns = svc.metadata.name, svc.metadata.namespace
  local claims = {}
  local seen = {}
  local function add(claim_name)
    if not seen[claim_name] then
      seen[claim_name] = true
      claims[#claims + 1] = claim_name
    end
  end
  add(stateful.claim_name(name))
  local selector = labels.selector(name, "service", svc.spec.type)
  for _, pvc in ipairs(ctx.observed_list("v1", "PersistentVolumeClaim", ns, selector) or {}) do
    if pvc.metadata.name:match("^" .. stateful.VOLUME .. "%-") then add(pvc.metadata.name) end
  end
  table.sort(claims)
  local secret = credentials.secret_name(name)
  if not labels.is_true(svc, labels.DELETE_DATA) then
    local refs = {}
    for _, c in ipairs(claims) do refs[#refs + 1] = "pvc/" .. c end
    return { delete = yaml.array({}), message = string.format(
      "kept volume %s and Secret %s for a new Service %s to use again; to remove them: kubectl delete -n %s %s secret/%s",
      table.concat(claims, ", "), secret, name, ns, table.concat(refs, " "), secret) }
  end
  local delete = {}
  for _, c in ipairs(claims) do delete[#delete + 1] = { apiVersion = "v1", kind = "PersistentVolumeClaim", namespace = ns, name = c } end
  delete[#delete + 1] = { apiVersion = "v1", kind = "Secret", namespace = ns, name = secret }
  return { delete = delete, message = string.format("deleted volume %s and Secret %s", table.concat(claims, ", "), secret) }
end

return M
