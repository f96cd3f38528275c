/** `baton migration list|show|abort|force-complete`: Nova's os-migrations and server migrations, plus Baton's journal. */
import type { Command } from 'commander';
import { ApiError, UsageError } from '../client/client-errors.js';
import { runClient, usageExitCodes, type ClientContext } from '../client/client-run.js';
import type { ComputeClient } from '../client/compute-client.js';
import { addConnectionOptions } from '../client/connection-options.js';
import { formatJournalReply } from '../client/journal-view.js';
import type { NovaMigration } from '../client/nova-types.js';
import { formatList } from '../client/output-format.js';
import { resolveServer } from '../client/server-resolve.js';

const COLUMNS = [
  ['id', (m: NovaMigration) => m.id], ['uuid', (m: NovaMigration) => m.uuid], ['server', (m: NovaMigration) => m.instance_uuid],
  ['source', (m: NovaMigration) => m.source_compute], ['dest', (m: NovaMigration) => m.dest_compute],
  ['status', (m: NovaMigration) => m.status], ['type', (m: NovaMigration) => m.migration_type],
  ['created', (m: NovaMigration) => m.created_at], ['updated', (m: NovaMigration) => m.updated_at],
] as const;

/** A migration by numeric id or UUID, from GET /os-migrations (optionally narrowed to one server). */
async function findMigration(client: ComputeClient, ref: string, serverId?: string): Promise<NovaMigration> {
  const byId = /^\d+$/.test(ref) ? Number(ref) : null;
  if (byId === null && !/^[0-9a-f-]{36}$/i.test(ref)) throw new UsageError(`'${ref}' is neither a migration id nor a migration UUID`);
  const all = await client.listMigrations(serverId ? { instance_uuid: serverId } : undefined);
  const m = all.find((x) => (byId !== null ? x.id === byId : x.uuid === ref));
  if (!m) throw new ApiError(404, 'itemNotFound', `migration ${ref} could not be found${serverId ? ` for server ${serverId}` : ''}`);
  return m;
}

interface ListOptions { readonly server?: string; readonly host?: string; readonly status?: string; readonly type?: string; readonly limit?: string }

async function list(ctx: ClientContext, o: ListOptions): Promise<void> {
  const serverId = o.server ? (await resolveServer(ctx.client, o.server)).id : undefined;
  const migrations = await ctx.client.listMigrations({
    instance_uuid: serverId, host: o.host, status: o.status, migration_type: o.type, limit: o.limit,
  });
  if (ctx.json) ctx.printJson({ migrations });
  else ctx.print(formatList(migrations, COLUMNS));
}

async function show(ctx: ClientContext, ref: string, o: { server?: string }): Promise<void> {
  const serverId = o.server ? (await resolveServer(ctx.client, o.server)).id : undefined;
  const m = await findMigration(ctx.client, ref, serverId);
  const journal = await ctx.client.journal(m.id);
  if (ctx.json) ctx.printJson({ migration: m, journal });
  else ctx.print(formatJournalReply(m.id, journal, m));
}

async function act(ctx: ClientContext, ref: string, o: { server?: string }, action: 'abort' | 'force-complete'): Promise<void> {
  const serverId = o.server ? (await resolveServer(ctx.client, o.server)).id : undefined;
  const m = await findMigration(ctx.client, ref, serverId);
  const instance = m.instance_uuid ?? serverId;
  if (!instance) throw new ApiError(500, 'computeFault', `migration ${m.id} names no server`);
  if (action === 'abort') await ctx.client.abortMigration(instance, m.id);
  else await ctx.client.forceComplete(instance, m.id);
  if (ctx.json) ctx.printJson({ migration: { id: m.id, uuid: m.uuid, instance_uuid: instance, requested: action } });
  else ctx.print(`${action} of migration ${m.id} (server ${instance}) requested`);
}

export function registerClientMigration(program: Command): void {
  const mig = usageExitCodes(program.command('migration').description('list, show (with the journal), abort and force-complete migrations'));
  addConnectionOptions(mig.command('list').description('list migrations, newest first')
    .option('--server <server>', 'only migrations of this server (name or ID)')
    .option('--host <host>', 'only migrations from or to this host')
    .option('--status <status>', 'only migrations in this status')
    .option('--type <type>', 'only this migration type (live-migration, migration, ...)')
    .option('--limit <n>', 'at most this many'))
    .action(async (o: ListOptions, c: Command) => runClient(c, 'migration list', (ctx) => list(ctx, o)));
  addConnectionOptions(mig.command('show').description('show a migration and its step journal').argument('<migration>', 'migration id or UUID')
    .option('--server <server>', 'the server it belongs to (name or ID)'))
    .action(async (ref: string, o: { server?: string }, c: Command) => runClient(c, `migration show ${ref}`, (ctx) => show(ctx, ref, o)));
  addConnectionOptions(mig.command('abort').description('abort a migration in progress (status becomes cancelled)').argument('<migration>', 'migration id or UUID')
    .option('--server <server>', 'the server it belongs to (name or ID)'))
    .action(async (ref: string, o: { server?: string }, c: Command) => runClient(c, `migration abort ${ref}`, (ctx) => act(ctx, ref, o, 'abort')));
  addConnectionOptions(mig.command('force-complete').description('force a running migration to complete (post-copy or pause)').argument('<migration>', 'migration id or UUID')
    .option('--server <server>', 'the server it belongs to (name or ID)'))
    .action(async (ref: string, o: { server?: string }, c: Command) => runClient(c, `migration force-complete ${ref}`, (ctx) => act(ctx, ref, o, 'force-complete')));
}
