/**
 * `baton up --driver qemu` as an operator runs it: three qemu hosts on loopback, the store seeded, two
 * real guests booted and one of them live-migrated by the conductor; Ctrl-C (SIGTERM) stops every QEMU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AuditReply } from '../../src/api/http/audit-view.js';
import { runBaton } from '../cli/support/baton-process.js';
import { buildGuest, qemuPidsUnder, waitFor } from '../qemu/qemu-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');

test('baton up --driver qemu seeds three qemu hosts, boots two guests and live-migrates one with real QEMU', async (t) => {
  buildGuest();
  const stateDir = mkdtempSync('/tmp/bqe-up-');
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'up', '--driver', 'qemu', '--ephemeral',
    '--state-dir', stateDir, '--api-port', '0', '--no-auth'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BATON_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    assert.deepEqual(qemuPidsUnder(stateDir), [], 'no QEMU left after baton up stopped');
  });
  await waitFor('baton up to be running', () => {
    if (child.exitCode !== null) throw new Error(`baton up exited ${child.exitCode}:\n${out}`);
    return out.includes('running; press Ctrl-C to stop');
  }, 90_000);
  for (const line of out.split('\n')) if (line.length > 0 && !line.startsWith('{') && !line.startsWith('*')) t.diagnostic(line);
  assert.match(out, /conductor and 3 qemu \(state in .*\) compute hosts up/);
  assert.match(out, /seeded 5 flavors, 3 hosts and 2 instances; live-migrating demo-1 from compute-1/);
  assert.match(out, /status completed/);
  assert.match(out, /statuses: accepted -> queued -> preparing -> running -> post-migrating -> completed/);
  assert.deepEqual(readdirSync(stateDir).sort(), ['compute-1', 'compute-2', 'compute-3'], 'one state dir per host');
  assert.equal(qemuPidsUnder(stateDir).length, 2, 'two guests, two QEMU processes');
  assert.deepEqual(qemuPidsUnder(join(stateDir, 'compute-1')), [], 'demo-1 left compute-1');
  // As an operator would check it: the audit over the API finds nothing and repairs nothing.
  const computeUrl = /API listening on (http:\/\/\S+\/v2\.1)/.exec(out)?.[1];
  assert.ok(computeUrl, `baton up printed its API URL:\n${out}`);
  const audit = await runBaton(['audit', '--json', '--no-auth', '--os-compute-url', computeUrl], {});
  assert.equal(audit.code, 0, `${audit.stdout}${audit.stderr}`);
  const { audit: pass } = JSON.parse(audit.stdout) as AuditReply;
  assert.deepEqual([pass.hosts_checked, pass.anomalies, pass.repairs], [['compute-1', 'compute-2', 'compute-3'], [], []]);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
  assert.deepEqual(qemuPidsUnder(stateDir), [], 'SIGTERM stopped every QEMU');
});
