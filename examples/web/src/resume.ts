// A subscription that survives dropped sockets without losing or repeating an event, on the npm
// `graphql-ws` client (the repository's README.md, "Resuming"; docs/design.md §3). Copy this
// file into a frontend; src/resume-check.ts checks it against a live server (graphql-ws 6.4.2).
//
// The server gives every event a position (`<account>:<epoch>:<offset>`, opaque to clients):
// `roomEvents` selects it as a field, every subscription's `next` carries it as
// `extensions.position`. Subscribing with `after: <position>` replays, in order, every event
// after it that this subscription would have delivered, then goes on live. `subscribeResuming`
// keeps the position of the last event it received and, whenever graphql-ws reconnects,
// subscribes again after it. When that position is no longer kept (`HISTORY_EXPIRED`: older
// than the history, or the history was lost), it subscribes without `after`, calls `refetch()`
// (reload what the events would have updated) and hands on the new subscription's events once
// the refetch is done.
//
// Why it resubscribes itself instead of letting graphql-ws do it. With `retryAttempts`,
// graphql-ws re-sends every active subscription after it reconnects, with the same operation id
// and the same payload object (serialised again on each send, so mutating `variables.after` in
// `next` would reach the server). But a socket graphql-ws gives up on with `client.terminate()`
// (what a keep-alive timeout on a frozen socket calls) is only asked to close, and the `ws`
// package still delivers what that socket receives while it closes. With the same operation id,
// graphql-ws hands it to the re-sent operation: an event the frozen socket held back arrives
// once from it and once from the replay. src/resume-check.ts's "frozen socket" case fails that
// way with the mutate-the-payload approach. So here every (re)subscription is a new graphql-ws
// operation with its own id and sink, the previous one is disposed (graphql-ws then drops
// messages of its id) and ignored, and only the current one hands events on. Each
// subscription's stream is gapless and in order after its `after` (docs/design.md §3), so
// `next` gets every event, once, in order.
//
// How it follows the socket: on `closed` the current operation is suspended (whatever its
// socket still says is ignored); on the next `connected`, before graphql-ws gets to re-send the
// suspended operation, it is disposed (so it is never re-sent) and a new one subscribes on the
// new socket after the last position. Reconnecting itself (when, how often, how long to wait)
// stays graphql-ws's: create the client with `retryAttempts` > 0 and a `shouldRetry` that
// retries what you want retried. When graphql-ws gives up, `error` gets what it gave up on (a
// close event or an error).
//
// What is not exact: after HISTORY_EXPIRED, `refetch()` is called once the new subscription has
// been sent, not once the server has started it (graphql-transport-ws acknowledges no
// subscribe). Were the refetch's query read before the server started the subscription (an
// access check, then it listens: milliseconds), an event committed between the two would be in
// neither; the query is sent later and is a round trip, so that takes an unusually slow start.
// The server's documented order, "refetch by query, then subscribe without `after`", leaves
// the whole query as that window.
import type { Client, FormattedExecutionResult } from 'graphql-ws';

/** The code of an `after` whose following events are no longer kept. */
export const HISTORY_EXPIRED = 'HISTORY_EXPIRED';
/** What ends a subscription whose event history did not answer in time: resume after a while. */
export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';

export interface ResumingRequest<TVariables> {
  /** The subscription document; it must declare `$after: String` and pass it to the field. */
  query: string;
  /** Its variables, without `after`. */
  variables?: TVariables;
  /** A position kept from earlier (e.g. across a page reload): replay what followed it. */
  after?: string;
}

export interface ResumingHandlers<TData> {
  /** Each event, once, in order, with its position (`undefined` only if the server sent none). */
  next(data: TData, position: string | undefined): void;
  /**
   * The events since the last position are no longer kept, or there was no position to resume
   * from (the socket dropped before the first event): reload by query what the events update.
   * The new subscription has been sent (see the top of this file); its events wait until the
   * promise resolves and then go to `next`, so an event may arrive that the refetched state already shows: apply
   * events idempotently (by id). A rejection ends the subscription with `error`.
   */
  refetch(): void | Promise<void>;
  /** The subscription ended: a GraphQL error, or graphql-ws gave up reconnecting. */
  error(err: unknown): void;
  /** The server completed the subscription, or the client was disposed. */
  complete?(): void;
}

export interface ResumingSubscription {
  /** The position of the last event received (kept to resume after a page reload). */
  readonly position: string | undefined;
  /** How many times it subscribed again after a dropped socket. */
  readonly resumptions: number;
  /** How many times it called `refetch()`. */
  readonly refetches: number;
  /**
   * Ends it: nothing more reaches the handlers; a macrotask later graphql-ws sends `complete`
   * (and closes a lazy client's socket if this was its last operation).
   */
  stop(): void;
}

export interface ResumingOptions {
  /** How long to wait before resubscribing after SERVICE_UNAVAILABLE (default 1000 ms). */
  unavailableDelayMs?: number;
}

interface Attempt {
  /**
   * live: may deliver. suspended: its socket closed; nothing it says is delivered, but if
   * graphql-ws gives up on it (error) or the client is disposed (complete), that ends the
   * subscription. retired: replaced or stopped; everything it says is ignored.
   */
  state: 'live' | 'suspended' | 'retired';
  dispose: () => void;
}

interface Held<TData> {
  data: TData;
  position: string | undefined;
}

/** The error codes in what a graphql-ws sink received (GraphQL errors, or none). */
function codesOf(err: unknown): string[] {
  const errors = Array.isArray(err) ? err : [];
  return errors.map((e: { extensions?: { code?: unknown } }) => String(e?.extensions?.code));
}

/** `extensions.position`, or the `position` field of the root field (as `roomEvents` has). */
function positionOf(result: FormattedExecutionResult<Record<string, unknown>, unknown>) {
  const extensions = result.extensions as { position?: unknown } | undefined;
  if (typeof extensions?.position === 'string') {
    return extensions.position;
  }
  for (const value of Object.values(result.data ?? {})) {
    const field = value as { position?: unknown } | null;
    if (typeof field?.position === 'string') {
      return field.position;
    }
  }
  return undefined;
}

/**
 * Subscribes with `request` and keeps the subscription going across reconnections of `client`
 * (a graphql-ws client with retries): every event goes to `handlers.next` once, in order;
 * `handlers.refetch` is called only when the server no longer has the events since the last
 * position. Stop it before disposing the client.
 */
export function subscribeResuming<
  TData extends Record<string, unknown>,
  TVariables extends Record<string, unknown> = Record<string, unknown>,
>(
  client: Client,
  request: ResumingRequest<TVariables>,
  handlers: ResumingHandlers<TData>,
  options: ResumingOptions = {},
): ResumingSubscription {
  const unavailableDelayMs = options.unavailableDelayMs ?? 1000;
  /** The position of the last event received: the next subscription's `after`. */
  let last = request.after;
  let current: Attempt | undefined;
  let ended = false;
  let resumptions = 0;
  let refetches = 0;
  /** While a refetch runs: the events received since it was asked for, in order. */
  let held: Held<TData>[] | undefined;
  let refetching = false;
  let refetchAgain = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const offClosed = client.on('closed', () => {
    if (current?.state === 'live') {
      current.state = 'suspended';
    }
  });
  // Registered before graphql-ws's own continuation runs: the `connected` listeners are called
  // synchronously when the socket is acknowledged, and graphql-ws re-sends a waiting operation
  // only after that (and not at all once it is disposed).
  const offConnected = client.on('connected', () => {
    if (current?.state === 'suspended') {
      resumptions += 1;
      resume();
    }
  });

  /**
   * Ends `attempt`'s graphql-ws operation. From inside one of its sink's callbacks, only after
   * a macrotask: when the server's `complete` came in the same read as the message being
   * handled (`ws` emits a read's frames synchronously), graphql-ws 6.4 handles it while the
   * operation's listener is still registered and releases the operation a second time,
   * dropping the client's count of active operations below the truth, so it closes the socket
   * under the next subscription. Deferred, the operation is either completed by then (and
   * disposing it does nothing) or its listener is gone before the `complete` arrives.
   * A suspended operation is disposed at once (see the `connected` listener).
   */
  function retire(attempt: Attempt, later: boolean): void {
    attempt.state = 'retired';
    if (later) {
      setTimeout(attempt.dispose, 0);
    } else {
      attempt.dispose();
    }
  }

  function end(): void {
    ended = true;
    clearTimeout(retryTimer);
    offClosed();
    offConnected();
    if (current) {
      retire(current, true);
    }
  }

  function deliver(data: TData, position: string | undefined): void {
    if (held) {
      held.push({ data, position });
    } else {
      handlers.next(data, position);
    }
  }

  /** Subscribes again after the last position, or, without one, from now on with a refetch. */
  function resume(): void {
    if (last === undefined) {
      expire();
    } else {
      start(last);
    }
  }

  /** No usable position: subscribe from now on, and refetch while holding its events. */
  function expire(): void {
    last = undefined;
    held ??= [];
    start(undefined);
    refetch();
  }

  function refetch(): void {
    refetchAgain = true;
    if (refetching) {
      return; // the running refetch goes round once more when it is done
    }
    refetching = true;
    void (async () => {
      try {
        // Another expiry while a refetch runs (its subscription too was lost before any event)
        // may have missed events the running refetch read before: refetch once more.
        while (refetchAgain && !ended) {
          refetchAgain = false;
          refetches += 1;
          await handlers.refetch();
        }
      } catch (err) {
        refetching = false;
        if (!ended) {
          end();
          handlers.error(err);
        }
        return;
      }
      refetching = false;
      const events = held ?? [];
      held = undefined;
      for (const event of events) {
        if (ended) {
          return;
        }
        handlers.next(event.data, event.position);
      }
    })();
  }

  function start(after: string | undefined): void {
    if (current && current.state !== 'retired') {
      // Suspended (its socket closed): at once, before graphql-ws re-sends it; live (it just
      // failed, in its sink): later.
      retire(current, current.state === 'live');
    }
    const variables: Record<string, unknown> = { ...request.variables };
    if (after === undefined) {
      delete variables.after;
    } else {
      variables.after = after;
    }
    const attempt: Attempt = { state: 'live', dispose: () => {} };
    current = attempt;
    attempt.dispose = client.subscribe<TData>(
      { query: request.query, variables },
      {
        next(result) {
          if (attempt.state !== 'live' || ended) {
            return;
          }
          if (result.errors?.length) {
            failed(attempt, result.errors);
            return;
          }
          if (!result.data) {
            return;
          }
          const position = positionOf(result);
          if (position !== undefined) {
            last = position;
          }
          deliver(result.data, position);
        },
        error(err) {
          if (attempt.state !== 'retired' && !ended) {
            failed(attempt, err);
          }
        },
        complete() {
          if (attempt.state !== 'retired' && !ended) {
            end();
            handlers.complete?.();
          }
        },
      },
    );
  }

  function failed(attempt: Attempt, err: unknown): void {
    const codes = codesOf(err);
    if (attempt.state === 'live' && codes.includes(HISTORY_EXPIRED)) {
      expire();
    } else if (attempt.state === 'live' && codes.includes(SERVICE_UNAVAILABLE)) {
      retire(attempt, true);
      retryTimer = setTimeout(() => {
        if (!ended && current === attempt) {
          resume();
        }
      }, unavailableDelayMs);
    } else {
      end();
      handlers.error(err);
    }
  }

  start(last);
  return {
    get position() {
      return last;
    },
    get resumptions() {
      return resumptions;
    },
    get refetches() {
      return refetches;
    },
    stop: end,
  };
}
