/** `baton server create|list|show|delete`: Nova's servers resource. */
import type { Command } from 'commander';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiError, OutcomeError } from '../client/client-errors.js';
import { runClient, usageExitCodes, type ClientContext } from '../client/client-run.js';
import type { ComputeClient } from '../client/compute-client.js';
import { addConnectionOptions } from '../client/connection-options.js';
import type { NovaServer } from '../client/nova-types.js';
import { formatFields, formatList } from '../client/output-format.js';
import { resolveServer } from '../client/server-resolve.js';

const WAIT_MS = 60_000;

const host = (s: NovaServer) => s['OS-EXT-SRV-ATTR:host'];
const COLUMNS = [
  ['id', (s: NovaServer) => s.id], ['name', (s: NovaServer) => s.name], ['status', (s: NovaServer) => s.status],
  ['task state', (s: NovaServer) => s['OS-EXT-STS:task_state']], ['host', host],
  ['flavor', (s: NovaServer) => s.flavor?.original_name ?? s.flavor?.id],
] as const;

async function flavorRef(client: ComputeClient, ref: string): Promise<string> {
  const flavors = await client.listFlavors();
  const f = flavors.find((x) => x.id === ref) ?? flavors.find((x) => x.name === ref);
  if (!f) throw new ApiError(404, 'itemNotFound', `no flavor with a name or ID of '${ref}' (known: ${flavors.map((x) => x.name).join(', ')})`);
  return f.id;
}

/** Polls until the server leaves BUILD (create) or disappears (delete). */
async function waitServer(client: ComputeClient, id: string, gone: boolean): Promise<NovaServer | null> {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const s = await client.getServer(id);
      if (!gone && s.status === 'ERROR') throw new OutcomeError(`server ${s.name} went to ERROR${s.fault?.message ? `: ${s.fault.message}` : ''}`);
      if (!gone && s.status !== 'BUILD') return s;
    } catch (e) {
      if (gone && e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
    if (Date.now() > end) throw new OutcomeError(`server ${id} still ${gone ? 'present' : 'building'} after ${WAIT_MS / 1000} s`);
    await delay(200);
  }
}

interface CreateOptions { readonly flavor: string; readonly image: string; readonly host?: string; readonly wait: boolean }

async function create(ctx: ClientContext, name: string, o: CreateOptions): Promise<void> {
  const body: Record<string, unknown> = { name, flavorRef: await flavorRef(ctx.client, o.flavor), imageRef: o.image, networks: 'none' };
  // Nova 2.74 lets an admin name the host; older microversions take it as availability_zone "nova:host".
  if (o.host) {
    if (ctx.client.supports('2.74')) body.host = o.host;
    else body.availability_zone = `nova:${o.host}`;
  }
  const created = await ctx.client.createServer(body);
  const server = o.wait ? (await waitServer(ctx.client, created.id, false))! : await ctx.client.getServer(created.id);
  if (ctx.json) ctx.printJson({ server });
  else ctx.print(formatFields(server));
}

export function registerClientServer(program: Command): void {
  const server = usageExitCodes(program.command('server').description('create, list, show and delete servers'));
  addConnectionOptions(server.command('create').description('create a server').argument('<name>', 'server name')
    .requiredOption('--flavor <flavor>', 'flavor name or ID')
    .option('--image <image>', 'image reference', 'cirros')
    .option('--host <host>', 'compute host to boot on (admin)')
    .option('--wait', 'wait until the server is ACTIVE (exit 1 on ERROR)', false))
    .action(async (name: string, o: CreateOptions, c: Command) => runClient(c, `server create ${name}`, (ctx) => create(ctx, name, o)));
  addConnectionOptions(server.command('list').description('list servers')
    .option('--host <host>', 'only servers on this compute host')
    .option('--name <regex>', 'only servers whose name matches')
    .option('--all-projects', 'servers of every project (admin)', false))
    .action(async (o: { host?: string; name?: string; allProjects: boolean }, c: Command) => runClient(c, 'server list', async (ctx) => {
      const servers = await ctx.client.listServers({ host: o.host, name: o.name, all_tenants: o.allProjects ? 1 : undefined });
      if (ctx.json) ctx.printJson({ servers });
      else ctx.print(formatList(servers, COLUMNS));
    }));
  addConnectionOptions(server.command('show').description('show one server').argument('<server>', 'server name or ID'))
    .action(async (ref: string, _o: unknown, c: Command) => runClient(c, `server show ${ref}`, async (ctx) => {
      const s = await resolveServer(ctx.client, ref);
      if (ctx.json) ctx.printJson({ server: s });
      else ctx.print(formatFields(s));
    }));
  addConnectionOptions(server.command('delete').description('delete a server').argument('<server>', 'server name or ID')
    .option('--wait', 'wait until the server is gone', false))
    .action(async (ref: string, o: { wait: boolean }, c: Command) => runClient(c, `server delete ${ref}`, async (ctx) => {
      const s = await resolveServer(ctx.client, ref);
      await ctx.client.deleteServer(s.id);
      if (o.wait) await waitServer(ctx.client, s.id, true);
      if (ctx.json) ctx.printJson({ server: { id: s.id, name: s.name, deleted: o.wait ? true : 'requested' } });
      else ctx.print(`server ${s.name} (${s.id}) ${o.wait ? 'deleted' : 'deletion requested'}`);
    }));
}
