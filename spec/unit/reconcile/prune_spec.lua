-- SPDX-License-Identifier: Apache-2.0
-- kip.reconcile.prune: what a resource made before and no longer wants.
local prune = require "kip.reconcile.prune"

describe("kip.reconcile.prune", function()
  local function e(av, kind, ns, name, extra)
    local x = { api_version = av, kind = kind, namespace = ns, name = name, uid = name .. "-uid" }
    for k, v in pairs(extra or {}) do x[k] = v end
    return x
  end
  local owned = { ["apps/v1|Deployment"] = true, ["v1|Service"] = true, ["v1|Secret"] = true,
    ["networking.k8s.io/v1|Ingress"] = true }

  it("deletes owned objects that are not wanted any more, sorted", function()
    local wanted = prune.wanted({
      { apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "web", namespace = "default" } },
      { apiVersion = "v1", kind = "Service", metadata = { name = "web", namespace = "default" } },
    })
    local existing = {
      e("networking.k8s.io/v1", "Ingress", "default", "web"),
      e("apps/v1", "Deployment", "default", "web"),
      e("v1", "Service", "default", "web"),
      e("v1", "Secret", "default", "app-web-env-111"),
    }
    local plan = prune.plan(existing, wanted, owned)
    assert.same({ "Ingress", "Secret" }, { plan[1].kind, plan[2].kind })
    assert.equal("app-web-env-111-uid", plan[2].uid)
  end)

  it("leaves retained objects, objects being deleted and kinds the policy does not own", function()
    local existing = {
      e("v1", "Secret", "default", "db-credentials", { retain = true }),
      e("apps/v1", "Deployment", "default", "old", { deleting = true }),
      e("apps/v1", "ControllerRevision", "default", "web-1"),
    }
    assert.same({}, prune.plan(existing, {}, owned))
  end)

  it("tells objects apart by apiVersion, kind, namespace and name", function()
    assert.equal("v1|Secret|a/x", prune.id("v1", "Secret", "a", "x"))
    assert.equal("v1|Namespace|x", prune.id("v1", "Namespace", nil, "x"))
    local wanted = prune.wanted({ { apiVersion = "v1", kind = "Secret", metadata = { name = "x", namespace = "a" } } })
    local plan = prune.plan({ e("v1", "Secret", "b", "x") }, wanted, owned)
    assert.equal(1, #plan)
  end)
end)
