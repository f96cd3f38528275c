/**
 * Watches one guest's QEMUs on several hosts from the outside, through each QEMU's observer monitor
 * (observe.sock), so that it keeps seeing them while their compute agents are dead or restarting. It
 * samples `query-status` on every host and remembers the most QEMUs ever found running at once, and it
 * checks from the serial logs that the guest's counter never advanced on two hosts at once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QmpClient } from '../../src/compute/drivers/qemu/qmp-client.js';
import { readSerial } from './qemu-harness.js';

interface Sample {
  readonly at: number;
  readonly states: Record<string, string>;
}

export class GuestObserver {
  readonly samples: Sample[] = [];
  readonly #dirs: Record<string, string>;
  readonly #clients = new Map<string, QmpClient>();
  #timer: NodeJS.Timeout | null = null;
  #busy = false;

  /** `stateDirs`: each host's qemu state dir; the guest's files are under <dir>/instances/<uuid>/. */
  constructor(readonly uuid: string, stateDirs: Record<string, string>) {
    this.#dirs = Object.fromEntries(Object.entries(stateDirs).map(([h, d]) => [h, join(d, 'instances', uuid)]));
  }

  start(everyMs = 50): void {
    this.#timer = setInterval(() => void this.#sample(), everyMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    while (this.#busy) await new Promise((r) => setTimeout(r, 10));
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  /** The hosts whose QEMU ran the guest in one sample, for the sample with the most. */
  maxRunning(): { count: number; sample: Sample | null } {
    let best: { count: number; sample: Sample | null } = { count: 0, sample: null };
    for (const s of this.samples) {
      const n = Object.values(s.states).filter((x) => x === 'running').length;
      if (n > best.count) best = { count: n, sample: s };
    }
    return best;
  }

  /** Current run state per host (QEMU's own word), hosts without a QEMU left out. */
  async states(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [host, dir] of Object.entries(this.#dirs)) {
      const state = await this.#status(host, dir);
      if (state !== null) out[host] = state;
    }
    return out;
  }

  /**
   * The guest's counter lines per host. A guest that ran on two hosts at once prints the same counter
   * values on both (two copies of one memory continue independently); one that moved prints on the
   * destination only values above the last one the source printed.
   */
  counterOverlap(): string | null {
    const logs = Object.entries(this.#dirs).map(([host, dir]) => ({ host, counters: readSerial(join(dir, 'serial.log')).counters }))
      .filter((l) => l.counters.length > 0);
    for (const a of logs) {
      for (const b of logs) {
        if (a.host >= b.host) continue;
        const seen = new Set(a.counters);
        const both = b.counters.filter((c) => seen.has(c));
        if (both.length > 0) return `counter values printed on both ${a.host} and ${b.host}: ${both.slice(0, 5).join(', ')}`;
      }
    }
    return null;
  }

  /**
   * Hosts are asked one after the other, so a switch-over between two questions could look like two
   * running copies. A host counts as running only if a second question, asked after every other host
   * answered, still finds it running: two hosts confirmed that way really ran at the same moment.
   */
  async #sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const first = await this.states();
      const states: Record<string, string> = { ...first };
      for (const [host, state] of Object.entries(first)) {
        if (state !== 'running') continue;
        const again = await this.#status(host, this.#dirs[host]!);
        states[host] = again === 'running' ? 'running' : `running->${again ?? 'gone'}`;
      }
      this.samples.push({ at: Date.now(), states });
    } finally {
      this.#busy = false;
    }
  }

  async #status(host: string, dir: string): Promise<string | null> {
    const sock = join(dir, 'observe.sock');
    let c = this.#clients.get(host);
    if (!c) {
      if (!existsSync(sock)) return null;
      try {
        c = await QmpClient.connect(sock, 500);
      } catch {
        return null;
      }
      this.#clients.set(host, c);
    }
    try {
      return (await c.execute<{ status: string }>('query-status')).status;
    } catch {
      // That QEMU exited (or a new one replaced it): reconnect on the next sample.
      c.close();
      this.#clients.delete(host);
      return null;
    }
  }
}
