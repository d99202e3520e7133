-- What every table, view, column and macro of the warehouse means, with units. Run after SCHEMA_SQL
-- and macros.sql on every writer connection (CREATE OR REPLACE of a view or macro drops its comment).
-- `impact schema` renders these comments into the README's schema section.
-- Units: returns are simple returns as fractions (0.01 = 1%); prices in the listing currency (USD);
-- volumes in shares; DATE = NYSE session or New York calendar date; TIMESTAMPTZ shown in UTC.

COMMENT ON TABLE raw.prices IS 'Daily bars exactly as each source delivered them: key (source, ticker, date).';
COMMENT ON COLUMN raw.prices.source IS 'Source that delivered the bar: demo (simulated), yahoo or files.';
COMMENT ON COLUMN raw.prices.ticker IS 'Stock or ETF symbol.';
COMMENT ON COLUMN raw.prices.date IS 'NYSE session (America/New_York).';
COMMENT ON COLUMN raw.prices.open IS 'Opening price as traded (USD).';
COMMENT ON COLUMN raw.prices.high IS 'Session high as traded (USD).';
COMMENT ON COLUMN raw.prices.low IS 'Session low as traded (USD).';
COMMENT ON COLUMN raw.prices.close IS 'Closing price as traded (USD).';
COMMENT ON COLUMN raw.prices.adj_close IS 'Close adjusted for later splits and dividends (USD, today''s share basis).';
COMMENT ON COLUMN raw.prices.volume IS 'Shares traded, as traded (not split-adjusted).';
COMMENT ON COLUMN raw.prices.split_ratio IS 'Split effective that session (10 = 10-for-1), else 1.';
COMMENT ON COLUMN raw.prices.dividend IS 'Cash dividend going ex that session (USD per share), else 0.';
COMMENT ON COLUMN raw.prices.ingested_at IS 'When the row was written (UTC).';
COMMENT ON COLUMN raw.prices.run_id IS 'Dagster run that wrote the row.';

COMMENT ON TABLE core.prices IS 'One bar per ticker and NYSE session from the latest ingestion: key (ticker, date).';
COMMENT ON COLUMN core.prices.ticker IS 'Stock or ETF symbol.';
COMMENT ON COLUMN core.prices.date IS 'NYSE session (America/New_York).';
COMMENT ON COLUMN core.prices.open IS 'Opening price as traded (USD).';
COMMENT ON COLUMN core.prices.high IS 'Session high as traded (USD).';
COMMENT ON COLUMN core.prices.low IS 'Session low as traded (USD).';
COMMENT ON COLUMN core.prices.close IS 'Closing price as traded (USD).';
COMMENT ON COLUMN core.prices.adj_close IS 'Close adjusted for later splits and dividends (USD, today''s share basis); returns use it.';
COMMENT ON COLUMN core.prices.volume IS 'Shares traded, as traded (not split-adjusted; see mart.abnormal_volume).';
COMMENT ON COLUMN core.prices.split_ratio IS 'Split effective that session (10 = 10-for-1), else 1.';
COMMENT ON COLUMN core.prices.dividend IS 'Cash dividend going ex that session (USD per share), else 0.';
COMMENT ON COLUMN core.prices.source IS 'Source of the bar: demo (simulated), yahoo or files.';
COMMENT ON COLUMN core.prices.ingested_at IS 'When the row was written (UTC).';

COMMENT ON TABLE raw.headlines IS 'Headlines exactly as each source delivered them: key (source, headline_id).';
COMMENT ON COLUMN raw.headlines.source IS 'Source that delivered the story: demo, yahoo, alphavantage, fmp or files.';
COMMENT ON COLUMN raw.headlines.headline_id IS 'Hash of the normalised title and the UTC day: the same story from two sources is one id.';
COMMENT ON COLUMN raw.headlines.ny_date IS 'New York calendar date of publication (the partition).';
COMMENT ON COLUMN raw.headlines.session_date IS 'NYSE session the story can first move (after 16:00 ET, weekends, holidays: the next).';
COMMENT ON COLUMN raw.headlines.published_at IS 'Publication time (UTC).';
COMMENT ON COLUMN raw.headlines.title IS 'Headline text.';
COMMENT ON COLUMN raw.headlines.summary IS 'Summary or lead paragraph, where the source gives one.';
COMMENT ON COLUMN raw.headlines.url IS 'Link to the story.';
COMMENT ON COLUMN raw.headlines.publisher IS 'Publisher named by the source.';
COMMENT ON COLUMN raw.headlines.tickers IS 'Symbols the story is about.';
COMMENT ON COLUMN raw.headlines.ingested_at IS 'When the row was written (UTC).';
COMMENT ON COLUMN raw.headlines.run_id IS 'Dagster run that wrote the row.';

COMMENT ON TABLE core.headlines IS 'One row per story, deduplicated across sources and re-runs: key headline_id.';
COMMENT ON COLUMN core.headlines.headline_id IS 'Hash of the normalised title and the UTC day.';
COMMENT ON COLUMN core.headlines.ny_date IS 'New York calendar date of the first publication (the partition).';
COMMENT ON COLUMN core.headlines.session_date IS 'NYSE session the story can first move (after 16:00 ET, weekends, holidays: the next).';
COMMENT ON COLUMN core.headlines.published_at IS 'First publication time (UTC).';
COMMENT ON COLUMN core.headlines.title IS 'Headline text of the first copy.';
COMMENT ON COLUMN core.headlines.summary IS 'Summary of the first copy that has one.';
COMMENT ON COLUMN core.headlines.url IS 'Link of the first copy that has one.';
COMMENT ON COLUMN core.headlines.publisher IS 'Publisher of the first copy that names one.';
COMMENT ON COLUMN core.headlines.tickers IS 'Symbols the story is about: the union over its copies.';
COMMENT ON COLUMN core.headlines.source IS 'Every source that carried the story, comma-separated.';
COMMENT ON COLUMN core.headlines.ingested_at IS 'Latest write of any copy (UTC).';

COMMENT ON TABLE raw.ingestions IS 'What each ingestion run wrote (one row per run and dataset): feeds the freshness view.';
COMMENT ON COLUMN raw.ingestions.dataset IS 'prices or headlines.';
COMMENT ON COLUMN raw.ingestions.source IS 'Source(s), comma-separated.';
COMMENT ON COLUMN raw.ingestions.range_start IS 'First date of the range written.';
COMMENT ON COLUMN raw.ingestions.range_end IS 'Last date of the range written (inclusive).';
COMMENT ON COLUMN raw.ingestions.rows IS 'Rows written.';
COMMENT ON COLUMN raw.ingestions.ingested_at IS 'When the run wrote them (UTC).';
COMMENT ON COLUMN raw.ingestions.run_id IS 'Dagster run id.';

COMMENT ON TABLE core.events IS 'Curated events (data/events.yaml) and sessions with |SAR| >= 4 (detected): key event_id.';
COMMENT ON COLUMN core.events.event_id IS 'Slug of a curated event, or detected-<ticker>-<date>.';
COMMENT ON COLUMN core.events.name IS 'Human-readable name.';
COMMENT ON COLUMN core.events.kind IS 'earnings, product, model_release, policy, corporate or detected.';
COMMENT ON COLUMN core.events.origin IS 'curated or detected.';
COMMENT ON COLUMN core.events.announced_at IS 'When the news became public (UTC); NULL for detected events.';
COMMENT ON COLUMN core.events.day0 IS 'NYSE session the event moves (tau = 0).';
COMMENT ON COLUMN core.events.day0_rule IS 'How day0 was chosen: next / previous / exact session, override or detected.';
COMMENT ON COLUMN core.events.tickers IS 'The stocks the event is about (curated events are studied on every stock).';
COMMENT ON COLUMN core.events.description IS 'What happened.';
COMMENT ON COLUMN core.events.trigger_sar IS 'Detected events: the standardized abnormal return that triggered them.';
COMMENT ON COLUMN core.events.headline_ids IS 'Detected events: that session''s headlines about the ticker.';
COMMENT ON COLUMN core.events.computed_at IS 'When the row was computed (UTC).';

COMMENT ON TABLE mart.daily_abnormal_returns IS 'Market-model (vs SPY) abnormal return of every stock on every session, re-estimated each session on [-250,-11]: key (ticker, date).';
COMMENT ON COLUMN mart.daily_abnormal_returns.ticker IS 'Stock symbol.';
COMMENT ON COLUMN mart.daily_abnormal_returns.date IS 'NYSE session.';
COMMENT ON COLUMN mart.daily_abnormal_returns.benchmark IS 'Market index of the model (SPY).';
COMMENT ON COLUMN mart.daily_abnormal_returns.ret IS 'Simple return that session (fraction).';
COMMENT ON COLUMN mart.daily_abnormal_returns.expected IS 'Model return alpha + beta * benchmark return (fraction).';
COMMENT ON COLUMN mart.daily_abnormal_returns.ar IS 'Abnormal return ret - expected (fraction).';
COMMENT ON COLUMN mart.daily_abnormal_returns.sar IS 'Standardized abnormal return: AR over its forecast-error standard deviation.';
COMMENT ON COLUMN mart.daily_abnormal_returns.alpha IS 'OLS intercept (fraction per session).';
COMMENT ON COLUMN mart.daily_abnormal_returns.beta IS 'OLS slope on the benchmark.';
COMMENT ON COLUMN mart.daily_abnormal_returns.sigma_e IS 'Residual standard deviation (fraction per session).';
COMMENT ON COLUMN mart.daily_abnormal_returns.n_est IS 'Returns in the estimation window.';
COMMENT ON COLUMN mart.daily_abnormal_returns.computed_at IS 'When the row was computed (UTC).';

COMMENT ON TABLE mart.event_estimates IS 'Normal-return model of every firm-event, including the excluded ones with the reason: key (event_id, ticker).';
COMMENT ON COLUMN mart.event_estimates.event_id IS 'core.events.event_id.';
COMMENT ON COLUMN mart.event_estimates.ticker IS 'Stock symbol.';
COMMENT ON COLUMN mart.event_estimates.sample IS 'event (one of the event''s own tickers) or spillover (another stock, studied apart).';
COMMENT ON COLUMN mart.event_estimates.day0 IS 'Event session (tau = 0).';
COMMENT ON COLUMN mart.event_estimates.model IS 'market (OLS on the benchmark), market-adjusted, constant-mean or factors.';
COMMENT ON COLUMN mart.event_estimates.benchmark IS 'Market index of the model (SPY).';
COMMENT ON COLUMN mart.event_estimates.status IS 'ok, or why the firm-event was excluded.';
COMMENT ON COLUMN mart.event_estimates.reason IS 'Details of an exclusion (ticker, date, tau).';
COMMENT ON COLUMN mart.event_estimates.n_est IS 'Valid returns in the estimation window [-250,-11].';
COMMENT ON COLUMN mart.event_estimates.df IS 'Residual degrees of freedom (n_est - 2 for the market model).';
COMMENT ON COLUMN mart.event_estimates.alpha IS 'OLS intercept (fraction per session).';
COMMENT ON COLUMN mart.event_estimates.beta IS 'OLS slope on the benchmark.';
COMMENT ON COLUMN mart.event_estimates.sigma_e IS 'Residual standard deviation (fraction per session).';
COMMENT ON COLUMN mart.event_estimates.r2 IS 'R-squared of the estimation regression.';
COMMENT ON COLUMN mart.event_estimates.computed_at IS 'When the row was computed (UTC).';

COMMENT ON TABLE mart.abnormal_returns IS 'Returns, expected returns and abnormal returns of every firm-event on every session of the event span: key (event_id, ticker, tau).';
COMMENT ON COLUMN mart.abnormal_returns.event_id IS 'core.events.event_id.';
COMMENT ON COLUMN mart.abnormal_returns.ticker IS 'Stock symbol.';
COMMENT ON COLUMN mart.abnormal_returns.tau IS 'Sessions relative to day0 (0 = the event session).';
COMMENT ON COLUMN mart.abnormal_returns.date IS 'NYSE session of tau.';
COMMENT ON COLUMN mart.abnormal_returns.ret IS 'Simple return (fraction).';
COMMENT ON COLUMN mart.abnormal_returns.expected IS 'Normal return from the estimation-window model (fraction).';
COMMENT ON COLUMN mart.abnormal_returns.ar IS 'Abnormal return ret - expected (fraction).';
COMMENT ON COLUMN mart.abnormal_returns.car IS 'Cumulative AR from the start of the span to tau (fraction).';
COMMENT ON COLUMN mart.abnormal_returns.sar IS 'Standardized AR (forecast-error corrected).';

COMMENT ON TABLE mart.event_windows IS 'CAR and BHAR of every firm-event for each studied window, with the firm-level t-test: key (event_id, ticker, window).';
COMMENT ON COLUMN mart.event_windows.event_id IS 'core.events.event_id.';
COMMENT ON COLUMN mart.event_windows.ticker IS 'Stock symbol.';
COMMENT ON COLUMN mart.event_windows."window" IS 'Label [tau_start,tau_end], e.g. [-1,+1].';
COMMENT ON COLUMN mart.event_windows.tau_start IS 'First session of the window relative to day0.';
COMMENT ON COLUMN mart.event_windows.tau_end IS 'Last session of the window relative to day0 (inclusive).';
COMMENT ON COLUMN mart.event_windows.car IS 'Cumulative abnormal return over the window (fraction).';
COMMENT ON COLUMN mart.event_windows.bhar IS 'Buy-and-hold abnormal return over the window (fraction).';
COMMENT ON COLUMN mart.event_windows.scar IS 'Standardized CAR.';
COMMENT ON COLUMN mart.event_windows.car_sd IS 'Standard deviation of the CAR, forecast-error corrected (fraction).';
COMMENT ON COLUMN mart.event_windows.car_t IS 'car / car_sd.';
COMMENT ON COLUMN mart.event_windows.car_p IS 'Two-sided p-value of car_t, t(df).';
COMMENT ON COLUMN mart.event_windows.df IS 'Degrees of freedom of the t-test.';

COMMENT ON TABLE mart.event_aggregates IS 'Cross-section of each event and window: CAAR, median and share of positive CARs: key (event_id, sample, window).';
COMMENT ON COLUMN mart.event_aggregates.event_id IS 'core.events.event_id.';
COMMENT ON COLUMN mart.event_aggregates.sample IS 'event or spillover: the firms of mart.event_estimates with that sample.';
COMMENT ON COLUMN mart.event_aggregates."window" IS 'Label [tau_start,tau_end].';
COMMENT ON COLUMN mart.event_aggregates.tau_start IS 'First session of the window relative to day0.';
COMMENT ON COLUMN mart.event_aggregates.tau_end IS 'Last session of the window relative to day0 (inclusive).';
COMMENT ON COLUMN mart.event_aggregates.n IS 'Firm-events in the cross-section.';
COMMENT ON COLUMN mart.event_aggregates.caar IS 'Mean CAR (fraction).';
COMMENT ON COLUMN mart.event_aggregates.median_car IS 'Median CAR (fraction).';
COMMENT ON COLUMN mart.event_aggregates.sd_car IS 'Cross-sectional standard deviation of the CARs (fraction).';
COMMENT ON COLUMN mart.event_aggregates.abhar IS 'Mean BHAR (fraction).';
COMMENT ON COLUMN mart.event_aggregates.share_positive IS 'Share of positive CARs (0..1).';
COMMENT ON COLUMN mart.event_aggregates.rbar IS 'Mean pairwise correlation of the estimation residuals (Kolari-Pynnonen).';
COMMENT ON COLUMN mart.event_aggregates.clustered IS 'True when the firms share day0 (cross-correlation matters).';

COMMENT ON TABLE mart.event_tests IS 'Test battery per event and window (Patell, BMP, Kolari-Pynnonen, Corrado, generalized sign, Wilcoxon, sign-flip): key (event_id, sample, window, test).';
COMMENT ON COLUMN mart.event_tests.event_id IS 'core.events.event_id.';
COMMENT ON COLUMN mart.event_tests.sample IS 'event or spillover: the firms of mart.event_estimates with that sample.';
COMMENT ON COLUMN mart.event_tests."window" IS 'Label [tau_start,tau_end].';
COMMENT ON COLUMN mart.event_tests.tau_start IS 'First session of the window relative to day0.';
COMMENT ON COLUMN mart.event_tests.tau_end IS 'Last session of the window relative to day0 (inclusive).';
COMMENT ON COLUMN mart.event_tests.test IS 'Test name, e.g. patell_z, bmp_t, kp_bmp_t, corrado_rank.';
COMMENT ON COLUMN mart.event_tests.statistic IS 'Test statistic.';
COMMENT ON COLUMN mart.event_tests.p_value IS 'Two-sided p-value.';
COMMENT ON COLUMN mart.event_tests.df IS 'Degrees of freedom, where the reference distribution has them.';
COMMENT ON COLUMN mart.event_tests.n IS 'Firm-events in the test.';
COMMENT ON COLUMN mart.event_tests.method IS 'Reference distribution (normal, t, permutation, ...).';
COMMENT ON COLUMN mart.event_tests.clustered IS 'True when the firms share day0.';
COMMENT ON COLUMN mart.event_tests.adjusts_cross_correlation IS 'True when the test is valid under same-day cross-correlation.';

COMMENT ON VIEW core.headline_tickers IS 'Headlines one row per (headline, ticker): the long form most queries want.';
COMMENT ON COLUMN core.headline_tickers.headline_id IS 'core.headlines.headline_id.';
COMMENT ON COLUMN core.headline_tickers.ticker IS 'One symbol the story is about.';
COMMENT ON COLUMN core.headline_tickers.ny_date IS 'New York calendar date of publication.';
COMMENT ON COLUMN core.headline_tickers.session_date IS 'NYSE session the story can first move.';
COMMENT ON COLUMN core.headline_tickers.published_at IS 'Publication time (UTC).';
COMMENT ON COLUMN core.headline_tickers.title IS 'Headline text.';
COMMENT ON COLUMN core.headline_tickers.source IS 'Every source that carried the story.';

COMMENT ON VIEW core.sessions IS 'Every NYSE session with a bar in core.prices, numbered from 0: key date.';
COMMENT ON COLUMN core.sessions.date IS 'NYSE session.';
COMMENT ON COLUMN core.sessions.session_no IS 'Session number (0 = the first session in core.prices).';

COMMENT ON VIEW core.returns IS 'Simple daily return of every ticker from adjusted closes: key (ticker, date).';
COMMENT ON COLUMN core.returns.ticker IS 'Stock or ETF symbol.';
COMMENT ON COLUMN core.returns.date IS 'NYSE session.';
COMMENT ON COLUMN core.returns.ret IS 'adj_close / previous session''s adj_close - 1 (fraction); NULL when that bar is missing.';

COMMENT ON MACRO TABLE mart.event_window IS 'Abnormal returns of symbol around event on taus lo..hi (default -10..10).';
COMMENT ON MACRO TABLE mart.car IS 'CAR[lo, hi] of every ticker for every event, with t and p where [lo, hi] is a studied window.';
COMMENT ON MACRO TABLE mart.event_significance IS 'Test battery of event for window [lo, hi] and sample firms (event, spillover) with its CAAR.';
COMMENT ON MACRO core.session_add IS 'The session n sessions after d (n < 0: before); a non-session d counts from the next session; NULL beyond the data.';
COMMENT ON MACRO core.session_diff IS 'Sessions from a to b (the tau of b when a is day0); non-session dates count from the next session.';
COMMENT ON MACRO mart.car_between IS 'Sum of symbol''s daily abnormal returns (mart.daily_abnormal_returns) on sessions first_date..last_date (fraction).';
COMMENT ON MACRO mart.car_around IS 'Sum of symbol''s daily abnormal returns on sessions [lo, hi] around the session of day (fraction).';
COMMENT ON MACRO TABLE mart.abnormal_volume IS 'Split-adjusted volume against its average over the lookback previous sessions: abnormal_volume = ratio - 1, volume_z = z-score of log volume.';
COMMENT ON MACRO TABLE core.ticker_headlines IS 'Headlines about symbol (NULL: all) whose session falls from first_date to last_date.';
COMMENT ON MACRO TABLE mart.event_headlines IS 'Headlines about event''s tickers on sessions [lo, hi] around its day0, with their tau.';
