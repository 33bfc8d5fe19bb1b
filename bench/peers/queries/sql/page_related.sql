-- pgbench ceiling for query "page_related": the page of 20 with each contact's inbox names and label names.
SELECT c.id, c.name, c.email, c.phone_number, c.created_at, c.updated_at, c.blocked, c.contact_type,
       (SELECT coalesce(array_agg(i.name ORDER BY ci.id), '{}')
          FROM contact_inboxes ci JOIN inboxes i ON i.id = ci.inbox_id
         WHERE ci.contact_id = c.id) AS inboxes,
       (SELECT coalesce(array_agg(cl.name ORDER BY cl.name), '{}')
          FROM contact_labels cl WHERE cl.contact_id = c.id) AS labels
FROM (SELECT * FROM contacts
       WHERE account_id = :acct
         AND (email IS NOT NULL OR phone_number IS NOT NULL OR identifier IS NOT NULL)
       ORDER BY created_at, id
       LIMIT 20) c
ORDER BY c.created_at, c.id;
