-- Writes cache entries unless a key holds another Redis type.
-- KEYS: the entries' Redis keys (one hash slot on Cluster).
-- ARGV[1]: PUBLISH or SPUBLISH to announce each key after writing, or ''.
-- ARGV[2]: the channel to announce on (for SPUBLISH, one of the keys' slot).
-- ARGV[2i+1]: the envelope for KEYS[i]; ARGV[2i+2]: its TTL in milliseconds.
-- Every key is checked before any is written, so a WRONGTYPE error leaves
-- all of them untouched. Returns the number of keys written.
for _, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'string' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a tiercache entry')
  end
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[2 * i + 1], 'PX', ARGV[2 * i + 2])
end
if ARGV[1] ~= '' then
  for _, key in ipairs(KEYS) do
    redis.call(ARGV[1], ARGV[2], key)
  end
end
return #KEYS
