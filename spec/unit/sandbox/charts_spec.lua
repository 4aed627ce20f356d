-- SPDX-License-Identifier: Apache-2.0
-- kip.sandbox.sim.charts: chart names as HelmCharts write them (plain, repo/name, a bundled
-- chart's archive URL) and every stand-in chart's objects accepted by an in-process sandbox API
-- (schemas, CRDs registered). Uses kip.sandbox.api and kip.sandbox.managed.
local api_mod = require "kip.sandbox.api"
local charts = require "kip.sandbox.sim.charts"
local managed = require "kip.sandbox.managed"

describe("kip.sandbox.sim.charts", function()
  it("names charts as spec.chart writes them", function()
    assert.equal("cert-manager", charts.name_of("cert-manager"))
    assert.equal("cert-manager", charts.name_of("jetstack/cert-manager"))
    assert.equal("traefik", charts.name_of("https://%{KUBERNETES_API}%/static/charts/traefik-34.2.1+up34.2.0.tgz"))
    assert.equal("traefik-crd", charts.name_of("https://%{KUBERNETES_API}%/static/charts/traefik-crd-34.2.1+up34.2.0.tgz"))
    assert.is_nil(charts.objects("mystery", { namespace = "x", release = "x", version = "" }))
  end)

  for name in pairs(charts.charts) do
    it("installs " .. name .. " into a sandbox API without a refusal", function()
      local api = api_mod.new({ address = "127.0.0.1:0" })
      api:create(api.registry:get("", "v1", "namespaces"), nil, { metadata = { name = "target" } })
      local objects = assert(charts.objects(name, { namespace = "target", release = name, version = "" }))
      assert.is_true(#objects > 0)
      for _, obj in ipairs(objects) do
        local def = assert(api.registry:by_kind(obj.apiVersion, obj.kind), obj.kind)
        local ok, err = pcall(managed.apply, api, def, def.namespaced and "target" or nil, obj.metadata.name, obj,
          { manager = "helm", force = true })
        assert.is_true(ok, obj.kind .. " " .. obj.metadata.name .. ": " .. tostring(err))
      end
    end)
  end
end)
