-- SPDX-License-Identifier: Apache-2.0
-- The files the k3s recipe writes on a server before k3s starts: /etc/rancher/k3s/config.yaml
-- (the server's or an agent's) and registries.yaml for mirrors, as k3s reads them. Uses kip.yaml.
local strings = require "kip.util.strings"
local yaml = require "kip.yaml"

local M = {}

M.CONFIG = "/etc/rancher/k3s/config.yaml"
M.REGISTRIES = "/etc/rancher/k3s/registries.yaml"
M.KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
M.NODE_TOKEN = "/var/lib/rancher/k3s/server/node-token"
M.MANIFESTS = "/var/lib/rancher/k3s/server/manifests"
M.BIN = "/usr/local/bin/k3s"
-- restarts the k3s service under systemd or openrc (as k3s's install script set it up)
M.RESTART = "if command -v systemctl >/dev/null 2>&1; then systemctl restart k3s; else rc-service k3s restart; fi"

local HEADER = "# Written by kip (Kipper). Change it with 'kip install --set ...' or a site recipe;\n" ..
  "# a re-run of kip install puts kip's version back.\n"

local function list(text)
  local out = {}
  for item in (text or ""):gmatch("[^,%s]+") do out[#out + 1] = item end
  return out
end

---Whether a file's text is one kip wrote (it starts with kip's header).
function M.written_by_kip(text)
  return strings.starts_with(text, HEADER)
end

---config.yaml for the k3s server on host.
---@param vars table the recipe's variables
---@param host string the address kip connects to (added to the API certificate)
function M.server_config(vars, host)
  local sans = { host }
  for _, s in ipairs(list(vars["k3s.tls_san"])) do if s ~= host then sans[#sans + 1] = s end end
  local cfg = {
    ["write-kubeconfig-mode"] = "0600",
    ["tls-san"] = yaml.array(sans),
    ["secrets-encryption"] = true,
  }
  if vars["k3s.api_port"] ~= 6443 then cfg["https-listen-port"] = vars["k3s.api_port"] end
  if vars["k3s.node_name"] ~= "" then cfg["node-name"] = vars["k3s.node_name"] end
  if vars["k3s.system_default_registry"] ~= "" then cfg["system-default-registry"] = vars["k3s.system_default_registry"] end
  return HEADER .. yaml.encode(cfg)
end

---config.yaml for an agent joining server_url with token (the file is written 0600).
function M.agent_config(server_url, token, node_name)
  local cfg = { server = server_url, token = token }
  if node_name and node_name ~= "" then cfg["node-name"] = node_name end
  return HEADER .. yaml.encode(cfg)
end

---registries.yaml from k3s.registry_mirrors ("docker.io=https://mirror.example,ghcr.io=https://m2"),
---or nil when no mirror is set.
function M.registries(vars)
  local mirrors = {}
  for _, item in ipairs(list(vars["k3s.registry_mirrors"])) do
    local registry, endpoint = item:match("^([^=]+)=(.+)$")
    if not registry then
      return nil, string.format("k3s.registry_mirrors: %q is not REGISTRY=URL", item)
    end
    mirrors[registry] = mirrors[registry] or { endpoint = yaml.array({}) }
    table.insert(mirrors[registry].endpoint, endpoint)
  end
  if next(mirrors) == nil then return false end
  return HEADER .. yaml.encode({ mirrors = mirrors })
end

---The `k3s --version` first line kip expects for a version.
function M.version_line(version)
  return "k3s version " .. version .. " "
end

---Whether `k3s --version` output shows version.
function M.has_version(output, version)
  return strings.starts_with(output or "", M.version_line(version))
end

---The cluster name for a host: an IPv4 address with dashes (203-0-113-10), a name with dashes for dots.
function M.cluster_name(host)
  return (host:lower():gsub("[^a-z0-9-]", "-"):gsub("^-+", ""):gsub("-+$", ""):sub(1, 63))
end

return M
