/** Wall-clock time for production. */
import { setTimeout as delay } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type { Clock, IdGenerator } from '../core/ports.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => (ms <= 0 ? Promise.resolve() : delay(ms).then(() => undefined)),
};

export const randomIds: IdGenerator = { uuid: () => randomUUID() };
