/**
 * Acceptance of issue 3: `baton live-migrate SERVER --wait` draws its progress bar in a real terminal.
 * A detached tmux session (on its own socket) runs the command; the pane is captured until the journal
 * appears. Against `baton up --slow-migrations`, so the copy lasts long enough to be seen.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { killClients, MAIN, REPO, runBaton, startBatonUp, type RunningBaton } from './support/baton-process.js';

const SOCKET = `baton-cli-test-${process.pid}`;
const SESSION = `baton-cli-${process.pid}-${Date.now()}`;

function tmux(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync('tmux', ['-u', '-L', SOCKET, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { code: r.error ? -1 : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const tmuxVersion = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
const haveTmux = !tmuxVersion.error && tmuxVersion.status === 0;
const inCi = process.env.CI === 'true';
const SKIP = !haveTmux && !inCi ? 'tmux is not installed (set CI=true to make this a failure)' : false;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe('live-migrate --wait in a terminal (tmux)', { timeout: 180_000, skip: SKIP }, () => {
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

  it('draws the bar with MiB and the status while it runs, then the journal', async () => {
    // demo-1 (seeded by baton up on compute-1, in project demo): the admin's name lookup has to cross projects.
    const started = tmux('new-session', '-d', '-s', SESSION, '-x', '200', '-y', '50', '-c', REPO, 'bash --norc --noprofile');
    assert.equal(started.code, 0, `tmux new-session failed: ${started.out}`);
    const env = Object.entries(up.env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    const line = `${env} ${shellQuote(process.execPath)} --import tsx ${MAIN} live-migrate demo-1 --host compute-2 --wait; echo "EXIT=$?"`;
    assert.equal(tmux('send-keys', '-t', SESSION, line, 'Enter').code, 0);

    let screen = '';
    // The most advanced frame drawn while the copy was running (not yet complete).
    let barWhileRunning = '';
    let bestPercent = 0;
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      screen = tmux('capture-pane', '-p', '-J', '-t', SESSION).out;
      for (const l of screen.split('\n')) {
        const m = /live-migrating demo-1 \|[█░]+\| +(\d+)% \| \d+\/\d+ MiB \| remaining \d+ MiB \| running/.exec(l);
        const pct = Number(m?.[1] ?? 0);
        if (m && pct > bestPercent && pct < 100) { bestPercent = pct; barWhileRunning = l; }
      }
      if (/EXIT=\d+/.test(screen)) break;
      await delay(250);
    }
    assert.match(screen, /EXIT=0/, `the command did not finish with 0 within the bound; last screen:\n${screen}`);
    assert.ok(barWhileRunning, `no progress bar was seen while the migration was running; last screen:\n${screen}`);
    assert.match(barWhileRunning, /█/);
    assert.match(barWhileRunning, / [1-9]\d*\/[1-9]\d* MiB /);
    assert.match(screen, /live-migrating demo-1 \|█+\| 100% \| (\d+)\/\1 MiB \| remaining 0 MiB \| completed/);
    assert.match(screen, /compute-1 -> compute-2 {2}status completed/);
    for (const step of ['pre_live_migration', 'live_migration', 'post_live_migration_at_source', 'post_live_migration_at_destination']) {
      assert.match(screen, new RegExp(`^${step}\\s+compute-\\d`, 'm'), `journal step ${step} missing:\n${screen}`);
    }
  });

  it('aborts a running migration; the journal shows it cancelled', async () => {
    const started = await runBaton(['live-migrate', 'demo-1', '--host', 'compute-3', '--json'], up.env);
    assert.equal(started.code, 0, started.stderr);
    const id = (JSON.parse(started.stdout) as { migration: { id: number } }).migration.id;
    const abort = await runBaton(['migration', 'abort', String(id)], up.env);
    assert.equal(abort.code, 0, abort.stderr);
    let shown = '';
    for (const end = Date.now() + 30_000; Date.now() < end;) {
      shown = (await runBaton(['migration', 'show', String(id)], up.env)).stdout;
      if (/status (cancelled|failed|error|completed)/.test(shown)) break;
      await delay(500);
    }
    assert.match(shown, new RegExp(`^migration ${id} .*status cancelled`, 'm'));
  });
});
