-- common_fill.lua: fill a collection's key with its whole contents, in one
-- step: "create" only when the key does not exist, "replace" whatever it
-- held (Dict, Counter, Set, List, Deque, Queue, SortedSet, HyperLogLog).
--
-- create:
--   KEYS[1]: the collection's key
--   KEYS[2]: this request's dedupe record (a string in the key's slot)
--   KEYS[3]: (optional) its syncable version key "<key>:syncver"
-- replace:
--   KEYS[1]: the collection's key
--   KEYS[2]: (optional) its syncable version key "<key>:syncver"
-- ARGV[1]:    "create" or "replace"
-- ARGV[2]:    the Redis type the key must hold ("hash", "set", "list",
--             "zset", or "string" for a HyperLogLog)
-- ARGV[3]:    the command that writes the contents: HSET, SADD, RPUSH,
--             LPUSH, ZADD or PFADD
-- ARGV[4]:    create: the dedupe window in milliseconds (the record's time
--             to live); replace: unused
-- ARGV[5..n]: the command's arguments after the key (fields and values,
--             members, scores and members), sent 1000 at a time (Lua's
--             unpack has a limit of a few thousand; 1000 is even, so pairs
--             stay whole)
--
-- Returns 1 when it wrote (create: the key did not exist), 0 when create
-- found the key existing and changed nothing. A create that already ran
-- (its record exists: go-redis sent it again after losing the reply)
-- returns what it returned then and changes nothing. Raises WRONGTYPE,
-- changing nothing, when the key or the version key holds another type (a
-- HyperLogLog's key: a string that is not a HyperLogLog).
--
-- The contents replace the key's and any time to live it had; the version
-- key, when given, is deleted with it (as Clear does), so that a syncable
-- collection loaded before sees the change. Redis holds no empty hash,
-- set, list or sorted set: with no arguments, create writes nothing (it
-- only checks) and replace deletes the key. PFADD with no element creates
-- an empty HyperLogLog, which Redis can hold.
local mode, kind, cmd = ARGV[1], ARGV[2], string.upper(ARGV[3])
local key, rid, ver = KEYS[1], nil, KEYS[2]
if mode == 'create' then
  rid, ver = KEYS[2], KEYS[3]
  local prev = redis.call('GET', rid)
  if prev then
    return tonumber(prev)
  end
end
local t = redis.call('TYPE', key)['ok']
if t ~= 'none' and t ~= kind then
  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a ' .. kind)
end
if t == 'string' then
  redis.call('PFCOUNT', key) -- raises WRONGTYPE for a string that is not a HyperLogLog
end
if ver then
  local vt = redis.call('TYPE', ver)['ok']
  if vt ~= 'none' and vt ~= 'string' then
    return redis.error_reply('WRONGTYPE ' .. ver .. ' holds a ' .. vt .. ', not a string')
  end
end

local result = 1
if mode == 'create' and t ~= 'none' then
  result = 0
else
  if ver then
    redis.call('DEL', key, ver)
  else
    redis.call('DEL', key)
  end
  for i = 5, #ARGV, 1000 do
    redis.call(cmd, key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  if cmd == 'PFADD' and #ARGV < 5 then
    redis.call('PFADD', key)
  end
end
if rid then
  redis.call('SET', rid, result, 'PX', ARGV[4])
end
return result
