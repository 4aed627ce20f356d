-- SPDX-License-Identifier: Apache-2.0
-- Workload controllers of the sandbox: Deployments own a ReplicaSet per pod template (older
-- ones scaled to zero), ReplicaSets, StatefulSets (with a PVC per volumeClaimTemplate),
-- DaemonSets and Jobs own Pods; each reports status (replicas, ready, available, conditions)
-- as the real controllers do. Uses the sandbox API's write path and kip.json for template hashes.
local json = require "kip.json"
local tables = require "kip.util.tables"
local time = require "kip.util.time"
local yaml = require "kip.yaml"

local M = {}

local SAFE = "bcdfghjklmnpqrstvwxz2456789"

-- FNV-1a over text, written in the alphabet Kubernetes uses for generated names.
local function hash(text, len)
  local h = 2166136261
  for i = 1, #text do
    h = ((h ~ text:byte(i)) * 16777619) & 0xffffffff
  end
  local out = {}
  for i = 1, len do
    local d = h % #SAFE
    out[i] = SAFE:sub(d + 1, d + 1)
    h = h // #SAFE + i * 7919
  end
  return table.concat(out)
end
M.hash = hash

-- A Deployment's pod-template hash, computed once per uid and generation (the template only
-- changes with the generation): hashing every template on every round is what a round of many
-- Deployments would otherwise spend its time on.
local template_hashes, template_hash_count = {}, 0
local function template_hash(d)
  local key = tostring(d.metadata.uid) .. ":" .. tostring(d.metadata.generation)
  local h = template_hashes[key]
  if not h then
    if template_hash_count >= 20000 then template_hashes, template_hash_count = {}, 0 end
    h = hash(assert(json.encode(d.spec.template or {})), 10)
    template_hashes[key] = h
    template_hash_count = template_hash_count + 1
  end
  return h
end

local function owner_ref(obj)
  return { apiVersion = obj.apiVersion, kind = obj.kind, name = obj.metadata.name, uid = obj.metadata.uid,
    controller = true, blockOwnerDeletion = true }
end

local function owned(list, owner)
  local out = {}
  for _, o in ipairs(list) do
    if o.metadata.namespace == owner.metadata.namespace then
      for _, r in ipairs(o.metadata.ownerReferences or {}) do
        if r.uid == owner.metadata.uid and r.controller then out[#out + 1] = o break end
      end
    end
  end
  return out
end

-- owned() for many owners at once: the objects of list grouped by their controller's uid (and
-- namespace), in list order, so a round over N owners costs one pass instead of N.
local function by_controller(list)
  local index = {}
  for _, o in ipairs(list) do
    for _, r in ipairs(o.metadata.ownerReferences or {}) do
      if r.controller and r.uid then
        local k = (o.metadata.namespace or "") .. "/" .. r.uid
        index[k] = index[k] or {}
        table.insert(index[k], o)
        break
      end
    end
  end
  return function(owner) return index[(owner.metadata.namespace or "") .. "/" .. owner.metadata.uid] or {} end
end

-- The stored versions of objects (those still there), e.g. after a round changed some of them.
local function refreshed(api, def, list)
  local out = {}
  for _, o in ipairs(list) do
    local x = api.store:get(def, o.metadata.namespace, o.metadata.name)
    if x then out[#out + 1] = x end
  end
  return out
end

local function pod_ready(pod)
  if pod.metadata.deletionTimestamp or not pod.status then return false end
  for _, c in ipairs(pod.status.conditions or {}) do
    if c.type == "Ready" then return c.status == "True" end
  end
  return false
end

local function set_status(api, def, obj, st)
  if tables.equal(obj.status, st) then return end
  api:update(def, obj.metadata.namespace, obj.metadata.name, { metadata = obj.metadata, status = st },
    { manager = "kube-controller-manager", subresource = "status" })
end

local function new_pod(owner, template, name)
  local tpl = tables.copy(template or {})
  local md = tpl.metadata or {}
  md.name = name
  md.generateName = nil
  md.namespace = owner.metadata.namespace
  md.ownerReferences = yaml.array({ owner_ref(owner) })
  return { apiVersion = "v1", kind = "Pod", metadata = md, spec = tpl.spec or {} }
end

local function create_pod(api, pod)
  local def = api.registry:get("", "v1", "pods")
  local ok, err = pcall(api.create, api, def, pod.metadata.namespace, pod, { manager = "kube-controller-manager" })
  if not ok then api.log("sandbox: cannot create pod " .. pod.metadata.name .. ": " .. tostring(err)) end
end

local function delete(api, def, obj)
  pcall(api.delete, api, def, obj.metadata.namespace, obj.metadata.name, {})
end

local function pods_def(api) return api.registry:get("", "v1", "pods") end

-- ReplicaSets: keep spec.replicas pods from the template, newest deleted first.
local function replicasets(api)
  local def = api.registry:get("apps", "v1", "replicasets")
  local pods_of = by_controller(api.store:list(pods_def(api)))
  for _, rs in ipairs(api.store:list(def)) do
    if not rs.metadata.deletionTimestamp then
      local pods = {}
      for _, p in ipairs(pods_of(rs)) do
        if not p.metadata.deletionTimestamp then pods[#pods + 1] = p end
      end
      local want = rs.spec.replicas or 1
      for _ = #pods + 1, want do
        local hash_label = rs.metadata.labels and rs.metadata.labels["pod-template-hash"]
        local name = rs.metadata.name .. "-" .. hash(rs.metadata.uid .. os.clock() .. math.random(), 5)
        local pod = new_pod(rs, rs.spec.template, name)
        if hash_label then
          pod.metadata.labels = pod.metadata.labels or {}
          pod.metadata.labels["pod-template-hash"] = hash_label
        end
        create_pod(api, pod)
        pods[#pods + 1] = pod
      end
      if #pods > want then
        table.sort(pods, function(a, b) return (a.metadata.creationTimestamp or "") > (b.metadata.creationTimestamp or "") end)
        for i = 1, #pods - want do delete(api, pods_def(api), pods[i]) end
      end
      -- pods being deleted are never ready, so counting the others (as stored now) is enough
      local ready = 0
      for _, p in ipairs(refreshed(api, pods_def(api), pods)) do
        if pod_ready(p) then ready = ready + 1 end
      end
      local current = math.min(#pods, want)
      set_status(api, def, api.store:get(def, rs.metadata.namespace, rs.metadata.name), {
        replicas = current, fullyLabeledReplicas = current, readyReplicas = ready, availableReplicas = ready,
        observedGeneration = rs.metadata.generation,
      })
    end
  end
end

-- Deployments: one ReplicaSet per template (named after its hash); the current one scaled to
-- spec.replicas, the others to zero and pruned past revisionHistoryLimit.
local function deployments(api)
  local def = api.registry:get("apps", "v1", "deployments")
  local rs_def = api.registry:get("apps", "v1", "replicasets")
  -- each Deployment changes only its own ReplicaSets, so one index serves the whole round
  local sets_of = by_controller(api.store:list(rs_def))
  for _, d in ipairs(api.store:list(def)) do
    if not d.metadata.deletionTimestamp then
      local template = d.spec.template or {}
      local h = template_hash(d)
      local name = d.metadata.name .. "-" .. h
      local sets = sets_of(d)
      local current
      local revision = 0
      for _, rs in ipairs(sets) do
        local r = tonumber((rs.metadata.annotations or {})["deployment.kubernetes.io/revision"] or "0") or 0
        revision = math.max(revision, r)
        if rs.metadata.name == name then current = rs end
      end
      local want = d.spec.replicas or 1
      if not current then
        local tpl = tables.copy(template)
        tpl.metadata = tpl.metadata or {}
        tpl.metadata.labels = tpl.metadata.labels or {}
        tpl.metadata.labels["pod-template-hash"] = h
        local selector = tables.copy(d.spec.selector) or {}
        selector.matchLabels = selector.matchLabels or {}
        selector.matchLabels["pod-template-hash"] = h
        local ok, err = pcall(api.create, api, rs_def, d.metadata.namespace, {
          metadata = { name = name, namespace = d.metadata.namespace, labels = tpl.metadata.labels,
            annotations = { ["deployment.kubernetes.io/revision"] = tostring(revision + 1),
              ["deployment.kubernetes.io/desired-replicas"] = tostring(want) },
            ownerReferences = yaml.array({ owner_ref(d) }) },
          spec = { replicas = want, selector = selector, template = tpl },
        }, { manager = "kube-controller-manager" })
        if not ok then api.log("sandbox: cannot create replicaset " .. name .. ": " .. tostring(err)) end
      elseif current.spec.replicas ~= want then
        local new = tables.copy(current)
        new.spec.replicas = want
        api:update(rs_def, new.metadata.namespace, new.metadata.name, new, { manager = "kube-controller-manager" })
      end
      -- older templates: scaled to zero, the oldest beyond the history limit deleted
      local old = {}
      for _, rs in ipairs(sets) do
        if rs.metadata.name ~= name then
          old[#old + 1] = rs
          if (rs.spec.replicas or 0) ~= 0 then
            local new = tables.copy(rs)
            new.spec.replicas = 0
            api:update(rs_def, new.metadata.namespace, new.metadata.name, new, { manager = "kube-controller-manager" })
          end
        end
      end
      table.sort(old, function(a, b) return (a.metadata.creationTimestamp or "") < (b.metadata.creationTimestamp or "") end)
      for i = 1, #old - (d.spec.revisionHistoryLimit or 10) do delete(api, rs_def, old[i]) end
      -- status from the ReplicaSets
      local replicas, ready, updated = 0, 0, 0
      local now_sets = refreshed(api, rs_def, sets)
      if not current then
        local made = api.store:get(rs_def, d.metadata.namespace, name)
        if made then now_sets[#now_sets + 1] = made end
      end
      for _, rs in ipairs(now_sets) do
        local st = rs.status or {}
        replicas = replicas + (st.replicas or 0)
        ready = ready + (st.readyReplicas or 0)
        if rs.metadata.name == name then updated = st.replicas or 0 end
      end
      local t = time.format_rfc3339()
      local available = ready >= want
      local prev = {}
      for _, c in ipairs((d.status or {}).conditions or {}) do prev[c.type] = c end
      local function cond(type_, status_, reason, message)
        local p = prev[type_]
        local changed = not p or p.status ~= status_ or p.reason ~= reason
        return { type = type_, status = status_, reason = reason, message = message,
          lastUpdateTime = changed and t or p.lastUpdateTime, lastTransitionTime = (not p or p.status ~= status_) and t or p.lastTransitionTime }
      end
      local done = updated == want and ready >= want
      set_status(api, def, api.store:get(def, d.metadata.namespace, d.metadata.name), {
        observedGeneration = d.metadata.generation, replicas = replicas, updatedReplicas = updated,
        readyReplicas = ready > 0 and ready or nil, availableReplicas = ready > 0 and ready or nil,
        unavailableReplicas = want - ready > 0 and (want - ready) or nil,
        conditions = yaml.array({
          cond("Available", available and "True" or "False", available and "MinimumReplicasAvailable" or "MinimumReplicasUnavailable",
            available and "Deployment has minimum availability." or "Deployment does not have minimum availability."),
          cond("Progressing", "True", done and "NewReplicaSetAvailable" or "ReplicaSetUpdated",
            string.format('ReplicaSet "%s" %s.', name, done and "has successfully progressed" or "is progressing")),
        }),
      })
    end
  end
end

-- StatefulSets: pods NAME-0..N-1 in order, each with the PVCs of the volumeClaimTemplates.
local function statefulsets(api)
  local def = api.registry:get("apps", "v1", "statefulsets")
  local pvc_def = api.registry:get("", "v1", "persistentvolumeclaims")
  for _, sts in ipairs(api.store:list(def)) do
    if not sts.metadata.deletionTimestamp then
      local ns, name = sts.metadata.namespace, sts.metadata.name
      local want = sts.spec.replicas or 1
      local pods = owned(api.store:list(pods_def(api), ns), sts)
      local by_name = {}
      for _, p in ipairs(pods) do by_name[p.metadata.name] = p end
      local all_ready = true
      for i = 0, want - 1 do
        local pod_name = name .. "-" .. i
        for _, tpl in ipairs(sts.spec.volumeClaimTemplates or {}) do
          local claim = tpl.metadata.name .. "-" .. pod_name
          if not api.store:get(pvc_def, ns, claim) then
            local pvc = tables.copy(tpl)
            pvc.apiVersion, pvc.kind = "v1", "PersistentVolumeClaim"
            pvc.metadata.name, pvc.metadata.namespace = claim, ns
            pvc.metadata.labels = tables.copy((sts.spec.template.metadata or {}).labels)
            pcall(api.create, api, pvc_def, ns, pvc, { manager = "kube-controller-manager" })
          end
        end
        local pod = by_name[pod_name]
        if not pod then
          if all_ready or sts.spec.podManagementPolicy == "Parallel" then
            local p = new_pod(sts, sts.spec.template, pod_name)
            p.metadata.labels = p.metadata.labels or {}
            p.metadata.labels["statefulset.kubernetes.io/pod-name"] = pod_name
            p.metadata.labels["apps.kubernetes.io/pod-index"] = tostring(i)
            p.spec.hostname = pod_name
            p.spec.subdomain = sts.spec.serviceName
            local volumes = p.spec.volumes or yaml.array({})
            for _, tpl in ipairs(sts.spec.volumeClaimTemplates or {}) do
              volumes[#volumes + 1] = { name = tpl.metadata.name,
                persistentVolumeClaim = { claimName = tpl.metadata.name .. "-" .. pod_name } }
            end
            p.spec.volumes = yaml.array(volumes)
            create_pod(api, p)
          end
          all_ready = false
        elseif not pod_ready(pod) then
          all_ready = false
        end
      end
      for _, p in ipairs(pods) do
        local index = tonumber(p.metadata.name:match("%-(%d+)$") or "-1")
        if index >= want then delete(api, pods_def(api), p) end
      end
      local ready, current = 0, 0
      for _, p in ipairs(owned(api.store:list(pods_def(api), ns), sts)) do
        current = current + 1
        if pod_ready(p) then ready = ready + 1 end
      end
      set_status(api, def, api.store:get(def, ns, name), {
        observedGeneration = sts.metadata.generation, replicas = current, readyReplicas = ready,
        currentReplicas = current, updatedReplicas = current, availableReplicas = ready,
        currentRevision = name .. "-" .. hash(assert(json.encode(sts.spec.template or {})), 10),
        updateRevision = name .. "-" .. hash(assert(json.encode(sts.spec.template or {})), 10),
      })
    end
  end
end

-- DaemonSets: one pod on the one node.
local function daemonsets(api, sim)
  local def = api.registry:get("apps", "v1", "daemonsets")
  for _, ds in ipairs(api.store:list(def)) do
    if not ds.metadata.deletionTimestamp then
      local pods = owned(api.store:list(pods_def(api), ds.metadata.namespace), ds)
      if #pods == 0 then
        local p = new_pod(ds, ds.spec.template, ds.metadata.name .. "-" .. hash(ds.metadata.uid, 5))
        p.spec.nodeName = sim.node_name
        create_pod(api, p)
      end
      local ready = 0
      for _, p in ipairs(pods) do if pod_ready(p) then ready = ready + 1 end end
      set_status(api, def, api.store:get(def, ds.metadata.namespace, ds.metadata.name), {
        desiredNumberScheduled = 1, currentNumberScheduled = 1, numberMisscheduled = 0, numberReady = ready,
        numberAvailable = ready > 0 and ready or nil, updatedNumberScheduled = 1, observedGeneration = ds.metadata.generation,
      })
    end
  end
end

-- Jobs: pods until spec.completions succeeded, then Complete.
local function jobs(api)
  local def = api.registry:get("batch", "v1", "jobs")
  for _, job in ipairs(api.store:list(def)) do
    local st = job.status or {}
    local complete = false
    for _, c in ipairs(st.conditions or {}) do complete = complete or (c.type == "Complete" and c.status == "True") end
    if not job.metadata.deletionTimestamp and not complete then
      local pods = owned(api.store:list(pods_def(api), job.metadata.namespace), job)
      local succeeded, active = 0, 0
      for _, p in ipairs(pods) do
        local phase = p.status and p.status.phase
        if phase == "Succeeded" then succeeded = succeeded + 1 elseif phase ~= "Failed" then active = active + 1 end
      end
      local want = job.spec.completions or 1
      local parallel = job.spec.parallelism or 1
      for _ = 1, math.min(parallel - active, want - succeeded - active) do
        local p = new_pod(job, job.spec.template, job.metadata.name .. "-" .. hash(job.metadata.uid .. os.clock() .. math.random(), 5))
        p.metadata.labels = p.metadata.labels or {}
        p.metadata.labels["batch.kubernetes.io/job-name"] = job.metadata.name
        p.metadata.labels["job-name"] = job.metadata.name
        create_pod(api, p)
        active = active + 1
      end
      local t = time.format_rfc3339()
      local new_st = { startTime = st.startTime or t, active = active > 0 and active or nil,
        succeeded = succeeded > 0 and succeeded or nil, ready = 0, terminating = 0,
        uncountedTerminatedPods = {} }
      if succeeded >= want then
        new_st.active = nil
        new_st.completionTime = t
        new_st.conditions = yaml.array({
          { type = "SuccessCriteriaMet", status = "True", lastProbeTime = t, lastTransitionTime = t },
          { type = "Complete", status = "True", lastProbeTime = t, lastTransitionTime = t } })
      end
      set_status(api, def, api.store:get(def, job.metadata.namespace, job.metadata.name), new_st)
    end
  end
end

function M.run(sim)
  local api = sim.api
  deployments(api)
  replicasets(api)
  statefulsets(api)
  daemonsets(api, sim)
  jobs(api)
end

return M
