/** Connection URLs appear in errors and logs with their password masked. */

/** `postgres://baton:secret@db/x` -> `postgres://baton:***@db/x`; text that is not a URL comes back unchanged. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}
