/**
 * The compute's record of migration steps, keyed by (migration, step): a repeated request joins the
 * work already done or in progress instead of doing it twice. A failed step runs again only for a
 * newer attempt (the conductor's retry).
 */
import { toErrorBody, type ErrorBody } from '../core/errors.js';
import type { StepStatusReply } from '../rpc/compute-api.js';

interface Job {
  attempt: number;
  state: 'running' | 'done' | 'failed';
  result?: Record<string, unknown>;
  error?: ErrorBody;
  promise: Promise<Record<string, unknown>>;
}

export type Outcome = { ok: true; result: Record<string, unknown> } | { ok: false; error: ErrorBody };

export class StepJobs {
  readonly #jobs = new Map<string, Job>();

  /**
   * Starts `work` for (migration, step) unless it already ran or runs. Returns the job's promise and
   * whether this call started it.
   */
  run(migrationId: number, step: string, attempt: number, work: () => Promise<Record<string, unknown>>): { promise: Promise<Outcome>; fresh: boolean } {
    const key = `${migrationId}/${step}`;
    const existing = this.#jobs.get(key);
    if (existing && !(existing.state === 'failed' && attempt > existing.attempt)) {
      return { promise: settle(existing.promise), fresh: false };
    }
    const job: Job = { attempt, state: 'running', promise: Promise.resolve({}) };
    job.promise = (async () => work())();
    job.promise.then((r) => { job.state = 'done'; job.result = r; }, (e: unknown) => { job.state = 'failed'; job.error = toErrorBody(e); });
    this.#jobs.set(key, job);
    return { promise: settle(job.promise), fresh: true };
  }

  status(migrationId: number, step: string): StepStatusReply {
    const job = this.#jobs.get(`${migrationId}/${step}`);
    if (!job) return { state: 'unknown' };
    return { state: job.state, attempt: job.attempt, ...(job.result ? { result: job.result } : {}), ...(job.error ? { error: job.error } : {}) };
  }

  /** Forgets a finished migration's steps. */
  forget(migrationId: number): void {
    for (const key of this.#jobs.keys()) if (key.startsWith(`${migrationId}/`)) this.#jobs.delete(key);
  }

  /** Waits for every running job (clean shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#jobs.values()].filter((j) => j.state === 'running').map((j) => j.promise));
  }
}

function settle(p: Promise<Record<string, unknown>>): Promise<Outcome> {
  return p.then((result) => ({ ok: true as const, result }), (e: unknown) => ({ ok: false as const, error: toErrorBody(e) }));
}
