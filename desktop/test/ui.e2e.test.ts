// End to end in Chromium: Playwright drives Debian's Chromium against the desktop's development shell (one app profile
// per person, as on their own workstations), with the real coordinator, signer daemon and anvil behind it: the
// treasury story (ui/story.ts), then what only this shell shows: a lying coordinator and the local IPC's refusals.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { CSP } from '../renderer/csp.ts';
import { startDevShell, type DevShell } from '../src/main/devShell.ts';
import { createDesktopApp } from '../src/main/app.ts';
import { ensureRendererBuilt } from '../src/main/rendererBuild.ts';
import { parseEther } from 'viem';
import { profileOptions, stackDefaults, startStack, type Stack } from './appHarness.ts';
import { startLyingCoordinator } from './lyingCoordinator.ts';
import { TandemApp } from './ui/pages.ts';
import { pw, RECIPIENT, treasuryStory } from './ui/story.ts';

const CHROMIUM = process.env['TANDEM_CHROMIUM'] ?? '/usr/bin/chromium';

let s: Stack;
let browser: Browser;
let rendererDir: string;
const shells: DevShell[] = [];
let rootPassword: string;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM}: run 'bash scripts/setup.sh' (apt chromium)`);
  rendererDir = await ensureRendererBuilt();
  s = await startStack();
  rootPassword = (await s.user('root', ['admin'])).password;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
});
after(async () => {
  await browser?.close();
  for (const sh of shells) await sh.close();
  await s?.close();
});

/** One person's workstation: its own app profile and dev shell, in its own browser context. */
async function workstation(who: string): Promise<TandemApp> {
  const shell = await startDevShell({
    rendererDir,
    csp: CSP,
    createApp: async (origin) => createDesktopApp(await profileOptions(s, origin)),
  });
  shells.push(shell);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(shell.url);
  const app = new TandemApp(page, who);
  errorsOf.set(app, errors);
  return app;
}

const errorsOf = new Map<TandemApp, string[]>();
const state = treasuryStory({
  stack: () => s,
  rootPassword: () => rootPassword,
  open: workstation,
  errorsOf: (a) => errorsOf.get(a) ?? [],
});

test('a coordinator that sends another transaction than the approved one: the review stops with DISPLAY_MISMATCH', async () => {
  const { ivan, paula, quinn } = state.team!;
  const note = 'Quarterly rent';
  await ivan.requestWithdrawal('Operations', RECIPIENT, '0.25', note);
  await paula.approveWithdrawal(note);
  await quinn.approveWithdrawal(note);
  // Alice's profile talks to a coordinator that adds 1 ETH to the transaction (and its own digest of it).
  const liar = await startLyingCoordinator({ port: s.coordinator.port, caFile: s.caCert }, (answer) => {
    answer.tx['value'] = (BigInt(answer.tx['value'] as string) + parseEther('1')).toString();
  });
  try {
    const shell = await startDevShell({
      rendererDir,
      csp: CSP,
      createApp: async (origin) =>
        createDesktopApp(
          await profileOptions(s, origin, {
            defaults: { ...stackDefaults(s), coordinatorUrl: liar.url, coordinatorCaFile: liar.caFile },
          }),
        ),
    });
    shells.push(shell);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    await page.goto(shell.url);
    const alice = new TandemApp(page, 'alice-lied-to');
    await alice.signIn('alice', pw('alice'));
    await alice.openReview(note);
    await page
      .getByRole('alert')
      .getByText(/does not match what this computer computed/)
      .waitFor();
    await alice.shot('13-display-mismatch');
    assert.equal(await page.getByRole('button', { name: 'Sign withdrawal' }).count(), 0, 'nothing to sign');
  } finally {
    await liar.close();
  }
});

test('a send from a wallet that is none of the withdrawals: its page says so with an alert', async () => {
  const alice = state.alice!;
  // What the coordinator's chain follower records for such a send (coordinator/src/chain/sentTxs.ts).
  const store = s.coordinator.ctx.store;
  const wallet = (await store.get<{ id: string }>("SELECT id FROM wallets WHERE name = 'Operations'"))!;
  const stranger = '0x' + 'ee'.repeat(32);
  await store.run(
    `INSERT INTO wallet_sent (tx_hash, wallet_id, nonce, amount_wei, block_number, block_hash) VALUES (?, ?, 999, '1', 1, ?)`,
    stranger,
    wallet.id,
    '0x' + 'dd'.repeat(32),
  );
  try {
    await alice.openWallet('Operations');
    await alice.page
      .getByRole('alert')
      .getByText(/none of Tandem.s withdrawals/)
      .waitFor();
    await alice.shot('17-unknown-transaction');
  } finally {
    await store.run('DELETE FROM wallet_sent WHERE tx_hash = ?', stranger);
  }
});

test('the IPC socket refuses a page from another origin and calls without the launch secret; unknown channels answer UNKNOWN_CHANNEL', async () => {
  const alice = state.alice!;
  const shell = shells[1]!;
  // From the app's own page: an unknown channel through a second socket with the same secret.
  const secret = new URL(shell.url).hash.slice(3);
  const host = new URL(shell.url).host;
  const answer = await alice.page.evaluate(
    async ([h, k]) => {
      const ws = new WebSocket(`ws://${h}/ipc`, ['tandem-ipc', `k.${k}`]);
      await new Promise((ok, ko) => {
        ws.onopen = ok;
        ws.onerror = ko;
      });
      ws.send(JSON.stringify({ id: 1, channel: 'shell.openExternal', request: { url: 'https://evil.example' } }));
      const reply = await new Promise<string>((ok) => (ws.onmessage = (m) => ok(String(m.data))));
      ws.close();
      return reply;
    },
    [host, secret] as const,
  );
  assert.equal((JSON.parse(answer) as { reply: { error: { code: string } } }).reply.error.code, 'UNKNOWN_CHANNEL');
  // Without the secret: refused.
  const noSecret = await alice.page.evaluate(
    (h) =>
      new Promise<string>((ok) => {
        const ws = new WebSocket(`ws://${h}/ipc`, ['tandem-ipc', 'k.wrong']);
        ws.onopen = () => ok('open');
        ws.onerror = () => ok('refused');
      }),
    host,
  );
  assert.equal(noSecret, 'refused');
  // A page that navigated away (another origin) cannot open the IPC even with the secret.
  const other = await browser.newPage();
  await other.goto(`data:text/html,<title>elsewhere</title>`);
  const foreign = await other.evaluate(
    ([host, k]) =>
      new Promise<string>((ok) => {
        const ws = new WebSocket(`ws://${host}/ipc`, ['tandem-ipc', `k.${k}`]);
        ws.onopen = () => ok('open');
        ws.onerror = () => ok('refused');
      }),
    [new URL(shell.url).host, secret] as const,
  );
  assert.equal(foreign, 'refused');
  await other.close();
  // The shell sends the CSP with every page.
  const res = await fetch(new URL('/', shell.url));
  assert.equal(
    res.headers.get('content-security-policy'),
    CSP.replace('ws://127.0.0.1:*', `ws://${new URL(shell.url).host}`),
  );
});
