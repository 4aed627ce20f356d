-- SPDX-License-Identifier: Apache-2.0
-- kip.install.preflight: the facts script runs on this machine and parses; evaluate() turns facts
-- into the errors and warnings kip install shows.
local preflight = require "kip.install.preflight"
local proc = require "kip.proc"

local VARS = { ["preflight.min_memory_mb"] = 1536, ["preflight.min_disk_gb"] = 10, ["k3s.api_port"] = 6443,
  ["preflight.allow_unsupported_os"] = false }

local function facts(over)
  local f = { os_id = "debian", os_version = "12", os_name = "Debian GNU/Linux 12 (bookworm)", arch = "x86_64",
    mem_kb = 4 * 1024 * 1024, disk_kb = 50 * 1024 * 1024, commands = { curl = true, sha256sum = true, systemctl = true },
    listening = {} }
  for k, v in pairs(over or {}) do f[k] = v end
  return f
end

local function messages(errs)
  local out = {}
  for _, e in ipairs(errs) do out[#out + 1] = e.message end
  return table.concat(out, "\n")
end

describe("kip.install.preflight", function()
  it("gathers this machine's facts with its script", function()
    local r = assert(proc.run({ "sh", "-c", preflight.SCRIPT }))
    assert.equals(0, r.status, r.stderr)
    local f = preflight.parse(r.stdout)
    local os_release = assert(io.open("/etc/os-release")):read("a")
    assert.equals(os_release:match('\nID=([%w-]+)') or os_release:match('^ID=([%w-]+)'), f.os_id)
    assert.equals(assert(proc.run({ "uname", "-m" })).stdout:gsub("%s+$", ""), f.arch)
    assert.is_true(f.mem_kb > 0 and f.disk_kb > 0)
    assert.is_true(f.commands.sh)
  end)

  it("parses listening ports with their programs", function()
    local f = preflight.parse("os_id=ubuntu\nlisten=80 nginx\nlisten=6443 k3s-server\nlisten=22 ?\ncmd_curl=no\nmem_kb=100\n")
    assert.same({ [80] = "nginx", [6443] = "k3s-server", [22] = "?" }, f.listening)
    assert.is_false(f.commands.curl)
    assert.equals(100, f.mem_kb)
  end)

  it("passes a good server", function()
    local errs, warnings = preflight.evaluate(facts(), VARS)
    assert.same({}, errs)
    assert.same({}, warnings)
  end)

  it("names each problem and what to do", function()
    local errs = preflight.evaluate(facts({ os_id = "haiku", os_name = "Haiku R1", arch = "riscv64", mem_kb = 512 * 1024,
      disk_kb = 2 * 1024 * 1024, commands = { sha256sum = true }, listening = { [80] = "nginx", [6443] = "?" } }), VARS)
    local text = messages(errs)
    assert.matches("the operating system (Haiku R1) is not one k3s supports", text, 1, true)
    assert.matches("the architecture riscv64 has no k3s release", text, 1, true)
    assert.matches("the server has 512 MiB of memory; Kipper needs at least 1536 MiB", text, 1, true)
    assert.matches("only 2.0 GiB are free", text, 1, true)
    assert.matches("neither curl nor wget", text, 1, true)
    assert.matches("port 80 is already in use on the server (by nginx)", text, 1, true)
    assert.matches("port 6443 is already in use on the server (by another program)", text, 1, true)
    for _, e in ipairs(errs) do assert.is_string(e.hint) end
  end)

  it("lets k3s hold its ports, and agents skip the port checks", function()
    assert.same({}, (preflight.evaluate(facts({ listening = { [443] = "traefik", [6443] = "k3s-server" } }), VARS)))
    assert.same({}, (preflight.evaluate(facts({ listening = { [80] = "nginx" } }), VARS, { role = "agent" })))
    local errs = preflight.evaluate(facts({ listening = { [7443] = "apache2" } }), { ["k3s.api_port"] = 7443 })
    assert.matches("port 7443", messages(errs))
  end)

  it("warns about end-of-life releases and missing init systems, and honours allow_unsupported_os", function()
    local errs, warnings = preflight.evaluate(facts({ os_id = "ubuntu", os_version = "20.04", os_name = "Ubuntu 20.04.6 LTS",
      commands = { curl = true, sha256sum = true } }), VARS)
    assert.same({}, errs)
    assert.matches("Ubuntu 20.04.6 LTS reached its end of life in 2025%-05", warnings[1])
    assert.matches("neither systemd nor openrc", warnings[2])
    local v = { ["preflight.allow_unsupported_os"] = true }
    errs, warnings = preflight.evaluate(facts({ os_id = "haiku", os_name = "Haiku" }), v)
    assert.same({}, errs)
    assert.matches("Haiku is not a distribution k3s supports; going on as asked", warnings[1], 1, true)
    -- a derivative is judged by ID_LIKE
    assert.same({}, (preflight.evaluate(facts({ os_id = "pop", os_like = "ubuntu debian" }), VARS)))
  end)
end)
