/** The process config: file, environment overrides, defaults, and errors that name the bad key. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, redactedConfig } from '../../src/config/config-loader.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-config-'));
function file(content: unknown): string {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

describe('config loader', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fills every default when there is no file', () => {
    const { config, file: f } = loadConfig({ env: {} });
    assert.equal(f, null);
    assert.equal(config.transport.exchange, 'baton');
    assert.equal(config.database.url, 'sqlite:./baton-data/baton.sqlite');
    assert.equal(config.compute.reportIntervalMs, 10_000);
    assert.deepEqual(config.compute.ratios, { cpu: 16, ram: 1.5, disk: 1 });
    assert.equal(config.api.port, 8774);
    assert.deepEqual(config.conductor.workflow, {});
  });

  it('reads the file named by --config or BATON_CONFIG, and the environment wins over it', () => {
    const p = file({ transport: { url: 'amqp://u:p@127.0.0.1:5672/v' }, conductor: { tickMs: 100, workflow: { postTimeoutMs: 5000 } },
      api: { auth: { users: [{ name: 'a', password: 'b', project: 'p', roles: ['admin'] }] }, policy: { 'os_compute_api:os-migrations:index': '@' } } });
    const viaEnv = loadConfig({ env: { BATON_CONFIG: p } }).config;
    assert.equal(viaEnv.conductor.tickMs, 100);
    assert.equal(viaEnv.conductor.workflow.postTimeoutMs, 5000);
    assert.equal(viaEnv.api.auth?.tokenTtlSeconds, 3600);
    const c = loadConfig({ path: p, env: { BATON_DATABASE_URL: 'postgres://postgres:pw@127.0.0.1:5432/test', BATON__conductor__TICKMS: '50',
      BATON_API_PORT: '9000' } }).config;
    assert.equal(c.database.url, 'postgres://postgres:pw@127.0.0.1:5432/test');
    assert.equal(c.conductor.tickMs, 50);
    assert.equal(c.api.port, 9000);
    assert.equal(c.transport.url, 'amqp://u:p@127.0.0.1:5672/v');
    const red = redactedConfig(c);
    assert.equal(red.database.url, 'postgres://postgres:***@127.0.0.1:5432/test');
    assert.equal(red.api.auth?.users[0]?.password, '***');
  });

  it('names the bad key and where it came from', () => {
    assert.throws(() => loadConfig({ path: file({ transport: { prefetch: 'lots' } }), env: {} }),
      (e: Error) => e instanceof ConfigError && /"transport\.prefetch"/.test(e.message) && /config file/.test(e.message));
    assert.throws(() => loadConfig({ path: file({ conductor: { tickMS: 5 } }), env: {} }), /"conductor\.tickMS".*Unexpected property/);
    assert.throws(() => loadConfig({ env: { BATON_API_PORT: '99999' } }), /"api\.port" \(from environment BATON_API_PORT\)/);
    assert.throws(() => loadConfig({ path: file('{"transport": '), env: {} }), /is not valid JSON/);
    assert.throws(() => loadConfig({ path: join(dir, 'missing.json'), env: {} }), /cannot read config file/);
  });

  it('reads the concurrency limits, the drain settings and fake fault rules, and names a bad one', () => {
    const c = loadConfig({ path: file({ conductor: { limits: { perHostOutbound: 2, cluster: 0, hosts: { 'compute-7': { inbound: 4 } } },
      drain: { attempts: 3 } }, compute: { fake: { bandwidthMibs: 100, faults: [{ op: 'checkSource', action: 'fail', name: 'vm-9', code: 'MigrationPreCheckError' },
      { op: 'migrate.pass', action: 'delay', ms: 200, times: 5 }] } } }), env: { BATON__conductor__limits__perHostInbound: '3' } }).config;
    assert.deepEqual(c.conductor.limits, { perHostOutbound: 2, perHostInbound: 3, cluster: 0, hosts: { 'compute-7': { inbound: 4 } } });
    assert.deepEqual(c.conductor.drain, { attempts: 3 });
    assert.equal(c.compute.fake.faults?.length, 2);
    assert.throws(() => loadConfig({ path: file({ conductor: { limits: { perHost: 2 } } }), env: {} }), /"conductor\.limits\.perHost".*Unexpected property/);
    assert.throws(() => loadConfig({ path: file({ conductor: { limits: { cluster: -1 } } }), env: {} }), /"conductor\.limits\.cluster"/);
    assert.throws(() => loadConfig({ path: file({ compute: { fake: { faults: [{ op: 'reboot', action: 'fail' }] } } }), env: {} }),
      /"compute\.fake\.faults\.0\.op"/);
  });

  it('message faults (transport.faults) are off unless set, and a rate outside 0..1 is refused', () => {
    assert.equal(loadConfig({ env: {} }).config.transport.faults, undefined);
    const c = loadConfig({ path: file({ transport: { faults: { seed: 7, drop: 0.01, delay: 0.05, maxDelayMs: 3000 } } }), env: {} }).config;
    assert.deepEqual(c.transport.faults, { seed: 7, drop: 0.01, delay: 0.05, maxDelayMs: 3000 });
    assert.throws(() => loadConfig({ path: file({ transport: { faults: { seed: 7, drop: 2 } } }), env: {} }), /"transport\.faults\.drop"/);
    assert.throws(() => loadConfig({ path: file({ transport: { faults: { drop: 0.1 } } }), env: {} }), /"transport\.faults\.seed"/);
  });

  it('refuses unsupported URLs, with the password masked', () => {
    assert.throws(() => loadConfig({ env: { BATON_DATABASE_URL: 'mysql://root:hunter2@db/x' } }),
      (e: Error) => /"database\.url"/.test(e.message) && /mysql:\/\/root:\*\*\*@db\/x/.test(e.message) && !e.message.includes('hunter2'));
    assert.throws(() => loadConfig({ env: { BATON_TRANSPORT_URL: 'kafka://k:secret@h' } }),
      (e: Error) => /"transport\.url"/.test(e.message) && !e.message.includes('secret'));
    assert.throws(() => loadConfig({ env: { BATON_DATABASE_URL: 'sqlite:' } }), /names no file/);
    assert.equal(loadConfig({ env: { BATON_TRANSPORT_URL: 'memory://' } }).config.transport.url, 'memory://');
  });
});
