-- lru_clear.lua: empty an LRUDict's Redis side in one step.
--
-- KEYS[1]: the hash
-- KEYS[2]: its version key
--
-- Deletes both keys and returns {n}, n the number of fields the hash held.
-- Raises WRONGTYPE, deleting nothing, when KEYS[1] holds another type.
-- Deleting the version key makes a syncable Dict that loaded the hash
-- before get ErrConflict at its next Sync, as any LRUDict write does.
local key, verkey = KEYS[1], KEYS[2]
local t = redis.call('TYPE', key)['ok']
if t == 'none' then
  redis.call('DEL', verkey)
  return {0}
end
if t ~= 'hash' then
  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a hash')
end
local n = redis.call('HLEN', key)
redis.call('DEL', key, verkey)
return {n}
