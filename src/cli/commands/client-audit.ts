/** `baton audit`: runs a reconcile/audit pass (POST /v2.1/baton/audit) and prints it; exit 3 when it found anomalies. */
import type { Command } from 'commander';
import type { AuditAnomalyView, AuditRepairView, AuditView } from '../../api/http/audit-view.js';
import { AnomaliesFound } from '../client/client-errors.js';
import { runClient, usageExitCodes } from '../client/client-run.js';
import { addConnectionOptions } from '../client/connection-options.js';
import { formatList } from '../client/output-format.js';

const ANOMALY_COLUMNS = [
  ['severity', (a: AuditAnomalyView) => a.severity], ['kind', (a: AuditAnomalyView) => a.kind],
  ['instance', (a: AuditAnomalyView) => a.instance_uuid], ['migration', (a: AuditAnomalyView) => a.migration_id],
  ['hosts', (a: AuditAnomalyView) => a.hosts.join(',')], ['message', (a: AuditAnomalyView) => a.message],
] as const;

const REPAIR_COLUMNS = [
  ['at', (r: AuditRepairView) => r.at], ['kind', (r: AuditRepairView) => r.kind], ['host', (r: AuditRepairView) => r.host],
  ['message', (r: AuditRepairView) => r.message],
] as const;

export function formatAudit(a: AuditView): string {
  if (a.checked_at === null) return 'no audit pass has run yet';
  const lines = [`audit by ${a.conductor ?? '?'} at ${a.checked_at} (${a.duration_ms ?? '?'} ms): ${a.hosts_checked.length} hosts checked, ` +
    `${a.anomalies.length} ${a.anomalies.length === 1 ? 'anomaly' : 'anomalies'}`];
  for (const u of a.unreachable) lines.push(`not checked: ${u.host} (${u.reason})`);
  if (a.anomalies.length > 0) lines.push('', 'anomalies:', formatList(a.anomalies, ANOMALY_COLUMNS));
  if (a.repairs.length > 0) lines.push('', 'recent repairs:', formatList(a.repairs, REPAIR_COLUMNS));
  return lines.join('\n');
}

export function registerClientAudit(program: Command): void {
  addConnectionOptions(usageExitCodes(program.command('audit'))
    .description('compare every compute\'s guests with the store now, repair what the facts settle, print the anomalies (exit 3 if any)')
    .option('--last', 'print the latest pass instead of running one'))
    .action(async (o: { last?: boolean }, c: Command) => runClient(c, 'audit', async (ctx) => {
      const { audit } = await ctx.client.audit(o.last !== true);
      if (ctx.json) ctx.printJson({ audit });
      else ctx.print(formatAudit(audit));
      const n = audit.anomalies.length;
      if (n > 0) throw new AnomaliesFound(`${n} ${n === 1 ? 'anomaly' : 'anomalies'} found`);
    }));
}
