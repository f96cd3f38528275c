/**
 * Baton's qemu driver against a raw QMP `migrate` of the same guest, in the same run.
 *
 *   node --import tsx bench/qemu-bench.ts [--runs 5] [--image idle|converging] [--memory 64]
 *
 * Both sides start the same QEMU command line (built by the driver's own argument builder) and migrate
 * over loopback. "migrate" is the time from issuing the migration to QEMU reporting completion;
 * "end-to-end" adds starting the destination and the post steps (source ended, destination running).
 */
import { spawn } from 'node:child_process';
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
      append: guestCommandLine(IMAGES[image]!), qmpSocket: join(dir, 'qmp.sock'), serialLog: join(dir, 'serial.log'),
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
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
}

await main();
// Nothing should keep the loop alive; a straggler would mean a leaked QEMU or socket.
const stray = spawn('true');
await once(stray, 'exit');
