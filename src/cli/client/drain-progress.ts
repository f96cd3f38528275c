/**
 * What `baton host drain --wait` shows while the drain runs, and its final report. On a terminal: a
 * cli-progress bar of the instances moved off the host, with the ones migrating and blocked and the
 * drain's status in its payload. Elsewhere (pipes, CI logs): one line per change.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { DrainInstanceView, DrainView } from '../../api/http/drain-view.js';
import { DRAIN_ENDS } from '../../core/drain.js';
import type { ComputeClient } from './compute-client.js';
import { formatList } from './output-format.js';
import { LazyBar } from './progress-view.js';

export interface DrainProgress {
  update(d: DrainView): void;
  stop(): void;
}

const FORMAT = '{label} |{bar}| {moved}/{total} moved | {migrating} migrating | {queued} queued | {blocked} blocked | {status}';

function payload(label: string, d: DrainView) {
  const c = d.counts;
  return { label, moved: String(c.moved + c.gone), total: c.total > 0 ? String(c.total) : '?', migrating: String(c.migrating),
    queued: String(c.queued), blocked: String(c.blocked), status: d.status };
}

export class DrainBar implements DrainProgress {
  readonly #bar: LazyBar<ReturnType<typeof payload>>;
  readonly #label: string;

  constructor(label: string, stream: NodeJS.WriteStream) {
    this.#label = label;
    this.#bar = new LazyBar(FORMAT, stream);
  }

  update(d: DrainView): void {
    this.#bar.show(Math.max(1, d.counts.total), d.counts.moved + d.counts.gone, payload(this.#label, d));
  }

  stop(): void {
    this.#bar.stop();
  }
}

export class DrainLines implements DrainProgress {
  readonly #label: string;
  readonly #write: (line: string) => void;
  #last = '';

  constructor(label: string, write: (line: string) => void) {
    this.#label = label;
    this.#write = write;
  }

  update(d: DrainView): void {
    const p = payload(this.#label, d);
    const line = `${p.label}: ${p.status}, ${p.moved}/${p.total} moved, ${p.migrating} migrating, ${p.queued} queued, ${p.blocked} blocked`;
    if (line === this.#last) return;
    this.#last = line;
    this.#write(line);
  }

  stop(): void { /* nothing to clear */ }
}

/** A bar on a terminal, lines otherwise. */
export function drainProgressFor(label: string, stream: NodeJS.WriteStream = process.stderr): DrainProgress {
  return stream.isTTY ? new DrainBar(label, stream) : new DrainLines(label, (l) => stream.write(`${l}\n`));
}

export function isDrainEnded(d: DrainView): boolean {
  return (DRAIN_ENDS as readonly string[]).includes(d.status);
}

/** Polls the drain until it ends, feeding the view; throws after `timeoutMs` (the drain goes on). */
export async function watchDrain(client: ComputeClient, host: string, view: DrainProgress, o: { intervalMs: number; timeoutMs: number }): Promise<DrainView> {
  const end = Date.now() + o.timeoutMs;
  for (;;) {
    const { drain } = await client.drain(host);
    view.update(drain);
    if (isDrainEnded(drain)) return drain;
    if (Date.now() > end) throw new Error(`the drain of ${host} is still ${drain.status} after ${o.timeoutMs / 1000} s (it continues on the server)`);
    await delay(o.intervalMs);
  }
}

const COLUMNS = [
  ['instance', (i: DrainInstanceView) => i.name], ['uuid', (i: DrainInstanceView) => i.instance_uuid],
  ['status', (i: DrainInstanceView) => i.status], ['migration', (i: DrainInstanceView) => i.migration_id],
  ['migration status', (i: DrainInstanceView) => i.migration_status], ['tries', (i: DrainInstanceView) => i.attempts],
  ['moved to', (i: DrainInstanceView) => i.moved_to], ['reason', (i: DrainInstanceView) => i.reason],
] as const;

export function formatDrain(d: DrainView): string {
  const c = d.counts;
  const lines = [`drain of ${d.host}: ${d.status}  ${c.moved}/${c.total} moved, ${c.migrating} migrating, ${c.queued} queued, ${c.pending} pending, ` +
    `${c.blocked} blocked${c.gone ? `, ${c.gone} deleted` : ''}  (started ${d.created_at}${d.finished_at ? `, ended ${d.finished_at}` : ''})`];
  if (d.instances.length > 0) lines.push(formatList(d.instances, COLUMNS));
  for (const b of d.blocked) lines.push(`blocked: ${b.name} (${b.instance_uuid}): ${b.reason ?? 'no reason recorded'}`);
  return lines.join('\n');
}
