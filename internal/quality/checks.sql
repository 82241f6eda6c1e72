-- The data-quality checks. One named query per check (the name is the check
-- id), written once in the SQL that DuckDB and PostgreSQL share.
--
-- Each query selects the rows a check finds, and its first four columns are
-- always: entity, id, external_id, label. Further columns feed the example's
-- detail (see checks.go). Run wraps a query as
--   SELECT m.*, COUNT(*) OVER () FROM (...) m ORDER BY <the "-- order:" line> LIMIT 10
-- so that one pass gives the count and the first examples (a viewer, who
-- sees no examples, gets SELECT COUNT(*) FROM (...) m).
--
-- A reference to a missing row is found with LEFT JOIN ... IS NULL on the
-- target's key, which both engines run as a hash anti-join (DuckDB runs it
-- about twice as fast as the equivalent NOT EXISTS).
--
-- :name is a parameter (bound as $n); {{scope EXPR}} is the principal's
-- visibility as a condition on the owner expression EXPR (TRUE for the whole
-- organisation). Write CAST(x AS T), never x::T, so that ":" means a parameter.

-- name: unknown_account
-- order: entity, id
SELECT 'opportunity' AS entity, o.id, o.external_id, o.name AS label, 'account_id' AS field, o.account_id AS ref
FROM opportunities o
LEFT JOIN accounts x ON x.id = o.account_id
WHERE x.id IS NULL AND {{scope o.owner_id}}
UNION ALL
SELECT 'contact', c.id, c.external_id, TRIM(c.first_name || ' ' || c.last_name), 'account_id', c.account_id
FROM contacts c
LEFT JOIN accounts x ON x.id = c.account_id
WHERE c.account_id IS NOT NULL AND x.id IS NULL AND {{scope c.owner_id}}
UNION ALL
SELECT 'activity', t.id, t.external_id, COALESCE(NULLIF(t.subject, ''), t.kind), 'account_id', t.account_id
FROM activities t
LEFT JOIN accounts x ON x.id = t.account_id
WHERE t.account_id IS NOT NULL AND x.id IS NULL AND {{scope t.owner_id}}
UNION ALL
SELECT 'account', c.id, c.external_id, c.name, 'parent_id', c.parent_id
FROM accounts c
LEFT JOIN accounts x ON x.id = c.parent_id
WHERE c.parent_id IS NOT NULL AND x.id IS NULL AND {{scope c.owner_id}}

-- name: unknown_owner
-- order: entity, id
SELECT 'opportunity' AS entity, o.id, o.external_id, o.name AS label, 'owner_id' AS field, o.owner_id AS ref
FROM opportunities o
LEFT JOIN users x ON x.id = o.owner_id
WHERE x.id IS NULL AND {{scope o.owner_id}}
UNION ALL
SELECT 'account', a.id, a.external_id, a.name, 'owner_id', a.owner_id
FROM accounts a
LEFT JOIN users x ON x.id = a.owner_id
WHERE a.owner_id IS NOT NULL AND x.id IS NULL AND {{scope a.owner_id}}
UNION ALL
SELECT 'contact', c.id, c.external_id, TRIM(c.first_name || ' ' || c.last_name), 'owner_id', c.owner_id
FROM contacts c
LEFT JOIN users x ON x.id = c.owner_id
WHERE c.owner_id IS NOT NULL AND x.id IS NULL AND {{scope c.owner_id}}
UNION ALL
SELECT 'lead', l.id, l.external_id, COALESCE(NULLIF(TRIM(l.first_name || ' ' || l.last_name), ''), NULLIF(l.email, ''), l.company), 'owner_id', l.owner_id
FROM leads l
LEFT JOIN users x ON x.id = l.owner_id
WHERE l.owner_id IS NOT NULL AND x.id IS NULL AND {{scope l.owner_id}}
UNION ALL
SELECT 'activity', t.id, t.external_id, COALESCE(NULLIF(t.subject, ''), t.kind), 'owner_id', t.owner_id
FROM activities t
LEFT JOIN users x ON x.id = t.owner_id
WHERE x.id IS NULL AND {{scope t.owner_id}}
UNION ALL
SELECT 'quota', q.id, CAST(NULL AS VARCHAR), q.period, 'user_id', q.user_id
FROM quotas q
LEFT JOIN users x ON x.id = q.user_id
WHERE q.user_id IS NOT NULL AND x.id IS NULL AND {{scope q.user_id}}

-- name: unknown_product
-- order: id
SELECT 'line_item' AS entity, l.id, CAST(NULL AS VARCHAR) AS external_id, o.name AS label, l.product_id, l.opportunity_id
FROM line_items l
LEFT JOIN opportunities o ON o.id = l.opportunity_id
LEFT JOIN products x ON x.id = l.product_id
WHERE x.id IS NULL AND {{scope o.owner_id}}

-- name: unknown_opportunity
-- order: entity, id
SELECT 'line_item' AS entity, l.id, CAST(NULL AS VARCHAR) AS external_id, p.name AS label, 'opportunity_id' AS field, l.opportunity_id AS ref
FROM line_items l
LEFT JOIN products p ON p.id = l.product_id
LEFT JOIN opportunities x ON x.id = l.opportunity_id
WHERE x.id IS NULL AND {{scope CAST(NULL AS BIGINT)}}
UNION ALL
SELECT 'activity', t.id, t.external_id, COALESCE(NULLIF(t.subject, ''), t.kind), 'opportunity_id', t.opportunity_id
FROM activities t
LEFT JOIN opportunities x ON x.id = t.opportunity_id
WHERE t.opportunity_id IS NOT NULL AND x.id IS NULL AND {{scope t.owner_id}}
UNION ALL
SELECT 'lead', l.id, l.external_id, COALESCE(NULLIF(TRIM(l.first_name || ' ' || l.last_name), ''), NULLIF(l.email, ''), l.company), 'converted_opportunity_id', l.converted_opportunity_id
FROM leads l
LEFT JOIN opportunities x ON x.id = l.converted_opportunity_id
WHERE l.converted_opportunity_id IS NOT NULL AND x.id IS NULL AND {{scope l.owner_id}}

-- name: unknown_contact
-- order: id
SELECT 'activity' AS entity, t.id, t.external_id, COALESCE(NULLIF(t.subject, ''), t.kind) AS label, 'contact_id' AS field, t.contact_id AS ref
FROM activities t
LEFT JOIN contacts x ON x.id = t.contact_id
WHERE t.contact_id IS NOT NULL AND x.id IS NULL AND {{scope t.owner_id}}

-- name: unknown_lead
-- order: entity, id
SELECT 'activity' AS entity, t.id, t.external_id, COALESCE(NULLIF(t.subject, ''), t.kind) AS label, 'lead_id' AS field, t.lead_id AS ref
FROM activities t
LEFT JOIN leads x ON x.id = t.lead_id
WHERE t.lead_id IS NOT NULL AND x.id IS NULL AND {{scope t.owner_id}}
UNION ALL
SELECT 'lead_event', e.id, CAST(NULL AS VARCHAR), e.kind, 'lead_id', e.lead_id
FROM lead_events e
LEFT JOIN leads x ON x.id = e.lead_id
WHERE x.id IS NULL AND {{scope CAST(NULL AS BIGINT)}}

-- name: unknown_stage
-- order: id
SELECT 'opportunity' AS entity, o.id, o.external_id, o.name AS label, o.stage
FROM opportunities o
LEFT JOIN stages x ON x.name = o.stage
WHERE x.name IS NULL AND {{scope o.owner_id}}

-- name: open_deal_no_close_date
-- order: id
SELECT 'opportunity' AS entity, o.id, o.external_id, o.name AS label, o.stage, o.created_at
FROM opportunities o
WHERE NOT o.is_closed AND o.expected_close IS NULL AND {{scope o.owner_id}}

-- name: won_deal_zero_amount
-- order: id
SELECT 'opportunity' AS entity, o.id, o.external_id, o.name AS label, CAST(o.amount AS DOUBLE PRECISION) AS amount, o.currency, o.closed_at
FROM opportunities o
WHERE o.is_won AND o.amount <= 0 AND {{scope o.owner_id}}

-- name: closed_deal_no_close_date
-- order: id
SELECT 'opportunity' AS entity, o.id, o.external_id, o.name AS label, o.stage
FROM opportunities o
WHERE o.is_closed AND o.closed_at IS NULL AND {{scope o.owner_id}}

-- name: closed_before_created
-- order: id
SELECT 'opportunity' AS entity, o.id, o.external_id, o.name AS label, o.closed_at, o.created_at
FROM opportunities o
WHERE o.is_closed AND o.closed_at < CAST(o.created_at AS DATE) AND {{scope o.owner_id}}

-- name: duplicate_accounts
-- order: group_key, id
WITH k AS (
    SELECT id, external_id, name, owner_id,
        -- lower case, punctuation to spaces, then drop a leading "the" and
        -- trailing legal-form words, then the spaces: "The Acme Co., Inc." -> "acme"
        REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(
            TRIM(REGEXP_REPLACE(LOWER(name), '[^a-z0-9À-퟿]+', ' ', 'g')),
            '^the ', '', 'g'),
            '( (inc|incorporated|ltd|limited|llc|llp|lp|corp|corporation|co|company|gmbh|ag|kg|sa|sas|sarl|srl|spa|bv|nv|plc|pty|oy|ab|as|aps|kk|group|holding|holdings))+$', '', 'g'),
            ' ', '', 'g') AS name_key,
        -- lower case without scheme, "www." and anything after the host
        REGEXP_REPLACE(REGEXP_REPLACE(LOWER(TRIM(domain)), '^([a-z]+://)?(www[0-9]*[.])?', '', 'g'), '[/:?#].*$', '', 'g') AS domain_key
    FROM accounts
),
by_name AS (SELECT name_key, COUNT(*) AS n FROM k WHERE name_key <> '' GROUP BY name_key HAVING COUNT(*) > 1),
by_domain AS (SELECT domain_key, COUNT(*) AS n FROM k WHERE domain_key <> '' GROUP BY domain_key HAVING COUNT(*) > 1)
SELECT 'account' AS entity, k.id, k.external_id, k.name AS label,
    COALESCE(by_name.name_key, by_domain.domain_key) AS group_key,
    by_name.name_key, by_name.n AS name_count, by_domain.domain_key, by_domain.n AS domain_count
FROM k
LEFT JOIN by_name ON by_name.name_key = k.name_key
LEFT JOIN by_domain ON by_domain.domain_key = k.domain_key
WHERE (by_name.name_key IS NOT NULL OR by_domain.domain_key IS NOT NULL) AND {{scope k.owner_id}}

-- name: duplicate_contacts
-- order: email, id
-- Emails are compared without case (the store refuses surrounding spaces).
WITH dup AS (
    SELECT LOWER(email) AS email, COUNT(*) AS n
    FROM contacts
    WHERE email <> ''
    GROUP BY LOWER(email)
    HAVING COUNT(*) > 1
)
SELECT 'contact' AS entity, c.id, c.external_id, TRIM(c.first_name || ' ' || c.last_name) AS label, dup.email, dup.n
FROM contacts c
JOIN dup ON dup.email = LOWER(c.email)
WHERE {{scope c.owner_id}}

-- name: duplicate_leads
-- order: email, id
-- Leads are private to their owners' scope, so a rep's leads are compared
-- with the leads that rep may see, never with other reps' leads.
WITH dup AS (
    SELECT LOWER(email) AS email, COUNT(*) AS n
    FROM leads
    WHERE email <> '' AND {{scope owner_id}}
    GROUP BY LOWER(email)
    HAVING COUNT(*) > 1
)
SELECT 'lead' AS entity, l.id, l.external_id, COALESCE(NULLIF(TRIM(l.first_name || ' ' || l.last_name), ''), l.company) AS label, dup.email, dup.n
FROM leads l
JOIN dup ON dup.email = LOWER(l.email)
WHERE {{scope l.owner_id}}

-- name: open_deal_zero_amount
-- order: id
SELECT 'opportunity' AS entity, o.id, o.external_id, o.name AS label, o.stage, CAST(o.amount AS DOUBLE PRECISION) AS amount, o.currency, o.created_at
FROM opportunities o
WHERE NOT o.is_closed AND o.amount <= 0 AND {{scope o.owner_id}}

-- name: past_close_date
-- order: expected_close, id
SELECT 'opportunity' AS entity, o.id, o.external_id, o.name AS label, o.expected_close, o.stage
FROM opportunities o
WHERE NOT o.is_closed AND o.expected_close < :today AND {{scope o.owner_id}}

-- name: stale_deals
-- order: since, id
-- Only the open deals' activities are aggregated.
WITH open AS (
    SELECT id, external_id, name, created_at
    FROM opportunities o
    WHERE NOT o.is_closed AND {{scope o.owner_id}}
),
last AS (
    SELECT a.opportunity_id, MAX(a.occurred_at) AS at
    FROM activities a
    JOIN open ON open.id = a.opportunity_id
    GROUP BY a.opportunity_id
)
SELECT 'opportunity' AS entity, open.id, open.external_id, open.name AS label, last.at AS last_activity, open.created_at,
    COALESCE(last.at, open.created_at) AS since
FROM open
LEFT JOIN last ON last.opportunity_id = open.id
WHERE COALESCE(last.at, open.created_at) < :stale_before

-- name: reps_without_quota
-- order: id
SELECT 'user' AS entity, u.id, CAST(NULL AS VARCHAR) AS external_id, u.name AS label
FROM users u
WHERE u.role = 'rep' AND u.active
    AND (u.hire_date IS NULL OR u.hire_date < :quarter_end)
    AND NOT EXISTS (
        SELECT 1 FROM quotas q
        WHERE q.user_id = u.id AND q.period IN (:quarter, :year, :month1, :month2, :month3))
    AND {{scope u.id}}

-- name: leads_never_responded
-- order: created_at, id
SELECT 'lead' AS entity, l.id, l.external_id,
    COALESCE(NULLIF(TRIM(l.first_name || ' ' || l.last_name), ''), NULLIF(l.email, ''), l.company) AS label,
    l.status, l.created_at
FROM leads l
WHERE l.first_response_at IS NULL
    AND l.status NOT IN ('converted', 'disqualified')
    AND l.created_at < :lead_before
    AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.lead_id = l.id)
    AND {{scope l.owner_id}}

-- name: product_amount_outliers
-- order: rank, id
-- Robust z-score of ln(unit price) within (product, deal currency):
-- (x - median) / (1.4826 * MAD), or / (1.2533 * mean absolute deviation) when
-- more than half the items have the same price (MAD = 0). Beyond :z, and at
-- least :min_log_ratio (a factor of 2) from the median. Unit prices, not
-- totals: the quantity of a large order is no error. The medians are those
-- of the deals the caller may see ({{scope}} in li), never the whole
-- organisation's: the finding shows the median and the count.
WITH li AS (
    SELECT l.id, l.opportunity_id, l.product_id, o.currency, o.owner_id, o.name AS deal,
        CAST(l.unit_price AS DOUBLE PRECISION) AS amount, LN(CAST(l.unit_price AS DOUBLE PRECISION)) AS x
    FROM line_items l
    JOIN opportunities o ON o.id = l.opportunity_id
    WHERE l.unit_price > 0 AND {{scope o.owner_id}}
),
mid AS (
    SELECT product_id, currency, COUNT(*) AS n, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x) AS m,
        PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY amount) AS median
    FROM li
    GROUP BY product_id, currency
    HAVING COUNT(*) >= :min_sample
),
spread AS (
    SELECT li.product_id, li.currency,
        PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY ABS(li.x - mid.m)) AS mad, AVG(ABS(li.x - mid.m)) AS mean_ad
    FROM li JOIN mid ON mid.product_id = li.product_id AND mid.currency = li.currency
    GROUP BY li.product_id, li.currency
),
scored AS (
    SELECT li.*, mid.m, mid.n, mid.median,
        CASE WHEN spread.mad > 0 THEN (li.x - mid.m) / (1.4826 * spread.mad)
             WHEN spread.mean_ad > 0 THEN (li.x - mid.m) / (1.2533 * spread.mean_ad) END AS z
    FROM li
    JOIN mid ON mid.product_id = li.product_id AND mid.currency = li.currency
    JOIN spread ON spread.product_id = li.product_id AND spread.currency = li.currency
)
SELECT 'line_item' AS entity, s.id, CAST(NULL AS VARCHAR) AS external_id, s.deal AS label,
    s.opportunity_id, p.name AS product, s.amount, s.currency, s.median, s.n, s.z, -ABS(s.z) AS rank
FROM scored s
LEFT JOIN products p ON p.id = s.product_id
WHERE ABS(s.z) > :z AND ABS(s.x - s.m) >= :min_log_ratio

-- name: deal_amount_outliers
-- order: rank, id
-- The same test, of ln(amount) within (stage, account segment, currency),
-- for deals without line items.
WITH d AS (
    SELECT o.id, o.external_id, o.name, o.owner_id, o.stage, COALESCE(a.segment, '') AS segment, o.currency,
        CAST(o.amount AS DOUBLE PRECISION) AS amount, LN(CAST(o.amount AS DOUBLE PRECISION)) AS x
    FROM opportunities o
    LEFT JOIN accounts a ON a.id = o.account_id
    WHERE o.amount > 0 AND NOT EXISTS (SELECT 1 FROM line_items l WHERE l.opportunity_id = o.id) AND {{scope o.owner_id}}
),
mid AS (
    SELECT stage, segment, currency, COUNT(*) AS n, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x) AS m,
        PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY amount) AS median
    FROM d
    GROUP BY stage, segment, currency
    HAVING COUNT(*) >= :min_sample
),
spread AS (
    SELECT d.stage, d.segment, d.currency,
        PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY ABS(d.x - mid.m)) AS mad, AVG(ABS(d.x - mid.m)) AS mean_ad
    FROM d JOIN mid ON mid.stage = d.stage AND mid.segment = d.segment AND mid.currency = d.currency
    GROUP BY d.stage, d.segment, d.currency
),
scored AS (
    SELECT d.*, mid.m, mid.n, mid.median,
        CASE WHEN spread.mad > 0 THEN (d.x - mid.m) / (1.4826 * spread.mad)
             WHEN spread.mean_ad > 0 THEN (d.x - mid.m) / (1.2533 * spread.mean_ad) END AS z
    FROM d
    JOIN mid ON mid.stage = d.stage AND mid.segment = d.segment AND mid.currency = d.currency
    JOIN spread ON spread.stage = d.stage AND spread.segment = d.segment AND spread.currency = d.currency
)
SELECT 'opportunity' AS entity, s.id, s.external_id, s.name AS label,
    s.stage, s.segment, s.amount, s.currency, s.median, s.n, s.z, -ABS(s.z) AS rank
FROM scored s
WHERE ABS(s.z) > :z AND ABS(s.x - s.m) >= :min_log_ratio
