-- Queries of the KPIs and pipeline analytics, in the SQL DuckDB and
-- PostgreSQL share. Templates: {{part}} is SQL written by the package (the
-- slice key and its join, visibility and filter conditions, period
-- buckets); :name is a bound parameter. Every query aggregates in the
-- database and returns a handful of rows per slice.
--
-- The dashboard's total, by-team and by-rep tables are computed in one
-- pass (computeAll in kpis.go): the deals' counts and money per owner
-- (opp-facts-by-owner), added up in Go into each slice, exactly; the cycles
-- (averages and medians, which do not add up) per slice of every dimension
-- at once (opp-cycles), and the leads likewise: {{keys}} selects one key
-- column per dimension (k0, k1, ...), {{group}} is GROUPING SETS ((k0),
-- (k1), ...), and {{set_key}} gives each row's dimension (its index) and
-- key; with one dimension those are "expr AS k", "k" and "0, k". The
-- activities are read per owner and added up in Go.
--
-- Money is converted into the corporate currency deal by deal, at the rate
-- of the deal's day ({{rates}} and {{converted}}): exchange_rates holds a
-- rate from valid_from until the currency's next valid_from. Conversion
-- first finds the rate of each distinct (currency, day) pair, a small range
-- join, then joins deals to it by equality; a deal whose currency has no
-- rate on its day gets a NULL amount (counted as unconverted).

-- name: rates
rates AS (
    SELECT currency, valid_from, rate,
           LEAD(valid_from) OVER (PARTITION BY currency ORDER BY valid_from) AS valid_to
    FROM exchange_rates
)

-- name: converted
, days AS (
    SELECT DISTINCT currency, conv_day FROM base WHERE currency <> :corp
), conv AS (
    SELECT d.currency, d.conv_day, r.rate
    FROM days d
    JOIN rates r ON r.currency = d.currency AND r.valid_from <= d.conv_day
        AND (r.valid_to IS NULL OR d.conv_day < r.valid_to)
), x AS (
    SELECT b.*,
           CASE WHEN b.currency = :corp THEN CAST(b.amount AS DECIMAL(38,2))
                ELSE ROUND(CAST(b.amount AS DECIMAL(38,2)) * c.rate, 2) END AS amt
    FROM base b
    LEFT JOIN conv c ON c.currency = b.currency AND c.conv_day = b.conv_day
)

-- name: opp-base
-- The deals relevant to the period's facts, converted ({{key}}: the slice).
WITH {{rates}}, base AS (
    SELECT {{key}} AS k, o.owner_id, o.amount, o.currency, o.is_won,
           COALESCE(o.probability, st.probability, 0) AS prob,
           o.closed_at - CAST(o.created_at AS DATE) AS cycle_days,
           CASE WHEN o.is_closed THEN o.closed_at ELSE COALESCE(o.expected_close, CAST(:today AS DATE)) END AS conv_day,
           o.is_won AND o.closed_at >= CAST(:from AS DATE) AND o.closed_at < CAST(:to AS DATE) AS won_p,
           o.is_closed AND NOT o.is_won AND o.closed_at >= CAST(:from AS DATE) AND o.closed_at < CAST(:to AS DATE) AS lost_p,
           NOT o.is_closed AND {{open_in_period}} AS open_p,
           o.created_at >= CAST(:from_ts AS TIMESTAMP) AND o.created_at < CAST(:to_ts AS TIMESTAMP) AS cohort_p,
           o.is_won AND o.closed_at >= CAST(:prev_from AS DATE) AND o.closed_at < CAST(:prev_to AS DATE) AS won_prev,
           o.is_won AND o.closed_at >= CAST(:ly_from AS DATE) AND o.closed_at < CAST(:ly_to AS DATE) AS won_ly
    FROM opportunities o
    LEFT JOIN stages st ON st.name = o.stage
    {{join}}
    WHERE {{where}} AND ({{relevant}})
){{converted}}

-- name: opp-facts
-- Deals: won, lost and open counts and money, cycles, cohort, growth.
{{opp_base}}
SELECT k,
    COUNT(*) FILTER (WHERE won_p),
    CAST(SUM(amt) FILTER (WHERE won_p) AS VARCHAR),
    COUNT(amt) FILTER (WHERE won_p),
    COUNT(*) FILTER (WHERE lost_p),
    COUNT(*) FILTER (WHERE open_p),
    CAST(SUM(amt) FILTER (WHERE open_p) AS VARCHAR),
    CAST(ROUND(SUM(amt * CAST(prob AS DECIMAL(18,6))) FILTER (WHERE open_p), 2) AS VARCHAR),
    COUNT(*) FILTER (WHERE cohort_p),
    COUNT(*) FILTER (WHERE cohort_p AND is_won),
    CAST(AVG(cycle_days) FILTER (WHERE won_p) AS DOUBLE PRECISION),
    CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days) FILTER (WHERE won_p) AS DOUBLE PRECISION),
    CAST(AVG(cycle_days) FILTER (WHERE lost_p) AS DOUBLE PRECISION),
    CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days) FILTER (WHERE lost_p) AS DOUBLE PRECISION),
    CAST(SUM(amt) FILTER (WHERE won_prev) AS VARCHAR),
    CAST(SUM(amt) FILTER (WHERE won_ly) AS VARCHAR),
    COUNT(*) FILTER (WHERE amt IS NULL AND (won_p OR open_p OR won_prev OR won_ly))
FROM x
GROUP BY k

-- name: opp-facts-by-owner
-- The additive part of opp-facts per owner (the weighted pipeline not yet
-- rounded: the slices round their sum), over the deals that count
-- ({{relevant}}); then the owners of the deals that make a slice
-- ({{with_slice}}), with zeros.
{{opp_base}}
SELECT owner_id,
    COUNT(*) FILTER (WHERE won_p),
    CAST(SUM(amt) FILTER (WHERE won_p) AS VARCHAR),
    COUNT(amt) FILTER (WHERE won_p),
    COUNT(*) FILTER (WHERE lost_p),
    COUNT(*) FILTER (WHERE open_p),
    CAST(SUM(amt) FILTER (WHERE open_p) AS VARCHAR),
    CAST(SUM(amt * CAST(prob AS DECIMAL(18,6))) FILTER (WHERE open_p) AS VARCHAR),
    COUNT(*) FILTER (WHERE cohort_p),
    COUNT(*) FILTER (WHERE cohort_p AND is_won),
    CAST(SUM(amt) FILTER (WHERE won_prev) AS VARCHAR),
    CAST(SUM(amt) FILTER (WHERE won_ly) AS VARCHAR),
    COUNT(*) FILTER (WHERE amt IS NULL AND (won_p OR open_p OR won_prev OR won_ly))
FROM x
GROUP BY owner_id
UNION ALL
SELECT DISTINCT o.owner_id, 0, CAST(NULL AS VARCHAR), 0, 0, 0, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 0, 0,
    CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 0
FROM opportunities o
WHERE {{where}} AND ({{with_slice}}) AND ({{relevant}}) IS NOT TRUE

-- name: opp-cycles
-- The sales and lost cycles of opp-facts (won and lost deals closed in the
-- period), per slice of several dimensions at once.
WITH c AS (
    SELECT {{keys}}, o.is_won, o.closed_at - CAST(o.created_at AS DATE) AS cycle_days
    FROM opportunities o
    {{join}}
    WHERE {{where}} AND (o.is_won OR o.is_closed) AND o.closed_at >= CAST(:from AS DATE) AND o.closed_at < CAST(:to AS DATE)
)
SELECT {{set_key}},
    CAST(AVG(cycle_days) FILTER (WHERE is_won) AS DOUBLE PRECISION),
    CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days) FILTER (WHERE is_won) AS DOUBLE PRECISION),
    CAST(AVG(cycle_days) FILTER (WHERE NOT is_won) AS DOUBLE PRECISION),
    CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days) FILTER (WHERE NOT is_won) AS DOUBLE PRECISION)
FROM c
GROUP BY {{group}}

-- name: won-by-owner
-- Won money per owner in the period, for quota attainment.
WITH {{rates}}, base AS (
    SELECT {{key}} AS k, o.owner_id, o.amount, o.currency, o.closed_at AS conv_day
    FROM opportunities o
    {{join}}
    WHERE {{where}} AND o.is_won AND o.closed_at >= CAST(:from AS DATE) AND o.closed_at < CAST(:to AS DATE)
){{converted}}
SELECT k, owner_id, CAST(SUM(amt) AS VARCHAR), COUNT(*) - COUNT(amt)
FROM x
GROUP BY k, owner_id

-- name: new-customers
-- Accounts whose first won deal (over every deal of the organisation) closed in the period.
SELECT COUNT(*)
FROM (SELECT account_id, MIN(closed_at) AS first_won FROM opportunities WHERE is_won GROUP BY account_id) f
WHERE f.first_won >= CAST(:from AS DATE) AND f.first_won < CAST(:to AS DATE)

-- name: activities
-- Logged activities in the period per slice, owner and kind.
SELECT {{key}} AS k, act.owner_id, act.kind, COUNT(*), COALESCE(SUM(act.duration_minutes), 0),
       MIN(act.occurred_at), MAX(act.occurred_at)
FROM activities act
{{join}}
WHERE {{where}} AND act.occurred_at >= CAST(:from_ts AS TIMESTAMP) AND act.occurred_at < CAST(:to_ts AS TIMESTAMP)
GROUP BY 1, 2, 3

-- name: leads
-- Leads created in the period: response time and conversion. With one
-- dimension l selects its key; with several (they follow the owner) l
-- keeps the owner, and the keys are joined on last ({{late_keys}},
-- {{late_join}}), once the activities are matched.
WITH l AS (
    SELECT {{keys}}, l.id, l.created_at, l.first_response_at, l.status, l.converted_opportunity_id
    FROM leads l
    {{join}}
    WHERE {{where}} AND l.created_at >= CAST(:from_ts AS TIMESTAMP) AND l.created_at < CAST(:to_ts AS TIMESTAMP)
), deals AS (
    -- the deals the leads were converted to, only those the caller may see
    -- ({{deal_scope}}): a lead can name any deal, and must not tell whether
    -- someone else's was demoed or won. Reading only these deals also lets
    -- the planners scan a few of them instead of hashing them all.
    SELECT o.id, o.is_won
    FROM opportunities o
    WHERE o.id IN (SELECT converted_opportunity_id FROM l) AND {{deal_scope}}
), la AS (
    -- two passes over the activities: those on the leads, and demos on their deals
    SELECT act.lead_id, act.kind, act.direction, act.occurred_at, l.created_at, l.id AS on_lead, CAST(NULL AS BIGINT) AS on_deal
    FROM activities act
    JOIN l ON l.id = act.lead_id
    UNION ALL
    SELECT act.lead_id, act.kind, act.direction, act.occurred_at, l.created_at, CAST(NULL AS BIGINT), l.id
    FROM activities act
    JOIN deals d ON d.id = act.opportunity_id
    JOIN l ON l.converted_opportunity_id = d.id
    WHERE act.kind = 'demo'
), first_touch AS (
    SELECT on_lead AS id, MIN(occurred_at) AS first_at
    FROM la
    WHERE on_lead IS NOT NULL AND kind IN ('call', 'email', 'meeting', 'demo') AND direction <> 'inbound'
        AND occurred_at >= created_at
    GROUP BY on_lead
), demoed AS (
    SELECT DISTINCT COALESCE(on_lead, on_deal) AS id FROM la WHERE kind = 'demo'
), r AS (
    SELECT {{key_cols}}, l.status, l.converted_opportunity_id,
           (EXTRACT(EPOCH FROM LEAST(ft.first_at, l.first_response_at)) - EXTRACT(EPOCH FROM l.created_at)) / 60.0 AS minutes,
           COALESCE(o.is_won, FALSE) AS won,
           d.id IS NOT NULL AS demo
    FROM l
    LEFT JOIN first_touch ft ON ft.id = l.id
    LEFT JOIN demoed d ON d.id = l.id
    LEFT JOIN deals o ON o.id = l.converted_opportunity_id
), rk AS (
    SELECT {{late_keys}} l.* FROM r l {{late_join}}
)
SELECT {{set_key}}, COUNT(*), COUNT(minutes),
    CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes) AS DOUBLE PRECISION),
    COUNT(*) FILTER (WHERE minutes <= 5),
    COUNT(*) FILTER (WHERE minutes <= 60),
    COUNT(*) FILTER (WHERE status IN ('qualified', 'converted') OR converted_opportunity_id IS NOT NULL),
    COUNT(*) FILTER (WHERE converted_opportunity_id IS NOT NULL),
    COUNT(*) FILTER (WHERE won),
    COUNT(*) FILTER (WHERE demo),
    COUNT(*) FILTER (WHERE demo AND won)
FROM rk
GROUP BY {{group}}

-- name: trend
-- Closed deals per period bucket (buckets number the periods from 0).
WITH {{rates}}, base AS (
    SELECT {{bucket}} AS bucket, o.amount, o.currency, o.is_won, o.closed_at AS conv_day
    FROM opportunities o
    WHERE {{where}} AND o.is_closed AND o.closed_at >= CAST(:from AS DATE) AND o.closed_at < CAST(:to AS DATE)
){{converted}}
SELECT bucket, COUNT(*) FILTER (WHERE is_won), CAST(SUM(amt) FILTER (WHERE is_won) AS VARCHAR),
    COUNT(*) FILTER (WHERE NOT is_won), COUNT(*) FILTER (WHERE is_won AND amt IS NULL)
FROM x
GROUP BY bucket

-- name: pipeline-by-stage
-- Open deals expected to close in the period, per stage.
WITH {{rates}}, base AS (
    SELECT o.stage, o.amount, o.currency, COALESCE(o.probability, st.probability, 0) AS prob,
           COALESCE(o.expected_close, CAST(:today AS DATE)) AS conv_day
    FROM opportunities o
    LEFT JOIN stages st ON st.name = o.stage
    WHERE {{where}} AND NOT o.is_closed AND {{open_in_period}}
){{converted}}
SELECT stage, COUNT(*), CAST(SUM(amt) AS VARCHAR),
    CAST(ROUND(SUM(amt * CAST(prob AS DECIMAL(18,6))), 2) AS VARCHAR), COUNT(*) - COUNT(amt)
FROM x
GROUP BY stage

-- name: pipeline-by-close
-- Open deals per expected-close bucket: -2 no date, -1 overdue, 0.. periods, n later.
WITH {{rates}}, base AS (
    SELECT {{bucket}} AS bucket, o.amount, o.currency, COALESCE(o.probability, st.probability, 0) AS prob,
           COALESCE(o.expected_close, CAST(:today AS DATE)) AS conv_day
    FROM opportunities o
    LEFT JOIN stages st ON st.name = o.stage
    WHERE {{where}} AND NOT o.is_closed
){{converted}}
SELECT bucket, COUNT(*), CAST(SUM(amt) AS VARCHAR),
    CAST(ROUND(SUM(amt * CAST(prob AS DECIMAL(18,6))), 2) AS VARCHAR), COUNT(*) - COUNT(amt)
FROM x
GROUP BY bucket

-- name: funnel
-- Deals created in the period. Part 0: per open stage, the deals whose
-- history or current stage holds it (reached), those of them also recorded
-- in a later open stage, or won (advanced), and the lost ones for which it is
-- the furthest open stage on record (lost here). Part 1: the days spent in
-- each stage over finished stays. Part 2: the closed deals per closed stage.
WITH sel AS (
    SELECT o.id, o.stage, o.is_closed, o.is_won
    FROM opportunities o
    WHERE {{where}} AND o.created_at >= CAST(:from_ts AS TIMESTAMP) AND o.created_at < CAST(:to_ts AS TIMESTAMP)
), steps AS (
    SELECT h.opportunity_id AS id, h.stage, h.changed_at,
           LEAD(h.changed_at) OVER (PARTITION BY h.opportunity_id ORDER BY h.changed_at, h.id) AS next_at
    FROM opportunity_history h
    JOIN sel ON sel.id = h.opportunity_id
), visits AS (
    SELECT DISTINCT v.id, st.name AS stage, st.stage_order
    FROM (SELECT id, stage FROM steps UNION ALL SELECT id, stage FROM sel) v
    JOIN stages st ON st.name = v.stage AND st.kind = 'open'
), furthest AS (
    SELECT id, MAX(stage_order) AS max_open
    FROM visits
    GROUP BY id
), stays AS (
    SELECT id, stage, SUM(EXTRACT(EPOCH FROM next_at) - EXTRACT(EPOCH FROM changed_at)) / 86400.0 AS days
    FROM steps
    WHERE next_at IS NOT NULL
    GROUP BY id, stage
)
SELECT 0, v.stage, COUNT(*),
    COUNT(CASE WHEN sel.is_won OR f.max_open > v.stage_order THEN 1 END),
    COUNT(CASE WHEN sel.is_closed AND NOT sel.is_won AND f.max_open = v.stage_order THEN 1 END),
    CAST(NULL AS DOUBLE PRECISION)
FROM visits v
JOIN furthest f ON f.id = v.id
JOIN sel ON sel.id = v.id
GROUP BY v.stage
UNION ALL
SELECT 1, stage, COUNT(*), 0, 0, CAST(AVG(days) AS DOUBLE PRECISION)
FROM stays
GROUP BY stage
UNION ALL
SELECT 2, stage, COUNT(*), 0, 0, CAST(NULL AS DOUBLE PRECISION)
FROM sel
WHERE is_closed
GROUP BY stage
