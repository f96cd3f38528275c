/** `baton compute --host NAME --driver fake|qemu`: the compute agent of one host, talking to conductors only. */
import type { Command } from 'commander';
import { loadConfig } from '../../config/config-loader.js';
import { maskUrl } from '../../config/url-mask.js';
import { createLogger, logFn } from '../../runtime/logger.js';
import { startComputeProcess } from '../../services/compute-process.js';
import { onShutdown } from '../shutdown.js';

export function registerCompute(program: Command): void {
  program.command('compute')
    .description('run the compute agent of one host (serves compute.<host> on the configured broker)')
    .requiredOption('--host <name>', 'this compute host')
    .option('--driver <kind>', 'hypervisor driver: fake or qemu', 'fake')
    .option('--config <path>', 'JSON config file (default: $BATON_CONFIG)')
    .action(async (opts: { host: string; driver: string; config?: string }) => {
      const { config } = loadConfig({ path: opts.config });
      const logger = createLogger(`baton-compute-${opts.host}`);
      const p = await startComputeProcess(config, opts.host, opts.driver, logFn(logger), logFn(logger, 'info'));
      onShutdown(() => p.stop());
      console.log(`baton compute ${p.host} ready: driver ${opts.driver}, transport ${maskUrl(config.transport.url)}`);
      await new Promise<never>(() => { setInterval(() => undefined, 1 << 30); });
    });
}
