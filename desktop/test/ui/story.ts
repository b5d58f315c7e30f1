// The treasury story both end-to-end specs tell, through the same page objects: in Chromium against the development
// shell (ui.e2e.test.ts) and in the real Electron app (electron.e2e.test.ts). An admin sets up users and a policy; the
// signer user enrols a workstation and generates a wallet's key; anvil funds it and the deposit shows; a withdrawal
// is requested, approved by two approvers, signed in the app with the password (after a wrong one, and once with the
// signer down), mined, and the recipient's balance grows by the amount; the key share's backup is restored on a
// second profile. Screenshots of the key screens land in desktop/test-results/screenshots/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPublicClient, http, parseEther, type Hex } from 'viem';
import { startSigner } from '@tandem/signer-daemon/src/daemon.ts';
import { testConfig } from '@tandem/signer-daemon/test/harness.ts';
import { fund, type Stack } from '../appHarness.ts';
import { type TandemApp } from './pages.ts';

export const PASSWORD = 'correct horse battery staple';
export const BACKUP_PASSWORD = 'a different backup phrase';
export const LAPTOP_PASSWORD = "the laptop's own phrase";
/** Coordinator passwords that pass its policy (never containing the username). */
export const pw = (user: string) => `Tr3asury-${[...user].reverse().join('')}-pw`;
export const RECIPIENT = '0x000000000000000000000000000000000000bEEF' as Hex;
const NOTE = 'Supplier invoice 2026-114';

export interface StoryEnv {
  stack(): Stack;
  rootPassword(): string;
  /** One person's workstation: its own app profile. */
  open(who: string): Promise<TandemApp>;
  /** Page and console errors a workstation saw. */
  errorsOf(app: TandemApp): string[];
}

export interface StoryState {
  admin?: TandemApp;
  alice?: TandemApp;
  team?: Record<'ivan' | 'paula' | 'quinn', TandemApp>;
  address?: string;
  backupFile?: string;
}

/** Defines the story's tests, in order; the state lets a spec's own tests go on from where it ends. */
export function treasuryStory(env: StoryEnv): StoryState {
  const state: StoryState = {};
  test('an admin signs in and sets up the team and, after approving the workstation, a wallet with its policy', async () => {
    const admin = (state.admin = await env.open('admin'));
    await admin.shot('01-sign-in');
    await admin.signIn('root', env.rootPassword());
    await admin.addUser('alice', pw('alice'), ['Signer']);
    await admin.addUser('ivan', pw('ivan'), ['Initiator']);
    await admin.addUser('paula', pw('paula'), ['Approver']);
    await admin.addUser('quinn', pw('quinn'), ['Approver']);

    // Alice enrols her workstation; the admin compares its public key and approves it.
    const alice = (state.alice = await env.open('alice'));
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
    await fund(env.stack(), address, parseEther('4'));
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
      ivan: await env.open('ivan'),
      paula: await env.open('paula'),
      quinn: await env.open('quinn'),
    });
    for (const [who, app] of Object.entries(team)) await app.signIn(who, pw(who));
    await team.ivan.requestWithdrawal('Operations', RECIPIENT, '1.5', NOTE);
    await team.ivan.shot('07-withdrawal-requested');
    await team.paula.approveWithdrawal(NOTE);
    await team.quinn.approveWithdrawal(NOTE);

    const chain = createPublicClient({ transport: http(env.stack().anvil.rpcUrl) });
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
    const s = env.stack();
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

  test("the backup restores on the signer's laptop, and the wallet moves there once an admin approves", async () => {
    const second = await env.open('alice-laptop');
    await second.signIn('alice', pw('alice'));
    const key = await second.enrol("Alice's laptop", LAPTOP_PASSWORD);
    await state.admin!.approveDevice(key);
    await second.page
      .getByRole('heading', { name: 'This workstation is waiting for approval' })
      .waitFor({ state: 'detached', timeout: 30_000 });
    await second.restoreBackup('Operations', state.backupFile!, BACKUP_PASSWORD, LAPTOP_PASSWORD);
    await second.openWallet('Operations');
    await second.page
      .getByText('Key share on this computer')
      .locator('xpath=following-sibling::*[1]')
      .getByText('Yes')
      .waitFor();
    await second.signsFrom().getByText('Another workstation').waitFor();
    await second.requestMove('Operations');
    await second.shot('14-move-requested');
    await state.admin!.approveMove('Operations');
    await second.openWallet('Operations');
    await second.signsFrom().getByText('This workstation').waitFor({ timeout: 30_000 });
    await second.shot('16-moved-here');
    const errors = [state.admin, state.alice, second].flatMap((a) => env.errorsOf(a!));
    assert.deepEqual(errors, [], 'no page errors or console errors');
  });

  return state;
}
