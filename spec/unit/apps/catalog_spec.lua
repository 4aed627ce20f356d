-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.catalog: the service types and masked connection URLs.
local catalog = require "kip.apps.catalog"

describe("kip.apps.catalog", function()
  it("lists the catalog's types and masks passwords in URLs", function()
    local types = catalog.types()
    for _, t in ipairs({ "minio", "mongodb", "mysql", "postgres", "rabbitmq", "redis" }) do
      assert.is_true(catalog.check(t), t)
      local found = false
      for _, x in ipairs(types) do found = found or x == t end
      assert.is_true(found, t)
    end
    local ok, why = catalog.check("oracle")
    assert.is_false(ok)
    assert.matches("unknown service type \"oracle\"", why, 1, true)
    assert.equal("postgresql://app:****@db:5432/app?password=****", catalog.mask("postgresql://app:pw@db:5432/app?password=pw", "pw"))
    assert.equal("redis://:****@cache:6379", catalog.mask("redis://:s3cret@cache:6379", "s3cret"))
    assert.equal("amqp://u:****@mq:5672", catalog.mask("amqp://u:unknown@mq:5672", nil))
  end)
end)
