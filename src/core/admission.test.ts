import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, headsToWake, inboundFull, isLimited, NO_LIMITS, outboundLimit, waitReason, type MigrationLimits,
  type Queued, type QueueSnapshot } from './admission.js';

const limits = (over: Partial<MigrationLimits> = {}): MigrationLimits => ({ ...DEFAULT_LIMITS, ...over });

function snap(held: readonly [string, string | null][], waiting: readonly Queued[] = []): QueueSnapshot {
  const outbound = new Map<string, number>();
  const inbound = new Map<string, number>();
  for (const [src, dst] of held) {
    outbound.set(src, (outbound.get(src) ?? 0) + 1);
    if (dst) inbound.set(dst, (inbound.get(dst) ?? 0) + 1);
  }
  const heads = new Map<string, Queued>();
  const destHeads = new Map<string, number>();
  for (const w of [...waiting].sort((a, b) => a.id - b.id)) {
    if (!heads.has(w.source)) heads.set(w.source, w);
    if (w.requestedHost !== null && !destHeads.has(w.requestedHost)) destHeads.set(w.requestedHost, w.id);
  }
  return { counts: { cluster: held.length, outbound, inbound }, heads: [...heads.values()], destHeads };
}

const q = (id: number, source: string, requestedHost: string | null = null): Queued => ({ id, source, requestedHost });

test('defaults: one out per host (Nova), two in per host, five in the cluster (KubeVirt); 0 means unlimited', () => {
  assert.deepEqual([DEFAULT_LIMITS.perHostOutbound, DEFAULT_LIMITS.perHostInbound, DEFAULT_LIMITS.cluster], [1, 2, 5]);
  assert.equal(isLimited(DEFAULT_LIMITS), true);
  assert.equal(isLimited(NO_LIMITS), false);
  assert.equal(isLimited({ ...NO_LIMITS, hosts: { h1: { inbound: 1 } } }), true, 'one host override is a limit');
  assert.equal(waitReason(q(9, 'h1'), snap([['h1', 'h2'], ['h1', 'h3'], ['h1', 'h2']]), NO_LIMITS), null);
});

test('the outbound limit of the source, with a per-host override', () => {
  const l = limits({ perHostOutbound: 2, hosts: { big: { outbound: 4 }, tiny: { outbound: 1 } } });
  assert.equal(outboundLimit(l, 'big'), 4);
  assert.equal(waitReason(q(5, 'h1'), snap([['h1', 'h2']]), l), null);
  assert.equal(waitReason(q(5, 'h1'), snap([['h1', 'h2'], ['h1', 'h3']]), l), 'outbound limit of h1 reached (2 of 2)');
  assert.equal(waitReason(q(5, 'big'), snap([['big', 'h2'], ['big', 'h3']]), l), null, 'big takes 4');
  assert.equal(waitReason(q(5, 'tiny'), snap([['tiny', 'h2']]), l), 'outbound limit of tiny reached (1 of 1)');
});

test('the cluster limit and a named destination\'s inbound limit (with its override)', () => {
  const l = limits({ perHostOutbound: 0, cluster: 3, hosts: { d: { inbound: 1 } } });
  assert.equal(waitReason(q(9, 'h9'), snap([['a', 'x'], ['b', 'y'], ['c', 'z']]), l), 'cluster limit reached (3 of 3 migrations in progress)');
  assert.equal(waitReason(q(9, 'h9', 'd'), snap([['a', 'd']]), l), 'inbound limit of d reached (1 of 1)');
  assert.equal(waitReason(q(9, 'h9', 'e'), snap([['a', 'e']]), l), null, 'e takes the default of 2');
  assert.equal(inboundFull(l, snap([['a', 'e'], ['b', 'e']]).counts, 'e'), true);
});

test('first come, first served per host: an older waiting migration from the source, or to the named host, goes first', () => {
  const l = limits({ perHostOutbound: 3 });
  const waiting = [q(4, 'h1'), q(6, 'h1'), q(5, 'h2', 'd')];
  assert.equal(waitReason(q(6, 'h1'), snap([], waiting), l), 'behind migration 4 in the queue of h1', 'a slot is free, but 4 asked first');
  assert.equal(waitReason(q(4, 'h1'), snap([], waiting), l), null, 'the head goes');
  assert.equal(waitReason(q(8, 'h3', 'd'), snap([], [...waiting, q(8, 'h3', 'd')]), l), 'behind migration 5 in the queue for d');
  assert.equal(waitReason(q(8, 'h3', 'e'), snap([], [...waiting, q(8, 'h3', 'e')]), l), null, 'another source, another destination');
});

test('waking the queue: heads that can go, oldest first, no more than the free slots', () => {
  const l = limits({ perHostOutbound: 1, cluster: 3 });
  // h1 busy (its head must wait), h2 and h3 free, h4 free: but the cluster has two slots left, so the oldest two go.
  const s = snap([['h1', 'x']], [q(10, 'h1'), q(11, 'h1'), q(12, 'h3'), q(13, 'h2'), q(14, 'h4'), q(15, 'h2')]);
  assert.deepEqual(headsToWake(s, l), [12, 13]);
  // Nothing is woken behind a head, even with room for it.
  assert.deepEqual(headsToWake(snap([], [q(1, 'h1'), q(2, 'h1')]), limits({ perHostOutbound: 2 })), [1]);
  // Two heads named toward one host with one inbound slot left: only the older.
  assert.deepEqual(headsToWake(snap([['z', 'd']], [q(3, 'a', 'd'), q(4, 'b', 'd')]), limits({ perHostOutbound: 0, cluster: 0 })), [3]);
  // Room for three in the cluster, two per host: three heads of three hosts all go.
  assert.deepEqual(headsToWake(snap([], [q(1, 'a'), q(2, 'b'), q(3, 'c'), q(4, 'd')]), limits({ perHostOutbound: 2, cluster: 3 })), [1, 2, 3]);
});

test('a free cluster slot goes to the oldest migration that fits, whatever its host', () => {
  const l = limits({ perHostOutbound: 1, cluster: 2 });
  // One slot left; 5 (from b, free) is older than 9 (from c, free): 9 waits for it, 5 takes it.
  const s = snap([['a', 'x']], [q(5, 'b'), q(9, 'c')]);
  assert.equal(waitReason(q(9, 'c'), s, l), 'behind migration 5 for a cluster slot');
  assert.equal(waitReason(q(5, 'b'), s, l), null);
  // An older head that cannot go anyway (its host is busy) does not hold the slot back.
  assert.equal(waitReason(q(9, 'c'), snap([['a', 'x']], [q(5, 'a'), q(9, 'c')]), l), null);
});
