-- SPDX-License-Identifier: Apache-2.0
-- `kip apply -f FILE|-` through the real kip against the real sandbox API with Kipper's CRDs:
-- several YAML documents and JSON, created/configured/unchanged, --dry-run, the namespace of
-- documents without one, errors that name the document and field (with nothing applied), other
-- kinds refused, and a Project whose namespace the App in the same file waits for. Then end to
-- end with the real kipperd and policies (pending while they do not exist).
local helpers = require "helpers"
local json = require "kip.json"
local kipcli = require "helpers.kipcli"
local tls = require "kip.tls"

local eventually = kipcli.eventually

local FILE = [[
apiVersion: kipper.run/v1alpha1
kind: App
metadata:
  name: site
spec:
  image: nginx:1.27
  port: 80
  env: {MODE: fast}
---
apiVersion: v1
kind: Secret
metadata:
  name: app-site-secrets
data:
  TOKEN: YWJj
---
apiVersion: kipper.run/v1alpha1
kind: Service
metadata:
  name: cache
spec:
  type: redis
]]

describe("kip apply (sandbox API)", function()
  local env, dir

  setup(function()
    env = kipcli.start()
    dir = helpers.tmpdir()
  end)
  teardown(function()
    if env then env:stop() end
    if dir then helpers.rmtree(dir) end
  end)

  local function file(name, text)
    helpers.write(dir .. "/" .. name, text)
    return dir .. "/" .. name
  end

  it("shows what would change with --dry-run, and changes nothing", function()
    local r = env:ok({ "apply", "-f", file("kipper.yaml", FILE), "--dry-run" })
    assert.equal("app/site created (dry run)\nsecret/app-site-secrets created (dry run)\nservice/cache created (dry run)\n", r.stdout)
    assert.is_nil(env:kipper("App", "site"))
    assert.is_nil(env:get("v1", "Secret", "app-site-secrets"))
  end)

  it("applies every document with kip as the field manager, and says what changed", function()
    local path = file("kipper.yaml", FILE)
    local r = env:ok({ "apply", "-f", path })
    assert.equal("app/site created\nsecret/app-site-secrets created\nservice/cache created\n", r.stdout)
    local app = env:kipper("App", "site")
    assert.same({ MODE = "fast" }, app.spec.env)
    local managers = {}
    for _, m in ipairs(app.metadata.managedFields) do managers[m.manager] = m.operation end
    assert.equal("Apply", managers.kip)
    assert.equal("abc", tls.base64_decode(env:get("v1", "Secret", "app-site-secrets").data.TOKEN))
    r = env:ok({ "apply", "-f", path })
    assert.equal("app/site unchanged\nsecret/app-site-secrets unchanged\nservice/cache unchanged\n", r.stdout)
    r = env:ok({ "apply", "-f", file("kipper-8081.yaml", (FILE:gsub("port: 80", "port: 8081"))) })
    assert.equal("app/site configured\nsecret/app-site-secrets unchanged\nservice/cache unchanged\n", r.stdout)
    assert.equal(8081, env:kipper("App", "site").spec.port)
    r = env:ok({ "apply", "-f", path, "--dry-run" })
    assert.matches("app/site configured (dry run)", r.stdout, 1, true)
    assert.equal(8081, env:kipper("App", "site").spec.port)
  end)

  it("reads JSON, a List, and standard input", function()
    local obj = { apiVersion = kipcli.AV, kind = "App", metadata = { name = "json-app" }, spec = { image = "acme/j:1" } }
    local r = env:ok({ "apply", "-f", file("app.json", json.encode(obj)) })
    assert.equal("app/json-app created\n", r.stdout)
    local list = { apiVersion = "v1", kind = "List", items = { obj,
      { apiVersion = kipcli.AV, kind = "App", metadata = { name = "listed" }, spec = { image = "acme/l:1" } } } }
    r = env:ok({ "apply", "-f", "-" }, { stdin = json.encode(list) })
    assert.equal("app/json-app unchanged\napp/listed created\n", r.stdout)
    r = env:ok({ "apply", "-f", "-", "-o", "json" }, { stdin = json.encode(obj) })
    assert.equal("json-app", json.decode(r.stdout)[1].metadata.name)
    assert.matches("app/json-app unchanged", r.stderr, 1, true)
  end)

  it("puts documents without a namespace in the command's namespace, and refuses a mismatch with -n", function()
    env:put({ apiVersion = "v1", kind = "Namespace", metadata = { name = "team" } })
    local doc = "apiVersion: kipper.run/v1alpha1\nkind: App\nmetadata: {name: ns-app}\nspec: {image: acme/n:1}\n"
    env:ok({ "apply", "-f", file("ns.yaml", doc), "-n", "team" })
    assert.truthy(env:kipper("App", "ns-app", "team"))
    local r = env:kip({ "apply", "-f", file("ns2.yaml", (doc:gsub("{name: ns%-app}", "{name: ns-app, namespace: default}"))),
      "-n", "team" })
    assert.equal(1, r.status)
    assert.matches("document 1 (App ns-app) is for namespace default, not team (-n)", r.stderr, 1, true)
    r = env:kip({ "apply", "-f", file("ns3.yaml", (doc:gsub("{name: ns%-app}", "{name: ns-app, namespace: nowhere}"))) })
    assert.equal(1, r.status)
    assert.matches("document 1 (App ns-app): namespace nowhere does not exist", r.stderr, 1, true)
  end)

  it("refuses other kinds and invalid documents, naming the document and field, and applies nothing", function()
    local bad = file("bad.yaml", [[
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: fine}
spec: {image: acme/fine:1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: Web_App}
spec: {image: x}
---
apiVersion: v1
kind: Secret
metadata: {name: db-password}
data: {x: eA==}
---
apiVersion: kipper.run/v1alpha1
kind: Project
metadata: {name: p, namespace: default}
---
apiVersion: kipper.run/v1alpha1
kind: Widget
metadata: {name: w}
---
apiVersion: kipper.run/v1alpha1
kind: Service
metadata: {name: s}
]])
    local r = env:kip({ "apply", "-f", bad })
    assert.equal(1, r.status)
    local lines = {
      bad .. ": document 2 (Deployment web): apiVersion/kind: apps/v1 Deployment is not a Kipper resource",
      bad .. ": document 3 (App Web_App): metadata.name: invalid app name \"Web_App\"",
      bad .. ": document 4 (Secret db-password): metadata.name: \"db-password\" is not an app's Secret",
      bad .. ": document 5 (Project p): metadata.namespace: a Project is cluster-wide and has no namespace",
      bad .. ": document 6 (Widget w): kind: \"Widget\" is not a Kipper kind",
      bad .. ": document 7 (Service s): spec: missing",
    }
    for _, l in ipairs(lines) do assert.matches(l, r.stderr, 1, true) end
    assert.matches("Nothing was applied.", r.stderr, 1, true)
    assert.is_nil(env:kipper("App", "fine"))
    -- what only the server knows (a value out of range, an unknown field) also stops everything
    r = env:kip({ "apply", "-f", file("bad2.yaml", [[
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: fine}
spec: {image: acme/fine:1}
---
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: big}
spec: {image: acme/big:1, port: 70000}
]]) })
    assert.equal(1, r.status)
    assert.matches("bad2.yaml: document 2 (App big): ", r.stderr, 1, true)
    assert.matches("spec.port", r.stderr, 1, true)
    assert.matches("Nothing was applied.", r.stderr, 1, true)
    assert.is_nil(env:kipper("App", "fine"))
    r = env:kip({ "apply", "-f", "-" }, { stdin = "apiVersion: kipper.run/v1alpha1\nkind: App\nmetadata: {name: c}\nspec: {image: x, colour: red}\n" })
    assert.equal(1, r.status)
    assert.matches("-: document 1 (App c): ", r.stderr, 1, true)
    assert.matches("colour", r.stderr, 1, true)
    r = env:kip({ "apply", "-f", file("broken.yaml", "kind: [\n") })
    assert.equal(1, r.status)
    assert.matches("broken.yaml: line ", r.stderr, 1, true)
    r = env:kip({ "apply" })
    assert.equal(2, r.status)
    assert.matches("-f FILE is required", r.stderr, 1, true)
    r = env:kip({ "apply", "-f", dir .. "/missing.yaml" })
    assert.equal(1, r.status)
    assert.matches("cannot read " .. dir .. "/missing.yaml", r.stderr, 1, true)
  end)

  it("applies a Project first and waits for its namespace before the apps in it", function()
    local path = file("project.yaml", [[
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: api, namespace: blog-live}
spec: {image: acme/api:1}
---
apiVersion: kipper.run/v1alpha1
kind: Project
metadata: {name: blog}
spec:
  environments: [{name: live}]
]])
    local h = env:kip_bg({ "apply", "-f", path, "--timeout", "30" })
    assert(eventually(function() return h.output():find("Waiting for kipperd to create namespace blog-live", 1, true) end, 10),
      h.output())
    assert.truthy(env:kipper("Project", "blog"))
    env:put({ apiVersion = "v1", kind = "Namespace", metadata = { name = "blog-live" } })   -- as kipperd would
    local r = h:wait(30)
    assert.equal(0, r.status, r.stdout .. r.stderr)
    assert.equal("project/blog created\napp/api created\n", r.stdout)
    assert.truthy(env:kipper("App", "api", "blog-live"))
  end)

  it("has help with examples", function()
    local r = env:ok({ "apply", "--help" })
    assert.matches("Usage: kip apply [flags]", r.stdout, 1, true)
    assert.matches("\nExamples:\n  kip apply -f kipper.yaml", r.stdout, 1, true)
  end)
end)

describe("kip apply end to end with kipperd", function()
  assert(kipcli.kipperd_available()) -- kipperd is built with kip; the real policies ship with it
  local env, dir
  setup(function()
    env = kipcli.start({ kipperd = true })
    dir = helpers.tmpdir()
  end)
  teardown(function()
    if env then env:stop() end
    if dir then helpers.rmtree(dir) end
  end)

  it("applies a project and an app in its namespace; kipperd makes both ready", function()
    helpers.write(dir .. "/all.yaml", [[
apiVersion: kipper.run/v1alpha1
kind: Project
metadata: {name: shop}
spec:
  environments: [{name: live}]
---
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: web, namespace: shop-live}
spec: {image: nginx:1.27, port: 80}
]])
    local r = env:kip({ "apply", "-f", dir .. "/all.yaml" }, { timeout = 90 })
    assert.equal(0, r.status, r.stdout .. r.stderr)
    assert.equal("project/shop created\napp/web created\n", r.stdout)
    assert(eventually(function()
      local a = env:kipper("App", "web", "shop-live")
      return a and a.status and a.status.phase == "Ready"
    end, 30), env.kd:output())
    r = env:ok({ "app", "list", "-n", "shop-live" })
    assert.matches("web%s+nginx:1%.27%s+1/1%s+Ready%s+https://web%-shop%-live%-203%-0%-113%-10%.kipper%.run", r.stdout)
  end)
end)
