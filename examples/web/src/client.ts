// The frontend check: what a TypeScript web client of Switchboard does, typed by the code
// generated from schema.graphql (src/generated/graphql.ts).
//
// 1. logs in over HTTP (`login(email, password)`) and keeps the JWT;
// 2. creates an inbox, a contact and a conversation over HTTP;
// 3. opens a graphql-ws (graphql-transport-ws) connection to /graphql/ws, authenticated with
//    `connectionParams: { authorization: "Bearer <jwt>" }`, and subscribes to `messageCreated`
//    (for the conversation) and `presenceUpdated`;
// 4. once the presence snapshot has arrived (so both subscriptions are running), posts a
//    message over HTTP and waits for the `messageCreated` event carrying it.
//
// Exits 0 when every step held, 1 with a `FAIL:` line otherwise (including a 15 s timeout).
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { baseUrl, check, env, fail, request, withTimeout } from './common.js';
import {
  CreateContactDocument,
  CreateConversationDocument,
  CreateInboxDocument,
  CreateMessageDocument,
  LoginDocument,
  MeDocument,
  OnMessageCreatedDocument,
  type OnMessageCreatedSubscription,
  OnPresenceUpdatedDocument,
  type OnPresenceUpdatedSubscription,
} from './generated/graphql.js';

const TIMEOUT_MS = Number(process.env.SB_CLIENT_TIMEOUT_MS ?? 15_000);

/** A running subscription: every event it has delivered, and a way to wait for one. */
interface Subscription<T> {
  events: T[];
  /** Resolves with the first event (already delivered or not) for which `matches` holds. */
  next(matches: (event: T) => boolean): Promise<T>;
  stop(): void;
}

function subscribe<TData, TVariables extends Record<string, unknown>>(
  client: Client,
  name: string,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
): Subscription<TData> {
  const events: TData[] = [];
  const waiters: { matches: (event: TData) => boolean; resolve: (event: TData) => void }[] = [];
  let failure: Error | undefined;
  const rejecters = new Set<(err: Error) => void>();
  const stop = client.subscribe<TData>(
    { query: print(document), variables },
    {
      next(result) {
        if (result.errors?.length) {
          this.error(new Error(`${name}: ${JSON.stringify(result.errors)}`));
          return;
        }
        if (!result.data) {
          return;
        }
        const data = result.data;
        events.push(data);
        for (const waiter of waiters.filter((w) => w.matches(data))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(data);
        }
      },
      error(err) {
        failure = new Error(`${name} failed: ${describe(err)}`);
        for (const reject of rejecters) {
          reject(failure);
        }
      },
      complete() {
        failure ??= new Error(`${name} completed before the expected event`);
        for (const reject of rejecters) {
          reject(failure);
        }
      },
    },
  );
  return {
    events,
    stop,
    next(matches) {
      const found = events.find(matches);
      if (found) {
        return Promise.resolve(found);
      }
      if (failure) {
        return Promise.reject(failure);
      }
      return new Promise<TData>((resolve, reject) => {
        rejecters.add(reject);
        waiters.push({
          matches,
          resolve: (event) => {
            rejecters.delete(reject);
            resolve(event);
          },
        });
      });
    },
  };
}

/** A readable account of what a graphql-ws sink's `error` received. */
function describe(err: unknown): string {
  if (Array.isArray(err)) {
    return JSON.stringify(err);
  }
  if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
    const close = err as { code: number; reason: string };
    return `socket closed with ${close.code} ${JSON.stringify(close.reason)}`;
  }
  if (err instanceof Error) {
    return err.message;
  }
  return String(err);
}

async function main(): Promise<void> {
  const email = env('SB_EMAIL');
  const password = env('SB_PASSWORD');
  const url = baseUrl();
  const wsUrl = `${url.replace(/^http/, 'ws')}/graphql/ws`;
  const stamp = `${Date.now()}-${process.pid}`;

  // 1. Log in.
  const { login } = await request(LoginDocument, { email, password });
  check(login.token.split('.').length === 3, `login returned no JWT: ${login.token}`);
  const token = login.token;
  const me = (await request(MeDocument, {}, token)).me;
  check(me.id === login.user.id, `me.id ${me.id} differs from login.user.id ${login.user.id}`);
  check(me.email === email, `the token is for ${me.email}, expected ${email}`);
  const account = me.accounts[0];
  check(account, 'me.accounts is empty');
  console.log(
    `logged in as ${me.name} <${me.email}> (user ${me.id}, ${login.user.role} of ` +
      `account ${account.id} ${JSON.stringify(account.name)})`,
  );

  // 2. Something to talk in.
  const { createInbox: inbox } = await request(
    CreateInboxDocument,
    { input: { name: `Web check ${stamp}`, channelType: 'api' } },
    token,
  );
  const { createContact: contact } = await request(
    CreateContactDocument,
    { input: { name: 'Grace Web-Check', email: `grace-${stamp}@example.com`, inboxId: inbox.id } },
    token,
  );
  const { createConversation: conversation } = await request(
    CreateConversationDocument,
    { input: { contactId: contact.id, inboxId: inbox.id } },
    token,
  );
  check(conversation.contact.id === contact.id, 'the conversation is not with the new contact');
  console.log(
    `created inbox ${inbox.id}, contact ${contact.id}, conversation ${conversation.id} ` +
      `(#${conversation.displayId}, ${conversation.status})`,
  );

  // 3. Subscribe over graphql-ws.
  let acknowledged = false;
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: {
      connected: () => {
        acknowledged = true;
      },
    },
  });
  try {
    // messageCreated first: the server handles a connection's messages in order, so once the
    // presence snapshot (subscribed second) arrives, messageCreated is registered too.
    const messages = subscribe(client, 'messageCreated', OnMessageCreatedDocument, {
      conversationId: conversation.id,
    });
    const presence = subscribe(client, 'presenceUpdated', OnPresenceUpdatedDocument, {});

    const snapshot: OnPresenceUpdatedSubscription = await presence.next(() => true);
    check(acknowledged, 'presence arrived before connection_ack');
    const mine = snapshot.presenceUpdated.users.find((u) => u.userId === me.id);
    check(
      mine,
      `presenceUpdated snapshot does not list user ${me.id}: ${JSON.stringify(snapshot)}`,
    );
    check(
      mine.availability === 'ONLINE',
      `presenceUpdated shows user ${me.id} as ${mine.availability}, expected ONLINE`,
    );
    console.log(
      `presenceUpdated snapshot: account ${snapshot.presenceUpdated.accountId}, ` +
        `${snapshot.presenceUpdated.users.length} user(s), ` +
        `${snapshot.presenceUpdated.contacts.length} contact(s) online; user ${me.id} ONLINE`,
    );

    // 4. Cause a message and receive it.
    const content = `Hello from the web check ${stamp} ✓`;
    const { createMessage: sent } = await request(
      CreateMessageDocument,
      { input: { conversationId: conversation.id, content } },
      token,
    );
    console.log(`sent message ${sent.id} over HTTP`);
    const received: OnMessageCreatedSubscription = await messages.next(
      (event) => event.messageCreated.id === sent.id,
    );
    const message = received.messageCreated;
    check(message.content === content, `messageCreated content ${JSON.stringify(message.content)}`);
    check(message.conversationId === conversation.id, 'messageCreated for another conversation');
    check(message.messageType === 'OUTGOING', `messageCreated type ${message.messageType}`);
    check(!message.private, 'messageCreated is private');
    check(
      message.sender?.__typename === 'User' && message.sender.id === me.id,
      `messageCreated sender ${JSON.stringify(message.sender)}, expected user ${me.id}`,
    );
    console.log(
      `messageCreated received: ${message.id} ${JSON.stringify(message.content)} ` +
        `from ${message.sender.name} at ${message.createdAt}`,
    );
    messages.stop();
    presence.stop();
  } finally {
    await client.dispose();
  }
}

withTimeout(TIMEOUT_MS, 'the client check', main).then(
  () => {
    console.log('OK: client check passed');
    process.exit(0);
  },
  (err: unknown) => fail(err instanceof Error ? err.message : String(err)),
);
