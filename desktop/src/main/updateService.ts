// When the app checks for updates, and what happens when one is ready. Only when IT's policy sets updateUrl: a first
// check a little after start (not during it), then one every few hours. A verified update is announced once per
// version (an 'update_ready' UiEvent) and offered once per run: the user chooses to install it or not. Installing
// means quitting: the shell's before-quit closes the session first, then calls close(), which checks the installer
// on disk once more and only then hands it to the OS.
//
// The shell passes what needs Electron (the question dialog, opening a file, quitting) as functions, so this runs and
// is tested in plain Node; src/electron/main.ts stays glue.

import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { type UiEvent } from './channels.ts';
import { SettingsStore, shellDefaults } from './settings.ts';
import {
  UpdateChecker,
  type UpdateCheckerOptions,
  type UpdateCheckResult,
  UpdateError,
  verifyStagedInstaller,
} from './updates.ts';

const MINUTE = 60_000;

/** The question put to the user; Electron's dialog.showMessageBox takes it as it is. */
export interface InstallQuestion {
  type: 'question';
  title: string;
  message: string;
  detail: string;
  buttons: string[];
  defaultId: number;
  cancelId: number;
  noLink: boolean;
}

export interface UpdateServiceOptions extends UpdateCheckerOptions {
  /** Two minutes when not given: the app starts without competing with a download. */
  firstCheckDelayMs?: number;
  /** Six hours when not given. */
  intervalMs?: number;
  /** Where 'update_ready' goes (the window). */
  emit?: UiEventSink;
  /** Asks whether to close Tandem and install; true installs. Without it, updates are only announced. */
  ask?: (q: InstallQuestion) => Promise<boolean>;
  /** Opens the installer with the OS; resolves '' on success or an error text (Electron's shell.openPath). */
  openInstaller?: (file: string) => Promise<string>;
  /** Starts quitting the app; the shell's quit path must end in close(). */
  quit?: () => void;
  /** Console by default. Lines carry codes and messages written for people: never a response body or a key. */
  log?: (line: string) => void;
}

/** Where UiEvents go: the window. */
export type UiEventSink = (e: UiEvent) => void;

type Ready = Extract<UpdateCheckResult, { status: 'ready' }>;

function question(r: Ready): InstallQuestion {
  return {
    type: 'question',
    title: 'Tandem update',
    message: `Tandem ${r.version} is ready to install.`,
    detail: [
      ...(r.mandatory ? ['This version of Tandem is no longer supported: install the update as soon as you can.'] : []),
      "Tandem checked that this update is signed by Tandem's release team. Installing closes Tandem (finish any " +
        "signing first) and opens the installer; your computer checks the installer's own signature as well.",
    ].join('\n\n'),
    buttons: ['Close Tandem and install', 'Later'],
    defaultId: 0,
    cancelId: 1,
    noLink: true,
  };
}

export class UpdateService {
  private readonly checker: UpdateChecker;
  private readonly log: (line: string) => void;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<UpdateCheckResult> | undefined;
  /** Versions already announced and offered in this run. */
  private readonly offered = new Set<string>();
  /** The update the user chose to install, opened by close(). */
  private install: Ready | undefined;
  private closed = false;

  constructor(private readonly opts: UpdateServiceOptions) {
    this.checker = new UpdateChecker(opts);
    this.log = opts.log ?? ((line) => console.warn(line));
  }

  get enabled(): boolean {
    return this.checker.enabled;
  }

  /** Schedules the checks; does nothing at all (no timer, no network) when updates are off. */
  start(): void {
    if (!this.checker.enabled || this.closed || this.timer) return;
    this.schedule(this.opts.firstCheckDelayMs ?? 2 * MINUTE);
  }

  /** One check now (or the one in progress), then the announcement and the question if an update is ready. */
  async checkNow(): Promise<UpdateCheckResult> {
    this.running ??= this.checker.check(this.abort.signal).finally(() => {
      this.running = undefined;
    });
    const r = await this.running;
    if (r.status === 'ready') void this.offer(r).catch(() => this.log('Tandem: the update could not be offered.'));
    return r;
  }

  /** Stops checking (a download in progress is dropped); then opens the installer the user chose, if still intact. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running?.catch(() => {});
    const r = this.install;
    this.install = undefined;
    if (!r || !this.opts.openInstaller) return;
    // Hours may have passed since the check: the file is opened only if it is still exactly what the release signed.
    if (!(await verifyStagedInstaller(r.path, r.sha512, r.size))) {
      await unlink(r.path).catch(() => {});
      return this.log('Tandem: the update installer changed on disk after it was checked; it was deleted, not opened.');
    }
    const failure = await this.opts.openInstaller(r.path);
    if (failure) this.log(`Tandem: the update installer could not be opened (${failure}).`);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.checkNow();
    } catch (e) {
      if (!this.closed) this.log(describe(e));
    } finally {
      if (!this.closed) this.schedule(this.opts.intervalMs ?? 6 * 60 * MINUTE);
    }
  }

  private async offer(r: Ready): Promise<void> {
    if (this.closed || this.offered.has(r.version)) return;
    this.offered.add(r.version);
    this.opts.emit?.({ event: 'update_ready', version: r.version });
    if (!this.opts.ask) return;
    let install = false;
    try {
      install = await this.opts.ask(question(r));
    } catch {
      this.log('Tandem: the update question could not be shown.');
    }
    if (!install || this.closed) return;
    this.install = r;
    this.opts.quit?.();
  }
}

function describe(e: unknown): string {
  return e instanceof UpdateError
    ? `Tandem: update check failed (${e.code}): ${e.message}`
    : // Not ours: its text was not written for a log, so only its kind is kept.
      `Tandem: update check failed (${e instanceof Error ? e.name : typeof e}).`;
}

export interface StartUpdatesOptions extends Omit<UpdateServiceOptions, 'updateUrl' | 'stagingDir'> {
  /** The profile whose settings say whether and where to check (updateUrl is set only by IT's policy file). */
  profileDir: string;
  /** <profileDir>/updates when not given (the packaged app's profile is Electron's userData directory). */
  stagingDir?: string;
  /** The policy file; the platform's (settings.ts) when not given. */
  policyFile?: string;
}

/** Reads updateUrl from the settings and starts the checks; with no URL (or unreadable settings), nothing runs. */
export function startUpdates(opts: StartUpdatesOptions): UpdateService {
  const { profileDir, policyFile, stagingDir = path.join(profileDir, 'updates'), ...others } = opts;
  const rest = { ...others, stagingDir };
  const log = opts.log ?? ((line: string) => console.warn(line));
  let service: UpdateService;
  try {
    const updateUrl = new SettingsStore(profileDir, shellDefaults(), policyFile).get().updateUrl;
    service = new UpdateService({ ...rest, updateUrl });
  } catch (e) {
    // The app reports unreadable settings itself; updates just stay off.
    const code = (e as { code?: unknown }).code;
    log(`Tandem: updates are off (${typeof code === 'string' ? code : 'settings unreadable'}).`);
    service = new UpdateService({ ...rest, updateUrl: null });
  }
  service.start();
  return service;
}
