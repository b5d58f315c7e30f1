// The device key: 32 random bytes per app profile, kept in the OS keychain (macOS Keychain, Windows Credential
// Manager, the Secret Service on Linux) through @napi-rs/keyring, as base64 under service "Tandem", account
// "device-key:<profileId>". It wraps every share file of the profile (deviceWrap.ts).
//
// Fail closed: any keychain failure is KEYCHAIN_UNAVAILABLE. There is no fallback to a file, to plaintext, or to
// another store. On Linux the entry is pinned to the Secret Service, because @napi-rs/keyring's default silently
// falls back to the kernel keyring when no Secret Service answers (measured here: with no D-Bus session, a plain
// `new Entry()` stores and reads back happily). That keyring lives in memory only, so after a reboot the key, and
// with it every share of the profile, would be gone.
//
// What @napi-rs/keyring does without a keychain (Linux, pinned to the Secret Service), all mapped here:
// - no D-Bus session bus: the Entry constructor throws "Platform failure: DBus error: Using X11 for dbus-daemon
//   autolaunch was disabled…" (DBUS_SESSION_BUS_ADDRESS unset) or "…Failed to connect to socket…" (dead address);
// - a locked collection with no way to prompt: calls reject "Secret Service: unlock prompt was dismissed";
// - a Secret Service with no default collection: reads resolve null, writes reject "Secret Service: no result found".
// On a desktop the keychain may show its own unlock prompt; the async API keeps the app responsive meanwhile.

import { AsyncEntry } from '@napi-rs/keyring';
import { randomBytes } from 'node:crypto';
import { VaultError } from './errors.ts';
import { decodeBase64Strict } from './strictJson.ts';

export const KEYCHAIN_SERVICE = 'Tandem';
const KEY_BYTES = 32;
const PROFILE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function assertProfileId(profileId: string): void {
  if (typeof profileId !== 'string' || !PROFILE_ID.test(profileId)) {
    throw new TypeError(`profileId must match ${PROFILE_ID.source}`);
  }
}

export const deviceKeyAccount = (profileId: string): string => `device-key:${profileId}`;

function unavailable(cause: unknown, detail: string): VaultError {
  // The keyring's messages name the store and the D-Bus failure; they never contain the secret.
  return new VaultError('KEYCHAIN_UNAVAILABLE', { detail, cause });
}

function entryFor(profileId: string): AsyncEntry {
  assertProfileId(profileId);
  try {
    return new AsyncEntry(KEYCHAIN_SERVICE, deviceKeyAccount(profileId), { linux: { store: 'secret-service' } });
  } catch (e) {
    throw unavailable(e, 'could not open the keychain');
  }
}

/** Decodes the stored text; a damaged entry is unusable, not a reason to make a new key. */
function decodeKey(stored: string): Buffer {
  const key = decodeBase64Strict(stored);
  if (!key || key.length !== KEY_BYTES) {
    key?.fill(0);
    throw new VaultError('KEYCHAIN_UNAVAILABLE', {
      message:
        "The key that protects this profile's wallets is damaged in the keychain. Do not delete anything; " +
        'contact IT or support, or restore your wallets from their backup files in a new profile.',
      detail: 'keychain entry is not base64 of 32 bytes',
    });
  }
  return key;
}

/**
 * This profile's device key, or null when the keychain holds none. The caller owns the Buffer and should wipe it
 * (fill(0)) when done; the base64 string the keychain hands over cannot be wiped (JavaScript strings are immutable).
 */
export async function getDeviceKey(profileId: string): Promise<Buffer | null> {
  const entry = entryFor(profileId);
  let stored: string | null;
  try {
    stored = await entry.getPassword();
  } catch (e) {
    throw unavailable(e, 'could not read the device key');
  }
  return stored === null ? null : decodeKey(stored);
}

// One creation at a time per profile in this process, so two stores racing on a new profile cannot each make a key
// and leave one set of files under a key that was then overwritten. (The app holds a single-instance lock across
// processes.)
const creating = new Map<string, Promise<void>>();

async function createDeviceKey(profileId: string): Promise<void> {
  const existing = await getDeviceKey(profileId);
  if (existing) {
    existing.fill(0);
    return; // made by an earlier call meanwhile
  }
  const fresh = randomBytes(KEY_BYTES);
  try {
    await entryFor(profileId).setPassword(fresh.toString('base64'));
  } catch (e) {
    throw unavailable(e, 'could not store a new device key');
  } finally {
    fresh.fill(0);
  }
}

/**
 * This profile's device key, made and stored on first use. It is always read back from the keychain, so we only ever
 * wrap with a key the keychain holds. The caller owns the Buffer and should wipe it.
 */
export async function getOrCreateDeviceKey(profileId: string): Promise<Buffer> {
  const existing = await getDeviceKey(profileId);
  if (existing) return existing;
  let pending = creating.get(profileId);
  if (!pending) {
    pending = createDeviceKey(profileId).finally(() => creating.delete(profileId));
    creating.set(profileId, pending);
  }
  await pending;
  const stored = await getDeviceKey(profileId);
  if (!stored) throw unavailable(undefined, 'the keychain did not keep the new device key');
  return stored;
}
