/**
 * GET /v2.1/baton/migrations/{id or uuid}/journal: Baton's own view of a migration: every journaled step
 * attempt, the status history, the error, what could not be cleaned up (leftovers), and its place in the
 * queue while it waits for a concurrency slot.
 */
import type { FastifyInstance } from 'fastify';
import { PolicyRule } from '../auth/policy-rules.js';
import type { StepRow } from '../../store/store.js';
import { authorize, baseUrl, param, type ApiContext } from './api-context.js';
import { notFound } from './api-errors.js';
import { MAX_VERSION } from './microversion.js';
import { migrationView } from './migration-view.js';
import { novaTime } from './time-format.js';

function stepView(s: StepRow): Record<string, unknown> {
  return {
    step: s.step, host: s.host, attempt: s.attempt, status: s.status, sent_at: novaTime(s.sentAt), acked_at: novaTime(s.ackedAt),
    done_at: novaTime(s.doneAt), failed_at: novaTime(s.failedAt), error: s.error,
  };
}

export async function journalPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const repo = ctx.deps.requests.store.repo;
  app.get('/baton/migrations/:mid/journal', { schema: { tags: ['baton'], summary: "A migration's full step journal, history, error and leftovers" } },
    async (req) => {
      authorize(ctx, req, PolicyRule.MIGRATION_JOURNAL);
      const mid = param(req, 'mid');
      const m = /^\d{1,15}$/.test(mid) ? await repo.getMigration(Number(mid)) : mid.length <= 64 ? await repo.getMigrationByUuid(mid) : undefined;
      if (!m) throw notFound(`Migration ${mid.slice(0, 64)} could not be found.`);
      const hosts = new Map((await repo.listServices()).map((h) => [h.host, h]));
      const steps = await repo.listSteps(m.id);
      const place = await repo.queuePlace(m.id);
      const wait = m.state.queue ?? null;
      const p = m.progress;
      return {
        migration: {
          ...migrationView(MAX_VERSION, m, hosts, baseUrl(ctx, req)),
          phase: m.state.phase, requested_host: m.state.requestedHost, block_migration: m.state.blockMigration,
          error: m.error ?? m.state.error, leftovers: m.state.leftovers, abort_requested: m.state.abortRequested,
          switched_over: m.state.switchedOver,
          // Waiting for a concurrency slot: its place in its source host's queue (1 goes next) and why it waits.
          queue: place ? { position: place.position, host: place.host, reason: wait?.reason ?? 'not started yet',
            since: novaTime(wait?.since ?? m.createdAt) } : null,
          progress: { memory_total_bytes: p.memoryTotal, memory_processed_bytes: p.memoryProcessed, memory_remaining_bytes: p.memoryRemaining,
            disk_total_bytes: p.diskTotal, disk_processed_bytes: p.diskProcessed, disk_remaining_bytes: p.diskRemaining },
          history: m.state.history.map((h) => ({ status: h.status, at: novaTime(h.at) })),
          steps: steps.map(stepView),
        },
      };
    });
}
