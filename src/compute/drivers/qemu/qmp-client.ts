/**
 * A small QMP client over a unix socket: reads the greeting, negotiates capabilities, runs commands
 * tagged with ids and hands asynchronous events to listeners. One client per QEMU process.
 */
import { connect, type Socket } from 'node:net';

export interface QmpEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
  readonly timestamp?: { seconds: number; microseconds: number };
}

/** A command QEMU answered with an error object; `qmpClass` is QEMU's error class (e.g. GenericError). */
export class QmpError extends Error {
  constructor(readonly command: string, readonly qmpClass: string, desc: string) {
    super(`QMP ${command}: ${desc}`);
    this.name = 'QmpError';
  }
}

interface Pending {
  readonly command: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class QmpClient {
  readonly #socket: Socket;
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<(e: QmpEvent) => void>();
  #buffer = '';
  #nextId = 1;
  #closed: Error | null = null;
  #greeting: ((g: unknown) => void) | null = null;
  version: string | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('QMP connection closed')));
  }

  /** Connects, waits for the greeting and leaves capabilities negotiation mode. */
  static async connect(path: string, timeoutMs = 5_000): Promise<QmpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => { s.removeAllListeners('error'); resolve(s); });
      s.once('error', reject);
    });
    const client = new QmpClient(socket);
    let timer: NodeJS.Timeout | undefined;
    try {
      const greeting = await Promise.race([
        new Promise<unknown>((resolve) => { client.#greeting = resolve; }),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('QMP greeting timed out')), timeoutMs); }),
      ]);
      const qemu = (greeting as { QMP?: { version?: { qemu?: { major: number; minor: number; micro: number } } } }).QMP?.version?.qemu;
      client.version = qemu ? `${qemu.major}.${qemu.minor}.${qemu.micro}` : null;
      await client.execute('qmp_capabilities');
      return client;
    } catch (err) {
      client.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  /** Runs one command and resolves with its `return` value; rejects with QmpError or on disconnect. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = `baton-${this.#nextId++}`;
    const msg = JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id });
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.#socket.write(`${msg}\n`);
    });
  }

  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#fail(new Error('QMP connection closed'));
    this.#socket.destroy();
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line) this.#onMessage(line);
    }
  }

  #onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // QEMU only sends JSON; a torn line after a crash is not worth failing over
    }
    if ('QMP' in msg) {
      this.#greeting?.(msg);
      this.#greeting = null;
    } else if (typeof msg.event === 'string') {
      const event = { event: msg.event, data: (msg.data ?? {}) as Record<string, unknown> };
      for (const l of this.#listeners) l(event);
    } else if (typeof msg.id === 'string') {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      const error = msg.error as { class?: string; desc?: string } | undefined;
      if (error) p.reject(new QmpError(p.command, error.class ?? 'GenericError', error.desc ?? 'unknown error'));
      else p.resolve(msg.return);
    }
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = err;
    for (const p of this.#pending.values()) p.reject(new Error(`QMP ${p.command}: ${err.message}`));
    this.#pending.clear();
  }
}
