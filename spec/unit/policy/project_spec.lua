-- SPDX-License-Identifier: Apache-2.0
-- The Project reconcile policy (plugins/reconcilers/project.lua) and kip.policy.project: every
-- shape of Project through the sandbox API's strict validation, namespace names, quotas, member
-- bindings, status, and spec errors.
local helpers = require "helpers.policy"
local invalid = require "kip.policy.invalid"
local project = require "kip.policy.project"

local policy = helpers.policy("project")

local function proj(spec, name)
  return { apiVersion = "kipper.run/v1alpha1", kind = "Project", metadata = { name = name or "shop", generation = 1 }, spec = spec }
end

local function kinds_and_names(out)
  local list = {}
  for _, o in ipairs(out.objects) do
    list[#list + 1] = o.kind .. " " .. (o.metadata.namespace and (o.metadata.namespace .. "/") or "") .. o.metadata.name
  end
  return list
end

local function spec_error(p, ctx)
  local ok, err = pcall(policy.reconcile, p, ctx or helpers.ctx())
  assert.is_false(ok)
  assert.is_true(invalid.is(err), tostring(err))
  return err
end

local OWNER = { email = "owner@example.com", role = "owner" }
local DEV = { email = "dev@example.com", role = "deployer" }
local VIEWER = { email = "Viewer.Person+x@example.com" } -- role defaults to viewer

describe("Project policy", function()
  it("declares the interface the engine uses", function()
    assert.same({ "kipper.run/v1alpha1", "Project" }, { policy.api_version, policy.kind })
    assert.is_nil(policy.finalizer)
    assert.same({ { "v1", "Namespace" }, { "v1", "ResourceQuota" }, { "v1", "LimitRange" }, { "rbac.authorization.k8s.io/v1", "RoleBinding" },
      { "rbac.authorization.k8s.io/v1", "ClusterRoleBinding" } }, policy.owns)
  end)

  it("names namespaces PROJECT for default or its own name, else PROJECT-ENV", function()
    assert.equal("shop", project.namespace("shop", "default"))
    assert.equal("shop", project.namespace("shop", "shop"))
    assert.equal("shop-staging", project.namespace("shop", "staging"))
  end)

  describe("emits objects the API accepts (Kubernetes v1.34 schemas, strict) for", function()
    local shapes = {
      { "no spec", nil },
      { "no environments, members of every role", { members = { OWNER, DEV, VIEWER } } },
      { "one environment named like the project", { displayName = "Shop", environments = { { name = "shop" } } } },
      { "default and staging, a quota on default", { environments = { { name = "default", quota = { cpu = 4, memory = "8Gi", pods = 20 } },
        { name = "staging" } }, members = { OWNER } } },
      { "quotas of one kind each", { environments = { { name = "a", quota = { cpu = "1500m" } }, { name = "b", quota = { memory = 2147483648 } },
        { name = "c", quota = { pods = 0 } }, { name = "d", quota = {} } } } },
      { "three environments, no members", { environments = { { name = "dev" }, { name = "staging" }, { name = "production" } } } },
    }
    for _, s in ipairs(shapes) do
      it(s[1], function()
        local p = proj(s[2])
        local out = policy.reconcile(p, helpers.ctx())
        local api = helpers.new_api()
        assert.same({}, helpers.apply_all(api, out.objects))
        assert.is_nil(helpers.check_status(api, p, out.status))
      end)
    end
  end)

  it("makes a namespace per environment, with quotas where asked and a binding per member", function()
    local out = policy.reconcile(proj({ environments = { { name = "default", quota = { cpu = 2, pods = 10 } }, { name = "staging" } },
      members = { OWNER, DEV } }), helpers.ctx())
    local owner_rb = "kipper-owner-" .. require("kip.policy.hash").short("owner@example.com")
    local dev_rb = "kipper-deployer-" .. require("kip.policy.hash").short("dev@example.com")
    assert.same({ "Namespace shop", "ResourceQuota shop/kipper-quota", "LimitRange shop/kipper-defaults",
      "RoleBinding shop/" .. owner_rb, "RoleBinding shop/" .. dev_rb,
      "Namespace shop-staging", "RoleBinding shop-staging/" .. owner_rb, "RoleBinding shop-staging/" .. dev_rb,
      "ClusterRoleBinding kipper-project-shop" }, kinds_and_names(out))
    -- the members may read Projects (cluster-scoped) through the role kip install makes
    local reader = out.objects[9]
    assert.same({ apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = "kipper-project-reader" }, reader.roleRef)
    assert.same({ "owner@example.com", "dev@example.com" }, { reader.subjects[1].name, reader.subjects[2].name })
    local ns = out.objects[1]
    assert.same({ ["kipper.run/project"] = "shop", ["kipper.run/environment"] = "default", ["app.kubernetes.io/part-of"] = "kipper",
      ["app.kubernetes.io/managed-by"] = "kipperd", ["pod-security.kubernetes.io/enforce"] = "baseline",
      ["pod-security.kubernetes.io/warn"] = "restricted" }, ns.metadata.labels)
    assert.same({ ["requests.cpu"] = "2", pods = "10" }, out.objects[2].spec.hard)
    assert.same({ { type = "Container", defaultRequest = { cpu = "100m", memory = "256Mi" }, default = { cpu = "500m", memory = "512Mi" } } },
      out.objects[3].spec.limits)
    local rb = out.objects[5]
    assert.same({ apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = "edit" }, rb.roleRef)
    assert.same({ { kind = "User", apiGroup = "rbac.authorization.k8s.io", name = "dev@example.com" } }, rb.subjects)
  end)

  it("binds owners to admin, deployers to edit and viewers to view, a new binding when a role changes", function()
    local function role_of(m)
      local out = policy.reconcile(proj({ members = { m } }), helpers.ctx())
      return out.objects[2].roleRef.name, out.objects[2].metadata.name
    end
    assert.equal("admin", (role_of(OWNER)))
    assert.equal("edit", (role_of(DEV)))
    assert.equal("view", (role_of(VIEWER)))
    local _, before = role_of({ email = "x@example.com", role = "viewer" })
    local _, after = role_of({ email = "x@example.com", role = "owner" })
    assert.are_not.equal(before, after)
  end)

  it("is Ready when every namespace is active", function()
    local function ns(name, phase)
      return { apiVersion = "v1", kind = "Namespace", metadata = { name = name, labels = { ["kipper.run/project"] = "shop" } }, status = { phase = phase } }
    end
    local p = proj({ environments = { { name = "default" }, { name = "staging" } } })
    local out = policy.reconcile(p, helpers.ctx({ observed = { ns("shop", "Active"), ns("shop-staging", "Active") } }))
    assert.same({ "Ready", { "shop", "shop-staging" } }, { out.status.phase, out.status.namespaces })
    assert.same({ type = "Ready", status = "True", reason = "NamespacesActive", message = "namespaces shop, shop-staging are active" },
      out.status.conditions[1])
    out = policy.reconcile(p, helpers.ctx({ observed = { ns("shop", "Active"), ns("shop-staging", "Terminating") } }))
    assert.same({ type = "Ready", status = "False", reason = "NamespacesPending", message = "waiting for namespace shop-staging" },
      out.status.conditions[1])
    assert.equal("Pending", out.status.phase)
    out = policy.reconcile(proj(nil), helpers.ctx({ observed = { ns("shop", "Active") } }))
    assert.same({ "Ready", "namespace shop is active" }, { out.status.phase, out.status.conditions[1].message })
  end)

  describe("refuses", function()
    it("two environments in one namespace", function()
      local err = spec_error(proj({ environments = { { name = "default" }, { name = "shop" } } }))
      assert.same({ "NamespaceConflict", "environments default and shop of project shop both map to namespace shop: rename one" }, { err.reason, err.message })
    end)

    it("namespaces the system uses, and names too long", function()
      assert.equal("NamespaceReserved", spec_error(proj(nil, "default")).reason)
      assert.equal("NamespaceReserved", spec_error(proj({ environments = { { name = "system" } } }, "kube")).reason)
      assert.equal("NamespaceReserved", spec_error(proj(nil, "kipper-system")).reason)
      local err = spec_error(proj({ environments = { { name = string.rep("e", 40) } } }, string.rep("p", 30)))
      assert.equal("NamespaceTooLong", err.reason)
      assert.matches("longer than 63 characters: shorten the project or environment name", err.message)
    end)

    it("a namespace that exists and is not the project's", function()
      local plain = { apiVersion = "v1", kind = "Namespace", metadata = { name = "shop" }, status = { phase = "Active" } }
      local err = spec_error(proj(nil), helpers.ctx({ observed = { plain } }))
      assert.same({ "NamespaceTaken", "namespace shop already exists and belongs to no project: to adopt it, label it: "
        .. "kubectl label namespace shop kipper.run/project=shop" }, { err.reason, err.message })
      plain.metadata.labels = { ["kipper.run/project"] = "other" }
      err = spec_error(proj(nil), helpers.ctx({ observed = { plain } }))
      assert.equal("namespace shop already exists and belongs to project other: rename this project's environment", err.message)
    end)
  end)
end)
