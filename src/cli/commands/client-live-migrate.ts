/** `baton live-migrate SERVER [--host H] [--wait]`: asks the API for a live migration and, with --wait, follows it. */
import type { Command } from 'commander';
import { OutcomeError } from '../client/client-errors.js';
import { runClient, secondsOption, usageExitCodes, type ClientContext } from '../client/client-run.js';
import { addConnectionOptions } from '../client/connection-options.js';
import { formatJournalReply } from '../client/journal-view.js';
import { findNewMigration, latestLiveMigration, watchMigration } from '../client/migration-watch.js';
import { progressViewFor } from '../client/progress-view.js';
import { resolveServer } from '../client/server-resolve.js';

interface LiveMigrateOptions {
  readonly host?: string;
  readonly wait: boolean;
  readonly timeout: string;
  readonly interval: string;
}

async function liveMigrate(ctx: ClientContext, ref: string, o: LiveMigrateOptions): Promise<void> {
  const timeoutMs = secondsOption(o.timeout, '--timeout');
  const intervalMs = secondsOption(o.interval, '--interval');
  const server = await resolveServer(ctx.client, ref);
  const before = (await latestLiveMigration(ctx.client, server.id))?.id ?? 0;
  await ctx.client.liveMigrate(server.id, o.host ?? null);
  const m = await findNewMigration(ctx.client, server.id, before);
  if (!o.wait) {
    if (ctx.json) ctx.printJson({ migration: m });
    else ctx.print(`live migration ${m.id} of ${server.name} (${server.id}) accepted: ${m.source_compute ?? '?'} -> ${o.host ?? 'scheduler'}, status ${m.status}`);
    return;
  }
  const view = ctx.json ? { update: () => undefined, stop: () => undefined } : progressViewFor(`live-migrating ${server.name}`);
  let result;
  try {
    result = await watchMigration(ctx.client, server.id, m, view, { intervalMs, timeoutMs });
  } finally {
    view.stop();
  }
  if (ctx.json) ctx.printJson({ migration: result.migration, journal: result.journal });
  else ctx.print(formatJournalReply(m.id, result.journal, result.migration));
  if (result.status !== 'completed') {
    const error = result.journal.error ?? result.journal.migration?.error;
    throw new OutcomeError(`migration ${m.id} ended ${result.status}${error ? `: ${error}` : ''}`);
  }
}

export function registerClientLiveMigrate(program: Command): void {
  const cmd = program.command('live-migrate')
    .description('live-migrate a server (name or ID); the scheduler picks the host unless --host names one')
    .argument('<server>', 'server name or ID')
    .option('--host <host>', 'destination compute host')
    .option('--wait', 'follow the migration: progress bar, then the journal; exit 0 only if it completed', false)
    .option('--timeout <seconds>', 'give up waiting after this long (the migration goes on)', '600')
    .option('--interval <seconds>', 'polling interval while waiting', '0.2');
  usageExitCodes(addConnectionOptions(cmd))
    .action(async (server: string, o: LiveMigrateOptions, c: Command) => runClient(c, `live-migrate ${server}${o.host ? ` to ${o.host}` : ''}`, (ctx) => liveMigrate(ctx, server, o)));
}
