-- Ad-hoc SQL over the event study. Windows are trading days relative to day0.
-- The abnormal returns of one ticker around one event.
CREATE OR REPLACE MACRO mart.event_window(event, symbol, lo := -10, hi := 10) AS TABLE
    SELECT tau, date, ret, expected, ar, car, sar
    FROM mart.abnormal_returns
    WHERE event_id = event AND ticker = symbol AND tau BETWEEN lo AND hi
    ORDER BY tau;

-- CAR[lo, hi] of every ticker for every event; t and p where [lo, hi] is one of the studied windows.
CREATE OR REPLACE MACRO mart.car(lo := -1, hi := 1) AS TABLE
    SELECT a.event_id, e.name AS event, e.kind, e.day0, a.ticker,
           sum(a.ar) AS car, count(*) AS days, w.car_t, w.car_p
    FROM mart.abnormal_returns AS a
    JOIN core.events AS e USING (event_id)
    LEFT JOIN mart.event_windows AS w
      ON w.event_id = a.event_id AND w.ticker = a.ticker AND w.tau_start = lo AND w.tau_end = hi
    WHERE a.tau BETWEEN lo AND hi
    GROUP BY ALL
    HAVING count(*) = hi - lo + 1;

-- The significance table of one event for one window.
CREATE OR REPLACE MACRO mart.event_significance(event, lo := -1, hi := 1) AS TABLE
    SELECT t.test, t.statistic, t.p_value, t.n, t.method, t.clustered, t.adjusts_cross_correlation,
           g.caar
    FROM mart.event_tests AS t
    JOIN mart.event_aggregates AS g USING (event_id, "window")
    WHERE t.event_id = event AND t.tau_start = lo AND t.tau_end = hi;
