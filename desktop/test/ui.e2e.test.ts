// End to end, as treasury staff use it: Playwright drives Debian's Chromium against the desktop's development shell
// (one app profile per person, as on their own workstations), with the real coordinator, signer daemon and anvil
// behind it. An admin sets up users and a policy; the signer user enrols a workstation and generates a wallet's key;
// anvil funds it and the deposit shows; a withdrawal is requested, approved by two approvers, signed in the app with
// the password (after a wrong one, and once with the signer down), mined, and the recipient's balance grows by the
// amount; the key share's backup is restored on a second profile. Screenshots of the key screens land in
// desktop/test-results/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createPublicClient, http, parseEther, type Hex } from 'viem';
import { chromium, type Browser } from 'playwright-core';
import { startSigner } from '@tandem/signer-daemon/src/daemon.ts';
import { testConfig } from '@tandem/signer-daemon/test/harness.ts';
import { CSP } from '../renderer/csp.ts';
import { startDevShell, type DevShell } from '../src/main/devShell.ts';
import { createDesktopApp } from '../src/main/app.ts';
import { ensureRendererBuilt } from '../src/main/rendererBuild.ts';
import { fund, profileOptions, stackDefaults, startStack, type Stack } from './appHarness.ts';
import { startLyingCoordinator } from './lyingCoordinator.ts';
import { TandemApp } from './ui/pages.ts';

const CHROMIUM = process.env['TANDEM_CHROMIUM'] ?? '/usr/bin/chromium';
const PASSWORD = 'correct horse battery staple';
const BACKUP_PASSWORD = 'a different backup phrase';
const pw = (user: string) => `Tr3asury-${[...user].reverse().join('')}-pw`;
const RECIPIENT = '0x000000000000000000000000000000000000bEEF' as Hex;

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
  (app as TandemApp & { errors: string[] }).errors = errors;
  return app;
}

const state: {
  admin?: TandemApp;
  alice?: TandemApp;
  team?: Record<'ivan' | 'paula' | 'quinn', TandemApp>;
  address?: string;
  backupFile?: string;
} = {};
const NOTE = 'Supplier invoice 2026-114';

test('an admin signs in and sets up the team and, after approving the workstation, a wallet with its policy', async () => {
  const admin = (state.admin = await workstation('admin'));
  await admin.shot('01-sign-in');
  await admin.signIn('root', rootPassword);
  await admin.addUser('alice', pw('alice'), ['Signer']);
  await admin.addUser('ivan', pw('ivan'), ['Initiator']);
  await admin.addUser('paula', pw('paula'), ['Approver']);
  await admin.addUser('quinn', pw('quinn'), ['Approver']);

  // Alice enrols her workstation; the admin compares its public key and approves it.
  const alice = (state.alice = await workstation('alice'));
  await alice.signIn('alice', pw('alice'));
  const key = await alice.enrol("Alice's desk", PASSWORD);
  await alice.shot('03-waiting-for-approval');
  await admin.approveDevice(key);
  await admin.shot('04-administration');
  await alice.page
    .getByRole('heading', { name: 'This workstation is waiting for approval' })
    .waitFor({ state: 'detached', timeout: 30_000 });

  await admin.createWallet('Operations', 'alice');
  await admin.editPolicy('Operations', { perWithdrawalEth: '5', dailyEth: '10', quorum: 2, addressBookOnly: false });
});

test('the signer generates the key and saves the backup; anvil funds the wallet and the deposit shows', async () => {
  const alice = state.alice!;
  const { address, backup } = await alice.generateKey('Operations', PASSWORD, BACKUP_PASSWORD);
  assert.match(address, /^0x[0-9a-fA-F]{40}$/);
  state.address = address;
  state.backupFile = await backup.path();
  assert.equal(JSON.parse(readFileSync(state.backupFile, 'utf8'))['cipherSuite'], 'secp256k1-tecdsa-2pc');
  await fund(s, address, parseEther('4'));
  await alice.depositsShow('Operations', '4');
  await alice.page
    .getByRole('button', { name: 'Show QR code' })
    .first()
    .click()
    .catch(() => {});
  await alice.shot('06-wallet-with-deposit');
});

test('a withdrawal: requested, approved by two approvers, signed with the password, mined for the exact amount', async () => {
  const alice = state.alice!;
  const team = (state.team = {
    ivan: await workstation('ivan'),
    paula: await workstation('paula'),
    quinn: await workstation('quinn'),
  });
  for (const [who, app] of Object.entries(team)) await app.signIn(who, pw(who));
  await team.ivan.requestWithdrawal('Operations', RECIPIENT, '1.5', NOTE);
  await team.ivan.shot('07-withdrawal-requested');
  await team.paula.approveWithdrawal(NOTE);
  await team.quinn.approveWithdrawal(NOTE);

  const chain = createPublicClient({ transport: http(s.anvil.rpcUrl) });
  const before = await chain.getBalance({ address: RECIPIENT });
  // Alice is told, reviews what her computer decoded and hashed, and types a wrong password first.
  await alice.page.getByRole('button', { name: 'Notifications' }).getByText(/[1-9]/).waitFor({ timeout: 30_000 });
  await alice.openReview(NOTE);
  await alice.page.getByText('New address: not in the address book').waitFor();
  await alice.page.getByText('Chain 31337').waitFor();
  await alice.shot('08-review');
  const wrong = await alice.sign('not my password at all');
  assert.equal(wrong.ok, false);
  assert.match((wrong as { alert: string }).alert, /password is not correct/i);
  await alice.shot('09-wrong-password');

  // The bank's signer goes down: nothing is signed, and the withdrawal can be signed once it is back.
  const signerDir = s.signer.ctx.db.name.replace(/\/signer\.db$/, '');
  const port = s.signer.port;
  await s.signer.close();
  await alice.page.waitForTimeout(3_000); // the wrong password's wait
  const down = await alice.sign(PASSWORD);
  assert.equal(down.ok, false);
  assert.match((down as { alert: string }).alert, /signer/i);
  await alice.shot('10-signer-down');
  s.signer = await startSigner(
    testConfig(signerDir, (c) => (c.port = port)),
    { log: s.coordinator.ctx.log.child({ service: 'signer' }) },
  );

  await alice.openReview(NOTE);
  const signed = await alice.sign(PASSWORD);
  assert.equal(signed.ok, true, JSON.stringify(signed));
  await alice.page.getByText(/Confirmed in block \d+/).waitFor({ timeout: 60_000 });
  await alice.shot('11-signed-and-confirmed');
  const after = await chain.getBalance({ address: RECIPIENT });
  assert.equal(after - before, parseEther('1.5'));
  const receipt = await chain.getTransactionReceipt({ hash: (signed as { txHash: Hex }).txHash });
  assert.equal(receipt.status, 'success');
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

test('the backup restores on a second profile of the signer', async () => {
  const second = await workstation('alice-laptop');
  await second.signIn('alice', pw('alice'));
  await second.restoreBackup('Operations', state.backupFile!, BACKUP_PASSWORD);
  await second.openWallet('Operations');
  await second.page
    .getByText('Key share on this computer')
    .locator('xpath=following-sibling::*[1]')
    .getByText('Yes')
    .waitFor();
  const errors = [state.admin, state.alice, second].flatMap((a) => (a as TandemApp & { errors: string[] }).errors);
  assert.deepEqual(errors, [], 'no page errors or console errors');
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
