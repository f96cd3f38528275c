/**
 * Broker URL handling: masking the password for every message that names the URL, and adding the
 * heartbeat to the query string (amqplib reads it from there).
 */
import { BatonError } from '../../../core/errors.js';

/** The URL with its password replaced by "***", safe for logs and error messages. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    // Unparsable: mask anything that looks like user:password@ all the same.
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

/** Validates the URL and sets `heartbeat` unless the URL already chose one. */
export function brokerUrl(url: string, heartbeatSec: number): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BatonError('InvalidRequest', `RabbitMQ URL ${maskUrl(url)} is not a valid URL`, { url: maskUrl(url) });
  }
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') {
    throw new BatonError('InvalidRequest', `RabbitMQ URL ${maskUrl(url)} must use amqp: or amqps:, not ${u.protocol}`,
      { url: maskUrl(url) });
  }
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(heartbeatSec));
  return u.toString();
}
