-- lru_write.lua: the round trip of an LRUDict: read one field, delete
-- fields, set fields, in that order, in one step.
--
-- KEYS[1]: the hash
-- KEYS[2]: its version key
-- ARGV[1]: a new version token, stored when anything is written
-- ARGV[2]: "1" to read the field ARGV[3], "0" to read nothing
-- ARGV[3]: the field to read (ignored unless ARGV[2] is "1")
-- ARGV[4]: the number n of fields to delete
-- ARGV[5..4+n]: the fields to delete; then pairs (field, value) to set
--
-- Returns {value, deleted}: the value read (false when the field is absent
-- or none was asked for) and the number of fields deleted. Raises
-- WRONGTYPE, writing nothing, when KEYS[1] holds another type. Writing
-- stores ARGV[1] in the version key (deletes it when the hash is gone), so
-- that a syncable Dict that loaded the hash before gets ErrConflict.
local key, verkey = KEYS[1], KEYS[2]
local t = redis.call('TYPE', key)['ok']
if t ~= 'none' and t ~= 'hash' then
  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a hash')
end
local value = false
if ARGV[2] == '1' then
  value = redis.call('HGET', key, ARGV[3])
end
local nDel = tonumber(ARGV[4])
local deleted = 0
for i = 5, 4 + nDel, 1000 do
  deleted = deleted + redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 999, 4 + nDel)))
end
for i = 5 + nDel, #ARGV, 1000 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if #ARGV > 4 then
  if redis.call('EXISTS', key) == 0 then
    redis.call('DEL', verkey)
  else
    redis.call('SET', verkey, ARGV[1])
    local ttl = redis.call('PTTL', key)
    if ttl > 0 then
      redis.call('PEXPIRE', verkey, ttl)
    end
  end
end
return {value, deleted}
