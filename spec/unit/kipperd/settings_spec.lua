-- SPDX-License-Identifier: Apache-2.0
-- kipperd.settings: the cluster settings from kipper-config, with flags on top.
local settings = require "kipperd.settings"

describe("kipperd.settings", function()
  it("takes the ConfigMap's values and fills the rest with defaults", function()
    local s = settings.merge({ clusterId = "203-0-113-10", issuer = "letsencrypt" })
    assert.same({ clusterId = "203-0-113-10", zone = "kipper.run", issuer = "letsencrypt",
      storageClass = "local-path", ingressClass = "traefik" }, s)
  end)

  it("lets --cluster-id and --zone win", function()
    local s = settings.merge({ clusterId = "a", zone = "b" }, { cluster_id = "c", zone = "example.com" })
    assert.equal("c", s.clusterId)
    assert.equal("example.com", s.zone)
  end)

  it("has no cluster ID without a ConfigMap", function()
    assert.equal("", settings.merge(nil).clusterId)
  end)

  it("reads the ConfigMap through a client, and warns when it is missing", function()
    local function client(answer, code)
      return { get = function(_, av, kind, name, ns)
        assert.same({ "v1", "ConfigMap", "kipper-config", "kipper-system" }, { av, kind, name, ns })
        if answer then return answer end
        return nil, "configmaps \"kipper-config\" not found", code
      end }
    end
    local s, warn = settings.load(client({ data = { clusterId = "1-2-3-4" } }))
    assert.equal("1-2-3-4", s.clusterId)
    assert.is_nil(warn)
    s, warn = settings.load(client(nil, "notfound"))
    assert.equal("", s.clusterId)
    assert.matches("not found", warn)
    s, warn = settings.load(client(nil, "connect"))
    assert.is_nil(s)
    assert.matches("cannot read ConfigMap kipper%-system/kipper%-config", warn)
  end)
end)
