/** Human output for the client: tables (the same layout as the journal) and JSON for --json. */
import { formatTable } from '../journal-format.js';

export { formatTable };

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A Field/Value table of one resource, nested values as compact JSON, in the resource's own key order. */
export function formatFields(resource: Record<string, unknown>): string {
  return formatTable(['field', 'value'], Object.entries(resource).map(([k, v]) => [k, cell(v)]));
}

/** One table from a list of resources, with chosen columns: [header, getter]. */
export function formatList<T>(items: readonly T[], columns: readonly (readonly [string, (item: T) => unknown])[]): string {
  if (items.length === 0) return '(none)';
  return formatTable(columns.map((c) => c[0]), items.map((it) => columns.map(([, get]) => cell(get(it)))));
}

export const MIB = 1024 * 1024;

export function mib(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '-' : (bytes / MIB).toFixed(0);
}
