-- list_count.lua: count the elements of a List or Deque equal to a value.
--
-- KEYS[1]: the list
-- ARGV[1]: the value (encoded)
--
-- Returns the count (0 when the key does not exist). Raises WRONGTYPE when
-- the key holds another type.
return #redis.call('LPOS', KEYS[1], ARGV[1], 'COUNT', 0)
