-- car_by_event: CAR[lo,hi] (default [-1,+1]) of every ticker for every event, most negative first.
-- columns: event_id, event, kind, day0, ticker, car, days, car_t, car_p
-- param lo: -1  first session of the window relative to day0
-- param hi: 1  last session of the window relative to day0
SELECT event_id, event, kind, day0, ticker, car, days, car_t, car_p
FROM mart.car(lo := CAST($lo AS INTEGER), hi := CAST($hi AS INTEGER))
ORDER BY car, event_id, ticker;
