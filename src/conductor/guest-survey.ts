/**
 * Asks computes what their hypervisors run (list_guests), all at once, each within a deadline. A host
 * that does not answer, or answers something malformed, is unreachable: its guests are unknown, which
 * the audit never mistakes for missing.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { GuestState } from '../compute/driver-port.js';
import type { ObservedGuest } from '../core/audit-check.js';
import type { UnreachableHost } from '../core/audit-report.js';
import { toErrorBody } from '../core/errors.js';
import { ComputeMethod } from '../rpc/compute-api.js';
import type { RpcClient } from '../rpc/rpc-client.js';
import { computeTopic } from '../rpc/transport.js';

/** The list_guests reply; a state this conductor does not know makes the answer unusable rather than guessed at. */
const ListGuestsReply = Type.Object({
  guests: Type.Array(Type.Object({
    uuid: Type.String({ minLength: 1 }),
    state: Type.Union(Object.values(GuestState).map((s) => Type.Literal(s))),
  })),
});
const replyCheck = TypeCompiler.Compile(ListGuestsReply);

export interface SurveyDeps {
  readonly rpc: RpcClient;
  readonly versionFor: (host: string) => Promise<string>;
  readonly timeoutMs: number;
}

export interface Survey {
  /** The guests of every host that answered. */
  readonly guests: ReadonlyMap<string, readonly ObservedGuest[]>;
  readonly unreachable: readonly UnreachableHost[];
}

export const EMPTY_SURVEY: Survey = { guests: new Map(), unreachable: [] };

async function listGuests(d: SurveyDeps, host: string): Promise<Static<typeof ListGuestsReply>> {
  const reply = await d.rpc.call<unknown>(computeTopic(host), ComputeMethod.LIST_GUESTS, {},
    { version: await d.versionFor(host), timeoutMs: d.timeoutMs });
  if (!replyCheck.Check(reply)) {
    const first = replyCheck.Errors(reply).First();
    throw new Error(`malformed list_guests reply${first ? ` (${first.path || '/'}: ${first.message})` : ''}`);
  }
  return reply;
}

/** Lists `hosts` again and lays the answers over `base`: a host listed now replaces what base said about it. */
export async function surveyHosts(d: SurveyDeps, hosts: readonly string[], base: Survey = EMPTY_SURVEY): Promise<Survey> {
  const answers = await Promise.all(hosts.map(async (host): Promise<{ host: string; guests: ObservedGuest[] } | UnreachableHost> => {
    try {
      return { host, guests: (await listGuests(d, host)).guests };
    } catch (e) {
      const body = toErrorBody(e);
      return { host, reason: body.code === 'MessagingTimeout' ? `no answer within ${d.timeoutMs} ms` : `${body.code}: ${body.message}` };
    }
  }));
  const asked = new Set(hosts);
  const guests = new Map([...base.guests].filter(([h]) => !asked.has(h)));
  const unreachable = base.unreachable.filter((u) => !asked.has(u.host));
  for (const a of answers) {
    if ('guests' in a) guests.set(a.host, a.guests);
    else unreachable.push({ host: a.host, reason: a.reason });
  }
  return { guests, unreachable: unreachable.sort((a, b) => a.host.localeCompare(b.host)) };
}
