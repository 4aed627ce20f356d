-- SPDX-License-Identifier: Apache-2.0
-- `kip lua FILE [ARGS...]`: runs a Lua script inside kip with every core module available and
-- `arg` set as the standalone interpreter sets it. For plugin authors, and how the busted specs
-- reach the C modules. An error prints the message and a traceback and exits 1.
local errors = require "kip.cli.errors"

return {
  summary = "Run a Lua script with kip's modules (for plugin authors)",
  description = "Runs FILE with kip's Lua 5.4 and every core module (kip.yaml, kip.fs, kip.proc, kip.log,\n" ..
    "cjson, ...) and plugin search path available. `arg` is set as the lua interpreter sets it\n" ..
    "(arg[0] is FILE, arg[1..] its arguments) and the arguments are also the chunk's `...`.\n" ..
    "Everything after FILE is passed to the script untouched. FILE - reads the script from stdin.\n" ..
    "A script error prints the message and a traceback and exits 1; os.exit(N) exits N.",
  args = { { name = "FILE", help = "the Lua script to run (- for standard input)" } },
  rest = "ARGS",
  rest_help = "arguments for the script",
  examples = {
    "kip lua try-provider.lua 203.0.113.10",
    "echo 'print(require(\"kip.yaml\").encode({a = \"42\"}))' | kip lua -",
    "kip lua $(command -v busted) spec/",
  },
  run = function(ctx)
    local file = ctx.args.FILE
    local chunk, err
    if file == "-" then
      chunk, err = load(io.stdin:read("a"), "=stdin")
    else
      local f, open_err = io.open(file, "r")
      if not f then
        errors.fail(string.format("cannot run %s: %s", file, open_err:gsub("^[^:]*: ", "")),
          "Check the path; kip lua takes the script's file name first.")
      end
      f:close()
      chunk, err = loadfile(file)
    end
    if not chunk then
      io.stderr:write("kip: error: ", err, "\n")
      return 1
    end
    local script_args = ctx.args.ARGS
    local script_arg = { [-2] = ctx.argv0 or "kip", [-1] = "lua", [0] = file }
    for i, a in ipairs(script_args) do script_arg[i] = a end
    _G.arg = script_arg
    local ok, trace = xpcall(chunk, function(e)
      return debug.traceback(type(e) == "string" and e or tostring(e), 2)
    end, table.unpack(script_args))
    if not ok then
      -- the frames below the script are kip's own (xpcall, this command, the CLI frame)
      trace = trace:gsub("\n%s*%[C%]: in function 'xpcall'.*$", "")
      io.stderr:write(trace, "\n")
      return 1
    end
    return 0
  end,
}
