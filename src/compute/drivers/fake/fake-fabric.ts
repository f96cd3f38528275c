/**
 * The fake hypervisors' migration network: the data plane a real hypervisor streams memory over.
 * It is not RPC; the control plane (conductor <-> compute) never uses it. In pre_live_migration the
 * destination listens and hands out a URI; the source opens a stream to it for the whole copy, and
 * at switch-over hands the guest over and waits for the destination to confirm it runs it.
 */
import { BatonError } from '../../../core/errors.js';

/** What travels at switch-over. */
export interface GuestTransfer {
  readonly uuid: string;
  readonly counter: number;
}

export interface IncomingEndpoint {
  /** Called at switch-over; once it returns, the destination runs the guest and the fabric retires the endpoint. */
  accept(state: GuestTransfer): void;
}

/** The source's end of one migration stream. */
export interface MigrationStream {
  /** False once the destination went away (rolled back, killed). */
  readonly alive: boolean;
  /** Hands the guest over; resolves when the destination confirmed, rejects with MigrationError otherwise. */
  finish(state: GuestTransfer): Promise<void>;
  close(): void;
}

export interface MigrationFabric {
  /** Opens an endpoint for an incoming guest; resolves with the URI the source streams to. */
  listen(key: string, ep: IncomingEndpoint): Promise<string>;
  /** Closes the endpoint and any stream connected to it. */
  close(uri: string): void;
  /** Connects to a destination; rejects with MigrationError when nobody listens there. */
  open(uri: string): Promise<MigrationStream>;
}

export function streamError(uri: string, why: string): BatonError {
  return new BatonError('MigrationError', `migration stream to ${uri} failed: ${why}`);
}

/** The fabric of the embedded default: every fake host lives in this process. */
export class InMemoryFabric implements MigrationFabric {
  readonly #endpoints = new Map<string, IncomingEndpoint>();

  async listen(key: string, ep: IncomingEndpoint): Promise<string> {
    const uri = `mem:${key}`;
    this.#endpoints.set(uri, ep);
    return uri;
  }

  close(uri: string): void {
    this.#endpoints.delete(uri);
  }

  async open(uri: string): Promise<MigrationStream> {
    if (!this.#endpoints.has(uri)) throw streamError(uri, 'connection refused (destination not listening)');
    const endpoints = this.#endpoints;
    return {
      get alive() { return endpoints.has(uri); },
      async finish(state) {
        const ep = endpoints.get(uri);
        if (!ep) throw streamError(uri, 'connection reset (destination went away)');
        ep.accept(state);
        endpoints.delete(uri);
      },
      close: () => undefined,
    };
  }
}
