-- Counts a HyperLogLog together with elements given as arguments, and
-- merges them into it or only counts the union.
--
-- KEYS[1] the HyperLogLog
-- KEYS[2] scratch key accumulating the union (same slot)
-- ARGV[1] 'merge' to add the elements to KEYS[1], 'union' to only count
-- ARGV[2..] the elements, encoded
--
-- Returns the cardinality of KEYS[1] with the elements. The scratch key is
-- deleted before the script returns. Raises WRONGTYPE if KEYS[1] is not a
-- HyperLogLog; it is unchanged then. Elements are added 1000 at a time.
local target = KEYS[1]
if ARGV[1] ~= 'merge' then
  target = KEYS[2]
  redis.call('DEL', target)
  local r = redis.pcall('PFMERGE', target, KEYS[1])
  if type(r) == 'table' and r.err then
    redis.call('DEL', target)
    return r
  end
end
for i = 2, #ARGV, 1000 do
  local r = redis.pcall('PFADD', target, unpack(ARGV, i, math.min(i + 999, #ARGV)))
  if type(r) == 'table' and r.err then
    return r -- only the first chunk can fail (the type), before any write
  end
end
local r = redis.pcall('PFCOUNT', target)
if target == KEYS[2] then
  redis.call('DEL', target)
end
return r
