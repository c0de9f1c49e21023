/** An error the sidecar reports on the wire with a JSON-RPC code. */

/** A failure with a protocol error code (see `ErrorCode`) and a message a person can act on. */
export class EngineError extends Error {
  override name = "EngineError";
  /** One of `ErrorCode`. */
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}
