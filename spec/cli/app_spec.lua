-- SPDX-License-Identifier: Apache-2.0
-- `kip app ...` through the real kip against the real sandbox API with Kipper's CRDs. First
-- without kipperd: checks before anything is sent, the App and Secret kip writes (server-side
-- apply, only the flags given change), the hidden secret prompt on a terminal, waiting with the
-- status written by the spec as kipperd would (Ready with its URL, Failed and time-outs with the
-- condition and events), list/status/logs (of a Deployment the spec makes), env, secret, scale,
-- restart, history and rollback (from ControllerRevisions the spec makes), delete, help. Then end
-- to end with the real kipperd and policies (pending while they do not exist).
local json = require "kip.json"
local kipcli = require "helpers.kipcli"
local tls = require "kip.tls"
local yaml = require "kip.yaml"

local AV = kipcli.AV
local eventually = kipcli.eventually

local function ready_status(extra)
  local st = { phase = "Ready", replicas = 1, readyReplicas = 1,
    conditions = { { type = "Ready", status = "True", reason = "Available", message = "1 instance ready" } } }
  for k, v in pairs(extra or {}) do st[k] = v end
  return st
end

describe("kip app (sandbox API, status written by the spec)", function()
  local env

  setup(function() env = kipcli.start() end)
  teardown(function() if env then env:stop() end end)

  local function apps()
    local list = assert(env.c:list(AV, "App", { namespace = "default" }))
    return list.items
  end

  it("refuses bad names and values before sending anything", function()
    local cases = {
      { { "app", "deploy", "--name", "Bad_Name", "--image", "nginx" }, "invalid app name \"Bad_Name\"" },
      { { "app", "deploy", "--name", "web", "--image", "nginx", "--port", "0" }, "--port takes a whole number from 1 to 65535" },
      { { "app", "deploy", "--name", "web", "--image", "nginx", "--replicas", "-1" }, "--replicas takes a whole number" },
      { { "app", "deploy", "--name", "web", "--image", "nginx", "--env", "NOVALUE" }, "--env takes KEY=VALUE, not \"NOVALUE\"" },
      { { "app", "deploy", "--name", "web", "--image", "nginx", "--env", "1X=2" }, "invalid variable name \"1X\"" },
      { { "app", "deploy", "--name", "web", "--image", "nginx", "--memory", "12XB" }, "--memory takes a quantity" },
      { { "app", "deploy", "--name", "web", "--image", "nginx", "--profile", "huge" }, "--profile must be one of" },
      { { "app", "deploy", "--name", "web", "--image", "nginx", "--domain", "Not A Host" }, "--domain takes a host name" },
      { { "app", "deploy", "--name", "web", "--image", "nginx", "-n", "x", "--project", "p" }, "--namespace cannot be combined" },
      { { "app", "deploy", "--name", "web", "--image", "nginx", "--timeout", "soon" }, "--timeout takes seconds" },
      { { "app", "deploy", "--image", "nginx" }, "--name is required" },
      { { "app", "deploy", "--name", "web", "--port", "80" }, "--image is required to create app web" },
      { { "app", "scale", "web" }, "--replicas is required" },
      { { "app", "status", "web", "--bogus" }, "unknown flag --bogus for 'kip app status'" },
      { { "app", "env", "frob", "web" }, "unknown action \"frob\"" },
      { { "app", "logs", "web", "--since", "yesterday" }, "--since takes a duration" },
    }
    for _, case in ipairs(cases) do
      local r = env:kip(case[1])
      assert.equal(2, r.status, table.concat(case[1], " ") .. ": " .. r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
      assert.matches("^kip: error: ", r.stderr)
    end
    assert.same({}, apps())
  end)

  it("deploys without waiting: the App, its Secret (never echoed) and kip as the field manager", function()
    local r = env:ok({ "app", "deploy", "--name", "web", "--image", "nginx:1.27", "--port", "80", "--env", "LOG=info",
      "--env", "MODE=fast", "--secret", "TOKEN=s3cr3t-value", "--memory", "256Mi", "--profile", "standard",
      "--domain", "web.example.com", "--no-wait" })
    assert.matches("App web created in namespace default.", r.stdout, 1, true)
    assert.is_nil(r.stdout:find("s3cr3t", 1, true))
    assert.is_nil(r.stderr:find("s3cr3t", 1, true))
    local app = assert(env:kipper("App", "web"))
    assert.equal("nginx:1.27", app.spec.image)
    assert.equal(80, app.spec.port)
    assert.same({ LOG = "info", MODE = "fast" }, app.spec.env)
    assert.same({ "TOKEN" }, app.spec.secrets)
    assert.same({ memory = "256Mi", profile = "standard" }, app.spec.resources)
    assert.equal("web.example.com", app.spec.route.host)
    local managers = {}
    for _, m in ipairs(app.metadata.managedFields or {}) do managers[m.manager] = m.operation end
    assert.equal("Apply", managers.kip)
    local secret = assert(env:get("v1", "Secret", "app-web-secrets"))
    assert.equal("s3cr3t-value", tls.base64_decode(secret.data.TOKEN))
    assert.equal("App", secret.metadata.ownerReferences[1].kind)
    assert.equal(app.metadata.uid, secret.metadata.ownerReferences[1].uid)
  end)

  it("changes only the flags given on deploy and update", function()
    env:ok({ "app", "update", "web", "--replicas", "2", "--no-wait" })
    local app = env:kipper("App", "web")
    assert.equal(2, app.spec.replicas)
    assert.equal("nginx:1.27", app.spec.image)
    assert.same({ LOG = "info", MODE = "fast" }, app.spec.env)
    assert.equal("web.example.com", app.spec.route.host)
    local r = env:ok({ "app", "deploy", "--name", "web", "--env", "LOG=debug", "--cpu", "250m", "--no-wait" })
    assert.matches("App web configured", r.stdout, 1, true)
    app = env:kipper("App", "web")
    assert.same({ LOG = "debug", MODE = "fast" }, app.spec.env)
    assert.same({ cpu = "250m", memory = "256Mi", profile = "standard" }, app.spec.resources)
    assert.equal(2, app.spec.replicas)
    r = env:ok({ "app", "update", "web", "--replicas", "2", "--no-wait" })
    assert.matches("App web unchanged", r.stdout, 1, true)
    r = env:kip({ "app", "update", "web", "--no-wait" })
    assert.equal(2, r.status)
    assert.matches("nothing to change", r.stderr)
    r = env:kip({ "app", "update", "nope", "--image", "x", "--no-wait" })
    assert.equal(1, r.status)
    assert.matches("there is no app nope in namespace default", r.stderr, 1, true)
  end)

  it("asks for a secret's value on a terminal without showing it, and refuses without one", function()
    local r = env:kip_tty({ "app", "secret", "set", "web", "API_KEY", "--no-wait" }, { ["Value of secret API_KEY"] = "typed-s3cret" })
    assert.equal(0, r.status, r.output)
    assert.matches("Value of secret API_KEY for app web (not shown):", r.output, 1, true)
    assert.is_nil(r.output:find("typed-s3cret", 1, true))
    local secret = env:get("v1", "Secret", "app-web-secrets")
    assert.equal("typed-s3cret", tls.base64_decode(secret.data.API_KEY))
    assert.equal("s3cr3t-value", tls.base64_decode(secret.data.TOKEN))
    assert.same({ "TOKEN", "API_KEY" }, env:kipper("App", "web").spec.secrets)
    local n = #env:kipper("App", "web").metadata.managedFields
    r = env:kip({ "app", "deploy", "--name", "web", "--secret", "OTHER", "--no-wait" })
    assert.equal(2, r.status)
    assert.matches("secret OTHER has no value, and there is no terminal to ask for it", r.stderr, 1, true)
    assert.matches("OTHER=VALUE", r.stderr, 1, true)
    assert.is_nil(env:get("v1", "Secret", "app-web-secrets").data.OTHER)
    assert.equal(n, #env:kipper("App", "web").metadata.managedFields)
  end)

  it("lists secret names only, and deletes secrets", function()
    local r = env:ok({ "app", "secret", "list", "web" })
    assert.equal("NAME\nAPI_KEY\nTOKEN\n", r.stdout)
    assert.same({ "API_KEY", "TOKEN" }, json.decode(env:ok({ "app", "secret", "list", "web", "-o", "json" }).stdout))
    env:ok({ "app", "secret", "delete", "web", "API_KEY", "--no-wait" })
    assert.is_nil(env:get("v1", "Secret", "app-web-secrets").data.API_KEY)
    assert.same({ "TOKEN" }, env:kipper("App", "web").spec.secrets)
    r = env:ok({ "app", "secret", "delete", "web", "NOPE" })
    assert.matches("has no secret NOPE; nothing changed", r.stdout, 1, true)
  end)

  it("sets, lists and unsets environment variables, also those another writer set", function()
    env:ok({ "app", "env", "set", "web", "A=1", "B=two words", "--no-wait" })
    local r = env:ok({ "app", "env", "list", "web" })
    assert.matches("A      1\n", r.stdout, 1, true)
    assert.matches("B      two words\n", r.stdout, 1, true)
    -- a GitOps writer sets C too; kip unset still removes it
    env:put({ apiVersion = AV, kind = "App", metadata = { name = "web", namespace = "default" },
      spec = { image = "nginx:1.27", env = { C = "3" } } })
    env:ok({ "app", "env", "unset", "web", "A", "C", "--no-wait" })
    local e = json.decode(env:ok({ "app", "env", "list", "web", "-o", "json" }).stdout)
    assert.same({ B = "two words", LOG = "debug", MODE = "fast" }, e)
    r = env:kip({ "app", "env", "set", "web", "NOEQ" })
    assert.equal(2, r.status)
  end)

  it("waits for Ready and prints the URL from the status", function()
    local h = env:kip_bg({ "app", "update", "web", "--image", "nginx:1.28", "--timeout", "30" })
    assert(eventually(function() return h.output():find("waiting for kipperd", 1, true) end, 10), h.output())
    local app = env:kipper("App", "web")
    env:set_status("App", "web", "default", { phase = "Progressing", replicas = 2, readyReplicas = 1,
      conditions = { { type = "Ready", status = "False", reason = "Starting", message = "1 of 2 instances ready" } } })
    assert(eventually(function() return h.output():find("1 of 2 instances ready", 1, true) end, 10), h.output())
    env:set_status("App", "web", "default", ready_status({ image = "nginx:1.28", url = "https://web.example.com",
      replicas = 2, readyReplicas = 2, observedGeneration = app.metadata.generation }))
    local r = h:wait(30)
    assert.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("App web configured in namespace default.\n", r.stdout, 1, true)
    assert.matches("Deploying web: Progressing: 1/2 ready: 1 of 2 instances ready", r.stdout, 1, true)
    assert.matches("Deploying web: ready", r.stdout, 1, true)
    assert.matches("App web is ready at https://web.example.com\n$", r.stdout)
    -- -o json: progress on stderr, the App on stdout
    env:set_status("App", "web", "default", ready_status({ image = "nginx:1.28", url = "https://web.example.com" }))
    r = env:ok({ "app", "update", "web", "--replicas", "2", "-o", "json" })
    assert.equal("web", json.decode(r.stdout).metadata.name)
    assert.matches("App web unchanged", r.stderr, 1, true)
  end)

  it("reports a Failed app with its Ready condition and recent events, and exits 1", function()
    env:put({ apiVersion = "v1", kind = "Event", metadata = { name = "web.1", namespace = "default" },
      involvedObject = { apiVersion = AV, kind = "App", name = "web", namespace = "default" },
      reason = "BackOff", message = "Back-off pulling image nginx:nope", type = "Warning",
      lastTimestamp = os.date("!%Y-%m-%dT%H:%M:%SZ") })
    local h = env:kip_bg({ "app", "update", "web", "--image", "nginx:nope", "--timeout", "30" })
    assert(eventually(function() return h.output():find("waiting for kipperd", 1, true) end, 10), h.output())
    env:set_status("App", "web", "default", { phase = "Failed", replicas = 2, readyReplicas = 1,
      conditions = { { type = "Ready", status = "False", reason = "ImagePullBackOff",
        message = "pod web-1, container web is ImagePullBackOff; the image cannot be pulled" } } })
    local r = h:wait(30)
    assert.equal(1, r.status)
    assert.matches("Ready condition: False (ImagePullBackOff): pod web-1", r.stderr, 1, true)
    assert.matches("Recent events:\n", r.stderr, 1, true)
    assert.matches("Warning%s+BackOff%s+app/web%s+Back%-off pulling image nginx:nope", r.stderr)
    assert.matches("kip: error: app web in namespace default failed: pod web-1, container web is ImagePullBackOff", r.stderr, 1, true)
  end)

  it("times out when nothing acts on the change, and says kipperd may be down", function()
    local r = env:kip({ "app", "update", "web", "--image", "nginx:1.29", "--timeout", "2" })
    assert.equal(1, r.status)
    assert.matches("Deploying web: waiting for kipperd to act on the change", r.stdout, 1, true)
    assert.matches("kip: error: app web in namespace default is not ready after 2s", r.stderr, 1, true)
    assert.matches("kipperd has not acted on the change: is it running?", r.stderr, 1, true)
  end)

  describe("with the app's Deployment and pods", function()
    setup(function()
      env:set_status("App", "web", "default", ready_status({ image = "nginx:1.29", url = "https://web.example.com",
        replicas = 2, readyReplicas = 2 }))
      -- what kipperd would make: a Deployment named after the App, selecting its pods
      env:put({ apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "web", namespace = "default" },
        spec = { replicas = 2,
          selector = { matchLabels = { ["app.kubernetes.io/name"] = "web", ["app.kubernetes.io/instance"] = "web" } },
          template = { metadata = { labels = { ["app.kubernetes.io/name"] = "web", ["app.kubernetes.io/instance"] = "web" } },
            spec = { containers = { { name = "web", image = "nginx:1.29" } } } } } })
      assert(eventually(function()
        local d = env:get("apps/v1", "Deployment", "web")
        return d and d.status and d.status.readyReplicas == 2
      end, 15))
    end)

    it("lists apps as a table, JSON and YAML", function()
      local r = env:ok({ "app", "list" })
      local header, row = r.stdout:match("^([^\n]*)\n([^\n]*)\n$")
      assert.matches("^NAME%s+IMAGE%s+READY%s+PHASE%s+URL%s+AGE$", header)
      assert.matches("^web%s+nginx:1%.29%s+2/2%s+Ready%s+https://web%.example%.com%s+%d+s$", row)
      local list = json.decode(env:ok({ "app", "list", "-o", "json" }).stdout)
      assert.equal("web", list[1].metadata.name)
      assert.equal("nginx:1.29", yaml.decode(env:ok({ "app", "list", "-o", "yaml" }).stdout)[1].spec.image)
      r = env:ok({ "app", "list", "-A" })
      assert.matches("^NAMESPACE%s+NAME", r.stdout)
      r = env:ok({ "app", "list", "-n", "empty" })
      assert.equal("", r.stdout)
      assert.matches("No apps in namespace empty.", r.stderr, 1, true)
      assert.equal("[]\n", env:ok({ "app", "list", "-n", "empty", "-o", "json" }).stdout)
    end)

    it("shows an app's status: spec, replicas, pods, conditions and events", function()
      local r = env:ok({ "app", "status", "web" })
      assert.matches("App:        web\n", r.stdout, 1, true)
      assert.matches("Image:      nginx:1.29\n", r.stdout, 1, true)
      assert.matches("Replicas:   2 wanted, 2 ready, 2 running\n", r.stdout, 1, true)
      assert.matches("URL:        https://web.example.com\n", r.stdout, 1, true)
      assert.matches("Secrets:    1 (TOKEN)\n", r.stdout, 1, true)
      assert.matches("\nPOD%s+PHASE%s+READY%s+RESTARTS%s+NODE%s+AGE\nweb%-%w+%-%w+%s+Running%s+1/1%s+0%s+sandbox%-node", r.stdout)
      assert.matches("CONDITION%s+STATUS%s+REASON%s+AGE%s+MESSAGE\nReady%s+True%s+Available", r.stdout)
      assert.matches("Recent events:\n", r.stdout, 1, true)
      local s = json.decode(env:ok({ "app", "status", "web", "-o", "json" }).stdout)
      assert.equal("web", s.app.metadata.name)
      assert.equal(2, #s.pods)
      assert.equal("Running", s.pods[1].phase)
      r = env:kip({ "app", "status", "ghost" })
      assert.equal(1, r.status)
      assert.matches("there is no app ghost in namespace default", r.stderr, 1, true)
    end)

    it("prints the logs of every pod, each line prefixed with the pod's name", function()
      local r = env:ok({ "app", "logs", "web", "--tail", "2" })
      local pods = {}
      for pod, rest in r.stdout:gmatch("%[(web%-[%w-]+)%] ([^\n]*)\n") do
        pods[pod] = (pods[pod] or 0) + 1
        assert.matches("simulated log line", rest, 1, true)
      end
      local n = 0
      for _, count in pairs(pods) do
        n = n + 1
        assert.equal(2, count)
      end
      assert.equal(2, n)
    end)

    it("follows the logs of every pod, and of pods that start later", function()
      local h = env:kip_bg({ "app", "logs", "web", "-f", "--tail", "1" })
      assert(eventually(function() return select(2, h.output():gsub("%[web%-", "")) >= 4 end, 10), h.output())
      env:kubectl({ "scale", "deployment/web", "--replicas=3" })
      local third
      assert(eventually(function()
        local seen = {}
        for pod in h.output():gmatch("%[(web%-[%w-]+)%]") do seen[pod] = true end
        local count = 0
        for p in pairs(seen) do count = count + 1 third = p end
        return count >= 3
      end, 15), "no lines from a third pod:\n" .. h.output())
      assert.matches("following new pod web%-", h.output())
      h.stop()
      h:wait(10)
      assert.truthy(third)
      env:kubectl({ "scale", "deployment/web", "--replicas=2" })
    end)

    it("scales an app", function()
      env:ok({ "app", "scale", "web", "--replicas", "3", "--no-wait" })
      assert.equal(3, env:kipper("App", "web").spec.replicas)
      local r = env:kip({ "app", "scale", "web", "--replicas", "many" })
      assert.equal(2, r.status)
    end)

    it("restarts an app through the kipper.run/restarted-at annotation, waiting for the new pod template", function()
      local h = env:kip_bg({ "app", "restart", "web", "--timeout", "30" })
      local stamp = eventually(function()
        local a = env:kipper("App", "web")
        return a.metadata.annotations and a.metadata.annotations["kipper.run/restarted-at"]
      end, 10)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", stamp)
      -- the App is Ready, but its pods do not carry the stamp yet
      env:set_status("App", "web", "default", ready_status({ image = "nginx:1.29", url = "https://web.example.com" }))
      assert(eventually(function() return h.output():find("waiting for kipperd to update the pod template", 1, true) end, 10),
        h.output())
      -- what the App policy does with it: into the pod template, which rolls the pods
      env:kubectl({ "patch", "deployment/web", "--type=merge", "-p",
        json.encode({ spec = { template = { metadata = { annotations = { ["kipper.run/restarted-at"] = stamp } } } } }) })
      local r = h:wait(30)
      assert.equal(0, r.status, r.stdout .. r.stderr)
      assert.matches("Restarting web: ready", r.stdout, 1, true)
      -- a later deploy keeps the annotation
      env:ok({ "app", "update", "web", "--env", "AFTER=restart", "--no-wait" })
      assert.equal(stamp, env:kipper("App", "web").metadata.annotations["kipper.run/restarted-at"])
    end)
  end)

  describe("history and rollback", function()
    local served
    setup(function() served = env.c:resource("apps/v1", "ControllerRevision") ~= nil end)

    local function revision(n, image, e)
      local app = env:kipper("App", "web")
      env:put({ apiVersion = "apps/v1", kind = "ControllerRevision",
        metadata = { name = "web-" .. n, namespace = "default", labels = { ["kipper.run/revision-of"] = "web" },
          ownerReferences = { { apiVersion = AV, kind = "App", name = "web", uid = app.metadata.uid, controller = true } } },
        revision = n, data = { image = image, env = e, port = 80, replicas = 2 } })
    end

    it("lists the revisions kipperd keeps and rolls back to the previous or a given one", function()
      assert(served, "the sandbox API serves apps/v1 ControllerRevision, where the App policy keeps revisions")
      revision(1, "nginx:1.27", { A = "1" })
      revision(2, "nginx:1.28", { A = "1", B = "2" })
      revision(3, "nginx:1.29", { A = "1", B = "2", C = "3" })
      local r = env:ok({ "app", "history", "web" })
      assert.matches("^REVISION%s+IMAGE%s+ENV%s+CREATED\n1%s+nginx:1%.27%s+1%s+%d", r.stdout)
      assert.matches("\n3%s+nginx:1%.29%s+3%s+", r.stdout)
      assert.equal(3, #json.decode(env:ok({ "app", "history", "web", "-o", "json" }).stdout))
      r = env:ok({ "app", "rollback", "web", "--no-wait" })
      assert.matches("Rolling app web back to revision 2: nginx:1.28 with 2 variables.", r.stdout, 1, true)
      local app = env:kipper("App", "web")
      assert.equal("nginx:1.28", app.spec.image)
      assert.same({ A = "1", B = "2" }, app.spec.env)
      env:ok({ "app", "rollback", "web", "--revision", "1", "--no-wait" })
      app = env:kipper("App", "web")
      assert.equal("nginx:1.27", app.spec.image)
      assert.same({ A = "1" }, app.spec.env)
      r = env:kip({ "app", "rollback", "web", "--revision", "9", "--no-wait" })
      assert.equal(1, r.status)
      assert.matches("cannot roll back app web: there is no revision 9", r.stderr, 1, true)
    end)
  end)

  it("deletes an app and its Secret, asking unless --yes", function()
    local r = env:kip({ "app", "delete", "web" })
    assert.equal(1, r.status)
    assert.matches("refusing to delete app web in namespace default", r.stderr, 1, true)
    assert.matches("--yes", r.stderr, 1, true)
    assert.truthy(env:kipper("App", "web"))
    r = env:kip_tty({ "app", "delete", "web" }, { ["Type \"web\" to confirm"] = "web" })
    assert.equal(0, r.status, r.output)
    assert.matches("Deleted app web in namespace default", r.output, 1, true)
    assert(eventually(function() return env:kipper("App", "web") == nil end, 5))
    assert(eventually(function() return env:get("v1", "Secret", "app-web-secrets") == nil end, 5))
    r = env:kip({ "app", "delete", "web", "--yes" })
    assert.equal(1, r.status)
    assert.matches("there is no app web", r.stderr, 1, true)
  end)

  it("says when Kipper's resources are not installed on the cluster", function()
    env.c:delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", "apps.kipper.run")
    assert(eventually(function()
      return env:kip({ "app", "list" }).stderr:find("does not serve Kipper's app resources", 1, true)
    end, 10))
    local r = env:kip({ "app", "list" })
    assert.equal(1, r.status)
    assert.matches("'kip status' shows its components", r.stderr, 1, true)
    require("helpers.kipperd").prepare(env.c)
  end)

  it("has help with examples for every verb", function()
    local cmd = require "kip.cmd.app"
    for _, verb in ipairs(cmd.verb_order) do
      local r = env:ok({ "app", verb, "--help" })
      assert.matches("Usage: kip app " .. verb, r.stdout, 1, true)
      assert.matches("\nExamples:\n  kip app " .. verb, r.stdout, 1, true)
    end
    local r = env:ok({ "app", "--help" })
    for _, verb in ipairs(cmd.verb_order) do assert.matches("\n  " .. verb .. " ", r.stdout, 1, true) end
  end)
end)

describe("kip app end to end with kipperd", function()
  local env
  setup(function()
    assert(kipcli.kipperd_available())
    env = kipcli.start({ kipperd = true })
  end)
  teardown(function() if env then env:stop() end end)

  it("deploys an app, waits for Ready and prints its URL", function()
    local r = env:kip({ "app", "deploy", "--name", "hello", "--image", "nginxdemos/hello:0.4", "--port", "80",
      "--env", "GREETING=hi", "--secret", "TOKEN=abc", "--timeout", "60" }, { timeout = 90 })
    assert.equal(0, r.status, r.stdout .. r.stderr .. env.kd:output())
    assert.matches("Deploying hello: ready", r.stdout, 1, true)
    assert.matches("App hello is ready at https://hello%-203%-0%-113%-10%.kipper%.run\n", r.stdout)
    local d = assert(env:get("apps/v1", "Deployment", "hello"))
    assert.equal("nginxdemos/hello:0.4", d.spec.template.spec.containers[1].image)
  end)

  it("updates it and records a new revision; rolls back to the previous one", function()
    env:ok({ "app", "update", "hello", "--image", "nginxdemos/hello:0.3", "--timeout", "60" }, { timeout = 90 })
    local r = env:ok({ "app", "history", "hello" })
    assert.matches("\n1%s+nginxdemos/hello:0%.4%s+1%s", r.stdout)
    assert.matches("\n2%s+nginxdemos/hello:0%.3%s+1%s", r.stdout)
    env:ok({ "app", "rollback", "hello", "--timeout", "60" }, { timeout = 90 })
    local app = env:kipper("App", "hello")
    assert.equal("nginxdemos/hello:0.4", app.spec.image)
    assert.equal("nginxdemos/hello:0.4", app.status.image)
    r = env:ok({ "app", "history", "hello", "-o", "json" })
    assert.equal(3, #json.decode(r.stdout))
  end)

  it("scales it and shows its pods' logs, prefixed", function()
    env:ok({ "app", "scale", "hello", "--replicas", "2", "--timeout", "60" }, { timeout = 90 })
    assert.equal(2, env:kipper("App", "hello").status.readyReplicas)
    local r = env:ok({ "app", "logs", "hello", "--tail", "1" })
    local pods = {}
    for pod in r.stdout:gmatch("%[(hello%-[%w-]+)%] ") do pods[pod] = true end
    local n = 0
    for _ in pairs(pods) do n = n + 1 end
    assert.equal(2, n)
    r = env:ok({ "app", "status", "hello" })
    assert.matches("Phase:      Ready", r.stdout, 1, true)
  end)

  it("restarts it", function()
    local r = env:kip({ "app", "restart", "hello", "--timeout", "30" }, { timeout = 60 })
    assert.equal(0, r.status, r.stdout .. r.stderr)
    local d = env:get("apps/v1", "Deployment", "hello")
    assert.truthy(d.spec.template.metadata.annotations and d.spec.template.metadata.annotations["kipper.run/restarted-at"])
  end)

  it("stops waiting at once when kipperd refuses the change, with the reason", function()
    env:put({ apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "clash", namespace = "default" },
      spec = { replicas = 1, selector = { matchLabels = { run = "clash" } }, template = {
        metadata = { labels = { run = "clash" } }, spec = { containers = { { name = "c", image = "busybox:1.36" } } } } } })
    local t0 = os.time()
    local r = env:kip({ "app", "deploy", "--name", "clash", "--image", "nginxdemos/hello:0.4", "--port", "80",
      "--timeout", "120" }, { timeout = 150 })
    assert.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches("(NameTaken)", r.stderr, 1, true)
    assert.is_true(os.time() - t0 < 60, "it waited for the timeout")
    env:ok({ "app", "delete", "clash", "--yes" })
  end)

  it("deletes it with everything kipperd made for it", function()
    env:ok({ "app", "delete", "hello", "--yes" })
    assert(eventually(function() return env:get("apps/v1", "Deployment", "hello") == nil end, 20))
    assert.is_nil(env:get("v1", "Secret", "app-hello-secrets"))
  end)
end)
