/** `baton host list|disable|enable`: compute hosts through Nova's os-services (binary nova-compute). */
import type { Command } from 'commander';
import { ApiError } from '../client/client-errors.js';
import { runClient, usageExitCodes, type ClientContext } from '../client/client-run.js';
import { addConnectionOptions } from '../client/connection-options.js';
import type { NovaService } from '../client/nova-types.js';
import { formatFields, formatList } from '../client/output-format.js';

const BINARY = 'nova-compute';

const COLUMNS = [
  ['host', (s: NovaService) => s.host], ['zone', (s: NovaService) => s.zone], ['status', (s: NovaService) => s.status],
  ['state', (s: NovaService) => s.state], ['updated', (s: NovaService) => s.updated_at],
  ['disabled reason', (s: NovaService) => s.disabled_reason], ['id', (s: NovaService) => s.id],
] as const;

async function setEnabled(ctx: ClientContext, host: string, enabled: boolean, reason: string | null): Promise<void> {
  const svc = (await ctx.client.listServices({ host, binary: BINARY })).find((s) => s.host === host && s.binary === BINARY);
  if (!svc) throw new ApiError(404, 'itemNotFound', `compute host ${host} could not be found`);
  const updated = await ctx.client.setServiceStatus(svc, enabled, reason);
  if (ctx.json) ctx.printJson({ service: updated });
  else ctx.print(formatFields({ host: updated.host, binary: updated.binary, status: updated.status, disabled_reason: updated.disabled_reason ?? null }));
}

export function registerClientHost(program: Command): void {
  const host = usageExitCodes(program.command('host').description('list compute hosts, disable and enable scheduling to them'));
  addConnectionOptions(host.command('list').description('list compute hosts (os-services, binary nova-compute)'))
    .action(async (_o: unknown, c: Command) => runClient(c, 'host list', async (ctx) => {
      const services = await ctx.client.listServices({ binary: BINARY });
      if (ctx.json) ctx.printJson({ services });
      else ctx.print(formatList(services, COLUMNS));
    }));
  addConnectionOptions(host.command('disable').description('stop scheduling instances (and migrations) to a host').argument('<host>', 'compute host')
    .option('--reason <reason>', 'why, recorded as disabled_reason'))
    .action(async (h: string, o: { reason?: string }, c: Command) => runClient(c, `host disable ${h}`, (ctx) => setEnabled(ctx, h, false, o.reason ?? null)));
  addConnectionOptions(host.command('enable').description('allow scheduling to a host again').argument('<host>', 'compute host'))
    .action(async (h: string, _o: unknown, c: Command) => runClient(c, `host enable ${h}`, (ctx) => setEnabled(ctx, h, true, null)));
}
