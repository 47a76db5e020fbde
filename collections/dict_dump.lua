-- dict_dump.lua: serialize a Dict's hash for a copy to another slot.
--
-- KEYS[1]: the hash
--
-- Returns {DUMP's payload, the time to live in milliseconds (0: none)}, or
-- an empty array when the key is absent. Raises WRONGTYPE when the key
-- holds another type.
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then
  return {}
end
if t ~= 'hash' then
  return redis.error_reply('WRONGTYPE copy source ' .. KEYS[1] .. ' holds a ' .. t)
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = 0
elseif ttl == 0 then
  ttl = 1 -- expiring now: 0 would mean no expiry to RESTORE
end
return {redis.call('DUMP', KEYS[1]), ttl}
