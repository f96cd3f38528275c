/**
 * Baton's qemu driver against a raw QMP `migrate` of the same guest, in the same run.
 *
 *   node --import tsx bench/qemu-bench.ts [--runs 5] [--image idle|converging] [--memory 64]
 *
 * Both sides start the same QEMU command line (built by the driver's own argument builder) and migrate
 * over loopback. "migrate" is the time from issuing the migration to QEMU reporting completion;
 * "end-to-end" adds starting the destination and the post steps (source ended, destination running).
 * "conductor" is the whole Baton flow for the same guest (embedded cluster, two qemu hosts): request to
 * `completed`, through both checks, pre_live_migration, live_migration and both post steps.
 */
import { spawn } from 'node:child_process';
import { percentile } from './stats.js';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { buildQemuArgs } from '../src/compute/drivers/qemu/qemu-args.js';
import { guestCommandLine } from '../src/compute/drivers/qemu/qemu-instance.js';
import { QemuProcess } from '../src/compute/drivers/qemu/qemu-process.js';
import { probeQemu } from '../src/compute/drivers/qemu/qemu-host-info.js';
import { buildGuest, GUEST_KERNEL, guestSpec, IMAGES, twoHosts } from '../test/qemu/qemu-harness.js';
import { requestCreateServer } from '../src/api/server-request.js';
import { systemClock } from '../src/runtime/system-clock.js';
import { liveMigrate, waitFor, waitForHosts } from '../src/services/cluster-ops.js';
import { createDriver } from '../src/services/driver-factory.js';
import { startEmbedded } from '../src/services/embedded-cluster.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, image: { type: 'string', default: 'idle' }, memory: { type: 'string', default: '64' } } });
const runs = Number(values.runs);
const image = values.image!;
const memoryMb = Number(values.memory);

interface Sample { readonly migrateMs: number; readonly totalMs: number }

async function driverRun(): Promise<Sample> {
  const h = twoHosts({ pollIntervalMs: 500 });
  try {
    const spec = guestSpec(image, memoryMb);
    await h.a.spawn(spec);
    const t0 = performance.now();
    const incoming = await h.b.prepareIncoming(spec, 1);
    const t1 = performance.now();
    await h.a.migrate({ guest: spec, migrationId: 1, destHost: 'b', incoming }, () => {});
    const t2 = performance.now();
    await h.a.cleanupSource(spec.uuid);
    await h.b.finishIncoming(spec.uuid);
    return { migrateMs: t2 - t1, totalMs: performance.now() - t0 };
  } finally {
    await h.close();
  }
}

async function rawRun(machine: string): Promise<Sample> {
  const root = mkdtempSync('/tmp/bqr-');
  const uuid = randomUUID();
  const start = (side: string, incoming: boolean): Promise<QemuProcess> => {
    const dir = join(root, side);
    mkdirSync(dir);
    const args = buildQemuArgs({
      uuid, name: 'raw', vcpus: 1, memoryMb, machine, cpuModel: 'qemu64', accel: 'tcg', kernel: GUEST_KERNEL,
      append: guestCommandLine(IMAGES[image]!), qmpSocket: join(dir, 'qmp.sock'), observeSocket: join(dir, 'observe.sock'), serialLog: join(dir, 'serial.log'),
      pidFile: join(dir, 'qemu.pid'), incoming,
    });
    return QemuProcess.start({ binary: 'qemu-system-x86_64', args, qmpSocket: join(dir, 'qmp.sock'), startTimeoutMs: 10_000 });
  };
  const src = await start('a', false);
  let dst: QemuProcess | null = null;
  try {
    const t0 = performance.now();
    dst = await start('b', true);
    await dst.qmp.execute('migrate-incoming', { uri: 'tcp:127.0.0.1:0' });
    const info = await dst.qmp.execute<{ 'socket-address': { port: string }[] }>('query-migrate');
    const port = info['socket-address'][0]!.port;
    await src.qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
    const done = new Promise<void>((resolve, reject) => src.qmp.onEvent((e) => {
      if (e.event === 'MIGRATION' && e.data.status === 'completed') resolve();
      if (e.event === 'MIGRATION' && e.data.status === 'failed') reject(new Error('raw migration failed'));
    }));
    const t1 = performance.now();
    await src.qmp.execute('migrate', { uri: `tcp:127.0.0.1:${port}` });
    await done;
    const t2 = performance.now();
    await src.stop();
    return { migrateMs: t2 - t1, totalMs: performance.now() - t0 };
  } finally {
    await Promise.all([src.kill(), dst?.kill()]);
    rmSync(root, { recursive: true, force: true });
  }
}

/** The same guest migrated back and forth through the conductor; each sample is request to `completed`. */
async function conductorRuns(n: number): Promise<number[]> {
  const root = mkdtempSync('/tmp/bqc-');
  const hosts = ['qa', 'qb'];
  const cluster = await startEmbedded({ dataDir: null, hosts, log: () => undefined, driverClock: systemClock, conductor: { tickMs: 50 },
    driverFactory: (host) => createDriver('qemu', { host, stateDir: join(root, host), guestKernel: GUEST_KERNEL, images: IMAGES, clock: systemClock }) });
  try {
    await cluster.store.repo.upsertFlavor({ id: 'bench', name: 'bench', vcpus: 1, memoryMb, diskGb: 0 });
    await waitForHosts(cluster.store, hosts);
    const vm = await requestCreateServer(cluster.requests, { name: 'bench', flavorRef: 'bench', imageRef: image, host: 'qa', projectId: 'b', userId: 'b' });
    await waitFor('the bench guest to boot', async () => (await cluster.store.repo.getInstance(vm.uuid))?.vmState === 'active', 30_000);
    const samples: number[] = [];
    for (let i = 0; i <= n; i++) {
      const t0 = performance.now();
      const m = await liveMigrate(cluster.requests, vm.uuid, hosts[(i + 1) % 2]!, 60_000);
      if (m.status !== 'completed') throw new Error(`bench migration ended ${m.status}: ${m.error}`);
      if (i > 0) samples.push(performance.now() - t0); // the first one warms up
    }
    return samples;
  } finally {
    await cluster.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

async function main(): Promise<void> {
  buildGuest();
  const machine = (await probeQemu('qemu-system-x86_64')).machines.get('pc')!;
  const baton: Sample[] = [];
  const raw: Sample[] = [];
  await driverRun(); // warm-up: binary probe, page cache
  for (let i = 0; i < runs; i++) {
    // Alternate the order so that neither side always runs on a warmer machine.
    if (i % 2 === 0) { baton.push(await driverRun()); raw.push(await rawRun(machine)); }
    else { raw.push(await rawRun(machine)); baton.push(await driverRun()); }
  }
  const row = (name: string, pick: (s: Sample) => number) => {
    const b = median(baton.map(pick));
    const r = median(raw.map(pick));
    console.log(`${name.padEnd(11)} baton ${b.toFixed(1).padStart(8)} ms   raw QMP ${r.toFixed(1).padStart(8)} ms   ratio ${(b / r).toFixed(2)}`);
  };
  console.log(`qemu bench: ${runs} runs, image ${image}, ${memoryMb} MiB, TCG, loopback (medians)`);
  row('migrate', (s) => s.migrateMs);
  row('end-to-end', (s) => s.totalMs);
  const c = median(await conductorRuns(runs));
  const r = median(raw.map((s) => s.totalMs));
  console.log(`${'conductor'.padEnd(11)} baton ${c.toFixed(1).padStart(8)} ms   raw QMP ${r.toFixed(1).padStart(8)} ms   ratio ${(c / r).toFixed(2)}`
    + '   (whole spec flow vs raw end-to-end)');
}

await main();
// Nothing should keep the loop alive; a straggler would mean a leaked QEMU or socket.
const stray = spawn('true');
await once(stray, 'exit');
