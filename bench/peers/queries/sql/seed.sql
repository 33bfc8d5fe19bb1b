-- Seeds :n contacts (default 100000) into account :acct with 5 labels and 2 API inboxes.
-- Run with: psql -v acct=<id> -v n=100000 -f sql/seed.sql
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO inboxes (account_id, name, channel_type, created_at, updated_at)
SELECT :acct, name, 'api', now(), now() FROM (VALUES ('Website API'), ('Mobile API')) v(name);

INSERT INTO labels (account_id, title, description, color, show_on_sidebar, created_at, updated_at)
SELECT :acct, t, NULL, '#1f93ff', true, now(), now()
FROM unnest(ARRAY['churn-risk','lead','partner','trial','vip']) t;

-- Distinct created_at per contact (one second apart), so ORDER BY created_at has no ties.
INSERT INTO contacts (account_id, name, email, phone_number, blocked, contact_type,
                      additional_attributes, custom_attributes, created_at, updated_at)
SELECT :acct,
       'Contact ' || g,
       'contact' || g || '@example.com',
       '+1555' || lpad(g::text, 7, '0'),
       (g % 50 = 0),
       CASE g % 3 WHEN 0 THEN 'visitor' WHEN 1 THEN 'lead' ELSE 'customer' END,
       '{}'::jsonb, '{}'::jsonb,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second',
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
FROM generate_series(1, :n) g;

-- Every contact gets one label; every third contact a second one.
INSERT INTO contact_labels (contact_id, name, account_id)
SELECT c.id, (ARRAY['churn-risk','lead','partner','trial','vip'])[1 + c.id % 5], :acct
FROM contacts c WHERE c.account_id = :acct;
INSERT INTO contact_labels (contact_id, name, account_id)
SELECT c.id, (ARRAY['churn-risk','lead','partner','trial','vip'])[1 + (c.id + 2) % 5], :acct
FROM contacts c WHERE c.account_id = :acct AND c.id % 3 = 0;

-- Every contact is known in the first inbox; every second one also in the second.
INSERT INTO contact_inboxes (contact_id, inbox_id, source_id, created_at, updated_at)
SELECT c.id, i.id, 'src-' || c.id, c.created_at, c.created_at
FROM contacts c CROSS JOIN inboxes i
WHERE c.account_id = :acct AND i.account_id = :acct
  AND (i.name = 'Website API' OR c.id % 2 = 0);
COMMIT;
VACUUM ANALYZE;
