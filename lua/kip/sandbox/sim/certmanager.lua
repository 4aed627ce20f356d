-- SPDX-License-Identifier: Apache-2.0
-- cert-manager's issuer controller, simulated: once cert-manager runs (its `cert-manager`
-- Deployment exists, as kip.sandbox.sim.charts installs it), ACME Issuers and ClusterIssuers get
-- Ready (ACMEAccountRegistered) and an account URI, and self-signed ones Ready (IsReady), as
-- cert-manager reports them. No ACME server is contacted and no certificate is issued.
-- Uses the sandbox API's write path.
local tables = require "kip.util.tables"
local tabular = require "kip.sandbox.tables"
local yaml = require "kip.yaml"

local M = {}

M.ACME_MESSAGE = "The ACME account was registered with the ACME server (simulated by the sandbox: nothing was contacted)"

local function running(api)
  for _, d in ipairs(api.store:list(api.registry:get("apps", "v1", "deployments"))) do
    if d.metadata.name == "cert-manager" and not d.metadata.deletionTimestamp then return true end
  end
  return false
end

-- The account URI an ACME server would give: its origin, /acme/acct/, a number from the uid.
local function account_uri(server, uid)
  local origin = (server or ""):match("^(https?://[^/]+)") or "https://acme.invalid"
  return string.format("%s/acme/acct/%d", origin, tonumber((uid or "0"):gsub("%-", ""):sub(1, 7), 16) or 0)
end

local function ready(reason, message, issuer, prev)
  local t = prev and prev.status == "True" and prev.lastTransitionTime or tabular.now()
  return yaml.array({ { type = "Ready", status = "True", reason = reason, message = message,
    observedGeneration = issuer.metadata.generation, lastTransitionTime = t } })
end

-- The status cert-manager would give an issuer, or nil for kinds it does not simulate.
local function status_of(issuer)
  local spec = issuer.spec or {}
  local prev
  for _, c in ipairs(((issuer.status or {}).conditions) or {}) do
    if c.type == "Ready" then prev = c end
  end
  if type(spec.acme) == "table" then
    return { acme = { uri = account_uri(spec.acme.server, issuer.metadata.uid), lastRegisteredEmail = spec.acme.email },
      conditions = ready("ACMEAccountRegistered", M.ACME_MESSAGE, issuer, prev) }
  elseif spec.selfSigned ~= nil then
    return { conditions = ready("IsReady", "", issuer, prev) }
  end
end

function M.run(sim)
  local api = sim.api
  if not running(api) then return end
  for _, plural in ipairs({ "clusterissuers", "issuers" }) do
    local def = api.registry:get("cert-manager.io", "v1", plural)
    for _, issuer in ipairs(def and api.store:list(def) or {}) do
      local want = not issuer.metadata.deletionTimestamp and status_of(issuer)
      if want and not tables.equal(issuer.status, want) then
        api:update(def, issuer.metadata.namespace, issuer.metadata.name, { metadata = issuer.metadata, status = want },
          { manager = "cert-manager-" .. plural, subresource = "status" })
      end
    end
  end
end

return M
