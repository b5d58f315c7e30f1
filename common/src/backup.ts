// Online backups of a service's SQLite database, and their restore (the signer's and the coordinator's
// `admin backup` / `admin restore` build on these two functions).
//
// A backup is a directory (mode 0700) with two files (mode 0600): the database, copied page by page with
// SQLite's online backup API while the service keeps running, and manifest.json, which says what it is:
// the service, the schema version, the time, the SHA-256 of the database file, the audit log's head, and
// service-specific facts (the signer adds its KEK fingerprint — never the KEK).
//
// Restore checks everything it can on a private copy inside the target directory before it touches the
// live files: the manifest, the file's hash, SQLite's integrity check, that this version of the service
// can open (and migrate) it, the audit chain, and the caller's own check (the signer's KEK). Only then is
// the copy moved into place with one rename, so a refused or failed restore leaves the directory as it was.
// A database already there is replaced only on request, only when no process has it open, and is kept
// (with its -wal) in a `replaced-<time>/` folder beside the new one rather than deleted.

import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { AuditLog } from './auditLog.ts';

export const MANIFEST_FILE = 'manifest.json';
export const BACKUP_FORMAT = 'tandem-backup/1';

export type BackupErrorCode =
  | 'NO_DATABASE'
  | 'BACKUP_EXISTS'
  | 'BAD_MANIFEST'
  | 'HASH_MISMATCH'
  | 'NOT_A_DATABASE'
  | 'CANNOT_OPEN'
  | 'AUDIT_BROKEN'
  | 'TARGET_HAS_DATABASE'
  | 'TARGET_IN_USE'
  | 'KEK_MISMATCH';

/** A backup or restore that was refused; the message says why and what to do. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    readonly code: BackupErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Service-specific, non-secret facts recorded in the manifest (the signer's KEK fingerprint, counts). */
export type BackupFacts = Record<string, string | number | boolean | null>;

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  service: string;
  /** The database's file name inside the backup directory. */
  database: string;
  bytes: number;
  sha256: string;
  schemaVersion: number;
  createdAt: string;
  /** The audit log of the copy: whether its hash chain verified, its length and head. */
  audit: { ok: boolean; entries: number; head: string };
  facts: BackupFacts;
}

type Db = Database.Database;

/** SHA-256 of a file, read in chunks (a coordinator database can be large). */
export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes a database file and whatever SQLite may have left beside it. */
function removeDb(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) rmSync(f, { force: true });
}

function auditOf(db: Db): BackupManifest['audit'] {
  const log = new AuditLog(db, () => Date.now());
  const v = log.verify();
  // When broken, `entries` counts the ones that verified before the break.
  return v.ok ? { ok: true, entries: v.entries, head: v.head } : { ok: false, entries: v.seq - 1, head: log.head() };
}

export interface WriteBackupOptions {
  /** The live database file (the service may have it open). */
  source: string;
  outDir: string;
  service: string;
  /** Reads facts from the finished copy (and may refuse with a BackupError). */
  inspect?: (copy: Db) => BackupFacts;
  now?: () => number;
}

/**
 * Copies `source` into `outDir` with the online backup API and writes the manifest. Never overwrites:
 * a directory that already holds a backup is refused. On any failure the half-written files are removed.
 */
export async function writeBackup(o: WriteBackupOptions): Promise<{ dir: string; manifest: BackupManifest }> {
  if (!existsSync(o.source)) throw new BackupError('NO_DATABASE', `there is no database at ${o.source}`);
  const name = basename(o.source);
  const dest = join(o.outDir, name);
  const manifestFile = join(o.outDir, MANIFEST_FILE);
  mkdirSync(o.outDir, { recursive: true, mode: 0o700 });
  chmodSync(o.outDir, 0o700); // also when it existed: nobody else lists or reads a backup
  if (existsSync(dest) || existsSync(manifestFile))
    throw new BackupError(
      'BACKUP_EXISTS',
      `${o.outDir} already holds a backup; backups are never overwritten: choose a new directory (e.g. one per date)`,
    );
  // Created empty with mode 0600 first, so the copy is never readable by others, not even for a moment.
  writeFileSync(dest, '', { mode: 0o600, flag: 'wx' });
  try {
    // A second connection: the service keeps its own. busy_timeout rides out its short write transactions.
    const live = new Database(o.source, { fileMustExist: true, timeout: 5_000 });
    try {
      await live.backup(dest);
    } finally {
      live.close();
    }
    let schemaVersion: number;
    let audit: BackupManifest['audit'];
    let facts: BackupFacts;
    const copy = new Database(dest, { fileMustExist: true });
    try {
      // A rollback-journal file is self-contained: it opens read-only anywhere without -wal/-shm beside it.
      copy.pragma('journal_mode = DELETE');
      const integrity = copy.pragma('integrity_check', { simple: true });
      if (integrity !== 'ok') throw new BackupError('NOT_A_DATABASE', `the copy failed SQLite's integrity check`);
      schemaVersion = copy.pragma('user_version', { simple: true }) as number;
      audit = auditOf(copy);
      facts = o.inspect?.(copy) ?? {};
    } finally {
      copy.close();
    }
    chmodSync(dest, 0o600);
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      service: o.service,
      database: name,
      bytes: statSync(dest).size,
      sha256: sha256File(dest),
      schemaVersion,
      createdAt: new Date((o.now ?? Date.now)()).toISOString(),
      audit,
      facts,
    };
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    fsyncPath(dest);
    fsyncPath(manifestFile);
    fsyncPath(o.outDir);
    return { dir: o.outDir, manifest };
  } catch (e) {
    removeDb(dest);
    rmSync(manifestFile, { force: true });
    throw e;
  }
}

/** Reads and checks a backup's manifest (not yet the file's hash: restoreBackup does that on its copy). */
export function readManifest(dir: string, service: string): BackupManifest {
  const file = join(dir, MANIFEST_FILE);
  const bad = (why: string) => new BackupError('BAD_MANIFEST', `${file}: ${why}`);
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw bad(`missing: is ${dir} a directory made by \`admin backup\`?`);
    throw bad(code ? `cannot be read (${code})` : 'is not JSON');
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad('expected a JSON object');
  if (m.format !== BACKUP_FORMAT) throw bad(`format ${JSON.stringify(m.format)} is not ${BACKUP_FORMAT}`);
  if (m.service !== service) throw bad(`this is a backup of the ${String(m.service)}, not of the ${service}`);
  // A plain file name: the manifest must not point restore at a path outside the backup.
  if (typeof m.database !== 'string' || !/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(m.database))
    throw bad('database must be a plain file name');
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) throw bad('sha256 must be 64 hex digits');
  for (const k of ['bytes', 'schemaVersion'] as const)
    if (!Number.isSafeInteger(m[k]) || (m[k] as number) < 0) throw bad(`${k} must be a non-negative integer`);
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt))) throw bad('createdAt must be a time');
  const a = m.audit as Record<string, unknown> | undefined;
  if (typeof a !== 'object' || a === null || typeof a.ok !== 'boolean' || typeof a.head !== 'string')
    throw bad('audit must be {ok, entries, head}');
  if (typeof m.facts !== 'object' || m.facts === null || Array.isArray(m.facts)) throw bad('facts must be an object');
  return m as unknown as BackupManifest;
}

/** Refuses when another connection (a running service) has the database open. */
function assertNotInUse(file: string): void {
  const db = new Database(file, { fileMustExist: true, timeout: 1_000 });
  try {
    // In WAL mode every open connection holds a shared lock, so an exclusive one is had only when none is open.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      throw new BackupError(
        'TARGET_IN_USE',
        `${file} is open in another process: stop the service (and any admin command) before restoring`,
      );
    // Anything else (not a database at all, say): nothing can be using it; it is moved aside below.
  } finally {
    db.close();
  }
}

export interface RestoreOptions {
  fromDir: string;
  service: string;
  /** The live database file to create or replace. */
  target: string;
  /** Replace a database already at `target` (it is kept in a replaced-<time>/ folder). */
  force: boolean;
  /** Opens a database the way the service does (its migrations); its errors mean "this service cannot use it". */
  open: (file: string) => Db;
  /** The service's own refusals, on the opened copy (the signer checks its KEK here). */
  check?: (copy: Db, manifest: BackupManifest) => void;
  now?: () => number;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the database that was replaced now is, if there was one. */
  replacedInto: string | undefined;
}

export function restoreBackup(o: RestoreOptions): RestoreResult {
  const manifest = readManifest(o.fromDir, o.service);
  const source = join(o.fromDir, manifest.database);
  if (!existsSync(source)) throw new BackupError('BAD_MANIFEST', `${source} named by the manifest is missing`);
  const dir = dirname(o.target);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const present = [o.target, `${o.target}-wal`, `${o.target}-shm`, `${o.target}-journal`].filter((f) => existsSync(f));
  if (present.length > 0 && !o.force)
    throw new BackupError(
      'TARGET_HAS_DATABASE',
      `${dir} already has a database (${present.map((f) => basename(f)).join(', ')}); restore does not replace it ` +
        `unless you pass --force (the old files are then kept in ${dir}/replaced-<time>/)`,
    );
  if (existsSync(o.target)) assertNotInUse(o.target);

  const tmp = join(dir, `.${basename(o.target)}.restoring-${randomBytes(4).toString('hex')}`);
  copyFileSync(source, tmp, constants.COPYFILE_EXCL);
  try {
    chmodSync(tmp, 0o600);
    // The hash of the copy we are about to install, so damage in transit is caught as well as tampering.
    const sha256 = sha256File(tmp);
    if (sha256 !== manifest.sha256)
      throw new BackupError(
        'HASH_MISMATCH',
        `${source} does not match its manifest (SHA-256 ${sha256}, manifest says ${manifest.sha256}): ` +
          `the backup was altered or damaged; restore from another backup`,
      );
    const raw = new Database(tmp, { fileMustExist: true });
    try {
      const integrity = raw.pragma('integrity_check', { simple: true });
      if (integrity !== 'ok') throw new BackupError('NOT_A_DATABASE', `${source} failed SQLite's integrity check`);
      const v = raw.pragma('user_version', { simple: true });
      if (v !== manifest.schemaVersion)
        throw new BackupError(
          'BAD_MANIFEST',
          `schema ${String(v)} in the file, ${manifest.schemaVersion} in the manifest`,
        );
    } catch (e) {
      if (e instanceof BackupError) throw e;
      throw new BackupError('NOT_A_DATABASE', `${source} is not a readable SQLite database`);
    } finally {
      raw.close();
    }
    let copy: Db;
    try {
      copy = o.open(tmp); // runs the service's migrations on the copy, as its next start would
    } catch (e) {
      throw new BackupError('CANNOT_OPEN', `this ${o.service} cannot open the backup: ${(e as Error).message}`);
    }
    try {
      const audit = new AuditLog(copy, () => Date.now()).verify();
      if (!audit.ok)
        throw new BackupError(
          'AUDIT_BROKEN',
          `the backup's audit log does not verify (entry ${audit.seq}: ${audit.reason}); it was altered before or ` +
            `after the backup was made: investigate before restoring it`,
        );
      o.check?.(copy, manifest);
    } finally {
      copy.close(); // the last connection: SQLite folds the WAL back in and removes it
    }

    let replacedInto: string | undefined;
    if (present.length > 0) {
      const stamp = new Date((o.now ?? Date.now)()).toISOString().replace(/[:.]/g, '-');
      replacedInto = join(dir, `replaced-${stamp}`);
      mkdirSync(replacedInto, { mode: 0o700 });
      for (const f of [o.target, `${o.target}-wal`, `${o.target}-shm`, `${o.target}-journal`])
        if (existsSync(f)) renameSync(f, join(replacedInto, basename(f)));
    }
    renameSync(tmp, o.target);
    fsyncPath(dir);
    return { manifest, replacedInto };
  } catch (e) {
    removeDb(tmp);
    throw e;
  }
}
