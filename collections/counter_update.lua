-- counter_update.lua: add deltas to several fields of a Counter's hash, all
-- or none, once per request.
--
-- KEYS[1]: the hash
-- KEYS[2]: this request's dedupe record (a string in the hash's slot)
-- ARGV[1]: the dedupe window in milliseconds (the record's time to live)
-- ARGV[2..]: pairs (field, delta): ARGV[2i] a field, ARGV[2i+1] an integer
--
-- Returns the number of increments made. A request that already ran (its
-- record exists) returns what it returned then and changes nothing. Raises
-- WRONGTYPE when the key holds another type, and the error of HINCRBY (a
-- field that is not an integer, an overflow) after restoring the fields
-- already changed: nothing changes then.
local prev = redis.call('GET', KEYS[2])
if prev then
  return tonumber(prev)
end
local done = {}
for i = 2, #ARGV, 2 do
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
redis.call('SET', KEYS[2], #done, 'PX', ARGV[1])
return #done
