-- SPDX-License-Identifier: Apache-2.0
-- kipperd's command line through the real binary: help, usage errors (exit 2) and failures to
-- start (exit 1) as "kipperd: error: WHAT" plus what to do. Its behaviour against an API is in
-- spec/integration/kipperd_spec.lua.
local helpers = require "helpers"
local kipperd = require "helpers.kipperd"
local proc = require "kip.proc"

local function run(args, env)
  local argv = { kipperd.bin() }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local e = { KUBERNETES_SERVICE_HOST = false, KUBERNETES_SERVICE_PORT = false, KIP_PLUGIN_PATH = false }
  for k, v in pairs(env or {}) do e[k] = v end
  return assert(proc.run(argv, { env = e, timeout = 30 }))
end

describe("kipperd (command line)", function()
  it("shows its help with --help and -h", function()
    for _, flag in ipairs({ "--help", "-h" }) do
      local r = run({ flag })
      assert.equal(0, r.status)
      assert.matches("Usage:\n  kipperd %-%-kubeconfig FILE", r.stdout)
      for _, f in ipairs({ "--in-cluster", "--listen", "--cluster-id", "--zone", "--policies", "-v, --verbose" }) do
        assert.matches(f, r.stdout, 1, true)
      end
      assert.matches("/healthz", r.stdout, 1, true)
      assert.equal("", r.stderr)
    end
  end)

  it("exits 2 on usage errors, saying what is wrong", function()
    local cases = {
      { {}, "%-%-kubeconfig FILE or %-%-in%-cluster is required" },
      { { "--kubeconfig", "x", "--in-cluster" }, "%-%-kubeconfig and %-%-in%-cluster exclude each other" },
      { { "--kubeconfig", "x", "--listen", "8080" }, "%-%-listen takes ADDRESS:PORT" },
      { { "--kubeconfig", "x", "--policies", "a/b" }, "%-%-policies: \"a/b\" is not a policy name" },
      { { "--kubeconfig", "x", "--bogus" }, "unknown flag %-%-bogus for 'kipperd'" },
    }
    for _, case in ipairs(cases) do
      local r = run(case[1])
      assert.equal(2, r.status, table.concat(case[1], " "))
      assert.matches("^kipperd: error: " .. case[2], r.stderr)
    end
  end)

  it("exits 1 when it cannot start: a missing kubeconfig, no cluster around it, a broken policy", function()
    local dir = helpers.tmpdir()
    local r = run({ "--kubeconfig", dir .. "/missing" })
    assert.equal(1, r.status)
    assert.matches("^kipperd: error: .*missing", r.stderr)
    r = run({ "--in-cluster" })
    assert.equal(1, r.status)
    assert.matches("not running in a cluster: KUBERNETES_SERVICE_HOST", r.stderr)
    helpers.write(dir .. "/plugins/reconcilers/app.lua", "return {")
    helpers.write(dir .. "/kubeconfig", "apiVersion: v1\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n" ..
      "contexts: [{name: c, context: {cluster: c}}]\ncurrent-context: c\n")
    r = run({ "--kubeconfig", dir .. "/kubeconfig", "--policies", "app" }, { KIP_PLUGIN_PATH = dir })
    assert.equal(1, r.status)
    assert.matches("^kipperd: error: cannot load the reconcile policy app", r.stderr)
    assert.matches("Fix the policy, or leave it out with %-%-policies%.", r.stderr)
    helpers.rmtree(dir)
  end)
end)
