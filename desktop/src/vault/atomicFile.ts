// Crash-safe files for the vault: a file is either absent or complete, never half written. Each write goes to a
// temporary file in the same directory (mode 0600, exclusive create), is fsynced, then put in place, and the directory
// is fsynced so the new name survives a power cut. Share files are put in place with link(), which fails when the
// name exists, so a share is never overwritten, not even by two writers racing; small state files use rename().
// Directories are mode 0700 (and tightened if they already exist).
//
// The only thing this module ever deletes is its own temporary file. A temporary file left by a crash is named
// `.<name>.<random>.tmp`; the vault ignores it and leaves it for support.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const isWindows = process.platform === 'win32';

const hasCode = (e: unknown, ...codes: string[]): boolean =>
  typeof e === 'object' && e !== null && codes.includes((e as { code?: unknown }).code as string);

/** Creates `dir` (and parents) if needed and makes it 0700: only this user may list or enter it. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (!isWindows) await chmod(dir, DIR_MODE);
}

async function fsyncDir(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; NTFS journals the rename itself.
  if (isWindows) return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to a fresh temporary file next to `file`, fsynced; returns its path. */
async function writeTemp(file: string, data: string): Promise<string> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', FILE_MODE);
  try {
    if (!isWindows) await handle.chmod(FILE_MODE); // whatever the umask
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (e) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  await handle.close();
  return temp;
}

/** Creates `file` with `data` atomically. Returns false, changing nothing, when `file` already exists. */
export async function writeNewFileAtomic(file: string, data: string): Promise<boolean> {
  const temp = await writeTemp(file, data);
  try {
    await link(temp, file);
  } catch (e) {
    if (hasCode(e, 'EEXIST')) return false;
    if (!hasCode(e, 'EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP')) throw e;
    // A file system without hard links (FAT, some network shares): check, then rename. Only a second writer racing
    // in that instant could be overwritten, and the app runs one instance per profile.
    if (
      await lstat(file).then(
        () => true,
        (err: unknown) => !hasCode(err, 'ENOENT'),
      )
    )
      return false;
    await rename(temp, file);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await fsyncDir(path.dirname(file));
  return true;
}

/** Creates or replaces `file` with `data` atomically. For state that is meant to change (the attempt counter). */
export async function replaceFileAtomic(file: string, data: string): Promise<void> {
  const temp = await writeTemp(file, data);
  try {
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(path.dirname(file));
}

export class UnusableFileError extends Error {
  override readonly name = 'UnusableFileError';
}

/**
 * Reads a small regular file as UTF-8; undefined when it does not exist. A symbolic link is refused (O_NOFOLLOW,
 * where the OS has it) and so is anything larger than `maxBytes`, without reading it, so a planted file cannot
 * make us allocate without bound.
 */
export async function readSmallFile(file: string, maxBytes: number): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return undefined;
    if (hasCode(e, 'ELOOP')) throw new UnusableFileError('is a symbolic link');
    throw e;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new UnusableFileError('is not a regular file');
    if (st.size > maxBytes) throw new UnusableFileError(`is larger than ${maxBytes} bytes`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
