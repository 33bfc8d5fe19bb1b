// The resuming client check: src/resume.ts on the npm graphql-ws client against a live server,
// through a TCP proxy that can cut or freeze the connection (the server sees a real drop).
//
// 1. drop: messageCreated of a new conversation, 3 events live, the proxy cuts the connection
//    (both TCP sockets destroyed), 5 messages posted over HTTP while graphql-ws waits to
//    reconnect; once it has, exactly those 5 arrive, in order, then a live one, nothing twice,
//    and the resubscription carried `after` = the position of the last event before the drop;
// 2. frozen socket: the proxy stops forwarding the server's bytes, a message is posted (the
//    server sends it into the frozen connection), the client gives up on the socket with
//    `terminate()`, another message is posted, it reconnects and gets both once; then the
//    frozen bytes are released to the old socket, which still delivers them to graphql-ws:
//    they must not reach the handler a second time;
// 3. HISTORY_EXPIRED: subscribing after a position of another epoch ends with HISTORY_EXPIRED;
//    the client subscribes again without `after`, calls refetch() (a query of the conversation's
//    messages; a message posted while it runs is held until it is done), then continues live;
// 4. roomEvents: the position comes from the `position` field; after a cut, the two messages
//    posted meanwhile arrive once, in order.
//
// Exits 0 when every step held, 1 with a `FAIL:` line otherwise (including a 20 s timeout).
// SB_TRACE=1 prints what goes over the socket.
import net from 'node:net';

import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { baseUrl, check, env, fail, request, withTimeout } from './common.js';
import {
  ConversationMessagesDocument,
  CreateContactDocument,
  CreateConversationDocument,
  CreateInboxDocument,
  CreateMessageDocument,
  MeDocument,
  OnMessageCreatedDocument,
  type OnMessageCreatedSubscription,
  OnRoomEventsDocument,
  type OnRoomEventsSubscription,
} from './generated/graphql.js';
import { type ResumingSubscription, subscribeResuming } from './resume.js';

const TIMEOUT_MS = Number(process.env.SB_RESUME_TIMEOUT_MS ?? 20_000);
/** SB_TRACE=1 prints every message on the socket (shortened) and every close. */
const trace = (what: string, text: string) => {
  if (process.env.SB_TRACE) {
    console.log(`${what} ${text.slice(0, 240)}`);
  }
};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 10 ms; throws after 5 s, naming `what`. */
async function until(what: string, condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5000) {
      throw new Error(`timed out after 5 s waiting for ${what}`);
    }
    await sleep(10);
  }
}

/** A count as expected (unlike `check`, it narrows nothing: the counts change later). */
function equal(actual: number, expected: number, what: string): void {
  check(actual === expected, `${what}: ${actual}, expected ${expected}`);
}

function same(actual: unknown[], expected: unknown[], what: string): void {
  check(
    JSON.stringify(actual) === JSON.stringify(expected),
    `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`,
  );
}

/** One proxied connection: the client's socket and the server's. */
interface Pair {
  client: net.Socket;
  server: net.Socket;
  /** While frozen: the server's bytes not yet forwarded to the client. */
  held: Buffer[] | undefined;
}

/** A TCP proxy to the server that can cut every connection or freeze the server's side. */
class Proxy {
  readonly pairs = new Set<Pair>();
  connections = 0;
  private readonly listener: net.Server;

  constructor(target: URL) {
    this.listener = net.createServer((client) => {
      this.connections += 1;
      const server = net.connect(Number(target.port), target.hostname);
      const pair: Pair = { client, server, held: undefined };
      this.pairs.add(pair);
      client.pipe(server);
      server.on('data', (chunk: Buffer) => {
        if (pair.held) {
          pair.held.push(chunk);
        } else {
          client.write(chunk);
        }
      });
      server.on('end', () => {
        if (!pair.held) {
          client.end();
        }
      });
      const forget = () => this.pairs.delete(pair);
      client.on('close', forget).on('error', () => client.destroy());
      server.on('close', forget).on('error', () => server.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.listener.listen(0, '127.0.0.1', resolve));
    return (this.listener.address() as net.AddressInfo).port;
  }

  /** Destroys both sockets of every connection: the server's TCP connection is reset. */
  cut(): number {
    const pairs = [...this.pairs];
    for (const pair of pairs) {
      pair.server.resetAndDestroy();
      pair.client.destroy();
    }
    return pairs.length;
  }

  /** Holds back what the server sends on the open connections; the result lets it through. */
  freeze(): { pairs: Pair[]; release: () => void } {
    const pairs = [...this.pairs];
    for (const pair of pairs) {
      pair.held = [];
    }
    return {
      pairs,
      release: () => {
        for (const pair of pairs) {
          const held = pair.held ?? [];
          pair.held = undefined;
          for (const chunk of held) {
            pair.client.write(chunk);
          }
        }
      },
    };
  }

  close(): void {
    this.cut();
    this.listener.close();
  }
}

async function main(): Promise<void> {
  const token = env('SB_TOKEN');
  const url = baseUrl();
  const stamp = `${Date.now()}-${process.pid}`;
  const me = (await request(MeDocument, {}, token)).me;
  const account = me.accounts[0];
  check(account, 'me.accounts is empty');

  const { createInbox: inbox } = await request(
    CreateInboxDocument,
    { input: { name: `Resume check ${stamp}`, channelType: 'api' } },
    token,
  );
  const { createContact: contact } = await request(
    CreateContactDocument,
    { input: { name: 'Rita Resume', email: `rita-${stamp}@example.com`, inboxId: inbox.id } },
    token,
  );
  const { createConversation: conversation } = await request(
    CreateConversationDocument,
    { input: { contactId: contact.id, inboxId: inbox.id } },
    token,
  );
  const post = async (content: string) => {
    await request(
      CreateMessageDocument,
      { input: { conversationId: conversation.id, content } },
      token,
    );
  };
  console.log(`conversation ${conversation.id} of account ${account.id}`);

  const proxy = new Proxy(new URL(url));
  const proxyPort = await proxy.listen();

  // graphql-ws reconnects by itself; `retryWait` waits on a gate the check opens, so the
  // messages it posts "while disconnected" are posted before the client is back.
  let gate = Promise.resolve();
  let openGate = () => {};
  const holdReconnects = () => {
    gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
  };
  let closed = 0;
  let connected = 0;
  /** The socket graphql-ws connected last. */
  let current: WebSocket | undefined;
  /** Every `subscribe` the client sent: [operation name, variables]. */
  const sent: [string, Record<string, unknown>][] = [];
  /** Every `next` graphql-ws received, by the message's content (whatever socket it came on). */
  const received = new Map<string, number>();
  const client: Client = createClient({
    url: `ws://127.0.0.1:${proxyPort}/graphql/ws`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 5,
    shouldRetry: () => true,
    retryWait: () => gate,
    on: {
      opened: (socket) => {
        const ws = socket as WebSocket;
        const send = ws.send.bind(ws);
        ws.send = ((data: string) => {
          const message = JSON.parse(data) as {
            type: string;
            payload?: { query: string; variables?: Record<string, unknown> };
          };
          if (message.type === 'subscribe' && message.payload) {
            const name = /subscription (\w+)/.exec(message.payload.query)?.[1] ?? '?';
            sent.push([name, message.payload.variables ?? {}]);
          }
          trace('out', data);
          send(data);
        }) as typeof ws.send;
      },
      message: (message) => {
        trace('in', JSON.stringify(message));
        if (message.type === 'next') {
          const data = message.payload.data as OnMessageCreatedSubscription | undefined;
          const content = data?.messageCreated?.content;
          if (content) {
            received.set(content, (received.get(content) ?? 0) + 1);
          }
        }
      },
      closed: (event) => {
        trace('closed', String((event as { code?: unknown }).code));
        closed += 1;
      },
      connected: (socket) => {
        connected += 1;
        current = socket as WebSocket;
      },
    },
  });

  /**
   * Resolves once every subscription sent earlier on the socket has started, i.e. listens to
   * the account's events: the server holds a `pong` until then (docs/design.md §4). Operations
   * start concurrently (each checks access first), so a later subscription's first message
   * proves nothing about an earlier one. graphql-ws has no call for a ping: it is sent on the
   * socket itself, once connected and after a macrotask, so that the subscribes graphql-ws
   * queued go first (it sends them a few microtasks after the acknowledgement).
   */
  let pings = 0;
  const started = async () => {
    await sleep(0);
    await until('an open socket', () => current?.readyState === WebSocket.OPEN);
    const socket = current;
    check(socket, 'no socket');
    const payload = { check: `started ${++pings}` };
    await new Promise<void>((resolve) => {
      const off = client.on('pong', (received, answered) => {
        if (received && JSON.stringify(answered) === JSON.stringify(payload)) {
          off();
          resolve();
        }
      });
      socket.send(JSON.stringify({ type: 'ping', payload }));
    });
  };

  let failure: unknown;
  const failOn = (what: string) => (err: unknown) => {
    failure ??= new Error(`${what} ended with an error: ${JSON.stringify(err)}`);
  };
  const healthy = () => {
    if (failure) {
      throw failure;
    }
  };
  const subscriptions: ResumingSubscription[] = [];

  try {
    // 1. A dropped connection.
    const got: string[] = [];
    const positions: (string | undefined)[] = [];
    let refetched = 0;
    const messages = subscribeResuming<OnMessageCreatedSubscription>(
      client,
      { query: print(OnMessageCreatedDocument), variables: { conversationId: conversation.id } },
      {
        next: (data, position) => {
          got.push(data.messageCreated.content ?? '');
          positions.push(position);
        },
        refetch: () => {
          refetched += 1;
        },
        error: failOn('messageCreated'),
      },
    );
    subscriptions.push(messages);
    await started();
    const live = ['live 1', 'live 2', 'live 3'];
    for (const content of live) {
      await post(content);
    }
    await until('the 3 live events', () => got.length >= 3 || failure !== undefined);
    healthy();
    const beforeDrop = positions[2];
    check(beforeDrop, 'the third event carried no position');

    holdReconnects();
    const cut = proxy.cut();
    equal(cut, 1, 'connections the proxy cut');
    await until('graphql-ws to see the socket closed', () => closed === 1);
    const missed = ['missed 1', 'missed 2', 'missed 3', 'missed 4', 'missed 5'];
    for (const content of missed) {
      await post(content);
    }
    await sleep(100);
    same(got, live, 'events received while disconnected');
    openGate();
    await until('the 5 missed events', () => got.length >= 8 || failure !== undefined);
    await post('after the drop');
    await until('the live event after the drop', () => got.length >= 9 || failure !== undefined);
    await sleep(200);
    healthy();
    same(got, [...live, ...missed, 'after the drop'], 'events after the drop');
    check(new Set(positions).size === positions.length, `positions repeat: ${positions}`);
    equal(connected, 2, 'graphql-ws connections');
    equal(proxy.connections, 2, 'TCP connections through the proxy');
    same(
      sent.filter(([name]) => name === 'OnMessageCreated'),
      [
        ['OnMessageCreated', { conversationId: conversation.id }],
        ['OnMessageCreated', { conversationId: conversation.id, after: beforeDrop }],
      ],
      'messageCreated subscribes sent',
    );
    equal(messages.resumptions, 1, 'messageCreated resumptions');
    equal(refetched, 0, 'refetch() calls');
    console.log(
      `drop: 3 live, the connection cut (server socket reset), 5 posted meanwhile; after ` +
        `reconnecting: the 5 in order, then 1 live, none twice; resubscribed after ${beforeDrop}`,
    );

    // 2. A frozen socket the client terminates.
    const frozen = proxy.freeze();
    equal(frozen.pairs.length, 1, 'connections to freeze');
    await post('held back');
    await until('the server to send into the frozen connection', () =>
      frozen.pairs.every((pair) => (pair.held?.length ?? 0) > 0),
    );
    holdReconnects();
    client.terminate();
    await post('while terminated');
    openGate();
    await until('the events missed by the frozen socket', () => got.length >= 11);
    frozen.release();
    await until('the frozen socket to deliver late', () => received.get('held back') === 2);
    await sleep(200);
    healthy();
    same(got.slice(9), ['held back', 'while terminated'], 'events after terminate()');
    equal(messages.resumptions, 2, 'messageCreated resumptions');
    equal(refetched, 0, 'refetch() calls');
    console.log(
      'frozen socket: terminate(), reconnect: both missed events once; the old socket then ' +
        'delivered "held back" to graphql-ws a second time, and it was ignored',
    );
    messages.stop();

    // 3. HISTORY_EXPIRED.
    const [accountId, epoch] = beforeDrop.split(':');
    const otherEpoch = epoch === '0000000000000000' ? '1111111111111111' : '0000000000000000';
    const expiredAfter = `${accountId}:${otherEpoch}:1`;
    const log: string[] = [];
    let totalCount = -1;
    const fresh = subscribeResuming<OnMessageCreatedSubscription>(
      client,
      {
        query: print(OnMessageCreatedDocument),
        variables: { conversationId: conversation.id },
        after: expiredAfter,
      },
      {
        next: (data) => log.push(data.messageCreated.content ?? ''),
        refetch: async () => {
          log.push('refetch');
          // Once the new subscription listens, a message posted now is held until we return.
          await started();
          await post('during the refetch');
          await until('the server to send it', () => received.has('during the refetch'));
          const { conversation: c } = await request(
            ConversationMessagesDocument,
            { id: conversation.id, last: 1 },
            token,
          );
          totalCount = c?.messages.totalCount ?? -1;
          log.push('refetched');
        },
        error: failOn('messageCreated after HISTORY_EXPIRED'),
      },
    );
    subscriptions.push(fresh);
    await until('the refetch', () => log.includes('refetched') || failure !== undefined);
    await until('the held event', () => log.length >= 3 || failure !== undefined);
    await post('after the refetch');
    await until('a live event', () => log.length >= 4 || failure !== undefined);
    await sleep(200);
    healthy();
    same(log, ['refetch', 'refetched', 'during the refetch', 'after the refetch'], 'expiry');
    // 11 messages before, plus the one posted during the refetch.
    equal(totalCount, 12, 'messages the refetch saw');
    equal(fresh.refetches, 1, 'refetch() calls after HISTORY_EXPIRED');
    same(
      sent.filter(([name]) => name === 'OnMessageCreated').slice(-2),
      [
        ['OnMessageCreated', { conversationId: conversation.id, after: expiredAfter }],
        ['OnMessageCreated', { conversationId: conversation.id }],
      ],
      'messageCreated subscribes sent after HISTORY_EXPIRED',
    );
    console.log(
      `HISTORY_EXPIRED: after ${expiredAfter} (another epoch) -> resubscribed without after, ` +
        `refetch() read ${totalCount} messages, the event posted meanwhile came after it, then live`,
    );
    fresh.stop();

    // 4. roomEvents: the position is a field.
    const room: OnRoomEventsSubscription['roomEvents'][] = [];
    const rooms = subscribeResuming<OnRoomEventsSubscription>(
      client,
      { query: print(OnRoomEventsDocument) },
      {
        next: (data) => room.push(data.roomEvents),
        refetch: () => failOn('roomEvents')(new Error('refetch() called')),
        error: failOn('roomEvents'),
      },
    );
    subscriptions.push(rooms);
    await until('the presence snapshot', () => room.length >= 1 || failure !== undefined);
    healthy();
    check(room[0]?.event === 'presence.update', `first roomEvent ${room[0]?.event}`);
    holdReconnects();
    const closedBefore = closed;
    proxy.cut();
    await until('graphql-ws to see the socket closed', () => closed > closedBefore);
    await post('room 1');
    await post('room 2');
    openGate();
    const created = () =>
      room.filter((e) => e.event === 'message.created').map((e) => (e.data as { content: string }).content);
    await until('the 2 messages', () => created().length >= 2 || failure !== undefined);
    await sleep(200);
    healthy();
    same(created(), ['room 1', 'room 2'], 'roomEvents message.created after the cut');
    const kept = room.filter((e) => e.event !== 'presence.update').map((e) => e.position);
    check(new Set(kept).size === kept.length, `roomEvents positions repeat: ${kept}`);
    equal(rooms.resumptions, 1, 'roomEvents resumptions');
    const resumedAfter = sent.filter(([name]) => name === 'OnRoomEvents').at(-1)?.[1].after;
    check(
      resumedAfter === room[0]?.position,
      `roomEvents resumed after ${String(resumedAfter)}, expected ${room[0]?.position}`,
    );
    console.log(
      `roomEvents: resumed after the snapshot's position ${String(resumedAfter)}; ` +
        `${room.length} events (${room.map((e) => e.event).join(', ')})`,
    );
  } finally {
    for (const subscription of subscriptions) {
      subscription.stop();
    }
    await client.dispose();
    proxy.close();
  }
}

withTimeout(TIMEOUT_MS, 'the resume check', main).then(
  () => {
    console.log('OK: resume check passed');
    process.exit(0);
  },
  (err: unknown) => fail(err instanceof Error ? err.message : String(err)),
);
