-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.jwt: issuing and verifying the console's EdDSA access tokens, and refusing every
-- forged, tampered, expired or malformed one without raising. Uses kip.tls and kip.json.
local jwt = require "kipperd.auth.jwt"
local tls = require "kip.tls"
local json = require "kip.json"

local b64 = tls.base64url_encode

-- a clock the test moves by hand
local function fake_clock(t)
  local c = { now = t }
  c.fn = function() return c.now end
  return c
end

local function signer_with(clock, extra)
  local opts = { key = jwt.generate_key(), kid = "k1", issuer = "kipperd", audience = "kipper-console",
    ttl = 900, clock = clock.fn }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return jwt.new_signer(opts)
end

-- a token from raw header and claims tables, signed with key (or with sign(input) when given)
local function forge(header, claims, key, sign)
  local input = b64(assert(json.encode(header))) .. "." .. b64(assert(json.encode(claims)))
  local sig = sign and sign(input) or key:sign(input)
  return input .. "." .. b64(sig)
end

local function refused(signer, token, code)
  local claims, reason, c = signer:verify(token)
  assert.is_nil(claims)
  assert.is_string(reason)
  assert.equal(code or "invalid", c)
  return reason
end

describe("kipperd.auth.jwt", function()
  local clock, signer, signing_key
  before_each(function()
    clock = fake_clock(1700000000)
    signing_key = jwt.generate_key()
    signer = signer_with(clock, { key = signing_key })
  end)

  it("issues a token that verifies, with the registered claims set", function()
    local token, issued = signer:issue({ sub = "ada@example.com", role = "admin" })
    assert.matches("^[%w_%-]+%.[%w_%-]+%.[%w_%-]+$", token)
    local header = json.decode(tls.base64url_decode(token:match("^[^.]+")))
    assert.same({ alg = "EdDSA", typ = "JWT", kid = "k1" }, header)
    local claims = assert(signer:verify(token))
    assert.equal("ada@example.com", claims.sub)
    assert.equal("admin", claims.role)
    assert.equal("kipperd", claims.iss)
    assert.equal("kipper-console", claims.aud)
    assert.equal(1700000000, claims.iat)
    assert.equal(1700000000, claims.nbf)
    assert.equal(1700000900, claims.exp)
    assert.equal(22, #claims.jti)
    assert.same(issued, claims)
    local other = signer:issue({ sub = "ada@example.com" })
    assert.are_not.equal(claims.jti, assert(signer:verify(other)).jti)
  end)

  it("refuses reserved claims and bad options at issue and construction", function()
    assert.has_error(function() signer:issue({ exp = 1 }) end)
    assert.has_error(function() signer:issue({ iss = "x" }) end)
    assert.has_error(function() jwt.new_signer({ key = tls.generate_key("ecdsa-p256") }) end)
    assert.has_error(function() jwt.new_signer({ key = jwt.generate_key():public_key() }) end)
    assert.has_error(function() jwt.new_signer({ key = jwt.generate_key(), kid = "a b" }) end)
    assert.has_error(function() jwt.new_signer({ key = jwt.generate_key(), alg = "none" }) end)
  end)

  it("expires at exp, with the leeway and without", function()
    local token = signer:issue({ sub = "u" })
    clock.now = 1700000900 + 29
    assert.is_table(signer:verify(token))
    clock.now = 1700000900 + 30
    local reason = refused(signer, token, "expired")
    assert.matches("expired", reason)

    local strict = signer_with(clock, { leeway = 0 })
    clock.now = 1700000000
    local t2 = strict:issue({})
    clock.now = 1700000899
    assert.is_table(strict:verify(t2))
    clock.now = 1700000900
    refused(strict, t2, "expired")
  end)

  it("refuses a token not valid yet (nbf or iat in the future beyond the leeway)", function()
    local key = jwt.generate_key()
    signer:add_verify_key("k2", key)
    local base = { iss = "kipperd", aud = "kipper-console", exp = 1700009999 }
    local function with(extra)
      local c = {}
      for k, v in pairs(base) do c[k] = v end
      for k, v in pairs(extra) do c[k] = v end
      return forge({ alg = "EdDSA", typ = "JWT", kid = "k2" }, c, key)
    end
    assert.is_table(signer:verify(with({ nbf = 1700000000 + 30 })))
    assert.matches("not valid yet", refused(signer, with({ nbf = 1700000000 + 31 })))
    assert.matches("not valid yet", refused(signer, with({ iat = 1700000000 + 31 })))
    refused(signer, with({ nbf = "soon" }))
    -- exp is required and must be a number
    base.exp = nil
    refused(signer, with({}))
    refused(signer, with({ exp = "1800000000" }))
    -- the claims must be an object
    local arr = b64('{"alg":"EdDSA","kid":"k2"}') .. "." .. b64("[1,2]")
    refused(signer, arr .. "." .. b64(key:sign(arr)))
    local str = b64('{"alg":"EdDSA","kid":"k2"}') .. "." .. b64('"x"')
    refused(signer, str .. "." .. b64(key:sign(str)))
  end)

  it("checks the issuer and the audience (a string or a list holding it)", function()
    local other_iss = signer_with(clock, { issuer = "someone-else", key = signing_key })
    assert.matches("issuer", refused(signer, (other_iss:issue({}))))
    local other_aud = signer_with(clock, { audience = "another-app", key = signing_key })
    assert.matches("audience", refused(signer, (other_aud:issue({}))))

    local key = jwt.generate_key()
    signer:add_verify_key("k2", key)
    local function aud(a)
      return forge({ alg = "EdDSA", kid = "k2" }, { iss = "kipperd", aud = a, exp = 1700000100 }, key)
    end
    assert.is_table(signer:verify(aud(json.array({ "x", "kipper-console" }))))
    refused(signer, aud(json.array({ "x", "y" })))
    refused(signer, aud(json.array({})))
    refused(signer, aud({ a = "kipper-console" }))
    refused(signer, aud(json.null))
  end)

  it("refuses a token with one character of the payload or signature changed", function()
    local token = signer:issue({ sub = "viewer@example.com", role = "viewer" })
    local h, p, s = token:match("^([^.]+)%.([^.]+)%.([^.]+)$")
    -- a payload with role changed to admin, re-encoded, under the original signature
    local claims = json.decode(tls.base64url_decode(p))
    claims.role = "admin"
    refused(signer, h .. "." .. b64(json.encode(claims)) .. "." .. s)
    local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    local function flip(str, i)
      local c = str:sub(i, i)
      local pos = alphabet:find(c, 1, true)
      local repl = alphabet:sub(pos % 64 + 1, pos % 64 + 1)
      return str:sub(1, i - 1) .. repl .. str:sub(i + 1)
    end
    for _, i in ipairs({ 1, 10, #p // 2, #p - 1 }) do
      refused(signer, h .. "." .. flip(p, i) .. "." .. s)
    end
    for _, i in ipairs({ 1, 20, #s - 1, #s }) do
      refused(signer, h .. "." .. p .. "." .. flip(s, i))
    end
    for _, i in ipairs({ 1, #h // 2, #h }) do
      refused(signer, flip(h, i) .. "." .. p .. "." .. s)
    end
  end)

  it("refuses alg swaps: none, HS256 keyed with the public key, ES256, and header keys", function()
    local token = signer:issue({ sub = "u", role = "viewer" })
    local _, p = token:match("^([^.]+)%.([^.]+)%.")
    local function with_header(hdr, sig)
      local input = b64(json.encode(hdr)) .. "." .. p
      return input .. "." .. sig
    end
    -- alg none, empty signature; and with a signature part present
    refused(signer, with_header({ alg = "none", typ = "JWT", kid = "k1" }, ""))
    refused(signer, with_header({ alg = "none", typ = "JWT", kid = "k1" }, "AAAA"))
    refused(signer, with_header({ alg = "None", kid = "k1" }, ""))
    -- HS256 with the public key (PEM, and raw DER-ish bytes) as the HMAC secret
    local pub = signer:verify_key("k1"):public_pem()
    for _, secret in ipairs({ pub, tls.base64_decode(pub:gsub("%-%-%-%-%-[^-]+%-%-%-%-%-", ""):gsub("\n", "")) }) do
      local input = b64(json.encode({ alg = "HS256", typ = "JWT", kid = "k1" })) .. "." .. p
      assert.matches("algorithm", refused(signer, input .. "." .. b64(tls.hmac_sha256(secret, input))))
    end
    -- ES256 signed by an attacker's key, and the same with the real kid
    local ec = tls.generate_key("ecdsa-p256")
    local input = b64(json.encode({ alg = "ES256", typ = "JWT", kid = "k1" })) .. "." .. p
    refused(signer, input .. "." .. b64(ec:sign(input)))
    -- alg missing, or not a string
    refused(signer, forge({ typ = "JWT", kid = "k1" }, { iss = "kipperd" }, signing_key))
    refused(signer, forge({ alg = json.array({ "EdDSA" }), kid = "k1" }, { iss = "kipperd" }, signing_key))
    -- header fields that would let the token pick its key, or demand extensions
    local attacker = jwt.generate_key()
    local claims = { iss = "kipperd", aud = "kipper-console", exp = 1700000500 }
    for _, extra in ipairs({
      { jwk = { kty = "OKP", crv = "Ed25519", x = "AAAA" } }, { jku = "https://evil.example/jwks" },
      { x5u = "https://evil.example/c" }, { x5c = json.array({ "AAAA" }) }, { crit = json.array({ "exp" }) },
    }) do
      local hdr = { alg = "EdDSA", typ = "JWT", kid = "k1" }
      for k, v in pairs(extra) do hdr[k] = v end
      -- even signed with the real key, the header is refused
      assert.matches("header", refused(signer, forge(hdr, claims, signing_key)))
      refused(signer, forge(hdr, claims, attacker))
    end
    -- a header that is not an object; a wrong typ
    refused(signer, b64("[]") .. "." .. p .. "." .. b64(string.rep("\0", 64)))
    refused(signer, forge({ alg = "EdDSA", typ = "JWE", kid = "k1" }, claims, signing_key))
    -- the sanity check: the forge helper makes tokens that do verify
    assert.is_table(signer:verify(forge({ alg = "EdDSA", typ = "JWT", kid = "k1" }, claims, signing_key)))
    assert.is_table(signer:verify(forge({ alg = "EdDSA", kid = "k1" }, claims, signing_key)))
  end)

  it("refuses an unknown kid and a token signed by another signer's key", function()
    local stranger = signer_with(clock) -- same kid "k1", another key
    assert.matches("signature", refused(signer, (stranger:issue({ sub = "u" }))))
    local stranger2 = signer_with(clock, { kid = "k9" })
    assert.matches("unknown", refused(signer, (stranger2:issue({ sub = "u" }))))
    local claims = { iss = "kipperd", aud = "kipper-console", exp = 1700000500 }
    refused(signer, forge({ alg = "EdDSA" }, claims, signing_key))
    refused(signer, forge({ alg = "EdDSA", kid = 1 }, claims, signing_key))
    refused(signer, forge({ alg = "EdDSA", kid = "__index" }, claims, signing_key))
    refused(signer, forge({ alg = "EdDSA", kid = "verify" }, claims, signing_key))
  end)

  it("refuses extra parts, padding, other characters and oversized tokens", function()
    local token = signer:issue({ sub = "u" })
    assert.is_table(signer:verify(token))
    refused(signer, token .. ".")
    refused(signer, token .. ".AAAA")
    refused(signer, "AAAA." .. token)
    refused(signer, (token:gsub("%.[^.]+$", "")))
    refused(signer, token .. "=")
    refused(signer, token .. "==")
    refused(signer, (token:gsub("%.", "=.", 1)))
    refused(signer, " " .. token)
    refused(signer, token .. "\n")
    refused(signer, "Bearer " .. token)
    refused(signer, token:gsub("_", "/"):gsub("%-", "+") .. (token:find("[_-]") and "" or "+"))
    -- a valid signature over a payload padded out past the cap
    local big = signer:issue({ sub = "u", pad = string.rep("x", jwt.MAX_TOKEN_LENGTH) })
    assert.matches("too long", refused(signer, big))
    -- just under the cap still works
    local fits = signer:issue({ sub = "u", pad = string.rep("x", 5000) })
    assert.is_true(#fits < jwt.MAX_TOKEN_LENGTH)
    assert.is_table(signer:verify(fits))
  end)

  it("never raises on garbage: random strings, random mutations, non-strings", function()
    for _, v in ipairs({ 1, true, {}, function() end, io.stdout, "", ".", "..", "...", "a.b.c", "a..c",
      "\0.\0.\0", string.rep(".", 10000), string.rep("A", 20000) }) do
      refused(signer, v)
    end
    refused(signer, nil)
    local token = signer:issue({ sub = "u" })
    local chars = "ABCxyz019-_.=+/ \0\n\255{}\""
    math.randomseed(12345)
    local function rand_char()
      local i = math.random(#chars)
      return chars:sub(i, i)
    end
    for _ = 1, 2000 do
      local t = {}
      for i = 1, math.random(0, 300) do t[i] = rand_char() end
      refused(signer, table.concat(t))
    end
    -- mutations of a good token: replace, insert, delete a character, or splice parts
    local parts = { token:match("^([^.]+)%.([^.]+)%.([^.]+)$") }
    for n = 1, 3000 do
      local t = token
      local i = math.random(#t)
      local op = n % 4
      if op == 0 then
        t = t:sub(1, i - 1) .. rand_char() .. t:sub(i + 1)
      elseif op == 1 then
        t = t:sub(1, i - 1) .. rand_char() .. t:sub(i)
      elseif op == 2 then
        t = t:sub(1, i - 1) .. t:sub(i + 1)
      else
        t = parts[math.random(3)] .. "." .. parts[math.random(3)] .. "." .. parts[math.random(3)]
      end
      if t ~= token then
        local ok, claims, reason = pcall(signer.verify, signer, t)
        assert.is_true(ok, claims)
        if claims == nil then
          assert.is_string(reason)
        else
          -- only a change that decodes to the same bytes could verify: none exist (canonical base64url)
          error("a mutated token verified: " .. t)
        end
      end
    end
    -- well-formed base64url around JSON of every shape
    for _, h in ipairs({ "null", "1", '"EdDSA"', "[]", "{}", '{"alg":null}', '{"alg":"EdDSA","kid":null}',
      '{"alg":"EdDSA","kid":{}}', '{"alg":"EdDSA","kid":"k1","alg":"none"}', "{", "\255\254" }) do
      for _, pl in ipairs({ "null", "{}", "[]", '{"exp":1e400}', '{"exp":null}', "{" }) do
        refused(signer, b64(h) .. "." .. b64(pl) .. "." .. b64(string.rep("\1", 64)))
      end
    end
  end)

  it("remembers a verified token: its signature is checked once, its times every time", function()
    local token = signer:issue({ sub = "u" })
    local real = signer:verify_key("k1")
    local checks = 0
    signer._verify.k1 = { verify = function(_, data, sig) checks = checks + 1; return real:verify(data, sig) end }
    local first = assert(signer:verify(token))
    first.sub = "changed by the caller"
    local second = assert(signer:verify(token))
    assert.equal(1, checks)
    assert.equal("u", second.sub) -- callers get copies
    -- a token that differs in one signature character is checked (and refused), not taken from the memo
    local last = token:sub(-2, -2) == "A" and "B" or "A"
    refused(signer, token:sub(1, -3) .. last .. token:sub(-1))
    assert.equal(2, checks)
    clock.now = clock.now + 900 + 30
    assert.equal("expired", select(3, signer:verify(token)))
    assert.equal(2, checks)
  end)

  it("rotates keys: the old kid verifies while kept, and not after removal", function()
    local old = signer:issue({ sub = "u" })
    assert.equal("k1", signer:kid())
    local new_key = jwt.generate_key()
    signer:rotate(new_key, "k2")
    assert.equal("k2", signer:kid())
    local new = signer:issue({ sub = "u" })
    assert.equal("k2", json.decode(tls.base64url_decode(new:match("^[^.]+"))).kid)
    assert.is_table(signer:verify(old))
    assert.is_table(signer:verify(new))
    assert.same({ "k1", "k2" }, signer:verify_kids())
    assert.equal(new_key:public_pem(), signer:verify_key("k2"):public_pem())
    assert.is_false(signer:verify_key("k2"):is_private())
    assert.has_error(function() signer:remove_verify_key("k2") end)
    signer:remove_verify_key("k1")
    assert.matches("unknown", refused(signer, old))
    assert.is_table(signer:verify(new))

    -- add_verify_key on another instance (say a second kipperd replica) accepts this one's tokens
    local peer = signer_with(clock, { kid = "p1" })
    refused(peer, new)
    peer:add_verify_key("k2", new_key:public_key())
    assert.is_table(peer:verify(new))
    peer:remove_verify_key("k2")
    refused(peer, new)
    assert.has_error(function() peer:add_verify_key("k3", tls.generate_key("ecdsa-p256")) end)
  end)

  it("keeps keys as PEM and loads them back", function()
    local pem = jwt.key_to_pem(signing_key)
    assert.matches("^%-%-%-%-%-BEGIN PRIVATE KEY", pem)
    local key = assert(jwt.load_key(pem))
    assert.is_true(key:is_private())
    local again = jwt.new_signer({ key = key, kid = "k1", clock = clock.fn })
    assert.is_table(again:verify(signer:issue({ sub = "u" })))
    assert.is_table(signer:verify(again:issue({ sub = "u" })))
    -- a public PEM loads as a verify-only key
    local pub = assert(jwt.load_key(key:public_pem()))
    assert.is_false(pub:is_private())
    -- refusals
    assert.is_nil(jwt.load_key("not a key"))
    assert.is_nil(jwt.load_key(42))
    local _, err = jwt.load_key(tls.generate_key("ecdsa-p256"):private_pem())
    assert.matches("Ed25519", err)
    assert.equal(16, #jwt.key_id(key))
    assert.equal(jwt.key_id(key), jwt.key_id(pub))
    -- kid defaults to the key id
    assert.equal(jwt.key_id(key), jwt.new_signer({ key = key }):kid())
  end)
end)
