/** What a long fit reports as it goes; the CLI turns it into a progress bar or plain lines. */
export interface FitProgress {
  phase: string;
  step: number;
  total: number;
  losses: Record<string, number>;
  elapsedSeconds: number;
  /** A notice worth showing (e.g. a rollback after a non-finite loss). */
  message?: string;
}

export type ProgressHook = (p: FitProgress) => void;

/** Options every fit accepts, whatever the method. */
export interface CommonFitOptions {
  seed?: number;
  onProgress?: ProgressHook;
  /** Equally spaced anchor times t_k = k/K (the reference code) instead of the real λ spacing. */
  equalSpacing?: boolean;
}
