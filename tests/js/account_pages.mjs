// Drives the gateway's own pages for emailed links in headless Chromium, with
// every request outside the gateway blocked:
//   1. /reset-password#token=… sets a new password (the caller then signs in with it);
//   2. /accept-invitation#token=… signs a new person up and joins the business;
//   3. /complete-sign-up#token=… creates the account a sign-up asked for.
// Each page must also drop the token from the address bar.
// Usage: node account_pages.mjs BASE_URL RESET_TOKEN NEW_PASSWORD INVITATION_TOKEN SIGN_UP_TOKEN
import { chromium } from 'playwright-core';

const [base, resetToken, newPassword, invitationToken, signUpToken] = process.argv.slice(2);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const problems = [];

async function open(path) {
  const page = await browser.newPage();
  page.on('pageerror', (error) => problems.push(`page error on ${path}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error on ${path}: ${message.text()}`);
  });
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base)) return route.continue();
    problems.push(`blocked a request outside the gateway: ${url}`);
    return route.abort();
  });
  await page.goto(`${base}${path}`);
  return page;
}

async function statusOf(page, expected) {
  await page.waitForFunction(
    (text) => document.getElementById('status').textContent.includes(text),
    expected,
    { timeout: 10000 },
  );
  if (page.url().includes('token=')) problems.push(`the token stayed in the address bar: ${page.url()}`);
}

let failed = false;
try {
  const reset = await open(`/reset-password#token=${resetToken}`);
  await reset.waitForSelector('#form:not([hidden])');
  await reset.fill('input[name=password]', newPassword);
  await reset.fill('input[name=repeat]', newPassword);
  await reset.click('button[type=submit]');
  await statusOf(reset, 'Your password is changed');

  const invitation = await open(`/accept-invitation#token=${invitationToken}`);
  await invitation.waitForSelector('#form:not([hidden])');
  const offer = await invitation.textContent('#offer');
  if (!offer.includes('invites')) problems.push(`the offer is not shown: ${offer}`);
  await invitation.fill('input[name=name]', 'Page Joiner');
  await invitation.fill('input[name=password]', 'joined through the page');
  await invitation.click('button[type=submit]');
  await statusOf(invitation, 'You joined');

  const signUp = await open(`/complete-sign-up#token=${signUpToken}`);
  await statusOf(signUp, 'is ready');
} catch (error) {
  failed = true;
  console.log(`failed: ${error.message}`);
} finally {
  await browser.close();
}
for (const problem of problems) console.log(problem);
process.exit(failed || problems.length > 0 ? 1 : 0);
