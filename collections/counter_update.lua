-- counter_update.lua: add deltas to several fields of a Counter's hash, all
-- or none.
--
-- KEYS[1]: the hash
-- ARGV:    pairs (field, delta): ARGV[2i-1] a field, ARGV[2i] an integer
--
-- Returns the number of increments made. Raises WRONGTYPE when the key
-- holds another type, and the error of HINCRBY (a field that is not an
-- integer, an overflow) after restoring the fields already changed: nothing
-- changes then.
local done = {}
for i = 1, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local r = redis.pcall('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  if type(r) == 'table' and r['err'] then
    for j = #done, 1, -1 do
      local d = done[j]
      if d[2] then
        redis.call('HSET', KEYS[1], d[1], d[2])
      else
        redis.call('HDEL', KEYS[1], d[1])
      end
    end
    return r
  end
  done[#done + 1] = {ARGV[i], old}
end
return #done
