// The GraphQL-over-HTTP audit: graphql-http's `auditServer` against POST/GET /graphql.
//
// Runs every audit of the GraphQL over HTTP spec that graphql-http knows, with each request
// carrying `Authorization: Bearer <token>`, prints every result, and fails when a MUST audit
// fails. SHOULD and MAY failures are listed (they are recommendations, not requirements); the
// README explains the ones Switchboard deliberately does not follow.
import { type AuditResult, auditServer } from 'graphql-http';

import { baseUrl, env, fail, withTimeout } from './common.js';

const TIMEOUT_MS = Number(process.env.SB_AUDIT_TIMEOUT_MS ?? 30_000);
type Requirement = 'MUST' | 'SHOULD' | 'MAY';

/** The response that made an audit fail, in short, for the log. */
async function describeResponse(response: Response): Promise<string> {
  let body = '';
  try {
    body = (await response.clone().text()).replace(/\s+/g, ' ').slice(0, 300);
  } catch {
    body = '(body already read)';
  }
  return `${response.status} ${response.headers.get('content-type') ?? '-'} ${body}`;
}

async function main(): Promise<void> {
  const url = `${baseUrl()}/graphql`;
  const token = env('SB_TOKEN');
  const fetchFn: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
  const results: AuditResult[] = await auditServer({ url, fetchFn });

  const counts: Record<Requirement, { ok: number; failed: AuditResult[] }> = {
    MUST: { ok: 0, failed: [] },
    SHOULD: { ok: 0, failed: [] },
    MAY: { ok: 0, failed: [] },
  };
  for (const result of results) {
    const requirement = result.name.split(' ')[0] as Requirement;
    const mark = result.status === 'ok' ? 'ok  ' : result.status === 'error' ? 'FAIL' : 'warn';
    console.log(`${mark} [${result.id}] ${result.name}`);
    if (result.status === 'ok') {
      counts[requirement].ok += 1;
    } else {
      counts[requirement].failed.push(result);
      console.log(`       ${result.reason}`);
      console.log(`       response: ${await describeResponse(result.response)}`);
    }
  }

  console.log('');
  for (const requirement of ['MUST', 'SHOULD', 'MAY'] as const) {
    const { ok, failed } = counts[requirement];
    console.log(`${requirement}: ${ok} passed, ${failed.length} failed`);
    for (const result of failed) {
      console.log(`  - [${result.id}] ${result.name}`);
    }
  }
  if (counts.MUST.failed.length > 0) {
    throw new Error(`${counts.MUST.failed.length} MUST audit(s) failed`);
  }
}

withTimeout(TIMEOUT_MS, 'the GraphQL-over-HTTP audit', main).then(
  () => {
    console.log('OK: every MUST audit passed');
    process.exit(0);
  },
  (err: unknown) => fail(err instanceof Error ? err.message : String(err)),
);
