// The coordinator's admin CLI: `tsx src/cli/admin.ts <command> [options]`, on the coordinator
// host. It opens the database directly (same config as the server), so it is how the first admin
// comes to exist, and how an operator with host access recovers administration. Every change is
// written to the audit log as `cli:<os user>`.
//
// The password never goes on the command line (shell history, `ps`): it comes from
// TANDEM_ADMIN_PASSWORD (development only: production refuses a password kept in the environment), else
// is typed without echo at a terminal, else is the first line of stdin.

import { UsageError, option } from '@tandem/common/cliArgs';
import { mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { type Readable } from 'node:stream';
import { type ReadStream } from 'node:tty';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from '../config.ts';
import { openStore } from '../db/sqliteStore.ts';
import { AuditTrail } from '../audit/auditTrail.ts';
import { ApiError } from '../errors.ts';
import { createAccount } from '../auth/accounts.ts';
import { isValidUsername } from '../auth/schemas.ts';
import { BackupError } from '@tandem/common/backup';
import { backupCoordinator, restoreCoordinator } from '../ops/backup.ts';

const USAGE = `usage: admin <command>
  create-admin --username NAME     create a user with the admin role; the password comes from
                                   TANDEM_ADMIN_PASSWORD (development only), a prompt (terminal) or
                                   stdin's first line
  verify-audit                     check the audit log's hash chain (exit 1 if broken)
  export-audit                     print the audit log as JSON lines
  backup --out DIR                 copy coordinator.db into DIR (created, mode 700) with SQLite's online
                                   backup, safe while the coordinator runs, plus manifest.json (SHA-256)
  restore --from DIR [--force]     install a backup into the data directory (stop the coordinator first);
                                   --force replaces an existing database (kept in <dataDir>/replaced-<time>/)`;

export interface AdminIo {
  stdin?: Readable;
  /** Prompts and errors (stderr by default). */
  err?: (s: string) => void;
}

/** Returns the process exit code: 0 done, 1 refused (weak password, name taken, a backup check), 2 usage or config. */
export async function runAdmin(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  out: (s: string) => void = (s) => void process.stdout.write(s + '\n'),
  io: AdminIo = {},
): Promise<number> {
  const err = io.err ?? ((s: string) => void process.stderr.write(s));
  try {
    const [cmd, ...args] = argv;
    if (cmd === 'help' || cmd === '--help') {
      out(USAGE);
      return 0;
    }
    if (cmd === 'verify-audit' || cmd === 'export-audit')
      return await withAudit(env, async (audit) => {
        if (cmd === 'export-audit') {
          for (const e of await audit.entries()) out(JSON.stringify(e));
          return 0;
        }
        const v = await audit.verify();
        out(JSON.stringify(v));
        return v.ok ? 0 : 1;
      });
    if (cmd === 'backup') {
      const dir = option(args, '--out');
      if (!dir) throw new UsageError('backup --out DIR');
      const { manifest } = await backupCoordinator(loadConfig(env), resolve(dir));
      out(JSON.stringify({ dir: resolve(dir), ...manifest }));
      if (manifest.audit.ok) return 0;
      err('admin: backup written, but the audit log does not verify (see manifest.audit): investigate\n');
      return 1;
    }
    if (cmd === 'restore') {
      const from = option(args, '--from');
      if (!from) throw new UsageError('restore --from DIR [--force]');
      const summary = await restoreCoordinator(loadConfig(env), {
        fromDir: resolve(from),
        force: args.includes('--force'),
        operator: `cli:${env.SUDO_USER ?? userInfo().username}`,
      });
      out(JSON.stringify(summary));
      return 0;
    }
    if (cmd !== 'create-admin') throw new UsageError(cmd ? `unknown command ${cmd}\n${USAGE}` : USAGE);
    const username = option(args, '--username');
    if (!username) throw new UsageError('create-admin --username NAME');
    if (!isValidUsername(username))
      throw new UsageError('the username must be 3–64 letters, digits or . _ @ -, starting with a letter or digit');
    const password = await readPassword(env, io.stdin ?? process.stdin, err);
    return await createAdmin(env, username, password, out);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      err(`admin: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ApiError || e instanceof BackupError) {
      err(`admin: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function withAudit(
  env: Record<string, string | undefined>,
  fn: (audit: AuditTrail) => Promise<number>,
): Promise<number> {
  const config = loadConfig(env);
  const store = openStore(join(config.dataDir, 'coordinator.db'));
  try {
    return await fn(new AuditTrail(store, () => Date.now()));
  } finally {
    await store.close();
  }
}

async function createAdmin(
  env: Record<string, string | undefined>,
  username: string,
  password: string,
  out: (s: string) => void,
): Promise<number> {
  const config = loadConfig(env);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = openStore(join(config.dataDir, 'coordinator.db'));
  try {
    const now = () => Date.now();
    const operator = `cli:${env.SUDO_USER ?? userInfo().username}`;
    const user = await createAccount({ store, audit: new AuditTrail(store, now), now }, operator, {
      username,
      password,
      roles: ['admin'],
    });
    out(JSON.stringify({ id: user.id, username: user.username, roles: user.roles }));
    return 0;
  } finally {
    await store.close();
  }
}

async function readPassword(
  env: Record<string, string | undefined>,
  stdin: Readable,
  err: (s: string) => void,
): Promise<string> {
  if (env.TANDEM_ADMIN_PASSWORD !== undefined) return env.TANDEM_ADMIN_PASSWORD;
  const tty = stdin as Partial<ReadStream>;
  if (tty.isTTY && tty.setRawMode) {
    const first = await readHidden(stdin as ReadStream, 'Password for the new admin: ', err);
    const again = await readHidden(stdin as ReadStream, 'Again, to confirm: ', err);
    if (first !== again) throw new UsageError('the two passwords differ');
    return first;
  }
  return firstLine(stdin);
}

async function firstLine(stdin: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!.replace(/\r$/, '');
}

// Raw mode: the terminal does not echo, and we see each key (Enter ends, Backspace erases,
// Ctrl-C or Ctrl-D on an empty line cancels).
function readHidden(stdin: ReadStream, prompt: string, err: (s: string) => void): Promise<string> {
  err(prompt);
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = (after: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      err('\n');
      after();
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(() => resolve(chars.join('')));
        if (ch === '\u0003' || (ch === '\u0004' && chars.length === 0))
          return finish(() => reject(new UsageError('cancelled')));
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else chars.push(ch);
      }
    };
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runAdmin(process.argv.slice(2));
}
