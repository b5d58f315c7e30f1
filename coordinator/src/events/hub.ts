// Who is connected: each signed-in user's open WSS sockets, so the coordinator can tell a
// desktop that something awaits it (a wallet to create, a request or an address-book entry to
// approve, a withdrawal to sign) or changed, and close every socket of a revoked token.

import { type WebSocket } from 'ws';

export interface Connection {
  socket: WebSocket;
  userId: string;
  tokenHash: string;
}

export type Event =
  | { event: 'wallet_awaiting_dkg'; walletId: string }
  | { event: 'wallet_changed'; walletId: string; status: string }
  | { event: 'wallet_move_awaiting_approval'; walletId: string }
  | { event: 'withdrawal_changed'; withdrawalId: string; state: string }
  | { event: 'withdrawal_awaiting_approval'; withdrawalId: string }
  | { event: 'withdrawal_awaiting_signature'; withdrawalId: string }
  | { event: 'address_book_awaiting_approval'; entryId: string }
  | { event: 'device_awaiting_approval'; deviceId: string }
  | { event: 'device_changed'; deviceId: string; status: string };

export class EventHub {
  private readonly byUser = new Map<string, Set<Connection>>();

  add(c: Connection): void {
    let set = this.byUser.get(c.userId);
    if (!set) this.byUser.set(c.userId, (set = new Set()));
    set.add(c);
  }

  remove(c: Connection): void {
    const set = this.byUser.get(c.userId);
    set?.delete(c);
    if (set && set.size === 0) this.byUser.delete(c.userId);
  }

  /** Sends an event to every open socket of these users (at most once per user). */
  notify(userIds: Iterable<string>, e: Event): void {
    const frame = JSON.stringify({ type: 'event', ...e });
    for (const id of new Set(userIds))
      for (const c of this.byUser.get(id) ?? []) if (c.socket.readyState === 1) c.socket.send(frame);
  }

  /** Closes sockets opened with these tokens (4401: the token was revoked). */
  closeTokens(userId: string, tokenHashes: readonly string[]): void {
    for (const c of this.byUser.get(userId) ?? [])
      if (tokenHashes.length === 0 || tokenHashes.includes(c.tokenHash)) c.socket.close(4401, 'token revoked');
  }

  connections(): number {
    let n = 0;
    for (const s of this.byUser.values()) n += s.size;
    return n;
  }
}
