/**
 * A MigrationFabric across processes, over TCP: the destination listens on an ephemeral port and the
 * URI names it ("tcp:127.0.0.1:PORT"), so nothing else needs to be shared. The source keeps one
 * connection open for the whole copy, as QEMU does; the destination closing it (rollback, crash)
 * shows at the source's next pass. At switch-over the source sends the guest state as one JSON line
 * and waits for "ok".
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { streamError, type GuestTransfer, type IncomingEndpoint, type MigrationFabric, type MigrationStream } from './fake-fabric.js';

export interface TcpFabricOptions {
  /** Address the destination listens on and names in its URI. Default 127.0.0.1. */
  readonly address?: string;
  /** Longest a switch-over hand-over may take. Default 5000 ms. */
  readonly finishTimeoutMs?: number;
  readonly log?: (msg: string) => void;
}

interface Listener {
  readonly server: Server;
  readonly sockets: Set<Socket>;
}

export class TcpFabric implements MigrationFabric {
  readonly #address: string;
  readonly #finishTimeoutMs: number;
  readonly #log: (msg: string) => void;
  readonly #listeners = new Map<string, Listener>();

  constructor(o: TcpFabricOptions = {}) {
    this.#address = o.address ?? '127.0.0.1';
    this.#finishTimeoutMs = o.finishTimeoutMs ?? 5000;
    this.#log = o.log ?? (() => undefined);
  }

  async listen(key: string, ep: IncomingEndpoint): Promise<string> {
    const sockets = new Set<Socket>();
    let uri = '';
    const server = createServer((sock) => this.#serve(sock, ep, sockets, () => this.close(uri)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.#address, () => resolve());
    });
    server.on('error', (e) => this.#log(`migration listener for ${key} failed: ${e.message}`));
    const addr = server.address();
    if (!addr || typeof addr !== 'object') throw streamError(key, 'listener has no address');
    uri = `tcp:${this.#address}:${addr.port}`;
    this.#listeners.set(uri, { server, sockets });
    return uri;
  }

  close(uri: string): void {
    const l = this.#listeners.get(uri);
    if (!l) return;
    this.#listeners.delete(uri);
    l.server.close();
    for (const s of l.sockets) s.destroy();
  }

  /** Closes every listener (process shutdown). */
  closeAll(): void {
    for (const uri of [...this.#listeners.keys()]) this.close(uri);
  }

  open(uri: string): Promise<MigrationStream> {
    const m = /^tcp:(.+):(\d+)$/.exec(uri);
    if (!m) return Promise.reject(streamError(uri, 'not a tcp:HOST:PORT address'));
    return new Promise((resolve, reject) => {
      const sock = createConnection({ host: m[1]!, port: Number(m[2]), noDelay: true });
      sock.once('error', (e) => reject(streamError(uri, `${e.message} (destination not listening)`)));
      sock.once('connect', () => {
        sock.removeAllListeners('error');
        resolve(new TcpStream(uri, sock, this.#finishTimeoutMs));
      });
    });
  }

  /** One guest per endpoint: once it arrived and "ok" went out, the endpoint is retired. */
  #serve(sock: Socket, ep: IncomingEndpoint, sockets: Set<Socket>, retire: () => void): void {
    sockets.add(sock);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        ep.accept(JSON.parse(buf.slice(0, nl)) as GuestTransfer);
        sock.end('ok\n', retire);
      } catch (e) {
        sock.end(`error ${e instanceof Error ? e.message : String(e)}\n`);
      }
    });
  }
}

class TcpStream implements MigrationStream {
  #alive = true;

  constructor(private readonly uri: string, private readonly sock: Socket, private readonly timeoutMs: number) {
    sock.setEncoding('utf8');
    sock.on('close', () => { this.#alive = false; });
    sock.on('error', () => { this.#alive = false; });
  }

  get alive(): boolean {
    return this.#alive;
  }

  finish(state: GuestTransfer): Promise<void> {
    if (!this.#alive) return Promise.reject(streamError(this.uri, 'connection reset (destination went away)'));
    return new Promise((resolve, reject) => {
      let answer = '';
      const timer = setTimeout(() => this.sock.destroy(), this.timeoutMs);
      this.sock.on('data', (c: string) => { answer += c; });
      this.sock.once('close', () => {
        clearTimeout(timer);
        if (answer.startsWith('ok')) resolve();
        else reject(streamError(this.uri, answer.trim() || 'connection closed before the destination confirmed'));
      });
      this.sock.write(`${JSON.stringify(state)}\n`);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
