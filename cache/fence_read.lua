-- Reads a cache entry and, when a load must follow, takes the entry's fence
-- for it in the same step.
-- KEYS[1]: the entry. KEYS[2]: its fence, a hash in the entry's hash slot
-- that holds the fleet-wide lease (field 'L') and the tickets of loads.
-- ARGV[1]: the fence field to take: 'L' for the lease, else a ticket token.
-- ARGV[2]: the value to store in it (the lease holder's token, or '1').
-- ARGV[3]: the fence's time to live in milliseconds.
-- ARGV[4]: '1' to take the fence whatever the entry holds.
-- ARGV[5]: the envelope version this client reads.
-- A load must follow unless the entry holds an envelope of that version that
-- is a negative entry or is before its soft expiry (bytes 3 to 10, unix ms,
-- big-endian). Returns {entry or false, 1 if the fence was taken else 0}: 0
-- with no load to follow, or when another process holds the lease.
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'string' and t ~= 'none' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' holds a ' .. t .. ', not a tiercache entry')
end
local v = false
if t == 'string' then
  v = redis.call('GET', KEYS[1])
end
local function settled()
  if not v or #v < 18 or string.byte(v, 1) ~= tonumber(ARGV[5]) then
    return false
  end
  if string.byte(v, 2) % 2 == 1 then
    return true -- a negative entry
  end
  local soft = 0
  for i = 3, 10 do
    soft = soft * 256 + string.byte(v, i)
  end
  local now = redis.call('TIME')
  return soft == 0 or soft > tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end
if ARGV[4] ~= '1' and settled() then
  return {v, 0}
end
if ARGV[1] == 'L' then
  if redis.call('HSETNX', KEYS[2], 'L', ARGV[2]) == 0 then
    return {v, 0}
  end
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return {v, 1}
