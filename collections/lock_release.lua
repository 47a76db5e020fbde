-- Releases a lock on one master if, and only if, it is held by the token,
-- once: a release run again finds the record the first one left.
--
-- KEYS[1] the lock key
-- KEYS[2] the release record of this token (a string in the lock's slot)
-- ARGV[1] the holder's token
-- ARGV[2] the record's time to live in milliseconds (the dedupe window)
--
-- Returns 1 if the key was deleted, by this run or by an earlier run of
-- this release (go-redis sent it again after losing the reply), 0 if it
-- holds another token or nothing.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  return 1
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 1
end
return 0
