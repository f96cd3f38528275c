#!/usr/bin/env node
/** The `baton` command. Each sub-command lives in its own module under commands/. */
import { Command, CommanderError } from 'commander';
import { registerClientAudit } from './commands/client-audit.js';
import { registerClientHost } from './commands/client-host.js';
import { registerClientLiveMigrate } from './commands/client-live-migrate.js';
import { registerClientMigration } from './commands/client-migration.js';
import { registerClientServer } from './commands/client-server.js';
import { registerApi } from './commands/api-command.js';
import { registerCompute } from './commands/compute-command.js';
import { registerConductor } from './commands/conductor-command.js';
import { registerDemo } from './commands/demo-command.js';
import { registerUp } from './commands/up-command.js';

const program = new Command('baton')
  .description('Baton: a conductor-owned live-migration control plane for QEMU/KVM fleets')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerUp(program);
registerDemo(program);
registerApi(program);
registerConductor(program);
registerCompute(program);
registerClientServer(program);
registerClientLiveMigrate(program);
registerClientMigration(program);
registerClientHost(program);
registerClientAudit(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  console.error(`baton: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
