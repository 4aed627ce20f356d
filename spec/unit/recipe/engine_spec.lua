-- SPDX-License-Identifier: Apache-2.0
-- kip.recipe: resolving a recipe through the plugin search order and extending it with site
-- recipes; running steps with checks (a re-run skips what is done), --set variables, --plan,
-- progress lines, a transcript, and failures that name the step, command, status and output.
-- Recipes run for real on this machine through kip.recipe.local_target.
local engine = require "kip.recipe.engine"
local fs = require "kip.fs"
local helpers = require "helpers"
local load = require "kip.recipe.load"
local target = require "kip.recipe.local_target"
local ui_mod = require "kip.recipe.ui"

local RECIPE = [[
return {
  description = "a test recipe",
  vars = { ["demo.greeting"] = "hello", ["demo.count"] = 2, ["demo.loud"] = false },
  steps = {
    { name = "marker-dir", title = "Make the marker folder",
      check = function(ctx) return ctx:test("test -d " .. ctx.vars.dir) end,
      run = function(ctx) ctx:sh("mkdir -p " .. ctx.vars.dir) end },
    { name = "greet", title = "Write the greeting",
      check = function(ctx) return ctx:download(ctx.vars.dir .. "/greeting") ~= nil end,
      run = function(ctx)
        local text = string.rep(ctx.vars["demo.greeting"] .. "\n", ctx.vars["demo.count"])
        ctx:upload(ctx.vars.dir .. "/greeting", text, "0640")
      end },
    { name = "maybe-fail", title = "Fail when asked",
      check = function(ctx) return ctx:test("test -f " .. ctx.vars.dir .. "/passed") end,
      hint = "Remove the fail marker and run it again.",
      run = function(ctx)
        ctx:sh("echo checking; echo 'it went wrong' >&2; test ! -f " .. ctx.vars.dir .. "/fail")
        ctx:sh("touch " .. ctx.vars.dir .. "/passed")
      end },
  },
}
]]

local function capture()
  local lines = {}
  local out = { write = function(self, ...) for _, s in ipairs({ ... }) do lines[#lines + 1] = s end return self end,
    flush = function() end }
  return out, function() return table.concat(lines) end
end

describe("kip.recipe", function()
  local dir, roots
  setup(function()
    dir = helpers.tmpdir()
    roots = dir .. "/plugins"
    helpers.write(roots .. "/plugins/recipes/demo.lua", RECIPE)
  end)
  teardown(function() helpers.rmtree(dir) end)

  -- the spec process cannot change KIP_PLUGIN_PATH, so it searches its own root for a moment
  local function resolve(opts)
    local plugins = require "kip.plugins"
    local saved = plugins.roots
    plugins.roots = function() return { { path = roots, source = "test" } } end
    local r, err = load.resolve("demo", opts)
    plugins.roots = saved
    return r, err
  end

  local function run(recipe, vars_overrides, extra)
    local vars = assert(engine.variables(recipe, vars_overrides))
    vars.dir = extra.work
    local out, text = capture()
    local summary, failure = engine.run(recipe, { target = target.new(), vars = vars, plan = extra.plan,
      ui = ui_mod.new({ out = out, tty = false }), transcript = extra.transcript })
    return summary, failure, text()
  end

  it("runs every step, then skips them all on a re-run", function()
    local recipe = assert(resolve())
    local work = dir .. "/run1"
    local summary, failure, out = run(recipe, { "demo.count=3" }, { work = work, transcript = dir .. "/t1.log" })
    assert.is_nil(failure)
    assert.same({ ran = 3, skipped = 0 }, { ran = summary.ran, skipped = summary.skipped })
    assert.equal("hello\nhello\nhello\n", fs.read(work .. "/greeting"))
    assert.equal(tonumber("640", 8), fs.stat(work .. "/greeting").mode)
    assert.matches("%[1/3%] Make the marker folder\n", out)
    assert.matches("%[2/3%] Write the greeting %.%.%. done %(%d+s%)\n", out)
    local again, f2, out2 = run(recipe, {}, { work = work })
    assert.is_nil(f2)
    assert.equal(0, again.ran)
    assert.equal(3, again.skipped)
    assert.matches("already done, skipped", out2)
    local log = assert(fs.read(dir .. "/t1.log"))
    assert.matches("%$ mkdir %-p " .. work:gsub("%p", "%%%0"), log)
    assert.matches("checking\nit went wrong\n%[exit 0%]", log)
  end)

  it("fails a step with the command, its status, its output and a hint; a re-run resumes", function()
    local recipe = assert(resolve())
    local work = dir .. "/run2"
    assert(fs.mkdir(work))
    assert(fs.write(work .. "/fail", ""))
    local summary, failure, out = run(recipe, {}, { work = work })
    assert.is_nil(summary)
    assert.equal("maybe-fail", failure.step)
    assert.equal(1, failure.status)
    assert.matches("test ! %-f", failure.command)
    assert.same({ "checking", "it went wrong" }, failure.output)
    assert.equal("Remove the fail marker and run it again.", failure.hint)
    assert.matches("%[3/3%] Fail when asked %.%.%. failed", out)
    fs.remove(work .. "/fail")
    local resumed, f2 = run(recipe, {}, { work = work })
    assert.is_nil(f2)
    assert.equal(1, resumed.ran, "only the failed step runs again")
    assert.equal(2, resumed.skipped)
  end)

  it("plans without changing anything", function()
    local recipe = assert(resolve())
    local work = dir .. "/run3"
    local summary, failure, out = run(recipe, {}, { work = work, plan = true })
    assert.is_nil(failure)
    assert.equal(0, summary.ran)
    assert.matches("Make the marker folder %.%.%. would run", out)
    assert.is_false(fs.exists(work))
  end)

  it("checks --set against the recipe's variables and their types", function()
    local recipe = assert(resolve())
    local vars = assert(engine.variables(recipe, { "demo.loud=true", "demo.greeting=hi=there" }))
    assert.is_true(vars["demo.loud"])
    assert.equal("hi=there", vars["demo.greeting"])
    local _, e1 = engine.variables(recipe, { "demo.greting=x" })
    assert.matches('no variable "demo.greting" %(did you mean "demo.greeting"%?%)', e1)
    local _, e2 = engine.variables(recipe, { "demo.count=many" })
    assert.equal('--set demo.count takes a number, not "many"', e2)
    local _, e3 = engine.variables(recipe, { "novalue" })
    assert.matches("KEY=VALUE", e3)
  end)

  it("extends a recipe with a site recipe: variables, added, replaced and removed steps", function()
    local home = dir .. "/home"
    helpers.write(home .. "/recipes/demo.lua", [[
return { extends = "demo", vars = { ["demo.greeting"] = "site hello" },
  steps = { { name = "maybe-fail", remove = true } } }
]])
    local file = dir .. "/extra.lua"
    helpers.write(file, [[
return { extends = "demo",
  steps = {
    { name = "first", before = "marker-dir", run = function(ctx) ctx:sh("true") end },
    { name = "greet", title = "Greet the site way", run = function(ctx)
      ctx:sh("mkdir -p " .. ctx.vars.dir .. " && echo site > " .. ctx.vars.dir .. "/site")
    end },
  } }
]])
    local recipe = assert(resolve({ home = home, file = file }))
    local names = {}
    for _, s in ipairs(recipe.steps) do names[#names + 1] = s.name end
    assert.same({ "first", "marker-dir", "greet" }, names)
    assert.equal("site hello", recipe.vars["demo.greeting"])
    local summary, failure = run(recipe, {}, { work = dir .. "/run4" })
    assert.is_nil(failure)
    assert.equal(3, summary.ran)
    assert.equal("site\n", fs.read(dir .. "/run4/site"))
  end)

  it("names the problem with a broken site recipe", function()
    local bad = dir .. "/bad.lua"
    helpers.write(bad, 'return { extends = "demo", steps = { { name = "x", after = "nope", run = function() end } } }')
    local r, err = resolve({ file = bad })
    assert.is_nil(r)
    assert.matches('step "x" is placed next to "nope", which demo does not have', err)
    helpers.write(bad, 'return { extends = "other", steps = {} }')
    local _, err2 = resolve({ file = bad })
    assert.matches('extends recipe "other"', err2)
    helpers.write(bad, 'return { steps = { { name = "norun" } } }')
    local _, err3 = resolve({ file = bad })
    assert.matches('step "norun" has no run function', err3)
  end)
end)
