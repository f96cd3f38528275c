/**
 * `baton host list|disable|enable`: compute hosts through Nova's os-services (binary nova-compute).
 * `baton host drain`: Baton's server-side drain (/v2.1/baton/hosts/{host}/drain).
 */
import type { Command } from 'commander';
import { ApiError, OutcomeError, UsageError } from '../client/client-errors.js';
import { runClient, secondsOption, usageExitCodes, type ClientContext } from '../client/client-run.js';
import { addConnectionOptions } from '../client/connection-options.js';
import type { NovaService } from '../client/nova-types.js';
import { drainProgressFor, formatDrain, isDrainEnded, watchDrain } from '../client/drain-progress.js';
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

interface DrainOptions {
  readonly wait: boolean;
  readonly cancel: boolean;
  readonly status: boolean;
  readonly reason?: string;
  readonly timeout: string;
  readonly interval: string;
}

async function drain(ctx: ClientContext, host: string, o: DrainOptions): Promise<void> {
  if (o.cancel && (o.status || o.reason !== undefined)) throw new UsageError('--cancel goes alone (with --wait to follow the drain until it stops)');
  const timeoutMs = secondsOption(o.timeout, '--timeout');
  const intervalMs = secondsOption(o.interval, '--interval');
  let { drain: d } = o.cancel ? await ctx.client.cancelDrain(host) : o.status ? await ctx.client.drain(host)
    : await ctx.client.startDrain(host, o.reason ?? null);
  if (o.wait && !isDrainEnded(d)) {
    const view = ctx.json ? { update: () => undefined, stop: () => undefined } : drainProgressFor(`draining ${host}`);
    try {
      d = await watchDrain(ctx.client, host, view, { intervalMs, timeoutMs });
    } finally {
      view.stop();
    }
  }
  if (ctx.json) ctx.printJson({ drain: d });
  else ctx.print(formatDrain(d));
  // Waiting means "tell me whether the host is empty": anything but drained is a failure for a script.
  if (o.wait && d.status !== 'drained' && !(o.cancel && d.status === 'cancelled')) {
    throw new OutcomeError(`the drain of ${host} ended ${d.status}${d.blocked.length ? `: ${d.blocked.length} instance(s) could not be moved` : ''}`);
  }
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
  addConnectionOptions(host.command('drain')
    .description('disable a host and live-migrate every instance off it, on the server (it survives conductor restarts)')
    .argument('<host>', 'compute host')
    .option('--wait', 'follow the drain: progress bar, then every instance\'s outcome; exit 0 only if the host was drained', false)
    .option('--status', 'show the host\'s drain instead of starting one', false)
    .option('--cancel', 'cancel the drain: queued migrations are aborted, running ones finish (the host stays disabled)', false)
    .option('--reason <reason>', 'recorded as the host\'s disabled_reason')
    .option('--timeout <seconds>', 'give up waiting after this long (the drain goes on)', '3600')
    .option('--interval <seconds>', 'polling interval while waiting', '0.5'))
    .action(async (h: string, o: DrainOptions, c: Command) => runClient(c, `host drain ${h}`, (ctx) => drain(ctx, h, o)));
}
