/**
 * Policy: Nova's rule names with Nova's defaults (admin-only for live migration, migrations, services and
 * hypervisors; the owner or an admin for servers). Each rule can be overridden from the config file.
 *
 * A rule is one or more checks joined by " or ": "rule:admin_api", "rule:admin_or_owner", "role:<name>",
 * "project_id:%(project_id)s", "@" (anyone) or "!" (no one).
 */
import { isAdmin, type Principal } from './auth-config.js';

export const PolicyRule = {
  MIGRATE_LIVE: 'os_compute_api:os-migrate-server:migrate_live',
  SERVER_MIGRATIONS_INDEX: 'os_compute_api:servers:migrations:index',
  SERVER_MIGRATIONS_SHOW: 'os_compute_api:servers:migrations:show',
  SERVER_MIGRATIONS_DELETE: 'os_compute_api:servers:migrations:delete',
  SERVER_MIGRATIONS_FORCE_COMPLETE: 'os_compute_api:servers:migrations:force_complete',
  MIGRATIONS_INDEX: 'os_compute_api:os-migrations:index',
  SERVICES_LIST: 'os_compute_api:os-services:list',
  SERVICES_UPDATE: 'os_compute_api:os-services:update',
  HYPERVISORS_LIST: 'os_compute_api:os-hypervisors:list',
  HYPERVISORS_DETAIL: 'os_compute_api:os-hypervisors:list-detail',
  HYPERVISORS_SHOW: 'os_compute_api:os-hypervisors:show',
  HYPERVISORS_UPTIME: 'os_compute_api:os-hypervisors:uptime',
  HYPERVISORS_SEARCH: 'os_compute_api:os-hypervisors:search',
  HYPERVISORS_SERVERS: 'os_compute_api:os-hypervisors:servers',
  AGGREGATES_INDEX: 'os_compute_api:os-aggregates:index',
  SERVERS_INDEX: 'os_compute_api:servers:index',
  SERVERS_ALL_TENANTS: 'os_compute_api:servers:index:get_all_tenants',
  SERVERS_DETAIL: 'os_compute_api:servers:detail',
  SERVERS_SHOW: 'os_compute_api:servers:show',
  SERVERS_SHOW_HOST: 'os_compute_api:os-extended-server-attributes',
  SERVERS_CREATE: 'os_compute_api:servers:create',
  SERVERS_CREATE_HOST: 'compute:servers:create:requested_destination',
  SERVERS_DELETE: 'os_compute_api:servers:delete',
  FLAVORS_INDEX: 'os_compute_api:flavors:index',
  INSTANCE_ACTIONS_LIST: 'os_compute_api:os-instance-actions:list',
  INSTANCE_ACTIONS_SHOW: 'os_compute_api:os-instance-actions:show',
  INSTANCE_ACTIONS_EVENTS_DETAILS: 'os_compute_api:os-instance-actions:events:details',
  MIGRATION_JOURNAL: 'baton:migrations:journal',
  AUDIT_SHOW: 'baton:audit:show',
  AUDIT_RUN: 'baton:audit:run',
  DRAIN_CREATE: 'baton:hosts:drain:create',
  DRAIN_SHOW: 'baton:hosts:drain:show',
  DRAIN_DELETE: 'baton:hosts:drain:delete',
  IMAGES_GET: 'image:get_images',
} as const;
export type PolicyRule = (typeof PolicyRule)[keyof typeof PolicyRule];

const ADMIN = 'rule:admin_api';
const OWNER = 'rule:admin_or_owner';
const ANY = '@';

export const DEFAULT_POLICY: Readonly<Record<PolicyRule, string>> = {
  [PolicyRule.MIGRATE_LIVE]: ADMIN,
  [PolicyRule.SERVER_MIGRATIONS_INDEX]: ADMIN,
  [PolicyRule.SERVER_MIGRATIONS_SHOW]: ADMIN,
  [PolicyRule.SERVER_MIGRATIONS_DELETE]: ADMIN,
  [PolicyRule.SERVER_MIGRATIONS_FORCE_COMPLETE]: ADMIN,
  [PolicyRule.MIGRATIONS_INDEX]: ADMIN,
  [PolicyRule.SERVICES_LIST]: ADMIN,
  [PolicyRule.SERVICES_UPDATE]: ADMIN,
  [PolicyRule.HYPERVISORS_LIST]: ADMIN,
  [PolicyRule.HYPERVISORS_DETAIL]: ADMIN,
  [PolicyRule.HYPERVISORS_SHOW]: ADMIN,
  [PolicyRule.HYPERVISORS_UPTIME]: ADMIN,
  [PolicyRule.HYPERVISORS_SEARCH]: ADMIN,
  [PolicyRule.HYPERVISORS_SERVERS]: ADMIN,
  [PolicyRule.AGGREGATES_INDEX]: ADMIN,
  [PolicyRule.SERVERS_INDEX]: OWNER,
  [PolicyRule.SERVERS_ALL_TENANTS]: ADMIN,
  [PolicyRule.SERVERS_DETAIL]: OWNER,
  [PolicyRule.SERVERS_SHOW]: OWNER,
  [PolicyRule.SERVERS_SHOW_HOST]: ADMIN,
  [PolicyRule.SERVERS_CREATE]: OWNER,
  [PolicyRule.SERVERS_CREATE_HOST]: ADMIN,
  [PolicyRule.SERVERS_DELETE]: OWNER,
  [PolicyRule.FLAVORS_INDEX]: ANY,
  [PolicyRule.INSTANCE_ACTIONS_LIST]: OWNER,
  [PolicyRule.INSTANCE_ACTIONS_SHOW]: OWNER,
  [PolicyRule.INSTANCE_ACTIONS_EVENTS_DETAILS]: ADMIN,
  [PolicyRule.MIGRATION_JOURNAL]: ADMIN,
  [PolicyRule.AUDIT_SHOW]: ADMIN,
  [PolicyRule.AUDIT_RUN]: ADMIN,
  [PolicyRule.DRAIN_CREATE]: ADMIN,
  [PolicyRule.DRAIN_SHOW]: ADMIN,
  [PolicyRule.DRAIN_DELETE]: ADMIN,
  [PolicyRule.IMAGES_GET]: ANY,
};

export type PolicyOverrides = Readonly<Partial<Record<string, string>>>;

/** Rejects an override naming an unknown rule or using an unknown check, so config typos surface at start-up. */
export function validatePolicy(overrides: PolicyOverrides): void {
  for (const [name, rule] of Object.entries(overrides)) {
    if (!(name in DEFAULT_POLICY)) throw new Error(`policy: unknown rule ${name}`);
    for (const check of (rule ?? '').split(/\s+or\s+/)) {
      if (!/^(rule:admin_api|rule:admin_or_owner|role:[\w.-]+|project_id:%\(project_id\)s|@|!)$/.test(check.trim())) {
        throw new Error(`policy: rule ${name} has an unsupported check "${check}"`);
      }
    }
  }
}

export class Policy {
  readonly #rules: Readonly<Record<string, string>>;

  constructor(overrides: PolicyOverrides = {}) {
    validatePolicy(overrides);
    this.#rules = { ...DEFAULT_POLICY, ...overrides } as Record<string, string>;
  }

  /** Whether `who` may do `rule`, on a resource of `targetProject` when there is one. */
  allows(rule: PolicyRule, who: Principal, targetProject?: string): boolean {
    const expr = this.#rules[rule] ?? '!';
    return expr.split(/\s+or\s+/).some((c) => check(c.trim(), who, targetProject ?? who.projectId));
  }
}

function check(c: string, who: Principal, targetProject: string): boolean {
  if (c === '@') return true;
  if (c === '!') return false;
  if (c === 'rule:admin_api') return isAdmin(who);
  if (c === 'rule:admin_or_owner') return isAdmin(who) || who.projectId === targetProject;
  if (c === 'project_id:%(project_id)s') return who.projectId === targetProject;
  if (c.startsWith('role:')) return who.roles.includes(c.slice(5));
  return false;
}
