/**
 * Following a live migration through the API: finding the migration a request created, then polling
 * the server's in-progress migrations (memory counters) and the journal until a terminal status.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { TERMINAL_STATUSES } from '../../core/migration-status.js';
import type { ComputeClient } from './compute-client.js';
import { journalStatus } from './journal-view.js';
import type { JournalReply, NovaMigration } from './nova-types.js';
import type { ProgressView } from './progress-view.js';

export function isTerminalStatus(status: string | undefined): boolean {
  return status !== undefined && (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** The newest live migration of a server, or undefined. */
export async function latestLiveMigration(client: ComputeClient, serverId: string): Promise<NovaMigration | undefined> {
  const all = await client.listMigrations({ instance_uuid: serverId, migration_type: 'live-migration' });
  return all.filter((m) => (m.instance_uuid ?? serverId) === serverId).sort((a, b) => b.id - a.id)[0];
}

/** Waits (bounded) for the migration with an id above `afterId` that os-migrateLive created. */
export async function findNewMigration(client: ComputeClient, serverId: string, afterId: number, timeoutMs = 10_000): Promise<NovaMigration> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = await latestLiveMigration(client, serverId);
    if (m && m.id > afterId) return m;
    if (Date.now() > end) throw new Error(`the request was accepted but no migration record appeared within ${timeoutMs / 1000} s`);
    await delay(100);
  }
}

export interface WatchResult {
  readonly status: string;
  readonly migration: NovaMigration;
  readonly journal: JournalReply;
}

export interface WatchOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

async function currentRecord(client: ComputeClient, serverId: string, id: number, inProgress: NovaMigration | undefined): Promise<NovaMigration | undefined> {
  if (inProgress) return inProgress;
  return (await client.listMigrations({ instance_uuid: serverId })).find((m) => m.id === id);
}

/** Polls until the migration is terminal, feeding the view; throws after `timeoutMs`. */
export async function watchMigration(client: ComputeClient, serverId: string, first: NovaMigration, view: ProgressView, o: WatchOptions): Promise<WatchResult> {
  const end = Date.now() + o.timeoutMs;
  let record = first;
  let totalBytes: number | null = null;
  for (;;) {
    const [inProgress, journal] = await Promise.all([
      client.serverMigrations(serverId).then((l) => l.find((m) => m.id === first.id)),
      client.journal(first.id),
    ]);
    record = (await currentRecord(client, serverId, first.id, inProgress)) ?? record;
    const status = journalStatus(journal) ?? record.status;
    // Baton's journal carries the counters too, also once the migration has left the in-progress list.
    const counters = inProgress ?? journal.migration?.progress;
    totalBytes = counters?.memory_total_bytes || totalBytes;
    // Once completed, the server no longer lists the migration as in progress: everything was sent.
    view.update(status === 'completed'
      ? { status, totalBytes, processedBytes: totalBytes, remainingBytes: 0 }
      : { status, totalBytes, processedBytes: counters?.memory_processed_bytes ?? null, remainingBytes: counters?.memory_remaining_bytes ?? null });
    if (isTerminalStatus(status)) return { status, migration: { ...record, status }, journal };
    if (Date.now() > end) throw new Error(`migration ${first.id} still ${status} after ${o.timeoutMs / 1000} s (it continues on the server)`);
    await delay(o.intervalMs);
  }
}
