/**
 * One QEMU process and its QMP connection: either spawned here (no shell) or attached to after an agent
 * restart (by pid and QMP socket). A spawned QEMU with a stderr file is detached from the agent's process
 * group, so it can outlive the agent; stopping is QMP `quit`, then SIGKILL if it does not exit in time.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { QmpClient } from './qmp-client.js';

export interface QemuProcessOptions {
  readonly binary: string;
  readonly args: readonly string[];
  readonly qmpSocket: string;
  /** How long to wait for the QMP socket to accept connections. */
  readonly startTimeoutMs: number;
  /** Where QEMU's stderr goes. With it, QEMU is detached and survives the agent; without it, stderr is piped. */
  readonly stderrPath?: string;
}

const STDERR_TAIL = 4096;
/** How often an attached QEMU (not our child) is checked for having exited. */
const ATTACHED_POLL_MS = 200;

type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class QemuProcess {
  readonly #pid: number | undefined;
  readonly #stderrPath: string | undefined;
  #stderr = '';
  #exit: Exit | null = null;
  readonly #exited: Promise<void>;
  #markExited!: (e: Exit) => void;
  #qmp: QmpClient | null = null;

  private constructor(pid: number | undefined, stderrPath: string | undefined) {
    this.#pid = pid;
    this.#stderrPath = stderrPath;
    this.#exited = new Promise((resolve) => {
      this.#markExited = (e) => { this.#exit ??= e; resolve(); };
    });
  }

  /** Spawns QEMU and connects to its QMP socket; kills the process if the connection cannot be made. */
  static async start(opts: QemuProcessOptions): Promise<QemuProcess> {
    const fd = opts.stderrPath ? openSync(opts.stderrPath, 'a', 0o600) : null;
    const child = spawn(opts.binary, [...opts.args], { stdio: ['ignore', 'ignore', fd ?? 'pipe'], shell: false, detached: fd !== null });
    if (fd !== null) { closeSync(fd); child.unref(); }
    const proc = new QemuProcess(child.pid, opts.stderrPath);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => { proc.#stderr = (proc.#stderr + s).slice(-STDERR_TAIL); });
    child.once('exit', (code, signal) => proc.#markExited({ code, signal }));
    child.once('error', (err) => { proc.#stderr += `\n${err.message}`; proc.#markExited({ code: null, signal: null }); });
    await proc.#connect(opts.qmpSocket, opts.startTimeoutMs);
    return proc;
  }

  /** Attaches to a QEMU this agent did not start (left running by a previous agent); throws if it is gone. */
  static async attach(pid: number, qmpSocket: string, stderrPath: string | undefined, timeoutMs: number): Promise<QemuProcess> {
    if (!isAlive(pid)) throw new Error(`QEMU pid ${pid} is not running`);
    const proc = new QemuProcess(pid, stderrPath);
    const poll = setInterval(() => { if (!isAlive(pid)) { clearInterval(poll); proc.#markExited({ code: null, signal: null }); } }, ATTACHED_POLL_MS);
    poll.unref();
    await proc.#connect(qmpSocket, timeoutMs);
    return proc;
  }

  async #connect(qmpSocket: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#exit) throw new Error(`QEMU exited during start (${this.describeExit()}): ${this.stderrTail.trim()}`);
      try {
        this.#qmp = await QmpClient.connect(qmpSocket, Math.max(500, deadline - Date.now()));
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          await this.kill();
          throw new Error(`QEMU QMP socket not ready: ${(err as Error).message}; ${this.stderrTail.trim()}`);
        }
        await delay(20);
      }
    }
  }

  get pid(): number | undefined {
    return this.#pid;
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
    if (!this.#stderrPath) return this.#stderr;
    try {
      const size = statSync(this.#stderrPath).size;
      return readFileSync(this.#stderrPath, 'utf8').slice(Math.max(0, size - STDERR_TAIL));
    } catch {
      return '';
    }
  }

  describeExit(): string {
    if (!this.#exit) return 'running';
    return this.#exit.signal ? `signal ${this.#exit.signal}` : this.#exit.code === null ? 'exited' : `exit code ${this.#exit.code}`;
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
    if (this.alive && this.#pid !== undefined) {
      try {
        process.kill(this.#pid, 'SIGKILL');
      } catch {
        this.#markExited({ code: null, signal: 'SIGKILL' });
      }
    }
    await this.#exited;
    this.#qmp?.close();
  }

  /** Lets go of QEMU without stopping it (agent shutdown that leaves guests running). */
  detach(): void {
    this.#qmp?.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
