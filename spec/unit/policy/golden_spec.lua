-- SPDX-License-Identifier: Apache-2.0
-- Golden objects of the reconcile policies: each spec/fixtures/policy/*.yaml names a policy, a
-- resource, the cluster settings and what the informers hold, and the result wanted (objects,
-- status, deletions), written out and reviewed by hand. The result must match, and every object
-- and status in it must pass the sandbox API's strict validation (Kubernetes v1.34 schemas, the
-- CRDs' schemas).
local fs = require "kip.fs"
local helpers = require "helpers.policy"
local yaml = require "kip.yaml"

local DIR = "spec/fixtures/policy"

local function cases()
  local names = {}
  for _, f in ipairs(fs.list(DIR) or {}) do
    if f:match("%.yaml$") then names[#names + 1] = f end
  end
  table.sort(names)
  return names
end

describe("reconcile policy goldens", function()
  local files = cases()

  it("has a golden for each policy", function()
    local seen = {}
    for _, f in ipairs(files) do seen[assert(yaml.decode(fs.read(DIR .. "/" .. f))).policy] = true end
    assert.same({ app = true, service = true, project = true }, seen)
  end)

  for _, file in ipairs(files) do
    describe(file, function()
      local case = assert(yaml.decode(assert(fs.read(DIR .. "/" .. file))))
      local function run()
        local policy = helpers.policy(case.policy)
        return policy.reconcile(yaml.decode(yaml.encode(case.resource)), helpers.ctx({ observed = case.observed, cluster = case.cluster }))
      end

      it("gives the golden result", function()
        local got = helpers.plain(run())
        local want = case.want
        assert.same(#want.objects, #got.objects)
        for i, obj in ipairs(want.objects) do
          assert.same(obj, got.objects[i], obj.kind .. " " .. obj.metadata.name)
        end
        assert.same(want.status, got.status)
        assert.same(want.delete or {}, got.delete or {})
      end)

      it("gives objects and a status the API accepts", function()
        local api = helpers.new_api()
        local out = run()
        assert.same({}, helpers.apply_all(api, out.objects))
        assert.is_nil(helpers.check_status(api, case.resource, out.status))
      end)
    end)
  end
end)
