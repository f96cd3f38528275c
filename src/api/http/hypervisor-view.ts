/** Nova's hypervisor views: summary, detail (usage fields before 2.88, uptime from 2.88), and servers. */
import { ZERO_USAGE, type ComputeHost, type HostUsage, type Instance } from '../../core/model.js';
import { hypervisorId, isUp, serviceId } from './host-ids.js';
import { atLeast, type Microversion } from './microversion.js';

export interface HypervisorViewContext {
  readonly v: Microversion;
  readonly ints: ReadonlyMap<string, number>;
  readonly usage: ReadonlyMap<string, HostUsage>;
  readonly now: number;
  readonly serviceDownTimeMs: number;
}

export function summaryView(c: HypervisorViewContext, h: ComputeHost): Record<string, unknown> {
  return {
    id: hypervisorId(c.v, h, c.ints), hypervisor_hostname: h.host,
    state: isUp(h, c.now, c.serviceDownTimeMs) ? 'up' : 'down', status: h.disabled ? 'disabled' : 'enabled',
  };
}

export function uptimeText(h: ComputeHost, now: number): string {
  const s = Math.max(0, Math.floor((now - h.startedAt) / 1000));
  const clock = new Date(now).toISOString().slice(11, 19);
  const days = Math.floor(s / 86_400);
  const hm = `${Math.floor((s % 86_400) / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
  return ` ${clock} up ${days} days, ${hm},  1 user,  load average: 0.00, 0.00, 0.00`;
}

function cpuInfo(v: Microversion, h: ComputeHost): unknown {
  const info = { arch: 'x86_64', model: h.cpuModel, vendor: 'Intel', features: [...h.cpuFeatures],
    topology: { cells: 1, sockets: 1, cores: h.vcpus, threads: 1 } };
  return atLeast(v, '2.28') ? info : JSON.stringify(info);
}

function usageFields(c: HypervisorViewContext, h: ComputeHost): Record<string, unknown> {
  const u = c.usage.get(h.host) ?? ZERO_USAGE;
  return {
    cpu_info: cpuInfo(c.v, h), current_workload: 0, vcpus: h.vcpus, vcpus_used: u.vcpus,
    memory_mb: h.memoryMb, memory_mb_used: u.memoryMb, free_ram_mb: h.memoryMb - u.memoryMb,
    local_gb: h.diskGb, local_gb_used: u.diskGb, free_disk_gb: h.diskGb - u.diskGb, disk_available_least: h.diskGb - u.diskGb,
    running_vms: u.instances,
  };
}

export function detailView(c: HypervisorViewContext, h: ComputeHost): Record<string, unknown> {
  return {
    ...summaryView(c, h), hypervisor_type: h.hypervisorType, hypervisor_version: h.hypervisorVersion, host_ip: h.hostIp,
    service: { host: h.host, id: serviceId(c.v, h, c.ints), disabled_reason: h.disabledReason },
    ...(atLeast(c.v, '2.88') ? { uptime: uptimeText(h, c.now) } : usageFields(c, h)),
  };
}

export function withServers(view: Record<string, unknown>, instances: readonly Instance[]): Record<string, unknown> {
  return { ...view, servers: instances.map((i) => ({ name: i.name, uuid: i.uuid })) };
}
