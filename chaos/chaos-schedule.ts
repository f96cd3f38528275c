/**
 * The chaos run's fault schedule: which process faults happen, when, and with which random choices, all
 * drawn from the seed before the run starts. Re-running a seed replays the same schedule; only what a fault
 * hits at run time (e.g. which migration is running) depends on the fleet's state then.
 */
import { seededRandom } from '../src/rpc/transports/fault-transport.js';

export const ProcessFault = {
  CONDUCTOR_KILL: 'conductor-kill',
  COMPUTE_KILL: 'compute-kill',
  CONDUCTOR_FREEZE: 'conductor-freeze',
  BROKER_RESTART: 'broker-restart',
  PG_TERMINATE: 'pg-terminate',
} as const;
export type ProcessFault = (typeof ProcessFault)[keyof typeof ProcessFault];

export interface FaultEvent {
  /** Offset from the start of the workload, ms. Events run one after another, so this is the earliest start. */
  readonly at: number;
  readonly kind: ProcessFault;
  /** Which target, as a fraction picked from the live candidates at run time. */
  readonly pick: number;
  /** A second choice (source or destination; which conductor). */
  readonly side: number;
  /** How long the fault lasts (a freeze, a broker outage, a killed compute's downtime), ms. */
  readonly holdMs: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  /** Process faults of each kind. */
  readonly perKind: number;
  /** The window the faults are spread over, ms. */
  readonly windowMs: number;
}

const HOLD: Record<ProcessFault, readonly [number, number]> = {
  'conductor-kill': [0, 2000],
  'compute-kill': [0, 3000],
  'conductor-freeze': [2000, 8000],
  'broker-restart': [1000, 5000],
  'pg-terminate': [0, 0],
};

export function faultSchedule(o: ScheduleOptions): FaultEvent[] {
  const random = seededRandom(o.seed);
  const events: FaultEvent[] = [];
  for (const kind of Object.values(ProcessFault)) {
    for (let i = 0; i < o.perKind; i++) {
      const [lo, hi] = HOLD[kind];
      events.push({ at: Math.floor(random() * o.windowMs), kind, pick: random(), side: random(), holdMs: Math.floor(lo + random() * (hi - lo)) });
    }
  }
  return events.sort((a, b) => a.at - b.at || a.kind.localeCompare(b.kind));
}

/** Picks one of `items` by a fraction in [0, 1). */
export function pickOf<T>(items: readonly T[], fraction: number): T | undefined {
  return items[Math.min(items.length - 1, Math.floor(fraction * items.length))];
}
