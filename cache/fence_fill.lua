-- Writes loaded values, each only while its fence still holds the filler's
-- lease or ticket: Set and Delete end every lease and ticket of their keys
-- (set.lua, Store.del), and so does an accepted fill, so a value loaded
-- before any of them is refused. A value that must go where nothing is
-- (a negative entry, or a load that began on an absent key) is refused too
-- when the key has an entry by then.
-- KEYS[1..n]: the entries; KEYS[n+1..2n]: their fences, each in its
-- entry's hash slot (one slot on Cluster).
-- ARGV[1]: PUBLISH or SPUBLISH to announce each written key, or ''.
-- ARGV[2]: the channel to announce on.
-- Then five for entry i, from ARGV[3 + 5(i-1)]: the fence field (the lease
-- 'L' or a ticket token), the value it must hold, '1' if the entry must be
-- absent, the envelope, its TTL in milliseconds
-- ('0': no expiry).
-- Every entry's type is checked before any is written, so a WRONGTYPE error
-- leaves all of them untouched. A refused entry gives its field back.
-- Returns one number per entry: 1 written, 0 refused.
local n = #KEYS / 2
for i = 1, n do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'string' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', not a tiercache entry')
  end
end
local out = {}
for i = 1, n do
  local a = 3 + 5 * (i - 1)
  local fence = KEYS[n + i]
  local held = redis.call('HGET', fence, ARGV[a]) == ARGV[a + 1]
  if held and (ARGV[a + 2] ~= '1' or redis.call('EXISTS', KEYS[i]) == 0) then
    if ARGV[a + 4] == '0' then
      redis.call('SET', KEYS[i], ARGV[a + 3])
    else
      redis.call('SET', KEYS[i], ARGV[a + 3], 'PX', ARGV[a + 4])
    end
    redis.call('DEL', fence)
    if ARGV[1] ~= '' then
      redis.call(ARGV[1], ARGV[2], KEYS[i])
    end
    out[i] = 1
  else
    if held then
      redis.call('HDEL', fence, ARGV[a])
    end
    out[i] = 0
  end
end
return out
