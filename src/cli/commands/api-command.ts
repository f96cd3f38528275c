/** `baton api`: the HTTP API (Nova-compatible /v2.1, Keystone subset) as its own process. */
import type { Command } from 'commander';
import { loadConfig } from '../../config/config-loader.js';
import { maskUrl } from '../../config/url-mask.js';
import { createLogger, logFn } from '../../runtime/logger.js';
import { startApiProcess } from '../../services/api-process.js';
import { onShutdown } from '../shutdown.js';

export function registerApi(program: Command): void {
  program.command('api')
    .description('run the HTTP API process on the configured store and broker')
    .option('--config <path>', 'JSON config file (default: $BATON_CONFIG)')
    .option('--no-auth', 'serve without authentication (every request acts as admin); never in production')
    .action(async (opts: { config?: string; auth: boolean }) => {
      const { config } = loadConfig({ path: opts.config });
      const log = logFn(createLogger('baton-api'));
      const p = await startApiProcess(config, log, { noAuth: !opts.auth });
      onShutdown(() => p.stop());
      console.log(`baton api ready: ${p.url} (store ${maskUrl(config.database.url)}, transport ${maskUrl(config.transport.url)})`);
      await new Promise<never>(() => { setInterval(() => undefined, 1 << 30); });
    });
}
