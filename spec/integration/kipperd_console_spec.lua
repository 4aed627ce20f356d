-- SPDX-License-Identifier: Apache-2.0
-- kipperd serving a console (--console DIR, kipperd.static) over real HTTP: a fixture shaped like a
-- Vite build (index.html, hashed assets with .gz copies, a file of every served type) next to a
-- secret file outside it; the real kipperd against the sandbox API. Content types, caching, ETag
-- and Last-Modified with 304, gzip, HEAD, the history fallback (never for /api/ or missing assets),
-- security headers on HTML, and traversal attempts sent raw (curl --path-as-is and a socket
-- client, since HTTP clients normalise paths) that must never reach the secret. Uses
-- helpers.console_api (the sandbox, kipperd and a kip.http client), helpers.kipperd, kip.proc and
-- kip.fs.
local console_api = require "helpers.console_api"
local fs = require "kip.fs"
local helpers = require "helpers"
local kipperd = require "helpers.kipperd"
local proc = require "kip.proc"

local SECRET = "TOP-SECRET-5f1c"
local INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-Bx3kQ2aZ.js"></script></head>' ..
  '<body><div id="app"></div></body></html>\n'
local JS = string.rep("console.log('kipper console');\n", 200)

describe("kipperd console serving", function()
  local env, sb, kd, client, base, dir, root

  setup(function()
    dir = helpers.tmpdir()
    root = dir .. "/console"
    assert(fs.mkdir(root .. "/assets"))
    assert(fs.write(dir .. "/secret.txt", SECRET .. "\n"))
    assert(fs.write(dir .. "/secret", SECRET .. "\n"))
    assert(fs.write(root .. "/index.html", INDEX))
    assert(fs.write(root .. "/assets/index-Bx3kQ2aZ.js", JS))
    assert(fs.write(root .. "/assets/index-D4x_k9Qe.css", "body{margin:0}\n"))
    assert(fs.write(root .. "/assets/chunk-A1b2C3d4.mjs", "export default 1\n"))
    assert(fs.write(root .. "/assets/logo-9fK2mX1q.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>\n"))
    assert(fs.write(root .. "/assets/icon-Zz9Yy8Xx.png", "\137PNG\r\n\26\n"))
    assert(fs.write(root .. "/assets/inter-Q7w8E9r0.woff2", "wOF2"))
    assert(fs.write(root .. "/assets/index-Bx3kQ2aZ.js.map", "{\"version\":3}\n"))
    assert(fs.write(root .. "/favicon.ico", "\0\0\1\0"))
    assert(fs.write(root .. "/manifest.json", "{}\n"))
    assert(fs.write(root .. "/robots.txt", "User-agent: *\n"))
    assert(fs.write(root .. "/.env", SECRET .. "\n"))
    for _, f in ipairs({ "index.html", "assets/index-Bx3kQ2aZ.js" }) do
      local r = assert(proc.run({ "gzip", "-k", "-9", root .. "/" .. f }))
      assert.equal(0, r.status, r.stderr)
    end
    -- links: one out of the folder (never served), one inside it (served)
    assert(proc.run({ "ln", "-s", dir .. "/secret.txt", root .. "/leak.txt" }))
    assert(proc.run({ "ln", "-s", "..", root .. "/up" }))
    assert(proc.run({ "ln", "-s", "index-Bx3kQ2aZ.js", root .. "/assets/alias.js" }))
    env = console_api.start({ policies = "app", args = { "--console", root } })
    sb, kd, client, base = env.sb, env.kd, env.client, env.base
  end)

  teardown(function()
    if env then env:stop() end
    if dir then helpers.rmtree(dir) end
  end)

  local header = console_api.header

  local function get(path, headers, method)
    return assert(client:request({ method = method or "GET", url = base .. path, headers = headers or {}, timeout = 10 }))
  end

  -- Sends request bytes as they are; returns the status, the headers' text and the body.
  local function raw(request)
    local r = assert(proc.run({ "python3", "spec/helpers/gw_client.py", "raw", tostring(kd.port), "--timeout", "5" },
      { stdin = request, timeout = 20 }))
    assert.equal(0, r.status, r.stderr)
    local head, body = r.stdout:match("^(.-)\r\n\r\n(.*)$")
    return tonumber((head or r.stdout):match("^HTTP/1%.%d (%d+)")), head or r.stdout, body or ""
  end

  local function raw_get(target, accept)
    return raw(string.format("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: %s\r\nConnection: close\r\n\r\n",
      target, accept or "*/*"))
  end

  it("logs that it serves the console", function()
    assert.matches("console: serving " .. (fs.realpath(root):gsub("%p", "%%%0")) .. " at /", kd:output())
  end)

  it("serves index.html at / with security headers and revalidation", function()
    local r = get("/")
    assert.equal(200, r.status)
    assert.equal(INDEX, r.body)
    assert.equal("text/html; charset=utf-8", header(r, "content-type"))
    assert.equal("no-cache", header(r, "cache-control"))
    assert.equal("nosniff", header(r, "x-content-type-options"))
    local csp = header(r, "content-security-policy")
    for _, directive in ipairs({ "default-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "script-src 'self'",
      "object-src 'none'" }) do
      assert.truthy(csp:find(directive, 1, true), directive .. " missing from " .. csp)
    end
    assert.is_nil(csp:find("unsafe", 1, true), csp)
    assert.equal("same-origin", header(r, "referrer-policy"))
    assert.equal("DENY", header(r, "x-frame-options"))
    assert.equal(r.body, get("/index.html").body)
  end)

  it("gives each extension its content type and hashed assets a year of immutable caching", function()
    local cases = {
      { "/assets/index-Bx3kQ2aZ.js", "text/javascript; charset=utf-8", true },
      { "/assets/chunk-A1b2C3d4.mjs", "text/javascript; charset=utf-8", true },
      { "/assets/index-D4x_k9Qe.css", "text/css; charset=utf-8", true },
      { "/assets/logo-9fK2mX1q.svg", "image/svg+xml", true },
      { "/assets/icon-Zz9Yy8Xx.png", "image/png", true },
      { "/assets/inter-Q7w8E9r0.woff2", "font/woff2", true },
      { "/assets/index-Bx3kQ2aZ.js.map", "application/json", true },
      { "/favicon.ico", "image/x-icon", false },
      { "/manifest.json", "application/json", false },
      { "/robots.txt", "text/plain; charset=utf-8", false },
    }
    for _, case in ipairs(cases) do
      local r = get(case[1])
      assert.equal(200, r.status, case[1])
      assert.equal(case[2], header(r, "content-type"), case[1])
      assert.equal(case[3] and "public, max-age=31536000, immutable" or "no-cache", header(r, "cache-control"), case[1])
      assert.equal("nosniff", header(r, "x-content-type-options"), case[1])
      assert.is_nil(header(r, "content-security-policy"), case[1])
    end
    assert.equal(fs.read(root .. "/assets/icon-Zz9Yy8Xx.png"), get("/assets/icon-Zz9Yy8Xx.png").body)
  end)

  it("answers 304 to a current ETag or Last-Modified, 200 to a stale one", function()
    local r = get("/assets/index-Bx3kQ2aZ.js")
    local etag, modified = header(r, "etag"), header(r, "last-modified")
    assert.matches('^"[%x]+%-[%x]+"$', etag)
    assert.matches("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$", modified)
    local nm = get("/assets/index-Bx3kQ2aZ.js", { ["If-None-Match"] = etag })
    assert.equal(304, nm.status)
    assert.equal("", nm.body)
    assert.equal(etag, header(nm, "etag"))
    assert.equal("public, max-age=31536000, immutable", header(nm, "cache-control"))
    assert.equal(304, get("/assets/index-Bx3kQ2aZ.js", { ["If-None-Match"] = '"other", W/' .. etag }).status)
    assert.equal(200, get("/assets/index-Bx3kQ2aZ.js", { ["If-None-Match"] = '"other"' }).status)
    assert.equal(304, get("/assets/index-Bx3kQ2aZ.js", { ["If-Modified-Since"] = modified }).status)
    assert.equal(200, get("/assets/index-Bx3kQ2aZ.js", { ["If-Modified-Since"] = "Thu, 01 Jan 1970 00:00:01 GMT" }).status)
    -- If-None-Match wins over If-Modified-Since
    assert.equal(200, get("/assets/index-Bx3kQ2aZ.js", { ["If-None-Match"] = '"other"', ["If-Modified-Since"] = modified }).status)
    local idx = get("/")
    assert.equal(304, get("/", { ["If-None-Match"] = header(idx, "etag") }).status)
  end)

  it("sends a 304 without content or Content-Length, and keeps the connection", function()
    local etag = header(get("/robots.txt"), "etag")
    local req = "GET /robots.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: " .. etag .. "\r\n\r\n" ..
      "GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    local status, head, rest = raw(req)
    assert.equal(304, status)
    assert.is_nil(head:lower():find("content%-length"), head)
    assert.matches("[Ee][Tt]ag: " .. etag:gsub("%p", "%%%0"), head)
    assert.matches("^HTTP/1%.1 200 OK\r\n.*\r\n\r\nUser%-agent: %*\n$", rest)
  end)

  it("sends FILE.gz to clients that take gzip, with Vary", function()
    local plain = get("/assets/index-Bx3kQ2aZ.js", { ["Accept-Encoding"] = "identity" })
    assert.equal(JS, plain.body)
    assert.is_nil(header(plain, "content-encoding"))
    assert.equal("Accept-Encoding", header(plain, "vary"))
    local gz = get("/assets/index-Bx3kQ2aZ.js", { ["Accept-Encoding"] = "br, gzip;q=0.8" })
    assert.equal("gzip", header(gz, "content-encoding"))
    assert.equal("Accept-Encoding", header(gz, "vary"))
    assert.equal("text/javascript; charset=utf-8", header(gz, "content-type"))
    assert.equal(fs.read(root .. "/assets/index-Bx3kQ2aZ.js.gz"), gz.body)
    assert.is_true(#gz.body < #JS)
    assert.are_not.equal(header(plain, "etag"), header(gz, "etag"))
    assert.is_nil(header(get("/assets/index-Bx3kQ2aZ.js", { ["Accept-Encoding"] = "gzip;q=0" }), "content-encoding"))
    -- curl decodes it back to the original
    local r = assert(proc.run({ "curl", "-sS", "--compressed", base .. "/" }))
    assert.equal(INDEX, r.stdout)
    -- no .gz: identity, no Vary
    local css = get("/assets/index-D4x_k9Qe.css", { ["Accept-Encoding"] = "gzip" })
    assert.is_nil(header(css, "content-encoding"))
    assert.is_nil(header(css, "vary"))
  end)

  it("answers HEAD with the headers and length of GET and no body", function()
    local status, head, body = raw("HEAD /assets/index-Bx3kQ2aZ.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert.equal(200, status)
    assert.equal("", body)
    assert.matches("\r\nContent%-Length: " .. #JS .. "\r\n", head .. "\r\n")
    assert.matches("[Cc]ache%-[Cc]ontrol: public, max%-age=31536000, immutable", head)
  end)

  it("gives browser navigations index.html, but never for /api/, assets or files", function()
    local html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for _, path in ipairs({ "/apps", "/projects/shop/apps/web", "/users/ann@example.com", "/deep/path/" }) do
      local r = get(path, { Accept = html })
      assert.equal(200, r.status, path)
      assert.equal(INDEX, r.body, path)
      assert.equal("no-cache", header(r, "cache-control"), path)
      assert.truthy(header(r, "content-security-policy"), path)
    end
    assert.equal(404, get("/apps", { Accept = "*/*" }).status)
    assert.equal(404, get("/assets/index-XXXXXXXX.js", { Accept = html }).status)
    assert.equal(404, get("/assets/missing", { Accept = html }).status)
    assert.equal(404, get("/missing.js", { Accept = html }).status)
    assert.equal(404, get("/api", { Accept = html }).status)
    local api = get("/api/v1/no-such-thing", { Accept = html })
    assert.equal(404, api.status)
    assert.equal("application/json", header(api, "content-type"))
    assert.are_not.equal(INDEX, api.body)
    -- the API and the probes are still kipperd's
    assert.equal(401, get("/api/v1/auth/me", { Accept = html }).status)
    assert.equal("ok\n", get("/healthz", { Accept = html }).body)
    assert.equal(405, get("/", nil, "POST").status)
  end)

  it("serves links that stay inside the folder, and nothing outside it", function()
    assert.equal(JS, get("/assets/alias.js").body)
    assert.equal(404, get("/leak.txt").status)
    assert.equal(404, get("/up/secret.txt").status)
    assert.equal(404, get("/.env").status)
  end)

  it("never serves a file outside the folder, whatever the request path", function()
    local abs = dir .. "/secret.txt"
    local targets = {
      "/../secret.txt", "/../../../../../../etc/passwd", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
      "/..%2fsecret.txt", "/..%2Fsecret.txt", "/assets/..%2f..%2fsecret.txt", "/%2e%2e%2fsecret.txt",
      "/assets/%2e%2e/%2e%2e/secret.txt", "/..%5csecret.txt", "/..\\secret.txt", "/%5c..%5csecret.txt",
      "/secret.txt%00.js", "/..%00/secret.txt", "/%00../secret.txt", "/index.html%00/../../secret.txt",
      "//" .. abs:sub(2), abs, "/%2f" .. abs:sub(2), "/.%2e/secret", "/..;/secret.txt", "/up/secret.txt",
      "/up/up/secret", "/leak.txt", "/up%2fsecret.txt", "/%252e%252e/secret.txt",
    }
    for _, target in ipairs(targets) do
      for _, accept in ipairs({ "*/*", "text/html" }) do
        local status, _, body = raw_get(target, accept)
        assert.is_nil(body:find(SECRET, 1, true), target .. " leaked the secret")
        assert.is_nil(body:find("root:x:0:0", 1, true), target .. " leaked /etc/passwd")
        assert.truthy(status == 400 or status == 404 or (status == 200 and body == INDEX),
          target .. " answered " .. tostring(status))
      end
      local r = assert(proc.run({ "curl", "-sS", "--path-as-is", base .. target }))
      assert.is_nil(r.stdout:find(SECRET, 1, true), target .. " leaked the secret through curl")
    end
    -- an absolute-form request target names no file outside either (civetweb drops the connection)
    local status, _, body = raw_get("http://127.0.0.1" .. abs)
    assert.is_nil(body:find(SECRET, 1, true))
    assert.truthy(status == nil or status == 400 or status == 404, tostring(status))
  end)

  it("refuses, at start, a --console folder without index.html", function()
    local r = assert(proc.run({ kipperd.bin(), "--kubeconfig", sb.kubeconfig, "--listen", "127.0.0.1:0", "--console", dir },
      { timeout = 30 }))
    assert.equal(1, r.status)
    assert.matches("no console in .* it has no index%.html", r.stderr)
  end)
end)
