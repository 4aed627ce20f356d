-- SPDX-License-Identifier: Apache-2.0
-- What the real `kip sandbox api` does as k3s's server, checked with the real kubectl: the
-- auto-deploy folder (--manifests-dir: Addons with checksums, retries until a kind is served,
-- broken files reported without stopping the others, changes re-applied, dropped objects pruned,
-- removed files leaving their objects) and the simulated helm-controller installing cert-manager
-- (CRDs, Deployments, an ACME ClusterIssuer that turns Ready) and Longhorn (its storage class).
local fs = require "kip.fs"
local helpers = require "helpers"
local json = require "kip.json"
local sandbox = require "helpers.sandbox"
local tls = require "kip.tls"

local ISSUER = [[
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    email: ops@example.com
    privateKeySecretRef: {name: letsencrypt-account}
    solvers:
    - http01: {ingress: {ingressClassName: traefik}}
]]

local CERT_MANAGER = [[
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: cert-manager
  namespace: kube-system
spec:
  repo: https://charts.jetstack.io
  chart: cert-manager
  version: v1.18.2
  targetNamespace: cert-manager
  createNamespace: true
  valuesContent: |
    crds:
      enabled: true
]]

local CONFIG = [[
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {mode: one}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: extra}
data: {x: "1"}
]]

local function count(text, pattern)
  local n = 0
  for _ in text:gmatch(pattern) do n = n + 1 end
  return n
end

describe("kip sandbox api as k3s's server", function()
  local sb, dir
  setup(function()
    dir = helpers.tmpdir()
    helpers.write(dir .. "/issuer.yaml", ISSUER)
    helpers.write(dir .. "/config.yaml", CONFIG)
    helpers.write(dir .. "/broken.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n")
    helpers.write(dir .. "/.hidden.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hidden, namespace: default}\n")
    helpers.write(dir .. "/notes.txt", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes, namespace: default}\n")
    helpers.write(dir .. "/skipped.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped, namespace: default}\n")
    helpers.write(dir .. "/skipped.yaml.skip", "")
    sb = sandbox.start({ manifests_dir = dir, verbose = true })
  end)
  teardown(function()
    sb:stop()
    helpers.rmtree(dir)
  end)

  local function get(args)
    local all = { "get", "--show-managed-fields" }
    for _, a in ipairs(args) do all[#all + 1] = a end
    all[#all + 1] = "-o"
    all[#all + 1] = "json"
    local r = sb:kubectl(all)
    return r.status == 0 and json.decode(r.stdout) or nil
  end

  local function log() return fs.read(sb.dir .. "/err.log") or "" end

  local function condition(obj, kind)
    for _, c in ipairs(((obj or {}).status or {}).conditions or {}) do
      if c.type == kind then return c end
    end
  end

  it("serves k3s's Addon resource", function()
    local crd = get({ "crd", "addons.k3s.cattle.io" })
    assert.equal("k3s.cattle.io", crd.spec.group)
    assert.equal("True", condition(crd, "Established").status)
  end)

  it("writes k3s's bundled traefik.yaml, whose HelmCharts install Traefik as on a k3s server", function()
    assert.matches("name: traefik\n", fs.read(dir .. "/traefik.yaml"))
    assert(sandbox.eventually(function()
      local d = get({ "-n", "kube-system", "deployment", "traefik" })
      return d and (d.status.availableReplicas or 0) >= 1
    end, 20), "traefik did not become available: " .. log())
    assert.is_truthy(get({ "crd", "ingressroutes.traefik.io" }))
    assert.equal("LoadBalancer", get({ "-n", "kube-system", "service", "traefik" }).spec.type)
  end)

  it("applies the folder's files at start (multi-document YAML), each with an Addon and its checksum", function()
    local settings = get({ "configmap", "settings", "-n", "default" })
    assert.equal("one", settings.data.mode)
    local extra = get({ "configmap", "extra", "-n", "kube-system" })
    assert.truthy(extra, "an object without a namespace goes to kube-system")
    local managers = {}
    for _, m in ipairs(settings.metadata.managedFields) do managers[m.manager] = m.operation end
    assert.equal("Apply", managers["deploy@sandbox-node"])
    assert.equal("config", settings.metadata.annotations["objectset.rio.cattle.io/owner-name"])
    local addon = get({ "addon", "config", "-n", "kube-system" })
    assert.equal(dir .. "/config.yaml", addon.spec.source)
    assert.equal(tls.sha256_hex(CONFIG), addon.spec.checksum)
    assert.matches("config%s+" .. dir:gsub("%p", "%%%0") .. "/config%.yaml%s+%x+", sb:ok({ "get", "addons", "-n", "kube-system" }))
  end)

  it("ignores hidden files, other extensions and files disabled by NAME.skip", function()
    for _, name in ipairs({ "hidden", "notes", "skipped" }) do
      assert.is_nil(get({ "configmap", name, "-n", "default" }), name)
    end
    assert.is_nil(get({ "addon", "skipped", "-n", "kube-system" }))
  end)

  it("reports a broken file (with -v) without stopping the others", function()
    assert.truthy(sandbox.eventually(function() return log():match("broken%.yml: cannot parse: [^\n]+") end, 5), log())
    local addon = get({ "addon", "broken", "-n", "kube-system" })
    assert.is_nil(addon.spec.checksum, "a file that did not go in has no checksum")
    local events = sb:ok({ "get", "events", "-n", "kube-system", "--field-selector", "involvedObject.name=broken" })
    assert.matches("ApplyManifestFailed", events)
  end)

  it("retries a ClusterIssuer until cert-manager's HelmChart installs its CRD, then the issuer turns Ready", function()
    assert.is_nil(get({ "addon", "issuer", "-n", "kube-system" }).spec.checksum)
    assert.matches('issuer%.yaml: ClusterIssuer letsencrypt: no matches for kind "ClusterIssuer" in version "cert%-manager%.io/v1"', log())
    helpers.write(dir .. "/cert-manager.yaml", CERT_MANAGER)
    local issuer = sandbox.eventually(function()
      local got = get({ "clusterissuer", "letsencrypt" })
      local ready = condition(got, "Ready")
      return ready and ready.status == "True" and got
    end, 20)
    assert.truthy(issuer, log())
    local ready = condition(issuer, "Ready")
    assert.equal("ACMEAccountRegistered", ready.reason)
    assert.equal("The ACME account was registered with the ACME server (simulated by the sandbox: nothing was contacted)", ready.message)
    assert.matches("^https://acme%-v02%.api%.letsencrypt%.org/acme/acct/%d+$", issuer.status.acme.uri)
    assert.matches("letsencrypt%s+True", sb:ok({ "get", "clusterissuer" }))
    assert.equal(tls.sha256_hex(ISSUER), get({ "addon", "issuer", "-n", "kube-system" }).spec.checksum)
    -- reported once, not every round
    assert.equal(1, count(log(), 'issuer%.yaml: ClusterIssuer letsencrypt: no matches'))
  end)

  it("installs cert-manager's CRDs and Deployments when its HelmChart's job completes, with k3s's status", function()
    for _, crd in ipairs({ "certificates.cert-manager.io", "certificaterequests.cert-manager.io", "issuers.cert-manager.io",
        "clusterissuers.cert-manager.io", "orders.acme.cert-manager.io", "challenges.acme.cert-manager.io" }) do
      local obj = get({ "crd", crd })
      assert.truthy(obj, crd)
      assert.equal("True", condition(obj, "Established").status, crd)
      assert.equal("cert-manager", obj.metadata.annotations["meta.helm.sh/release-name"])
    end
    assert.equal("Cluster", get({ "crd", "clusterissuers.cert-manager.io" }).spec.scope)
    assert.truthy(sandbox.eventually(function()
      for _, name in ipairs({ "cert-manager", "cert-manager-webhook", "cert-manager-cainjector" }) do
        local d = get({ "deployment", name, "-n", "cert-manager" })
        if not d or (condition(d, "Available") or {}).status ~= "True" then return false end
      end
      return true
    end, 10))
    assert.equal(0, sb:kubectl({ "wait", "--for=condition=Available", "deployment", "--all", "-n", "cert-manager", "--timeout=10s" }).status)
    local hc = get({ "helmchart", "cert-manager", "-n", "kube-system" })
    assert.equal("helm-install-cert-manager", hc.status.jobName)
    local created = condition(hc, "JobCreated")
    assert.same({ "True", "Job created", "Applying HelmChart using Job kube-system/helm-install-cert-manager" },
      { created.status, created.reason, created.message })
    assert.equal("False", condition(hc, "Failed").status)
    assert.equal("True", condition(get({ "job", "helm-install-cert-manager", "-n", "kube-system" }), "Complete").status)
    -- a namespaced custom resource of the new kinds can be created
    sb:ok({ "apply", "-f", "-" }, [[
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: self, namespace: default}
spec: {selfSigned: {}}
]])
    assert.truthy(sandbox.eventually(function()
      return (condition(get({ "issuer", "self", "-n", "default" }), "Ready") or {}).reason == "IsReady"
    end, 5))
  end)

  it("applies a changed file again and deletes the objects dropped from it, but leaves unchanged files alone", function()
    sb:ok({ "patch", "clusterissuer", "letsencrypt", "--type", "merge", "-p", '{"metadata":{"labels":{"touched":"yes"}}}' })
    local changed = CONFIG:gsub("mode: one", "mode: two"):gsub("%-%-%-.*$", "")
    helpers.write(dir .. "/config.yaml", changed)
    assert.truthy(sandbox.eventually(function()
      local cm = get({ "configmap", "settings", "-n", "default" })
      return cm and cm.data.mode == "two"
    end, 10))
    assert.truthy(sandbox.eventually(function() return get({ "configmap", "extra", "-n", "kube-system" }) == nil end, 5),
      "the object dropped from the file stays")
    assert.equal(tls.sha256_hex(changed), get({ "addon", "config", "-n", "kube-system" }).spec.checksum)
    -- issuer.yaml did not change: what kubectl changed on its object stays
    assert.equal("yes", get({ "clusterissuer", "letsencrypt" }).metadata.labels.touched)
  end)

  it("leaves the objects of a removed file; deleting its Addon deletes them", function()
    assert(fs.remove(dir .. "/config.yaml"))
    require("kip.server").sleep(2.5)
    assert.truthy(get({ "configmap", "settings", "-n", "default" }))
    assert.truthy(get({ "addon", "config", "-n", "kube-system" }))
    sb:ok({ "delete", "addon", "config", "-n", "kube-system" })
    assert.truthy(sandbox.eventually(function() return get({ "configmap", "settings", "-n", "default" }) == nil end, 5))
  end)

  it("installs Longhorn's storage class, which new claims then use", function()
    sb:ok({ "apply", "-f", "-" }, [[
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata: {name: longhorn, namespace: kube-system}
spec:
  repo: https://charts.longhorn.io
  chart: longhorn
  targetNamespace: longhorn-system
  createNamespace: true
]])
    local sc = sandbox.eventually(function() return get({ "storageclass", "longhorn" }) end, 10)
    assert.truthy(sc)
    assert.equal("driver.longhorn.io", sc.provisioner)
    assert.truthy(sandbox.eventually(function() return get({ "deployment", "longhorn-driver-deployer", "-n", "longhorn-system" }) end, 5))
    sb:ok({ "apply", "-f", "-" }, [[
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
]])
    local pvc = sandbox.eventually(function()
      local p = get({ "pvc", "data", "-n", "default" })
      return p and p.status.phase == "Bound" and p
    end, 10)
    assert.equal("longhorn", pvc.spec.storageClassName, "the newest default class wins")
    local pv = get({ "pv", pvc.spec.volumeName })
    assert.equal("driver.longhorn.io", pv.metadata.annotations["pv.kubernetes.io/provisioned-by"])
  end)

  it("runs only the job of a chart it does not know, and deleting a HelmChart leaves what it installed", function()
    sb:ok({ "apply", "-f", "-" }, [[
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata: {name: mystery, namespace: kube-system}
spec: {chart: mystery, repo: https://example.com/charts}
]])
    assert.truthy(sandbox.eventually(function()
      return condition(get({ "job", "helm-install-mystery", "-n", "kube-system" }), "Complete")
    end, 10))
    assert.is_nil(get({ "namespace", "mystery" }))
    sb:ok({ "delete", "helmchart", "longhorn", "-n", "kube-system" })
    assert.truthy(sandbox.eventually(function() return get({ "job", "helm-install-longhorn", "-n", "kube-system" }) == nil end, 10))
    assert.truthy(get({ "storageclass", "longhorn" }), "what the chart installed stays")
  end)
end)
