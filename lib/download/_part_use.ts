/**
 * Whether a download's new `.part` (file or folder) is taken away again
 * when the download ends without saving: a get that made a `.part` and
 * failed before a single verified piece was written into it leaves nothing
 * behind, rather than a file of zeros said to be kept for a retry. Any
 * verified piece handed to the store keeps it, and so does the storage's
 * own check that it was not resumed and nothing was written into it
 * (`abandon()`). It always stays when the download was stopped by its
 * signal (whoever stopped it says the partial download is kept), when a
 * disk error stopped it (that sentence says whether it is kept), and once
 * the download finishes (saved, or discarded as not matching its ID).
 *
 * @module
 */

import type { PieceStore } from "../storage/piece_store.ts";
import type { StoreHooks } from "./_target.ts";

/** What a download did with its `.part` that decides whether it may go. */
export class PartUse {
  #signal?: AbortSignal;
  #keep = false;

  /** Watches a download stopped by `signal`. */
  constructor(signal?: AbortSignal) {
    this.#signal = signal;
  }

  /** `hooks` that also note a disk error: the `.part` then stays. */
  hooks(hooks: StoreHooks): StoreHooks {
    return {
      ...hooks,
      onError: (error) => {
        this.#keep = true;
        hooks.onError(error);
      },
    };
  }

  /**
   * `store`, noting each verified piece handed to it: the `.part` then
   * stays, whether or not the store has said it is written (a hashing
   * thread writes the pieces it holds only as it closes).
   */
  track(store: PieceStore): PieceStore {
    return {
      add: (index, data) => {
        if (data) this.#keep = true;
        store.add(index, data);
      },
      get behind() {
        return store.behind;
      },
      caughtUp: () => store.caughtUp(),
      flushed: () => store.flushed(),
      digestHex: () => store.digestHex(),
      close: () => store.close(),
    };
  }

  /** The download is finishing: saved or discarded there, never here. */
  finishing(): void {
    this.#keep = true;
  }

  /** True if the `.part` may go, provided nothing was written into it. */
  get mayGo(): boolean {
    return !this.#keep && !this.#signal?.aborted;
  }
}
