-- SPDX-License-Identifier: Apache-2.0
-- The sandbox's disruption controller: keeps each PodDisruptionBudget's status (expected,
-- desired and current healthy pods, disruptions allowed, the DisruptionAllowed condition) as
-- kube-controller-manager does, from kip.sandbox.disruption's arithmetic (which eviction also
-- uses, fresh, so a stale status never lets a pod go). Uses the sandbox API's write path.
local disruption = require "kip.sandbox.disruption"
local tables = require "kip.util.tables"
local tabular = require "kip.sandbox.tables"
local yaml = require "kip.yaml"

local M = {}

function M.run(sim)
  local api = sim.api
  local def = api.registry:get("policy", "v1", "poddisruptionbudgets")
  for _, pdb in ipairs(api.store:list(def)) do
    if not pdb.metadata.deletionTimestamp then
      local d = disruption.compute(api, pdb)
      local old = pdb.status or {}
      local prev
      for _, c in ipairs(old.conditions or {}) do
        if c.type == "DisruptionAllowed" then prev = c end
      end
      local allowed = d.allowed > 0 and "True" or "False"
      local reason = d.error and "SyncFailed" or (d.allowed > 0 and "SufficientPods" or "InsufficientPods")
      local st = {
        observedGeneration = pdb.metadata.generation, disruptionsAllowed = d.allowed, currentHealthy = d.current,
        desiredHealthy = d.desired, expectedPods = d.expected, disruptedPods = old.disruptedPods,
        conditions = yaml.array({ { type = "DisruptionAllowed", status = allowed, reason = reason, message = d.error or "",
          observedGeneration = pdb.metadata.generation,
          lastTransitionTime = prev and prev.status == allowed and prev.lastTransitionTime or tabular.now() } }),
      }
      if not tables.equal(old, st) then
        api:update(def, pdb.metadata.namespace, pdb.metadata.name, { metadata = pdb.metadata, status = st },
          { manager = "kube-controller-manager", subresource = "status" })
      end
    end
  end
end

return M
