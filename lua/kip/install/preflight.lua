-- SPDX-License-Identifier: Apache-2.0
-- The k3s recipe's preflight: one shell command gathers the server's facts (OS, architecture,
-- memory, free disk, commands, listening ports), and evaluate() turns them into errors (each with
-- what to do) and warnings, against the recipe's minimums. Pure Lua apart from the script text.
local M = {}

M.COMMANDS = { "sh", "curl", "wget", "sha256sum", "systemctl", "rc-service", "ss", "iptables" }

-- Prints key=value lines; never fails (missing facts come out empty).
M.SCRIPT = [[
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=${ID:-}"; echo "os_like=${ID_LIKE:-}"; echo "os_version=${VERSION_ID:-}"; echo "os_name=${PRETTY_NAME:-}"
echo "arch=$(uname -m)"
echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)"
d=/var/lib/rancher; while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo "disk_kb=$(df -Pk "$d" 2>/dev/null | awk 'NR==2 {print $4}')"
for c in ]] .. table.concat(M.COMMANDS, " ") .. [[; do
  if command -v "$c" >/dev/null 2>&1; then echo "cmd_$c=yes"; else echo "cmd_$c=no"; fi
done
if command -v ss >/dev/null 2>&1; then
  ss -ltnpH 2>/dev/null | awk '{ n = split($4, a, ":"); p = "?"
    if ($0 ~ /users:/) { p = $0; sub(/.*users:\(\("/, "", p); sub(/".*/, "", p) }
    print "listen=" a[n] " " p }'
fi
]]

---@param text string the script's output
---@return table facts {os_id, os_version, os_name, arch, mem_kb, disk_kb, commands = {name = bool}, listening = {port = process}}
function M.parse(text)
  local facts = { commands = {}, listening = {} }
  for line in text:gmatch("[^\n]+") do
    local k, v = line:match("^([%w_]+)=(.*)$")
    if k == "listen" then
      local port, who = v:match("^(%d+) (.*)$")
      if port then facts.listening[tonumber(port)] = who end
    elseif k and k:match("^cmd_") then
      facts.commands[k:sub(5)] = v == "yes"
    elseif k then
      facts[k] = v
    end
  end
  facts.mem_kb = tonumber(facts.mem_kb)
  facts.disk_kb = tonumber(facts.disk_kb)
  return facts
end

-- Distributions k3s supports, and releases past their end of life (a warning, not an error).
local SUPPORTED = { debian = true, ubuntu = true, raspbian = true, rhel = true, centos = true, rocky = true,
  almalinux = true, fedora = true, ol = true, ["opensuse-leap"] = true, ["opensuse-tumbleweed"] = true,
  sles = true, sle_micro = true, amzn = true, alpine = true, arch = true }
local EOL = { debian = { ["8"] = "2020-06", ["9"] = "2022-06", ["10"] = "2024-06" },
  ubuntu = { ["16.04"] = "2021-04", ["18.04"] = "2023-05", ["20.04"] = "2025-05", ["23.10"] = "2024-07" },
  centos = { ["7"] = "2024-06", ["8"] = "2021-12" }, rhel = { ["7"] = "2024-06" }, amzn = { ["2"] = "2026-06" } }
local ARCHES = { x86_64 = "amd64", aarch64 = "arm64", arm64 = "arm64", armv7l = "arm", s390x = "s390x" }

---The architecture's name in k3s release files, or nil when k3s has none.
function M.k3s_arch(uname_m) return ARCHES[uname_m] end

---@param facts table from parse()
---@param vars table the recipe variables (preflight.*, k3s.api_port)
---@param opts? {role?: "server"|"agent"}
---@return {message: string, hint: string}[] errors
---@return string[] warnings
function M.evaluate(facts, vars, opts)
  local role = opts and opts.role or "server"
  local errs, warnings = {}, {}
  local function err(message, hint) errs[#errs + 1] = { message = message, hint = hint } end
  local os_id = facts.os_id or ""
  local family = SUPPORTED[os_id] and os_id
  if not family then
    for like in (facts.os_like or ""):gmatch("%S+") do if SUPPORTED[like] then family = like break end end
  end
  if not family then
    if vars["preflight.allow_unsupported_os"] then
      warnings[#warnings + 1] = string.format("%s is not a distribution k3s supports; going on as asked", facts.os_name or os_id)
    else
      err(string.format("the operating system (%s) is not one k3s supports",
        facts.os_name ~= "" and facts.os_name or (os_id ~= "" and os_id or "no /etc/os-release")),
        "Use Debian, Ubuntu, RHEL/Rocky/Alma, Fedora, SUSE or Alpine, or --set preflight.allow_unsupported_os=true to try anyway.")
    end
  end
  local eol = EOL[os_id] and EOL[os_id][facts.os_version or ""]
  if eol then
    warnings[#warnings + 1] = string.format("%s reached its end of life in %s: it gets no security updates; upgrade it",
      facts.os_name ~= "" and facts.os_name or os_id, eol)
  end
  if not M.k3s_arch(facts.arch or "") then
    err(string.format("the architecture %s has no k3s release", facts.arch ~= "" and facts.arch or "(unknown)"),
      "k3s runs on x86_64, aarch64, armv7l and s390x servers.")
  end
  local min_mb = vars["preflight.min_memory_mb"] or 0
  if facts.mem_kb and facts.mem_kb < min_mb * 1024 then
    err(string.format("the server has %d MiB of memory; Kipper needs at least %d MiB", facts.mem_kb // 1024, min_mb),
      "Use a bigger server, or lower the bar with --set preflight.min_memory_mb=N if you know it is enough.")
  end
  local min_gb = vars["preflight.min_disk_gb"] or 0
  if facts.disk_kb and facts.disk_kb < min_gb * 1024 * 1024 then
    err(string.format("only %.1f GiB are free for /var/lib/rancher; Kipper needs at least %d GiB",
      facts.disk_kb / 1024 / 1024, min_gb),
      "Free some space or grow the disk, or lower the bar with --set preflight.min_disk_gb=N.")
  end
  local c = facts.commands
  if not c.curl and not c.wget then
    err("neither curl nor wget is installed; k3s's install script downloads k3s with one of them",
      "Install curl on the server (apt-get install curl, dnf install curl).")
  end
  if not c.sha256sum then err("sha256sum is missing; k3s's install script checks the download with it", "Install coreutils on the server.") end
  if not c.systemctl and not c["rc-service"] then
    warnings[#warnings + 1] = "neither systemd nor openrc was found; k3s's install script needs one of them to run k3s as a service"
  end
  if role == "server" then
    for _, port in ipairs({ 80, 443, vars["k3s.api_port"] or 6443 }) do
      local who = facts.listening[port]
      if who and not who:match("^k3s") and not who:match("^traefik") then
        err(string.format("port %d is already in use on the server (by %s); Kipper's %s needs it", port,
          who == "?" and "another program" or who, port == 80 and "HTTP ingress" or port == 443 and "HTTPS ingress" or "Kubernetes API"),
          port == (vars["k3s.api_port"] or 6443)
            and string.format("Stop that program (ss -ltnp 'sport = :%d' shows it), or pick another API port with --set k3s.api_port=N.", port)
            or string.format("Stop that program (ss -ltnp 'sport = :%d' shows it): Kipper's ingress serves apps on ports 80 and 443.", port))
      end
    end
  end
  return errs, warnings
end

---One message and one hint for several errors.
---@return string message
---@return string hint
function M.describe(errs)
  local messages, hints = {}, {}
  for _, e in ipairs(errs) do
    messages[#messages + 1] = e.message
    hints[#hints + 1] = e.hint
  end
  return table.concat(messages, "; "), table.concat(hints, "\n")
end

return M
