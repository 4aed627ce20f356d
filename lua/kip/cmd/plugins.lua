-- SPDX-License-Identifier: Apache-2.0
-- `kip plugins`: every provider, git provider, install recipe and reconcile policy kip finds,
-- with its kind, name and the file it is loaded from; one that fails to load shows its error and
-- stops nothing. Uses kip.plugins.
local plugins = require "kip.plugins"

local kinds = {}
for _, k in ipairs(plugins.kinds) do kinds[#kinds + 1] = k.kind end

return {
  summary = "List the providers, git providers, recipes, reconcile policies and service types kip finds",
  description = "Lists every plugin found in the search order: each root of KIP_PLUGIN_PATH, then\n" ..
    "KIP_HOME/plugins, then the built-ins. Each root is laid out like kip's repository:\n" ..
    "providers/NAME.lua, gitproviders/NAME.lua, plugins/recipes/NAME.lua, plugins/reconcilers/NAME.lua,\n" ..
    "plugins/catalog/NAME.lua (service types for kipper.run Services)\n" ..
    "(or NAME/init.lua). The first match of a kind and name wins; later ones are shadowed.\n" ..
    "Each plugin is loaded to check it; one that fails shows its error in STATUS.",
  output = true,
  flags = {
    { name = "kind", arg = "KIND", choices = kinds, help = "only this kind: " .. table.concat(kinds, ", ") },
  },
  examples = {
    "kip plugins",
    "kip plugins --kind recipe",
    "KIP_PLUGIN_PATH=$PWD kip plugins -o json",
  },
  run = function(ctx)
    local list = {}
    for _, p in ipairs(plugins.list()) do
      if not ctx.flags.kind or p.kind == ctx.flags.kind then list[#list + 1] = p end
    end
    if ctx.flags.output == "table" then
      if #list == 0 then
        io.stderr:write("No plugins found. Search order: ")
        local paths = {}
        for _, r in ipairs(plugins.roots()) do paths[#paths + 1] = r.path end
        io.stderr:write(table.concat(paths, ", "), "\n")
        return 0
      end
      ctx:show(list, {
        { "KIND", "kind" }, { "NAME", "name" }, { "SOURCE", "source" },
        { "STATUS", function(p) return p.error and ("error: " .. p.error:gsub("\n.*", "")) or "ok" end },
        { "PATH", "path" },
      })
    else
      ctx:show(require("kip.yaml").array(list))
    end
    return 0
  end,
}
