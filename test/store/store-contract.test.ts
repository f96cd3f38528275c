/** One Store contract, run in a loop over every engine against the real databases. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { AnomalyKind, RepairKind, Severity, type AuditAnomaly, type AuditRepair } from '../../src/core/audit-report.js';
import { NO_PROGRESS } from '../../src/core/migration-status.js';
import { VersionConflict, type Store } from '../../src/store/store.js';
import { backends, type Database } from './store-backends.js';
import { host, insertMigration, instance, SMALL, seedPair, T0 } from './store-fixtures.js';
import { requireService } from './service-gate.js';

for (const backend of await backends()) {
  describe(`Store contract: ${backend.name}`, { skip: backend.gate.skip }, () => {
    let db: Database;
    let store: Store;
    before(async () => {
      requireService(backend.gate);
      db = await backend.fresh();
      store = db.store;
    });
    after(async () => { await db?.dispose(); });

    it('names its engine', () => assert.equal(store.engine, backend.name));

    it('upserts services and keeps ratios, features, big timestamps and the disabled flag', async () => {
      const h = host('svc-a');
      await store.repo.upsertService(h);
      assert.deepEqual(await store.repo.getService('svc-a'), h);
      assert.equal(await store.repo.setServiceDisabled('svc-a', true, 'maintenance'), true);
      assert.equal(await store.repo.setServiceDisabled('nope', true, null), false);
      await store.repo.upsertService({ ...h, lastHeartbeat: T0 + 10, vcpus: 32 });
      const got = await store.repo.getService('svc-a');
      assert.equal(got?.lastHeartbeat, T0 + 10);
      assert.equal(typeof got?.lastHeartbeat, 'number');
      assert.equal(got?.vcpus, 32);
      assert.equal(got?.disabled, true, 'a heartbeat does not re-enable a disabled service');
      assert.equal(got?.disabledReason, 'maintenance');
      assert.equal(await store.repo.getService('missing'), undefined);
      await store.repo.upsertService(host('svc-0'));
      assert.deepEqual((await store.repo.listServices()).map((s) => s.host).filter((n) => n.startsWith('svc-')), ['svc-0', 'svc-a']);
    });

    it('finds flavors by id or name, listed by memory', async () => {
      await store.repo.upsertFlavor({ id: 'f-big', name: 'big', vcpus: 8, memoryMb: 16_384, diskGb: 160 });
      await store.repo.upsertFlavor({ id: 'f-tiny', name: 'tiny', vcpus: 1, memoryMb: 256, diskGb: 1 });
      await store.repo.upsertFlavor({ id: 'f-tiny', name: 'tiny', vcpus: 1, memoryMb: 512, diskGb: 1 });
      assert.equal((await store.repo.getFlavor('tiny'))?.memoryMb, 512);
      assert.equal((await store.repo.getFlavor('f-big'))?.name, 'big');
      assert.equal(await store.repo.getFlavor('nope'), undefined);
      const ids = (await store.repo.listFlavors()).map((f) => f.id);
      assert.ok(ids.indexOf('f-tiny') < ids.indexOf('f-big'));
    });

    it('stores, filters, patches and deletes instances', async () => {
      await store.repo.upsertFlavor(SMALL);
      await store.repo.insertInstance(instance('i-1', 'h1', { createdAt: T0 + 1 }));
      await store.repo.insertInstance(instance('i-2', 'h2', { createdAt: T0 + 2, projectId: 'p2' }));
      await store.repo.insertInstance(instance('i-3', null, { createdAt: T0 + 3, vmState: 'building' }));
      assert.deepEqual(await store.repo.getInstance('i-1'), instance('i-1', 'h1', { createdAt: T0 + 1 }));
      assert.deepEqual((await store.repo.listInstances({ host: 'h2' })).map((i) => i.uuid), ['i-2']);
      assert.deepEqual((await store.repo.listInstances({ projectId: 'p2' })).map((i) => i.uuid), ['i-2']);
      assert.deepEqual((await store.repo.listInstances({ name: 'vm-i-3' })).map((i) => i.uuid), ['i-3']);
      await store.repo.updateInstance('i-3', { host: 'h1', vmState: 'active', taskState: 'migrating', updatedAt: T0 + 9 });
      const i3 = await store.repo.getInstance('i-3');
      assert.equal(i3?.host, 'h1');
      assert.equal(i3?.taskState, 'migrating');
      assert.equal(i3?.name, 'vm-i-3', 'fields not in the patch stay');
      assert.equal(i3?.updatedAt, T0 + 9);
      await store.repo.deleteInstance('i-2');
      assert.equal(await store.repo.getInstance('i-2'), undefined);
    });

    it('counts instances and claims per host', async () => {
      await store.repo.insertClaim({ migrationId: 9001, host: 'h1', instanceUuid: 'i-x', vcpus: 2, memoryMb: 2048, diskGb: 20 }, T0);
      await store.repo.insertClaim({ migrationId: 9002, host: 'h9', instanceUuid: 'i-y', vcpus: 1, memoryMb: 1024, diskGb: 10 }, T0);
      const all = await store.repo.hostUsage();
      // h1 holds i-1 and i-3 (m1.small each) plus the claim
      assert.deepEqual(all.get('h1'), { vcpus: 6, memoryMb: 6144, diskGb: 60, instances: 2 });
      assert.deepEqual(all.get('h9'), { vcpus: 1, memoryMb: 1024, diskGb: 10, instances: 0 });
      assert.deepEqual([...(await store.repo.hostUsage('h9')).keys()], ['h9']);
      assert.deepEqual((await store.repo.listClaims('h9')).map((c) => c.migrationId), [9002]);
      await store.repo.deleteClaim(9001);
      await store.repo.deleteClaim(9002);
      assert.deepEqual(await store.repo.listClaims(), []);
    });

    describe('migrations', () => {
      let ctx: Awaited<ReturnType<typeof seedPair>>;
      before(async () => { ctx = await seedPair(store.repo, 'm-inst'); });
      /** One instance per active migration: the database allows no second one (see the admission contract). */
      const own = async (uuid: string) => {
        const inst = instance(uuid, 'src');
        await store.repo.insertInstance(inst);
        return inst;
      };

      it('inserts with version 1 and the initial state naming its own id', async () => {
        const m = await insertMigration(store.repo, 'mig-a', ctx.inst, ctx.src);
        assert.equal(m.version, 1);
        assert.equal(m.state.migrationId, m.id);
        const got = await store.repo.getMigration(m.id);
        assert.deepEqual(got, m);
        assert.deepEqual(await store.repo.getMigrationByUuid('mig-a'), m);
        assert.deepEqual(got?.progress, NO_PROGRESS);
        assert.equal(typeof got?.createdAt, 'number');
        assert.equal(await store.repo.getMigration(999_999), undefined);
      });

      it('saves only on the expected version', async () => {
        const m = await insertMigration(store.repo, 'mig-b', await own('m-inst-b'), ctx.src);
        const progress = { ...NO_PROGRESS, memoryTotal: 8 * 2 ** 30, memoryProcessed: 5 * 2 ** 30, memoryRemaining: 3 * 2 ** 30 };
        const u = { state: { ...m.state, status: 'queued' as const }, status: 'queued' as const, destCompute: 'dst', progress,
          nextWakeup: T0 + 100, admission: 'admitted' as const, error: null, updatedAt: T0 + 1 };
        await store.repo.saveMigration(m.id, 1, u);
        await assert.rejects(store.repo.saveMigration(m.id, 1, u), (e) => e instanceof VersionConflict && e.migrationId === m.id);
        const got = await store.repo.getMigration(m.id);
        assert.equal(got?.version, 2);
        assert.equal(got?.status, 'queued');
        assert.equal(got?.destCompute, 'dst');
        assert.deepEqual(got?.progress, progress, 'byte counts beyond 32 bits survive');
        assert.equal(got?.state.status, 'queued');
      });

      it('lists with filters, newest first, pages by id and finds due and active ones', async () => {
        const c = await insertMigration(store.repo, 'mig-c', await own('m-inst-c'), ctx.src, 'dst', { nextWakeup: T0 - 10, projectId: 'pc' });
        const d = await insertMigration(store.repo, 'mig-d', ctx.inst, ctx.src, null, { nextWakeup: T0 - 20, status: 'completed' });
        const ids = (await store.repo.listMigrations()).map((m) => m.id);
        assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
        assert.deepEqual((await store.repo.listMigrations({ projectId: 'pc' })).map((m) => m.uuid), ['mig-c']);
        assert.deepEqual((await store.repo.listMigrations({ host: 'dst' })).map((m) => m.uuid), ['mig-c', 'mig-b']);
        assert.deepEqual((await store.repo.listMigrations({ status: ['completed'] })).map((m) => m.uuid), ['mig-d']);
        assert.deepEqual((await store.repo.listMigrations({ beforeId: d.id, limit: 1 })).map((m) => m.uuid), ['mig-c']);
        assert.equal((await store.repo.listMigrations({ changesSince: T0 + 1 })).length, 1);
        assert.deepEqual(await store.repo.dueMigrations(T0, 10), [d.id, c.id]);
        assert.deepEqual(await store.repo.dueMigrations(T0, 1), [d.id]);
        assert.ok(!(await store.repo.activeMigrations()).includes(d.id));
        assert.ok((await store.repo.activeMigrations()).includes(c.id));
      });

      it('journals steps once per attempt and marks them', async () => {
        const m = await insertMigration(store.repo, 'mig-e', await own('m-inst-e'), ctx.src);
        const step = { migrationId: m.id, step: 'pre_live_migration', attempt: 1, host: 'dst', status: 'sent' as const, sentAt: T0,
          ackedAt: null, doneAt: null, failedAt: null, error: null };
        await store.repo.insertStep(step);
        await store.repo.insertStep({ ...step, host: 'other' });
        await store.repo.insertStep({ ...step, step: 'check_can_live_migrate_source', sentAt: T0 - 1, host: 'src' });
        await store.repo.markStep(m.id, 'pre_live_migration', 1, 'failed', T0 + 5, 'MigrationError: boom');
        const steps = await store.repo.listSteps(m.id);
        assert.deepEqual(steps.map((s) => `${s.step}@${s.host}:${s.status}`),
          ['check_can_live_migrate_source@src:sent', 'pre_live_migration@dst:failed']);
        assert.equal(steps[1]?.failedAt, T0 + 5);
        assert.equal(steps[1]?.error, 'MigrationError: boom');
      });
    });

    describe('audit', () => {
      const anomaly = (i: number) => ({ kind: AnomalyKind.TWO_RUNNING, severity: Severity.CRITICAL, instanceUuid: `inst-${i}`,
        migrationId: i === 0 ? null : 40_000 + i, hosts: ['h1', 'h2'], message: `two copies of inst-${i}` });
      const pass = (checkedAt: number, anomalies: AuditAnomaly[]) => ({ checkedAt, conductor: 'c-1', durationMs: 42, hostsChecked: ['h1', 'h2'],
        unreachable: [{ host: 'h3', reason: 'no answer' }], anomalies });
      const repair = (at: number, kind: AuditRepair['kind'] = RepairKind.DELETE_CLAIM): AuditRepair => ({
        at, conductor: 'c-1', kind, instanceUuid: 'inst-1', migrationId: 12, host: 'h2', message: `repair at ${at}` });

      it('has no pass before the first, then keeps only the latest pass and its anomalies, in order', async () => {
        assert.equal(await store.repo.getAuditPass(), undefined);
        await store.transaction((tx) => tx.saveAuditPass(pass(T0, [anomaly(0), anomaly(1), anomaly(2)])));
        assert.deepEqual(await store.repo.getAuditPass(), pass(T0, [anomaly(0), anomaly(1), anomaly(2)]));
        await store.transaction((tx) => tx.saveAuditPass(pass(T0 + 5, [anomaly(3)])));
        assert.deepEqual(await store.repo.getAuditPass(), pass(T0 + 5, [anomaly(3)]), 'the new pass replaced the old one');
        await store.transaction((tx) => tx.saveAuditPass(pass(T0 + 9, [])));
        assert.deepEqual((await store.repo.getAuditPass())?.anomalies, [], 'a clean pass clears the anomalies');
      });

      it('a pass saved in a failed transaction leaves the previous one whole', async () => {
        await store.transaction((tx) => tx.saveAuditPass(pass(T0 + 20, [anomaly(1)])));
        await assert.rejects(store.transaction(async (tx) => {
          await tx.saveAuditPass(pass(T0 + 30, []));
          throw new Error('abort');
        }), /abort/);
        assert.deepEqual(await store.repo.getAuditPass(), pass(T0 + 20, [anomaly(1)]));
      });

      it('keeps repairs newest first, limited, and prunes them by age', async () => {
        await store.repo.insertAuditRepair(repair(T0 + 1, RepairKind.FIX_HOST));
        await store.repo.insertAuditRepair(repair(T0 + 3));
        await store.repo.insertAuditRepair({ ...repair(T0 + 2, RepairKind.DESTROY_STRAY), instanceUuid: null, migrationId: null, host: null });
        assert.deepEqual((await store.repo.listAuditRepairs(10)).map((r) => r.at), [T0 + 3, T0 + 2, T0 + 1]);
        assert.deepEqual(await store.repo.listAuditRepairs(1), [repair(T0 + 3)]);
        assert.deepEqual((await store.repo.listAuditRepairs(10))[1],
          { ...repair(T0 + 2, RepairKind.DESTROY_STRAY), instanceUuid: null, migrationId: null, host: null });
        assert.equal(await store.repo.pruneAuditRepairs(T0 + 2), 1);
        assert.deepEqual((await store.repo.listAuditRepairs(10)).map((r) => r.kind), [RepairKind.DELETE_CLAIM, RepairKind.DESTROY_STRAY]);
      });
    });

    it('rolls a failed transaction back entirely', async () => {
      await assert.rejects(store.transaction(async (tx) => {
        await tx.upsertFlavor({ id: 'f-gone', name: 'gone', vcpus: 1, memoryMb: 1, diskGb: 1 });
        await tx.insertClaim({ migrationId: 7777, host: 'h1', instanceUuid: 'x', vcpus: 1, memoryMb: 1, diskGb: 1 }, T0);
        throw new Error('abort');
      }), /abort/);
      assert.equal(await store.repo.getFlavor('f-gone'), undefined);
      assert.deepEqual(await store.repo.listClaims('h1'), []);
    });

    it('returns what a transaction returns and commits its writes', async () => {
      const r = await store.transaction(async (tx) => {
        await tx.upsertFlavor({ id: 'f-tx', name: 'tx', vcpus: 1, memoryMb: 1, diskGb: 1 });
        return (await tx.getFlavor('f-tx'))?.name;
      });
      assert.equal(r, 'tx');
      assert.equal((await store.repo.getFlavor('f-tx'))?.name, 'tx');
    });

    it('a second writer of a migration waits until the first transaction ends', async () => {
      const { inst, src } = { inst: instance('lock-inst', 'src'), src: host('src') };
      await store.repo.insertInstance(inst);
      const m = await insertMigration(store.repo, 'mig-lock', inst, src);
      // PostgreSQL: another pool, held off by the row lock. SQLite: the process's one connection, whose
      // transactions queue (a second connection in-process would block the event loop in SQLite's busy wait).
      const other = backend.name === 'postgres' ? await db.another() : store;
      const order: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((r) => { release = r; });
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => { locked = r; });
      const first = store.transaction(async (tx) => {
        await tx.getMigration(m.id, { forUpdate: true });
        locked();
        await held;
        order.push('first commits');
      });
      await isLocked;
      const second = other.transaction(async (tx) => {
        await tx.getMigration(m.id, { forUpdate: true });
        order.push('second locked');
      });
      await new Promise((r) => setTimeout(r, 150));
      order.push('released');
      release();
      await Promise.all([first, second]);
      assert.deepEqual(order, ['released', 'first commits', 'second locked']);
    });
  });
}
