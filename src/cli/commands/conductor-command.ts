/** `baton conductor`: one conductor process; run several against the same store and broker to share the work. */
import type { Command } from 'commander';
import { loadConfig } from '../../config/config-loader.js';
import { maskUrl } from '../../config/url-mask.js';
import { createLogger, logFn } from '../../runtime/logger.js';
import { startConductorProcess } from '../../services/conductor-process.js';
import { onShutdown } from '../shutdown.js';

export function registerConductor(program: Command): void {
  program.command('conductor')
    .description('run a conductor process (migration workflows, scheduler, recovery) on the configured store and broker')
    .option('--config <path>', 'JSON config file (default: $BATON_CONFIG)')
    .option('--name <name>', 'name of this conductor in logs and messages')
    .action(async (opts: { config?: string; name?: string }) => {
      const { config } = loadConfig({ path: opts.config });
      const log = logFn(createLogger('baton-conductor'));
      const p = await startConductorProcess(config, log, opts.name);
      onShutdown(() => p.stop());
      console.log(`baton conductor ${p.name} ready: store ${maskUrl(config.database.url)}, transport ${maskUrl(config.transport.url)}`);
      await new Promise<never>(() => { setInterval(() => undefined, 1 << 30); });
    });
}
