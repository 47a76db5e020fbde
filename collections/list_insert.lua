-- list_insert.lua: insert a value before an index of a List, with Python's
-- list.insert rules: a negative index counts from the end, and an index out
-- of range inserts at the nearer end.
--
-- KEYS[1]: the list
-- ARGV[1]: the index
-- ARGV[2]: the value
-- ARGV[3]: optional (Deque): the maximum length; when the list already has
--          that many elements, raises TCFULL and inserts nothing
--
-- Returns the new length. Raises WRONGTYPE when the key holds another type.
-- The elements between the index and the nearer end are moved off and
-- pushed back, so the cost is that of the shorter side.
local key = KEYS[1]
local n = redis.call('LLEN', key)
if ARGV[3] and n >= tonumber(ARGV[3]) then
  return redis.error_reply('TCFULL deque already at its maximum size')
end
local i = tonumber(ARGV[1])
if i < 0 then
  i = math.max(i + n, 0)
end
i = math.min(i, n)
if i == 0 then
  return redis.call('LPUSH', key, ARGV[2])
end
if i == n then
  return redis.call('RPUSH', key, ARGV[2])
end
if i <= n - i then
  local head = redis.call('LRANGE', key, 0, i - 1)
  redis.call('LTRIM', key, i, -1)
  redis.call('LPUSH', key, ARGV[2])
  -- LPUSH reverses its arguments: push the head back from its last element.
  local rev = {}
  for j = #head, 1, -1 do
    rev[#rev + 1] = head[j]
  end
  for j = 1, #rev, 1000 do
    redis.call('LPUSH', key, unpack(rev, j, math.min(j + 999, #rev)))
  end
else
  local tail = redis.call('LRANGE', key, i, -1)
  redis.call('LTRIM', key, 0, i - 1)
  redis.call('RPUSH', key, ARGV[2])
  for j = 1, #tail, 1000 do
    redis.call('RPUSH', key, unpack(tail, j, math.min(j + 999, #tail)))
  end
end
return n + 1
