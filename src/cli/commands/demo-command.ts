/** `baton demo`: scripted migrations on an in-memory cluster, including failures that roll back; prints each journal. */
import type { Command } from 'commander';
import type { MigrationStatus } from '../../core/migration-status.js';
import { FakeDriver } from '../../compute/drivers/fake/fake-driver.js';
import { createLogger, logFn } from '../../runtime/logger.js';
import { startEmbedded, type EmbeddedCluster } from '../../services/embedded-cluster.js';
import { bootInstance, liveMigrate, seedFlavors, waitForHosts } from '../../services/cluster-ops.js';
import { formatJournal } from '../journal-format.js';
import { EMBEDDED_HOSTS } from './up-command.js';

interface Scenario {
  readonly title: string;
  readonly expect: MigrationStatus;
  readonly dest: string | null;
  readonly arrange?: (c: EmbeddedCluster, source: string, dest: string | null) => void;
}

const fake = (c: EmbeddedCluster, host: string) => c.drivers.get(host) as FakeDriver;

const SCENARIOS: readonly Scenario[] = [
  { title: 'scheduler picks the destination', expect: 'completed', dest: null },
  { title: 'operator names the destination', expect: 'completed', dest: 'compute-3' },
  { title: 'pre_live_migration fails on the destination: both sides roll back', expect: 'failed', dest: 'compute-2',
    arrange: (c, _s, d) => { fake(c, d!).faults.fail('prepareIncoming', { message: 'injected: destination network plug failed' }); } },
  { title: 'the copy fails mid-way: both sides roll back', expect: 'failed', dest: null,
    arrange: (c, s) => { fake(c, s).faults.fail('migrate.pass', { message: 'injected: migration stream reset' }); } },
  { title: 'post at the destination fails once, the conductor retries it', expect: 'completed', dest: 'compute-2',
    arrange: (c, _s, d) => { fake(c, d!).faults.fail('finishIncoming', { message: 'injected: transient failure' }); } },
];

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('run scripted live migrations (successes and forced failures) and print each journal')
    .action(async () => {
      const log = logFn(createLogger('baton-demo', 'error'));
      const cluster = await startEmbedded({ dataDir: null, hosts: EMBEDDED_HOSTS, log,
        conductor: { workflow: { retryBackoffMs: 50 } } });
      let failures = 0;
      try {
        await seedFlavors(cluster.store);
        await waitForHosts(cluster.store, EMBEDDED_HOSTS);
        const vm = await bootInstance(cluster.requests, 'demo-vm', 'm1.small', 'compute-1');
        for (const [i, sc] of SCENARIOS.entries()) {
          const inst = (await cluster.store.repo.getInstance(vm.uuid))!;
          sc.arrange?.(cluster, inst.host!, sc.dest);
          const m = await liveMigrate(cluster.requests, vm.uuid, sc.dest);
          const ok = m.status === sc.expect;
          if (!ok) failures += 1;
          console.log(`\n#${i + 1} ${sc.title}: ${m.status}${ok ? '' : ` (expected ${sc.expect})`}`);
          console.log(formatJournal(m, await cluster.store.repo.listSteps(m.id)));
        }
      } finally {
        await cluster.stop();
      }
      console.log(failures === 0 ? `\nall ${SCENARIOS.length} scenarios ended as expected` : `\n${failures} scenario(s) did not end as expected`);
      process.exitCode = failures === 0 ? 0 : 1;
    });
}
