// Main's state for one app profile: settings, the coordinator sign-in (its token never leaves main), the idle lock,
// this workstation's enrolment, and the calls to the coordinator's REST API made on the user's behalf. Handlers
// (handlers.ts) work through this; the shells never see it.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Vault } from '../vault/vault.ts';
import { replaceFileAtomic } from '../vault/atomicFile.ts';
import { callCoordinator, refused } from '../p2/coordinatorRest.ts';
import { type CoordinatorEndpoint } from '../p2/trust.ts';
import { type UiEvent } from './channels.ts';
import { DesktopError } from './errors.ts';
import { type SettingsDefaults, SettingsStore, shellDefaults } from './settings.ts';
import { type AppState, type Role } from './views.ts';

export interface SessionOptions {
  profileDir: string;
  /** shellDefaults() when not given. */
  defaults?: SettingsDefaults;
  policyFile?: string;
  /** Vault options for tests (PBKDF2 iterations); production uses the vault's defaults. */
  vaultIterations?: number;
  now?: () => number;
}

interface SignedIn {
  token: string;
  user: { id: string; username: string; roles: Role[] };
}

/** This workstation's enrolment, as kept in <profile>/device.json (public values only). */
const deviceSchema = z.strictObject({
  id: z.string().min(1).max(64),
  name: z.string().min(1).max(100),
  publicKey: z.string().regex(/^[0-9a-f]{64}$/),
});
type DeviceRecord = z.infer<typeof deviceSchema>;

export class DesktopSession {
  readonly settings: SettingsStore;
  readonly vault: Vault;
  readonly profileId: string;
  private signedIn: SignedIn | null = null;
  private lockedFor: string | null = null;
  private lastActivityMs: number;
  private device: DeviceRecord | null;
  private deviceStatus: AppState['device']['status'] | null = null;
  setupPercent: number | null = null;
  /** Whether the vault holds the one-time setup; known after the first refreshDevice. */
  setupStored: boolean | undefined;
  private readonly listeners = new Set<(e: UiEvent) => void>();
  private readonly now: () => number;

  constructor(private readonly opts: SessionOptions) {
    mkdirSync(opts.profileDir, { recursive: true, mode: 0o700 });
    this.now = opts.now ?? Date.now;
    this.lastActivityMs = this.now();
    this.settings = new SettingsStore(opts.profileDir, opts.defaults ?? shellDefaults(), opts.policyFile);
    this.profileId = this.loadProfileId();
    this.vault = new Vault(join(opts.profileDir, 'vault'), this.profileId, {
      ...(opts.vaultIterations ? { iterations: opts.vaultIterations } : {}),
    });
    this.device = this.loadDevice();
  }

  // -- events -------------------------------------------------------------------------------------------------------

  onEvent(l: (e: UiEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  emit(e: UiEvent): void {
    for (const l of this.listeners) l(e);
  }

  emitState(): void {
    this.emit({ event: 'state', state: this.state() });
  }

  // -- state --------------------------------------------------------------------------------------------------------

  state(): AppState {
    const d = this.device;
    return {
      settings: this.settings.get(),
      user: this.signedIn ? { ...this.signedIn.user, roles: [...this.signedIn.user.roles] } : null,
      lockedFor: this.lockedFor,
      device: {
        status:
          this.setupPercent !== null
            ? 'setting_up'
            : !d
              ? 'none'
              : this.setupStored === false
                ? 'setup_needed'
                : (this.deviceStatus ?? 'PENDING'),
        id: d?.id ?? null,
        name: d?.name ?? null,
        publicKey: d?.publicKey ?? null,
        setupPercent: this.setupPercent,
      },
    };
  }

  user(): SignedIn['user'] {
    if (!this.signedIn) throw new DesktopError('UNAUTHENTICATED', 'Sign in to the coordinator first.');
    return this.signedIn.user;
  }

  hasRole(role: Role): boolean {
    return this.signedIn?.user.roles.includes(role) ?? false;
  }

  /** The coordinator endpoint with this session's token, for a P2 job. */
  endpoint(): CoordinatorEndpoint {
    if (!this.signedIn) throw new DesktopError('UNAUTHENTICATED', 'Sign in to the coordinator first.');
    const caFile = this.settings.coordinatorCaFile();
    return { url: this.settings.get().coordinatorUrl, token: this.signedIn.token, ...(caFile ? { caFile } : {}) };
  }

  // -- sign-in and locks --------------------------------------------------------------------------------------------

  async signIn(username: string, password: string): Promise<void> {
    if (this.lockedFor && this.lockedFor !== username)
      throw new DesktopError('LOCKED', `Tandem is locked for ${this.lockedFor}. Sign in as ${this.lockedFor}.`);
    const caFile = this.settings.coordinatorCaFile();
    const r = await callCoordinator(
      { url: this.settings.get().coordinatorUrl, ...(caFile ? { caFile } : {}) },
      'POST',
      '/api/v1/auth/login',
      { username, password },
    );
    if (r.status !== 200) throw refused(r);
    const user = r.json['user'] as SignedIn['user'];
    this.signedIn = {
      token: String(r.json['token']),
      user: { id: user.id, username: user.username, roles: user.roles },
    };
    this.lockedFor = null;
    this.touch();
    await this.refreshDevice();
  }

  /** Ends the sign-in (the coordinator revokes the token). `lock` keeps the username for the lock screen. */
  async signOut(lock = false): Promise<void> {
    const s = this.signedIn;
    if (!s) return;
    this.signedIn = null;
    this.deviceStatus = null;
    this.lockedFor = lock ? s.user.username : null;
    await this.call('POST', '/api/v1/auth/logout', undefined, s.token).catch(() => {
      // Unreachable coordinator: the token still expires there on its own.
    });
  }

  touch(): void {
    this.lastActivityMs = this.now();
  }

  /** True when the idle time passed and the app should lock. */
  idleExpired(): boolean {
    return this.signedIn !== null && this.now() - this.lastActivityMs > this.settings.get().idleLockMinutes * 60_000;
  }

  // -- this workstation ---------------------------------------------------------------------------------------------

  deviceRecord(): DeviceRecord | null {
    return this.device;
  }

  async saveDevice(d: DeviceRecord): Promise<void> {
    await replaceFileAtomic(join(this.opts.profileDir, 'device.json'), JSON.stringify(d, null, 2) + '\n');
    this.device = d;
  }

  /** The enrolment's status at the coordinator (PENDING, APPROVED, REVOKED). */
  async refreshDevice(): Promise<void> {
    if (!this.device || !this.signedIn) return;
    this.setupStored = await this.vault.hasSetup();
    const r = await this.api<{ devices: Array<{ id: string; status: string }> }>('GET', '/api/v1/devices');
    const mine = r.devices.find((x) => x.id === this.device!.id);
    this.deviceStatus = (mine?.status as AppState['device']['status'] | undefined) ?? 'REVOKED';
  }

  // -- the coordinator's REST API -----------------------------------------------------------------------------------

  /** One authenticated call; a refusal becomes its DesktopError, and an ended sign-in locks the app. */
  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const s = this.signedIn;
    if (!s) throw new DesktopError('UNAUTHENTICATED', 'Sign in to the coordinator first.');
    const r = await this.call(method, path, body, s.token);
    if (r.status === 401 && this.signedIn === s) {
      this.signedIn = null;
      this.lockedFor = s.user.username;
      this.emitState();
    }
    if (r.status < 200 || r.status > 299) throw refused(r);
    return r.json as T;
  }

  private call(method: string, path: string, body: unknown, token: string) {
    const caFile = this.settings.coordinatorCaFile();
    return callCoordinator(
      { url: this.settings.get().coordinatorUrl, token, ...(caFile ? { caFile } : {}) },
      method,
      path,
      body,
    );
  }

  // -- profile files ------------------------------------------------------------------------------------------------

  /** A random id per profile: it names the profile's device key in the OS keychain. */
  private loadProfileId(): string {
    const file = join(this.opts.profileDir, 'profile-id');
    if (existsSync(file)) {
      const id = readFileSync(file, 'utf8').trim();
      if (/^[A-Za-z0-9_-]{8,64}$/.test(id)) return id;
      throw new DesktopError('SETTINGS_INVALID', `The profile id file (${file}) is damaged. Contact support.`);
    }
    const id = randomBytes(12).toString('base64url');
    writeFileSync(file, id + '\n', { mode: 0o600, flag: 'wx' });
    return id;
  }

  private loadDevice(): DeviceRecord | null {
    const file = join(this.opts.profileDir, 'device.json');
    if (!existsSync(file)) return null;
    const r = deviceSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!r.success)
      throw new DesktopError('SETTINGS_INVALID', `The enrolment file (${file}) is damaged. Contact support.`);
    return r.data;
  }
}
