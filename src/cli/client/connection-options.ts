/**
 * Connection settings, read from options and then the environment, the way the OpenStack clients do
 * (OS_AUTH_URL, OS_USERNAME, ...). `--no-auth` / BATON_NO_AUTH talks to a server started with --no-auth.
 */
import type { Command } from 'commander';

export const DEFAULT_AUTH_URL = 'http://127.0.0.1:8774/identity/v3';

export interface ConnectionSettings {
  readonly authUrl: string;
  /** Compute endpoint to use instead of the catalog's (always used with --no-auth). */
  readonly computeUrl: string;
  readonly computeUrlExplicit: boolean;
  readonly username: string;
  readonly password: string;
  readonly projectName: string;
  readonly userDomain: string;
  readonly projectDomain: string;
  readonly auth: boolean;
  /** Compute API microversion asked for; lowered automatically if the server supports less. */
  readonly microversion: string;
}

/** The raw options commander collects from addConnectionOptions and --json. */
export interface ClientOptions {
  readonly osAuthUrl?: string;
  readonly osComputeUrl?: string;
  readonly osUsername?: string;
  readonly osPassword?: string;
  readonly osProjectName?: string;
  readonly osUserDomainName?: string;
  readonly osProjectDomainName?: string;
  readonly osComputeApiVersion?: string;
  readonly auth?: boolean;
  readonly json?: boolean;
}

/** Adds the connection options and --json to a leaf command. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print the raw resource JSON (for scripts)', false)
    .option('--os-auth-url <url>', `Keystone v3 URL (env OS_AUTH_URL, default ${DEFAULT_AUTH_URL})`)
    .option('--os-username <name>', 'user name (env OS_USERNAME)')
    .option('--os-password <password>', 'password (env OS_PASSWORD)')
    .option('--os-project-name <name>', 'project to scope the token to (env OS_PROJECT_NAME)')
    .option('--os-user-domain-name <name>', 'domain of the user (env OS_USER_DOMAIN_NAME, default Default)')
    .option('--os-project-domain-name <name>', 'domain of the project (env OS_PROJECT_DOMAIN_NAME, default Default)')
    .option('--os-compute-url <url>', 'compute endpoint, instead of the one in the catalog (env OS_COMPUTE_URL)')
    .option('--os-compute-api-version <v>', 'compute API microversion (env OS_COMPUTE_API_VERSION, default 2.92)')
    .option('--no-auth', 'talk to a server started with --no-auth (env BATON_NO_AUTH=1)');
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && !['', '0', 'false', 'no'].includes(v.toLowerCase());
}

/** The compute endpoint next to a Keystone URL on the same listener: http://h:p/identity/v3 -> http://h:p/v2.1. */
export function defaultComputeUrl(authUrl: string): string {
  const u = new URL(authUrl);
  return `${u.origin}/v2.1`;
}

export function resolveSettings(o: ClientOptions, env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  const authUrl = (o.osAuthUrl ?? env.OS_AUTH_URL ?? DEFAULT_AUTH_URL).replace(/\/+$/, '');
  const explicitCompute = o.osComputeUrl ?? env.OS_COMPUTE_URL;
  const version = o.osComputeApiVersion ?? env.OS_COMPUTE_API_VERSION ?? '2.92';
  return {
    authUrl,
    computeUrl: (explicitCompute ?? defaultComputeUrl(authUrl)).replace(/\/+$/, ''),
    computeUrlExplicit: explicitCompute !== undefined,
    username: o.osUsername ?? env.OS_USERNAME ?? 'admin',
    password: o.osPassword ?? env.OS_PASSWORD ?? '',
    projectName: o.osProjectName ?? env.OS_PROJECT_NAME ?? 'admin',
    userDomain: o.osUserDomainName ?? env.OS_USER_DOMAIN_NAME ?? 'Default',
    projectDomain: o.osProjectDomainName ?? env.OS_PROJECT_DOMAIN_NAME ?? 'Default',
    // commander sets auth=false only for an explicit --no-auth; the environment can ask for it too.
    auth: o.auth !== false && !truthy(env.BATON_NO_AUTH),
    // "latest" and "2.latest" (what the OpenStack clients accept) both mean the newest version Baton speaks.
    microversion: /^(2\.)?latest$/i.test(version) ? '2.92' : version,
  };
}
