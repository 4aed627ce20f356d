-- SPDX-License-Identifier: Apache-2.0
-- `kip install --host IP`: turns a Linux server into a Kipper cluster over SSH by running an install
-- recipe (default k3s), then adds the cluster to $KIP_HOME/config.yaml as the current one, and
-- shows the console admin's generated password once. Uses kip.install.run (provider, connection,
-- recipe run) and kip.install.k3s_files.
local errors = require "kip.cli.errors"
local files = require "kip.install.k3s_files"
local names = require "kip.util.names"
local run = require "kip.install.run"

local function dashed(host)
  return host:match("^%d+%.%d+%.%d+%.%d+$") and (host:gsub("%.", "-")) or nil
end

local function port_flag(value, name)
  local n = math.tointeger(tonumber(value))
  if not n or n < 1 or n > 65535 then errors.usage(string.format("--%s takes a port number (1-65535), not %q", name, value)) end
  return n
end

return {
  summary = "Install k3s and Kipper on a Linux server over SSH",
  description = "Connects to the server over SSH (as root, or a user with sudo), checks it, installs k3s with\n" ..
    "its install script and then Kipper's components through the Kubernetes API. Each step is\n" ..
    "skipped when it is done already: running it again on an installed server changes nothing, and\n" ..
    "after a failure it resumes. The cluster is added to kip's configuration as the current one.\n" ..
    "Customise with --set (see 'kip install --plan' and docs/recipes.md) or a site recipe.\n" ..
    "Host keys are checked against $KIP_HOME/known_hosts; a transcript of every command run on the\n" ..
    "server is kept in $KIP_HOME/logs.",
  output = true,
  flags = {
    { name = "host", arg = "ADDRESS", help = "the server's IP address or name (required by the bare-metal provider)" },
    { name = "ssh-port", arg = "N", default = "22", help = "its SSH port" },
    { name = "ssh-user", arg = "USER", default = "root", help = "the SSH user; not root: commands run through sudo" },
    { name = "ssh-key", arg = "FILE", help = "private key to log in with (default: ssh-agent's keys)" },
    { name = "name", arg = "NAME", help = "the cluster's name in kip (default: from the host, e.g. 203-0-113-10)" },
    { name = "admin-email", arg = "EMAIL", help = "your email for Let's Encrypt (HTTPS certificates for apps) and the console's first admin" },
    { name = "accept-host-key", help = "trust the server's SSH host key if kip has not seen it before" },
    { name = "sudo-password-stdin", help = "read the SSH user's sudo password from the first line of stdin" },
    { name = "set", arg = "KEY=VALUE", repeated = true, help = "set a recipe variable (e.g. k3s.version=v1.34.1+k3s1)" },
    { name = "recipe", arg = "FILE", help = "a site recipe that extends the k3s recipe" },
    { name = "provider", arg = "NAME", default = "baremetal", help = "the infrastructure provider" },
    { name = "plan", help = "show what would run and change nothing" },
  },
  examples = {
    "kip install --host 203.0.113.10 --ssh-key ~/.ssh/id_ed25519 --admin-email you@example.com",
    "kip install --host 203.0.113.10 --ssh-user ubuntu --accept-host-key",
    "kip install --host 203.0.113.10 --plan",
    "kip install --host 203.0.113.10 --set k3s.version=v1.34.1+k3s1 --set k3s.registry_mirrors=docker.io=https://mirror.example",
    "kip install --host 10.0.0.5 --ssh-user admin --sudo-password-stdin < sudo-password.txt",
  },
  run = function(ctx)
    local f = ctx.flags
    local ssh_port = port_flag(f["ssh-port"], "ssh-port")
    local function check_name(name)
      local ok, why = names.check_label("cluster", name)
      if not ok then errors.usage(why, "Pick a name with --name.") end
    end
    if f.name then check_name(f.name) end
    local email = f["admin-email"]
    if email and not email:match("^[^@%s]+@[^@%s]+%.[^@%s]+$") then
      errors.usage(string.format("--admin-email %q is not an email address", email))
    end
    local p = run.provider(f.provider)
    local recipe, vars = run.recipe("k3s", { file = f.recipe, sets = f.set })
    if email then vars["acme.email"] = email end
    if f["sudo-password-stdin"] then f.sudo_password = run.read_sudo_password() end

    local json = f.output ~= "table"
    local out = json and io.stderr or io.stdout
    local target, machine = run.machine(p, { host = f.host, ssh_port = ssh_port, ssh_user = f["ssh-user"],
      ssh_key = f["ssh-key"], role = "server", name = f.name, plan = f.plan or false }, f)
    -- the address the provider gave: --host for bare metal, a new machine's for a cloud
    local host = machine.address or machine.host
    local name = f.name or files.cluster_name(host)
    check_name(name)
    local cluster = { host = host, name = name }
    if vars.storage == "" then vars.storage = run.provider_value(p, "storage_class", cluster) end
    local lb = run.provider_value(p, "get_load_balancer", cluster)
    local dash = dashed(lb.ip or "")
    local domain = dash and (dash .. "." .. vars["domain.zone"]) or nil
    if vars["cluster.id"] == "" then vars["cluster.id"] = dash or "" end
    if vars["console.host"] == "" then
      vars["console.host"] = dash and ("console-" .. domain) or ("console." .. (lb.hostname or host))
    end
    local transcript = run.transcript(f.plan and "plan" or "install", name)
    out:write(string.format("%s %s on %s (recipe %s)\n", f.plan and "Plan for" or "Installing", name, target.description,
      table.concat(recipe.sources, " + ")))
    local state = { host = host, cluster_name = name, ssh_user = machine.ssh_user, ssh_port = machine.ssh_port,
      ssh_key = machine.ssh_key, domain = domain, provider = p.name() }
    if f.plan then run.show_vars(out, recipe, vars) end
    local summary = run.run({ recipe = recipe, vars = vars, target = target, state = state, plan = f.plan,
      transcript = transcript, out = out, what = "kip install" })
    target:close()
    local result = { cluster = name, host = host, plan = f.plan or nil, ran = summary.ran, skipped = summary.skipped,
      seconds = summary.seconds, ssh_commands = summary.commands, transcript = transcript,
      console = "https://" .. vars["console.host"], domain = domain }
    -- the admin the "admin" step created in this run: its password is shown here once, and is
    -- nowhere else (not in the transcript); -o json carries it as admin.password for scripts
    local admin = state.admin
    if admin then result.admin = { email = admin.email, password = admin.password } end
    if json then
      ctx:show(result)
      return 0
    end
    if f.plan then
      ctx:say("Nothing was changed. Run the same command without --plan to install.")
      return 0
    end
    ctx:say("")
    ctx:say("Kipper is installed on %s: cluster %q is now kip's current cluster.", host, name)
    ctx:say("  %d steps ran, %d were done already (%ds, %d commands over one SSH connection).", summary.ran,
      summary.skipped, summary.seconds, summary.commands)
    ctx:say("  console:    %s", result.console)
    if domain then ctx:say("  apps:       https://APP-%s", domain) end
    ctx:say("  kubectl:    kip kubeconfig > ~/.kube/%s.yaml && KUBECONFIG=~/.kube/%s.yaml kubectl get nodes", name, name)
    ctx:say("  next:       kip status")
    if admin then
      ctx:say("  console login: %s / %s (shown once; kip user reset-password %s renews it)", admin.email,
        admin.password, admin.email)
    end
    return 0
  end,
}
