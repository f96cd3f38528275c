/** Stable UUIDs derived from names (SHA-1, version-5 layout), for the ids Nova exposes for services and hypervisors. */
import { createHash } from 'node:crypto';

export function nameUuid(kind: string, name: string): string {
  const h = createHash('sha1').update(`baton:${kind}:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
