/** The chaos run's fault schedule: every kind as often as asked, inside the window, and the same for the same seed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { faultSchedule, pickOf, ProcessFault } from '../../chaos/chaos-schedule.js';

describe('chaos fault schedule', () => {
  it('has every process fault kind perKind times, in time order, inside the window', () => {
    const s = faultSchedule({ seed: 12, perKind: 3, windowMs: 60_000 });
    for (const kind of Object.values(ProcessFault)) assert.equal(s.filter((e) => e.kind === kind).length, 3, kind);
    assert.deepEqual(s.map((e) => e.at), [...s.map((e) => e.at)].sort((a, b) => a - b));
    assert.ok(s.every((e) => e.at >= 0 && e.at < 60_000 && e.pick >= 0 && e.pick < 1));
    assert.ok(s.filter((e) => e.kind === 'conductor-freeze').every((e) => e.holdMs >= 2000), 'a freeze lasts long enough to hold work');
  });

  it('is the same for the same seed and differs for another', () => {
    const a = faultSchedule({ seed: 99, perKind: 2, windowMs: 30_000 });
    assert.deepEqual(faultSchedule({ seed: 99, perKind: 2, windowMs: 30_000 }), a);
    assert.notDeepEqual(faultSchedule({ seed: 100, perKind: 2, windowMs: 30_000 }), a);
  });

  it('picks by fraction, never past the end', () => {
    assert.equal(pickOf(['a', 'b', 'c'], 0), 'a');
    assert.equal(pickOf(['a', 'b', 'c'], 0.999), 'c');
    assert.equal(pickOf([], 0.5), undefined);
  });
});
