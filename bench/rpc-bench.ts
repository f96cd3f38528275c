/**
 * RPC benchmark: `call` latency (sequential) and throughput (N in flight) over the in-process and
 * AMQP transports, against a raw amqplib request/reply on the same broker (direct reply-to, noDelay)
 * as the floor. Run: node --import tsx bench/rpc-bench.ts   (or call runRpcBench() from bench/run.ts)
 */
import { pathToFileURL } from 'node:url';
import { percentile } from './stats.js';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { createAmqpTransport } from '../src/rpc/transports/amqp/amqp-transport.js';
import { maskUrl } from '../src/rpc/transports/amqp/amqp-url.js';
import { InProcessBus } from '../src/rpc/transports/in-process-transport.js';
import type { Envelope, Transport } from '../src/rpc/transport.js';

export interface RpcBenchOptions {
  readonly url?: string;
  readonly calls?: number;
  readonly seconds?: number;
  readonly inFlight?: number;
}

export interface RpcResult {
  readonly transport: string;
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly throughputPerSec: number;
  readonly inFlight: number;
}

export interface Report {
  readonly name: 'rpc';
  readonly broker: string;
  readonly results: RpcResult[];
  /** Baton over AMQP relative to raw amqplib: p50 ratio (target <= 1.5), throughput ratio (target >= 0.7). */
  readonly vsFloor: { readonly p50Ratio: number; readonly throughputRatio: number; readonly meetsTargets: boolean } | null;
  readonly note?: string;
}

/** One request/reply round trip; the benchmark knows nothing else about what it measures. */
type CallFn = () => Promise<unknown>;

const TOPIC = 'compute.bench-host';

/** Something to measure: one round trip, and how to release it afterwards. */
interface Target {
  readonly name: string;
  readonly call: CallFn;
  readonly close: () => Promise<void>;
}

/**
 * Measures every target in interleaved rounds, so load from other processes on this shared machine
 * falls on all of them alike rather than on whichever ran last.
 */
export async function runRpcBench(opts: RpcBenchOptions = {}): Promise<Report> {
  const url = opts.url ?? process.env.BATON_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const calls = opts.calls ?? 2000;
  const seconds = opts.seconds ?? 3;
  const inFlight = opts.inFlight ?? 64;
  const rounds = 4;
  const bus = new InProcessBus();
  const targets: Target[] = [await batonTarget('baton in-process', bus.transport(), bus.transport())];
  let note: string | undefined;
  const exchange = `baton-bench-${randomUUID().slice(0, 8)}`;
  try {
    targets.push(await rawTarget(url));
    targets.push(await batonTarget('baton amqp', await createAmqpTransport({ url, exchange }), await createAmqpTransport({ url, exchange })));
  } catch (err) {
    note = `RabbitMQ at ${maskUrl(url)} is unreachable (${err instanceof Error ? err.message : String(err)}): AMQP not measured`;
  }
  const lat = targets.map(() => [] as number[]);
  const tput = targets.map(() => ({ done: 0, ms: 0 }));
  try {
    for (const t of targets) for (let i = 0; i < 300; i++) await t.call(); // warm-up: JIT, declarations
    for (let r = 0; r < rounds; r++) {
      for (const [i, t] of targets.entries()) lat[i]?.push(...await sequential(t.call, Math.ceil(calls / rounds)));
      for (const [i, t] of targets.entries()) addTo(tput[i], await throughput(t.call, seconds / rounds, inFlight));
    }
  } finally {
    for (const t of targets) await t.close().catch(() => undefined);
    if (targets.length > 1) await dropBenchTopology(url, exchange).catch(() => undefined);
  }
  const results = targets.map((t, i): RpcResult => {
    const sorted = Float64Array.from(lat[i] ?? []).sort();
    const tp = tput[i] ?? { done: 0, ms: 1 };
    return { transport: t.name, calls: sorted.length, p50Ms: pct(sorted, 0.5), p99Ms: pct(sorted, 0.99),
      throughputPerSec: tp.done / (tp.ms / 1000), inFlight };
  });
  return { name: 'rpc', broker: maskUrl(url), results, vsFloor: compare(results), ...(note ? { note } : {}) };
}

function compare(results: RpcResult[]): Report['vsFloor'] {
  const floor = results.find((r) => r.transport.startsWith('raw'));
  const baton = results.find((r) => r.transport === 'baton amqp');
  if (!floor || !baton) return null;
  const p50Ratio = baton.p50Ms / floor.p50Ms;
  const throughputRatio = baton.throughputPerSec / floor.throughputPerSec;
  return { p50Ratio, throughputRatio, meetsTargets: p50Ratio <= 1.5 && throughputRatio >= 0.7 };
}

function addTo(acc: { done: number; ms: number } | undefined, x: { done: number; ms: number }): void {
  if (acc) { acc.done += x.done; acc.ms += x.ms; }
}

async function batonTarget(name: string, server: Transport, client: Transport): Promise<Target> {
  await server.serve(TOPIC, async (m) => ({ ok: true, result: m.args }));
  const msg: Envelope = { v: '1.0', id: 'bench', method: 'ping', kind: 'call', from: { role: 'bench', host: 'bench' }, args: { n: 1 } };
  return { name, call: () => client.request(TOPIC, msg, 5000), close: async () => { await client.close(); await server.close(); } };
}

/** The floor: amqplib alone, echoing a same-sized JSON body, replies over direct reply-to. */
async function rawTarget(url: string): Promise<Target> {
  const srv = await connect(url, { noDelay: true });
  const cli = await connect(url, { noDelay: true }).catch(async (err: unknown) => { await srv.close(); throw err; });
  const sch = await srv.createChannel();
  const { queue } = await sch.assertQueue('', { exclusive: true, autoDelete: true });
  await sch.prefetch(64);
  await sch.consume(queue, (m) => {
    if (!m) return;
    sch.sendToQueue(m.properties.replyTo as string, m.content, { correlationId: m.properties.correlationId as string });
    sch.ack(m);
  });
  const cch = await cli.createChannel();
  const pending = new Map<string, () => void>();
  await cch.consume('amq.rabbitmq.reply-to', (m) => {
    const id = m?.properties.correlationId as string | undefined;
    const done = id === undefined ? undefined : pending.get(id);
    if (done && id !== undefined) { pending.delete(id); done(); }
  }, { noAck: true });
  const payload = Buffer.from(JSON.stringify({ v: '1.0', id: 'bench', method: 'ping', kind: 'call', args: { n: 1 } }));
  let seq = 0;
  const call = (): Promise<void> => new Promise<void>((resolve) => {
    const id = String(++seq);
    pending.set(id, resolve);
    cch.sendToQueue(queue, payload, { correlationId: id, replyTo: 'amq.rabbitmq.reply-to' });
  });
  return { name: 'raw amqplib (floor)', call, close: async () => { await cli.close(); await srv.close(); } };
}

async function dropBenchTopology(url: string, exchange: string): Promise<void> {
  const c = await connect(url);
  const ch = await c.createChannel();
  await ch.deleteQueue(`${exchange}.${TOPIC}`);
  await ch.deleteQueue(`${exchange}.dead-letter`);
  await ch.deleteExchange(exchange);
  await c.close();
}

async function sequential(call: CallFn, n: number): Promise<number[]> {
  const lat: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    lat[i] = performance.now() - t0;
  }
  return lat;
}

async function throughput(call: CallFn, seconds: number, inFlight: number): Promise<{ done: number; ms: number }> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) { await call(); done++; }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { done, ms: performance.now() - t0 };
}

function pct(sorted: Float64Array, q: number): number {
  return percentile(sorted, q * 100);
}

export function formatReport(r: Report): string {
  const rows = r.results.map((x) => `| ${x.transport.padEnd(20)} | ${x.p50Ms.toFixed(3).padStart(8)} | ${x.p99Ms.toFixed(3).padStart(8)} `
    + `| ${Math.round(x.throughputPerSec).toString().padStart(10)} |`);
  const lines = ['| transport            | p50 ms   | p99 ms   | calls/s    |', '|---|---|---|---|', ...rows];
  if (r.vsFloor) {
    lines.push(`Baton AMQP vs floor: p50 x${r.vsFloor.p50Ratio.toFixed(2)} (target <= 1.5), throughput `
      + `x${r.vsFloor.throughputRatio.toFixed(2)} (target >= 0.7): ${r.vsFloor.meetsTargets ? 'MEETS' : 'MISSES'} targets`);
  }
  if (r.note) lines.push(r.note);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await runRpcBench();
  console.log(formatReport(report));
  console.log(JSON.stringify(report, null, 2));
}
