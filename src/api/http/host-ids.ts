/**
 * Ids Nova exposes for services and hypervisors: integers below 2.53, UUIDs from 2.53 on. The integer is
 * the host's position in name order; the service UUID is derived from the host name so it is stable.
 */
import type { ComputeHost } from '../../core/model.js';
import { nameUuid } from '../../runtime/name-uuid.js';
import type { Microversion } from './microversion.js';
import { atLeast } from './microversion.js';

export function sortedHosts(hosts: readonly ComputeHost[]): ComputeHost[] {
  return [...hosts].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

/** The integer id (position + 1 in name order) of each host. */
export function integerIds(hosts: readonly ComputeHost[]): Map<string, number> {
  return new Map(sortedHosts(hosts).map((h, i) => [h.host, i + 1]));
}

export function serviceId(v: Microversion, h: ComputeHost, ints: ReadonlyMap<string, number>): string | number {
  return atLeast(v, '2.53') ? nameUuid('service', h.host) : (ints.get(h.host) ?? 0);
}

export function hypervisorId(v: Microversion, h: ComputeHost, ints: ReadonlyMap<string, number>): string | number {
  return atLeast(v, '2.53') ? h.hypervisorId : (ints.get(h.host) ?? 0);
}

/** Finds a host by the id form the microversion uses; anything else is not found. */
export function findByHypervisorId(v: Microversion, hosts: readonly ComputeHost[], id: string): ComputeHost | undefined {
  const ints = integerIds(hosts);
  return hosts.find((h) => String(hypervisorId(v, h, ints)) === id);
}

export { nameUuid };
export { isServiceUp as isUp } from '../../core/prechecks.js';
