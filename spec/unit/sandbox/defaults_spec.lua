-- SPDX-License-Identifier: Apache-2.0
-- kip.sandbox.defaults: the structural-schema defaulting of custom resources as kube-apiserver does
-- it (missing fields of present objects, absent objects left absent unless defaulted themselves,
-- nullable, items and additionalProperties, non-nullable nulls), through every write path of an
-- in-process sandbox API (create, update, merge patch, server-side apply) and on reading stored
-- objects; and built-in defaults only for the built-in group and version of a kind.
local api_mod = require "kip.sandbox.api"
local defaults = require "kip.sandbox.defaults"
local fs = require "kip.fs"
local json = require "kip.json"
local state = require "kip.sandbox.state"
local helpers = require "helpers"
local yaml = require "kip.yaml"

local null = yaml.null

-- A namespaced CRD widgets.example.com/v1 with the given spec schema.
local function widget_crd(spec_schema, opts)
  opts = opts or {}
  return {
    apiVersion = "apiextensions.k8s.io/v1", kind = "CustomResourceDefinition",
    metadata = { name = (opts.plural or "widgets") .. ".example.com" },
    spec = {
      group = "example.com", scope = "Namespaced",
      names = { kind = opts.kind or "Widget", plural = opts.plural or "widgets" },
      versions = yaml.array({ { name = "v1", served = true, storage = true,
        subresources = { status = {} },
        schema = { openAPIV3Schema = { type = "object", properties = {
          apiVersion = { type = "string" }, kind = { type = "string" }, metadata = { type = "object" },
          spec = spec_schema, status = { type = "object", ["x-kubernetes-preserve-unknown-fields"] = true },
        } } } } }),
    },
  }
end

local SPEC = {
  type = "object",
  required = yaml.array({ "size" }),
  properties = {
    size = { type = "integer", default = 3 },
    mode = { type = "string", default = "fast" },
    note = { type = "string", nullable = true, default = "none" },
    comment = { type = "string" },
    limits = { type = "object", properties = { cpu = { type = "string", default = "1" } } },
    tls = { type = "object", default = {}, properties = {
      enabled = { type = "boolean", default = true },
      ciphers = { type = "array", items = { type = "string" }, default = yaml.array({ "tls13" }) },
    } },
    ports = { type = "array", items = { type = "object", properties = {
      port = { type = "integer" }, protocol = { type = "string", default = "TCP" },
    } } },
    labels = { type = "object", additionalProperties = { type = "object", properties = {
      weight = { type = "integer", default = 1 },
    } } },
    extra = { type = "object", ["x-kubernetes-preserve-unknown-fields"] = true, properties = {
      known = { type = "string", default = "k" },
    } },
  },
}

local function setup_api(spec_schema, opts)
  local api = api_mod.new({ address = "127.0.0.1:0" })
  local crd_def = api.registry:get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
  api:create(crd_def, nil, widget_crd(spec_schema or SPEC, opts))
  return api, api.registry:get("example.com", "v1", (opts and opts.plural) or "widgets")
end

local function request(api, method, path, body, ct, query)
  local text = body
  if type(body) == "table" then text = assert(json.encode(body)) end
  local res = api:handle({ method = method, path = path, query = query or "",
    headers = { ["content-type"] = ct or "application/json", ["user-agent"] = "spec/1.0" }, body = text })
  return res.status, assert(json.decode(res.body))
end

describe("kip.sandbox.defaults.structural", function()
  local schema = { type = "object", properties = { spec = SPEC } }

  local function default(spec)
    local obj = { spec = spec }
    defaults.structural(schema, obj)
    return obj.spec
  end

  it("sets missing fields of a present object and leaves given ones", function()
    local s = default({ size = 5 })
    assert.equal(5, s.size)
    assert.equal("fast", s.mode)
    assert.equal("none", s.note)
    assert.is_nil(s.comment)
  end)

  it("does not make an absent object for its properties' defaults, but fills an object that is there", function()
    local s = default({})
    assert.is_nil(s.limits)
    assert.is_nil(s.ports)
    assert.is_nil(s.labels)
    s = default({ limits = {} })
    assert.same({ cpu = "1" }, s.limits)
  end)

  it("defaults inside an object that a default made", function()
    local s = default({})
    assert.same({ enabled = true, ciphers = { "tls13" } }, s.tls)
    assert.is_true(yaml.is_array(s.tls.ciphers))
    s = default({ tls = { enabled = false } })
    assert.is_false(s.tls.enabled)
    assert.same({ "tls13" }, s.tls.ciphers)
  end)

  it("copies defaults, so objects never share them with the schema", function()
    local a = default({})
    a.tls.ciphers[1] = "changed"
    assert.same({ "tls13" }, default({}).tls.ciphers)
    assert.same({ "tls13" }, SPEC.properties.tls.properties.ciphers.default)
  end)

  it("defaults each item of a list and each value of a map (additionalProperties)", function()
    local s = default({ ports = yaml.array({ { port = 80 }, { port = 53, protocol = "UDP" } }),
      labels = { a = {}, b = { weight = 7 } } })
    assert.equal("TCP", s.ports[1].protocol)
    assert.equal("UDP", s.ports[2].protocol)
    assert.equal(1, s.labels.a.weight)
    assert.equal(7, s.labels.b.weight)
  end)

  it("keeps the null of a nullable field, defaults a non-nullable null and drops one without a default", function()
    local s = default({ note = null, mode = null, comment = null })
    assert.equal(null, s.note)
    assert.equal("fast", s.mode)
    assert.is_nil(s.comment) -- gone, not null
  end)

  it("leaves unknown fields of x-kubernetes-preserve-unknown-fields alone and defaults the known ones", function()
    local s = default({ extra = { anything = null, deep = { x = 1 } } })
    assert.equal("k", s.extra.known)
    assert.equal(null, s.extra.anything)
    assert.same({ x = 1 }, s.extra.deep)
  end)

  it("does nothing to scalars where the schema expects an object (validation reports those)", function()
    local s = default({ limits = "none", ports = "x" })
    assert.equal("none", s.limits)
    assert.equal("x", s.ports)
  end)
end)

describe("the sandbox API's defaulting of custom resources", function()
  it("applies a CRD's defaults on create, before validation (a required field with a default may be left out)", function()
    local api, def = setup_api()
    local w = api:create(def, "default", { metadata = { name = "w" }, spec = { limits = {} } })
    assert.equal(3, w.spec.size)
    assert.equal("fast", w.spec.mode)
    assert.same({ cpu = "1" }, w.spec.limits)
    assert.same(w, api.store:get(def, "default", "w"))
  end)

  it("applies them on update (PUT), merge patch and server-side apply", function()
    local api, def = setup_api()
    local w = api:create(def, "default", { metadata = { name = "w" }, spec = { size = 1 } })
    -- a PUT without the defaulted fields gets them back
    local code, body = request(api, "PUT", "/apis/example.com/v1/namespaces/default/widgets/w",
      { apiVersion = "example.com/v1", kind = "Widget", metadata = { name = "w", resourceVersion = w.metadata.resourceVersion },
        spec = { size = 2, ports = { { port = 80 } } } })
    assert.equal(200, code, body.message)
    assert.equal("fast", body.spec.mode)
    assert.equal("TCP", body.spec.ports[1].protocol)
    -- a merge patch that removes a defaulted field: the default comes back
    code, body = request(api, "PATCH", "/apis/example.com/v1/namespaces/default/widgets/w",
      { spec = { mode = null, limits = {} } }, "application/merge-patch+json")
    assert.equal(200, code, body.message)
    assert.equal("fast", body.spec.mode)
    assert.same({ cpu = "1" }, body.spec.limits)
    -- server-side apply of a new object and of an existing one
    code, body = request(api, "PATCH", "/apis/example.com/v1/namespaces/default/widgets/a",
      "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\nspec: {mode: slow}\n",
      "application/apply-patch+yaml", "fieldManager=spec")
    assert.equal(201, code, body.message)
    assert.equal(3, body.spec.size)
    assert.equal("slow", body.spec.mode)
    code, body = request(api, "PATCH", "/apis/example.com/v1/namespaces/default/widgets/a",
      "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\nspec: {size: 9}\n",
      "application/apply-patch+yaml", "fieldManager=spec")
    assert.equal(200, code, body.message)
    assert.equal(9, body.spec.size)
    assert.equal("fast", body.spec.mode) -- the applier gave up mode: it is defaulted again
  end)

  it("does not bump the generation or resourceVersion of an update that only restates defaults", function()
    local api, def = setup_api()
    local w = api:create(def, "default", { metadata = { name = "w" }, spec = { size = 1 } })
    local same = api:update(def, "default", "w", { metadata = { name = "w" }, spec = { size = 1 } })
    assert.equal(w.metadata.resourceVersion, same.metadata.resourceVersion)
    assert.equal(1, same.metadata.generation)
  end)

  it("validates the defaulted object", function()
    local bad = { type = "object", properties = { size = { type = "integer", maximum = 5, default = 3 } } }
    local api, def = setup_api(bad)
    assert.equal(3, api:create(def, "default", { metadata = { name = "ok" }, spec = {} }).spec.size)
    local ok, err = pcall(api.create, api, def, "default", { metadata = { name = "no" }, spec = { size = 9 } })
    assert.is_false(ok)
    assert.equal(422, err.code)
  end)

  it("gives stored objects the defaults a changed CRD adds when they are read, without writing them", function()
    local api, def = setup_api({ type = "object", properties = { size = { type = "integer" } } })
    local w = api:create(def, "default", { metadata = { name = "w" }, spec = { size = 1 } })
    local rv = api.store.rv
    local crd_def = api.registry:get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    local crd = api.store:get(crd_def, nil, "widgets.example.com")
    local changed = widget_crd({ type = "object", properties = { size = { type = "integer" },
      mode = { type = "string", default = "fast" } } })
    changed.metadata = crd.metadata
    api:update(crd_def, nil, "widgets.example.com", changed)
    def = api.registry:get("example.com", "v1", "widgets")
    local now = api.store:get(def, "default", "w")
    assert.equal("fast", now.spec.mode)
    assert.equal(w.metadata.resourceVersion, now.metadata.resourceVersion)
    assert.is_nil(w.spec.mode) -- the object handed out before is left as it was
    -- nothing was written for the widget: the CRD's own writes are the only new versions
    for _, ev in ipairs(api.store:events_since(def, nil, rv)) do error("unexpected event " .. ev.type) end
  end)

  it("defaults custom resources read from a state file written before the default existed", function()
    local api, def = setup_api({ type = "object", properties = { size = { type = "integer" } } })
    api:create(def, "default", { metadata = { name = "w" }, spec = { size = 1 } })
    local dir = helpers.tmpdir()
    local path = dir .. "/state.json"
    assert(state.save(api, path))
    -- the CRD in the file gains a default, as if it was changed by a sandbox that did not default
    local doc = assert(json.decode(assert(fs.read(path))))
    for _, r in ipairs(doc.resources) do
      if r.resource == "customresourcedefinitions" then
        for _, crd in ipairs(r.objects) do
          if crd.metadata.name == "widgets.example.com" then
            crd.spec.versions[1].schema.openAPIV3Schema.properties.spec.properties.mode = { type = "string", default = "fast" }
          end
        end
      end
    end
    helpers.write(path, assert(json.encode(doc)))
    local again = api_mod.new({ address = "127.0.0.1:0" })
    assert(state.load(again, path))
    local w = again.store:get(again.registry:get("example.com", "v1", "widgets"), "default", "w")
    assert.equal("fast", w.spec.mode)
    assert.equal(1, w.spec.size)
    helpers.rmtree(dir)
  end)
end)

describe("the sandbox API's built-in defaults", function()
  it("are not given to a custom resource whose kind is a built-in kind's", function()
    local svc_schema = { type = "object", properties = { type = { type = "string" }, ports = { type = "array",
      items = { type = "object", properties = { port = { type = "integer" } } } } } }
    local api, def = setup_api(svc_schema, { kind = "Service", plural = "services" })
    local s = api:create(def, "default", { metadata = { name = "db" }, spec = { type = "postgres", ports = { { port = 5432 } } } })
    assert.same({ type = "postgres", ports = { { port = 5432 } } }, s.spec)
    local api2, ddef = setup_api({ type = "object", properties = { replicas = { type = "integer" } } },
      { kind = "Deployment", plural = "deployments" })
    local d = api2:create(ddef, "default", { metadata = { name = "d" }, spec = {} })
    assert.same({}, d.spec)
    assert.is_nil(d.status)
  end)

  it("still apply to the built-in kinds of their own group and version", function()
    local api = api_mod.new({ address = "127.0.0.1:0" })
    local s = api:create(api.registry:get("", "v1", "services"), "default",
      { metadata = { name = "db" }, spec = { ports = { { port = 5432 } } } })
    assert.equal("ClusterIP", s.spec.type)
    assert.equal("None", s.spec.sessionAffinity)
    assert.equal(5432, s.spec.ports[1].targetPort)
    local d = api:create(api.registry:get("apps", "v1", "deployments"), "default", { metadata = { name = "d" },
      spec = { selector = { matchLabels = { app = "d" } }, template = { metadata = { labels = { app = "d" } },
        spec = { containers = { { name = "c", image = "nginx" } } } } } })
    assert.equal(1, d.spec.replicas)
    assert.equal("RollingUpdate", d.spec.strategy.type)
    assert.equal("Always", d.spec.template.spec.containers[1].imagePullPolicy)
  end)
end)

describe("the sandbox API's Secrets", function()
  it("fold stringData into data (base64), stringData winning, as kube-apiserver does", function()
    local api = api_mod.new({ address = "127.0.0.1:6443" })
    local def = api.registry:get("", "v1", "secrets")
    local created = api:create(def, "default", { apiVersion = "v1", kind = "Secret", metadata = { name = "s" },
      data = { a = "b2xk", keep = "eA==" }, stringData = { a = "new", plain = "text" } }, { manager = "spec" })
    assert.is_nil(created.stringData)
    assert.same({ a = "bmV3", keep = "eA==", plain = "dGV4dA==" }, created.data)
  end)
end)
