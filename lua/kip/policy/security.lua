-- SPDX-License-Identifier: Apache-2.0
-- Security contexts that meet the Pod Security "restricted" profile: run as a non-root user, no
-- privilege escalation, every capability dropped, the runtime's default seccomp profile. Pure data.
local M = {}

local function seccomp() return { type = "RuntimeDefault" } end

---The pod-level securityContext: restricted, plus ids a workload needs (runAsUser, fsGroup, ...).
---Without restricted (an App allowed to run as root) only the seccomp profile is set.
---@param restricted boolean
---@param extra? table PodSecurityContext fields to add
---@return table
function M.pod(restricted, extra)
  local out = { seccompProfile = seccomp() }
  if restricted then out.runAsNonRoot = true end
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

---The container-level securityContext, or nil when not restricted (the image's defaults apply).
---@param restricted boolean
---@return table|nil
function M.container(restricted)
  if not restricted then return nil end
  return { allowPrivilegeEscalation = false, runAsNonRoot = true, seccompProfile = seccomp(),
    capabilities = { drop = { "ALL" } } }
end

return M
