-- list_sync.lua: turn a Redis list into a syncable List's or Deque's
-- content in one step, if Redis still holds what the changes were computed
-- against.
--
-- KEYS[1]: the list
-- KEYS[2]: its version key
-- ARGV[1]:  "delta" (check, then apply) or "overwrite" (replace the whole
--           list with the right pushes, checking nothing)
-- ARGV[2]:  the version the changes are based on ("" for none)
-- ARGV[3]:  the new version, a random token unique to this Sync
-- ARGV[4]:  the length the changes are based on
-- ARGV[5]:  how many elements to drop from the left
-- ARGV[6]:  the digest of those elements ("" when none): see below
-- ARGV[7]:  how many elements to drop from the right
-- ARGV[8]:  the digest of those elements ("" when none)
-- ARGV[9], ARGV[10], ARGV[11]: the numbers of replacements, left pushes and
--           right pushes that follow, in that order: replacements (index in
--           the list the changes are based on, old element, new element),
--           left pushes (in LPUSH order: the last one ends up first), right
--           pushes (in order)
--
-- A digest is sha1hex(cmsgpack.pack(elements)): the SHA-1, in hex, of the
-- MessagePack array of the elements as strings, which the Go side computes
-- the same way. It lets the script check that the elements it drops are
-- the ones the changes were based on without receiving them.
--
-- Returns:
--   {1, version}  written; version is ARGV[3], or "" when the list, now
--                 empty, was deleted with its version key
--   {2}           nothing to write, and the checks passed
--   {3, ARGV[3]}  the version is already ARGV[3]: this very Sync was
--                 applied before and is being retried
--   {0, reason, version, item}  a check failed, nothing was written:
--                 reason "version" (another Sync wrote since), "length"
--                 (another client changed the length; item is the length
--                 now) or "entry" (another client changed an element this
--                 Sync drops or replaces; item says which)
-- Raises WRONGTYPE, writing nothing, when KEYS[1] holds another type.
--
-- Every check runs before the first write, so a script error cannot leave
-- half the changes. An empty result deletes both keys; otherwise the
-- version key gets ARGV[3] and the list's time to live, which the writes
-- keep.
local key, verkey = KEYS[1], KEYS[2]
local mode, want, new = ARGV[1], ARGV[2], ARGV[3]
local wantLen = tonumber(ARGV[4])
local dropL, digestL = tonumber(ARGV[5]), ARGV[6]
local dropR, digestR = tonumber(ARGV[7]), ARGV[8]
local nSet, nLeft, nRight = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local setAt = 12
local leftAt = setAt + 3 * nSet
local rightAt = leftAt + nLeft

local cur = redis.call('GET', verkey) or ''
if cur == new then
  return {3, cur}
end
local t = redis.call('TYPE', key)['ok']
if t ~= 'none' and t ~= 'list' then
  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a list')
end

if mode == 'delta' then
  if cur ~= want then
    return {0, 'version', cur, ''}
  end
  local n = redis.call('LLEN', key)
  if n ~= wantLen then
    return {0, 'length', cur, tostring(n)}
  end
  if dropL > 0 and redis.sha1hex(cmsgpack.pack(redis.call('LRANGE', key, 0, dropL - 1))) ~= digestL then
    return {0, 'entry', cur, 'the ' .. dropL .. ' dropped from the left'}
  end
  if dropR > 0 and redis.sha1hex(cmsgpack.pack(redis.call('LRANGE', key, -dropR, -1))) ~= digestR then
    return {0, 'entry', cur, 'the ' .. dropR .. ' dropped from the right'}
  end
  for i = setAt, leftAt - 1, 3 do
    if redis.call('LINDEX', key, ARGV[i]) ~= ARGV[i + 1] then
      return {0, 'entry', cur, 'index ' .. ARGV[i]}
    end
  end
  if dropL + dropR + nSet + nLeft + nRight == 0 then
    return {2}
  end
end

for i = setAt, leftAt - 1, 3 do
  redis.call('LSET', key, ARGV[i], ARGV[i + 2])
end
local pttl = 0
if mode == 'overwrite' or (wantLen > 0 and dropL + dropR >= wantLen) then
  pttl = redis.call('PTTL', key)
  redis.call('DEL', key)
elseif dropL + dropR > 0 then
  redis.call('LTRIM', key, dropL, -dropR - 1)
end
-- Pushes take at most 1000 values at a time: unpack has a limit.
for i = leftAt, rightAt - 1, 1000 do
  redis.call('LPUSH', key, unpack(ARGV, i, math.min(i + 999, rightAt - 1)))
end
for i = rightAt, #ARGV, 1000 do
  redis.call('RPUSH', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end

if pttl > 0 then
  redis.call('PEXPIRE', key, pttl)
end
if redis.call('EXISTS', key) == 0 then
  redis.call('DEL', verkey)
  return {1, ''}
end
redis.call('SET', verkey, new)
local ttl = redis.call('PTTL', key)
if ttl > 0 then
  redis.call('PEXPIRE', verkey, ttl)
end
return {1, new}
