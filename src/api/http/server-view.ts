/** Nova's server views (list and detail), with the fields each microversion adds. */
import { createHash } from 'node:crypto';
import type { ComputeHost, Flavor, Instance } from '../../core/model.js';
import { findImage, type ImageRecord } from '../image/image-catalog.js';
import { isUp } from './host-ids.js';
import { atLeast, type Microversion } from './microversion.js';
import { isoSeconds } from './time-format.js';

export interface ServerViewContext {
  readonly base: string;
  readonly v: Microversion;
  readonly admin: boolean;
  readonly flavors: ReadonlyMap<string, Flavor>;
  readonly hosts: ReadonlyMap<string, ComputeHost>;
  readonly images: readonly ImageRecord[];
  readonly now: number;
  readonly serviceDownTimeMs: number;
}

/** Nova's status: vm_state mapped, MIGRATING while a live migration runs. */
export function serverStatus(i: Instance): string {
  if (i.vmState === 'active' && i.taskState === 'migrating') return 'MIGRATING';
  const map: Record<string, string> = { active: 'ACTIVE', building: 'BUILD', paused: 'PAUSED', error: 'ERROR', deleted: 'DELETED' };
  return map[i.vmState] ?? 'UNKNOWN';
}

export function serverLinks(base: string, id: string): { rel: string; href: string }[] {
  return [{ rel: 'self', href: `${base}/v2.1/servers/${id}` }, { rel: 'bookmark', href: `${base}/servers/${id}` }];
}

export function summaryView(base: string, i: Instance): Record<string, unknown> {
  return { id: i.uuid, name: i.name, links: serverLinks(base, i.uuid) };
}

function hostId(i: Instance): string {
  return i.host === null ? '' : createHash('sha224').update(`${i.projectId}${i.host}`).digest('hex');
}

function flavorView(c: ServerViewContext, i: Instance): Record<string, unknown> {
  const f = c.flavors.get(i.flavorId);
  if (!atLeast(c.v, '2.47')) return { id: i.flavorId, links: [{ rel: 'bookmark', href: `${c.base}/flavors/${i.flavorId}` }] };
  return { vcpus: f?.vcpus ?? 0, ram: f?.memoryMb ?? 0, disk: f?.diskGb ?? 0, ephemeral: 0, swap: 0, original_name: f?.name ?? i.flavorId, extra_specs: {} };
}

function imageView(c: ServerViewContext, i: Instance): Record<string, unknown> | string {
  const img = findImage(c.images, i.imageRef);
  const id = img?.id ?? i.imageRef;
  return id === '' ? '' : { id, links: [{ rel: 'bookmark', href: `${c.base}/images/${id}` }] };
}

function hostStatus(c: ServerViewContext, i: Instance): string {
  const h = i.host === null ? undefined : c.hosts.get(i.host);
  if (!h) return '';
  if (!isUp(h, c.now, c.serviceDownTimeMs)) return 'DOWN';
  return h.disabled ? 'MAINTENANCE' : 'UP';
}

function adminFields(c: ServerViewContext, i: Instance): Record<string, unknown> {
  const name = `instance-${i.uuid.slice(0, 8)}`;
  return {
    'OS-EXT-SRV-ATTR:host': i.host, 'OS-EXT-SRV-ATTR:hypervisor_hostname': i.host, 'OS-EXT-SRV-ATTR:instance_name': name,
    ...(atLeast(c.v, '2.3') ? { 'OS-EXT-SRV-ATTR:reservation_id': `r-${i.uuid.slice(0, 8)}`, 'OS-EXT-SRV-ATTR:launch_index': 0,
      'OS-EXT-SRV-ATTR:kernel_id': '', 'OS-EXT-SRV-ATTR:ramdisk_id': '', 'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
      'OS-EXT-SRV-ATTR:user_data': null } : {}),
    ...(atLeast(c.v, '2.3') && !atLeast(c.v, '2.90') ? { 'OS-EXT-SRV-ATTR:hostname': i.name } : {}),
    ...(atLeast(c.v, '2.16') ? { host_status: hostStatus(c, i) } : {}),
  };
}

function versionedFields(c: ServerViewContext, i: Instance): Record<string, unknown> {
  return {
    ...(atLeast(c.v, '2.9') ? { locked: false } : {}),
    ...(atLeast(c.v, '2.19') ? { description: null } : {}),
    ...(atLeast(c.v, '2.26') ? { tags: [] } : {}),
    ...(atLeast(c.v, '2.63') ? { trusted_image_certificates: null } : {}),
    ...(atLeast(c.v, '2.71') ? { server_groups: [] } : {}),
    ...(atLeast(c.v, '2.73') ? { locked_reason: null } : {}),
    ...(atLeast(c.v, '2.90') ? { 'OS-EXT-SRV-ATTR:hostname': i.name } : {}),
    ...(i.vmState === 'error' ? { fault: { code: 500, message: 'The instance could not be built.', created: isoSeconds(i.updatedAt) } } : {}),
  };
}

export function detailView(c: ServerViewContext, i: Instance): Record<string, unknown> {
  return {
    id: i.uuid, name: i.name, status: serverStatus(i), tenant_id: i.projectId, user_id: i.userId, metadata: {}, hostId: hostId(i),
    image: imageView(c, i), flavor: flavorView(c, i), created: isoSeconds(i.createdAt), updated: isoSeconds(i.updatedAt),
    addresses: {}, accessIPv4: '', accessIPv6: '', links: serverLinks(c.base, i.uuid), 'OS-DCF:diskConfig': 'MANUAL',
    progress: 0, 'OS-EXT-AZ:availability_zone': 'nova', config_drive: '', key_name: null,
    'OS-SRV-USG:launched_at': i.vmState === 'building' ? null : isoSeconds(i.createdAt)?.replace('Z', '.000000') ?? null,
    'OS-SRV-USG:terminated_at': null, 'OS-EXT-STS:task_state': i.taskState, 'OS-EXT-STS:vm_state': i.vmState,
    'OS-EXT-STS:power_state': i.powerState, 'os-extended-volumes:volumes_attached': [], security_groups: [{ name: 'default' }],
    ...(c.admin ? adminFields(c, i) : {}),
    ...versionedFields(c, i),
  };
}
