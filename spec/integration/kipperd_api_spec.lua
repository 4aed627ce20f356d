-- SPDX-License-Identifier: Apache-2.0
-- kipperd's console API over real HTTP, beyond auth: meta (OpenAPI document, version), cluster
-- health and dashboard, the service catalog and services (with the credentials reserved to project
-- owners and admins), routes with their TLS state, and users (admin only, sessions ended on a
-- reset, a role change or removal, the last admin kept). Against the sandbox API and the real
-- kipperd running the service policy so Services get their credentials, with users made with
-- kipperd.auth.users (real scrypt, so few logins) and a kip.http client (helpers.console_api).
-- Every endpoint is called with the roles that may and may not. Uses helpers.console_api,
-- helpers.sandbox, kip.json, kip.tls and kipperd.auth.users.
local console_api = require "helpers.console_api"
local json = require "kip.json"
local sandbox = require "helpers.sandbox"
local tls = require "kip.tls"
local users = require "kipperd.auth.users"

describe("kipperd console API", function()
  local env, c, kd
  local tokens = {}

  local ADMIN, ADMIN_PW = "admin@example.com", "admin passphrase long enough"
  local DEP, DEP_PW = "dep@example.com", "deployer passphrase long enough"
  local VIEW, VIEW_PW = "view@example.com", "viewer passphrase long enough"
  local OWNER, OWNER_PW = "owner@example.com", "owner passphrase long enough"
  local AV = "kipper.run/v1alpha1"

  local function call(method, path, body, token, headers) return env:request(method, path, body, token, headers) end
  local function login(email, password) return env:login(email, password) end

  -- asserts a status, showing the body and kipperd's log when it differs
  local function expect(status, r, what)
    assert(r.status == status, string.format("%s: expected %d, got %d: %s", what or "", status, r.status, r.body or ""))
  end

  setup(function()
    -- the service policy only, so Services get their credentials
    env = console_api.start({ policies = "service", users = {
      { email = ADMIN, role = "admin", password = ADMIN_PW }, { email = DEP, role = "deployer", password = DEP_PW },
      { email = VIEW, role = "viewer", password = VIEW_PW },
      { email = OWNER, role = "viewer", password = OWNER_PW }, -- a viewer globally, owner of project shop
    } })
    c, kd = env.c, env.kd
    for _, ns in ipairs({ "shop", "other", "cert-manager" }) do
      assert(c:apply({ apiVersion = "v1", kind = "Namespace", metadata = { name = ns } }, { field_manager = "spec", force = true }))
    end
    assert(c:apply({ apiVersion = AV, kind = "Project", metadata = { name = "shop" },
      spec = { environments = { { name = "default" } }, members = { { email = OWNER, role = "owner" } } } },
      { field_manager = "spec", force = true }))
    tokens.admin = login(ADMIN)
    tokens.dep = login(DEP)
    tokens.view = login(VIEW)
    tokens.owner = login(OWNER)
  end)

  teardown(function()
    if env then env:stop() end
  end)

  describe("meta", function()
    it("serves the version and the OpenAPI document without a token", function()
      local r, v = call("GET", "/api/v1/version")
      expect(200, r)
      assert.is_string(v.version)
      local r2, doc = call("GET", "/api/v1/openapi.json")
      expect(200, r2)
      assert.equal("3.1.0", doc.openapi)
      assert.equal(v.version, doc.info.version)
      assert.is_table(doc.paths["/api/v1/users/{email}/role"].put)
      assert.is_table(doc.paths["/api/v1/projects/{project}/services/{service}/credentials"].get)
    end)

    it("serves every route of the document, and refuses the non-public ones without a token", function()
      local _, doc = call("GET", "/api/v1/openapi.json")
      local n = 0
      for path, item in pairs(doc.paths) do
        local concrete = path:gsub("{email}", "nobody@example.com"):gsub("{[%w_]+}", "x")
        for method, op in pairs(item) do
          if #op.security > 0 then
            n = n + 1
            local body
            if method ~= "get" then body = "{}" end
            local r = call(method:upper(), concrete, body)
            -- a WebSocket route may first refuse a plain request (400: no upgrade)
            local ws = tostring(op.description):lower():find("websocket", 1, true) and r.status == 400
            assert(r.status == 401 or ws, method:upper() .. " " .. path .. " answered " .. r.status .. " without a token")
          end
        end
      end
      assert.is_true(n >= 20)
    end)
  end)

  describe("cluster", function()
    it("reports nodes, components and versions to any user", function()
      assert(c:apply({ apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "coredns", namespace = "kube-system" },
        spec = { replicas = 1, selector = { matchLabels = { app = "coredns" } }, template = { metadata = { labels = { app = "coredns" } },
          spec = { containers = { { name = "coredns", image = "coredns/coredns:1.12" } } } } } }, { field_manager = "spec", force = true }))
      assert(c:apply({ apiVersion = "apps/v1", kind = "DaemonSet", metadata = { name = "svclb", namespace = "kube-system" },
        spec = { selector = { matchLabels = { app = "svclb" } }, template = { metadata = { labels = { app = "svclb" } },
          spec = { containers = { { name = "lb", image = "rancher/klipper-lb:v0.4" } } } } } }, { field_manager = "spec", force = true }))
      local report
      assert(sandbox.eventually(function()
        local r, doc = call("GET", "/api/v1/cluster", nil, tokens.view)
        expect(200, r)
        report = doc
        local ok = 0
        for _, comp in ipairs(doc.components) do
          if (comp.name == "coredns" or comp.name == "svclb") and comp.ready then ok = ok + 1 end
        end
        return ok == 2
      end, 60), "coredns and svclb never became ready: " .. json.encode(report))
      assert.equal("203-0-113-10", report.cluster_id)
      assert.equal("kipper.run", report.zone)
      assert.matches("^v%d", report.kubernetes_version)
      assert.is_string(report.kipperd_version)
      assert.equal(1, #report.nodes)
      local node = report.nodes[1]
      assert.equal("sandbox-node", node.name)
      assert.is_true(node.ready)
      assert.is_string(node.kubelet_version)
      assert.is_string(node.cpu)
      assert.is_string(node.memory)
      local by = {}
      for _, comp in ipairs(report.components) do by[comp.namespace .. "/" .. comp.name] = comp end
      assert.equal("DaemonSet", by["kube-system/svclb"].kind)
      assert.equal(1, by["kube-system/coredns"].ready_replicas)
      -- kipperd runs outside the sandbox here: no Deployment, yet it is the process answering
      assert.is_nil(by["kipper-system/kipperd"])
      local self = by["/kipperd"]
      assert.equal("Process", self.kind)
      assert.is_true(self.installed)
      assert.is_true(self.ready)
      assert.equal("running outside the cluster (this kipperd, version " .. report.kipperd_version .. ")", self.message)
      assert.equal("not installed", by["kube-system/traefik"].message)
      assert.is_false(by["kube-system/traefik"].installed)
      assert.is_true(report.healthy) -- missing optional components do not count
    end)

    it("turns unhealthy while an installed component is not ready", function()
      -- its pod fits no node, so it stays Pending
      assert(c:apply({ apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "stuck", namespace = "cert-manager" },
        spec = { replicas = 1, selector = { matchLabels = { app = "stuck" } }, template = { metadata = { labels = { app = "stuck" } },
          spec = { nodeSelector = { ["kipper.test/none"] = "x" }, containers = { { name = "x", image = "x:1" } } } } } },
        { field_manager = "spec", force = true }))
      local r, doc = call("GET", "/api/v1/cluster", nil, tokens.admin)
      expect(200, r)
      local comp
      for _, x in ipairs(doc.components) do if x.name == "stuck" then comp = x end end
      assert.equal("cert-manager", comp.namespace)
      assert.is_false(comp.ready)
      assert.is_false(doc.healthy)
      local _, dash = call("GET", "/api/v1/dashboard", nil, tokens.view)
      assert.is_false(dash.healthy)
      assert(c:delete("apps/v1", "Deployment", "stuck", "cert-manager"))
      assert(sandbox.eventually(function()
        local _, d = call("GET", "/api/v1/cluster", nil, tokens.admin)
        return d.healthy
      end, 60), "still unhealthy")
    end)

    it("counts the apps of the projects a user sees by status on the dashboard", function()
      local phases = { a1 = "Ready", a2 = "Failed", a3 = "Progressing" }
      for name, phase in pairs(phases) do
        local app = assert(c:apply({ apiVersion = AV, kind = "App", metadata = { name = name, namespace = "shop" },
          spec = { image = "nginx:1.27" } }, { field_manager = "spec", force = true }))
        app.status = { phase = phase }
        assert(c:update_status(app, { field_manager = "spec" }))
      end
      -- an App outside every project is not counted
      assert(c:apply({ apiVersion = AV, kind = "App", metadata = { name = "stray", namespace = "other" },
        spec = { image = "nginx:1.27" } }, { field_manager = "spec", force = true }))
      local r, dash = call("GET", "/api/v1/dashboard", nil, tokens.view)
      expect(200, r)
      assert.same({ total = 3, ready = 1, failed = 1, progressing = 1 }, dash.apps)
      assert.equal(1, dash.projects)
      assert.same({ total = 1, ready = 1 }, dash.nodes)
      for name in pairs(phases) do assert(c:delete(AV, "App", name, "shop")) end
      assert(c:delete(AV, "App", "stray", "other"))
    end)

    it("refuses the cluster and dashboard without a valid token", function()
      expect(401, (call("GET", "/api/v1/cluster")))
      expect(401, (call("GET", "/api/v1/dashboard", nil, "not.a.token")))
    end)
  end)

  describe("services", function()
    local SVC = "/api/v1/projects/shop/services"

    it("lists the catalog to any user", function()
      local r, doc = call("GET", "/api/v1/catalog", nil, tokens.view)
      expect(200, r)
      local types = {}
      for _, it in ipairs(doc.items) do types[it.type] = it end
      assert.equal("17", types.postgres.default_version)
      assert.equal(5432, types.postgres.port)
      assert.is_table(types.redis)
      assert.equal(15672, types.rabbitmq.ports[1].port)
      expect(401, (call("GET", "/api/v1/catalog")))
    end)

    it("refuses a create to viewers and bad bodies, naming the field", function()
      local r, doc = call("POST", SVC, { name = "db", type = "postgres" }, tokens.view)
      expect(403, r, "viewer create")
      assert.matches("create services in project shop", doc.error, 1, true)
      assert.matches("deployer", doc.hint, 1, true)
      for _, case in ipairs({
        { { name = "db", type = "oracle" }, "unknown service type" },
        { { name = "DB", type = "postgres" }, "invalid service name" },
        { { type = "postgres" }, "name is required" },
        { { name = "db" }, "type is required" },
        { { name = "db", type = "postgres", version = "16 beta" }, "version takes an image tag" },
        { { name = "db", type = "postgres", storage = "lots" }, "storage takes a quantity" },
        { { name = "db", type = "postgres", color = "red" }, "unknown field \"color\"" },
      }) do
        local r2, d2 = call("POST", SVC, case[1], tokens.dep)
        expect(400, r2, case[2])
        assert.matches(case[2], d2.error, 1, true)
      end
      expect(400, (call("POST", SVC, "[1]", tokens.dep)))
      expect(415, (call("POST", SVC, "{}", tokens.dep, { ["Content-Type"] = "text/plain" })))
      expect(404, (call("POST", "/api/v1/projects/nope/services", { name = "db", type = "postgres" }, tokens.dep)))
      local r3, d3 = call("GET", SVC .. "?environment=staging", nil, tokens.view)
      expect(400, r3)
      assert.matches("no environment staging", d3.error, 1, true)
      assert.is_nil(c:get(AV, "Service", "db", "shop"))
    end)

    it("creates a service for a deployer, shows it to viewers, and gives credentials only to owners and admins", function()
      local r, doc = call("POST", SVC, { name = "db", type = "postgres", version = "16", storage = "2Gi" }, tokens.dep)
      expect(201, r, "deployer create")
      assert.equal("db", doc.name)
      assert.equal("shop", doc.namespace)
      assert.equal("default", doc.environment)
      assert.equal("16", doc.version)
      assert.equal("db-credentials", doc.secret)
      local svc = assert(c:get(AV, "Service", "db", "shop"))
      assert.equal("postgres", svc.spec.type)
      assert.equal("2Gi", svc.spec.storage)
      expect(409, (call("POST", SVC, { name = "db", type = "redis" }, tokens.dep)))

      local list
      assert(sandbox.eventually(function()
        local lr, l = call("GET", SVC, nil, tokens.view)
        expect(200, lr)
        list = l
        return #l.items == 1 and l.items[1].host ~= nil
      end, 60), "the service got no status: " .. json.encode(list) .. kd:output())
      assert.equal("db.shop.svc.cluster.local", list.items[1].host)
      assert.equal(5432, list.items[1].port)
      local gr, one = call("GET", SVC .. "/db", nil, tokens.view)
      expect(200, gr)
      assert.equal("postgres", one.type)
      assert.is_nil(one.password)
      assert.is_nil(gr.body:find("password", 1, true))
      local nr, nope = call("GET", SVC .. "/nope", nil, tokens.view)
      expect(404, nr)
      assert.equal("there is no service nope in project shop (namespace shop)", nope.error)
      assert.equal("GET /api/v1/projects/shop/services lists them.", nope.hint)

      local cr, cd = call("GET", SVC .. "/db/credentials", nil, tokens.view)
      expect(403, cr, "viewer credentials")
      assert.matches("owner", cd.hint, 1, true)
      expect(403, (call("GET", SVC .. "/db/credentials", nil, tokens.dep)), "deployer credentials")
      local creds
      assert(sandbox.eventually(function()
        local r2, d2 = call("GET", SVC .. "/db/credentials", nil, tokens.owner)
        if r2.status == 200 then creds = d2 end
        return creds
      end, 60), "no credentials for the owner")
      local secret = assert(c:get("v1", "Secret", "db-credentials", "shop"))
      assert.equal(tls.base64_decode(secret.data.password), creds.password)
      assert.equal("app", creds.username)
      assert.equal("app", creds.database)
      assert.equal(5432, creds.port)
      assert.matches(creds.password, creds.uri, 1, true)
      local ar, ad = call("GET", SVC .. "/db/credentials", nil, tokens.admin)
      expect(200, ar, "admin credentials")
      assert.equal(creds.password, ad.password)
      expect(404, (call("GET", SVC .. "/nope/credentials", nil, tokens.admin)))

      local _, dash = call("GET", "/api/v1/dashboard", nil, tokens.view)
      assert.equal(1, dash.projects)
      assert.equal(1, dash.services.total)
      assert.equal(1, dash.nodes.total)
      assert.equal(0, dash.apps.total)
    end)

    it("deletes a service for a deployer only", function()
      expect(403, (call("DELETE", SVC .. "/db", nil, tokens.view)), "viewer delete")
      assert.is_table(c:get(AV, "Service", "db", "shop"))
      expect(204, (call("DELETE", SVC .. "/db", nil, tokens.dep)), "deployer delete")
      assert(sandbox.eventually(function() return c:get(AV, "Service", "db", "shop") == nil end, 60), "the Service is still there")
      expect(404, (call("DELETE", SVC .. "/db", nil, tokens.dep)))
      assert.is_table(c:get("v1", "Secret", "db-credentials", "shop")) -- kept without delete_data
    end)
  end)

  describe("routes", function()
    it("lists the hosts of the projects a user sees, with their TLS state; admins see every namespace", function()
      local function ingress(ns, name, rules, tls_list, app)
        assert(c:apply({ apiVersion = "networking.k8s.io/v1", kind = "Ingress",
          metadata = { name = name, namespace = ns, annotations = { ["cert-manager.io/cluster-issuer"] = "letsencrypt" },
            labels = app and { ["app.kubernetes.io/instance"] = app, ["app.kubernetes.io/component"] = "app" } or nil },
          spec = { rules = rules, tls = tls_list } }, { field_manager = "spec", force = true }))
      end
      local function rule(host, svc) return { host = host, http = { paths = { { path = "/", pathType = "Prefix",
        backend = { service = { name = svc, port = { name = "http" } } } } } } } end
      ingress("shop", "web", { rule("web.example.com", "web"), rule("plain.example.com", "web") },
        { { hosts = { "web.example.com" }, secretName = "web-tls" } }, "web")
      ingress("shop", "api", { rule("api.example.com", "api") }, { { hosts = { "api.example.com" }, secretName = "api-tls" } }, "api")
      ingress("other", "hidden", { rule("hidden.example.com", "hidden") }, nil)
      assert(c:apply({ apiVersion = "v1", kind = "Secret", type = "kubernetes.io/tls", metadata = { name = "web-tls", namespace = "shop" },
        data = { ["tls.crt"] = tls.base64_encode("x"), ["tls.key"] = tls.base64_encode("y") } }, { field_manager = "spec", force = true }))

      local r, doc = call("GET", "/api/v1/routes", nil, tokens.view)
      expect(200, r)
      local by = {}
      for _, it in ipairs(doc.items) do by[it.host] = it end
      assert.is_nil(by["hidden.example.com"])
      local web = by["web.example.com"]
      assert.equal("https://web.example.com", web.url)
      assert.equal("shop", web.project)
      assert.equal("default", web.environment)
      assert.equal("web", web.app)
      assert.equal("web", web.service)
      assert.is_true(web.tls.enabled)
      assert.is_true(web.tls.ready)
      assert.equal("web-tls", web.tls.secret)
      assert.equal("letsencrypt", web.tls.issuer)
      local api = by["api.example.com"]
      assert.is_true(api.tls.enabled)
      assert.is_false(api.tls.ready)
      assert.matches("Secret api-tls does not exist yet", api.tls.message, 1, true)
      local plain = by["plain.example.com"]
      assert.equal("http://plain.example.com", plain.url)
      assert.is_false(plain.tls.enabled)

      local ar, all = call("GET", "/api/v1/routes", nil, tokens.admin)
      expect(200, ar)
      local hidden
      for _, it in ipairs(all.items) do if it.host == "hidden.example.com" then hidden = it end end
      assert.equal("other", hidden.namespace)
      assert.is_nil(hidden.project)
      local _, dash = call("GET", "/api/v1/dashboard", nil, tokens.view)
      assert.equal(3, dash.routes)
      expect(401, (call("GET", "/api/v1/routes")))
    end)

    it("names the default environment of a project that declares none", function()
      assert(c:apply({ apiVersion = "v1", kind = "Namespace", metadata = { name = "blog" } }, { field_manager = "spec", force = true }))
      assert(c:apply({ apiVersion = AV, kind = "Project", metadata = { name = "blog" }, spec = {} }, { field_manager = "spec", force = true }))
      assert(c:apply({ apiVersion = "networking.k8s.io/v1", kind = "Ingress", metadata = { name = "site", namespace = "blog" },
        spec = { rules = { { host = "blog.example.com", http = { paths = { { path = "/", pathType = "Prefix",
          backend = { service = { name = "site", port = { number = 80 } } } } } } } } } }, { field_manager = "spec", force = true }))
      local r, doc = call("GET", "/api/v1/routes", nil, tokens.admin)
      expect(200, r)
      local blog
      for _, it in ipairs(doc.items) do if it.host == "blog.example.com" then blog = it end end
      assert.equal("blog", blog.project)
      assert.equal("default", blog.environment)
      assert.equal("blog", blog.namespace)
      assert.equal(80, blog.port)
      assert(c:delete("networking.k8s.io/v1", "Ingress", "site", "blog"))
      assert(c:delete(AV, "Project", "blog"))
    end)

    it("takes a cert-manager Certificate's Ready condition over the Secret's presence", function()
      assert(c:apply({ apiVersion = "apiextensions.k8s.io/v1", kind = "CustomResourceDefinition",
        metadata = { name = "certificates.cert-manager.io" },
        spec = { group = "cert-manager.io", scope = "Namespaced",
          names = { kind = "Certificate", plural = "certificates", singular = "certificate", listKind = "CertificateList" },
          versions = { { name = "v1", served = true, storage = true, subresources = { status = {} },
            schema = { openAPIV3Schema = { type = "object", ["x-kubernetes-preserve-unknown-fields"] = true } } } } } },
        { field_manager = "spec", force = true }))
      c:forget_discovery()
      local cert
      assert(sandbox.eventually(function()
        cert = c:apply({ apiVersion = "cert-manager.io/v1", kind = "Certificate", metadata = { name = "web-tls", namespace = "shop" },
          spec = { secretName = "web-tls", dnsNames = { "web.example.com" } } }, { field_manager = "spec", force = true })
        return cert
      end, 60), "cannot create a Certificate")
      cert.status = { conditions = { { type = "Ready", status = "False", reason = "Issuing",
        message = "Issuing certificate as Secret was previously issued" } } }
      assert(c:update_status(cert, { field_manager = "spec" }))
      local _, doc = call("GET", "/api/v1/routes", nil, tokens.owner)
      local web
      for _, it in ipairs(doc.items) do if it.host == "web.example.com" then web = it end end
      assert.is_false(web.tls.ready)
      assert.matches("Issuing certificate", web.tls.message, 1, true)
    end)
  end)

  describe("users", function()
    local NEW = "new@example.com"

    it("is for admins only", function()
      for _, who in ipairs({ "dep", "view", "owner" }) do
        local r, doc = call("GET", "/api/v1/users", nil, tokens[who])
        expect(403, r, who .. " list")
        assert.matches("admin", doc.error, 1, true)
        expect(403, (call("POST", "/api/v1/users", { email = NEW, role = "viewer" }, tokens[who])), who .. " create")
        expect(403, (call("PUT", "/api/v1/users/" .. DEP .. "/role", { role = "admin" }, tokens[who])), who .. " role")
        expect(403, (call("POST", "/api/v1/users/" .. VIEW .. "/reset-password", nil, tokens[who])), who .. " reset")
        expect(403, (call("DELETE", "/api/v1/users/" .. VIEW, nil, tokens[who])), who .. " delete")
      end
      expect(401, (call("GET", "/api/v1/users")))
      assert.equal("deployer", assert(users.get(c, DEP)).role)
      local r, doc = call("GET", "/api/v1/users", nil, tokens.admin)
      expect(200, r)
      assert.equal(4, #doc.items)
      assert.equal(ADMIN, doc.items[1].email)
      assert.is_nil(r.body:find("scrypt", 1, true))
      assert.is_nil(doc.items[1].password)
    end)

    it("refuses bad bodies naming the field", function()
      for _, case in ipairs({
        { { email = "not-an-email", role = "viewer" }, "email:" },
        { { email = NEW, role = "root" }, "role:" },
        { { email = NEW, role = "viewer", password = "short" }, "password:" },
        { { email = NEW, role = "viewer", password = 12 }, "password:" },
        { { email = NEW, role = "viewer", admin = true }, "unknown field \"admin\"" },
      }) do
        local r, doc = call("POST", "/api/v1/users", case[1], tokens.admin)
        expect(400, r, case[2])
        assert.matches(case[2], doc.error, 1, true)
      end
      local r, doc = call("PUT", "/api/v1/users/" .. DEP .. "/role", { role = "god" }, tokens.admin)
      expect(400, r)
      assert.matches("role:", doc.error, 1, true)
      expect(404, (call("PUT", "/api/v1/users/ghost@example.com/role", { role = "viewer" }, tokens.admin)))
      expect(404, (call("POST", "/api/v1/users/ghost@example.com/reset-password", nil, tokens.admin)))
      expect(404, (call("DELETE", "/api/v1/users/ghost@example.com", nil, tokens.admin)))
      expect(409, (call("POST", "/api/v1/users", { email = DEP, role = "viewer" }, tokens.admin)))
    end)

    it("keeps the last admin", function()
      local r, doc = call("PUT", "/api/v1/users/" .. ADMIN .. "/role", { role = "viewer" }, tokens.admin)
      expect(409, r)
      assert.matches("last admin", doc.error, 1, true)
      expect(409, (call("DELETE", "/api/v1/users/" .. ADMIN, nil, tokens.admin)))
      assert.equal("admin", assert(users.get(c, ADMIN)).role)
    end)

    it("creates a user with a generated password that logs in; a role change, reset and removal end their sessions", function()
      local r, doc = call("POST", "/api/v1/users", { email = NEW, role = "viewer" }, tokens.admin)
      expect(201, r)
      assert.equal(NEW, doc.user.email)
      assert.equal("viewer", doc.user.role)
      assert.equal(users.GENERATED_LENGTH, #doc.password)
      local token = login(NEW, doc.password)
      expect(200, (call("GET", "/api/v1/auth/me", nil, token)))
      expect(403, (call("GET", "/api/v1/users", nil, token)))

      local rr, role = call("PUT", "/api/v1/users/" .. NEW .. "/role", { role = "admin" }, tokens.admin)
      expect(200, rr)
      assert.equal("admin", role.role)
      expect(401, (call("GET", "/api/v1/auth/me", nil, token)), "token after a role change")

      local pr, pw = call("POST", "/api/v1/users/" .. NEW .. "/reset-password", nil, tokens.admin)
      expect(200, pr)
      assert.are_not.equal(doc.password, pw.password)
      local lr = call("POST", "/api/v1/auth/login", { email = NEW, password = doc.password })
      expect(401, lr, "the old password")
      token = login(NEW, pw.password)
      local mr, me = call("GET", "/api/v1/users", nil, token)
      expect(200, mr, "the new admin lists the users")
      assert.equal(5, #me.items)

      expect(204, (call("DELETE", "/api/v1/users/" .. NEW, nil, tokens.admin)))
      expect(401, (call("GET", "/api/v1/auth/me", nil, token)), "token after removal")
      assert.is_nil(users.get(c, NEW))
      expect(404, (call("DELETE", "/api/v1/users/" .. NEW, nil, tokens.admin)))
    end)
  end)
end)
