/** Prints the fault catalogue as the Markdown table of docs/faults.md. */
import { ERROR_CATALOGUE } from '../src/errors';

console.log('| code | class (SOAP 1.1 / 1.2) | HTTP (non-SOAP) | meaning |');
console.log('|---|---|---|---|');
for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
  const cls = code === 'VersionMismatch' || code === 'MustUnderstand' ? `${code} / ${code}` : entry.sender ? 'Client / Sender' : 'Server / Receiver';
  console.log(`| \`${code}\` | ${cls} | ${entry.http} | ${entry.summary} |`);
}
