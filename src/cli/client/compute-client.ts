/**
 * The compute API client: Nova's request and response shapes, the Keystone session and microversion
 * negotiation. Asks for `compute 2.92`; if the server supports less, it retries once with the server's
 * maximum (from the 406 message or the version document), and commands can check `microversion`.
 */
import type { ConnectionSettings } from './connection-options.js';
import { ApiError } from './client-errors.js';
import { httpJson } from './http-transport.js';
import { openSession, type Session } from './keystone-auth.js';
import type { AuditReply } from '../../api/http/audit-view.js';
import type { DrainReply } from '../../api/http/drain-view.js';
import type { JournalReply, NovaFlavor, NovaMigration, NovaServer, NovaService } from './nova-types.js';

export type Query = Record<string, string | number | undefined>;

function versionParts(v: string): [number, number] {
  const [a, b] = v.split('.').map(Number);
  return [a ?? 2, b ?? 1];
}

export function compareVersions(a: string, b: string): number {
  const [a1, a2] = versionParts(a);
  const [b1, b2] = versionParts(b);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

function withQuery(path: string, q: Query | undefined): string {
  const entries = Object.entries(q ?? {}).filter((e): e is [string, string | number] => e[1] !== undefined);
  if (entries.length === 0) return path;
  return `${path}?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}`;
}

export class ComputeClient {
  readonly #settings: ConnectionSettings;
  #session: Session | null = null;
  #microversion: string;
  #negotiated = false;

  constructor(settings: ConnectionSettings) {
    this.#settings = settings;
    this.#microversion = settings.microversion;
  }

  /** The microversion requests are sent with (after any fallback). */
  get microversion(): string {
    return this.#microversion;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    this.#session ??= await openSession(this.#settings);
    const url = `${this.#session.computeUrl}${path}`;
    const headers: Record<string, string> = {
      'OpenStack-API-Version': `compute ${this.#microversion}`,
      'X-OpenStack-Nova-API-Version': this.#microversion,
    };
    if (this.#session.token !== null) headers['X-Auth-Token'] = this.#session.token;
    try {
      return (await httpJson(method, url, headers, body)).body as T;
    } catch (e) {
      if (!this.#negotiated && e instanceof ApiError && this.#isVersionRejection(e)) {
        this.#negotiated = true;
        this.#microversion = await this.#serverMaximum(e.message);
        return this.request<T>(method, path, body);
      }
      throw e;
    }
  }

  #isVersionRejection(e: ApiError): boolean {
    return e.status === 406 || (e.status === 400 && /version/i.test(e.message) && /not supported|invalid/i.test(e.message));
  }

  /** Nova says "Version 2.92 is not supported by the API. Minimum is 2.1 and maximum is 2.79."; else ask the version document. */
  async #serverMaximum(message: string): Promise<string> {
    const m = /maximum is (\d+\.\d+)/i.exec(message);
    if (m?.[1]) return m[1];
    try {
      const doc = (await httpJson('GET', this.#session!.computeUrl, {})).body as { version?: { version?: string } };
      const v = doc.version?.version;
      if (v && /^\d+\.\d+$/.test(v)) return compareVersions(v, this.#settings.microversion) < 0 ? v : this.#settings.microversion;
    } catch { /* no version document: fall back to the base version */ }
    return '2.1';
  }

  supports(version: string): boolean {
    return compareVersions(this.#microversion, version) >= 0;
  }

  get<T>(path: string, q?: Query): Promise<T> {
    return this.request<T>('GET', withQuery(path, q));
  }

  // Servers
  async listServers(q?: Query): Promise<NovaServer[]> {
    return (await this.get<{ servers: NovaServer[] }>('/servers/detail', q)).servers;
  }
  async getServer(id: string): Promise<NovaServer> {
    return (await this.get<{ server: NovaServer }>(`/servers/${encodeURIComponent(id)}`)).server;
  }
  async createServer(server: Record<string, unknown>): Promise<NovaServer> {
    return (await this.request<{ server: NovaServer }>('POST', '/servers', { server })).server;
  }
  async deleteServer(id: string): Promise<void> {
    await this.request('DELETE', `/servers/${encodeURIComponent(id)}`);
  }
  async listFlavors(): Promise<NovaFlavor[]> {
    return (await this.get<{ flavors: NovaFlavor[] }>('/flavors/detail')).flavors;
  }

  // Live migration
  async liveMigrate(serverId: string, host: string | null): Promise<void> {
    await this.request('POST', `/servers/${encodeURIComponent(serverId)}/action`, { 'os-migrateLive': { host, block_migration: 'auto' } });
  }
  async serverMigrations(serverId: string): Promise<NovaMigration[]> {
    return (await this.get<{ migrations: NovaMigration[] }>(`/servers/${encodeURIComponent(serverId)}/migrations`)).migrations;
  }
  async listMigrations(q?: Query): Promise<NovaMigration[]> {
    return (await this.get<{ migrations: NovaMigration[] }>('/os-migrations', q)).migrations;
  }
  async abortMigration(serverId: string, migrationId: number): Promise<void> {
    await this.request('DELETE', `/servers/${encodeURIComponent(serverId)}/migrations/${migrationId}`);
  }
  async forceComplete(serverId: string, migrationId: number): Promise<void> {
    await this.request('POST', `/servers/${encodeURIComponent(serverId)}/migrations/${migrationId}/action`, { force_complete: null });
  }
  async journal(migrationId: number): Promise<JournalReply> {
    return this.get<JournalReply>(`/baton/migrations/${migrationId}/journal`);
  }

  // Baton's audit: run a pass (POST) or read the latest (GET).
  async audit(run: boolean): Promise<AuditReply> {
    return run ? this.request<AuditReply>('POST', '/baton/audit') : this.get<AuditReply>('/baton/audit');
  }

  // Baton's server-side drain of a host: start (POST), follow (GET), cancel (DELETE).
  async startDrain(host: string, reason: string | null): Promise<DrainReply> {
    return this.request<DrainReply>('POST', `/baton/hosts/${encodeURIComponent(host)}/drain`, reason === null ? undefined : { drain: { reason } });
  }
  async drain(host: string): Promise<DrainReply> {
    return this.get<DrainReply>(`/baton/hosts/${encodeURIComponent(host)}/drain`);
  }
  async cancelDrain(host: string): Promise<DrainReply> {
    return this.request<DrainReply>('DELETE', `/baton/hosts/${encodeURIComponent(host)}/drain`);
  }

  // Compute services (hosts)
  async listServices(q?: Query): Promise<NovaService[]> {
    return (await this.get<{ services: NovaService[] }>('/os-services', q)).services;
  }
  /** Enables or disables scheduling to a host: PUT /os-services/{uuid} from 2.53, the older host/binary form before. */
  async setServiceStatus(svc: NovaService, enabled: boolean, reason: string | null): Promise<NovaService> {
    if (this.supports('2.53')) {
      const body: Record<string, unknown> = { status: enabled ? 'enabled' : 'disabled' };
      if (!enabled && reason !== null) body.disabled_reason = reason;
      return (await this.request<{ service: NovaService }>('PUT', `/os-services/${encodeURIComponent(String(svc.id))}`, body)).service;
    }
    const action = enabled ? 'enable' : reason !== null ? 'disable-log-reason' : 'disable';
    const body: Record<string, unknown> = { host: svc.host, binary: svc.binary };
    if (action === 'disable-log-reason') body.disabled_reason = reason;
    const reply = await this.request<{ service: Partial<NovaService> }>('PUT', `/os-services/${action}`, body);
    return { ...svc, ...reply.service };
  }
}
