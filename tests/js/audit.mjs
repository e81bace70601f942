// Runs graphql-http's server audits against the gateway at the URL given as the
// first argument. Prints every result; exits 1 if any MUST or SHOULD audit fails.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}
const results = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  results.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason });
}
let failed = 0;
for (const r of results) {
  const mark = r.status === 'ok' ? 'ok  ' : r.status === 'warn' ? 'WARN' : 'FAIL';
  if (r.status !== 'ok') failed += 1;
  console.log(`${mark} ${r.id} ${r.name}${r.reason ? ` — ${r.reason}` : ''}`);
}
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
