/** `baton up`: the all-in-one process (conductor + fake computes, SQLite), with a first migration on a fresh store. */
import type { Command } from 'commander';
import { createLogger, logFn } from '../../runtime/logger.js';
import { startEmbedded } from '../../services/embedded-cluster.js';
import { bootInstance, liveMigrate, seedFlavors, waitForHosts } from '../../services/cluster-ops.js';
import { formatJournal } from '../journal-format.js';
import { onShutdown } from '../shutdown.js';

export const EMBEDDED_HOSTS = ['compute-1', 'compute-2', 'compute-3'] as const;

export interface UpOptions {
  readonly dataDir: string;
  readonly ephemeral: boolean;
}

export function registerUp(program: Command): void {
  program.command('up')
    .description('run the all-in-one process: a conductor and three fake compute hosts over SQLite')
    .option('--data-dir <dir>', 'where the SQLite store lives', './baton-data')
    .option('--ephemeral', 'keep the store in memory; nothing is written to disk', false)
    .action(async (opts: UpOptions) => {
      const log = logFn(createLogger('baton-up'));
      const cluster = await startEmbedded({ dataDir: opts.ephemeral ? null : opts.dataDir, hosts: EMBEDDED_HOSTS, log });
      onShutdown(() => cluster.stop());
      const fresh = (await cluster.store.repo.listFlavors()).length === 0;
      await waitForHosts(cluster.store, EMBEDDED_HOSTS);
      console.log(`baton: conductor and ${EMBEDDED_HOSTS.length} fake compute hosts up; store ${opts.ephemeral ? 'in memory' : `${opts.dataDir}/baton.sqlite`}`);
      if (fresh) {
        await seedFlavors(cluster.store);
        const a = await bootInstance(cluster.requests, 'demo-1', 'm1.small', 'compute-1');
        await bootInstance(cluster.requests, 'demo-2', 'm1.small', 'compute-2');
        console.log(`seeded 4 flavors, ${EMBEDDED_HOSTS.length} hosts and 2 instances; live-migrating demo-1 from ${a.host}`);
        const m = await liveMigrate(cluster.requests, a.uuid, null);
        console.log(formatJournal(m, await cluster.store.repo.listSteps(m.id)));
      } else {
        console.log('existing store: nothing seeded');
      }
      console.log('running; press Ctrl-C to stop');
      // Stay up until a signal; onShutdown exits the process.
      await new Promise<never>(() => { setInterval(() => undefined, 1 << 30); });
    });
}
