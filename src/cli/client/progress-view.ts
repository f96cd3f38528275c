/**
 * What `live-migrate --wait` shows while it waits. On a terminal: a cli-progress bar of memory
 * transferred, with the remaining MiB and the status in its payload. Elsewhere (pipes, CI logs):
 * one line per status change, so logs stay readable.
 */
import cliProgress from 'cli-progress';
import { MIB } from './output-format.js';

export interface ProgressSample {
  readonly status: string;
  readonly totalBytes: number | null;
  readonly processedBytes: number | null;
  readonly remainingBytes: number | null;
}

export interface ProgressView {
  update(s: ProgressSample): void;
  stop(): void;
}

const FORMAT = '{label} |{bar}| {percentage}% | {moved}/{size} MiB | remaining {remaining} MiB | {status}';

/**
 * MiB on the destination so far. memory_processed_bytes counts re-sent dirty pages too and passes the
 * total, so the bar shows total - remaining; processed is the fallback when remaining is not reported.
 * Null until the copy reports a size.
 */
export function counters(s: ProgressSample): { size: number; moved: number; remaining: number } | null {
  if (!s.totalBytes || s.totalBytes <= 0) return null;
  const size = Math.max(1, Math.round(s.totalBytes / MIB));
  const remaining = s.remainingBytes !== null ? Math.round(s.remainingBytes / MIB) : Math.max(0, size - Math.round((s.processedBytes ?? 0) / MIB));
  return { size, moved: Math.min(size, Math.max(0, size - remaining)), remaining };
}

/**
 * A cli-progress bar that starts on its first update (so the first sample sets its total) and follows
 * later totals: what every `--wait` bar of the client shares.
 */
export class LazyBar<P extends object> {
  readonly #bar: cliProgress.SingleBar;
  #started = false;

  constructor(format: string, stream: NodeJS.WriteStream, options: cliProgress.Options = {}) {
    this.#bar = new cliProgress.SingleBar({ format, stream, barsize: 30, hideCursor: true, fps: 10,
      barCompleteChar: '\u2588', barIncompleteChar: '\u2591', ...options });
  }

  show(total: number, done: number, payload: P): void {
    if (!this.#started) {
      this.#bar.start(total, done, payload);
      this.#started = true;
      return;
    }
    this.#bar.setTotal(total);
    this.#bar.update(done, payload);
  }

  stop(): void {
    if (this.#started) this.#bar.stop();
  }
}

export class BarView implements ProgressView {
  readonly #bar: LazyBar<Record<string, string>>;
  readonly #label: string;

  constructor(label: string, stream: NodeJS.WriteStream) {
    this.#label = label;
    this.#bar = new LazyBar(FORMAT, stream, { etaBuffer: 20 });
  }

  update(s: ProgressSample): void {
    const c = counters(s);
    const payload = { label: this.#label, status: s.status, moved: c ? String(c.moved) : '?', size: c ? String(c.size) : '?',
      remaining: c ? String(c.remaining) : '?' };
    this.#bar.show(c?.size ?? 1, c?.moved ?? 0, payload);
  }

  stop(): void {
    this.#bar.stop();
  }
}

export class LineView implements ProgressView {
  readonly #label: string;
  readonly #write: (line: string) => void;
  #last = '';

  constructor(label: string, write: (line: string) => void) {
    this.#label = label;
    this.#write = write;
  }

  update(s: ProgressSample): void {
    if (s.status === this.#last) return;
    this.#last = s.status;
    const c = counters(s);
    const mem = c ? ` (${c.moved}/${c.size} MiB, remaining ${c.remaining} MiB)` : '';
    this.#write(`${this.#label}: ${s.status}${mem}`);
  }

  stop(): void { /* nothing to clear */ }
}

/** A bar on a terminal, lines otherwise. */
export function progressViewFor(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  return stream.isTTY ? new BarView(label, stream) : new LineView(label, (l) => stream.write(`${l}\n`));
}
