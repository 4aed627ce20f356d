-- SPDX-License-Identifier: Apache-2.0
-- Every core module listed in core/src/bind/registry.c has a LuaCATS stub in lua/kip/_meta/ and
-- a page in docs/lua-api/, and every function the module exports is in both.
local fs = require "kip.fs"

local function registry_modules()
  local text = assert(fs.read("core/src/bind/registry.c"))
  local mods = {}
  for name in text:gmatch('{"(kip%.[%w_]+)", luaopen_') do mods[#mods + 1] = name end
  return mods
end

describe("core module registry", function()
  local mods = registry_modules()

  it("is not empty", function()
    assert.is_true(#mods >= 5)
  end)

  for _, name in ipairs(mods) do
    local short = name:match("^kip%.(.+)$")
    it(name .. " has a _meta stub and a docs/lua-api page naming every function", function()
      local stub = fs.read("lua/kip/_meta/" .. short .. ".lua")
      assert.is_string(stub, "missing lua/kip/_meta/" .. short .. ".lua")
      local page = fs.read("docs/lua-api/" .. short .. ".md")
      assert.is_string(page, "missing docs/lua-api/" .. short .. ".md")
      for fname, v in pairs(require(name)) do
        if type(v) == "function" then
          assert.matches("function " .. short .. "%." .. fname .. "%(", stub, nil, name .. "." .. fname .. " missing from the stub")
          assert.matches(short .. "%." .. fname .. "%(", page, nil, name .. "." .. fname .. " missing from docs/lua-api/" .. short .. ".md")
        end
      end
    end)
  end
end)
