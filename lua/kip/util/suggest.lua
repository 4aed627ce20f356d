-- SPDX-License-Identifier: Apache-2.0
-- Closest-match suggestions for mistyped commands, flags and names (Levenshtein distance).
-- Pure Lua; used by the CLI frame and by commands that look names up.
local M = {}

---@param a string
---@param b string
---@return integer distance the number of single-character edits between a and b
function M.distance(a, b)
  local la, lb = #a, #b
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = (ca == b:byte(j)) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[lb]
end

---@param word string what the user typed
---@param candidates string[] what exists
---@return string|nil closest the closest candidate, if any is close enough to be a likely typo
function M.closest(word, candidates)
  local best, best_d
  for _, c in ipairs(candidates) do
    local d = M.distance(word, c)
    if c:sub(1, #word) == word and #word >= 2 then d = math.min(d, 1) end
    if not best_d or d < best_d or (d == best_d and c < best) then best, best_d = c, d end
  end
  if best and best_d <= math.max(1, math.floor(#word / 3)) + 1 and best_d < #word then
    return best
  end
  return nil
end

return M
