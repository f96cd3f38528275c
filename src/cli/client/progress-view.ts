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

const FORMAT = '{label} |{bar}| {percentage}% | {value}/{total} MiB | remaining {remaining} MiB | {status}';

export class BarView implements ProgressView {
  readonly #bar: cliProgress.SingleBar;
  readonly #label: string;
  #started = false;

  constructor(label: string, stream: NodeJS.WriteStream) {
    this.#label = label;
    this.#bar = new cliProgress.SingleBar({
      format: FORMAT, stream, barsize: 30, hideCursor: true, fps: 10, etaBuffer: 20,
      barCompleteChar: '\u2588', barIncompleteChar: '\u2591',
    });
  }

  update(s: ProgressSample): void {
    const total = Math.max(1, Math.round((s.totalBytes ?? 0) / MIB));
    const done = Math.min(total, Math.round((s.processedBytes ?? 0) / MIB));
    const payload = { label: this.#label, status: s.status, remaining: Math.round((s.remainingBytes ?? 0) / MIB) };
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
    const mem = s.totalBytes ? ` (${Math.round((s.processedBytes ?? 0) / MIB)}/${Math.round(s.totalBytes / MIB)} MiB)` : '';
    this.#write(`${this.#label}: ${s.status}${mem}`);
  }

  stop(): void { /* nothing to clear */ }
}

/** A bar on a terminal, lines otherwise. */
export function progressViewFor(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  return stream.isTTY ? new BarView(label, stream) : new LineView(label, (l) => stream.write(`${l}\n`));
}
