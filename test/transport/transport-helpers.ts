/** Small helpers shared by the transport tests. */
import type { Envelope, MessageKind } from '../../src/rpc/transport.js';
import { waitFor as pollUntil } from '../../src/services/cluster-ops.js';

let seq = 0;

export function envelope(method: string, args: Record<string, unknown> = {}, kind: MessageKind = 'call'): Envelope {
  return { v: '1.0', id: `t-${++seq}`, method, kind, from: { role: 'conductor', host: 'test-conductor' }, args };
}

export { setTimeout as sleep } from 'node:timers/promises';

/** Polls until `cond` holds; fails with `what` after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  await pollUntil(what, async () => cond() || undefined, ms);
}

/** A promise with its resolver, for handlers that wait on the test. */
export function gate(): { readonly promise: Promise<void>; readonly open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => { open = resolve; });
  return { promise, open };
}
