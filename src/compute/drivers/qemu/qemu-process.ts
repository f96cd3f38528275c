/**
 * One QEMU process and its QMP connection. Spawned without a shell; stopped with QMP `quit`, then SIGKILL
 * if it does not exit in time. Keeps the tail of stderr so a failed start explains itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { QmpClient } from './qmp-client.js';

export interface QemuProcessOptions {
  readonly binary: string;
  readonly args: readonly string[];
  readonly qmpSocket: string;
  /** How long to wait for the QMP socket to accept connections. */
  readonly startTimeoutMs: number;
}

const STDERR_TAIL = 4096;

export class QemuProcess {
  readonly #child: ChildProcess;
  #stderr = '';
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly #exited: Promise<void>;
  #qmp: QmpClient | null = null;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => { this.#stderr = (this.#stderr + s).slice(-STDERR_TAIL); });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => { this.#exit = { code, signal }; resolve(); });
      child.once('error', (err) => {
        this.#stderr += `\n${err.message}`;
        this.#exit ??= { code: null, signal: null };
        resolve();
      });
    });
  }

  /** Spawns QEMU and connects to its QMP socket; kills the process if the connection cannot be made. */
  static async start(opts: QemuProcessOptions): Promise<QemuProcess> {
    const child = spawn(opts.binary, [...opts.args], { stdio: ['ignore', 'ignore', 'pipe'], shell: false });
    const proc = new QemuProcess(child);
    const deadline = Date.now() + opts.startTimeoutMs;
    for (;;) {
      if (proc.#exit) throw new Error(`QEMU exited during start (${proc.describeExit()}): ${proc.stderrTail.trim()}`);
      try {
        proc.#qmp = await QmpClient.connect(opts.qmpSocket, Math.max(500, deadline - Date.now()));
        return proc;
      } catch (err) {
        if (Date.now() > deadline) {
          await proc.kill();
          throw new Error(`QEMU QMP socket not ready: ${(err as Error).message}; ${proc.stderrTail.trim()}`);
        }
        await delay(20);
      }
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get qmp(): QmpClient {
    if (!this.#qmp) throw new Error('QMP not connected');
    return this.#qmp;
  }

  get alive(): boolean {
    return this.#exit === null;
  }

  get exited(): Promise<void> {
    return this.#exited;
  }

  get stderrTail(): string {
    return this.#stderr;
  }

  describeExit(): string {
    if (!this.#exit) return 'running';
    return this.#exit.signal ? `signal ${this.#exit.signal}` : `exit code ${this.#exit.code}`;
  }

  /** Asks QEMU to quit, then kills it if it has not exited within `graceMs`. Safe to call twice. */
  async stop(graceMs = 2_000): Promise<void> {
    if (this.alive && this.#qmp && !this.#qmp.closed) {
      // `quit` may never be answered: the connection drops as QEMU exits.
      this.#qmp.execute('quit').catch(() => undefined);
    }
    let timer: NodeJS.Timeout | undefined;
    const quit = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), graceMs); }),
    ]);
    clearTimeout(timer);
    if (!quit) await this.kill();
    this.#qmp?.close();
  }

  async kill(): Promise<void> {
    if (this.alive) this.#child.kill('SIGKILL');
    await this.#exited;
    this.#qmp?.close();
  }
}
