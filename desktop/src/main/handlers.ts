// What each channel does. Requests arrive here already validated (dispatch.ts); answers are the views of views.ts.
// Most channels are the coordinator's REST API on the user's behalf; the ones that touch secrets (enrolment, key
// generation, signing, backups) run here and in the P2 worker, and only public values come back.

import { randomBytes } from 'node:crypto';
import { identityFromSeed } from '@tandem/tecdsa/envelope';
import { reviewWithdrawal, type PreparedSigning } from '../p2/review.ts';
import { type P2Progress } from '../p2/progress.ts';
import { startP2Job, type P2JobInput, type StartOptions } from '../worker/client.ts';
import { type Channel, type RequestOf, type ResponseOf } from './channels.ts';
import { DesktopError } from './errors.ts';
import { type DesktopSession } from './session.ts';
import type * as Views from './views.ts';

export interface HandlerOptions {
  /** 'test' runs the device setup with the small test profile (test stacks only). */
  setupProfile?: 'full' | 'test';
  /** The P2 worker module (a bundled file in a packaged app). */
  workerUrl?: URL;
  /** How a worker starts: a worker_thread unless the shell says otherwise (Electron: a utilityProcess). */
  spawnWorker?: StartOptions['spawn'];
  /** Shown as an OS notification by the Electron shell. */
  notify?: (title: string, body: string) => void;
}

/** A wallet as the coordinator sends it: without what only this desktop knows. */
type CoordinatorWallet = Omit<Views.Wallet, 'hasShare' | 'onThisWorkstation'>;

type Handlers = { [C in Channel]: (req: RequestOf<C>) => Promise<ResponseOf<C>> };

/** Channels that answer without a sign-in. */
export const PUBLIC_CHANNELS: ReadonlySet<Channel> = new Set([
  'app.state',
  'settings.update',
  'session.signIn',
  'session.touch',
]);

const enc = encodeURIComponent;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function createHandlers(s: DesktopSession, opts: HandlerOptions = {}): Handlers {
  /** What a review showed, per withdrawal: the sign job signs exactly these inputs. */
  const reviewed = new Map<
    string,
    { approved: { to: string; amountWei: string; chainId: number }; prepared: PreparedSigning }
  >();

  /** The coordinator's wallet view, with what only this desktop knows about it. */
  const local = (w: CoordinatorWallet, hasShare: boolean): Views.Wallet => ({
    ...w,
    hasShare,
    onThisWorkstation: w.deviceId !== null && w.deviceId === s.deviceRecord()?.id,
  });
  const wallet = async (walletId: string): Promise<Views.Wallet> => {
    // The coordinator answers a wallet or a withdrawal as the bare view.
    const w = await s.api<CoordinatorWallet>('GET', `/api/v1/wallets/${enc(walletId)}`);
    return local(w, await s.vault.hasShare(w.id));
  };
  const walletAction = async (walletId: string, path: string, body?: object) => {
    const w = await s.api<CoordinatorWallet>('POST', `/api/v1/wallets/${enc(walletId)}/${path}`, body);
    s.emit({ event: 'changed', what: 'wallets' });
    return { wallet: local(w, await s.vault.hasShare(w.id)) };
  };

  const progressTo = (job: 'dkg' | 'sign', subject: string) => (p: P2Progress) =>
    s.emit({ event: 'progress', job, subject, step: p.step });

  /** Runs a P2 job with the device identity, opened for this job only and wiped after. */
  const withIdentity = async <T>(password: string, run: (seed: Uint8Array) => Promise<T>): Promise<T> => {
    const d = s.state().device;
    if (d.status === 'none')
      throw new DesktopError(
        'DEVICE_NOT_ENROLLED',
        'Set up this workstation first, in the panel at the top of the screen.',
      );
    if (d.status === 'setup_needed')
      throw new DesktopError('SETUP_MISSING', "This workstation's one-time setup did not finish. Run it again first.");
    if (d.status === 'setting_up')
      throw new DesktopError('SETUP_RUNNING', 'This workstation is still being set up. Wait until it is done.');
    if (d.status !== 'APPROVED')
      throw new DesktopError(
        'DEVICE_NOT_APPROVED',
        'An administrator has not approved this workstation yet. Ask them to approve it, then try again.',
      );
    if (!/^[0-9a-f]{64}$/.test(s.settings.get().signerPublicKey))
      throw new DesktopError(
        'NOT_CONFIGURED',
        "The bank signer's identity key is not configured on this computer. Ask IT to set it in Tandem's policy file.",
      );
    const seed = await s.vault.openIdentity(password);
    try {
      return await run(seed);
    } finally {
      seed.fill(0);
    }
  };

  const job = <J extends P2JobInput>(j: J, progress: (p: P2Progress) => void) => {
    const o: StartOptions = {
      onProgress: progress,
      ...(opts.workerUrl ? { workerUrl: opts.workerUrl } : {}),
      ...(opts.spawnWorker ? { spawn: opts.spawnWorker } : {}),
    };
    return startP2Job(j, o);
  };

  const vaultLocation = () => ({ dir: s.vault.dir, profileId: s.profileId });

  return {
    'app.state': async () => {
      // A workstation waiting for approval learns of it when the screen asks again.
      if (s.state().user && s.state().device.status === 'PENDING') await s.refreshDevice().catch(() => {});
      return s.state();
    },

    'settings.update': async (req) => {
      const before = s.settings.get().coordinatorUrl;
      await s.settings.update(req);
      // Another coordinator: the sign-in belonged to the old one.
      if (s.settings.get().coordinatorUrl !== before) await s.signOut();
      return s.state();
    },

    'session.signIn': async (req) => {
      await s.signIn(req.username, req.password);
      return s.state();
    },
    'session.signOut': async () => {
      await s.signOut();
      return s.state();
    },
    'session.lock': async () => {
      await s.signOut(true);
      return s.state();
    },
    'session.touch': async () => {
      s.touch();
      return { ok: true };
    },

    'device.enroll': async (req) => {
      s.user();
      if (s.deviceRecord()) {
        // Enrolled, but the one-time setup did not finish (a crash, a closed app): run it again.
        if (s.setupPercent !== null || (await s.vault.hasSetup()))
          throw new DesktopError('ALREADY_ENROLLED', 'This workstation is already enrolled.');
        (await s.vault.openIdentity(req.password)).fill(0);
        runSetup(req.password);
        return s.state();
      }
      if (await s.vault.hasIdentity())
        throw new DesktopError(
          'ALREADY_ENROLLED',
          'This workstation holds an identity key but no enrolment. Contact support.',
        );
      const seed = randomBytes(32);
      let publicKey: string;
      try {
        publicKey = hex(identityFromSeed(seed).publicKey);
        await s.vault.storeIdentity(seed, req.password);
      } finally {
        seed.fill(0);
      }
      const r = await s.api<{ device: Views.Device }>('POST', '/api/v1/devices', { name: req.deviceName, publicKey });
      await s.saveDevice({ id: r.device.id, name: r.device.name, publicKey });
      await s.refreshDevice();
      if (!(await s.vault.hasSetup())) runSetup(req.password);
      return s.state();
    },

    'wallets.list': async () => {
      const r = await s.api<{ wallets: CoordinatorWallet[] }>('GET', '/api/v1/wallets');
      const held = new Set(await s.vault.listShares());
      return { wallets: r.wallets.map((w) => local(w, held.has(w.id))) };
    },
    'wallets.create': async (req) => {
      const w = await s.api<CoordinatorWallet>('POST', '/api/v1/wallets', req);
      s.emit({ event: 'changed', what: 'wallets' });
      return { wallet: local(w, false) };
    },
    'wallets.generateKey': async (req) => {
      const w = await wallet(req.walletId);
      if (w.signerUserId !== s.user().id)
        throw new DesktopError('FORBIDDEN', "This wallet's key is generated by the user it is assigned to.");
      const result = await withIdentity(req.password, (identitySeed) =>
        job(
          {
            job: 'dkg',
            password: req.password,
            vault: vaultLocation(),
            coordinator: s.endpoint(),
            device: { identitySeed, signerPublicKey: s.settings.get().signerPublicKey },
            wallet: { id: w.id, dkgWalletId: w.dkgWalletId },
          },
          progressTo('dkg', w.id),
        ),
      );
      s.emit({ event: 'changed', what: 'wallets' });
      return { walletId: result.walletId, address: result.address };
    },
    'wallets.deposits': async (req) =>
      s.api<ResponseOf<'wallets.deposits'>>('GET', `/api/v1/wallets/${enc(req.walletId)}/deposits`),
    'wallets.exportBackup': async (req) => {
      const w = await wallet(req.walletId);
      const file = await s.vault.exportBackup(w.id, w.dkgWalletId, req.password, req.backupPassword);
      const safeName = w.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40) || 'wallet';
      return { fileName: `tandem-backup-${safeName}-${w.id}.json`, file };
    },
    'wallets.restoreBackup': async (req) => {
      const w = await wallet(req.walletId);
      if (w.signerUserId !== s.user().id)
        throw new DesktopError('FORBIDDEN', "This wallet's key share belongs to the user it is assigned to.");
      // The share is sealed under this workstation's password, which its identity proves (with the usual wait
      // after wrong tries); so the workstation must be set up first.
      if (!(await s.vault.hasIdentity()))
        throw new DesktopError(
          'DEVICE_NOT_ENROLLED',
          'Set up this workstation first, in the panel at the top of the screen, then restore the backup.',
        );
      (await s.vault.openIdentity(req.password)).fill(0);
      await s.vault.importBackup(
        req.file,
        req.backupPassword,
        { walletId: w.id, keysetId: w.dkgWalletId },
        req.password,
      );
      s.emit({ event: 'changed', what: 'wallets' });
      return { wallet: { ...w, hasShare: true } };
    },
    'wallets.requestMove': async (req) => {
      const device = s.deviceRecord();
      if (!device || s.state().device.status !== 'APPROVED')
        throw new DesktopError(
          'DEVICE_NOT_APPROVED',
          'An administrator has not approved this workstation yet. Ask them to approve it, then try again.',
        );
      return walletAction(req.walletId, 'move', { deviceId: device.id });
    },
    'wallets.approveMove': async (req) => walletAction(req.walletId, 'move/approve'),
    'wallets.rejectMove': async (req) => walletAction(req.walletId, 'move/reject'),
    'policy.get': async (req) => s.api('GET', `/api/v1/wallets/${enc(req.walletId)}/policy`),
    'policy.set': async ({ walletId, ...policy }) => s.api('PUT', `/api/v1/wallets/${enc(walletId)}/policy`, policy),

    'withdrawals.list': async () => s.api('GET', '/api/v1/withdrawals'),
    'withdrawals.request': async (req) => {
      const withdrawal = await s.api<Views.Withdrawal>('POST', '/api/v1/withdrawals', req);
      s.emit({ event: 'changed', what: 'withdrawals' });
      return { withdrawal };
    },
    'withdrawals.approve': async (req) => decide(req.withdrawalId, 'approve'),
    'withdrawals.reject': async (req) => decide(req.withdrawalId, 'reject'),
    'withdrawals.cancel': async (req) => decide(req.withdrawalId, 'cancel'),
    'withdrawals.review': async (req) => {
      const r = await s.api<{ withdrawal: Views.Withdrawal; tx: unknown; digest: string }>(
        'POST',
        `/api/v1/withdrawals/${enc(req.withdrawalId)}/prepare-signing`,
      );
      const w = r.withdrawal;
      const chainId = s.settings.get().chainId;
      const approved = { to: w.to, amountWei: w.amountWei, chainId };
      const prepared = { tx: r.tx, digest: r.digest };
      // The desktop's own reading: a coordinator that sent other fields (or another digest) stops here.
      const review = reviewWithdrawal(approved, prepared, chainId);
      reviewed.set(w.id, { approved, prepared });
      const [wl, book] = await Promise.all([
        wallet(w.walletId),
        s.api<{ entries: Views.AddressBookEntry[] }>('GET', '/api/v1/address-book'),
      ]);
      const entry = book.entries.find(
        (e) => e.status === 'APPROVED' && e.address.toLowerCase() === review.to.toLowerCase(),
      );
      return {
        withdrawalId: w.id,
        walletId: wl.id,
        walletName: wl.name,
        to: review.to,
        toName: entry?.name ?? null,
        valueWei: review.valueWei.toString(),
        chainId: Number(review.chainId),
        nonce: Number(review.nonce),
        gas: review.gas.toString(),
        maxFeePerGasWei: review.maxFeePerGas.toString(),
        maxPriorityFeePerGasWei: review.maxPriorityFeePerGas.toString(),
        maxFeeWei: review.maxFeeWei.toString(),
        digest: review.digestHex,
      };
    },
    'withdrawals.sign': async (req) => {
      const inputs = reviewed.get(req.withdrawalId);
      if (!inputs) throw new DesktopError('REVIEW_FIRST', 'Review the transaction before signing it.');
      const withdrawal = await s.api<Views.Withdrawal>('GET', `/api/v1/withdrawals/${enc(req.withdrawalId)}`);
      const w = await wallet(withdrawal.walletId);
      if (!w.hasShare)
        throw new DesktopError(
          'SHARE_NOT_FOUND',
          'This computer holds no key share for this wallet. Restore it from its backup file.',
        );
      // The bank signer would refuse this workstation's messages: say why before asking for anything.
      if (!w.onThisWorkstation)
        throw new DesktopError(
          'WALLET_ON_OTHER_WORKSTATION',
          "This wallet's key is bound to another workstation. Open the wallet and ask to move it here; an " +
            'administrator approves the move.',
        );
      const result = await withIdentity(req.password, (identitySeed) =>
        job(
          {
            job: 'sign',
            password: req.password,
            vault: vaultLocation(),
            coordinator: s.endpoint(),
            device: { identitySeed, signerPublicKey: s.settings.get().signerPublicKey },
            wallet: { id: w.id, dkgWalletId: w.dkgWalletId, ...(w.address ? { address: w.address } : {}) },
            withdrawalId: req.withdrawalId,
            approved: inputs.approved,
            prepared: inputs.prepared,
          },
          progressTo('sign', req.withdrawalId),
        ),
      );
      reviewed.delete(req.withdrawalId);
      s.emit({ event: 'changed', what: 'withdrawals' });
      return { withdrawalId: result.withdrawalId, txHash: result.txHash };
    },

    'addressBook.list': async () => s.api('GET', '/api/v1/address-book'),
    'addressBook.propose': async (req) => changed('addressBook', s.api('POST', '/api/v1/address-book', req)),
    'addressBook.approve': async (req) =>
      changed('addressBook', s.api('POST', `/api/v1/address-book/${enc(req.entryId)}/approve`)),
    'addressBook.reject': async (req) =>
      changed('addressBook', s.api('POST', `/api/v1/address-book/${enc(req.entryId)}/reject`)),

    'users.list': async () => s.api('GET', '/api/v1/users'),
    'users.create': async (req) => s.api('POST', '/api/v1/users', req),
    'devices.list': async () => s.api('GET', '/api/v1/devices'),
    'devices.approve': async (req) => changed('devices', s.api('POST', `/api/v1/devices/${enc(req.deviceId)}/approve`)),

    'activity.list': async () => s.api('GET', '/api/v1/me/activity'),
  };

  async function changed<T>(what: 'addressBook' | 'devices', p: Promise<T>): Promise<T> {
    const v = await p;
    s.emit({ event: 'changed', what });
    return v;
  }

  async function decide(id: string, decision: 'approve' | 'reject' | 'cancel') {
    const withdrawal = await s.api<Views.Withdrawal>('POST', `/api/v1/withdrawals/${enc(id)}/${decision}`);
    s.emit({ event: 'changed', what: 'withdrawals' });
    return { withdrawal };
  }

  /** The one-time ring-Pedersen setup, in the background with progress; the app state tells how it went. */
  function runSetup(password: string): void {
    s.setupPercent = 0;
    s.emitState();
    const steps: Record<string, number> = {
      'generating the device setup': 10,
      'storing the device setup': 90,
      done: 100,
    };
    void job(
      { job: 'setup', password, vault: vaultLocation(), ...(opts.setupProfile ? { profile: opts.setupProfile } : {}) },
      (p) => {
        s.setupPercent = steps[p.step] ?? s.setupPercent;
        s.emit({ event: 'progress', job: 'setup', subject: 'device', step: p.step, percent: s.setupPercent ?? 0 });
      },
    )
      .catch((e: unknown) => {
        const msg = e instanceof Error ? e.message : 'unknown error';
        s.emit({ event: 'notification', kind: 'setup_failed', title: 'Workstation setup failed', body: msg });
      })
      .finally(async () => {
        s.setupStored = await s.vault.hasSetup();
        s.setupPercent = null;
        s.emitState();
      });
  }
}
