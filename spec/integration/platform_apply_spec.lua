-- SPDX-License-Identifier: Apache-2.0
-- What `kip install` applies, applied with the real kubectl (server-side, strict field validation)
-- to the sandbox API: Kipper's CRDs, then every platform object for local-path and Longhorn; then
-- Apps, Services and Projects created through kubectl, their defaults, printer columns, short
-- names, the scale subresource, and the API's refusal of an invalid App.
local components = require "kip.platform.components"
local crds = require "kip.platform.crds"
local json = require "kip.json"
local sandbox = require "helpers.sandbox"
local yaml = require "kip.yaml"

local VARS = {
  ["cert_manager.repo"] = "https://charts.jetstack.io", ["cert_manager.version"] = "v1.19.1",
  ["images.registry"] = "", ["acme.server"] = "https://acme-v02.api.letsencrypt.org/directory",
  ["acme.email"] = "ops@example.com", storage = "local-path",
  ["longhorn.repo"] = "https://charts.longhorn.io", ["longhorn.version"] = "1.10.1", ["longhorn.replicas"] = 1,
  ["traefik.redirect_https"] = true, ["traefik.trusted_ips"] = "10.0.0.0/8",
  ["kipperd.image"] = "ghcr.io/kipper-run/kipperd:0.3.0", ["kipper.version"] = "0.3.0",
  ["console.host"] = "console.example.com",
}

local APP = [[
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: web, namespace: default}
spec:
  image: ghcr.io/acme/web:1.2.0
  route: {host: web.example.com}
]]

local SERVICE = [[
apiVersion: kipper.run/v1alpha1
kind: Service
metadata: {name: db, namespace: default}
spec: {type: postgres, version: "16", storage: 10Gi}
]]

local PROJECT = [[
apiVersion: kipper.run/v1alpha1
kind: Project
metadata: {name: shop}
spec:
  displayName: Web shop
  environments:
  - {name: production, quota: {cpu: 4, memory: 8Gi, pods: 20}}
  - {name: staging}
  members:
  - {email: dev@example.com}
]]

local BAD_APP = [[
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: broken, namespace: default}
spec: {port: 70000}
]]

local function with(over)
  local v = {}
  for k, x in pairs(VARS) do v[k] = x end
  for k, x in pairs(over) do v[k] = x end
  return v
end

describe("the platform objects applied with kubectl to the sandbox API", function()
  local sb
  setup(function() sb = sandbox.start() end)
  teardown(function() sb:stop() end)

  local function apply(text)
    return sb:kubectl({ "apply", "--server-side", "--field-manager", "kip", "-f", "-" }, text)
  end

  local function get_json(args)
    local all = { "get", "-o", "json" }
    for _, a in ipairs(args) do all[#all + 1] = a end
    return assert(json.decode(sb:ok(all)))
  end

  it("applies Kipper's CRDs, which become Established and carry their hash", function()
    local r = apply(assert(yaml.encode_all(crds.all())))
    assert.equal(0, r.status, r.stderr)
    local args = { "wait", "--for", "condition=Established", "--timeout", "10s" }
    for _, name in ipairs(crds.names()) do args[#args + 1] = "crd/" .. name end
    sb:ok(args)
    for _, name in ipairs(crds.names()) do
      assert.equal(crds.hash(), get_json({ "crd", name }).metadata.annotations["kipper.run/crd-hash"])
    end
    r = apply(assert(yaml.encode_all(crds.all())))
    assert.equal(0, r.status, r.stderr)
    assert.matches("apps.kipper.run serverside%-applied", r.stdout)
  end)

  it("applies every platform object, for Longhorn and then local-path, without warnings", function()
    for _, v in ipairs({ with({ storage = "longhorn", ["images.registry"] = "registry.internal:5000" }),
      with({ ["acme.email"] = "", ["traefik.redirect_https"] = false, ["traefik.trusted_ips"] = "" }) }) do
      local r = apply(assert(yaml.encode_all(components.all(v))))
      assert.equal(0, r.status, r.stderr)
      assert.equal("", r.stderr)
    end
    local d = get_json({ "-n", "kipper-system", "deployment", "kipperd" })
    assert.equal("ghcr.io/kipper-run/kipperd:0.3.0", d.spec.template.spec.containers[1].image)
    local charts = get_json({ "-n", "kube-system", "helmcharts.helm.cattle.io" })
    local names = {}
    for _, item in ipairs(charts.items) do names[item.metadata.name] = item.spec.version end
    assert.equal("v1.19.1", names["cert-manager"])
    assert.equal("1.10.1", names.longhorn)
    local ing = get_json({ "-n", "kipper-system", "ingress", "console" })
    assert.is_nil(ing.spec.tls) -- the second apply (no e-mail) took the TLS section away
    assert.equal("baseline", get_json({ "namespace", "kipper-system" }).metadata.labels["pod-security.kubernetes.io/enforce"])
  end)

  it("creates an App and applies its schema defaults", function()
    local r = apply(APP)
    assert.equal(0, r.status, r.stderr)
    local app = get_json({ "apps.kipper.run", "web" })
    assert.equal("ghcr.io/acme/web:1.2.0", app.spec.image)
    assert.equal(8080, app.spec.port)
    assert.equal(1, app.spec.replicas)
    assert.equal("/", app.spec.route.path)
    assert.equal("web.example.com", app.spec.route.host)
    assert.is_nil(app.spec.autoscale) -- absent objects stay absent
    assert.is_nil(app.spec.healthCheck)
  end)

  it("creates a Project and a Service", function()
    local r = apply(PROJECT)
    assert.equal(0, r.status, r.stderr)
    local p = get_json({ "projects.kipper.run", "shop" })
    assert.equal("Web shop", p.spec.displayName)
    assert.is_nil(p.metadata.namespace)
    assert.equal("dev@example.com", p.spec.members[1].email)
    assert.equal("viewer", p.spec.members[1].role)
    r = apply(SERVICE)
    assert.equal(0, r.status, r.stderr)
    assert.equal("", r.stderr)
    local svc = get_json({ "services.kipper.run", "db" })
    assert.equal("postgres", svc.spec.type)
    -- none of a core Service's defaults
    assert.is_nil(svc.spec.clusterIP)
    assert.is_nil(svc.spec.sessionAffinity)
    assert.same({ type = "postgres", version = "16", storage = "10Gi" }, svc.spec)
    -- and a core Service still gets them
    r = apply("apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: default}\nspec: {ports: [{port: 5432}]}\n")
    assert.equal(0, r.status, r.stderr)
    local core = get_json({ "services", "db" })
    assert.equal("ClusterIP", core.spec.type)
    assert.equal("None", core.spec.sessionAffinity)
    assert.matches("^10%.43%.", core.spec.clusterIP)
    assert.equal(5432, core.spec.ports[1].targetPort)
  end)

  it("prints the printer columns and answers to the short names", function()
    local out = sb:ok({ "get", "apps.kipper.run" })
    assert.matches("^NAME%s+IMAGE%s+REPLICAS%s+READY%s+PHASE%s+URL%s+AGE\n", out)
    assert.matches("\nweb%s+ghcr.io/acme/web:1.2.0%s", out)
    assert.matches("^NAME%s+IMAGE", sb:ok({ "get", "kapp" }))
    out = sb:ok({ "get", "projects.kipper.run" })
    assert.matches("^NAME%s+DISPLAY NAME%s+ENVIRONMENTS%s+PHASE%s+AGE\n", out)
    assert.matches("\nshop%s+Web shop%s", out)
    assert.matches("^NAME%s+DISPLAY NAME", sb:ok({ "get", "kproj" }))
    -- .spec.environments[*].name: kube-apiserver's table convertor prints the first value only
    assert.matches("\nshop%s+Web shop%s+production%s+%d+s\n", out)
    assert.not_matches("staging", out)
    local kipper = sb:ok({ "get", "kipper", "-A" })
    assert.matches("app.kipper.run/web", kipper, 1, true)
    assert.matches("service.kipper.run/db", kipper, 1, true)
    out = sb:ok({ "get", "services.kipper.run", "db" })
    assert.matches("^NAME%s+TYPE%s+VERSION%s+PHASE%s+HOST%s+AGE\ndb%s+postgres%s+16%s+%d+s\n$", out)
  end)

  it("scales an App through the scale subresource", function()
    sb:ok({ "scale", "apps.kipper.run/web", "--replicas", "3" })
    assert.equal(3, get_json({ "apps.kipper.run", "web" }).spec.replicas)
  end)

  it("refuses an invalid App with a clear message from the API", function()
    local r = apply(BAD_APP)
    assert.are_not.equal(0, r.status)
    assert.matches('The App "broken" is invalid', r.stderr, 1, true)
    assert.matches("spec.image: Required value", r.stderr, 1, true)
    assert.matches("spec.port: Invalid value: 70000", r.stderr, 1, true)
    assert.matches("less than or equal to 65535", r.stderr, 1, true)
    assert.are_not.equal(0, sb:kubectl({ "get", "apps.kipper.run", "broken" }).status)
  end)
end)
