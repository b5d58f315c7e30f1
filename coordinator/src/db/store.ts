// The one interface every repository runs its SQL through. The coordinator's code never touches a
// database driver: it calls get/all/run with portable SQL (positional `?` parameters, no
// driver-specific syntax) and groups writes with transaction(). SqliteStore fills it today; a
// PostgreSQL implementation fills the same interface (placeholders become $1…, a pool client per
// transaction carried in AsyncLocalStorage, SERIALIZABLE isolation) with migrations of its own.

// Two conventions the SQL relies on, which a PostgreSQL schema provides: a constraint's refusal
// arrives as a ConstraintError (never a driver's code), and tables read in insertion order have a
// column named rowid that grows with each insert (SQLite's own; a BIGSERIAL in PostgreSQL).

/** What a parameter may be: TEXT, INTEGER (number or bigint), BLOB or NULL. */
export type SqlValue = string | number | bigint | Buffer | null;

export interface Store {
  /** The first row, or undefined. */
  get<R>(sql: string, ...params: SqlValue[]): Promise<R | undefined>;
  all<R>(sql: string, ...params: SqlValue[]): Promise<R[]>;
  /** Runs a write; resolves to the number of rows it changed. */
  run(sql: string, ...params: SqlValue[]): Promise<number>;
  /**
   * Runs fn as one serializable transaction: every get/all/run made in fn's async context joins
   * it, and it commits when fn resolves or rolls back when fn throws. A transaction inside another
   * is a savepoint of the outer one. fn must await nothing but this store (no network, no timers):
   * a transaction holds the database while it runs. Its statements and inner transactions run one
   * after the other (overlapping inner transactions are refused).
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** The schema version the migrations reached (a backup records it). */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A write refused by a constraint: a unique or primary key already taken, a foreign key pointing
 * nowhere, or another (NOT NULL, CHECK). The message is the driver's.
 */
export class ConstraintError extends Error {
  constructor(
    readonly kind: 'unique' | 'foreign_key' | 'other',
    message: string,
  ) {
    super(message);
    this.name = 'ConstraintError';
  }
}

export const isConstraint = (e: unknown, kind: ConstraintError['kind']): boolean =>
  e instanceof ConstraintError && e.kind === kind;
