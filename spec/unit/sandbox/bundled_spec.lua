-- SPDX-License-Identifier: Apache-2.0
-- kip.sandbox.bundled: k3s's bundled traefik.yaml written into the manifests folder, and removed
-- again with --disable traefik.
local bundled = require "kip.sandbox.bundled"
local fs = require "kip.fs"
local helpers = require "helpers"
local yaml = require "kip.yaml"

describe("kip.sandbox.bundled", function()
  it("writes traefik.yaml with k3s's two HelmCharts, and removes it when Traefik is disabled", function()
    local dir = helpers.tmpdir()
    finally(function() helpers.rmtree(dir) end)
    assert(bundled.write(dir .. "/manifests", {}))
    local text = assert(fs.read(dir .. "/manifests/traefik.yaml"))
    local names = {}
    for doc in (text .. "\n"):gmatch("(.-)\n%-%-%-\n") do names[#names + 1] = yaml.decode(doc).metadata.name end
    names[#names + 1] = yaml.decode(text:match(".*\n%-%-%-\n(.*)$")).metadata.name
    assert.same({ "traefik-crd", "traefik" }, names)
    assert.matches("traefik%-" .. bundled.TRAEFIK_VERSION:gsub("%p", "%%%0") .. "%.tgz", text)
    assert(bundled.write(dir .. "/manifests", { traefik = true }))
    assert.is_false(fs.exists(dir .. "/manifests/traefik.yaml"))
  end)
end)
