-- dict_popitem.lua: remove an arbitrary (random) field of a Dict's hash and
-- return it with its value, once per request.
--
-- KEYS[1]: the hash
-- KEYS[2]: this request's dedupe record (a string in the hash's slot)
-- ARGV[1]: the dedupe window in milliseconds (the record's time to live)
-- ARGV[2]: (optional) "check": remove nothing, only return the pair this
--          request removed, if any
--
-- Returns {field, value}, or nil (nothing removed) when the hash is empty.
-- A request that already removed a pair (its record exists, holding
-- "<length of field>:<field><value>": go-redis sent it again after losing
-- the reply) returns that pair again and changes nothing. Raises WRONGTYPE
-- when the key holds another type.
local prev = redis.call('GET', KEYS[2])
if prev then
  local sep = string.find(prev, ':', 1, true)
  local n = tonumber(string.sub(prev, 1, sep - 1))
  return {string.sub(prev, sep + 1, sep + n), string.sub(prev, sep + n + 1)}
end
if ARGV[2] == 'check' then
  return false
end
local fv = redis.call('HRANDFIELD', KEYS[1], 1, 'WITHVALUES')
if #fv == 0 then
  return false
end
redis.call('HDEL', KEYS[1], fv[1])
redis.call('SET', KEYS[2], string.len(fv[1]) .. ':' .. fv[1] .. fv[2], 'PX', ARGV[1])
return fv
