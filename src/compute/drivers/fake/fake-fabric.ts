/**
 * The fake hypervisors' migration network: the data plane a real hypervisor streams memory over.
 * It is not RPC; the control plane (conductor <-> compute) never uses it. A destination listens on
 * a URI in pre_live_migration, and the source delivers the guest there at switch-over.
 */
import { BatonError } from '../../../core/errors.js';

export interface IncomingEndpoint {
  /** Called at switch-over with the guest's transferred state. */
  accept(state: { uuid: string; counter: number }): void;
}

export interface MigrationFabric {
  listen(uri: string, ep: IncomingEndpoint): void;
  close(uri: string): void;
  /** Throws MigrationError when nobody listens there (destination gone). */
  connect(uri: string): IncomingEndpoint;
}

export class InMemoryFabric implements MigrationFabric {
  readonly #endpoints = new Map<string, IncomingEndpoint>();

  listen(uri: string, ep: IncomingEndpoint): void {
    this.#endpoints.set(uri, ep);
  }

  close(uri: string): void {
    this.#endpoints.delete(uri);
  }

  connect(uri: string): IncomingEndpoint {
    const ep = this.#endpoints.get(uri);
    if (!ep) throw new BatonError('MigrationError', `migration stream to ${uri} failed: connection refused (destination not listening)`);
    return ep;
  }
}
