-- SPDX-License-Identifier: Apache-2.0
-- kipper-gateway's entry point (core/src/host/main.c built as kipper-gateway calls main(argv)).
-- Being built for issue 6.
local M = {}

function M.main(argv)
  io.stderr:write("kipper-gateway: not built yet\n")
  return 1
end

return M
