/** RPC API versions are "major.minor". Same major and a minor no newer than the receiver's is compatible. */
export function parseVersion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new Error(`malformed version "${v}", expected "major.minor"`);
  return [Number(m[1]), Number(m[2])];
}

export function compareVersions(a: string, b: string): number {
  const [am, an] = parseVersion(a);
  const [bm, bn] = parseVersion(b);
  return am - bm || an - bn;
}

/** True when a receiver at `supported` can handle a message sent at `requested`. */
export function canHandle(supported: string, requested: string): boolean {
  const [sm, sn] = parseVersion(supported);
  const [rm, rn] = parseVersion(requested);
  return sm === rm && rn <= sn;
}
