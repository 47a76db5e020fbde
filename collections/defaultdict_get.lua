-- defaultdict_get.lua: return a DefaultDict's value for a key, storing the
-- default first when the key is absent (HSETNX semantics: an existing value
-- always wins).
--
-- KEYS[1]: the hash
-- ARGV[1]: the field
-- ARGV[2]: the encoded default value
--
-- Returns the field's value. Raises WRONGTYPE when the key holds another
-- type.
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
