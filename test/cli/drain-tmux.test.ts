/**
 * Acceptance of issue 9: `baton host drain HOST --wait` draws its progress bar in a real terminal. A
 * detached tmux session (on its own socket) runs the command against `baton up --slow-migrations`, where
 * each copy of a small guest lasts several seconds and one migration leaves a host at a time (the default
 * limit); the pane is captured until the command exits.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { killClients, MAIN, REPO, runBaton, startBatonUp, type RunningBaton } from './support/baton-process.js';

const SOCKET = `baton-drain-test-${process.pid}`;
const SESSION = `baton-drain-${process.pid}-${Date.now()}`;

function tmux(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync('tmux', ['-u', '-L', SOCKET, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { code: r.error ? -1 : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const tmuxVersion = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
const haveTmux = !tmuxVersion.error && tmuxVersion.status === 0;
const SKIP = !haveTmux && process.env.CI !== 'true' ? 'tmux is not installed (set CI=true to make this a failure)' : false;

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('host drain --wait in a terminal (tmux)', { timeout: 240_000, skip: SKIP }, () => {
  let up: RunningBaton;

  before(async () => {
    assert.ok(haveTmux, 'tmux is required for this acceptance test under CI=true, and it is not installed (/usr/bin/tmux)');
    up = await startBatonUp(['--slow-migrations']);
  });
  after(async () => {
    tmux('kill-server');
    killClients();
    await up?.stop();
  });

  it('draws the bar with instances moved, migrating and blocked while it runs, then every instance\'s outcome', async () => {
    for (const name of ['d-0', 'd-1', 'd-2']) {
      const made = await runBaton(['server', 'create', name, '--flavor', 'm1.tiny', '--host', 'compute-3', '--wait'], up.env);
      assert.equal(made.code, 0, made.stderr);
    }
    assert.equal(tmux('new-session', '-d', '-s', SESSION, '-x', '200', '-y', '50', '-c', REPO, 'bash --norc --noprofile').code, 0);
    const env = Object.entries(up.env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    const line = `${env} ${shellQuote(process.execPath)} --import tsx ${MAIN} host drain compute-3 --wait --reason 'rack move'; echo "EXIT=$?"`;
    assert.equal(tmux('send-keys', '-t', SESSION, line, 'Enter').code, 0);

    let screen = '';
    const seen = new Set<string>();
    const end = Date.now() + 180_000;
    while (Date.now() < end) {
      screen = tmux('capture-pane', '-p', '-J', '-t', SESSION).out;
      for (const l of screen.split('\n')) {
        const m = /draining compute-3 \|[█░]+\| ([0-3])\/3 moved \| 1 migrating \| ([0-2]) queued \| 0 blocked \| running/.exec(l);
        if (m && Number(m[1]) + Number(m[2]) === 2) seen.add(m[1]!);
      }
      if (/EXIT=\d+/.test(screen)) break;
      await delay(250);
    }
    assert.match(screen, /EXIT=0/, `the drain did not end with exit 0 within the bound; last screen:\n${screen}`);
    // One migrating and the rest queued (the default one-out-of-a-host limit), frame after frame.
    assert.deepEqual([...seen].sort(), ['0', '1', '2'], `the bar showed 0, 1 and 2 of 3 moved while a migration ran:\n${screen}`);
    assert.match(screen, /drain of compute-3: drained {2}3\/3 moved, 0 migrating, 0 queued, 0 pending, 0 blocked/);
    for (const name of ['d-0', 'd-1', 'd-2']) assert.match(screen, new RegExp(`^${name} .* moved .* completed .* compute-[12]`, 'm'));
    const svc = await runBaton(['host', 'list', '--json'], up.env);
    const c3 = (JSON.parse(svc.stdout) as { services: { host: string; status: string; disabled_reason: string }[] }).services.find((s) => s.host === 'compute-3')!;
    assert.deepEqual([c3.status, c3.disabled_reason], ['disabled', 'rack move']);
    const status = await runBaton(['host', 'drain', 'compute-3', '--status'], up.env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^drain of compute-3: drained/m);
  });
});
