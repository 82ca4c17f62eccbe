// Ownership of WebAssembly objects. A wasm-bindgen object lives in the
// WebAssembly heap until its free() runs (which also wipes the secret it
// holds, on the Rust side); the JavaScript garbage collector frees it late
// or never. So every object has exactly one owner that frees it:
//   - a HandleScope, for the objects of one operation: withHandles() frees
//     them all when the operation ends, however it ends (value, throw,
//     early return);
//   - the unlocked session (session.ts), for the identity and the
//     conversation keys that outlive one request: lock() frees them all.
// No other code calls free().

/** What every wasm-bindgen object has. */
export interface Handle {
  free(): void;
}

export class HandleScope {
  #owned: Handle[] = [];

  /** Takes `handle` into this scope, which frees it at its end. */
  own<T extends Handle>(handle: T): T {
    this.#owned.push(handle);
    return handle;
  }

  /**
   * Gives `handle` up, unfreed: to a call that consumes it (a Rust method
   * taking `self`, such as `Login.finish`, frees it itself, even when it
   * throws, and a second free would fail) or to a longer-lived owner.
   */
  release<T extends Handle>(handle: T): T {
    const at = this.#owned.lastIndexOf(handle);
    if (at >= 0) this.#owned.splice(at, 1);
    return handle;
  }

  /** Frees everything, newest first; one failing free does not keep the others alive. */
  end(): void {
    const owned = this.#owned.reverse();
    this.#owned = [];
    let failure: unknown = null;
    for (const handle of owned) {
      try {
        handle.free();
      } catch (e) {
        failure ??= e;
      }
    }
    if (failure !== null) throw failure;
  }
}

/** Runs `body` with a fresh scope and frees what it owns when `body` settles. */
export async function withHandles<T>(body: (scope: HandleScope) => Promise<T>): Promise<T> {
  const scope = new HandleScope();
  try {
    return await body(scope);
  } finally {
    scope.end();
  }
}

/** The same for synchronous work (decrypting one message). */
export function withHandlesSync<T>(body: (scope: HandleScope) => T): T {
  const scope = new HandleScope();
  try {
    return body(scope);
  } finally {
    scope.end();
  }
}
