/** Small helpers shared by the transport tests. */
import type { Envelope, MessageKind } from '../../src/rpc/transport.js';

let seq = 0;

export function envelope(method: string, args: Record<string, unknown> = {}, kind: MessageKind = 'call'): Envelope {
  return { v: '1.0', id: `t-${++seq}`, method, kind, from: { role: 'conductor', host: 'test-conductor' }, args };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `cond` holds; fails with `what` after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** A promise with its resolver, for handlers that wait on the test. */
export function gate(): { readonly promise: Promise<void>; readonly open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => { open = resolve; });
  return { promise, open };
}
