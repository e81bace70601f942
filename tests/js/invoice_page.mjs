// Opens an invoice's HTML (as `Invoice.html` answers it) in headless Chromium
// with every request blocked, and checks that a person can read it: each
// expected text is shown, no script runs (a business name full of markup
// stays text), nothing is fetched, and it prints to a PDF.
// Usage: node invoice_page.mjs HTML_FILE EXPECTED_TEXT...
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const [file, ...expected] = process.argv.slice(2);
const html = await readFile(file, 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const problems = [];
let failed = false;
try {
  const page = await browser.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`a script ran and opened a ${dialog.type()}: ${dialog.message()}`);
    return dialog.dismiss();
  });
  await page.route('**/*', (route) => {
    problems.push(`the invoice fetched ${route.request().url()}`);
    return route.abort();
  });
  await page.setContent(html, { waitUntil: 'load' });
  const text = await page.evaluate(() => document.body.innerText);
  for (const wanted of expected) {
    if (!text.includes(wanted)) problems.push(`not shown: ${JSON.stringify(wanted)}`);
  }
  const images = await page.evaluate(() => document.images.length);
  if (images > 0) problems.push(`markup in a value became ${images} image(s)`);
  const pdf = await page.pdf({ format: 'A4' });
  if (pdf.length < 1000) problems.push(`the printed invoice is ${pdf.length} bytes`);
} catch (error) {
  failed = true;
  console.log(`failed: ${error.message}`);
} finally {
  await browser.close();
}
for (const problem of problems) console.log(problem);
process.exit(failed || problems.length > 0 ? 1 : 0);
