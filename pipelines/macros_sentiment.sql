-- Macros and comments over the sentiment tables (core.headline_sentiment, mart.daily_sentiment).

-- Headlines about one ticker (NULL: every ticker) whose session falls from first_date to last_date,
-- with their sentiment (NULL where not scored). sentiment_model NULL: the latest model that scored each headline.
CREATE OR REPLACE MACRO mart.headline_sentiment_window(symbol, first_date, last_date, sentiment_model := NULL) AS TABLE
    SELECT h.ticker, h.session_date, h.published_at, h.headline_id, h.title,
           s.model, s.model_version, s.label, s.score, s.p_negative, s.p_neutral, s.p_positive
    FROM core.ticker_headlines(symbol, first_date, last_date) AS h
    LEFT JOIN core.headline_sentiment AS s
      ON s.headline_id = h.headline_id AND (sentiment_model IS NULL OR s.model = sentiment_model)
    QUALIFY row_number() OVER (PARTITION BY h.ticker, h.headline_id ORDER BY s.scored_at DESC NULLS LAST) = 1
    ORDER BY h.published_at, h.ticker;

-- Mean sentiment score of one ticker's headlines on sessions [lo, hi] around the session of day.
CREATE OR REPLACE MACRO mart.sentiment_around(symbol, day, lo := -1, hi := 1) AS (
    SELECT avg(_m_w.score)
    FROM mart.headline_sentiment_window(symbol, core.session_add(day, lo), core.session_add(day, hi)) AS _m_w
);

COMMENT ON MACRO TABLE mart.headline_sentiment_window IS 'Headlines about symbol (NULL: all) on sessions first_date..last_date with label, score (p_positive - p_negative, -1..1) and probabilities; sentiment_model NULL = latest model per headline.';
COMMENT ON MACRO mart.sentiment_around IS 'Mean sentiment score (-1..1) of symbol''s headlines on sessions [lo, hi] around the session of day; NULL without scored headlines.';
COMMENT ON TABLE core.headline_sentiment IS 'Sentiment of every headline per model: key (headline_id, model).';
COMMENT ON COLUMN core.headline_sentiment.headline_id IS 'The story (core.headlines.headline_id).';
COMMENT ON COLUMN core.headline_sentiment.model IS 'Classifier name.';
COMMENT ON COLUMN core.headline_sentiment.model_version IS 'Version (weights hash or tag) of the classifier that scored the row.';
COMMENT ON COLUMN core.headline_sentiment.label IS 'Arg-max label: negative, neutral or positive.';
COMMENT ON COLUMN core.headline_sentiment.p_negative IS 'Calibrated probability of negative (0..1).';
COMMENT ON COLUMN core.headline_sentiment.p_neutral IS 'Calibrated probability of neutral (0..1).';
COMMENT ON COLUMN core.headline_sentiment.p_positive IS 'Calibrated probability of positive (0..1).';
COMMENT ON COLUMN core.headline_sentiment.score IS 'p_positive - p_negative, from -1 (bad news) to +1 (good news).';
COMMENT ON COLUMN core.headline_sentiment.scored_at IS 'When the row was scored (UTC).';
COMMENT ON TABLE mart.daily_sentiment IS 'Sentiment index per ticker and session (per model where several scored) with that session''s abnormal return.';
COMMENT ON COLUMN mart.daily_sentiment.ticker IS 'Stock symbol.';
COMMENT ON COLUMN mart.daily_sentiment.date IS 'NYSE session the headlines can first move (core.headlines.session_date).';
COMMENT ON COLUMN mart.daily_sentiment.model IS 'Classifier that scored the headlines (core.headline_sentiment.model).';
COMMENT ON COLUMN mart.daily_sentiment.model_version IS 'Version of that classifier.';
COMMENT ON COLUMN mart.daily_sentiment.headlines IS 'Number of headlines about the ticker that can first move this session.';
COMMENT ON COLUMN mart.daily_sentiment.mean_score IS 'Mean score (-1..1) of those headlines.';
COMMENT ON COLUMN mart.daily_sentiment.share_negative IS 'Share (0..1) of those headlines labelled negative.';
COMMENT ON COLUMN mart.daily_sentiment.share_positive IS 'Share (0..1) of those headlines labelled positive.';
COMMENT ON COLUMN mart.daily_sentiment.ar IS 'Abnormal return that session (fraction, mart.daily_abnormal_returns).';
COMMENT ON COLUMN mart.daily_sentiment.sar IS 'Standardized abnormal return that session (AR / sigma_e).';
