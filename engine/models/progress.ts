/** Progress on stderr: a live line on a terminal, a line per 10% otherwise. */

const encoder = new TextEncoder();

/** Reports progress of one transfer. */
export class Progress {
  #label: string;
  #total: number;
  #terminal = Deno.stderr.isTerminal();
  #lastDecile = -1;
  #unit: "bytes" | "files" | "chunks";

  /**
   * @param label What is being done.
   * @param total Expected amount, or 0 when unknown.
   * @param unit Bytes are shown in MB.
   */
  constructor(label: string, total: number, unit: "bytes" | "files" | "chunks" = "bytes") {
    this.#label = label;
    this.#total = total;
    this.#unit = unit;
  }

  #amount(value: number): string {
    return this.#unit === "bytes" ? `${(value / 1e6).toFixed(1)} MB` : `${value} ${this.#unit}`;
  }

  /** Reports the amount done so far. */
  update(done: number): void {
    if (this.#total <= 0) {
      if (this.#terminal) this.#write(`\r${this.#label}: ${this.#amount(done)}`);
      return;
    }
    const percent = Math.min(100, Math.floor((done / this.#total) * 100));
    const line = `${this.#label}: ${percent}% (${this.#amount(done)} of ${
      this.#amount(this.#total)
    })`;
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
