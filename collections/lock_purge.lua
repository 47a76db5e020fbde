-- Deletes a lock's fencing counter on one master, unless the lock is held
-- there.
--
-- KEYS[1] the lock key
-- KEYS[2] the lock's fencing counter
--
-- Returns 1 if the counter is gone (deleted now or absent), 0 if the lock
-- is held on this master (nothing is deleted then).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[2])
return 1
