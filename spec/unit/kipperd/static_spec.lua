-- SPDX-License-Identifier: Apache-2.0
-- kipperd.static's pieces: Accept-Encoding, which asset names count as hashed, finding the
-- console's folder, and the handler on requests as kip.server gives them (decoded paths: dot
-- segments, NUL, backslashes, hidden names). Real files in a temporary folder. HTTP dates:
-- spec/unit/util/time_spec.lua.
-- The same module over real HTTP: spec/integration/kipperd_console_spec.lua.
local fs = require "kip.fs"
local helpers = require "helpers"
local static = require "kipperd.static"

describe("kipperd.static", function()
  it("reads Accept-Encoding with q-values", function()
    assert.is_true(static.accepts_gzip("gzip, deflate, br"))
    assert.is_true(static.accepts_gzip("br;q=1.0, GZIP;q=0.5"))
    assert.is_true(static.accepts_gzip("*"))
    assert.is_true(static.accepts_gzip("x-gzip"))
    assert.is_false(static.accepts_gzip(nil))
    assert.is_false(static.accepts_gzip("identity"))
    assert.is_false(static.accepts_gzip("gzip;q=0"))
    assert.is_false(static.accepts_gzip("*;q=0.5, gzip;q=0"))
    assert.is_false(static.accepts_gzip("br"))
  end)

  it("counts Vite's NAME-HASH names under assets/ as hashed, and nothing else", function()
    for _, rel in ipairs({ "assets/index-Bx3kQ2aZ.js", "assets/index-D-x3kQ2a.js", "assets/vendor-vue-Ab12Cd34.js",
      "assets/index-Bx3kQ2aZ.js.map", "assets/inter-latin-400-9fK2mX1q.woff2" }) do
      assert.is_true(static.is_hashed(rel), rel)
    end
    for _, rel in ipairs({ "index.html", "favicon.ico", "index-Bx3kQ2aZ.js", "assets/my-component.js",
      "assets/logo.svg", "assets/file-abcdefgh.js", "assets/sub/x", "assets/-Bx3kQ2aZ.js" }) do
      assert.is_false(static.is_hashed(rel), rel)
    end
  end)

  describe("with a folder", function()
    local dir, root, console

    before_each(function()
      dir = helpers.tmpdir()
      root = dir .. "/console"
      assert(fs.mkdir(root .. "/assets"))
      assert(fs.write(root .. "/index.html", "<html>index</html>"))
      assert(fs.write(root .. "/assets/app-Bx3kQ2aZ.js", "js"))
      assert(fs.write(root .. "/.hidden", "hidden"))
      assert(fs.write(dir .. "/secret", "secret"))
      console = assert(static.new({ root = root }))
    end)

    after_each(function() helpers.rmtree(dir) end)

    local function req(path, headers, method)
      return console:handle({ method = method or "GET", path = path, query = "", headers = headers or {}, body = "" })
    end

    it("finds the named folder or the first candidate holding an index.html", function()
      assert.equal(fs.realpath(root), static.find_dir(root))
      local none, msg, named = static.find_dir(dir)
      assert.is_nil(none)
      assert.matches("no console in .*: it has no index%.html", msg)
      assert.is_true(named)
      assert.equal(fs.realpath(root), static.find_dir(nil, { dir .. "/nowhere", root }))
      none, msg, named = static.find_dir(nil, { dir .. "/nowhere", dir })
      assert.is_nil(none)
      assert.is_falsy(named)
      assert.equal("no console found (looked in " .. dir .. "/nowhere, " .. dir .. ")", msg)
      assert.is_nil(static.new({ root = dir .. "/nowhere" }))
    end)

    it("refuses dot segments, NUL and backslashes (400), hidden names (404) and other methods (405)", function()
      for _, path in ipairs({ "/../secret", "/assets/../../secret", "/./index.html", "/a\0b", "/..\\secret", "relative" }) do
        assert.equal(400, req(path).status, path)
      end
      assert.equal(404, req("/.hidden").status)
      assert.equal(404, req("/.hidden", { accept = "text/html" }).status)
      local r = req("/", nil, "POST")
      assert.equal(405, r.status)
      assert.equal("GET, HEAD", r.headers.Allow)
    end)

    it("serves files, folders' index.html and the history fallback", function()
      assert.equal("<html>index</html>", req("/").body)
      assert.equal("js", req("//assets//app-Bx3kQ2aZ.js").body)
      assert.equal(404, req("/assets").status)
      assert.equal(404, req("/apps/web").status)
      assert.equal("<html>index</html>", req("/apps/web", { accept = "text/html" }).body)
      assert.equal(404, req("/api/v1/x", { accept = "text/html" }).status)
      assert.equal(404, req("/app.css", { accept = "text/html" }).status)
    end)
  end)
end)
