// Password hashing and policy. scrypt is memory-hard, so a stolen users table costs an attacker
// 128 MiB and a few hundred milliseconds per guess. The stored string names its own parameters,
// so they can be raised later while old hashes still verify (needsRehash tells login to upgrade).

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../errors.ts';

/** OWASP's scrypt recommendation: N=2^17, r=8, p=1. */
export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

type Params = { N: number; r: number; p: number };

function derive(password: string, salt: Buffer, params: Params, keylen: number): Promise<Buffer> {
  // Node refuses more than 32 MiB by default; scrypt needs 128·N·r bytes, so allow twice that.
  const maxmem = 2 * 128 * params.N * params.r;
  // NFKC: the same password typed on another keyboard or OS must give the same bytes.
  const bytes = Buffer.from(password.normalize('NFKC'), 'utf8');
  return new Promise((resolve, reject) =>
    scrypt(bytes, salt, keylen, { ...params, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, SCRYPT_PARAMS, HASH_BYTES);
  const { N, r, p } = SCRYPT_PARAMS;
  return ['scrypt', N, r, p, salt.toString('base64'), hash.toString('base64')].join('$');
}

interface StoredHash {
  params: Params;
  salt: Buffer;
  hash: Buffer;
}

// A stored hash we cannot read is a broken database, not a wrong password: it throws, so the
// failure is logged as internal instead of silently locking the user out.
function parseStored(stored: string): StoredHash {
  const parts = stored.split('$');
  const [scheme, n, r, p, salt, hash] = parts;
  const int = (s: string | undefined) => (s && /^\d{1,9}$/.test(s) ? Number(s) : NaN);
  const params = { N: int(n), r: int(r), p: int(p) };
  const ok =
    parts.length === 6 &&
    scheme === 'scrypt' &&
    params.N >= 2 ** 14 &&
    params.N <= 2 ** 20 &&
    (params.N & (params.N - 1)) === 0 &&
    params.r >= 1 &&
    params.r <= 32 &&
    params.p >= 1 &&
    params.p <= 16;
  const saltBytes = Buffer.from(salt ?? '', 'base64');
  const hashBytes = Buffer.from(hash ?? '', 'base64');
  if (!ok || saltBytes.length < SALT_BYTES || hashBytes.length < HASH_BYTES || hashBytes.length > 64)
    throw new Error('stored password hash is not in the scrypt$N$r$p$salt$hash format');
  return { params, salt: saltBytes, hash: hashBytes };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const s = parseStored(stored);
  const candidate = await derive(password, s.salt, s.params, s.hash.length);
  return timingSafeEqual(candidate, s.hash);
}

/** True when the hash was made with other parameters than today's: login then stores a fresh one. */
export function needsRehash(stored: string): boolean {
  const { params } = parseStored(stored);
  return params.N !== SCRYPT_PARAMS.N || params.r !== SCRYPT_PARAMS.r || params.p !== SCRYPT_PARAMS.p;
}

let dummy: Promise<string> | undefined;
/**
 * A hash of a random password nobody knows. Login verifies against it when the username does not
 * exist, so an unknown user costs the same scrypt work as a known one and the response time does
 * not say which usernames exist.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString('base64'));
  return dummy;
}

// The guesses every attacker tries first (compared case-insensitively). Deliberately short: the
// length rule and the memory-hard hash do most of the work; this only refuses the embarrassing.
const OBVIOUS = new Set([
  'password1234',
  'password12345',
  'password123456',
  'password123!',
  'p@ssword1234',
  'p@ssw0rd1234',
  'passwordpassword',
  'changeme1234',
  'changeme123!',
  'letmein12345',
  'welcome12345',
  'welcome123!',
  'administrator',
  'admin1234567',
  'qwerty123456',
  'qwertyuiopas',
  'qwertyuiop123',
  '1q2w3e4r5t6y',
  'abc123456789',
  'iloveyou1234',
  'tandem123456',
  'tandemtandem',
  '123456789012',
  '1234567890123',
  'correcthorsebatterystaple',
]);

export type PasswordProblem = 'too_short' | 'too_long' | 'too_common' | 'contains_username' | 'too_repetitive';

/** Refuses a password that is weak for this user: BAD_REQUEST with details.reason (a PasswordProblem). */
export function checkPasswordPolicy(password: string, username: string): void {
  const refuse = (reason: PasswordProblem, message: string): never => {
    throw new ApiError('BAD_REQUEST', message, { reason });
  };
  const chars = [...password.normalize('NFKC')];
  if (chars.length < MIN_PASSWORD_LENGTH)
    refuse('too_short', `the password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (chars.length > MAX_PASSWORD_LENGTH)
    refuse('too_long', `the password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (OBVIOUS.has(lower)) refuse('too_common', 'this password is among the first ones an attacker tries');
  if (username.length >= 3 && lower.includes(username.toLowerCase()))
    refuse('contains_username', 'the password must not contain the username');
  if (new Set(chars).size < 5) refuse('too_repetitive', 'the password must use at least 5 different characters');
}
