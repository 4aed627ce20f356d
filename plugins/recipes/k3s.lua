-- SPDX-License-Identifier: Apache-2.0
-- The default install recipe: k3s on a server, then Kipper on it through the Kubernetes API.
-- Every step checks first whether it is done already, so a re-run changes nothing and resumes
-- after a failure. Every URL and version is a variable (--set, or a site recipe that `extends`
-- this one), so an air-gapped site points them at its mirrors. Steps get a context (see
-- docs/recipes.md): ctx.vars, ctx:sh/test/upload/download on the server, ctx.state (host,
-- cluster name, the Kubernetes client once the kubeconfig is fetched). Uses kip.install.* and
-- kip.platform.* and kipperd.auth.users.
local apply = require "kip.install.apply"
local components = require "kip.platform.components"
local crds = require "kip.platform.crds"
local default_tls = require "kip.platform.default_tls"
local domain_api = require "kip.domain.api"
local domain_message = require "kip.domain.message"
local domain_register = require "kip.domain.register"
local domain_store = require "kip.domain.store"
local files = require "kip.install.k3s_files"
local k8s = require "kip.k8s"
local local_cluster = require "kip.install.local_cluster"
local shared = require "kip.install.steps"
local users = require "kipperd.auth.users"
local version = require("kip.host").version()

local vars = {
  ["k3s.version"] = "v1.34.1+k3s1",
  ["k3s.install_script_url"] = "https://get.k3s.io",
  ["k3s.exec_args"] = "",
  ["k3s.api_port"] = 6443,
  ["k3s.tls_san"] = "",
  ["k3s.node_name"] = "",
  ["k3s.registry_mirrors"] = "",
  ["k3s.system_default_registry"] = "",
  ["preflight.min_memory_mb"] = 1536,
  ["preflight.min_disk_gb"] = 10,
  ["preflight.allow_unsupported_os"] = false,
  ["images.registry"] = "",
  ["cert_manager.repo"] = "https://charts.jetstack.io",
  ["cert_manager.version"] = "v1.19.1",
  ["acme.email"] = "",
  ["admin.email"] = "",
  ["acme.server"] = "https://acme-v02.api.letsencrypt.org/directory",
  storage = "",
  ["longhorn.repo"] = "https://charts.longhorn.io",
  ["longhorn.version"] = "1.10.0",
  ["longhorn.replicas"] = 3,
  ["traefik.redirect_https"] = true,
  ["traefik.trusted_ips"] = "",
  ["kipper.version"] = version,
  ["kipperd.image"] = "ghcr.io/kipper-run/kipperd:v" .. version,
  ["console.host"] = "",
  ["domain.zone"] = "kipper.run",
  ["cluster.id"] = "",
  gateway = domain_api.DEFAULT_URL,
  ["wait.timeout"] = 600,
}

local ISSUER_FILE = files.MANIFESTS .. "/kipper-cluster-issuer.yaml"

-- The Kubernetes client; nil before the kubeconfig step (a --plan on a new server).
local function client(ctx)
  return ctx.state.client
end

-- Waits for check() with the spinner, failing the step with what it still waited for.
local function wait_for(ctx, what, check, hint)
  local v, waiting = apply.wait(check, { timeout = ctx.vars["wait.timeout"], tick = function() ctx.ui:tick() end })
  if not v then
    ctx:fail(string.format("%s did not happen within %ds%s", what, ctx.vars["wait.timeout"],
      waiting and (": " .. waiting) or ""), hint)
  end
  return v
end

-- A step that puts objects on the cluster and waits until ready(client) says so.
local function api_step(name, title, objects, ready, hint)
  return {
    name = name, title = title, hint = hint,
    check = function(ctx)
      local c = client(ctx)
      if not c then return false end
      local list = objects(ctx)
      if #list == 0 then return (not ready or ready(c, ctx)) and "nothing to install" end
      return apply.is_current(c, list) and (not ready or ready(c, ctx)) and true
    end,
    run = function(ctx)
      local c = client(ctx) or ctx:fail("there is no connection to the cluster's API yet")
      local ok, err = apply.apply(c, objects(ctx))
      if not ok then ctx:fail(err) end
      if ready then wait_for(ctx, title, function() return ready(c, ctx) end, hint) end
    end,
  }
end

local function job_done(c, name)
  local job = c:get("batch/v1", "Job", "helm-install-" .. name, "kube-system")
  if not job then return false, "helm-install-" .. name .. " has not started" end
  if (job.status and job.status.succeeded or 0) < 1 then return false, "helm-install-" .. name .. " is running" end
  return true
end

local function deployments_ready(c, namespace, names)
  for _, n in ipairs(names) do
    local ok, why = apply.deployment_ready(c:get("apps/v1", "Deployment", n, namespace))
    if not ok then return false, string.format("deployment %s/%s: %s", namespace, n, why) end
  end
  return true
end

local steps = {}

steps[#steps + 1] = shared.preflight("server", "test -x " .. files.BIN .. " && test -f " .. files.KUBECONFIG)

-- registries.yaml as wanted: the text, or false for none (a file kip wrote earlier is removed)
local function registries_done(ctx, want)
  local have = ctx:download(files.REGISTRIES)
  if want then return have == want end
  return have == nil or not files.written_by_kip(have)
end

steps[#steps + 1] = {
  name = "k3s-config", title = "Write k3s's configuration",
  hint = "On the server, 'journalctl -u k3s' shows why k3s does not take the new configuration.",
  check = function(ctx)
    local registries = files.registries(ctx.vars)
    if registries == nil then return false end
    return ctx:download(files.CONFIG) == files.server_config(ctx.vars, ctx.state.host) and registries_done(ctx, registries)
  end,
  run = function(ctx)
    local registries, err = files.registries(ctx.vars)
    if registries == nil then ctx:fail(err, "Write mirrors as --set k3s.registry_mirrors=docker.io=https://mirror.example") end
    local installed = ctx:test("test -x " .. files.BIN)
    ctx:upload(files.CONFIG, files.server_config(ctx.vars, ctx.state.host), "0600")
    if registries then
      ctx:upload(files.REGISTRIES, registries, "0600")
    elseif not registries_done(ctx, false) then
      ctx:sh("rm -f " .. files.REGISTRIES)
    end
    if installed then
      -- k3s reads its configuration when it starts
      ctx:say("restarting k3s to apply the new configuration")
      ctx:sh(files.RESTART)
    end
  end,
}

steps[#steps + 1] = shared.install("server", function(ctx) return ctx.vars["k3s.version"] end, { title = "Install k3s",
  hint = "Look at the install script's output above; on the server, 'journalctl -u k3s' shows why k3s did not start." })

-- Fetches k3s.yaml and makes the local kubeconfig and config.yaml entry; returns the entry.
local function local_entry(ctx, k3s_yaml)
  local st = ctx.state
  local server = string.format("https://%s:%d", st.host:find(":", 1, true) and ("[" .. st.host .. "]") or st.host,
    ctx.vars["k3s.api_port"])
  local text, err = local_cluster.kubeconfig_text(k3s_yaml, st.cluster_name, server)
  if not text then ctx:fail(err) end
  local entry = { name = st.cluster_name, server = server, kubeconfig = local_cluster.kubeconfig_path(st.cluster_name),
    host = st.host, ["ssh-user"] = st.ssh_user, ["ssh-port"] = st.ssh_port, ["ssh-key"] = st.ssh_key,
    domain = st.domain, provider = st.provider }
  return entry, text
end

local function connect_api(ctx, entry)
  local c, err = k8s.connect({ kubeconfig = entry.kubeconfig, timeout = 30 })
  if not c then ctx:fail("cannot use the cluster's kubeconfig: " .. err) end
  ctx.state.client = c
end

steps[#steps + 1] = {
  name = "kubeconfig", title = "Fetch the kubeconfig",
  check = function(ctx)
    local k3s_yaml = ctx:download(files.KUBECONFIG)
    if not k3s_yaml then return false end
    local entry, text = local_entry(ctx, k3s_yaml)
    local ok = require("kip.fs").read(entry.kubeconfig) == text and local_cluster.is_registered(entry)
    if ok then connect_api(ctx, entry) end
    return ok
  end,
  run = function(ctx)
    local k3s_yaml = wait_for(ctx, "k3s writing " .. files.KUBECONFIG, function()
      return ctx:download(files.KUBECONFIG), "k3s has not written it yet"
    end, "On the server, 'journalctl -u k3s' shows why k3s does not start.")
    local entry, text = local_entry(ctx, k3s_yaml)
    local _, err = local_cluster.store(entry.name, text)
    if err then ctx:fail("cannot store the kubeconfig: " .. err) end
    local ok, rerr = local_cluster.register(entry)
    if not ok then ctx:fail("cannot add the cluster to kip's configuration: " .. rerr) end
    connect_api(ctx, entry)
  end,
}

local function node_ready(c)
  if not c:request("GET", "/readyz", { raw = true }) then return false, "the API server is not ready" end
  local nodes = c:list("v1", "Node")
  for _, n in ipairs(nodes and nodes.items or {}) do
    if apply.condition(n, "Ready") == "True" then return true end
  end
  return false, "no node is Ready yet"
end

steps[#steps + 1] = {
  name = "api-ready", title = "Wait for the API and the node",
  hint = "Check that the API port is reachable from here (firewall), and 'journalctl -u k3s' on the server.",
  check = function(ctx) return client(ctx) and node_ready(client(ctx)) and "ready already" end,
  run = function(ctx)
    wait_for(ctx, "the API and a Ready node", function() return node_ready(client(ctx)) end)
  end,
}

steps[#steps + 1] = api_step("crds", "Install Kipper's resource types", function() return crds.all() end, function(c)
  for _, name in ipairs(crds.names()) do
    local crd = c:get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
    if apply.condition(crd, "Established") ~= "True" then return false, name .. " is not established" end
  end
  return true
end)

steps[#steps + 1] = api_step("namespace", "Create the kipper-system namespace and settings", function(ctx)
  local out = components.namespace()
  for _, o in ipairs(components.cluster_config(ctx.vars)) do out[#out + 1] = o end
  return out
end)

-- The console's first admin, with a generated password. The password is kept in ctx.state.admin
-- for kip install's summary only: never said, logged or put in the transcript.
local function admin_email(ctx)
  local v = ctx.vars
  if v["admin.email"] ~= "" then return v["admin.email"] end
  if v["acme.email"] ~= "" then return v["acme.email"] end
  return "admin@" .. ctx.state.cluster_name .. ".local"
end

steps[#steps + 1] = {
  name = "admin", title = "Create the console's admin",
  hint = "Add one later with: kip user add EMAIL --role admin",
  check = function(ctx)
    local c = client(ctx)
    if not c then return false end
    local list = users.list(c)
    for _, u in ipairs(list or {}) do
      if u.role == "admin" then return "an admin exists already" end
    end
    return false
  end,
  run = function(ctx)
    local c = client(ctx) or ctx:fail("there is no connection to the cluster's API yet")
    local email, password = admin_email(ctx), users.generate_password()
    local user, err = users.add(c, email, "admin", password)
    if not user then ctx:fail(string.format("cannot create the admin %s: %s", email, err)) end
    ctx.state.admin = { email = user.email, password = password }
  end,
}

steps[#steps + 1] = api_step("cert-manager", "Install cert-manager", function(ctx) return components.cert_manager(ctx.vars) end,
  function(c)
    local ok, why = job_done(c, "cert-manager")
    if not ok then return ok, why end
    return deployments_ready(c, "cert-manager", { "cert-manager", "cert-manager-webhook", "cert-manager-cainjector" })
  end, "On the server: kubectl -n kube-system logs job/helm-install-cert-manager")

steps[#steps + 1] = {
  name = "cluster-issuer", title = "Set up Let's Encrypt",
  hint = "kubectl describe clusterissuer letsencrypt shows what the ACME server said.",
  check = function(ctx)
    if ctx.vars["acme.email"] == "" then return "no --admin-email, so no Let's Encrypt certificates" end
    local c = client(ctx)
    if not c or ctx:download(ISSUER_FILE) ~= components.cluster_issuer_yaml(ctx.vars) then return false end
    return apply.condition(c:get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt"), "Ready") == "True"
  end,
  run = function(ctx)
    -- k3s applies it once cert-manager's resource types exist
    ctx:upload(ISSUER_FILE, components.cluster_issuer_yaml(ctx.vars), "0600")
    wait_for(ctx, "the ClusterIssuer letsencrypt becoming Ready", function()
      local issuer = client(ctx):get("cert-manager.io/v1", "ClusterIssuer", "letsencrypt")
      local status, message = apply.condition(issuer, "Ready")
      return status == "True", issuer and (message or "not ready") or "k3s has not applied it yet"
    end)
  end,
}

-- local-path comes with k3s: nothing to install, but its StorageClass must be there
steps[#steps + 1] = api_step("storage", "Set up storage", function(ctx) return components.storage(ctx.vars) end,
  function(c, ctx)
    local name = components.storage_class(ctx.vars)
    if not c:get("storage.k8s.io/v1", "StorageClass", name) then return false, "StorageClass " .. name .. " does not exist yet" end
    return true
  end)

-- made once: a re-run keeps the key a gateway has pinned
steps[#steps + 1] = {
  name = "default-tls", title = "Make the cluster's default certificate",
  check = function(ctx)
    local c = client(ctx)
    if not c then return false end
    local ok = default_tls.usable(c:get("v1", "Secret", default_tls.NAME, default_tls.NAMESPACE))
    return ok and "kept: it exists already"
  end,
  run = function(ctx)
    local c = client(ctx) or ctx:fail("there is no connection to the cluster's API yet")
    local live = c:get("v1", "Secret", default_tls.NAME, default_tls.NAMESPACE)
    local secret = default_tls.secret(default_tls.host(ctx.vars))
    local ok, err
    if live then
      -- there but unusable: replace it
      secret.metadata.resourceVersion = live.metadata.resourceVersion
      ok, err = c:update(secret, { field_manager = apply.FIELD_MANAGER })
    else
      ok, err = c:create(secret, { field_manager = apply.FIELD_MANAGER })
    end
    if not ok then ctx:fail(string.format("cannot write Secret %s/%s: %s", default_tls.NAMESPACE, default_tls.NAME, err)) end
  end,
}

steps[#steps + 1] = api_step("traefik", "Configure Traefik", function(ctx) return components.traefik(ctx.vars) end)

steps[#steps + 1] = api_step("kipperd", "Start kipperd and the console", function(ctx) return components.kipperd(ctx.vars) end,
  function(c) return deployments_ready(c, "kipper-system", { "kipperd" }) end,
  "kubectl -n kipper-system describe deployment kipperd shows why its pods do not start.")

-- Registration with the gateway: its failure is a warning, never a failed install.
local function gateway_skip(ctx)
  if ctx.vars.gateway == "" then return "no gateway (gateway=\"\")" end
  if not domain_message.ipv4((ctx.vars["cluster.id"]:gsub("%-", "."))) then
    return "the cluster has no IPv4 address for a name under the gateway's zone"
  end
end

steps[#steps + 1] = {
  name = "gateway", title = "Register the cluster's domain with the gateway",
  check = function(ctx)
    local skip = gateway_skip(ctx)
    if skip then return skip end
    local c = client(ctx)
    if not c then return false end
    local reg = domain_store.load(c)
    if not (reg and reg.cluster == ctx.vars["cluster.id"]
      and domain_api.check_url(reg.gateway) == domain_api.check_url(ctx.vars.gateway)) then return false end
    -- a token is kept even when the proof failed: registered only once the gateway says active
    local api = domain_api.new({ url = reg.gateway, timeout = 10 })
    local rec = api and domain_register.status(api, reg)
    if api then api:close() end
    return rec and rec.state == "active" and "registered already"
  end,
  run = function(ctx)
    local c = client(ctx) or ctx:fail("there is no connection to the cluster's API yet")
    local cluster = ctx.vars["cluster.id"]
    local retry = "kip domain register --gateway " .. ctx.vars.gateway
    local function warn(err, hint)
      ctx:say("warning: the cluster is installed, but not registered with the gateway: " .. tostring(err))
      if hint then ctx:say(hint) end
      ctx:say("Register it later with: " .. retry)
    end
    local api, aerr = domain_api.new({ url = ctx.vars.gateway, timeout = 20 })
    if not api then return warn(aerr) end
    local key, kerr, khint = domain_store.read_key(c)
    if not key then api:close() return warn(kerr, khint) end
    local old = domain_store.load(c)
    local reg, err, code, hint
    for attempt = 1, 3 do
      -- the claim goes out from the server, whose address the name is for
      reg, err, code, hint = domain_register.register({ api = api, cluster = cluster, ip = (cluster:gsub("%-", ".")), key = key,
        token = old and old.cluster == cluster and old.token or nil,
        claim = domain_register.curl_claim(function(cmd, o) return ctx.target:exec(cmd, o) end),
        say = function(text) ctx:say(text) end,
        on_token = function(t)
          old = { gateway = api.url, cluster = cluster, token = t }
          local ok, werr = domain_store.save(c, old)
          if not ok then ctx:say("warning: " .. werr) end
        end })
      -- Traefik may still be restarting with the default certificate: a refused proof is tried again
      if reg or code ~= "refused" or not old or attempt == 3 then break end
      ctx:say("the gateway refused the proof; trying again in 10 seconds")
      apply.wait(function() return false end, { timeout = 10, tick = function() ctx.ui:tick() end })
    end
    api:close()
    if not reg then return warn(err, hint) end
    local zone = reg.zone or ctx.vars["domain.zone"]
    ctx:say(string.format("registered: https://%s, console %s", domain_message.domain(cluster, zone),
      domain_message.console_url(cluster, zone)))
  end,
}

return {
  description = "k3s on a Linux server, then Kipper: resource types, cert-manager, storage, Traefik, kipperd, the gateway",
  vars = vars,
  steps = steps,
}
