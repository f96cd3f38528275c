/**
 * Broker URL handling: masking the password for every message that names the URL, and adding the
 * heartbeat to the query string (amqplib reads it from there).
 */
import { BatonError } from '../../../core/errors.js';
import { maskUrl } from '../../../config/url-mask.js';

export { maskUrl };

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
