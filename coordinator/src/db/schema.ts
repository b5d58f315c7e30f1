// The coordinator's SQLite schema, as numbered migrations (each runs once, in a transaction).
// Amounts in wei are decimal TEXT (uint256 does not fit SQLite's INTEGER); times are unix ms.
// The repositories in each feature folder are the only code that touches these tables, so a
// PostgreSQL implementation can replace them behind the same interfaces.

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,                 -- JSON array of 'admin' | 'initiator' | 'approver' | 'signer'
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  -- Bearer tokens: only their SHA-256 is stored.
  CREATE TABLE auth_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
  ) STRICT;
  CREATE INDEX auth_tokens_user ON auth_tokens(user_id);

  -- A desktop's Ed25519 identity key, enrolled by its user and approved by an admin.
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    public_key BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REVOKED')),
    approved_by TEXT REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE wallets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    signer_user_id TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('PENDING_DKG', 'ACTIVE', 'FAILED')),
    keyset_id TEXT NOT NULL UNIQUE,      -- the signer's keyset id
    wallet_id_bytes BLOB NOT NULL,       -- the 32-byte walletId bound into the DKG
    device_id TEXT REFERENCES devices(id),
    public_key BLOB,
    address TEXT UNIQUE,
    signer_confirmed_at_ms INTEGER,      -- the signer finished KG-5
    desktop_confirmed_at_ms INTEGER,     -- the desktop says its share is stored
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE policies (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets(id),
    per_withdrawal_limit_wei TEXT NOT NULL,
    daily_limit_wei TEXT NOT NULL,
    whitelist_only INTEGER NOT NULL,
    quorum INTEGER NOT NULL CHECK (quorum >= 1),
    updated_by TEXT NOT NULL REFERENCES users(id),
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE address_book (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,               -- EIP-55
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX address_book_live ON address_book(address) WHERE status != 'REJECTED';

  CREATE TABLE address_book_approvals (
    entry_id TEXT NOT NULL REFERENCES address_book(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (entry_id, user_id)
  ) STRICT;

  CREATE TABLE withdrawals (
    id TEXT PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    to_address TEXT NOT NULL,
    amount_wei TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('pending_approval', 'approved', 'signing', 'signed', 'broadcast',
      'confirmed', 'rejected', 'cancelled', 'expired', 'failed')),
    version INTEGER NOT NULL DEFAULT 1,  -- bumped by every edit; approvals count for one version
    created_by TEXT NOT NULL REFERENCES users(id),
    nonce INTEGER,
    tx_json TEXT,                        -- the unsigned EIP-1559 tx, fixed when signing starts
    tx_digest BLOB,
    raw_signed TEXT,
    tx_hash TEXT,
    block_number INTEGER,
    receipt_status TEXT,
    failure TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX withdrawals_wallet ON withdrawals(wallet_id, state);

  CREATE TABLE approvals (
    withdrawal_id TEXT NOT NULL REFERENCES withdrawals(id),
    version INTEGER NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (withdrawal_id, version, user_id)
  ) STRICT;

  CREATE TABLE permits (
    permit_id TEXT PRIMARY KEY,
    withdrawal_id TEXT NOT NULL REFERENCES withdrawals(id),
    keyset_id TEXT NOT NULL,
    tx_digest BLOB NOT NULL,
    issued_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
  ) STRICT;

  -- Next nonce per wallet address, allocated inside the transaction that starts signing.
  CREATE TABLE wallet_nonces (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets(id),
    next_nonce INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE deposits (
    tx_hash TEXT NOT NULL,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    from_address TEXT NOT NULL,
    amount_wei TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    seen_at_ms INTEGER NOT NULL,
    PRIMARY KEY (tx_hash, wallet_id)
  ) STRICT;

  -- Where a chain follower got to (e.g. 'deposits').
  CREATE TABLE chain_cursors (
    name TEXT PRIMARY KEY,
    block_number INTEGER NOT NULL
  ) STRICT;
  `,
  // 2: when SIGN-5 of a permit's session was handed to the signer. Before that no signature can
  // exist, so a lost session returns its withdrawal to approved at once; after it, the
  // reconciler asks the signer (GetSigningResult) rather than letting it be signed twice.
  `ALTER TABLE permits ADD COLUMN finalize_sent_at_ms INTEGER;`,
  // 3: moving a wallet's key to another workstation of its signer (a backup restored there). The
  // signer binds each keyset to one device key; a move is requested by the user and carried out
  // only after an admin approves it (the signer checks a rebind permit). One pending move at most.
  `
  CREATE TABLE wallet_moves (
    id TEXT PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    from_device_id TEXT REFERENCES devices(id),
    to_device_id TEXT NOT NULL REFERENCES devices(id),
    requested_by TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'DONE', 'REJECTED')),
    decided_by TEXT REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX wallet_moves_one_pending ON wallet_moves(wallet_id) WHERE status = 'PENDING';
  `,
  // 4: a withdrawal's latest permit is looked up on the signing path (SIGN-5) and by the reconciler;
  // without an index that was a scan of every permit ever issued.
  `CREATE INDEX permits_withdrawal ON permits(withdrawal_id, issued_at_ms);`,
  // 5: nonces given back below a wallet's newest one (a withdrawal cancelled, edited or expired after
  // its transaction was fixed). The next withdrawal takes the lowest, so a later transaction waiting
  // in the mempool behind that hole goes through as soon as the wallet pays out again.
  `
  CREATE TABLE wallet_free_nonces (
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    nonce INTEGER NOT NULL,
    PRIMARY KEY (wallet_id, nonce)
  ) STRICT;
  `,
  // 6: the hash of a follower's cursor block, so a restarted coordinator can tell that a reorg
  // replaced blocks it had scanned (empty ones included) while it was down.
  `ALTER TABLE chain_cursors ADD COLUMN block_hash TEXT;`,
  // 7: what our wallets sent, as the chain shows it (sentTxs.ts): a payment the database lost (a
  // restore from an older backup) is found there instead of being signed and paid a second time.
  `
  CREATE TABLE wallet_sent (
    tx_hash TEXT PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    nonce INTEGER NOT NULL,
    to_address TEXT,
    amount_wei TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    withdrawal_id TEXT REFERENCES withdrawals(id)  -- null: none of ours (an alert was raised)
  ) STRICT;
  CREATE INDEX wallet_sent_wallet ON wallet_sent(wallet_id, nonce);
  CREATE INDEX wallet_sent_block ON wallet_sent(block_number);
  `,
];
