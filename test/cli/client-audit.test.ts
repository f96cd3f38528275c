/** `baton audit` as a child process against a real API over an embedded cluster: its output and its exit codes. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditReply } from '../../src/api/http/audit-view.js';
import type { Instance } from '../../src/core/model.js';
import { startHarness, type Harness } from '../api/api-harness.js';
import { killClients, runBaton } from './support/baton-process.js';

describe('baton audit', { timeout: 120_000 }, () => {
  let h: Harness;
  let env: Record<string, string>;
  let vm: Instance;
  const baton = (...args: string[]) => runBaton(['audit', ...args], env);

  before(async () => {
    h = await startHarness();
    env = { OS_AUTH_URL: `${h.url}/identity/v3`, OS_USERNAME: 'admin', OS_PASSWORD: 'admin', OS_PROJECT_NAME: 'admin' };
    vm = await h.boot('audited', 'compute-1');
  });
  after(async () => {
    killClients();
    await h?.close();
  });

  it('a clean cluster: exit 0, the pass summarized, nothing on stderr', async () => {
    const r = await baton();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^audit by conductor-0 at \S+ \(\d+ ms\): 3 hosts checked, 0 anomalies$/m);
    assert.equal(r.stderr, '');
    const j = await baton('--json');
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual((JSON.parse(j.stdout) as AuditReply).audit.anomalies, []);
  });

  it('anomalies: exit 3, the table on stdout, one line on stderr; --json prints the same pass', async () => {
    await h.cluster.drivers.get('compute-2')!.spawn({ uuid: vm.uuid, name: vm.name, vcpus: 1, memoryMb: 512, diskGb: 1, imageRef: 'cirros' });
    const r = await baton();
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /1 anomaly$/m);
    assert.match(r.stdout, new RegExp(`^critical\\s+two-running-copies\\s+${vm.uuid}\\s+-\\s+compute-1,compute-2\\s+instance`, 'm'));
    assert.equal(r.stderr, 'baton: audit: 1 anomaly found\n');
    const j = await baton('--json');
    assert.equal(j.code, 3);
    const { audit } = JSON.parse(j.stdout) as AuditReply;
    assert.deepEqual(audit.anomalies.map((a) => [a.kind, a.hosts]), [['two-running-copies', ['compute-1', 'compute-2']]]);
  });

  it('--last shows the stored pass without running one; the next run is clean again', async () => {
    await h.cluster.drivers.get('compute-2')!.destroy(vm.uuid);
    const last = await baton('--last');
    assert.equal(last.code, 3, 'the stored pass still has the anomaly');
    const r = await baton();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /0 anomalies$/m);
  });

  it('a member may not run the audit: exit 1 with the policy message', async () => {
    const r = await runBaton(['audit'], { ...env, OS_USERNAME: 'demo', OS_PASSWORD: 'demo', OS_PROJECT_NAME: 'demo' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^baton: audit: .*baton:audit:run/m);
  });
});
