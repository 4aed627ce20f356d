-- SPDX-License-Identifier: Apache-2.0
-- `kip version`: kip's version and the versions of the libraries it runs with (read from each
-- library at run time). Uses kip.host.
local host = require "kip.host"

return {
  summary = "Show kip's version and the libraries it runs with",
  description = "Shows kip's version, the commit it was built from, and the versions of Lua, libssh,\n" ..
    "libcurl, OpenSSL, civetweb and libyaml as the running binary reports them.",
  output = true,
  examples = { "kip version", "kip version -o json" },
  run = function(ctx)
    local version, commit = host.version()
    local info = { version = version, commit = commit ~= "" and commit or nil, libraries = host.libraries() }
    if ctx.flags.output ~= "table" then
      ctx:show(info)
      return 0
    end
    ctx:say("kip %s%s", version, info.commit and (" (" .. info.commit .. ")") or "")
    local rows = {}
    for _, lib in ipairs(info.libraries) do rows[#rows + 1] = lib end
    ctx:show(rows, { { "LIBRARY", "name" }, { "VERSION", "version" } })
    return 0
  end,
}
