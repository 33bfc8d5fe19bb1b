-- The data of the contacts benchmark, inserted by PostgreSQL itself (`INSERT … SELECT … FROM
-- generate_series`). Statements are separated by lines holding only `-- statement`; $1 is the
-- account id and $2 (where used) the number of contacts. Pseudo-random but deterministic: every
-- choice derives from hashint8extended(row number, stream) with the sign bit cleared, so two
-- runs seed the same rows (relative to now()).

-- statement`; $1 is the
-- account id and $2 (where used) the number of contacts. Pseudo-random but deterministic: every choice
-- derives from hashint8extended(row number, stream) with the sign bit cleared, so two runs seed the same rows (relative
-- to now()).

-- statement
INSERT INTO contacts (account_id, name, email, phone_number, identifier, blocked, contact_type,
                      additional_attributes, custom_attributes, last_activity_at, created_at,
                      updated_at)
SELECT $1::bigint,
       r.first_name || ' ' || r.last_name,
       r.email,
       r.phone_number,
       r.identifier,
       r.h1 % 100 = 0,
       CASE
           WHEN r.email IS NULL AND r.phone_number IS NULL AND r.identifier IS NULL THEN 'visitor'
           WHEN r.h2 % 5 = 0 THEN 'customer'
           ELSE 'lead'
       END,
       jsonb_strip_nulls(jsonb_build_object(
           'company_name', r.company_name,
           'city', (ARRAY['New York', 'San Francisco', 'Chicago', 'Toronto', 'London',
                          'Manchester', 'Berlin', 'Munich', 'Paris', 'Lyon', 'Madrid', 'Rome',
                          'Amsterdam', 'Stockholm', 'Warsaw', 'Tokyo', 'Bangalore',
                          'São Paulo', 'Lagos', 'Sydney'])[r.city],
           'country', (ARRAY['United States', 'United States', 'United States', 'Canada',
                             'United Kingdom', 'United Kingdom', 'Germany', 'Germany', 'France',
                             'France', 'Spain', 'Italy', 'Netherlands', 'Sweden', 'Poland',
                             'Japan', 'India', 'Brazil', 'Nigeria', 'Australia'])[r.city],
           'country_code', (ARRAY['US', 'US', 'US', 'CA', 'GB', 'GB', 'DE', 'DE', 'FR', 'FR',
                                  'ES', 'IT', 'NL', 'SE', 'PL', 'JP', 'IN', 'BR', 'NG',
                                  'AU'])[r.city])),
       CASE WHEN r.h3 % 100 < 85 THEN jsonb_build_object(
                'plan', (ARRAY['free', 'starter', 'pro', 'enterprise'])[r.plan],
                'signup_date', to_char(r.created_at + make_interval(days => (r.h4 % 30)::int),
                                       'YYYY-MM-DD'),
                'seats', 1 + r.h5 % 500)
            ELSE '{}'::jsonb
       END,
       CASE WHEN r.h6 % 100 < 15 THEN NULL
            ELSE greatest(r.created_at,
                          now() - make_interval(secs => (r.h6 % (730 * 86400))::double precision))
       END,
       r.created_at,
       r.created_at
FROM (
    SELECT b.*,
           CASE WHEN b.h1 % 10 <> 0 THEN
               lower(b.first_name) || '.' || lower(b.last_name) || b.i || '@' ||
               (ARRAY['gmail.com', 'yahoo.com', 'outlook.com', 'hey.com', 'proton.me',
                      'example.org'])[1 + b.h2 % 6]
           END AS email,
           -- E.164 and unique: +1, an area code, the row number on 7 digits.
           CASE WHEN b.h3 % 10 < 6 THEN
               '+1' || (200 + b.h4 % 800)::text || lpad(b.i::text, 7, '0')
           END AS phone_number,
           CASE WHEN b.h5 % 10 < 3 THEN 'usr_' || to_hex(b.i::bigint * 7919) END AS identifier,
           CASE WHEN b.h9 % 10 < 7 THEN
               (ARRAY['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne',
                      'Wonka', 'Cyberdyne', 'Soylent', 'Tyrell', 'Aperture', 'Black Mesa',
                      'Vandelay', 'Dunder Mifflin', 'Pied Piper', 'Massive Dynamic', 'Oscorp',
                      'Gringotts', 'Monsters'])[1 + b.h10 % 20]
               || ' ' ||
               (ARRAY['Inc', 'LLC', 'GmbH', 'Ltd', 'Labs', 'Group', 'Systems',
                      'Partners'])[1 + b.h11 % 8]
           END AS company_name,
           1 + b.h12 % 20 AS city,
           -- free 50 %, starter 25 %, pro 15 %, enterprise 10 %
           CASE WHEN b.h13 % 20 < 10 THEN 1 WHEN b.h13 % 20 < 15 THEN 2
                WHEN b.h13 % 20 < 18 THEN 3 ELSE 4 END AS plan
    FROM (
        SELECT g.i, n.*,
               (ARRAY['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael',
                      'Linda', 'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan',
                      'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen',
                      'Christopher', 'Lisa', 'Daniel', 'Nancy', 'Matthew', 'Betty', 'Anthony',
                      'Margaret', 'Mark', 'Sandra', 'Donald', 'Ashley', 'Steven', 'Kimberly',
                      'Paul', 'Emily', 'Andrew', 'Donna', 'Joshua', 'Michelle', 'Kenji', 'Aiko',
                      'Mateo', 'Lucía', 'Olivier', 'Amélie', 'Lars', 'Ingrid', 'Ravi', 'Priya',
                      'Chen', 'Mei', 'Omar', 'Fatima', 'Kwame', 'Ama', 'Ivan', 'Olga', 'Diego',
                      'Sofía'])[1 + n.h7 % 60] AS first_name,
               (ARRAY['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller',
                      'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez',
                      'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
                      'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark',
                      'Ramirez', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King',
                      'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores', 'Green', 'Adams',
                      'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter',
                      'Roberts', 'Tanaka', 'Müller', 'Dubois', 'Rossi', 'Kowalski', 'Novak',
                      'Fitzgerald', 'Okafor', 'Haddad', 'Lindqvist'])[1 + n.h8 % 60] AS last_name,
               -- Oldest first over three years: ids grow with creation time, as in a real table.
               now() - make_interval(days => 1095)
                   + make_interval(secs => g.i::double precision / $2::int * 1095 * 86400
                                           - n.h14 % 3600) AS created_at
        FROM generate_series(1, $2::int) AS g(i)
        CROSS JOIN LATERAL (
            SELECT (hashint8extended(g.i, 1) & 9223372036854775807) AS h1, (hashint8extended(g.i, 2) & 9223372036854775807) AS h2,
                   (hashint8extended(g.i, 3) & 9223372036854775807) AS h3, (hashint8extended(g.i, 4) & 9223372036854775807) AS h4,
                   (hashint8extended(g.i, 5) & 9223372036854775807) AS h5, (hashint8extended(g.i, 6) & 9223372036854775807) AS h6,
                   (hashint8extended(g.i, 7) & 9223372036854775807) AS h7, (hashint8extended(g.i, 8) & 9223372036854775807) AS h8,
                   (hashint8extended(g.i, 9) & 9223372036854775807) AS h9, (hashint8extended(g.i, 10) & 9223372036854775807) AS h10,
                   (hashint8extended(g.i, 11) & 9223372036854775807) AS h11, (hashint8extended(g.i, 12) & 9223372036854775807) AS h12,
                   (hashint8extended(g.i, 13) & 9223372036854775807) AS h13, (hashint8extended(g.i, 14) & 9223372036854775807) AS h14
        ) n
    ) b
) r
ORDER BY r.i

-- statement
-- Labels on ~10 % of the contacts; a third of those get a second one.
INSERT INTO contact_labels (contact_id, name, account_id)
SELECT c.id, l.name, $1::bigint
FROM contacts c
CROSS JOIN LATERAL (
    SELECT (ARRAY['vip', 'churn-risk', 'beta', 'newsletter', 'partner', 'trial', 'billing',
                  'feedback'])[1 + (hashint8extended(c.id, 21) & 9223372036854775807) % 8] AS name
    UNION
    SELECT (ARRAY['vip', 'churn-risk', 'beta', 'newsletter', 'partner', 'trial', 'billing',
                  'feedback'])[1 + (hashint8extended(c.id, 22) & 9223372036854775807) % 8]
    WHERE (hashint8extended(c.id, 23) & 9223372036854775807) % 3 = 0
) l
WHERE c.account_id = $1::bigint AND (hashint8extended(c.id, 20) & 9223372036854775807) % 10 = 0

-- statement
INSERT INTO labels (account_id, title, description, color, show_on_sidebar, created_at, updated_at)
SELECT $1::bigint, t, NULL, '#1f93ff', true, now(), now()
FROM unnest(ARRAY['vip', 'churn-risk', 'beta', 'newsletter', 'partner', 'trial', 'billing',
                  'feedback']) AS t

-- statement
INSERT INTO custom_attribute_definitions (account_id, attribute_key, attribute_display_name,
                                          attribute_display_type, attribute_model,
                                          attribute_values, attribute_description, created_at,
                                          updated_at)
VALUES ($1::bigint, 'plan', 'Plan', 'list', 'contact_attribute',
        '["free", "starter", "pro", "enterprise"]', 'Subscription plan', now(), now()),
       ($1::bigint, 'signup_date', 'Signup date', 'date', 'contact_attribute', '[]', NULL, now(), now()),
       ($1::bigint, 'seats', 'Seats', 'number', 'contact_attribute', '[]', NULL, now(), now())
