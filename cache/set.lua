-- Writes cache entries unless a key holds another Redis type.
-- KEYS: the entries' Redis keys (one hash slot on Cluster).
-- ARGV[1]: a pub/sub channel to publish each key on after writing, or ''.
-- ARGV[2i]: the envelope for KEYS[i]; ARGV[2i+1]: its TTL in milliseconds.
-- Every key is checked before any is written, so a WRONGTYPE error leaves
-- all of them untouched. Returns the number of keys written.
for _, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'string' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a tiercache entry')
  end
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[2 * i], 'PX', ARGV[2 * i + 1])
end
if ARGV[1] ~= '' then
  for _, key in ipairs(KEYS) do
    redis.call('PUBLISH', ARGV[1], key)
  end
end
return #KEYS
