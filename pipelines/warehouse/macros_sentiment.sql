-- Macros and comments over the sentiment tables (core.headline_sentiment, mart.daily_sentiment).

-- How much a (headline, company) pair counts in a ticker's sentiment index: named 1, indirect 0.5, unrelated 0.
CREATE OR REPLACE MACRO core.relevance_weight(relevance) AS
    CAST(CASE relevance WHEN 'direct' THEN 1.0 WHEN 'indirect' THEN 0.5 ELSE 0.0 END AS DOUBLE);

-- Headlines about one ticker (NULL: every ticker) whose session falls from first_date to last_date: those the
-- source tagged with it and those the entity linker tied to it, with the sentiment FOR THAT TICKER (NULL where
-- not scored). sentiment_model NULL: the latest model that scored each pair.
CREATE OR REPLACE MACRO mart.headline_sentiment_window(symbol, first_date, last_date, sentiment_model := NULL) AS TABLE
    WITH pairs AS (
        SELECT headline_id, ticker FROM core.headline_tickers
        UNION
        SELECT headline_id, ticker FROM core.headline_sentiment WHERE relevance <> 'none'
    )
    SELECT p.ticker, h.session_date, h.published_at, h.headline_id, h.title,
           s.relevance, s.relation, s.model, s.model_version, s.label, s.score, s.p_negative, s.p_neutral, s.p_positive
    FROM pairs AS p
    JOIN core.headlines AS h USING (headline_id)
    LEFT JOIN core.headline_sentiment AS s
      ON s.headline_id = p.headline_id AND s.ticker = p.ticker AND (sentiment_model IS NULL OR s.model = sentiment_model)
    WHERE (symbol IS NULL OR p.ticker = symbol)
      AND h.session_date BETWEEN CAST(first_date AS DATE) AND CAST(last_date AS DATE)
    QUALIFY row_number() OVER (PARTITION BY p.ticker, p.headline_id ORDER BY s.scored_at DESC NULLS LAST) = 1
    ORDER BY h.published_at, p.ticker;

-- Relevance-weighted mean sentiment score for one ticker of the headlines on sessions [lo, hi] around the session of day.
CREATE OR REPLACE MACRO mart.sentiment_around(symbol, day, lo := -1, hi := 1) AS (
    SELECT sum(core.relevance_weight(_m_w.relevance) * _m_w.score) / nullif(sum(core.relevance_weight(_m_w.relevance)), 0)
    FROM mart.headline_sentiment_window(symbol, core.session_add(day, lo), core.session_add(day, hi)) AS _m_w
    WHERE _m_w.score IS NOT NULL
);

COMMENT ON MACRO core.relevance_weight IS 'Weight of a (headline, company) pair in a sentiment index by its relevance: direct 1, indirect 0.5, none 0.';
COMMENT ON MACRO TABLE mart.headline_sentiment_window IS 'Headlines about symbol (NULL: all; tagged or linked) on sessions first_date..last_date with relevance, label, score (p_positive - p_negative, -1..1) and probabilities for that symbol; sentiment_model NULL = latest model per pair.';
COMMENT ON MACRO mart.sentiment_around IS 'Relevance-weighted mean sentiment score (-1..1) for symbol of its headlines on sessions [lo, hi] around the session of day; NULL without scored headlines.';
COMMENT ON TABLE core.headline_sentiment IS 'Sentiment of every (headline, company) pair per model: key (headline_id, ticker, model).';
COMMENT ON COLUMN core.headline_sentiment.headline_id IS 'The story (core.headlines.headline_id).';
COMMENT ON COLUMN core.headline_sentiment.ticker IS 'The company the pair is scored for.';
COMMENT ON COLUMN core.headline_sentiment.relevance IS 'direct (the company is named), indirect (a competitor, supplier, customer or its market is; or only the source tagged it), none.';
COMMENT ON COLUMN core.headline_sentiment.relation IS 'For indirect pairs: competitor, supplier, customer, market or tagged.';
COMMENT ON COLUMN core.headline_sentiment.via IS 'The names in the headline that tie it to the company.';
COMMENT ON COLUMN core.headline_sentiment.model IS 'Classifier name.';
COMMENT ON COLUMN core.headline_sentiment.model_version IS 'Version (weights hash or tag) of the classifier that scored the row.';
COMMENT ON COLUMN core.headline_sentiment.label IS 'Arg-max label for this company: negative, neutral or positive.';
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
COMMENT ON COLUMN mart.daily_sentiment.headlines IS 'Number of headlines concerning the ticker (direct or indirect) that can first move this session.';
COMMENT ON COLUMN mart.daily_sentiment.direct_headlines IS 'Of those, headlines that name the company.';
COMMENT ON COLUMN mart.daily_sentiment.indirect_headlines IS 'Of those, headlines that concern it through a competitor, supplier, customer, its market or a source tag.';
COMMENT ON COLUMN mart.daily_sentiment.mean_score IS 'Relevance-weighted mean score for the ticker (-1..1; core.relevance_weight).';
COMMENT ON COLUMN mart.daily_sentiment.share_negative IS 'Relevance-weighted share (0..1) of those headlines labelled negative for the ticker.';
COMMENT ON COLUMN mart.daily_sentiment.share_positive IS 'Relevance-weighted share (0..1) of those headlines labelled positive for the ticker.';
COMMENT ON COLUMN mart.daily_sentiment.ar IS 'Abnormal return that session (fraction, mart.daily_abnormal_returns).';
COMMENT ON COLUMN mart.daily_sentiment.sar IS 'Standardized abnormal return that session (AR / sigma_e).';
