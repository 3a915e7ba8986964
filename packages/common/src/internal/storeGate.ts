import { AsyncLocalStorage } from 'node:async_hooks';
import { ForgeError } from '../forgeError';

/** The live state of one transaction; its handle refuses work once `active` is false. */
export interface TransactionScope {
  active: boolean;
}

/** What the gate calls to begin, commit and roll back a transaction on the underlying engine. */
export interface TransactionHooks {
  begin(): void;
  commit(): void;
  rollback(): void;
}

/**
 * Serializes access to one store: operations run in call order, a transaction holds the store
 * exclusively until it ends, and close() waits for work already accepted.
 *
 * Calling the store itself (not the transaction handle) from inside its own transaction would wait
 * for that transaction forever; the gate detects it through AsyncLocalStorage and rejects instead.
 */
export class StoreGate {
  readonly #label: string;
  readonly #scope = new AsyncLocalStorage<TransactionScope>();
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;
  /** True from a transaction's BEGIN to its COMMIT or ROLLBACK (which may span awaits). */
  #inTransaction = false;
  #closing: Promise<void> | undefined;

  /** `label` names the store in error messages, e.g. `MemoryStore`. */
  constructor(label: string) {
    this.#label = label;
  }

  /** Runs a synchronous operation once everything accepted before it has finished. */
  run<T>(operation: string, op: () => T): Promise<T> {
    const refused = this.#refusal(operation);
    if (refused) return Promise.reject(refused);
    // Idle fast path: nothing queued means nothing can be running, so run now and keep call order.
    if (this.#queued === 0) {
      try {
        return Promise.resolve(op());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.#enqueue(async () => op());
  }

  /**
   * Runs a synchronous operation at once, ahead of queued ones, for a caller that cannot wait. The
   * engine is synchronous, so only an open transaction can be in the middle of something: then it
   * throws FORGE_STORAGE_BUSY instead of writing into that transaction (and being rolled back or
   * committed with it).
   */
  runNow<T>(operation: string, op: () => T): T {
    const refused = this.#refusal(operation);
    if (refused) throw refused;
    if (this.#inTransaction) {
      throw new ForgeError(
        'FORGE_STORAGE_BUSY',
        `${this.#label}.${operation}() cannot commit now: a transaction holds the store; nothing was written`,
      );
    }
    return op();
  }

  /** Runs `fn` as one exclusive transaction, committing when it resolves and rolling back when it throws. */
  transaction<T>(hooks: TransactionHooks, fn: (scope: TransactionScope) => Promise<T>): Promise<T> {
    const refused = this.#refusal('transaction');
    if (refused) return Promise.reject(refused);
    return this.#enqueue(async () => {
      const scope: TransactionScope = { active: true };
      hooks.begin();
      this.#inTransaction = true;
      try {
        let value: T;
        try {
          value = await this.#scope.run(scope, () => fn(scope));
        } catch (err) {
          scope.active = false;
          rollbackAfter(hooks, err, this.#label);
          throw err;
        }
        scope.active = false;
        try {
          hooks.commit();
        } catch (err) {
          rollbackAfter(hooks, err, this.#label);
          throw err;
        }
        return value;
      } finally {
        this.#inTransaction = false;
      }
    });
  }

  /** Refuses new work, waits for accepted work, then runs `release` once. Idempotent. */
  close(release: () => void): Promise<void> {
    if (this.#closing) return this.#closing;
    const refused = this.#insideOwnTransaction('close');
    if (refused) return Promise.reject(refused);
    this.#closing = this.#enqueue(async () => release());
    return this.#closing;
  }

  /** A handle operation: runs `op` now if its transaction is still open. */
  static inScope<T>(scope: TransactionScope, operation: string, op: () => T): Promise<T> {
    if (!scope.active) {
      return Promise.reject(
        new ForgeError(
          'FORGE_STORAGE_TRANSACTION',
          `tx.${operation}() was called after its transaction ended; do all transactional work before the function passed to transaction() settles`,
        ),
      );
    }
    try {
      return Promise.resolve(op());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #refusal(operation: string): ForgeError | undefined {
    if (this.#closing) {
      return new ForgeError(
        'FORGE_STORAGE_CLOSED',
        `${this.#label}.${operation}() was called after close(); open the store again`,
      );
    }
    return this.#insideOwnTransaction(operation);
  }

  #insideOwnTransaction(operation: string): ForgeError | undefined {
    if (!this.#scope.getStore()?.active) return undefined;
    const hint =
      operation === 'transaction'
        ? 'transactions do not nest; do the work on the tx handle of the running transaction'
        : `use the tx handle passed to the transaction function (tx.${operation}) instead`;
    return new ForgeError(
      'FORGE_STORAGE_TRANSACTION',
      `${this.#label}.${operation}() was called from inside its own running transaction, where it would wait forever; ${hint}`,
    );
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.#queued += 1;
    const result = this.#tail.then(task);
    this.#tail = result.then(
      () => {
        this.#queued -= 1;
      },
      () => {
        this.#queued -= 1;
      },
    );
    return result;
  }
}

function rollbackAfter(hooks: TransactionHooks, cause: unknown, label: string): void {
  try {
    hooks.rollback();
  } catch (rollbackError) {
    throw new ForgeError(
      'FORGE_STORAGE_IO',
      `${label} could not roll back a failed transaction (${(rollbackError as Error).message}); reopen the store`,
      { cause },
    );
  }
}
