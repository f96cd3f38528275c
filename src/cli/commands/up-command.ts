/** `baton up`: the all-in-one process (conductor + fake computes, SQLite), with a first migration on a fresh store. */
import type { Command } from 'commander';
import { createLogger, logFn } from '../../runtime/logger.js';
import { startEmbedded } from '../../services/embedded-cluster.js';
import { bootInstance, liveMigrate, seedFlavors, waitForHosts } from '../../services/cluster-ops.js';
import { formatJournal } from '../journal-format.js';
import { onShutdown } from '../shutdown.js';
import { clusterOptionsFor, startEmbeddedApi, type UpApiOptions } from '../../services/embedded-api.js';
import { upDriverSetup } from '../../services/driver-factory.js';

function addApiOptions(cmd: Command): Command {
  return cmd
    .option('--api-host <host>', 'address the API listens on', '127.0.0.1')
    .option('--api-port <port>', 'port the API listens on (0: any free port)', '8774')
    .option('--no-auth', 'serve the API without authentication (embedded demo only; every request acts as admin)')
    .option('--slow-migrations', 'fake hosts copy memory in real time (~30 s for a 2 GiB guest) so abort and force-complete can be tried', false);
}

export const EMBEDDED_HOSTS = ['compute-1', 'compute-2', 'compute-3'] as const;

export interface UpOptions extends UpApiOptions {
  readonly dataDir: string;
  readonly ephemeral: boolean;
  readonly driver: string;
  readonly stateDir?: string;
}

export function registerUp(program: Command): void {
  addApiOptions(program.command('up')
    .description('run the all-in-one process: a conductor, three fake compute hosts over SQLite, and the API')
    .option('--data-dir <dir>', 'where the SQLite store lives', './baton-data')
    .option('--ephemeral', 'keep the store in memory; nothing is written to disk', false)
    .option('--driver <kind>', 'hypervisor driver of the three hosts: fake or qemu (real QEMU guests, see docs/qemu.md)', 'fake')
    .option('--state-dir <dir>', 'qemu: per-host QEMU state under <dir>/<host> (default <data-dir>/qemu, a temp dir with --ephemeral)'))
    .action(async (opts: UpOptions) => {
      const log = logFn(createLogger('baton-up'));
      const drv = upDriverSetup(opts);
      const cluster = await startEmbedded({ dataDir: opts.ephemeral ? null : opts.dataDir, hosts: EMBEDDED_HOSTS, log, ...clusterOptionsFor(opts), ...drv.cluster });
      // The API first: a taken port fails start-up before any work, and the first migration is visible through it.
      let api: { close(): Promise<void> };
      try {
        api = await startEmbeddedApi(cluster, opts, log);
      } catch (e) {
        await cluster.stop();
        throw e;
      }
      onShutdown(async () => { await api.close(); await cluster.stop(); });
      const fresh = (await cluster.store.repo.listFlavors()).length === 0;
      await waitForHosts(cluster.store, EMBEDDED_HOSTS);
      console.log(`baton: conductor and ${EMBEDDED_HOSTS.length} ${drv.describe} compute hosts up; store ${opts.ephemeral ? 'in memory' : `${opts.dataDir}/baton.sqlite`}`);
      if (fresh) {
        await seedFlavors(cluster.store, drv.flavors);
        const a = await bootInstance(cluster.requests, 'demo-1', drv.demoFlavorRef, 'compute-1');
        await bootInstance(cluster.requests, 'demo-2', drv.demoFlavorRef, 'compute-2');
        console.log(`seeded ${drv.flavors.length} flavors, ${EMBEDDED_HOSTS.length} hosts and 2 instances; live-migrating demo-1 from ${a.host}`);
        // Real-time copies (--slow-migrations) would hold start-up for half a minute: no first migration then.
        const m = opts.slowMigrations ? null : await liveMigrate(cluster.requests, a.uuid, null);
        if (m) console.log(formatJournal(m, await cluster.store.repo.listSteps(m.id)));
      } else {
        console.log('existing store: nothing seeded');
      }
      console.log('running; press Ctrl-C to stop');
      // Stay up until a signal; onShutdown exits the process.
      await new Promise<never>(() => { setInterval(() => undefined, 1 << 30); });
    });
}
