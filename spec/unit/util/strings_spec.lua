-- SPDX-License-Identifier: Apache-2.0
-- kip.util.strings: split on plain separators, trim, prefixes, sorted keys.
local strings = require "kip.util.strings"

describe("kip.util.strings", function()
  it("splits on a plain separator, keeping empty parts", function()
    assert.same({ "a", "", "b.c" }, strings.split("a::b.c", ":"))
    assert.same({ "" }, strings.split("", ":"))
    assert.same({ "a", "b" }, strings.split("a.b", "."))
  end)

  it("trims, checks prefixes and sorts keys", function()
    assert.equal("x y", strings.trim("  x y \n"))
    assert.is_true(strings.starts_with("kipper", "kip"))
    assert.is_false(strings.starts_with("kip", "kipper"))
    assert.same({ "a", "b" }, strings.sorted_keys({ b = 1, a = 2, [1] = 3 }))
  end)

  it("quotes words for a POSIX shell so sh reads them back unchanged", function()
    local proc = require "kip.proc"
    for _, word in ipairs({ "plain", "", "two words", "it's", "$(rm -rf /)", "a\nb", "`x` \"y\" ;|&*?~" }) do
      local r = assert(proc.run({ "sh", "-c", "printf %s " .. strings.shell_quote(word) }))
      assert.equal(word, r.stdout)
    end
    assert.equal("k3s.yaml", strings.shell_quote("k3s.yaml"))
  end)
end)
