-- SPDX-License-Identifier: Apache-2.0
-- kip.http against the real test server spec/helpers/http_server.py (python3), plain and TLS with
-- certificates made here by the openssl command: requests, headers, token, keep-alive, statuses,
-- timeouts, connect and TLS failures, client certificates, streams (callback, read, lines,
-- chunks), stopping early, errors raised in on_chunk, and misuse.
local http = require "kip.http"
local proc = require "kip.proc"
local fs = require "kip.fs"
local helpers = require "helpers"

local function sh(script, dir)
  local r = assert(proc.run(script, { shell = true, cwd = dir, timeout = 60 }))
  assert(r.status == 0, script .. ": " .. r.stderr)
  return r.stdout
end

-- Starts the test server in the background (its output goes to a log, so proc.run returns at once).
local function start_server(dir, name, args)
  local port_file = dir .. "/" .. name .. ".port"
  local log = dir .. "/" .. name .. ".log"
  local pid = sh(("python3 spec/helpers/http_server.py --port-file %s --lifetime 120 %s >%s 2>&1 & echo $!")
    :format(port_file, args or "", log)):match("%d+")
  for _ = 1, 200 do
    local text = fs.read(port_file)
    if text then return { pid = pid, port = assert(tonumber(text:match("%d+"))) } end
    proc.run({ "sleep", "0.05" })
  end
  proc.run({ "kill", pid })
  error("the test server did not start: " .. tostring(fs.read(log)))
end

local CERTS = [[
set -e
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
ca_ext="-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=kip-test-ca $ca_ext 2>/dev/null
openssl req -x509 $ec -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca $ca_ext 2>/dev/null
leaf() { # name CN extensions
  openssl req $ec -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 2 \
    -extfile "$1.ext" 2>/dev/null
}
leaf server 127.0.0.1 "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client kip-client "extendedKeyUsage=clientAuth"
]]

describe("kip.http", function()
  local dir, plain, tls, mtls
  local function url(path) return ("http://127.0.0.1:%d%s"):format(plain.port, path) end
  local function tls_url(path) return ("https://127.0.0.1:%d%s"):format(tls.port, path) end
  local function mtls_url(path) return ("https://127.0.0.1:%d%s"):format(mtls.port, path) end

  lazy_setup(function()
    dir = helpers.tmpdir()
    sh(CERTS, dir)
    plain = start_server(dir, "plain")
    local cert = ("--cert %s/server.pem --key %s/server.key"):format(dir, dir)
    tls = start_server(dir, "tls", cert)
    mtls = start_server(dir, "mtls", cert .. " --client-ca " .. dir .. "/ca.pem")
  end)

  lazy_teardown(function()
    for _, srv in ipairs({ plain, tls, mtls }) do
      if srv then proc.run({ "kill", srv.pid }) end
    end
    if dir then helpers.rmtree(dir) end
  end)

  describe("client:request", function()
    it("sends method, headers and body and returns status, headers and body", function()
      local c <close> = http.client({ headers = { ["X-Default"] = "d", ["X-Over"] = "client" } })
      local r = assert(c:request({ method = "POST", url = url("/echo?q=1"), body = '{"a":1}',
        headers = { ["Content-Type"] = "application/json", ["X-Over"] = "request" } }))
      assert.equal(200, r.status)
      assert.equal("application/json", r.headers["content-type"])
      assert.matches('"method": "POST"', r.body, nil, true)
      assert.matches('"path": "/echo?q=1"', r.body, nil, true)
      assert.matches('"body": "{\\"a\\":1}"', r.body, nil, true)
      assert.matches('"content-type": "application/json"', r.body, nil, true)
      assert.matches('"x-default": "d"', r.body, nil, true)
      assert.matches('"x-over": "request"', r.body, nil, true)
      assert.matches('"user-agent": "kip/', r.body, nil, true)
      assert.not_matches('"expect"', r.body, nil, true)
    end)

    it("accepts lower-case methods, HEAD, PUT without a body, and a custom user agent", function()
      local c <close> = http.client({ user_agent = "spec/1" })
      local r = assert(c:request({ method = "put", url = url("/echo") }))
      assert.matches('"method": "PUT"', r.body, nil, true)
      assert.matches('"content-length": "0"', r.body, nil, true)
      assert.matches('"user-agent": "spec/1"', r.body, nil, true)
      r = assert(c:request({ method = "HEAD", url = url("/echo") }))
      assert.equal(200, r.status)
      assert.equal("", r.body)
    end)

    it("sends the bearer token and keeps it out of messages", function()
      local c <close> = http.client({ token = "tok-123" })
      local r = assert(c:request({ url = url("/echo") }))
      assert.matches('"authorization": "Bearer tok-123"', r.body, nil, true)
      local ok, msg = c:request({ url = "http://127.0.0.1:1/api" })
      assert.is_nil(ok)
      assert.not_matches("tok-123", msg, nil, true)
      assert.not_matches("tok-123", tostring(c), nil, true)
    end)

    it("returns 4xx and 5xx as responses", function()
      local c <close> = http.client()
      local r = assert(c:request({ url = url("/status/404") }))
      assert.equal(404, r.status)
      assert.equal("status 404\n", r.body)
      r = assert(c:request({ url = url("/status/500"), method = "DELETE" }))
      assert.equal(500, r.status)
    end)

    it("joins repeated headers and keeps them all in header_list", function()
      local c <close> = http.client()
      local r = assert(c:request({ url = url("/headers") }))
      assert.equal("a=1, b=2", r.headers["set-cookie"])
      assert.equal("one, two", r.headers["x-multi"])
      local cookies = {}
      for _, h in ipairs(r.header_list) do
        if h[1] == "set-cookie" then cookies[#cookies + 1] = h[2] end
      end
      assert.same({ "a=1", "b=2" }, cookies)
    end)

    it("reuses one connection across requests of a client", function()
      local c <close> = http.client()
      local ids = {}
      for i = 1, 3 do ids[i] = assert(c:request({ url = url("/echo") })).headers["x-conn-id"] end
      assert.equal(ids[1], ids[2])
      assert.equal(ids[1], ids[3])
      local other <close> = http.client()
      assert.not_equal(ids[1], assert(other:request({ url = url("/echo") })).headers["x-conn-id"])
      -- the server closing its side is no error: the next request opens a new connection
      assert.equal(200, assert(c:request({ url = url("/close") })).status)
      assert.not_equal(ids[1], assert(c:request({ url = url("/echo") })).headers["x-conn-id"])
    end)

    it("fails with 'timeout', 'connect', 'nomem' and 'invalid'", function()
      local c <close> = http.client({ connect_timeout = 5 })
      local r, msg, code = c:request({ url = url("/slow?delay=3"), timeout = 0.3 })
      assert.is_nil(r)
      assert.equal("timeout", code)
      assert.matches("^GET http://127%.0%.0%.1:%d+/slow%?delay=3: ", msg)
      r, msg, code = c:request({ url = "http://127.0.0.1:1/api" })
      assert.is_nil(r)
      assert.equal("connect", code)
      assert.equal("GET http://127.0.0.1:1/api: Connection refused", msg)
      r, msg, code = c:request({ url = url("/big?n=100000"), max_body = 1000 })
      assert.is_nil(r)
      assert.equal("nomem", code)
      assert.matches("larger than 1000 bytes", msg)
      r, msg, code = c:request({ url = "ftp://127.0.0.1/x" })
      assert.is_nil(r)
      assert.equal("invalid", code, msg)
      -- the client is still usable after all of that
      assert.equal(200, assert(c:request({ url = url("/echo") })).status)
    end)

    it("keeps user:password out of messages", function()
      local c <close> = http.client()
      local _, msg = c:request({ url = "http://user:secret@127.0.0.1:1/x" })
      assert.equal("GET http://127.0.0.1:1/x: Connection refused", msg)
    end)
  end)

  describe("TLS", function()
    it("verifies the server with ca_file or inline ca_data", function()
      local c <close> = http.client({ ca_file = dir .. "/ca.pem" })
      assert.equal(200, assert(c:request({ url = tls_url("/echo") })).status)
      local d <close> = http.client({ ca_data = assert(fs.read(dir .. "/ca.pem")) })
      assert.equal(200, assert(d:request({ url = tls_url("/echo") })).status)
    end)

    it("fails with 'tls' for an unknown CA, a wrong CA or a wrong host name", function()
      for _, case in ipairs({
        { opts = {}, url = tls_url("/echo") },
        { opts = { ca_file = dir .. "/other-ca.pem" }, url = tls_url("/echo") },
        { opts = { ca_file = dir .. "/ca.pem" }, url = ("https://localhost:%d/echo"):format(tls.port) },
      }) do
        local c <close> = http.client(case.opts)
        local r, msg, code = c:request({ url = case.url })
        assert.is_nil(r)
        assert.equal("tls", code, msg)
        assert.matches("^GET https://", msg)
      end
    end)

    it("skips verification with insecure = true", function()
      local c <close> = http.client({ insecure = true })
      assert.equal(200, assert(c:request({ url = tls_url("/echo") })).status)
    end)

    it("presents a client certificate from files or inline PEM", function()
      local c <close> = http.client({ ca_file = dir .. "/ca.pem", cert_file = dir .. "/client.pem",
        key_file = dir .. "/client.key" })
      local r = assert(c:request({ url = mtls_url("/echo") }))
      assert.matches('"client_cn": "kip-client"', r.body, nil, true)
      local d <close> = http.client({ ca_data = assert(fs.read(dir .. "/ca.pem")),
        cert_data = assert(fs.read(dir .. "/client.pem")), key_data = assert(fs.read(dir .. "/client.key")) })
      r = assert(d:request({ url = mtls_url("/echo") }))
      assert.matches('"client_cn": "kip-client"', r.body, nil, true)
    end)

    it("fails with 'tls' when the server requires a client certificate and gets none", function()
      local c <close> = http.client({ ca_file = dir .. "/ca.pem" })
      local r, msg, code = c:request({ url = mtls_url("/echo") })
      assert.is_nil(r)
      assert.equal("tls", code, msg)
    end)
  end)

  describe("streams", function()
    local function expected_text(n)
      local t = {}
      for i = 1, n do t[i] = ("line %d %s\n"):format(i, ("x"):rep(i % 7)) end
      return table.concat(t)
    end

    it("calls on_chunk per chunk and returns the response without body", function()
      local c <close> = http.client()
      local chunks = {}
      local r = assert(c:stream({ url = url("/stream?n=10&delay=0.01") }, function(chunk)
        chunks[#chunks + 1] = chunk
      end))
      assert.equal(200, r.status)
      assert.equal("chunked", r.headers["transfer-encoding"])
      assert.is_nil(r.body)
      assert.is_true(#chunks > 1)
      assert.equal(expected_text(10), table.concat(chunks))
    end)

    it("stops when on_chunk returns false, and the client goes on working", function()
      local c <close> = http.client()
      local n = 0
      local r = assert(c:stream({ url = url("/forever?delay=0.01") }, function()
        n = n + 1
        return n < 3
      end))
      assert.equal(3, n)
      assert.equal(200, r.status)
      assert.equal(200, assert(c:request({ url = url("/echo") })).status)
    end)

    it("raises an error from on_chunk after cleaning up the transfer", function()
      local c <close> = http.client()
      local marker = { "boom" }
      local ok, err = pcall(c.stream, c, { url = url("/forever?delay=0.01") }, function() error(marker) end)
      assert.is_false(ok)
      assert.equal(marker, err)
      ok, err = pcall(c.stream, c, { url = url("/stream?n=3") }, function() error("in callback") end)
      assert.is_false(ok)
      assert.matches("in callback", err)
      assert.equal(200, assert(c:request({ url = url("/echo") })).status)
    end)

    it("returns nil, msg, code from stream() on failures", function()
      local c <close> = http.client()
      local r, _, code = c:stream({ url = "http://127.0.0.1:1/" }, function() end)
      assert.is_nil(r)
      assert.equal("connect", code)
      r, _, code = c:stream({ url = url("/stall?delay=5"), idle_timeout = 0.5 }, function() end)
      assert.is_nil(r)
      assert.equal("timeout", code)
    end)

    it("reads chunk by chunk with open and read, with status and headers first", function()
      local c <close> = http.client()
      local s <close> = assert(c:open({ url = url("/stream?n=8&delay=0.01") }))
      assert.equal(200, s:status())
      local headers, list = s:headers()
      assert.equal("text/plain", headers["content-type"])
      assert.is_table(list)
      local parts = {}
      for chunk in s.read, s do parts[#parts + 1] = chunk end
      assert.equal(expected_text(8), table.concat(parts))
      assert.is_nil(s:read())
      assert.matches("^kip%.http%.Stream: .*%(200%)$", tostring(s))
    end)

    it("yields complete lines whatever the chunk boundaries", function()
      local c <close> = http.client()
      local s <close> = assert(c:open({ url = url("/stream?n=25&delay=0.002") }))
      local lines = {}
      for line in s:lines() do lines[#lines + 1] = line end
      assert.equal(25, #lines)
      assert.equal(expected_text(25), table.concat(lines, "\n") .. "\n")
    end)

    it("iterates with client:chunks and closes the stream when the loop is left", function()
      local c <close> = http.client()
      local n = 0
      for chunk in c:chunks({ url = url("/forever?delay=0.01") }) do
        assert.matches("tick", chunk)
        n = n + 1
        if n == 3 then break end
      end
      assert.equal(3, n)
      assert.has_error(function()
        for _ in c:chunks({ url = "http://127.0.0.1:1/" }) do end
      end, "GET http://127.0.0.1:1/: Connection refused")
    end)

    it("reports an idle stream as 'timeout' from read, and raises from lines", function()
      local c <close> = http.client()
      local s <close> = assert(c:open({ url = url("/stall?delay=5"), idle_timeout = 0.5 }))
      assert.equal("first\n", s:read())
      local chunk, msg, code = s:read()
      assert.is_nil(chunk)
      assert.equal("timeout", code)
      assert.matches("no data received for 500 ms", msg)
      local t <close> = assert(c:open({ url = url("/stall?delay=5"), idle_timeout = 0.5 }))
      assert.has_error(function()
        for _ in t:lines() do end
      end)
    end)

    it("returns false from read and readline when a wait passes first, and goes on after", function()
      local c <close> = http.client()
      local s <close> = assert(c:open({ url = url("/stall?delay=1") }))
      assert.equal("first", s:readline(2))
      assert.is_false(s:readline(0.2))
      assert.is_false(s:read(0))
      assert.is_nil(s:readline(5))
      -- several streams, one loop taking turns on them
      local a <close> = assert(c:open({ url = url("/stream?n=5&delay=0.05") }))
      local b <close> = assert(c:open({ url = url("/stream?n=3&delay=0.07") }))
      local got, open = { a = 0, b = 0 }, { a = a, b = b }
      while next(open) do
        for name, st in pairs(open) do
          local line = st:readline(0.01)
          if line then got[name] = got[name] + 1 elseif line == nil then open[name] = nil end
        end
      end
      assert.same({ a = 5, b = 3 }, got)
      assert.has_error(function() s:read(-1) end)
    end)

    it("keeps several streams of one client open at once", function()
      local c <close> = http.client()
      local big <close> = assert(c:open({ url = url("/big?n=3000000") }))
      local s <close> = assert(c:open({ url = url("/stream?n=5&delay=0.01") }))
      local n = 0
      for _ in s:lines() do n = n + 1 end
      assert.equal(5, n)
      local total = 0
      for chunk in big.read, big do total = total + #chunk end
      assert.equal(3000000, total)
    end)

    it("closing the client aborts its open streams", function()
      local c = http.client()
      local s = assert(c:open({ url = url("/forever?delay=0.01") }))
      c:close()
      assert.has_error(function() s:read() end, "kip.http: the client is closed")
      s:close()
      s:close()
      assert.has_error(function() s:read() end, "kip.http: the stream is closed")
    end)
  end)

  describe("http.request", function()
    it("makes a one-shot request with client options", function()
      local r = assert(http.request({ url = tls_url("/echo"), ca_file = dir .. "/ca.pem", token = "t" }))
      assert.equal(200, r.status)
      assert.matches('"authorization": "Bearer t"', r.body, nil, true)
      local _, _, code = http.request({ url = tls_url("/echo") })
      assert.equal("tls", code)
    end)
  end)

  describe("misuse", function()
    it("raises for bad arguments and closed handles", function()
      assert.has_error(function() http.client("x") end)
      assert.has_error(function() http.client({ insecure = "yes" }) end)
      assert.has_error(function() http.client({ ca_file = "a", ca_data = "b" }) end)
      assert.has_error(function() http.client({ key_file = "k" }) end)
      assert.has_error(function() http.client({ token = "a\nb" }) end)
      assert.has_error(function() http.client({ headers = { ["bad name"] = "x" } }) end)
      local c = http.client()
      assert.has_error(function() c:request() end)
      assert.has_error(function() c:request({}) end, "kip.http: the request has no url")
      assert.has_error(function() c:request({ url = 1 }) end)
      assert.has_error(function() c:request({ url = url("/"), method = "BREW" }) end)
      assert.has_error(function() c:request({ url = url("/"), headers = { X = "a\r\nY: b" } }) end)
      assert.has_error(function() c:request({ url = url("/"), headers = { X = 1 } }) end)
      assert.has_error(function() c:request({ url = url("/"), timeout = -1 }) end)
      assert.has_error(function() c:stream({ url = url("/") }) end)
      assert.has_error(function() c.request(nil, { url = url("/") }) end)
      assert.matches("^kip%.http%.Client: ", tostring(c))
      c:close()
      c:close()
      assert.matches("%(closed%)$", tostring(c))
      assert.has_error(function() c:request({ url = url("/") }) end, "kip.http: the client is closed")
      assert.has_error(function() c:open({ url = url("/") }) end, "kip.http: the client is closed")
    end)
  end)
end)
