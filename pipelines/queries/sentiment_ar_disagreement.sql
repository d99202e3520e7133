-- sentiment_ar_disagreement: firm-events where headline sentiment and the abnormal return disagreed: the ticker's
-- relevance-weighted mean score (for that ticker) on sessions [lo,hi] around day0 is beyond +-threshold and CAR[lo,hi] has the opposite sign.
-- Largest |CAR| first.
-- columns: event_id, event, day0, ticker, car, car_p, n_headlines, mean_score, sentiment, reaction
-- requires: core.headline_sentiment
-- param lo: -1  first session of the window relative to day0
-- param hi: 1  last session of the window relative to day0
-- param threshold: 0.2  minimum |mean score| (-1..1) to call the news positive or negative
WITH cars AS (
    SELECT event_id, event, day0, ticker, car, car_p
    FROM mart.car(lo := CAST($lo AS INTEGER), hi := CAST($hi AS INTEGER))
), scored AS (
    SELECT c.event_id, c.ticker, count(*) AS n_headlines,
           sum(core.relevance_weight(s.relevance) * s.score) / sum(core.relevance_weight(s.relevance)) AS mean_score
    FROM cars AS c
    JOIN core.headlines AS h
      ON h.session_date BETWEEN core.session_add(c.day0, CAST($lo AS INTEGER)) AND core.session_add(c.day0, CAST($hi AS INTEGER))
    JOIN (SELECT * FROM core.headline_sentiment WHERE relevance <> 'none'
          QUALIFY row_number() OVER (PARTITION BY headline_id, ticker ORDER BY scored_at DESC, model) = 1) AS s
      ON s.headline_id = h.headline_id AND s.ticker = c.ticker
    GROUP BY c.event_id, c.ticker
)
SELECT c.event_id, c.event, c.day0, c.ticker, c.car, c.car_p, s.n_headlines, s.mean_score,
       CASE WHEN s.mean_score > 0 THEN 'positive' ELSE 'negative' END AS sentiment,
       CASE WHEN c.car > 0 THEN 'up' ELSE 'down' END AS reaction
FROM cars AS c
JOIN scored AS s USING (event_id, ticker)
WHERE (s.mean_score >= CAST($threshold AS DOUBLE) AND c.car < 0)
   OR (s.mean_score <= -CAST($threshold AS DOUBLE) AND c.car > 0)
ORDER BY abs(c.car) DESC, c.event_id, c.ticker;
