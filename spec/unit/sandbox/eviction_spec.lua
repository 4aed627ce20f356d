-- SPDX-License-Identifier: Apache-2.0
-- kip.sandbox.disruption and kip.sandbox.eviction on an in-process sandbox API (no server): the
-- budget arithmetic (minAvailable and maxUnavailable, integers and percentages of the controllers'
-- scale, pods without a controller), LabelSelector matching, and evictions allowed, refused with
-- 429 and its cause, or done regardless for pods that are not running.
local api_mod = require "kip.sandbox.api"
local disruption = require "kip.sandbox.disruption"
local eviction = require "kip.sandbox.eviction"
local selectors = require "kip.sandbox.selectors"
local status = require "kip.sandbox.status"
local yaml = require "kip.yaml"

local function def(api, group, resource)
  return api.registry:get(group, "v1", resource)
end

-- A Deployment "web" (replicas 3) -> ReplicaSet -> n pods, Ready unless told otherwise.
local function cluster(n, ready)
  local api = api_mod.new({ address = "127.0.0.1:0" })
  local deploy = api:create(def(api, "apps", "deployments"), "default", { metadata = { name = "web" },
    spec = { replicas = 3, selector = { matchLabels = { app = "web" } },
      template = { metadata = { labels = { app = "web" } }, spec = { containers = yaml.array({ { name = "c", image = "i" } }) } } } })
  local rs = api:create(def(api, "apps", "replicasets"), "default", { metadata = { name = "web-1",
    ownerReferences = yaml.array({ { apiVersion = "apps/v1", kind = "Deployment", name = "web", uid = deploy.metadata.uid, controller = true } }) },
    spec = { replicas = 3, selector = { matchLabels = { app = "web" } },
      template = { metadata = { labels = { app = "web" } }, spec = { containers = yaml.array({ { name = "c", image = "i" } }) } } } })
  local pods = def(api, "", "pods")
  for i = 1, n do
    local p = api:create(pods, "default", { metadata = { name = "web-" .. i, labels = { app = "web" },
      ownerReferences = yaml.array({ { apiVersion = "apps/v1", kind = "ReplicaSet", name = "web-1", uid = rs.metadata.uid, controller = true } }) },
      spec = { containers = yaml.array({ { name = "c", image = "i" } }) } })
    local is_ready = ready == nil or ready[i] ~= false
    api:update(pods, "default", p.metadata.name, { metadata = p.metadata, status = {
      phase = "Running", conditions = yaml.array({ { type = "Ready", status = is_ready and "True" or "False" } }) } },
      { subresource = "status" })
  end
  return api
end

local function budget(api, name, spec)
  spec.selector = spec.selector or { matchLabels = { app = "web" } }
  return api:create(def(api, "policy", "poddisruptionbudgets"), "default", { metadata = { name = name }, spec = spec })
end

local function evict(api, name)
  return eviction.evict(api, "default", name, { apiVersion = "policy/v1", kind = "Eviction",
    metadata = { name = name, namespace = "default" } }, {})
end

local function refusal(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "no error raised")
  assert.is_true(status.is(err), tostring(err))
  return err
end

describe("kip.sandbox.disruption", function()
  it("counts like the disruption controller: minAvailable and maxUnavailable, integers and percentages", function()
    local api = cluster(3)
    local function numbers(spec)
      local d = disruption.compute(api, { metadata = { namespace = "default" }, spec = spec })
      return { d.expected, d.desired, d.current, d.allowed }
    end
    local sel = { matchLabels = { app = "web" } }
    assert.same({ 3, 2, 3, 1 }, numbers({ selector = sel, minAvailable = 2 }))
    assert.same({ 3, 2, 3, 1 }, numbers({ selector = sel, minAvailable = "50%" }), "50% of the Deployment's 3, rounded up")
    assert.same({ 3, 2, 3, 1 }, numbers({ selector = sel, maxUnavailable = 1 }))
    assert.same({ 3, 1, 3, 2 }, numbers({ selector = sel, maxUnavailable = "34%" }))
    assert.same({ 3, 3, 3, 0 }, numbers({ selector = sel, minAvailable = "100%" }))
    assert.same({ 0, 1, 0, 0 }, numbers({ selector = { matchLabels = { app = "other" } }, minAvailable = 1 }))
    local d = disruption.compute(api, { metadata = { namespace = "default" }, spec = { selector = sel, minAvailable = "x" } })
    assert.equal(0, d.allowed)
    assert.matches("IntOrString", d.error)
  end)

  it("does not count unready pods as healthy, and allows nothing for pods without a controller", function()
    local api = cluster(3, { true, false, true })
    local d = disruption.compute(api, { metadata = { namespace = "default" }, spec = { selector = { matchLabels = { app = "web" } }, minAvailable = 2 } })
    assert.same({ 2, 0 }, { d.current, d.allowed })
    local pods = def(api, "", "pods")
    api:create(pods, "default", { metadata = { name = "loner", labels = { role = "solo" } },
      spec = { containers = yaml.array({ { name = "c", image = "i" } }) } })
    d = disruption.compute(api, { metadata = { namespace = "default" }, spec = { selector = { matchLabels = { role = "solo" } }, maxUnavailable = 1 } })
    assert.equal(0, d.allowed)
    assert.matches('found no controller ref for pod "loner"', d.error)
  end)

  it("matches LabelSelector objects: nil selects nothing, {} everything, expressions", function()
    assert.is_false(selectors.matches(nil, { a = "1" }))
    assert.is_true(selectors.matches({}, { a = "1" }))
    local sel = { matchLabels = { a = "1" }, matchExpressions = {
      { key = "b", operator = "In", values = { "x", "y" } }, { key = "c", operator = "DoesNotExist" } } }
    assert.is_true(selectors.matches(sel, { a = "1", b = "y" }))
    assert.is_false(selectors.matches(sel, { a = "1", b = "z" }))
    assert.is_false(selectors.matches(sel, { a = "1", b = "x", c = "" }))
    assert.is_true(selectors.matches({ matchExpressions = { { key = "b", operator = "NotIn", values = { "x" } } } }, {}))
    assert.is_true(selectors.matches({ matchExpressions = { { key = "b", operator = "Exists" } } }, { b = "" }))
  end)
end)

describe("kip.sandbox.eviction", function()
  it("deletes a pod no budget covers, answering a Success Status", function()
    local api = cluster(2)
    assert.same({ kind = "Status", apiVersion = "v1", metadata = {}, status = "Success", code = 201 }, evict(api, "web-1"))
    assert.is_nil(api.store:get(def(api, "", "pods"), "default", "web-1"))
  end)

  it("evicts while the budget allows, then answers 429 with the real message and cause", function()
    local api = cluster(3)
    budget(api, "web-pdb", { minAvailable = 2 })
    evict(api, "web-1")
    local st = refusal(evict, api, "web-2")
    assert.same({ 429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget." },
      { st.code, st.reason, st.message })
    assert.same({ { reason = "DisruptionBudget", message = "The disruption budget web-pdb needs 2 healthy pods and has 2 currently" } },
      st.details.causes)
    assert.truthy(api.store:get(def(api, "", "pods"), "default", "web-2"))
  end)

  it("evicts pods that are not running, or unready ones while the budget is met, regardless of the budget", function()
    local api = cluster(4, { true, true, true, false })
    budget(api, "web-pdb", { minAvailable = 3 })
    evict(api, "web-4") -- unready, and 3 healthy >= 3 desired
    local pods = def(api, "", "pods")
    local p = api.store:get(pods, "default", "web-3")
    api:update(pods, "default", "web-3", { metadata = p.metadata, status = { phase = "Pending" } }, { subresource = "status" })
    evict(api, "web-3")
    assert.is_nil(api.store:get(pods, "default", "web-3"))
    refusal(evict, api, "web-1")
  end)

  it("refuses what kube-apiserver refuses: two budgets (500), a wrong name (400), a missing pod (404)", function()
    local api = cluster(2)
    budget(api, "a", { minAvailable = 0 })
    budget(api, "b", { maxUnavailable = 1 })
    assert.equal(500, refusal(evict, api, "web-1").code)
    local st = refusal(eviction.evict, api, "default", "web-1", { kind = "Eviction", metadata = { name = "web-2" } }, {})
    assert.same({ 400, "name in URL does not match name in Eviction object" }, { st.code, st.message })
    assert.equal(404, refusal(evict, api, "nope").code)
  end)
end)
