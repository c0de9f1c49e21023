/** Download progress on stderr: a live line on a terminal, a line per 10% otherwise. */

const encoder = new TextEncoder();

/** Reports progress of one transfer. */
export class Progress {
  #label: string;
  #total: number;
  #terminal = Deno.stderr.isTerminal();
  #lastDecile = -1;

  /**
   * @param label What is being transferred.
   * @param total Expected bytes, or 0 when unknown.
   */
  constructor(label: string, total: number) {
    this.#label = label;
    this.#total = total;
  }

  /** Reports the bytes transferred so far. */
  update(bytes: number): void {
    const mb = (bytes / 1e6).toFixed(1);
    if (this.#total <= 0) {
      if (this.#terminal) this.#write(`\r${this.#label}: ${mb} MB`);
      return;
    }
    const percent = Math.min(100, Math.floor((bytes / this.#total) * 100));
    const line = `${this.#label}: ${percent}% (${mb} / ${(this.#total / 1e6).toFixed(1)} MB)`;
    if (this.#terminal) {
      this.#write(`\r${line}`);
    } else if (Math.floor(percent / 10) > this.#lastDecile) {
      this.#lastDecile = Math.floor(percent / 10);
      this.#write(`${line}\n`);
    }
  }

  /** Ends the live line. */
  done(): void {
    if (this.#terminal) this.#write("\n");
  }

  #write(text: string): void {
    Deno.stderr.writeSync(encoder.encode(text));
  }
}
