-- event_tests: the significance battery of one event (default the DeepSeek-R1 release) for window [lo,hi].
-- columns: test, statistic, p_value, n, method, clustered, adjusts_cross_correlation, caar
-- param event: deepseek-r1-release  core.events.event_id
-- param lo: -1  first session of the window relative to day0
-- param hi: 1  last session of the window relative to day0
SELECT test, statistic, p_value, n, method, clustered, adjusts_cross_correlation, caar
FROM mart.event_significance(CAST($event AS VARCHAR), lo := CAST($lo AS INTEGER), hi := CAST($hi AS INTEGER))
ORDER BY test;
