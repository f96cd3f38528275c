/**
 * Loads the config: the JSON file (`--config PATH`, else BATON_CONFIG, else none), then environment
 * overrides, then the schema's defaults; validated with TypeBox. Every error names the bad key and
 * where its value came from.
 */
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { BatonConfigSchema, type BatonConfig } from './config-schema.js';
import { parseDatabaseUrl, parseTransportUrl } from './service-urls.js';
import { maskUrl } from './url-mask.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Named environment overrides. Any key can also be set as BATON__<section>__<key>=<JSON or text>. */
export const ENV_OVERRIDES: Readonly<Record<string, string>> = {
  BATON_TRANSPORT_URL: 'transport.url',
  BATON_TRANSPORT_EXCHANGE: 'transport.exchange',
  BATON_DATABASE_URL: 'database.url',
  BATON_DATABASE_SCHEMA: 'database.schema',
  BATON_API_HOST: 'api.host',
  BATON_API_PORT: 'api.port',
  BATON_CONDUCTOR_NAME: 'conductor.name',
};

export interface LoadedConfig {
  readonly config: BatonConfig;
  /** Where the file came from, or null when only defaults and the environment were used. */
  readonly file: string | null;
}

export function loadConfig(opts: { path?: string | undefined; env?: NodeJS.ProcessEnv } = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const file = opts.path ?? env['BATON_CONFIG'] ?? null;
  const raw = file === null ? {} : readJson(file);
  const origins = new Map<string, string>();
  applyEnv(raw, env, origins);
  const withDefaults = Value.Default(BatonConfigSchema, Value.Clone(raw));
  const first = Value.Errors(BatonConfigSchema, withDefaults).First();
  if (first) {
    const key = first.path.slice(1).replace(/\//g, '.') || '(top level)';
    const from = origins.get(key) ?? (file !== null ? `config file ${file}` : 'defaults');
    throw new ConfigError(`invalid config key "${key}" (from ${from}): ${first.message}`);
  }
  const config = withDefaults as BatonConfig;
  checkUrls(config, origins, file);
  return { config, file };
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, origins: Map<string, string>): void {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const path = ENV_OVERRIDES[name] ?? (name.startsWith('BATON__') ? name.slice(7).split('__').join('.') : null);
    if (path === null) continue;
    const segs = path.split('.');
    const key = setPath(raw, segs, coerce(value));
    origins.set(key, `environment ${name}`);
  }
}

/** Sets raw[a][b]... matching existing and schema keys case-insensitively; returns the dotted key it set. */
function setPath(raw: Record<string, unknown>, segs: readonly string[], value: unknown): string {
  let node: Record<string, unknown> = raw;
  let schema: unknown = BatonConfigSchema;
  const done: string[] = [];
  segs.forEach((seg, i) => {
    const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
    const key = Object.keys(props).find((k) => k.toLowerCase() === seg.toLowerCase()) ?? seg;
    schema = props[key];
    done.push(key);
    if (i === segs.length - 1) { node[key] = value; return; }
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
  return done.join('.');
}

/** Numbers, booleans, null, objects and arrays as JSON; anything else as text. */
function coerce(v: string): unknown {
  if (/^(-?\d+(\.\d+)?|true|false|null|\{.*\}|\[.*\])$/s.test(v.trim())) {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }
  return v;
}

function checkUrls(c: BatonConfig, origins: Map<string, string>, file: string | null): void {
  const from = (key: string) => origins.get(key) ?? (file !== null ? `config file ${file}` : 'defaults');
  const db = parseDatabaseUrl(c.database.url);
  if (typeof db === 'string') throw new ConfigError(`invalid config key "database.url" (from ${from('database.url')}): ${db}`);
  const tr = parseTransportUrl(c.transport.url);
  if (typeof tr === 'string') throw new ConfigError(`invalid config key "transport.url" (from ${from('transport.url')}): ${tr}`);
}

/** The config with passwords masked, for `--print-config` and start-up logs. */
export function redactedConfig(c: BatonConfig): BatonConfig {
  const api = c.api.auth ? { ...c.api, auth: { ...c.api.auth, users: c.api.auth.users.map((u) => ({ ...u, password: '***' })),
    tokenSecret: c.api.auth.tokenSecret === null ? null : '***' } } : c.api;
  return { ...c, transport: { ...c.transport, url: maskUrl(c.transport.url) }, database: { ...c.database, url: maskUrl(c.database.url) }, api };
}
