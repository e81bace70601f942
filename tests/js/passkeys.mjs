// Drives the gateway's /passkeys page in headless Chromium with a virtual
// WebAuthn authenticator (Chrome DevTools Protocol), every request outside the
// gateway blocked:
//   1. signs in with email and password and adds a passkey (backup codes shown);
//   2. opens the page again and signs in with the passkey alone.
// Usage: node passkeys.mjs BASE_URL EMAIL PASSWORD   (BASE_URL on localhost)
import { chromium } from 'playwright-core';

const [base, email, password] = process.argv.slice(2);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const problems = [];
const page = await browser.newPage();
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('console', (message) => {
  if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
});
await page.route('**/*', (route) => {
  const url = route.request().url();
  if (url.startsWith(base)) return route.continue();
  problems.push(`blocked a request outside the gateway: ${url}`);
  return route.abort();
});
const cdp = await page.context().newCDPSession(page);
await cdp.send('WebAuthn.enable');
await cdp.send('WebAuthn.addVirtualAuthenticator', {
  options: {
    protocol: 'ctap2',
    transport: 'internal',
    hasResidentKey: true,
    hasUserVerification: true,
    isUserVerified: true,
    automaticPresenceSimulation: true,
  },
});

async function statusSays(expected) {
  await page.waitForFunction(
    (text) => document.getElementById('status').textContent.includes(text),
    expected,
    { timeout: 10000 },
  ).catch(async () => {
    const shown = await page.textContent('#status');
    throw new Error(`expected the page to say "${expected}", it says "${shown}"`);
  });
}

try {
  await page.goto(`${base}/passkeys`);
  await page.fill('#signin input[name=email]', email);
  await page.fill('#signin input[name=password]', password);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#account:not([hidden])', { timeout: 10000 });
  await page.fill('#add input[name=name]', 'Headless Chromium');
  await page.fill('#add input[name=password]', password);
  await page.click('#add button[type=submit]');
  await statusSays('Passkey "Headless Chromium" added.');
  const codes = (await page.textContent('#codes')).trim().split('\n').slice(1);
  if (codes.length !== 10) problems.push(`expected ten backup codes, saw ${codes.length}`);
  const listed = await page.textContent('#list');
  if (!listed.includes('Headless Chromium')) problems.push(`the new passkey is not listed: ${listed}`);

  await page.goto(`${base}/passkeys`);
  await page.fill('#signin input[name=email]', email);
  await page.click('#with-passkey');
  await statusSays('Signed in with your passkey.');
  const who = await page.textContent('#who');
  if (!who.includes(email)) problems.push(`signed in as someone else: ${who}`);
} catch (error) {
  problems.push(error.message);
}

await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('ok');
