/**
 * A MigrationFabric across processes on one machine, over loopback TCP. In pre_live_migration the
 * destination listens on an ephemeral port for the migration URI and publishes the port in a
 * rendezvous directory shared by the computes; at switch-over the source connects and sends the
 * guest state. Closing (rollback, destroy, arrival) closes the listener and withdraws the port, so a
 * source that connects to a destination that is gone is refused at once.
 *
 * The driver's fabric calls are synchronous, so the switch-over send completes after the source has
 * returned; the destination's post step sees the guest once the bytes arrive (loopback: well under a
 * millisecond, far sooner than the RPC round trip that triggers that step; the post step is retried otherwise).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { BatonError } from '../../../core/errors.js';
import type { IncomingEndpoint, MigrationFabric } from './fake-fabric.js';

export interface TcpFabricOptions {
  /** Rendezvous directory, the same for every compute on the machine. */
  readonly dir: string;
  /** Address the listeners bind. Default 127.0.0.1. */
  readonly host?: string;
  /** Longest a switch-over send may take. Default 5000 ms. */
  readonly sendTimeoutMs?: number;
  readonly log?: (msg: string) => void;
}

/** One migration stream frame: the guest state as a JSON line; the destination answers "ok\n". */
interface Frame { readonly uri: string; readonly state: { uuid: string; counter: number } }

export class TcpFabric implements MigrationFabric {
  readonly #o: Required<Omit<TcpFabricOptions, 'log'>> & Pick<TcpFabricOptions, 'log'>;
  readonly #servers = new Map<string, Server>();
  readonly #sends = new Set<Promise<void>>();

  constructor(o: TcpFabricOptions) {
    this.#o = { host: '127.0.0.1', sendTimeoutMs: 5000, ...o };
    mkdirSync(o.dir, { recursive: true });
  }

  /** Withdraws ports a crashed process of this host left behind (their listeners died with it). */
  forgetHost(host: string): void {
    const prefix = `${encodeURIComponent(`fake://${host}/`)}`;
    for (const f of readdirSync(this.#o.dir)) if (f.startsWith(prefix)) rmSync(join(this.#o.dir, f), { force: true });
  }

  listen(uri: string, ep: IncomingEndpoint): void {
    this.close(uri);
    const server = createServer((sock) => {
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('error', () => undefined);
      sock.on('data', (chunk: string) => {
        buf += chunk;
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        try {
          const frame = JSON.parse(buf.slice(0, nl)) as Frame;
          if (frame.uri !== uri) throw new Error(`stream for ${frame.uri} arrived at ${uri}`);
          ep.accept(frame.state);
          sock.end('ok\n');
        } catch (e) {
          sock.end(`error ${e instanceof Error ? e.message : String(e)}\n`);
        }
      });
    });
    server.on('error', (e) => this.#o.log?.(`migration listener for ${uri} failed: ${e.message}`));
    server.listen(0, this.#o.host, () => {
      if (this.#servers.get(uri) !== server) return; // closed before it was up
      const addr = server.address();
      if (addr && typeof addr === 'object') this.#publish(uri, addr.port);
    });
    this.#servers.set(uri, server);
  }

  close(uri: string): void {
    const server = this.#servers.get(uri);
    if (!server) return;
    this.#servers.delete(uri);
    rmSync(this.#file(uri), { force: true });
    server.close();
  }

  connect(uri: string): IncomingEndpoint {
    let port: number;
    try {
      port = Number(readFileSync(this.#file(uri), 'utf8'));
    } catch {
      throw new BatonError('MigrationError', `migration stream to ${uri} failed: connection refused (destination not listening)`);
    }
    return { accept: (state) => this.#track(this.#send(uri, port, state)) };
  }

  /** Closes every listener and waits for switch-over sends still in flight. */
  async closeAll(): Promise<void> {
    for (const uri of [...this.#servers.keys()]) this.close(uri);
    await Promise.allSettled([...this.#sends]);
  }

  #send(uri: string, port: number, state: Frame['state']): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = createConnection({ host: this.#o.host, port, noDelay: true });
      let answer = '';
      sock.setEncoding('utf8');
      sock.setTimeout(this.#o.sendTimeoutMs, () => sock.destroy(new Error(`no answer within ${this.#o.sendTimeoutMs} ms`)));
      sock.on('data', (c: string) => { answer += c; });
      sock.on('error', reject);
      sock.on('close', () => (answer.startsWith('ok') ? resolve() : reject(new Error(answer.trim() || 'connection closed'))));
      sock.write(`${JSON.stringify({ uri, state } satisfies Frame)}\n`);
    });
  }

  #track(p: Promise<void>): void {
    const t = p.catch((e: unknown) => this.#o.log?.(`switch-over send failed: ${e instanceof Error ? e.message : String(e)}`));
    this.#sends.add(t);
    void t.finally(() => this.#sends.delete(t));
  }

  #publish(uri: string, port: number): void {
    const file = this.#file(uri);
    writeFileSync(`${file}.tmp`, String(port));
    renameSync(`${file}.tmp`, file); // readers see the whole port or no file
  }

  #file(uri: string): string {
    return join(this.#o.dir, encodeURIComponent(uri));
  }
}
