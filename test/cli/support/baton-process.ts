/**
 * Test helpers: `baton up` as a child process on a free port, and client commands run as child
 * processes against it, the way an operator runs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const MAIN = 'src/cli/main.ts';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface RunningBaton {
  readonly port: number;
  readonly authUrl: string;
  /** Environment for client commands: credentials of the embedded admin. */
  readonly env: Record<string, string>;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `baton up --ephemeral --api-port <free port> ...extra` and resolves once it prints its "running" line. */
export async function startBatonUp(extra: readonly string[] = [], timeoutMs = 60_000): Promise<RunningBaton> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN, 'up', '--ephemeral', '--api-port', String(port), ...extra], {
    cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`baton up did not print "running" within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const check = () => { if (/running/.test(out)) { clearTimeout(timer); resolve(); } };
      child.stdout!.on('data', check);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`baton up exited with ${code}:\n${out}`)); });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const authUrl = `http://127.0.0.1:${port}/identity/v3`;
  return {
    port, authUrl, stop, output: () => out,
    env: { OS_AUTH_URL: authUrl, OS_USERNAME: 'admin', OS_PASSWORD: 'admin', OS_PROJECT_NAME: 'admin' },
  };
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();

/** Runs `baton ...args` to completion (bounded) with the given environment on top of a clean one. */
export function runBaton(args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<RunResult> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OS_') && k !== 'BATON_NO_AUTH') base[k] = v;
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...base, ...env } });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(t);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Kills client commands still running (a test that failed half-way). */
export function killClients(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}
