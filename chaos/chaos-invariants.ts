/**
 * The chaos run's verdict, from ground truth: each host's fake hypervisor registry (the file that outlives
 * its agent), the database, the broker and the process table, checked against what Baton recorded. Each
 * broken invariant is named, with the migrations it concerns.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { AMQP_URL } from '../test/store/service-gate.js';
import { drainDeadLetters } from './bad-input-stage.js';
import type { ChaosCluster } from './chaos-cluster.js';

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
  readonly migrationIds: readonly number[];
}

export interface Verdict {
  lost: number;
  double: number;
  misplaced: number;
  stuck: number;
  leaked: number;
  incompleteJournals: number;
  notActive: number;
  auditAnomalies: number;
  auditRepairs: number;
  /** What the reconciler repaired during the run, by kind, with a sample message each (not a violation: it is the audit's job). */
  repairs: Record<string, { count: number; example: string }>;
  readonly violations: Violation[];
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'error']);

interface RawGuest { spec: { uuid: string; name: string }; state: string }

function readRegistry(path: string): RawGuest[] {
  if (!existsSync(path)) return [];
  return JSON.parse(readFileSync(path, 'utf8')) as RawGuest[];
}

/** Checks made while the fleet still runs: copies, records, journals, claims, the audit. */
export async function checkFleet(c: ChaosCluster, activeBefore: ReadonlySet<string>): Promise<Verdict> {
  const v: Verdict = { lost: 0, double: 0, misplaced: 0, stuck: 0, leaked: 0, incompleteJournals: 0, notActive: 0, auditAnomalies: 0,
    auditRepairs: 0, repairs: {}, violations: [] };
  const fail = (invariant: string, detail: string, migrationIds: readonly number[] = []) => v.violations.push({ invariant, detail, migrationIds });
  const repo = c.store.repo;
  const migrations = await repo.listMigrations();
  const byInstance = (uuid: string) => migrations.filter((m) => m.instanceUuid === uuid).map((m) => m.id).sort((a, b) => b - a).slice(0, 3);
  const running = new Map<string, string[]>();
  for (const host of c.hosts) {
    for (const g of readRegistry(c.registryPath(host))) {
      if (g.state === 'running') running.set(g.spec.uuid, [...(running.get(g.spec.uuid) ?? []), host]);
      else { v.leaked++; fail('no leftover guest', `${g.spec.name} (${g.spec.uuid}) is ${g.state} on ${host}`, byInstance(g.spec.uuid)); }
    }
  }
  const instances = await repo.listInstances();
  const known = new Set(instances.map((i) => i.uuid));
  for (const [uuid, hosts] of running) {
    if (!known.has(uuid)) { v.leaked++; fail('no leftover guest', `unknown guest ${uuid} runs on ${hosts.join(', ')}`); }
  }
  for (const i of instances) {
    const hosts = running.get(i.uuid) ?? [];
    if (hosts.length === 0) { v.lost++; fail('exactly one running copy', `${i.name} runs nowhere (recorded on ${i.host})`, byInstance(i.uuid)); }
    if (hosts.length > 1) { v.double++; fail('exactly one running copy', `${i.name} runs on ${hosts.join(' and ')}`, byInstance(i.uuid)); }
    if (hosts.length === 1 && hosts[0] !== i.host) {
      v.misplaced++;
      fail('the copy runs on the recorded host', `${i.name} runs on ${hosts[0]} but is recorded on ${i.host}`, byInstance(i.uuid));
    }
    if (activeBefore.has(i.uuid) && (i.vmState !== 'active' || i.taskState !== null)) {
      v.notActive++;
      fail('active before, active after', `${i.name} is ${i.vmState}/${i.taskState ?? '-'}`, byInstance(i.uuid));
    }
  }
  for (const m of migrations) {
    if (!TERMINAL.has(m.status)) { v.stuck++; fail('every migration terminal', `migration ${m.id} is ${m.status} (phase ${m.state.phase})`, [m.id]); continue; }
    const open = (await repo.listSteps(m.id)).filter((s) => s.status === 'sent' || s.status === 'acked');
    if (open.length > 0) {
      v.incompleteJournals++;
      fail('each sent step has an outcome', `migration ${m.id} (${m.status}): ${open.map((s) => `${s.step}#${s.attempt}@${s.host} ${s.status}`).join(', ')}`, [m.id]);
    }
    // "nothing: ..." is the workflow saying that no host was touched, not something left behind.
    const left = m.state.leftovers.filter((l) => !l.startsWith('nothing:'));
    if (left.length > 0) { v.leaked++; fail('nothing left to clean up', `migration ${m.id}: ${left.join('; ')}`, [m.id]); }
  }
  const terminal = new Set(migrations.filter((m) => TERMINAL.has(m.status)).map((m) => m.id));
  for (const claim of await repo.listClaims()) {
    if (terminal.has(claim.migrationId)) { v.leaked++; fail('no claim for a terminal migration', `claim of migration ${claim.migrationId} on ${claim.host}`, [claim.migrationId]); }
  }
  await auditFleet(c, v, fail);
  // The bad-input stage read its own messages off the dead-letter queue: anything there now is a message a
  // Baton process sent and another refused.
  for (const d of await drainDeadLetters(AMQP_URL, c.exchange)) fail('no Baton message is refused', `${d.topic}: ${d.reason}`);
  return v;
}

async function auditFleet(c: ChaosCluster, v: Verdict, fail: (i: string, d: string) => void): Promise<void> {
  // The API's call to a conductor crosses the faulty transport too: a lost request is asked again.
  for (let attempt = 1; ; attempt++) {
    const r = await c.api('POST', '/v2.1/baton/audit');
    if (r.status === 200) {
      const audit = r.json.audit as { anomalies: { kind: string; message: string }[] };
      v.auditAnomalies = audit.anomalies.length;
      for (const a of audit.anomalies) fail('the audit is empty', `${a.kind}: ${a.message}`);
      const repairs = await c.store.repo.listAuditRepairs(100_000);
      v.auditRepairs = repairs.length;
      for (const r of repairs) v.repairs[r.kind] = { count: (v.repairs[r.kind]?.count ?? 0) + 1, example: v.repairs[r.kind]?.example ?? r.message };
      return;
    }
    if (attempt >= 6) { v.auditAnomalies++; fail('the audit is empty', `the audit could not run: ${r.status} ${JSON.stringify(r.json)}`); return; }
    await new Promise((res) => setTimeout(res, 2000));
  }
}

/** Checks after the fleet stopped: no process of the run left, no queue but its topics, no stray file. */
export async function checkTeardown(c: ChaosCluster, v: Verdict): Promise<void> {
  const fail = (invariant: string, detail: string) => { v.leaked++; v.violations.push({ invariant, detail, migrationIds: [] }); };
  for (const p of c.group.all) if (!p.exited) fail('no leaked process', `${p.name} (pid ${p.child.pid}) still runs`);
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  for (const line of ps.split('\n')) if (line.includes(c.dir) || line.includes(c.exchange)) fail('no leaked process', line.trim());
  const topics = new Set(['conductor', 'dead-letter', ...c.hosts.map((h) => `compute.${h}`)].map((t) => `${c.exchange}.${t}`));
  // Reply queues of SIGKILLed processes expire on their own (60 s unused); a cleanly stopped process deletes its own.
  const killedPids = new Set(c.group.all.filter((p) => p.child.signalCode === 'SIGKILL').map((p) => String(p.child.pid)));
  for (const q of await c.queues()) {
    if (topics.has(q)) continue;
    const pid = /\.(\d+)\.[0-9a-f]{8}$/.exec(q)?.[1];
    if (pid && killedPids.has(pid)) continue;
    fail('no leaked queue', q);
  }
  for (const host of c.hosts) {
    const dir = `${c.dir}/state/${host}`;
    const stray = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tmp')) : [];
    for (const f of stray) fail('no leaked file', `${dir}/${f}`);
  }
}
