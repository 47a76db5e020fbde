-- list_take.lua: pop the element at one end of a list (List, Deque, Queue),
-- once per request.
--
-- KEYS[1]: the list
-- KEYS[2]: this request's dedupe record (a string in the list's slot)
-- ARGV[1]: "left" or "right": the end to pop at; "check" to pop nothing
--          and only return what the request took, if anything
-- ARGV[2]: the dedupe window in milliseconds (the record's time to live)
--
-- Returns the element, or nil when the list is empty. A request that
-- already took one (its record exists, holding a copy of the element:
-- go-redis sent it again after losing the reply) returns that element again
-- and pops nothing. Raises WRONGTYPE when the key holds another type.
local prev = redis.call('GET', KEYS[2])
if prev or ARGV[1] == 'check' then
  return prev
end
local cmd = 'RPOP'
if ARGV[1] == 'left' then
  cmd = 'LPOP'
end
local v = redis.call(cmd, KEYS[1])
if v then
  redis.call('SET', KEYS[2], v, 'PX', ARGV[2])
end
return v
