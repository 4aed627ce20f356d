-- SPDX-License-Identifier: Apache-2.0
-- kip.host: program, executable and data directory as kip_host_open set them; versions.
local host = require "kip.host"
local fs = require "kip.fs"

describe("kip.host", function()
  it("knows the running kip and where its Lua files are", function()
    assert.equal("kip", host.program())
    assert.matches("/kip$", host.exe())
    assert.is_true(fs.exists(host.data_dir() .. "/lua/kip/cli/main.lua"))
    assert.equal("directory", fs.stat(host.data_dir() .. "/lua").type)
  end)

  it("reports its version and the libraries' versions", function()
    local version, commit = host.version()
    assert.matches("^%d+%.%d+%.%d+$", version)
    assert.is_string(commit)
    local libs = host.libraries()
    assert.equal(6, #libs)
    for _, lib in ipairs(libs) do assert.matches("%d", lib.version) end
  end)

  it("tells whether a stream is a terminal", function()
    assert.is_boolean(host.isatty("stdout"))
    assert.has_error(function() host.isatty("stdfoo") end)
  end)
end)
