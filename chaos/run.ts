/**
 * `npm run chaos [-- --seed N --migrations M --computes N --recovery-s S]`: a chaos run against a real
 * distributed Baton on the local RabbitMQ and PostgreSQL. Prints the seed first, a table and one JSON line at
 * the end; exits 1 when an invariant is broken (printing it and the migrations' journals), 2 on bad usage.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runChaos, type ChaosReport } from './chaos-runner.js';

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return n;
};

const cmd = new Command('chaos')
  .option('--seed <n>', 'seed of the fault schedule and the workload (default: random)', int(0))
  .option('--migrations <m>', 'live migrations to request', int(1), 1000)
  .option('--computes <n>', 'fake compute processes', int(2), 6)
  .option('--instances-per-host <n>', 'instances booted on each compute', int(1), 4)
  .option('--per-kind <n>', 'process faults of each kind (default max(2, M/100))', int(1))
  .option('--window-s <s>', 'seconds the process faults are spread over (default 0.45 M)', int(1))
  .option('--recovery-s <s>', 'recovery window after the last fault, seconds', int(1), 240)
  .parse();
const o = cmd.opts<{ seed?: number; migrations: number; computes: number; instancesPerHost: number; perKind?: number; windowS?: number; recoveryS: number }>();
const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
console.log(`chaos seed ${seed} (re-run with --seed ${seed})`);

const r: ChaosReport = await runChaos({ seed, migrations: o.migrations, computes: o.computes, instancesPerHost: o.instancesPerHost,
  ...(o.perKind ? { perKind: o.perKind } : {}), ...(o.windowS ? { windowMs: o.windowS * 1000 } : {}), recoveryMs: o.recoveryS * 1000,
  log: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`) });

const rows: [string, string | number][] = [
  ['seed', r.seed], ...Object.entries(r.migrations), ['lost', r.lost], ['double', r.double], ['stuck', r.stuck], ['leaked', r.leaked],
  ['incomplete journals', r.verdict.incompleteJournals], ['not active after', r.verdict.notActive], ['audit anomalies', r.verdict.auditAnomalies],
  ['audit repairs', r.verdict.auditRepairs], ['bad input published/dead-lettered', `${r.badInput?.published ?? 0}/${r.badInput?.deadLettered ?? 0}`], ...Object.entries(r.faults).map(([k, n]): [string, number] => [`fault ${k}`, n]),
  ['last fault to quiescence (s)', r.lastFaultToQuiescenceMs === null ? 'never' : (r.lastFaultToQuiescenceMs / 1000).toFixed(1)],
  ['last request to quiescence (s)', r.lastRequestToQuiescenceMs == null ? 'never' : (r.lastRequestToQuiescenceMs / 1000).toFixed(1)],
  ['duration (s)', (r.durationMs / 1000).toFixed(0)], ['result', r.passed ? 'PASS' : 'FAIL'],
];
console.log('');
for (const [k, v] of rows) console.log(`${k.padEnd(30)} ${v}`);
for (const [kind, x] of Object.entries(r.verdict.repairs)) console.log(`audit repaired ${kind}: ${x.count}, e.g. ${x.example}`);
if (!r.passed) {
  console.log(`\nFAILED with seed ${r.seed}; broken invariants:`);
  for (const v of r.violations.slice(0, 40)) console.log(`  ${v.invariant}: ${v.detail}`);
  if (r.violations.length > 40) console.log(`  ... and ${r.violations.length - 40} more`);
  for (const [id, j] of Object.entries(r.journals)) console.log(`\njournal of migration ${id}: ${JSON.stringify(j, null, 1)}`);
}
const { violations: _v, journals: _j, ...summary } = r;
console.log(`\nJSON ${JSON.stringify(summary)}`);
process.exit(r.passed ? 0 : 1);
