-- SPDX-License-Identifier: Apache-2.0
-- kip.sandbox.auth: the k3s-style node token (its forms, the file made 0600 and normalised for
-- the CA), who a request is (certificate, token, neither) and what the token's node may do, with
-- kube-apiserver's 401 and 403 Status messages. Uses helpers for temporary folders.
local auth = require "kip.sandbox.auth"
local fs = require "kip.fs"
local helpers = require "helpers"
local status = require "kip.sandbox.status"
local tls = require "kip.tls"

local CA = "-----BEGIN CERTIFICATE-----\nnot really a certificate\n-----END CERTIFICATE-----\n"

-- Runs fn, which must raise a Status; returns it.
local function refusal(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "no error raised")
  assert.is_true(status.is(err), tostring(err))
  return err
end

describe("kip.sandbox.auth", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rmtree(dir) end)

  it("parses the full token and the short (password-only) form, and refuses others", function()
    local hash = tls.sha256_hex(CA)
    assert.same({ ca_hash = hash, user = "server", password = "abc123" }, auth.parse("K10" .. hash .. "::server:abc123\n"))
    assert.same({ password = "abc123" }, auth.parse("  abc123 "))
    assert.is_nil(auth.parse(""))
    local none, err = auth.parse("K10abcd::server:x")
    assert.is_nil(none)
    assert.matches("sha256", err)
    assert.is_nil(auth.parse("K10" .. hash .. "::no-password"))
    assert.equal("K10" .. hash .. "::server:pw", auth.format(CA, "pw"))
  end)

  it("makes a token file (0600, parent folders made) and reads it back the same", function()
    local path = dir .. "/server/deep/node-token"
    local token = assert(auth.ensure_token(path, CA))
    assert.matches("^K10" .. tls.sha256_hex(CA) .. "::server:%x+$", token)
    assert.equal(32, #token:match("::server:(.+)$"))
    assert.equal(token .. "\n", fs.read(path))
    assert.equal(tonumber("600", 8), fs.stat(path).mode & tonumber("777", 8))
    assert.equal(token, auth.ensure_token(path, CA))
    assert.not_equal(token, auth.ensure_token(dir .. "/other", CA), "each new token has its own password")
  end)

  it("rewrites a bare password, or a token for another CA, in the full form for this CA", function()
    local path = dir .. "/node-token"
    assert(fs.write(path, "my-password\n"))
    assert.equal(auth.format(CA, "my-password"), auth.ensure_token(path, CA))
    assert.equal(auth.format(CA, "my-password") .. "\n", fs.read(path))
    assert(fs.write(path, auth.format("old CA", "kept")))
    assert.equal(auth.format(CA, "kept"), auth.ensure_token(path, CA))
    assert(fs.write(path, "K10zz::server:"))
    local none, err = auth.ensure_token(path, CA)
    assert.is_nil(none)
    assert.matches("node%-token", err)
  end)

  it("authenticates a certificate as system:admin and the token (either form) as a node; else 401", function()
    local token = auth.format(CA, "secret")
    local function req(headers, subject) return { headers = headers or {}, client_subject = subject } end
    assert.equal(auth.ADMIN, auth.authenticate(req({}, "/O=system:masters/CN=system:admin"), token))
    assert.equal(auth.NODE, auth.authenticate(req({ authorization = "Bearer " .. token }), token))
    assert.equal(auth.NODE, auth.authenticate(req({ authorization = "Bearer secret" }), token))
    for _, h in ipairs({ {}, { authorization = "Bearer wrong" }, { authorization = "Basic c2VjcmV0" } }) do
      local st = refusal(auth.authenticate, req(h), token)
      assert.same({ 401, "Unauthorized", "Unauthorized" }, { st.code, st.reason, st.message })
    end
  end)

  it("lets a node register and heartbeat Nodes and read Pods, nothing else (403 with RBAC's message)", function()
    for _, ok in ipairs({ { "get", "nodes" }, { "list", "nodes" }, { "watch", "nodes" }, { "create", "nodes" },
        { "update", "nodes" }, { "patch", "nodes" }, { "patch", "nodes", "status" }, { "update", "nodes", "status" },
        { "get", "pods" }, { "list", "pods" }, { "watch", "pods" } }) do
      assert.has_no.errors(function()
        auth.authorize(auth.NODE, ok[1], { group = "", resource = ok[2], subresource = ok[3] })
      end, table.concat(ok, " "))
    end
    local st = refusal(auth.authorize, auth.NODE, "list", { group = "", resource = "secrets", namespace = "default" })
    assert.equal(403, st.code)
    assert.equal('secrets is forbidden: User "system:node:*" cannot list resource "secrets" in API group "" in the namespace "default"',
      st.message)
    st = refusal(auth.authorize, auth.NODE, "delete", { group = "", resource = "nodes", name = "n1" })
    assert.equal('nodes "n1" is forbidden: User "system:node:*" cannot delete resource "nodes" in API group "" at the cluster scope',
      st.message)
    assert.same({ name = "n1", group = "", kind = "nodes" }, st.details)
    st = refusal(auth.authorize, auth.NODE, "create", { group = "", resource = "pods", subresource = "eviction", name = "p",
      namespace = "ns" })
    assert.matches('cannot create resource "pods/eviction"', st.message)
    st = refusal(auth.authorize, auth.NODE, "get", { group = "apps", resource = "deployments", name = "d", namespace = "ns" })
    assert.matches('^deployments%.apps "d" is forbidden: .* in API group "apps" in the namespace "ns"$', st.message)
    assert.has_no.errors(function() auth.authorize(auth.ADMIN, "delete", { group = "", resource = "secrets" }) end)
    assert.has_no.errors(function() auth.authorize_path(auth.NODE, { method = "GET", path = "/apis" }) end)
    st = refusal(auth.authorize_path, auth.NODE, { method = "POST", path = "/api" })
    assert.equal('forbidden: User "system:node:*" cannot post path "/api"', st.message)
  end)

  it("names the verb of a request as Kubernetes does", function()
    assert.equal("list", auth.verb("GET", nil, false))
    assert.equal("watch", auth.verb("GET", nil, true))
    assert.equal("get", auth.verb("GET", "x", false))
    assert.equal("create", auth.verb("POST", nil))
    assert.equal("update", auth.verb("PUT", "x"))
    assert.equal("patch", auth.verb("PATCH", "x"))
    assert.equal("delete", auth.verb("DELETE", "x"))
    assert.equal("deletecollection", auth.verb("DELETE", nil))
  end)
end)
