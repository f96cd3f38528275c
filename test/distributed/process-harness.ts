/**
 * Child `baton` processes for multi-process tests: started the way an operator would
 * (`node --import tsx src/cli/main.ts ...`), awaited on their "ready" line, and always killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect } from 'amqplib';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export class BatonProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: string[] = [];
  #exited = false;

  constructor(name: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    this.name = name;
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => { for (const l of chunk.toString().split('\n')) if (l) this.output.push(l); };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.once('exit', () => { this.#exited = true; });
  }

  get exited(): boolean {
    return this.#exited || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Resolves once a line matches; rejects with the process's output if it exits or takes too long. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.output.find((l) => re.test(l));
      if (hit) return hit;
      if (this.exited) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before ${re}:\n${this.tail()}`);
      if (Date.now() > end) throw new Error(`${this.name}: no ${re} within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  tail(n = 20): string {
    return this.output.slice(-n).map((l) => `  ${this.name}| ${l}`).join('\n');
  }

  /** SIGKILL, as a crash; resolves once the process is gone. */
  async crash(): Promise<void> {
    if (this.exited) return;
    const gone = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await gone;
  }

  /** SIGSTOP: the process freezes where it is, its sockets and database sessions left open. */
  freeze(): void {
    if (!this.exited) this.child.kill('SIGSTOP');
  }

  /** SIGCONT after freeze(). */
  thaw(): void {
    if (!this.exited) this.child.kill('SIGCONT');
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    const gone = once(this.child, 'exit');
    this.thaw(); // a frozen process would hold SIGTERM pending until SIGKILL
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(t);
  }
}

export class ProcessGroup {
  readonly all: BatonProcess[] = [];

  start(name: string, args: readonly string[], env: NodeJS.ProcessEnv): BatonProcess {
    const p = new BatonProcess(name, args, env);
    this.all.push(p);
    return p;
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.all.map((p) => p.stop()));
  }

  tails(): string {
    return this.all.map((p) => p.tail(10)).join('\n');
  }
}

/** Deletes a test deployment's exchange, its topic queues and its dead-letter queue from the broker. */
export async function deleteBrokerObjects(url: string, exchange: string, topics: readonly string[]): Promise<void> {
  const c = await connect(url);
  try {
    const ch = await c.createChannel();
    for (const topic of [...topics, 'dead-letter']) await ch.deleteQueue(`${exchange}.${topic}`);
    await ch.deleteExchange(exchange);
  } finally {
    await c.close();
  }
}
