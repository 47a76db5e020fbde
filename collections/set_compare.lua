-- set_compare.lua: compare two sets.
--
-- KEYS[1]: set a
-- KEYS[2]: set b
-- ARGV[1]: "subset" (is a a subset of b?) or "disjoint" (do they share no
--          member?)
--
-- Returns 1 for yes, 0 for no. Raises WRONGTYPE naming the key when a key
-- holds another type.
for _, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= 'set' then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a set')
  end
end
if ARGV[1] == 'disjoint' then
  if redis.call('SINTERCARD', 2, KEYS[1], KEYS[2], 'LIMIT', 1) == 0 then
    return 1
  end
  return 0
end
local n = redis.call('SCARD', KEYS[1])
if redis.call('SINTERCARD', 2, KEYS[1], KEYS[2]) == n then
  return 1
end
return 0
