/**
 * Compute microversions: parsing the two request headers, comparing, and the advertised range.
 * Without a header a request is 2.1; `latest` means the maximum; outside min..max is a 406.
 */
import { ApiError, badRequest } from './api-errors.js';

export interface Microversion {
  readonly major: number;
  readonly minor: number;
}

export const MIN_VERSION: Microversion = { major: 2, minor: 1 };
/** novaclient caps at 2.92, and `openstack --os-compute-api-version 2.latest` sends 2.92. */
export const MAX_VERSION: Microversion = { major: 2, minor: 92 };

export const NEW_HEADER = 'openstack-api-version';
export const LEGACY_HEADER = 'x-openstack-nova-api-version';

export function formatVersion(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}

export function compareVersions(a: Microversion, b: Microversion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** True when `v` is at least `min` (and, if given, at most `max`), both written "2.NN". */
export function atLeast(v: Microversion, min: string, max?: string): boolean {
  if (compareVersions(v, parseVersionString(min)) < 0) return false;
  return max === undefined || compareVersions(v, parseVersionString(max)) <= 0;
}

function parseVersionString(s: string): Microversion {
  const m = /^([1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/.exec(s.trim());
  if (!m) throw badRequest(`API Version String ${s.slice(0, 64)} is of invalid format. Must be of format MajorNum.MinorNum.`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

type HeaderValue = string | string[] | undefined;

function firstValue(h: HeaderValue): string | undefined {
  return Array.isArray(h) ? h.join(',') : h;
}

/** The compute entry of `OpenStack-API-Version: compute 2.60[, image 2.5]`, if there is one. */
function computeEntry(header: string): string | undefined {
  for (const part of header.split(',')) {
    const [service, version, ...rest] = part.trim().split(/\s+/);
    if (service?.toLowerCase() === 'compute' && version !== undefined && rest.length === 0) return version;
  }
  return undefined;
}

/** The version a request asks for. The new header wins over the legacy one, as in Nova. */
export function negotiate(newHeader: HeaderValue, legacyHeader: HeaderValue): Microversion {
  const fromNew = firstValue(newHeader);
  const requested = (fromNew !== undefined ? computeEntry(fromNew) : undefined) ?? firstValue(legacyHeader);
  if (requested === undefined || requested.trim() === '') return MIN_VERSION;
  if (requested.trim().toLowerCase() === 'latest') return MAX_VERSION;
  const v = parseVersionString(requested);
  if (compareVersions(v, MIN_VERSION) < 0 || compareVersions(v, MAX_VERSION) > 0) {
    throw new ApiError(406, `Version ${formatVersion(v)} is not supported by the API. Minimum is ${formatVersion(MIN_VERSION)} and maximum is ${formatVersion(MAX_VERSION)}.`);
  }
  return v;
}

/** Response headers that echo the version used. */
export function versionHeaders(v: Microversion): Record<string, string> {
  return {
    'OpenStack-API-Version': `compute ${formatVersion(v)}`,
    'X-OpenStack-Nova-API-Version': formatVersion(v),
    Vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
  };
}
