/**
 * The os-migrateLive body per microversion, as in Nova's migrate_server schemas:
 * 2.1: host, block_migration and disk_over_commit (booleans, Nova's boolean strings accepted);
 * 2.25: disk_over_commit gone, block_migration may be "auto"; 2.30: optional force; 2.68: force gone again.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { atLeast, type Microversion } from './microversion.js';

const BOOLEAN_STRINGS = ['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes',
  'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'] as const;
const NovaBoolean = Type.Union([Type.Boolean(), ...BOOLEAN_STRINGS.map((s) => Type.Literal(s))]);
const Host = Type.Union([Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' }), Type.Null()]);
const BlockMigration = Type.Union([Type.Boolean(), Type.Literal('auto')]);

const V21 = Type.Object({ host: Host, block_migration: NovaBoolean, disk_over_commit: NovaBoolean }, { additionalProperties: false });
const V225 = Type.Object({ host: Host, block_migration: BlockMigration }, { additionalProperties: false });
const V230 = Type.Object({ host: Host, block_migration: BlockMigration, force: Type.Optional(NovaBoolean) }, { additionalProperties: false });

export const MIGRATE_LIVE_SCHEMAS = { '2.1': V21, '2.25': V225, '2.30': V230, '2.68': V225 } as const;

export function migrateLiveSchema(v: Microversion): TSchema {
  if (!atLeast(v, '2.25')) return V21;
  if (atLeast(v, '2.30') && !atLeast(v, '2.68')) return V230;
  return V225;
}

export interface MigrateLiveBody {
  readonly host: string | null;
  readonly block_migration: boolean | string;
  readonly disk_over_commit?: boolean | string;
  readonly force?: boolean | string;
}

export function toBool(v: boolean | string): boolean {
  return typeof v === 'boolean' ? v : ['true', '1', 'on', 'yes'].includes(v.toLowerCase());
}

export function blockMigrationOf(body: MigrateLiveBody): boolean | 'auto' {
  return body.block_migration === 'auto' ? 'auto' : toBool(body.block_migration);
}
