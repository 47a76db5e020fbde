-- keyed_sync.lua: write the changes of a syncable hash (Dict, DefaultDict,
-- Counter) or set (Set) in one step, if Redis still holds what they were
-- computed against.
--
-- KEYS[1]: the hash or set
-- KEYS[2]: its version key
-- ARGV[1]: "delta" (check, then apply the changes) or "overwrite" (replace
--          the whole collection with the additions, checking nothing)
-- ARGV[2]: the version the changes are based on ("" for none)
-- ARGV[3]: the new version, a random token unique to this Sync
-- ARGV[4]: the length the changes are based on
-- ARGV[5]: "hash" or "set"
-- ARGV[6], ARGV[7], ARGV[8]: the numbers of additions, modifications and
--          deletions that follow, in that order:
--          hash: additions (field, value), modifications (field, old value,
--          new value), deletions (field, old value)
--          set:  additions (member), deletions (member); no modifications
--
-- Returns:
--   {1, version}  written; version is ARGV[3], or "" when the collection,
--                 now empty, was deleted with its version key
--   {2}           nothing to write, and the checks passed
--   {3, ARGV[3]}  the version is already ARGV[3]: this very Sync was
--                 applied before and is being retried
--   {0, reason, version, item}  a check failed, nothing was written:
--                 reason "version" (another Sync wrote since), "length"
--                 (another client added or removed entries; item is the
--                 length now) or "entry" (another client changed an entry
--                 this Sync changes; item names it)
-- Raises WRONGTYPE, writing nothing, when KEYS[1] holds another type.
--
-- Every check runs before the first write, so a script error cannot leave
-- half the changes. An empty result deletes both keys; otherwise the version
-- key gets ARGV[3] and the collection's time to live, which the writes keep.
local key, verkey = KEYS[1], KEYS[2]
local mode, want, new = ARGV[1], ARGV[2], ARGV[3]
local wantLen, kind = tonumber(ARGV[4]), ARGV[5]
local nAdd, nMod, nDel = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])

local cur = redis.call('GET', verkey) or ''
if cur == new then
  return {3, cur}
end
local t = redis.call('TYPE', key)['ok']
if t ~= 'none' and t ~= kind then
  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a ' .. kind)
end

local hash = kind == 'hash'
local addStep = 1
if hash then
  addStep = 2
end
local addAt = 9
local modAt = addAt + nAdd * addStep
local delAt = modAt + nMod * 3

-- check runs cmd (HMGET or SMISMEMBER) on the arguments ARGV[from],
-- ARGV[from+step]... up to ARGV[to], 1000 at a time, and returns the first
-- argument i for which ok(i, reply) is false; nil when there is none.
local function check(cmd, from, to, step, ok)
  local args, at = {}, {}
  local function flush()
    if #args > 0 then
      local r = redis.call(cmd, key, unpack(args))
      for j = 1, #args do
        if not ok(at[j], r[j]) then
          return ARGV[at[j]]
        end
      end
      args, at = {}, {}
    end
    return nil
  end
  for i = from, to, step do
    args[#args + 1] = ARGV[i]
    at[#at + 1] = i
    if #args == 1000 then
      local bad = flush()
      if bad then
        return bad
      end
    end
  end
  return flush()
end

if mode == 'delta' then
  if cur ~= want then
    return {0, 'version', cur, ''}
  end
  local n
  if hash then
    n = redis.call('HLEN', key)
  else
    n = redis.call('SCARD', key)
  end
  if n ~= wantLen then
    return {0, 'length', cur, tostring(n)}
  end
  local bad
  if hash then
    -- Added fields must be absent (nothing to check in an empty hash),
    -- changed and deleted ones hold their old values.
    if n > 0 then
      bad = check('HMGET', addAt, modAt - 1, 2, function(_, v) return not v end)
    end
    bad = bad or check('HMGET', modAt, delAt - 1, 3, function(i, v) return v == ARGV[i + 1] end)
    bad = bad or check('HMGET', delAt, #ARGV, 2, function(i, v) return v == ARGV[i + 1] end)
  else
    if n > 0 then
      bad = check('SMISMEMBER', addAt, modAt - 1, 1, function(_, v) return v == 0 end)
    end
    bad = bad or check('SMISMEMBER', delAt, #ARGV, 1, function(_, v) return v == 1 end)
  end
  if bad then
    return {0, 'entry', cur, bad}
  end
  if nAdd + nMod + nDel == 0 then
    return {2}
  end
end

local pttl = 0
if mode == 'overwrite' then
  pttl = redis.call('PTTL', key)
  redis.call('DEL', key)
end

-- Commands take at most 1000 arguments at a time: unpack has a limit.
local function slices(cmd, from, to)
  for i = from, to, 1000 do
    redis.call(cmd, key, unpack(ARGV, i, math.min(i + 999, to)))
  end
end
local function gather(cmd, from, to, step, pick)
  local args = {}
  for i = from, to, step do
    for _, off in ipairs(pick) do
      args[#args + 1] = ARGV[i + off]
    end
    if #args >= 1000 then
      redis.call(cmd, key, unpack(args))
      args = {}
    end
  end
  if #args > 0 then
    redis.call(cmd, key, unpack(args))
  end
end

if hash then
  slices('HSET', addAt, modAt - 1)
  gather('HSET', modAt, delAt - 1, 3, {0, 2})
  gather('HDEL', delAt, #ARGV, 2, {0})
else
  slices('SADD', addAt, modAt - 1)
  slices('SREM', delAt, #ARGV)
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
