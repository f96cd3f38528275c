/** Timestamps in the formats Nova's views use, and parsing of the changes-since/changes-before filters. */
import { badRequest } from './api-errors.js';

/** Migrations and instance actions: "2016-01-29T13:42:02.000000" (no zone, microseconds). */
export function novaTime(ms: number | null): string | null {
  if (ms === null) return null;
  return new Date(ms).toISOString().replace('Z', '').replace(/\.(\d{3})$/, '.$1000');
}

/** Servers and services: "2012-08-20T21:11:09Z". */
export function isoSeconds(ms: number | null): string | null {
  if (ms === null) return null;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An ISO 8601 time from a query string, as epoch ms; a malformed one is a 400 naming the parameter. */
export function parseIsoTime(name: string, value: string): number {
  const ok = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(value);
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value) || !value.includes(':') ? value : `${value}Z`;
  const ms = ok ? Date.parse(withZone.replace(' ', 'T')) : Number.NaN;
  if (!Number.isFinite(ms)) throw badRequest(`Invalid input for query parameters ${name}. Value: ${value.slice(0, 64)}. Not a valid ISO 8601 date-time.`);
  return ms;
}
