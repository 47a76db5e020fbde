-- load.lua: read one chunk of a collection for Load.
--
-- KEYS[1]: the collection's key
-- KEYS[2]: its version key
-- KEYS[3]: the snapshot a large collection is read from (same hash tag)
-- ARGV[1]: the Redis type the key must hold: "hash", "set" or "list"
-- ARGV[2]: the chunk size: entries per call
-- ARGV[3]: "" on the first call; then the cursor the previous call returned
-- ARGV[4]: the snapshot's time to live, in milliseconds
--
-- Returns {version, length, next, items}. On the first call, version is the
-- version key's value ("" when there is none) and length the collection's
-- length, both read at the same instant as the data; later calls return ""
-- and 0 for them. next is "0" when the read is complete, else the cursor
-- for the next call. items is the chunk, flat: field, value, field,
-- value... for a hash; members for a set; elements, in order, for a list.
--
-- A collection of at most ARGV[2] entries is read whole by the first call.
-- A larger one is first copied (COPY) to KEYS[3], so that the chunks read
-- later are all of that one instant's state whatever happens to KEYS[1]
-- meanwhile; the call that reads the last chunk deletes the copy, and its
-- time to live, renewed by every call, removes it if the reader goes away.
-- Raises WRONGTYPE when KEYS[1] holds another type, and TCSNAPSHOT when the
-- copy is gone (it expired between two calls).
local key, verkey, snap = KEYS[1], KEYS[2], KEYS[3]
local kind, chunk, cursor, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]

local function len(k)
  if kind == 'hash' then
    return redis.call('HLEN', k)
  elseif kind == 'set' then
    return redis.call('SCARD', k)
  end
  return redis.call('LLEN', k)
end

-- read returns the next cursor and the chunk of k starting at cursor from.
local function read(k, from)
  if kind == 'hash' then
    local r = redis.call('HSCAN', k, from, 'COUNT', chunk)
    return r[1], r[2]
  elseif kind == 'set' then
    local r = redis.call('SSCAN', k, from, 'COUNT', chunk)
    return r[1], r[2]
  end
  local start = tonumber(from)
  local items = redis.call('LRANGE', k, start, start + chunk - 1)
  if start + chunk < redis.call('LLEN', k) then
    return tostring(start + chunk), items
  end
  return '0', items
end

if cursor == '' then
  local version = redis.call('GET', verkey) or ''
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then
    return {version, 0, '0', {}}
  end
  if t ~= kind then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a ' .. kind)
  end
  local n = len(key)
  if n <= chunk then
    local items
    if kind == 'hash' then
      items = redis.call('HGETALL', key)
    elseif kind == 'set' then
      items = redis.call('SMEMBERS', key)
    else
      items = redis.call('LRANGE', key, 0, -1)
    end
    return {version, n, '0', items}
  end
  redis.call('COPY', key, snap, 'REPLACE')
  redis.call('PEXPIRE', snap, ttl)
  local nxt, items = read(snap, '0')
  if nxt == '0' then
    redis.call('DEL', snap)
  end
  return {version, n, nxt, items}
end

if redis.call('PEXPIRE', snap, ttl) == 0 then
  return redis.error_reply('TCSNAPSHOT the copy ' .. snap .. ' being loaded is gone (expired between two chunks)')
end
local nxt, items = read(snap, cursor)
if nxt == '0' then
  redis.call('DEL', snap)
end
return {'', 0, nxt, items}
