/**
 * `npm run bench`: every benchmark report, as tables and as one JSON document at the end.
 * `npm run bench -- embedded` or `-- rpc` runs one part. The QEMU overhead report is separate
 * (`npm run bench:qemu`) because it boots real guests.
 */
import { cpus } from 'node:os';
import { runEmbeddedBench } from './embedded-bench.js';
import { formatReport, runRpcBench } from './rpc-bench.js';

const parts = process.argv.slice(2);
const want = (p: string) => parts.length === 0 || parts.includes(p);
const report: Record<string, unknown> = { machine: { cpus: cpus().length, node: process.version } };
if (want('embedded')) report['embedded'] = await runEmbeddedBench();
if (want('rpc')) {
  console.log('\nRPC call over each transport, with a raw amqplib request/reply over the same broker as the floor');
  const rpc = await runRpcBench();
  console.log(formatReport(rpc));
  report['rpc'] = rpc;
}
console.log(`\nJSON ${JSON.stringify(report)}`);
