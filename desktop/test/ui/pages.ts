// Page objects for the desktop app as a user sees it: every step goes through roles and labels, the way a screen
// reader would, so the specs read as user stories. The same objects drive the development shell in Chromium and,
// where an Electron binary exists, the Electron app (electron.e2e.test.ts).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Download, type Locator, type Page } from 'playwright-core';

export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');

export class TandemApp {
  constructor(
    readonly page: Page,
    readonly who: string,
  ) {}

  /** Saves a screenshot of the whole window as test-results/screenshots/<name>.png. */
  async shot(name: string): Promise<void> {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await this.page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  private get main(): Locator {
    return this.page.getByRole('main');
  }

  /** Waits for a dialog to close after its submit; its alert, if one shows instead, is the error. */
  async settled(d: Locator): Promise<void> {
    const alert = d.getByRole('alert');
    await d.waitFor({ state: 'detached', timeout: 60_000 }).catch(() => {});
    if (await d.count()) {
      await this.shot(`failed-${this.who}`);
      throw new Error(
        `${this.who}: the dialog stayed open: ${(await alert.allInnerTexts()).join(' | ') || '(no alert)'}`,
      );
    }
  }

  dialog(name: string | RegExp): Locator {
    return this.page.getByRole('dialog', { name });
  }

  async signIn(username: string, password: string): Promise<void> {
    await this.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await this.page.getByLabel('Username').fill(username);
    await this.page.getByLabel('Password', { exact: true }).fill(password);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
    await this.page.getByText(`Signed in as ${username}`).waitFor();
  }

  async go(section: 'Wallets' | 'Withdrawals' | 'Address book' | 'Activity' | 'Administration' | 'Settings') {
    await this.page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('button', { name: section, exact: true })
      .click();
    await this.page.getByRole('heading', { name: section, exact: true, level: 1 }).waitFor();
  }

  // -- administration -----------------------------------------------------------------------------------------------

  async addUser(username: string, password: string, roles: Array<'Admin' | 'Initiator' | 'Approver' | 'Signer'>) {
    await this.go('Administration');
    await this.page.getByRole('button', { name: 'Add user' }).click();
    const d = this.dialog('Add user');
    await d.getByLabel('Username').fill(username);
    await d.getByLabel('Initial password').fill(password);
    for (const r of roles) await d.getByRole('checkbox', { name: r, exact: true }).check();
    await d.getByRole('button', { name: 'Add user' }).click();
    await this.settled(d);
    await this.page.getByRole('table', { name: 'Users' }).getByText(username, { exact: true }).waitFor();
  }

  async approveDevice(publicKeyHex: string): Promise<void> {
    await this.go('Administration');
    const table = this.page.getByRole('table', { name: 'Devices' });
    // The admin compares the key shown on the workstation (grouped for reading) with the one listed here.
    const grouped = publicKeyHex.match(/.{1,4}/g)!.join(' ');
    const row = table.getByRole('row').filter({ hasText: grouped.slice(0, 19) });
    await row.getByRole('button', { name: 'Approve' }).click();
    await row.getByText('Approved').waitFor();
  }

  async createWallet(name: string, signer: string): Promise<void> {
    await this.go('Wallets');
    await this.page.getByRole('button', { name: 'Create wallet' }).click();
    const d = this.dialog('Create wallet');
    await d.getByLabel('Wallet name').fill(name);
    await d.getByLabel('Signer').selectOption({ label: signer });
    await d.getByRole('button', { name: 'Create wallet' }).click();
    await this.settled(d);
    await this.page.getByRole('table', { name: 'Wallets' }).getByRole('button', { name }).waitFor();
  }

  async openWallet(name: string): Promise<void> {
    await this.go('Wallets');
    await this.page.getByRole('table', { name: 'Wallets' }).getByRole('button', { name }).click();
    await this.page.getByRole('heading', { name, level: 1 }).waitFor();
  }

  async editPolicy(
    wallet: string,
    p: { perWithdrawalEth: string; dailyEth: string; quorum: number; addressBookOnly: boolean },
  ) {
    await this.openWallet(wallet);
    await this.page.getByRole('button', { name: 'Edit policy' }).click();
    const d = this.dialog(/policy/i);
    await d.getByLabel('Per-withdrawal limit (ETH)').fill(p.perWithdrawalEth);
    await d.getByLabel('Daily limit (ETH)').fill(p.dailyEth);
    await d.getByLabel('Approvals required').fill(String(p.quorum));
    await d.getByRole('checkbox', { name: 'Only address-book destinations' }).setChecked(p.addressBookOnly);
    await d.getByRole('button', { name: 'Save policy' }).click();
    await this.settled(d);
  }

  // -- this workstation ---------------------------------------------------------------------------------------------

  /** Enrols the workstation and waits for the one-time setup; returns the public key it shows for approval. */
  async enrol(deviceName: string, password: string): Promise<string> {
    await this.page.getByRole('heading', { name: 'Set up this workstation' }).waitFor();
    await this.page.getByLabel('Device name').fill(deviceName);
    await this.page.getByLabel('Password', { exact: true }).fill(password);
    await this.page.getByLabel('Confirm password').fill(password);
    await this.page.getByRole('button', { name: 'Set up this workstation' }).click();
    await this.page.getByRole('progressbar', { name: 'Workstation setup' }).waitFor();
    await this.shot('02-workstation-setup');
    await this.page
      .getByRole('heading', { name: 'This workstation is waiting for approval' })
      .waitFor({ timeout: 180_000 });
    const key = await this.page.locator('code.key').first().innerText();
    return key.replace(/\s+/g, '');
  }

  // -- wallets ------------------------------------------------------------------------------------------------------

  /** Generates the wallet's key; returns the deposit address and the backup file the app then saves. */
  async generateKey(wallet: string, password: string, backupPassword: string) {
    await this.go('Wallets');
    const row = this.page.getByRole('row').filter({ hasText: wallet });
    await row.getByRole('button', { name: 'Generate key' }).click();
    const d = this.dialog(`Generate key: ${wallet}`);
    await d.getByLabel('Password', { exact: true }).fill(password);
    await d.getByRole('button', { name: 'Generate key' }).click();
    await d.getByRole('progressbar', { name: 'Key generation' }).waitFor();
    await d.getByRole('heading', { name: "Back up this wallet's key share now" }).waitFor({ timeout: 180_000 });
    const address = (await d.locator('.mono').first().innerText()).trim();
    await this.shot('05-key-generated');
    const backup = await this.saveBackup(d, password, backupPassword);
    return { address, backup };
  }

  async saveBackup(d: Locator, password: string, backupPassword: string): Promise<Download> {
    await d.getByLabel('Password', { exact: true }).fill(password);
    await d.getByLabel('Backup password', { exact: true }).fill(backupPassword);
    await d.getByLabel('Confirm backup password').fill(backupPassword);
    const download = this.page.waitForEvent('download');
    await d.getByRole('button', { name: 'Save backup' }).click();
    const file = await download;
    await d.getByText(/Backup saved as/).waitFor();
    await d.getByRole('button', { name: 'Close', exact: true }).first().click();
    return file;
  }

  async restoreBackup(wallet: string, file: string, backupPassword: string, password: string): Promise<void> {
    await this.openWallet(wallet);
    await this.page.getByRole('button', { name: 'Restore key share' }).click();
    const d = this.dialog(/Restore key share/);
    await d.getByLabel('Backup file').setInputFiles(file);
    await d.getByLabel('Backup password').fill(backupPassword);
    await d.getByLabel('Workstation password').fill(password);
    await d.getByRole('button', { name: 'Restore key share' }).click();
    await d.getByText(`The key share of ${wallet} was restored on this computer.`).waitFor({ timeout: 60_000 });
    await this.shot('12-restored');
    await d.getByRole('button', { name: 'Close', exact: true }).last().click();
    await d.waitFor({ state: 'detached' });
  }

  /** On the wallet's page: asks to move its key to this workstation (after a restore here). */
  async requestMove(wallet: string): Promise<void> {
    await this.openWallet(wallet);
    await this.page.getByRole('button', { name: 'Move wallet to this workstation' }).click();
    await this.page.getByText(/You asked on .* to move this wallet's key/).waitFor();
  }

  /** An admin approves a pending move of the wallet's key, from the wallet's page. */
  async approveMove(wallet: string): Promise<void> {
    await this.openWallet(wallet);
    await this.page.getByRole('button', { name: 'Approve move' }).waitFor();
    await this.shot('15-approve-move');
    await this.page.getByRole('button', { name: 'Approve move' }).click();
    await this.page.getByRole('button', { name: 'Approve move' }).waitFor({ state: 'detached', timeout: 30_000 });
  }

  /** The wallet page's "Signs from" line: this workstation or another. */
  signsFrom(): Locator {
    return this.page.getByText('Signs from').locator('xpath=following-sibling::*[1]');
  }

  async depositsShow(wallet: string, eth: string): Promise<void> {
    await this.openWallet(wallet);
    const table = this.page.getByRole('table', { name: 'Deposits' });
    for (let i = 0; i < 60; i++) {
      if (await table.getByText(eth).count()) break;
      await this.page.getByRole('button', { name: 'Refresh deposits' }).click();
      await this.page.waitForTimeout(500);
    }
    await table.getByText(eth).first().waitFor();
    await table.getByText('Confirmed').first().waitFor({ timeout: 30_000 });
  }

  // -- withdrawals --------------------------------------------------------------------------------------------------

  async requestWithdrawal(wallet: string, to: string, eth: string, note: string): Promise<void> {
    await this.go('Withdrawals');
    await this.page.getByRole('button', { name: 'New withdrawal' }).click();
    const d = this.dialog('New withdrawal');
    await d.getByLabel('Wallet').selectOption({ label: wallet });
    await d.getByLabel('Recipient address').fill(to);
    await d.getByLabel('Amount (ETH)').fill(eth);
    await d.getByLabel('Note').fill(note);
    await d.getByRole('button', { name: 'Request withdrawal' }).click();
    await this.settled(d);
  }

  async approveWithdrawal(note: string): Promise<void> {
    await this.go('Withdrawals');
    const section = this.page.getByRole('region', { name: 'Waiting for my approval' });
    const row = section.getByRole('row').filter({ hasText: note });
    await row.getByRole('button', { name: 'Approve' }).click();
    await row.waitFor({ state: 'detached' });
  }

  async openReview(note: string): Promise<void> {
    await this.go('Withdrawals');
    const section = this.page.getByRole('region', { name: 'Ready to sign' });
    await section.getByRole('row').filter({ hasText: note }).getByRole('button', { name: 'Review and sign' }).click();
    await this.page.getByRole('heading', { name: 'Review the transaction' }).waitFor();
  }

  /** Types the password and presses Sign withdrawal; returns the alert or success text that follows. */
  async sign(password: string): Promise<{ ok: true; txHash: string } | { ok: false; alert: string }> {
    await this.main.getByLabel('Password', { exact: true }).fill(password);
    await this.main.getByRole('button', { name: 'Sign withdrawal' }).click();
    const signed = this.main.getByText(/Signed\. Transaction 0x[0-9a-f]{64}/);
    const alert = this.main.getByRole('alert');
    await signed.or(alert).first().waitFor({ timeout: 180_000 });
    if (await signed.count()) {
      const text = await signed.first().innerText();
      return { ok: true, txHash: /0x[0-9a-f]{64}/.exec(text)![0] };
    }
    return { ok: false, alert: await alert.first().innerText() };
  }
}
