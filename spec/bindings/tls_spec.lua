-- SPDX-License-Identifier: Apache-2.0
-- kip.tls, checked against real peers: digests, HMAC and base64 against published vectors and
-- the openssl tool; keys and signatures across kip and `openssl pkeyutl`/`dgst`; a k3s-style CA,
-- server and client certificate checked by `openssl verify`, `openssl x509` and a real TLS
-- handshake (`openssl s_server` and `s_client`); invalid input and misuse. Uses kip.proc, kip.fs.
local tls = require "kip.tls"
local proc = require "kip.proc"
local fs = require "kip.fs"
local helpers = require "helpers"

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- Runs openssl with args; returns the result table (status, stdout, stderr).
local function openssl(args, opts)
  local argv = { "openssl" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  opts = opts or {}
  opts.timeout = opts.timeout or 60
  return assert(proc.run(argv, opts))
end

-- Like openssl(), and fails the test unless it exits with 0.
local function openssl_ok(args, opts)
  local r = openssl(args, opts)
  assert(r.status == 0, "openssl " .. table.concat(args, " ") .. " failed:\n" .. r.stdout .. r.stderr)
  return r
end

-- DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs) <-> JWS r||s, n bytes each.
local function der_to_raw(der, n)
  assert(der:byte(1) == 0x30)
  local pos = der:byte(2) < 0x80 and 3 or 3 + (der:byte(2) - 0x80)
  local parts = {}
  for i = 1, 2 do
    assert(der:byte(pos) == 0x02)
    local len = der:byte(pos + 1)
    local int = der:sub(pos + 2, pos + 1 + len):gsub("^%z+", "")
    parts[i] = ("\0"):rep(n - #int) .. int
    pos = pos + 2 + len
  end
  return parts[1] .. parts[2]
end

local function raw_to_der(raw)
  local function int(b)
    b = b:gsub("^%z+", "")
    if b == "" or b:byte(1) >= 0x80 then b = "\0" .. b end
    return "\2" .. string.char(#b) .. b
  end
  local half = #raw // 2
  local body = int(raw:sub(1, half)) .. int(raw:sub(half + 1))
  assert(#body < 0x80)
  return "\48" .. string.char(#body) .. body
end

-- A k3s-style set: an ECDSA P-256 CA, a server certificate for localhost and 127.0.0.1, and an
-- admin client certificate, all signed by the CA.
local function make_chain(leaf_type)
  local c = {}
  c.ca_key = tls.generate_key("ecdsa-p256")
  c.ca = assert(tls.create_certificate({
    subject = { CN = "kip-server-ca@1700000000" }, key = c.ca_key, ca = true, days = 3650,
  }))
  c.server_key = tls.generate_key(leaf_type or "ecdsa-p256")
  c.server = assert(tls.create_certificate({
    subject = { CN = "kube-apiserver" },
    sans = { "localhost", "kubernetes.default.svc", "127.0.0.1", "::1", "*.example.com" },
    key = c.server_key, issuer = { cert = c.ca, key = c.ca_key }, usage = "server", days = 365,
  }))
  c.client_key = tls.generate_key(leaf_type or "ecdsa-p256")
  c.client = assert(tls.create_certificate({
    subject = { CN = "system:admin", O = "system:masters" },
    key = c.client_key, issuer = { cert = c.ca, key = c.ca_key }, usage = "client",
  }))
  return c
end

-- Writes the chain's PEM files into dir.
local function write_chain(dir, c)
  helpers.write(dir .. "/ca.pem", c.ca:pem())
  helpers.write(dir .. "/server.pem", c.server:pem())
  helpers.write(dir .. "/server-key.pem", c.server_key:private_pem(), "0600")
  helpers.write(dir .. "/client.pem", c.client:pem())
  helpers.write(dir .. "/client-key.pem", c.client_key:private_pem(), "0600")
end

describe("kip.tls", function()
  local dir

  before_each(function()
    dir = helpers.tmpdir()
  end)

  after_each(function()
    if dir then helpers.rmtree(dir) end
    dir = nil
  end)

  describe("digests", function()
    it("computes SHA-256 (FIPS 180-2 vectors) and agrees with openssl dgst", function()
      assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", tls.sha256_hex("abc"))
      assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", tls.sha256_hex(""))
      assert.equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        tls.sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
      assert.equal(32, #tls.sha256("abc"))
      assert.equal(tls.sha256_hex("abc"), hex(tls.sha256("abc")))

      local data = tls.random(100000) .. "\0tail"
      local r = openssl_ok({ "dgst", "-sha256", "-r" }, { stdin = data })
      assert.equal(r.stdout:match("^(%x+)"), tls.sha256_hex(data))
    end)

    it("computes HMAC-SHA256 (RFC 4231 test cases 1, 2 and 6) and agrees with openssl", function()
      assert.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        hex(tls.hmac_sha256("Jefe", "what do ya want for nothing?")))
      assert.equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        hex(tls.hmac_sha256(("\x0b"):rep(20), "Hi There")))
      assert.equal("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        hex(tls.hmac_sha256(("\xaa"):rep(131), "Test Using Larger Than Block-Size Key - Hash Key First")))

      local key, data = tls.random(48), tls.random(1000)
      local r = openssl_ok({ "mac", "-digest", "SHA256", "-macopt", "hexkey:" .. hex(key), "-in", "-", "HMAC" },
        { stdin = data })
      assert.equal(r.stdout:gsub("%s+$", ""):lower(), hex(tls.hmac_sha256(key, data)))
    end)

    it("gives the SHA256 fingerprint ssh-keygen -l prints, with sha256 and base64", function()
      if not proc.which("ssh-keygen") then
        pending("ssh-keygen is not installed")
        return
      end
      assert.equal(0, assert(proc.run({ "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me", "-f", dir .. "/id" })).status)
      local line = assert(fs.read(dir .. "/id.pub"))
      local blob = assert(tls.base64_decode(line:match("^%S+%s+(%S+)")))
      local fp = "SHA256:" .. tls.base64_encode(tls.sha256(blob)):gsub("=+$", "")
      local r = assert(proc.run({ "ssh-keygen", "-l", "-E", "sha256", "-f", dir .. "/id.pub" }))
      assert.equal(r.stdout:match("^%d+ (%S+)"), fp)
    end)

    it("compares strings", function()
      local mac = tls.hmac_sha256("k", "m")
      assert.is_true(tls.equal(mac, tls.hmac_sha256("k", "m")))
      assert.is_false(tls.equal(mac, tls.hmac_sha256("k", "n")))
      assert.is_false(tls.equal("abc", "abcd"))
      assert.is_true(tls.equal("", ""))
    end)

    it("raises on misuse", function()
      assert.has_error(function() tls.sha256() end)
      assert.has_error(function() tls.hmac_sha256("key") end)
      assert.has_error(function() tls.equal("a", {}) end)
    end)
  end)

  describe("random", function()
    it("returns n fresh bytes", function()
      assert.equal("", tls.random(0))
      local a, b = tls.random(32), tls.random(32)
      assert.equal(32, #a)
      assert.are_not.equal(a, b)
      assert.equal(1048576, #tls.random(1048576))
    end)

    it("makes URL-safe tokens", function()
      local t = tls.random_token()
      assert.equal(43, #t) -- 32 bytes
      assert.matches("^[%w_-]+$", t)
      assert.equal(32, #tls.base64url_decode(t))
      assert.equal(22, #tls.random_token(16))
      assert.are_not.equal(tls.random_token(), tls.random_token())
    end)

    it("raises on a bad size", function()
      assert.has_error(function() tls.random(-1) end)
      assert.has_error(function() tls.random(1048577) end)
      assert.has_error(function() tls.random("x") end)
      assert.has_error(function() tls.random_token(0) end)
    end)
  end)

  describe("base64", function()
    -- RFC 4648 section 10
    local vectors = {
      { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
      { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
    }

    it("encodes and decodes the RFC 4648 vectors", function()
      for _, v in ipairs(vectors) do
        assert.equal(v[2], tls.base64_encode(v[1]))
        assert.equal(v[1], tls.base64_decode(v[2]))
        local url = v[2]:gsub("=", "")
        assert.equal(url, tls.base64url_encode(v[1]))
        assert.equal(v[1], tls.base64url_decode(url))
        assert.equal(v[1], tls.base64url_decode(v[2])) -- padding accepted
        assert.equal(v[1], tls.base64_decode(url))      -- and optional
      end
    end)

    it("uses - and _ in base64url, + and / in base64", function()
      local bytes = "\xfb\xff\xbf\xfe"
      assert.equal("+/+//g==", tls.base64_encode(bytes))
      assert.equal("-_-__g", tls.base64url_encode(bytes))
      assert.equal(bytes, tls.base64url_decode("-_-__g"))
    end)

    it("agrees with openssl base64 both ways, wrapped lines included", function()
      local data = tls.random(1000) .. "\0"
      local r = openssl_ok({ "base64" }, { stdin = data })
      assert.matches("\n.", r.stdout) -- wrapped at 64 columns
      assert.equal(data, tls.base64_decode(r.stdout))
      assert.equal(r.stdout:gsub("\n", ""), tls.base64_encode(data))
      r = openssl_ok({ "base64", "-d", "-A" }, { stdin = tls.base64_encode(data) })
      assert.equal(data, r.stdout)
    end)

    it("returns nil, message, 'invalid' for bad input", function()
      for _, bad in ipairs({ "Zm9v!", "Zg=", "Zg===", "Z", "Zm9vY", "Zh==", "Zg==Zg==", "Zm 9v", "-_-_" }) do
        local v, msg, code = tls.base64_decode(bad)
        assert.is_nil(v, bad)
        assert.matches("invalid base64", msg)
        assert.equal("invalid", code)
      end
      local v, msg, code = tls.base64url_decode("+/+/")
      assert.is_nil(v)
      assert.matches("invalid base64url: unexpected character at offset 0", msg, nil, true)
      assert.equal("invalid", code)
    end)

    it("raises on misuse", function()
      assert.has_error(function() tls.base64_encode() end)
      assert.has_error(function() tls.base64url_decode({}) end)
    end)
  end)

  describe("keys", function()
    it("generates every type, with PEM that openssl reads", function()
      for _, t in ipairs({ "ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-2048" }) do
        local key = tls.generate_key(t)
        assert.equal(t, key:type())
        assert.is_true(key:is_private())
        assert.equal("kip.tls.Key (" .. t .. ", private)", tostring(key))
        local pem = key:private_pem()
        assert.matches("^%-%-%-%-%-BEGIN PRIVATE KEY%-%-%-%-%-\n", pem)
        assert.matches("^%-%-%-%-%-BEGIN PUBLIC KEY%-%-%-%-%-\n", key:public_pem())
        helpers.write(dir .. "/key.pem", pem)
        local r = openssl_ok({ "pkey", "-in", dir .. "/key.pem", "-pubout" })
        assert.equal(key:public_pem(), r.stdout)
        local again = assert(tls.load_key(pem))
        assert.equal(t, again:type())
        assert.equal(key:public_pem(), again:public_pem())
        local pub = assert(tls.load_key(key:public_pem()))
        assert.is_false(pub:is_private())
        assert.equal(key:public_pem(), key:public_key():public_pem())
      end
    end)

    it("loads keys made by openssl genpkey and ecparam", function()
      local cases = {
        { { "genpkey", "-algorithm", "ed25519" }, "ed25519" },
        { { "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256" }, "ecdsa-p256" },
        { { "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072" }, "rsa-3072" },
        { { "ecparam", "-name", "prime256v1", "-genkey", "-noout" }, "ecdsa-p256" }, -- "EC PRIVATE KEY"
        { { "genrsa", "-traditional", "2048" }, "rsa-2048" },                       -- "RSA PRIVATE KEY"
      }
      for _, c in ipairs(cases) do
        local pem = openssl_ok(c[1]).stdout
        local key, msg = tls.load_key(pem)
        assert(key, msg)
        assert.equal(c[2], key:type())
        assert.is_true(key:is_private())
        helpers.write(dir .. "/k.pem", pem)
        assert.equal(openssl_ok({ "pkey", "-in", dir .. "/k.pem", "-pubout" }).stdout, key:public_pem())
      end
    end)

    it("returns nil, message, 'invalid' for bad or unsupported keys", function()
      local key, msg, code = tls.load_key("not a key")
      assert.is_nil(key)
      assert.equal("no private or public key found in the PEM data", msg)
      assert.equal("invalid", code)

      local pem = tls.generate_key("ed25519"):private_pem()
      key, msg, code = tls.load_key(pem:sub(1, 60) .. "\n-----END PRIVATE KEY-----\n")
      assert.is_nil(key)
      assert.matches("cannot parse the PEM private key", msg)
      assert.equal("invalid", code)

      local enc = openssl_ok({ "genpkey", "-algorithm", "ed25519", "-aes-128-cbc", "-pass", "pass:secret" }).stdout
      assert.matches("ENCRYPTED PRIVATE KEY", enc)
      key, msg, code = tls.load_key(enc)
      assert.is_nil(key)
      assert.matches("encrypted private keys are not supported", msg)
      assert.equal("invalid", code)

      if proc.which("ssh-keygen") then
        assert(proc.run({ "ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", dir .. "/id" }))
        key, msg, code = tls.load_key(assert(fs.read(dir .. "/id")))
        assert.is_nil(key)
        assert.matches("OpenSSH private keys are not supported", msg)
        assert.equal("invalid", code)
        -- converted to PKCS#8 it loads
        assert(proc.run({ "ssh-keygen", "-q", "-p", "-m", "PKCS8", "-N", "", "-P", "", "-f", dir .. "/id" }))
        key = assert(tls.load_key(assert(fs.read(dir .. "/id"))))
        assert.equal("ecdsa-p256", key:type())
      end

      key, msg, code = tls.load_key(openssl_ok({ "genpkey", "-algorithm", "x25519" }).stdout)
      assert.is_nil(key)
      assert.matches("unsupported key type", msg)
      assert.equal("invalid", code)

      key, msg, code = tls.load_key(openssl_ok({ "ecparam", "-name", "secp256k1", "-genkey", "-noout" }).stdout)
      assert.is_nil(key)
      assert.matches("unsupported EC curve", msg)
      assert.equal("invalid", code)
    end)

    it("makes Ed25519 signatures openssl pkeyutl verifies, and verifies openssl's", function()
      local key = tls.generate_key("ed25519")
      local msg = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJraXAifQ"
      helpers.write(dir .. "/msg", msg)
      helpers.write(dir .. "/pub.pem", key:public_pem())
      helpers.write(dir .. "/key.pem", key:private_pem())
      local sig = key:sign(msg)
      assert.equal(64, #sig)
      assert.equal(sig, key:sign(msg)) -- Ed25519 is deterministic
      assert.equal(sig, key:sign_der(msg))
      helpers.write(dir .. "/sig", sig)
      local r = openssl_ok({ "pkeyutl", "-verify", "-pubin", "-inkey", dir .. "/pub.pem", "-rawin",
        "-in", dir .. "/msg", "-sigfile", dir .. "/sig" })
      assert.matches("Signature Verified Successfully", r.stdout)
      helpers.write(dir .. "/sig", sig:sub(1, 63) .. string.char(sig:byte(64) ~ 1))
      assert.are_not.equal(0, openssl({ "pkeyutl", "-verify", "-pubin", "-inkey", dir .. "/pub.pem", "-rawin",
        "-in", dir .. "/msg", "-sigfile", dir .. "/sig" }).status)

      local theirs = openssl_ok({ "pkeyutl", "-sign", "-inkey", dir .. "/key.pem", "-rawin", "-in", dir .. "/msg" }).stdout
      local pub = assert(tls.load_key(key:public_pem()))
      assert.is_true(pub:verify(msg, theirs))
      assert.is_false(pub:verify(msg .. "x", theirs))
      assert.is_false(pub:verify(msg, "short"))
    end)

    it("signs with the RFC 8032 Ed25519 test key as the RFC says", function()
      -- RFC 8032 section 7.1 TEST 1: secret key 9d61b19d..., empty message
      local key = assert(tls.load_key("-----BEGIN PRIVATE KEY-----\n" ..
        "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n"))
      assert.equal("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155" ..
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", hex(key:sign("")))
    end)

    it("makes ES256 signatures (raw r||s and DER) that openssl dgst verifies, and verifies openssl's", function()
      local key = tls.generate_key("ecdsa-p256")
      local msg = "header.payload"
      helpers.write(dir .. "/msg", msg)
      helpers.write(dir .. "/pub.pem", key:public_pem())
      helpers.write(dir .. "/key.pem", key:private_pem())
      local verify = { "dgst", "-sha256", "-verify", dir .. "/pub.pem", "-signature", dir .. "/sig", dir .. "/msg" }

      local der = key:sign_der(msg)
      assert.equal(0x30, der:byte(1))
      helpers.write(dir .. "/sig", der)
      assert.matches("Verified OK", openssl_ok(verify).stdout)

      local raw = key:sign(msg)
      assert.equal(64, #raw)
      helpers.write(dir .. "/sig", raw_to_der(raw))
      assert.matches("Verified OK", openssl_ok(verify).stdout)
      helpers.write(dir .. "/sig", raw_to_der(raw:sub(1, 32) .. raw:sub(1, 32)))
      assert.matches("Verification failure", openssl(verify).stdout)

      local theirs = openssl_ok({ "dgst", "-sha256", "-sign", dir .. "/key.pem", dir .. "/msg" }).stdout
      local pub = assert(tls.load_key(key:public_pem()))
      assert.is_true(pub:verify(msg, theirs))
      assert.is_true(pub:verify(msg, der_to_raw(theirs, 32)))
      assert.is_false(pub:verify("other", theirs))
      assert.is_false(pub:verify(msg, ("\0"):rep(64)))
      assert.is_false(pub:verify(msg, ""))
    end)

    it("makes RS256 signatures that openssl dgst verifies", function()
      local key = tls.generate_key("rsa-2048")
      helpers.write(dir .. "/msg", "m")
      helpers.write(dir .. "/pub.pem", key:public_pem())
      local sig = key:sign("m")
      assert.equal(256, #sig)
      helpers.write(dir .. "/sig", sig)
      assert.matches("Verified OK", openssl_ok({ "dgst", "-sha256", "-verify", dir .. "/pub.pem",
        "-signature", dir .. "/sig", dir .. "/msg" }).stdout)
      assert.is_true(key:verify("m", sig))
    end)

    it("raises on misuse: unknown type, signing with a public key, closed keys", function()
      assert.has_error(function() tls.generate_key("dsa") end)
      assert.has_error(function() tls.generate_key() end)
      assert.has_error(function() tls.load_key() end)
      local key = tls.generate_key("ed25519")
      local pub = key:public_key()
      assert.has_error(function() pub:sign("x") end, "kip.tls: sign needs a private key, this ed25519 key is public only")
      assert.has_error(function() pub:private_pem() end)
      assert.has_error(function() key:sign() end)
      assert.has_error(function() key:verify("x") end)
      assert.has_error(function() key.sign({}, "x") end)
      do
        local k <close> = tls.generate_key("ecdsa-p256")
        key = k
      end
      assert.equal("kip.tls.Key (closed)", tostring(key))
      assert.has_error(function() key:type() end)
      key = tls.generate_key("ed25519")
      key:close()
      key:close()
      assert.has_error(function() key:sign("x") end)
    end)
  end)

  describe("certificates", function()
    it("makes a k3s-style CA, server and client set that openssl verify accepts", function()
      local c = make_chain()
      write_chain(dir, c)
      local ca, srv, cli = dir .. "/ca.pem", dir .. "/server.pem", dir .. "/client.pem"
      assert.matches("server.pem: OK", openssl_ok({ "verify", "-CAfile", ca, srv }).stdout, nil, true)
      openssl_ok({ "verify", "-CAfile", ca, "-purpose", "sslserver", "-verify_hostname", "localhost", srv })
      openssl_ok({ "verify", "-CAfile", ca, "-purpose", "sslserver", "-verify_ip", "127.0.0.1", srv })
      openssl_ok({ "verify", "-CAfile", ca, "-purpose", "sslserver", "-verify_ip", "::1", srv })
      openssl_ok({ "verify", "-CAfile", ca, "-purpose", "sslserver", "-verify_hostname", "a.example.com", srv })
      openssl_ok({ "verify", "-CAfile", ca, "-purpose", "sslclient", cli })
      assert.are_not.equal(0, openssl({ "verify", "-CAfile", ca, "-verify_hostname", "example.org", srv }).status)
      assert.are_not.equal(0, openssl({ "verify", "-CAfile", ca, "-purpose", "sslclient", srv }).status)
      assert.are_not.equal(0, openssl({ "verify", "-CAfile", ca, "-purpose", "sslserver", cli }).status)
      -- another CA does not vouch for them
      local other = make_chain("ed25519")
      helpers.write(dir .. "/other-ca.pem", other.ca:pem())
      assert.are_not.equal(0, openssl({ "verify", "-CAfile", dir .. "/other-ca.pem", srv }).status)
    end)

    it("writes the extensions openssl x509 -text shows", function()
      local c = make_chain()
      write_chain(dir, c)
      local ca = openssl_ok({ "x509", "-noout", "-text", "-in", dir .. "/ca.pem" }).stdout
      assert.matches("Subject: CN = kip-server-ca@1700000000", ca, nil, true)
      assert.matches("Issuer: CN = kip-server-ca@1700000000", ca, nil, true)
      assert.matches("Basic Constraints: critical\n%s+CA:TRUE", ca)
      assert.matches("Key Usage: critical\n%s+Digital Signature, Certificate Sign, CRL Sign", ca)
      assert.matches("ecdsa-with-SHA256", ca, nil, true)
      assert.matches("NIST CURVE: P-256", ca, nil, true)
      assert.matches("Subject Key Identifier", ca, nil, true)
      assert.not_matches("Extended Key Usage", ca, nil, true)

      local srv = openssl_ok({ "x509", "-noout", "-text", "-in", dir .. "/server.pem" }).stdout
      assert.matches("Subject: CN = kube-apiserver", srv, nil, true)
      assert.matches("Basic Constraints: critical\n%s+CA:FALSE", srv)
      assert.matches("Key Usage: critical\n%s+Digital Signature\n", srv)
      assert.matches("Extended Key Usage: \n%s+TLS Web Server Authentication\n", srv)
      assert.matches("DNS:localhost, DNS:kubernetes.default.svc, IP Address:127.0.0.1, " ..
        "IP Address:0:0:0:0:0:0:0:1, DNS:*.example.com", srv, nil, true)
      assert.matches("Authority Key Identifier", srv, nil, true)
      assert.matches("Version: 3 (0x2)", srv, nil, true)

      local cli = openssl_ok({ "x509", "-noout", "-text", "-in", dir .. "/client.pem" }).stdout
      assert.matches("Subject: O = system:masters, CN = system:admin", cli, nil, true)
      assert.matches("TLS Web Client Authentication", cli, nil, true)
      assert.not_matches("Subject Alternative Name", cli, nil, true)

      -- RSA leaves also get keyEncipherment; both = serverAuth and clientAuth
      local rsa = tls.generate_key("rsa-2048")
      local both = assert(tls.create_certificate({ subject = { CN = "both" }, key = rsa, usage = "both",
        issuer = { cert = c.ca, key = c.ca_key } }))
      helpers.write(dir .. "/both.pem", both:pem())
      local text = openssl_ok({ "x509", "-noout", "-text", "-in", dir .. "/both.pem" }).stdout
      assert.matches("Digital Signature, Key Encipherment", text, nil, true)
      assert.matches("TLS Web Server Authentication, TLS Web Client Authentication", text, nil, true)
    end)

    it("reads fingerprint, serial, dates, subject, SANs and CA status as openssl does", function()
      local c = make_chain()
      write_chain(dir, c)
      local srv = dir .. "/server.pem"
      local fp = openssl_ok({ "x509", "-noout", "-fingerprint", "-sha256", "-in", srv }).stdout
      assert.equal(fp:match("=([%x:]+)"), c.server:fingerprint())
      assert.equal(c.server:fingerprint(), c.server:fingerprint("sha256"))
      fp = openssl_ok({ "x509", "-noout", "-fingerprint", "-sha1", "-in", srv }).stdout
      assert.equal(fp:match("=([%x:]+)"), c.server:fingerprint("sha1"))
      assert.equal(c.server:fingerprint():gsub(":", ""):lower(), tls.sha256_hex(c.server:der()))

      local serial = openssl_ok({ "x509", "-noout", "-serial", "-in", srv }).stdout
      assert.equal(serial:match("=(%x+)"):lower(), c.server:serial())
      assert.equal(32, #c.server:serial())
      assert.are_not.equal(c.server:serial(), c.client:serial())

      local dates = openssl_ok({ "x509", "-noout", "-dates", "-dateopt", "iso_8601", "-in", srv }).stdout
      local function unix(field)
        local s = dates:match(field .. "=(%S+ %S+)")
        return tonumber(assert(proc.run({ "date", "-u", "-d", s, "+%s" })).stdout)
      end
      assert.equal(unix("notBefore"), c.server:not_before())
      assert.equal(unix("notAfter"), c.server:not_after())
      assert.equal(365 * 86400, c.server:not_after() - c.server:not_before())
      assert.is_true(math.abs(c.server:not_before() - os.time()) < 60)
      assert.equal(3650 * 86400, c.ca:not_after() - c.ca:not_before())

      assert.same({ CN = "kube-apiserver" }, c.server:subject())
      assert.same({ CN = "kip-server-ca@1700000000" }, c.server:issuer())
      assert.same({ CN = "system:admin", O = "system:masters" }, c.client:subject())
      assert.same({ "localhost", "kubernetes.default.svc", "127.0.0.1", "::1", "*.example.com" }, c.server:sans())
      assert.same({}, c.client:sans())
      assert.is_true(c.ca:is_ca())
      assert.is_false(c.server:is_ca())
      assert.is_false(c.client:is_ca())
      assert.equal("kip.tls.Certificate (CN=system:admin,O=system:masters)", tostring(c.client))

      assert.is_true(c.server:verify(c.ca))
      assert.is_true(c.client:verify(c.ca))
      assert.is_true(c.ca:verify(c.ca))
      assert.is_false(c.ca:verify(c.server))
      assert.is_false(c.server:verify(make_chain("ed25519").ca))
      assert.equal(c.server_key:public_pem(), c.server:public_key():public_pem())
      assert.is_false(c.server:public_key():is_private())
    end)

    it("round-trips PEM and DER, and loads bundles", function()
      local c = make_chain()
      write_chain(dir, c)
      local der = openssl_ok({ "x509", "-in", dir .. "/server.pem", "-outform", "DER" }).stdout
      assert.equal(der, c.server:der())
      local again = assert(tls.load_certificate(c.server:pem()))
      assert.equal(c.server:pem(), again:pem())
      assert.equal(c.server:pem(), assert(tls.load_certificate(der)):pem())
      assert.is_true(again:verify(c.ca))

      local bundle = "# chain\n" .. c.server:pem() .. c.server_key:private_pem() .. "\n" .. c.ca:pem()
      local certs = assert(tls.load_certificates(bundle))
      assert.equal(2, #certs)
      assert.equal(c.server:fingerprint(), certs[1]:fingerprint())
      assert.equal(c.ca:fingerprint(), certs[2]:fingerprint())
      assert.equal(c.server_key:public_pem(), assert(tls.load_key(bundle)):public_pem())
      assert.equal(c.server:fingerprint(), assert(tls.load_certificate(bundle)):fingerprint())
    end)

    it("reads certificates openssl made, and signs leaves with openssl's CA", function()
      openssl_ok({ "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", dir .. "/ca-key.pem", "-out", dir .. "/ca.pem", "-days", "30",
        "-subj", "/O=Acme/OU=a/OU=b/CN=Acme CA",
        "-addext", "subjectAltName=DNS:ca.acme.test,IP:10.1.2.3,email:ca@acme.test,URI:spiffe://acme/ca" })
      local ca = assert(tls.load_certificate(assert(fs.read(dir .. "/ca.pem"))))
      local ca_key = assert(tls.load_key(assert(fs.read(dir .. "/ca-key.pem"))))
      assert.same({ O = "Acme", OU = { "a", "b" }, CN = "Acme CA" }, ca:subject())
      assert.same({ "ca.acme.test", "10.1.2.3", "email:ca@acme.test", "spiffe://acme/ca" }, ca:sans())
      assert.is_true(ca:is_ca())
      assert.equal(30 * 86400, ca:not_after() - ca:not_before())

      local key = tls.generate_key("ed25519")
      local leaf = assert(tls.create_certificate({ subject = { CN = "svc" }, sans = { "svc.acme.test" }, key = key,
        issuer = { cert = ca, key = ca_key } }))
      helpers.write(dir .. "/leaf.pem", leaf:pem())
      openssl_ok({ "verify", "-CAfile", dir .. "/ca.pem", "-purpose", "sslserver", "-verify_hostname", "svc.acme.test",
        dir .. "/leaf.pem" })
      assert.same({ O = "Acme", OU = { "a", "b" }, CN = "Acme CA" }, leaf:issuer())
    end)

    it("takes not_before and not_after, and self-signed leaves", function()
      local key = tls.generate_key("ecdsa-p256")
      local cert = assert(tls.create_certificate({ key = key, subject = { CN = "x", C = "DE", ST = "Berlin", L = "Berlin" },
        not_before = 946684800, not_after = 4102444800 }))
      assert.equal(946684800, cert:not_before())
      assert.equal(4102444800, cert:not_after()) -- 2100: GeneralizedTime
      assert.same({ CN = "x", C = "DE", ST = "Berlin", L = "Berlin" }, cert:subject())
      assert.is_false(cert:is_ca())
      assert.is_true(cert:verify(cert))
      helpers.write(dir .. "/c.pem", cert:pem())
      local text = openssl_ok({ "x509", "-noout", "-text", "-in", dir .. "/c.pem" }).stdout
      assert.matches("Subject: C = DE, ST = Berlin, L = Berlin, CN = x", text, nil, true)
      assert.matches("Not After : Jan  1 00:00:00 2100 GMT", text, nil, true)
    end)

    it("returns nil, message, 'invalid' for bad PEM and specs OpenSSL or kip refuse", function()
      for _, bad in ipairs({ "", "garbage", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" }) do
        local cert, msg, code = tls.load_certificate(bad)
        assert.is_nil(cert)
        assert.is_string(msg)
        assert.equal("invalid", code)
        local certs
        certs, msg, code = tls.load_certificates(bad)
        assert.is_nil(certs)
        assert.is_string(msg)
        assert.equal("invalid", code)
      end
      local _, msg = tls.load_certificates("x")
      assert.equal("no certificate found in the PEM data", msg)

      local c = make_chain()
      local function create(opts)
        opts.key = opts.key or c.server_key
        return tls.create_certificate(opts)
      end
      local cert, code
      cert, msg, code = create({ sans = { "localhost", "bad host" }, issuer = { cert = c.ca, key = c.ca_key } })
      assert.is_nil(cert)
      assert.equal("SAN 'bad host' is neither an IP address nor a DNS name", msg)
      assert.equal("invalid", code)
      cert, msg = create({ issuer = { cert = c.ca, key = c.server_key } })
      assert.is_nil(cert)
      assert.equal("the issuer key does not match the issuer certificate", msg)
      cert, msg = create({ issuer = { cert = c.server, key = c.server_key } })
      assert.is_nil(cert)
      assert.equal("the issuer certificate is not a CA", msg)
      cert, msg = create({ key = c.server_key:public_key() })
      assert.is_nil(cert)
      assert.matches("no private part", msg)
      cert, msg = create({ subject = { C = "Germany" } })
      assert.is_nil(cert)
      assert.matches("bad subject C 'Germany'", msg, nil, true)
      cert, msg = create({ not_before = 100, not_after = 50 })
      assert.is_nil(cert)
      assert.matches("bad validity", msg)
      cert, msg = create({ usage = "ca", ca = false })
      assert.is_nil(cert)
      assert.matches("usage 'ca'", msg)
    end)

    it("raises on misuse", function()
      local key = tls.generate_key("ed25519")
      assert.has_error(function() tls.create_certificate() end)
      assert.has_error(function() tls.create_certificate({}) end, "kip.tls.create_certificate: option 'key' must be a kip.tls.Key, got nil")
      assert.has_error(function() tls.create_certificate({ key = "pem" }) end)
      assert.has_error(function() tls.create_certificate({ key = key, san = { "x" } }) end,
        "kip.tls.create_certificate: unknown option 'san'")
      assert.has_error(function() tls.create_certificate({ key = key, subject = { cn = "x" } }) end,
        "kip.tls.create_certificate: unknown subject field 'cn'")
      assert.has_error(function() tls.create_certificate({ key = key, subject = "CN=x" }) end)
      assert.has_error(function() tls.create_certificate({ key = key, subject = { O = { 1 } } }) end)
      assert.has_error(function() tls.create_certificate({ key = key, sans = "localhost" }) end)
      assert.has_error(function() tls.create_certificate({ key = key, sans = { 1 } }) end)
      assert.has_error(function() tls.create_certificate({ key = key, usage = "mail" }) end)
      assert.has_error(function() tls.create_certificate({ key = key, days = 0 }) end)
      assert.has_error(function() tls.create_certificate({ key = key, days = 1, not_after = 2 }) end)
      assert.has_error(function() tls.create_certificate({ key = key, ca = "yes" }) end)
      assert.has_error(function() tls.create_certificate({ key = key, issuer = key }) end)
      assert.has_error(function() tls.create_certificate({ key = key, issuer = { cert = key, key = key } }) end)

      local cert = assert(tls.create_certificate({ key = key }))
      assert.has_error(function() cert:fingerprint("md5") end)
      assert.has_error(function() cert:verify() end)
      assert.has_error(function() cert.pem(key) end)
      do
        local c <close> = assert(tls.create_certificate({ key = key, subject = { CN = "tmp" } }))
        cert = c
      end
      assert.equal("kip.tls.Certificate (closed)", tostring(cert))
      assert.has_error(function() cert:pem() end)
      assert.has_error(function() tls.create_certificate({ key = key, issuer = { cert = cert, key = key } }) end)
      key:close()
      assert.has_error(function() tls.create_certificate({ key = key }) end)
    end)
  end)

  describe("a real TLS handshake", function()
    -- Starts `openssl s_server` on a free loopback port with args; returns the port and a stop function.
    local function start_server(args)
      for _ = 1, 5 do
        local port = 20000 + (string.unpack("<I2", tls.random(2)) % 40000)
        local log = dir .. "/server-" .. port .. ".log"
        local cmd = { "exec openssl s_server -accept 127.0.0.1:" .. port }
        for _, a in ipairs(args) do cmd[#cmd + 1] = "'" .. a .. "'" end
        local line = "(" .. table.concat(cmd, " ") .. ") >" .. log .. " 2>&1 </dev/null & echo $!"
        local r = assert(proc.run(line, { shell = true }))
        local pid = assert(r.stdout:match("^(%d+)"))
        local function stop() proc.run({ "kill", pid }) end
        for _ = 1, 100 do
          local text = fs.read(log) or ""
          if text:match("ACCEPT") then return port, stop end
          if text:match("[Ee]rror") or text:match("in use") then break end
          proc.run({ "sleep", "0.05" })
        end
        stop()
      end
      error("openssl s_server did not start")
    end

    local function client(port, args, stdin)
      local argv = { "s_client", "-connect", "127.0.0.1:" .. port, "-verify_return_error" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      return openssl(argv, { stdin = stdin, timeout = 20 })
    end

    for _, t in ipairs({ "ecdsa-p256", "ed25519", "rsa-2048" }) do
      it("verifies the chain kip made (" .. t .. " server key)", function()
        local c = make_chain(t)
        write_chain(dir, c)
        helpers.write(dir .. "/other-ca.pem", make_chain().ca:pem())
        local port, stop = start_server({ "-cert", dir .. "/server.pem", "-key", dir .. "/server-key.pem", "-www" })
        finally(stop)
        local r = client(port, { "-CAfile", dir .. "/ca.pem", "-servername", "localhost", "-verify_hostname", "localhost",
          "-ign_eof" }, "GET / HTTP/1.0\r\n\r\n")
        assert.equal(0, r.status, r.stdout .. r.stderr)
        assert.matches("Verify return code: 0 (ok)", r.stdout, nil, true)
        assert.matches("HTTP/1.0 200 ok", r.stdout, nil, true)
        assert.matches("subject=CN = kube-apiserver", r.stdout, nil, true)

        r = client(port, { "-CAfile", dir .. "/other-ca.pem", "-servername", "localhost" })
        assert.are_not.equal(0, r.status)
        assert.matches("unable to get local issuer certificate", r.stdout .. r.stderr, nil, true)
        r = client(port, { "-CAfile", dir .. "/ca.pem", "-verify_hostname", "example.org" })
        assert.are_not.equal(0, r.status)
        assert.matches("hostname mismatch", r.stdout .. r.stderr, nil, true)
      end)
    end

    it("authenticates the client certificate kip made (mutual TLS)", function()
      local c = make_chain()
      write_chain(dir, c)
      local port, stop = start_server({ "-cert", dir .. "/server.pem", "-key", dir .. "/server-key.pem",
        "-CAfile", dir .. "/ca.pem", "-Verify", "1", "-verify_return_error", "-www" })
      finally(stop)
      local r = client(port, { "-CAfile", dir .. "/ca.pem", "-servername", "localhost", "-cert", dir .. "/client.pem",
        "-key", dir .. "/client-key.pem", "-ign_eof" }, "GET / HTTP/1.0\r\n\r\n")
      assert.equal(0, r.status, r.stdout .. r.stderr)
      assert.matches("Verify return code: 0 (ok)", r.stdout, nil, true)
      assert.matches("HTTP/1.0 200 ok", r.stdout, nil, true)
      assert.matches("Subject: O=system:masters, CN=system:admin", r.stdout, nil, true) -- s_server's status page
      local log = assert(fs.read(dir .. "/server-" .. port .. ".log"))
      assert.matches("depth=0 O = system:masters, CN = system:admin\nverify return:1", log, nil, true)
    end)
  end)
end)
