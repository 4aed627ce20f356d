-- SPDX-License-Identifier: Apache-2.0
-- kip install with a kipper-gateway, end to end: the real kip installs on a test host (this
-- machine's sshd in its own namespaces, spec/helpers/testhost.lua, whose stand-in k3s serves the
-- sandbox API) without a gateway first; openssl s_server then serves the cluster's default
-- certificate (Secret kube-system/kipper-default-tls, read through that API) on 127.0.0.1:443 as
-- Traefik would, and a re-run with gateway=URL registers the cluster with a real kipper-gateway:
-- the claim goes from the server over SSH with curl, the gateway pins the served key, kip keeps
-- the token in Secret kipper-system/kipper-gateway; a third run has nothing to do. Needs root.
-- Uses helpers.testhost, helpers.gateway, kip.domain.store, kip.tls, kip.proc, kip.fs.
local domain_store = require "kip.domain.store"
local fs = require "kip.fs"
local gateway = require "helpers.gateway"
local helpers = require "helpers"
local json = require "kip.json"
local proc = require "kip.proc"
local testhost = require "helpers.testhost"
local tls = require "kip.tls"

local available, why = testhost.available()
if not available then
  describe("kip install with a gateway", function() pending("needs root, sshd, unshare and sudo: " .. why) end)
  return
end

describe("kip install with a gateway", function()
  local home, dir, installer, server, api_port, s_server, g

  local function kip(args)
    return helpers.kip(args, { env = { KIP_HOME = home, SSH_AUTH_SOCK = false }, timeout = 240 })
  end

  local function install(gateway_url)
    return kip({ "install", "--host", server.address, "--ssh-port", tostring(server.port), "--ssh-key", server.key,
      "--accept-host-key", "--set", "k3s.install_script_url=" .. installer.url, "--set", "k3s.api_port=" .. api_port,
      "--set", "wait.timeout=60", "--set", "preflight.min_disk_gb=1", "--set", "gateway=" .. gateway_url, "-o", "json" })
  end

  -- A Secret read through the cluster's API (the sandbox API behind the stand-in k3s).
  local function secret(namespace, name)
    local r = assert(proc.run({ "kubectl", "--kubeconfig", home .. "/clusters/127-0-0-1/kubeconfig", "-n", namespace,
      "get", "secret", name, "-o", "json" }, { timeout = 30 }))
    assert.equals(0, r.status, r.stderr)
    local s = assert(json.decode(r.stdout))
    local data = {}
    for k, v in pairs(s.data or {}) do data[k] = assert(tls.base64_decode(v)) end
    return data
  end

  setup(function()
    home = helpers.tmpdir()
    dir = helpers.tmpdir()
    installer = testhost.serve_installer()
    server = testhost.start({ hostname = "kip-gw-server" })
    api_port = require("helpers.sshd").free_port()
  end)

  teardown(function()
    if g then g:stop() end
    if s_server then s_server.stop() end
    if server then server:stop() end
    if installer then installer.stop() end
    helpers.rmtree(home)
    helpers.rmtree(dir)
  end)

  it("registers the cluster on a re-run with gateway=URL, keeps the token, and then has nothing to do", function()
    local r = install("")
    assert.equals(0, r.status, r.stdout .. r.stderr)
    assert.matches("Register the cluster's domain with the gateway %.%.%. skipped: no gateway", r.stderr)

    -- the cluster serves its default certificate on 443, as Traefik does
    local tls_secret = secret(domain_store.TLS_NAMESPACE, domain_store.TLS_NAME)
    assert(fs.write(dir .. "/default.crt", assert(tls_secret["tls.crt"])))
    assert(fs.write(dir .. "/default.key", assert(tls_secret["tls.key"]), { mode = "0600" }))
    local key = assert(tls.load_key(tls_secret["tls.key"]))
    s_server = gateway.s_server({ ip = "127.0.0.1", cert = dir .. "/default.crt", key = dir .. "/default.key",
      log = dir .. "/s_server.log" })
    g = gateway.start(dir, { "--allow-private-upstreams", "--listen", "127.0.0.1:0" })
    -- the server's curl, wrapped to record how it was called (the claim must go out from there)
    server:write("/usr/local/bin/curl", "#!/bin/sh\n" ..
      "printf '%s\\n' \"$*\" >> /tmp/curl-calls\ncat > /tmp/curl-stdin\nexec /usr/bin/curl \"$@\" < /tmp/curl-stdin\n", "0755")

    r = install(g:url())
    assert.equals(0, r.status, r.stdout .. r.stderr)
    local out = r.stdout .. r.stderr
    assert.is_nil(out:find("not registered with the gateway", 1, true), out .. "\n" .. g:output())
    assert.matches("Register the cluster's domain with the gateway %.%.%. done", r.stderr)
    assert.matches("registered: https://127%-0%-0%-1%.kipper%.run", out)
    local result = assert(json.decode(r.stdout))
    assert.equals(1, result.ran)
    -- the claim came from the server (over SSH, with curl, the token not in its argv), the proof
    -- with the served key
    assert.equals("--config -\n", server:read("/tmp/curl-calls"))
    assert.matches('url = "' .. g:url("/v1/clusters") .. '"', server:read("/tmp/curl-stdin"), 1, true)
    assert.matches("registration started cluster=127%-0%-0%-1 ip=127%.0%.0%.1", g:output())
    assert.matches("cluster proved its claim cluster=127%-0%-0%-1", g:output())
    local rec = json.decode(assert(fs.read(dir .. "/registry.json"))).clusters["127-0-0-1"]
    assert.equals("active", rec.state)
    assert.equals("self", rec.owner)
    assert.equals("127.0.0.1", rec.ip)
    assert.equals(domain_store.pin(key), rec.pin)
    -- and the cluster is reached by its name through the gateway's proxy
    local page
    assert(helpers.eventually(function()
      page = assert(proc.run({ "curl", "-sS", "--max-time", "20", "-H", "Host: console-127-0-0-1.kipper.run",
        "http://127.0.0.1:" .. g.listen .. "/" }, { timeout = 30 })).stdout
      return page:find("Ciphers supported in s_server binary", 1, true)
    end, 10), page)
    -- kipperd's heartbeats use the token kip kept
    local kept = secret(domain_store.NAMESPACE, domain_store.NAME)
    assert.equals(g:url(), kept.gateway)
    assert.equals("127-0-0-1", kept.cluster)
    assert.equals(rec.token_sha256, tls.sha256_hex(kept.token))

    r = install(g:url())
    assert.equals(0, r.status, r.stdout .. r.stderr)
    assert.equals(0, assert(json.decode(r.stdout)).ran)
    assert.matches("Register the cluster's domain with the gateway %.%.%. skipped: registered already", r.stderr)
  end)
end)
