-- SPDX-License-Identifier: Apache-2.0
-- kip.reconcile.deps: what a reconcile read, and who to queue when one of those objects changes.
local deps = require "kip.reconcile.deps"

describe("kip.reconcile.deps", function()
  local function set(t)
    local out = {}
    for k in pairs(t) do out[#out + 1] = k end
    table.sort(out)
    return out
  end

  it("finds the readers of an object read by name", function()
    local d = deps.new()
    local r = deps.recorder()
    r.get("v1|Secret", "default/app-web-secrets")
    d:record("App|default/web", r.reads)
    assert.same({ "App|default/web" }, set(d:readers("v1|Secret", "default/app-web-secrets", "default", {})))
    assert.same({}, set(d:readers("v1|Secret", "default/other", "default", {})))
  end)

  it("finds the readers of a list by namespace and label selector", function()
    local d = deps.new()
    local r = deps.recorder()
    r.list("v1|Pod", "default", { ["app.kubernetes.io/name"] = "web", tier = "front" })
    d:record("App|default/web", r.reads)
    local r2 = deps.recorder()
    r2.list("apps/v1|ControllerRevision", nil, {})
    d:record("App|x/all", r2.reads)
    local labels = { ["app.kubernetes.io/name"] = "web", tier = "front", extra = "1" }
    assert.same({ "App|default/web" }, set(d:readers("v1|Pod", "default/web-1", "default", labels)))
    assert.same({}, set(d:readers("v1|Pod", "other/web-1", "other", labels)))
    assert.same({}, set(d:readers("v1|Pod", "default/web-1", "default", { ["app.kubernetes.io/name"] = "web" })))
    -- a list of every namespace with an empty selector sees everything of its kind
    assert.same({ "App|x/all" }, set(d:readers("apps/v1|ControllerRevision", "y/r", "y", nil)))
  end)

  it("replaces and forgets what an owner read", function()
    local d = deps.new()
    local r = deps.recorder()
    r.get("v1|Secret", "default/a")
    r.list("v1|Pod", "default", { app = "a" })
    d:record("App|default/a", r.reads)
    local r2 = deps.recorder()
    r2.get("v1|Secret", "default/b")
    d:record("App|default/a", r2.reads)
    assert.same({}, set(d:readers("v1|Secret", "default/a", "default", {})))
    assert.same({}, set(d:readers("v1|Pod", "default/p", "default", { app = "a" })))
    assert.same({ "App|default/a" }, set(d:readers("v1|Secret", "default/b", "default", {})))
    d:forget("App|default/a")
    assert.same({}, set(d:readers("v1|Secret", "default/b", "default", {})))
    assert.same({}, d.gets)
    assert.same({}, d.lists)
  end)

  it("adds to a set it is given", function()
    local d = deps.new()
    local r = deps.recorder()
    r.get("v1|Secret", "s")
    d:record("Project|p", r.reads)
    local into = { ["App|default/x"] = true }
    d:readers("v1|Secret", "s", nil, nil, into)
    assert.same({ "App|default/x", "Project|p" }, set(into))
  end)
end)
