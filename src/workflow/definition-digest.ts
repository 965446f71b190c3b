import crypto from 'node:crypto';

/**
 * The digest of a process definition: sha-256 over the WS-BPEL text and
 * each document deployed with it (in name order, each as `\0name\0content`),
 * hex. The catalog computes the same from its files, so a deployed version
 * and the catalog's plan can be compared.
 */
export function definitionDigest(bpel: string, documents: ReadonlyMap<string, string>): string {
  const hash = crypto.createHash('sha256').update(bpel);
  for (const [name, content] of [...documents].sort(([a], [b]) => a.localeCompare(b))) hash.update(`\0${name}\0${content}`);
  return hash.digest('hex');
}
