-- queue_settle.lua: settle a ReliableQueue delivery that is still in flight.
--
-- KEYS[1]: the queue's list
-- KEYS[2]: the in-flight sorted set: delivery id -> deadline (unix ms)
-- KEYS[3]: the deliveries hash: delivery id -> item
-- KEYS[4]: the dead-letter list
-- ARGV[1]: the delivery id
-- ARGV[2]: "ack" (drop the item), "nack" (return it to the front of the
--          queue) or "bury" (move it to the dead-letter list)
--
-- Returns 1 when the delivery was in flight and is settled, 0 when it is
-- not in flight any more (its timeout ended and a claim returned it to the
-- queue, or it was settled already). Raises WRONGTYPE, changing nothing,
-- when a key holds another type.
local types = {'list', 'zset', 'hash', 'list'}
for i = 1, 4 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'none' and t ~= types[i] then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', not a ' .. types[i])
  end
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
local item = redis.call('HGET', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if item and ARGV[2] == 'nack' then
  redis.call('RPUSH', KEYS[1], item)
elseif item and ARGV[2] == 'bury' then
  redis.call('LPUSH', KEYS[4], item)
end
return 1
