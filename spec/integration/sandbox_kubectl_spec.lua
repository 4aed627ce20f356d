-- SPDX-License-Identifier: Apache-2.0
-- The sandbox API driven by the real kubectl: discovery and version, get in every output format,
-- create, server-side apply with conflicts, patch (merge, json, strategic), delete, label and
-- field selectors, watch events, logs, Status errors (404, 409, Invalid), schema validation,
-- CRDs, garbage collection, finalizers, namespace termination and the simulated controllers.
local json = require "kip.json"
local sandbox = require "helpers.sandbox"
local yaml = require "kip.yaml"

local DEPLOY = [[
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: {app: api, tier: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: ghcr.io/acme/api:latest
        ports:
        - containerPort: 3000
]]

local CRD = [[
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Phase, type: string, jsonPath: .status.phase}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, enum: [red, blue]}
          status:
            type: object
            properties:
              phase: {type: string}
]]

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("the sandbox API with kubectl", function()
  local sb
  setup(function() sb = sandbox.start() end)
  teardown(function() sb:stop() end)

  local function get_json(args)
    local all = { "get", "--show-managed-fields" }
    for _, a in ipairs(args) do all[#all + 1] = a end
    all[#all + 1] = "-o"
    all[#all + 1] = "json"
    return assert(json.decode(sb:ok(all)))
  end

  it("answers version and discovery", function()
    local v = assert(json.decode(sb:ok({ "version", "-o", "json" })))
    assert.equal("1", v.serverVersion.major)
    assert.equal("34", v.serverVersion.minor)
    local res = sb:ok({ "api-resources", "--no-headers" })
    for _, want in ipairs({ "^pods%s+po%s+v1%s+true%s+Pod$", "^deployments%s+deploy%s+apps/v1%s+true%s+Deployment$",
      "^customresourcedefinitions%s+crd,crds%s+apiextensions.k8s.io/v1%s+false%s+CustomResourceDefinition$" }) do
      local found = false
      for _, l in ipairs(lines(res)) do found = found or l:match(want) ~= nil end
      assert.is_true(found, want .. " in\n" .. res)
    end
  end)

  it("has a Ready node named after the host, in every output format", function()
    local t = sb:ok({ "get", "nodes" })
    assert.matches("^NAME%s+STATUS%s+ROLES%s+AGE%s+VERSION\nsandbox%-node%s+Ready%s+control%-plane,master%s+%d+s%s+v1%.34%.0%+kip%-sandbox\n$", t)
    assert.equal("node/sandbox-node\n", sb:ok({ "get", "nodes", "-o", "name" }))
    assert.equal("True", sb:ok({ "get", "node", "sandbox-node", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}" }))
    local y = assert(yaml.decode(sb:ok({ "get", "node", "sandbox-node", "-o", "yaml" })))
    assert.equal("Node", y.kind)
    assert.matches("simulated", y.status.nodeInfo.osImage)
  end)

  it("creates a Deployment that rolls out ReplicaSet and Pods, and serves simulated logs", function()
    assert.matches("deployment.apps/api created", sb:ok({ "create", "-f", "-" }, DEPLOY))
    assert(sandbox.eventually(function()
      local d = get_json({ "deploy", "api" })
      return d.status and d.status.readyReplicas == 2 and d.status.availableReplicas == 2
    end, 10), "the deployment never became available")
    local d = get_json({ "deploy", "api" })
    assert.is_string(d.metadata.uid)
    assert.matches("^%d+$", d.metadata.resourceVersion)
    assert.equal(1, d.metadata.generation)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", d.metadata.creationTimestamp)
    assert.equal(1, d.status.observedGeneration)
    local rs = get_json({ "rs", "-l", "app=api" })
    assert.equal(1, #rs.items)
    assert.equal("Deployment", rs.items[1].metadata.ownerReferences[1].kind)
    local pods = get_json({ "pods", "-l", "app=api" })
    assert.equal(2, #pods.items)
    for _, p in ipairs(pods.items) do
      assert.equal("Running", p.status.phase)
      assert.equal("sandbox-node", p.spec.nodeName)
    end
    local logs = sb:ok({ "logs", "deploy/api", "--tail=3" })
    local ls = lines(logs)
    assert.equal(3, #ls)
    assert.matches("simulated log line %d+ from pod api%-%w+%-%w+ container api", ls[1])
    local table_out = sb:ok({ "get", "deploy" })
    assert.matches("api%s+2/2%s+2%s+2%s+%d+s", table_out)
  end)

  it("follows logs until the timeout", function()
    local pod = sb:ok({ "get", "pods", "-l", "app=api", "-o", "jsonpath={.items[0].metadata.name}" })
    local r = sb:kubectl({ "logs", "-f", pod, "--tail=1" }, nil, 3)
    assert.is_true(#lines(r.stdout) >= 2, "follow gave " .. r.stdout)
  end)

  it("selects by label and field", function()
    assert.equal("deployment.apps/api\n", sb:ok({ "get", "deploy", "-l", "tier=web", "-o", "name" }))
    assert.equal("deployment.apps/api\n", sb:ok({ "get", "deploy", "-l", "tier in (web,db),!canary", "-o", "name" }))
    local r = sb:kubectl({ "get", "deploy", "-l", "tier=db" })
    assert.equal(0, r.status)
    assert.matches("No resources found", r.stderr)
    assert.equal("deployment.apps/api\n", sb:ok({ "get", "deploy", "--field-selector", "metadata.name=api", "-o", "name" }))
  end)

  it("patches with merge, json and strategic patches and bumps generation on spec changes only", function()
    sb:ok({ "patch", "deploy", "api", "--type", "merge", "-p", '{"metadata":{"labels":{"team":"core"}}}' })
    assert.equal(1, get_json({ "deploy", "api" }).metadata.generation)
    sb:ok({ "patch", "deploy", "api", "--type", "json", "-p", '[{"op":"replace","path":"/spec/replicas","value":3}]' })
    sb:ok({ "patch", "deploy", "api", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"api","image":"ghcr.io/acme/api:v2"}]}}}}' })
    local d = get_json({ "deploy", "api" })
    assert.equal("core", d.metadata.labels.team)
    assert.equal(3, d.spec.replicas)
    assert.equal(3, d.metadata.generation)
    assert.equal("ghcr.io/acme/api:v2", d.spec.template.spec.containers[1].image)
    assert.equal(3000, d.spec.template.spec.containers[1].ports[1].containerPort, "strategic merge keeps other fields")
    local bad = sb:kubectl({ "patch", "deploy", "api", "--type", "json", "-p", '[{"op":"remove","path":"/spec/nope"}]' })
    assert.equal(1, bad.status)
    assert.matches("nope", bad.stderr)
  end)

  it("applies server-side with field managers and conflicts", function()
    local cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n  size: big\n"
    assert.matches("serverside%-applied", sb:ok({ "apply", "--server-side", "-f", "-" }, cm))
    local obj = get_json({ "cm", "settings" })
    assert.equal("kubectl", obj.metadata.managedFields[1].manager)
    assert.equal("Apply", obj.metadata.managedFields[1].operation)
    -- another manager takes a field; applying a different value then conflicts
    sb:ok({ "patch", "cm", "settings", "--type", "merge", "-p", '{"data":{"mode":"slow"}}', "--field-manager", "ops" })
    local r = sb:kubectl({ "apply", "--server-side", "-f", "-" }, cm)
    assert.equal(1, r.status)
    assert.matches("Apply failed with 1 conflict", r.stderr)
    assert.matches('%.data%.mode: conflict with "ops"', r.stderr)
    assert.matches("serverside%-applied", sb:ok({ "apply", "--server-side", "--force-conflicts", "-f", "-" }, cm))
    assert.equal("fast", get_json({ "cm", "settings" }).data.mode)
    -- a field no longer applied goes away
    sb:ok({ "apply", "--server-side", "-f", "-" }, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n")
    assert.is_nil(get_json({ "cm", "settings" }).data.size)
  end)

  it("answers NotFound, AlreadyExists, Conflict and Invalid as kube-apiserver does", function()
    local nf = sb:kubectl({ "get", "deploy", "nope" })
    assert.equal(1, nf.status)
    assert.equal('Error from server (NotFound): deployments.apps "nope" not found\n', nf.stderr)
    local dup = sb:kubectl({ "create", "-f", "-" }, DEPLOY)
    assert.matches('Error from server %(AlreadyExists%).*deployments.apps "api" already exists', dup.stderr)
    local raw = sb:kubectl({ "get", "--raw", "/api/v1/namespaces/default/pods/nope" })
    assert.equal(1, raw.status)
    local stale = get_json({ "cm", "settings" })
    stale.metadata.resourceVersion = "1"
    local conflict = sb:kubectl({ "replace", "-f", "-" }, assert(json.encode(stale)))
    assert.equal(1, conflict.status)
    assert.matches("Operation cannot be fulfilled on configmaps \"settings\": the object has been modified", conflict.stderr)
    local invalid = sb:kubectl({ "create", "-f", "-" },
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"image":"x","ports":[{"containerPort":"http"}]}]}}')
    assert.equal(1, invalid.status)
    assert.matches('The Pod "p" is invalid', invalid.stderr)
    assert.matches("spec%.containers%[0%]%.name: Required value", invalid.stderr)
    assert.matches("spec%.containers%[0%]%.ports%[0%]%.containerPort: Invalid value: \"http\"", invalid.stderr)
    local unknown = sb:kubectl({ "create", "-f", "-" }, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u"},"dataa":{}}')
    assert.equal(1, unknown.status)
    assert.matches('unknown field "dataa"', unknown.stderr)
    local badname = sb:kubectl({ "create", "-f", "-" }, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}')
    assert.matches("a lowercase RFC 1123 subdomain", badname.stderr)
  end)

  it("streams watch events", function()
    local proc = require "kip.proc"
    local out = sb.dir .. "/watch.json"
    local w = assert(proc.run({ "sh", "-c", string.format(
      "exec timeout 4 kubectl --kubeconfig %q get cm -w --output-watch-events -o json > %q 2>&1 & echo $!", sb.kubeconfig, out) }))
    assert(tonumber(w.stdout:match("%d+")))
    require("kip.server").sleep(1)
    sb:ok({ "create", "-f", "-" }, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"watched"},"data":{"a":"1"}}')
    sb:ok({ "patch", "cm", "watched", "--type", "merge", "-p", '{"data":{"a":"2"}}' })
    sb:ok({ "delete", "cm", "watched" })
    local text = sandbox.eventually(function()
      local t = require("kip.fs").read(out) or ""
      return t:find('"DELETED"') and t
    end, 8)
    assert.is_string(text, "no DELETED event arrived")
    local kinds = {}
    for _, l in ipairs(lines(text)) do
      local ev = json.decode(l)
      if ev and ev.object.metadata.name == "watched" then kinds[#kinds + 1] = ev.type end
    end
    assert.same({ "ADDED", "MODIFIED", "DELETED" }, kinds)
  end)

  it("registers CustomResourceDefinitions at run time and enforces their schema", function()
    sb:ok({ "apply", "--server-side", "-f", "-" }, CRD)
    assert(sandbox.eventually(function() return sb:kubectl({ "get", "widgets" }).status == 0 end, 5))
    sb:ok({ "create", "-f", "-" }, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3, color: red}\n")
    assert.matches("^NAME%s+SIZE%s+PHASE%s+AGE\nw1%s+3%s+%d+s\n$", sb:ok({ "get", "wd" }))
    local bad = sb:kubectl({ "create", "-f", "-" }, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0, color: green}\n")
    assert.equal(1, bad.status)
    assert.matches('The Widget "w2" is invalid', bad.stderr)
    assert.matches("spec%.color: Unsupported value: \"green\"", bad.stderr)
    assert.matches("spec%.size: Invalid value: 0", bad.stderr)
    -- the status subresource: a main update cannot change status, /status can
    sb:ok({ "patch", "widget", "w1", "--type", "merge", "-p", '{"status":{"phase":"Ignored"}}' })
    assert.is_nil(get_json({ "widget", "w1" }).status)
    sb:ok({ "patch", "widget", "w1", "--subresource", "status", "--type", "merge", "-p", '{"status":{"phase":"Ready"}}' })
    assert.equal("Ready", get_json({ "widget", "w1" }).status.phase)
    local crd = get_json({ "crd", "widgets.example.com" })
    assert.equal("True", crd.status.conditions[2].status)
    sb:ok({ "delete", "crd", "widgets.example.com" })
    assert.equal(1, sb:kubectl({ "get", "widgets" }).status)
  end)

  it("collects garbage: dependents go with their owner, orphans stay", function()
    sb:ok({ "delete", "deploy", "api" })
    assert(sandbox.eventually(function()
      return #get_json({ "rs", "-l", "app=api" }).items == 0 and #get_json({ "pods", "-l", "app=api" }).items == 0
    end, 5), "replicasets or pods of the deleted deployment remain")
    sb:ok({ "create", "-f", "-" }, (DEPLOY:gsub("name: api\n  labels", "name: keep\n  labels")))
    assert(sandbox.eventually(function() return #get_json({ "rs" }).items == 1 end, 5))
    sb:ok({ "delete", "deploy", "keep", "--cascade=orphan" })
    require("kip.server").sleep(0.5)
    local rs = get_json({ "rs" })
    assert.equal(1, #rs.items)
    assert.is_nil(rs.items[1].metadata.ownerReferences)
  end)

  it("deletes in the foreground: dependents first, then the owner", function()
    sb:ok({ "create", "-f", "-" }, (DEPLOY:gsub("name: api\n  labels", "name: fg\n  labels"):gsub("app: api", "app: fg")))
    assert(sandbox.eventually(function() return #get_json({ "pods", "-l", "app=fg" }).items == 2 end, 5))
    sb:ok({ "delete", "deploy", "fg", "--cascade=foreground", "--wait=false" })
    local d = sb:kubectl({ "get", "deploy", "fg", "-o", "json" })
    if d.status == 0 then
      local obj = assert(json.decode(d.stdout))
      assert.is_string(obj.metadata.deletionTimestamp)
      assert.same({ "foregroundDeletion" }, obj.metadata.finalizers)
    end
    assert(sandbox.eventually(function() return sb:kubectl({ "get", "deploy", "fg" }).status == 1 end, 5),
      "the owner was not removed after its dependents")
    assert.equal(0, #get_json({ "rs", "-l", "app=fg" }).items)
    assert.equal(0, #get_json({ "pods", "-l", "app=fg" }).items)
  end)

  it("holds deletion while finalizers remain", function()
    sb:ok({ "create", "-f", "-" }, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/hold"]}}')
    sb:ok({ "delete", "cm", "held", "--wait=false" })
    local cm = get_json({ "cm", "held" })
    assert.is_string(cm.metadata.deletionTimestamp)
    sb:ok({ "patch", "cm", "held", "--type", "merge", "-p", '{"metadata":{"finalizers":null}}' })
    assert.equal(1, sb:kubectl({ "get", "cm", "held" }).status)
  end)

  it("terminates a namespace and its contents", function()
    sb:ok({ "create", "-f", "-" }, '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}')
    sb:ok({ "create", "-n", "team", "-f", "-" }, DEPLOY)
    sb:ok({ "create", "-n", "team", "-f", "-" }, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}')
    sb:ok({ "delete", "ns", "team", "--wait=false" })
    assert(sandbox.eventually(function() return sb:kubectl({ "get", "ns", "team" }).status == 1 end, 5),
      "the namespace was not removed")
    local r = sb:kubectl({ "create", "-n", "team", "-f", "-" }, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}')
    assert.matches('namespaces "team" not found', r.stderr)
  end)

  it("serves k3s's HelmChart and runs its simulated install job", function()
    sb:ok({ "apply", "--server-side", "-f", "-" }, [[
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata: {name: cert-manager, namespace: kube-system}
spec: {chart: cert-manager, repo: "https://charts.jetstack.io", version: v1.18.2, targetNamespace: cert-manager, createNamespace: true}
]])
    assert(sandbox.eventually(function()
      local j = sb:kubectl({ "get", "job", "helm-install-cert-manager", "-n", "kube-system", "-o", "json" })
      local obj = j.status == 0 and json.decode(j.stdout)
      return obj and obj.status and obj.status.succeeded == 1
    end, 10), "the helm install job did not complete")
    local hc = get_json({ "helmchart", "cert-manager", "-n", "kube-system" })
    assert.equal("helm-install-cert-manager", hc.status.jobName)
    assert.matches("cert%-manager%s+helm%-install%-cert%-manager%s+cert%-manager%s+cert%-manager%s+v1%.18%.2",
      sb:ok({ "get", "helmcharts", "-A" }))
    assert.equal("storageclass.storage.k8s.io/local-path\n", sb:ok({ "get", "storageclass", "-o", "name" }))
  end)

  it("runs StatefulSets with bound volumes and Jobs to completion", function()
    sb:ok({ "create", "-f", "-" }, [[
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: postgres:16}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 5Gi}}}
]])
    sb:ok({ "create", "-f", "-" }, [[
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec: {containers: [{name: m, image: busybox}]}
]])
    assert(sandbox.eventually(function()
      local s = get_json({ "sts", "db" })
      return s.status and s.status.readyReplicas == 2
    end, 10), "the statefulset never became ready")
    assert.equal("Bound", get_json({ "pvc", "data-db-0" }).status.phase)
    assert.equal("5Gi", get_json({ "pvc", "data-db-1" }).status.capacity.storage)
    assert.equal("db-1", get_json({ "pod", "db-1" }).metadata.name)
    assert(sandbox.eventually(function()
      local j = get_json({ "job", "migrate" })
      return j.status and j.status.succeeded == 1
    end, 10), "the job never completed")
    assert.matches("migrate%s+Complete%s+1/1", sb:ok({ "get", "job" }))
  end)
end)

describe("the sandbox API's state file", function()
  it("keeps the cluster across a restart", function()
    local helpers = require "helpers"
    local dir = helpers.tmpdir()
    local sb = sandbox.start({ dir = dir, state = dir .. "/state.json" })
    sb:ok({ "create", "-f", "-" }, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kept"},"data":{"a":"1"}}')
    sb:ok({ "apply", "--server-side", "-f", "-" }, CRD)
    sb:ok({ "create", "-f", "-" }, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 2}\n")
    local before = assert(json.decode(sb:ok({ "get", "cm", "kept", "-o", "json" })))
    local port = sb.port
    sb:stop(true)
    local again = sandbox.start({ dir = dir, state = dir .. "/state.json", port = port })
    local after = assert(json.decode(again:ok({ "get", "cm", "kept", "-o", "json" })))
    assert.equal(before.metadata.uid, after.metadata.uid)
    assert.equal(before.metadata.resourceVersion, after.metadata.resourceVersion)
    assert.equal(2, assert(json.decode(again:ok({ "get", "widget", "w", "-o", "json" }))).spec.size)
    again:ok({ "create", "-f", "-" }, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"newer"}}')
    local newer = assert(json.decode(again:ok({ "get", "cm", "newer", "-o", "json" })))
    assert.is_true(tonumber(newer.metadata.resourceVersion) > tonumber(after.metadata.resourceVersion))
    again:stop()
  end)
end)
