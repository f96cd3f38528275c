/** `npm run bench`: every benchmark report, as tables and as one JSON document at the end. */
import { runEmbeddedBench } from './embedded-bench.js';

const report: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version } };
report['embedded'] = await runEmbeddedBench();
console.log(`\nJSON ${JSON.stringify(report)}`);
