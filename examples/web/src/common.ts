// Shared by the checks: where the server is, and a typed GraphQL-over-HTTP request.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

/** A required environment variable (run-checks.sh sets them all). */
export function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    fail(`environment variable ${name} is not set (run the checks with run-checks.sh)`);
  }
  return value;
}

/** The server's origin, e.g. `http://127.0.0.1:8080` (no trailing slash). */
export const baseUrl = (): string => env('SB_URL').replace(/\/+$/, '');

/** Prints the reason and ends the process with status 1. */
export function fail(message: string): never {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

/** Throws `message` when the check does not hold (each check's top level prints it and fails). */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

/** Runs `body`, failing the process if it has not settled after `ms` milliseconds. */
export async function withTimeout<T>(ms: number, what: string, body: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms);
  });
  try {
    return await Promise.race([body(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * POSTs one operation to `/graphql` as `application/json` and returns its `data`, typed by the
 * generated document. Any GraphQL error (or a non-200 status) is a failure.
 */
export async function request<TData, TVariables extends Record<string, unknown>>(
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  token?: string,
): Promise<TData> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  const url = `${baseUrl()}/graphql`;
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: print(document), variables }),
  }).catch((err: unknown) => {
    const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : err;
    throw new Error(`POST ${url} failed: ${String(cause)}`);
  });
  const text = await response.text();
  let body: { data?: TData | null; errors?: { message: string }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`HTTP ${response.status}: not JSON: ${text.slice(0, 200)}`);
  }
  if (response.status !== 200 || body.errors?.length || !body.data) {
    throw new Error(`HTTP ${response.status}: ${JSON.stringify(body.errors ?? body)}`);
  }
  return body.data;
}
