/**
 * One chaos run: a fleet of OS processes (api, conductors, fake computes), a workload of M live migrations
 * through the API, a seeded schedule of process faults on top of message faults and slow hosts, a recovery
 * window, and the invariants checked from ground truth. The fleet is always torn down, also on failure.
 */
import { seededRandom } from '../src/rpc/transports/fault-transport.js';
import { AMQP_URL } from '../test/store/service-gate.js';
import { drainDeadLetters, publishBadInput } from './bad-input-stage.js';
import { ChaosCluster } from './chaos-cluster.js';
import { checkFleet, checkTeardown, type Verdict } from './chaos-invariants.js';
import { faultSchedule, pickOf, ProcessFault } from './chaos-schedule.js';
import { bootInstances, instanceNames, Workload, type WorkloadCounts } from './chaos-workload.js';
import { FaultInjector } from './fault-injector.js';

export interface ChaosOptions {
  readonly seed: number;
  readonly migrations: number;
  readonly computes: number;
  readonly instancesPerHost: number;
  /** Process faults of each kind; default max(2, M / 100). */
  readonly perKind?: number;
  /** The faults are spread over this window; default M * 450 ms (about as long as the workload lasts). */
  readonly windowMs?: number;
  readonly recoveryMs: number;
  readonly log: (line: string) => void;
}

export interface ChaosReport {
  readonly seed: number;
  readonly migrations: { requested: number; accepted: number; refused: number; apiErrors: number; completed: number; failed: number;
    cancelled: number; error: number; aborts: number; forceCompletes: number };
  readonly lost: number;
  readonly double: number;
  readonly stuck: number;
  readonly leaked: number;
  readonly verdict: Omit<Verdict, 'violations'>;
  readonly faults: Record<string, number>;
  readonly lastFaultToQuiescenceMs: number | null;
  /** The workload may go on after the last fault: from its last request (and its aborts) to quiescence. */
  readonly lastRequestToQuiescenceMs?: number | null;
  readonly durationMs: number;
  readonly passed: boolean;
  readonly violations: Verdict['violations'];
  /** Journals of the migrations the violations name (at most 5). */
  readonly journals: Record<number, unknown>;
  /** The bad-input stage: messages published to every queue, and how many the dead-letter queue kept. */
  readonly badInput?: { published: number; deadLettered: number };
}

const FAIL_OPS = ['checkDestination', 'checkSource', 'prepareIncoming', 'migrate.pass'] as const;

/** Slow hosts (the first third) take longer to copy, prepare and clean up; vm-fail-* guests fail one step per agent life. */
function hostFaults(seed: number, names: readonly string[], slowHosts: number) {
  const random = seededRandom(seed ^ 0x2545f491);
  const failing = names.filter((n) => n.startsWith('vm-fail-')).map((name) => ({ op: pickOf(FAIL_OPS, random())!, action: 'fail', times: 1, name,
    code: 'MigrationError', message: `chaos fault plan: ${name}` }));
  return (host: string) => {
    const slow = Number(host.split('-')[1]) <= slowHosts
      ? [{ op: 'migrate.pass', action: 'delay', ms: 300 }, { op: 'prepareIncoming', action: 'delay', ms: 800 }, { op: 'cleanupSource', action: 'delay', ms: 500 }]
      : [];
    return [...slow, ...failing];
  };
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const t0 = Date.now();
  const names = instanceNames(o.computes, o.instancesPerHost);
  const slowHosts = Math.max(1, Math.floor(o.computes / 3));
  const cluster = new ChaosCluster({
    seed: o.seed, conductors: 3, computes: o.computes,
    messageFaults: { drop: 0.01, duplicate: 0.01, delay: 0.02, reorder: 0.01, maxDelayMs: 3000 },
    hostFaults: hostFaults(o.seed, names.flat(), slowHosts),
    conductor: {
      limits: { perHostOutbound: 2, perHostInbound: 3, cluster: 16 },
      workflow: { checkTimeoutMs: 8000, preTimeoutMs: 10_000, migrateStallMs: 15_000, postTimeoutMs: 10_000, rollbackTimeoutMs: 10_000,
        queryTimeoutMs: 4000, maxQueries: 3, retryBackoffMs: 1000 },
    },
    // m1.tiny is 512 MiB: a copy takes about 1.5 s of wall time, so faults land mid-copy.
    fake: { realTime: true, bandwidthMibs: 400, dirtyRateMibs: 20 },
  });
  const injector = new FaultInjector(cluster);
  const onSignal = () => { injector.stop(); void teardown().finally(() => process.exit(130)); };
  let tornDown: Promise<void> | null = null;
  const teardown = () => (tornDown ??= (async () => {
    await injector.ensureBrokerUp().catch((e: Error) => o.log(`could not start RabbitMQ again: ${e.message}`));
    await cluster.destroy();
  })());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    o.log(`chaos: ${cluster.exchange}, schema ${cluster.schema}, ${o.computes} computes, 3 conductors, state in ${cluster.dir}`);
    await cluster.start();
    const ids = await bootInstances(cluster, names);
    o.log(`chaos: ${ids.length} instances active; ${o.migrations} migrations to request`);
    const badInput = await badInputStage(cluster, o.log);
    const perKind = o.perKind ?? Math.max(2, Math.round(o.migrations / 100));
    const windowMs = o.windowMs ?? o.migrations * 450;
    const schedule = faultSchedule({ seed: o.seed, perKind, windowMs });
    const workload = new Workload(cluster, { seed: o.seed, migrations: o.migrations, instancesPerHost: o.instancesPerHost, inFlight: 16,
      namedShare: 0.5, abortShare: 0.05, forceShare: 0.05, deadlineMs: windowMs * 3 + 120_000 });
    const start = Date.now();
    let lastRequest = start;
    await Promise.all([injector.run(schedule, start, o.log), workload.run(ids, o.log).then(() => { lastRequest = Date.now(); })]);
    const lastFault = Math.max(start, ...injector.injected.map((f) => f.endedAt));
    const quiet = await quiescence(cluster, o.recoveryMs);
    o.log(quiet ? `chaos: quiescent ${Math.round((quiet - lastFault) / 1000)} s after the last fault` : 'chaos: NOT quiescent at the end of the recovery window');
    const verdict = await checkFleet(cluster, new Set(ids));
    await cluster.group.stopAll();
    await checkTeardown(cluster, verdict);
    if (badInput.deadLettered !== badInput.published) {
      verdict.violations.push({ invariant: 'bad input is dead-lettered', detail: `${badInput.published} bad messages published, ${badInput.deadLettered} kept`,
        migrationIds: [] });
    }
    return { ...await report(o, cluster, verdict, workload.counts, injector, quiet ? quiet - lastFault : null, t0), badInput,
      lastRequestToQuiescenceMs: quiet ? quiet - lastRequest : null };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await teardown();
  }
}

/** Publishes bad messages to every queue and waits until the dead-letter queue holds each (read off it, so it is empty after). */
async function badInputStage(c: ChaosCluster, log: (line: string) => void): Promise<{ published: number; deadLettered: number }> {
  const sent = await publishBadInput({ url: AMQP_URL, exchange: c.exchange, hosts: c.hosts });
  let kept = 0;
  const end = Date.now() + 30_000;
  while (kept < sent.total && Date.now() < end) {
    kept += (await drainDeadLetters(AMQP_URL, c.exchange)).length;
    if (kept < sent.total) await new Promise((r) => setTimeout(r, 200));
  }
  log(`chaos: bad-input stage: ${sent.total} bad messages published to ${Object.keys(sent.published).length} queues, ${kept} dead-lettered`);
  return { published: sent.total, deadLettered: kept };
}

/** When every migration is terminal and no instance has a task (or null after `ms`). */
async function quiescence(c: ChaosCluster, ms: number): Promise<number | null> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const open = await c.store.repo.listMigrations({ status: ['accepted', 'queued', 'preparing', 'running', 'running (post-copy)', 'post-migrating'] });
    const busy = (await c.store.repo.listInstances()).filter((i) => i.taskState !== null);
    if (open.length === 0 && busy.length === 0) return Date.now();
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

async function report(o: ChaosOptions, c: ChaosCluster, v: Verdict, w: WorkloadCounts, inj: FaultInjector, quietMs: number | null,
  t0: number): Promise<ChaosReport> {
  const all = await c.store.repo.listMigrations();
  const count = (s: string) => all.filter((m) => m.status === s).length;
  const faults: Record<string, number> = Object.fromEntries(Object.values(ProcessFault).map((k) => [k, inj.injected.filter((f) => f.kind === k).length]));
  for (const line of c.lines()) {
    const kind = /message fault: (\S+)/.exec(line)?.[1];
    if (kind) faults[`message-${kind}`] = (faults[`message-${kind}`] ?? 0) + 1;
  }
  faults['slow-host'] = Math.max(1, Math.floor(o.computes / 3));
  const journals: Record<number, unknown> = {};
  for (const id of [...new Set(v.violations.flatMap((x) => x.migrationIds))].slice(0, 5)) {
    const m = await c.store.repo.getMigration(id);
    journals[id] = { status: m?.status, phase: m?.state.phase, source: m?.sourceCompute, dest: m?.destCompute, error: m?.error,
      history: m?.state.history, steps: await c.store.repo.listSteps(id) };
  }
  const { violations, ...verdict } = v;
  return {
    seed: o.seed,
    migrations: { requested: w.requested, accepted: w.accepted, refused: w.refused, apiErrors: w.apiErrors, completed: count('completed'),
      failed: count('failed'), cancelled: count('cancelled'), error: count('error'), aborts: w.aborts, forceCompletes: w.forceCompletes },
    lost: v.lost + v.misplaced, double: v.double, stuck: v.stuck, leaked: v.leaked, verdict, faults,
    lastFaultToQuiescenceMs: quietMs, durationMs: Date.now() - t0, passed: violations.length === 0 && quietMs !== null, violations, journals,
  };
}
