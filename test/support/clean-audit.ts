/**
 * The acceptance check every end-to-end scenario ends with: a reconcile/audit pass finds no anomaly and
 * has nothing to repair. A scenario that left a stray copy, a leaked claim or a wrong record fails here.
 */
import assert from 'node:assert/strict';
import type { AuditPass, AuditRepair } from '../../src/core/audit-report.js';
import type { Store } from '../../src/store/store.js';

export interface Audited {
  readonly conductor: { runAudit(): Promise<AuditPass> };
  readonly store: Store;
}

/** Runs `fn` and returns the repairs recorded meanwhile, oldest first. */
export async function repairsDuring<T>(store: Store, fn: () => Promise<T>): Promise<{ result: T; repairs: AuditRepair[] }> {
  const count = async () => (await store.repo.listAuditRepairs(100_000)).length;
  const before = await count();
  const result = await fn();
  const after = await store.repo.listAuditRepairs(100_000);
  return { result, repairs: after.slice(0, after.length - before).reverse() };
}

export async function assertCleanAudit(c: Audited): Promise<AuditPass> {
  const { result: pass, repairs } = await repairsDuring(c.store, () => c.conductor.runAudit());
  assert.deepEqual(pass.anomalies.map((a) => `${a.kind}: ${a.message}`), [], 'the audit finds no anomaly');
  assert.deepEqual(repairs.map((r) => r.message), [], 'the audit had nothing to repair');
  return pass;
}
