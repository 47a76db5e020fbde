-- Writes cache entries unless a key holds another Redis type, and ends the
-- leases and tickets of loads in flight for them: a value those loads
-- produce is older than this write and must not overwrite it.
-- KEYS[1..n]: the entries' Redis keys; KEYS[n+1..2n]: their fences (each in
-- its entry's hash slot; one slot on Cluster).
-- ARGV[1]: PUBLISH or SPUBLISH to announce each key after writing, or ''.
-- ARGV[2]: the channel to announce on (for SPUBLISH, one of the keys' slot).
-- ARGV[2i+1]: the envelope for KEYS[i]; ARGV[2i+2]: its TTL in milliseconds
-- ('0': no expiry).
-- Every key is checked before any is written, so a WRONGTYPE error leaves
-- all of them untouched. Returns the number of keys written.
local n = #KEYS / 2
for i = 1, n do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'string' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', not a tiercache entry')
  end
end
for i = 1, n do
  if ARGV[2 * i + 2] == '0' then
    redis.call('SET', KEYS[i], ARGV[2 * i + 1])
  else
    redis.call('SET', KEYS[i], ARGV[2 * i + 1], 'PX', ARGV[2 * i + 2])
  end
  redis.call('DEL', KEYS[n + i])
end
if ARGV[1] ~= '' then
  for i = 1, n do
    redis.call(ARGV[1], ARGV[2], KEYS[i])
  end
end
return n
