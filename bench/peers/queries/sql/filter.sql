-- pgbench ceiling for query "filter": contacts whose email contains '77' (case-insensitive), first 20 by created_at then id.
SELECT id, name, email, phone_number, created_at, updated_at, blocked, contact_type
FROM contacts
WHERE account_id = :acct
  AND (email IS NOT NULL OR phone_number IS NOT NULL OR identifier IS NOT NULL)
  AND email ILIKE '%77%'
ORDER BY created_at, id
LIMIT 20;
