/**
 * The engine's errors, matched by class wherever they are handled (never by
 * name): EngineError carries a protocol code; CancelledError is not an error
 * to log.
 */
import { ErrorCode } from "./mod.ts";

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

/**
 * A model that cannot be used: missing, truncated or not a model. The message
 * names the file, what is wrong with it and the fix; on the wire it is
 * ModelMissing.
 */
export class ModelMissingError extends EngineError {
  override name = "ModelMissingError";

  constructor(message: string) {
    super(ErrorCode.ModelMissing, message);
  }
}

/** A request cancelled or superseded by a newer one; not an error to log. */
export class CancelledError extends Error {
  override name = "CancelledError";
  constructor() {
    super("Request cancelled");
  }
}
