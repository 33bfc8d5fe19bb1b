// The browser check: GraphiQL, served by Switchboard itself, working in a real Chromium.
//
// Opens GET /graphql in Debian's chromium (driven by playwright-core; no browser download),
// types a query into the query editor and an Authorization header into the headers editor,
// clicks the run button, and checks the result pane shows the viewer. Saves a screenshot to
// artifacts/graphiql.png, and fails if the page requested anything from a host other than the
// server's own (GraphiQL's assets are compiled into the binary, so it must work offline).
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Browser, chromium, type Page } from 'playwright-core';

import { baseUrl, check, env, fail, withTimeout } from './common.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TIMEOUT_MS = Number(process.env.SB_BROWSER_TIMEOUT_MS ?? 45_000);
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
const SCREENSHOT = join(ARTIFACTS, 'graphiql.png');
/** Written instead when the check fails, to see what the page looked like. */
const FAILURE_SCREENSHOT = join(ARTIFACTS, 'graphiql-failure.png');
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const QUERY = '{ me { id name email } }';

/** The text of the CodeMirror 5 editor inside `selector` (GraphiQL 3's editors). */
async function editorValue(page: Page, selector: string): Promise<string> {
  return page.$eval(
    `${selector} .CodeMirror`,
    (element) => (element as HTMLElement & { CodeMirror: { getValue(): string } }).CodeMirror.getValue(),
  );
}

/** Clears the editor inside `selector` and types `text` with the keyboard, as a person would. */
async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  await page.click(`${selector} .CodeMirror`);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
  // Back to the start of the line, so the screenshot shows where the text begins.
  await page.keyboard.press('Home');
}

let browser: Browser | undefined;
let page: Page | undefined;

async function main(browser: Browser): Promise<void> {
  const url = baseUrl();
  const token = env('SB_TOKEN');
  const email = env('SB_EMAIL');
  const name = env('SB_ADMIN_NAME');
  const origin = new URL(url);

  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const requests: string[] = [];
  const foreign: string[] = [];
  const pageErrors: string[] = [];
  let authorizedPost = false;
  const record = (requestUrl: string): void => {
    requests.push(requestUrl);
    const parsed = new URL(requestUrl);
    if (['data:', 'blob:', 'about:'].includes(parsed.protocol)) {
      return;
    }
    if (!LOCAL_HOSTS.has(parsed.hostname) && parsed.hostname !== origin.hostname) {
      foreign.push(requestUrl);
    }
  };
  context.on('request', (request) => {
    record(request.url());
    if (
      request.method() === 'POST' &&
      new URL(request.url()).pathname === '/graphql' &&
      request.headers().authorization === `Bearer ${token}` &&
      (request.postData() ?? '').includes('me')
    ) {
      authorizedPost = true;
    }
  });
  page = await context.newPage();
  page.on('websocket', (socket) => record(socket.url()));
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      console.log(`  browser console error: ${message.text()}`);
    }
  });

  const response = await page.goto(`${url}/graphql`);
  check(response?.status() === 200, `GET /graphql answered ${response?.status()}`);
  check(
    (response.headers()['content-type'] ?? '').startsWith('text/html'),
    `GET /graphql from a browser is ${response.headers()['content-type']}, not HTML`,
  );
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 15_000 });
  console.log(`GraphiQL loaded: ${await page.title()} (${browser.version()})`);

  // The query.
  await typeInto(page, '.graphiql-query-editor', QUERY);
  const typedQuery = await editorValue(page, '.graphiql-query-editor');
  check(typedQuery === QUERY, `the query editor holds ${JSON.stringify(typedQuery)}`);

  // The headers tab (GraphiQL opens it by default; click it anyway).
  await page.getByRole('button', { name: 'Headers', exact: true }).click();
  const headersEditor = '.graphiql-editor-tool .graphiql-editor:not(.hidden)';
  const headers = `{"Authorization": "Bearer ${token}"}`;
  await typeInto(page, headersEditor, headers);
  const typedHeaders = await editorValue(page, headersEditor);
  check(
    JSON.stringify(JSON.parse(typedHeaders)) === JSON.stringify(JSON.parse(headers)),
    `the headers editor holds ${JSON.stringify(typedHeaders)}`,
  );

  // Run it and read the result pane.
  await page.click('.graphiql-execute-button');
  const resultHandle = await page.waitForFunction(
    () => {
      const element = document.querySelector('.graphiql-response .CodeMirror') as
        | (HTMLElement & { CodeMirror: { getValue(): string } })
        | null;
      const value = element?.CodeMirror.getValue() ?? '';
      return value.includes('"data"') || value.includes('"errors"') ? value : false;
    },
    undefined,
    { timeout: 10_000 },
  );
  const resultText = (await resultHandle.jsonValue()) as string;
  const result = JSON.parse(resultText) as {
    data?: { me?: { id: string; name: string; email: string } };
    errors?: unknown[];
  };
  check(!result.errors, `GraphiQL shows errors: ${resultText}`);
  check(
    result.data?.me?.name === name && result.data.me.email === email,
    `GraphiQL shows ${resultText}, expected me { name: ${name}, email: ${email} }`,
  );
  // What is on screen, not just in the editor model.
  const shown = await page.locator('.graphiql-response').innerText();
  check(shown.includes(name), `the result pane does not display ${JSON.stringify(name)}`);
  check(authorizedPost, 'GraphiQL did not send the query with the Authorization header');
  console.log(`result pane: ${resultText.replace(/\s+/g, ' ')}`);

  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  console.log(`screenshot: ${SCREENSHOT}`);

  check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join('; ')}`);
  console.log(`${requests.length} requests, all to ${origin.host}`);
  check(foreign.length === 0, `the page requested other hosts: ${foreign.join(', ')}`);
  await context.close();
}

withTimeout(TIMEOUT_MS, 'the GraphiQL browser check', async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  await main(browser);
})
  .then(async () => {
    await browser?.close();
    console.log('OK: GraphiQL browser check passed');
    process.exit(0);
  })
  .catch(async (err: unknown) => {
    if (page) {
      await mkdir(ARTIFACTS, { recursive: true });
      await page
        .screenshot({ path: FAILURE_SCREENSHOT, timeout: 5_000 })
        .then(() => console.error(`screenshot of the failure: ${FAILURE_SCREENSHOT}`))
        .catch(() => undefined);
    }
    await browser?.close().catch(() => undefined);
    fail(err instanceof Error ? err.message : String(err));
  });
