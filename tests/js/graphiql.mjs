// Drives GraphiQL, as served by the gateway, in headless Chromium with every
// request outside the gateway blocked (GraphiQL must work offline):
//   1. a subscription started from GraphiQL, authenticated only by the headers
//      editor (they become the WebSocket's connection_init payload), receives a
//      change made over HTTP;
//   2. a query run from GraphiQL sends the headers editor's headers over HTTP.
// Usage: node graphiql.mjs BASE_URL EMAIL PASSWORD TENANT
import { chromium } from 'playwright-core';

const [base, email, password, tenant] = process.argv.slice(2);
const graphql = `${base}/graphql`;

async function post(query, variables, headers = {}) {
  const response = await fetch(graphql, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

const login = await post(
  'mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken } }',
  { email, password },
);
const token = login.data.login.accessToken;
const headers = { Authorization: `Bearer ${token}`, 'X-Tenant': tenant };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const problems = [];
async function openGraphiql(query) {
  const page = await browser.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith(base.replace(/^http/, 'ws'))) return route.continue();
    problems.push(`blocked a request outside the gateway: ${url}`);
    return route.abort();
  });
  await page.addInitScript(([q, h]) => {
    localStorage.setItem('graphiql:query', q);
    localStorage.setItem('graphiql:headers', h);
  }, [query, JSON.stringify(headers)]);
  await page.goto(`${base}/`);
  await page.waitForSelector('.graphiql-execute-button', { timeout: 20000 });
  return page;
}
const resultText = () => document.querySelector('.result-window')?.textContent || '';

let failed = false;
try {
  const subscription = await openGraphiql('subscription { tenantUpdated { kind tenant { name } } }');
  await subscription.click('.graphiql-execute-button');
  // Give the socket time to connect and subscribe, then change the tenant.
  await subscription.waitForTimeout(1500);
  const update = await post('mutation { updateTenant(input: {name: "Seen in GraphiQL"}) { name } }', {}, headers);
  if (update.errors) throw new Error(`update failed: ${JSON.stringify(update.errors)}`);
  await subscription.waitForFunction((expected) => (document.querySelector('.result-window')?.textContent || '').includes(expected),
    'Seen in GraphiQL', { timeout: 15000 });
  console.log('ok   subscription delivered through GraphiQL');

  const query = await openGraphiql('{ me { email } currentTenant { slug } }');
  await query.click('.graphiql-execute-button');
  await query.waitForFunction((expected) => (document.querySelector('.result-window')?.textContent || '').includes(expected),
    email, { timeout: 15000 });
  const text = await query.evaluate(resultText);
  if (!text.includes(tenant)) throw new Error(`query result lacks the tenant: ${text}`);
  console.log('ok   query with the headers editor\'s headers');
} catch (error) {
  failed = true;
  console.log(`FAIL ${error.message}`);
}
await browser.close();
for (const problem of problems) console.log(`FAIL ${problem}`);
process.exit(failed || problems.length ? 1 : 0);
